/*
 * identity: an investigator's keys, kept in one passphrase-protected file.
 *
 * The file is an age file encrypted to an scrypt recipient (the passphrase)
 * whose decrypted content is a valid age identity file:
 *
 *   # created by tipctl
 *   # public key: age1…
 *   AGE-SECRET-KEY-1…
 *   # tipline-ed25519: <base64 of the 32-byte Ed25519 seed>
 *
 * so `age -d -i identity.age file.age` works with the stock age tool. The
 * scrypt work factor is 2^18, or TIPLINE_SCRYPT_LOGN from the environment
 * (clamped to 10..22; meant for tests). Keys live in locked memory.
 */
#ifndef TIPLINE_IDENTITY_H
#define TIPLINE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IDENTITY_KEY_LEN 32
#define IDENTITY_ED25519_SK_LEN 64 /* libsodium form: seed || public key */
#define IDENTITY_FILE_MAX 16384
#define IDENTITY_LOGN_DEFAULT 18
#define IDENTITY_LOGN_MIN 10
#define IDENTITY_LOGN_MAX 22

enum identity_result {
	IDENTITY_OK = 0,
	IDENTITY_ERR_PASSPHRASE = -1, /* the passphrase does not open the file */
	IDENTITY_ERR_FORMAT = -2,     /* not an identity file (or not a passphrase-encrypted one) */
	IDENTITY_ERR_IO = -3          /* cannot read the file, or out of memory; see errno */
};

struct identity;

/* Make a new identity (fresh X25519 and Ed25519 keys). NULL on error. */
struct identity *identity_generate(void);

/* Wipe and free an identity (NULL is fine). */
void identity_free(struct identity *id);

/* Return the scrypt work factor to use: TIPLINE_SCRYPT_LOGN clamped, or 18. */
int identity_scrypt_logn(void);

/*
 * Encrypt `id` under the passphrase `pass` (`passlen` bytes) and write it
 * to a new file `path` (O_EXCL, O_NOFOLLOW, mode 0600), fsync'd. Return 0,
 * or -1 with errno set (EEXIST if the file exists); no file is left behind
 * on failure.
 */
int identity_save(const struct identity *id, const char *path, const char *pass, size_t passlen)
	__attribute__((warn_unused_result));

/*
 * Read and decrypt the identity file `path` with `pass`. On IDENTITY_OK
 * store a new identity in *out (free with identity_free); otherwise return
 * IDENTITY_ERR_PASSPHRASE, IDENTITY_ERR_FORMAT or IDENTITY_ERR_IO.
 */
enum identity_result identity_load(const char *path, const char *pass, size_t passlen,
                                   struct identity **out) __attribute__((warn_unused_result));

/*
 * Parse the decrypted identity text (`len` bytes). Return a new identity,
 * or NULL if it lacks exactly one age secret key and one tipline-ed25519
 * line, or its "# public key" comment does not match.
 */
struct identity *identity_parse(const char *text, size_t len) __attribute__((warn_unused_result));

/* Append the decrypted identity text of `id` to `out` (use a secure buf). Return 0, or -1. */
int identity_text(const struct identity *id, struct buf *out) __attribute__((warn_unused_result));

/* Accessors; the identity keeps ownership. */
const char *identity_recipient(const struct identity *id); /* "age1…" */
const uint8_t *identity_x25519_pk(const struct identity *id);
const uint8_t *identity_x25519_sk(const struct identity *id);
const uint8_t *identity_ed25519_pk(const struct identity *id);
const uint8_t *identity_ed25519_sk(const struct identity *id); /* 64 bytes */

/*
 * Append the member line "NAME age1… BASE64_ED25519_PK" (no newline) that
 * an admin puts in a membership statement. Return 0, or -1 if `name` is
 * not a valid member name ([A-Za-z0-9._-]{1,64}).
 */
int identity_member_line(const struct identity *id, const char *name, struct buf *out)
	__attribute__((warn_unused_result));

#endif
