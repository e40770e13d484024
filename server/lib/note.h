/*
 * note: C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.
 *
 * A note is UTF-8 text ending in "\n" (no control characters but "\n"),
 * then a blank line, then one or more signature lines
 * "— <key name> <base64(4-byte key hash || 64-byte signature)>\n".
 * The key hash is the first 4 bytes of SHA-256(name || "\n" || 0x01 || pk).
 *
 * Key texts:
 *   verifier  "<name>+<8 hex key hash>+<base64(0x01 || 32-byte public key)>"
 *   signer    "PRIVATE+KEY+<name>+<8 hex key hash>+<base64(0x01 || 32-byte seed)>"
 * Key names are 1..NOTE_NAME_MAX printable ASCII characters without '+'
 * or whitespace.
 *
 * Opening a note: signatures by keys the caller does not trust are ignored;
 * a signature line naming a trusted key (name and hash) that does not
 * verify rejects the whole note; a note with no valid signature from a
 * trusted key is refused. Notes are at most NOTE_MAX_LEN bytes with at most
 * NOTE_MAX_SIGS signature lines.
 */
#ifndef TIPLINE_NOTE_H
#define TIPLINE_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define NOTE_MAX_LEN 65536
#define NOTE_MAX_SIGS 16
#define NOTE_NAME_MAX 128
#define NOTE_PK_LEN 32
#define NOTE_ED25519_SIG_LEN 64

enum note_result {
	NOTE_OK = 0,
	NOTE_ERR_FORMAT = -1,        /* malformed note, or over the limits */
	NOTE_ERR_UNSIGNED = -2,      /* no valid signature from a trusted key */
	NOTE_ERR_BAD_SIGNATURE = -3, /* a trusted key's signature line does not verify */
	NOTE_ERR_SYSTEM = -4         /* out of memory or a crypto library failure */
};

struct note_verifier;
struct note_signer;

/* Return 1 if the NUL-terminated `name` is a valid key name, else 0. */
int note_name_valid(const char *name);

/*
 * Make a new Ed25519 key named `name`: append the signer key text to
 * `signer_text` (use a secure buf) and the verifier key text to
 * `verifier_text`. Return 0, or -1 (bad name, buffer full, crypto failure).
 */
int note_keygen(const char *name, struct buf *signer_text, struct buf *verifier_text)
	__attribute__((warn_unused_result));

/*
 * Parse the verifier key text of `len` bytes at `text` (surrounding
 * whitespace is not accepted). Return a new verifier (free with
 * note_verifier_free), or NULL if it is malformed or its hash does not
 * match its name and key.
 */
struct note_verifier *note_verifier_parse(const char *text, size_t len)
	__attribute__((warn_unused_result));
/* Make a verifier for `name` and Ed25519 public key `pk`. NULL on error. */
struct note_verifier *note_verifier_new(const char *name, const uint8_t pk[NOTE_PK_LEN]);
/* Free a verifier (NULL is fine). */
void note_verifier_free(struct note_verifier *v);
/* Accessors; the verifier keeps ownership of what they return. */
const char *note_verifier_name(const struct note_verifier *v);
uint32_t note_verifier_hash(const struct note_verifier *v);
const uint8_t *note_verifier_pk(const struct note_verifier *v);
/* Append the verifier key text of `v` to `out`. Return 0, or -1. */
int note_verifier_text(const struct note_verifier *v, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Parse the signer key text of `len` bytes at `text`. Return a signer in
 * locked memory (free with note_signer_free), or NULL if it is malformed
 * or its hash does not match its name and key.
 */
struct note_signer *note_signer_parse(const char *text, size_t len)
	__attribute__((warn_unused_result));
/* Wipe and free a signer (NULL is fine). */
void note_signer_free(struct note_signer *s);
/* Return a new verifier for the public half of `s` (caller frees), or NULL. */
struct note_verifier *note_signer_verifier(const struct note_signer *s);
/* The signer's Ed25519 public key (NOTE_PK_LEN bytes, owned by `s`). */
const uint8_t *note_signer_pk(const struct note_signer *s);
/* Sign `n` bytes at `msg` with the signer's Ed25519 key (a bare detached
 * signature, for domain-separated messages such as the admin's login and
 * enrollment, never a note). Return 0, or -1. */
int note_signer_sign_detached(const struct note_signer *s, const uint8_t *msg, size_t n,
                              uint8_t sig[NOTE_ED25519_SIG_LEN]) __attribute__((warn_unused_result));

/*
 * Sign the bare text of `len` bytes at `text` with `s` and append the
 * complete note (text, blank line, signature line) to `out`. Return 0, or
 * -1 if the text is not valid note text (empty, no final "\n", invalid
 * UTF-8, control characters) or the note would exceed the limits.
 */
int note_sign(const struct note_signer *s, const char *text, size_t len, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Add a signature by `s` to the existing signed note of `len` bytes at
 * `note` (its signatures are not checked) and append the result to `out`.
 * Return 0, or -1 if the note is malformed, already carries a signature
 * line by `s`, or would exceed the limits.
 */
int note_cosign(const struct note_signer *s, const char *note, size_t len, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Open the signed note of `len` bytes at `note` against the `nv` trusted
 * verifiers `vs`. On NOTE_OK the text is the first *text_len bytes of
 * `note` (ending in "\n"), and if `signed_by` is not NULL, signed_by[i]
 * (an array of `nv` entries) tells whether vs[i] signed. Otherwise return
 * NOTE_ERR_FORMAT, NOTE_ERR_UNSIGNED, NOTE_ERR_BAD_SIGNATURE or
 * NOTE_ERR_SYSTEM.
 */
enum note_result note_open(const char *note, size_t len, const struct note_verifier *const *vs,
                           size_t nv, size_t *text_len, bool *signed_by)
	__attribute__((warn_unused_result));

/* Return a short English description of a note_result. */
const char *note_strerror(enum note_result r);

#endif
