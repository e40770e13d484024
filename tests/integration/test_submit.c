/*
 * A report travels sealed from a source to PostgreSQL: submit over the plain
 * source listener and over TLS, as JSON and as multipart with attachments;
 * wait for the flush; decrypt what PostgreSQL holds with Debian's `age -d`
 * and the demo identity, and compare it with what was sent.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "it_common.h"
#include "pad.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(submit, .init = setup, .fini = teardown, .timeout = 120);

static void
check_round_trip(int tls)
{
	struct buf resp;
	char id[37];
	buf_init(&resp, 1 << 16);
	const char *body = "{\"team\":\"demo\",\"language\":\"fa\",\"answers\":" IT_ANSWERS "}";
	cr_assert_eq(it_post_json(&T, tls, body, &resp), 201, "answer: %s", buf_cstr(&resp));
	it_assert_receipt(&resp);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1, "the report did not reach PostgreSQL");
	cr_assert_eq(th_wait_spool(&T, ".rep", 0, 5000), 0, "the flushed report is still in the spool");
	it_only_report(&T, id);

	json_t *doc = it_open_report(&T, id);
	json_error_t e;
	json_t *sent = json_loads(IT_ANSWERS, 0, &e);
	cr_assert(json_equal(json_object_get(doc, "answers"), sent), "answers differ");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "language")), "fa");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "team")), "demo");
	cr_assert_eq(json_array_size(json_object_get(doc, "attachments")), 0);
	char today[11];
	util_today(today);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "received_on")), today);
	json_decref(sent);
	json_decref(doc);
	buf_free(&resp);
}

Test(submit, json_over_plain_source_listener_decrypts_with_age)
{
	check_round_trip(0);
}

Test(submit, json_over_tls_decrypts_with_age)
{
	check_round_trip(1);
}

static void
write_random_file(const char *path, size_t n, uint8_t *copy)
{
	randombytes_buf(copy, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert(util_write_all(fd, copy, n) == 0);
	close(fd);
}

/* Decrypt attachment `aid` and check it against `want` (n bytes). */
static void
check_attachment(const char *aid, const char *rid, const uint8_t *want, size_t n)
{
	struct buf pt;
	char line[128];
	buf_init(&pt, 1 << 26);
	cr_assert_eq(th_age_decrypt(&T, aid, 1, &pt), 0, "age -d failed on attachment");
	int ln = snprintf(line, sizeof(line), "tipline/v1 attachment %s %s\n", aid, rid);
	cr_assert(memcmp(pt.data, line, (size_t)ln) == 0, "attachment context line is wrong");
	cr_assert_eq(pt.len, (size_t)ln + pad_padme(n), "attachment not padded to its Padmé size");
	cr_assert(memcmp(pt.data + ln, want, n) == 0, "attachment bytes differ");
	for (size_t i = (size_t)ln + n; i < pt.len; i++)
		cr_assert_eq(pt.data[i], 0, "padding is not zero bytes");
	buf_free(&pt);
}

Test(submit, multipart_with_attachments_over_tls)
{
	enum { BIG = 3 * 65536 + 1234, SMALL = 17 };
	static uint8_t big[BIG], small[SMALL];
	char pbig[TH_PATH], psmall[TH_PATH], preport[TH_PATH], url[128], crt[TH_PATH];
	char fbig[TH_PATH + 8], fsmall[TH_PATH + 64], freport[TH_PATH + 32], id[37];
	snprintf(pbig, sizeof(pbig), "%s/photo.jpg", T.dir);
	snprintf(psmall, sizeof(psmall), "%s/note.txt", T.dir);
	snprintf(preport, sizeof(preport), "%s/report.json", T.dir);
	write_random_file(pbig, BIG, big);
	write_random_file(psmall, SMALL, small);
	FILE *f = fopen(preport, "w");
	fprintf(f, "{\"team\":\"demo\",\"language\":\"ar\",\"answers\":%s}", IT_ANSWERS);
	fclose(f);
	snprintf(fbig, sizeof(fbig), "file=@%s", pbig);
	snprintf(fsmall, sizeof(fsmall), "file=@%s;filename=../../etc/ملاحظة.txt", psmall);
	snprintf(freport, sizeof(freport), "report=<%s;type=application/json", preport);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/reports", T.source_tls_port);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	char *args[] = { "--cacert", crt, "-F", freport, "-F", fbig, "-F", fsmall, url, NULL };
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(th_curl(&T, args, &resp), 201, "answer: %s", buf_cstr(&resp));
	it_assert_receipt(&resp);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	it_only_report(&T, id);

	json_t *doc = it_open_report(&T, id);
	json_t *atts = json_object_get(doc, "attachments");
	cr_assert_eq(json_array_size(atts), 2);
	const uint8_t *want[2] = { big, small };
	const size_t wlen[2] = { BIG, SMALL };
	for (size_t i = 0; i < 2; i++) {
		json_t *a = json_array_get(atts, i);
		uint8_t digest[32];
		char hex[65];
		crypto_hash_sha256(digest, want[i], wlen[i]);
		util_hex(digest, 32, hex);
		cr_assert_eq(json_integer_value(json_object_get(a, "size")), (json_int_t)wlen[i]);
		cr_assert_str_eq(json_string_value(json_object_get(a, "sha256")), hex);
		check_attachment(json_string_value(json_object_get(a, "uuid")), id, want[i], wlen[i]);
	}
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(atts, 0), "name")),
	                 "photo.jpg");
	cr_assert_eq(th_count(&T, "select count(*) from attachments"), 2);
	json_decref(doc);
	buf_free(&resp);
}

Test(submit, every_listener_answers_healthz_with_security_headers)
{
	char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(th_raw(T.source_port, req, strlen(req), 5000, &resp), 200);
	const char *text = buf_cstr(&resp);
	cr_assert(strstr(text, "Content-Security-Policy: default-src 'none'") != NULL);
	cr_assert(strstr(text, "Referrer-Policy: no-referrer") != NULL);
	cr_assert(strstr(text, "X-Content-Type-Options: nosniff") != NULL);
	cr_assert(strstr(text, "Cache-Control: no-store") != NULL);
	cr_assert(strstr(text, "Server:") == NULL);
	cr_assert(strstr(text, "Strict-Transport-Security") == NULL, "HSTS on plain HTTP");

	char url[128], crt[TH_PATH];
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", T.review_port);
	char *args[] = { "--cacert", crt, url, NULL };
	cr_assert_eq(th_curl(&T, args, NULL), 200);
	buf_free(&resp);
}

Test(submit, review_listener_does_not_take_reports)
{
	char url[128], crt[TH_PATH];
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/reports", T.review_port);
	char *args[] = { "--cacert", crt, "-H", "Content-Type: application/json", "--data-binary",
		         "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}", url, NULL };
	cr_assert_eq(th_curl(&T, args, NULL), 404);
	it_assert_nothing_stored(&T);
}
