/*
 * admins: the signed chain of admin sets (docs/crypto.md "Admin statements").
 *
 * The admins whose signatures make membership statements are not fixed: the
 * keys pinned in tipd's configuration (and in every tipctl at enrollment) are
 * only the start of a chain of signed notes whose text is exactly:
 *
 *   tipline/v1/admins
 *   seq <decimal, 1.., no leading zeros>
 *   prev <64 lower hex: SHA-256 of the previous complete signed note | "-" when seq is 1>
 *   quorum <1..number of admins>
 *   admin <verifier key text NAME+HASH+BASE64>
 *   …  (1 to ADMINS_MAX admin lines; keys unique)
 *
 * Statement 1 must carry signatures of `quorum0` distinct pinned keys;
 * statement N + 1 signatures of the quorum of distinct admins that statement
 * N lists. Each statement lists the whole admin set after the change; the
 * set of the latest valid statement is the current one. Statements from a
 * key the previous set does not hold count for nothing.
 */
#ifndef TIPLINE_ADMINS_H
#define TIPLINE_ADMINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "note.h"

#define ADMINS_ORIGIN "tipline/v1/admins"
#define ADMINS_MAX 8
#define ADMINS_HASH_LEN 32
#define ADMINS_SEQ_MAX 9007199254740991ULL /* 2^53 - 1 */
#define ADMINS_CHAIN_MAX 1024              /* longest chain a reader accepts */

enum admins_result {
	ADMINS_OK = 0,
	ADMINS_ERR_FORMAT = -1,        /* malformed note or statement text */
	ADMINS_ERR_QUORUM = -2,        /* fewer valid signatures of the previous set than its quorum */
	ADMINS_ERR_BAD_SIGNATURE = -3, /* a signature line of a trusted key does not verify */
	ADMINS_ERR_SEQUENCE = -4,      /* not the previous seq + 1 */
	ADMINS_ERR_STALE = -5,         /* seq <= the previous (or remembered) one: replay */
	ADMINS_ERR_PREV_HASH = -6,     /* prev does not name the previous statement */
	ADMINS_ERR_FORKED = -7,        /* same seq as the remembered one, other bytes */
	ADMINS_ERR_SYSTEM = -8         /* out of memory */
};

/* One verified admin statement. */
struct admins;

/*
 * Append the text of the statement with sequence `seq`, previous hash
 * `prev_hash` (NULL when seq is 1), `quorum` and the `n` verifier key texts
 * `keys` to `out`. Return 0, or -1 if a field is invalid (quorum not in
 * 1..n, n not in 1..ADMINS_MAX, a key malformed or repeated).
 */
int admins_build_text(uint64_t seq, const uint8_t *prev_hash, unsigned quorum,
                      const char *const *keys, size_t n, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Parse the signed statement of `len` bytes at `note` without checking any
 * signature (to show it, or to count who signed it). On ADMINS_OK store it
 * in *out (admins_free). Return ADMINS_OK, _FORMAT or _SYSTEM.
 */
enum admins_result admins_parse(const char *note, size_t len, struct admins **out)
	__attribute__((warn_unused_result));

/*
 * Open `note` as the statement that follows `prev` (NULL: the first, then
 * the `npinned` verifiers `pinned` sign it, `quorum0` of them, or if
 * `quorum0` is 0 as many as the statement's own quorum): check it
 * carries signatures of `prev`'s quorum of distinct `prev` admins, and that
 * its seq and prev hash follow `prev`. On ADMINS_OK store it in *out.
 */
enum admins_result admins_open_next(const struct admins *prev,
                                    const struct note_verifier *const *pinned, size_t npinned,
                                    unsigned quorum0, const char *note, size_t len,
                                    struct admins **out) __attribute__((warn_unused_result));

/* Count the distinct verifiers of `vs` (`nv`) whose signature on `note`
 * verifies; store it in *count. Return ADMINS_OK, _FORMAT, _BAD_SIGNATURE
 * (a trusted key's line does not verify) or _SYSTEM. No signature: count 0. */
enum admins_result admins_count_signers(const char *note, size_t len,
                                        const struct note_verifier *const *vs, size_t nv,
                                        size_t *count) __attribute__((warn_unused_result));

void admins_free(struct admins *a);

uint64_t admins_seq(const struct admins *a);
const uint8_t *admins_hash(const struct admins *a); /* of the complete signed note */
unsigned admins_quorum(const struct admins *a);
size_t admins_count(const struct admins *a);
/* Admin `i` (< admins_count) as a verifier, owned by `a`. */
const struct note_verifier *admins_at(const struct admins *a, size_t i);
/* Admin `i`'s verifier key text, owned by `a`. */
const char *admins_key_text(const struct admins *a, size_t i);
/* Return 1 if `a` lists the Ed25519 key `pk`, else 0. */
int admins_has_key(const struct admins *a, const uint8_t pk[NOTE_PK_LEN]);
/* The verifiers as an array (owned by `a`), for note_open and membership_open. */
const struct note_verifier *const *admins_verifiers(const struct admins *a);

/* Return a short English description of an admins_result. */
const char *admins_strerror(enum admins_result r);

#endif
