/*
 * review_replies: replies and notes that investigators' tipctl seals and
 * signs (docs/api.md), and
 * the membership chain tipctl verifies before it seals.
 *
 *  - POST /api/v1/reports/{id}/replies and /notes: the caller must be a
 *    member of the report's team; the Ed25519 signature must verify with
 *    the CALLER's key over
 *      "tipline/v1/<kind>\n<object id>\n<report id>\n<hex SHA-256(payload)>\n";
 *    there must be exactly one header per member of the team's current
 *    membership, plus one for the source's recipient for a reply (none for
 *    a note), each a well-formed age header with one X25519 stanza and
 *    nothing else; the payload is at most RV_REPLY_PAYLOAD_MAX bytes and at
 *    least an age payload of PAD_TEXT_MIN bytes (the smallest padded text:
 *    an empty payload is refused); the id is new (409 otherwise). tipd never
 *    sees the plaintext, so an empty text padded by a client is stored, and
 *    the source's inbox skips it.
 *  - GET /api/v1/reports/{id} also lists the source's recipient, replies,
 *    notes and messages, each with the caller's header only.
 *  - GET /api/v1/teams/{team}/membership: the team's statements, in order.
 */
#ifndef TIPD_REVIEW_REPLIES_H
#define TIPD_REVIEW_REPLIES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct rv_req;
struct rv_ops;

#define RV_REPLY_PAYLOAD_MAX (1u << 20)  /* largest sealed payload */
#define RV_REPLY_MAX_BODY (2u << 20)     /* largest request body */
#define RV_REPLY_MAX_HEADERS 257         /* MEMBERSHIP_MAX_MEMBERS + the source */
#define RV_REPLY_SIG_LEN 64

/* A parsed reply or note body; strings and arrays are owned by it. */
struct rv_sealed {
	char id[37];
	uint8_t *payload;       /* malloc'd */
	size_t payload_len;
	size_t nheaders;
	char (*recipients)[128]; /* nheaders "age1…" strings */
	char *rcpt_lit;          /* PostgreSQL text[] literal of the recipients */
	char *hdr_lit;           /* PostgreSQL text[] literal of the headers (base64) */
	uint8_t sig[RV_REPLY_SIG_LEN];
};

enum rv_sealed_result {
	RV_SEALED_OK = 0,
	RV_SEALED_BAD = -1,     /* 400: not JSON, wrong fields or types, bad base64 or uuid */
	RV_SEALED_HEADER = -2,  /* 422: a header that is not exactly one X25519 stanza */
	RV_SEALED_TOO_BIG = -3, /* 413: payload over RV_REPLY_PAYLOAD_MAX */
	RV_SEALED_SHORT = -4    /* 422: payload too short for a padded text (PAD_TEXT_MIN) */
};

/* Parse a reply/note body of `len` bytes into `s` (free with
 * rv_sealed_free, also after a failure). Return an enum rv_sealed_result. */
enum rv_sealed_result rv_sealed_parse(const uint8_t *body, size_t len, struct rv_sealed *s)
	__attribute__((warn_unused_result));
/* Free what rv_sealed_parse allocated (safe on a zeroed struct). */
void rv_sealed_free(struct rv_sealed *s);
/* Return 0 if `sig` over the message for `kind`, `rid` and `s`
 * (proto_sealed_sig_message) verifies with Ed25519 key `pk`, else -1. */
int rv_sealed_verify(const struct rv_sealed *s, const char *kind, const char *rid,
                     const uint8_t pk[32]) __attribute__((warn_unused_result));

/* The handler ops of the table's rows (review.c). */
extern const struct rv_ops rv_sealed_ops; /* replies and notes */
extern const struct rv_ops rv_membership_ops;
/* Queue the queries that add "source_recipient", "replies", "notes" and
 * "messages" to a fetched report (r->out, if the report was found); `teams`
 * and `rcpts` are the caller's teams and recipients as array literals. */
void rv_replies_fetch(struct rv_req *r, const char *teams, const char *rcpts);

#endif
