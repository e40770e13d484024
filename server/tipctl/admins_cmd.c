/*
 * admins_cmd: `tipctl admin add|remove|cosign` (usage in admins_view.c's
 * change_usage; the view they build on in admins_view.h).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_online.h"
#include "admin_partners.h"
#include "admins_view.h"
#include "api.h"
#include "chain.h"
#include "cli.h"
#include "opts.h"
#include "membership.h"
#include "seen.h"
#include "util.h"

#define AC_NOTE_MAX 65536

struct change_opts {
	const char *arg, *key, *pass_file, *out;
	unsigned quorum; /* 0: keep */
	int yes;
};

/* --quorum (opt_fn): 1 to ADMINS_MAX into the unsigned `dst`. */
static int
quorum_opt(const char *arg, void *dst)
{
	uint64_t q;
	if (util_parse_u64(arg, ADMINS_MAX, &q) != 0 || q == 0) {
		cli_error("--quorum: 1 to %d", ADMINS_MAX);
		return -1;
	}
	*(unsigned *)dst = (unsigned)q;
	return 0;
}

/* Parse the options of `admin add|remove|cosign` (argv[0]) and its one
 * operand into `o`; return OPTS_GO (-1) to go on, else an exit code. */
static int
change_opts_parse(int argc, char **argv, struct change_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_KEY(&o->key), OPT_PASS_FILE(&o->pass_file),
		                    OPT_STR("out", &o->out), OPT_FN("quorum", quorum_opt, &o->quorum),
		                    OPT_YES(&o->yes), OPT_END };
	int rc = opts_parse(argc, argv, opts, NULL, admins_change_usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind + 1 != argc)
		return opts_usage_error(admins_change_usage, "give exactly one %s",
		                        strcmp(argv[0], "cosign") == 0 ? "FILE"
		                        : strcmp(argv[0], "add") == 0  ? "VERIFIER-KEY"
		                                                       : "NAME or FINGERPRINT");
	o->arg = argv[optind];
	if (strcmp(argv[0], "add") == 0) {
		struct note_verifier *nv = note_verifier_parse(o->arg, strlen(o->arg));
		if (nv == NULL)
			return opts_usage_error(admins_change_usage, "not a verifier key (NAME+HASH+BASE64, "
			                        "as `tipctl admin keygen` prints it)");
		note_verifier_free(nv);
	}
	return OPTS_GO;
}

/* What admin add, remove and cosign hold while they run. */
struct ac_run {
	struct change_opts o;
	struct api a;
	struct admins_view v;    /* the verified admin chain */
	struct note_signer *key; /* the admin key, once loaded */
};

/* Parse the options of `admin add|remove|cosign` (argv[0]) into x->o, open
 * the admin session x->a and load the verified admin chain into x->v.
 * Return OPTS_GO (-1) to go on (the caller then ac_close()s `x`), or an
 * exit code (nothing left open). */
static int
ac_open(int argc, char **argv, struct ac_run *x)
{
	int rc = change_opts_parse(argc, argv, &x->o);
	memset(&x->a, 0, sizeof(x->a));
	memset(&x->v, 0, sizeof(x->v));
	x->key = NULL;
	if (rc != OPTS_GO)
		return rc;
	if (admin_open(&x->a) != 0 || admins_view_load(&x->a, &x->v) != 0) {
		admins_view_clear(&x->v);
		api_close(&x->a);
		return CLI_ERR;
	}
	return OPTS_GO;
}

/* Wipe the key and close what ac_open opened. */
static void
ac_close(struct ac_run *x)
{
	note_signer_free(x->key);
	admins_view_clear(&x->v);
	api_close(&x->a);
}

/* The quorum the next statement after `v`'s head needs: the head's, or for
 * the first statement the server's configured one (`server_q`). */
static unsigned
needed(const struct admins_view *v, unsigned server_q)
{
	return v->head != NULL ? admins_quorum(v->head) : server_q > 0 ? server_q : 1;
}

/* Count the current admins whose signature `note` carries. */
static size_t
signers(const struct admins_view *v, const char *note, size_t len)
{
	size_t n = 0;
	if (admins_count_signers(note, len, v->cur, v->ncur > 16 ? 16 : v->ncur, &n) != ADMINS_OK)
		return 0;
	return n;
}

/* Upload `note` as the next admin statement; print the server's answer. */
static int
upload(struct api *a, const char *note, size_t len)
{
	json_t *ans = NULL;
	int rc = -1;
	if (api_send(a, "POST", "/api/v1/admin/admins", json_pack("{s:s%}", "statement", note, len),
	             "the admin chain", &ans) != 0)
		goto out;
	/* The server took it: remember it, so that it cannot show us less. */
	struct admins *st = NULL;
	if (admins_parse(note, len, &st) != ADMINS_OK ||
	    seen_check_admins(a->s->server, admins_seq(st), admins_hash(st)) != SEEN_OK) {
		admins_free(st);
		goto out;
	}
	admins_free(st);
	printf("admin statement %lld stored: %lld admin%s now\n",
	       (long long)json_integer_value(json_object_get(ans, "seq")),
	       (long long)json_integer_value(json_object_get(ans, "admins")),
	       json_integer_value(json_object_get(ans, "admins")) == 1 ? "" : "s");
	rc = 0;
out:
	json_decref(ans);
	return rc;
}

/* Upload `note` if it carries the quorum, else write it to `out`. */
static int
upload_or_write(struct api *a, const struct admins_view *v, unsigned server_q, const char *out,
                const char *note, size_t len)
{
	size_t have = signers(v, note, len);
	unsigned need = needed(v, server_q);
	if (have >= need)
		return upload(a, note, len);
	if (out == NULL) {
		cli_error("this change needs %u admin signatures and has %zu: give --out FILE, and have "
		          "the other admins run `tipctl admin cosign FILE`", need, have);
		return -1;
	}
	if (cli_write_new(out, note, len) != 0) {
		cli_error("cannot write %s (it must not exist yet)", out);
		return -1;
	}
	printf("signed (%zu of %u signatures); written to %s: the other admins run "
	       "`tipctl admin cosign %s`\n", have, need, out, out);
	return 0;
}

/* Sign the next statement with the `n` keys `keys` and quorum `q`, and
 * upload it or write it out. */
static int
sign_next(struct api *a, const struct admins_view *v, unsigned server_q,
          const struct note_signer *key, const char *const *keys, size_t n, unsigned q,
          const char *out)
{
	struct buf text, note;
	int rc = -1;
	buf_init(&text, AC_NOTE_MAX);
	buf_init(&note, AC_NOTE_MAX);
	uint64_t seq = v->head != NULL ? admins_seq(v->head) + 1 : 1;
	if (admins_build_text(seq, v->head != NULL ? admins_hash(v->head) : NULL, q, keys, n,
	                      &text) != 0 ||
	    note_sign(key, (const char *)text.data, text.len, &note) != 0) {
		cli_error("cannot build the admin statement (%zu admins, quorum %u: at most %d admins, "
		          "quorum 1 to their number)", n, q, ADMINS_MAX);
		goto out;
	}
	rc = upload_or_write(a, v, server_q, out, (const char *)note.data, note.len);
out:
	buf_free(&text);
	buf_free(&note);
	return rc;
}

/* The current admins' key texts into `keys` (borrowed from `v` or the session). */
static size_t
current_keys(const struct api *a, const struct admins_view *v, const char **keys)
{
	size_t n = 0;
	if (v->head != NULL) {
		for (size_t i = 0; i < admins_count(v->head); i++)
			keys[n++] = admins_key_text(v->head, i);
	} else {
		for (size_t i = 0; i < a->s->n_admin_keys && n < ADMINS_MAX; i++)
			keys[n++] = a->s->admin_keys[i];
	}
	return n;
}

/* The server's configured quorum (for the first statement), from GET /api/v1/admins. */
static unsigned
server_quorum(struct api *a)
{
	json_t *doc = NULL;
	unsigned q = 1;
	if (api_get_json(a, "/api/v1/admins", "the admin chain", &doc) == 0 &&
	    json_integer_value(json_object_get(doc, "quorum")) > 0)
		q = (unsigned)json_integer_value(json_object_get(doc, "quorum"));
	json_decref(doc);
	return q;
}

/* Ask `q` unless --yes; return 1 to go on. */
static int
confirm(const struct change_opts *o, const char *q)
{
	return o->yes || cli_ask(q, "--yes") == 1;
}

int
admins_cmd_add(int argc, char **argv)
{
	struct ac_run x;
	const char *keys[ADMINS_MAX + 1];
	char fp[17], q[256];
	struct note_verifier *nv = NULL;
	int rc = ac_open(argc, argv, &x);
	if (rc != OPTS_GO)
		return rc;
	rc = CLI_ERR;
	if ((nv = note_verifier_parse(x.o.arg, strlen(x.o.arg))) == NULL)
		goto out;
	unsigned server_q = server_quorum(&x.a);
	size_t n = current_keys(&x.a, &x.v, keys);
	for (size_t i = 0; i < x.v.ncur; i++)
		if (sodium_memcmp(note_verifier_pk(x.v.cur[i]), note_verifier_pk(nv), NOTE_PK_LEN) == 0) {
			printf("%s is already an admin\n", note_verifier_name(nv));
			rc = CLI_OK;
			goto out;
		}
	if (n == ADMINS_MAX) {
		cli_error("there are already %d admins, the most a statement lists", ADMINS_MAX);
		goto out;
	}
	keys[n++] = x.o.arg;
	membership_fingerprint(note_verifier_pk(nv), fp);
	printf("add admin %s\n  fingerprint: %.4s %.4s %.4s %.4s\n", note_verifier_name(nv), fp,
	       fp + 4, fp + 8, fp + 12);
	snprintf(q, sizeof(q), "Did %s read you exactly this fingerprint, over a channel you trust?",
	         note_verifier_name(nv));
	if (!confirm(&x.o, q)) {
		cli_error("no admin was added: nothing changed");
		goto out;
	}
	unsigned quorum = x.o.quorum ? x.o.quorum : needed(&x.v, server_q);
	if ((x.key = admin_key_load(x.o.key, x.o.pass_file)) == NULL ||
	    sign_next(&x.a, &x.v, server_q, x.key, keys, n, quorum, x.o.out) != 0)
		goto out;
	rc = CLI_OK;
out:
	note_verifier_free(nv);
	ac_close(&x);
	return rc;
}

/* Find the current admin named `arg` (key name, or 16-digit fingerprint). */
static const struct note_verifier *
find_admin(const struct admins_view *v, const char *arg)
{
	const struct note_verifier *found = NULL;
	for (size_t i = 0; i < v->ncur; i++) {
		char fp[17];
		membership_fingerprint(note_verifier_pk(v->cur[i]), fp);
		if (strcmp(note_verifier_name(v->cur[i]), arg) == 0 || strcmp(fp, arg) == 0) {
			if (found != NULL) {
				cli_error("two admins are named %s: give the fingerprint", arg);
				return NULL;
			}
			found = v->cur[i];
		}
	}
	if (found == NULL)
		cli_error("%s is not a current admin (`tipctl admin list` shows them)", arg);
	return found;
}

/* Re-sign team `team`'s latest membership statement (same members, next
 * seq) if no admin but `leaving` signed it. Return 0, or -1 (printed). */
static int
reendorse_team(struct api *a, const struct admins_view *v, const struct note_verifier *leaving,
               const struct note_signer *key, const char *team)
{
	const struct note_verifier *stay[ADMINS_VIEW_EVER_MAX];
	struct membership *head = NULL;
	struct membership_member ms[MEMBERSHIP_MAX_MEMBERS];
	json_t *doc = NULL, *ans = NULL;
	char path[160];
	size_t ns = 0, n = 0, count = 0;
	int rc = -1;
	for (size_t i = 0; i < v->ncur && ns < 16; i++)
		if (v->cur[i] != leaving)
			stay[ns++] = v->cur[i];
	snprintf(path, sizeof(path), "/api/v1/teams/%s/membership", team);
	if (api_get_json(a, path, "the team's membership", &doc) != 0)
		goto out;
	json_t *arr = json_object_get(doc, "statements");
	json_t *last = json_array_get(arr, json_array_size(arr) - 1);
	if (json_array_size(arr) == 0 || !json_is_string(last)) {
		rc = 0; /* no statement yet: nothing to re-sign */
		goto out;
	}
	if (admins_count_signers(json_string_value(last), json_string_length(last), stay, ns,
	                         &count) == ADMINS_OK && count > 0) {
		rc = 0;
		goto out;
	}
	if (chain_fetch(a, team, 0, &head) != 0)
		goto out;
	for (size_t i = 0; i < membership_count(head); i++)
		ms[n++] = *membership_member_at(head, i);
	if (admin_stmt_upload(a, key, team, head, ms, n, NULL, &ans) != 0)
		goto out;
	printf("team %s: re-signed its membership (statement %lld, same %zu members)\n", team,
	       (long long)json_integer_value(json_object_get(ans, "seq")), n);
	rc = 0;
out:
	json_decref(doc);
	json_decref(ans);
	membership_free(head);
	return rc;
}

/* Re-sign every team's head that only `leaving` signed. Return 0, or -1. */
static int
reendorse_all(struct api *a, const struct admins_view *v, const struct note_verifier *leaving,
              const struct note_signer *key)
{
	json_t *doc = NULL, *t;
	size_t i;
	int rc = 0;
	if (api_get_json(a, "/api/v1/admin/teams", "the team list", &doc) != 0)
		return -1;
	json_array_foreach(json_object_get(doc, "teams"), i, t) {
		const char *team = json_string_value(json_object_get(t, "team"));
		if (team != NULL && membership_team_valid(team) &&
		    reendorse_team(a, v, leaving, key, team) != 0)
			rc = -1;
	}
	json_decref(doc);
	return rc;
}

int
admins_cmd_remove(int argc, char **argv)
{
	struct ac_run x;
	const char *all[ADMINS_MAX + 1], *keys[ADMINS_MAX + 1];
	char fp[17], q[256];
	int rc = ac_open(argc, argv, &x);
	if (rc != OPTS_GO)
		return rc;
	rc = CLI_ERR;
	unsigned server_q = server_quorum(&x.a);
	const struct note_verifier *leaving = find_admin(&x.v, x.o.arg);
	if (leaving == NULL)
		goto out;
	size_t na = current_keys(&x.a, &x.v, all), n = 0;
	for (size_t i = 0; i < na; i++) {
		struct note_verifier *k = note_verifier_parse(all[i], strlen(all[i]));
		int same = k != NULL && sodium_memcmp(note_verifier_pk(k), note_verifier_pk(leaving),
		                                      NOTE_PK_LEN) == 0;
		note_verifier_free(k);
		if (!same)
			keys[n++] = all[i];
	}
	if (n == 0) {
		cli_error("%s is the last admin: add another one first", x.o.arg);
		goto out;
	}
	membership_fingerprint(note_verifier_pk(leaving), fp);
	printf("remove admin %s\n  fingerprint: %.4s %.4s %.4s %.4s\n", note_verifier_name(leaving),
	       fp, fp + 4, fp + 8, fp + 12);
	snprintf(q, sizeof(q), "Remove admin %s? Their key signs nothing from now on.",
	         note_verifier_name(leaving));
	if (!confirm(&x.o, q)) {
		cli_error("no admin was removed: nothing changed");
		goto out;
	}
	if ((x.key = admin_key_load(x.o.key, x.o.pass_file)) == NULL)
		goto out;
	if (sodium_memcmp(note_signer_pk(x.key), note_verifier_pk(leaving), NOTE_PK_LEN) == 0) {
		cli_error("you cannot remove your own admin key: another admin removes it");
		goto out;
	}
	unsigned quorum = x.o.quorum ? x.o.quorum : needed(&x.v, server_q);
	if (quorum > n)
		quorum = (unsigned)n;
	if (reendorse_all(&x.a, &x.v, leaving, x.key) != 0 ||
	    sign_next(&x.a, &x.v, server_q, x.key, keys, n, quorum, x.o.out) != 0)
		goto out;
	rc = CLI_OK;
	/* A partner statement needs a current admin's signature: say which
	 * partners only the removed admin had pinned. */
	if (x.o.out == NULL)
		admin_partners_warn_retired(&x.a);
out:
	ac_close(&x);
	return rc;
}

int
admins_cmd_cosign(int argc, char **argv)
{
	struct ac_run x;
	struct admins *st = NULL;
	struct buf in, note;
	int rc = ac_open(argc, argv, &x);
	if (rc != OPTS_GO)
		return rc;
	rc = CLI_ERR;
	buf_init(&in, AC_NOTE_MAX);
	buf_init(&note, AC_NOTE_MAX);
	if (cli_read_file(x.o.arg, &in) != 0)
		goto out;
	unsigned server_q = server_quorum(&x.a);
	enum admins_result ar = admins_parse((const char *)in.data, in.len, &st);
	if (ar == ADMINS_OK)
		ar = admins_seq(st) == (x.v.head ? admins_seq(x.v.head) : 0) + 1 ? ADMINS_OK
		                                                             : ADMINS_ERR_STALE;
	if (ar != ADMINS_OK) {
		cli_error("%s: %s (it must be the next admin statement)", x.o.arg, admins_strerror(ar));
		goto out;
	}
	printf("admin statement %llu (quorum %u) lists:\n", (unsigned long long)admins_seq(st),
	       admins_quorum(st));
	for (size_t i = 0; i < admins_count(st); i++) {
		char fp[17];
		membership_fingerprint(note_verifier_pk(admins_at(st, i)), fp);
		printf("  %-24s %.4s %.4s %.4s %.4s%s\n", note_verifier_name(admins_at(st, i)), fp,
		       fp + 4, fp + 8, fp + 12,
		       admins_has_key(x.v.head, note_verifier_pk(admins_at(st, i))) ||
		               (x.v.head == NULL && i < x.v.ncur) ? "" : "  (new)");
	}
	if (!confirm(&x.o, "Sign this admin set?")) {
		cli_error("not signed: nothing changed");
		goto out;
	}
	if ((x.key = admin_key_load(x.o.key, x.o.pass_file)) == NULL ||
	    note_cosign(x.key, (const char *)in.data, in.len, &note) != 0) {
		cli_error("cannot add your signature (did you sign it already?)");
		goto out;
	}
	if (upload_or_write(&x.a, &x.v, server_q, x.o.out, (const char *)note.data, note.len) != 0)
		goto out;
	rc = CLI_OK;
out:
	admins_free(st);
	ac_close(&x);
	buf_free(&in);
	buf_free(&note);
	return rc;
}
