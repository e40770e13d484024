/* The inbox pages: the receipt, the replies, more information (text and
 * files), forget, close. The inbox itself (inbox.c) does the work, as for
 * the JSON API.
 *
 * Files sent with a message are sealed as they arrive, like a report's: the
 * inbox cookie names the report and team the receipt opened, so the files
 * go into a spool submission for that report, sealed to the team's keys,
 * before the inbox looks the receipt up again; the message joins them
 * there, or the submission is dropped and nothing is stored. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "inbox.h"
#include "inbox_open.h"
#include "l10n.h"
#include "multipart.h"
#include "pages_int.h"
#include "receipt.h"
#include "seal_file.h"
#include "spool.h"
#include "teams.h"
#include "util.h"
#include "websec.h"

#define COOKIE_NAME "tl_inbox"
#define FORM_MAX_BODY (INBOX_MAX_TEXT * 4 + 16384) /* but a message with files */
#define FORM_MAX_FIELDS 8

static const char CLEAR_COOKIE[] =
	"Set-Cookie: " COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\r\n";

enum ip_kind { IP_OPEN, IP_MESSAGE, IP_FORGET, IP_CLOSE };

struct inbox_post {
	const struct pages *pg;
	const struct l10n_lang *lang;
	struct http_request *req;
	enum ip_kind kind;
	struct multipart *mp;
	json_t *fields;   /* name -> string (secure through jansson's hooks) */
	struct buf field; /* secure */
	char name[MULTIPART_NAME_MAX];
	unsigned nfields;
	bool answered;
	struct db *db;            /* the request's loop's connection, for the inbox */
	/* a message's files */
	struct inbox_files files; /* the submission they are sealed into */
	struct seal_file *file;   /* the file being received */
	bool in_file;             /* the part is a file (or an empty file input) */
};

static void
ip_free(struct inbox_post *ip)
{
	if (ip == NULL)
		return;
	multipart_free(ip->mp);
	json_decref(ip->fields);
	buf_free(&ip->field);
	seal_file_free(ip->file);
	spool_abort(ip->files.txn);
	if (ip->files.keys != NULL)
		team_keys_release(ip->files.keys);
	json_decref(ip->files.manifest);
	free(ip);
}

/* Answer with the message page (once). */
static int
ip_message(struct inbox_post *ip, int status, const char *flag, const char *extra)
{
	if (!ip->answered) {
		ip->answered = true;
		pages_message(ip->req, ip->pg, ip->lang, status, flag, "inbox", extra);
	}
	return -1;
}

/* ---- the form's fields, then a message's files ---- */

static int cookie_open(const struct pages *pg, struct http_request *req, struct websec_inbox *out);
static int check_text(struct inbox_post *ip, const json_t *t, bool required);

/* Answer a failed spool or seal call (errno) with the message page. */
static int
ip_store_fail(struct inbox_post *ip)
{
	if (errno == ENOSPC || errno == EDQUOT)
		return ip_message(ip, 503, "busy", NULL);
	if (errno == EFBIG)
		return ip_message(ip, 413, "too_large", NULL);
	if (errno == ENAMETOOLONG)
		return ip_message(ip, 400, "broken", NULL);
	return ip_message(ip, 500, "failed", NULL);
}

/* The first file of a message: check the form before any work (its token,
 * then the text so far and the cookie), then begin the submission for the
 * report the cookie names, sealed to its team. 0, or -1 after answering. */
static int
ip_files_open(struct inbox_post *ip)
{
	struct app *app = ip->pg->app;
	struct websec_inbox ck;
	struct inbox_files *f = &ip->files;
	int rc = -1;
	if (pages_check_token(ip->pg, ip->fields, WEBSEC_FORM_INBOX_MESSAGE) != 0)
		return ip_message(ip, 403, "expired", NULL);
	if (check_text(ip, json_object_get(ip->fields, "text"), false) != 0)
		return -1;
	if (cookie_open(ip->pg, ip->req, &ck) != 0) {
		rc = ip_message(ip, 403, "closed", CLEAR_COOKIE);
		goto out;
	}
	if (app->draining || app->inbox == NULL ||
	    (f->keys = teams_find(app->teams, ck.team)) == NULL) {
		rc = ip_message(ip, 503, "busy", NULL);
		goto out;
	}
	snprintf(f->report, sizeof(f->report), "%s", ck.report);
	snprintf(f->team, sizeof(f->team), "%s", ck.team);
	util_today(f->date);
	if ((f->manifest = json_array()) == NULL) {
		rc = ip_message(ip, 500, "failed", NULL);
		goto out;
	}
	if ((f->txn = spool_begin(app->spool, f->report, f->team, f->date)) == NULL) {
		rc = ip_store_fail(ip);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(&ck, sizeof(ck));
	return rc;
}

/* A file part (`filename` given): an empty file input is skipped, a file is
 * sealed as it arrives. 0, or -1 after answering. */
static int
ip_file_begin(struct inbox_post *ip, const char *name, const char *filename, const char *ctype)
{
	ip->in_file = true;
	if (ip->kind != IP_MESSAGE || strcmp(name, "file") != 0)
		return ip_message(ip, 400, "broken", NULL);
	if (filename[0] == '\0')
		return 0; /* a form's empty file input: filename="" and no data */
	if (ip->files.txn == NULL && ip_files_open(ip) != 0)
		return -1;
	if (json_array_size(ip->files.manifest) >= INBOX_MAX_FILES)
		return ip_message(ip, 413, "too_large", NULL);
	ip->file = seal_file_begin(ip->files.txn, ip->files.report, &ip->files.keys->recipients,
	                           filename, ctype);
	return ip->file != NULL ? 0 : ip_store_fail(ip);
}

static int
ip_part_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct inbox_post *ip = arg;
	if (++ip->nfields > FORM_MAX_FIELDS + INBOX_MAX_FILES)
		return ip_message(ip, 400, "broken", NULL);
	if (filename != NULL)
		return ip_file_begin(ip, name, filename, ctype);
	ip->in_file = false;
	if (ip->files.txn != NULL || strlen(name) >= sizeof(ip->name))
		return ip_message(ip, 400, "broken", NULL); /* a field after the files */
	snprintf(ip->name, sizeof(ip->name), "%s", name);
	buf_reset(&ip->field);
	return 0;
}

static int
ip_part_data(void *arg, const uint8_t *p, size_t n)
{
	struct inbox_post *ip = arg;
	if (ip->file != NULL)
		return seal_file_write(ip->file, p, n) == 0 ? 0 : ip_store_fail(ip);
	if (ip->in_file)
		return n == 0 ? 0 : ip_message(ip, 400, "broken", NULL); /* data without a name */
	return buf_add(&ip->field, p, n) == 0 ? 0 : ip_message(ip, 413, "too_large", NULL);
}

static int
ip_part_end(void *arg)
{
	struct inbox_post *ip = arg;
	if (ip->file != NULL) {
		struct seal_file *f = ip->file;
		ip->file = NULL;
		return seal_file_finish(f, ip->files.manifest) == 0 ? 0 : ip_store_fail(ip);
	}
	if (ip->in_file)
		return 0;
	if (json_object_get(ip->fields, ip->name) != NULL)
		return ip_message(ip, 400, "broken", NULL); /* a field twice */
	json_t *v = json_stringn((const char *)ip->field.data, ip->field.len);
	buf_reset(&ip->field);
	/* json_object_set_new takes v even when it fails */
	if (v == NULL || json_object_set_new(ip->fields, ip->name, v) != 0)
		return ip_message(ip, 400, "broken", NULL);
	return 0;
}

static const struct multipart_callbacks ip_callbacks = {
	.on_part_begin = ip_part_begin,
	.on_part_data = ip_part_data,
	.on_part_end = ip_part_end,
};

/* ---- the inbox cookie ---- */

/* Find the inbox cookie in the request and open it into `out` (the caller
 * wipes it); 0 or -1. */
static int
cookie_open(const struct pages *pg, struct http_request *req, struct websec_inbox *out)
{
	const char *h = http_request_header(req, "Cookie");
	static const char key[] = COOKIE_NAME "=";
	while (h != NULL && *h != '\0') {
		while (*h == ' ' || *h == ';')
			h++;
		size_t n = strcspn(h, ";");
		if (n > sizeof(key) - 1 && memcmp(h, key, sizeof(key) - 1) == 0)
			return websec_cookie_open(pg->sec, h + sizeof(key) - 1,
			                          n - (sizeof(key) - 1), time(NULL), out);
		h += n;
	}
	return -1;
}

/* The Set-Cookie line opening the inbox of `receipt` (as typed), which
 * opened `report` of `team`: its lookup id, the seed of its message-signing
 * key and the report and team, sealed under the web key. */
static int
open_cookie(const struct pages *pg, const char *receipt, const char *report, const char *team,
            char *out, size_t outlen)
{
	char digits[RECEIPT_DIGITS], val[WEBSEC_COOKIE_STR];
	uint8_t spk[RECEIPT_SIGN_PK_LEN], ssk[RECEIPT_SIGN_SK_LEN];
	struct websec_inbox in;
	int rc = -1;
	memset(&in, 0, sizeof(in));
	/* libsodium's Ed25519 secret key is the seed followed by the public key. */
	if (report != NULL && team != NULL &&
	    receipt_normalize(receipt, strlen(receipt), digits) == RECEIPT_OK &&
	    receipt_lookup_id(pg->app->pepper, digits, in.id) == 0 &&
	    receipt_source_sign_key(pg->app->pepper, digits, spk, ssk) == 0 &&
	    snprintf(in.report, sizeof(in.report), "%s", report) == 36 &&
	    (size_t)snprintf(in.team, sizeof(in.team), "%s", team) < sizeof(in.team)) {
		memcpy(in.seed, ssk, sizeof(in.seed));
		if (websec_cookie_make(pg->sec, &in, pg->app->cfg->web_session_s, time(NULL), val) ==
		    0) {
			int n = snprintf(out, outlen,
			                 "Set-Cookie: " COOKIE_NAME
			                 "=%s; Path=/; HttpOnly; SameSite=Strict\r\n",
			                 val);
			rc = n > 0 && (size_t)n < outlen ? 0 : -1;
		}
	}
	sodium_memzero(digits, sizeof(digits));
	sodium_memzero(&in, sizeof(in));
	sodium_memzero(ssk, sizeof(ssk));
	sodium_memzero(val, sizeof(val));
	return rc;
}

/* ---- answers from the inbox ---- */

/* The days of the source's own messages ({"sent_on"}, oldest first) as the
 * page's list ({"date"}, newest first); NULL if out of memory. */
static json_t *
newest_first(const json_t *sent)
{
	json_t *out = json_array();
	for (size_t i = json_array_size(sent); out != NULL && i > 0; i--) {
		const json_t *d = json_object_get(json_array_get(sent, i - 1), "sent_on");
		if (!json_is_string(d) ||
		    json_array_append_new(out, json_pack("{s:O}", "date", d)) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* The inbox page: replies newest first, the days of the source's own
 * messages (marked as theirs: the page cannot open them), the forms, and
 * the cookie. */
static void
send_inbox(struct inbox_post *ip, const json_t *doc, const char *cookie)
{
	const struct pages *pg = ip->pg;
	json_t *ctx = pages_ctx(pg, ip->lang, "/inbox"), *replies = json_array();
	const json_t *in = json_object_get(doc, "replies");
	bool ok = ctx != NULL && replies != NULL;
	for (size_t i = json_array_size(in); ok && i > 0; i--) {
		const json_t *r = json_array_get(in, i - 1);
		ok = json_array_append_new(replies,
		                           json_pack("{s:O, s:O}", "date",
		                                     json_object_get(r, "sent_on"), "text",
		                                     json_object_get(r, "text"))) == 0;
	}
	ok = ok && json_object_set_new(ctx, "replies", replies) == 0;
	replies = NULL;
	ok = ok && json_object_set_new(ctx, "mine", newest_first(json_object_get(doc, "sent"))) == 0;
	ok = ok &&
		json_object_set_new(ctx, "pending",
	                            json_boolean(json_is_string(json_object_get(doc, "status")))) ==
			0 &&
		json_object_set_new(ctx, "max_message", json_integer(INBOX_MAX_TEXT)) == 0 &&
		json_object_set_new(ctx, "message_files", json_true()) == 0 &&
		pages_add_token(pg, ctx, "token_message", WEBSEC_FORM_INBOX_MESSAGE) == 0 &&
		pages_add_token(pg, ctx, "token_forget", WEBSEC_FORM_INBOX_FORGET) == 0 &&
		pages_add_token(pg, ctx, "token_close", WEBSEC_FORM_INBOX_CLOSE) == 0;
	json_decref(replies);
	if (!ok) {
		json_decref(ctx);
		ctx = NULL;
	}
	pages_send(ip->req, pg, ip->lang, 200, "inbox", ctx, cookie);
}

/* The receipt form again, with a fresh token and the problem `flag` named
 * next to the field (once). */
static void
ip_login_again(struct inbox_post *ip, int status, const char *flag)
{
	if (ip->answered)
		return;
	ip->answered = true;
	json_t *ctx = pages_ctx(ip->pg, ip->lang, "/inbox");
	if (ctx != NULL && (json_object_set_new(ctx, flag, json_true()) != 0 ||
	                    pages_add_token(ip->pg, ctx, "token", WEBSEC_FORM_INBOX_OPEN) != 0)) {
		json_decref(ctx);
		ctx = NULL;
	}
	pages_send(ip->req, ip->pg, ip->lang, status, "inbox_login", ctx, NULL);
}

/* The flag for an inbox failure answered with `status`. */
static const char *
fail_flag(enum ip_kind kind, int status)
{
	if (status == 400 || status == 404)
		return "not_found"; /* a typo, not a receipt, or unknown: one answer */
	if (status == 409)
		return kind == IP_FORGET ? "pending_forget" : "pending_full";
	return pages_status_flag(status);
}

static void
ip_view(void *arg, struct http_request *req, int status, const uint8_t *body, size_t len,
        const char *report, const char *team)
{
	struct inbox_post *ip = arg;
	char cookie[WEBSEC_COOKIE_STR + 96];
	ip->req = req;
	if (ip->kind == IP_OPEN && status == 200) {
		json_t *doc = json_loadb((const char *)body, len, 0, NULL);
		const char *receipt = json_string_value(json_object_get(ip->fields, "receipt"));
		if (doc != NULL && receipt != NULL &&
		    open_cookie(ip->pg, receipt, report, team, cookie, sizeof(cookie)) == 0)
			send_inbox(ip, doc, cookie);
		else
			ip_message(ip, 500, "failed", NULL);
		sodium_memzero(cookie, sizeof(cookie));
		json_decref(doc);
	} else if (ip->kind == IP_OPEN && (status == 400 || status == 404)) {
		ip_login_again(ip, 404, "not_found"); /* one answer for every wrong receipt */
	} else if (ip->kind == IP_MESSAGE && status == 201) {
		ip_message(ip, 200, "sent", NULL);
	} else if (ip->kind == IP_FORGET && status == 204) {
		ip_message(ip, 200, "forgotten", CLEAR_COOKIE);
	} else {
		ip_message(ip, status >= 400 ? status : 500, fail_flag(ip->kind, status), NULL);
	}
	ip->answered = true;
	ip_free(ip);
}

/* ---- the handler ---- */

/* A message's text: at most INBOX_MAX_TEXT bytes, no control characters
 * but tab and line breaks, and not blank if `required` (a message without
 * files). 0, or -1 after answering. */
static int
check_text(struct inbox_post *ip, const json_t *t, bool required)
{
	const char *s = json_string_value(t);
	size_t n = json_string_length(t);
	bool blank = true;
	if (s == NULL)
		return required ? ip_message(ip, 422, "empty", NULL) : 0;
	if (n > INBOX_MAX_TEXT)
		return ip_message(ip, 422, "too_long", NULL);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
			return ip_message(ip, 400, "broken", NULL);
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			blank = false;
	}
	return blank && required ? ip_message(ip, 422, "empty", NULL) : 0;
}

/* Whether form field `v` holds something other than spaces. */
static bool
has_text(const json_t *v)
{
	const char *s = json_string_value(v);
	return s != NULL && s[strspn(s, " \t\r\n")] != '\0';
}

/* Start the inbox's work for a complete, checked form; 0 or -1 (answered). */
static int
ip_start(struct inbox_post *ip)
{
	struct websec_inbox ck;
	const json_t *text = json_object_get(ip->fields, "text");
	bool files = json_array_size(ip->files.manifest) > 0;
	int rc;
	if (ip->kind == IP_CLOSE)
		return ip_message(ip, 200, "closed", CLEAR_COOKIE);
	if (ip->kind == IP_OPEN) {
		const json_t *receipt = json_object_get(ip->fields, "receipt");
		if (!has_text(receipt)) {
			ip_login_again(ip, 422, "no_receipt");
			return -1;
		}
		json_t *body = json_pack("{s:O}", "receipt", receipt);
		char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		if (s == NULL)
			return ip_message(ip, 500, "failed", NULL);
		rc = inbox_run_json(ip->req, ip->pg->app, ip->db, INBOX_OP_READ, (const uint8_t *)s,
		                    strlen(s), ip_view, ip);
		sodium_memzero(s, strlen(s));
		free(s);
		return rc == 0 ? 0 : ip_message(ip, 503, "busy", NULL);
	}
	if (cookie_open(ip->pg, ip->req, &ck) != 0) {
		sodium_memzero(&ck, sizeof(ck));
		return ip_message(ip, 403, "closed", CLEAR_COOKIE);
	}
	if (ip->kind == IP_MESSAGE && check_text(ip, text, !files) != 0) {
		sodium_memzero(&ck, sizeof(ck));
		return -1;
	}
	rc = inbox_run_id(ip->req, ip->pg->app, ip->db,
	                  ip->kind == IP_MESSAGE ? INBOX_OP_MESSAGE : INBOX_OP_FORGET, ck.id, ck.seed,
	                  text != NULL ? json_string_value(text) : "", json_string_length(text),
	                  files ? &ip->files : NULL, ip_view, ip);
	sodium_memzero(&ck, sizeof(ck));
	return rc == 0 ? 0 : ip_message(ip, 503, "busy", NULL);
}

static int
ip_on_body(struct http_request *req, const uint8_t *p, size_t n)
{
	struct inbox_post *ip = http_request_data(req);
	int r = multipart_feed(ip->mp, p, n);
	if (r == MULTIPART_OK)
		return 0;
	ip_message(ip, r == MULTIPART_ERR_LIMIT ? 413 : 400,
	           r == MULTIPART_ERR_LIMIT ? "too_large" : "broken", NULL);
	http_request_set_data(req, NULL);
	ip_free(ip);
	return -1;
}

static void
ip_on_complete(struct http_request *req)
{
	struct inbox_post *ip = http_request_data(req);
	static const enum websec_form kinds[] = { WEBSEC_FORM_INBOX_OPEN, WEBSEC_FORM_INBOX_MESSAGE,
		                                  WEBSEC_FORM_INBOX_FORGET,
		                                  WEBSEC_FORM_INBOX_CLOSE };
	http_request_set_data(req, NULL);
	if (multipart_finish(ip->mp) != MULTIPART_OK)
		ip_message(ip, 400, "broken", NULL);
	else if (pages_check_token(ip->pg, ip->fields, kinds[ip->kind]) != 0)
		ip_message(ip, 403, "expired", NULL);
	else if (ip_start(ip) == 0)
		return; /* ip_view answers and frees */
	ip_free(ip);
}

static void
ip_on_abort(struct http_request *req)
{
	struct inbox_post *ip = http_request_data(req);
	http_request_set_data(req, NULL);
	ip_free(ip);
}

static const struct http_handler ip_handler = {
	.on_body = ip_on_body,
	.on_complete = ip_on_complete,
	.on_abort = ip_on_abort,
};

const struct http_handler *
pages_inbox_post(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
                 const char *rest, struct db *db)
{
	static const char *const paths[] = { "", "/messages", "/forget", "/close" };
	const char *ct = http_request_header(req, "Content-Type");
	char boundary[128];
	struct inbox_post *ip = NULL;
	size_t k;
	for (k = 0; k < 4 && strcmp(rest, paths[k]) != 0; k++)
		;
	if (k == 4) {
		pages_message(req, pg, lang, 404, "missing", "", NULL);
		return NULL;
	}
	if (k != IP_MESSAGE && http_request_content_length(req) > FORM_MAX_BODY) {
		pages_message(req, pg, lang, 413, "too_large", "inbox", NULL);
		return NULL;
	}
	if (ct == NULL || multipart_boundary(ct, boundary, sizeof(boundary)) != 0) {
		/* not a form's multipart body (no boundary, url-encoded, none) */
		pages_message(req, pg, lang, 400, "broken", "inbox", NULL);
		return NULL;
	}
	if ((ip = calloc(1, sizeof(*ip))) == NULL) {
		pages_message(req, pg, lang, 500, "failed", "inbox", NULL);
		return NULL;
	}
	ip->pg = pg;
	ip->lang = lang;
	ip->req = req;
	ip->kind = (enum ip_kind)k;
	ip->db = db;
	buf_init_secure(&ip->field, INBOX_MAX_TEXT * 4);
	struct multipart_limits lim = { FORM_MAX_FIELDS + INBOX_MAX_FILES + 1, 0 };
	ip->fields = json_object();
	ip->mp = multipart_new(boundary, &lim, &ip_callbacks, ip);
	if (ip->fields == NULL || ip->mp == NULL) {
		ip_free(ip);
		pages_message(req, pg, lang, 500, "failed", "inbox", NULL);
		return NULL;
	}
	http_request_set_data(req, ip);
	return &ip_handler;
}
