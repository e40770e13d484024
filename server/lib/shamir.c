/*
 * shamir: k-of-n secret sharing over GF(2^8) and the share text form
 * (see shamir.h).
 */
#include "shamir.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SHARE_PREFIX "tipline-share1-"
#define SHARE_CHECK_LABEL "tipline/v1/share\n"

uint8_t
shamir_gf_mul(uint8_t a, uint8_t b)
{
	uint8_t p = 0;
	for (int i = 0; i < 8; i++) {
		p ^= (uint8_t)(-(b & 1) & a);
		uint8_t hi = (uint8_t)-(a >> 7);
		a = (uint8_t)((a << 1) ^ (0x1b & hi));
		b >>= 1;
	}
	return p;
}

uint8_t
shamir_gf_inv(uint8_t a)
{
	/* a^254 = a^-1 for a != 0 (the multiplicative group has order 255). */
	uint8_t x = shamir_gf_mul(a, a); /* a^2 */
	uint8_t r = x;
	for (int i = 0; i < 6; i++) {
		x = shamir_gf_mul(x, x); /* a^4 .. a^128 */
		r = shamir_gf_mul(r, x);
	}
	return r;
}

int
shamir_split(const uint8_t *secret, size_t len, unsigned k, unsigned n, uint8_t *ys)
{
	uint8_t coef[SHAMIR_MAX_SHARES];
	if (k < 2 || k > n || n > SHAMIR_MAX_SHARES || (len > 0 && (secret == NULL || ys == NULL)))
		return -1;
	for (size_t b = 0; b < len; b++) {
		coef[0] = secret[b];
		randombytes_buf(coef + 1, k - 1);
		for (unsigned i = 0; i < n; i++) {
			uint8_t x = (uint8_t)(i + 1), y = 0;
			for (unsigned j = k; j-- > 0;) /* Horner */
				y = (uint8_t)(shamir_gf_mul(y, x) ^ coef[j]);
			ys[(size_t)i * len + b] = y;
		}
	}
	sodium_memzero(coef, sizeof(coef));
	return 0;
}

int
shamir_combine(const uint8_t *xs, const uint8_t *ys, size_t count, size_t len, uint8_t *out)
{
	uint8_t lag[SHAMIR_MAX_SHARES];
	if (count == 0 || count > SHAMIR_MAX_SHARES || xs == NULL)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (xs[i] == 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (xs[i] == xs[j])
				return -1;
	}
	/* Lagrange basis at 0: L_i = prod_{j != i} x_j / (x_j - x_i); minus is xor. */
	for (size_t i = 0; i < count; i++) {
		uint8_t num = 1, den = 1;
		for (size_t j = 0; j < count; j++) {
			if (j == i)
				continue;
			num = shamir_gf_mul(num, xs[j]);
			den = shamir_gf_mul(den, (uint8_t)(xs[j] ^ xs[i]));
		}
		lag[i] = shamir_gf_mul(num, shamir_gf_inv(den));
	}
	for (size_t b = 0; b < len; b++) {
		uint8_t s = 0;
		for (size_t i = 0; i < count; i++)
			s ^= shamir_gf_mul(ys[i * len + b], lag[i]);
		out[b] = s;
	}
	return 0;
}

/* The check of the text `body` (everything before "-<check>"). */
static void
share_check(const char *body, size_t n, uint8_t out[4])
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)SHARE_CHECK_LABEL,
	                          sizeof(SHARE_CHECK_LABEL) - 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)body, n);
	crypto_hash_sha256_final(&st, h);
	memcpy(out, h, 4);
}

void
shamir_share_format(const struct shamir_share *s, char out[SHAMIR_TEXT_MAX])
{
	char set[2 * SHAMIR_SET_LEN + 1], y[2 * SHAMIR_SECRET_LEN + 1], chk[9];
	uint8_t c[4];
	sodium_bin2hex(set, sizeof(set), s->set, SHAMIR_SET_LEN);
	sodium_bin2hex(y, sizeof(y), s->y, SHAMIR_SECRET_LEN);
	int n = snprintf(out, SHAMIR_TEXT_MAX, SHARE_PREFIX "%uof%u-%u-%s-%s", s->k, s->n, s->x,
	                 set, y);
	share_check(out, (size_t)n, c);
	sodium_bin2hex(chk, sizeof(chk), c, 4);
	snprintf(out + n, SHAMIR_TEXT_MAX - (size_t)n, "-%s", chk);
	sodium_memzero(y, sizeof(y));
}

/* Read a decimal 0..255 without a leading zero at *p (up to `end`). */
static int
read_small(const char **p, const char *end, uint8_t *out)
{
	unsigned v = 0;
	size_t n = 0;
	while (*p + n < end && n < 4 && (*p)[n] >= '0' && (*p)[n] <= '9') {
		v = v * 10 + (unsigned)((*p)[n] - '0');
		n++;
	}
	if (n == 0 || n > 3 || (n > 1 && (*p)[0] == '0') || v > 255)
		return -1;
	*p += n;
	*out = (uint8_t)v;
	return 0;
}

/* Read exactly `n` bytes of lower-case hex at *p, then expect `sep` (or the end if 0). */
static int
read_hex(const char **p, const char *end, uint8_t *out, size_t n, char sep)
{
	if ((size_t)(end - *p) < 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		char ch = (*p)[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -1;
	}
	if (sodium_hex2bin(out, n, *p, 2 * n, NULL, NULL, NULL) != 0)
		return -1;
	*p += 2 * n;
	if (sep == 0)
		return *p == end ? 0 : -1;
	if (*p >= end || **p != sep)
		return -1;
	(*p)++;
	return 0;
}

enum shamir_parse_result
shamir_share_parse(const char *text, size_t len, struct shamir_share *s)
{
	const char *p = text, *end = text + len;
	uint8_t chk[4], want[4];
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	const char *body = p;
	memset(s, 0, sizeof(*s));
	if ((size_t)(end - p) >= SHAMIR_TEXT_MAX || (size_t)(end - p) < sizeof(SHARE_PREFIX) ||
	    memcmp(p, SHARE_PREFIX, sizeof(SHARE_PREFIX) - 1) != 0)
		return SHAMIR_ERR_FORMAT;
	p += sizeof(SHARE_PREFIX) - 1;
	if (read_small(&p, end, &s->k) != 0 || end - p < 2 || p[0] != 'o' || p[1] != 'f')
		goto bad;
	p += 2;
	if (read_small(&p, end, &s->n) != 0 || p >= end || *p++ != '-' ||
	    read_small(&p, end, &s->x) != 0 || p >= end || *p++ != '-' ||
	    read_hex(&p, end, s->set, SHAMIR_SET_LEN, '-') != 0 ||
	    read_hex(&p, end, s->y, SHAMIR_SECRET_LEN, '-') != 0)
		goto bad;
	size_t body_len = (size_t)(p - 1 - body);
	if (read_hex(&p, end, chk, 4, 0) != 0)
		goto bad;
	share_check(body, body_len, want);
	if (sodium_memcmp(chk, want, 4) != 0) {
		sodium_memzero(s, sizeof(*s));
		return SHAMIR_ERR_CHECK;
	}
	if (s->k < 2 || s->k > s->n || s->x == 0 || s->x > s->n) {
		sodium_memzero(s, sizeof(*s));
		return SHAMIR_ERR_RANGE;
	}
	return SHAMIR_OK;
bad:
	sodium_memzero(s, sizeof(*s));
	return SHAMIR_ERR_FORMAT;
}
