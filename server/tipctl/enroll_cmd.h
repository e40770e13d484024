/*
 * enroll_cmd: `tipctl enroll INVITE` — pin the server from an invite and
 * send this person's public keys with a proof-of-possession signature
 * (server/lib/invite.h); see `tipctl enroll --help`.
 */
#ifndef TIPCTL_ENROLL_CMD_H
#define TIPCTL_ENROLL_CMD_H

/* Run `tipctl enroll` (argv[0] is "enroll"). Return the exit code. */
int enroll_cmd_main(int argc, char **argv);

#endif
