/*
 * util: small helpers shared by tipd and tipctl.
 */
#ifndef TIPLINE_UTIL_H
#define TIPLINE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters and a NUL */

/* Format a message into `err` (`errlen` bytes, truncated to fit) unless
 * `err` is NULL or `errlen` 0: how a function says why it failed. */
void util_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write a random (version 4) UUID as lower-case text into `out`. */
void util_uuid(char out[UUID_STR_LEN]);
/* Return 1 if `s` is a lower-case canonical UUID, else 0. */
int util_uuid_valid(const char *s);

/* Return 1 if the `n` bytes at `s` are all standard base64 characters
 * (A-Z a-z 0-9 + / =), else 0. libsodium 1.0.18's sodium_base642bin()
 * takes bytes >= 0x80 as if they were base64: check before decoding. */
int util_base64_chars_ok(const char *s, size_t n);

/*
 * Decode all `len` bytes of base64 at `s` (libsodium `variant`, e.g.
 * sodium_base64_VARIANT_ORIGINAL) into at most `max` bytes at `out`, after
 * checking that every byte belongs to that variant's alphabet. Store the
 * decoded length in *outlen. Return 0, or -1 on any invalid input.
 */
int util_base64_decode(const char *s, size_t len, uint8_t *out, size_t max, size_t *outlen,
                       int variant) __attribute__((warn_unused_result));

/* Lower-case hex of `n` bytes into `out` (2n+1 bytes). */
void util_hex(const uint8_t *p, size_t n, char *out);

/*
 * Parse a decimal unsigned integer of the whole string `s` no larger than
 * `max`; return 0, or -1 on anything else (empty, sign, junk, overflow).
 */
int util_parse_u64(const char *s, uint64_t max, uint64_t *out)
	__attribute__((warn_unused_result));

/* Read a whole file of at most `max` bytes into a malloc'd NUL-terminated
 * buffer; return it (length in *len), or NULL with errno set. */
char *util_read_file(const char *path, size_t max, size_t *len);

/* Write `n` bytes to `fd` completely; return 0, or -1. */
int util_write_all(int fd, const void *p, size_t n);

/* Replace `dir`/`name` with `len` bytes of `text` atomically and durably: a
 * ".NAME.tmp" file written and fsync'd, renamed over NAME, then the directory
 * fsync'd. Return 0, or -1 with errno set (the caller says which file). */
int util_write_file_durably(const char *dir, const char *name, const void *text, size_t len);

/* Today's date in UTC as YYYY-MM-DD into `out` (11 bytes). */
void util_today(char out[11]);

#endif
