/*
 * bech32: the Bech32 encoding of BIP 173 (not Bech32m), as age uses it for
 * its keys ("age1…", "AGE-SECRET-KEY-1…"). Like age, no 90-character limit
 * is enforced; callers bound the length with their output buffers.
 */
#ifndef TIPLINE_BECH32_H
#define TIPLINE_BECH32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BECH32_HRP_MAX 83

/*
 * Encode the `len` bytes of `data` under human-readable part `hrp` (lower
 * case, printable ASCII) into `out` as a NUL-terminated string, in upper case
 * if `upper`. Return 0, or -1 if `hrp` is invalid or `outlen` is too small.
 */
int bech32_encode(const char *hrp, const uint8_t *data, size_t len, bool upper, char *out,
                  size_t outlen);

/*
 * Decode the NUL-terminated Bech32 string `s`: check its checksum, refuse
 * mixed case, and store its human-readable part (in the case it was written
 * in, NUL-terminated) in `hrp` and its data bytes in `data` (at most
 * `datamax`, length in *datalen). Intermediate copies are wiped, so `s` may
 * be a secret key. Return 0, or -1 if `s` is not valid Bech32 or too long.
 */
int bech32_decode(const char *s, char hrp[BECH32_HRP_MAX + 1], uint8_t *data, size_t datamax,
                  size_t *datalen) __attribute__((warn_unused_result));

#endif
