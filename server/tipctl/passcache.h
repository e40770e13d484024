/*
 * passcache: the unlocked identity kept for a few minutes in the kernel's
 * key retention service, so that a run of commands asks the passphrase
 * (and runs scrypt) once, like an agent, without a process of our own.
 *
 * After a passphrase typed at the terminal opens an identity file, the
 * decrypted identity text is added as a "user" key to the session keyring
 * (add_key(2); the user-session keyring if the login made none, so it is
 * the same for every process of the user then), described
 * "tipline:identity:<SHA-256 of the identity file's bytes>" so that it only
 * ever stands for that exact file. Its permissions are possessor-only
 * (view, read, search, write, setattr; nothing for user, group or others)
 * and it expires after TIPLINE_PASS_CACHE seconds (default
 * PASSCACHE_DEFAULT_S, at most PASSCACHE_MAX_S; 0 turns the cache off:
 * every command asks). The payload lives in kernel memory, which is never
 * swapped; tipctl reads it into sodium_malloc memory. Commands given
 * --passphrase-file neither use nor fill the cache. `tipctl logout` drops
 * every entry (as does `keyctl purge -p tipline:identity: user`).
 */
#ifndef TIPCTL_PASSCACHE_H
#define TIPCTL_PASSCACHE_H

#include "identity.h"

#define PASSCACHE_DEFAULT_S 300
#define PASSCACHE_MAX_S 3600

/* The cache lifetime from TIPLINE_PASS_CACHE (0: off). A value that is not
 * a number of seconds turns the cache off. */
unsigned passcache_seconds(void);

/* The identity cached for the file at `path`, or NULL (none, expired,
 * turned off, or the keyring is not available). */
struct identity *passcache_get(const char *path);

/* Cache `id`, opened from the file at `path`, for passcache_seconds().
 * Failures are silent: the next command asks again. */
void passcache_put(const char *path, const struct identity *id);

/* Drop the entry for the file at `path`, if any. */
void passcache_forget(const char *path);

/* Drop every tipctl entry in the session keyring (`tipctl logout`). Return
 * how many were dropped. */
int passcache_forget_all(void);

#endif
