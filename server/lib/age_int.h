/*
 * age_int: what the two files of the age module (age.c: the header;
 * age_stream.c: the payload) share and nothing else sees.
 */
#ifndef TIPLINE_AGE_INT_H
#define TIPLINE_AGE_INT_H

#include <stddef.h>
#include <stdint.h>

/* Initialise libsodium (once; later calls are cheap); return 0 or -1. */
int age_lib_init(void) __attribute__((warn_unused_result));
/* HKDF-SHA-256 of `ikm` with `salt` (may be empty) and `info` into `outlen`
 * bytes at `out`; return 0 or -1. */
int age_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
             const char *info, uint8_t *out, size_t outlen) __attribute__((warn_unused_result));

#endif
