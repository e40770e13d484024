/*
 * merkle: RFC 9162 §2 Merkle trees over SHA-256 (the audit log's tree).
 *
 *   leaf hash  SHA-256(0x00 || entry)
 *   node hash  SHA-256(0x01 || left || right)
 *   root       MTH of the leaf hashes; the empty tree's root is SHA-256("")
 *
 * Trees are given as arrays of leaf hashes (the caller keeps them). Proofs
 * are arrays of 32-byte hashes, leaf side first, as in RFC 9162 §2.1.3 and
 * §2.1.4; at most MERKLE_PROOF_MAX of them (enough for 2^63 leaves).
 * Nothing here allocates.
 */
#ifndef TIPLINE_MERKLE_H
#define TIPLINE_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
#define MERKLE_PROOF_MAX 64

/* Store SHA-256(0x00 || entry) of the `len` bytes at `entry` in `out`. */
void merkle_leaf_hash(const void *entry, size_t len, uint8_t out[MERKLE_HASH_LEN]);
/* Store SHA-256(0x01 || l || r) in `out` (which may alias l or r). */
void merkle_node_hash(const uint8_t l[MERKLE_HASH_LEN], const uint8_t r[MERKLE_HASH_LEN],
                      uint8_t out[MERKLE_HASH_LEN]);

/* Store the root of the tree of the first `n` leaf hashes of `leaves` in `out`. */
void merkle_root(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t n, uint8_t out[MERKLE_HASH_LEN]);

/*
 * Store in `proof` (room for MERKLE_PROOF_MAX hashes) the inclusion proof of
 * leaf `index` in the tree of the first `size` leaves, and its length in
 * *plen. Return 0, or -1 if index >= size.
 */
int merkle_inclusion_proof(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t size, uint64_t index,
                           uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
	__attribute__((warn_unused_result));

/*
 * Store in `proof` (room for MERKLE_PROOF_MAX hashes) the consistency proof
 * from the tree of the first `old_size` leaves to the tree of the first
 * `new_size`, and its length in *plen (0 when old_size is 0 or equals
 * new_size). Return 0, or -1 if old_size > new_size.
 */
int merkle_consistency_proof(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t old_size,
                             uint64_t new_size, uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
	__attribute__((warn_unused_result));

/*
 * Check that `leaf` is leaf `index` of the tree of `size` leaves whose root
 * is `root`, with the `plen` hashes of `proof` (RFC 9162 §2.1.3.2). Return
 * 0 if it is, or -1 (index out of range, wrong length, wrong hashes).
 */
int merkle_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
                            const uint8_t (*proof)[MERKLE_HASH_LEN], size_t plen,
                            const uint8_t root[MERKLE_HASH_LEN]) __attribute__((warn_unused_result));

/*
 * Check that the tree of `old_size` leaves with root `old_root` is a prefix
 * of the tree of `new_size` leaves with root `new_root`, with the `plen`
 * hashes of `proof` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof
 * and equal roots; old_size 0 needs an empty proof and the empty root.
 * Return 0 if consistent, or -1.
 */
int merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
                              const uint8_t old_root[MERKLE_HASH_LEN],
                              const uint8_t new_root[MERKLE_HASH_LEN],
                              const uint8_t (*proof)[MERKLE_HASH_LEN], size_t plen)
	__attribute__((warn_unused_result));

/*
 * The same proofs and roots from stored subtree hashes instead of every
 * leaf, for a log too large to read per request. `f` writes the root of
 * the complete subtree at `level` number `idx` (leaves [idx * 2^level,
 * (idx + 1) * 2^level); level 0 is the leaf hash itself) into `out` and
 * returns 0, or -1 if it has none. A root or proof of a tree of n leaves
 * asks `f` for O(log^2 n) subtrees (at most 2 log2 n per hash it
 * returns) and hashes as many. Return 0, or -1 if a subtree is missing or
 * the sizes are out of range; the result equals the leaf-array version's.
 */
typedef int (*merkle_node_fn)(void *arg, unsigned level, uint64_t idx,
                              uint8_t out[MERKLE_HASH_LEN]);
int merkle_root_nodes(merkle_node_fn f, void *arg, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
	__attribute__((warn_unused_result));
int merkle_inclusion_proof_nodes(merkle_node_fn f, void *arg, uint64_t size, uint64_t index,
                                 uint8_t (*proof)[MERKLE_HASH_LEN], size_t *plen)
	__attribute__((warn_unused_result));
int merkle_consistency_proof_nodes(merkle_node_fn f, void *arg, uint64_t old_size,
                                   uint64_t new_size, uint8_t (*proof)[MERKLE_HASH_LEN],
                                   size_t *plen) __attribute__((warn_unused_result));

/*
 * A frontier: the roots of the complete subtrees that the first `size`
 * leaves make, largest first (one per set bit of size), which is all that
 * is needed to compute the root of the tree and to keep appending leaves.
 * A log of any size is verified in O(log n) memory by pushing its leaves
 * through one, and a later, larger tree by pushing only the new leaves.
 */
struct merkle_frontier {
	uint64_t size;
	unsigned n;                                 /* subtrees held */
	uint8_t level[64];                          /* subtree i covers 2^level[i] leaves */
	uint8_t hash[64][MERKLE_HASH_LEN];
};

/* The empty frontier (size 0). */
void merkle_frontier_init(struct merkle_frontier *f);
/* Append leaf hash `leaf`. If `done` is not NULL, it is called for each
 * subtree the leaf completes (level >= 1, its index at that level, its root). */
void merkle_frontier_push(struct merkle_frontier *f, const uint8_t leaf[MERKLE_HASH_LEN],
                          void (*done)(void *arg, unsigned level, uint64_t idx,
                                       const uint8_t hash[MERKLE_HASH_LEN]),
                          void *arg);
/* Store the root of the tree of f->size leaves in `out`. */
void merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_LEN]);
/* Set `f` to the frontier of `size` leaves from stored subtree roots
 * (`node` as for merkle_root_nodes). Return 0, or -1 if one is missing. */
int merkle_frontier_from_nodes(struct merkle_frontier *f, uint64_t size, merkle_node_fn node,
                               void *arg) __attribute__((warn_unused_result));

#endif
