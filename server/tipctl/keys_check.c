#include "keys_check.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_online.h"
#include "admins_view.h"
#include "api.h"
#include "cli.h"
#include "membership.h"
#include "util.h"

#define KC_TEAMS_MAX 256
#define KC_PAGES_MAX 100000

static const char check_usage[] =
	"usage: tipctl keys check\n"
	"\n"
	"Check every key, header and statement in the server's database against the admin\n"
	"keys this computer pinned (admin session): list every admin or membership\n"
	"statement no admin signed, every key only such a statement names, every header\n"
	"for a key no admin signed or no longer in its team, and every report without a\n"
	"header for someone who was a member when it arrived and still is. Exits 1 if it\n"
	"lists anything, 0 if everything is signed. tipd and tipctl never seal to what it\n"
	"lists; it tells you what someone with database access added.\n";

/* One team's verified chain. */
struct kc_team {
	char team[MEMBERSHIP_TEAM_MAX + 1];
	struct membership **ok; /* verified statements, in order */
	char (*day)[11];        /* the day each was stored */
	size_t n;
	int broken; /* a row after ok[n-1] did not verify */
	char *head; /* ok[n-1] as signed */
};

struct kc {
	struct admins_view v;
	struct kc_team t[KC_TEAMS_MAX];
	size_t nt;
	size_t findings;
};

static void
finding(struct kc *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print one finding (terminal-safe: every field was checked or is ours). */
static void
finding(struct kc *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	k->findings++;
}

/* The team entry for `team` (made if new), or NULL if full or invalid. */
static struct kc_team *
team_of(struct kc *k, const char *team)
{
	if (team == NULL || !membership_team_valid(team))
		return NULL;
	for (size_t i = 0; i < k->nt; i++)
		if (strcmp(k->t[i].team, team) == 0)
			return &k->t[i];
	if (k->nt == KC_TEAMS_MAX)
		return NULL;
	struct kc_team *t = &k->t[k->nt++];
	memset(t, 0, sizeof(*t));
	snprintf(t->team, sizeof(t->team), "%s", team);
	return t;
}

/* The admin statements as stored against the verified chain. */
static void
check_admins(struct kc *k, json_t *rows)
{
	json_t *row;
	size_t i, nv = json_array_size(k->v.stmts);
	json_array_foreach(rows, i, row) {
		const char *seq = json_string_value(json_object_get(row, "seq"));
		json_t *st = json_object_get(row, "statement");
		uint64_t s = 0;
		if (seq == NULL || util_parse_u64(seq, ADMINS_SEQ_MAX, &s) != 0 || !json_is_string(st))
			continue;
		json_t *good = s >= 1 && s <= nv ? json_array_get(k->v.stmts, s - 1) : NULL;
		if (good == NULL || !json_equal(good, st))
			finding(k, "admin statement %llu: not signed by a quorum of the admins, or it "
			        "does not follow the admin chain", (unsigned long long)s);
	}
}

/* Add a verified statement to team `t`. Return 0, or -1. */
static int
team_push(struct kc_team *t, struct membership *m, const char *day)
{
	struct membership **ok = realloc(t->ok, (t->n + 1) * sizeof(*ok));
	if (ok == NULL)
		return -1;
	t->ok = ok;
	char (*d)[11] = realloc(t->day, (t->n + 1) * sizeof(*d));
	if (d == NULL)
		return -1;
	t->day = d;
	t->ok[t->n] = m;
	snprintf(t->day[t->n], 11, "%s", day != NULL ? day : "");
	t->n++;
	return 0;
}

/* Return 1 if a verified statement of `t` names `recipient`, else 0. */
static int
ever_recipient(const struct kc_team *t, const char *recipient)
{
	for (size_t i = 0; i < t->n; i++)
		if (membership_has_recipient(t->ok[i], recipient))
			return 1;
	return 0;
}

/* Report the members of the unverified statement `text` no verified one names. */
static void
unsigned_keys(struct kc *k, const struct kc_team *t, const char *text, const char *seq)
{
	/* Read the member lines without trusting the signature. */
	const char *p = text;
	while ((p = strstr(p, "\nmember ")) != NULL) {
		struct membership_member mm;
		p += strlen("\nmember ");
		size_t n = strcspn(p, "\n");
		if (membership_member_parse(p, n, &mm) != 0)
			continue;
		if (!ever_recipient(t, mm.recipient)) {
			char fp[17];
			membership_fingerprint(mm.ed25519_pk, fp);
			finding(k, "team %s: key %s (fingerprint %s) in membership statement %s: no admin "
			        "signed it", t->team, mm.recipient, fp, seq);
		}
	}
}

/* Verify each team's rows as stored; report what does not verify. */
static int
check_statements(struct kc *k, json_t *rows)
{
	json_t *row;
	size_t i;
	json_array_foreach(rows, i, row) {
		struct kc_team *t = team_of(k, json_string_value(json_object_get(row, "team")));
		const char *seq = json_string_value(json_object_get(row, "seq"));
		const char *text = json_string_value(json_object_get(row, "statement"));
		struct membership *m = NULL;
		if (t == NULL || seq == NULL || text == NULL)
			return -1;
		int ok = !t->broken &&
		         membership_open(text, strlen(text), (const struct note_verifier *const *)k->v.ever,
		                         k->v.never, &m) == MEMBERSHIP_OK &&
		         membership_check_next(t->n ? t->ok[t->n - 1] : NULL, m) == MEMBERSHIP_OK &&
		         strcmp(membership_team(m), t->team) == 0;
		if (ok) {
			free(t->head);
			if ((t->head = strdup(text)) == NULL ||
			    team_push(t, m, json_string_value(json_object_get(row, "added_on"))) != 0)
				return -1;
			continue;
		}
		membership_free(m);
		t->broken = 1;
		finding(k, "team %s: membership statement %s: no admin signed it, or it does not "
		        "follow the team's chain", t->team, seq);
		unsigned_keys(k, t, text, seq);
	}
	return 0;
}

/* Check one object's header recipients against its team's chain. */
static void
check_object(struct kc *k, json_t *o)
{
	const char *team = json_string_value(json_object_get(o, "team"));
	const char *obj = json_string_value(json_object_get(o, "object"));
	const char *rid = json_string_value(json_object_get(o, "report"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	struct kc_team *t = team_of(k, team);
	json_t *rc;
	size_t i;
	if (t == NULL || obj == NULL || rid == NULL || kind == NULL || !util_uuid_valid(obj) ||
	    !util_uuid_valid(rid))
		return;
	const struct membership *head = t->n ? t->ok[t->n - 1] : NULL;
	json_array_foreach(json_object_get(o, "recipients"), i, rc) {
		const char *r = json_string_value(rc);
		if (r == NULL || strlen(r) >= AGE_RECIPIENT_STR_MAX || strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(r))
			continue;
		if (!ever_recipient(t, r))
			finding(k, "%s %s (report %s): header for %s, a key no admin signed", kind, obj,
			        rid, r);
		else if (!membership_has_recipient(head, r))
			finding(k, "%s %s (report %s): header for %s, a key no longer in team %s", kind,
			        obj, rid, r, t->team);
	}
}

/* Return 1 if the recipients of `o` include `r`. */
static int
has_header(json_t *o, const char *r)
{
	json_t *rc;
	size_t i;
	json_array_foreach(json_object_get(o, "recipients"), i, rc)
		if (json_is_string(rc) && strcmp(json_string_value(rc), r) == 0)
			return 1;
	return 0;
}

/* A report must have a header for everyone who was a member on its arrival
 * day (in every statement in force that day) and still is. */
static void
check_arrival(struct kc *k, json_t *o)
{
	const char *day = json_string_value(json_object_get(o, "received_on"));
	const char *rid = json_string_value(json_object_get(o, "report"));
	struct kc_team *t = team_of(k, json_string_value(json_object_get(o, "team")));
	size_t first = 0, last = 0, any = 0;
	if (t == NULL || day == NULL || rid == NULL || t->n == 0 || !util_uuid_valid(rid))
		return;
	for (size_t i = 0; i < t->n; i++) {
		int c = strcmp(t->day[i], day);
		if (c < 0)
			first = i;
		if (c <= 0) {
			last = i;
			any = 1;
		}
	}
	if (!any)
		return;
	const struct membership *base = t->ok[first], *head = t->ok[t->n - 1];
	for (size_t j = 0; j < membership_count(base); j++) {
		const struct membership_member *mm = membership_member_at(base, j);
		int all = membership_has_recipient(head, mm->recipient);
		for (size_t i = first + 1; i <= last && all; i++)
			all = membership_has_recipient(t->ok[i], mm->recipient);
		if (all && !has_header(o, mm->recipient))
			finding(k, "report %s (arrived %s): no header for %s, a member of team %s on "
			        "that day", rid, day, mm->name, t->team);
	}
}

/* Fetch and check every page of the inventory. Return 0, or -1 (printed). */
static int
check_pages(struct api *a, struct kc *k)
{
	char path[128] = "/api/v1/admin/keys", next[37] = "";
	for (size_t page = 0; page < KC_PAGES_MAX; page++) {
		json_t *doc = NULL, *o;
		size_t i;
		if (api_get_json(a, path, "the key inventory", &doc) != 0)
			return -1;
		if (page == 0) {
			check_admins(k, json_object_get(doc, "admin_statements"));
			if (check_statements(k, json_object_get(doc, "membership_statements")) != 0) {
				json_decref(doc);
				cli_error("bad answer from the server: malformed statements");
				return -1;
			}
		}
		json_array_foreach(json_object_get(doc, "objects"), i, o) {
			check_object(k, o);
			const char *kind = json_string_value(json_object_get(o, "kind"));
			if (kind != NULL && strcmp(kind, "report") == 0)
				check_arrival(k, o);
		}
		const char *nx = json_string_value(json_object_get(doc, "next"));
		int more = nx != NULL && util_uuid_valid(nx) && strcmp(nx, next) > 0;
		if (more) {
			snprintf(next, sizeof(next), "%s", nx);
			snprintf(path, sizeof(path), "/api/v1/admin/keys?after=%s", next);
		}
		json_decref(doc);
		if (!more)
			return 0;
	}
	return 0;
}

int
keys_check_main(int argc, char **argv)
{
	struct api a;
	struct kc *k = calloc(1, sizeof(*k));
	int rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(check_usage, stdout);
		free(k);
		return CLI_OK;
	}
	if (argc != 1 || k == NULL) {
		fputs(check_usage, stderr);
		free(k);
		return CLI_USAGE;
	}
	if (admin_open(&a) != 0 || admins_view_load(&a, &k->v) != 0 || check_pages(&a, k) != 0)
		goto out;
	for (size_t i = 0; i < k->nt; i++)
		if (k->t[i].head != NULL &&
		    !admins_view_signed_by_current(&k->v, k->t[i].head, strlen(k->t[i].head)))
			finding(k, "team %s: its latest membership statement was signed only by a former "
			        "admin: a current admin must sign the next one", k->t[i].team);
	if (k->findings == 0)
		printf("every key, header and statement is signed by the admins you pinned\n");
	else
		printf("%zu finding%s: tipd and tipctl seal to none of these; ask who changed the "
		       "database\n", k->findings, k->findings == 1 ? "" : "s");
	rc = k->findings == 0 ? CLI_OK : CLI_ERR;
out:
	for (size_t i = 0; i < k->nt; i++) {
		for (size_t j = 0; j < k->t[i].n; j++)
			membership_free(k->t[i].ok[j]);
		free(k->t[i].ok);
		free(k->t[i].day);
		free(k->t[i].head);
	}
	admins_view_clear(&k->v);
	free(k);
	api_close(&a);
	return rc;
}
