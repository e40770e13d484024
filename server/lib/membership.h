/*
 * membership: signed team membership statements (docs/crypto.md §8).
 *
 * A statement is a signed note (see note.h) made by an admin whose text is
 * exactly:
 *
 *   tipline/v1/membership
 *   team <[a-z0-9][a-z0-9-]{0,62}>
 *   seq <decimal, 1.., no leading zeros>
 *   prev <64 lower hex: SHA-256 of the previous complete signed note | "-" when seq is 1>
 *   member <[A-Za-z0-9._-]{1,64}> <age1… recipient> <base64 32-byte Ed25519 key>
 *   …  (zero or more member lines; names, recipients and Ed25519 keys unique)
 *
 * A member line whose Ed25519 key is 32 zero bytes is the team's offline
 * recovery recipient (docs/crypto.md §8 "Recovery"): objects are sealed to
 * it like to any member, but the all-zero key is a small-order point that
 * no signature verifies under, so it can never log in, sign or approve.
 * Keys are unique, so a team has at most one.
 *
 * Statements form a chain per team. A reader verifies each one against the
 * pinned admin keys, then checks that it follows the last one it accepted
 * (membership_check_next), so that an older statement cannot be replayed.
 */
#ifndef TIPLINE_MEMBERSHIP_H
#define TIPLINE_MEMBERSHIP_H

#include <stddef.h>
#include <stdint.h>

#include "age.h"
#include "buf.h"
#include "note.h"

#define MEMBERSHIP_ORIGIN "tipline/v1/membership"
#define MEMBERSHIP_TEAM_MAX 63
#define MEMBERSHIP_NAME_MAX 64
#define MEMBERSHIP_MAX_MEMBERS 256
#define MEMBERSHIP_HASH_LEN 32
#define MEMBERSHIP_KEY_LEN 32
#define MEMBERSHIP_SEQ_MAX 9007199254740991ULL /* 2^53 - 1: exact in JSON numbers */

enum membership_result {
	MEMBERSHIP_OK = 0,
	MEMBERSHIP_ERR_FORMAT = -1,        /* malformed note or statement text */
	MEMBERSHIP_ERR_UNSIGNED = -2,      /* no signature by any pinned admin key */
	MEMBERSHIP_ERR_BAD_SIGNATURE = -3, /* a pinned admin key's signature does not verify */
	MEMBERSHIP_ERR_SEQUENCE = -4,      /* not prev's seq + 1, or seq != 1 without a prev */
	MEMBERSHIP_ERR_STALE = -5,         /* seq <= prev's seq: older or replayed */
	MEMBERSHIP_ERR_PREV_HASH = -6,     /* prev hash does not name the previous statement */
	MEMBERSHIP_ERR_TEAM = -7,          /* a different team than the previous statement */
	MEMBERSHIP_ERR_SYSTEM = -8         /* out of memory */
};

/* One member as listed in a statement. */
struct membership_member {
	char name[MEMBERSHIP_NAME_MAX + 1];
	char recipient[AGE_RECIPIENT_STR_MAX]; /* "age1…" */
	uint8_t x25519_pk[MEMBERSHIP_KEY_LEN];  /* decoded recipient */
	uint8_t ed25519_pk[MEMBERSHIP_KEY_LEN];
};

struct membership;

/* Return 1 if `team` is a valid team id, else 0. */
int membership_team_valid(const char *team);

/*
 * Parse the member line "NAME age1… BASE64_ED25519" (`len` bytes, no
 * newline, no "member " prefix) into `m`. Return 0, or -1 if malformed.
 */
int membership_member_parse(const char *line, size_t len, struct membership_member *m)
	__attribute__((warn_unused_result));

/*
 * Append the text of a statement for `team`, sequence `seq`, previous
 * statement hash `prev_hash` (NULL when seq is 1) and the `n` members `ms`
 * (name, recipient and ed25519_pk are used) to `out`. Return 0, or -1 if a
 * field is invalid, names/recipients/keys repeat, or the text is too long.
 */
int membership_build_text(const char *team, uint64_t seq, const uint8_t *prev_hash,
                          const struct membership_member *ms, size_t n, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Verify the signed statement of `len` bytes at `note` against the
 * `nadmins` pinned admin verifiers and parse it. On MEMBERSHIP_OK store a
 * new statement in *out (free with membership_free); otherwise return
 * MEMBERSHIP_ERR_FORMAT, _UNSIGNED, _BAD_SIGNATURE or _SYSTEM.
 */
enum membership_result membership_open(const char *note, size_t len,
                                       const struct note_verifier *const *admins, size_t nadmins,
                                       struct membership **out)
	__attribute__((warn_unused_result));

/*
 * Check that `next` may follow `prev` (NULL if no statement was accepted
 * yet for this team). Return MEMBERSHIP_OK, or MEMBERSHIP_ERR_TEAM,
 * _STALE, _SEQUENCE or _PREV_HASH.
 */
enum membership_result membership_check_next(const struct membership *prev,
                                             const struct membership *next)
	__attribute__((warn_unused_result));

/* Free a statement (NULL is fine). */
void membership_free(struct membership *m);

/* Accessors; the statement keeps ownership of what they return. */
const char *membership_team(const struct membership *m);
uint64_t membership_seq(const struct membership *m);
/* SHA-256 of the complete signed note bytes. */
const uint8_t *membership_hash(const struct membership *m);
/* The previous statement's hash, or NULL when seq is 1. */
const uint8_t *membership_prev_hash(const struct membership *m);
size_t membership_count(const struct membership *m);
/* Return member `i` (< membership_count), or NULL. */
const struct membership_member *membership_member_at(const struct membership *m, size_t i);
/* Return the member named `name`, or NULL. */
const struct membership_member *membership_find(const struct membership *m, const char *name);

/* Return 1 if a member of `m` (may be NULL) has the age recipient
 * `recipient` (has the Ed25519 key `ed25519_pk`), else 0. A member of an
 * earlier statement who fails one of these in the next one has lost access
 * under that recipient (key): revocation deletes what it held. */
int membership_has_recipient(const struct membership *m, const char *recipient);
int membership_has_key(const struct membership *m, const uint8_t ed25519_pk[MEMBERSHIP_KEY_LEN]);

/* Return 1 if `m` is the team's recovery recipient (its Ed25519 key is all
 * zero bytes), else 0. */
int membership_member_is_recovery(const struct membership_member *m);

/* Write the fingerprint of an Ed25519 key: the first 16 hex digits of its SHA-256. */
void membership_fingerprint(const uint8_t ed25519_pk[MEMBERSHIP_KEY_LEN], char out[17]);

/* Return a short English description of a membership_result. */
const char *membership_strerror(enum membership_result r);

#endif
