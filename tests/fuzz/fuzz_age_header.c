/*
 * Fuzz the age header parser: age_header_inspect() and age_header_unwrap()
 * with a fixed X25519 identity (the C2SP test-vector identity, so that vector
 * files in the corpus reach the MAC check) and the passphrase "password" with
 * a work factor of at most 2^10. Checks that both agree on every input.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "age.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_identity[] =
	"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

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
	size_t hl = 0, hl2 = 0;
	int nx = 0, ns = 0, no = 0;
	int rc = age_header_inspect(data, size, &hl, &nx, &ns, &no);
	if (rc == AGE_OK && (hl > size || hl > AGE_MAX_HEADER || nx + ns + no > AGE_MAX_STANZAS ||
	                     (ns > 0 && nx + ns + no != 1)))
		abort();

	struct age_unwrap_opts o = {
		.sks = (const uint8_t(*)[AGE_KEY_LEN])sk, .nsks = 1,
		.pass = "password", .passlen = 8, .max_logn = 10,
	};
	uint8_t fk[AGE_FILE_KEY_LEN];
	int rc2 = age_header_unwrap(data, size, &o, fk, &hl2);
	if (rc != AGE_OK && rc2 != rc)
		abort(); /* a header that does not parse never opens */
	if (rc2 == AGE_OK && (rc != AGE_OK || hl2 != hl))
		abort();
	if (rc2 < AGE_ERR_SYSTEM || rc2 > AGE_OK)
		abort();
	return 0;
}
