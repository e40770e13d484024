/*
 * review_auth: the parts of review login that need no network or database
 * (docs/crypto.md §10 and §11 "Domain separation").
 *
 *  - login nonces without server state: the issue time, random bytes and an
 *    HMAC-SHA-256 tag under the deployment's nonce key (STATE_DIR/nonce.key,
 *    the same file on every review host), so any host checks any nonce and
 *    a flood of nonce requests evicts nothing; single use is recorded in
 *    PostgreSQL at login (login_nonces, review.c);
 *  - (the failed-login limiter is net/limiter.h, shared with the inbox);
 *  - the strict login body parser, signature checking (over the login
 *    message of proto.h),
 *    session tokens and the Bearer header.
 *
 * Never log a nonce, a token or a signature.
 */
#ifndef TIPD_REVIEW_AUTH_H
#define TIPD_REVIEW_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "limiter.h"

#define RV_NONCE_LEN 32
#define RV_B64URL_32 44 /* base64url without padding of 32 bytes, with its NUL */
#define RV_NONCE_TTL 120   /* a nonce logs in within this many seconds of its issue */
#define RV_NONCE_AHEAD 30  /* ... and may come from a host whose clock is this far ahead */
#define RV_NONCE_KEY_LEN 32
#define RV_NONCE_FILE "nonce.key"
#define RV_NONCE_PURPOSE "tipline/v1/nonce"
#define RV_TIME_SKEW 300
#define RV_FAIL_PER_KEY 5
#define RV_FAIL_TOTAL 60
#define RV_FAIL_WINDOW 60
#define RV_TOKEN_LEN 32
#define RV_PK_LEN 32
#define RV_SIG_LEN 64
#define RV_LOGIN_MAX_BODY 4096

struct rv_nonces;

/* Make a nonce maker and checker under the `RV_NONCE_KEY_LEN`-byte `key`
 * (copied into locked memory). NULL on error. */
struct rv_nonces *rv_nonces_new(const uint8_t key[RV_NONCE_KEY_LEN]);
/* Same, with the key in the file `path` (64 hex digits and a newline, mode
 * 0600), made with a fresh random key if it does not exist. NULL and a
 * message in `err` on error. */
struct rv_nonces *rv_nonces_load(const char *path, char *err, size_t errlen);
/* Wipe and free (NULL is fine). */
void rv_nonces_free(struct rv_nonces *n);
/* The nonce key's check value (proto_key_check, name "nonce") into `out`
 * (32 bytes). Return 0, or -1. */
int rv_nonces_check(const struct rv_nonces *n, uint8_t out[32]) __attribute__((warn_unused_result));
/* Make a fresh nonce issued at `now` (docs/crypto.md: 4-byte big-endian
 * time, 12 random bytes, 16-byte tag) and write it, base64url without
 * padding, into `out`. Return 0, or -1. Needs no lock and keeps no state. */
int rv_nonce_issue(const struct rv_nonces *n, int64_t now, char out[RV_B64URL_32])
	__attribute__((warn_unused_result));
/* Check the nonce `s` at `now`: its tag is ours, it was issued less than
 * RV_NONCE_TTL seconds ago and at most RV_NONCE_AHEAD seconds ahead. Write
 * its 32 raw bytes into `raw` (for the single-use record) and the time after
 * which no host accepts it into `*expires`. Return 0 if valid, else -1.
 * Whether it was used before is the caller's to check. */
int rv_nonce_check(const struct rv_nonces *n, const char *s, int64_t now,
                   uint8_t raw[RV_NONCE_LEN], int64_t *expires)
	__attribute__((warn_unused_result));

/* The failed-login limiter is net/limiter.h's, shared with the source
 * inbox; the review side's older names for it. */
#define rv_limiter limiter
#define rv_limiter_new limiter_new
#define rv_limiter_free limiter_free
#define rv_limiter_check limiter_check
#define rv_limiter_fail limiter_fail

/* A parsed login request body. */
struct rv_login {
	uint8_t pk[RV_PK_LEN];
	char nonce[RV_B64URL_32]; /* "" unless the body carried a nonce string of the right size */
	int64_t time;
	uint8_t sig[RV_SIG_LEN];
	int have_pk;              /* pk holds the claimed key (even if other fields failed) */
};

/* Parse a login body: a JSON object with exactly "ed25519" (base64 of 32
 * bytes), "nonce" (string), "time" (integer) and "signature" (base64 of 64
 * bytes). Return 0, or -1 if anything is missing, extra, mistyped or
 * malformed; on -1 the nonce and key found so far are still filled in (so
 * the nonce can be burned and the failure counted against the key). */
int rv_login_parse(const uint8_t *body, size_t len, struct rv_login *out)
	__attribute__((warn_unused_result));

/* Append the login message (proto_login_message) to `out`. Return 0, or -1
 * if a field is empty or holds a control character or the buffer is full. */
int rv_login_message(const char *origin, const char *tls_hex, const char *nonce, int64_t time,
                     struct buf *out) __attribute__((warn_unused_result));

/* Check the signature of `l` over the login message (proto_login_message) rebuilt with the server's own
 * `origin` and `tls_hex`. Return 0 if valid, else -1. */
int rv_login_verify(const struct rv_login *l, const char *origin, const char *tls_hex)
	__attribute__((warn_unused_result));

/* Make a new session token: write its text (base64url, no padding) into
 * `text` and the SHA-256 of its 32 raw bytes into `sha`. */
void rv_token_new(char text[RV_B64URL_32], uint8_t sha[32]);
/* Parse an Authorization header value "Bearer <token>" and write the
 * token's SHA-256 into `sha`. Return 0, or -1 if NULL or malformed. */
int rv_bearer_parse(const char *authorization, uint8_t sha[32])
	__attribute__((warn_unused_result));

#endif
