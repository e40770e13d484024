/*
 * ident_cmd: the investigator identity commands, `tipctl init` and
 * `tipctl whoami`. Each takes argv starting at the command name and
 * returns an exit code (enum cli_exit).
 */
#ifndef TIPCTL_IDENT_CMD_H
#define TIPCTL_IDENT_CMD_H

/* Run `tipctl init`: make a new identity file. */
int ident_cmd_init(int argc, char **argv);
/* Run `tipctl whoami`: show the keys of an existing identity file. */
int ident_cmd_whoami(int argc, char **argv);

#endif
