/*
 * adminchain: the current admin set, as tipd verifies it (docs/keys.md
 * "Adding and removing an admin", docs/crypto.md "Admin statements").
 *
 * The admin keys pinned in the configuration ([admins] admin_key, with
 * [admins] quorum) start a chain of signed admin statements (admins.h)
 * stored in PostgreSQL (admin_statements). tipd verifies it from the pinned
 * keys; the latest valid statement's set is the current one (the pinned
 * keys while there is none). Membership statements are verified against
 * it: every link of a team's chain by an admin the admin chain has ever
 * named (a removal does not undo the past), the head by a current admin.
 *
 * With a state directory tipd remembers the highest admin statement it has
 * seen (STATE_DIR/admins-seen) and refuses a chain that ends lower or forks
 * from it, and caches the whole chain (STATE_DIR/admin-chain) to start
 * while PostgreSQL is unreachable.
 *
 * Verifiers are never freed while tipd runs (at most ADMINCHAIN_EVER_MAX
 * keys in a lifetime): readers on any thread may use the arrays returned
 * here without a lock. Thread-safe.
 */
#ifndef TIPD_ADMINCHAIN_H
#define TIPD_ADMINCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "admins.h"
#include "note.h"

#define ADMINCHAIN_EVER_MAX 64

struct adminchain;

/* Parse the pinned verifier keys; `quorum` (1.. n) is how many of them must
 * sign the first statement and the least quorum a new statement may set.
 * NULL and a message in `err` on error. */
struct adminchain *adminchain_new(char *const *keys, size_t n, unsigned quorum, char *err,
                                  size_t errlen);
void adminchain_free(struct adminchain *ac);

/* Read and verify the chain (blocking libpq; start-up and CLI). With
 * `state_dir`, check it against admins-seen and, if PostgreSQL is
 * unreachable, use the cached chain. Return 0, or -1 (logged): a chain
 * that does not verify, was rolled back or forks is refused. */
int adminchain_load(struct adminchain *ac, const char *conninfo, const char *state_dir);

/* Re-read the chain (blocking) and adopt a longer valid one. Return 1 if
 * the admin set changed, 0 if not, -1 on a database error or a chain that
 * does not extend the current one (logged; nothing changes). */
int adminchain_refresh(struct adminchain *ac, const char *conninfo);

/* Return 1 if `pk` is a current admin, else 0. */
int adminchain_is_current(const struct adminchain *ac, const uint8_t pk[NOTE_PK_LEN]);

/* Every admin key the chain has ever named (the pinned ones first), and
 * their number. The array stays valid until adminchain_free. */
const struct note_verifier *const *adminchain_ever(const struct adminchain *ac, size_t *n);

/* Return 1 if the signed note `note` carries a valid signature of a current
 * admin, else 0. */
int adminchain_signed_by_current(const struct adminchain *ac, const char *note, size_t len);

/* Open `note` as the next admin statement: signed by the current set's
 * quorum, with a quorum of at least the configured one, changing exactly
 * one admin (one added or one removed). On ADMINS_OK *out is the statement
 * (caller frees or hands it to adminchain_adopt), and *changed (32 bytes)
 * the key added or removed, *added 1 if added. */
enum admins_result adminchain_check_next(struct adminchain *ac, const char *note, size_t len,
                                         struct admins **out, uint8_t changed[NOTE_PK_LEN],
                                         int *added) __attribute__((warn_unused_result));

/* Make `a` (taken; checked and stored) the current set and remember it.
 * Return 0, or -1 if the state files could not be written. */
int adminchain_adopt(struct adminchain *ac, struct admins *a, const char *note, size_t len);

/* The current statement's sequence number (0: only the pinned keys). */
uint64_t adminchain_seq(const struct adminchain *ac);

#endif
