/*
 * websec: the source pages' only state, carried by the browser and sealed
 * with XChaCha20-Poly1305 under the web key (docs/api.md "Source pages"):
 *
 *   form token    AEAD(kind ‖ expiry), in a hidden field of every POST form;
 *                 checked before any work, so a post from another site, an
 *                 old page or another form is refused and stores nothing.
 *   inbox cookie  AEAD(lookup id ‖ signing seed ‖ report ‖ team ‖ expiry):
 *                 the opened inbox, the seed of the source's message-signing
 *                 key (derived from the receipt, docs/crypto.md §9), so that
 *                 a follow-up sent from the page is signed like one sent with
 *                 the receipt, and the report and team the receipt opened, so
 *                 that files sent with a follow-up are sealed to the team as
 *                 they arrive. Never the receipt, never the key that opens
 *                 the replies. Every cookie has the same length.
 *                 Session-only, HttpOnly, SameSite=Strict.
 *
 * Each has its own subkey and associated data, so neither passes for the
 * other. Both are base64url without padding. Nothing here is stored.
 */
#ifndef TIPD_WEBSEC_H
#define TIPD_WEBSEC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct websec;

enum websec_form {
	WEBSEC_FORM_REPORT = 1,
	WEBSEC_FORM_INBOX_OPEN,
	WEBSEC_FORM_INBOX_MESSAGE,
	WEBSEC_FORM_INBOX_FORGET,
	WEBSEC_FORM_INBOX_CLOSE,
};

#define WEBSEC_TOKEN_STR 72   /* with the NUL */
#define WEBSEC_COOKIE_STR 292 /* with the NUL */

/* Make the state from the 32-byte `key` (wiped by the caller), or from a
 * random key when `key` is NULL. NULL if out of memory. */
struct websec *websec_new(const uint8_t *key);
/* Read the key from `path` (64 hex characters); NULL with `err` on error. */
struct websec *websec_load(const char *path, char *err, size_t errlen);
void websec_free(struct websec *w);
/* The web key's check value (proto_key_check, name "web") into `out` (32
 * bytes). Return 0, or -1. */
int websec_check(const struct websec *w, uint8_t out[32]) __attribute__((warn_unused_result));

/* A token for form `kind` valid until now + ttl_s. Return 0 or -1. */
int websec_token_make(const struct websec *w, enum websec_form kind, unsigned ttl_s, time_t now,
                      char out[WEBSEC_TOKEN_STR]);
/* 0 if the `len` bytes at `tok` are a genuine, unexpired token for `kind`; else -1. */
int websec_token_check(const struct websec *w, enum websec_form kind, const char *tok, size_t len,
                       time_t now) __attribute__((warn_unused_result));

/* What the inbox cookie holds (the caller wipes it after use). */
struct websec_inbox {
	uint8_t id[32];   /* the receipt's lookup id */
	uint8_t seed[32]; /* the seed of the source's message-signing key */
	char report[37];  /* the report uuid the receipt opened */
	char team[64];    /* its team */
};

/* A cookie value holding `in` until now + ttl_s. Return 0, or -1 (also if
 * the report is not a uuid or the team is empty or too long). */
int websec_cookie_make(const struct websec *w, const struct websec_inbox *in, unsigned ttl_s,
                       time_t now, char out[WEBSEC_COOKIE_STR]);
/* Open a cookie value into `out` if it is genuine and unexpired: 0, else -1. */
int websec_cookie_open(const struct websec *w, const char *val, size_t len, time_t now,
                       struct websec_inbox *out) __attribute__((warn_unused_result));

#endif
