/*
 * hostkeys_cmd: this host's shared secrets against the deployment's
 * (store/hostkeys.h), at start-up and as `tipd keys adopt`.
 */
#ifndef TIPD_HOSTKEYS_CMD_H
#define TIPD_HOSTKEYS_CMD_H

struct receipt_pepper;
struct tipd_config;

/*
 * Compute the check values of the secrets this host holds (the receipt
 * pepper `pepper`; STATE_DIR/nonce.key if the review listener is on; the
 * [web] key if set) and compare them with the deployment's, recording
 * them if it has none yet; with `adopt`, make them the deployment's, as
 * [database] migrate_conninfo (the application role may not change them).
 * Return 0, 1 if the database was unreachable (not checked; logged), or -1
 * (logged) on a mismatch or an error.
 */
int hostkeys_run(const struct tipd_config *cfg, const struct receipt_pepper *pepper, int adopt);

/* Run `tipd keys adopt` (argv[0] is "keys"). Return the exit code: 0, 1 on
 * error, 2 on bad usage. */
int hostkeys_cmd(const struct tipd_config *cfg, const struct receipt_pepper *pepper, int argc,
                 char **argv);

#endif
