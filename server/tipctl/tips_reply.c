#include "tips_reply.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/magic.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admins_view.h"
#include "age.h"
#include "activity.h"
#include "api.h"
#include "cli.h"
#include "editor.h"
#include "identity.h"
#include "opts.h"
#include "pad.h"
#include "proto.h"
#include "report.h"
#include "secmem.h"
#include "seen.h"
#include "tips_cmd.h"
#include "tips_open.h"
#include "util.h"

#define SOURCE_WARNING "Whoever holds this report's receipt will read this reply."
#define CHAIN_ERROR "the team's membership statement does not verify against your pinned admin keys"
#define SOURCE_KEY_ERROR \
	"the server names another reply key for this source than the one sealed in the report: " \
	"nothing was sent; tell an admin"
#define TEAM_MISMATCH \
	"report %s: the server names team %s, but the report itself (sealed at submission) " \
	"names team %s: refusing, nothing was sent; tell an admin (the server's data was altered)"
#define MESSAGE_FORGED \
	"WARNING: message %s claims to come from the source, but it does not carry a valid " \
	"signature of the source's key sealed in the report: it may be FORGED by whoever can " \
	"write to the server's database"
#define SOURCE_KEY_MISSING \
	"the report has no reply key sealed in it, so the server's cannot be checked: " \
	"nothing was sent; tell an admin"

static const char rp_reply_usage[] =
	"usage: tipctl tips reply ID [--file FILE | --stdin] [--yes]\n"
	"                         [--identity PATH] [--passphrase-file FILE]\n"
	"\n"
	"Seal a reply to the source of report ID and to every member of its team.\n"
	"Whoever holds the report's receipt will read it. tipctl asks your passphrase\n"
	"(three tries at a terminal) and checks the report before you write, so a typo\n"
	"never costs the text; if sending fails after you wrote it in the editor,\n"
	"tipctl prints it on the terminal to copy.\n"
	"\n"
	"  --file FILE            the reply's text (UTF-8, at most 64 KiB)\n"
	"  --stdin                read the text from standard input\n"
	"  --yes                  do not ask before sending\n"
	"  --identity PATH        identity file (default $TIPLINE_HOME/identity.age)\n"
	"  --passphrase-file FILE take the passphrase from the first line of FILE\n"
	"\n"
	"Without --file or --stdin, on a terminal, the reply is written in $VISUAL,\n"
	"$EDITOR or vi, on a file in RAM ($XDG_RUNTIME_DIR or /dev/shm) that is\n"
	"overwritten and removed as soon as the editor exits. Lines starting with '#'\n"
	"are dropped; an empty text sends nothing.\n";

static const char rp_note_usage[] =
	"usage: tipctl tips note ID [--file FILE | --stdin]\n"
	"                        [--identity PATH] [--passphrase-file FILE]\n"
	"\n"
	"Seal an internal note on report ID to every member of its team (never the source).\n"
	"Without --file or --stdin, on a terminal, the note is written in $VISUAL,\n"
	"$EDITOR or vi, as for `tipctl tips reply`.\n";

struct rp_opts {
	bool is_reply, editor;
	int from_stdin, yes;
	const char *id, *file, *identity, *pass_file;
	char rid[37]; /* the id, resolved from a prefix */
};

/* One sealing job: what was fetched and what is sent. */
struct rp_job {
	char oid[37];
	char team[MEMBERSHIP_TEAM_MAX + 1];
	char source[AGE_RECIPIENT_STR_MAX]; /* "" if none */
	struct membership *m;
	size_t nrcpt;
};

static int
rp_parse_opts(int argc, char **argv, struct rp_opts *o)
{
	const char *usage = o->is_reply ? rp_reply_usage : rp_note_usage;
	const struct opt opts[] = { OPT_STR("file", &o->file), OPT_FLAG("stdin", &o->from_stdin),
		                    OPT_YES(&o->yes), OPT_IDENTITY(&o->identity),
		                    OPT_PASS_FILE(&o->pass_file), OPT_END };
	int rc = opts_parse(argc, argv, opts, NULL, usage);
	if (rc != OPTS_GO || (rc = tips_cmd_id_operand(argc, argv, NULL, usage, &o->id)) != OPTS_GO)
		return rc;
	if (o->file != NULL && o->from_stdin)
		return opts_usage_error(usage, "give only one of --file and --stdin");
	if (o->file == NULL && !o->from_stdin) {
		if (!isatty(0))
			return opts_usage_error(usage, "give --file or --stdin (or run tipctl on a "
			                               "terminal to write the text in your editor)");
		o->editor = true;
	}
	return OPTS_GO;
}

/* Read the text into the secure buffer `t`. Return 0, or -1 (printed). */
static int
rp_read_text(const struct rp_opts *o, bool source, struct buf *t)
{
	if (o->editor)
		return editor_text(o->is_reply, source, o->id, t);
	if (o->file != NULL) {
		if (cli_read_file(o->file, t) != 0)
			return -1;
	} else {
		uint8_t chunk[4096];
		ssize_t r;
		while ((r = read(0, chunk, sizeof(chunk))) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 || buf_add(t, chunk, (size_t)r) != 0) {
				sodium_memzero(chunk, sizeof(chunk));
				cli_error(r < 0 ? "cannot read standard input" : "the text is too long");
				return -1;
			}
		}
		sodium_memzero(chunk, sizeof(chunk));
	}
	while (t->len > 0 && (t->data[t->len - 1] == '\n' || t->data[t->len - 1] == '\r'))
		t->len--;
	if (t->len == 0) {
		cli_error("the text is empty: nothing was sent");
		return -1;
	}
	return 0;
}

/* After a failed send of text typed in the editor: print it on the terminal
 * (never to a file) so that it can be copied and sent again. */
static void
rp_keep_text(const struct rp_opts *o, const struct buf *t)
{
	if (!o->editor || !isatty(1))
		return;
	fprintf(stderr, "Nothing was sent. Your text, to copy and send again:\n");
	fflush(stderr);
	printf("----\n%.*s\n----\n", (int)t->len, (const char *)t->data);
}

/* Say who will read a reply (the receipt's holder, or the team only if the
 * source forgot the receipt); on a terminal, ask. Return 0 to send. */
static int
rp_confirm_reply(const struct rp_opts *o, int has_source)
{
	char line[16];
	if (has_source)
		fprintf(stderr, "%s\n", SOURCE_WARNING);
	else
		fprintf(stderr, "The source has forgotten this receipt: only the team will read it.\n");
	if (o->yes || o->from_stdin || !isatty(0))
		return 0;
	fputs("Send it? [y/N] ", stderr);
	if (fgets(line, sizeof(line), stdin) == NULL || (line[0] != 'y' && line[0] != 'Y')) {
		cli_error("nothing was sent");
		return -1;
	}
	return 0;
}

int
tips_reply_verify_chain(const char *const *stmts, size_t n, const char *team,
                        const struct note_verifier *const *admins, size_t nadmins,
                        struct membership **out)
{
	struct membership *prev = NULL;
	*out = NULL;
	if (n == 0 || nadmins == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct membership *m = NULL;
		if (membership_open(stmts[i], strlen(stmts[i]), admins, nadmins, &m) != MEMBERSHIP_OK ||
		    membership_check_next(prev, m) != MEMBERSHIP_OK ||
		    strcmp(membership_team(m), team) != 0) {
			membership_free(m);
			membership_free(prev);
			return -1;
		}
		membership_free(prev);
		prev = m;
	}
	*out = prev;
	return 0;
}

int
tips_reply_sig_message(const char *kind, const char *id, const char *rid, const uint8_t *payload,
                       size_t n, struct buf *out)
{
	return proto_sealed_sig_message(kind, id, rid, payload, n, out);
}

int
tips_reply_fetch_chain(struct api *a, const char *team, int allow_empty, struct membership **m)
{
	struct admins_view av;
	const char *stmts[TIPS_CHAIN_MAX];
	json_t *chain = NULL, *v;
	char path[160];
	size_t i;
	int rc = -1;
	memset(&av, 0, sizeof(av));
	snprintf(path, sizeof(path), "/api/v1/teams/%s/membership", team);
	if (api_get_json(a, path, "the team's membership", &chain) != 0)
		goto out;
	json_t *arr = json_object_get(chain, "statements");
	if (!json_is_array(arr) || json_array_size(arr) > TIPS_CHAIN_MAX)
		goto bad;
	*m = NULL;
	if (allow_empty && json_array_size(arr) == 0) {
		/* a team with no statement yet: unless this computer saw one */
		uint64_t seen = 0;
		if (seen_lookup(a->s->server, team, &seen) != SEEN_OK)
			goto out;
		if (seen != 0) {
			cli_error("the server shows no membership for team %s, but this computer has "
			          "seen its statement %llu: refusing; tell an admin", team,
			          (unsigned long long)seen);
			goto out;
		}
		rc = 0;
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if ((stmts[i] = json_string_value(v)) == NULL)
			goto bad;
	}
	/* Links by any admin the admin chain ever named; the head by a current one. */
	if (admins_view_load(a, &av) != 0)
		goto out;
	if (tips_reply_verify_chain(stmts, json_array_size(arr), team,
	                            (const struct note_verifier *const *)av.ever, av.never, m) != 0)
		goto bad;
	if (!admins_view_signed_by_current(&av, stmts[json_array_size(arr) - 1],
	                                   strlen(stmts[json_array_size(arr) - 1]))) {
		membership_free(*m);
		*m = NULL;
		goto bad;
	}
	/* Never older than (or beside) what this computer already verified: seen.h. */
	if (seen_check_and_update(a->s->server, *m) != SEEN_OK) {
		membership_free(*m);
		*m = NULL;
		goto out;
	}
	rc = 0;
	goto out;
bad:
	cli_error(CHAIN_ERROR);
out:
	admins_view_clear(&av);
	json_decref(chain);
	return rc;
}

/* Refuse a reply when the server's source recipient `src` is not the one
 * tipd sealed in the report `doc` at submission (docs/threat-model.md §5
 * item 7). Return 0, or -1 (printed). */
static int
rp_check_source(json_t *doc, const char *src)
{
	uint8_t sealed[AGE_KEY_LEN], named[AGE_KEY_LEN];
	if (report_source_key(doc, sealed) != REPORT_OK) {
		cli_error(SOURCE_KEY_MISSING);
		return -1;
	}
	if (age_recipient_decode(src, named) != 0 || sodium_memcmp(sealed, named, AGE_KEY_LEN) != 0) {
		cli_error(SOURCE_KEY_ERROR);
		return -1;
	}
	return 0;
}

int
tips_reply_sealed_team(json_t *meta, json_t *doc, const char *rid, const char **team)
{
	const char *sealed = json_string_value(json_object_get(doc, "team"));
	const char *named = json_string_value(json_object_get(meta, "team"));
	*team = NULL;
	if (sealed == NULL || !membership_team_valid(sealed)) {
		cli_error("report %s names no valid team inside it: refusing", rid);
		return -1;
	}
	if (named == NULL || strcmp(named, sealed) != 0) {
		cli_error(TEAM_MISMATCH, rid,
		          named != NULL && membership_team_valid(named) ? named : "(none or invalid)",
		          sealed);
		return -1;
	}
	*team = sealed;
	return 0;
}

/* Decrypt the report (its team comes from inside it, never from the
 * server's answer; a server naming another team is refused), for a reply
 * check the server's source recipient against the one sealed in it, then
 * fetch the team's verified membership. Return 0, or -1 (printed). */
static int
rp_fetch_membership(struct api *a, const struct rp_opts *o, const struct identity *id,
                    struct rp_job *j)
{
	json_t *meta = NULL, *doc = NULL;
	const char *team = NULL;
	int rc = -1;
	if (tips_open_fetch_report(a, id, o->id, &meta, &doc, NULL) != 0 ||
	    tips_reply_sealed_team(meta, doc, o->id, &team) != 0)
		goto out;
	json_t *src = json_object_get(meta, "source_recipient");
	if (src != NULL && !json_is_null(src) && !json_is_string(src)) {
		cli_error("bad answer from the server: report %s has a malformed source recipient",
		          o->id);
		goto out;
	}
	snprintf(j->team, sizeof(j->team), "%s", team);
	if (o->is_reply && json_is_string(src)) {
		if (rp_check_source(doc, json_string_value(src)) != 0)
			goto out;
		snprintf(j->source, sizeof(j->source), "%s", json_string_value(src));
	}
	rc = tips_reply_fetch_chain(a, team, 0, &j->m);
out:
	json_decref(doc);
	json_decref(meta);
	return rc;
}

/* Append the padded plaintext (context line and JSON) to the secure `pt`. */
static int
rp_make_plaintext(const char *kind, const struct rp_job *j, const char *rid, const char *from,
               const struct buf *text, struct buf *pt)
{
	char today[11];
	util_today(today);
	json_t *t = proto_utf8_valid(text->data, text->len)
	                    ? json_stringn((const char *)text->data, text->len) : NULL;
	if (t == NULL) {
		cli_error("the text is not valid UTF-8: nothing was sent");
		return -1;
	}
	json_t *doc = json_pack("{s:o, s:s, s:s}", "text", t, "from", from, "sent_on", today);
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	char line[PROTO_CONTEXT_MAX];
	int l = proto_context_line(kind, j->oid, rid, line, sizeof(line));
	int rc = s != NULL && l > 0 && buf_add(pt, line, (size_t)l) == 0 && buf_adds(pt, s) == 0 &&
	                 pad_text(pt) == 0
	         ? 0 : -1;
	secmem_free(s);
	if (rc != 0)
		cli_error("cannot build the %s: it is too long", kind);
	return rc;
}

/* Add one {"recipient", "header"} for `pk` to `hdrs`. Return 0, or -1. */
static int
rp_add_header(const uint8_t *fk, const uint8_t pk[AGE_KEY_LEN], const char *rcpt, json_t *hdrs)
{
	uint8_t k[1][AGE_KEY_LEN];
	struct buf hb;
	char *b64 = NULL;
	int rc = -1;
	memcpy(k[0], pk, AGE_KEY_LEN);
	buf_init(&hb, AGE_MAX_HEADER);
	if (age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])k, 1, &hb) != 0)
		goto out;
	size_t bl = sodium_base64_ENCODED_LEN(hb.len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(bl)) == NULL)
		goto out;
	sodium_bin2base64(b64, bl, hb.data, hb.len, sodium_base64_VARIANT_ORIGINAL);
	rc = json_array_append_new(hdrs, json_pack("{s:s, s:s}", "recipient", rcpt, "header", b64));
out:
	free(b64);
	buf_free(&hb);
	return rc;
}

/* Seal `pt` into `payload` and the headers for every recipient. Return 0, or -1. */
static int
rp_seal(bool is_reply, struct rp_job *j, const struct buf *pt, struct buf *payload, json_t *hdrs)
{
	uint8_t *fk = sodium_malloc(AGE_FILE_KEY_LEN), spk[AGE_KEY_LEN];
	struct age_enc *e = NULL;
	int rc = -1;
	if (fk == NULL)
		return -1;
	age_file_key_new(fk);
	if ((e = age_enc_new(fk)) == NULL || age_enc_update(e, pt->data, pt->len, payload) != 0 ||
	    age_enc_final(e, payload) != 0)
		goto out;
	for (size_t i = 0; i < membership_count(j->m); i++) {
		const struct membership_member *mm = membership_member_at(j->m, i);
		if (rp_add_header(fk, mm->x25519_pk, mm->recipient, hdrs) != 0)
			goto out;
	}
	j->nrcpt = membership_count(j->m);
	if (is_reply && j->source[0] != '\0') {
		if (age_recipient_decode(j->source, spk) != 0 ||
		    rp_add_header(fk, spk, j->source, hdrs) != 0)
			goto out;
		j->nrcpt++;
	}
	rc = 0;
out:
	age_enc_free(e);
	sodium_free(fk);
	return rc;
}

/* Build the request body for the sealed object into *json (free()). Return 0, or -1. */
static int
rp_make_body(const char *kind, const struct rp_job *j, const char *rid, const struct identity *id,
          const struct buf *payload, json_t *hdrs, char **json)
{
	uint8_t sig[crypto_sign_BYTES];
	char s64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	struct buf msg;
	char *p64 = NULL;
	int rc = -1;
	*json = NULL;
	buf_init(&msg, 1024);
	size_t pl = sodium_base64_ENCODED_LEN(payload->len, sodium_base64_VARIANT_ORIGINAL);
	if (tips_reply_sig_message(kind, j->oid, rid, payload->data, payload->len, &msg) != 0 ||
	    crypto_sign_detached(sig, NULL, msg.data, msg.len, identity_ed25519_sk(id)) != 0 ||
	    (p64 = malloc(pl)) == NULL)
		goto out;
	sodium_bin2base64(p64, pl, payload->data, payload->len, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(s64, sizeof(s64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	json_t *doc = json_pack("{s:s, s:s, s:O, s:s}", "id", j->oid, "payload", p64, "headers",
	                        hdrs, "signature", s64);
	if (doc != NULL)
		*json = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	rc = *json != NULL ? 0 : -1;
out:
	free(p64);
	buf_free(&msg);
	return rc;
}

/* The name under which our key is in the membership, or NULL. */
static const char *
rp_my_name(const struct membership *m, const struct identity *id)
{
	for (size_t i = 0; i < membership_count(m); i++) {
		const struct membership_member *mm = membership_member_at(m, i);
		if (sodium_memcmp(mm->ed25519_pk, identity_ed25519_pk(id), MEMBERSHIP_KEY_LEN) == 0)
			return mm->name;
	}
	return NULL;
}

/* Seal, sign and post the text `t`. Return 0, or -1 (printed). */
static int
rp_send_sealed(struct api *a, const struct rp_opts *o, const struct identity *id, struct rp_job *j,
            const struct buf *t)
{
	const char *kind = o->is_reply ? "reply" : "note";
	struct buf pt, payload;
	struct client_response r;
	json_t *hdrs = json_array();
	char *json = NULL, path[160], what[64];
	int rc = -1;
	buf_init_secure(&pt, TIPS_REPLY_TEXT_MAX * 7 + 4096);
	buf_init(&payload, TIPS_REPLY_TEXT_MAX * 8 + 65536);
	buf_init(&r.body, 65536);
	const char *from = rp_my_name(j->m, id);
	if (from == NULL) {
		cli_error("your key is not in the team's current membership");
		goto out;
	}
	util_uuid(j->oid);
	if (hdrs == NULL || rp_make_plaintext(kind, j, o->id, from, t, &pt) != 0)
		goto out;
	if (rp_seal(o->is_reply, j, &pt, &payload, hdrs) != 0 ||
	    rp_make_body(kind, j, o->id, id, &payload, hdrs, &json) != 0) {
		cli_error("cannot seal the %s", kind);
		goto out;
	}
	snprintf(path, sizeof(path), "/api/v1/reports/%s/%s", o->id, o->is_reply ? "replies" : "notes");
	snprintf(what, sizeof(what), "report %s", o->id);
	if (api_call(a, "POST", path, json, &r, what) != 0)
		goto out;
	printf("%s %s sent to %zu member(s)%s\n", kind, j->oid, membership_count(j->m),
	       j->nrcpt > membership_count(j->m) ? " and the source" : "");
	/* your own reply or note is not news to you in `tips list` */
	if (activity_add_own(NULL, a->s->server, o->id,
	                     o->is_reply ? ACTIVITY_REPLY : ACTIVITY_NOTE) != 0)
		cli_error("warning: `tips list` will show your %s as new", kind);
	rc = 0;
out:
	json_decref(hdrs);
	free(json);
	buf_free(&pt);
	buf_free(&payload);
	buf_free(&r.body);
	return rc;
}

static int
rp_reply_run(int argc, char **argv, bool is_reply)
{
	struct rp_opts o = { .is_reply = is_reply };
	struct api a;
	struct identity *id = NULL;
	struct rp_job j;
	struct buf t;
	int rc = rp_parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	memset(&j, 0, sizeof(j));
	buf_init_secure(&t, TIPS_REPLY_TEXT_MAX);
	/* Everything that can refuse comes before the text is typed: the session,
	 * the passphrase (three tries at a terminal), the report and its team. */
	if (api_open(&a) != 0 || tips_cmd_resolve_id(&a, o.id, o.rid) != 0)
		goto out;
	o.id = o.rid;
	if (a.s->n_admin_keys == 0) {
		cli_error("no admin key is pinned: log in again with --admin-key (from your invite)");
		goto out;
	}
	if ((id = api_identity_load(o.identity, o.pass_file)) == NULL ||
	    rp_fetch_membership(&a, &o, id, &j) != 0)
		goto out;
	if (rp_read_text(&o, j.source[0] != '\0', &t) != 0 || (is_reply && rp_confirm_reply(&o, j.source[0] != '\0') != 0))
		goto out;
	if (rp_send_sealed(&a, &o, id, &j, &t) != 0) {
		rp_keep_text(&o, &t);
		goto out;
	}
	rc = CLI_OK;
out:
	membership_free(j.m);
	identity_free(id);
	buf_free(&t);
	api_close(&a);
	return rc;
}

int
tips_reply_main(int argc, char **argv)
{
	return rp_reply_run(argc, argv, true);
}

int
tips_reply_note_main(int argc, char **argv)
{
	return rp_reply_run(argc, argv, false);
}

/* ---- tips show: replies, notes, messages ---- */

/* Print untrusted `s` terminal-safe, indented. */
static void
rp_print_safe(const char *s)
{
	struct buf b;
	buf_init_secure(&b, 4 * strlen(s) + 16);
	if (report_term_safe(s, strlen(s), 1, &b) == 0 && buf_cstr(&b) != NULL) {
		fputs("  ", stdout);
		for (const char *p = buf_cstr(&b); *p; p++) {
			putchar(*p);
			if (*p == '\n' && p[1] != '\0')
				fputs("  ", stdout);
		}
	}
	putchar('\n');
	buf_free(&b);
}

/* Decrypt header+payload of `o` with `id` into `pt`; keep the payload in
 * `payload`; check the context line and parse the JSON into *doc. Return 0, or -1. */
static int
rp_open_object(json_t *o, const char *kind, const char *rid, const struct identity *id,
            struct buf *payload, struct buf *pt, json_t **doc)
{
	struct buf ct;
	size_t skip = 0;
	json_error_t e;
	const char *oid = json_string_value(json_object_get(o, "id"));
	int rc = -1;
	*doc = NULL;
	buf_init(&ct, API_JSON_MAX);
	uint8_t (*sk)[AGE_KEY_LEN] = sodium_malloc(sizeof(*sk));
	if (sk == NULL || oid == NULL ||
	    api_b64_append(json_string_value(json_object_get(o, "header")), &ct) != 0 ||
	    api_b64_append(json_string_value(json_object_get(o, "payload")), payload) != 0 ||
	    buf_add(&ct, payload->data, payload->len) != 0)
		goto out;
	memcpy(sk, identity_x25519_sk(id), AGE_KEY_LEN);
	struct age_unwrap_opts uo = { .sks = (const uint8_t (*)[AGE_KEY_LEN])sk, .nsks = 1 };
	if (age_decrypt(ct.data, ct.len, &uo, pt) != AGE_OK ||
	    report_check_context(pt->data, pt->len, kind, oid, rid, &skip) != REPORT_OK)
		goto out;
	*doc = json_loadb((const char *)pt->data + skip, pt->len - skip, JSON_REJECT_DUPLICATES, &e);
	rc = json_is_object(*doc) ? 0 : -1;
out:
	if (sk != NULL)
		sodium_free(sk);
	buf_free(&ct);
	return rc;
}

/* Check the signature of `o` (over `payload`) and that its author is in `m`
 * (if not NULL). Return the author's name ("" if m is NULL), or NULL. */
static const char *
rp_check_author(json_t *o, const char *kind, const char *rid, const struct buf *payload,
             const struct membership *m)
{
	uint8_t pk[32], sig[64];
	struct buf msg, raw;
	const char *name = NULL, *oid = json_string_value(json_object_get(o, "id"));
	buf_init(&msg, 1024);
	buf_init(&raw, 256);
	if (oid == NULL || api_b64_append(json_string_value(json_object_get(o, "author_ed25519")), &raw) != 0 ||
	    raw.len != 32)
		goto out;
	memcpy(pk, raw.data, 32);
	buf_reset(&raw);
	if (api_b64_append(json_string_value(json_object_get(o, "signature")), &raw) != 0 || raw.len != 64)
		goto out;
	memcpy(sig, raw.data, 64);
	if (tips_reply_sig_message(kind, oid, rid, payload->data, payload->len, &msg) != 0 ||
	    crypto_sign_verify_detached(sig, msg.data, msg.len, pk) != 0)
		goto out;
	name = "";
	for (size_t i = 0; m != NULL && i < membership_count(m); i++) {
		const struct membership_member *mm = membership_member_at(m, i);
		if (sodium_memcmp(mm->ed25519_pk, pk, 32) == 0)
			name = mm->name;
	}
	if (m != NULL && name[0] == '\0')
		name = NULL;
out:
	buf_free(&msg);
	buf_free(&raw);
	return name;
}

/* Print the header line of the source's message `oid` (sent on `on`) by
 * what report_message_signed found (`sig`). Return 1 if it must count as a
 * failure (a possible forgery), else 0. */
static int
rp_show_message_head(int sig, const char *oid, const char *on)
{
	const char *day = on != NULL && tips_cmd_date_ok(on) ? on : "?";
	if (sig == REPORT_MSG_VERIFIED) {
		printf("\nMessage from the source %s, %s\n", oid, day);
		return 0;
	}
	if (sig == REPORT_MSG_UNSIGNED_OLD) {
		printf("\nMessage %s, %s, unsigned (older report): the sender cannot be checked\n", oid,
		       day);
		return 0;
	}
	cli_error(MESSAGE_FORGED, oid);
	printf("\nUNVERIFIED message %s, %s: NOT from the source as far as tipctl can tell "
	       "(possibly forged)\n", oid, day);
	return 1;
}

/* Print the objects of `key` ("replies", "notes", "messages") of the report
 * whose decrypted document is `report`. Return the number that failed. */
static int
rp_show_kind(json_t *meta, json_t *report, const char *key, const char *kind, const char *rid,
          const struct identity *id, const struct membership *m)
{
	json_t *arr = json_object_get(meta, key), *o;
	size_t i;
	int bad = 0;
	json_array_foreach(arr, i, o) {
		struct buf payload, pt;
		json_t *doc = NULL;
		const char *oid = json_string_value(json_object_get(o, "id"));
		const char *on = json_string_value(json_object_get(o, "sent_on"));
		buf_init(&payload, API_JSON_MAX);
		buf_init_secure(&pt, API_JSON_MAX);
		const char *who = NULL;
		if (rp_open_object(o, kind, rid, id, &payload, &pt, &doc) != 0) {
			cli_error("%s %s does not open or names another object: not shown", kind,
			          oid != NULL && util_uuid_valid(oid) ? oid : "?");
			bad++;
		} else if (strcmp(kind, "message") != 0 &&
		           (who = rp_check_author(o, kind, rid, &payload, m)) == NULL) {
			cli_error("%s %s: its signature does not verify against the team's membership: "
			          "not shown", kind, oid);
			bad++;
		} else {
			const char *text = json_string_value(json_object_get(doc, "text"));
			if (strcmp(kind, "message") == 0)
				bad += rp_show_message_head(report_message_signed(report, doc, oid, rid), oid, on);
			else
				printf("\n%s %s, %s%s%s%s\n", kind[0] == 'r' ? "Reply" : "Note", oid,
				       on != NULL && tips_cmd_date_ok(on) ? on : "?",
				       who != NULL ? ", by " : "", who != NULL && who[0] ? who : "",
				       who != NULL && who[0] == '\0' ? "(membership not checked)" : "");
			rp_print_safe(text != NULL ? text : "");
		}
		json_decref(doc);
		buf_free(&payload);
		buf_free(&pt);
	}
	return bad;
}

int
tips_reply_team_membership(struct api *a, json_t *meta, json_t *doc, struct membership **m)
{
	const char *team = NULL, *rid = json_string_value(json_object_get(meta, "id"));
	*m = NULL;
	if (tips_reply_sealed_team(meta, doc, rid != NULL && util_uuid_valid(rid) ? rid : "?",
	                           &team) != 0)
		return -1;
	if (a->s->n_admin_keys == 0) {
		fprintf(stderr, "no admin key is pinned: reply authors are not checked against the "
		                "membership (log in with --admin-key)\n");
		return 0;
	}
	return tips_reply_fetch_chain(a, team, 0, m);
}

int
tips_reply_open_checked(json_t *o, const char *kind, const char *rid, const struct identity *id,
                        const struct membership *m, json_t *report, json_t **out)
{
	struct buf payload, pt;
	json_t *doc = NULL;
	const char *oid = json_string_value(json_object_get(o, "id"));
	const char *on = json_string_value(json_object_get(o, "sent_on"));
	const char *who = NULL, *text;
	bool is_msg = strcmp(kind, "message") == 0;
	int rc = -1;
	*out = NULL;
	buf_init(&payload, API_JSON_MAX);
	buf_init_secure(&pt, API_JSON_MAX);
	if (oid == NULL || !util_uuid_valid(oid) ||
	    rp_open_object(o, kind, rid, id, &payload, &pt, &doc) != 0) {
		cli_error("%s %s does not open or names another object", kind,
		          oid != NULL && util_uuid_valid(oid) ? oid : "?");
		goto out;
	}
	if (!is_msg && (who = rp_check_author(o, kind, rid, &payload, m)) == NULL) {
		cli_error("%s %s: its signature does not verify against the team's membership", kind,
		          oid);
		goto out;
	}
	if ((text = json_string_value(json_object_get(doc, "text"))) == NULL) {
		cli_error("%s %s has no text", kind, oid);
		goto out;
	}
	int msig = is_msg ? report_message_signed(report, doc, oid, rid) : REPORT_MSG_VERIFIED;
	if (msig == REPORT_MSG_FORGED) {
		cli_error(MESSAGE_FORGED, oid);
		goto out;
	}
	*out = json_pack("{s:s, s:s, s:o, s:o, s:s}", "id", oid, "kind", kind, "sent_on",
	                 on != NULL && tips_cmd_date_ok(on) ? json_string(on) : json_null(),
	                 "author", is_msg ? (msig == REPORT_MSG_VERIFIED ? json_string("source")
	                                                                 : json_null())
	                           : who[0] != '\0' ? json_string(who) : json_null(),
	                 "text", text);
	const char *how = is_msg ? (msig == REPORT_MSG_VERIFIED
	                                ? "verified against the source key sealed in the report"
	                                : "unsigned (older report): the sender cannot be checked")
	                  : m != NULL ? "verified against the team's membership"
	                              : "verified; the author's membership was not checked (no admin "
	                                "key pinned)";
	if (*out != NULL && json_object_set_new(*out, "signature", json_string(how)) != 0) {
		json_decref(*out);
		*out = NULL;
	}
	if (*out == NULL)
		cli_error("out of memory");
	rc = *out != NULL ? 0 : -1;
out:
	json_decref(doc);
	buf_free(&payload);
	buf_free(&pt);
	return rc;
}

int
tips_reply_show(struct api *a, const struct identity *id, const char *rid, json_t *meta,
                json_t *doc)
{
	struct membership *m = NULL;
	if (tips_reply_team_membership(a, meta, doc, &m) != 0)
		return 1;
	int bad = rp_show_kind(meta, doc, "replies", "reply", rid, id, m) +
	          rp_show_kind(meta, doc, "notes", "note", rid, id, m) +
	          rp_show_kind(meta, doc, "messages", "message", rid, id, m);
	membership_free(m);
	return bad;
}
