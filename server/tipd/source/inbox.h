/*
 * inbox: the source's inbox on the SOURCE listener (docs/api.md).
 *
 *   POST /api/v1/inbox           {"receipt"}         → 200 {"replies": [{"id","sent_on","text"}]}
 *   POST /api/v1/inbox/messages  {"receipt","text"}  → 201 {"status": "sent"}
 *   POST /api/v1/inbox/forget    {"receipt"}         → 204 (409 while still in the spool)
 *
 * A message to a report still in the spool counts against [limits]
 * pending_messages_max; beyond it the answer is 429 INBOX_PENDING_FULL.
 * Forgetting is spooled and flushed like a message (no commit when the
 * source acts); from its 204 on the receipt answers 404.
 *
 * A receipt is normalized, then its lookup id and the source's X25519 key
 * pair are derived with the pepper (receipt.h). Replies are decrypted here
 * with the derived key, in locked memory, and shown only if their context
 * line names them and their author, a current member of the report's team,
 * signed them. An unknown or forgotten receipt answers 404 with one fixed
 * body; every answer waits until INBOX_MIN_DELAY_MS after the request was
 * complete (on a timer, never sleeping on the loop). A receipt whose report
 * is still in the spool answers "pending" (the pending set below).
 * Failed receipt attempts are limited per Tor circuit and overall (429).
 */
#ifndef TIPD_INBOX_H
#define TIPD_INBOX_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct db;
struct spool_txn;
struct team_keys;
struct inbox;
struct spool;
struct http_request;
struct http_handler;

#define INBOX_MIN_DELAY_MS 250
#define INBOX_FAIL_PER_CIRCUIT 10
#define INBOX_FAIL_TOTAL 600
#define INBOX_FAIL_WINDOW 60
#define INBOX_PENDING_MAX 1000000
#define INBOX_STARTING_RETRY_S 30 /* Retry-After while the pending set is rebuilt */
#define INBOX_MAX_REPLIES 100
#define INBOX_NOT_FOUND "nothing was found for this receipt"
#define INBOX_PENDING_FULL                                                                      \
	"your report is still on its way to the team and cannot take more messages until "     \
	"it arrives; please try again later"

/* Build the inbox state: the current members' signing keys of every team
 * (from STATE_DIR/membership-heads, verified against the pinned admin keys
 * and used only at the sequence teams.c holds), the limiter and an empty
 * pending set. Call after teams_load(). NULL and a message in `err` on
 * error. Caller frees with inbox_free. */
struct inbox *inbox_new(struct app *app, char *err, size_t errlen);
void inbox_free(struct inbox *ib);

/* Add every INBOX and FORGET record of the committed spool files to the
 * pending set (start-up, before the flusher starts; intake and the inbox may
 * serve meanwhile, the inbox answering 503 until it is done). Give up once
 * `stop` (may be NULL) is true. Return the number added, or -1. */
int inbox_pending_rebuild(struct inbox *ib, struct spool *spool, const atomic_bool *stop);
/* Remember a spooled report's lookup id (and its report uuid and team, for
 * messages sent before it is flushed). Thread-safe. Return 0 or -1 (out of
 * memory, or the set holds INBOX_PENDING_MAX ids: logged once until it has
 * room again, never per call, so the log records no submission times). */
int inbox_pending_add(struct inbox *ib, const uint8_t lookup_id[32], const char *report_uuid,
                      const char *team);
/* Forget a lookup id (flushed, or its commit failed; also a flushed
 * "forget" record's id). Thread-safe; NULL ib is fine. */
void inbox_pending_drop(struct inbox *ib, const uint8_t lookup_id[32]);
/* The flusher's callback (flusher_set_flushed_cb): `arg` is the inbox. */
void inbox_pending_flushed(const uint8_t lookup_id[32], void *arg);
/* Write up to `max` entries of the pending set at `out` (ISHARE_ENTRY bytes
 * each, inbox_share.h), for the other hosts. Return how many. Thread-safe. */
size_t inbox_pending_export(struct inbox *ib, uint8_t *out, size_t max);
/* Number of pending lookup ids. */
size_t inbox_pending_count(struct inbox *ib);

/* The source pages' view of an inbox answer: the status and body the JSON
 * API would send (200 {"replies"…} or {"status":"pending"…}, 201, 204,
 * problem+json), after the same checks, limits and minimum delay, and the
 * report uuid and team the receipt opened (NULL when none was found). It
 * must answer `req` itself and free `arg`; everything is valid during the
 * call only. */
typedef void (*inbox_view_fn)(void *arg, struct http_request *req, int status,
                              const uint8_t *body, size_t len, const char *report,
                              const char *team);

/* Files the pages sealed, as they arrived, for a message to report `report`
 * of `team` (what the inbox cookie says the receipt opened): the spool
 * submission begun for that report on day `date`, holding only the files,
 * the team's keys they are sealed to, and their manifest (seal_file.h).
 * The message is added to that submission and sealed to the same keys. */
struct inbox_files {
	struct spool_txn *txn;
	const struct team_keys *keys;
	json_t *manifest;
	char report[37];
	char team[64];
	char date[11];
};

/* What the pages ask of the inbox (the API's three routes). */
enum inbox_op { INBOX_OP_READ, INBOX_OP_MESSAGE, INBOX_OP_FORGET };

/* Run `op` for a complete request of the pages with `len` bytes of the
 * API's JSON body ({"receipt"} or {"receipt","text"}); `view` answers.
 * Return 0, or -1 if nothing started (the caller answers). */
int inbox_run_json(struct http_request *req, struct app *app, struct db *db, enum inbox_op op,
                   const uint8_t *body, size_t len, inbox_view_fn view, void *arg);
/* Same for INBOX_OP_MESSAGE (with `len` bytes of checked UTF-8 `text`, and
 * `files` or NULL) or INBOX_OP_FORGET on the inbox whose lookup id `id` and
 * signing-key `seed` the inbox cookie held (a message is signed with it, as
 * one sent with the receipt; the caller wipes its copy). The inbox takes
 * what `files` holds in every case (its fields are cleared); if the receipt
 * no longer opens `files->report`, the files are dropped, never stored. */
int inbox_run_id(struct http_request *req, struct app *app, struct db *db, enum inbox_op op,
                 const uint8_t id[32], const uint8_t seed[32], const char *text, size_t len,
                 struct inbox_files *files, inbox_view_fn view, void *arg);

/* Route POST /api/v1/inbox, /inbox/messages, /inbox/forget (`path`):
 * return the handler, or answer (405, 413, 415, 503) and return NULL. The
 * request's queries go through `db`, its event loop's own connection (as
 * for inbox_run_json and inbox_run_id). */
const struct http_handler *inbox_route(struct http_request *req, struct app *app, struct db *db,
                                       const char *path);

#endif
