/*
 * Fuzz age_decrypt() of a whole file with a fixed X25519 identity (the C2SP
 * test-vector identity), and check that the streaming decoder fed in pieces
 * reaches the same verdict and plaintext, and that a failed one-shot
 * decryption releases nothing.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_identity[] =
	"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

/* Decrypt the payload in pieces of `step` bytes; return an enum age_err. */
static int
fuzz_stream(const uint8_t fk[AGE_FILE_KEY_LEN], const uint8_t *p, size_t n, size_t step,
            struct buf *out)
{
	struct age_dec *d = age_dec_new(fk);
	int rc = AGE_OK;
	if (d == NULL)
		abort();
	for (size_t off = 0; off < n && rc == AGE_OK; off += step)
		rc = age_dec_update(d, p + off, n - off < step ? n - off : step, out);
	if (rc == AGE_OK)
		rc = age_dec_final(d, out);
	age_dec_free(d);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sk[1][AGE_KEY_LEN];
	static int ready;
	if (!ready) {
		if (sodium_init() < 0 || age_identity_decode(fuzz_identity, sk[0]) != 0)
			abort();
		ready = 1;
	}
	struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sk, .nsks = 1 };
	struct buf out, out2;
	buf_init_secure(&out, 1u << 20);
	buf_init_secure(&out2, 1u << 20);
	int rc = age_decrypt(data, size, &o, &out);
	if (rc != AGE_OK && out.len != 0)
		abort();
	if (rc == AGE_OK && out.len > size)
		abort();

	uint8_t fk[AGE_FILE_KEY_LEN];
	size_t hl = 0;
	int hrc = age_header_unwrap(data, size, &o, fk, &hl);
	if (hrc == AGE_OK && size - hl >= AGE_NONCE_LEN) {
		int rc2 = fuzz_stream(fk, data + hl, size - hl, size % 97 + 1, &out2);
		if (rc2 != rc || (rc == AGE_OK && (out2.len != out.len ||
		                                   memcmp(out2.data, out.data, out.len) != 0)))
			abort();
	} else if (hrc != AGE_OK && hrc != rc) {
		abort();
	}
	buf_free(&out);
	buf_free(&out2);
	return 0;
}
