#include "chain.h"
#include "sync_cmd.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "age.h"
#include "api.h"
#include "cli.h"
#include "opts.h"
#include "names.h"
#include "identity.h"
#include "membership.h"
#include "note.h"
#include "proto.h"
#include "report.h"
#include "seen.h"
#include "tips_open.h"
#include "util.h"

static const char sy_usage[] =
	"usage: tipctl sync [--team TEAM]... [--yes] [--identity PATH] [--passphrase-file FILE]\n"
	"\n"
	"Give the team's newcomers access to the reports, attachments, messages, replies\n"
	"and notes that were sealed before they joined. For each newcomer tipctl shows\n"
	"their name, the fingerprint of their key and the membership statement (checked\n"
	"against the admin keys you pinned at login) that lists them, and asks first.\n"
	"Compare the fingerprint with the newcomer (or your admin) before you answer.\n"
	"\n"
	"  --team TEAM            sync this team (repeatable); default: every team of\n"
	"                         the reports you can list\n"
	"  --yes                  do not ask (needed without a terminal)\n"
	"  --identity PATH        identity file (default $TIPLINE_HOME/identity.age)\n"
	"  --passphrase-file FILE take the passphrase from the first line of FILE\n";

struct sy_opts {
	char teams[SYNC_TEAMS_MAX][MEMBERSHIP_TEAM_MAX + 1];
	size_t nteams;
	int yes;
	const char *identity, *pass_file;
};

/* One team's run. */
struct sy_team {
	const char *team;
	struct membership *m;                  /* the verified latest statement */
	char signers[512];                     /* the pinned admin keys that signed it */
	json_t *objects;                       /* what missing-headers listed */
	json_t *headers;                       /* [{object, recipient, header}] to upload */
	json_t *checked;                       /* report id -> true once its sealed team matched */
	json_t *warned;                        /* recipients not in `m`, already warned about */
	size_t count[MEMBERSHIP_MAX_MEMBERS];  /* objects each member misses */
	int answer[MEMBERSHIP_MAX_MEMBERS];    /* 1 give access, 0 not */
	size_t made, added, already, refused, unopenable, unverified, newcomers, declined;
};

#define SY_MISMATCH \
	"team %s: the server lists %s %s as an object of report %s, but %s: refusing; no header " \
	"was sent for this team. Tell an admin (the server's data was altered)"

/* Add `team` to the list unless it is there. Return 0, or -1 if the list is full. */
static int
sy_add_team(struct sy_opts *o, const char *team)
{
	for (size_t i = 0; i < o->nteams; i++)
		if (strcmp(o->teams[i], team) == 0)
			return 0;
	if (o->nteams == SYNC_TEAMS_MAX)
		return -1;
	snprintf(o->teams[o->nteams++], MEMBERSHIP_TEAM_MAX + 1, "%s", team);
	return 0;
}

/* --team (opt_fn): add the team `arg` to the sy_opts `dst`. Return 0, or -1
 * (printed: not a team name, or too many). */
static int
sy_team_opt(const char *arg, void *dst)
{
	if (!membership_team_valid(arg) || sy_add_team(dst, arg) != 0) {
		cli_error("--team: not a team name, or more than %d teams", SYNC_TEAMS_MAX);
		return -1;
	}
	return 0;
}

/* Parse the options into `o`. Return OPTS_GO (-1) to go on, or an exit code. */
static int
sy_parse_opts(int argc, char **argv, struct sy_opts *o)
{
	const struct opt opts[] = { OPT_FN("team", sy_team_opt, o), OPT_YES(&o->yes),
		                    OPT_IDENTITY(&o->identity), OPT_PASS_FILE(&o->pass_file), OPT_END };
	int rc = opts_parse(argc, argv, opts, NULL, sy_usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc)
		return opts_usage_error(sy_usage, "unexpected argument '%s'", argv[optind]);
	return OPTS_GO;
}

/* Add the teams of one report-list page `doc` to `o`; store the next cursor
 * (malloc'd) in *cursor or NULL. Return 0, or -1 (printed). */
static int
sy_teams_page(json_t *doc, struct sy_opts *o, char **cursor)
{
	json_t *reps = json_object_get(doc, "reports"), *next = json_object_get(doc, "next_cursor"), *r;
	size_t i;
	*cursor = NULL;
	if (!json_is_array(reps) || (next != NULL && !json_is_null(next) && !json_is_string(next))) {
		cli_error("bad answer from the server: not a report list");
		return -1;
	}
	json_array_foreach(reps, i, r) {
		const char *t = json_string_value(json_object_get(r, "team"));
		if (t == NULL || !membership_team_valid(t)) {
			cli_error("bad answer from the server: a report without a valid team");
			return -1;
		}
		if (sy_add_team(o, t) != 0) {
			cli_error("your reports are in more than %d teams: name them with --team",
			          SYNC_TEAMS_MAX);
			return -1;
		}
	}
	if (json_is_string(next) && (*cursor = strdup(json_string_value(next))) == NULL) {
		cli_error("out of memory");
		return -1;
	}
	return 0;
}

/* Find the teams of every report the caller can list. Return 0, or -1 (printed). */
static int
sy_find_teams(struct api *a, struct sy_opts *o)
{
	struct buf path;
	char *cursor = NULL;
	int rc = -1;
	buf_init(&path, 8192);
	for (int page = 0; page < SYNC_REPORT_PAGES; page++) {
		json_t *doc = NULL;
		char *next = NULL;
		buf_reset(&path);
		if (buf_adds(&path, "/api/v1/reports?limit=200") != 0 ||
		    (cursor != NULL && api_query_add(&path, "cursor", cursor) != 0) ||
		    buf_cstr(&path) == NULL) {
			cli_error("the report list's cursor is too long");
			goto out;
		}
		if (api_get_json(a, buf_cstr(&path), "the report list", &doc) != 0)
			goto out;
		int bad = sy_teams_page(doc, o, &next);
		json_decref(doc);
		free(cursor);
		cursor = next;
		if (bad)
			goto out;
		if (cursor == NULL)
			break;
	}
	rc = 0;
out:
	free(cursor);
	buf_free(&path);
	return rc;
}

/* Return 1 if `o` is a well-formed missing-headers object, else 0. */
static int
sy_object_ok(json_t *o)
{
	static const char *const kinds[] = { "report", "attachment", "message", "reply", "note",
		                             NULL };
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *rid = json_string_value(json_object_get(o, "report"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	json_t *miss = json_object_get(o, "missing"), *v;
	size_t i;
	int known = 0;
	if (id == NULL || rid == NULL || kind == NULL || !util_uuid_valid(id) ||
	    !util_uuid_valid(rid) || !json_is_string(json_object_get(o, "header")) ||
	    !json_is_array(miss) || json_array_size(miss) > MEMBERSHIP_MAX_MEMBERS)
		return 0;
	for (i = 0; kinds[i] != NULL; i++)
		known |= strcmp(kind, kinds[i]) == 0;
	json_array_foreach(miss, i, v) {
		if (!json_is_string(v))
			return 0;
	}
	return known;
}

/* Add one missing-headers page `arr` to t->objects; `after` is the last id
 * seen (ids must grow). Return 0, or -1 (printed). */
static int
sy_collect_page(struct sy_team *t, json_t *arr, char after[37])
{
	json_t *o;
	size_t i;
	if (!json_is_array(arr) || json_array_size(arr) > SYNC_PAGE)
		goto bad;
	json_array_foreach(arr, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		if (!sy_object_ok(o) || (after[0] != '\0' && strcmp(id, after) <= 0))
			goto bad;
		snprintf(after, 37, "%s", id);
		if (json_array_append(t->objects, o) != 0) {
			cli_error("out of memory");
			return -1;
		}
	}
	return 0;
bad:
	cli_error("bad answer from the server: not a list of objects missing headers");
	return -1;
}

/* Page through the team's objects that some member has no header for.
 * Return 0, or -1 (printed). */
static int
sy_collect(struct api *a, struct sy_team *t)
{
	char path[200], after[37] = "";
	for (;;) {
		json_t *doc = NULL;
		snprintf(path, sizeof(path), "/api/v1/teams/%s/missing-headers?limit=%d%s%s", t->team,
		         SYNC_PAGE, after[0] != '\0' ? "&after=" : "", after);
		if (api_get_json(a, path, "the team's objects", &doc) != 0)
			return -1;
		json_t *arr = json_object_get(doc, "objects");
		size_t n = json_array_size(arr);
		int rc = sy_collect_page(t, arr, after);
		json_decref(doc);
		if (rc != 0)
			return -1;
		if (n < SYNC_PAGE)
			return 0;
		if (json_array_size(t->objects) >= SYNC_OBJECTS_MAX) {
			fprintf(stderr, "tipctl: stopped after %zu objects of team %s: run tipctl sync "
			                "again for the rest\n", json_array_size(t->objects), t->team);
			return 0;
		}
	}
}

/* Return the index of the member of `m` whose recipient is `rcpt`, or -1. */
static long
sy_member_index(const struct membership *m, const char *rcpt)
{
	for (size_t i = 0; rcpt != NULL && i < membership_count(m); i++)
		if (strcmp(membership_member_at(m, i)->recipient, rcpt) == 0)
			return (long)i;
	return -1;
}

/* Count the objects each member of the statement misses; warn once about
 * each recipient the server lists that the verified statement does not. */
static void
sy_count(struct sy_team *t)
{
	json_t *o, *v;
	size_t i, j;
	uint8_t pk[AGE_KEY_LEN];
	json_array_foreach(t->objects, i, o) {
		json_array_foreach(json_object_get(o, "missing"), j, v) {
			const char *r = json_string_value(v);
			long k = sy_member_index(t->m, r);
			if (k >= 0) {
				t->count[k]++;
				continue;
			}
			t->unverified++;
			if (json_object_get(t->warned, r) != NULL ||
			    json_object_set_new(t->warned, r, json_true()) != 0)
				continue;
			fprintf(stderr, "tipctl: warning: team %s: the server lists %s as a member, but "
			        "the verified membership statement %llu does not: no header is made "
			        "for it (tell an admin)\n", t->team,
			        age_recipient_decode(r, pk) == 0 ? r : "a malformed recipient",
			        (unsigned long long)membership_seq(t->m));
		}
	}
}

/* Show newcomer `mm` of team t, missing `n` objects, and ask. Return 1 to
 * give access, 0 not to, -1 if there is no one to ask (printed). */
static int
sy_ask(const struct sy_team *t, const struct membership_member *mm, size_t n, bool yes)
{
	char fp[NAMES_FP_LEN + 1], line[16];
	names_fingerprint(mm->ed25519_pk, fp);
	printf("Newcomer in team %s: %s\n"
	       "  fingerprint  %s\n"
	       "  recipient    %s\n"
	       "  listed in membership statement %llu, signed by %s\n",
	       t->team, mm->name, fp, mm->recipient, (unsigned long long)membership_seq(t->m),
	       t->signers[0] != '\0' ? t->signers : "?");
	fflush(stdout);
	if (yes)
		return 1;
	if (!isatty(0)) {
		cli_error("no terminal to ask on: compare %s's fingerprint with them, then run "
		          "`tipctl sync --yes`", mm->name);
		return -1;
	}
	fprintf(stderr, "Give %s access to the team's %zu older objects? [y/N] ", mm->name, n);
	if (fgets(line, sizeof(line), stdin) == NULL || (line[0] != 'y' && line[0] != 'Y'))
		return 0;
	return 1;
}

/* Ask about every member who misses objects. Return 0, or -1 (printed). */
static int
sy_decide(struct sy_team *t, bool yes)
{
	for (size_t k = 0; k < membership_count(t->m); k++) {
		if (t->count[k] == 0)
			continue;
		const struct membership_member *mm = membership_member_at(t->m, k);
		int ans = sy_ask(t, mm, t->count[k], yes);
		if (ans < 0)
			return -1;
		t->answer[k] = ans;
		t->newcomers++;
		if (ans == 0) {
			printf("  %s was not given access\n", mm->name);
			t->declined++;
		}
	}
	return 0;
}

/* Open the caller's header `b64` (an age header alone) with `sk` into `fk`.
 * Return 0, or -1 (fk wiped). */
static int
sy_open_mine(const char *b64, const uint8_t (*sk)[AGE_KEY_LEN], uint8_t *fk)
{
	struct buf raw;
	size_t len = strlen(b64), rl = 0, hl = 0;
	struct age_unwrap_opts uo = { .sks = sk, .nsks = 1 };
	int rc = -1;
	buf_init(&raw, AGE_MAX_HEADER);
	if (len / 4 * 3 + 3 > AGE_MAX_HEADER || buf_reserve(&raw, len / 4 * 3 + 3) != 0 ||
	    util_base64_decode(b64, len, raw.data, raw.cap, &rl, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if (age_header_unwrap(raw.data, rl, &uo, fk, &hl) == AGE_OK && hl == rl)
		rc = 0;
out:
	if (rc != 0)
		sodium_memzero(fk, AGE_FILE_KEY_LEN);
	buf_free(&raw);
	return rc;
}

/* Add {"object", "recipient", "header"} wrapping `fk` for `mm` to the
 * headers to upload. Return 0, or -1. */
static int
sy_add_header(struct sy_team *t, const char *oid, const uint8_t *fk,
              const struct membership_member *mm)
{
	uint8_t pk[1][AGE_KEY_LEN];
	struct buf hb;
	char *b64 = NULL;
	int rc = -1;
	memcpy(pk[0], mm->x25519_pk, AGE_KEY_LEN);
	buf_init(&hb, AGE_MAX_HEADER);
	if (age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pk, 1, &hb) != 0)
		goto out;
	size_t bl = sodium_base64_ENCODED_LEN(hb.len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(bl)) == NULL)
		goto out;
	sodium_bin2base64(b64, bl, hb.data, hb.len, sodium_base64_VARIANT_ORIGINAL);
	if (json_array_append_new(t->headers, json_pack("{s:s, s:s, s:s}", "object", oid,
	                                                "recipient", mm->recipient, "header",
	                                                b64)) != 0)
		goto out;
	t->made++;
	rc = 0;
out:
	free(b64);
	buf_free(&hb);
	return rc;
}

/* Return 1 if some member given access misses a header of `o`, else 0. */
static int
sy_wanted(const struct sy_team *t, json_t *o)
{
	json_t *v;
	size_t j;
	json_array_foreach(json_object_get(o, "missing"), j, v) {
		long k = sy_member_index(t->m, json_string_value(v));
		if (k >= 0 && t->answer[k] == 1)
			return 1;
	}
	return 0;
}

int
sync_check_payload(const uint8_t *fk, const uint8_t *p, size_t n, int whole, const char *kind,
                   const char *oid, const char *rid)
{
	struct age_dec *d = age_dec_new(fk);
	struct buf pt;
	size_t skip = 0;
	int rc = -1, checked = 0;
	buf_init_secure(&pt, 4 * 65536);
	for (size_t off = 0; d != NULL && off < n;) {
		size_t k = n - off < 65536 ? n - off : 65536;
		if (age_dec_update(d, p + off, k, &pt) != AGE_OK)
			goto out;
		off += k;
		if (!checked && pt.len >= PROTO_CONTEXT_MAX) {
			if (proto_context_check(pt.data, pt.len, kind, oid, rid, &skip) != 0)
				goto out;
			checked = 1;
		}
		if (checked)
			buf_reset(&pt);
	}
	if (d == NULL)
		goto out;
	if (!whole) {
		rc = checked ? 0 : -1;
		goto out;
	}
	if (age_dec_final(d, &pt) != AGE_OK ||
	    (!checked && proto_context_check(pt.data, pt.len, kind, oid, rid, &skip) != 0))
		goto out;
	rc = 0;
out:
	age_dec_free(d);
	buf_free(&pt);
	return rc;
}

/* Decrypt report `rid`'s whole payload `p` under `fk` and check the team
 * sealed inside it (at submission) against t->team. Return 0, or -1
 * (printed). */
static int
sy_check_report(struct sy_team *t, const uint8_t *fk, const uint8_t *p, size_t n, const char *rid)
{
	struct age_dec *d = age_dec_new(fk);
	struct buf pt;
	json_t *doc = NULL;
	const char *team;
	int rc = -1;
	buf_init_secure(&pt, TIPS_REPORT_MAX);
	if (d == NULL || age_dec_update(d, p, n, &pt) != AGE_OK || age_dec_final(d, &pt) != AGE_OK ||
	    report_open(pt.data, pt.len, rid, &doc) != REPORT_OK) {
		cli_error("team %s: cannot open report %s to check which team it belongs to: refusing; "
		          "no header was sent for this team", t->team, rid);
		goto out;
	}
	team = json_string_value(json_object_get(doc, "team"));
	if (team == NULL || strcmp(team, t->team) != 0) {
		cli_error(SY_MISMATCH, t->team, "report", rid, rid,
		          "the report itself (sealed at submission) names another team");
		goto out;
	}
	rc = json_object_set_new(t->checked, rid, json_true());
out:
	json_decref(doc);
	age_dec_free(d);
	buf_free(&pt);
	return rc;
}

/*
 * One object `s` the objects route served: open the caller's header in it
 * with `sk` (file key in `fk`, wiped after), check its payload (a report's
 * sealed team, any object's context line), and if it is `want` (the
 * missing-headers object, or NULL when it was fetched only to check its
 * report's team) make the headers of every member given access. Return 0,
 * or -1 (printed) on a failure that stops the team; a wanted object whose
 * header does not open is skipped and counted.
 */
static int
sy_served(struct sy_team *t, json_t *s, json_t *want, const uint8_t (*sk)[AGE_KEY_LEN],
          uint8_t *fk)
{
	const char *oid = json_string_value(json_object_get(s, "id"));
	const char *rid = json_string_value(json_object_get(s, "report"));
	const char *kind = json_string_value(json_object_get(s, "kind"));
	json_t *size = json_object_get(s, "size"), *v;
	struct buf payload;
	size_t j;
	int rc = -1;
	if (oid == NULL || rid == NULL || kind == NULL || !json_is_integer(size) ||
	    (want != NULL ? strcmp(rid, json_string_value(json_object_get(want, "report"))) != 0 ||
	                            strcmp(kind, json_string_value(json_object_get(want, "kind"))) != 0
	                  : strcmp(kind, "report") != 0) ||
	    (strcmp(kind, "report") == 0 && strcmp(oid, rid) != 0)) {
		cli_error(SY_MISMATCH, t->team, kind != NULL ? kind : "object", oid != NULL ? oid : "?",
		          rid != NULL ? rid : "?", "it is served as another object");
		return -1;
	}
	if (sy_open_mine(json_string_value(json_object_get(s, "header")), sk, fk) != 0) {
		if (want == NULL) {
			cli_error("team %s: report %s does not open with your key: cannot check its "
			          "team; refusing", t->team, rid);
			return -1;
		}
		cli_error("warning: %s %s of report %s does not open with your key: skipped", kind, oid,
		          rid);
		t->unopenable++;
		return 0;
	}
	buf_init(&payload, API_JSON_MAX);
	if (api_b64_append(json_string_value(json_object_get(s, "payload")), &payload) != 0)
		goto bad;
	if (strcmp(kind, "report") == 0) {
		if ((json_int_t)payload.len != json_integer_value(size))
			goto bad; /* a report is served whole */
		if (sy_check_report(t, fk, payload.data, payload.len, rid) != 0)
			goto out;
	} else if (sync_check_payload(fk, payload.data, payload.len,
	                            (json_int_t)payload.len == json_integer_value(size), kind, oid,
	                            rid) != 0) {
		goto bad;
	}
	json_array_foreach(want != NULL ? json_object_get(want, "missing") : NULL, j, v) {
		long k = sy_member_index(t->m, json_string_value(v));
		if (k >= 0 && t->answer[k] == 1 &&
		    sy_add_header(t, oid, fk, membership_member_at(t->m, (size_t)k)) != 0) {
			cli_error("cannot make a header for %s", membership_member_at(t->m, (size_t)k)->name);
			goto out;
		}
	}
	rc = 0;
	goto out;
bad:
	cli_error(SY_MISMATCH, t->team, kind, oid, rid,
	          "it does not open as that object (its context line names another)");
out:
	sodium_memzero(fk, AGE_FILE_KEY_LEN);
	buf_free(&payload);
	return rc;
}

static int
sy_id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Ask the objects route for ids[*i, end) and handle what it serves (in id
 * order); advance *i past what was answered (to end, or past the last
 * object served if the answer was truncated). Return 0, or -1 (printed). */
static int
sy_fetch_batch(struct api *a, struct sy_team *t, const char (*ids)[37], size_t *i, size_t end,
               json_t *want, json_t *served, const uint8_t (*sk)[AGE_KEY_LEN], uint8_t *fk)
{
	struct client_response r;
	json_t *req = json_array(), *doc = NULL, *ans = NULL, *arr, *s;
	json_error_t e;
	char *body = NULL, path[128];
	const char *last = NULL;
	size_t k;
	int rc = -1;
	buf_init(&r.body, API_JSON_MAX);
	for (k = *i; req != NULL && k < end; k++)
		if (json_array_append_new(req, json_string(ids[k])) != 0)
			goto oom;
	if (req == NULL || (doc = json_pack("{s:O}", "ids", req)) == NULL ||
	    (body = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto oom;
	snprintf(path, sizeof(path), "/api/v1/teams/%s/objects", t->team);
	if (api_call(a, "POST", path, body, &r, "the team's objects") != 0)
		goto out;
	ans = json_loadb((const char *)r.body.data, r.body.len, JSON_REJECT_DUPLICATES, &e);
	arr = json_object_get(ans, "objects");
	if (!json_is_array(arr) || !json_is_boolean(json_object_get(ans, "truncated")) ||
	    (json_is_true(json_object_get(ans, "truncated")) && json_array_size(arr) == 0)) {
		cli_error("bad answer from the server: not a list of objects");
		goto out;
	}
	json_array_foreach(arr, k, s) {
		const char *oid = json_string_value(json_object_get(s, "id"));
		if (oid == NULL || (last != NULL && strcmp(oid, last) <= 0) ||
		    bsearch(oid, ids + *i, end - *i, sizeof(*ids), sy_id_cmp) == NULL) {
			cli_error("bad answer from the server: an object that was not asked for");
			goto out;
		}
		last = oid;
		if (sy_served(t, s, json_object_get(want, oid), sk, fk) != 0 ||
		    json_object_set_new(served, oid, json_true()) != 0)
			goto out;
	}
	if (json_is_true(json_object_get(ans, "truncated")))
		*i = (size_t)((const char(*)[37])bsearch(last, ids + *i, end - *i, sizeof(*ids),
		                                         sy_id_cmp) - ids) + 1;
	else
		*i = end;
	rc = 0;
	goto out;
oom:
	cli_error("out of memory");
out:
	free(body);
	json_decref(ans);
	json_decref(doc);
	json_decref(req);
	buf_free(&r.body);
	return rc;
}

/* The ids to fetch: every wanted object (in `want`, id -> object) and the
 * report of each, sorted, into *ids (malloc'd). Return how many, or -1. */
static long
sy_ids(struct sy_team *t, json_t *want, char (**ids)[37])
{
	json_t *need = json_object(), *o, *v;
	const char *k;
	size_t i, n = 0;
	json_array_foreach(t->objects, i, o) {
		if (!sy_wanted(t, o))
			continue;
		if (json_object_set(want, json_string_value(json_object_get(o, "id")), o) != 0 ||
		    json_object_set_new(need, json_string_value(json_object_get(o, "id")),
		                        json_true()) != 0 ||
		    json_object_set_new(need, json_string_value(json_object_get(o, "report")),
		                        json_true()) != 0)
			goto fail;
	}
	if ((*ids = calloc(json_object_size(need) + 1, sizeof(**ids))) == NULL)
		goto fail;
	json_object_foreach(need, k, v) {
		snprintf((*ids)[n++], 37, "%s", k);
	}
	qsort(*ids, n, sizeof(**ids), sy_id_cmp);
	json_decref(need);
	return (long)n;
fail:
	json_decref(need);
	return -1;
}

/* Make the headers of every object the team's newcomers miss: the objects
 * and their reports are fetched SYNC_FETCH at a time; each report is
 * opened and its sealed team checked, each object opened and its context
 * line checked, before anything is uploaded. Return 0, or -1 (printed). */
static int
sy_make_all(struct api *a, struct sy_team *t, const uint8_t (*sk)[AGE_KEY_LEN], uint8_t *fk)
{
	json_t *want = json_object(), *served = json_object(), *o;
	char (*ids)[37] = NULL;
	const char *k;
	long n = -1;
	int rc = -1;
	if (want == NULL || served == NULL || (n = sy_ids(t, want, &ids)) < 0) {
		cli_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < (size_t)n;) {
		size_t end = (size_t)n - i > SYNC_FETCH ? i + SYNC_FETCH : (size_t)n;
		if (sy_fetch_batch(a, t, (const char(*)[37])ids, &i, end, want, served, sk, fk) != 0)
			goto out;
	}
	json_object_foreach(want, k, o) {
		const char *rid = json_string_value(json_object_get(o, "report"));
		if (json_object_get(served, k) == NULL || json_object_get(t->checked, rid) == NULL) {
			cli_error(SY_MISMATCH, t->team, json_string_value(json_object_get(o, "kind")), k,
			          rid, "the server does not serve it or its report");
			goto out;
		}
	}
	rc = 0;
out:
	free(ids);
	json_decref(want);
	json_decref(served);
	return rc;
}

/* Upload headers [off, off + SYNC_BATCH) of t->headers. Return 0, or -1 (printed). */
static int
sy_post(struct api *a, struct sy_team *t, size_t off)
{
	struct client_response r;
	json_t *part = json_array(), *doc = NULL, *ans = NULL;
	json_error_t e;
	char *body = NULL, path[128];
	int rc = -1;
	buf_init(&r.body, 65536);
	for (size_t i = off; part != NULL && i < off + SYNC_BATCH && i < json_array_size(t->headers);
	     i++)
		if (json_array_append(part, json_array_get(t->headers, i)) != 0) {
			json_decref(part);
			part = NULL;
		}
	if (part == NULL || (doc = json_pack("{s:O}", "headers", part)) == NULL ||
	    (body = json_dumps(doc, JSON_COMPACT)) == NULL) {
		cli_error("out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "/api/v1/teams/%s/headers", t->team);
	if (api_call(a, "POST", path, body, &r, "the team's headers") != 0)
		goto out;
	ans = json_loadb((const char *)r.body.data, r.body.len, JSON_REJECT_DUPLICATES, &e);
	json_t *ad = json_object_get(ans, "added"), *sk = json_object_get(ans, "skipped"),
	       *rf = json_object_get(ans, "refused");
	if (!json_is_integer(ad) || !json_is_integer(sk) || !json_is_integer(rf) ||
	    json_integer_value(ad) < 0 || json_integer_value(sk) < 0 || json_integer_value(rf) < 0) {
		cli_error("bad answer from the server to the headers of team %s", t->team);
		goto out;
	}
	t->added += (size_t)json_integer_value(ad);
	t->already += (size_t)json_integer_value(sk);
	t->refused += (size_t)json_integer_value(rf);
	rc = 0;
out:
	free(body);
	json_decref(ans);
	json_decref(doc);
	json_decref(part);
	buf_free(&r.body);
	return rc;
}

/* Upload every header, SYNC_BATCH at a time. Return 0, or -1 (printed). */
static int
sy_upload(struct api *a, struct sy_team *t)
{
	for (size_t off = 0; off < json_array_size(t->headers); off += SYNC_BATCH)
		if (sy_post(a, t, off) != 0)
			return -1;
	return 0;
}

/* Print what was done for team t. */
static void
sy_summary(const struct sy_team *t)
{
	if (t->newcomers == 0 && t->unverified == 0) {
		printf("team %s: nothing to do: every member has a header for every object you "
		       "can open (membership statement %llu)\n", t->team,
		       (unsigned long long)membership_seq(t->m));
		return;
	}
	printf("team %s: %zu object(s) missing headers; %zu header(s) added for %zu "
	       "newcomer(s)", t->team, json_array_size(t->objects), t->added,
	       t->newcomers - t->declined);
	for (size_t k = 0, first = 1; k < membership_count(t->m); k++) {
		if (t->answer[k] != 1)
			continue;
		printf("%s%s", first ? ": " : ", ", membership_member_at(t->m, k)->name);
		first = 0;
	}
	printf("\n");
	if (t->already > 0)
		printf("  %zu header(s) were already there\n", t->already);
	if (t->declined > 0)
		printf("  %zu newcomer(s) not given access\n", t->declined);
	if (t->unopenable > 0)
		printf("  %zu object(s) did not open with your key and were skipped\n", t->unopenable);
	if (t->refused > 0)
		printf("  %zu header(s) were refused by the server (not an object of the team you "
		       "can open)\n", t->refused);
	if (t->unverified > 0)
		printf("  %zu header(s) asked for recipients outside the verified membership were "
		       "not made\n", t->unverified);
}

/* Check that the caller is in the verified statement. Return 0, or -1 (printed). */
static int
sy_check_me(const struct sy_team *t, const struct identity *id)
{
	for (size_t i = 0; i < membership_count(t->m); i++)
		if (sodium_memcmp(membership_member_at(t->m, i)->ed25519_pk, identity_ed25519_pk(id),
		                  MEMBERSHIP_KEY_LEN) == 0)
			return 0;
	cli_error("team %s: your key is not in its membership statement %llu: nothing to share",
	          t->team, (unsigned long long)membership_seq(t->m));
	return -1;
}

/* Make and upload the headers of team t. Return 0, or -1 (printed). */
static int
sy_team_work(struct api *a, struct sy_team *t, const struct identity *id, bool yes)
{
	uint8_t (*sk)[AGE_KEY_LEN] = sodium_malloc(sizeof(*sk));
	uint8_t *fk = sodium_malloc(AGE_FILE_KEY_LEN);
	int rc = -1;
	if (sk == NULL || fk == NULL) {
		cli_error("out of memory");
		goto out;
	}
	if (sy_collect(a, t) != 0)
		goto out;
	sy_count(t);
	if (sy_decide(t, yes) != 0)
		goto out;
	memcpy(sk, identity_x25519_sk(id), AGE_KEY_LEN);
	if (sy_make_all(a, t, (const uint8_t(*)[AGE_KEY_LEN])sk, fk) != 0 || sy_upload(a, t) != 0)
		goto out;
	sy_summary(t);
	rc = t->unopenable > 0 || t->unverified > 0 || t->refused > 0 ? -1 : 0;
out:
	if (sk != NULL)
		sodium_free(sk);
	if (fk != NULL)
		sodium_free(fk);
	return rc;
}

/* Sync one team. Return 0, or -1 (printed). */
static int
sy_team_run(struct api *a, const char *team, const struct identity *id, bool yes)
{
	struct sy_team *t = calloc(1, sizeof(*t));
	int rc = -1;
	if (t == NULL) {
		cli_error("out of memory");
		return -1;
	}
	t->team = team;
	t->objects = json_array();
	t->headers = json_array();
	t->checked = json_object();
	t->warned = json_object();
	if (t->objects == NULL || t->headers == NULL || t->checked == NULL || t->warned == NULL) {
		cli_error("out of memory");
		goto out;
	}
	if (chain_fetch_signed(a, t->team, 0, &t->m, t->signers, sizeof(t->signers)) != 0 ||
	    sy_check_me(t, id) != 0)
		goto out;
	rc = sy_team_work(a, t, id, yes);
out:
	if (rc != 0)
		fprintf(stderr, "tipctl: team %s was not synced completely\n", team);
	membership_free(t->m);
	json_decref(t->objects);
	json_decref(t->headers);
	json_decref(t->checked);
	json_decref(t->warned);
	free(t);
	return rc;
}

int
sync_cmd_main(int argc, char **argv)
{
	struct sy_opts *o = calloc(1, sizeof(*o));
	struct api a;
	struct identity *id = NULL;
	int rc, bad = 0;
	if (o == NULL) {
		cli_error("out of memory");
		return CLI_ERR;
	}
	memset(&a, 0, sizeof(a));
	if ((rc = sy_parse_opts(argc, argv, o)) >= 0)
		goto out;
	rc = CLI_ERR;
	if (api_open(&a) != 0)
		goto out;
	if (a.s->n_admin_keys == 0) {
		cli_error("no admin key is pinned: log in again with --admin-key (from your invite); "
		          "without it tipctl cannot check who the newcomers are");
		goto out;
	}
	if (o->nteams == 0 && sy_find_teams(&a, o) != 0)
		goto out;
	if (o->nteams == 0) {
		printf("no reports in your teams yet: nothing to sync (or name a team with --team)\n");
		rc = CLI_OK;
		goto out;
	}
	if ((id = api_identity_load(o->identity, o->pass_file)) == NULL)
		goto out;
	for (size_t i = 0; i < o->nteams; i++)
		bad |= sy_team_run(&a, o->teams[i], id, o->yes) != 0;
	rc = bad ? CLI_ERR : CLI_OK;
out:
	identity_free(id);
	api_close(&a);
	free(o);
	return rc;
}
