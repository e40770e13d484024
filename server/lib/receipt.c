#include "receipt.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct receipt_pepper {
	uint8_t key[RECEIPT_PEPPER_LEN];
};

/* The standard order-10 weakly totally anti-symmetric quasigroup (Damm 2004). */
static const uint8_t damm_table[10][10] = {
	{ 0, 3, 1, 7, 5, 9, 8, 6, 4, 2 }, { 7, 0, 9, 2, 1, 5, 4, 8, 6, 3 },
	{ 4, 2, 0, 6, 8, 7, 1, 3, 5, 9 }, { 1, 7, 5, 0, 9, 8, 3, 4, 2, 6 },
	{ 6, 1, 2, 3, 0, 4, 5, 9, 7, 8 }, { 3, 6, 7, 4, 2, 0, 9, 5, 8, 1 },
	{ 5, 8, 6, 9, 7, 2, 0, 1, 3, 4 }, { 8, 9, 4, 5, 3, 6, 2, 0, 1, 7 },
	{ 9, 4, 3, 8, 6, 1, 7, 2, 0, 5 }, { 2, 5, 8, 1, 4, 3, 6, 7, 9, 0 },
};

int
receipt_damm(const char *digits, size_t n)
{
	unsigned interim = 0;
	for (size_t i = 0; i < n; i++)
		interim = damm_table[interim][(unsigned)(digits[i] - '0') % 10];
	return (int)interim;
}

void
receipt_new(char digits[RECEIPT_DIGITS])
{
	uint8_t pool[64];
	size_t used = sizeof(pool);
	size_t n = 0;
	while (n < RECEIPT_RANDOM_DIGITS) {
		if (used == sizeof(pool)) {
			randombytes_buf(pool, sizeof(pool));
			used = 0;
		}
		uint8_t b = pool[used++];
		if (b >= 250) /* 250 = 25 * 10: keep the digits uniform */
			continue;
		digits[n++] = (char)('0' + b % 10);
	}
	digits[RECEIPT_RANDOM_DIGITS] = (char)('0' + receipt_damm(digits, RECEIPT_RANDOM_DIGITS));
	sodium_memzero(pool, sizeof(pool));
}

void
receipt_format(const char digits[RECEIPT_DIGITS], char out[RECEIPT_STR_LEN])
{
	size_t o = 0;
	for (size_t i = 0; i < RECEIPT_DIGITS; i++) {
		if (i > 0 && i % 5 == 0)
			out[o++] = '-';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* Return the digit value of `cp` in any accepted script, or -1. */
static int
receipt_digit_value(uint32_t cp)
{
	static const uint32_t zeros[] = { 0x30, 0x660, 0x6f0, 0x966, 0xff10 };
	for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
		if (cp >= zeros[i] && cp <= zeros[i] + 9)
			return (int)(cp - zeros[i]);
	}
	return -1;
}

/* Return 1 if `cp` is a separator or invisible mark that is dropped, else 0. */
static int
receipt_is_ignorable(uint32_t cp)
{
	if (cp == ' ' || cp == '\t' || cp == '-' || cp == 0xa0 || cp == 0x2212 || cp == 0xff0d ||
	    cp == 0x202f || cp == 0x061c)
		return 1;
	if (cp >= 0x2010 && cp <= 0x2015) /* hyphens and dashes */
		return 1;
	if (cp >= 0x2000 && cp <= 0x200f) /* spaces, zero-width chars, LRM/RLM */
		return 1;
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) /* bidi controls */
		return 1;
	return 0;
}

enum receipt_result
receipt_normalize(const char *utf8, size_t len, char out[RECEIPT_DIGITS])
{
	const uint8_t *p = (const uint8_t *)utf8;
	size_t pos = 0;
	size_t nd = 0;
	if (len > RECEIPT_INPUT_MAX)
		goto fail;
	while (pos < len) {
		uint32_t cp;
		size_t l = proto_utf8_next(p + pos, len - pos, &cp);
		if (l == 0)
			goto fail;
		pos += l;
		int d = receipt_digit_value(cp);
		if (d >= 0) {
			if (nd == RECEIPT_DIGITS)
				goto fail;
			out[nd++] = (char)('0' + d);
		} else if (!receipt_is_ignorable(cp)) {
			goto fail;
		}
	}
	if (nd != RECEIPT_DIGITS)
		goto fail;
	if (receipt_damm(out, RECEIPT_DIGITS) != 0) {
		sodium_memzero(out, RECEIPT_DIGITS);
		return RECEIPT_ERR_CHECK;
	}
	return RECEIPT_OK;
fail:
	sodium_memzero(out, RECEIPT_DIGITS);
	return RECEIPT_ERR_FORMAT;
}

struct receipt_pepper *
receipt_pepper_from_bytes(const uint8_t key[RECEIPT_PEPPER_LEN])
{
	struct receipt_pepper *p = NULL;
	if (sodium_init() < 0 || (p = sodium_malloc(sizeof(*p))) == NULL)
		return NULL;
	memcpy(p->key, key, RECEIPT_PEPPER_LEN);
	return p;
}

/* Read at most `max` bytes of `fd` into `out`; return the count, or -1 (also past max). */
static ssize_t
read_small(int fd, char *out, size_t max)
{
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, out + got, max - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return (ssize_t)got;
		got += (size_t)r;
		if (got == max) /* one byte more than a valid file may hold */
			return -1;
	}
}

struct receipt_pepper *
receipt_pepper_load(const char *path)
{
	char text[2 * RECEIPT_PEPPER_LEN + 2];
	struct receipt_pepper *p = NULL;
	ssize_t n = -1;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto fail;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		goto fail;
	n = read_small(fd, text, sizeof(text));
	if (n == 2 * RECEIPT_PEPPER_LEN + 1 && text[n - 1] == '\n')
		n--;
	if (n != 2 * RECEIPT_PEPPER_LEN)
		goto fail;
	if (sodium_init() < 0 || (p = sodium_malloc(sizeof(*p))) == NULL)
		goto fail;
	size_t binlen = 0;
	const char *end = NULL;
	if (sodium_hex2bin(p->key, sizeof(p->key), text, (size_t)n, NULL, &binlen, &end) != 0 ||
	    binlen != RECEIPT_PEPPER_LEN || end != text + n)
		goto fail;
	sodium_memzero(text, sizeof(text));
	close(fd);
	return p;
fail:
	sodium_memzero(text, sizeof(text));
	receipt_pepper_free(p);
	if (fd >= 0)
		close(fd);
	return NULL;
}

void
receipt_pepper_free(struct receipt_pepper *p)
{
	if (p != NULL)
		sodium_free(p); /* wipes */
}

/* BLAKE2b-256 keyed with the pepper and personalized with `pers` over the 29 digits. */
static int
receipt_derive(const struct receipt_pepper *p, const char digits[RECEIPT_DIGITS],
               const char pers[16], uint8_t out[32])
{
	uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES];
	memcpy(personal, pers, sizeof(personal));
	for (size_t i = 0; i < RECEIPT_RANDOM_DIGITS; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return -1;
	}
	if (crypto_generichash_blake2b_salt_personal(out, 32, (const uint8_t *)digits,
	                                             RECEIPT_RANDOM_DIGITS, p->key,
	                                             RECEIPT_PEPPER_LEN, NULL, personal) != 0)
		return -1;
	return 0;
}

int
receipt_lookup_id(const struct receipt_pepper *p, const char digits[RECEIPT_DIGITS],
                  uint8_t id[RECEIPT_ID_LEN])
{
	return receipt_derive(p, digits, "tipline-lookup01", id);
}

int
receipt_share_key(const struct receipt_pepper *p, uint8_t key[32])
{
	uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES];
	memcpy(personal, "tipline-pshare01", sizeof(personal));
	if (crypto_generichash_blake2b_salt_personal(key, 32, NULL, 0, p->key, RECEIPT_PEPPER_LEN,
	                                             NULL, personal) != 0) {
		sodium_memzero(key, 32);
		return -1;
	}
	return 0;
}

int
receipt_source_key(const struct receipt_pepper *p, const char digits[RECEIPT_DIGITS],
                   uint8_t pk[RECEIPT_KEY_LEN], uint8_t sk[RECEIPT_KEY_LEN])
{
	if (receipt_derive(p, digits, "tipline-srckey01", sk) != 0)
		goto fail;
	if (crypto_scalarmult_base(pk, sk) != 0)
		goto fail;
	return 0;
fail:
	sodium_memzero(sk, RECEIPT_KEY_LEN);
	return -1;
}

int
receipt_source_sign_key(const struct receipt_pepper *p, const char digits[RECEIPT_DIGITS],
                        uint8_t pk[RECEIPT_SIGN_PK_LEN], uint8_t sk[RECEIPT_SIGN_SK_LEN])
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	int rc = -1;
	if (receipt_derive(p, digits, "tipline-srcsig01", seed) == 0 &&
	    crypto_sign_seed_keypair(pk, sk, seed) == 0)
		rc = 0;
	sodium_memzero(seed, sizeof(seed));
	if (rc != 0)
		sodium_memzero(sk, RECEIPT_SIGN_SK_LEN);
	return rc;
}

int
receipt_pepper_check(const struct receipt_pepper *p, uint8_t out[32])
{
	return proto_key_check(p->key, sizeof(p->key), "receipt-pepper", out);
}
