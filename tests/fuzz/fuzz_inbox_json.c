/*
 * libFuzzer target: the source inbox's request bodies (inbox_parse_body) and
 * the reply opener (inbox_open_reply) on arbitrary rows. The first byte picks
 * the body kind (receipt only, or receipt and text) or the reply opener.
 * Checks the invariants callers rely on, not only the absence of crashes.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inbox_open.h"
#include "receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_body(const uint8_t *p, size_t n, bool want_text)
{
	char digits[RECEIPT_DIGITS];
	struct buf text;
	buf_init_secure(&text, INBOX_MAX_TEXT);
	enum inbox_parse rc = inbox_parse_body(p, n, want_text, digits, want_text ? &text : NULL);
	if (rc == INBOX_PARSE_OK) {
		for (size_t i = 0; i < RECEIPT_DIGITS; i++)
			if (digits[i] < '0' || digits[i] > '9')
				abort();
		if (receipt_damm(digits, RECEIPT_DIGITS) != 0)
			abort(); /* the check digit makes the whole number's Damm digit 0 */
		if (want_text && (text.len == 0 || text.len > INBOX_MAX_TEXT))
			abort();
	} else {
		for (size_t i = 0; i < RECEIPT_DIGITS; i++)
			if (digits[i] != 0)
				abort();
		if (text.len != 0)
			abort();
	}
	buf_free(&text);
}

/* Arbitrary bytes as a stored reply: header | payload split by the 2nd byte. */
static void
check_reply(const uint8_t *p, size_t n)
{
	static const uint8_t sk[1][32] = { { 1, 2, 3 } };
	uint8_t members[1][32];
	struct buf text;
	if (n < 97)
		return;
	size_t split = 97 + (n > 98 ? p[0] % (n - 97) : 0);
	memcpy(members[0], p + 1, 32);
	struct inbox_reply r = {
		.id = "00000000-0000-4000-8000-000000000001",
		.report_id = "00000000-0000-4000-8000-000000000002",
		.author = p + 1, .author_len = 32, .signature = p + 33, .signature_len = 64,
		.header = p + 97, .header_len = split - 97, .payload = p + split, .payload_len = n - split,
	};
	buf_init_secure(&text, INBOX_MAX_REPLY_TEXT);
	/* Nobody can sign for the fuzzer: a random signature never verifies. */
	if (inbox_open_reply(&r, sk, (const uint8_t(*)[32])members, 1, &text) == 0)
		abort();
	if (text.len != 0)
		abort();
	buf_free(&text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (sodium_init() < 0)
		abort();
	switch (data[0] % 3) {
	case 0:
		check_body(data + 1, size - 1, false);
		break;
	case 1:
		check_body(data + 1, size - 1, true);
		break;
	default:
		check_reply(data + 1, size - 1);
		break;
	}
	return 0;
}
