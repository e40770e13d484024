#include "admin_online.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin_teams.h"
#include "api.h"
#include "chain.h"
#include "cli.h"
#include "names.h"
#include "invite.h"
#include "keys.h"
#include "membership.h"
#include "note.h"
#include "opts.h"
#include "profile.h"
#include "report.h"
#include "util.h"

static const char invite_usage[] =
	"usage: tipctl admin invite --name NAME --team TEAM [--team TEAM]... [--ttl-hours N]\n"
	"                           [--out FILE]\n"
	"\n"
	"Make a single-use invite for investigator NAME to join TEAM(s) (log in with\n"
	"`tipctl login --admin` first). The invite carries this server's pinned TLS key,\n"
	"origin, admin keys and audit key as your own tipctl pinned them, and a secret:\n"
	"give it to NAME over a channel you trust. They run `tipctl enroll INVITE`; you\n"
	"then run `tipctl admin approve`. Each TEAM must exist: `tipctl admin team list`\n"
	"shows them, `tipctl admin team create` makes one.\n"
	"\n"
	"  --name NAME      the member name (1-64 of A-Z a-z 0-9 . _ -)\n"
	"  --team TEAM      a team to join (repeatable, at most 16)\n"
	"  --ttl-hours N    hours until the invite expires (default 72, at most 720)\n"
	"  --out FILE       write the invite to FILE (new, mode 0600) instead of stdout\n";

static const char approve_usage[] =
	"usage: tipctl admin approve [--key FILE] [--passphrase-file FILE] [--yes] [NAME]\n"
	"\n"
	"Approve pending enrollments (all of them, or NAME's). For each, tipctl checks the\n"
	"enrollment's signature against this server's pinned origin and TLS key, shows\n"
	"the fingerprint and asks whether it is the one the investigator read to you;\n"
	"then it fetches each of their teams' membership chain, verifies it against the\n"
	"pinned admin keys, signs the next statement with the newcomer added, and\n"
	"uploads it. New reports are sealed to them from then on; older ones once a\n"
	"member runs `tipctl sync`. The question comes first, your admin key's\n"
	"passphrase only after a yes. Each team must exist (`tipctl admin team create`).\n"
	"Exits 1 if any enrollment was not approved (a no, no terminal, an error); an\n"
	"enrollment nobody should approve is removed with `tipctl admin reject`.\n"
	"\n"
	"  --key FILE              your admin key (default: the one you enrolled)\n"
	"  --passphrase-file FILE  take its passphrase from the first line of FILE\n"
	"  --yes                   do not ask (only after comparing fingerprints yourself)\n";

static const char revoke_usage[] =
	"usage: tipctl admin revoke NAME --team TEAM [--key FILE] [--passphrase-file FILE] [--yes]\n"
	"\n"
	"Remove NAME from TEAM: sign and upload the next membership statement without\n"
	"them. tipd deletes their headers on the team's reports and their sessions at\n"
	"once, and seals no new report to them. The question comes first, your admin\n"
	"key's passphrase only after a yes; a no (or no terminal without --yes) changes\n"
	"nothing and exits 1.\n"
	"\n"
	"  --key FILE              your admin key (default: the one you enrolled)\n"
	"  --passphrase-file FILE  take its passphrase from the first line of FILE\n"
	"  --yes                   do not ask\n";

static const char label_usage[] =
	"usage: tipctl admin label add|remove NAME\n"
	"\n"
	"Add a label to, or remove one from, the vocabulary investigators triage with\n"
	"(`tipctl tips set --label`). Labels are 1-64 of a-z 0-9 . _ -.\n";

int
admin_open(struct api *a)
{
	if (api_open(a) != 0)
		return -1;
	if (a->s->n_admin_keys == 0) {
		cli_error("no admin key is pinned in this session: enroll with an admin invite, or "
		          "log in with --admin-key");
		return -1;
	}
	return 0;
}

/* ---- invite ---- */

struct invite_opts {
	const char *name, *out;
	const char *teams[INVITE_TEAMS_MAX];
	size_t nteams;
	uint64_t ttl;
};

/* --team of `admin invite` (opt_fn): add `arg` to the invite_opts `dst`. */
static int
invite_team_opt(const char *arg, void *dst)
{
	struct invite_opts *o = dst;
	if (o->nteams == INVITE_TEAMS_MAX || !membership_team_valid(arg)) {
		cli_error("admin invite: --team: a team id (a-z, 0-9, '-'), at most %d",
		          INVITE_TEAMS_MAX);
		return -1;
	}
	o->teams[o->nteams++] = arg;
	return 0;
}

/* --ttl-hours of `admin invite` (opt_fn): 1 to 720 into the uint64_t `dst`. */
static int
invite_ttl_opt(const char *arg, void *dst)
{
	uint64_t *ttl = dst;
	if (util_parse_u64(arg, 720, ttl) != 0 || *ttl == 0) {
		cli_error("admin invite: --ttl-hours: 1 to 720");
		return -1;
	}
	return 0;
}

/* Parse the options of `admin invite` into `o`; return OPTS_GO, or an exit code. */
static int
invite_opts_parse(int argc, char **argv, struct invite_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl = 72;
	const struct opt opts[] = { OPT_STR("name", &o->name), OPT_FN("team", invite_team_opt, o),
		                    OPT_FN("ttl-hours", invite_ttl_opt, &o->ttl),
		                    OPT_STR("out", &o->out), OPT_END };
	int rc = opts_parse(argc, argv, opts, "admin invite", invite_usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc || o->name == NULL || !invite_name_valid(o->name) || o->nteams == 0)
		return opts_usage_error(invite_usage,
		                        "admin invite: give --name NAME and at least one --team");
	return OPTS_GO;
}

/* Compose the invite from the server's answer and our own pins. */
static int
invite_compose(const struct api *a, json_t *ans, struct invite *iv)
{
	const char *id = json_string_value(json_object_get(ans, "id"));
	const char *secret = json_string_value(json_object_get(ans, "secret"));
	json_t *exp = json_object_get(ans, "expires_at"), *teams = json_object_get(ans, "teams"), *t;
	size_t i;
	memset(iv, 0, sizeof(*iv));
	if (id == NULL || secret == NULL || !json_is_integer(exp) || !json_is_array(teams) ||
	    json_array_size(teams) > INVITE_TEAMS_MAX || strlen(secret) >= sizeof(iv->secret) ||
	    strlen(id) >= sizeof(iv->id))
		return -1;
	snprintf(iv->server, sizeof(iv->server), "%s", a->s->server);
	snprintf(iv->pin, sizeof(iv->pin), "%s", a->s->pin);
	snprintf(iv->origin, sizeof(iv->origin), "%s", a->s->origin);
	for (i = 0; i < a->s->n_admin_keys && i < INVITE_ADMINS_MAX; i++)
		snprintf(iv->admin_keys[i], sizeof(iv->admin_keys[i]), "%s", a->s->admin_keys[i]);
	iv->n_admin_keys = i;
	snprintf(iv->audit_key, sizeof(iv->audit_key), "%s", a->s->audit_key);
	snprintf(iv->id, sizeof(iv->id), "%s", id);
	snprintf(iv->secret, sizeof(iv->secret), "%s", secret);
	snprintf(iv->role, sizeof(iv->role), "investigator");
	snprintf(iv->name, sizeof(iv->name), "%s", json_string_value(json_object_get(ans, "name")));
	json_array_foreach(teams, i, t) {
		if (!json_is_string(t) || json_string_length(t) >= sizeof(iv->teams[0]))
			return -1;
		snprintf(iv->teams[i], sizeof(iv->teams[i]), "%s", json_string_value(t));
	}
	iv->n_teams = json_array_size(teams);
	iv->expires_at = (int64_t)json_integer_value(exp);
	return 0;
}

int
admin_online_invite(int argc, char **argv)
{
	struct invite_opts o;
	struct api a;
	struct client_response r;
	struct invite iv;
	struct buf text;
	json_t *req = NULL, *ans = NULL, *teams = json_array();
	memset(&iv, 0, sizeof(iv));
	char *body = NULL;
	json_error_t e;
	int rc = invite_opts_parse(argc, argv, &o);
	memset(&a, 0, sizeof(a));
	buf_init_secure(&r.body, 65536);
	buf_init_secure(&text, INVITE_TEXT_MAX);
	if (rc >= 0)
		goto out;
	rc = CLI_ERR;
	for (size_t i = 0; teams != NULL && i < o.nteams; i++)
		json_array_append_new(teams, json_string(o.teams[i]));
	req = json_pack("{s:s, s:O, s:I}", "name", o.name, "teams", teams, "ttl_hours",
	                (json_int_t)o.ttl);
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL || admin_open(&a) != 0 ||
	    admin_teams_require(&a, o.teams, o.nteams) != 0 ||
	    api_call(&a, "POST", "/api/v1/admin/invites", body, &r, "the invite") != 0)
		goto out;
	ans = json_loadb((const char *)r.body.data, r.body.len, JSON_REJECT_DUPLICATES, &e);
	if (invite_compose(&a, ans, &iv) != 0 || invite_encode(&iv, &text) != 0) {
		cli_error("bad answer from the server: not an invite");
		goto out;
	}
	if (o.out != NULL ? cli_write_new(o.out, text.data, text.len) != 0
	                  : printf("%.*s\n", (int)text.len, (const char *)text.data) < 0) {
		cli_error("cannot write the invite%s%s", o.out ? " to " : "", o.out ? o.out : "");
		goto out;
	}
	fprintf(stderr, "invite for %s (teams:", iv.name);
	for (size_t i = 0; i < iv.n_teams; i++)
		fprintf(stderr, " %s", iv.teams[i]);
	fprintf(stderr, "), single use, expires in %llu hour%s%s%s\n", (unsigned long long)o.ttl,
	        o.ttl == 1 ? "" : "s",
	        o.out ? "; written to " : "", o.out ? o.out : "");
	rc = CLI_OK;
out:
	sodium_memzero(&iv, sizeof(iv));
	json_decref(req);
	json_decref(ans);
	json_decref(teams);
	free(body);
	api_close(&a);
	buf_free(&r.body);
	buf_free(&text);
	return rc;
}

/* ---- statements ---- */

struct stmt_opts {
	const char *key, *pass_file, *name, *team;
	int yes;
};

/* Parse the options shared by approve and revoke. */
static int
stmt_opts_parse(int argc, char **argv, const char *usage, int want_team, struct stmt_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_KEY(&o->key), OPT_PASS_FILE(&o->pass_file),
		                    OPT_STR("team", &o->team), OPT_YES(&o->yes), OPT_END };
	int rc = opts_parse(argc, argv, opts, NULL, usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind < argc)
		o->name = argv[optind++];
	if (optind != argc || (o->name != NULL && !invite_name_valid(o->name)) ||
	    (want_team && (o->name == NULL || o->team == NULL || !membership_team_valid(o->team))) ||
	    (!want_team && o->team != NULL))
		return opts_usage_error(usage, "%s", want_team ? "give NAME and --team TEAM"
		                                               : "give at most one NAME, and no --team");
	return OPTS_GO;
}

int
admin_team_open(struct api *a, const char *team, int allow_empty, struct membership **head)
{
	const char *team1[1] = { team };
	*head = NULL;
	if (admin_open(a) != 0 || admin_teams_require(a, team1, 1) != 0 ||
	    chain_fetch(a, team, allow_empty, head) != 0)
		return -1;
	return 0;
}

struct note_signer *
admin_key_load(const char *key_opt, const char *pass_file)
{
	struct profile p;
	struct buf path;
	const char *key = key_opt;
	buf_init(&path, 4096);
	if (key == NULL && profile_path(&path, 0) == 0 && buf_cstr(&path) != NULL &&
	    profile_load(&p, buf_cstr(&path)) == 1 && p.key_file[0] != '\0')
		key = p.key_file;
	struct note_signer *s = NULL;
	if (key == NULL)
		cli_error("give your admin key with --key FILE");
	else
		s = keys_admin_load(key, pass_file);
	buf_free(&path);
	return s;
}

int
admin_stmt_upload(struct api *a, const struct note_signer *key, const char *team,
            const struct membership *head, const struct membership_member *ms, size_t n,
            const char *enrollment, json_t **answer)
{
	struct buf text, note, path;
	int rc = -1;
	buf_init(&text, 1 << 20);
	buf_init(&note, 1 << 20);
	buf_init(&path, 256);
	uint64_t seq = head != NULL ? membership_seq(head) + 1 : 1;
	if (membership_build_text(team, seq, head != NULL ? membership_hash(head) : NULL, ms, n,
	                          &text) != 0 ||
	    note_sign(key, (const char *)text.data, text.len, &note) != 0 ||
	    buf_printf(&path, "/api/v1/admin/teams/%s/membership", team) != 0) {
		cli_error("cannot build the statement for team %s", team);
		goto out;
	}
	json_t *req = json_pack("{s:s%}", "statement", (const char *)note.data, note.len);
	if (req != NULL && enrollment != NULL)
		json_object_set_new(req, "enrollment", json_string(enrollment));
	if (api_send(a, "POST", buf_cstr(&path), req, "the team", answer) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&text);
	buf_free(&note);
	buf_free(&path);
	return rc;
}

int
admin_stmt_submit(struct api *a, const char *key_opt, const char *pass_file, const char *team,
                  const struct membership *head, const struct membership_member *ms, size_t n,
                  json_t **answer)
{
	struct note_signer *key = admin_key_load(key_opt, pass_file);
	int rc = key != NULL ? admin_stmt_upload(a, key, team, head, ms, n, NULL, answer) : -1;
	note_signer_free(key);
	return rc;
}

/* ---- approve ---- */

/* Check the enrollment's proof of possession against our own pins. */
static int
pop_ok(const struct api *a, json_t *en, struct membership_member *mm)
{
	const char *id = json_string_value(json_object_get(en, "id"));
	const char *name = json_string_value(json_object_get(en, "name"));
	const char *rc = json_string_value(json_object_get(en, "recipient"));
	const char *pk = json_string_value(json_object_get(en, "ed25519"));
	const char *sig64 = json_string_value(json_object_get(en, "signature"));
	uint8_t sig[64];
	size_t sl = 0;
	struct buf msg, line;
	int ok = 0;
	buf_init(&msg, 4096);
	buf_init(&line, 1024);
	if (id != NULL && name != NULL && rc != NULL && pk != NULL && sig64 != NULL &&
	    invite_name_valid(name) &&
	    util_base64_decode(sig64, strlen(sig64), sig, sizeof(sig), &sl,
	                       sodium_base64_VARIANT_ORIGINAL) == 0 && sl == 64 &&
	    buf_printf(&line, "%s %s %s", name, rc, pk) == 0 &&
	    membership_member_parse((const char *)line.data, line.len, mm) == 0 &&
	    invite_enroll_message(a->s->origin, a->s->pin, id, name, rc, pk, &msg) == 0 &&
	    crypto_sign_verify_detached(sig, msg.data, msg.len, mm->ed25519_pk) == 0)
		ok = 1;
	buf_free(&msg);
	buf_free(&line);
	return ok;
}

/* Add `mm` to `team`: fetch and verify the chain, sign, upload. */
static int
approve_team(struct api *a, const struct note_signer *key, const char *team,
             const struct membership_member *mm, const char *enrollment, int *approved)
{
	struct membership *head = NULL;
	struct membership_member ms[MEMBERSHIP_MAX_MEMBERS];
	json_t *ans = NULL;
	size_t n = 0;
	int rc = -1;
	if (chain_fetch(a, team, 1, &head) != 0)
		return -1;
	for (size_t i = 0; head != NULL && i < membership_count(head); i++) {
		ms[n] = *membership_member_at(head, i);
		if (strcmp(ms[n].name, mm->name) == 0 && strcmp(ms[n].recipient, mm->recipient) == 0 &&
		    sodium_memcmp(ms[n].ed25519_pk, mm->ed25519_pk, 32) == 0) {
			/* an earlier approve got this far: go on with the other teams */
			printf("team %s: %s is already a member\n", team, mm->name);
			*approved = 1;
			rc = 0;
			goto out;
		}
		if (strcmp(ms[n].name, mm->name) == 0) {
			cli_error("team %s already has a member named %s: revoke them first", team,
			          mm->name);
			goto out;
		}
		n++;
	}
	if (n == MEMBERSHIP_MAX_MEMBERS) {
		cli_error("team %s is full (%d members)", team, MEMBERSHIP_MAX_MEMBERS);
		goto out;
	}
	ms[n++] = *mm;
	if (admin_stmt_upload(a, key, team, head, ms, n, enrollment, &ans) != 0)
		goto out;
	printf("team %s: statement %lld signed and stored (%zu members)\n", team,
	       (long long)json_integer_value(json_object_get(ans, "seq")), n);
	*approved = json_is_true(json_object_get(ans, "enrollment_approved"));
	rc = 0;
out:
	json_decref(ans);
	membership_free(head);
	return rc;
}

/* Print "NAME asks to join T1 T2" and the fingerprint of enrollment `en`. */
static void
approve_show(const struct membership_member *mm, json_t *teams)
{
	char fp[NAMES_FP_LEN + 1];
	json_t *t;
	size_t i;
	names_fingerprint(mm->ed25519_pk, fp);
	printf("%s asks to join", mm->name);
	json_array_foreach(teams, i, t)
		if (json_is_string(t) && membership_team_valid(json_string_value(t)))
			printf(" %s", json_string_value(t));
	printf("\n  fingerprint: %s\n", fp);
	fflush(stdout);
}

/* The teams of enrollment `en` as an array of strings (borrowed); -1 if malformed. */
static int
approve_teams(json_t *teams, const char **out, size_t *n)
{
	json_t *t;
	size_t i;
	if (!json_is_array(teams) || json_array_size(teams) > INVITE_TEAMS_MAX)
		return -1;
	json_array_foreach(teams, i, t) {
		if ((out[i] = json_string_value(t)) == NULL || !membership_team_valid(out[i]))
			return -1;
	}
	*n = json_array_size(teams);
	return 0;
}

/*
 * Show one enrollment, ask (before any passphrase), load the admin key into
 * *key if not yet, and approve it into each of its teams. Return 0 if
 * approved, 1 if not (nothing changed), 2 if there is no terminal to ask
 * at or the admin key cannot be loaded, -1 on error (printed).
 */
static int
approve_one(struct api *a, const struct stmt_opts *o, struct note_signer **key, json_t *en)
{
	struct membership_member mm;
	char q[256];
	const char *teams[INVITE_TEAMS_MAX];
	const char *id = json_string_value(json_object_get(en, "id"));
	size_t nt = 0;
	int approved = 0;
	if (!pop_ok(a, en, &mm) || approve_teams(json_object_get(en, "teams"), teams, &nt) != 0 ||
	    id == NULL) {
		cli_error("enrollment %s: its signature does not verify against this server's pinned "
		          "origin and TLS key: not approved (tipctl admin reject removes it)",
		          id != NULL && util_uuid_valid(id) ? id : "?");
		return -1;
	}
	approve_show(&mm, json_object_get(en, "teams"));
	if (admin_teams_require(a, teams, nt) != 0) {
		printf("  %s not approved: nothing changed\n", mm.name);
		return 1;
	}
	snprintf(q, sizeof(q), "Did %s read you exactly this fingerprint, over a channel you trust?",
	         mm.name);
	int yes = o->yes ? 1 : cli_ask(q, "--yes");
	if (yes != 1) {
		printf("  %s not approved: nothing changed\n", mm.name);
		return yes < 0 ? 2 : 1;
	}
	if (*key == NULL && (*key = admin_key_load(o->key, o->pass_file)) == NULL)
		return 2; /* the next ones would fail alike */
	for (size_t i = 0; i < nt; i++)
		if (approve_team(a, *key, teams[i], &mm, id, &approved) != 0)
			return -1;
	printf("  %s approved%s\n", mm.name, approved ? "" : " (the server did not confirm)");
	return approved ? 0 : -1;
}

int
admin_online_approve(int argc, char **argv)
{
	struct stmt_opts o;
	struct api a;
	struct note_signer *key = NULL;
	json_t *doc = NULL, *en;
	size_t i, seen = 0;
	int rc = stmt_opts_parse(argc, argv, approve_usage, 0, &o), not_done = 0;
	memset(&a, 0, sizeof(a));
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	if (admin_open(&a) != 0 ||
	    api_get_json(&a, "/api/v1/admin/enrollments", "the enrollments", &doc) != 0)
		goto out;
	json_t *list = json_object_get(doc, "enrollments");
	json_array_foreach(list, i, en) {
		const char *name = json_string_value(json_object_get(en, "name"));
		if (o.name != NULL && (name == NULL || strcmp(name, o.name) != 0))
			continue;
		seen++;
		int r = approve_one(&a, &o, &key, en);
		not_done |= r != 0;
		if (r == 2)
			break; /* no terminal, or no admin key: the others would fail alike */
	}
	if (seen == 0) {
		if (o.name != NULL)
			cli_error("no pending enrollment for %s", o.name);
		else
			printf("no pending enrollment\n");
		rc = o.name != NULL ? CLI_ERR : CLI_OK;
		goto out;
	}
	rc = not_done ? CLI_ERR : CLI_OK;
out:
	json_decref(doc);
	note_signer_free(key);
	api_close(&a);
	return rc;
}

/* ---- revoke ---- */

int
admin_online_revoke(int argc, char **argv)
{
	struct stmt_opts o;
	struct api a;
	struct membership *head = NULL;
	struct membership_member ms[MEMBERSHIP_MAX_MEMBERS];
	json_t *ans = NULL;
	size_t n = 0, found = 0;
	char q[256];
	int rc = stmt_opts_parse(argc, argv, revoke_usage, 1, &o);
	memset(&a, 0, sizeof(a));
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	if (admin_team_open(&a, o.team, 0, &head) != 0)
		goto out;
	for (size_t i = 0; i < membership_count(head); i++) {
		const struct membership_member *m = membership_member_at(head, i);
		if (strcmp(m->name, o.name) == 0)
			found++;
		else
			ms[n++] = *m;
	}
	if (found == 0) {
		cli_error("%s is not a member of team %s", o.name, o.team);
		admin_teams_print_members(head);
		goto out;
	}
	snprintf(q, sizeof(q), "Remove %s from team %s? Their access to its reports ends now.",
	         o.name, o.team);
	if (!o.yes && cli_ask(q, "--yes") != 1) {
		cli_error("%s was not removed: nothing changed", o.name);
		goto out;
	}
	if (admin_stmt_submit(&a, o.key, o.pass_file, o.team, head, ms, n, &ans) != 0)
		goto out;
	printf("team %s: statement %lld stored; %s removed (their headers and sessions are gone)\n",
	       o.team, (long long)json_integer_value(json_object_get(ans, "seq")), o.name);
	rc = CLI_OK;
out:
	json_decref(ans);
	membership_free(head);
	api_close(&a);
	return rc;
}

/* ---- labels ---- */

/* Return 1 if `s` is a label as tipd accepts it, else 0. */
static int
label_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n &&
	       s[0] != '.' && s[0] != '_' && s[0] != '-';
}

int
admin_online_label(int argc, char **argv)
{
	struct api a;
	struct client_response r;
	struct buf path;
	char *body = NULL;
	int rc = CLI_USAGE;
	memset(&a, 0, sizeof(a));
	buf_init(&r.body, 65536);
	buf_init(&path, 256);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(label_usage, stdout);
		rc = CLI_OK;
		goto out;
	}
	int add = argc == 3 && strcmp(argv[1], "add") == 0;
	if ((!add && !(argc == 3 && strcmp(argv[1], "remove") == 0)) || !label_ok(argv[2])) {
		cli_error("admin label: give add or remove, and a label (1-64 of a-z 0-9 . _ -)");
		fputs(label_usage, stderr);
		goto out;
	}
	rc = CLI_ERR;
	body = api_body(json_pack("{s:s}", "name", argv[2]));
	if (body == NULL || admin_open(&a) != 0)
		goto out;
	if (add ? api_call(&a, "POST", "/api/v1/admin/labels", body, &r, "the label") != 0
	        : buf_printf(&path, "/api/v1/admin/labels/%s", argv[2]) != 0 ||
	                  api_call(&a, "DELETE", buf_cstr(&path), NULL, &r, "the label") != 0)
		goto out;
	printf("label %s %s\n", argv[2], add ? "added" : "removed");
	rc = CLI_OK;
out:
	free(body);
	api_close(&a);
	buf_free(&r.body);
	buf_free(&path);
	return rc;
}
