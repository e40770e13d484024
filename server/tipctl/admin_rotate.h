/*
 * admin_rotate: `tipctl admin rotate REQUEST`, the admin's half of a
 * member's key rotation (docs/keys.md "Rotating your key"): check the
 * request both keys signed (`tipline/v1/rotate`, for this server's origin
 * and TLS key), show the old and new fingerprints, and sign, for every team
 * the old key is in, the next statement with the new keys in place of the
 * old ones under the same name.
 */
#ifndef TIPCTL_ADMIN_ROTATE_H
#define TIPCTL_ADMIN_ROTATE_H

/* Run `tipctl admin rotate ...` (argv[0] is "rotate"); return the exit code. */
int admin_rotate_main(int argc, char **argv);

#endif
