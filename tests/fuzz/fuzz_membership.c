/*
 * Fuzz membership statements. The input is opened as a signed statement
 * against a fixed admin key; then, to reach the text parser with valid
 * signatures, the input is signed as a bare text by that key and opened.
 * Every statement accepted must rebuild byte for byte from its parsed
 * fields (one canonical text per statement).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "membership.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char skey[] =
	"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

/* Rebuild the text of `m` and compare it with the first `tl` bytes of `note`. */
static void
check_canonical(const struct membership *m, const char *note, size_t len)
{
	struct membership_member *ms = calloc(membership_count(m) + 1, sizeof(*ms));
	struct buf t;
	if (ms == NULL)
		abort();
	for (size_t i = 0; i < membership_count(m); i++)
		ms[i] = *membership_member_at(m, i);
	buf_init(&t, NOTE_MAX_LEN);
	if (membership_build_text(membership_team(m), membership_seq(m), membership_prev_hash(m), ms,
	                          membership_count(m), &t) != 0)
		abort();
	if (t.len >= len || memcmp(t.data, note, t.len) != 0 || note[t.len] != '\n')
		abort();
	if (membership_check_next(NULL, m) != (membership_seq(m) == 1 ? MEMBERSHIP_OK
	                                                              : MEMBERSHIP_ERR_SEQUENCE))
		abort();
	buf_free(&t);
	free(ms);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note_signer *s;
	static const struct note_verifier *vs[1];
	struct membership *m = NULL;
	struct buf signed_note;
	if (s == NULL) {
		s = note_signer_parse(skey, strlen(skey));
		if (s == NULL || (vs[0] = note_signer_verifier(s)) == NULL)
			abort();
	}
	if (membership_open((const char *)data, size, vs, 1, &m) == MEMBERSHIP_OK) {
		check_canonical(m, (const char *)data, size);
		membership_free(m);
		m = NULL;
	}
	buf_init(&signed_note, NOTE_MAX_LEN);
	if (note_sign(s, (const char *)data, size, &signed_note) == 0) {
		enum membership_result r = membership_open((const char *)signed_note.data,
		                                           signed_note.len, vs, 1, &m);
		/* Our own fresh signature is the only one: never unsigned or forged. */
		if (r == MEMBERSHIP_ERR_UNSIGNED || r == MEMBERSHIP_ERR_BAD_SIGNATURE)
			abort();
		if (r == MEMBERSHIP_OK)
			check_canonical(m, (const char *)signed_note.data, signed_note.len);
		membership_free(m);
	}
	buf_free(&signed_note);
	return 0;
}
