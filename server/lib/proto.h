/*
 * proto: the byte strings that tipd and tipctl must build alike, written
 * once (docs/crypto.md §4, §10, §11). Every Ed25519 signature in Tipline
 * covers one of these layouts, each starting with its own purpose line, so
 * a signature made for one purpose never verifies for another:
 *
 *   context line   "tipline/v1 <kind> <object uuid> <report uuid>\n"
 *                  (first line of every sealed plaintext)
 *   login          "tipline/v1/login\n<origin>\n<tls hex>\n<nonce>\n<time>\n"
 *   reply, note    "tipline/v1/<reply|note>\n<object uuid>\n<report uuid>\n
 *                   <hex SHA-256 of the age payload>\n"
 *   source message "tipline/v1/source-message\n<context line of the message>
 *                   <hex SHA-256 of the message text>\n"
 *                  then, for each file sent with it, in the message's order,
 *                  "attachment <uuid> <size> <hex SHA-256 of the file>\n"
 *
 * The enrollment message lives in invite.h, membership statements in
 * membership.h. This module also holds the one strict UTF-8 decoder of the
 * project. Nothing here allocates but the `struct buf` it appends to.
 */
#ifndef TIPLINE_PROTO_H
#define TIPLINE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PROTO_CONTEXT_MAX 128 /* room for the longest context line and a NUL */
#define PROTO_SOURCE_MESSAGE_PURPOSE "tipline/v1/source-message"

/* Return 1 if `kind` names a kind of sealed object (report, attachment,
 * message, reply, note), else 0. */
int proto_kind_valid(const char *kind);

/*
 * Write the context line "tipline/v1 <kind> <oid> <rid>\n" and a NUL into
 * `out` (`outlen` bytes). Return its length without the NUL, or -1 if
 * `kind` is not a kind of sealed object, an id is not a lower-case
 * canonical uuid, or `out` is too small.
 */
int proto_context_line(const char *kind, const char *oid, const char *rid, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/*
 * Check that the `n` bytes at `pt` begin with the context line of
 * (`kind`, `oid`, `rid`); on success store its length in *skip and return
 * 0, else return -1.
 */
int proto_context_check(const uint8_t *pt, size_t n, const char *kind, const char *oid,
                        const char *rid, size_t *skip) __attribute__((warn_unused_result));

/*
 * Append the login message to `out`. Return 0, or -1 if a field is empty
 * or holds a control character (a newline among them), `t` is negative, or
 * `out` is full.
 */
int proto_login_message(const char *origin, const char *tls_hex, const char *nonce, int64_t t,
                        struct buf *out) __attribute__((warn_unused_result));

/*
 * Append the message both keys of a key rotation request sign (docs/crypto.md
 * §8 "Rotate"): "tipline/v1/rotate\n<origin>\n<tls_hex>\n<name>\n<old Ed25519,
 * base64>\n<new age recipient>\n<new Ed25519, base64>\n". The old key
 * signs that its holder asks for the new one; the new key proves possession.
 * Return 0, or -1 if a field is empty or holds a control character, or
 * `out` is full.
 */
int proto_rotate_message(const char *origin, const char *tls_hex, const char *name,
                         const uint8_t old_ed25519[32], const char *new_recipient,
                         const uint8_t new_ed25519[32], struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Append the message a reply or note signature covers to `out`: `kind` is
 * "reply" or "note", `payload` the `n` bytes of the object's age payload.
 * Return 0, or -1 if `kind` or an id is invalid or `out` is full.
 */
int proto_sealed_sig_message(const char *kind, const char *oid, const char *rid,
                             const uint8_t *payload, size_t n, struct buf *out)
	__attribute__((warn_unused_result));

/* A file sent with a source's message, as its signature covers it. */
struct proto_file {
	const char *uuid;    /* the attachment object's uuid */
	uint64_t size;       /* bytes before padding */
	uint8_t sha256[32];  /* of those bytes */
};

/*
 * Append the message a source's signature on its message `mid` of report
 * `rid` covers to `out`: the purpose line, the message's context line, the
 * hex SHA-256 of the `n` bytes of its text, and one line for each of the
 * `nfiles` files sent with it (none: the bytes of a text-only message).
 * Return 0, or -1 if an id is invalid or `out` is full.
 */
int proto_source_message(const char *mid, const char *rid, const uint8_t *text, size_t n,
                         const struct proto_file *files, size_t nfiles, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Decode one UTF-8 sequence at `p` (`n` > 0 bytes available) strictly:
 * store the code point in *cp and return its length (1 to 4), or return 0
 * if it is malformed, truncated, overlong, a surrogate or past U+10FFFF.
 */
size_t proto_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);

/* Return 1 if the `n` bytes at `p` are strictly valid UTF-8 (as
 * proto_utf8_next decodes it), else 0. */
int proto_utf8_valid(const uint8_t *p, size_t n);

#define PROTO_KEY_CHECK_LEN 32
/*
 * The check value of secret `name` (e.g. "nonce"): BLAKE2b-256 keyed with
 * the `keylen` bytes at `key` (16 to 64) of "tipline/v1/key-check <name>".
 * Hosts of one deployment compare it to tell that they hold the same secret
 * (store/hostkeys.h) without showing anyone the secret. Return 0, or -1.
 */
int proto_key_check(const uint8_t *key, size_t keylen, const char *name,
                    uint8_t out[PROTO_KEY_CHECK_LEN]) __attribute__((warn_unused_result));

#endif
