#include "buf.h"

#include "secmem.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_init_secure(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->secure = true;
}

static void
buf_release(struct buf *b, uint8_t *p, size_t cap)
{
	if (p == NULL)
		return;
	if (b->secure)
		/* Callers may write past len before they extend it: wipe it all. */
		secmem_release(p, cap, cap);
	else
		free(p);
}

int
buf_reserve(struct buf *b, size_t extra)
{
	/* +1 keeps room for the hidden NUL of buf_cstr(). */
	if (extra > b->max - b->len || b->len + extra + 1 < extra)
		return -1;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	/* Secure memory comes in whole pages anyway: start at one. */
	size_t ncap = b->cap ? b->cap : b->secure ? 4096 : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	uint8_t *p = b->secure ? secmem_alloc(ncap) : malloc(ncap);
	if (p == NULL)
		return -1;
	if (b->len)
		memcpy(p, b->data, b->len);
	buf_release(b, b->data, b->cap);
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) != 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_fill(struct buf *b, uint8_t c, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) != 0)
		return -1;
	memset(b->data + b->len, c, n);
	b->len += n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
buf_reset(struct buf *b)
{
	if (b->secure && b->data != NULL)
		sodium_memzero(b->data, b->cap);
	b->len = 0;
}

void
buf_free(struct buf *b)
{
	buf_release(b, b->data, b->cap);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

const char *
buf_cstr(struct buf *b)
{
	if (buf_reserve(b, 0) != 0)
		return NULL;
	b->data[b->len] = '\0';
	return (const char *)b->data;
}
