/*
 * Fuzz admin statements (server/lib/admins.h). The input is parsed as a
 * signed statement, opened as the first statement against a fixed pinned
 * key, and signed as bare text by that key and opened again. Every
 * statement accepted must rebuild byte for byte from its parsed fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admins.h"
#include "buf.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char skey[] =
	"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

/* Rebuild the text of `a` and compare it with the start of `note`. */
static void
check_canonical(const struct admins *a, const char *note, size_t len)
{
	const char *keys[ADMINS_MAX];
	struct buf t;
	buf_init(&t, NOTE_MAX_LEN);
	for (size_t i = 0; i < admins_count(a); i++)
		keys[i] = admins_key_text(a, i);
	/* prev is not exposed: rebuild only first statements exactly */
	if (admins_seq(a) == 1) {
		if (admins_build_text(1, NULL, admins_quorum(a), keys, admins_count(a), &t) != 0)
			abort();
		if (t.len >= len || memcmp(t.data, note, t.len) != 0 || note[t.len] != '\n')
			abort();
	}
	if (admins_quorum(a) < 1 || admins_quorum(a) > admins_count(a))
		abort();
	buf_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note_signer *s;
	static const struct note_verifier *vs[1];
	struct admins *a = NULL;
	struct buf sn;
	if (s == NULL) {
		s = note_signer_parse(skey, strlen(skey));
		if (s == NULL || (vs[0] = note_signer_verifier(s)) == NULL)
			abort();
	}
	if (admins_parse((const char *)data, size, &a) == ADMINS_OK) {
		check_canonical(a, (const char *)data, size);
		admins_free(a);
		a = NULL;
	}
	buf_init(&sn, NOTE_MAX_LEN);
	if (note_sign(s, (const char *)data, size, &sn) == 0) {
		enum admins_result r = admins_open_next(NULL, vs, 1, 1, (const char *)sn.data, sn.len, &a);
		/* Our own fresh signature: never short of the quorum of one, never forged. */
		if (r == ADMINS_ERR_BAD_SIGNATURE)
			abort();
		if (r == ADMINS_OK)
			check_canonical(a, (const char *)sn.data, sn.len);
		admins_free(a);
	}
	buf_free(&sn);
	return 0;
}
