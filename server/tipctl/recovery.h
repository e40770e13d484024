/*
 * recovery: a team's offline recovery key (docs/keys.md "Recovery").
 *
 * The recovery key is a plain age X25519 identity. An admin adds its
 * recipient to the team's membership (`tipctl admin recovery`), so every
 * object is sealed to it like to a member; it has no signing key and never
 * logs in. Its secret lives on paper: whole (text and QR code), or split k of
 * n among officers with Shamir's scheme over GF(2^8) (server/lib/shamir.h).
 * `tipctl recovery combine` turns k shares back into an age identity file
 * that stock `age -d -i` reads.
 */
#ifndef TIPCTL_RECOVERY_H
#define TIPCTL_RECOVERY_H

/* `tipctl recovery keygen|split|combine ...` (argv[0] is "recovery"). */
int recovery_main(int argc, char **argv);

#endif
