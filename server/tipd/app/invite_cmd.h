/*
 * invite_cmd: `tipd invite --admin`, the operator's bootstrap (docs/api.md,
 * "Enrollment and administration").
 *
 * The first admin cannot be invited by an admin, so the operator makes the
 * invite on the server: it carries this server's review URL and origin, the
 * SHA-256 of the review listener's TLS public key, the admin keys pinned in
 * the configuration and the audit log's verifier key, all read from the
 * server's own files, and a single-use secret whose SHA-256 is stored in
 * PostgreSQL. The admin's tipctl pins what the invite says and enrolls with
 * an admin key the configuration already pins. Audited as operator_invite.
 */
#ifndef TIPD_INVITE_CMD_H
#define TIPD_INVITE_CMD_H

struct tipd_config;

/* Run `tipd invite` with its arguments (argv[0] is "invite"). Print the
 * invite on stdout and how to use it on stderr. Return the exit code:
 * 0, 1 on error, 2 on bad usage. `cfg` may be NULL only for --help. */
int invite_cmd(const struct tipd_config *cfg, int argc, char **argv);

/* Return 1 if the arguments ask for --help (answered without a configuration). */
int invite_cmd_wants_help(int argc, char **argv);

#endif
