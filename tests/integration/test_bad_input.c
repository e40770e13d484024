/*
 * Bad input of every kind gets a clear 4xx and stores nothing: each test
 * checks the status, that the answer is problem+json where there is one, and
 * that neither the spool nor PostgreSQL holds anything afterwards.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
	snprintf(T.extra_conf, sizeof(T.extra_conf),
	         "max_body_mb = 1\nmax_header_bytes = 8192\nmax_headers = 50\n"
	         "head_timeout_ms = 1000\nbody_idle_timeout_ms = 1000\n");
	th_write_conf(&T);
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(bad_input, .init = setup, .fini = teardown, .timeout = 120);

/* POST `body` with `ctype` over the plain listener; check status and problem. */
static void
expect(const char *ctype, const char *body, int status, const char *detail)
{
	char url[128], hdr[256], path[TH_PATH], data[TH_PATH + 8];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", T.source_port);
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
	/* Through a file: one argument may not exceed 128 KiB. */
	snprintf(path, sizeof(path), "%s/body", T.dir);
	FILE *f = fopen(path, "w");
	cr_assert(f != NULL && fwrite(body, 1, strlen(body), f) == strlen(body));
	fclose(f);
	snprintf(data, sizeof(data), "@%s", path);
	char *args[] = { "-H", hdr, "--data-binary", data, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), status, "answer: %s", buf_cstr(&resp));
	json_error_t e;
	json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
	cr_assert(doc != NULL, "the error is not JSON: %s", buf_cstr(&resp));
	cr_assert_eq(json_integer_value(json_object_get(doc, "status")), status);
	const char *d = json_string_value(json_object_get(doc, "detail"));
	cr_assert(d != NULL);
	if (detail != NULL)
		cr_assert(strstr(d, detail) != NULL, "detail \"%s\" lacks \"%s\"", d, detail);
	json_decref(doc);
	buf_free(&resp);
	it_assert_nothing_stored(&T);
}

#define REPORT(team, answers) "{\"team\":\"" team "\",\"language\":\"en\",\"answers\":" answers "}"

Test(bad_input, malformed_json)
{
	expect("application/json", "{\"team\":\"demo\",", 400, NULL);
}

Test(bad_input, json_that_is_not_a_report)
{
	expect("application/json", "[1,2,3]", 400, NULL);
	expect("application/json", "{\"team\":\"demo\",\"language\":\"en\",\"answers\":{},\"x\":1}",
	       400, NULL);
}

Test(bad_input, wrong_content_type)
{
	expect("text/plain", REPORT("demo", IT_ANSWERS), 415, NULL);
}

Test(bad_input, unknown_team)
{
	expect("application/json", REPORT("nosuchteam", IT_ANSWERS), 422, "unknown team");
}

Test(bad_input, missing_required_answer_names_the_question)
{
	expect("application/json", REPORT("demo", "{\"where\":\"here\"}"), 422, "what_happened");
}

Test(bad_input, unknown_question)
{
	expect("application/json",
	       REPORT("demo", "{\"what_happened\":\"x\",\"exploitation\":[\"labour\"],"
	                      "\"affected_person\":\"me\",\"safe_now\":\"no\",\"favourite_colour\":\"red\"}"),
	       422, "favourite_colour");
}

Test(bad_input, wrong_answer_type)
{
	expect("application/json",
	       REPORT("demo", "{\"what_happened\":42,\"exploitation\":[\"labour\"],"
	                      "\"affected_person\":\"me\",\"safe_now\":\"no\"}"),
	       422, "what_happened");
	expect("application/json",
	       REPORT("demo", "{\"what_happened\":\"x\",\"exploitation\":[\"nonsense\"],"
	                      "\"affected_person\":\"me\",\"safe_now\":\"no\"}"),
	       422, "exploitation");
}

Test(bad_input, report_json_over_its_limit)
{
	static char body[300 * 1024];
	int n = snprintf(body, sizeof(body), "{\"team\":\"demo\",\"language\":\"en\",\"answers\":"
	                                     "{\"what_happened\":\"");
	memset(body + n, 'a', sizeof(body) - (size_t)n - 8);
	memcpy(body + sizeof(body) - 8, "\"}}", 4);
	expect("application/json", body, 413, NULL);
}

/* Send raw bytes; return the status of the answer (0 if none). */
static int
raw(const char *req, size_t len, struct buf *resp)
{
	return th_raw(T.source_port, req, len, 5000, resp);
}

Test(bad_input, declared_body_over_the_limit_gets_413_before_upload)
{
	const char req[] = "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
	                   "Content-Type: multipart/form-data; boundary=XyZ\r\n"
	                   "Content-Length: 5000000\r\n\r\n";
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(raw(req, sizeof(req) - 1, &resp), 413, "%s", buf_cstr(&resp));
	buf_free(&resp);
	it_assert_nothing_stored(&T);
}

Test(bad_input, streamed_body_over_the_limit_gets_413)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	                 "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
	                 "Content-Type: multipart/form-data; boundary=XyZ\r\n"
	                 "Transfer-Encoding: chunked\r\n\r\n");
	int fd = th_connect(T.source_port);
	cr_assert(util_write_all(fd, head, (size_t)n) == 0);
	const char part[] = "--XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n"
	                    REPORT("demo", IT_ANSWERS)
	                    "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	                    "filename=\"a.bin\"\r\n\r\n";
	char chunk[80];
	n = snprintf(chunk, sizeof(chunk), "%zx\r\n", sizeof(part) - 1);
	(void)util_write_all(fd, chunk, (size_t)n);
	(void)util_write_all(fd, part, sizeof(part) - 1);
	(void)util_write_all(fd, "\r\n", 2);
	static char data[65536];
	memset(data, 'z', sizeof(data));
	for (int i = 0; i < 40; i++) { /* 2.5 MB > 1 MB */
		n = snprintf(chunk, sizeof(chunk), "%zx\r\n", sizeof(data));
		if (util_write_all(fd, chunk, (size_t)n) != 0 ||
		    util_write_all(fd, data, sizeof(data)) != 0 || util_write_all(fd, "\r\n", 2) != 0)
			break; /* the server closed after answering */
	}
	char ans[4096] = "";
	struct pollfd p = { .fd = fd, .events = POLLIN };
	cr_assert(poll(&p, 1, 5000) == 1);
	ssize_t r = read(fd, ans, sizeof(ans) - 1);
	cr_assert(r > 12, "no answer");
	cr_assert(strncmp(ans, "HTTP/1.1 413", 12) == 0, "%s", ans);
	close(fd);
	it_assert_nothing_stored(&T);
}

Test(bad_input, too_many_headers_gets_431)
{
	struct buf req, resp;
	buf_init(&req, 1 << 20);
	buf_init(&resp, 1 << 16);
	cr_assert(buf_adds(&req, "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n") == 0);
	for (int i = 0; i < 80; i++)
		cr_assert(buf_printf(&req, "X-Filler-%d: %d\r\n", i, i) == 0);
	cr_assert(buf_adds(&req, "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}") == 0);
	cr_assert_eq(raw((const char *)req.data, req.len, &resp), 431, "%s", buf_cstr(&resp));
	buf_free(&req);
	buf_free(&resp);
	it_assert_nothing_stored(&T);
}

Test(bad_input, too_large_header_gets_431)
{
	struct buf req, resp;
	buf_init(&req, 1 << 20);
	buf_init(&resp, 1 << 16);
	cr_assert(buf_adds(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ") == 0);
	cr_assert(buf_fill(&req, 'b', 20000) == 0);
	cr_assert(buf_adds(&req, "\r\n\r\n") == 0);
	cr_assert_eq(raw((const char *)req.data, req.len, &resp), 431, "%s", buf_cstr(&resp));
	buf_free(&req);
	buf_free(&resp);
}

Test(bad_input, trickling_request_head_is_cut_off)
{
	const char head[] = "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
	int fd = th_connect(T.source_port);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int closed = 0;
	for (size_t i = 0; i < sizeof(head) - 1; i++) {
		if (write(fd, head + i, 1) != 1) {
			closed = 1;
			break;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 250) == 1) {
			char c;
			if (read(fd, &c, 1) <= 0) {
				closed = 1;
				break;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert(closed, "the connection stayed open for a head trickling in over %.1f s", secs);
	cr_assert(secs < 3.0, "closed only after %.1f s (deadline 1 s)", secs);
	close(fd);
	it_assert_nothing_stored(&T);
}

Test(bad_input, truncated_multipart_body_gets_400)
{
	const char body[] = "--XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n"
	                    REPORT("demo", IT_ANSWERS)
	                    "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	                    "filename=\"a.bin\"\r\n\r\nsome bytes but no closing delimiter";
	char req[4096];
	int n = snprintf(req, sizeof(req),
	                 "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	                 "Content-Type: multipart/form-data; boundary=XyZ\r\n"
	                 "Content-Length: %zu\r\n\r\n%s", sizeof(body) - 1, body);
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(raw(req, (size_t)n, &resp), 400, "%s", buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "application/problem+json") != NULL);
	buf_free(&resp);
	it_assert_nothing_stored(&T);
}

Test(bad_input, file_before_report_gets_400)
{
	const char body[] = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	                    "filename=\"a.bin\"\r\n\r\nbytes\r\n"
	                    "--XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n"
	                    REPORT("demo", IT_ANSWERS) "\r\n--XyZ--\r\n";
	char req[4096];
	int n = snprintf(req, sizeof(req),
	                 "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	                 "Content-Type: multipart/form-data; boundary=XyZ\r\n"
	                 "Content-Length: %zu\r\n\r\n%s", sizeof(body) - 1, body);
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(raw(req, (size_t)n, &resp), 400, "%s", buf_cstr(&resp));
	buf_free(&resp);
	it_assert_nothing_stored(&T);
}

Test(bad_input, garbage_request_line_gets_400)
{
	const char req[] = "HELLO THERE\r\n\r\n";
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(raw(req, sizeof(req) - 1, &resp), 400);
	buf_free(&resp);
}
