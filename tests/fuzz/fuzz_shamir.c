/*
 * Fuzz shamir_share_parse. Whatever it accepts must be in range, format back
 * to the same canonical text, and parse again to the same share; combining
 * the parsed share with itself must be refused (a repeated x).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shamir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shamir_share s, t;
	char text[SHAMIR_TEXT_MAX];
	uint8_t out[SHAMIR_SECRET_LEN];
	if (shamir_share_parse((const char *)data, size, &s) != SHAMIR_OK)
		return 0;
	if (s.k < 2 || s.k > s.n || s.x == 0 || s.x > s.n)
		abort();
	shamir_share_format(&s, text);
	if (shamir_share_parse(text, strlen(text), &t) != SHAMIR_OK || memcmp(&s, &t, sizeof(s)) != 0)
		abort();
	uint8_t xs[2] = { s.x, t.x }, ys[2 * SHAMIR_SECRET_LEN];
	memcpy(ys, s.y, SHAMIR_SECRET_LEN);
	memcpy(ys + SHAMIR_SECRET_LEN, t.y, SHAMIR_SECRET_LEN);
	if (shamir_combine(xs, ys, 2, SHAMIR_SECRET_LEN, out) != -1)
		abort();
	return 0;
}
