/*
 * profile: what `tipctl enroll` pinned from the invite, so that `tipctl
 * login` needs no options and never trusts the server for its own keys.
 *
 * $TIPLINE_HOME/profile or ~/.config/tipline/profile (mode 0600, written as
 * a new file and renamed, never through a symlink), text lines:
 *
 *   tipline-profile v1
 *   server https://HOST:PORT
 *   pin <64 hex: SHA-256 of the server's TLS SubjectPublicKeyInfo>
 *   origin <the review origin>
 *   role admin|investigator
 *   name <member name, or - for an admin>
 *   admin_key <pinned admin verifier key>      (1 to 8)
 *   audit_key <pinned audit log verifier key>  (optional)
 *   key_file <path of the admin key file>      (admins only, optional)
 */
#ifndef TIPCTL_PROFILE_H
#define TIPCTL_PROFILE_H

#include "invite.h"

struct profile {
	char server[INVITE_FIELD_MAX];
	char pin[65];
	char origin[INVITE_FIELD_MAX];
	char role[16];
	char name[65];
	char admin_keys[INVITE_ADMINS_MAX][INVITE_FIELD_MAX];
	size_t n_admin_keys;
	char audit_key[INVITE_FIELD_MAX];
	char key_file[4096];
};

/* Fill `p` from the pins of invite `iv`. */
void profile_from_invite(struct profile *p, const struct invite *iv);

/* Store the profile path in `out`, creating the directory (0700) if
 * `create_dir`. Return 0, or -1 after printing why. */
int profile_path(struct buf *out, int create_dir) __attribute__((warn_unused_result));

/* Write `p` to `path` (new file, renamed over the old one). Return 0, or -1 (printed). */
int profile_save(const struct profile *p, const char *path) __attribute__((warn_unused_result));

/* Read `path` into `p`. Return 1 if loaded, 0 if there is no profile, -1
 * if it is unsafe or malformed (printed). */
int profile_load(struct profile *p, const char *path) __attribute__((warn_unused_result));

/*
 * Append to `out` what replacing `old` by `new` would change, two lines
 * (old, then new) per field that differs. Return how many fields differ
 * (0: the same profile), or -1 if out of memory.
 */
int profile_diff(const struct profile *old, const struct profile *new, struct buf *out)
	__attribute__((warn_unused_result));

#endif
