/*
 * Fuzz the text handling of tipctl's editor mode (tips reply/note): the
 * comment stripping of what the editor left in the file, and the split of
 * $VISUAL/$EDITOR into words. The first byte picks which.
 *
 * Checked: stripping never grows the text, no output line starts with '#',
 * nothing blank is left at either edge, a text too large for the output is
 * refused; the split yields at most EDITOR_ARGS_MAX non-empty words without
 * blanks, then the path, then NULL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "editor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check the stripped text `t` against the raw input of `n` bytes. */
static void
check_stripped(const struct buf *t, size_t n)
{
	if (t->len > n)
		abort();
	if (t->len > 0 && (memchr(" \t\r\n", t->data[0], 4) != NULL ||
	                   memchr(" \t\r\n", t->data[t->len - 1], 4) != NULL)) {
		/* A leading blank is fine only if the first line has text. */
		size_t i = 0;
		while (i < t->len && memchr(" \t\r", t->data[i], 3) != NULL)
			i++;
		if (i == t->len || t->data[i] == '\n' || memchr(" \t\r\n", t->data[t->len - 1], 4))
			abort();
	}
	for (size_t i = 0; i < t->len; i++)
		if (t->data[i] == '#' && (i == 0 || t->data[i - 1] == '\n'))
			abort();
}

static void
fuzz_split(const uint8_t *data, size_t size)
{
	char cmd[512], store[256], path[] = "/dev/shm/x/reply.txt", *argv[EDITOR_ARGS_MAX + 2];
	if (size >= sizeof(cmd))
		size = sizeof(cmd) - 1;
	memcpy(cmd, data, size);
	cmd[size] = '\0';
	size_t n = editor_split(cmd, store, sizeof(store), argv, path);
	if (n > EDITOR_ARGS_MAX)
		abort();
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (argv[i][0] == '\0' || strpbrk(argv[i], " \t") != NULL)
			abort();
	if (argv[n] != path || argv[n + 1] != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf raw, t;
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		fuzz_split(data + 1, size - 1);
		return 0;
	}
	buf_init(&raw, 1 << 20);
	buf_init(&t, (data[0] & 2) ? 64 : (1 << 20));
	if (buf_add(&raw, data + 1, size - 1) == 0) {
		if (editor_strip(&raw, &t) == 0)
			check_stripped(&t, raw.len);
		else if (t.max != 64)
			abort(); /* only a small output may be too small */
	}
	buf_free(&raw);
	buf_free(&t);
	return 0;
}
