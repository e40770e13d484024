/*
 * partner: the signed statement that pins a partner agency's age recipient
 * (docs/crypto.md "Partner statements", docs/keys.md "Referral to a partner").
 *
 * A partner statement is a C2SP signed note (note.h) made by an admin
 * whose text is exactly:
 *
 *   tipline/v1/partner
 *   origin <the review origin of the deployment, e.g. https://review.example>
 *   name <[a-z0-9][a-z0-9._-]{0,62}>
 *   recipient <age1… X25519 recipient>
 *
 * The origin line binds it to one deployment: a statement signed for
 * another server is refused. It must carry the signature of a current
 * admin: tipd stores a statement only then, and tipctl verifies it again,
 * against the admin chain it verified from the keys pinned at enrollment,
 * before it encrypts a case to the recipient. A statement whose signers
 * have all been removed since no longer pins anything.
 */
#ifndef TIPLINE_PARTNER_H
#define TIPLINE_PARTNER_H

#include <stddef.h>
#include <stdint.h>

#include "age.h"
#include "buf.h"
#include "note.h"

#define PARTNER_ORIGIN "tipline/v1/partner"
#define PARTNER_NAME_MAX 63
#define PARTNER_URL_MAX 255
#define PARTNER_STATEMENT_MAX 8192

enum partner_result {
	PARTNER_OK = 0,
	PARTNER_ERR_FORMAT = -1,        /* malformed note or statement text */
	PARTNER_ERR_UNSIGNED = -2,      /* no signature by a given admin key */
	PARTNER_ERR_BAD_SIGNATURE = -3, /* a given admin key's signature does not verify */
	PARTNER_ERR_ORIGIN = -4,        /* made for another deployment */
	PARTNER_ERR_SYSTEM = -5
};

/* A verified statement. */
struct partner {
	char origin[PARTNER_URL_MAX + 1];
	char name[PARTNER_NAME_MAX + 1];
	char recipient[AGE_RECIPIENT_STR_MAX];
	uint8_t x25519_pk[AGE_KEY_LEN];
	size_t signer; /* index, in the verifiers given, of the first that signed */
};

/* Return 1 if `name` is a valid partner name, else 0. */
int partner_name_valid(const char *name);

/* Append the statement text for `origin`, `name` and `recipient` to `out`.
 * Return 0, or -1 if a field is invalid or `out` is full. */
int partner_build_text(const char *origin, const char *name, const char *recipient,
                       struct buf *out) __attribute__((warn_unused_result));

/*
 * Verify the signed statement of `len` bytes at `note` against the
 * `nadmins` admin verifiers and parse it into `p`; if `origin` is
 * not NULL the statement must name exactly it. Return PARTNER_OK or an
 * enum partner_result.
 */
enum partner_result partner_open(const char *note, size_t len,
                                 const struct note_verifier *const *admins, size_t nadmins,
                                 const char *origin, struct partner *p)
	__attribute__((warn_unused_result));

/* A short English description of an enum partner_result. */
const char *partner_strerror(enum partner_result r);

#endif
