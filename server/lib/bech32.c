/*
 * bech32: BIP 173 Bech32, as used by age for its recipients and identities.
 */
#include "bech32.h"

#include <sodium.h>
#include <string.h>

#define BECH32_STR_MAX 1024 /* longest string bech32_decode() looks at */
#define BECH32_DATA5_MAX (BECH32_STR_MAX)

static const char bech32_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t
bech32_polymod_step(uint32_t pre)
{
	uint32_t b = pre >> 25;
	return ((pre & 0x1FFFFFFu) << 5) ^ ((uint32_t)-(int32_t)((b >> 0) & 1) & 0x3b6a57b2u) ^
	       ((uint32_t)-(int32_t)((b >> 1) & 1) & 0x26508e6du) ^
	       ((uint32_t)-(int32_t)((b >> 2) & 1) & 0x1ea119fau) ^
	       ((uint32_t)-(int32_t)((b >> 3) & 1) & 0x3d4233ddu) ^
	       ((uint32_t)-(int32_t)((b >> 4) & 1) & 0x2a1462b3u);
}

static char
bech32_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Checksum state after the expanded (lower-cased) `hrp` of `hlen` chars. */
static uint32_t
bech32_hrp_state(const char *hrp, size_t hlen)
{
	uint32_t chk = 1;
	for (size_t i = 0; i < hlen; i++)
		chk = bech32_polymod_step(chk) ^ ((uint32_t)(unsigned char)bech32_lower(hrp[i]) >> 5);
	chk = bech32_polymod_step(chk);
	for (size_t i = 0; i < hlen; i++)
		chk = bech32_polymod_step(chk) ^ ((uint32_t)(unsigned char)bech32_lower(hrp[i]) & 31);
	return chk;
}

/* Regroup bits from `frombits` to `tobits`; return the output length or -1. */
static long
bech32_convert(const uint8_t *in, size_t inlen, int frombits, int tobits, bool pad, uint8_t *out,
               size_t outmax)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	const uint32_t maxv = (1u << tobits) - 1;
	for (size_t i = 0; i < inlen; i++) {
		acc = ((acc << frombits) | in[i]) & 0xFFFFFu;
		bits += frombits;
		while (bits >= tobits) {
			bits -= tobits;
			if (o >= outmax)
				return -1;
			out[o++] = (uint8_t)((acc >> bits) & maxv);
		}
	}
	if (pad) {
		if (bits > 0) {
			if (o >= outmax)
				return -1;
			out[o++] = (uint8_t)((acc << (tobits - bits)) & maxv);
		}
	} else if (bits >= frombits || ((acc << (tobits - bits)) & maxv) != 0) {
		return -1;
	}
	return (long)o;
}

int
bech32_encode(const char *hrp, const uint8_t *data, size_t len, bool upper, char *out,
              size_t outlen)
{
	uint8_t d5[BECH32_DATA5_MAX];
	size_t hlen = strlen(hrp);
	int rc = -1;
	if (hlen == 0 || hlen > BECH32_HRP_MAX || len > (BECH32_DATA5_MAX * 5) / 8)
		return -1;
	for (size_t i = 0; i < hlen; i++) {
		if (hrp[i] < 33 || hrp[i] > 126 || (hrp[i] >= 'A' && hrp[i] <= 'Z'))
			return -1;
	}
	long n5 = bech32_convert(data, len, 8, 5, true, d5, sizeof(d5));
	if (n5 < 0 || outlen < hlen + 1 + (size_t)n5 + 6 + 1)
		goto fail;
	uint32_t chk = bech32_hrp_state(hrp, hlen);
	for (long i = 0; i < n5; i++)
		chk = bech32_polymod_step(chk) ^ d5[i];
	for (int i = 0; i < 6; i++)
		chk = bech32_polymod_step(chk);
	chk ^= 1;
	size_t o = 0;
	for (size_t i = 0; i < hlen; i++)
		out[o++] = hrp[i];
	out[o++] = '1';
	for (long i = 0; i < n5; i++)
		out[o++] = bech32_charset[d5[i]];
	for (int i = 0; i < 6; i++)
		out[o++] = bech32_charset[(chk >> (5 * (5 - i))) & 31];
	out[o] = '\0';
	if (upper) {
		for (size_t i = 0; i < o; i++) {
			if (out[i] >= 'a' && out[i] <= 'z')
				out[i] = (char)(out[i] - 'a' + 'A');
		}
	}
	rc = 0;
fail:
	sodium_memzero(d5, sizeof(d5));
	return rc;
}

/* Return 0 if `s` (`len` chars) is printable ASCII and not of mixed case. */
static int
bech32_check_chars(const char *s, size_t len)
{
	bool lower = false, upper = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 33 || s[i] > 126)
			return -1;
		lower |= (s[i] >= 'a' && s[i] <= 'z');
		upper |= (s[i] >= 'A' && s[i] <= 'Z');
	}
	return (lower && upper) ? -1 : 0;
}

int
bech32_decode(const char *s, char hrp[BECH32_HRP_MAX + 1], uint8_t *data, size_t datamax,
              size_t *datalen)
{
	uint8_t d5[BECH32_DATA5_MAX];
	int rc = -1;
	size_t len = strnlen(s, BECH32_STR_MAX + 1);
	if (len > BECH32_STR_MAX || bech32_check_chars(s, len) != 0)
		return -1;
	const char *sep = memrchr(s, '1', len);
	if (sep == NULL)
		return -1;
	size_t hlen = (size_t)(sep - s);
	size_t n5 = len - hlen - 1;
	if (hlen == 0 || hlen > BECH32_HRP_MAX || n5 < 6)
		return -1;
	uint32_t chk = bech32_hrp_state(s, hlen);
	for (size_t i = 0; i < n5; i++) {
		const char *c = memchr(bech32_charset, bech32_lower(sep[1 + i]), 32);
		if (c == NULL)
			goto fail;
		d5[i] = (uint8_t)(c - bech32_charset);
		chk = bech32_polymod_step(chk) ^ d5[i];
	}
	if (chk != 1)
		goto fail;
	long n = bech32_convert(d5, n5 - 6, 5, 8, false, data, datamax);
	if (n < 0)
		goto fail;
	memcpy(hrp, s, hlen);
	hrp[hlen] = '\0';
	*datalen = (size_t)n;
	rc = 0;
fail:
	sodium_memzero(d5, sizeof(d5));
	return rc;
}
