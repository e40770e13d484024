#include "merkle.h"

#include <sodium.h>
#include <string.h>

void
merkle_leaf_hash(const void *entry, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	crypto_hash_sha256_state st;
	static const uint8_t prefix = 0x00;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, entry, len);
	crypto_hash_sha256_final(&st, out);
}

void
merkle_node_hash(const uint8_t l[MERKLE_HASH_LEN], const uint8_t r[MERKLE_HASH_LEN],
                 uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t in[1 + 2 * MERKLE_HASH_LEN];
	in[0] = 0x01;
	memcpy(in + 1, l, MERKLE_HASH_LEN);
	memcpy(in + 1 + MERKLE_HASH_LEN, r, MERKLE_HASH_LEN);
	crypto_hash_sha256(out, in, sizeof(in));
}

/* The largest power of two smaller than n (n >= 2). */
static uint64_t
split_point(uint64_t n)
{
	uint64_t k = 1;
	while (k < n - k)
		k <<= 1;
	return k;
}

/* MTH of leaves[0..n), n >= 1. */
static void
mth(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t n, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t l[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];
	if (n == 1) {
		memcpy(out, leaves[0], MERKLE_HASH_LEN);
		return;
	}
	uint64_t k = split_point(n);
	mth(leaves, k, l);
	mth(leaves + k, n - k, r);
	merkle_node_hash(l, r, out);
}

void
merkle_root(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t n, uint8_t out[MERKLE_HASH_LEN])
{
	if (n == 0)
		crypto_hash_sha256(out, (const unsigned char *)"", 0);
	else
		mth(leaves, n, out);
}

/* PATH(m, D[n]) of RFC 9162 §2.1.3.1, appended at proof[*plen]. */
static void
path(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t n, uint64_t m,
     uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
{
	if (n <= 1)
		return;
	uint64_t k = split_point(n);
	if (m < k) {
		path(leaves, k, m, proof, plen);
		mth(leaves + k, n - k, proof[(*plen)++]);
	} else {
		path(leaves + k, n - k, m - k, proof, plen);
		mth(leaves, k, proof[(*plen)++]);
	}
}

int
merkle_inclusion_proof(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t size, uint64_t index,
                       uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
{
	*plen = 0;
	if (index >= size)
		return -1;
	path(leaves, size, index, proof, plen);
	return 0;
}

/* SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, appended at proof[*plen]. */
static void
subproof(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t n, uint64_t m, int complete,
         uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
{
	if (m == n) {
		if (!complete)
			mth(leaves, n, proof[(*plen)++]);
		return;
	}
	uint64_t k = split_point(n);
	if (m <= k) {
		subproof(leaves, k, m, complete, proof, plen);
		mth(leaves + k, n - k, proof[(*plen)++]);
	} else {
		subproof(leaves + k, n - k, m - k, 0, proof, plen);
		mth(leaves, k, proof[(*plen)++]);
	}
}

int
merkle_consistency_proof(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t old_size,
                         uint64_t new_size, uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
{
	*plen = 0;
	if (old_size > new_size)
		return -1;
	if (old_size == 0 || old_size == new_size)
		return 0;
	subproof(leaves, new_size, old_size, 1, proof, plen);
	return 0;
}

static int
same(const uint8_t a[MERKLE_HASH_LEN], const uint8_t b[MERKLE_HASH_LEN])
{
	return sodium_memcmp(a, b, MERKLE_HASH_LEN) == 0;
}

int
merkle_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
                        const uint8_t (*proof)[MERKLE_HASH_LEN], size_t plen,
                        const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];
	if (index >= size || plen > MERKLE_PROOF_MAX)
		return -1;
	uint64_t fn = index, sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (size_t i = 0; i < plen; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && same(r, root) ? 0 : -1;
}

/* The degenerate cases: old_size 0 or equal sizes. */
static int
consistency_trivial(uint64_t old_size, uint64_t new_size, const uint8_t old_root[MERKLE_HASH_LEN],
                    const uint8_t new_root[MERKLE_HASH_LEN], size_t plen)
{
	uint8_t empty[MERKLE_HASH_LEN];
	if (plen != 0)
		return -1;
	if (old_size == new_size)
		return same(old_root, new_root) ? 0 : -1;
	merkle_root(NULL, 0, empty);
	return same(old_root, empty) ? 0 : -1;
}

int
merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
                          const uint8_t old_root[MERKLE_HASH_LEN],
                          const uint8_t new_root[MERKLE_HASH_LEN],
                          const uint8_t (*proof)[MERKLE_HASH_LEN], size_t plen)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	size_t i = 0;
	if (old_size > new_size || plen > MERKLE_PROOF_MAX)
		return -1;
	if (old_size == 0 || old_size == new_size)
		return consistency_trivial(old_size, new_size, old_root, new_root, plen);
	if (plen == 0)
		return -1;
	/* A power-of-two old tree is a node of the new one: its root starts the path. */
	if ((old_size & (old_size - 1)) == 0) {
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	} else {
		memcpy(fr, proof[0], MERKLE_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH_LEN);
	uint64_t fn = old_size - 1, sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < plen; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && same(fr, old_root) && same(sr, new_root) ? 0 : -1;
}

/* ---- the same from stored subtree hashes ---- */

/* MTH of leaves [a, b) (b > a) from the complete aligned subtrees `f` gives:
 * at most two subtrees per level, so O(log n) calls of `f`. */
static int
mth_nodes(merkle_node_fn f, void *arg, uint64_t a, uint64_t b, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t l[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];
	uint64_t n = b - a;
	if ((n & (n - 1)) == 0 && a % n == 0) {
		unsigned level = 0;
		while ((UINT64_C(1) << level) < n)
			level++;
		return f(arg, level, a >> level, out);
	}
	uint64_t k = split_point(n);
	if (mth_nodes(f, arg, a, a + k, l) != 0 || mth_nodes(f, arg, a + k, b, r) != 0)
		return -1;
	merkle_node_hash(l, r, out);
	return 0;
}

int
merkle_root_nodes(merkle_node_fn f, void *arg, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
	if (size == 0) {
		crypto_hash_sha256(out, (const unsigned char *)"", 0);
		return 0;
	}
	return mth_nodes(f, arg, 0, size, out);
}

/* PATH(m, D[a:b]) from subtrees, appended at proof[*plen]. */
static int
path_nodes(merkle_node_fn f, void *arg, uint64_t a, uint64_t b, uint64_t m,
           uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
{
	uint64_t n = b - a;
	if (n <= 1)
		return 0;
	uint64_t k = split_point(n);
	if (m < k)
		return path_nodes(f, arg, a, a + k, m, proof, plen) == 0 &&
		       mth_nodes(f, arg, a + k, b, proof[(*plen)++]) == 0 ? 0 : -1;
	return path_nodes(f, arg, a + k, b, m - k, proof, plen) == 0 &&
	       mth_nodes(f, arg, a, a + k, proof[(*plen)++]) == 0 ? 0 : -1;
}

int
merkle_inclusion_proof_nodes(merkle_node_fn f, void *arg, uint64_t size, uint64_t index,
                             uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
{
	*plen = 0;
	if (index >= size)
		return -1;
	return path_nodes(f, arg, 0, size, index, proof, plen);
}

/* SUBPROOF(m, D[a:b], complete) from subtrees, appended at proof[*plen]. */
static int
subproof_nodes(merkle_node_fn f, void *arg, uint64_t a, uint64_t b, uint64_t m, int complete,
               uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
{
	uint64_t n = b - a;
	if (m == n)
		return complete ? 0 : mth_nodes(f, arg, a, b, proof[(*plen)++]);
	uint64_t k = split_point(n);
	if (m <= k)
		return subproof_nodes(f, arg, a, a + k, m, complete, proof, plen) == 0 &&
		       mth_nodes(f, arg, a + k, b, proof[(*plen)++]) == 0 ? 0 : -1;
	return subproof_nodes(f, arg, a + k, b, m - k, 0, proof, plen) == 0 &&
	       mth_nodes(f, arg, a, a + k, proof[(*plen)++]) == 0 ? 0 : -1;
}

int
merkle_consistency_proof_nodes(merkle_node_fn f, void *arg, uint64_t old_size, uint64_t new_size,
                               uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
{
	*plen = 0;
	if (old_size > new_size)
		return -1;
	if (old_size == 0 || old_size == new_size)
		return 0;
	return subproof_nodes(f, arg, 0, new_size, old_size, 1, proof, plen);
}

/* ---- frontiers ---- */

void
merkle_frontier_init(struct merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

void
merkle_frontier_push(struct merkle_frontier *f, const uint8_t leaf[MERKLE_HASH_LEN],
                     void (*done)(void *arg, unsigned level, uint64_t idx,
                                  const uint8_t hash[MERKLE_HASH_LEN]),
                     void *arg)
{
	uint64_t k = f->size++;
	memcpy(f->hash[f->n], leaf, MERKLE_HASH_LEN);
	f->level[f->n++] = 0;
	/* the new leaf completes one subtree for each trailing 1 bit of k */
	while (f->n >= 2 && f->level[f->n - 1] == f->level[f->n - 2]) {
		merkle_node_hash(f->hash[f->n - 2], f->hash[f->n - 1], f->hash[f->n - 2]);
		unsigned l = ++f->level[f->n - 2];
		f->n--;
		if (done != NULL)
			done(arg, l, k >> l, f->hash[f->n - 1]);
	}
}

void
merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_LEN])
{
	if (f->n == 0) {
		merkle_root(NULL, 0, out);
		return;
	}
	memcpy(out, f->hash[f->n - 1], MERKLE_HASH_LEN);
	for (unsigned i = f->n - 1; i-- > 0;)
		merkle_node_hash(f->hash[i], out, out);
}

int
merkle_frontier_from_nodes(struct merkle_frontier *f, uint64_t size, merkle_node_fn node,
                           void *arg)
{
	uint64_t start = 0;
	merkle_frontier_init(f);
	for (int l = 63; l >= 0; l--) {
		if (!((size >> l) & 1))
			continue;
		if (node(arg, (unsigned)l, start >> l, f->hash[f->n]) != 0)
			return -1;
		f->level[f->n++] = (uint8_t)l;
		start += (uint64_t)1 << l;
	}
	f->size = size;
	return 0;
}
