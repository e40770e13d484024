/* Tests for receipt: generation, the Damm check digit, normalization, derivation. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "receipt.h"

static char tmpdir[64];

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
}

static void
teardown(void)
{
	char cmd[128];
	if (tmpdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(receipt, .init = setup, .fini = teardown);

static struct receipt_pepper *
pepper_of(uint8_t fill)
{
	uint8_t k[RECEIPT_PEPPER_LEN];
	memset(k, fill, sizeof(k));
	struct receipt_pepper *p = receipt_pepper_from_bytes(k);
	cr_assert_not_null(p);
	return p;
}

Test(receipt, damm_known_vector)
{
	/* The textbook example: 572 has check digit 4, and 5724 checks to 0. */
	cr_assert_eq(receipt_damm("572", 3), 4);
	cr_assert_eq(receipt_damm("5724", 4), 0);
	cr_assert_eq(receipt_damm("5734", 4) == 0, 0);
}

Test(receipt, new_receipts_are_valid_and_formatted)
{
	unsigned counts[10] = { 0 };
	for (int r = 0; r < 2000; r++) {
		char d[RECEIPT_DIGITS];
		char s[RECEIPT_STR_LEN];
		receipt_new(d);
		cr_assert_eq(receipt_damm(d, RECEIPT_DIGITS), 0);
		receipt_format(d, s);
		cr_assert_eq(strlen(s), 35);
		for (int i = 0; i < 35; i++) {
			if (i % 6 == 5)
				cr_assert_eq(s[i], '-', "hyphen expected at %d in %s", i, s);
			else
				cr_assert(s[i] >= '0' && s[i] <= '9');
		}
		for (int i = 0; i < RECEIPT_RANDOM_DIGITS; i++)
			counts[d[i] - '0']++;
		char back[RECEIPT_DIGITS];
		cr_assert_eq(receipt_normalize(s, strlen(s), back), RECEIPT_OK);
		cr_assert_eq(memcmp(back, d, RECEIPT_DIGITS), 0);
	}
	/* 58,000 digits: each value expected 5,800 times; a biased sampler
	 * (e.g. b % 10 without rejection) would skew 0..5 by about 2%. */
	for (int i = 0; i < 10; i++)
		cr_assert(counts[i] > 5400 && counts[i] < 6200, "digit %d seen %u times", i,
		          counts[i]);
}

Test(receipt, check_digit_catches_every_substitution_and_transposition)
{
	for (int r = 0; r < 300; r++) {
		char d[RECEIPT_DIGITS];
		receipt_new(d);
		for (int i = 0; i < RECEIPT_DIGITS; i++) {
			char orig = d[i];
			for (char c = '0'; c <= '9'; c++) {
				if (c == orig)
					continue;
				d[i] = c;
				char out[RECEIPT_DIGITS];
				cr_assert_eq(receipt_normalize(d, RECEIPT_DIGITS, out), RECEIPT_ERR_CHECK,
				             "substitution at %d not caught", i);
			}
			d[i] = orig;
		}
		for (int i = 0; i + 1 < RECEIPT_DIGITS; i++) {
			if (d[i] == d[i + 1])
				continue;
			char t = d[i];
			d[i] = d[i + 1];
			d[i + 1] = t;
			cr_assert_neq(receipt_damm(d, RECEIPT_DIGITS), 0, "transposition at %d", i);
			d[i + 1] = d[i];
			d[i] = t;
		}
		cr_assert_eq(receipt_damm(d, RECEIPT_DIGITS), 0);
	}
}

/* Append the UTF-8 of code point `cp` to `b`. */
static void
put_cp(struct buf *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | (cp >> 6));
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else {
		u[0] = (uint8_t)(0xe0 | (cp >> 12));
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	}
	cr_assert_eq(buf_add(b, u, n), 0);
}

Test(receipt, every_script_normalizes_to_the_same_lookup_id)
{
	static const uint32_t zeros[] = { '0', 0x660, 0x6f0, 0x966, 0xff10 };
	static const uint32_t seps[] = { ' ',    '\t',   '-',    0x2010, 0x2013, 0x2015, 0x2212,
		                         0xff0d, 0xa0,   0x202f, 0x2000, 0x2009, 0x200b, 0x200d,
		                         0x200e, 0x200f, 0x61c,  0x202a, 0x202e, 0x2066, 0x2069 };
	struct receipt_pepper *p = pepper_of(7);
	char d[RECEIPT_DIGITS];
	uint8_t want[RECEIPT_ID_LEN];
	receipt_new(d);
	cr_assert_eq(receipt_lookup_id(p, d, want), 0);
	for (size_t z = 0; z < sizeof(zeros) / sizeof(zeros[0]); z++) {
		struct buf b;
		buf_init(&b, 4096);
		put_cp(&b, 0x200f); /* a leading RLM, as pasted from an RTL page */
		for (int i = 0; i < RECEIPT_DIGITS; i++) {
			/* mix scripts: every third digit stays in ASCII */
			uint32_t zero = (i % 3 == 2) ? '0' : zeros[z];
			put_cp(&b, zero + (uint32_t)(d[i] - '0'));
			if (i % 5 == 4)
				put_cp(&b, seps[(z * 7 + (size_t)i) % (sizeof(seps) / sizeof(seps[0]))]);
		}
		char out[RECEIPT_DIGITS];
		uint8_t id[RECEIPT_ID_LEN];
		cr_assert_eq(receipt_normalize((const char *)b.data, b.len, out), RECEIPT_OK,
		             "script %zu", z);
		cr_assert_eq(memcmp(out, d, RECEIPT_DIGITS), 0);
		cr_assert_eq(receipt_lookup_id(p, out, id), 0);
		cr_assert_eq(memcmp(id, want, sizeof(id)), 0);
		buf_free(&b);
	}
	/* Every separator on its own is dropped. */
	for (size_t s = 0; s < sizeof(seps) / sizeof(seps[0]); s++) {
		struct buf b;
		buf_init(&b, 4096);
		cr_assert_eq(buf_add(&b, d, 15), 0);
		put_cp(&b, seps[s]);
		cr_assert_eq(buf_add(&b, d + 15, 15), 0);
		char out[RECEIPT_DIGITS];
		cr_assert_eq(receipt_normalize((const char *)b.data, b.len, out), RECEIPT_OK,
		             "separator U+%04X", (unsigned)seps[s]);
		buf_free(&b);
	}
	receipt_pepper_free(p);
}

static enum receipt_result
norm(const char *s)
{
	char out[RECEIPT_DIGITS];
	return receipt_normalize(s, strlen(s), out);
}

Test(receipt, malformed_input_is_rejected)
{
	char d[RECEIPT_DIGITS];
	char s[RECEIPT_STR_LEN];
	char tmp[128];
	receipt_new(d);
	receipt_format(d, s);
	cr_assert_eq(norm(s), RECEIPT_OK);
	/* 29 and 31 digits */
	cr_assert_eq(norm(s + 1), RECEIPT_ERR_FORMAT);
	snprintf(tmp, sizeof(tmp), "%s0", s);
	cr_assert_eq(norm(tmp), RECEIPT_ERR_FORMAT);
	snprintf(tmp, sizeof(tmp), "0%s", s);
	cr_assert_eq(norm(tmp), RECEIPT_ERR_FORMAT);
	cr_assert_eq(norm(""), RECEIPT_ERR_FORMAT);
	/* letters, punctuation, other scripts' digits, other controls */
	static const char *bad[] = { "a", "O", ".", "/", "\n", "\r", "_", "\xd9\xab" /* U+066B */,
		                     "\xe0\xa5\xb0" /* U+0970 */, "\xef\xbc\x9a" /* U+FF1A */,
		                     "\xe0\xa7\xa6" /* Bengali zero */, "\xc2\xad" /* soft hyphen */ };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(tmp, sizeof(tmp), "%.17s%s%s", s, bad[i], s + 17);
		cr_assert_eq(norm(tmp), RECEIPT_ERR_FORMAT, "bad char #%zu accepted", i);
	}
	/* bad UTF-8: overlong '0', lone continuation, truncated, surrogate, > U+10FFFF */
	static const char *badutf[] = { "\xc0\xb0", "\x80", "\xd9", "\xed\xa0\x80",
		                        "\xf4\x90\x80\x80", "\xe0\x80\xb0", "\xff" };
	for (size_t i = 0; i < sizeof(badutf) / sizeof(badutf[0]); i++) {
		snprintf(tmp, sizeof(tmp), "%.17s%s%s", s, badutf[i], s + 17);
		cr_assert_eq(norm(tmp), RECEIPT_ERR_FORMAT, "bad UTF-8 #%zu accepted", i);
	}
	/* a truncated sequence at the very end */
	snprintf(tmp, sizeof(tmp), "%s\xd9", s);
	cr_assert_eq(norm(tmp), RECEIPT_ERR_FORMAT);
	/* an embedded NUL is not a separator */
	char withnul[RECEIPT_STR_LEN + 1];
	memcpy(withnul, s, 10);
	withnul[10] = '\0';
	memcpy(withnul + 11, s + 10, sizeof(withnul) - 11);
	char out[RECEIPT_DIGITS];
	cr_assert_eq(receipt_normalize(withnul, 36, out), RECEIPT_ERR_FORMAT);
	/* a typo in the check digit */
	snprintf(tmp, sizeof(tmp), "%s", s);
	tmp[34] = tmp[34] == '9' ? '0' : (char)(tmp[34] + 1);
	cr_assert_eq(norm(tmp), RECEIPT_ERR_CHECK);
	/* a huge input of separators is refused without scanning forever */
	static char big[RECEIPT_INPUT_MAX + 100];
	memset(big, ' ', sizeof(big));
	memcpy(big, s, strlen(s));
	cr_assert_eq(receipt_normalize(big, sizeof(big), out), RECEIPT_ERR_FORMAT);
	cr_assert_eq(receipt_normalize(big, RECEIPT_INPUT_MAX, out), RECEIPT_OK);
}

Test(receipt, derivations_differ_by_pepper_and_purpose)
{
	struct receipt_pepper *p1 = pepper_of(1), *p2 = pepper_of(2);
	char d[RECEIPT_DIGITS], d2[RECEIPT_DIGITS];
	uint8_t id1[32], id1b[32], id2[32], idd[32], pk[32], sk[32], pkb[32], skb[32], chk[32];
	receipt_new(d);
	receipt_new(d2);
	cr_assert_eq(receipt_lookup_id(p1, d, id1), 0);
	cr_assert_eq(receipt_lookup_id(p1, d, id1b), 0);
	cr_assert_eq(receipt_lookup_id(p2, d, id2), 0);
	cr_assert_eq(receipt_lookup_id(p1, d2, idd), 0);
	cr_assert_eq(memcmp(id1, id1b, 32), 0, "derivation must be deterministic");
	cr_assert_neq(memcmp(id1, id2, 32), 0, "peppers must separate deployments");
	cr_assert_neq(memcmp(id1, idd, 32), 0);
	cr_assert_eq(receipt_source_key(p1, d, pk, sk), 0);
	cr_assert_eq(receipt_source_key(p1, d, pkb, skb), 0);
	cr_assert_eq(memcmp(pk, pkb, 32), 0);
	cr_assert_neq(memcmp(sk, id1, 32), 0, "lookup id must not be the source key");
	cr_assert_neq(memcmp(pk, id1, 32), 0);
	cr_assert_eq(crypto_scalarmult_base(chk, sk), 0);
	cr_assert_eq(memcmp(chk, pk, 32), 0);
	/* Non-digits in a supposedly normalized receipt are refused. */
	char bad[RECEIPT_DIGITS];
	memcpy(bad, d, sizeof(bad));
	bad[3] = 'x';
	cr_assert_eq(receipt_lookup_id(p1, bad, id2), -1);
	receipt_pepper_free(p1);
	receipt_pepper_free(p2);
}

Test(receipt, source_sign_key_is_its_own_derivation)
{
	struct receipt_pepper *p1 = pepper_of(1), *p2 = pepper_of(2);
	char d[RECEIPT_DIGITS];
	uint8_t id[32], xpk[32], xsk[32], pk[32], pkb[32], pk2[32], sk[64], skb[64], sig[64];
	receipt_new(d);
	cr_assert_eq(receipt_lookup_id(p1, d, id), 0);
	cr_assert_eq(receipt_source_key(p1, d, xpk, xsk), 0);
	cr_assert_eq(receipt_source_sign_key(p1, d, pk, sk), 0);
	cr_assert_eq(receipt_source_sign_key(p1, d, pkb, skb), 0);
	cr_assert_eq(receipt_source_sign_key(p2, d, pk2, skb), 0);
	cr_assert_eq(memcmp(pk, pkb, 32), 0, "derivation must be deterministic");
	cr_assert_neq(memcmp(pk, pk2, 32), 0, "peppers must separate deployments");
	cr_assert_neq(memcmp(sk, xsk, 32), 0, "the signing seed must not be the X25519 key");
	cr_assert_neq(memcmp(sk, id, 32), 0, "the signing seed must not be the lookup id");
	cr_assert_neq(memcmp(pk, xpk, 32), 0);
	cr_assert_eq(crypto_sign_detached(sig, NULL, (const uint8_t *)"m", 1, sk), 0);
	cr_assert_eq(crypto_sign_verify_detached(sig, (const uint8_t *)"m", 1, pk), 0);
	/* Pinned: BLAKE2b-256(key = 32 x 0x01, personalization "tipline-srcsig01",
	 * the 29 digits) is the Ed25519 seed (computed independently with
	 * Python's hashlib and OpenSSL). Changing it would make every message of
	 * every existing report fail to verify. */
	static const char digits[] = "123456789012345678901234567890";
	char hex[65];
	cr_assert_eq(receipt_lookup_id(p1, digits, id), 0);
	sodium_bin2hex(hex, sizeof(hex), id, 32);
	cr_assert_str_eq(hex, "13aa0392b8fda9a835ba8e8e0ccb010e1d45656b79c168e4d548d641a544b3f0");
	cr_assert_eq(receipt_source_sign_key(p1, digits, pk, sk), 0);
	sodium_bin2hex(hex, sizeof(hex), pk, 32);
	cr_assert_str_eq(hex, "36e2e1e8d3fd37de99a61fa80c8895cdbd8cdea10934adc67076bfa865e3c627");
	char bad[RECEIPT_DIGITS];
	memcpy(bad, d, sizeof(bad));
	bad[3] = 'x';
	cr_assert_eq(receipt_source_sign_key(p1, bad, pk, sk), -1);
	receipt_pepper_free(p1);
	receipt_pepper_free(p2);
}

/* Write `text` to a fresh file in a temp dir with `mode`; return its path (static). */
static const char *
write_pepper(const char *text, size_t len, mode_t mode)
{
	static char path[128];
	static int n;
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_receipt.XXXXXX");
		cr_assert_not_null(mkdtemp(tmpdir));
	}
	snprintf(path, sizeof(path), "%s/pepper%d", tmpdir, n++);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

Test(receipt, pepper_file_loading)
{
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	uint8_t raw[32];
	for (int i = 0; i < 32; i++)
		raw[i] = (uint8_t)i;
	struct receipt_pepper *ref = receipt_pepper_from_bytes(raw);
	char d[RECEIPT_DIGITS];
	uint8_t want[32], got[32];
	receipt_new(d);
	cr_assert_eq(receipt_lookup_id(ref, d, want), 0);

	char text[80];
	snprintf(text, sizeof(text), "%s\n", hex);
	struct receipt_pepper *p = receipt_pepper_load(write_pepper(text, 65, 0600));
	cr_assert_not_null(p, "valid pepper with newline refused");
	cr_assert_eq(receipt_lookup_id(p, d, got), 0);
	cr_assert_eq(memcmp(got, want, 32), 0);
	receipt_pepper_free(p);
	p = receipt_pepper_load(write_pepper(text, 64, 0400));
	cr_assert_not_null(p, "valid pepper without newline refused");
	receipt_pepper_free(p);

	cr_assert_null(receipt_pepper_load(write_pepper(text, 65, 0644)), "world-readable accepted");
	cr_assert_null(receipt_pepper_load(write_pepper(text, 65, 0640)), "group-readable accepted");
	cr_assert_null(receipt_pepper_load(write_pepper(text, 63, 0600)), "short pepper accepted");
	cr_assert_null(receipt_pepper_load(write_pepper("", 0, 0600)), "empty pepper accepted");
	snprintf(text, sizeof(text), "%s\n\n", hex);
	cr_assert_null(receipt_pepper_load(write_pepper(text, 66, 0600)), "two newlines accepted");
	snprintf(text, sizeof(text), "%.63sg\n", hex);
	cr_assert_null(receipt_pepper_load(write_pepper(text, 65, 0600)), "non-hex accepted");
	snprintf(text, sizeof(text), "%s00\n", hex);
	cr_assert_null(receipt_pepper_load(write_pepper(text, 67, 0600)), "long pepper accepted");
	cr_assert_null(receipt_pepper_load("/nonexistent/pepper"));
	receipt_pepper_free(ref);
	receipt_pepper_free(NULL);
}
