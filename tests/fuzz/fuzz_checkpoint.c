/*
 * Fuzz checkpoint_parse and checkpoint_open. Whatever parses must format
 * back to exactly the first three lines of the input (the parser accepts
 * one canonical form only) and parse again to the same checkpoint; the
 * input as a signed note is opened with a fixed key (must not crash), and
 * re-signing a parsed checkpoint must open with that key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "checkpoint.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char skey[] =
	"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note_signer *s;
	static struct note_verifier *v;
	struct checkpoint c, c2;
	struct buf b;
	if (s == NULL) {
		s = note_signer_parse(skey, strlen(skey));
		v = s != NULL ? note_signer_verifier(s) : NULL;
		if (v == NULL)
			abort();
	}
	const char *t = (const char *)data;
	(void)!checkpoint_open(t, size, v, NULL, &c);
	(void)!checkpoint_open(t, size, v, "example.com/behind-the-sofa", &c);
	if (checkpoint_parse(t, size, &c) != 0)
		return 0;
	buf_init(&b, 1024);
	if (checkpoint_format(&c, &b) != 0 || b.len > size || memcmp(b.data, data, b.len) != 0 ||
	    checkpoint_parse((const char *)b.data, b.len, &c2) != 0 || memcmp(&c, &c2, sizeof(c)) != 0)
		abort();
	buf_reset(&b);
	snprintf(c.origin, sizeof(c.origin), "%s", note_verifier_name(v));
	if (checkpoint_sign(s, &c, &b) != 0 ||
	    checkpoint_open((const char *)b.data, b.len, v, NULL, &c2) != NOTE_OK || c2.size != c.size ||
	    memcmp(c2.root, c.root, sizeof(c.root)) != 0)
		abort();
	buf_free(&b);
	return 0;
}
