/*
 * tips_open: the commands that decrypt, `tipctl tips show` and
 * `tipctl tips get`. Plaintext stays in locked memory until it is printed
 * or written where the investigator asked.
 */
#ifndef TIPCTL_TIPS_OPEN_H
#define TIPCTL_TIPS_OPEN_H

#include <jansson.h>
#include <stdio.h>

#include "buf.h"
#include "report.h"

#define TIPS_REPORT_MAX (16u << 20)  /* largest decrypted report */
#define TIPS_ATTACH_MAX (512u << 20) /* largest attachment downloaded */

/* Run `tipctl tips show` (argv starts at "show"). Return an exit code. */
int tips_open_show(int argc, char **argv);
/* Run `tipctl tips get` (argv starts at "get"). Return an exit code. */
int tips_open_get(int argc, char **argv);

struct api;
struct identity;

/*
 * Fetch report `rid`, decrypt it with `id` and check its context line.
 * Store the API's answer in *meta and the decrypted document in *doc
 * (caller json_decref()s both, also on failure). If `json` is not NULL,
 * also append the report's JSON bytes without the context line and the
 * padding to it (a secure buffer). Return 0, or -1 after printing why.
 */
int tips_open_fetch_report(struct api *a, const struct identity *id, const char *rid,
                           json_t **meta, json_t **doc, struct buf *json)
	__attribute__((warn_unused_result));

/* Remember (activity.h) that report `rid` was shown with everything in the
 * server's answer `meta`, so `tips list` no longer shows it as new. A
 * failure only prints a warning. */
void tips_open_mark_seen(struct api *a, const char *rid, json_t *meta);

/*
 * Print the decrypted report `doc` with the server's metadata `meta` to
 * `out` the way `tips show` does: questions of the questionnaire `quest`
 * (NULL: by id) in English, the source's language, the attachment list.
 * Untrusted text is made terminal-safe.
 */
void tips_open_print_report(FILE *out, json_t *meta, json_t *doc, json_t *quest);

/* Print to `out` the number of files in the manifest of `doc` (a report's
 * or a message's "attachments") under `title`, and each file's id, size and
 * name; with `rid`, how to save them. */
void tips_open_print_files(FILE *out, const char *title, json_t *doc, const char *rid);

/*
 * Download, decrypt, check (context line, size, zero padding, SHA-256
 * against the manifest entry `att`) and write attachment `att` of report
 * `rid` into directory `dirfd` (called `dir` in messages) under its
 * sanitized name, never replacing a file. If `chosen` is not NULL, append
 * the name written to it. Return 0, or -1 after printing why.
 */
int tips_open_get_one(struct api *a, const struct identity *id, const char *rid,
                      const struct report_att *att, int dirfd, const char *dir,
                      struct buf *chosen) __attribute__((warn_unused_result));

/*
 * Download, decrypt and check attachment `att` of report `rid` (as
 * tips_open_get_one) into the secure buffer `pt` (maximum at least
 * TIPS_ATTACH_MAX): the file is the att->size bytes at pt->data + *off.
 * Return 0, or -1 after printing why.
 */
int tips_open_fetch_attachment(struct api *a, const struct identity *id, const char *rid,
                               const struct report_att *att, struct buf *pt, size_t *off)
	__attribute__((warn_unused_result));

#endif
