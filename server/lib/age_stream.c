/*
 * age_stream: the payload of an age v1 file (C2SP age, "STREAM"): a 16-byte
 * nonce, then ChaCha20-Poly1305 chunks of 64 KiB under a key derived from
 * the file key and the nonce, each with an 11-byte big-endian counter and a
 * last-chunk flag in its nonce. Encoder and decoder are incremental; their
 * state (keys, the pending plaintext or ciphertext chunk) lives in
 * secmem_alloc memory. The header is age.c.
 */
#include "age.h"
#include "age_int.h"
#include "secmem.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define AGE_CT_CHUNK (AGE_CHUNK_SIZE + AGE_TAG_LEN)

struct age_enc {
	uint8_t key[AGE_KEY_LEN];
	uint8_t nonce[AGE_NONCE_LEN];
	uint64_t counter;
	size_t plen;
	bool started, finished, failed;
	uint8_t pending[AGE_CHUNK_SIZE];
};

struct age_dec {
	uint8_t file_key[AGE_FILE_KEY_LEN];
	uint8_t key[AGE_KEY_LEN];
	uint8_t nonce[AGE_NONCE_LEN];
	size_t nlen;
	uint64_t counter;
	size_t clen;
	bool failed, done;
	uint8_t ct[AGE_CT_CHUNK];
};

/* ---- payload (STREAM) ---- */

uint64_t
age_payload_size(uint64_t ptlen)
{
	uint64_t chunks = ptlen == 0 ? 1 : (ptlen + AGE_CHUNK_SIZE - 1) / AGE_CHUNK_SIZE;
	return AGE_NONCE_LEN + ptlen + chunks * AGE_TAG_LEN;
}

/* Build the 12-byte chunk nonce: 11-byte big-endian counter, then the last flag. */
static void
age_chunk_nonce(uint64_t counter, bool last, uint8_t nonce[12])
{
	memset(nonce, 0, 12);
	for (int i = 0; i < 8; i++)
		nonce[10 - i] = (uint8_t)(counter >> (8 * i));
	nonce[11] = last ? 1 : 0;
}

static int
age_payload_key(const uint8_t file_key[AGE_FILE_KEY_LEN], const uint8_t nonce[AGE_NONCE_LEN],
                uint8_t key[AGE_KEY_LEN])
{
	return age_hkdf(file_key, AGE_FILE_KEY_LEN, nonce, AGE_NONCE_LEN, "payload", key,
	                AGE_KEY_LEN);
}

struct age_enc *
age_enc_new(const uint8_t file_key[AGE_FILE_KEY_LEN])
{
	struct age_enc *e = NULL;
	/* Pooled locked memory, zero-filled (secmem_alloc). */
	if (age_lib_init() != 0 || (e = secmem_alloc(sizeof(*e))) == NULL)
		return NULL;
	randombytes_buf(e->nonce, sizeof(e->nonce));
	if (age_payload_key(file_key, e->nonce, e->key) != 0) {
		secmem_release(e, sizeof(*e), sizeof(*e));
		return NULL;
	}
	return e;
}

/* Encrypt the pending plaintext as the next chunk onto `out`; return 0 or -1. */
static int
age_enc_chunk(struct age_enc *e, bool last, struct buf *out)
{
	uint8_t nonce[12];
	unsigned long long clen = 0;
	if (e->counter == UINT64_MAX || buf_reserve(out, e->plen + AGE_TAG_LEN) != 0)
		return -1;
	age_chunk_nonce(e->counter, last, nonce);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out->data + out->len, &clen, e->pending,
	                                              e->plen, NULL, 0, NULL, nonce, e->key) != 0)
		return -1;
	out->len += (size_t)clen;
	sodium_memzero(e->pending, e->plen);
	e->plen = 0;
	e->counter++;
	return 0;
}

/* Write the payload nonce before the first chunk; return 0 or -1. */
static int
age_enc_start(struct age_enc *e, struct buf *out)
{
	if (e->started)
		return 0;
	if (buf_add(out, e->nonce, sizeof(e->nonce)) != 0)
		return -1;
	e->started = true;
	return 0;
}

int
age_enc_update(struct age_enc *e, const uint8_t *pt, size_t n, struct buf *out)
{
	if (e->failed || e->finished)
		return -1;
	if (age_enc_start(e, out) != 0)
		goto fail;
	while (n > 0) {
		/* A full chunk is written only once more data proves it is not the last. */
		if (e->plen == AGE_CHUNK_SIZE && age_enc_chunk(e, false, out) != 0)
			goto fail;
		size_t k = AGE_CHUNK_SIZE - e->plen;
		if (k > n)
			k = n;
		memcpy(e->pending + e->plen, pt, k);
		e->plen += k;
		pt += k;
		n -= k;
	}
	return 0;
fail:
	e->failed = true;
	return -1;
}

int
age_enc_final(struct age_enc *e, struct buf *out)
{
	if (e->failed || e->finished)
		return -1;
	if (age_enc_start(e, out) != 0 || age_enc_chunk(e, true, out) != 0) {
		e->failed = true;
		return -1;
	}
	e->finished = true;
	return 0;
}

void
age_enc_free(struct age_enc *e)
{
	secmem_release(e, sizeof(*e), sizeof(*e)); /* wipes */
}

struct age_dec *
age_dec_new(const uint8_t file_key[AGE_FILE_KEY_LEN])
{
	struct age_dec *d = NULL;
	if (age_lib_init() != 0 || (d = secmem_alloc(sizeof(*d))) == NULL)
		return NULL;
	memcpy(d->file_key, file_key, AGE_FILE_KEY_LEN);
	return d;
}

/* Try to open the buffered chunk with the `last` flag into `out`; return 0 or -1. */
static int
age_dec_open(struct age_dec *d, bool last, struct buf *out)
{
	uint8_t nonce[12];
	unsigned long long mlen = 0;
	age_chunk_nonce(d->counter, last, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out->data + out->len, &mlen, NULL, d->ct,
	                                              d->clen, NULL, 0, nonce, d->key) != 0)
		return -1;
	out->len += (size_t)mlen;
	return 0;
}

/*
 * Decrypt the buffered chunk, which is the last one iff `final`. A full chunk
 * that authenticates with the other flag is released before the error, as
 * the reference implementation does. Return an enum age_err.
 */
static int
age_dec_chunk(struct age_dec *d, bool final, struct buf *out)
{
	if (d->clen < AGE_TAG_LEN || d->counter == UINT64_MAX)
		return AGE_ERR_PAYLOAD;
	size_t ptlen = d->clen - AGE_TAG_LEN;
	if (final && d->clen == AGE_TAG_LEN && d->counter > 0)
		return AGE_ERR_PAYLOAD; /* an empty last chunk only for an empty payload */
	if (buf_reserve(out, ptlen) != 0)
		return ptlen > out->max - out->len ? AGE_ERR_LIMIT : AGE_ERR_SYSTEM;
	if (age_dec_open(d, final, out) == 0) {
		d->counter++;
		d->clen = 0;
		return AGE_OK;
	}
	if (d->clen == AGE_CT_CHUNK && age_dec_open(d, !final, out) == 0)
		return AGE_ERR_PAYLOAD; /* last chunk with data after it, or truncated */
	return AGE_ERR_PAYLOAD;
}

/* Take payload nonce bytes from `*ct`; derive the key once all are in. */
static int
age_dec_nonce(struct age_dec *d, const uint8_t **ct, size_t *n)
{
	size_t k = AGE_NONCE_LEN - d->nlen;
	if (k > *n)
		k = *n;
	memcpy(d->nonce + d->nlen, *ct, k);
	d->nlen += k;
	*ct += k;
	*n -= k;
	if (d->nlen < AGE_NONCE_LEN)
		return AGE_OK;
	int rc = age_payload_key(d->file_key, d->nonce, d->key) == 0 ? AGE_OK : AGE_ERR_SYSTEM;
	sodium_memzero(d->file_key, sizeof(d->file_key));
	return rc;
}

int
age_dec_update(struct age_dec *d, const uint8_t *ct, size_t n, struct buf *out)
{
	int rc = AGE_ERR_PAYLOAD;
	if (d->failed)
		return AGE_ERR_PAYLOAD;
	if (d->done) {
		if (n == 0)
			return AGE_OK;
		goto fail; /* data after the end */
	}
	while (n > 0) {
		if (d->nlen < AGE_NONCE_LEN) {
			if ((rc = age_dec_nonce(d, &ct, &n)) != AGE_OK)
				goto fail;
			continue;
		}
		/* A full chunk is opened only once more data proves it is not the last. */
		if (d->clen == AGE_CT_CHUNK && (rc = age_dec_chunk(d, false, out)) != AGE_OK)
			goto fail;
		size_t k = AGE_CT_CHUNK - d->clen;
		if (k > n)
			k = n;
		memcpy(d->ct + d->clen, ct, k);
		d->clen += k;
		ct += k;
		n -= k;
	}
	return AGE_OK;
fail:
	d->failed = true;
	return rc;
}

int
age_dec_final(struct age_dec *d, struct buf *out)
{
	int rc = AGE_ERR_PAYLOAD;
	if (d->failed)
		return AGE_ERR_PAYLOAD;
	if (d->done)
		return AGE_OK;
	if (d->nlen < AGE_NONCE_LEN || d->clen == 0)
		goto fail; /* no nonce, or no chunk at all */
	if ((rc = age_dec_chunk(d, true, out)) != AGE_OK)
		goto fail;
	d->done = true;
	return AGE_OK;
fail:
	d->failed = true;
	return rc;
}

void
age_dec_free(struct age_dec *d)
{
	secmem_release(d, sizeof(*d), sizeof(*d)); /* wipes */
}
