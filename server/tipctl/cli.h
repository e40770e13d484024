/*
 * cli: helpers shared by tipctl's commands — exit codes, error messages,
 * passphrase input, small file I/O and default paths.
 */
#ifndef TIPCTL_CLI_H
#define TIPCTL_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum cli_exit { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2 };

#define CLI_PASS_MAX 1024     /* longest passphrase accepted */
#define CLI_PASS_MIN_CHARS 10 /* shortest new passphrase, in characters */
#define CLI_PASS_TRIES 3      /* a new passphrase typed too short or mistyped: asked again */
#define CLI_FILE_MAX 65536    /* largest key/statement/member file read */

/* Print "tipctl: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Get a passphrase into locked memory (free with cli_pass_free): the first
 * line of `file` if it is not NULL, else typed at the terminal without
 * echo after `prompt` (asked twice if `confirm`). If `is_new`, insist on
 * CLI_PASS_MIN_CHARS characters (at a terminal: said after the first entry,
 * and asked again, CLI_PASS_TRIES times in all, as for a mismatch). Return the NUL-terminated passphrase, or
 * NULL after printing why.
 */
char *cli_pass_get(const char *file, const char *prompt, bool confirm, bool is_new);
/* Wipe and free a passphrase (NULL is fine). */
void cli_pass_free(char *pass);

/*
 * Read the whole file `path` (at most CLI_FILE_MAX bytes) into `out`.
 * Return 0, or -1 after printing why.
 */
int cli_read_file(const char *path, struct buf *out) __attribute__((warn_unused_result));

/*
 * Write `n` bytes to the new file `path` (O_EXCL, O_NOFOLLOW, mode 0600)
 * and fsync it; leave nothing behind on failure. Return 0, or -1 with
 * errno set (EEXIST if it exists).
 */
int cli_write_new(const char *path, const void *p, size_t n) __attribute__((warn_unused_result));

/*
 * Replace the file `path` with `n` bytes at `p`: PATH.new (a leftover from
 * a crash removed first; then as cli_write_new) renamed over PATH, and
 * the directory fsync'd (best effort: the file itself is complete). Hold
 * the file's lock, if it has one. Return 0, or -1 with errno set and
 * nothing left behind (ENAMETOOLONG if PATH.new is too long).
 */
int cli_replace(const char *path, const void *p, size_t n) __attribute__((warn_unused_result));

enum cli_private {
	CLI_PRIVATE_OK,
	CLI_PRIVATE_ABSENT,  /* no such file */
	CLI_PRIVATE_UNSAFE,  /* a symlink, not a regular file of ours, or readable by others */
	CLI_PRIVATE_TOO_BIG, /* larger than `out` may grow */
	CLI_PRIVATE_IO       /* cannot read it; see errno */
};
/*
 * Read the whole private file `path` (a regular file of ours, mode 0600 or
 * stricter, never through a symlink) into `out`, whose maximum bounds it.
 */
enum cli_private cli_read_private(const char *path, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Store the default identity path in `out`: $TIPLINE_HOME/identity.age, or
 * ~/.config/tipline/identity.age. If `create_dir`, create the directory
 * (mode 0700) if needed. Return 0, or -1 after printing why.
 */
int cli_default_identity(struct buf *out, bool create_dir) __attribute__((warn_unused_result));

/*
 * Store the path of tipctl's file `name` in `out`: $TIPLINE_HOME/NAME, or
 * ~/.config/tipline/NAME, creating the directory (mode 0700) if
 * `create_dir`. Return 0, or -1 after printing why.
 */
int cli_default_file(const char *name, struct buf *out, bool create_dir)
	__attribute__((warn_unused_result));

/*
 * Ask `question` at the terminal (before any passphrase: confirm first,
 * then the passphrase, everywhere). Return 1 for yes, 0 for no, or -1
 * without a terminal, after printing that nothing was done and that
 * `flag` (e.g. "--yes") answers yes.
 */
int cli_ask(const char *question, const char *flag);

/* Return the number of UTF-8 characters in `s`. */
size_t cli_utf8_chars(const char *s);

#endif
