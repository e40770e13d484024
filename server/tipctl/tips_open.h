/*
 * tips_open: the commands that decrypt, `tipctl tips show` and
 * `tipctl tips get`. Plaintext stays in locked memory until it is printed
 * or written where the investigator asked.
 */
#ifndef TIPCTL_TIPS_OPEN_H
#define TIPCTL_TIPS_OPEN_H

#define TIPS_REPORT_MAX (16u << 20)  /* largest decrypted report */
#define TIPS_ATTACH_MAX (512u << 20) /* largest attachment downloaded */

/* Run `tipctl tips show` (argv starts at "show"). Return an exit code. */
int tips_open_show(int argc, char **argv);
/* Run `tipctl tips get` (argv starts at "get"). Return an exit code. */
int tips_open_get(int argc, char **argv);

#endif
