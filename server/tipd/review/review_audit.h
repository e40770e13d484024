/*
 * review_audit: the audit log's read routes on the review API (docs/api.md
 * "Audit log"), for any logged-in investigator or admin:
 *
 *   GET /api/v1/audit/checkpoint                     newest signed checkpoint (text/plain)
 *   GET /api/v1/audit/leaves?start=&end=             leaf hashes [start, end)
 *   GET /api/v1/audit/leaves/raw?start=&end=         the same as 32 bytes each (octet-stream)
 *   GET /api/v1/audit/entries?start=&end=            entries the caller may read, leaf hashes otherwise
 *   GET /api/v1/audit/proof/inclusion?index=&size=   RFC 9162 inclusion proof
 *   GET /api/v1/audit/proof/consistency?old=&new=    RFC 9162 consistency proof
 *
 * Ranges hold at most RV_AUDIT_RANGE_MAX entries. Proofs are for trees of
 * at most RV_AUDIT_PROOF_MAX leaves and are computed from the stored roots
 * of complete subtrees (audit_nodes), never from all the leaves: a request
 * reads and hashes at most RV_AUDIT_NODES_MAX stored hashes (O(log^2 n):
 * a few hundred at 2^20 leaves), so no caller can make the loop that also
 * serves sources hash the whole log. Hashes are standard padded base64.
 *
 * Who reads an entry in full: admins every entry; a member the entries of
 * their teams' objects, and those naming their own key as actor or subject.
 * Everyone else gets the index and leaf hash only ("entry": null).
 * Reading the audit log is itself not audited (it would grow with every
 * verification).
 */
#ifndef TIPD_REVIEW_AUDIT_H
#define TIPD_REVIEW_AUDIT_H

struct rv_ops;

#define RV_AUDIT_RANGE_MAX 1000   /* entries per GET /api/v1/audit/entries */
#define RV_AUDIT_LEAVES_MAX 10000 /* leaf hashes per GET /api/v1/audit/leaves */
#define RV_AUDIT_RAW_MAX 100000   /* leaf hashes per GET /api/v1/audit/leaves/raw (3.2 MB) */
#define RV_AUDIT_PROOF_MAX (1ull << 40)
#define RV_AUDIT_NODES_MAX 4096 /* subtrees one proof may read */

/* The handler ops of the table's rows (review.c). */
extern const struct rv_ops rv_checkpoint_ops;
extern const struct rv_ops rv_audit_range_ops; /* leaves and entries */
extern const struct rv_ops rv_audit_raw_ops;   /* leaves, 32 bytes each */
extern const struct rv_ops rv_audit_proof_ops; /* inclusion and consistency */

/*
 * Parse the query `q` ("k=v&k=v") holding only the `n` keys `keys`, each a
 * decimal number at most INT64_MAX, each at most once: store them in
 * vals[i] and set seen[i]. Return 0, or -1 on anything else.
 */
int rv_audit_query(const char *q, const char *const *keys, unsigned long long *vals, int *seen,
                   int n) __attribute__((warn_unused_result));

#endif
