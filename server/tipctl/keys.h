/*
 * keys: the Ed25519 key a tipctl command signs with — an investigator's
 * identity, or an admin key (a C2SP note signer, age-encrypted to a
 * passphrase) — behind one small interface, for login and enrollment.
 */
#ifndef TIPCTL_KEYS_H
#define TIPCTL_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct identity;
struct note_signer;

/* Exactly one of the two is set; both are borrowed. */
struct keys_signer {
	const struct identity *id;
	const struct note_signer *admin;
};

/* The signer's Ed25519 public key (32 bytes). */
const uint8_t *keys_signer_pk(const struct keys_signer *k);

/* Sign `n` bytes at `msg` into `sig` (64 bytes). Return 0 or -1. */
int keys_sign(const struct keys_signer *k, const uint8_t *msg, size_t n, uint8_t sig[64])
	__attribute__((warn_unused_result));

#define KEYS_PK64_LEN 45  /* 32 bytes in standard base64, with its NUL */
#define KEYS_SIG64_LEN 89 /* 64 bytes in standard base64, with its NUL */

/* Sign `n` bytes at `msg` and store the signer's public key and the
 * signature in standard base64 (as request bodies carry them) in `pk64`
 * and `sig64`. Return 0 or -1. */
int keys_sign_b64(const struct keys_signer *k, const uint8_t *msg, size_t n,
                  char pk64[KEYS_PK64_LEN], char sig64[KEYS_SIG64_LEN])
	__attribute__((warn_unused_result));

/* Decrypt the admin key file `path` with the passphrase from `pass_file`
 * (NULL: ask at the terminal). Return the signer (note_signer_free), or
 * NULL after printing why (wrong passphrase, not an admin key file). */
struct note_signer *keys_admin_load(const char *path, const char *pass_file);

#endif
