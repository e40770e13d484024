#include "chain.h"
#include "login_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "opts.h"
#include "passcache.h"
#include "names.h"
#include "client.h"
#include "identity.h"
#include "keys.h"
#include "note.h"
#include "profile.h"
#include "proto.h"
#include "seen.h"
#include "session.h"
#include "util.h"

static const char login_usage[] =
	"usage: tipctl login [--identity PATH] [--passphrase-file FILE]\n"
	"       tipctl login --admin [--key FILE] [--passphrase-file FILE]\n"
	"       tipctl login --server https://HOST:PORT --pin SHA256HEX --origin ORIGIN\n"
	"                    [--admin-key VKEY]... [--audit-key VKEY] [--admin [--key FILE]]\n"
	"                    [--identity PATH] [--passphrase-file FILE]\n"
	"\n"
	"Log in to the review API with your identity's signing key (or, with --admin,\n"
	"your admin key) and keep the session in $TIPLINE_HOME/session (or\n"
	"~/.config/tipline/session), mode 0600. Without --server, --pin and --origin the\n"
	"server and its keys are the ones `tipctl enroll` pinned from your invite.\n"
	"\n"
	"  --admin                 log in as an admin, with the admin key (--key, or the\n"
	"                          one you enrolled); admins see no reports\n"
	"  --key FILE              the admin key file\n"
	"  --audit-key VKEY        the audit log's verifier key, from your invite\n"
	"  --server URL            the review listener, https://HOST:PORT\n"
	"  --pin HEX               SHA-256 of the server's TLS public key (64 hex digits),\n"
	"                          from your admin; any other key is refused\n"
	"  --origin ORIGIN         the review origin, from your admin\n"
	"  --identity PATH         identity file (default $TIPLINE_HOME/identity.age)\n"
	"  --passphrase-file FILE  take the passphrase from the first line of FILE\n"
	"  --admin-key VKEY        an admin's verifier key, from your invite (repeatable);\n"
	"                          pinned in the session; `tips reply` and `tips note` need\n"
	"                          it to check the team's membership\n";

static const char logout_usage[] =
	"usage: tipctl logout\n"
	"\n"
	"End the review session on the server and remove it from this computer, and\n"
	"clear the passphrase cache (unlocked identities kept for TIPLINE_PASS_CACHE\n"
	"seconds, default 300; TIPLINE_PASS_CACHE=0 turns the cache off).\n";

struct login_opts {
	const char *server, *pin, *origin, *identity, *pass_file, *key, *audit_key;
	const char *admin[SESSION_ADMIN_MAX];
	size_t nadmin;
	int as_admin;
	struct profile prof; /* when the pins come from `tipctl enroll` */
};

/* Return 1 if `s` has no control characters or newlines and is not empty. */
static int
field_ok(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
login_cmd_message(const char *origin, const char *tls_hex, const char *nonce, int64_t t,
                  struct buf *out)
{
	return proto_login_message(origin, tls_hex, nonce, t, out);
}

/* Return 1 if `s` is a verifier key that fits in a session, else 0. */
static int
admin_key_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= SESSION_FIELD_MAX || strchr(s, ' ') != NULL || !field_ok(s))
		return 0;
	struct note_verifier *v = note_verifier_parse(s, n);
	note_verifier_free(v);
	return v != NULL;
}

/* Take the server, pins and keys from the profile `tipctl enroll` wrote.
 * Return 1 if there is one, 0 if not, -1 on error (printed). */
static int
login_from_profile(struct login_opts *o)
{
	struct buf path;
	int got;
	buf_init(&path, 4096);
	got = profile_path(&path, 0) != 0 || buf_cstr(&path) == NULL
	              ? -1 : profile_load(&o->prof, buf_cstr(&path));
	buf_free(&path);
	if (got <= 0)
		return got;
	o->server = o->prof.server;
	o->pin = o->prof.pin;
	o->origin = o->prof.origin;
	for (size_t i = 0; i < o->prof.n_admin_keys && i < SESSION_ADMIN_MAX; i++)
		o->admin[o->nadmin++] = o->prof.admin_keys[i];
	o->audit_key = o->prof.audit_key[0] != '\0' ? o->prof.audit_key : NULL;
	if (strcmp(o->prof.role, "admin") == 0)
		o->as_admin = 1;
	if (o->as_admin && o->key == NULL && o->prof.key_file[0] != '\0')
		o->key = o->prof.key_file;
	return 1;
}

/* --audit-key (opt_fn): a verifier key into the login_opts `dst`. */
static int
login_audit_key_opt(const char *arg, void *dst)
{
	struct login_opts *o = dst;
	if (!admin_key_ok(arg)) {
		cli_error("login: --audit-key is not a valid verifier key");
		return -1;
	}
	o->audit_key = arg;
	return 0;
}

/* --admin-key (opt_fn, repeatable): a verifier key added to the login_opts `dst`. */
static int
login_admin_key_opt(const char *arg, void *dst)
{
	struct login_opts *o = dst;
	if (o->nadmin == SESSION_ADMIN_MAX) {
		cli_error("login: at most %d --admin-key options", SESSION_ADMIN_MAX);
		return -1;
	}
	if (!admin_key_ok(arg)) {
		cli_error("login: --admin-key is not a valid verifier key "
		          "(NAME+HASH+BASE64, as in your invite)");
		return -1;
	}
	o->admin[o->nadmin++] = arg;
	return 0;
}

/* Check the parsed options `o` of `tipctl login` against each other and
 * their formats; return OPTS_GO (-1) to go on, or an exit code (printed). */
static int
login_opts_check(struct login_opts *o)
{
	char host[CLIENT_HOST_MAX];
	unsigned port;
	uint8_t pin[CLIENT_PIN_LEN];
	if (o->server == NULL || o->pin == NULL || o->origin == NULL) {
		cli_error("login: give all of --server, --pin and --origin, or none (to use what "
		          "`tipctl enroll` pinned)");
		goto usage;
	}
	if (o->key != NULL && !o->as_admin) {
		cli_error("login: --key is the admin key: use it with --admin");
		goto usage;
	}
	if (o->as_admin && o->identity != NULL) {
		cli_error("login: --admin signs with the admin key, not an identity");
		goto usage;
	}
	if (o->as_admin && o->key == NULL) {
		cli_error("login: --admin needs the admin key file (--key FILE)");
		goto usage;
	}
	if (client_parse_url(o->server, host, &port) != 0 || strlen(o->server) >= SESSION_FIELD_MAX) {
		cli_error("login: --server must be https://HOST:PORT");
		goto usage;
	}
	if (client_parse_pin(o->pin, pin) != 0) {
		cli_error("login: --pin must be 64 hex digits (the SHA-256 of the server's TLS key)");
		goto usage;
	}
	size_t ol = strlen(o->origin);
	if (ol == 0 || ol > LOGIN_ORIGIN_MAX || o->origin[0] == ' ' || o->origin[ol - 1] == ' ' ||
	    strspn(o->origin, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
	                      "abcdefghijklmnopqrstuvwxyz{|}~") != ol) {
		cli_error("login: --origin must be 1-%d printable ASCII characters", LOGIN_ORIGIN_MAX);
		goto usage;
	}
	return OPTS_GO;
usage:
	fputs(login_usage, stderr);
	return CLI_USAGE;
}

/* Parse and check the options of `tipctl login`; return OPTS_GO (-1) to go
 * on, or an exit code. */
static int
login_opts_parse(int argc, char **argv, struct login_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = {
		OPT_STR("server", &o->server),
		OPT_STR("pin", &o->pin),
		OPT_STR("origin", &o->origin),
		OPT_IDENTITY(&o->identity),
		OPT_PASS_FILE(&o->pass_file),
		OPT_FN("admin-key", login_admin_key_opt, o),
		OPT_FN("audit-key", login_audit_key_opt, o),
		OPT_FLAG("admin", &o->as_admin),
		OPT_KEY(&o->key),
		OPT_END,
	};
	int rc = opts_parse(argc, argv, opts, "login", login_usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc)
		return opts_usage_error(login_usage, "login: unexpected argument '%s'", argv[optind]);
	if (o->server == NULL && o->pin == NULL && o->origin == NULL && o->nadmin == 0 &&
	    o->audit_key == NULL) {
		int got = login_from_profile(o);
		if (got < 0)
			return CLI_ERR;
		if (got == 0)
			return opts_usage_error(login_usage, "login: not enrolled on this computer: run "
			                        "`tipctl enroll INVITE` first (or give --server, --pin "
			                        "and --origin)");
	}
	return login_opts_check(o);
}

/* POST to `path` with an optional JSON body into `r`. Return 0 on a 200, else -1 (printed). */
static int
login_post(struct client *c, const char *url, const char *path, const char *json,
           struct client_response *r)
{
	char err[512];
	enum client_result cr = client_request(c, "POST", path, NULL,
	                                       json != NULL ? "application/json" : NULL, json,
	                                       json != NULL ? strlen(json) : 0, r, err, sizeof(err));
	if (cr != CLIENT_OK) {
		api_print_client_error(cr, err, url);
		return -1;
	}
	char code[40];
	if (r->status == 200)
		return 0;
	if (r->status == 401 && api_problem_code(r, code, sizeof(code)) == 0 &&
	    api_explain_code(code, "this") == 0)
		; /* printed */
	else if (r->status == 401 && strcmp(code, "clock_skew") == 0)
		api_print_problem("login refused", r);
	else if (r->status == 401)
		cli_error("login failed: the server did not accept the signed login (check that you "
		          "use the identity you enrolled, and this computer's clock)");
	else if (r->status == 429)
		cli_error("too many failed logins: try again in %ld seconds",
		          r->retry_after > 0 ? r->retry_after : 60);
	else if (r->status == 503)
		cli_error("the server is temporarily unavailable: try again in %ld seconds",
		          r->retry_after > 0 ? r->retry_after : 60);
	else
		api_print_problem("login refused", r);
	return -1;
}

/*
 * Ask for a nonce and check the answer against what we pinned. Store the
 * nonce in `nonce` (LOGIN_NONCE_MAX + 1 bytes). Return 0, or -1 (printed).
 */
static int
get_nonce(struct client *c, const struct login_opts *o, const char *pin_hex, char *nonce)
{
	struct client_response r;
	json_error_t e;
	json_t *doc = NULL;
	int rc = -1;
	buf_init(&r.body, 65536);
	if (login_post(c, o->server, "/api/v1/login/nonce", NULL, &r) != 0)
		goto out;
	doc = json_loadb((const char *)r.body.data, r.body.len, JSON_REJECT_DUPLICATES, &e);
	const char *n = json_string_value(json_object_get(doc, "nonce"));
	const char *org = json_string_value(json_object_get(doc, "origin"));
	const char *tk = json_string_value(json_object_get(doc, "tls_key_sha256"));
	if (n == NULL || org == NULL || tk == NULL || !session_b64url_ok(n) ||
	    strlen(n) > LOGIN_NONCE_MAX) {
		cli_error("bad answer from the server: not a login nonce");
		goto out;
	}
	if (strlen(tk) != 64 || strcasecmp(tk, pin_hex) != 0) {
		cli_error("the server's TLS key does not match the pinned one: do not continue; "
		          "ask your admin (it announces another key than the one it uses)");
		goto out;
	}
	if (strcmp(org, o->origin) != 0) {
		cli_error("the server's origin is not the --origin you gave: check it with your admin");
		goto out;
	}
	memcpy(nonce, n, strlen(n) + 1);
	rc = 0;
out:
	json_decref(doc);
	buf_free(&r.body);
	return rc;
}

/* Build the signed login request body for `nonce` into *json (free()). Return 0, or -1. */
static int
login_body(const struct keys_signer *k, const struct login_opts *o, const char *pin_hex,
           const char *nonce, char **json)
{
	char pk64[KEYS_PK64_LEN], sig64[KEYS_SIG64_LEN];
	struct buf msg;
	int64_t now = (int64_t)time(NULL);
	int rc = -1;
	buf_init(&msg, 4096);
	*json = NULL;
	if (login_cmd_message(o->origin, pin_hex, nonce, now, &msg) != 0 ||
	    keys_sign_b64(k, msg.data, msg.len, pk64, sig64) != 0)
		goto out;
	*json = api_body(json_pack("{s:s, s:s, s:I, s:s}", "ed25519", pk64, "nonce", nonce, "time",
	                           (json_int_t)now, "signature", sig64));
	rc = *json != NULL ? 0 : -1;
out:
	buf_free(&msg);
	return rc;
}

/* Check the login answer and fill `s` from it and `o`. Return 0, or -1 (printed). */
static int
take_session(const struct buf *body, const struct login_opts *o, const char *pin_hex,
             struct session *s)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)body->data, body->len, JSON_REJECT_DUPLICATES, &e);
	const char *tok = json_string_value(json_object_get(doc, "token"));
	const char *mem = json_string_value(json_object_get(doc, "member"));
	json_t *exp = json_object_get(doc, "expires_at");
	int rc = -1;
	if (tok == NULL || mem == NULL || !json_is_integer(exp) || !session_b64url_ok(tok) ||
	    strlen(mem) >= sizeof(s->member) || json_integer_value(exp) <= 0)
		goto bad;
	snprintf(s->server, sizeof(s->server), "%s", o->server);
	snprintf(s->pin, sizeof(s->pin), "%s", pin_hex);
	snprintf(s->origin, sizeof(s->origin), "%s", o->origin);
	memcpy(s->token, tok, strlen(tok) + 1);
	s->expires_at = (int64_t)json_integer_value(exp);
	snprintf(s->member, sizeof(s->member), "%s", mem);
	for (size_t i = 0; i < o->nadmin; i++)
		snprintf(s->admin_keys[i], sizeof(s->admin_keys[i]), "%s", o->admin[i]);
	s->n_admin_keys = o->nadmin;
	snprintf(s->audit_key, sizeof(s->audit_key), "%s", o->audit_key != NULL ? o->audit_key : "");
	if (!session_valid(s))
		goto bad;
	rc = 0;
	goto out;
bad:
	cli_error("bad answer from the server: not a login session");
out:
	json_decref(doc);
	return rc;
}

/* Print the teams of the login answer, after "as MEMBER". */
static void
print_logged_in(const struct session *s, const struct buf *body)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)body->data, body->len, 0, &e);
	json_t *teams = json_object_get(doc, "teams"), *t;
	char when[64] = "?";
	time_t x = (time_t)s->expires_at;
	struct tm tm;
	size_t i;
	if (gmtime_r(&x, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	printf("logged in to %s as %s; teams:", s->server, s->member);
	if (json_array_size(teams) == 0)
		printf(" none (an admin who is in no team sees no report)");
	json_array_foreach(teams, i, t) {
		const char *name = json_string_value(t);
		/* team ids are [a-z0-9-]; print nothing else */
		if (name != NULL && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(name))
			printf(" %s", name);
	}
	printf("\nthe session ends at %s, or after 30 minutes without use\n", when);
	json_decref(doc);
}

/* Print team `team`'s verified membership when it changed since this computer
 * last saw it (docs/crypto.md §8 "Key lifecycle": members notice a rogue
 * member). Return 0, or -1 if the chain does not verify or goes back (printed
 * loudly). */
static int
review_team(struct api *a, const char *team)
{
	struct membership *m = NULL;
	uint64_t before = 0;
	char fp[NAMES_FP_LEN + 1];
	if (seen_lookup(a->s->server, team, &before) != SEEN_OK)
		return -1;
	if (chain_fetch(a, team, 0, &m) != 0)
		return -1;
	if (membership_seq(m) != before) {
		if (before == 0)
			printf("team %s: membership statement %llu, the first this computer sees. "
			       "Members:\n", team, (unsigned long long)membership_seq(m));
		else
			printf("team %s: the membership changed (statement %llu; you last saw %llu). "
			       "Members now:\n", team, (unsigned long long)membership_seq(m),
			       (unsigned long long)before);
		for (size_t i = 0; i < membership_count(m); i++) {
			const struct membership_member *mm = membership_member_at(m, i);
			names_fingerprint(mm->ed25519_pk, fp);
			printf("  %-24s %s\n", mm->name, fp);
		}
		printf("  if someone there should not read your team's reports, tell an admin now\n");
	}
	membership_free(m);
	return 0;
}

/* Show every membership change of the teams of the login answer `body`.
 * Return 0, or -1 if one team's membership cannot be trusted. */
static int
review_memberships(const struct buf *body)
{
	struct api a;
	json_error_t e;
	json_t *doc = json_loadb((const char *)body->data, body->len, 0, &e), *t;
	size_t i, j;
	int bad = 0;
	memset(&a, 0, sizeof(a));
	json_t *teams = json_object_get(doc, "teams");
	static char known[SEEN_MAX_ENTRIES][MEMBERSHIP_TEAM_MAX + 1];
	size_t nknown = 0;
	if (api_open(&a) != 0) {
		bad = 1;
		goto out;
	}
	/* The teams the server names, and those this computer saw before: a
	 * server cannot hide a change by leaving a team out of its answer. */
	if (seen_teams(a.s->server, known, SEEN_MAX_ENTRIES, &nknown) != SEEN_OK) {
		bad = 1;
		goto out;
	}
	if (json_array_size(teams) + nknown == 0)
		goto out;
	if (a.s->n_admin_keys == 0) {
		printf("no admin key is pinned: membership changes are not checked\n");
		goto out;
	}
	json_array_foreach(teams, i, t) {
		const char *team = json_string_value(t);
		if (team != NULL && membership_team_valid(team) && review_team(&a, team) != 0) {
			cli_error("team %s: its membership cannot be trusted (see above)", team);
			bad = 1;
		}
	}
	for (i = 0; i < nknown; i++) {
		int named = 0;
		json_array_foreach(teams, j, t)
			named |= json_is_string(t) && strcmp(json_string_value(t), known[i]) == 0;
		if (named)
			continue;
		/* A team this computer saw that the server no longer names: a
		 * removal, or a server hiding a change. Say so either way. */
		printf("team %s: the server no longer lists you in it; if you did not expect "
		       "this, tell an admin\n", known[i]);
	}
out:
	api_close(&a);
	json_decref(doc);
	return bad ? -1 : 0;
}

/* Do the login exchange on `c` and store the session; copy the server's
 * answer into `answer`. Return 0, or -1 (printed). */
static int
login_exchange(struct client *c, const struct keys_signer *k, const struct login_opts *o,
               const char *pin_hex, struct buf *answer)
{
	char nonce[LOGIN_NONCE_MAX + 1];
	char *json = NULL;
	struct client_response r;
	struct session *s = session_new();
	struct buf path;
	int rc = -1;
	buf_init_secure(&r.body, 65536);
	buf_init(&path, 4096);
	if (s == NULL || get_nonce(c, o, pin_hex, nonce) != 0)
		goto out;
	if (login_body(k, o, pin_hex, nonce, &json) != 0) {
		cli_error("cannot sign the login");
		goto out;
	}
	if (login_post(c, o->server, "/api/v1/login", json, &r) != 0 ||
	    take_session(&r.body, o, pin_hex, s) != 0)
		goto out;
	if (session_path(&path, 1) != 0 || buf_cstr(&path) == NULL)
		goto out;
	if (session_save(s, buf_cstr(&path)) != SESSION_OK) {
		cli_error("cannot write the session file %s: %s", buf_cstr(&path), strerror(errno));
		goto out;
	}
	print_logged_in(s, &r.body);
	rc = buf_add(answer, r.body.data, r.body.len);
out:
	free(json);
	session_free(s);
	buf_free(&r.body);
	buf_free(&path);
	return rc;
}

int
login_cmd_login(int argc, char **argv)
{
	struct login_opts o;
	struct identity *id = NULL;
	struct note_signer *adm = NULL;
	struct client *c = NULL;
	struct buf answer;
	uint8_t pin[CLIENT_PIN_LEN];
	char pin_hex[65], err[512];
	int rc = login_opts_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	if (client_parse_pin(o.pin, pin) != 0)
		return CLI_USAGE;
	buf_init_secure(&answer, 65536);
	util_hex(pin, sizeof(pin), pin_hex);
	if (o.as_admin ? (adm = keys_admin_load(o.key, o.pass_file)) == NULL
	               : (id = api_identity_load(o.identity, o.pass_file)) == NULL)
		goto out;
	struct keys_signer k = { id, adm };
	enum client_result cr = client_open(o.server, pin, &c, err, sizeof(err));
	if (cr != CLIENT_OK) {
		api_print_client_error(cr, err, o.server);
		goto out;
	}
	if (login_exchange(c, &k, &o, pin_hex, &answer) != 0)
		goto out;
	/* The login's connection is done; the membership review opens its own. */
	client_free(c);
	c = NULL;
	rc = review_memberships(&answer) == 0 ? CLI_OK : CLI_ERR;
out:
	client_free(c);
	identity_free(id);
	note_signer_free(adm);
	buf_free(&answer);
	return rc;
}

/* Tell the server to end session `s`. Return 1 if it ended (or had), 0 if not known, -1. */
static int
logout_remote(const struct session *s)
{
	uint8_t pin[CLIENT_PIN_LEN];
	struct client *c = NULL;
	struct client_response r;
	char err[512];
	int rc = 0;
	buf_init(&r.body, 65536);
	if (client_parse_pin(s->pin, pin) != 0)
		goto out;
	enum client_result cr = client_open(s->server, pin, &c, err, sizeof(err));
	if (cr == CLIENT_OK)
		cr = client_request(c, "POST", "/api/v1/logout", s->token, NULL, NULL, 0, &r, err,
		                    sizeof(err));
	if (cr != CLIENT_OK) {
		api_print_client_error(cr, err, s->server);
		rc = cr == CLIENT_ERR_PIN ? -1 : 0;
		goto out;
	}
	if (r.status == 204 || r.status == 200 || r.status == 401)
		rc = 1;
	else
		api_print_problem("the server did not end the session", &r);
out:
	client_free(c);
	buf_free(&r.body);
	return rc;
}

int
login_cmd_logout(int argc, char **argv)
{
	struct buf path;
	struct session *s = NULL;
	int rc = CLI_ERR;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(logout_usage, stdout);
		return CLI_OK;
	}
	if (argc != 1) {
		cli_error("logout: unexpected argument '%s'", argv[1]);
		fputs(logout_usage, stderr);
		return CLI_USAGE;
	}
	/* the unlocked identity goes too (passcache.h) */
	if (passcache_forget_all() > 0)
		printf("the passphrase cache is cleared\n");
	buf_init(&path, 4096);
	if (session_path(&path, 0) != 0 || buf_cstr(&path) == NULL || (s = session_new()) == NULL)
		goto out;
	enum session_result sr = session_load(s, buf_cstr(&path));
	if (sr == SESSION_ERR_ABSENT) {
		printf("not logged in\n");
		rc = CLI_OK;
		goto out;
	}
	int remote = sr == SESSION_OK && (int64_t)time(NULL) < s->expires_at ? logout_remote(s) : 1;
	if (unlink(buf_cstr(&path)) != 0 && errno != ENOENT) {
		cli_error("cannot remove %s: %s", buf_cstr(&path), strerror(errno));
		goto out;
	}
	if (remote != 1) {
		cli_error("the session was removed from this computer, but the server may keep it "
		          "until it expires");
		goto out;
	}
	printf("logged out\n");
	rc = CLI_OK;
out:
	session_free(s);
	buf_free(&path);
	return rc;
}
