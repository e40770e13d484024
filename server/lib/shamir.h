/*
 * shamir: k-of-n secret sharing over GF(2^8) (Shamir 1979), byte by byte,
 * and the text form of one share that officers keep on paper
 * (docs/keys.md "Recovery", docs/crypto.md §8).
 *
 * Field: GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b).
 * For every secret byte a polynomial of degree k-1 is drawn whose constant
 * term is that byte and whose other coefficients are random; share x (1..n)
 * holds its value at x. Any k shares give the secret by Lagrange
 * interpolation at 0; k-1 shares say nothing about it. Arithmetic is
 * constant-time (no table look-ups indexed by secret bytes).
 *
 * Text form of a share (one line, lower case, no spaces):
 *
 *   tipline-share1-<k>of<n>-<x>-<set>-<64 hex: share bytes>-<8 hex: check>
 *
 * <set> is 8 hex digits naming the split: the first 4 bytes of SHA-256 of
 * the recovery key's public X25519 key, so shares of different splits are
 * not mixed and a recombined key is checked against it. <check> is the
 * first 4 bytes of SHA-256("tipline/v1/share\n" || the text before "-<check>"):
 * a mistyped share is refused before anything is combined.
 */
#ifndef TIPLINE_SHAMIR_H
#define TIPLINE_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#define SHAMIR_MAX_SHARES 255
#define SHAMIR_SECRET_LEN 32 /* what the text form holds: an X25519 secret key */
#define SHAMIR_SET_LEN 4
#define SHAMIR_TEXT_MAX 128 /* a share's text, with its NUL */

/* One share in text form, parsed. */
struct shamir_share {
	uint8_t k, n, x;
	uint8_t set[SHAMIR_SET_LEN];
	uint8_t y[SHAMIR_SECRET_LEN];
};

/* Multiply in GF(2^8) (constant time). */
uint8_t shamir_gf_mul(uint8_t a, uint8_t b);
/* Inverse in GF(2^8); 0 for 0 (constant time). */
uint8_t shamir_gf_inv(uint8_t a);

/*
 * Split the `len` bytes at `secret` into `n` shares of which any `k` recover
 * it (2 <= k <= n <= 255). Share i (0-based) is at x = i + 1 and its `len`
 * bytes are written to ys + i * len. Return 0, or -1 if k or n is out of
 * range. Randomness from libsodium; wipes its coefficients.
 */
int shamir_split(const uint8_t *secret, size_t len, unsigned k, unsigned n, uint8_t *ys)
	__attribute__((warn_unused_result));

/*
 * Interpolate the `count` shares (x values `xs`, each share's `len` bytes at
 * ys + i * len) at 0 into `out` (`len` bytes). Return 0, or -1 if count is 0,
 * an x is 0, or two x values repeat. With fewer shares than the split's k
 * the result is a wrong secret: the caller must know k (the text form does).
 */
int shamir_combine(const uint8_t *xs, const uint8_t *ys, size_t count, size_t len, uint8_t *out)
	__attribute__((warn_unused_result));

/* Write the text form of `s` into `out` (SHAMIR_TEXT_MAX bytes). */
void shamir_share_format(const struct shamir_share *s, char out[SHAMIR_TEXT_MAX]);

enum shamir_parse_result {
	SHAMIR_OK = 0,
	SHAMIR_ERR_FORMAT = -1, /* not a share line */
	SHAMIR_ERR_CHECK = -2,  /* well formed, but the check digits do not match: a typo */
	SHAMIR_ERR_RANGE = -3   /* k, n or x out of range (k < 2, k > n, x = 0, x > n) */
};

/* Parse the `len` bytes at `text` (surrounding white space allowed) into `s`. */
enum shamir_parse_result shamir_share_parse(const char *text, size_t len, struct shamir_share *s)
	__attribute__((warn_unused_result));

#endif
