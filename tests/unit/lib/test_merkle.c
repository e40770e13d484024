/* Tests for merkle (RFC 9162 trees) and checkpoint (C2SP tlog-checkpoint). */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "checkpoint.h"
#include "merkle.h"
#include "note.h"

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
}

TestSuite(merkle, .init = setup);
TestSuite(checkpoint, .init = setup);

typedef uint8_t hash_t[MERKLE_HASH_LEN];

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	cr_assert_eq(strlen(s), 2 * n);
	cr_assert_eq(sodium_hex2bin(out, n, s, 2 * n, NULL, NULL, NULL), 0);
}

static int
eqhex(const uint8_t *h, const char *s)
{
	char x[65];
	sodium_bin2hex(x, sizeof(x), h, 32);
	return strcmp(x, s) == 0;
}

/* The Certificate Transparency reference leaves (RFC 6962 test data, as in
 * transparency-dev/merkle and the CT C++ tests) and the roots of their
 * prefixes of size 0..8. */
static const char *const ct_leaves[8] = { "", "00", "10", "2021", "3031", "40414243",
	                                  "5051525354555657",
	                                  "606162636465666768696a6b6c6d6e6f" };
static const char *const ct_roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static hash_t ct[8];

static void
ct_load(void)
{
	for (int i = 0; i < 8; i++) {
		uint8_t raw[16];
		size_t n = strlen(ct_leaves[i]) / 2;
		if (n > 0)
			unhex(ct_leaves[i], raw, n);
		merkle_leaf_hash(raw, n, ct[i]);
	}
}

Test(merkle, ct_roots)
{
	hash_t r;
	ct_load();
	for (uint64_t n = 0; n <= 8; n++) {
		merkle_root((const hash_t *)ct, n, r);
		cr_assert(eqhex(r, ct_roots[n]), "root of size %llu", (unsigned long long)n);
	}
}

struct ct_proof {
	uint64_t a, b;
	size_t n;
	const char *h[3];
};

/* Inclusion (leaf a, size b) and consistency (a -> b) from the CT tests. */
static const struct ct_proof ct_incl[] = {
	{ 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};
static const struct ct_proof ct_cons[] = {
	{ 2, 8, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

Test(merkle, ct_inclusion_vectors)
{
	hash_t proof[MERKLE_PROOF_MAX], root, want[3];
	size_t n;
	ct_load();
	for (size_t v = 0; v < 2; v++) {
		const struct ct_proof *p = &ct_incl[v];
		cr_assert_eq(merkle_inclusion_proof((const hash_t *)ct, p->b, p->a, proof, &n), 0);
		cr_assert_eq(n, p->n);
		for (size_t i = 0; i < n; i++) {
			cr_assert(eqhex(proof[i], p->h[i]), "vector %zu hash %zu", v, i);
			unhex(p->h[i], want[i], 32);
		}
		unhex(ct_roots[p->b], root, 32);
		cr_assert_eq(merkle_inclusion_verify(p->a, p->b, ct[p->a], (const hash_t *)want, n, root), 0);
		/* the same proof for the neighbour leaf, or a smaller tree (whose path is
		 * shorter), fails; sizes with the same path shape share proofs, the
		 * root tells them apart */
		cr_assert_neq(merkle_inclusion_verify(p->a + 1, p->b, ct[p->a], (const hash_t *)want, n, root), 0);
		cr_assert_neq(merkle_inclusion_verify(p->a, p->b / 2, ct[p->a], (const hash_t *)want, n, root), 0);
	}
}

Test(merkle, ct_consistency_vectors)
{
	hash_t proof[MERKLE_PROOF_MAX], r1, r2, want[3];
	size_t n;
	ct_load();
	for (size_t v = 0; v < 2; v++) {
		const struct ct_proof *p = &ct_cons[v];
		cr_assert_eq(merkle_consistency_proof((const hash_t *)ct, p->a, p->b, proof, &n), 0);
		cr_assert_eq(n, p->n);
		for (size_t i = 0; i < n; i++) {
			cr_assert(eqhex(proof[i], p->h[i]), "vector %zu hash %zu", v, i);
			unhex(p->h[i], want[i], 32);
		}
		unhex(ct_roots[p->a], r1, 32);
		unhex(ct_roots[p->b], r2, 32);
		cr_assert_eq(merkle_consistency_verify(p->a, p->b, r1, r2, (const hash_t *)want, n), 0);
		/* swapped roots (a forked or rolled-back log) fail */
		cr_assert_neq(merkle_consistency_verify(p->a, p->b, r2, r1, (const hash_t *)want, n), 0);
	}
}

#define BIG 70
static hash_t big[BIG], big_roots[BIG + 1];

static void
big_load(void)
{
	for (int i = 0; i < BIG; i++) {
		char e[32];
		int n = snprintf(e, sizeof(e), "tipline/v1/audit %d", i);
		merkle_leaf_hash(e, (size_t)n, big[i]);
	}
	for (uint64_t n = 0; n <= BIG; n++)
		merkle_root((const hash_t *)big, n, big_roots[n]);
}

Test(merkle, every_inclusion_proof_roundtrips_and_tampering_fails)
{
	hash_t proof[MERKLE_PROOF_MAX];
	size_t n;
	big_load();
	for (uint64_t size = 1; size <= BIG; size++) {
		for (uint64_t i = 0; i < size; i++) {
			cr_assert_eq(merkle_inclusion_proof((const hash_t *)big, size, i, proof, &n), 0);
			cr_assert_eq(merkle_inclusion_verify(i, size, big[i], (const hash_t *)proof, n,
			                                     big_roots[size]), 0, "%llu/%llu",
			             (unsigned long long)i, (unsigned long long)size);
			/* another leaf's hash */
			cr_assert_neq(merkle_inclusion_verify(i, size, big[(i + 1) % BIG],
			                                      (const hash_t *)proof, n, big_roots[size]), 0);
			if (n == 0)
				continue;
			/* truncated, extended, flipped */
			cr_assert_neq(merkle_inclusion_verify(i, size, big[i], (const hash_t *)proof, n - 1,
			                                      big_roots[size]), 0);
			memcpy(proof[n], proof[0], 32);
			cr_assert_neq(merkle_inclusion_verify(i, size, big[i], (const hash_t *)proof, n + 1,
			                                      big_roots[size]), 0);
			proof[n - 1][7] ^= 1;
			cr_assert_neq(merkle_inclusion_verify(i, size, big[i], (const hash_t *)proof, n,
			                                      big_roots[size]), 0);
		}
	}
}

Test(merkle, every_consistency_proof_roundtrips_and_tampering_fails)
{
	hash_t proof[MERKLE_PROOF_MAX];
	size_t n;
	big_load();
	for (uint64_t b = 0; b <= BIG; b++) {
		for (uint64_t a = 0; a <= b; a++) {
			cr_assert_eq(merkle_consistency_proof((const hash_t *)big, a, b, proof, &n), 0);
			cr_assert_eq(merkle_consistency_verify(a, b, big_roots[a], big_roots[b],
			                                       (const hash_t *)proof, n), 0,
			             "%llu -> %llu", (unsigned long long)a, (unsigned long long)b);
			if (a > 0 && a < b) {
				/* a different old root (a forked log) */
				cr_assert_neq(merkle_consistency_verify(a, b, big_roots[a - 1], big_roots[b],
				                                        (const hash_t *)proof, n), 0);
				/* the proof for another old size */
				cr_assert_neq(merkle_consistency_verify(a, b, big_roots[a], big_roots[b],
				                                        (const hash_t *)proof, n - 1), 0);
				proof[0][3] ^= 0x80;
				cr_assert_neq(merkle_consistency_verify(a, b, big_roots[a], big_roots[b],
				                                        (const hash_t *)proof, n), 0);
			}
		}
	}
}

Test(merkle, degenerate_and_out_of_range)
{
	hash_t proof[MERKLE_PROOF_MAX], zero = { 0 };
	size_t n = 99;
	big_load();
	cr_assert_neq(merkle_inclusion_proof((const hash_t *)big, 5, 5, proof, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_neq(merkle_consistency_proof((const hash_t *)big, 6, 5, proof, &n), 0);
	cr_assert_neq(merkle_inclusion_verify(5, 5, big[4], (const hash_t *)proof, 0, big_roots[5]), 0);
	cr_assert_neq(merkle_inclusion_verify(0, 0, big[0], (const hash_t *)proof, 0, big_roots[0]), 0);
	/* size 1: the leaf is the root, with an empty proof */
	cr_assert_eq(merkle_inclusion_verify(0, 1, big[0], (const hash_t *)proof, 0, big_roots[1]), 0);
	cr_assert_neq(merkle_inclusion_verify(0, 1, big[0], (const hash_t *)big, 1, big_roots[1]), 0);
	/* equal sizes: empty proof and equal roots */
	cr_assert_eq(merkle_consistency_verify(4, 4, big_roots[4], big_roots[4], (const hash_t *)proof, 0), 0);
	cr_assert_neq(merkle_consistency_verify(4, 4, big_roots[4], big_roots[5], (const hash_t *)proof, 0), 0);
	cr_assert_neq(merkle_consistency_verify(4, 4, big_roots[4], big_roots[4], (const hash_t *)big, 1), 0);
	/* from the empty tree */
	cr_assert_eq(merkle_consistency_verify(0, 8, big_roots[0], big_roots[8], (const hash_t *)proof, 0), 0);
	cr_assert_neq(merkle_consistency_verify(0, 8, zero, big_roots[8], (const hash_t *)proof, 0), 0);
	cr_assert_neq(merkle_consistency_verify(0, 8, big_roots[0], big_roots[8], (const hash_t *)big, 1), 0);
	/* shrinking, and a non-trivial pair with an empty proof */
	cr_assert_neq(merkle_consistency_verify(8, 6, big_roots[8], big_roots[6], (const hash_t *)proof, 0), 0);
	cr_assert_neq(merkle_consistency_verify(6, 8, big_roots[6], big_roots[8], (const hash_t *)proof, 0), 0);
	cr_assert_neq(merkle_consistency_verify(4, 8, big_roots[4], big_roots[8], (const hash_t *)proof, 0), 0);
	/* over-long proofs are refused before any hashing */
	cr_assert_neq(merkle_inclusion_verify(0, 8, big[0], (const hash_t *)big, MERKLE_PROOF_MAX + 1,
	                                      big_roots[8]), 0);
}

/* ---- checkpoint ---- */

/* The example body from c2sp.org/tlog-checkpoint. */
static const char spec_body[] = "example.com/behind-the-sofa\n"
                                "20852163\n"
                                "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

/* ---- proofs from stored subtree hashes ---- */

#define NODES_N 70

struct nodes {
	hash_t leaves[NODES_N];
	unsigned calls;
	int missing_level; /* answer -1 for this level (or -1: never) */
};

/* Compute the subtree the slow way, as a store of them would hold it. */
static int
node_of(void *arg, unsigned level, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct nodes *t = arg;
	uint64_t w = UINT64_C(1) << level;
	t->calls++;
	if ((int)level == t->missing_level || (idx + 1) * w > NODES_N)
		return -1;
	merkle_root((const hash_t *)t->leaves + idx * w, w, out);
	return 0;
}

Test(merkle, proofs_from_subtrees_equal_proofs_from_leaves)
{
	struct nodes t = { .missing_level = -1 };
	hash_t p1[MERKLE_PROOF_MAX], p2[MERKLE_PROOF_MAX], r1, r2;
	size_t n1, n2;
	for (int i = 0; i < NODES_N; i++)
		merkle_leaf_hash(&i, sizeof(i), t.leaves[i]);
	for (uint64_t size = 0; size <= NODES_N; size++) {
		merkle_root((const hash_t *)t.leaves, size, r1);
		cr_assert_eq(merkle_root_nodes(node_of, &t, size, r2), 0);
		cr_assert_eq(memcmp(r1, r2, sizeof(r1)), 0, "root of %llu", (unsigned long long)size);
		for (uint64_t m = 0; m < size; m++) {
			cr_assert_eq(merkle_inclusion_proof((const hash_t *)t.leaves, size, m, p1, &n1), 0);
			t.calls = 0;
			cr_assert_eq(merkle_inclusion_proof_nodes(node_of, &t, size, m, p2, &n2), 0);
			cr_assert_eq(n1, n2);
			cr_assert_eq(memcmp(p1, p2, n1 * MERKLE_HASH_LEN), 0, "inclusion %llu in %llu",
			             (unsigned long long)m, (unsigned long long)size);
			cr_assert_leq(t.calls, 7u * 7u * 2u, "too many subtrees for one proof");
		}
		for (uint64_t old = 0; old <= size; old++) {
			cr_assert_eq(merkle_consistency_proof((const hash_t *)t.leaves, old, size, p1, &n1), 0);
			cr_assert_eq(merkle_consistency_proof_nodes(node_of, &t, old, size, p2, &n2), 0);
			cr_assert_eq(n1, n2);
			cr_assert_eq(memcmp(p1, p2, n1 * MERKLE_HASH_LEN), 0, "consistency %llu to %llu",
			             (unsigned long long)old, (unsigned long long)size);
		}
	}
	/* a missing subtree fails the proof; so do sizes out of range */
	t.missing_level = 2;
	cr_assert_eq(merkle_inclusion_proof_nodes(node_of, &t, 64, 0, p2, &n2), -1);
	cr_assert_eq(merkle_consistency_proof_nodes(node_of, &t, 3, 64, p2, &n2), -1);
	cr_assert_eq(merkle_inclusion_proof_nodes(node_of, &t, 4, 4, p2, &n2), -1);
	cr_assert_eq(merkle_consistency_proof_nodes(node_of, &t, 5, 4, p2, &n2), -1);
}

/* What the frontier's `done` callback saw: every completed subtree, checked
 * against the root computed from the leaves. */
struct seen_nodes {
	const struct nodes *t;
	unsigned count, bad;
};

static void
node_done(void *arg, unsigned level, uint64_t idx, const uint8_t hash[MERKLE_HASH_LEN])
{
	struct seen_nodes *s = arg;
	hash_t want;
	merkle_root((const hash_t *)s->t->leaves + (idx << level), (uint64_t)1 << level, want);
	s->count++;
	if (memcmp(want, hash, MERKLE_HASH_LEN) != 0)
		s->bad++;
}

Test(merkle, frontier_roots_and_nodes_equal_the_leaves)
{
	struct nodes t = { .missing_level = -1 };
	struct merkle_frontier f, g;
	struct seen_nodes seen = { .t = &t };
	hash_t r1, r2, r3;
	for (int i = 0; i < NODES_N; i++)
		merkle_leaf_hash(&i, sizeof(i), t.leaves[i]);
	merkle_frontier_init(&f);
	for (uint64_t size = 0; size <= NODES_N; size++) {
		merkle_root((const hash_t *)t.leaves, size, r1);
		merkle_frontier_root(&f, r2);
		cr_assert_eq(f.size, size);
		cr_assert_eq(memcmp(r1, r2, sizeof(r1)), 0, "frontier root of %llu", (unsigned long long)size);
		/* the same frontier, rebuilt from stored subtrees, goes on alike */
		cr_assert_eq(merkle_frontier_from_nodes(&g, size, node_of, &t), 0);
		cr_assert_eq(g.n, f.n);
		merkle_frontier_root(&g, r3);
		cr_assert_eq(memcmp(r1, r3, sizeof(r1)), 0, "rebuilt root of %llu", (unsigned long long)size);
		if (size < NODES_N)
			merkle_frontier_push(&f, t.leaves[size], node_done, &seen);
	}
	/* one node per complete subtree of level >= 1, each the right root */
	unsigned want = 0;
	for (int l = 1; l < 63; l++)
		want += (unsigned)((uint64_t)NODES_N >> l);
	cr_assert_eq(seen.count, want, "%u subtrees completed, want %u", seen.count, want);
	cr_assert_eq(seen.bad, 0u);
	t.missing_level = 2;
	cr_assert_eq(merkle_frontier_from_nodes(&g, 7, node_of, &t), -1);
}

Test(checkpoint, parses_the_spec_example_and_formats_it_back)
{
	struct checkpoint c;
	struct buf b;
	cr_assert_eq(checkpoint_parse(spec_body, strlen(spec_body), &c), 0);
	cr_assert_str_eq(c.origin, "example.com/behind-the-sofa");
	cr_assert_eq(c.size, 20852163);
	cr_assert_eq(c.root[0], 0x0a);
	cr_assert_eq(c.root[31], 0x62);
	buf_init(&b, 1024);
	cr_assert_eq(checkpoint_format(&c, &b), 0);
	cr_assert_eq(b.len, strlen(spec_body));
	cr_assert_eq(memcmp(b.data, spec_body, b.len), 0);
	buf_free(&b);
	/* extension lines are accepted and ignored */
	static const char ext[] = "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n";
	cr_assert_eq(checkpoint_parse(ext, strlen(ext), &c), 0);
	cr_assert_eq(c.size, 0);
}

Test(checkpoint, rejects_malformed_bodies)
{
	static const char *const bad[] = {
		"",
		"origin\n",
		"origin\n5\n",
		"origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",     /* no final newline */
		"\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",          /* empty origin */
		"has space\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",         /* leading zero */
		"o\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n9223372036854775808\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", /* 2^63 */
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",          /* unpadded */
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",         /* non-canonical */
		"o\n5\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n",         /* url alphabet */
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",       /* empty extension */
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\r\n",
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IAAAA\n",
	};
	struct checkpoint c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(checkpoint_parse(bad[i], strlen(bad[i]), &c), 0, "case %zu", i);
	/* a NUL inside the size (found by fuzzing: the number stopped there) */
	static const char nul[] = "o\n12\0\0" "345\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
	cr_assert_neq(checkpoint_parse(nul, sizeof(nul) - 1, &c), 0);
	/* too many extension lines */
	struct buf b;
	buf_init(&b, 4096);
	cr_assert_eq(buf_adds(&b, spec_body), 0);
	for (int i = 0; i <= CHECKPOINT_MAX_EXT; i++)
		cr_assert_eq(buf_adds(&b, "x\n"), 0);
	cr_assert_neq(checkpoint_parse((const char *)b.data, b.len, &c), 0);
	buf_free(&b);
}

struct keys {
	struct note_signer *s;
	struct note_verifier *v;
};

static struct keys
keys_new(const char *name)
{
	struct buf st, vt;
	struct keys k;
	buf_init_secure(&st, 512);
	buf_init(&vt, 512);
	cr_assert_eq(note_keygen(name, &st, &vt), 0);
	k.s = note_signer_parse((const char *)st.data, st.len);
	k.v = note_verifier_parse((const char *)vt.data, vt.len);
	cr_assert(k.s != NULL && k.v != NULL);
	buf_free(&st);
	buf_free(&vt);
	return k;
}

Test(checkpoint, sign_and_open)
{
	struct keys k = keys_new("review.example/audit"), other = keys_new("review.example/audit");
	struct checkpoint c = { .size = 42 }, got;
	struct buf note;
	snprintf(c.origin, sizeof(c.origin), "review.example/audit");
	memset(c.root, 0x5a, sizeof(c.root));
	buf_init(&note, 4096);
	cr_assert_eq(checkpoint_sign(k.s, &c, &note), 0);
	cr_assert_eq(checkpoint_open((const char *)note.data, note.len, k.v, NULL, &got), NOTE_OK);
	cr_assert_eq(got.size, 42);
	cr_assert_eq(memcmp(got.root, c.root, 32), 0);
	/* another key of the same name: not trusted */
	cr_assert_neq(checkpoint_open((const char *)note.data, note.len, other.v, NULL, &got), NOTE_OK);
	/* a different expected origin */
	cr_assert_eq(checkpoint_open((const char *)note.data, note.len, k.v, "elsewhere", &got),
	             NOTE_ERR_FORMAT);
	/* a changed size breaks the signature */
	char *t = (char *)note.data;
	char *nl = memchr(t, '\n', note.len);
	nl[1] = '3';
	cr_assert_eq(checkpoint_open(t, note.len, k.v, NULL, &got), NOTE_ERR_BAD_SIGNATURE);
	buf_free(&note);
	/* a signed note that is not a checkpoint */
	buf_init(&note, 4096);
	cr_assert_eq(note_sign(k.s, "review.example/audit\nhello\n", 27, &note), 0);
	cr_assert_eq(checkpoint_open((const char *)note.data, note.len, k.v, NULL, &got), NOTE_ERR_FORMAT);
	buf_free(&note);
	/* the origin must be a valid origin */
	c.origin[0] = '\0';
	buf_init(&note, 4096);
	cr_assert_neq(checkpoint_sign(k.s, &c, &note), 0);
	buf_free(&note);
	note_signer_free(k.s);
	note_verifier_free(k.v);
	note_signer_free(other.s);
	note_verifier_free(other.v);
}
