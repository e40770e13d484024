#include "seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "buf.h"
#include "proto.h"
#include "util.h"

/* Ciphertext is handed to the spool whenever this much has accumulated. */
#define SEAL_FLUSH_BYTES (64 * 1024)
#define SEAL_MAX_OUT (4 * AGE_CHUNK_SIZE)

struct seal_object {
	struct spool_txn *txn;
	char uuid[UUID_STR_LEN];
	struct age_enc *enc;
	struct buf out; /* ciphertext waiting for the spool */
	uint64_t written;
};

const char *
seal_kind_name(enum spool_kind kind)
{
	switch (kind) {
	case SPOOL_REPORT:
		return "report";
	case SPOOL_ATTACHMENT:
		return "attachment";
	case SPOOL_MESSAGE:
		return "message";
	}
	return "unknown";
}

static int
seal_headers(struct seal_object *o, const uint8_t file_key[AGE_FILE_KEY_LEN],
             const struct seal_recipients *r)
{
	struct buf hdr;
	int rc = -1;
	buf_init(&hdr, AGE_MAX_HEADER);
	for (size_t i = 0; i < r->n; i++) {
		buf_reset(&hdr);
		if (age_header_x25519(file_key, &r->pks[i], 1, &hdr) != 0)
			goto fail;
		if (spool_header(o->txn, o->uuid, r->strs[i], hdr.data, hdr.len) != 0)
			goto fail;
	}
	rc = 0;
fail:
	buf_free(&hdr);
	return rc;
}

static int
seal_drain(struct seal_object *o, int force)
{
	if (o->out.len == 0 || (!force && o->out.len < SEAL_FLUSH_BYTES))
		return 0;
	if (spool_payload(o->txn, o->uuid, o->out.data, o->out.len) != 0)
		return -1;
	buf_reset(&o->out);
	return 0;
}

struct seal_object *
seal_begin(struct spool_txn *t, enum spool_kind kind, const char *object_uuid,
           const char *report_uuid, const struct seal_recipients *r)
{
	uint8_t file_key[AGE_FILE_KEY_LEN];
	char line[PROTO_CONTEXT_MAX];
	struct seal_object *o = calloc(1, sizeof(*o));
	if (o == NULL || r->n == 0)
		goto fail;
	o->txn = t;
	snprintf(o->uuid, sizeof(o->uuid), "%s", object_uuid);
	buf_init(&o->out, SEAL_MAX_OUT);
	age_file_key_new(file_key);
	o->enc = age_enc_new(file_key);
	if (o->enc == NULL || spool_object(t, kind, object_uuid) != 0 ||
	    seal_headers(o, file_key, r) != 0)
		goto fail;
	sodium_memzero(file_key, sizeof(file_key));
	int n = proto_context_line(seal_kind_name(kind), object_uuid, report_uuid, line, sizeof(line));
	if (n < 0 || seal_write(o, (const uint8_t *)line, (size_t)n) != 0)
		goto fail;
	return o;
fail:
	sodium_memzero(file_key, sizeof(file_key));
	seal_free(o);
	return NULL;
}

int
seal_write(struct seal_object *o, const uint8_t *p, size_t n)
{
	/* Feed at most one chunk at a time so `out` stays bounded. */
	while (n > 0) {
		size_t step = n < AGE_CHUNK_SIZE ? n : AGE_CHUNK_SIZE;
		if (age_enc_update(o->enc, p, step, &o->out) != 0 || seal_drain(o, 0) != 0)
			return -1;
		p += step;
		n -= step;
		o->written += step;
	}
	return 0;
}

int
seal_zeros(struct seal_object *o, uint64_t n)
{
	static const uint8_t zeros[4096];
	while (n > 0) {
		size_t step = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		if (seal_write(o, zeros, step) != 0)
			return -1;
		n -= step;
	}
	return 0;
}

uint64_t
seal_written(const struct seal_object *o)
{
	return o->written;
}

int
seal_finish(struct seal_object *o)
{
	int rc = -1;
	if (age_enc_final(o->enc, &o->out) == 0 && seal_drain(o, 1) == 0)
		rc = 0;
	seal_free(o);
	return rc;
}

void
seal_free(struct seal_object *o)
{
	if (o == NULL)
		return;
	age_enc_free(o->enc);
	buf_free(&o->out);
	free(o);
}
