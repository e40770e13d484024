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

/* Decrypt the admin key file `path` with the passphrase from `pass_file`
 * (NULL: ask at the terminal). Return the signer (note_signer_free), or
 * NULL after printing why (wrong passphrase, not an admin key file). */
struct note_signer *keys_admin_load(const char *path, const char *pass_file);

#endif
