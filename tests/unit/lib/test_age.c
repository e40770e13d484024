/*
 * Unit tests for the age module: round trips through the streaming API,
 * per-recipient headers, tampering and truncation of every region, limits,
 * scrypt, and the Bech32 key encodings.
 */
#include <criterion/criterion.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "age.h"
#include "age_int.h"
#include "bech32.h"

#define BIG (8u << 20)

/* Identity from the C2SP vectors and its recipient (from `age-keygen -y`). */
static const char vec_identity[] =
	"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
static const char vec_recipient[] = "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef";

static uint8_t pks[3][AGE_KEY_LEN], sks[3][AGE_KEY_LEN];

static void
setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(age_keygen(pks[i], sks[i]), 0);
}

TestSuite(age, .init = setup);

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Encrypt `n` bytes to `npk` recipients through the streaming API in odd pieces. */
static void
stream_encrypt(const uint8_t *pt, size_t n, size_t npk, struct buf *out)
{
	static const size_t pieces[] = { 1, 7, 4093, 65537, 100, 65535 };
	uint8_t fk[AGE_FILE_KEY_LEN];
	age_file_key_new(fk);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pks, npk, out), 0);
	struct age_enc *e = age_enc_new(fk);
	cr_assert_not_null(e);
	for (size_t off = 0, i = 0; off < n; i++) {
		size_t k = pieces[i % 6] < n - off ? pieces[i % 6] : n - off;
		cr_assert_eq(age_enc_update(e, pt + off, k, out), 0);
		off += k;
	}
	cr_assert_eq(age_enc_final(e, out), 0);
	age_enc_free(e);
}

/* Decrypt a payload through the streaming API in odd pieces; return the result. */
static int
stream_decrypt(const uint8_t fk[AGE_FILE_KEY_LEN], const uint8_t *ct, size_t n, struct buf *out)
{
	static const size_t pieces[] = { 3, 65551, 1, 8191, 65553 };
	struct age_dec *d = age_dec_new(fk);
	cr_assert_not_null(d);
	int rc = AGE_OK;
	for (size_t off = 0, i = 0; off < n && rc == AGE_OK; i++) {
		size_t k = pieces[i % 5] < n - off ? pieces[i % 5] : n - off;
		rc = age_dec_update(d, ct + off, k, out);
		off += k;
	}
	if (rc == AGE_OK)
		rc = age_dec_final(d, out);
	age_dec_free(d);
	return rc;
}

/* Decrypt with identity sks[who]. */
static int
decrypt_with(int who, const uint8_t *ct, size_t n, struct buf *out)
{
	struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks[who], .nsks = 1 };
	return age_decrypt(ct, n, &o, out);
}

Test(age, round_trip_sizes_and_recipients)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 2 * 65536, 3 * 65536 + 5 };
	static uint8_t pt[3 * 65536 + 5];
	fill(pt, sizeof(pt), 1);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t npk = 1; npk <= 3; npk += 2) {
			struct buf ct, out;
			buf_init(&ct, BIG);
			buf_init_secure(&out, BIG);
			stream_encrypt(pt, sizes[s], npk, &ct);
			size_t hl = 0;
			int nx, ns, no;
			cr_assert_eq(age_header_inspect(ct.data, ct.len, &hl, &nx, &ns, &no), AGE_OK);
			cr_assert_eq(nx, (int)npk);
			cr_assert_eq(ns + no, 0);
			cr_assert_eq(ct.len - hl, age_payload_size(sizes[s]), "size %zu", sizes[s]);
			for (size_t r = 0; r < npk; r++) {
				buf_reset(&out);
				cr_assert_eq(decrypt_with(r, ct.data, ct.len, &out), AGE_OK);
				cr_assert_eq(out.len, sizes[s]);
				cr_assert(sizes[s] == 0 || memcmp(out.data, pt, sizes[s]) == 0);
			}
			/* The streaming decoder, fed in odd pieces, agrees. */
			uint8_t fk[AGE_FILE_KEY_LEN];
			struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks,
			                             .nsks = 1 };
			cr_assert_eq(age_header_unwrap(ct.data, ct.len, &o, fk, &hl), AGE_OK);
			buf_reset(&out);
			cr_assert_eq(stream_decrypt(fk, ct.data + hl, ct.len - hl, &out), AGE_OK);
			cr_assert(out.len == sizes[s] &&
			          (sizes[s] == 0 || memcmp(out.data, pt, sizes[s]) == 0));
			if (npk == 1)
				cr_assert_eq(decrypt_with(1, ct.data, ct.len, &out),
				             AGE_ERR_NO_MATCH);
			buf_free(&ct);
			buf_free(&out);
		}
	}
}

Test(age, payload_size_formula)
{
	cr_assert_eq(age_payload_size(0), 32);
	cr_assert_eq(age_payload_size(1), 33);
	cr_assert_eq(age_payload_size(65536), 16 + 65536 + 16);
	cr_assert_eq(age_payload_size(65537), 16 + 65537 + 32);
}

Test(age, encoder_holds_back_one_full_chunk)
{
	static uint8_t pt[65537];
	uint8_t fk[AGE_FILE_KEY_LEN];
	struct buf ct;
	buf_init(&ct, BIG);
	age_file_key_new(fk);
	struct age_enc *e = age_enc_new(fk);
	cr_assert_eq(age_enc_update(e, pt, 65536, &ct), 0);
	cr_assert_eq(ct.len, AGE_NONCE_LEN, "a full chunk may still be the last one");
	cr_assert_eq(age_enc_update(e, pt, 1, &ct), 0);
	cr_assert_eq(ct.len, AGE_NONCE_LEN + 65536 + AGE_TAG_LEN);
	cr_assert_eq(age_enc_final(e, &ct), 0);
	cr_assert_eq(ct.len, age_payload_size(65537));
	cr_assert_eq(age_enc_update(e, pt, 1, &ct), -1, "no data after final");
	cr_assert_eq(age_enc_final(e, &ct), -1);
	age_enc_free(e);
	buf_free(&ct);
}

Test(age, per_recipient_headers_share_one_payload)
{
	static uint8_t pt[70000];
	uint8_t fk[AGE_FILE_KEY_LEN];
	struct buf h0, h1, payload, file, out;
	buf_init(&h0, BIG);
	buf_init(&h1, BIG);
	buf_init(&payload, BIG);
	buf_init(&file, BIG);
	buf_init_secure(&out, BIG);
	fill(pt, sizeof(pt), 2);
	age_file_key_new(fk);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pks[0], 1, &h0), 0);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pks[1], 1, &h1), 0);
	struct age_enc *e = age_enc_new(fk);
	cr_assert(age_enc_update(e, pt, sizeof(pt), &payload) == 0 && age_enc_final(e, &payload) == 0);
	age_enc_free(e);
	for (int r = 0; r < 2; r++) {
		struct buf *h = r ? &h1 : &h0;
		buf_reset(&file);
		buf_reset(&out);
		cr_assert(buf_add(&file, h->data, h->len) == 0 &&
		          buf_add(&file, payload.data, payload.len) == 0);
		cr_assert_eq(decrypt_with(r, file.data, file.len, &out), AGE_OK);
		cr_assert(out.len == sizeof(pt) && memcmp(out.data, pt, sizeof(pt)) == 0);
		cr_assert_eq(decrypt_with(1 - r, file.data, file.len, &out), AGE_ERR_NO_MATCH);
		cr_assert_eq(decrypt_with(2, file.data, file.len, &out), AGE_ERR_NO_MATCH);
	}
	/* The header alone yields the file key and its length. */
	uint8_t got[AGE_FILE_KEY_LEN];
	size_t hl = 0;
	struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks[1], .nsks = 1 };
	cr_assert_eq(age_header_unwrap(h1.data, h1.len, &o, got, &hl), AGE_OK);
	cr_assert_eq(hl, h1.len);
	cr_assert_eq(memcmp(got, fk, sizeof(fk)), 0);
	buf_free(&h0);
	buf_free(&h1);
	buf_free(&payload);
	buf_free(&file);
	buf_free(&out);
}

/* A two-recipient file of `n` bytes of plaintext, its header length in *hl. */
static void
make_file(size_t n, struct buf *ct, size_t *hl)
{
	static uint8_t pt[3 * 65536 + 5];
	int nx, ns, no;
	cr_assert(n <= sizeof(pt));
	fill(pt, n, 3);
	buf_init(ct, BIG);
	cr_assert_eq(age_encrypt(pt, n, (const uint8_t(*)[AGE_KEY_LEN])pks, 2, ct), 0);
	cr_assert_eq(age_header_inspect(ct->data, ct->len, hl, &nx, &ns, &no), AGE_OK);
}

/* Decrypt `ct` with a copy where byte `off` is replaced by `c`. */
static int
decrypt_tampered(const struct buf *ct, size_t off, uint8_t c)
{
	struct buf copy, out;
	buf_init(&copy, BIG);
	buf_init_secure(&out, BIG);
	cr_assert_eq(buf_add(&copy, ct->data, ct->len), 0);
	cr_assert_neq(copy.data[off], c);
	copy.data[off] = c;
	int rc = decrypt_with(0, copy.data, copy.len, &out);
	cr_assert(rc == AGE_OK || out.len == 0, "a failed one-shot decrypt releases nothing");
	buf_free(&copy);
	buf_free(&out);
	return rc;
}

/* Offset of the `k`th occurrence of `needle` in `b`. */
static size_t
find(const struct buf *b, const char *needle, int k)
{
	const uint8_t *p = b->data;
	for (;;) {
		p = memmem(p, b->len - (size_t)(p - b->data), needle, strlen(needle));
		cr_assert_not_null(p, "no %s", needle);
		if (k-- == 0)
			return (size_t)(p - b->data);
		p++;
	}
}

static uint8_t
other_b64(uint8_t c)
{
	return c == 'A' ? 'B' : 'A';
}

Test(age, tampering_each_region)
{
	struct buf ct;
	size_t hl;
	make_file(2 * 65536 + 100, &ct, &hl);
	cr_assert_eq(decrypt_tampered(&ct, 0, 'b'), AGE_ERR_FORMAT, "version line");
	size_t st0 = find(&ct, "-> X25519 ", 0);
	size_t body0 = find(&ct, "\n", 1) + 1; /* first stanza's body line */
	cr_assert_gt(body0, st0);
	cr_assert_eq(decrypt_tampered(&ct, body0 + 5, other_b64(ct.data[body0 + 5])),
	             AGE_ERR_NO_MATCH, "stanza body");
	cr_assert_eq(decrypt_tampered(&ct, st0 + 12, other_b64(ct.data[st0 + 12])),
	             AGE_ERR_NO_MATCH, "ephemeral share");
	/* The second stanza (not ours) is covered by the MAC. */
	size_t st1 = find(&ct, "-> X25519 ", 1);
	cr_assert_eq(decrypt_tampered(&ct, st1 + 12, other_b64(ct.data[st1 + 12])),
	             AGE_ERR_HEADER_MAC, "other recipient's stanza");
	size_t mac = find(&ct, "--- ", 0) + 4;
	cr_assert_eq(decrypt_tampered(&ct, mac + 3, other_b64(ct.data[mac + 3])), AGE_ERR_HEADER_MAC);
	cr_assert_eq(decrypt_tampered(&ct, mac - 1, '-'), AGE_ERR_FORMAT, "MAC separator");
	cr_assert_eq(decrypt_tampered(&ct, hl + 3, ct.data[hl + 3] ^ 1), AGE_ERR_PAYLOAD, "nonce");
	size_t c0 = hl + AGE_NONCE_LEN, chunk = 65536 + AGE_TAG_LEN;
	cr_assert_eq(decrypt_tampered(&ct, c0 + 10, ct.data[c0 + 10] ^ 0x80), AGE_ERR_PAYLOAD);
	cr_assert_eq(decrypt_tampered(&ct, c0 + chunk + 70000 % chunk, 0x5a ^ ct.data[c0 + chunk + 70000 % chunk]),
	             AGE_ERR_PAYLOAD, "second chunk");
	cr_assert_eq(decrypt_tampered(&ct, ct.len - 1, ct.data[ct.len - 1] ^ 1), AGE_ERR_PAYLOAD,
	             "last tag");
	buf_free(&ct);
}

/* Decrypt the first `n` bytes of `ct`. */
static int
decrypt_prefix(const struct buf *ct, size_t n)
{
	struct buf out;
	buf_init_secure(&out, BIG);
	int rc = decrypt_with(0, ct->data, n, &out);
	buf_free(&out);
	return rc;
}

Test(age, truncation_and_trailing_data)
{
	struct buf ct;
	size_t hl;
	make_file(2 * 65536, &ct, &hl);
	size_t c0 = hl + AGE_NONCE_LEN, chunk = 65536 + AGE_TAG_LEN;
	cr_assert_eq(decrypt_prefix(&ct, 0), AGE_ERR_FORMAT);
	cr_assert_eq(decrypt_prefix(&ct, 10), AGE_ERR_FORMAT);
	cr_assert_eq(decrypt_prefix(&ct, hl - 1), AGE_ERR_FORMAT, "MAC line without LF");
	cr_assert_eq(decrypt_prefix(&ct, hl), AGE_ERR_FORMAT, "no nonce");
	cr_assert_eq(decrypt_prefix(&ct, hl + 8), AGE_ERR_FORMAT, "half a nonce");
	cr_assert_eq(decrypt_prefix(&ct, c0), AGE_ERR_PAYLOAD, "no chunk");
	cr_assert_eq(decrypt_prefix(&ct, c0 + 15), AGE_ERR_PAYLOAD, "shorter than a tag");
	cr_assert_eq(decrypt_prefix(&ct, c0 + 1000), AGE_ERR_PAYLOAD);
	cr_assert_eq(decrypt_prefix(&ct, c0 + chunk), AGE_ERR_PAYLOAD, "missing last chunk");
	cr_assert_eq(decrypt_prefix(&ct, c0 + chunk + 1), AGE_ERR_PAYLOAD);
	cr_assert_eq(decrypt_prefix(&ct, ct.len - 1), AGE_ERR_PAYLOAD);
	cr_assert_eq(decrypt_prefix(&ct, ct.len), AGE_OK);
	for (size_t extra = 1; extra <= 70000; extra *= 7) {
		struct buf longer;
		buf_init(&longer, BIG);
		cr_assert(buf_add(&longer, ct.data, ct.len) == 0 && buf_fill(&longer, 0, extra) == 0);
		cr_assert_eq(decrypt_prefix(&longer, longer.len), AGE_ERR_PAYLOAD, "%zu extra", extra);
		buf_free(&longer);
	}
	buf_free(&ct);
}

Test(age, reordered_chunks)
{
	struct buf ct, out;
	size_t hl;
	static uint8_t tmp[65536 + AGE_TAG_LEN];
	make_file(3 * 65536 + 5, &ct, &hl);
	uint8_t *c0 = ct.data + hl + AGE_NONCE_LEN, *c1 = c0 + sizeof(tmp);
	memcpy(tmp, c0, sizeof(tmp));
	memcpy(c0, c1, sizeof(tmp));
	memcpy(c1, tmp, sizeof(tmp));
	cr_assert_eq(decrypt_prefix(&ct, ct.len), AGE_ERR_PAYLOAD);
	/* Streaming: nothing from the swapped chunks is released. */
	uint8_t fk[AGE_FILE_KEY_LEN];
	struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks[0], .nsks = 1 };
	cr_assert_eq(age_header_unwrap(ct.data, ct.len, &o, fk, &hl), AGE_OK);
	buf_init_secure(&out, BIG);
	cr_assert_eq(stream_decrypt(fk, ct.data + hl, ct.len - hl, &out), AGE_ERR_PAYLOAD);
	cr_assert_eq(out.len, 0);
	buf_free(&out);
	buf_free(&ct);
}

/* HKDF-SHA-256 with OpenSSL, independent of the module under test. */
static void
hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const char *info,
     uint8_t out[32])
{
	static char md[] = "SHA256";
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, md, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikmlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, saltlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info,
		                                  strlen(info)),
		OSSL_PARAM_construct_end(),
	};
	cr_assert_eq(EVP_KDF_derive(ctx, out, 32, p), 1);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
}

/* age_hkdf against RFC 5869's SHA-256 test cases 1 and 3 (42 bytes each:
 * two expand blocks), then against OpenSSL's HKDF on random keys, salts and
 * infos of 1 to 99 bytes, across HMAC's 64-byte block. */
Test(age, hkdf_matches_rfc5869_and_openssl)
{
	uint8_t ikm[22], salt[13], out[82], want[82];
	char info[11];
	memset(ikm, 0x0b, sizeof(ikm));
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (size_t i = 0; i < 10; i++)
		info[i] = (char)(0xf0 + i);
	info[10] = '\0';
	cr_assert_eq(age_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), info, out, 42), 0);
	cr_assert_eq(sodium_hex2bin(want, 42,
	                            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	                            "34007208d5b887185865", 84, NULL, NULL, NULL), 0);
	cr_assert_eq(memcmp(out, want, 42), 0, "RFC 5869 test case 1");
	cr_assert_eq(age_hkdf(ikm, sizeof(ikm), NULL, 0, "", out, 42), 0);
	cr_assert_eq(sodium_hex2bin(want, 42,
	                            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	                            "9d201395faa4b61a96c8", 84, NULL, NULL, NULL), 0);
	cr_assert_eq(memcmp(out, want, 42), 0, "RFC 5869 test case 3 (no salt, no info)");
	cr_assert_eq(age_hkdf(ikm, sizeof(ikm), NULL, 0, "", out, 255 * 32 + 1), -1);

	uint8_t k[100], sl[100], a[32], b[32];
	char inf[100];
	for (size_t n = 1; n < sizeof(k); n += 7) {
		randombytes_buf(k, n);
		randombytes_buf(sl, n);
		for (size_t i = 0; i < n; i++)
			inf[i] = (char)('a' + (k[i] % 26));
		inf[n] = '\0';
		cr_assert_eq(age_hkdf(k, n, sl, n, inf, a, sizeof(a)), 0);
		hkdf(k, n, sl, n, inf, b);
		cr_assert_eq(memcmp(a, b, 32), 0, "key, salt and info of %zu bytes", n);
	}
}

/* Build a payload by hand: chunk i holds lens[i] bytes and carries flags[i]. */
static void
handmade_payload(const uint8_t fk[AGE_FILE_KEY_LEN], const size_t *lens, const int *flags,
                 int n, struct buf *out)
{
	static uint8_t pt[65536];
	uint8_t nonce[AGE_NONCE_LEN], key[32], cn[12];
	randombytes_buf(nonce, sizeof(nonce));
	hkdf(fk, AGE_FILE_KEY_LEN, nonce, sizeof(nonce), "payload", key);
	cr_assert_eq(buf_add(out, nonce, sizeof(nonce)), 0);
	for (int i = 0; i < n; i++) {
		unsigned long long clen;
		memset(cn, 0, sizeof(cn));
		cn[10] = (uint8_t)i;
		cn[11] = (uint8_t)flags[i];
		fill(pt, lens[i], (uint32_t)i);
		cr_assert_eq(buf_reserve(out, lens[i] + 16), 0);
		crypto_aead_chacha20poly1305_ietf_encrypt(out->data + out->len, &clen, pt, lens[i],
		                                          NULL, 0, NULL, cn, key);
		out->len += clen;
	}
}

/* Run a handmade payload through the decoder; return the result and released length. */
static int
handmade_result(const size_t *lens, const int *flags, int n, size_t *released)
{
	uint8_t fk[AGE_FILE_KEY_LEN];
	struct buf ct, out;
	buf_init(&ct, BIG);
	buf_init_secure(&out, BIG);
	age_file_key_new(fk);
	handmade_payload(fk, lens, flags, n, &ct);
	int rc = stream_decrypt(fk, ct.data, ct.len, &out);
	*released = out.len;
	buf_free(&ct);
	buf_free(&out);
	return rc;
}

Test(age, last_flag_rules)
{
	size_t rel;
	const size_t one[] = { 100 }, full1[] = { 65536 }, two[] = { 65536, 7 };
	const size_t empty[] = { 0 }, full_empty[] = { 65536, 0 };
	const int last[] = { 1 }, notlast[] = { 0 }, ok2[] = { 0, 1 }, both[] = { 1, 1 };
	const int none2[] = { 0, 0 }, first_last[] = { 1, 0 };
	cr_assert_eq(handmade_result(one, last, 1, &rel), AGE_OK, "independent STREAM agrees");
	cr_assert_eq(rel, 100);
	cr_assert_eq(handmade_result(empty, last, 1, &rel), AGE_OK, "empty plaintext");
	cr_assert_eq(handmade_result(full1, last, 1, &rel), AGE_OK, "full last chunk");
	cr_assert_eq(handmade_result(two, ok2, 2, &rel), AGE_OK);
	cr_assert_eq(rel, 65543);
	cr_assert_eq(handmade_result(one, notlast, 1, &rel), AGE_ERR_PAYLOAD, "last flag missing");
	cr_assert_eq(rel, 0);
	cr_assert_eq(handmade_result(full1, notlast, 1, &rel), AGE_ERR_PAYLOAD, "no final chunk");
	cr_assert_eq(handmade_result(two, none2, 2, &rel), AGE_ERR_PAYLOAD);
	cr_assert_eq(handmade_result(two, both, 2, &rel), AGE_ERR_PAYLOAD, "two final chunks");
	cr_assert_eq(rel, 65536, "the first final chunk is released, then the error");
	cr_assert_eq(handmade_result(two, first_last, 2, &rel), AGE_ERR_PAYLOAD);
	cr_assert_eq(handmade_result(full_empty, ok2, 2, &rel), AGE_ERR_PAYLOAD,
	             "empty last chunk after a full one");
}

Test(age, decoder_rejects_data_after_final_and_output_limit)
{
	static uint8_t pt[1000];
	uint8_t fk[AGE_FILE_KEY_LEN];
	struct buf ct, out;
	buf_init(&ct, BIG);
	buf_init_secure(&out, 999);
	age_file_key_new(fk);
	struct age_enc *e = age_enc_new(fk);
	cr_assert(age_enc_update(e, pt, sizeof(pt), &ct) == 0 && age_enc_final(e, &ct) == 0);
	age_enc_free(e);
	struct age_dec *d = age_dec_new(fk);
	cr_assert_eq(age_dec_update(d, ct.data, ct.len, &out), AGE_OK);
	cr_assert_eq(age_dec_final(d, &out), AGE_ERR_LIMIT, "output buffer max is honoured");
	age_dec_free(d);
	buf_free(&out);
	buf_init_secure(&out, BIG);
	d = age_dec_new(fk);
	cr_assert_eq(age_dec_update(d, ct.data, ct.len, &out), AGE_OK);
	cr_assert_eq(age_dec_final(d, &out), AGE_OK);
	cr_assert_eq(age_dec_update(d, (const uint8_t *)"x", 1, &out), AGE_ERR_PAYLOAD);
	age_dec_free(d);
	buf_free(&out);
	buf_free(&ct);
}

Test(age, wrong_key_and_low_order_recipient)
{
	struct buf ct, out;
	size_t hl;
	make_file(10, &ct, &hl);
	buf_init_secure(&out, BIG);
	cr_assert_eq(decrypt_with(2, ct.data, ct.len, &out), AGE_ERR_NO_MATCH);
	struct age_unwrap_opts none = { 0 };
	cr_assert_eq(age_decrypt(ct.data, ct.len, &none, &out), AGE_ERR_NO_MATCH);
	cr_assert_eq(out.len, 0);
	/* Several identities: the second one matches. */
	struct age_unwrap_opts two = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks[1], .nsks = 2 };
	cr_assert_eq(age_decrypt(ct.data, ct.len, &two, &out), AGE_OK);
	cr_assert_eq(out.len, 10);
	uint8_t zero[1][AGE_KEY_LEN] = { { 0 } }, fk[AGE_FILE_KEY_LEN];
	struct buf h;
	buf_init(&h, BIG);
	age_file_key_new(fk);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])zero, 1, &h), -1);
	cr_assert_eq(h.len, 0);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pks, 0, &h), -1);
	buf_free(&h);
	buf_free(&out);
	buf_free(&ct);
}

Test(age, scrypt_round_trip_and_limits)
{
	static const char pt[] = "tipline scrypt test";
	struct buf ct, out;
	buf_init(&ct, BIG);
	buf_init_secure(&out, BIG);
	cr_assert_eq(age_encrypt_scrypt((const uint8_t *)pt, sizeof(pt), "hunter2", 7, 10, &ct), 0);
	size_t hl;
	int nx, ns, no;
	cr_assert_eq(age_header_inspect(ct.data, ct.len, &hl, &nx, &ns, &no), AGE_OK);
	cr_assert(nx == 0 && ns == 1 && no == 0);
	cr_assert_not_null(memmem(ct.data, hl, " 10\n", 4), "work factor written in decimal");
	struct age_unwrap_opts o = { .pass = "hunter2", .passlen = 7, .max_logn = 10 };
	cr_assert_eq(age_decrypt(ct.data, ct.len, &o, &out), AGE_OK);
	cr_assert(out.len == sizeof(pt) && memcmp(out.data, pt, sizeof(pt)) == 0);
	buf_reset(&out);
	o.passlen = 6;
	cr_assert_eq(age_decrypt(ct.data, ct.len, &o, &out), AGE_ERR_NO_MATCH, "wrong passphrase");
	o.passlen = 7;
	o.max_logn = 9;
	cr_assert_eq(age_decrypt(ct.data, ct.len, &o, &out), AGE_ERR_LIMIT, "max_logn refusal");
	o.max_logn = 30;
	cr_assert_eq(age_decrypt(ct.data, ct.len, &o, &out), AGE_OK, "clamped to the cap");
	buf_reset(&out);
	struct age_unwrap_opts x = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks, .nsks = 1 };
	cr_assert_eq(age_decrypt(ct.data, ct.len, &x, &out), AGE_ERR_UNEXPECTED,
	             "no passphrase offered: scrypt refused");
	buf_reset(&ct);
	cr_assert_eq(age_encrypt_scrypt((const uint8_t *)pt, 1, "p", 1, 23, &ct), -1);
	cr_assert_eq(age_encrypt_scrypt((const uint8_t *)pt, 1, "p", 1, 0, &ct), -1);
	cr_assert_eq(ct.len, 0);
	buf_free(&ct);
	buf_free(&out);
}

/* A header of `n` unknown stanzas with `body` bytes each, then a dummy MAC. */
static void
grease_header(int n, size_t body, struct buf *h)
{
	static uint8_t zeros[48];
	char line[65];
	cr_assert_eq(buf_adds(h, "age-encryption.org/v1\n"), 0);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(buf_printf(h, "-> grease-%d a\n", i), 0);
		size_t left = body;
		do {
			size_t k = left >= 48 ? 48 : left;
			sodium_bin2base64(line, sizeof(line), zeros, k,
			                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
			cr_assert_eq(buf_printf(h, "%s\n", line), 0);
			left -= k;
			if (k < 48)
				break;
		} while (1);
	}
	cr_assert_eq(buf_adds(h, "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"), 0);
}

static int
inspect(const struct buf *h, int *n_other)
{
	size_t hl;
	int nx, ns;
	return age_header_inspect(h->data, h->len, &hl, &nx, &ns, n_other);
}

Test(age, stanza_and_size_limits)
{
	struct buf h, out;
	int no = 0;
	uint8_t fk[AGE_FILE_KEY_LEN];
	size_t hl;
	struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks, .nsks = 1 };
	buf_init(&h, BIG);
	buf_init_secure(&out, BIG);
	grease_header(16, 5, &h);
	cr_assert_eq(inspect(&h, &no), AGE_OK);
	cr_assert_eq(no, 16);
	cr_assert_eq(age_header_unwrap(h.data, h.len, &o, fk, &hl), AGE_ERR_NO_MATCH);
	buf_reset(&h);
	grease_header(17, 5, &h);
	cr_assert_eq(inspect(&h, &no), AGE_ERR_LIMIT);
	cr_assert_eq(age_header_unwrap(h.data, h.len, &o, fk, &hl), AGE_ERR_LIMIT);
	cr_assert_eq(age_decrypt(h.data, h.len, &o, &out), AGE_ERR_LIMIT);
	buf_reset(&h);
	grease_header(2, 30000, &h); /* about 80 KB of base64 */
	cr_assert_gt(h.len, AGE_MAX_HEADER);
	cr_assert_eq(inspect(&h, &no), AGE_ERR_LIMIT);
	cr_assert_eq(age_header_unwrap(h.data, h.len, &o, fk, &hl), AGE_ERR_LIMIT);
	buf_reset(&h);
	grease_header(2, 24000, &h); /* just under 64 KiB */
	cr_assert_lt(h.len, AGE_MAX_HEADER);
	cr_assert_eq(inspect(&h, &no), AGE_OK);
	buf_free(&h);
	buf_free(&out);
}

static int
inspect_str(const char *s)
{
	size_t hl;
	int nx, ns, no;
	return age_header_inspect((const uint8_t *)s, strlen(s), &hl, &nx, &ns, &no);
}

#define MAC "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
Test(age, header_syntax)
{
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a b\n\n" MAC), AGE_OK);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n" MAC), AGE_OK, "no stanza parses");
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a  b\n\n" MAC), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a b \n\n" MAC), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> \n\n" MAC), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\xc3\xa9\n\n" MAC), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\n" MAC), AGE_ERR_FORMAT, "no body");
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\nAA==\n" MAC), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\nAB\n" MAC), AGE_ERR_FORMAT,
	             "non-canonical base64");
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\nAA\n" MAC), AGE_OK);
	cr_assert_eq(inspect_str("age-encryption.org/v1\r\n-> a\n\n" MAC), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v2\n-> a\n\n" MAC), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\n\n--- AAAA\n"), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\n\n" MAC " "), AGE_OK,
	             "payload bytes after the header are not the header's business");
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	             AGE_ERR_FORMAT, "truncated MAC line");
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n" MAC), AGE_ERR_FORMAT,
	             "X25519 share of the wrong size");
#define SCRYPT "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 10\n" \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	cr_assert_eq(inspect_str("age-encryption.org/v1\n" SCRYPT MAC), AGE_OK);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n" SCRYPT "-> a\n\n" MAC), AGE_ERR_FORMAT,
	             "an scrypt stanza must be alone");
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> a\n\n" SCRYPT MAC), AGE_ERR_FORMAT);
	cr_assert_eq(inspect_str("age-encryption.org/v1\n-> scrypt AAAAAAAAAAAAAAAAAAAAAA 010\n"
	                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" MAC),
	             AGE_ERR_FORMAT, "work factor with a leading zero");
#undef SCRYPT
}

Test(age, bech32_keys)
{
	uint8_t sk[AGE_KEY_LEN], pk[AGE_KEY_LEN], pk2[AGE_KEY_LEN];
	char s[AGE_IDENTITY_STR_MAX], bad[AGE_IDENTITY_STR_MAX];
	cr_assert_eq(age_identity_decode(vec_identity, sk), 0);
	cr_assert_eq(age_public_of(sk, pk), 0);
	cr_assert_eq(age_recipient_encode(pk, s, sizeof(s)), 0);
	cr_assert_str_eq(s, vec_recipient, "same recipient as age-keygen -y");
	cr_assert_eq(age_recipient_decode(vec_recipient, pk2), 0);
	cr_assert_eq(memcmp(pk, pk2, sizeof(pk)), 0);
	cr_assert_eq(age_identity_encode(sk, s, sizeof(s)), 0);
	cr_assert_str_eq(s, vec_identity);
	cr_assert_eq(age_recipient_encode(pk, s, 62), -1, "62 chars need 63 bytes");
	cr_assert_eq(age_recipient_encode(pk, s, 63), 0);
	cr_assert_eq(strlen(s), 62);

	snprintf(bad, sizeof(bad), "%s", vec_identity);
	bad[20] = (char)(bad[20] - 'A' + 'a');
	cr_assert_eq(age_identity_decode(bad, sk), -1, "mixed case");
	for (char *p = bad; *p; p++)
		*p = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
	cr_assert_eq(age_identity_decode(bad, sk), -1, "identities are upper case");
	snprintf(bad, sizeof(bad), "%s", vec_identity);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'Q' ? 'P' : 'Q';
	cr_assert_eq(age_identity_decode(bad, sk), -1, "bad checksum");
	snprintf(bad, sizeof(bad), "%s", vec_recipient);
	bad[10] = bad[10] == 'q' ? 'p' : 'q';
	cr_assert_eq(age_recipient_decode(bad, pk), -1, "bad checksum");
	snprintf(bad, sizeof(bad), "%s", vec_recipient);
	bad[5] = (char)(bad[5] - 'a' + 'A');
	cr_assert_eq(age_recipient_decode(bad, pk), -1, "mixed case");
	for (char *p = bad; *p; p++)
		*p = (char)((*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p);
	cr_assert_eq(age_recipient_decode(bad, pk), -1, "recipients are lower case");
	cr_assert_eq(age_recipient_decode(vec_identity, pk), -1, "wrong HRP");
	cr_assert_eq(age_identity_decode(vec_recipient, sk), -1, "wrong HRP");
	snprintf(bad, sizeof(bad), "%.50s", vec_recipient);
	cr_assert_eq(age_recipient_decode(bad, pk), -1, "truncated");
	cr_assert_eq(age_recipient_decode("", pk), -1);
}

Test(age, bech32_bip173_vectors)
{
	static const char *valid[] = {
		"A12UEL5L", "a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		"?1ezyfcl",
	};
	static const char *invalid[] = {
		"\x20" "1nwldj5", "\x7f" "1axkwrx", "pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v",
		"li1dgmt3", "de1lg7wt\xff", "A1G7SGD8", "10a06t8", "1qzzfhee", "A12uEL5L",
		"a12uel5m", /* BIP 350: a Bech32m checksum is not Bech32 */
		"a1lqfn3a",
	};
	char hrp[BECH32_HRP_MAX + 1];
	uint8_t data[64];
	size_t n;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		cr_expect_eq(bech32_decode(valid[i], hrp, data, sizeof(data), &n), 0, "%s", valid[i]);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		cr_expect_eq(bech32_decode(invalid[i], hrp, data, sizeof(data), &n), -1, "%s",
		             invalid[i]);
	cr_assert_eq(bech32_decode("A12UEL5L", hrp, data, sizeof(data), &n), 0);
	cr_assert_str_eq(hrp, "A");
	cr_assert_eq(n, 0);
	char out[16];
	cr_assert_eq(bech32_encode("a", data, 0, true, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "A12UEL5L");
	cr_assert_eq(bech32_encode("A", data, 0, false, out, sizeof(out)), -1, "upper-case HRP");
}

/* libsodium 1.0.18 decodes bytes >= 0x80 as if they were base64 letters: a
 * stanza body with such a byte must be a format error, not a key. */
Test(age, non_ascii_in_stanza_body_is_a_format_error)
{
	struct buf ct, out;
	size_t hl;
	make_file(10, &ct, &hl);
	buf_init_secure(&out, BIG);
	/* The body line follows the "-> X25519 …" line. */
	uint8_t *stanza = memmem(ct.data, hl, "-> X25519 ", 10);
	cr_assert_not_null(stanza);
	uint8_t *body = memchr(stanza, '\n', hl - (size_t)(stanza - ct.data));
	cr_assert_not_null(body);
	body[5] = 0xC3;
	int rc = decrypt_with(0, ct.data, ct.len, &out);
	cr_assert_eq(rc, AGE_ERR_FORMAT, "got %d (%s)", rc, age_strerror(rc));
	cr_assert_eq(out.len, 0);
	buf_free(&out);
	buf_free(&ct);
}
