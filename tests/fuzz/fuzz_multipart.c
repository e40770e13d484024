/*
 * Fuzz the streaming multipart parser. The first input byte chooses the feed
 * size (1-256 bytes); the rest is the body, parsed with the fixed boundary
 * "fuzzBOUNDARY". Each body is parsed twice, in pieces and in one feed, and
 * the two runs must agree on the result and on everything the callbacks saw;
 * part data must never contain the delimiter.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

#define FUZZ_BOUNDARY "fuzzBOUNDARY"

struct tally {
	uint64_t hash; /* FNV-1a over the event stream */
	size_t bytes;
	unsigned begins, ends;
};

static void
mix(struct tally *t, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		t->hash ^= b[i];
		t->hash *= UINT64_C(0x100000001b3);
	}
}

static int
fz_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct tally *t = arg;
	if (name == NULL || name[0] == '\0')
		abort();
	t->begins++;
	mix(t, "B", 1);
	mix(t, name, strlen(name) + 1);
	mix(t, filename ? filename : "\x01", strlen(filename ? filename : "\x01") + 1);
	mix(t, ctype ? ctype : "\x01", strlen(ctype ? ctype : "\x01") + 1);
	return 0;
}

static int
fz_data(void *arg, const uint8_t *p, size_t n)
{
	struct tally *t = arg;
	static const char delim[] = "\r\n--" FUZZ_BOUNDARY;
	if (n == 0 || t->begins == t->ends)
		abort();
	if (memmem(p, n, delim, sizeof(delim) - 1) != NULL)
		abort();
	t->bytes += n;
	mix(t, p, n); /* no marker: chunking must not change the hash */
	return 0;
}

static int
fz_end(void *arg)
{
	struct tally *t = arg;
	t->ends++;
	mix(t, "E", 1);
	return 0;
}

static const struct multipart_callbacks fz_cb = {fz_begin, fz_data, fz_end};

static enum multipart_result
fz_run(const uint8_t *p, size_t n, size_t step, struct tally *t)
{
	struct multipart_limits lim = {.max_parts = 16, .max_header_bytes = 1024};
	struct multipart *mp = multipart_new(FUZZ_BOUNDARY, &lim, &fz_cb, t);
	enum multipart_result r = MULTIPART_OK;

	if (mp == NULL)
		abort();
	for (size_t off = 0; off < n && r == MULTIPART_OK; off += step)
		r = multipart_feed(mp, p + off, n - off < step ? n - off : step);
	if (r == MULTIPART_OK)
		r = multipart_finish(mp);
	multipart_free(mp);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally a = {UINT64_C(0xcbf29ce484222325), 0, 0, 0};
	struct tally b = a;

	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] + 1;
	enum multipart_result ra = fz_run(data + 1, size - 1, step, &a);
	enum multipart_result rb = fz_run(data + 1, size - 1, size, &b);
	if (ra != rb)
		abort();
	/* An error may stop the one-feed run earlier within the same feed, so
	 * compare what was seen only for bodies both runs accepted. */
	if (ra == MULTIPART_OK && (a.hash != b.hash || a.bytes != b.bytes || a.ends != b.ends))
		abort();
	if (a.bytes > size || a.ends > a.begins)
		abort();
	return 0;
}
