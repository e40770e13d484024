/*
 * admin_recovery: `tipctl admin recovery`, which puts a team's offline
 * recovery recipient into (or takes it out of) its membership statement
 * (docs/keys.md "Recovery"; the member line with an all-zero Ed25519 key,
 * server/lib/membership.h).
 */
#ifndef TIPCTL_ADMIN_RECOVERY_H
#define TIPCTL_ADMIN_RECOVERY_H

/* Run `tipctl admin recovery ...` (argv[0] is "recovery"); return the exit code. */
int admin_recovery_main(int argc, char **argv);

#endif
