#include "tips_open.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "age.h"
#include "activity.h"
#include "api.h"
#include "cli.h"
#include "opts.h"
#include "tips_cmd.h"
#include "report.h"
#include "secmem.h"
#include "tips_thread.h"
#include "util.h"

static const char show_usage[] =
	"usage: tipctl tips show ID [--identity PATH] [--passphrase-file FILE] [--json]\n"
	"\n"
	"Decrypt report ID on this computer and print it with the questionnaire's\n"
	"questions, the source's language and the list of attachments.\n"
	"\n"
	"  --json   print the decrypted report document instead\n";

static const char get_usage[] =
	"usage: tipctl tips get ID --out DIR [--identity PATH] [--passphrase-file FILE]\n"
	"\n"
	"Decrypt report ID's attachments into DIR, checking each against the report's\n"
	"manifest (size and SHA-256), then the files the source sent later with its\n"
	"messages, each checked against its message's signed list. Names are\n"
	"sanitized; existing files are never replaced (a -1, -2, ... suffix is added).\n";

/* Options of show and get. */
struct open_opts {
	const char *id, *identity, *pass_file, *out;
	char rid[37]; /* the id, resolved from a prefix */
	int as_json;
};

/* Parse show/get options; return -1 to go on, or an exit code. */
static int
open_parse(int argc, char **argv, const char *usage, int is_get, struct open_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_IDENTITY(&o->identity), OPT_PASS_FILE(&o->pass_file),
		                    OPT_STR("out", is_get ? &o->out : NULL),
		                    OPT_JSON(is_get ? NULL : &o->as_json), OPT_END };
	int rc = opts_parse(argc, argv, opts, argv[0], usage);
	if (rc != OPTS_GO || (rc = tips_cmd_id_operand(argc, argv, argv[0], usage, &o->id)) != OPTS_GO)
		return rc;
	if (is_get && o->out == NULL)
		return opts_usage_error(usage, "get: --out DIR is required");
	return OPTS_GO;
}

/*
 * Decrypt the age file `ct` (`n` bytes) with the identity's X25519 key into
 * the secure buffer `pt`. Return 0, or -1 after printing why (`what` names it).
 */
static int
open_blob(const uint8_t *ct, size_t n, const struct identity *id, struct buf *pt, const char *what)
{
	uint8_t (*sk)[AGE_KEY_LEN] = sodium_malloc(sizeof(*sk));
	if (sk == NULL) {
		cli_error("out of locked memory");
		return -1;
	}
	memcpy(sk, identity_x25519_sk(id), AGE_KEY_LEN);
	struct age_unwrap_opts uo = { .sks = (const uint8_t (*)[AGE_KEY_LEN])sk, .nsks = 1 };
	int r = age_decrypt(ct, n, &uo, pt);
	sodium_free(sk);
	if (r == AGE_OK)
		return 0;
	if (r == AGE_ERR_NO_MATCH)
		cli_error("%s is not sealed to your key", what);
	else
		cli_error("%s does not decrypt: %s (refusing it)", what, age_strerror(r));
	return -1;
}

int
tips_open_fetch_report(struct api *a, const struct identity *id, const char *rid, json_t **meta,
                       json_t **doc, struct buf *json)
{
	char path[128], what[64];
	struct buf ct, pt;
	int rc = -1;
	*doc = NULL;
	buf_init(&ct, API_JSON_MAX);
	buf_init_secure(&pt, TIPS_REPORT_MAX);
	snprintf(path, sizeof(path), "/api/v1/reports/%s", rid);
	snprintf(what, sizeof(what), "report %s", rid);
	if (api_get_json(a, path, what, meta) != 0)
		goto out;
	if (api_b64_append(json_string_value(json_object_get(*meta, "header")), &ct) != 0 ||
	    api_b64_append(json_string_value(json_object_get(*meta, "payload")), &ct) != 0) {
		cli_error("bad answer from the server: %s has no valid header and payload", what);
		goto out;
	}
	if (open_blob(ct.data, ct.len, id, &pt, what) != 0)
		goto out;
	int r = report_open(pt.data, pt.len, rid, doc);
	if (r != REPORT_OK) {
		cli_error("refusing %s: %s", what, report_strerror(r));
		goto out;
	}
	if (json != NULL && report_json_bytes(pt.data, pt.len, rid, json) != 0) {
		cli_error("%s is too large to keep", what);
		goto out;
	}
	rc = 0;
out:
	buf_free(&ct);
	buf_free(&pt);
	return rc;
}

/* Print untrusted text `s` terminal-safe to `out`, each line indented by `indent`. */
static void
put_safe(FILE *out, const char *s, const char *indent, int multiline)
{
	struct buf b;
	buf_init_secure(&b, 4 * strlen(s) + 16);
	if (report_term_safe(s, strlen(s), multiline, &b) == 0 && buf_cstr(&b) != NULL) {
		fputs(indent, out);
		for (const char *p = buf_cstr(&b); *p; p++) {
			fputc(*p, out);
			if (*p == '\n' && p[1] != '\0')
				fputs(indent, out);
		}
	}
	fputc('\n', out);
	buf_free(&b);
}

/* Return the English text of a localized label object, or NULL. */
static const char *
label_en(json_t *l)
{
	return json_string_value(json_object_get(l, "en"));
}

/* Print to `out` the answer `v` to question `q` (NULL if the questionnaire lacks it). */
static void
print_answer(FILE *out, json_t *q, json_t *v)
{
	size_t i, j;
	json_t *x, *opt;
	if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0)) {
		fputs("  (no answer)\n", out);
		return;
	}
	if (json_is_string(v) && !json_is_array(json_object_get(q, "options"))) {
		put_safe(out, json_string_value(v), "  ", 1);
		return;
	}
	json_t *one = json_is_array(v) ? NULL : v;
	for (i = 0; i < (one != NULL ? 1 : json_array_size(v)); i++) {
		x = one != NULL ? one : json_array_get(v, i);
		const char *idv = json_string_value(x), *lab = NULL;
		json_array_foreach(json_object_get(q, "options"), j, opt) {
			const char *oid = json_string_value(json_object_get(opt, "id"));
			if (idv != NULL && oid != NULL && strcmp(idv, oid) == 0)
				lab = label_en(json_object_get(opt, "label"));
		}
		put_safe(out, lab != NULL ? lab : idv != NULL ? idv : "(not text)", "  - ", 0);
	}
}

/* Print to `out` the answers of `doc` in the order of `quest` (may be NULL), then any others. */
static void
print_answers(FILE *out, json_t *doc, json_t *quest)
{
	json_t *answers = json_object_get(doc, "answers"), *q, *v;
	json_t *qs = json_object_get(quest, "questions");
	const char *key;
	size_t i;
	json_array_foreach(qs, i, q) {
		const char *qid = json_string_value(json_object_get(q, "id"));
		const char *lab = label_en(json_object_get(q, "label"));
		if (qid == NULL)
			continue;
		put_safe(out, lab != NULL ? lab : qid, "", 0);
		print_answer(out, q, json_object_get(answers, qid));
		fputc('\n', out);
	}
	json_object_foreach(answers, key, v) {
		int known = 0;
		json_array_foreach(qs, i, q) {
			const char *qid = json_string_value(json_object_get(q, "id"));
			known |= qid != NULL && strcmp(qid, key) == 0;
		}
		if (known)
			continue;
		put_safe(out, key, "", 0);
		print_answer(out, NULL, v);
		fputc('\n', out);
	}
}

/* Print to `out` the server's metadata field `key` of `meta` as "Label  value". */
static void
print_meta(FILE *out, const char *label, json_t *meta, const char *key)
{
	json_t *v = json_object_get(meta, key), *x;
	struct buf b;
	size_t i;
	buf_init(&b, 65536);
	int bad = 0;
	if (json_is_string(v))
		bad = buf_adds(&b, json_string_value(v));
	else if (json_is_array(v) && json_array_size(v) > 0)
		json_array_foreach(v, i, x)
			bad |= buf_printf(&b, "%s%s", i ? ", " : "",
			                  json_is_string(x) ? json_string_value(x) : "?");
	else
		bad = buf_adds(&b, "-");
	if (bad != 0)
		buf_reset(&b);
	fprintf(out, "%-10s", label);
	put_safe(out, buf_cstr(&b) != NULL ? buf_cstr(&b) : "?", "", 0);
	buf_free(&b);
}

void
tips_open_print_files(FILE *out, const char *title, json_t *doc, const char *rid)
{
	size_t n = report_manifest_count(doc);
	struct report_att a;
	fprintf(out, "%s: %zu\n", title, n);
	for (size_t i = 0; i < n; i++) {
		if (report_manifest_get(doc, i, &a) != REPORT_OK) {
			fprintf(out, "  %zu. (malformed manifest entry)\n", i + 1);
			continue;
		}
		fprintf(out, "  %zu. %s  %llu bytes  ", i + 1, a.id, (unsigned long long)a.size);
		put_safe(out, a.name, "", 0);
	}
	if (n > 0 && rid != NULL)
		fprintf(out, "  (save them with: tipctl tips get %s DIR)\n", rid);
}

void
tips_open_print_report(FILE *out, json_t *meta, json_t *doc, json_t *quest)
{
	print_meta(out, "Report", meta, "id");
	print_meta(out, "Team", meta, "team");
	print_meta(out, "Received", doc, "received_on");
	print_meta(out, "Status", meta, "status");
	print_meta(out, "Priority", meta, "priority");
	print_meta(out, "Assignee", meta, "assignee");
	print_meta(out, "Labels", meta, "labels");
	print_meta(out, "Language", doc, "language");
	if (quest == NULL)
		fputs("(the questionnaire could not be fetched: questions are shown by id)\n", out);
	fputc('\n', out);
	print_answers(out, doc, quest);
	tips_open_print_files(out, "Attachments", doc, NULL);
}

void
tips_open_mark_seen(struct api *a, const char *rid, json_t *meta)
{
	struct activity_counts c;
	activity_counts_of_report(meta, &c);
	if (activity_mark(NULL, a->s->server, rid, &c) != 0)
		cli_error("warning: `tips list` will still show report %s as new", rid);
}

/* Open the session and the identity. Return 0, or -1 (printed; api_close still needed). */
static int
open_both(struct api *a, struct open_opts *o, struct identity **id)
{
	*id = NULL;
	if (api_open(a) != 0 || tips_cmd_resolve_id(a, o->id, o->rid) != 0)
		return -1;
	o->id = o->rid;
	*id = api_identity_load(o->identity, o->pass_file);
	return *id != NULL ? 0 : -1;
}

int
tips_open_show(int argc, char **argv)
{
	struct open_opts o;
	struct api a;
	struct identity *id = NULL;
	json_t *meta = NULL, *doc = NULL, *quest = NULL;
	int rc = open_parse(argc, argv, show_usage, 0, &o);
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	if (open_both(&a, &o, &id) != 0 ||
	    tips_open_fetch_report(&a, id, o.id, &meta, &doc, NULL) != 0)
		goto out;
	if (o.as_json) {
		char *s = json_dumps(doc, JSON_INDENT(2));
		if (s == NULL)
			goto out;
		puts(s);
		secmem_free(s);
	} else {
		if (api_get_json(&a, "/api/v1/questionnaire", "the questionnaire", &quest) != 0)
			quest = NULL;
		tips_open_print_report(stdout, meta, doc, quest);
		if (tips_thread_show(&a, id, o.id, meta, doc) != 0)
			goto out;
		tips_open_mark_seen(&a, o.id, meta);
	}
	rc = CLI_OK;
out:
	json_decref(quest);
	json_decref(doc);
	json_decref(meta);
	identity_free(id);
	api_close(&a);
	return rc;
}

int
tips_open_fetch_attachment(struct api *a, const struct identity *id, const char *rid,
                           const struct report_att *att, struct buf *pt, size_t *off)
{
	char path[160], what[96];
	struct client_response r;
	int rc = -1;
	buf_init(&r.body, TIPS_ATTACH_MAX);
	snprintf(path, sizeof(path), "/api/v1/reports/%s/attachments/%s", rid, att->id);
	snprintf(what, sizeof(what), "attachment %s", att->id);
	if (api_call(a, "GET", path, NULL, &r, what) != 0 ||
	    open_blob(r.body.data, r.body.len, id, pt, what) != 0)
		goto out;
	int cr = report_attachment_check(pt->data, pt->len, att, rid, off);
	if (cr != REPORT_OK) {
		cli_error("refusing %s: %s", what, report_strerror(cr));
		goto out;
	}
	rc = 0;
out:
	buf_free(&r.body);
	return rc;
}

int
tips_open_get_one(struct api *a, const struct identity *id, const char *rid,
                  const struct report_att *att, int dirfd, const char *dir, struct buf *chosen_out)
{
	char what[96];
	struct buf pt, name, chosen;
	size_t off;
	int rc = -1;
	buf_init_secure(&pt, TIPS_ATTACH_MAX);
	buf_init(&name, 4096);
	buf_init(&chosen, 4096);
	snprintf(what, sizeof(what), "attachment %s", att->id);
	if (tips_open_fetch_attachment(a, id, rid, att, &pt, &off) != 0)
		goto out;
	if (report_sanitize_name(att->name, &name) != 0 || buf_cstr(&name) == NULL ||
	    report_write_unique(dirfd, buf_cstr(&name), pt.data + off, (size_t)att->size,
	                        &chosen) != 0) {
		cli_error("cannot write %s into %s: %s", what, dir, strerror(errno));
		goto out;
	}
	printf("%llu bytes, SHA-256 checked: %s/", (unsigned long long)att->size, dir);
	put_safe(stdout, buf_cstr(&chosen), "", 0);
	if (chosen_out != NULL && buf_adds(chosen_out, buf_cstr(&chosen)) != 0) {
		cli_error("%s was written as %s/%s, but its name is too long to list", what, dir,
		          buf_cstr(&chosen));
		goto out;
	}
	rc = 0;
out:
	buf_free(&pt);
	buf_free(&name);
	buf_free(&chosen);
	return rc;
}

/* Decrypt the files the source sent with its messages (listed in `meta`) of
 * report `rid` (decrypted document `doc`) into `dirfd`: each message must
 * carry the source's signature over its files first. Add the number of
 * files written to *n; return the number that failed. */
static int
get_message_files(struct api *a, const struct identity *id, const char *rid, json_t *meta,
                  json_t *doc, int dirfd, const char *dir, size_t *n)
{
	json_t *msgs = json_object_get(meta, "messages"), *o;
	size_t i;
	int failed = 0;
	json_array_foreach(msgs, i, o) {
		json_t *m = NULL;
		if (tips_thread_open_checked(o, "message", rid, id, NULL, doc, &m) != 0) {
			failed++;
			continue;
		}
		for (size_t k = 0; k < report_manifest_count(m); k++) {
			struct report_att att;
			if (report_manifest_get(m, k, &att) != REPORT_OK) {
				cli_error("refusing file %zu of message %s: malformed manifest entry", k + 1,
				          json_string_value(json_object_get(m, "id")));
				failed++;
				continue;
			}
			failed += tips_open_get_one(a, id, rid, &att, dirfd, dir, NULL) != 0;
			(*n)++;
		}
		json_decref(m);
	}
	return failed;
}

int
tips_open_get(int argc, char **argv)
{
	struct open_opts o;
	struct api a;
	struct identity *id = NULL;
	json_t *meta = NULL, *doc = NULL;
	int dirfd = -1, failed = 0;
	int rc = open_parse(argc, argv, get_usage, 1, &o);
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	if ((dirfd = open(o.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		cli_error("cannot open directory %s: %s", o.out, strerror(errno));
		goto out;
	}
	if (open_both(&a, &o, &id) != 0 ||
	    tips_open_fetch_report(&a, id, o.id, &meta, &doc, NULL) != 0)
		goto out;
	size_t n = report_manifest_count(doc);
	for (size_t i = 0; i < n; i++) {
		struct report_att att;
		if (report_manifest_get(doc, i, &att) != REPORT_OK) {
			cli_error("refusing attachment %zu of report %s: malformed manifest entry", i + 1,
			          o.id);
			failed++;
			continue;
		}
		failed += tips_open_get_one(&a, id, o.id, &att, dirfd, o.out, NULL) != 0;
	}
	failed += get_message_files(&a, id, o.id, meta, doc, dirfd, o.out, &n);
	if (n == 0 && failed == 0)
		printf("report %s has no attachments\n", o.id);
	rc = failed == 0 ? CLI_OK : CLI_ERR;
out:
	if (dirfd >= 0)
		close(dirfd);
	json_decref(doc);
	json_decref(meta);
	identity_free(id);
	api_close(&a);
	return rc;
}
