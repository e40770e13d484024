/*
 * spool_format: what the spool's writer (spool.c), reader (spool_read.c)
 * and listing (spool_list.c) share: the record types and limits of a spool
 * file (the grammar is at the top of spool.c), the checks they apply
 * (spool_format.c) and the directory's descriptor. Private to the spool:
 * nothing else includes it. It includes nothing of the spool (spool.h
 * includes nothing of it either), so the two headers never form a loop.
 */
#ifndef TIPD_SPOOL_FORMAT_H
#define TIPD_SPOOL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SPOOL_MAGIC "TIPLINE-SPOOL 1\n"
#define SPOOL_MAGIC_LEN 16
#define REC_META 0x01
#define REC_OBJECT 0x02
#define REC_HEADER 0x03
#define REC_PAYLOAD 0x04
#define REC_INBOX 0x05
#define REC_FORGET 0x06
#define REC_END 0x7f
#define REC_PREFIX 5
#define END_LEN (REC_PREFIX + 32)
#define SPOOL_CHUNK (1u << 20)
#define UUID_LEN 36

/* Read a big-endian 32-bit length. */
uint32_t spool_fmt_get_u32(const uint8_t *p);
/* Return 1 if `t` is a team id ([a-z0-9-], 1..63 bytes, not starting with "-"), else 0. */
int spool_fmt_valid_team(const char *t);
/* Return 1 if `d` is a date YYYY-MM-DD, else 0. */
int spool_fmt_valid_date(const char *d);
/* Return 1 if the `n` bytes at `r` are an age1… recipient string of at
 * most `max` bytes, else 0. */
int spool_fmt_valid_recipient(const char *r, size_t n, size_t max);
/* Return 1 and copy it NUL-terminated into `out` if the 36 bytes at `p` are
 * a uuid, else 0. */
int spool_fmt_valid_uuid_bytes(const uint8_t *p, char out[UUID_STR_LEN]);
/* Return 1 if `name` is "<uuid><suffix>" (a spool file's name), else 0. */
int spool_fmt_name_is(const char *name, const char *suffix);

struct spool;
/* The spool directory's descriptor (for openat; do not close it). */
int spool_fmt_dirfd(const struct spool *s);

#endif
