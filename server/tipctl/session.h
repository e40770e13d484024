/*
 * session: the review session tipctl keeps between commands.
 *
 * `tipctl login` stores it in $TIPLINE_HOME/session or
 * ~/.config/tipline/session (mode 0600, written as a new file and renamed,
 * never through a symlink); the other review commands read it. The file is
 * text, one "key value" per line:
 *
 *   tipline-session v1
 *   server https://HOST:PORT
 *   pin <64 hex: SHA-256 of the server's TLS SubjectPublicKeyInfo>
 *   origin <the review origin the login signature named>
 *   token <base64url bearer token>
 *   expires_at <unix seconds>
 *   member <member name>
 *   admin_key <pinned admin verifier key>   (zero or more; login --admin-key)
 *   audit_key <pinned audit log verifier key> (optional; login --audit-key)
 *
 * The token is a bearer secret: it lives in locked memory.
 */
#ifndef TIPCTL_SESSION_H
#define TIPCTL_SESSION_H

#include <stdint.h>

#include "buf.h"

#define SESSION_FIELD_MAX 512 /* longest server, origin or member value */
#define SESSION_TOKEN_MAX 128
#define SESSION_FILE_MAX 8192
#define SESSION_ADMIN_MAX 8 /* most pinned admin keys */

enum session_result {
	SESSION_OK = 0,
	SESSION_ERR_ABSENT = -1, /* no session file: not logged in */
	SESSION_ERR_FORMAT = -2, /* malformed, or a field out of bounds */
	SESSION_ERR_UNSAFE = -3, /* not a regular file of ours, or readable by others */
	SESSION_ERR_IO = -4      /* cannot read or write it; see errno */
};

struct session {
	char server[SESSION_FIELD_MAX];
	char pin[65];
	char origin[SESSION_FIELD_MAX];
	char *token; /* sodium_malloc'd, SESSION_TOKEN_MAX + 1 bytes */
	int64_t expires_at;
	char member[SESSION_FIELD_MAX];
	/* admin verifier keys pinned at login (from the invite, never the server) */
	char admin_keys[SESSION_ADMIN_MAX][SESSION_FIELD_MAX];
	size_t n_admin_keys;
	/* the audit log's checkpoint verifier key, pinned like the admin keys
	 * (empty if none was pinned) */
	char audit_key[SESSION_FIELD_MAX];
};

/* Make an empty session (token storage in locked memory). NULL if out of memory. */
struct session *session_new(void);
/* Wipe and free (NULL is fine). */
void session_free(struct session *s);

/*
 * Store the session file path in `out` ($TIPLINE_HOME/session or
 * ~/.config/tipline/session), creating the directory (0700) if
 * `create_dir`. Return 0, or -1 after printing why.
 */
int session_path(struct buf *out, int create_dir) __attribute__((warn_unused_result));

/* Return 1 if every field of `s` is well-formed (what session_save writes), else 0. */
int session_valid(const struct session *s);

/*
 * Write `s` to `path` (cli_replace: a new file `path`.new, O_EXCL,
 * O_NOFOLLOW, 0600, fsync'd, renamed over `path`). Return SESSION_OK, SESSION_ERR_FORMAT if a
 * field is malformed, or SESSION_ERR_IO.
 */
enum session_result session_save(const struct session *s, const char *path)
	__attribute__((warn_unused_result));

/*
 * Read the session at `path` into `s` (not through a symlink; the file
 * must be a regular file owned by us and not readable by group or others).
 * Return SESSION_OK or an enum session_result.
 */
enum session_result session_load(struct session *s, const char *path)
	__attribute__((warn_unused_result));

/* Parse session text of `n` bytes into `s`. Return SESSION_OK or SESSION_ERR_FORMAT. */
enum session_result session_parse(struct session *s, const char *text, size_t n)
	__attribute__((warn_unused_result));

/* Return 1 if `s` is a base64url string of 1..SESSION_TOKEN_MAX characters (no padding). */
int session_b64url_ok(const char *s);

#endif
