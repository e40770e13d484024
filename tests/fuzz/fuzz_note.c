/*
 * Fuzz note_open against fixed trusted keys (the Go sumdb/note example key
 * and a second one). Anything opened must have a text that is a prefix of
 * the input ending in "\n". Then cosign the input with the example key:
 * whenever that succeeds, the result must open as signed by that key.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char skey[] =
	"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const uint8_t pk2[NOTE_PK_LEN] = { 0x3b, 0x6a, 0x27, 0xbc, 0xce, 0xb6, 0xa4, 0x2d,
					   0x62, 0xa3, 0xa8, 0xd0, 0x2a, 0x6f, 0x0d, 0x73,
					   0x65, 0x32, 0x15, 0x77, 0x1d, 0xe2, 0x43, 0xa6,
					   0x3a, 0xc0, 0x48, 0xa1, 0x8b, 0x59, 0xda, 0x29 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note_signer *s;
	static const struct note_verifier *vs[2];
	struct buf out;
	size_t tl = 0;
	bool by[2];
	if (s == NULL) {
		s = note_signer_parse(skey, strlen(skey));
		vs[0] = s != NULL ? note_signer_verifier(s) : NULL;
		vs[1] = note_verifier_new("tipline.test/b", pk2);
		if (s == NULL || vs[0] == NULL || vs[1] == NULL)
			abort();
	}
	const char *n = (const char *)data;
	enum note_result r = note_open(n, size, vs, 2, &tl, by);
	if (r == NOTE_OK && (tl == 0 || tl >= size || n[tl - 1] != '\n' || !(by[0] || by[1])))
		abort();
	buf_init(&out, NOTE_MAX_LEN);
	if (note_cosign(s, n, size, &out) == 0) {
		size_t tl2 = 0;
		r = note_open((const char *)out.data, out.len, vs, 1, &tl2, by);
		if (r != NOTE_OK || !by[0] || out.len <= size)
			abort();
	}
	buf_free(&out);
	return 0;
}
