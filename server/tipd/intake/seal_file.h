/*
 * seal_file: one file a source sends (with a report, or with a later inbox
 * message), streamed into a spool submission as an "attachment" object:
 * sealed as it arrives, padded with zeros to the Padmé size, and described
 * by one manifest entry {"uuid", "name", "content_type", "size",
 * "padded_size", "sha256"} that goes inside the sealed report or message
 * (docs/crypto.md §3). Its name and type are the source's words: they
 * reach only the manifest, and are wiped from memory when freed.
 */
#ifndef TIPD_SEAL_FILE_H
#define TIPD_SEAL_FILE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "spool.h"

#define SEAL_FILE_MAX_NAME 255 /* bytes of a file name */

struct seal_file;

/* Begin file `name` of type `ctype` (NULL: application/octet-stream) of
 * report `report_uuid` in `t`, sealed to `r`. NULL with errno set on error:
 * ENAMETOOLONG (the name), ENOMEM, or a spool error (ENOSPC, EFBIG, …). */
struct seal_file *seal_file_begin(struct spool_txn *t, const char *report_uuid,
                                  const struct seal_recipients *r, const char *name,
                                  const char *ctype);
/* Seal `n` more bytes of the file. Return 0, or -1 with errno (the file is
 * then unusable: free it and abort the submission). */
int seal_file_write(struct seal_file *f, const uint8_t *p, size_t n)
	__attribute__((warn_unused_result));
/* Pad and finish the file, append its entry to the JSON array `manifest` and
 * free `f`. Return 0, or -1 with errno (freed either way). */
int seal_file_finish(struct seal_file *f, json_t *manifest) __attribute__((warn_unused_result));
/* Drop an unfinished file. NULL is fine. */
void seal_file_free(struct seal_file *f);

#endif
