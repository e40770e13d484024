/*
 * login_cmd: `tipctl login` and `tipctl logout` (the review API's login,
 * see docs/crypto.md §10 and §11 "Domain separation").
 */
#ifndef TIPCTL_LOGIN_CMD_H
#define TIPCTL_LOGIN_CMD_H

#include <stdint.h>

#include "buf.h"

#define LOGIN_ORIGIN_MAX 256
#define LOGIN_NONCE_MAX 128

/*
 * Append the exact bytes a login signs to `out`:
 * "tipline/v1/login\n<origin>\n<tls_hex>\n<nonce>\n<time>\n". Return 0,
 * or -1 if a field is empty, holds a control character or a newline, or
 * `out` is full.
 */
int login_cmd_message(const char *origin, const char *tls_hex, const char *nonce, int64_t time,
                      struct buf *out) __attribute__((warn_unused_result));

/* Run `tipctl login`. Return an exit code (enum cli_exit). */
int login_cmd_login(int argc, char **argv);
/* Run `tipctl logout`. Return an exit code (enum cli_exit). */
int login_cmd_logout(int argc, char **argv);

#endif
