/*
 * Fuzz the parser of tipctl's membership-seen file (server/tipctl/seen.c):
 * the input is the file's text. Every file accepted must be one canonical
 * text: the line found for the pair and the lines kept for the others,
 * written back, give the input again byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "seen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rebuild the file from what seen_scan returned and compare it with the input. */
static void
check_canonical(const uint8_t *data, size_t size, const struct seen_line *l, bool have,
                const struct buf *rest)
{
	struct buf b;
	buf_init(&b, SEEN_FILE_MAX + 4096);
	if (buf_adds(&b, SEEN_MAGIC) != 0 || buf_add(&b, rest->data, rest->len) != 0)
		abort();
	if (have && buf_printf(&b, "%.*s %s %llu %s\n", (int)l->server_len, l->server, l->team,
	                       (unsigned long long)l->seq, l->hash) != 0)
		abort();
	/* the found line may have stood anywhere: it goes last here */
	if (b.len != size || (!have && memcmp(b.data, data, size) != 0))
		abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen_line l;
	struct buf rest;
	bool have = false;
	if (size > SEEN_FILE_MAX)
		return 0;
	buf_init(&rest, SEEN_FILE_MAX);
	int rc = seen_scan((const char *)data, size, "https://tipline.example:9443", "alpha", &l,
	                   &have, &rest);
	if (rc == SEEN_OK && size > 0)
		check_canonical(data, size, &l, have, &rest);
	buf_free(&rest);
	return 0;
}
