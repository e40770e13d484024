/*
 * admin_rotate: `tipctl admin rotate` (see admin_rotate.h).
 */
#include "admin_rotate.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "admin_online.h"
#include "age.h"
#include "api.h"
#include "buf.h"
#include "chain.h"
#include "cli.h"
#include "membership.h"
#include "note.h"
#include "opts.h"
#include "proto.h"
#include "session.h"
#include "util.h"

#define AR_MAX_TEAMS 64

static const char usage[] =
	"usage: tipctl admin rotate REQUEST [--key FILE] [--passphrase-file FILE] [--yes]\n"
	"\n"
	"Approve a member's key rotation: REQUEST is the file their `tipctl keys rotate`\n"
	"wrote. It must be signed by their current key and their new one, for this\n"
	"server. Compare the NEW fingerprint shown with the one they read to you, then\n"
	"for every team their current key is in, the next membership statement lists\n"
	"them with the new keys instead. Their old key's sessions end at once; its\n"
	"headers stay until their `tipctl keys rotate --finish` has re-made them.\n"
	"\n"
	"  --key FILE              your admin key (default: the one you enrolled)\n"
	"  --passphrase-file FILE  take its passphrase from the first line of FILE\n"
	"  --yes                   do not ask\n";

struct rotate_req {
	char origin[SESSION_FIELD_MAX], tls[65], name[MEMBERSHIP_NAME_MAX + 1];
	char recipient[AGE_RECIPIENT_STR_MAX];
	uint8_t old_pk[32], new_pk[32], old_sig[64], new_sig[64];
};

/* Copy line `i` (0-based) of `text` into `out` (`cap` bytes); 0 or -1. */
static int
line_at(const char *text, int i, char *out, size_t cap)
{
	const char *p = text;
	for (int k = 0; k < i; k++) {
		p = strchr(p, '\n');
		if (p == NULL)
			return -1;
		p++;
	}
	size_t n = strcspn(p, "\n");
	if (p[n] != '\n' || n >= cap)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int
b64_field(const char *s, uint8_t *out, size_t n)
{
	size_t got = 0;
	return util_base64_decode(s, strlen(s), out, n, &got, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	               got == n ? 0 : -1;
}

/* Parse and check the request in `text` against the session's pins. */
static int
request_parse(const char *text, const struct session *s, struct rotate_req *q)
{
	char l[7][512], sig[2][160];
	uint8_t rpk[AGE_KEY_LEN];
	struct buf msg;
	int rc = -1;
	buf_init(&msg, 4096);
	for (int i = 0; i < 7; i++)
		if (line_at(text, i, l[i], sizeof(l[i])) != 0)
			goto bad;
	if (line_at(text, 7, sig[0], sizeof(sig[0])) != 0 ||
	    line_at(text, 8, sig[1], sizeof(sig[1])) != 0 || strcmp(l[0], "tipline/v1/rotate") != 0 ||
	    strncmp(sig[0], "old-signature ", 14) != 0 || strncmp(sig[1], "new-signature ", 14) != 0 ||
	    snprintf(q->origin, sizeof(q->origin), "%s", l[1]) >= (int)sizeof(q->origin) ||
	    snprintf(q->tls, sizeof(q->tls), "%s", l[2]) >= (int)sizeof(q->tls) ||
	    snprintf(q->name, sizeof(q->name), "%s", l[3]) >= (int)sizeof(q->name) ||
	    b64_field(l[4], q->old_pk, 32) != 0 || b64_field(l[6], q->new_pk, 32) != 0 ||
	    age_recipient_decode(l[5], rpk) != 0 ||
	    snprintf(q->recipient, sizeof(q->recipient), "%s", l[5]) >= (int)sizeof(q->recipient) ||
	    b64_field(sig[0] + 14, q->old_sig, 64) != 0 || b64_field(sig[1] + 14, q->new_sig, 64) != 0)
		goto bad;
	if (strcmp(q->origin, s->origin) != 0 || strcmp(q->tls, s->pin) != 0) {
		cli_error("the request is for another server (%s) than the one you are logged in to "
		          "(%s): nothing changed", q->origin, s->origin);
		goto out;
	}
	if (proto_rotate_message(q->origin, q->tls, q->name, q->old_pk, q->recipient, q->new_pk,
	                         &msg) != 0 ||
	    crypto_sign_verify_detached(q->old_sig, msg.data, msg.len, q->old_pk) != 0 ||
	    crypto_sign_verify_detached(q->new_sig, msg.data, msg.len, q->new_pk) != 0) {
		cli_error("the request's signatures do not verify (both the current and the new key "
		          "must sign it): nothing changed");
		goto out;
	}
	rc = 0;
	goto out;
bad:
	cli_error("not a rotation request (as `tipctl keys rotate` writes it): nothing changed");
out:
	buf_free(&msg);
	return rc;
}

struct ar_opts {
	const char *key, *pass_file, *request;
	int yes;
};

/* Parse the options and the request file into `o`; return OPTS_GO (-1) to
 * go on, else an exit code. */
static int
ar_parse(int argc, char **argv, struct ar_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_KEY(&o->key), OPT_PASS_FILE(&o->pass_file), OPT_YES(&o->yes),
		                    OPT_END };
	int rc = opts_parse(argc, argv, opts, NULL, usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind + 1 != argc)
		return opts_usage_error(usage, "give one REQUEST file");
	o->request = argv[optind];
	return OPTS_GO;
}

/* The teams whose verified head lists q->name with the old key: their heads
 * in `heads` (caller frees). Return the count, or -1 (printed). */
static int
find_teams(struct api *a, const struct rotate_req *q, struct membership **heads,
           char (*teams)[MEMBERSHIP_TEAM_MAX + 1])
{
	json_t *doc = NULL, *t;
	size_t i;
	int n = 0;
	if (api_get_json(a, "/api/v1/admin/teams", "the teams", &doc) != 0)
		return -1;
	json_array_foreach(json_object_get(doc, "teams"), i, t) {
		const char *team = json_string_value(json_object_get(t, "team"));
		struct membership *head = NULL;
		if (team == NULL || n >= AR_MAX_TEAMS || chain_fetch(a, team, 1, &head) != 0) {
			json_decref(doc);
			return -1;
		}
		const struct membership_member *m = membership_find(head, q->name);
		if (m == NULL || sodium_memcmp(m->ed25519_pk, q->old_pk, 32) != 0) {
			membership_free(head);
			continue;
		}
		heads[n] = head;
		snprintf(teams[n++], MEMBERSHIP_TEAM_MAX + 1, "%s", team);
	}
	json_decref(doc);
	return n;
}

/* Sign and upload `head`'s successor with q->name's keys replaced. */
static int
rotate_team(struct api *a, const struct note_signer *key, const char *team,
            const struct membership *head, const struct rotate_req *q)
{
	static struct membership_member ms[MEMBERSHIP_MAX_MEMBERS];
	json_t *ans = NULL;
	size_t n = membership_count(head);
	for (size_t i = 0; i < n; i++) {
		ms[i] = *membership_member_at(head, i);
		if (strcmp(ms[i].name, q->name) != 0)
			continue;
		snprintf(ms[i].recipient, sizeof(ms[i].recipient), "%s", q->recipient);
		if (age_recipient_decode(q->recipient, ms[i].x25519_pk) != 0)
			return -1;
		memcpy(ms[i].ed25519_pk, q->new_pk, 32);
	}
	if (admin_stmt_upload(a, key, team, head, ms, n, NULL, &ans) != 0)
		return -1;
	printf("team %s: statement %lld stored; %s's new key is in, the old one is out\n", team,
	       (long long)json_integer_value(json_object_get(ans, "seq")), q->name);
	json_decref(ans);
	return 0;
}

int
admin_rotate_main(int argc, char **argv)
{
	struct ar_opts o;
	struct api a;
	struct rotate_req q;
	struct buf text;
	struct membership *heads[AR_MAX_TEAMS] = { NULL };
	char teams[AR_MAX_TEAMS][MEMBERSHIP_TEAM_MAX + 1], fo[17], fn[17], ask[512];
	struct note_signer *key = NULL;
	int n = 0, rc = ar_parse(argc, argv, &o);
	memset(&a, 0, sizeof(a));
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	buf_init(&text, 16384);
	if (cli_read_file(o.request, &text) != 0 || buf_add(&text, "", 1) != 0 ||
	    admin_open(&a) != 0 || request_parse((const char *)text.data, a.s, &q) != 0 ||
	    (n = find_teams(&a, &q, heads, teams)) < 0)
		goto out;
	if (n == 0) {
		cli_error("%s with that current key is in no team: nothing changed", q.name);
		goto out;
	}
	membership_fingerprint(q.old_pk, fo);
	membership_fingerprint(q.new_pk, fn);
	printf("%s rotates their key\n  current fingerprint  %s\n  NEW fingerprint      %s\n"
	       "  teams               ", q.name, fo, fn);
	for (int i = 0; i < n; i++)
		printf(" %s", teams[i]);
	printf("\n");
	snprintf(ask, sizeof(ask), "Is %s the fingerprint %s read to you, and sign the new "
	         "statements?", fn, q.name);
	if (!o.yes && cli_ask(ask, "--yes") != 1) {
		cli_error("nothing changed");
		goto out;
	}
	if ((key = admin_key_load(o.key, o.pass_file)) == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		if (rotate_team(&a, key, teams[i], heads[i], &q) != 0)
			goto out;
	printf("%s can now run `tipctl keys rotate --finish`\n", q.name);
	rc = CLI_OK;
out:
	for (int i = 0; i < n; i++)
		membership_free(heads[i]);
	note_signer_free(key);
	buf_free(&text);
	api_close(&a);
	return rc;
}
