/*
 * tips_export: `tipctl tips export ID --out DIR`, a decrypted case bundle
 * for an investigator who hands a case on.
 *
 * It creates DIR/ID/ (mode 0700; refused if it exists) holding report.txt
 * (as `tips show` prints the report), report.json (the decrypted document
 * without its padding), messages/, replies/ and notes/ (one JSON file per
 * object, "<date>_<id>.json": {"id", "kind", "sent_on", "author", "text",
 * "signature"}), attachments/ (as `tips get` writes them) and, last,
 * MANIFEST.txt with the SHA-256 of every other file in `sha256sum` format.
 * Every file is created with O_EXCL|O_NOFOLLOW, mode 0600, through
 * directory file descriptors; no symbolic link is ever followed. Whatever
 * fails to decrypt or verify stops the export: what was written stays,
 * MANIFEST.txt is not written and the exit code is 1.
 */
#ifndef TIPCTL_TIPS_EXPORT_H
#define TIPCTL_TIPS_EXPORT_H

#include <stddef.h>

#include "buf.h"

#define TIPS_EXPORT_MANIFEST_MAX (16u << 20) /* largest MANIFEST.txt */

/* Run `tipctl tips export` (argv starts at "export"). Return an exit code
 * (enum cli_exit). */
int tips_export_main(int argc, char **argv);

/*
 * Hash the regular file `name` in directory `dirfd` (opened without
 * following a symbolic link) and append "<hex SHA-256>  <rel>\n" to
 * `manifest`. Return 0, or -1 with errno set (EINVAL if `rel` holds a
 * newline or a backslash, which sha256sum would escape).
 */
int tips_export_manifest_add(int dirfd, const char *name, const char *rel, struct buf *manifest)
	__attribute__((warn_unused_result));

#endif
