/*
 * Every operation docs/openapi.yaml documents is served by a real tipd.
 *
 * The list of operations comes from tests/openapi/check_openapi.py
 * ("operations": METHOD PATH TAGS per line). Path parameters are filled with
 * real values: a report submitted with an attachment ({id}, {aid}) and the
 * harness's team ({team}). Each operation is sent to the listener of each of
 * its surface tags (source: the plain source listener; review: the TLS review
 * listener, with a live session) and must not answer 404 "no such resource"
 * or 405, nor fail to answer. The converse (every route in the code is
 * documented) is the ctest openapi/coverage, run by the same script.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "it_common.h"

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
};

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

/* Replace {id}, {aid} and {team} in `tmpl` by real values. */
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

/* Send `method` `path` to the source listener (review = 0) or the review one,
 * with an empty JSON object as the body if `body`. */
static int
send_to(int review, const char *method, const char *path, int body, const struct ids *ids,
        struct buf *resp)
{
	if (review)
		return th_review(&T, method, path, ids->token, body ? "{}" : NULL, resp);
	char url[512];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", T.source_port, path);
	char *with[] = { "-X", (char *)(uintptr_t)method, "-H", "Content-Type: application/json",
		         "--data-binary", "{}", url, NULL };
	char *without[] = { "-X", (char *)(uintptr_t)method, url, NULL };
	return th_curl(&T, body ? with : without, resp);
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


/* Probe one operation on each of its surfaces; return how many probes failed. */
static int
probe(const struct op *op, const struct ids *ids, int *probes)
{
	char path[512], why[300];
	int bad = 0;
	fill_path(op->path, ids, path, sizeof(path));
	for (int review = 0; review <= 1; review++) {
		if (strstr(op->tags, review ? "review" : "source") == NULL)
			continue;
		struct buf resp;
		buf_init(&resp, 1 << 24);
		int st = send_to(review, op->method, path, op->body, ids, &resp);
		(*probes)++;
		cr_log_info("%s %s on the %s listener: %d", op->method, op->path,
		            review ? "review" : "source", st);
		if (not_served(st, &resp, why, sizeof(why))) {
			cr_log_error("documented, not served: %s %s on the %s listener (%s)", op->method,
			             op->path, review ? "review" : "source", why);
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

	int bad = 0, probes = 0;
	/* Logout ends the session the others use: probe it last. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			int is_logout = strcmp(ops[i].path, "/api/v1/logout") == 0;
			if (is_logout == (pass == 1))
				bad += probe(&ops[i], &ids, &probes);
		}
	}
	cr_log_info("openapi: %zu operations, %d probes, %d not served", n, probes, bad);
	cr_assert_eq(bad, 0, "%d documented operation(s) are not served (see above)", bad);
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
