/*
 * Shared bits of the integration tests: a valid set of answers for the
 * shipped questionnaire, and helpers to submit and to decrypt what was stored.
 */
#ifndef TIPLINE_IT_COMMON_H
#define TIPLINE_IT_COMMON_H

#include <jansson.h>

#include "harness.h"

#define IT_ANSWERS                                                                              \
	"{\"what_happened\":\"They took our passports and we work without pay.\","          \
	"\"exploitation\":[\"labour\",\"debt_bondage\"],\"where\":\"A farm near the river\","  \
	"\"when\":\"Since March\",\"who_involved\":\"The farm manager and his brother\","              \
	"\"affected_person\":\"me\",\"safe_now\":\"no\"}"

/* POST `body` as application/json to the plain source listener (tls = 0) or
 * the TLS one (tls = 1). Return the HTTP status; the answer goes in `resp`. */
int it_post_json(struct th *t, int tls, const char *body, struct buf *resp);
/* Check `resp` is {"receipt": "ddddd-…"} with a valid check digit. */
void it_assert_receipt(const struct buf *resp);
/* The id of the only report in the database (asserts there is exactly one). */
void it_only_report(struct th *t, char id[37]);
/* Decrypt report `id` with `age -d`, check its context line, and return the
 * JSON document after it (caller json_decref()s). */
json_t *it_open_report(struct th *t, const char *id);
/* Assert that no report was stored: nothing in the spool, nothing in PostgreSQL
 * after a flush interval has passed. */
void it_assert_nothing_stored(struct th *t);

struct note_signer;
/* Decrypt the harness's admin key (t->admin_key, TH_PASSPHRASE). Return its
 * note signer (for membership statements; caller note_signer_free()s) and
 * write its Ed25519 secret key, libsodium form (seed || pk), into `sk`. */
struct note_signer *it_admin_signer(struct th *t, uint8_t sk[64]);
/* Log in to the review API with Ed25519 key `sk` (libsodium form) the way
 * tipctl does. Return the HTTP status; on 200 the token goes into `token`. */
int it_login_sk(struct th *t, const uint8_t sk[64], char token[64]);
/* Log in with the harness's admin key; assert 200 and role "admin". */
void it_admin_login(struct th *t, char token[64]);

/* Read file `path` into `b` (reset first; at most 4 MiB). Assert that the
 * file exists and fits in `b`. */
void it_slurp(const char *path, struct buf *b);
/* Run argv (NULL-terminated; argv[0] a path, no PATH search) in its own
 * session, so it has no controlling terminal and a passphrase prompt cannot
 * hang; stdin from the file `in` (NULL: /dev/null); TIPLINE_HOME=`home`
 * unless NULL (then the child inherits the test's environment). stdout goes
 * into `out` and stderr into `err` (each reset first, through files in
 * t->dir; NULL: not read back). Return the exit status (127 if argv[0] could
 * not be run), or -1 if the child did not exit normally. */
int it_exec(struct th *t, const char *home, const char *in, char *const argv[], struct buf *out,
            struct buf *err);
/* Run the real tipctl (t->tipctl_bin) with the NULL-terminated arguments
 * `first`, ... (at most 38), as it_exec() does. Return its exit status. */
int it_tipctl(struct th *t, const char *home, const char *in, struct buf *out, struct buf *err,
              const char *first, ...);

/* Log the demo investigator's tipctl in to the review listener (its pinned
 * TLS key, the harness's admin key pinned) with tipctl's state in `home`
 * (NULL: the harness's default). Asserts success. */
void it_tipctl_login(struct th *t, const char *home);

/* Write `n` bytes at `p` to a new or truncated file `path` (mode 0600). */
void it_write_file(const char *path, const void *p, size_t n);

/* Submit a report (IT_ANSWERS) with one small attachment to team demo over
 * the plain source listener, wait until it is in PostgreSQL (the only report
 * there) and fill its id and the attachment's. */
void it_submit_with_attachment(struct th *t, char report[37], char attachment[37]);

/* Make investigator bob (identity file path into `bob_identity`, `n` bytes,
 * passphrase TH_PASSPHRASE) and a team "other" whose only member he is,
 * loaded with `tipd membership add`. */
void it_make_other_team(struct th *t, char *bob_identity, size_t n);

/* Base64 (standard alphabet, padded) of `n` bytes; caller frees. */
char *it_b64(const void *p, size_t n);

/* Assert that every stored audit subtree node is SHA-256(0x01 || left ||
 * right) of its children, and that there are as many as the log's complete
 * subtrees. */
void it_assert_audit_nodes(struct th *t);
/* A fresh age header (one X25519 stanza to the 32-byte key `x25519_pk`, for
 * a new file key) in base64; caller frees. */
char *it_header_b64(const uint8_t *x25519_pk);
/* The JSON body of POST /api/v1/reports/{id}/notes or /replies (`kind`
 * "note" or "reply") for `report`: a fresh id, 1,056 random payload bytes, one
 * header for `recipient` (whose X25519 key is `x25519_pk`), and an Ed25519
 * signature by `sk` (libsodium form) over the object's signed layout, or
 * random bytes if `sk` is NULL. Caller frees. */
char *it_sealed_body(const char *report, const char *kind, const uint8_t *sk,
                     const char *recipient, const uint8_t *x25519_pk);
/* The JSON body of POST /api/v1/reports/{id}/headers adding a fresh header
 * for `recipient` on object `object`. Caller frees. */
char *it_headers_body(const char *object, const char *recipient, const uint8_t *x25519_pk);

/* POST `json` to `path` on a fresh connection to 127.0.0.1:`port`
 * ("Connection: close"). Return the HTTP status, 0 if no answer came
 * (connection cut), or -1 if the request could not be written whole. The
 * body goes into `body` (NUL-ended). Thread-safe: no Criterion assertions,
 * so client threads may call it. */
int it_http_post(int port, const char *path, const char *json, char *body, size_t cap);
/* The receipt of a 201 answer's body, normalized to digits (RECEIPT_DIGITS
 * of them); 0, or -1 if none. Thread-safe. */
int it_receipt_of_body(const char *body, char *digits);

#endif
