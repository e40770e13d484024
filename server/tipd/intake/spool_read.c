/*
 * spool_read: reading and verifying committed spool files, for the flusher
 * and for the inbox's start-up rebuild (spool.h; the file format is at the
 * top of spool.c). Every rule the writer enforces is checked again here, so
 * a file that fails is corrupt (EBADMSG) and can be quarantined.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "spool_format.h"
#include "util.h"

/* --- reading --- */

struct cur {
	const uint8_t *p;
	size_t n;
	size_t off;
};

static int
cur_take(struct cur *c, size_t n, const uint8_t **out)
{
	if (n > c->n - c->off)
		return -1;
	*out = c->p + c->off;
	c->off += n;
	return 0;
}

/* Parser state: the entry being built, plus each object's payload buffer. */
struct parse {
	struct spool_entry *e;
	struct buf *payloads;
	bool has_meta;
	bool has_report;
	bool nomem; /* failed for want of memory, not because of the bytes */
};

void
spool_entry_free(struct spool_entry *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->nobjects; i++) {
		struct spool_object *o = &e->objects[i];
		for (size_t j = 0; j < o->nheaders; j++) {
			free(o->recipients[j]);
			free(o->headers[j]);
		}
		free(o->recipients);
		free(o->headers);
		free(o->header_lens);
		free(o->payload);
	}
	free(e->objects);
	free(e);
}

static struct spool_object *
entry_find(struct spool_entry *e, const uint8_t *uuid, size_t *idx)
{
	for (size_t i = 0; i < e->nobjects; i++)
		if (memcmp(e->objects[i].uuid, uuid, UUID_LEN) == 0) {
			*idx = i;
			return &e->objects[i];
		}
	return NULL;
}

static int
parse_meta(struct parse *ps, const uint8_t *b, size_t len)
{
	struct spool_entry *e = ps->e;
	if (ps->has_meta || len < UUID_LEN + 10 + 1 || len > UUID_LEN + 10 + 63)
		return -1;
	if (!spool_fmt_valid_uuid_bytes(b, e->report_uuid))
		return -1;
	memcpy(e->date, b + UUID_LEN, 10);
	e->date[10] = '\0';
	size_t tl = len - UUID_LEN - 10;
	memcpy(e->team, b + UUID_LEN + 10, tl);
	e->team[tl] = '\0';
	if (memchr(e->team, '\0', tl) != NULL || !spool_fmt_valid_team(e->team) || !spool_fmt_valid_date(e->date))
		return -1;
	ps->has_meta = true;
	return 0;
}

static int
parse_object(struct parse *ps, const uint8_t *b, size_t len)
{
	struct spool_entry *e = ps->e;
	size_t idx;
	char uuid[UUID_STR_LEN];
	if (len != 1 + UUID_LEN || b[0] < SPOOL_REPORT || b[0] > SPOOL_MESSAGE ||
	    !spool_fmt_valid_uuid_bytes(b + 1, uuid) || entry_find(e, b + 1, &idx) != NULL ||
	    e->nobjects >= SPOOL_MAX_OBJECTS)
		return -1;
	if (b[0] == SPOOL_REPORT && (ps->has_report || strcmp(uuid, e->report_uuid) != 0))
		return -1;
	struct spool_object *o = realloc(e->objects, (e->nobjects + 1) * sizeof(*o));
	if (o == NULL)
		goto nomem;
	e->objects = o;
	struct buf *pb = realloc(ps->payloads, (e->nobjects + 1) * sizeof(*pb));
	if (pb == NULL)
		goto nomem;
	ps->payloads = pb;
	buf_init(&pb[e->nobjects], SPOOL_MAX_FILE_BYTES);
	o = &e->objects[e->nobjects++];
	memset(o, 0, sizeof(*o));
	o->kind = (enum spool_kind)b[0];
	memcpy(o->uuid, uuid, UUID_STR_LEN);
	ps->has_report |= b[0] == SPOOL_REPORT;
	return 0;
nomem:
	ps->nomem = true;
	return -1;
}

static int
grow_headers(struct spool_object *o)
{
	size_t n = o->nheaders + 1;
	char **r = realloc(o->recipients, n * sizeof(*r));
	if (r == NULL)
		return -1;
	o->recipients = r;
	uint8_t **h = realloc(o->headers, n * sizeof(*h));
	if (h == NULL)
		return -1;
	o->headers = h;
	size_t *l = realloc(o->header_lens, n * sizeof(*l));
	if (l == NULL)
		return -1;
	o->header_lens = l;
	return 0;
}

static int
parse_header(struct parse *ps, const uint8_t *b, size_t len)
{
	size_t idx;
	struct spool_object *o = len > UUID_LEN + 2 ? entry_find(ps->e, b, &idx) : NULL;
	if (o == NULL || o->nheaders >= SPOOL_MAX_HEADERS)
		return -1;
	size_t rl = (size_t)b[UUID_LEN] << 8 | b[UUID_LEN + 1];
	if (rl > len - UUID_LEN - 2)
		return -1;
	const char *rec = (const char *)(b + UUID_LEN + 2);
	size_t hl = len - UUID_LEN - 2 - rl;
	if (!spool_fmt_valid_recipient(rec, rl, SPOOL_MAX_RECIPIENT) || hl < 1 ||
	    hl > SPOOL_MAX_HEADER_BYTES)
		return -1;
	char *r = NULL;
	uint8_t *h = NULL;
	if (grow_headers(o) != 0 || (r = malloc(rl + 1)) == NULL || (h = malloc(hl)) == NULL) {
		free(r);
		ps->nomem = true;
		return -1;
	}
	memcpy(r, rec, rl);
	r[rl] = '\0';
	memcpy(h, rec + rl, hl);
	o->recipients[o->nheaders] = r;
	o->headers[o->nheaders] = h;
	o->header_lens[o->nheaders] = hl;
	o->nheaders++;
	return 0;
}

static int
parse_payload(struct parse *ps, const uint8_t *b, size_t len)
{
	size_t idx;
	if (len <= UUID_LEN || len > UUID_LEN + SPOOL_CHUNK ||
	    entry_find(ps->e, b, &idx) == NULL)
		return -1;
	/* Payloads total less than the file, which is below the buffers'
	 * maximum: only memory can run out. */
	if (buf_add(&ps->payloads[idx], b + UUID_LEN, len - UUID_LEN) != 0) {
		ps->nomem = true;
		return -1;
	}
	return 0;
}

static int
parse_inbox(struct parse *ps, const uint8_t *b, size_t len)
{
	struct spool_entry *e = ps->e;
	if (e->has_inbox || e->has_forget || len != 64)
		return -1;
	memcpy(e->lookup_id, b, 32);
	memcpy(e->source_pk, b + 32, 32);
	e->has_inbox = 1;
	return 0;
}

static int
parse_forget(struct parse *ps, const uint8_t *b, size_t len)
{
	struct spool_entry *e = ps->e;
	if (e->has_inbox || e->has_forget || len != 32)
		return -1;
	memcpy(e->forget_id, b, 32);
	e->has_forget = 1;
	return 0;
}

static int
parse_records(struct parse *ps, struct cur *c)
{
	while (c->off < c->n) {
		const uint8_t *pre, *body;
		if (cur_take(c, REC_PREFIX, &pre) != 0)
			return -1;
		size_t len = spool_fmt_get_u32(pre + 1);
		if (len > UUID_LEN + 2 + SPOOL_MAX_RECIPIENT + SPOOL_MAX_HEADER_BYTES &&
		    len > UUID_LEN + SPOOL_CHUNK)
			return -1;
		if (cur_take(c, len, &body) != 0)
			return -1;
		if (!ps->has_meta && pre[0] != REC_META)
			return -1;
		int rc;
		switch (pre[0]) {
		case REC_META: rc = parse_meta(ps, body, len); break;
		case REC_OBJECT: rc = parse_object(ps, body, len); break;
		case REC_HEADER: rc = parse_header(ps, body, len); break;
		case REC_PAYLOAD: rc = parse_payload(ps, body, len); break;
		case REC_INBOX: rc = parse_inbox(ps, body, len); break;
		case REC_FORGET: rc = parse_forget(ps, body, len); break;
		default: rc = -1; break;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Move payload buffers into the objects; check that every object is whole. */
static int
parse_finish(struct parse *ps)
{
	struct spool_entry *e = ps->e;
	if (!ps->has_meta || (e->nobjects == 0 && !e->has_forget))
		return -1;
	for (size_t i = 0; i < e->nobjects; i++) {
		struct spool_object *o = &e->objects[i];
		if (o->nheaders == 0 || ps->payloads[i].len == 0)
			return -1;
		o->payload = ps->payloads[i].data;
		o->payload_len = ps->payloads[i].len;
		buf_init(&ps->payloads[i], 0);
	}
	return 0;
}

/* Check the magic and the END record's checksum; return the length of the
 * records area, or 0 if the file is not a whole, intact spool file. */
static size_t
verify_envelope(const uint8_t *p, size_t n)
{
	uint8_t sum[32];
	if (n < SPOOL_MAGIC_LEN + END_LEN || n > SPOOL_MAX_FILE_BYTES ||
	    memcmp(p, SPOOL_MAGIC, SPOOL_MAGIC_LEN) != 0)
		return 0;
	size_t end = n - END_LEN;
	if (p[end] != REC_END || spool_fmt_get_u32(p + end + 1) != 32)
		return 0;
	if (crypto_generichash(sum, sizeof(sum), p, end, NULL, 0) != 0 ||
	    sodium_memcmp(sum, p + end + REC_PREFIX, sizeof(sum)) != 0)
		return 0;
	return end;
}

struct spool_entry *
spool_entry_parse(const uint8_t *p, size_t n)
{
	struct parse ps = { 0 };
	size_t end = verify_envelope(p, n);
	if (end == 0) {
		errno = EBADMSG;
		return NULL;
	}
	if ((ps.e = calloc(1, sizeof(*ps.e))) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	struct cur c = { .p = p, .n = end, .off = SPOOL_MAGIC_LEN };
	int rc = parse_records(&ps, &c) == 0 && parse_finish(&ps) == 0 ? 0 : -1;
	for (size_t i = 0; ps.payloads != NULL && i < ps.e->nobjects; i++)
		buf_free(&ps.payloads[i]);
	free(ps.payloads);
	if (rc != 0) {
		spool_entry_free(ps.e);
		errno = ps.nomem ? ENOMEM : EBADMSG;
		return NULL;
	}
	return ps.e;
}

/* Read the whole file at `path` into a malloc'd buffer. NULL with errno
 * EBADMSG if it is not a regular file of a size a spool file can have, or
 * with the errno of the call that failed (ENOENT, EMFILE, ENOMEM, EIO...). */
static uint8_t *
read_whole(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p = NULL;
	int err = spool_fmt_fault_take(SPOOL_FAULT_READ);
	if (err != 0) {
		errno = err;
		return NULL;
	}
	/* No symlinks, and no blocking on a FIFO planted in the spool. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			errno = EBADMSG;
		return NULL;
	}
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > SPOOL_MAX_FILE_BYTES) {
		errno = EBADMSG;
		goto fail;
	}
	size_t size = (size_t)st.st_size, got = 0;
	if ((p = malloc(size > 0 ? size : 1)) == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	while (got < size) {
		ssize_t r = read(fd, p + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break; /* shorter than it was: the parser rejects what is left */
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return p;
fail:
	err = errno;
	free(p);
	close(fd);
	errno = err;
	return NULL;
}

struct spool_entry *
spool_entry_read(const char *path)
{
	size_t len = 0, plen = strlen(path);
	if (plen >= sizeof(((struct spool_entry *)NULL)->path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	uint8_t *data = read_whole(path, &len);
	if (data == NULL)
		return NULL;
	struct spool_entry *e = spool_entry_parse(data, len);
	int err = errno;
	free(data);
	if (e == NULL) {
		errno = err;
		return NULL;
	}
	memcpy(e->path, path, plen + 1);
	return e;
}
