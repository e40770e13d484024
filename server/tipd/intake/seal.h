/*
 * seal: stream one object (report, attachment, message) into a spool
 * submission, sealed to a set of age X25519 recipients as docs/crypto.md §3
 * describes: one fresh file key, one single-stanza header per recipient, one
 * STREAM payload whose plaintext starts with the context line
 * "tipline/v1 <kind> <object uuid> <report uuid>\n".
 *
 * Plaintext passes through here in pieces and is never written anywhere:
 * only headers and payload ciphertext reach the spool.
 */
#ifndef TIPD_SEAL_H
#define TIPD_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

struct seal_recipients {
	size_t n;
	const char *const *strs;   /* "age1…" */
	const uint8_t (*pks)[32];
};

struct seal_object;

/* Begin sealing object `object_uuid` of `kind` ("report", "attachment",
 * "message") belonging to `report_uuid` into `t`: declare it, write a header
 * for every recipient and the context line. NULL on error. */
struct seal_object *seal_begin(struct spool_txn *t, enum spool_kind kind, const char *object_uuid,
                               const char *report_uuid, const struct seal_recipients *r);
/* Seal `n` more plaintext bytes. Return 0, or -1 (the object is then unusable). */
int seal_write(struct seal_object *o, const uint8_t *p, size_t n) __attribute__((warn_unused_result));
/* Seal `n` zero bytes (attachment padding). Return 0 or -1. */
int seal_zeros(struct seal_object *o, uint64_t n) __attribute__((warn_unused_result));
/* Plaintext bytes sealed so far, the context line included. */
uint64_t seal_written(const struct seal_object *o);
/* Write the last chunk and free `o`. Return 0 or -1 (freed either way). */
int seal_finish(struct seal_object *o) __attribute__((warn_unused_result));
/* Drop an unfinished object (its submission must be aborted too). NULL is fine. */
void seal_free(struct seal_object *o);

/* The context line's kind word for a spool kind. */
const char *seal_kind_name(enum spool_kind kind);

#endif
