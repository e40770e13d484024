/*
 * The official C2SP age test vectors (npm package cctv-age, which embeds the
 * testdata files as base64 in index.js), run through libtipline's age module.
 *
 * Vectors are found through TIPLINE_CCTV_AGE_DIR, or
 * $TIPLINE_SOURCE_DIR/tests/vectors/node_modules/cctv-age. Armored and
 * post-quantum (hybrid) vectors are skipped and counted. zlib-compressed
 * vectors are inflated with the system's libz, loaded with dlopen() so that
 * this test links against libtipline alone.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "util.h"

/* Vectors that are neither armored nor post-quantum in cctv-age 0.2.0. */
#define AGE_VECTORS_MIN_RUN 92
#define VEC_INDEX_MAX (16u << 20)
#define VEC_FILE_MAX (64u << 20)
#define VEC_MAX_IDS 4

struct vec {
	char name[96];
	char expect[32];
	char payload[65];
	char file_key[129];
	char ids[VEC_MAX_IDS][128];
	int nids;
	char passes[VEC_MAX_IDS][64];
	int npasses;
	int armored, compressed, unknown_key;
	const uint8_t *body; /* the age file */
	size_t body_len;
};

static void
copy_field(char *dst, size_t max, const char *v, size_t vlen)
{
	cr_assert(vlen < max, "vector field too long: %.*s", (int)vlen, v);
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

/* Parse the "key: value" block of a vector file; return 0 or -1. */
static int
vec_parse(const uint8_t *p, size_t n, struct vec *v)
{
	size_t off = 0;
	for (;;) {
		const uint8_t *nl = memchr(p + off, '\n', n - off);
		if (nl == NULL)
			return -1;
		size_t len = (size_t)(nl - (p + off));
		const char *line = (const char *)p + off;
		off += len + 1;
		if (len == 0)
			break;
		const char *colon = memchr(line, ':', len);
		if (colon == NULL || colon + 2 > line + len || colon[1] != ' ')
			return -1;
		size_t klen = (size_t)(colon - line);
		const char *val = colon + 2;
		size_t vlen = len - klen - 2;
#define KEY(s) (klen == strlen(s) && memcmp(line, s, klen) == 0)
		if (KEY("expect"))
			copy_field(v->expect, sizeof(v->expect), val, vlen);
		else if (KEY("payload"))
			copy_field(v->payload, sizeof(v->payload), val, vlen);
		else if (KEY("file key"))
			copy_field(v->file_key, sizeof(v->file_key), val, vlen);
		else if (KEY("identity") && v->nids < VEC_MAX_IDS)
			copy_field(v->ids[v->nids++], sizeof(v->ids[0]), val, vlen);
		else if (KEY("passphrase") && v->npasses < VEC_MAX_IDS)
			copy_field(v->passes[v->npasses++], sizeof(v->passes[0]), val, vlen);
		else if (KEY("armored"))
			v->armored = vlen == 3 && memcmp(val, "yes", 3) == 0;
		else if (KEY("compressed"))
			v->compressed = 1;
		else if (!KEY("comment"))
			v->unknown_key = 1;
#undef KEY
	}
	v->body = p + off;
	v->body_len = n - off;
	return 0;
}

typedef int (*uncompress_fn)(unsigned char *, unsigned long *, const unsigned char *,
                             unsigned long);

/* Inflate zlib data into a malloc'd buffer; return it (length in *outlen). */
static uint8_t *
vec_inflate(const uint8_t *p, size_t n, size_t *outlen)
{
	static uncompress_fn fn;
	if (fn == NULL) {
		void *h = dlopen("libz.so.1", RTLD_NOW);
		cr_assert_not_null(h, "libz.so.1 is needed for compressed vectors");
		*(void **)&fn = dlsym(h, "uncompress");
		cr_assert_not_null(fn);
	}
	for (unsigned long cap = 1u << 20; cap <= VEC_FILE_MAX; cap *= 2) {
		uint8_t *out = malloc(cap);
		unsigned long len = cap;
		cr_assert_not_null(out);
		int rc = fn(out, &len, p, n);
		if (rc == 0) {
			*outlen = len;
			return out;
		}
		free(out);
		cr_assert_eq(rc, -5 /* Z_BUF_ERROR */, "zlib error %d", rc);
	}
	cr_assert_fail("compressed vector too large");
	return NULL;
}

/* Map an age_err to the vector's vocabulary. */
static const char *
vec_outcome(int rc)
{
	switch (rc) {
	case AGE_OK: return "success";
	case AGE_ERR_NO_MATCH: return "no match";
	case AGE_ERR_HEADER_MAC: return "HMAC failure";
	case AGE_ERR_PAYLOAD: return "payload failure";
	case AGE_ERR_FORMAT:
	case AGE_ERR_LIMIT:
	case AGE_ERR_UNEXPECTED: return "header failure";
	default: return "system error";
	}
}

/* Stream the payload in odd-sized pieces; return the outcome, released plaintext in `out`. */
static int
vec_payload(const uint8_t fk[AGE_FILE_KEY_LEN], const uint8_t *p, size_t n, struct buf *out)
{
	struct age_dec *d = age_dec_new(fk);
	cr_assert_not_null(d);
	int rc = AGE_OK;
	for (size_t off = 0; off < n && rc == AGE_OK; off += 7919) {
		size_t k = n - off < 7919 ? n - off : 7919;
		rc = age_dec_update(d, p + off, k, out);
	}
	if (rc == AGE_OK)
		rc = age_dec_final(d, out);
	age_dec_free(d);
	return rc;
}

/* Open the header with each passphrase in turn (or none); return an enum age_err. */
static int
vec_unwrap(const struct vec *v, const uint8_t *f, size_t n, uint8_t fk[AGE_FILE_KEY_LEN],
           size_t *hl)
{
	uint8_t sks[VEC_MAX_IDS][AGE_KEY_LEN];
	for (int i = 0; i < v->nids; i++)
		cr_assert_eq(age_identity_decode(v->ids[i], sks[i]), 0, "%s: identity", v->name);
	struct age_unwrap_opts o = { .sks = sks, .nsks = (size_t)v->nids, .max_logn = 22 };
	int rc = AGE_ERR_NO_MATCH;
	for (int i = 0; i == 0 || i < v->npasses; i++) {
		o.pass = v->npasses ? v->passes[i] : NULL;
		o.passlen = v->npasses ? strlen(v->passes[i]) : 0;
		rc = age_header_unwrap(f, n, &o, fk, hl);
		if (rc != AGE_ERR_NO_MATCH)
			break;
	}
	if (rc == AGE_OK && n - *hl < AGE_NONCE_LEN)
		rc = AGE_ERR_FORMAT; /* no room for the payload nonce */
	return rc;
}

/* Run one vector; return 1 if it behaved as expected. */
static int
vec_run(const struct vec *v)
{
	uint8_t fk[AGE_FILE_KEY_LEN], *inflated = NULL;
	size_t hl = 0, n = v->body_len;
	const uint8_t *f = v->body;
	struct buf out;
	buf_init_secure(&out, VEC_FILE_MAX);
	if (v->compressed)
		f = inflated = vec_inflate(v->body, v->body_len, &n);
	int rc = vec_unwrap(v, f, n, fk, &hl);
	if (rc == AGE_OK) {
		char hex[2 * AGE_FILE_KEY_LEN + 1];
		util_hex(fk, sizeof(fk), hex);
		cr_expect_str_eq(hex, v->file_key, "%s: file key", v->name);
		rc = vec_payload(fk, f + hl, n - hl, &out);
	}
	int ok = strcmp(vec_outcome(rc), v->expect) == 0;
	if (ok && (rc == AGE_OK || rc == AGE_ERR_PAYLOAD)) {
		uint8_t h[crypto_hash_sha256_BYTES];
		char hex[2 * sizeof(h) + 1];
		crypto_hash_sha256(h, out.data ? out.data : (const uint8_t *)"", out.len);
		util_hex(h, sizeof(h), hex);
		ok = strcmp(hex, v->payload) == 0;
		cr_expect(ok, "%s: released plaintext hash %s, want %s", v->name, hex, v->payload);
	} else {
		cr_expect(ok, "%s: got %s (%s), want %s", v->name, vec_outcome(rc),
		          age_strerror(rc), v->expect);
	}
	buf_free(&out);
	free(inflated);
	return ok;
}

static char *
vec_load_index(size_t *len)
{
	char path[4096];
	const char *dir = getenv("TIPLINE_CCTV_AGE_DIR");
	const char *src = getenv("TIPLINE_SOURCE_DIR");
	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/index.js", dir);
	else
		snprintf(path, sizeof(path), "%s/tests/vectors/node_modules/cctv-age/index.js",
		         src ? src : ".");
	char *js = util_read_file(path, VEC_INDEX_MAX, len);
	cr_assert_not_null(js, "cannot read %s: install with `npm install --prefix "
	                       "tests/vectors cctv-age`", path);
	return js;
}

/* Decode the next embedded vector after `*pos`; return 1, or 0 at the end. */
static int
vec_next(const char *js, size_t len, size_t *pos, struct vec *v, uint8_t **raw)
{
	static const char mark[] = "// ../testdata/", call[] = "__toBinary(\"";
	const char *s = memmem(js + *pos, len - *pos, mark, sizeof(mark) - 1);
	if (s == NULL)
		return 0;
	s += sizeof(mark) - 1;
	const char *nl = memchr(s, '\n', (size_t)(js + len - s));
	const char *b = memmem(s, (size_t)(js + len - s), call, sizeof(call) - 1);
	cr_assert(nl != NULL && b != NULL);
	memset(v, 0, sizeof(*v));
	copy_field(v->name, sizeof(v->name), s, (size_t)(nl - s));
	b += sizeof(call) - 1;
	const char *e = memchr(b, '"', (size_t)(js + len - b));
	cr_assert_not_null(e);
	size_t cap = (size_t)(e - b) / 4 * 3 + 3, n = 0;
	*raw = malloc(cap);
	cr_assert_not_null(*raw);
	cr_assert_eq(sodium_base642bin(*raw, cap, b, (size_t)(e - b), NULL, &n, NULL,
	                               sodium_base64_VARIANT_ORIGINAL), 0, "%s: base64", v->name);
	cr_assert_eq(vec_parse(*raw, n, v), 0, "%s: vector header", v->name);
	*pos = (size_t)(e - js);
	return 1;
}

Test(age_vectors, all)
{
	size_t len = 0, pos = 0;
	int ran = 0, passed = 0, skipped = 0;
	struct vec v;
	uint8_t *raw = NULL;
	cr_assert_geq(sodium_init(), 0);
	char *js = vec_load_index(&len);
	while (vec_next(js, len, &pos, &v, &raw)) {
		int pq = v.nids > 0 && strncmp(v.ids[0], "AGE-SECRET-KEY-1", 16) != 0;
		for (int i = 1; i < v.nids; i++)
			pq |= strncmp(v.ids[i], "AGE-SECRET-KEY-1", 16) != 0;
		if (v.armored || pq || v.unknown_key) {
			skipped++;
		} else {
			ran++;
			passed += vec_run(&v);
		}
		free(raw);
		raw = NULL;
	}
	free(js);
	printf("age vectors: ran %d, passed %d, skipped %d\n", ran, passed, skipped);
	cr_expect_geq(ran, AGE_VECTORS_MIN_RUN, "only %d vectors ran", ran);
	cr_expect_eq(passed, ran);
}
