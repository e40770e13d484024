/*
 * editor: writing the text of `tipctl tips reply` / `tips note` in the
 * user's $VISUAL, $EDITOR or vi, on a file in RAM that never outlives the
 * command. A private directory (mkdtemp, 0700) in $XDG_RUNTIME_DIR if it is
 * a tmpfs/ramfs directory of ours that no one else may write, else in
 * /dev/shm; one mkstemp file (0600) with a '#' comment header; the editor
 * run with execvp (no shell) while SIGINT/SIGQUIT are ignored; the text read
 * back into locked memory, then every file in the directory overwritten
 * with zeros, fsync'd and unlinked, and the directory removed, on every path.
 */
#ifndef TIPCTL_EDITOR_H
#define TIPCTL_EDITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define EDITOR_HEADER_MAX 4096 /* room for the comment header in the file read back */
#define EDITOR_ARGS_MAX 32     /* most words in $VISUAL / $EDITOR */

/*
 * Let the user write a reply (`is_reply`) or a note on report `rid` in an
 * editor on a RAM-backed file; for a reply, `source` says whether the source
 * will read it (the file's header says so). Append the text without '#'
 * lines, leading blank lines and trailing white space to the secure `t`
 * (its maximum is the longest text taken). The file and anything the editor
 * left beside it are wiped and removed whatever happens. Return 0, or -1
 * (printed: no RAM directory, the editor failed, an empty or too long text).
 */
int editor_text(bool is_reply, bool source, const char *rid, struct buf *t)
	__attribute__((warn_unused_result));

/*
 * Return 1 if `path` is a directory on a RAM-backed file system (tmpfs,
 * ramfs) that belongs to us and that nobody else may write to, unless
 * `shared` (then a sticky world-writable one like /dev/shm is fine too);
 * else 0.
 */
int editor_dir_ok(const char *path, bool shared);

/*
 * Create the editor's file in the directory `dir` (its path into `path`,
 * `n` bytes) holding the comment header: for a reply, that whoever holds the
 * receipt reads it (`source`), or that the source forgot the receipt and
 * only the team reads it; for a note, that only the team reads it. Return
 * 0, or -1 (printed).
 */
int editor_make_file(bool is_reply, bool source, const char *rid, const char *dir, char *path,
                     size_t n) __attribute__((warn_unused_result));

/*
 * Split the editor command `cmd` on blanks into `argv` (room for
 * EDITOR_ARGS_MAX + 2 pointers; the words are stored in `store`, `storelen`
 * bytes), then append `path` and NULL. Return the number of words before
 * `path` (at most EDITOR_ARGS_MAX), or 0 if `cmd` is NULL, blank or too long.
 */
size_t editor_split(const char *cmd, char *store, size_t storelen, char **argv, char *path);

/*
 * Drop the lines of `raw` that start with '#', then leading blank lines and
 * trailing white space; append what is left to `t`. Return 0, or -1 if `t`
 * is full.
 */
int editor_strip(const struct buf *raw, struct buf *t) __attribute__((warn_unused_result));

/*
 * Wipe (overwrite with zeros, fsync) and remove every file in the private
 * directory `dir` (the editor's file, and any swap or backup file the editor
 * left), then the directory. Return 0, or -1 after printing what is left.
 */
int editor_cleanup(const char *dir) __attribute__((warn_unused_result));

#endif
