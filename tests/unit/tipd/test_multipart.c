/* Tests for multipart: the streaming multipart/form-data parser. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

/* What the callbacks saw, as one transcript: "[name|filename|ctype]" at a
 * part's start ("-" for NULL), its data bytes, "<END>" at its end. */
struct rec {
	char log[1 << 16];
	size_t len;
	unsigned begins, ends;
	bool overflow;
	int fail_begin;     /* fail the n-th begin (1-based), 0: never */
	int fail_data;      /* fail the n-th data call */
	int data_calls;
};

static void
rec_add(struct rec *r, const void *p, size_t n)
{
	if (n > sizeof(r->log) - r->len) {
		r->overflow = true;
		return;
	}
	memcpy(r->log + r->len, p, n);
	r->len += n;
}

static int
on_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct rec *r = arg;
	r->begins++;
	rec_add(r, "[", 1);
	rec_add(r, name, strlen(name));
	rec_add(r, "|", 1);
	rec_add(r, filename ? filename : "-", strlen(filename ? filename : "-"));
	rec_add(r, "|", 1);
	rec_add(r, ctype ? ctype : "-", strlen(ctype ? ctype : "-"));
	rec_add(r, "]", 1);
	return r->fail_begin != 0 && (int)r->begins == r->fail_begin ? -1 : 0;
}

static int
on_data(void *arg, const uint8_t *p, size_t n)
{
	struct rec *r = arg;
	cr_assert_gt(n, 0, "on_part_data must never get 0 bytes");
	r->data_calls++;
	rec_add(r, p, n);
	return r->fail_data != 0 && r->data_calls == r->fail_data ? -1 : 0;
}

static int
on_end(void *arg)
{
	struct rec *r = arg;
	r->ends++;
	rec_add(r, "<END>", 5);
	return 0;
}

static const struct multipart_callbacks CB = {on_begin, on_data, on_end};

#define B "XyZzy-42"

/*
 * Parse `body` with boundary `boundary`, in pieces of `chunk` bytes (0: all
 * at once); return the first error of a feed, or the result of finish.
 */
static enum multipart_result
run(const char *boundary, const void *body, size_t len, size_t chunk, struct rec *r,
    const struct multipart_limits *lim)
{
	struct multipart *mp = multipart_new(boundary, lim, &CB, r);
	cr_assert_not_null(mp);
	const uint8_t *p = body;
	size_t step = chunk ? chunk : (len ? len : 1);
	enum multipart_result res = MULTIPART_OK;
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		res = multipart_feed(mp, p + off, n);
		if (res != MULTIPART_OK)
			break;
	}
	if (res == MULTIPART_OK)
		res = multipart_finish(mp);
	multipart_free(mp);
	return res;
}

static enum multipart_result
runs(const char *body, size_t chunk, struct rec *r)
{
	return run(B, body, strlen(body), chunk, r, NULL);
}

static void
expect_log(const struct rec *r, const void *want, size_t wlen)
{
	cr_assert(!r->overflow);
	cr_assert_eq(r->len, wlen, "transcript length %zu, want %zu: %.*s", r->len, wlen,
		     (int)r->len, r->log);
	cr_assert_eq(memcmp(r->log, want, wlen), 0, "transcript: %.*s", (int)r->len, r->log);
}

static const char FORM[] =
	"--" B "\r\n"
	"Content-Disposition: form-data; name=\"team\"\r\n"
	"\r\n"
	"labour\r\n"
	"--" B "\r\n"
	"Content-Disposition: form-data; name=\"what_happened\"\r\n"
	"\r\n"
	"They took our passports.\r\nLine two.\r\n"
	"--" B "\r\n"
	"content-disposition: FORM-DATA; name=\"file\"; filename=\"photo.jpg\"\r\n"
	"Content-Type: image/jpeg\r\n"
	"\r\n"
	"\xff\xd8\xff\r\n--\r\n-" B "\r\n"
	"--" B "--\r\n";

static const char FORM_LOG[] = "[team|-|-]labour<END>"
			       "[what_happened|-|-]They took our passports.\r\nLine two.<END>"
			       "[file|photo.jpg|image/jpeg]\xff\xd8\xff\r\n--\r\n-" B "<END>";

Test(multipart, whole_form_one_feed)
{
	struct rec r = {0};
	cr_assert_eq(runs(FORM, 0, &r), MULTIPART_OK);
	expect_log(&r, FORM_LOG, sizeof(FORM_LOG) - 1);
	cr_expect_eq(r.begins, 3);
	cr_expect_eq(r.ends, 3);
}

Test(multipart, every_chunk_size_gives_same_result)
{
	size_t len = sizeof(FORM) - 1;
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct rec r = {0};
		cr_assert_eq(runs(FORM, chunk, &r), MULTIPART_OK, "chunk %zu", chunk);
		expect_log(&r, FORM_LOG, sizeof(FORM_LOG) - 1);
	}
}

Test(multipart, near_miss_delimiters_are_data)
{
	/* Every near miss of "\r\n--XyZzy-42" inside the data, and a data part
	 * that ends in CR just before the real delimiter. */
	static const char data[] = "\r\n--XyZzy-4\r\n--XyZzy\r\r\n--X\n--XyZzy-42\r\n-XyZzy-42"
				   "--XyZzy-42\r\n--xyzzy-42\r\n--\r\n\r\n\r";
	char body[512], want[512];
	int n = snprintf(body, sizeof(body),
			 "--" B "\r\nContent-Disposition: form-data; name=\"d\"\r\n\r\n%s\r\n--" B
			 "--",
			 data);
	int w = snprintf(want, sizeof(want), "[d|-|-]%s<END>", data);
	for (size_t chunk = 0; chunk <= 13; chunk++) {
		struct rec r = {0};
		cr_assert_eq(run(B, body, (size_t)n, chunk, &r, NULL), MULTIPART_OK, "chunk %zu",
			     chunk);
		expect_log(&r, want, (size_t)w);
	}
}

static uint32_t
prng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

Test(multipart, random_binary_data_round_trips)
{
	/* Data drawn from the delimiter's own bytes, plus NULs and high bytes. */
	static const uint8_t alphabet[] = {'\r', '\n', '-', '-', 'X', 'y', 'Z', 'z', '4', '2', 0, 0xff};
	static const char delim[] = "\r\n--" B;
	uint32_t seed = 12345;
	for (int round = 0; round < 200; round++) {
		uint8_t data[600];
		size_t dlen = prng(&seed) % sizeof(data);
		for (size_t i = 0; i < dlen; i++)
			data[i] = alphabet[prng(&seed) % sizeof(alphabet)];
		if (memmem(data, dlen, delim, strlen(delim)) != NULL)
			continue;
		static const char head[] = "preamble\r\n--" B "\r\n"
					   "Content-Disposition: form-data; name=\"f\"; filename=\"b.bin\"\r\n\r\n";
		static const char tail[] = "\r\n--" B "--\r\nepilogue";
		uint8_t body[1024];
		size_t len = 0;
		memcpy(body, head, sizeof(head) - 1);
		len += sizeof(head) - 1;
		memcpy(body + len, data, dlen);
		len += dlen;
		memcpy(body + len, tail, sizeof(tail) - 1);
		len += sizeof(tail) - 1;
		uint8_t want[1024];
		size_t wlen = 0;
		memcpy(want, "[f|b.bin|-]", 11);
		wlen = 11;
		memcpy(want + wlen, data, dlen);
		wlen += dlen;
		memcpy(want + wlen, "<END>", 5);
		wlen += 5;
		size_t chunk = 1 + prng(&seed) % 17;
		struct rec r1 = {0}, r2 = {0};
		cr_assert_eq(run(B, body, len, 1, &r1, NULL), MULTIPART_OK);
		cr_assert_eq(run(B, body, len, chunk, &r2, NULL), MULTIPART_OK);
		expect_log(&r1, want, wlen);
		expect_log(&r2, want, wlen);
	}
}

Test(multipart, preamble_epilogue_and_padding)
{
	const char *body = "This is a preamble.\r\n--XyZzy-4 near miss\r\n--" B " \t\r\n"
			   "Content-Disposition: form-data; name=a\r\n"
			   "X-Ignored: yes\r\n\r\n"
			   "1\r\n--" B "--   \r\nall this is epilogue\r\n--" B "\r\nmore";
	struct rec r = {0};
	cr_assert_eq(runs(body, 0, &r), MULTIPART_OK);
	expect_log(&r, "[a|-|-]1<END>", 13);
}

Test(multipart, empty_part_data)
{
	const char *body = "--" B "\r\nContent-Disposition: form-data; name=\"empty\"; "
			   "filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n"
			   "\r\n--" B "--";
	struct rec r = {0};
	cr_assert_eq(runs(body, 1, &r), MULTIPART_OK);
	const char *want = "[empty||application/octet-stream]<END>";
	expect_log(&r, want, strlen(want));
	cr_expect_eq(r.data_calls, 0);
}

static enum multipart_result
one_part(const char *disposition, struct rec *r)
{
	char body[2048];
	int n = snprintf(body, sizeof(body), "--" B "\r\n%s\r\n\r\nx\r\n--" B "--\r\n", disposition);
	cr_assert(n > 0 && (size_t)n < sizeof(body));
	return run(B, body, (size_t)n, 0, r, NULL);
}

Test(multipart, file_names_with_quotes_and_escapes)
{
	static const struct {
		const char *cd, *log;
	} ok[] = {
		{"Content-Disposition: form-data; name=\"f\"; filename=\"a\\\"b\\\\c.txt\"",
		 "[f|a\"b\\c.txt|-]x<END>"},
		/* Browsers do not escape backslashes: keep them. */
		{"Content-Disposition: form-data; name=\"f\"; filename=\"C:\\dir\\x.txt\"",
		 "[f|C:\\dir\\x.txt|-]x<END>"},
		{"Content-Disposition: form-data; name=\"f\"; filename=\"%22quoted%22 \xd8\xb5.txt\"",
		 "[f|%22quoted%22 \xd8\xb5.txt|-]x<END>"},
		{"Content-Disposition: form-data;name=\"semi;colon\";filename=\"a;b=c\"",
		 "[semi;colon|a;b=c|-]x<END>"},
		{"Content-Disposition: form-data; filename*=UTF-8''n%C3%A4me; name=f; foo=\"bar\"",
		 "[f|-|-]x<END>"},
		{"CONTENT-DISPOSITION:form-data; NAME=\"f\"  ", "[f|-|-]x<END>"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct rec r = {0};
		cr_assert_eq(one_part(ok[i].cd, &r), MULTIPART_OK, "case %zu", i);
		expect_log(&r, ok[i].log, strlen(ok[i].log));
	}
}

Test(multipart, bad_dispositions_are_format_errors)
{
	static const char *bad[] = {
		"Content-Disposition: form-data",                         /* missing name */
		"Content-Disposition: form-data; filename=\"a.txt\"",     /* missing name */
		"Content-Disposition: form-data; name=\"\"",               /* empty name */
		"Content-Disposition: form-data; name=\"a\"; name=\"b\"", /* duplicate */
		"Content-Disposition: form-data; name=a; filename=x; filename=y",
		"Content-Disposition: attachment; name=\"a\"",
		"Content-Disposition: name=\"a\"",
		"Content-Disposition: form-data; name=\"a",                /* unterminated */
		"Content-Disposition: form-data; name=\"a\tb\"",           /* control char */
		"Content-Disposition: form-data; name=\"a\"; filename=\"x\x01y\"",
		"Content-Disposition: form-data; name=\"a\"; filename=\"x\x7fy\"",
		"Content-Disposition: form-data; name = \"a\"",
		"Content-Disposition: form-data; name=\"a\" junk",
		"Content-Disposition: form-data; name=",
		"Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"",
		"Content-Type: text/plain",                                /* no disposition */
		"Content-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain\r\nContent-Type: text/html",
		"Content-Disposition: form-data; name=\"a\"\r\nContent-Type:",
		"Content-Disposition: form-data; name=\"a\"\r\nContent-Type: text/\xc3\xa9",
		"Content-Disposition: form-data;\r\n name=\"a\"",          /* obs-fold */
		"Content-Disposition form-data; name=\"a\"",
		": form-data; name=\"a\"",
		"Content-Disposition: form-data; name=\"a\"\r\nBad\x01Header: x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec r = {0};
		cr_expect_eq(one_part(bad[i], &r), MULTIPART_ERR_FORMAT, "case %zu: %s", i, bad[i]);
		cr_expect_eq(r.begins, 0, "case %zu must not start a part", i);
	}
}

Test(multipart, crlf_is_required)
{
	static const char *bad[] = {
		"--" B "\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "--",
		"--" B "\r\nContent-Disposition: form-data; name=a\n\r\nx\r\n--" B "--",
		"--" B "\r\nContent-Disposition: form-data; name=a\r\n\nx\r\n--" B "--",
		"--" B "\r\nContent-Disposition: form-data; name=a\rX\r\n\r\nx\r\n--" B "--",
		"--" B "\rX",
		"--" B "X\r\n",   /* boundary followed by junk */
		"--" B "-X",
		"--" B "--",      /* close before any part */
		"--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--" B "-X",
		"--" B "                                                                    \r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec r = {0};
		cr_expect_eq(runs(bad[i], 0, &r), MULTIPART_ERR_FORMAT, "case %zu", i);
		struct rec r1 = {0};
		cr_expect_eq(runs(bad[i], 1, &r1), MULTIPART_ERR_FORMAT, "case %zu bytewise", i);
	}
}

Test(multipart, truncated_body_fails_at_every_offset)
{
	size_t len = sizeof(FORM) - 1;
	/* Everything up to the final "--" of the closing delimiter is needed. */
	size_t complete = len - 2;
	for (size_t cut = 0; cut < complete; cut++) {
		struct rec r = {0};
		cr_assert_neq(run(B, FORM, cut, 0, &r, NULL), MULTIPART_OK, "cut at %zu", cut);
		struct rec r1 = {0};
		cr_assert_neq(run(B, FORM, cut, 1, &r1, NULL), MULTIPART_OK, "cut at %zu", cut);
		if (cut < complete - strlen("\r\n--" B))
			cr_assert_leq(r1.ends, 2, "the unfinished part must not end");
	}
	struct rec r = {0};
	cr_expect_eq(run(B, FORM, complete, 0, &r, NULL), MULTIPART_OK);
	struct rec e = {0};
	cr_expect_eq(run(B, "", 0, 0, &e, NULL), MULTIPART_ERR_FORMAT, "empty body");
}

Test(multipart, part_limit)
{
	struct multipart_limits lim = {.max_parts = 2};
	struct rec r = {0};
	cr_expect_eq(run(B, FORM, sizeof(FORM) - 1, 0, &r, &lim), MULTIPART_ERR_LIMIT);
	cr_expect_eq(r.begins, 2);
	lim.max_parts = 3;
	struct rec r2 = {0};
	cr_expect_eq(run(B, FORM, sizeof(FORM) - 1, 0, &r2, &lim), MULTIPART_OK);
}

Test(multipart, header_byte_limit)
{
	char cd[200];
	int n = snprintf(cd, sizeof(cd), "Content-Disposition: form-data; name=\"%0100d\"", 7);
	cr_assert(n > 0);
	/* The header block is the line plus its CRLF and the empty line's CRLF. */
	size_t need = (size_t)n + 4;
	struct multipart_limits lim = {.max_header_bytes = need};
	char body[512];
	int len = snprintf(body, sizeof(body), "--" B "\r\n%s\r\n\r\nx\r\n--" B "--", cd);
	struct rec r = {0};
	cr_expect_eq(run(B, body, (size_t)len, 1, &r, &lim), MULTIPART_OK);
	lim.max_header_bytes = need - 1;
	struct rec r2 = {0};
	cr_expect_eq(run(B, body, (size_t)len, 1, &r2, &lim), MULTIPART_ERR_LIMIT);
	cr_expect_eq(r2.begins, 0);
	/* Default 4 KiB: an endless header line stops at the limit. */
	char *big = malloc(8192);
	cr_assert_not_null(big);
	static const char start[] = "--" B "\r\nX-Long: ";
	memcpy(big, start, sizeof(start) - 1);
	memset(big + sizeof(start) - 1, 'a', 8192 - (sizeof(start) - 1));
	struct rec r3 = {0};
	cr_expect_eq(run(B, big, 8192, 0, &r3, NULL), MULTIPART_ERR_LIMIT);
	free(big);
}

Test(multipart, over_long_names_hit_the_limit)
{
	char cd[2048];
	char name[300];
	memset(name, 'n', 299);
	name[299] = '\0';
	snprintf(cd, sizeof(cd), "Content-Disposition: form-data; name=\"%s\"", name);
	struct rec r = {0};
	cr_expect_eq(one_part(cd, &r), MULTIPART_ERR_LIMIT);
	name[255] = '\0'; /* 255 bytes + NUL fits exactly */
	snprintf(cd, sizeof(cd), "Content-Disposition: form-data; name=\"%s\"", name);
	struct rec r2 = {0};
	cr_expect_eq(one_part(cd, &r2), MULTIPART_OK);
}

Test(multipart, callback_abort_is_final)
{
	struct rec r = {.fail_begin = 2};
	struct multipart *mp = multipart_new(B, NULL, &CB, &r);
	cr_assert_not_null(mp);
	cr_expect_eq(multipart_feed(mp, (const uint8_t *)FORM, sizeof(FORM) - 1),
		     MULTIPART_ERR_CALLBACK);
	cr_expect_eq(r.begins, 2);
	cr_expect_eq(multipart_feed(mp, (const uint8_t *)"--", 2), MULTIPART_ERR_CALLBACK);
	cr_expect_eq(multipart_finish(mp), MULTIPART_ERR_CALLBACK);
	multipart_free(mp);

	struct rec r2 = {.fail_data = 1};
	cr_expect_eq(runs(FORM, 0, &r2), MULTIPART_ERR_CALLBACK);
	cr_expect_eq(r2.ends, 0);
}

Test(multipart, errors_are_sticky_and_epilogue_ignored)
{
	struct rec r = {0};
	struct multipart *mp = multipart_new(B, NULL, &CB, &r);
	cr_assert_not_null(mp);
	cr_expect_eq(multipart_feed(mp, (const uint8_t *)"--" B "\n", 11), MULTIPART_ERR_FORMAT);
	cr_expect_eq(multipart_feed(mp, (const uint8_t *)FORM, sizeof(FORM) - 1),
		     MULTIPART_ERR_FORMAT);
	cr_expect_eq(multipart_finish(mp), MULTIPART_ERR_FORMAT);
	multipart_free(mp);

	struct rec r2 = {0};
	mp = multipart_new(B, NULL, &CB, &r2);
	cr_assert_not_null(mp);
	cr_expect_eq(multipart_feed(mp, (const uint8_t *)FORM, sizeof(FORM) - 1), MULTIPART_OK);
	cr_expect_eq(multipart_feed(mp, (const uint8_t *)"\x01garbage\n", 9), MULTIPART_OK);
	cr_expect_eq(multipart_finish(mp), MULTIPART_OK);
	cr_expect_eq(multipart_parts(mp), 3);
	multipart_free(mp);
	multipart_free(NULL);
}

Test(multipart, new_rejects_bad_boundaries_and_limits)
{
	char b71[72];
	memset(b71, 'a', 71);
	b71[71] = '\0';
	cr_expect_null(multipart_new("", NULL, &CB, NULL));
	cr_expect_null(multipart_new(b71, NULL, &CB, NULL));
	cr_expect_null(multipart_new("abc ", NULL, &CB, NULL));
	cr_expect_null(multipart_new("a\"b", NULL, &CB, NULL));
	cr_expect_null(multipart_new("a\r\nb", NULL, &CB, NULL));
	cr_expect_null(multipart_new(B, NULL, NULL, NULL));
	struct multipart_limits lim = {.max_header_bytes = 65537};
	cr_expect_null(multipart_new(B, &lim, &CB, NULL));
	b71[70] = '\0';
	struct multipart *mp = multipart_new(b71, NULL, &CB, NULL);
	cr_expect_not_null(mp);
	multipart_free(mp);
}

Test(multipart, boundary_with_spaces_and_specials)
{
	const char *bnd = "a b'()+_,-./:=?z";
	char body[256];
	int n = snprintf(body, sizeof(body),
			 "--%s\r\nContent-Disposition: form-data; name=q\r\n\r\n--a b\r\n--%s--", bnd,
			 bnd);
	struct rec r = {0};
	cr_expect_eq(run(bnd, body, (size_t)n, 1, &r, NULL), MULTIPART_OK);
	expect_log(&r, "[q|-|-]--a b<END>", 17);
}

Test(multipart, content_type_good_values)
{
	static const struct {
		const char *ct, *boundary;
	} ok[] = {
		{"multipart/form-data; boundary=----WebKitFormBoundaryAbC123",
		 "----WebKitFormBoundaryAbC123"},
		{"Multipart/Form-Data;BOUNDARY=abc", "abc"},
		{"multipart/form-data; charset=utf-8; boundary=\"a b:c\"", "a b:c"},
		{"multipart/form-data ; boundary=x ; foo=\"b;ar\"", "x"},
		{"multipart/form-data;; boundary=x;", "x"},
		{"multipart/form-data; boundary=\"with=equals?\"", "with=equals?"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char out[MULTIPART_BOUNDARY_MAX + 1];
		cr_expect_eq(multipart_boundary(ok[i].ct, out, sizeof(out)), 0, "case %zu: %s", i,
			     ok[i].ct);
		cr_expect_str_eq(out, ok[i].boundary);
	}
}

Test(multipart, content_type_bad_values)
{
	char long71[128];
	snprintf(long71, sizeof(long71), "multipart/form-data; boundary=%071d", 1);
	const char *bad[] = {
		"",
		"multipart/form-data",
		"multipart/form-data;",
		"multipart/form-data; boundary=",
		"multipart/form-data; boundary=\"\"",
		"multipart/mixed; boundary=abc",
		"multipart/form-datax; boundary=abc",
		"application/x-www-form-urlencoded",
		"text/plain; boundary=abc",
		"multipart/form-data; boundary=abc; boundary=abd",
		"multipart/form-data; boundary=\"abc \"",
		"multipart/form-data; boundary=\"a\tb\"",
		"multipart/form-data; boundary=\"abc",
		"multipart/form-data; boundary=a&b",
		"multipart/form-data; boundary=\"a\\\"b\"",
		"multipart/form-data boundary=abc",
		"multipart/form-data; boundary abc",
		"multipart/form-data; boundary=abc def",
		"multipart/form-data; =abc",
		" multipart/form-data; boundary=abc",
		"multipart /form-data; boundary=abc",
		"multipart/form-data; boundary=\xc3\xa9",
		"multipart/form-data; boundary=\"\xc3\xa9\"",
		long71,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[MULTIPART_BOUNDARY_MAX + 1] = "junk";
		cr_expect_eq(multipart_boundary(bad[i], out, sizeof(out)), -1, "case %zu: %s", i,
			     bad[i]);
		cr_expect_str_empty(out);
	}
	char small[4];
	cr_expect_eq(multipart_boundary("multipart/form-data; boundary=abcd", small, sizeof(small)), -1);
	cr_expect_eq(multipart_boundary("multipart/form-data; boundary=abc", small, sizeof(small)), 0);
	cr_expect_eq(multipart_boundary(NULL, small, sizeof(small)), -1);
	char seventy[128];
	snprintf(seventy, sizeof(seventy), "multipart/form-data; boundary=%070d", 1);
	char out[MULTIPART_BOUNDARY_MAX + 1];
	cr_expect_eq(multipart_boundary(seventy, out, sizeof(out)), 0);
	cr_expect_eq(strlen(out), 70);
}
