/*
 * report: what tipctl checks and does with a decrypted report or
 * attachment (docs/crypto.md §4 "Context line and manifest", §5 "Padding")
 * before anything of it reaches the investigator's terminal or disk.
 *
 * A report's plaintext is "tipline/v1 report <id> <id>\n" then JSON
 * {"team", "language", "received_on", "source_recipient", "answers",
 * "attachments": [{"uuid", "name", "content_type", "size", "padded_size",
 * "sha256"}]} padded with trailing spaces. "source_recipient" is the age
 * recipient tipd derived from the receipt at submission: the only key a
 * reply may be sealed to besides the team's (docs/threat-model.md §5).
 * "source_signing_key" (base64, reports sealed since messages are signed)
 * is the source's Ed25519 public key, derived from the receipt as well: a
 * message "from the source" must carry a signature under it
 * (report_message_signed). An attachment's is "tipline/v1 attachment <aid>
 * <id>\n" then the file, then zero bytes up to its padded size.
 *
 * Everything in a report was written by an anonymous source and may be
 * hostile: text is made terminal-safe before printing and file names are
 * sanitized before use.
 */
#ifndef TIPCTL_REPORT_H
#define TIPCTL_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define REPORT_NAME_MAX 200   /* longest sanitized file name, in bytes */
#define REPORT_SUFFIX_MAX 999 /* most "-N" suffixes tried on a name collision */

enum report_check {
	REPORT_OK = 0,
	REPORT_ERR_CONTEXT = -1, /* the context line names another object or kind */
	REPORT_ERR_FORMAT = -2,  /* not JSON / a malformed manifest */
	REPORT_ERR_SIZE = -3,    /* shorter than the manifest's size */
	REPORT_ERR_PADDING = -4, /* non-zero bytes after the true size */
	REPORT_ERR_HASH = -5     /* the SHA-256 differs from the manifest's */
};

/* One attachment as the report's manifest describes it. */
struct report_att {
	char id[37];
	const char *name; /* borrowed from the report document */
	const char *content_type;
	uint64_t size;
	uint8_t sha256[32];
};

/* Return a short English description of an enum report_check. */
const char *report_strerror(int r);

/*
 * Check that the `n` bytes at `pt` begin with "tipline/v1 KIND OID RID\n";
 * on REPORT_OK store its length in *skip. Return REPORT_OK or REPORT_ERR_CONTEXT.
 */
int report_check_context(const uint8_t *pt, size_t n, const char *kind, const char *oid,
                         const char *rid, size_t *skip) __attribute__((warn_unused_result));

/*
 * Check the context line of the decrypted report `rid` and parse the JSON
 * after it (trailing spaces allowed, duplicate keys refused) into *doc
 * (caller json_decref()s). Return REPORT_OK, REPORT_ERR_CONTEXT or
 * REPORT_ERR_FORMAT.
 */
int report_open(const uint8_t *pt, size_t n, const char *rid, json_t **doc)
	__attribute__((warn_unused_result));

/*
 * Read entry `i` of the report's manifest into `a` (strings borrowed from
 * `doc`). Return REPORT_OK, or REPORT_ERR_FORMAT if it is missing or
 * malformed (uuid, name string, size integer >= 0, sha256 64 hex).
 */
int report_manifest_get(json_t *doc, size_t i, struct report_att *a)
	__attribute__((warn_unused_result));
/* Return the number of manifest entries (0 if there is no array). */
size_t report_manifest_count(json_t *doc);

/*
 * Read the "source_recipient" sealed in the report `doc` (an "age1..."
 * string) into `pk`. Return REPORT_OK, or REPORT_ERR_FORMAT if it is
 * missing (a report sealed before tipd put it there) or not a valid
 * X25519 recipient.
 */
int report_source_key(json_t *doc, uint8_t pk[32]) __attribute__((warn_unused_result));

/* What report_message_signed found. */
enum report_msg_sig {
	REPORT_MSG_VERIFIED = 0,     /* signed with the source key sealed in the report */
	REPORT_MSG_UNSIGNED_OLD = 1, /* the report has no source key (sealed before they existed) */
	REPORT_MSG_FORGED = -1       /* the report has a key, the signature is missing or wrong */
};

/* Append the entries of the "attachments" array of `doc` (a decrypted report
 * or message; none is fine) to the "attachments" array of `files`, so one
 * list holds a case's files: the report's, then each message's. Return 0,
 * or -1 (out of memory, or `files` has no such array). */
int report_files_add(json_t *files, json_t *doc) __attribute__((warn_unused_result));
/* A new list {"attachments": [...]} holding the files of the decrypted
 * report `doc`, for report_files_add to extend with its messages'. NULL if
 * out of memory. Caller frees with json_decref. */
json_t *report_files_new(json_t *doc);

#define REPORT_MSG_MAX_FILES 20 /* files tipd takes with one message */

/*
 * Check the source's signature on message `mid` of report `rid`: `report`
 * is the decrypted report document, `msg` the decrypted message document
 * {"text", "sent_on", "signature"[, "attachments"]}. The signature (base64)
 * must verify under the report's "source_signing_key" over
 * proto_source_message(mid, rid, text, files), where the files are the
 * message's "attachments" entries (uuid, size, sha256), so a file cannot be
 * added to, dropped from or swapped in a signed message. Return an enum
 * report_msg_sig.
 */
int report_message_signed(json_t *report, json_t *msg, const char *mid, const char *rid)
	__attribute__((warn_unused_result));

/*
 * Append to `out` the JSON of the decrypted report `rid` (`n` bytes at
 * `pt`): the bytes after its context line without the trailing padding
 * spaces. Return 0, or -1 if the context line is wrong or `out` is full.
 */
int report_json_bytes(const uint8_t *pt, size_t n, const char *rid, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Check the decrypted attachment (`n` bytes) of `a` in report `rid`:
 * context line, at least a->size bytes, only zero bytes after them, the
 * SHA-256 of the first a->size bytes. On REPORT_OK store where the file
 * starts in *off. Return REPORT_OK or the first failing check.
 */
int report_attachment_check(const uint8_t *pt, size_t n, const struct report_att *a,
                            const char *rid, size_t *off) __attribute__((warn_unused_result));

/*
 * Append to `out` a safe file name for the source's `name`: its last path
 * component, without control, format or bidi characters, invalid UTF-8
 * (made '_'), leading dots, dashes and spaces, or trailing dots and spaces,
 * at most REPORT_NAME_MAX bytes (keeping a short extension), and
 * "attachment" if nothing is left. Return 0, or -1 if `out` is full.
 */
int report_sanitize_name(const char *name, struct buf *out) __attribute__((warn_unused_result));

/*
 * Write `n` bytes at `p` to `fd`, a file just created as `name` in directory
 * `dirfd`, fsync and close it. Return 0, or -1 with errno set after
 * removing the file again (fd is closed either way).
 */
int report_fill_new(int dirfd, const char *name, int fd, const void *p, size_t n)
	__attribute__((warn_unused_result));

/*
 * Write `n` bytes to a new file named `name` in directory `dirfd`
 * (O_EXCL, O_NOFOLLOW, mode 0600, fsync'd); if the name is taken, try
 * "stem-1.ext", "stem-2.ext", ... up to REPORT_SUFFIX_MAX. Store the name
 * used in `chosen`. Return 0, or -1 with errno set (nothing left behind).
 */
int report_write_unique(int dirfd, const char *name, const uint8_t *p, size_t n,
                        struct buf *chosen) __attribute__((warn_unused_result));

/*
 * Append `n` bytes of untrusted text to `out` so that a terminal shows it
 * without obeying it: control characters (keeping newline and tab if
 * `multiline`, else making them spaces), bidi embeddings, overrides and
 * isolates and invalid UTF-8 become U+FFFD. Return 0, or -1 if `out` is full.
 */
int report_term_safe(const char *s, size_t n, int multiline, struct buf *out)
	__attribute__((warn_unused_result));

#endif
