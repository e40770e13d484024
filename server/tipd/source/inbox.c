#include "inbox.h"

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "age.h"
#include "app.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "inbox_open.h"
#include "inbox_pending.h"
#include "inbox_share.h"
#include "limiter.h"
#include "log.h"
#include "membership.h"
#include "note.h"
#include "once.h"
#include "receipt.h"
#include "seal.h"
#include "spool.h"
#include "teams.h"
#include "util.h"

/* Replies whose problem was logged (once each: a source's every visit
 * must not leave a time-stamped line). */
#define INBOX_WARNED_MAX 4096

struct inbox {
	struct app *app;
	struct limiter *limiter;
	struct pending_set *pending;
	struct once *warned; /* reply ids already logged as not opening */
};

/* ---- the pending set (inbox_pending.c) ---- */

int
inbox_pending_add(struct inbox *ib, const uint8_t lookup_id[32], const char *report_uuid,
                  const char *team)
{
	return pending_put(ib->pending, lookup_id, report_uuid, team, false, false);
}

void
inbox_pending_drop(struct inbox *ib, const uint8_t lookup_id[32])
{
	if (ib != NULL)
		pending_drop(ib->pending, lookup_id);
}

void
inbox_pending_flushed(const uint8_t lookup_id[32], void *arg)
{
	inbox_pending_drop(arg, lookup_id);
}

size_t
inbox_pending_export(struct inbox *ib, uint8_t *out, size_t max)
{
	return pending_export(ib->pending, out, max);
}

size_t
inbox_pending_count(struct inbox *ib)
{
	return pending_count(ib->pending);
}

int
inbox_pending_rebuild(struct inbox *ib, struct spool *spool, const atomic_bool *stop)
{
	return pending_rebuild(ib->pending, spool, stop);
}

/* ---- members ---- */

/* The signing keys of `team`'s current members (from the current verified
 * membership) into a malloc'd array. */
static uint8_t (*team_signers(const struct inbox *ib, const char *team, size_t *n))[32]
{
	const struct teams_view *tv = teams_view_get(ib->app->teams);
	const struct membership *m = teams_view_team(tv, team);
	size_t count = m != NULL ? membership_count(m) : 0;
	uint8_t (*v)[32] = malloc((count + 1) * 32);
	*n = 0;
	for (size_t i = 0; v != NULL && i < count; i++)
		memcpy(v[(*n)++], membership_member_at(m, i)->ed25519_pk, 32);
	teams_view_release(tv);
	return v;
}

struct inbox *
inbox_new(struct app *app, char *err, size_t errlen)
{
	struct inbox *ib = calloc(1, sizeof(*ib));
	if (ib == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ib->app = app;
	ib->pending = pending_new(INBOX_PENDING_MAX);
	ib->limiter = limiter_new(INBOX_FAIL_PER_CIRCUIT, INBOX_FAIL_TOTAL, INBOX_FAIL_WINDOW);
	ib->warned = once_new(INBOX_WARNED_MAX);
	if (ib->pending == NULL || ib->limiter == NULL || ib->warned == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return ib;
fail:
	inbox_free(ib);
	return NULL;
}

void
inbox_free(struct inbox *ib)
{
	if (ib == NULL)
		return;
	pending_free(ib->pending);
	limiter_free(ib->limiter);
	once_free(ib->warned);
	free(ib);
}

/* ---- requests ---- */

enum ib_route { IB_READ, IB_MESSAGE, IB_FORGET };

/* Key material of one request, in locked memory (sodium_malloc). */
struct ib_keys {
	char digits[RECEIPT_DIGITS];
	uint8_t id[RECEIPT_ID_LEN];
	uint8_t pk[RECEIPT_KEY_LEN];
	uint8_t sk[RECEIPT_KEY_LEN];
	uint8_t sign_pk[RECEIPT_SIGN_PK_LEN]; /* messages only: the source's signing key */
	uint8_t sign_sk[RECEIPT_SIGN_SK_LEN];
};

struct ib_req;
typedef void (*ib_row_cb)(struct ib_req *r, const PGresult *res);
typedef void (*ib_step)(struct ib_req *r);

struct ib_req {
	struct app *app;
	struct inbox *ib;
	struct http_request *req;
	enum ib_route route;
	struct buf body;     /* secure: holds the receipt */
	struct buf text;     /* secure: a message's text */
	struct ib_keys *k;
	char recipient[AGE_RECIPIENT_STR_MAX];
	uint8_t circuit[32];
	bool has_circuit;
	bool started;
	bool found;
	char report[37];
	char team[64];
	json_t *replies;
	json_t *sent;        /* the days of the source's own messages */
	/* the query in flight */
	struct db_step step;
	ib_row_cb row;
	ib_step next;
	/* the answer, held until the deadline */
	struct timespec deadline;
	struct event *timer;
	int status;
	const char *ctype;
	char extra[64];
	struct buf answer;   /* secure: may hold reply text */
	bool counted;
	bool msg_slot;       /* holds one of a pending report's message slots */
	bool peer_slot;      /* the same for a report pending on another host */
	bool forget_held;    /* holds the receipt's "forgotten" entry in the pending set */
	/* the source pages (inbox_run_json, inbox_run_id) */
	inbox_view_fn view;
	void *view_arg;
	bool by_id;          /* the lookup id came from the inbox cookie */
	struct inbox_files files; /* a message's files, sealed already (or all NULL) */
};

/* Drop what `f` holds (an unstored submission is removed). */
static void
files_drop(struct inbox_files *f)
{
	spool_abort(f->txn);
	if (f->keys != NULL)
		team_keys_release(f->keys);
	json_decref(f->manifest);
	memset(f, 0, sizeof(*f));
}

static void
ib_req_free(struct ib_req *r)
{
	if (r == NULL)
		return;
	buf_free(&r->body);
	buf_free(&r->text);
	buf_free(&r->answer);
	json_decref(r->replies);
	json_decref(r->sent);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->counted)
		atomic_fetch_sub(&r->app->inflight, 1);
	if (r->msg_slot)
		pending_return_message(r->ib->pending, r->k->id);
	if (r->peer_slot)
		ishare_return_message(r->app->ishare, r->k->id);
	if (r->forget_held)
		inbox_pending_drop(r->ib, r->k->id);
	files_drop(&r->files);
	if (r->k != NULL)
		sodium_free(r->k);
	free(r);
}

static void
ib_send(struct ib_req *r)
{
	/* Detach first: answering an aborted request releases it. */
	http_request_set_data(r->req, NULL);
	if (r->view != NULL)
		r->view(r->view_arg, r->req, r->status, r->answer.data, r->answer.len,
		        r->report[0] != '\0' ? r->report : NULL, r->team[0] != '\0' ? r->team : NULL);
	else
		http_respond(r->req, r->status, r->ctype, r->answer.data, r->answer.len,
		             r->extra[0] != '\0' ? r->extra : NULL);
	ib_req_free(r);
}

static void
ib_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ib_send(arg);
}

/* Milliseconds from now until the request's deadline (0 if past). */
static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/* Answer `status` with `len` bytes of `body` (copied into secure memory)
 * once the request's deadline has passed, then free `r`. */
static void
ib_answer(struct ib_req *r, int status, const char *ctype, const char *body, size_t len)
{
	r->status = status;
	r->ctype = ctype;
	buf_reset(&r->answer);
	if (len > 0 && buf_add(&r->answer, body, len) != 0) {
		r->status = 500;
		r->ctype = NULL;
	}
	long ms = r->started ? ms_left(&r->deadline) : 0;
	if (ms > 0) {
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		r->timer = evtimer_new(http_request_base(r->req), ib_timer_cb, r);
		if (r->timer != NULL && evtimer_add(r->timer, &tv) == 0)
			return;
	}
	ib_send(r);
}

static void
ib_problem(struct ib_req *r, int status, const char *detail)
{
	json_t *doc = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title",
	                        http_status_text(status), "status", status, "detail", detail);
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (s == NULL) {
		ib_answer(r, 500, NULL, NULL, 0);
		return;
	}
	ib_answer(r, status, "application/problem+json", s, strlen(s));
	free(s);
}

/* Answer `doc` (stolen) as JSON; the text it holds is wiped when freed. */
static void
ib_json(struct ib_req *r, int status, json_t *doc)
{
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (s == NULL) {
		ib_problem(r, 500, "out of memory");
		return;
	}
	size_t n = strlen(s);
	ib_answer(r, status, "application/json", s, n);
	sodium_memzero(s, n);
	free(s);
}

/* Count a failed receipt attempt and answer the one 404 for all of them. */
static void
ib_not_found(struct ib_req *r)
{
	limiter_fail(r->ib->limiter, r->has_circuit ? r->circuit : NULL, time(NULL));
	ib_problem(r, 404, INBOX_NOT_FOUND);
}

/* ---- one query at a time on the request's loop ---- */

/* The step ended: run the next one, or answer 503 (database unavailable)
 * or 500 (a statement failed). */
static void
iq_done(void *arg, enum db_step_end end)
{
	struct ib_req *r = arg;
	ib_step next = r->next;
	r->next = NULL;
	r->row = NULL;
	if (end == DB_STEP_LOST) {
		snprintf(r->extra, sizeof(r->extra), "Retry-After: 5\r\n");
		ib_problem(r, 503, "the service is unavailable; please try again shortly");
	} else if (end == DB_STEP_FAILED || next == NULL) {
		ib_problem(r, 500, "the request could not be completed");
	} else {
		next(r);
	}
}

static void
iq_row(void *arg, unsigned i, const PGresult *res)
{
	struct ib_req *r = arg;
	(void)i;
	if (r->row != NULL)
		r->row(r, res);
}

/* Run one statement as a step of its own (store/db.h); `row` sees its
 * result if it succeeds, then `next` runs (or the request is answered
 * 503/500). */
static void
iq_run(struct ib_req *r, const char *sql, int n, const char *const *values, const int *lengths,
       const int *formats, ib_row_cb row, ib_step next)
{
	r->row = row;
	r->next = next;
	db_step_q(&r->step, sql, n, values, lengths, formats);
	db_step_run(&r->step);
}

/* ---- reading replies ---- */

static const char SQL_LOOKUP[] =
	"select i.report_id::text, r.team_id from inboxes i join reports r on r.id = i.report_id "
	"where i.lookup_id = $1";
static const char SQL_REPLIES[] =
	"select p.id::text, p.sent_on::text, p.author_ed25519, p.signature, p.payload, h.header "
	"from replies p join object_headers h on h.object_id = p.id and h.recipient = $2 "
	"where p.report_id = $1::uuid order by p.sent_on, p.id limit 100";
/* The source's own messages: sealed to the team only, so the inbox can show
 * no more than the day each was sent (docs/threat-model.md). */
static const char SQL_SENT[] =
	"select sent_on::text from messages where report_id = $1::uuid "
	"order by messages.sent_on, id limit 100";

static void
lookup_row(struct ib_req *r, const PGresult *res)
{
	if (PQntuples(res) != 1)
		return;
	snprintf(r->report, sizeof(r->report), "%s", PQgetvalue(res, 0, 0));
	snprintf(r->team, sizeof(r->team), "%s", PQgetvalue(res, 0, 1));
	r->found = true;
}

static void
lookup(struct ib_req *r, ib_step next)
{
	const char *v[1] = { (const char *)r->k->id };
	const int len[1] = { RECEIPT_ID_LEN }, fmt[1] = { 1 };
	iq_run(r, SQL_LOOKUP, 1, v, len, fmt, lookup_row, next);
}

/* Open one reply row; append {"id","sent_on","text"} if it is genuine. */
static void
reply_row(struct ib_req *r, const PGresult *res, int i, const uint8_t (*signers)[32], size_t ns)
{
	size_t n[4] = { 0, 0, 0, 0 };
	uint8_t *b[4] = { NULL, NULL, NULL, NULL };
	struct buf text;
	buf_init_secure(&text, INBOX_MAX_REPLY_TEXT);
	for (int c = 0; c < 4; c++)
		b[c] = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 2 + c), &n[c]);
	if (b[0] == NULL || b[1] == NULL || b[2] == NULL || b[3] == NULL)
		goto out;
	struct inbox_reply rp = {
		.id = PQgetvalue(res, i, 0), .report_id = r->report, .author = b[0],
		.author_len = n[0], .signature = b[1], .signature_len = n[1], .payload = b[2],
		.payload_len = n[2], .header = b[3], .header_len = n[3],
	};
	/* A reply that does not open, verify, or hold a non-empty UTF-8 text is
	 * skipped: the inbox keeps answering with the others. */
	json_t *e = NULL;
	if (inbox_open_reply(&rp, (const uint8_t(*)[32])&r->k->sk, signers, ns, &text) != 0 ||
	    text.len == 0 ||
	    (e = json_pack("{s:s, s:s, s:s%}", "id", rp.id, "sent_on", PQgetvalue(res, i, 1),
	                   "text", (const char *)text.data, text.len)) == NULL) {
		if (once_first(r->ib->warned, rp.id, strlen(rp.id)))
			log_warn("inbox: a reply does not open or verify for its source, or is empty; "
			         "not shown (logged once per reply)");
		goto out;
	}
	if (json_array_append_new(r->replies, e) != 0)
		db_step_mark_failed(&r->step);
out:
	for (int c = 0; c < 4; c++)
		if (b[c] != NULL)
			PQfreemem(b[c]);
	buf_free(&text);
}

static void
replies_rows(struct ib_req *r, const PGresult *res)
{
	size_t ns = 0;
	uint8_t (*signers)[32] = team_signers(r->ib, r->team, &ns);
	if (signers == NULL) {
		db_step_mark_failed(&r->step);
		return;
	}
	for (int i = 0; i < PQntuples(res) && !r->step.failed; i++)
		reply_row(r, res, i, (const uint8_t(*)[32])signers, ns);
	free(signers);
}

/* Keep the day of each message the source sent (oldest first). */
static void
sent_rows(struct ib_req *r, const PGresult *res)
{
	for (int i = 0; i < PQntuples(res) && !r->step.failed; i++)
		if (json_array_append_new(r->sent, json_pack("{s:s}", "sent_on",
		                                             PQgetvalue(res, i, 0))) != 0)
			db_step_mark_failed(&r->step);
}

static void ib_pending(struct ib_req *r, bool elsewhere);

/* Not in PostgreSQL: pending or forgotten on another host (inbox_share.h),
 * or the one 404. */
static void
ib_missing(struct ib_req *r)
{
	switch (ishare_find(r->app->ishare, r->k->id, r->report, r->team)) {
	case ISHARE_REPORT:
		ib_pending(r, true);
		return;
	default:
		ib_not_found(r);
		return;
	}
}

static void
read_done(struct ib_req *r)
{
	json_t *doc = json_pack("{s:O, s:O}", "replies", r->replies, "sent", r->sent);
	ib_json(r, 200, doc);
}

static void
read_replied(struct ib_req *r)
{
	const char *v[1] = { r->report };
	iq_run(r, SQL_SENT, 1, v, NULL, NULL, sent_rows, read_done);
}

static void
read_found(struct ib_req *r)
{
	if (!r->found) {
		ib_missing(r);
		return;
	}
	const char *v[2] = { r->report, r->recipient };
	iq_run(r, SQL_REPLIES, 2, v, NULL, NULL, replies_rows, read_replied);
}

/* ---- forgetting ---- */

/* Forgetting goes through the spool and the flusher's shuffled batch like
 * everything else a source sends, so no commit records when the source
 * acted; until it is flushed the pending set holds the receipt as
 * forgotten, and it answers 404 from the moment the source is told so. */

static void
forget_committed(int ok, void *arg)
{
	struct ib_req *r = arg;
	if (!ok) {
		ib_problem(r, 500, "the request could not be completed");
		return;
	}
	r->forget_held = false; /* the flusher drops it once the row is gone */
	ib_answer(r, 204, NULL, NULL, 0);
}

static void
forget_found(struct ib_req *r)
{
	char date[11];
	struct spool_txn *t = NULL;
	if (!r->found) {
		ib_missing(r);
		return;
	}
	if (r->app->draining) {
		ib_problem(r, 503, "the service is restarting; please try again shortly");
		return;
	}
	/* Held before the file can reach the flusher, so that its drop comes after. */
	if (pending_put(r->ib->pending, r->k->id, r->report, r->team, true, true) != 0) {
		ib_not_found(r); /* forgotten by a request running at the same time */
		return;
	}
	r->forget_held = true;
	util_today(date);
	if ((t = spool_begin(r->app->spool, r->report, r->team, date)) == NULL ||
	    spool_forget(t, r->k->id) != 0) {
		spool_abort(t);
		if (errno == ENOSPC || errno == EDQUOT)
			ib_problem(r, 503, "we cannot take requests right now; please try again later");
		else
			ib_problem(r, 500, "the request could not be completed");
		return;
	}
	r->counted = true;
	atomic_fetch_add(&r->app->inflight, 1);
	if (spool_commit(t, http_request_base(r->req), forget_committed, r) != 0)
		ib_problem(r, 500, "the request could not be completed");
}

/* ---- messages ---- */

static void
message_committed(int ok, void *arg)
{
	struct ib_req *r = arg;
	static const char body[] = "{\"status\":\"sent\"}";
	if (!ok) {
		ib_problem(r, 500, "could not store the message");
		return;
	}
	r->msg_slot = r->peer_slot = false; /* the message is in the spool: it keeps its slot */
	ib_answer(r, 201, "application/json", body, sizeof(body) - 1);
}

static int
message_store_fail(struct ib_req *r)
{
	if (errno == ENOSPC || errno == EDQUOT)
		ib_problem(r, 503, "we cannot take messages right now; please try again later");
	else
		ib_problem(r, 500, "could not store the message");
	return -1;
}

/* The submission and keys a message goes into: the pages' files' (if the
 * receipt still opens their report), or new ones. Return 0, or -1 after
 * answering. */
static int
message_txn(struct ib_req *r, struct spool_txn **t, const struct team_keys **tk, char date[11])
{
	if (r->files.txn != NULL) {
		if (strcmp(r->files.report, r->report) != 0 || strcmp(r->files.team, r->team) != 0) {
			ib_problem(r, 409, "this inbox changed; please open it again");
			return -1;
		}
		*t = r->files.txn;
		*tk = r->files.keys;
		memcpy(date, r->files.date, 11);
		r->files.txn = NULL;
		r->files.keys = NULL;
		return 0;
	}
	if ((*tk = teams_find(r->app->teams, r->team)) == NULL) {
		ib_problem(r, 503, "this team cannot take messages right now; please try again later");
		return -1;
	}
	util_today(date);
	if ((*t = spool_begin(r->app->spool, r->report, r->team, date)) == NULL)
		return message_store_fail(r);
	return 0;
}

/* Sign the message with the source's key (wiped at once), seal it to the
 * team only, with the files sealed already, and spool it; answer when
 * durable. */
static void
message_seal(struct ib_req *r)
{
	char mid[UUID_STR_LEN], date[11];
	struct spool_txn *t = NULL;
	struct seal_object *o = NULL;
	struct buf pt;
	const struct team_keys *tk = NULL;

	buf_init_secure(&pt, 2 * INBOX_MAX_TEXT + 65536 + INBOX_MAX_FILES * 2048);
	if (r->app->draining) {
		ib_problem(r, 503, "the service is restarting; please try again shortly");
		goto out;
	}
	if (message_txn(r, &t, &tk, date) != 0)
		goto out;
	util_uuid(mid);
	/* a message with files may have no text (and then no buffer yet) */
	const char *text = r->text.len > 0 ? (const char *)r->text.data : "";
	if (inbox_message_json_files(text, r->text.len, date, mid, r->report,
	                             r->k->sign_sk, r->files.manifest, &pt) != 0 ||
	    (o = seal_begin(t, SPOOL_MESSAGE, mid, r->report, &tk->recipients)) == NULL ||
	    seal_write(o, pt.data, pt.len) != 0) {
		message_store_fail(r);
		goto out;
	}
	int rc = seal_finish(o);
	o = NULL;
	if (rc != 0) {
		message_store_fail(r);
		goto out;
	}
	r->counted = true;
	atomic_fetch_add(&r->app->inflight, 1);
	rc = spool_commit(t, http_request_base(r->req), message_committed, r);
	t = NULL;
	if (rc != 0)
		ib_problem(r, 500, "could not store the message");
out:
	sodium_memzero(r->k->sign_sk, sizeof(r->k->sign_sk));
	seal_free(o);
	spool_abort(t);
	if (tk != NULL)
		team_keys_release(tk);
	buf_free(&pt);
}

static void
message_found(struct ib_req *r)
{
	if (!r->found) {
		ib_missing(r);
		return;
	}
	message_seal(r);
}

/* ---- the handler ---- */

static int
ib_on_body(struct http_request *req, const uint8_t *p, size_t n)
{
	struct ib_req *r = http_request_data(req);
	if (buf_add(&r->body, p, n) == 0)
		return 0;
	http_request_set_data(req, NULL);
	http_respond_problem(req, 413, "request too large");
	ib_req_free(r);
	return -1;
}

/* Parse the body and derive the keys; answer and return -1 on failure. */
static int
ib_accept(struct ib_req *r)
{
	bool want_text = r->route == IB_MESSAGE;
	switch (inbox_parse_body(r->body.data, r->body.len, want_text, r->k->digits, &r->text)) {
	case INBOX_PARSE_OK:
		break;
	case INBOX_PARSE_TYPO:
		limiter_fail(r->ib->limiter, r->has_circuit ? r->circuit : NULL, time(NULL));
		ib_problem(r, 400, "this receipt number has a typo");
		return -1;
	case INBOX_PARSE_RECEIPT:
		limiter_fail(r->ib->limiter, r->has_circuit ? r->circuit : NULL, time(NULL));
		ib_problem(r, 400, "this is not a receipt number");
		return -1;
	case INBOX_PARSE_TEXT:
		ib_problem(r, 400, "the message is empty or too long");
		return -1;
	default:
		ib_problem(r, 400, want_text ? "send {\"receipt\": \"…\", \"text\": \"…\"}"
		                             : "send {\"receipt\": \"…\"}");
		return -1;
	}
	buf_free(&r->body);
	if (receipt_lookup_id(r->app->pepper, r->k->digits, r->k->id) != 0 ||
	    receipt_source_key(r->app->pepper, r->k->digits, r->k->pk, r->k->sk) != 0 ||
	    (want_text && receipt_source_sign_key(r->app->pepper, r->k->digits, r->k->sign_pk,
	                                          r->k->sign_sk) != 0) ||
	    age_recipient_encode(r->k->pk, r->recipient, sizeof(r->recipient)) != 0) {
		ib_problem(r, 500, "the request could not be completed");
		return -1;
	}
	sodium_memzero(r->k->digits, sizeof(r->k->digits));
	return 0;
}

/* The report is still in a spool: this host's, or another's (`elsewhere`). */
static void
ib_pending(struct ib_req *r, bool elsewhere)
{
	switch (r->route) {
	case IB_READ:
		ib_json(r, 200, json_pack("{s:s, s:[], s:[], s:s}", "status", "pending", "replies",
		                          "sent", "detail", "Your report is on its way to the team. "
		                          "Replies will appear here; please check again later."));
		return;
	case IB_FORGET:
		ib_problem(r, 409, "your report is still on its way to the team; "
		                   "please try again in a few minutes");
		return;
	default:
		if ((elsewhere ? ishare_take_message(r->app->ishare, r->k->id,
		                                     r->app->cfg->pending_messages_max)
		               : pending_take_message(r->ib->pending, r->k->id,
		                                      r->app->cfg->pending_messages_max)) != 0) {
			unsigned s = r->app->cfg->flush_interval_ms / 1000;
			snprintf(r->extra, sizeof(r->extra), "Retry-After: %u\r\n", s > 0 ? s : 1);
			ib_problem(r, 429, INBOX_PENDING_FULL);
			return;
		}
		r->msg_slot = !elsewhere;
		r->peer_slot = elsewhere;
		message_seal(r);
		return;
	}
}

/* Start the work on a complete request: limits, keys, then the lookup;
 * answers now or later. */
static void
ib_start(struct ib_req *r)
{
	clock_gettime(CLOCK_MONOTONIC, &r->deadline);
	r->deadline.tv_nsec += (long)INBOX_MIN_DELAY_MS * 1000000L;
	r->deadline.tv_sec += r->deadline.tv_nsec / 1000000000L;
	r->deadline.tv_nsec %= 1000000000L;
	r->started = true;
	unsigned wait = limiter_check(r->ib->limiter, r->has_circuit ? r->circuit : NULL,
	                                 time(NULL));
	if (wait > 0) {
		snprintf(r->extra, sizeof(r->extra), "Retry-After: %u\r\n", wait);
		ib_problem(r, 429, "too many attempts; please wait a minute and try again");
		return;
	}
	if (!r->by_id && ib_accept(r) != 0)
		return;
	if (!pending_ready(r->ib->pending)) {
		/* Start-up, the spool still being read: a report not found could be
		 * one of those, and "not found" would tell its source it was lost. */
		snprintf(r->extra, sizeof(r->extra), "Retry-After: %u\r\n", INBOX_STARTING_RETRY_S);
		ib_problem(r, 503, "the inbox is starting up; please try again in a minute");
		return;
	}
	switch (pending_get(r->ib->pending, r->k->id, r->report, r->team)) {
	case PENDING_REPORT:
		ib_pending(r, false);
		return;
	case PENDING_FORGOTTEN:
		ib_not_found(r);
		return;
	default:
		break;
	}
	/* Forgotten on another host, its row not yet deleted by that host's flush. */
	if (ishare_find(r->app->ishare, r->k->id, r->report, r->team) == ISHARE_FORGOTTEN) {
		ib_not_found(r);
		return;
	}
	lookup(r, r->route == IB_READ ? read_found : r->route == IB_MESSAGE ? message_found
	                                                                  : forget_found);
}

static void
ib_on_complete(struct http_request *req)
{
	ib_start(http_request_data(req));
}

static void
ib_on_abort(struct http_request *req)
{
	struct ib_req *r = http_request_data(req);
	if (r == NULL || r->started)
		return; /* a query, commit or timer is in flight: its answer releases req */
	http_request_set_data(req, NULL);
	ib_req_free(r);
}

static const struct http_handler ib_handler = {
	.on_body = ib_on_body,
	.on_complete = ib_on_complete,
	.on_abort = ib_on_abort,
};

static bool
is_json(const char *ct)
{
	static const char t[] = "application/json";
	size_t n = sizeof(t) - 1;
	return ct != NULL && strncasecmp(ct, t, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static struct ib_req *
ib_req_new(struct http_request *req, struct app *app, struct db *db, enum ib_route route)
{
	struct ib_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->app = app;
	r->ib = app->inbox;
	r->req = req;
	r->route = route;
	db_step_init(&r->step, db, "inbox", iq_row, iq_done, r);
	buf_init_secure(&r->body, route == IB_MESSAGE ? INBOX_MAX_MESSAGE_BODY : INBOX_MAX_BODY);
	buf_init_secure(&r->text, INBOX_MAX_TEXT);
	buf_init_secure(&r->answer, 4 * INBOX_MAX_REPLIES * INBOX_MAX_REPLY_TEXT + 65536);
	uint32_t circ;
	if (http_request_circuit_id(req, &circ) == 0) {
		memcpy(r->circuit, &circ, sizeof(circ));
		r->has_circuit = true;
	}
	r->k = sodium_malloc(sizeof(*r->k));
	r->replies = json_array();
	r->sent = json_array();
	if (r->k == NULL || r->replies == NULL || r->sent == NULL) {
		ib_req_free(r);
		return NULL;
	}
	sodium_memzero(r->k, sizeof(*r->k));
	return r;
}

const struct http_handler *
inbox_route(struct http_request *req, struct app *app, struct db *db, const char *path)
{
	enum ib_route route;
	if (strcmp(path, "/api/v1/inbox") == 0)
		route = IB_READ;
	else if (strcmp(path, "/api/v1/inbox/messages") == 0)
		route = IB_MESSAGE;
	else
		route = IB_FORGET;
	if (!is_json(http_request_header(req, "Content-Type"))) {
		http_respond_problem(req, 415, "send application/json");
		return NULL;
	}
	int64_t max = route == IB_MESSAGE ? INBOX_MAX_MESSAGE_BODY : INBOX_MAX_BODY;
	if (http_request_content_length(req) > max) {
		http_respond_problem(req, 413, "request too large");
		return NULL;
	}
	if (app->inbox == NULL) {
		http_respond_problem(req, 503, "the inbox is not available");
		return NULL;
	}
	struct ib_req *r = ib_req_new(req, app, db, route);
	if (r == NULL) {
		http_respond_problem(req, 500, "out of memory");
		return NULL;
	}
	http_request_set_data(req, r);
	return &ib_handler;
}

/* ---- the source pages ---- */

/* Start `op` on a complete request for the pages, with the body or lookup
 * id already in place; 0, or -1 (nothing started, `r` freed). */
static int
ib_run(struct ib_req *r, inbox_view_fn view, void *arg)
{
	r->view = view;
	r->view_arg = arg;
	/* The request's data stays the pages' (NULL once their form is
	 * complete): the pages' handler gets the request's on_abort, and must
	 * not take `r` for its own state. The view answers, now or later. */
	ib_start(r);
	return 0;
}

int
inbox_run_json(struct http_request *req, struct app *app, struct db *db, enum inbox_op op,
               const uint8_t *body, size_t len, inbox_view_fn view, void *arg)
{
	if (app->inbox == NULL)
		return -1;
	struct ib_req *r = ib_req_new(req, app, db, (enum ib_route)op);
	if (r == NULL)
		return -1;
	if (buf_add(&r->body, body, len) != 0) {
		ib_req_free(r);
		return -1;
	}
	return ib_run(r, view, arg);
}

int
inbox_run_id(struct http_request *req, struct app *app, struct db *db, enum inbox_op op,
             const uint8_t id[RECEIPT_ID_LEN], const uint8_t seed[32], const char *text, size_t len,
             struct inbox_files *files, inbox_view_fn view, void *arg)
{
	struct inbox_files taken = { 0 };
	if (files != NULL) {
		taken = *files;
		memset(files, 0, sizeof(*files));
	}
	if (app->inbox == NULL || op == INBOX_OP_READ) {
		files_drop(&taken);
		return -1;
	}
	struct ib_req *r = ib_req_new(req, app, db, (enum ib_route)op);
	if (r == NULL) {
		files_drop(&taken);
		return -1;
	}
	r->files = taken;
	memcpy(r->k->id, id, RECEIPT_ID_LEN);
	/* The same key pair receipt_source_sign_key derives from the receipt. */
	if (op == INBOX_OP_MESSAGE && crypto_sign_seed_keypair(r->k->sign_pk, r->k->sign_sk, seed) != 0) {
		ib_req_free(r);
		return -1;
	}
	r->by_id = true;
	if (op == INBOX_OP_MESSAGE && buf_add(&r->text, text, len) != 0) {
		ib_req_free(r);
		return -1;
	}
	return ib_run(r, view, arg);
}
