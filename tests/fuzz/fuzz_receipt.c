/*
 * Fuzz receipt_normalize. Whatever it accepts must be exactly 30 ASCII
 * digits with a valid Damm check digit, and normalizing the formatted
 * receipt again must give the same digits and the same lookup id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct receipt_pepper *pepper;
	char d[RECEIPT_DIGITS], again[RECEIPT_DIGITS], s[RECEIPT_STR_LEN];
	uint8_t id1[RECEIPT_ID_LEN], id2[RECEIPT_ID_LEN];
	if (pepper == NULL) {
		uint8_t k[RECEIPT_PEPPER_LEN] = { 1, 2, 3 };
		if ((pepper = receipt_pepper_from_bytes(k)) == NULL)
			abort();
	}
	enum receipt_result r = receipt_normalize((const char *)data, size, d);
	if (r != RECEIPT_OK)
		return 0;
	for (size_t i = 0; i < RECEIPT_DIGITS; i++) {
		if (d[i] < '0' || d[i] > '9')
			abort();
	}
	if (receipt_damm(d, RECEIPT_DIGITS) != 0)
		abort();
	receipt_format(d, s);
	if (receipt_normalize(s, strlen(s), again) != RECEIPT_OK || memcmp(d, again, sizeof(d)) != 0)
		abort();
	if (receipt_lookup_id(pepper, d, id1) != 0 || receipt_lookup_id(pepper, again, id2) != 0 ||
	    memcmp(id1, id2, sizeof(id1)) != 0)
		abort();
	return 0;
}
