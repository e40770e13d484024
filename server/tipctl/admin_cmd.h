/*
 * admin_cmd: offline admin commands, `tipctl admin keygen` and
 * `tipctl admin membership`. Each takes argv starting at the subcommand
 * name and returns an exit code (enum cli_exit).
 */
#ifndef TIPCTL_ADMIN_CMD_H
#define TIPCTL_ADMIN_CMD_H

/* Run `tipctl admin keygen`: make an Ed25519 admin key, stored passphrase-encrypted. */
int admin_cmd_keygen(int argc, char **argv);
/* Run `tipctl admin membership`: build and sign the next team membership statement. */
int admin_cmd_membership(int argc, char **argv);

#endif
