/*
 * Every operation docs/openapi.yaml documents is served by a real tipd.
 *
 * The list of operations comes from tests/openapi/check_openapi.py
 * ("operations": METHOD PATH TAGS per line). Path parameters are filled with
 * real values: a report submitted with an attachment ({id}, {aid}) and the
 * harness's team ({team}). Each operation is sent to every listener of each
 * of its surface tags (source: the plain and the TLS source listeners;
 * review: the TLS review listener, with a live session) and must not answer
 * 404 "no such resource" or 405, nor fail to answer. Where a valid request
 * body is easy to make (a report, a receipt, a login, a triage change) the
 * probe sends it, so the success answers are checked too; otherwise "{}".
 *
 * Every answer is then checked against the document by the same script
 * (check-responses): the status must be documented for the operation (never
 * a 500), the content type documented for that status, and a JSON body
 * valid against its schema. The converse (every route in the code is
 * documented) is the ctest openapi/coverage, run by the same script.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "age.h"
#include "identity.h"
#include "it_common.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(openapi, .init = setup, .fini = teardown, .timeout = 240);

#define MAX_OPS 128

struct op {
	char method[16];
	char path[256];
	char tags[64];
	int body; /* the operation documents a request body */
};

struct ids {
	char report[37];
	char attachment[37];
	char token[64];
	char receipt[64]; /* from the probe of POST /api/v1/reports */
	char admin_token[64];
	uint8_t sk[64];                   /* the investigator's Ed25519 key */
	uint8_t x25519[32];               /* …and X25519 public key */
	char rcpt[AGE_RECIPIENT_STR_MAX]; /* …as an age recipient */
};

/* The listeners a probe goes to. */
enum listener { L_SOURCE, L_SOURCE_TLS, L_REVIEW, N_LISTENERS };
static const char *const listener_names[N_LISTENERS] = { "source", "TLS source", "review" };

/* Read the documented operations through the checker script. */
static size_t
load_ops(struct op *ops)
{
	const char *src = getenv("TIPLINE_SOURCE_DIR");
	const char *py = getenv("TIPLINE_PYTHON");
	char script[TH_PATH], doc[TH_PATH];
	cr_assert_not_null(src, "TIPLINE_SOURCE_DIR is not set");
	snprintf(script, sizeof(script), "%s/tests/openapi/check_openapi.py", src);
	snprintf(doc, sizeof(doc), "%s/docs/openapi.yaml", src);
	char *argv[] = { (char *)(uintptr_t)(py != NULL && py[0] ? py : "python3"), script,
		         "operations", doc, NULL };
	struct buf out;
	buf_init(&out, 1 << 20);
	cr_assert_eq(th_run(argv, NULL, 0, &out), 0, "check_openapi.py operations failed");
	size_t n = 0;
	(void)buf_cstr(&out); /* NUL-terminates */
	static char none[1];
	char *line = out.data != NULL ? (char *)out.data : none;
	while (*line != '\0') {
		char *nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		cr_assert(n < MAX_OPS, "more than %d operations", MAX_OPS);
		cr_assert_eq(sscanf(line, "%15s %255s %63s %d", ops[n].method, ops[n].path, ops[n].tags,
		                    &ops[n].body),
		             4,
		             "bad operation line: %s", line);
		n++;
		line = nl != NULL ? nl + 1 : line + strlen(line);
	}
	buf_free(&out);
	return n;
}

/* Replace {id}, {aid}, {team}, {label} and {partner} in `tmpl` by real values. */
static void
fill_path(const char *tmpl, const struct ids *ids, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = tmpl; *p != '\0';) {
		const char *val = NULL;
		size_t skip = 1;
		if (*p == '{') {
			const char *end = strchr(p, '}');
			cr_assert_not_null(end, "unterminated parameter in %s", tmpl);
			size_t len = (size_t)(end - p - 1);
			if (len == 2 && strncmp(p + 1, "id", 2) == 0)
				val = ids->report;
			else if (len == 3 && strncmp(p + 1, "aid", 3) == 0)
				val = ids->attachment;
			else if (len == 4 && strncmp(p + 1, "team", 4) == 0)
				val = "demo";
			else if (len == 5 && strncmp(p + 1, "label", 5) == 0)
				val = "minor";
			else if (len == 7 && strncmp(p + 1, "partner", 7) == 0)
				val = "no-such-partner";
			cr_assert_not_null(val, "no value for path parameter %.*s in %s: teach "
			                   "tests/integration/test_openapi.c", (int)(len + 2), p, tmpl);
			skip = len + 2;
		}
		size_t vl = val != NULL ? strlen(val) : 1;
		cr_assert(o + vl < cap, "path too long");
		memcpy(out + o, val != NULL ? val : p, vl);
		o += vl;
		p += skip;
	}
	out[o] = '\0';
}

/* The "detail" of a problem+json answer, or "" (copied into `out`). */
static void
detail_of(const struct buf *resp, char *out, size_t cap)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, &e);
	const char *d = json_string_value(json_object_get(doc, "detail"));
	snprintf(out, cap, "%s", d != NULL ? d : "");
	json_decref(doc);
}

/* Send `method` `path` to listener `l` with `body` as application/json
 * (NULL: no body); the review listener with the session in `ids`. The body
 * of the answer goes into `resp` and the file `bodyfile`, its content type
 * into `ctype`. Return the HTTP status (0: no answer). */
static int
send_probe(enum listener l, const char *method, const char *path, const char *body,
           const struct ids *ids, const char *bodyfile, struct buf *resp, char *ctype, size_t cap)
{
	char url[600], crt[TH_PATH + 16], auth[128];
	char *argv[32];
	int n = 0;
	int port = l == L_SOURCE ? T.source_port : l == L_SOURCE_TLS ? T.source_tls_port
	                                                              : T.review_port;
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", l == L_SOURCE ? "http" : "https", port, path);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ids->token);
	const char *fixed[] = { "curl", "-s", "--max-time", "60", "--cacert", crt, "-o", bodyfile,
		                "-w", "%{http_code} %{content_type}", "-X", method };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[n++] = (char *)(uintptr_t)fixed[i];
	if (l == L_REVIEW && ids->token[0] != '\0') {
		argv[n++] = "-H";
		argv[n++] = auth;
	}
	if (body != NULL) {
		argv[n++] = "-H";
		argv[n++] = "Content-Type: application/json";
		argv[n++] = "--data-binary";
		argv[n++] = (char *)(uintptr_t)body;
	}
	argv[n++] = url;
	argv[n] = NULL;
	struct buf out;
	buf_init(&out, 1024);
	unlink(bodyfile);
	int rc = th_run(argv, NULL, 0, &out);
	int status = 0;
	ctype[0] = '\0';
	if (rc == 0) {
		const char *w = buf_cstr(&out);
		char *sp;
		status = (int)strtol(w, &sp, 10);
		snprintf(ctype, cap, "%s", *sp == ' ' ? sp + 1 : "");
	}
	buf_free(&out);
	size_t len;
	char *text = util_read_file(bodyfile, 1 << 24, &len);
	if (text == NULL) { /* no body: an empty file for the checker */
		int fd = open(bodyfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		cr_assert(fd >= 0);
		close(fd);
	}
	buf_reset(resp);
	if (text != NULL && buf_add(resp, text, len) != 0)
		status = 0;
	free(text);
	return status;
}

/* Send `method` `path` to the source listener (review = 0) or the review one,
 * with an empty JSON object as the body if `body`. */
static int
send_to(int review, const char *method, const char *path, int body, const struct ids *ids,
        struct buf *resp)
{
	char bodyfile[TH_PATH + 16], ctype[128];
	snprintf(bodyfile, sizeof(bodyfile), "%s/probe-body", T.dir);
	return send_probe(review ? L_REVIEW : L_SOURCE, method, path, body ? "{}" : NULL, ids,
	                  bodyfile, resp, ctype, sizeof(ctype));
}

/* Count an error answer that is not RFC 9457 problem+json with type, title,
 * status (equal to the HTTP status) and detail; return 1 if it is not. */
static int
bad_problem(int status, const struct buf *resp)
{
	json_error_t e;
	if (status < 400)
		return 0;
	json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, &e);
	int ok = json_is_string(json_object_get(doc, "type")) &&
	         json_is_string(json_object_get(doc, "title")) &&
	         json_integer_value(json_object_get(doc, "status")) == status &&
	         json_is_string(json_object_get(doc, "detail"));
	json_decref(doc);
	return !ok;
}

/* Return 1 if the answer says the operation is not served. */
static int
not_served(int status, const struct buf *resp, char *why, size_t cap)
{
	char detail[256];
	detail_of(resp, detail, sizeof(detail));
	if (status == 0 || status == 405 ||
	    (status == 404 && strcmp(detail, "no such resource") == 0)) {
		snprintf(why, cap, "%d %s", status, detail);
		return 1;
	}
	return 0;
}


/* A valid body for an admin operation, sent with the admin's session. */
static char *
admin_body_for(const struct op *op)
{
	if (strcmp(op->path, "/api/v1/admin/invites") == 0)
		return strdup("{\"name\":\"probe\",\"teams\":[\"demo\"]}");
	if (strcmp(op->path, "/api/v1/admin/labels") == 0)
		return strdup("{\"name\":\"probe-label\"}");
	if (strcmp(op->path, "/api/v1/admin/teams/{team}/membership") == 0) {
		/* demo's first statement again: a documented 409 (not the next one) */
		char path[TH_PATH + 32];
		size_t len;
		snprintf(path, sizeof(path), "%s/membership-1.txt", T.dir);
		char *text = util_read_file(path, 1 << 16, &len);
		cr_assert_not_null(text);
		json_t *o = json_pack("{s:s%}", "statement", text, len);
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		free(text);
		return s;
	}
	return strdup("{}");
}

/* A valid request body for the operations where one is easy to make (caller
 * frees); "{}" for the others, NULL when the operation takes none. With
 * `admin`, the body an admin would send. */
static char *
body_for(const struct op *op, const struct ids *ids, int admin)
{
	char tmp[1024];
	if (!op->body)
		return NULL;
	if (admin)
		return admin_body_for(op);
	if (strcmp(op->method, "POST") == 0 && strcmp(op->path, "/api/v1/reports") == 0)
		return strdup("{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}");
	if (strcmp(op->method, "POST") == 0 && strcmp(op->path, "/api/v1/inbox/messages") == 0 &&
	    ids->receipt[0] != '\0') {
		snprintf(tmp, sizeof(tmp), "{\"receipt\":\"%s\",\"text\":\"A question.\"}", ids->receipt);
		return strdup(tmp);
	}
	if (strcmp(op->method, "POST") == 0 && strncmp(op->path, "/api/v1/inbox", 13) == 0 &&
	    ids->receipt[0] != '\0') {
		snprintf(tmp, sizeof(tmp), "{\"receipt\":\"%s\"}", ids->receipt);
		return strdup(tmp);
	}
	if (strcmp(op->method, "PATCH") == 0 && strcmp(op->path, "/api/v1/reports/{id}") == 0)
		return strdup("{\"priority\":\"high\"}");
	if (strcmp(op->path, "/api/v1/reports/{id}/notes") == 0)
		return it_sealed_body(ids->report, "note", ids->sk, ids->rcpt, ids->x25519);
	if (strcmp(op->path, "/api/v1/reports/{id}/replies") == 0) /* signature does not verify */
		return it_sealed_body(ids->report, "reply", NULL, ids->rcpt, ids->x25519);
	if (strcmp(op->path, "/api/v1/reports/{id}/headers") == 0)
		return it_headers_body(ids->report, ids->rcpt, ids->x25519);
	if (strcmp(op->method, "POST") == 0 && strcmp(op->path, "/api/v1/login") == 0) {
		struct identity *id = NULL;
		char nonce[64], pin[65];
		struct buf b;
		cr_assert_eq(identity_load(T.identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id),
		             IDENTITY_OK);
		th_review_nonce(&T, nonce);
		th_tls_key_hex(&T, pin);
		buf_init(&b, 4096);
		th_login_body(identity_ed25519_sk(id), identity_ed25519_pk(id), TH_REVIEW_ORIGIN, pin,
		              nonce, (long long)time(NULL), &b);
		identity_free(id);
		char *s = strdup(buf_cstr(&b));
		buf_free(&b);
		return s;
	}
	return strdup("{}");
}

/* Keep the first receipt a report submission answered (for the inbox probes). */
static void
keep_receipt(const struct op *op, int st, const struct buf *resp, struct ids *ids)
{
	json_error_t e;
	if (st != 201 || ids->receipt[0] != '\0' || strcmp(op->path, "/api/v1/reports") != 0)
		return;
	json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, &e);
	const char *r = json_string_value(json_object_get(doc, "receipt"));
	if (r != NULL)
		snprintf(ids->receipt, sizeof(ids->receipt), "%s", r);
	json_decref(doc);
}

/* Probe one operation on every listener of each of its surfaces; each answer
 * is kept as a file and a line in `manifest` for check-responses. Return
 * how many probes failed here. */
static int
probe(const struct op *op, struct ids *ids, int *probes, FILE *manifest)
{
	/* Queries that make the audit reads answer 200 (the log has entries by now). */
	static const char *const queries[][2] = {
		{ "/api/v1/audit/leaves", "?start=0&end=1" },
		{ "/api/v1/audit/entries", "?start=0&end=1" },
		{ "/api/v1/audit/proof/inclusion", "?index=0&size=1" },
		{ "/api/v1/audit/proof/consistency", "?old=1&new=1" },
	};
	char path[512], why[300], bodyfile[TH_PATH + 32], ctype[128];
	int bad = 0;
	fill_path(op->path, ids, path, sizeof(path));
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		size_t pl = strlen(path), ql = strlen(queries[q][1]);
		if (strcmp(op->path, queries[q][0]) == 0 && pl + ql < sizeof(path))
			memcpy(path + pl, queries[q][1], ql + 1);
	}
	/* The admin operations go to the review listener twice: as the
	 * investigator (refused) and as an admin (their success answers). */
	int as_admin_too = strncmp(op->path, "/api/v1/admin/", 14) == 0;
	for (int l = 0; l < N_LISTENERS + as_admin_too; l++) {
		int admin = l == N_LISTENERS;
		enum listener to = admin ? L_REVIEW : (enum listener)l;
		if (strstr(op->tags, to == L_REVIEW ? "review" : "source") == NULL)
			continue;
		struct ids who = *ids;
		if (admin)
			memcpy(who.token, ids->admin_token, sizeof(who.token));
		struct buf resp;
		buf_init(&resp, 1 << 24);
		char *body = body_for(op, ids, admin);
		snprintf(bodyfile, sizeof(bodyfile), "%s/probe-%03d", T.dir, *probes);
		int st = send_probe(to, op->method, path, body, &who, bodyfile, &resp, ctype,
		                    sizeof(ctype));
		free(body);
		(*probes)++;
		cr_log_info("%s %s on the %s listener%s: %d %s", op->method, op->path,
		            listener_names[to], admin ? " as admin" : "", st, ctype);
		keep_receipt(op, st, &resp, ids);
		fprintf(manifest, "%s\t%s\t%d\t%s\t%s\t%s %s on the %s listener%s\n", op->method,
		        op->path, st, ctype, bodyfile, op->method, op->path, listener_names[to],
		        admin ? " as admin" : "");
		if (not_served(st, &resp, why, sizeof(why))) {
			cr_log_error("documented, not served: %s %s on the %s listener (%s)", op->method,
			             op->path, listener_names[to], why);
			bad++;
		}
		if (bad_problem(st, &resp)) {
			cr_log_error("%s %s answered %d without a problem+json body: %s", op->method,
			             op->path, st, buf_cstr(&resp));
			bad++;
		}
		buf_free(&resp);
	}
	return bad;
}

/* Run check_openapi.py check-responses on `manifest`; return how many
 * answers it found wrong (each logged). */
static int
check_answers(const char *manifest)
{
	const char *src = getenv("TIPLINE_SOURCE_DIR");
	const char *py = getenv("TIPLINE_PYTHON");
	char script[TH_PATH], doc[TH_PATH];
	snprintf(script, sizeof(script), "%s/tests/openapi/check_openapi.py", src);
	snprintf(doc, sizeof(doc), "%s/docs/openapi.yaml", src);
	char *argv[] = { (char *)(uintptr_t)(py != NULL && py[0] ? py : "python3"), script,
		         "check-responses", doc, (char *)(uintptr_t)manifest, NULL };
	struct buf out;
	buf_init(&out, 1 << 20);
	int rc = th_run(argv, NULL, 0, &out);
	int bad = 0;
	for (char *line = (char *)(uintptr_t)buf_cstr(&out), *nl; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		if (strncmp(line, "FAIL: ", 6) == 0) {
			cr_log_error("undocumented answer: %s", line + 6);
			bad++;
		} else {
			cr_log_info("%s", line);
		}
	}
	buf_free(&out);
	cr_assert(rc == 0 || bad > 0, "check_openapi.py check-responses failed (%d)", rc);
	return bad;
}

Test(openapi, every_documented_operation_is_served)
{
	static struct op ops[MAX_OPS];
	struct ids ids;
	memset(&ids, 0, sizeof(ids));
	th_start(&T);
	size_t n = load_ops(ops);
	cr_assert(n >= 10, "only %zu documented operations", n);
	it_submit_with_attachment(&T, ids.report, ids.attachment);
	cr_assert_eq(th_review_login(&T, T.identity, ids.token), 200, "login failed");
	it_admin_login(&T, ids.admin_token);
	struct identity *alice = NULL;
	cr_assert_eq(identity_load(T.identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &alice),
	             IDENTITY_OK);
	memcpy(ids.sk, identity_ed25519_sk(alice), sizeof(ids.sk));
	memcpy(ids.x25519, identity_x25519_pk(alice), sizeof(ids.x25519));
	snprintf(ids.rcpt, sizeof(ids.rcpt), "%s", identity_recipient(alice));
	identity_free(alice);

	char manifest_path[TH_PATH + 16];
	snprintf(manifest_path, sizeof(manifest_path), "%s/answers.tsv", T.dir);
	FILE *manifest = fopen(manifest_path, "w");
	cr_assert_not_null(manifest);
	int bad = 0, probes = 0;
	/* Logout ends the session the others use: probe it last. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			int is_logout = strcmp(ops[i].path, "/api/v1/logout") == 0;
			if (is_logout == (pass == 1))
				bad += probe(&ops[i], &ids, &probes, manifest);
		}
	}
	cr_assert_eq(fclose(manifest), 0);
	cr_assert(ids.receipt[0] != '\0', "no report submission answered a receipt");
	int undocumented = check_answers(manifest_path);
	cr_log_info("openapi: %zu operations, %d probes, %d not served, %d undocumented answers", n,
	            probes, bad, undocumented);
	cr_assert_eq(bad, 0, "%d documented operation(s) are not served (see above)", bad);
	cr_assert_eq(undocumented, 0, "%d answer(s) do not match the document (see above)",
	             undocumented);
	sodium_memzero(ids.sk, sizeof(ids.sk));
}

Test(openapi, the_probe_recognises_an_unserved_operation)
{
	/* The negative control: an undocumented path on each surface must be
	 * what the probe calls "not served", or the test above proves nothing. */
	struct ids ids;
	char why[300];
	memset(&ids, 0, sizeof(ids));
	th_start(&T);
	cr_assert_eq(th_review_login(&T, T.identity, ids.token), 200, "login failed");
	const char *paths[] = { "/api/v1/no-such-route", "/api/v1/reports/not-a-uuid/replies" };
	for (int review = 0; review <= 1; review++) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			struct buf resp;
			buf_init(&resp, 1 << 16);
			int st = send_to(review, review ? "GET" : "POST", paths[i], !review, &ids, &resp);
			cr_assert(not_served(st, &resp, why, sizeof(why)),
			          "%s on the %s listener answered %d %s", paths[i],
			          review ? "review" : "source", st, buf_cstr(&resp));
			buf_free(&resp);
		}
	}
	/* A wrong method on a source route answers 405, which counts as not served. */
	struct buf resp;
	buf_init(&resp, 1 << 16);
	int st = send_to(0, "GET", "/api/v1/reports", 0, &ids, &resp);
	cr_assert_eq(st, 405, "GET /api/v1/reports on the source listener answered %d", st);
	cr_assert(not_served(st, &resp, why, sizeof(why)));
	buf_free(&resp);
}
