/*
 * names: who a key belongs to, as far as this computer has verified it, and
 * the one way tipctl shows a key to a person.
 *
 * A fingerprint is the first 16 hex digits of the SHA-256 of an Ed25519
 * key, always shown in four groups: "b1b2 79e2 45c4 ca76" (NAMES_FP_LEN
 * characters). The audit log names keys by the full hex SHA-256; its first
 * 16 digits are the same fingerprint.
 *
 * $TIPLINE_HOME/members-seen (or ~/.config/tipline/members-seen) keeps the
 * members of every team statement this computer verified (seen.h:
 * seen_check_and_update remembers them), text:
 *
 *   tipline-members-seen v1
 *   <server URL> <team> <64 hex: SHA-256 of the Ed25519 key> <name>
 *
 * so that `audit log` can name the keys it shows without fetching (and
 * auditing) every membership again. Written and locked like membership-seen.
 * A member removed later keeps their line (old entries still name them).
 */
#ifndef TIPCTL_NAMES_H
#define TIPCTL_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "membership.h"

#define NAMES_FILE_NAME "members-seen"
#define NAMES_FILE_MAX (4u << 20)
#define NAMES_MAX_ENTRIES 20000
#define NAMES_FP_LEN 19 /* "xxxx xxxx xxxx xxxx" */

/* Write the fingerprint of the Ed25519 key `pk` into `out`. */
void names_fingerprint(const uint8_t pk[32], char out[NAMES_FP_LEN + 1]);

/* Write the fingerprint for the hex SHA-256 `hex` of a key (at least 16
 * hex digits) into `out`. Return 0, or -1 if `hex` is not hex. */
int names_fingerprint_of_hash(const char *hex, char out[NAMES_FP_LEN + 1]);

/* Remember the members of the verified statement `m` shown by `server`
 * (NULL path: the default file). Return 0, or -1 (printed). */
int names_remember(const char *path, const char *server, const struct membership *m)
	__attribute__((warn_unused_result));

/* The names known for one server. */
struct names {
	char (*hash)[65];
	char (*name)[MEMBERSHIP_NAME_MAX + 1];
	size_t n;
};

/* Load every name remembered for `server` into `n` (names_free). No file:
 * none. Return 0, or -1 (printed). */
int names_load(const char *path, const char *server, struct names *n)
	__attribute__((warn_unused_result));

/* Add a name for a key given as its 32 bytes (e.g. an admin key pinned at
 * login). Return 0, or -1 if out of memory. */
int names_add_key(struct names *n, const uint8_t pk[32], const char *name)
	__attribute__((warn_unused_result));

/* The name of the key whose hex SHA-256 is `hex`, or NULL. */
const char *names_lookup(const struct names *n, const char *hex);

void names_free(struct names *n);

#endif
