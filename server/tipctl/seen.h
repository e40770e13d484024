/*
 * seen: the highest membership statement tipctl has verified, per server
 * and team, so that a server cannot show an older membership again (one
 * that still lists a revoked member) or a different one with the same
 * sequence number (a fork) — docs/crypto.md §8 "Membership statements".
 *
 * The file is $TIPLINE_HOME/membership-seen (or
 * ~/.config/tipline/membership-seen), text:
 *
 *   tipline-membership-seen v1
 *   <server URL> <team> <seq> <64 lower hex: SHA-256 of the signed statement>
 *   ...
 *
 * It is written as a new file (O_EXCL, O_NOFOLLOW, 0600), fsync'd and
 * renamed over the old one, under an exclusive lock on
 * membership-seen.lock so that two tipctl processes do not lose an update.
 * A malformed or unsafe file (not a regular file of ours, writable by
 * others) is refused rather than reset: resetting it would forget what it
 * protects.
 */
#ifndef TIPCTL_SEEN_H
#define TIPCTL_SEEN_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "membership.h"

#define SEEN_FILE_NAME "membership-seen"
#define SEEN_ADMINS_FILE_NAME "admins-seen" /* same format, team "admins" */
#define SEEN_FILE_MAX (1u << 20) /* largest file read */
#define SEEN_SERVER_MAX 511      /* longest server URL remembered */
#define SEEN_MAX_ENTRIES 4096    /* most (server, team) lines */
#define SEEN_MAGIC "tipline-membership-seen v1\n" /* the file's first line */

enum seen_result {
	SEEN_OK = 0,               /* newer (remembered now) or the same statement */
	SEEN_ERR_ROLLED_BACK = -1, /* a lower sequence number than already seen */
	SEEN_ERR_FORKED = -2,      /* the same sequence number, a different statement */
	SEEN_ERR_CORRUPT = -3,     /* the file is malformed or unsafe */
	SEEN_ERR_IO = -4           /* cannot read, lock or write it; or a bad argument */
};

/*
 * Check the verified latest statement `head` of its team, shown by the
 * server `server` (the session's URL), against the file at `path`: if it
 * is newer than the one remembered (or none is), remember it; if it is the
 * same, change nothing. Print a loud message on every error ("the server
 * showed an older membership of team X (statement N) than this computer
 * has already seen (M): refusing; tell an admin"). Return an enum
 * seen_result.
 */
int seen_check_file(const char *path, const char *server, const struct membership *head)
	__attribute__((warn_unused_result));

/* Same, with the default file (cli_default_file(SEEN_FILE_NAME)); on
 * SEEN_OK it also remembers the statement's members' names (names.h), so
 * that `audit log` can name their keys. */
int seen_check_and_update(const char *server, const struct membership *head)
	__attribute__((warn_unused_result));

/* The same for the admin chain (admins.h): its head's sequence `seq` and
 * hash `hash`, in $TIPLINE_HOME/admins-seen (team field "admins"); an empty
 * chain is not checked. Prints why on every error. */
int seen_check_admins(const char *server, uint64_t seq, const uint8_t hash[32])
	__attribute__((warn_unused_result));

/* Store in *seq the statement remembered for `team` at `server` (0 if none).
 * Return SEEN_OK, or an error (the file is unreadable or damaged). */
int seen_lookup(const char *server, const char *team, uint64_t *seq)
	__attribute__((warn_unused_result));

/* Store in `teams` (at most `max`) the teams remembered for `server`, and
 * their number in *n. Return SEEN_OK, or an error (unreadable or damaged). */
int seen_teams(const char *server, char teams[][MEMBERSHIP_TEAM_MAX + 1], size_t max, size_t *n)
	__attribute__((warn_unused_result));

/* The file handling, shared with activity.c and names.c (the same rules
 * for every file tipctl keeps about what it has seen): */

/* Store `path`, or else the default file `name` in tipctl's directory
 * (cli_default_file), in `p`. Return 0, or -1 (printed). */
int seen_file_path(const char *path, const char *name, struct buf *p)
	__attribute__((warn_unused_result));

/*
 * Call fn(line, end, arg) on every line [line, end) (without its newline)
 * of the file text `t` (`n` bytes; 0: no file yet, nothing is called) after
 * its first line `magic`. Return 0, or -1 if the first line is not `magic`,
 * the last line has no newline, there are more than `max` lines, or `fn`
 * returns non-zero.
 */
int seen_file_lines(const char *t, size_t n, const char *magic, size_t max,
                    int (*fn)(const char *line, const char *end, void *arg), void *arg)
	__attribute__((warn_unused_result));

/* Copy the next space-separated field of the line [*p, end) into `f`
 * (`cap` bytes, NUL-terminated) and advance *p past it and one space.
 * Return 0, or -1 if it is empty, too long for `f` or holds a NUL. */
int seen_file_field(const char **p, const char *end, char *f, size_t cap)
	__attribute__((warn_unused_result));

/* Read the file at `path` into `t` (nothing if it does not exist). Return
 * SEEN_OK, SEEN_ERR_CORRUPT if it is not a regular file of ours that only
 * we may write, or too large for `t`, or SEEN_ERR_IO (printed). */
int seen_file_read(const char *path, struct buf *t) __attribute__((warn_unused_result));

/* Open and lock `path`.lock exclusively. Return its fd (close it to
 * unlock), or -1 (printed). */
int seen_file_lock(const char *path) __attribute__((warn_unused_result));

/* Replace the file at `path` with `n` bytes at `p`: PATH.new (O_EXCL,
 * O_NOFOLLOW, 0600, fsync'd), renamed, the directory fsync'd. Call it with
 * the lock held. Return SEEN_OK or SEEN_ERR_IO (printed). */
int seen_file_replace(const char *path, const void *p, size_t n)
	__attribute__((warn_unused_result));

/* One remembered head, as seen_scan parses it. */
struct seen_line {
	const char *server; /* points into the scanned text: not NUL-terminated */
	size_t server_len;
	char team[MEMBERSHIP_TEAM_MAX + 1];
	uint64_t seq;
	char hash[65]; /* lower-case hex SHA-256 of the statement */
};

/*
 * Parse the file text `t` (`n` bytes; NULL when 0): copy every line but the
 * one for (`server`, `team`) to `rest`, and that one into *found (*have
 * set). Return SEEN_OK, or SEEN_ERR_CORRUPT (a bad magic line, a malformed
 * or repeated line, too many lines, or `rest` full).
 */
int seen_scan(const char *t, size_t n, const char *server, const char *team,
              struct seen_line *found, bool *have, struct buf *rest)
	__attribute__((warn_unused_result));

#endif
