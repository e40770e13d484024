/*
 * buf: a growable byte buffer with a hard maximum size (like curl's dynbuf).
 *
 * Every append fails cleanly with -1 once the buffer would exceed its maximum.
 * A buffer created with buf_init_secure() lives in sodium_malloc'd memory
 * (guarded, locked) and is wiped when it grows or is freed: use it for anything
 * that holds plaintext or key material.
 */
#ifndef TIPLINE_BUF_H
#define TIPLINE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
	bool secure;
};

/* Initialise an empty buffer that may grow to `max` bytes. */
void buf_init(struct buf *b, size_t max);
/* Same, for secret contents: sodium_malloc'd storage, wiped on grow/free. */
void buf_init_secure(struct buf *b, size_t max);
/* Make room for `extra` more bytes; return 0, or -1 past max or out of memory. */
int buf_reserve(struct buf *b, size_t extra) __attribute__((warn_unused_result));
/* Append `n` bytes; return 0, or -1 (buffer unchanged). */
int buf_add(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
/* Append a NUL-terminated string (without the NUL). */
int buf_adds(struct buf *b, const char *s) __attribute__((warn_unused_result));
/* Append printf-formatted text; return 0, or -1. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
/* Append `n` copies of byte `c`. */
int buf_fill(struct buf *b, uint8_t c, size_t n) __attribute__((warn_unused_result));
/* Empty the buffer (wiping secure contents) but keep its storage. */
void buf_reset(struct buf *b);
/* Wipe (if secure) and release the storage; the buffer is empty afterwards. */
void buf_free(struct buf *b);
/* Return the contents as a NUL-terminated string (adds a hidden NUL), or NULL. */
const char *buf_cstr(struct buf *b);

#endif
