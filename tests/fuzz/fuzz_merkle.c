/*
 * Fuzz the RFC 9162 proof verifiers. The input is read two ways:
 *  - raw: [8-byte a][8-byte b][32-byte leaf or old root][32-byte root]
 *    [proof hashes...] fed to merkle_inclusion_verify and
 *    merkle_consistency_verify (must not crash or read out of bounds);
 *  - oracle: a tree of 1..300 leaves derived from the input, an index and
 *    an old size chosen by it: the generated proofs must verify, and a proof
 *    with one flipped bit, or checked against another leaf or old root,
 *    must not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef uint8_t hash_t[MERKLE_HASH_LEN];

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
raw(const uint8_t *data, size_t size)
{
	hash_t proof[MERKLE_PROOF_MAX + 2];
	if (size < 80)
		return;
	uint64_t a = rd64(data), b = rd64(data + 8);
	size_t n = (size - 80) / MERKLE_HASH_LEN;
	if (n > MERKLE_PROOF_MAX + 2)
		n = MERKLE_PROOF_MAX + 2;
	memcpy(proof, data + 80, n * MERKLE_HASH_LEN);
	(void)!merkle_inclusion_verify(a, b, data + 16, (const hash_t *)proof, n, data + 48);
	(void)!merkle_consistency_verify(a, b, data + 16, data + 48, (const hash_t *)proof, n);
	/* small sizes reach the interesting paths more often */
	(void)!merkle_inclusion_verify(a & 63, b & 63, data + 16, (const hash_t *)proof, n, data + 48);
	(void)!merkle_consistency_verify(a & 63, b & 63, data + 16, data + 48, (const hash_t *)proof, n);
}

static void
oracle(const uint8_t *data, size_t size)
{
	static hash_t leaves[300];
	hash_t proof[MERKLE_PROOF_MAX], root, old_root;
	size_t plen;
	if (size < 6)
		return;
	uint64_t n = 1 + ((uint64_t)data[0] << 8 | data[1]) % 300;
	uint64_t idx = data[2] % n, old = data[3] % (n + 1);
	size_t flip = ((size_t)data[4] << 8 | data[5]);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t e[16] = { (uint8_t)i, (uint8_t)(i >> 8) };
		memcpy(e + 2, data, size < 14 ? size : 14);
		merkle_leaf_hash(e, sizeof(e), leaves[i]);
	}
	merkle_root((const hash_t *)leaves, n, root);
	merkle_root((const hash_t *)leaves, old, old_root);
	if (merkle_inclusion_proof((const hash_t *)leaves, n, idx, proof, &plen) != 0 ||
	    merkle_inclusion_verify(idx, n, leaves[idx], (const hash_t *)proof, plen, root) != 0)
		abort();
	if (n > 1 && merkle_inclusion_verify(idx, n, leaves[(idx + 1) % n], (const hash_t *)proof,
	                                     plen, root) == 0)
		abort();
	if (plen > 0) {
		proof[(flip / 256) % plen][flip % 32] ^= (uint8_t)(1u << (flip / 32 % 8));
		if (merkle_inclusion_verify(idx, n, leaves[idx], (const hash_t *)proof, plen, root) == 0)
			abort();
	}
	if (merkle_consistency_proof((const hash_t *)leaves, old, n, proof, &plen) != 0 ||
	    merkle_consistency_verify(old, n, old_root, root, (const hash_t *)proof, plen) != 0)
		abort();
	if (old > 0 && old < n) {
		if (merkle_consistency_verify(old, n, leaves[0], root, (const hash_t *)proof, plen) == 0 &&
		    memcmp(leaves[0], old_root, MERKLE_HASH_LEN) != 0)
			abort();
		proof[(flip / 256) % plen][flip % 32] ^= (uint8_t)(1u << (flip / 32 % 8));
		if (merkle_consistency_verify(old, n, old_root, root, (const hash_t *)proof, plen) == 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	raw(data, size);
	oracle(data, size);
	return 0;
}
