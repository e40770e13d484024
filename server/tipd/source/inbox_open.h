/*
 * inbox_open: the pure parts of the source's inbox (inbox.h): parsing a
 * request body and opening one sealed reply with the source's key.
 *
 * Nothing here touches the network or the database, so the unit tests and
 * the fuzzer drive it directly.
 */
#ifndef TIPD_INBOX_OPEN_H
#define TIPD_INBOX_OPEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "receipt.h"

#define INBOX_MAX_BODY 4096             /* /inbox and /inbox/forget bodies */
#define INBOX_MAX_MESSAGE_BODY 262144   /* /inbox/messages (text escaped in JSON) */
#define INBOX_MAX_TEXT 32768            /* a source's message, UTF-8 bytes */
#define INBOX_MAX_FILES 20              /* files sent with one message (as with a report) */
#define INBOX_MAX_REPLY_PT (1u << 20)   /* plaintext of one reply, context line included */
#define INBOX_MAX_REPLY_TEXT 65536      /* the "text" shown to the source */

enum inbox_parse {
	INBOX_PARSE_OK = 0,
	INBOX_PARSE_JSON = -1,    /* not a JSON object of the expected shape */
	INBOX_PARSE_RECEIPT = -2, /* the receipt is not 30 digits and separators */
	INBOX_PARSE_TYPO = -3,    /* 30 digits, but the check digit is wrong */
	INBOX_PARSE_TEXT = -4     /* the message text is empty or too long */
};

/*
 * Parse the `n` bytes at `p`: a JSON object with a string "receipt" and,
 * when `want_text`, a string "text" (no other member). Store the
 * normalized receipt in `digits` and append the text to `text` (secure; may
 * be NULL when !want_text). Return an enum inbox_parse; `digits` is wiped
 * unless INBOX_PARSE_OK.
 */
enum inbox_parse inbox_parse_body(const uint8_t *p, size_t n, bool want_text,
                                  char digits[RECEIPT_DIGITS], struct buf *text)
	__attribute__((warn_unused_result));

/* A reply as stored (borrowed bytes). */
struct inbox_reply {
	const char *id;          /* reply uuid, canonical text */
	const char *report_id;   /* report uuid, canonical text */
	const uint8_t *header;   /* the source's age header */
	size_t header_len;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *author;   /* Ed25519 public key, 32 bytes */
	size_t author_len;
	const uint8_t *signature; /* 64 bytes */
	size_t signature_len;
};

/*
 * Open reply `rp` for the source with the X25519 secret key at `sk`: check that
 * its author is one of the `nmembers` Ed25519 keys in `members` and that
 * the signature over "tipline/v1/reply\n<id>\n<report>\n<hex SHA-256 of the
 * payload>\n" verifies, decrypt it (in secure memory), check the context
 * line "tipline/v1 reply <id> <report>\n" and append the JSON "text" to
 * `text` (a secure buf). Return 0, or -1 (nothing appended).
 */
int inbox_open_reply(const struct inbox_reply *rp, const uint8_t (*sk)[32],
                     const uint8_t (*members)[32], size_t nmembers, struct buf *text)
	__attribute__((warn_unused_result));

/* Append the plaintext of a source's message (after its context line):
 * {"text": …, "sent_on": date} padded with spaces. Return 0 or -1. */
int inbox_message_json(const char *text, size_t len, const char *date, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Append the plaintext of the source's message `mid` of report `rid` (after
 * its context line): {"text": …, "sent_on": date, "signature": base64}
 * padded with spaces, where the signature is the source's Ed25519
 * signature with `sk` (receipt_source_sign_key) over
 * proto_source_message(mid, rid, text). Return 0 or -1.
 */
int inbox_message_json_signed(const char *text, size_t len, const char *date, const char *mid,
                              const char *rid, const uint8_t sk[RECEIPT_SIGN_SK_LEN],
                              struct buf *out) __attribute__((warn_unused_result));
/* The same for a message sent with files: `manifest` is the JSON array of
 * their entries (seal_file.h; NULL or empty: none, as above), kept in the
 * message as "attachments", and the signature covers every file's uuid,
 * size and SHA-256 (proto_source_message). At most INBOX_MAX_FILES files.
 * Return 0 or -1. */
int inbox_message_json_files(const char *text, size_t len, const char *date, const char *mid,
                             const char *rid, const uint8_t sk[RECEIPT_SIGN_SK_LEN],
                             json_t *manifest, struct buf *out)
	__attribute__((warn_unused_result));

#endif
