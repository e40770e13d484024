/*
 * age: the age v1 file format (C2SP age), X25519 and scrypt recipients.
 *
 * A file is a header ("age-encryption.org/v1", stanzas, "--- " MAC line)
 * followed by the payload: a 16-byte nonce and the STREAM of 64 KiB
 * ChaCha20-Poly1305 chunks keyed by HKDF-SHA-256(file key, nonce, "payload").
 *
 * Tipline stores each sealed object as one payload plus one header per
 * recipient; a header followed by the payload is a complete age file.
 *
 * Limits enforced when parsing: header <= AGE_MAX_HEADER bytes, <=
 * AGE_MAX_STANZAS stanzas, scrypt work factor <= caller's maximum (never
 * above AGE_MAX_SCRYPT_LOGN).
 */
#ifndef TIPLINE_AGE_H
#define TIPLINE_AGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AGE_FILE_KEY_LEN 16
#define AGE_KEY_LEN 32
#define AGE_CHUNK_SIZE 65536
#define AGE_TAG_LEN 16
#define AGE_NONCE_LEN 16
#define AGE_MAX_HEADER 65536
#define AGE_MAX_STANZAS 16
#define AGE_MAX_SCRYPT_LOGN 22
#define AGE_RECIPIENT_STR_MAX 128 /* "age1" + Bech32 of 32 bytes is 62 chars */
#define AGE_IDENTITY_STR_MAX 128

enum age_err {
	AGE_OK = 0,
	AGE_ERR_FORMAT = -1,      /* malformed header or stanza */
	AGE_ERR_LIMIT = -2,       /* header too large, too many stanzas, scrypt too costly */
	AGE_ERR_NO_MATCH = -3,    /* no stanza opens with the given identities */
	AGE_ERR_HEADER_MAC = -4,  /* header MAC does not verify */
	AGE_ERR_PAYLOAD = -5,     /* a chunk fails to authenticate, or is truncated/reordered */
	AGE_ERR_UNEXPECTED = -6,  /* a stanza type the caller did not allow */
	AGE_ERR_SYSTEM = -7       /* out of memory, crypto library failure */
};

/* Return a short English description of `err` (for CLI messages, not logs of content). */
const char *age_strerror(int err);

/* Make a new X25519 key pair; `sk` should live in secure memory. Return 0 or -1. */
int age_keygen(uint8_t pk[AGE_KEY_LEN], uint8_t sk[AGE_KEY_LEN]);
/* Derive the public key of secret key `sk`. Return 0 or -1. */
int age_public_of(const uint8_t sk[AGE_KEY_LEN], uint8_t pk[AGE_KEY_LEN]);

/* Encode a public key as "age1…"; return 0, or -1 if `outlen` is too small. */
int age_recipient_encode(const uint8_t pk[AGE_KEY_LEN], char *out, size_t outlen);
/* Decode "age1…" (lower case only); return 0, or -1 if not a valid recipient. */
int age_recipient_decode(const char *s, uint8_t pk[AGE_KEY_LEN])
	__attribute__((warn_unused_result));
/* Encode a secret key as "AGE-SECRET-KEY-1…"; return 0 or -1. */
int age_identity_encode(const uint8_t sk[AGE_KEY_LEN], char *out, size_t outlen);
/* Decode "AGE-SECRET-KEY-1…" (upper case only); return 0 or -1. */
int age_identity_decode(const char *s, uint8_t sk[AGE_KEY_LEN])
	__attribute__((warn_unused_result));

/* Fill `file_key` with a fresh random file key (aborts only if libsodium cannot start). */
void age_file_key_new(uint8_t file_key[AGE_FILE_KEY_LEN]);

/*
 * Append to `out` a complete header wrapping `file_key` in one X25519 stanza
 * for each of the `n` (1..AGE_MAX_STANZAS) recipients in `pks`, and its MAC.
 * Return 0, or -1 (`out` unchanged) on a bad count, a low-order recipient
 * key, or a full buffer.
 */
int age_header_x25519(const uint8_t file_key[AGE_FILE_KEY_LEN], const uint8_t (*pks)[AGE_KEY_LEN],
                      size_t n, struct buf *out) __attribute__((warn_unused_result));
/*
 * Append to `out` a header with a single scrypt stanza (work factor 2^logn,
 * 1 <= logn <= AGE_MAX_SCRYPT_LOGN) wrapping `file_key` under `pass`. Return
 * 0, or -1 (`out` unchanged).
 */
int age_header_scrypt(const uint8_t file_key[AGE_FILE_KEY_LEN], const char *pass, size_t passlen,
                      int logn, struct buf *out) __attribute__((warn_unused_result));

/* What a caller allows and offers when opening a header. */
struct age_unwrap_opts {
	const uint8_t (*sks)[AGE_KEY_LEN]; /* X25519 identities to try, may be NULL */
	size_t nsks;
	const char *pass;  /* scrypt passphrase, NULL to refuse scrypt stanzas */
	size_t passlen;
	int max_logn;      /* highest scrypt work factor accepted (<= AGE_MAX_SCRYPT_LOGN) */
};

/*
 * Parse the header at the start of `p` (`n` bytes available, which may
 * include the payload after it), find the file key with `opts`, and verify
 * the header MAC. On success store the file key and the header's length
 * (the offset of the payload) and return AGE_OK; otherwise an enum age_err:
 * AGE_ERR_FORMAT (malformed, including an X25519 share giving an all-zero
 * secret), AGE_ERR_LIMIT (size, stanza count, scrypt logN above max_logn),
 * AGE_ERR_UNEXPECTED (an scrypt stanza but `pass` is NULL), AGE_ERR_NO_MATCH,
 * AGE_ERR_HEADER_MAC. Per the spec, an scrypt stanza must be the only stanza.
 */
int age_header_unwrap(const uint8_t *p, size_t n, const struct age_unwrap_opts *opts,
                      uint8_t file_key[AGE_FILE_KEY_LEN], size_t *hdr_len)
	__attribute__((warn_unused_result));

/*
 * Count the stanzas of the header at `p` by type without opening it (the
 * syntax, the limits and the shape of X25519/scrypt stanzas are checked, the
 * MAC is not). Return AGE_OK and the header length, or AGE_ERR_FORMAT /
 * AGE_ERR_LIMIT.
 */
int age_header_inspect(const uint8_t *p, size_t n, size_t *hdr_len, int *n_x25519, int *n_scrypt,
                       int *n_other) __attribute__((warn_unused_result));

/* Streaming payload encryption. Plaintext is held in secure memory. */
struct age_enc;
/* Start a payload under `file_key` (not kept: only the derived payload key is);
 * the nonce is written on the first update/final. Caller frees with
 * age_enc_free(). NULL on error. At most one 64 KiB chunk is buffered. */
struct age_enc *age_enc_new(const uint8_t file_key[AGE_FILE_KEY_LEN]);
/* Feed `n` plaintext bytes; append any ciphertext that is ready to `out`. A
 * full chunk is held back until more data shows it is not the last. Return 0,
 * or -1 (the encoder is then unusable). */
int age_enc_update(struct age_enc *e, const uint8_t *pt, size_t n, struct buf *out)
	__attribute__((warn_unused_result));
/* Finish: append the last chunk to `out`. Return 0, or -1 (also if called twice). */
int age_enc_final(struct age_enc *e, struct buf *out) __attribute__((warn_unused_result));
/* Wipe and free (NULL is fine). */
void age_enc_free(struct age_enc *e);
/* Size of the payload for `ptlen` bytes of plaintext. */
uint64_t age_payload_size(uint64_t ptlen);

/* Streaming payload decryption. */
struct age_dec;
/* Start decrypting a payload (nonce first) under `file_key`; free with age_dec_free(). NULL on error. */
struct age_dec *age_dec_new(const uint8_t file_key[AGE_FILE_KEY_LEN]);
/* Feed payload bytes; append authenticated plaintext to `out` (a secure buf
 * is advised). Only whole authenticated chunks are appended; as in the
 * reference implementation, a full chunk that authenticates but sits in the
 * wrong place (a last chunk followed by data, a non-last chunk at the end) is
 * appended before the error is returned. Return AGE_OK, AGE_ERR_PAYLOAD
 * (also for any data after a successful final), AGE_ERR_LIMIT if `out` would
 * exceed its maximum, or AGE_ERR_SYSTEM. After an error every call fails. */
int age_dec_update(struct age_dec *d, const uint8_t *ct, size_t n, struct buf *out)
	__attribute__((warn_unused_result));
/* The payload ended: verify the last chunk; return AGE_OK or AGE_ERR_PAYLOAD
 * if truncated (no nonce, no chunk, no final chunk) or corrupt. */
int age_dec_final(struct age_dec *d, struct buf *out) __attribute__((warn_unused_result));
/* Wipe and free (NULL is fine). */
void age_dec_free(struct age_dec *d);

/* One-shot: encrypt `n` bytes to `npk` X25519 recipients (single header),
 * appending the file to `out`. Return 0, or -1 (`out` unchanged). */
int age_encrypt(const uint8_t *pt, size_t n, const uint8_t (*pks)[AGE_KEY_LEN], size_t npk,
                struct buf *out) __attribute__((warn_unused_result));
/* One-shot: encrypt to a passphrase (scrypt recipient). Return 0, or -1 (`out` unchanged). */
int age_encrypt_scrypt(const uint8_t *pt, size_t n, const char *pass, size_t passlen, int logn,
                       struct buf *out) __attribute__((warn_unused_result));
/* One-shot decrypt of a whole file, appending the plaintext to `out`. Return
 * AGE_OK or an enum age_err (a file too short for the payload nonce is
 * AGE_ERR_FORMAT, like the reference); on failure nothing is appended (any
 * partial plaintext is wiped). */
int age_decrypt(const uint8_t *ct, size_t n, const struct age_unwrap_opts *opts, struct buf *out)
	__attribute__((warn_unused_result));

#endif
