/*
 * invite: the invitation an admin hands to a new investigator (or the
 * operator to the first admin) out of band, and the enrollment message the
 * invitee signs (docs/crypto.md §8 "Key lifecycle", docs/architecture.md §7.1).
 *
 * An invite carries everything the invitee's tipctl must pin before it talks
 * to the server, so that nothing is trusted on first use: the server URL, the
 * SHA-256 of the review listener's TLS public key, the review origin, the
 * admin verifier keys and the audit log's verifier key; and the single-use
 * secret that lets it enroll, with the role, name and teams it was made for.
 *
 * Text form: "tipline-invite-1:" followed by the base64url (no padding) of a
 * JSON object {"server","pin","origin","admin_keys":[…],"audit_key","id",
 * "secret","role","name","teams":[…],"expires_at"}.
 *
 * The enrollment proof of possession signs, with the invitee's Ed25519 key:
 *   tipline/v1/enroll\n<origin>\n<pin hex>\n<invite id>\n<name>\n
 *   <age recipient or ->\n<ed25519 base64>\n
 */
#ifndef TIPLINE_INVITE_H
#define TIPLINE_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define INVITE_PREFIX "tipline-invite-1:"
#define INVITE_FIELD_MAX 512
#define INVITE_ADMINS_MAX 8
#define INVITE_TEAMS_MAX 16
#define INVITE_TEXT_MAX 16384
#define INVITE_SECRET_LEN 32
#define INVITE_SECRET_B64 44 /* base64url of 32 bytes, no padding, with its NUL */
#define INVITE_ENROLL_PURPOSE "tipline/v1/enroll"

struct invite {
	char server[INVITE_FIELD_MAX]; /* https://HOST:PORT */
	char pin[65];                  /* SHA-256 hex of the TLS SubjectPublicKeyInfo */
	char origin[INVITE_FIELD_MAX];
	char admin_keys[INVITE_ADMINS_MAX][INVITE_FIELD_MAX];
	size_t n_admin_keys;
	char audit_key[INVITE_FIELD_MAX]; /* may be empty */
	char id[37];
	char secret[INVITE_SECRET_B64];
	char role[16]; /* "admin" or "investigator" */
	char name[65]; /* may be empty for an admin invite */
	char teams[INVITE_TEAMS_MAX][64];
	size_t n_teams;
	int64_t expires_at;
};

/* Append the text form of `iv` to `out`. Return 0, or -1 if a field is
 * invalid (see invite_valid) or out of memory. */
int invite_encode(const struct invite *iv, struct buf *out) __attribute__((warn_unused_result));

/* Parse the text form (`n` bytes; surrounding whitespace is ignored) into
 * `iv`. Return 0, or -1 if it is not a well-formed, valid invite. */
int invite_decode(const char *s, size_t n, struct invite *iv) __attribute__((warn_unused_result));

/* Return 1 if every field of `iv` is well formed, else 0. */
int invite_valid(const struct invite *iv);

/* Append the enrollment message to `out`. `recipient` may be NULL (an
 * admin enrolling an admin key). Return 0, or -1 on a malformed field. */
int invite_enroll_message(const char *origin, const char *pin_hex, const char *id,
                          const char *name, const char *recipient, const char *ed25519_b64,
                          struct buf *out) __attribute__((warn_unused_result));

/* Return 1 if `name` is a valid member name (1..64 of [A-Za-z0-9._-]), else 0. */
int invite_name_valid(const char *name);

#endif
