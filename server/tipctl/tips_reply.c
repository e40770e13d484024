#include "tips_reply.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "age.h"
#include "activity.h"
#include "api.h"
#include "chain.h"
#include "cli.h"
#include "editor.h"
#include "identity.h"
#include "opts.h"
#include "pad.h"
#include "proto.h"
#include "report.h"
#include "secmem.h"
#include "tips_cmd.h"
#include "tips_open.h"
#include "util.h"

#define SOURCE_WARNING "Whoever holds this report's receipt will read this reply."
#define SOURCE_KEY_ERROR \
	"the server names another reply key for this source than the one sealed in the report: " \
	"nothing was sent; tell an admin"
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
tips_reply_sig_message(const char *kind, const char *id, const char *rid, const uint8_t *payload,
                       size_t n, struct buf *out)
{
	return proto_sealed_sig_message(kind, id, rid, payload, n, out);
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
	    chain_sealed_team(meta, doc, o->id, &team) != 0)
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
	rc = chain_fetch(a, team, 0, &j->m);
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
	char *s = api_body(json_pack("{s:o, s:s, s:s}", "text", t, "from", from, "sent_on", today));
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
	*json = api_body(json_pack("{s:s, s:s, s:O, s:s}", "id", j->oid, "payload", p64, "headers",
	                           hdrs, "signature", s64));
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
