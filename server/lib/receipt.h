/*
 * receipt: the numbers a source keeps to open their inbox.
 *
 * A receipt is 29 uniformly random decimal digits (about 96 bits) followed
 * by a Damm check digit, shown as six groups of five digits joined by '-'.
 * Input typed or pasted by a source is normalized first: Arabic-Indic,
 * Persian, Devanagari and full-width digits become ASCII; spaces, hyphens,
 * dashes and bidi marks are dropped; anything else is refused.
 *
 * From the 29 random digits, BLAKE2b-256 keyed with the deployment's receipt
 * pepper derives a lookup id (personalization "tipline-lookup01"), the
 * source's X25519 secret key (personalization "tipline-srckey01") and the
 * seed of the source's Ed25519 signing key (personalization
 * "tipline-srcsig01"). Only the lookup id and the X25519 public key are
 * stored in the clear; the Ed25519 public key is sealed inside the report.
 *
 * Receipts are secrets: never log one, and keep them in secure memory.
 */
#ifndef TIPLINE_RECEIPT_H
#define TIPLINE_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#define RECEIPT_DIGITS 30      /* 29 random digits and the check digit */
#define RECEIPT_RANDOM_DIGITS 29
#define RECEIPT_STR_LEN 36     /* "ddddd-ddddd-ddddd-ddddd-ddddd-ddddd" and a NUL */
#define RECEIPT_PEPPER_LEN 32
#define RECEIPT_ID_LEN 32
#define RECEIPT_KEY_LEN 32
#define RECEIPT_SIGN_PK_LEN 32 /* crypto_sign_PUBLICKEYBYTES */
#define RECEIPT_SIGN_SK_LEN 64 /* crypto_sign_SECRETKEYBYTES */
#define RECEIPT_INPUT_MAX 1024 /* longest input receipt_normalize() reads */

enum receipt_result {
	RECEIPT_OK = 0,
	RECEIPT_ERR_FORMAT = -1, /* a character that is not a digit or separator, or not 30 digits */
	RECEIPT_ERR_CHECK = -2   /* 30 digits, but the check digit is wrong: a typo */
};

struct receipt_pepper;

/* Fill `digits` (ASCII, not NUL-terminated) with a fresh receipt. */
void receipt_new(char digits[RECEIPT_DIGITS]);

/* Return the Damm check digit (0..9) of the `n` ASCII digits at `digits`. */
int receipt_damm(const char *digits, size_t n);

/* Write `digits` as six hyphen-joined groups of five into `out` (NUL-terminated). */
void receipt_format(const char digits[RECEIPT_DIGITS], char out[RECEIPT_STR_LEN]);

/*
 * Normalize the `len` bytes of UTF-8 at `utf8` into 30 ASCII digits in
 * `out`. Return RECEIPT_OK, RECEIPT_ERR_FORMAT (invalid UTF-8, a character
 * other than a digit or separator, not exactly 30 digits, or longer than
 * RECEIPT_INPUT_MAX bytes) or RECEIPT_ERR_CHECK (the check digit is wrong).
 * `out` is wiped unless RECEIPT_OK is returned.
 */
enum receipt_result receipt_normalize(const char *utf8, size_t len, char out[RECEIPT_DIGITS])
	__attribute__((warn_unused_result));

/*
 * Load the receipt pepper from `path`: 64 hex characters and an optional
 * newline, in a file no group or other user may access. Return a pepper in
 * locked memory (free with receipt_pepper_free), or NULL on any error.
 */
struct receipt_pepper *receipt_pepper_load(const char *path);
/* Make a pepper from 32 raw bytes (tests, key generation). NULL on error. */
struct receipt_pepper *receipt_pepper_from_bytes(const uint8_t key[RECEIPT_PEPPER_LEN]);
/* Wipe and free a pepper (NULL is fine). */
void receipt_pepper_free(struct receipt_pepper *p);
/* The pepper's check value (proto_key_check, name "receipt-pepper") into
 * `out` (32 bytes). Return 0, or -1. */
int receipt_pepper_check(const struct receipt_pepper *p, uint8_t out[32])
	__attribute__((warn_unused_result));

/*
 * Derive the lookup id of the receipt `digits` (30 ASCII digits, already
 * normalized; only the first 29 are used) into `id`. Return 0, or -1.
 */
int receipt_lookup_id(const struct receipt_pepper *p, const char digits[RECEIPT_DIGITS],
                      uint8_t id[RECEIPT_ID_LEN]) __attribute__((warn_unused_result));

/*
 * Derive the source's X25519 key pair from the receipt `digits` into `pk`
 * and `sk` (`sk` should be in secure memory; the caller wipes it). Return
 * 0, or -1.
 */
int receipt_source_key(const struct receipt_pepper *p, const char digits[RECEIPT_DIGITS],
                       uint8_t pk[RECEIPT_KEY_LEN], uint8_t sk[RECEIPT_KEY_LEN])
	__attribute__((warn_unused_result));

/*
 * Derive the source's Ed25519 signing key pair from the receipt `digits`
 * into `pk` and `sk` (`sk` should be in secure memory; the caller wipes
 * it). The source's messages are signed with it (proto_source_message).
 * Return 0, or -1 (`sk` wiped).
 */
int receipt_source_sign_key(const struct receipt_pepper *p, const char digits[RECEIPT_DIGITS],
                            uint8_t pk[RECEIPT_SIGN_PK_LEN], uint8_t sk[RECEIPT_SIGN_SK_LEN])
	__attribute__((warn_unused_result));

/*
 * Derive the key with which tipd hosts share their pending sets through
 * the database (server/tipd/source/inbox_share.h) into `key` (32 bytes; the
 * caller wipes it): BLAKE2b-256 keyed with the pepper, personalized
 * "tipline-pshare01", over no input. Return 0, or -1.
 */
int receipt_share_key(const struct receipt_pepper *p, uint8_t key[32])
	__attribute__((warn_unused_result));

#endif
