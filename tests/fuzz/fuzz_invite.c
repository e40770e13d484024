/*
 * Fuzz invite_decode, the parser of the invite text an investigator pastes
 * into `tipctl enroll`. The input is tried as it is and, to get past the
 * base64url layer, as the JSON inside a well-formed prefix. Every invite
 * accepted must be valid and encode back to an invite that decodes to the
 * same fields.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check that an accepted invite is valid and round-trips. */
static void
check(const struct invite *iv)
{
	struct invite back;
	struct buf b;
	if (!invite_valid(iv))
		abort();
	buf_init(&b, INVITE_TEXT_MAX * 2);
	if (invite_encode(iv, &b) != 0 || invite_decode((const char *)b.data, b.len, &back) != 0 ||
	    memcmp(iv, &back, sizeof(back)) != 0)
		abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct invite iv;
	struct buf b;
	if (sodium_init() < 0)
		abort();
	memset(&iv, 0, sizeof(iv));
	if (invite_decode((const char *)data, size, &iv) == 0)
		check(&iv);
	if (size > INVITE_TEXT_MAX)
		return 0;
	buf_init(&b, INVITE_TEXT_MAX * 2 + 64);
	size_t cap = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (buf_adds(&b, INVITE_PREFIX) == 0 && buf_reserve(&b, cap) == 0) {
		sodium_bin2base64((char *)b.data + b.len, cap, data, size,
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		b.len += strlen((char *)b.data + b.len);
		memset(&iv, 0, sizeof(iv));
		if (invite_decode((const char *)b.data, b.len, &iv) == 0)
			check(&iv);
	}
	buf_free(&b);
	return 0;
}
