/*
 * flusher: spool -> PostgreSQL in shuffled batches (see flusher.h).
 *
 * A batch goes through these steps, each one pipeline segment:
 *   1. precheck: which teams exist, which reports referenced by entries
 *      without a report object exist;
 *   2. BEGIN; every entry's INSERTs (shuffled order); COMMIT; sync;
 *   3. only if 2 failed for a reason other than a lost connection:
 *      ROLLBACK, then each entry alone: BEGIN; INSERTs; COMMIT; sync,
 *      one after the other, so a failing entry cannot touch the others.
 * Files are removed only after their COMMIT succeeded.
 *
 * Passes: every tick starts a pass over the whole spool, in file-name order
 * (names are random uuids, so this order says nothing about arrival). The
 * pass lists up to list_max names after its cursor at a time and takes
 * batches from that window until it has gone past the last file; entries it
 * keeps back are passed over like the others, so they can never hide a
 * deliverable file from it. Kept-back entries are counted per pass and
 * logged once at its end, never one by one (no spool path, no report id).
 *
 * A file whose bytes fail the spool's checks (errno EBADMSG) is quarantined
 * as ".bad"; a file that cannot be read right now (EMFILE, ENFILE, ENOMEM,
 * EIO...) stays and is tried again on the next tick, logged once until reads
 * work again.
 *
 * Re-entrancy: db_reset() (and a lost connection) fails every pending
 * callback at once, and a sync callback finishes the batch (batch_done frees
 * f->b). So every callback checks that its batch still exists, and
 * batch_abort finishes the batch only if no callback did.
 */
#include "flusher.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sodium.h>

#include "db.h"
#include "log.h"
#include "spool.h"


enum ent_state { ENT_PENDING, ENT_SKIP, ENT_DONE, ENT_FAILED };

struct ent_ref {
	struct flusher *f;
	size_t i; /* entry index; n for batch-level statements */
};

struct batch {
	struct spool_entry **e;
	size_t n;
	enum ent_state *state;
	unsigned *errs;   /* failed statements per entry (+1 slot for the batch) */
	uint64_t *rows;   /* rows inserted per entry */
	struct ent_ref *refs;
	char **teams;     /* existing teams, from the precheck */
	size_t nteams;
	char **reports;   /* existing reports, from the precheck */
	size_t nreports;
	bool precheck_ok;
	bool lost;
	size_t single;    /* next entry in one-by-one mode */
};

struct flusher {
	struct spool *spool;
	char *conninfo;
	unsigned interval_ms;
	unsigned list_max;  /* spool files listed at a time */
	struct event_base *base;
	struct db *db;
	struct event *tick_ev, *kick_ev, *stop_ev;
	pthread_t thread;
	bool started;
	atomic_bool held;   /* flusher_hold: no pass until flusher_release */
	bool stopping;
	bool retry_when_up;
	bool need_rollback; /* the session may be in an aborted transaction */
	bool read_err_logged; /* a transient read failure was logged */
	struct batch *b;
	/* the pass in progress */
	bool in_pass;
	char cursor[64];      /* file name the pass has reached ("" at its start) */
	char **win;           /* listed paths; those before wpos are taken */
	int nwin, wpos;
	bool win_last;        /* the last listing reached the end of the spool */
	uint64_t pass_done, pass_kept;
	bool pass_again;      /* asked for while a pass ran: start one more */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool finished;
	_Atomic uint64_t entries, rows, batches, failures, skipped;
	flusher_flushed_cb flushed_cb;
	void *flushed_arg;
};

static const char SQL_REPORT[] =
	"INSERT INTO reports (id, team_id, received_on, payload) "
	"VALUES ($1::uuid, $2, $3::date, $4) ON CONFLICT DO NOTHING";
static const char SQL_ATTACHMENT[] =
	"INSERT INTO attachments (id, report_id, payload) "
	"VALUES ($1::uuid, $2::uuid, $3) ON CONFLICT DO NOTHING";
static const char SQL_MESSAGE[] =
	"INSERT INTO messages (id, report_id, sent_on, payload) "
	"VALUES ($1::uuid, $2::uuid, $3::date, $4) ON CONFLICT DO NOTHING";
static const char SQL_HEADER[] =
	"INSERT INTO object_headers (object_id, recipient, header) "
	"VALUES ($1::uuid, $2, $3) ON CONFLICT DO NOTHING";

static const char SQL_INBOX[] =
	"INSERT INTO inboxes (lookup_id, report_id, source_pk) "
	"VALUES ($1, $2::uuid, $3) ON CONFLICT DO NOTHING";
static const char SQL_FORGET[] = "DELETE FROM inboxes WHERE lookup_id = $1";

const char *const flusher_sql_report = SQL_REPORT;
const char *const flusher_sql_header = SQL_HEADER;
const char *const flusher_sql_inbox = SQL_INBOX;

static void flusher_start_batch(struct flusher *f);

/* --- batch memory --- */

static void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		spool_entry_free(b->e[i]);
	for (size_t i = 0; i < b->nteams; i++)
		free(b->teams[i]);
	for (size_t i = 0; i < b->nreports; i++)
		free(b->reports[i]);
	free(b->teams);
	free(b->reports);
	free(b->e);
	free(b->state);
	free(b->errs);
	free(b->rows);
	free(b->refs);
	free(b);
}

static struct batch *
batch_alloc(struct flusher *f, size_t max)
{
	struct batch *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->e = calloc(max, sizeof(*b->e));
	b->state = calloc(max, sizeof(*b->state));
	b->errs = calloc(max + 1, sizeof(*b->errs));
	b->rows = calloc(max + 1, sizeof(*b->rows));
	b->refs = calloc(max + 1, sizeof(*b->refs));
	if (b->e == NULL || b->state == NULL || b->errs == NULL || b->rows == NULL ||
	    b->refs == NULL) {
		batch_free(b);
		return NULL;
	}
	for (size_t i = 0; i <= max; i++)
		b->refs[i] = (struct ent_ref){ f, i };
	return b;
}

static size_t
entry_bytes(const struct spool_entry *e)
{
	size_t n = 0;
	for (size_t i = 0; i < e->nobjects; i++)
		n += e->objects[i].payload_len;
	return n;
}

/* Read one listed file: NULL if it is gone, was quarantined (bad bytes) or
 * cannot be read now (counted in *transient; kept for the next tick). */
static struct spool_entry *
entry_load(struct flusher *f, const char *path, unsigned *transient)
{
	struct spool_entry *e = spool_entry_read(path);
	if (e != NULL)
		return e;
	int err = errno;
	if (err == EBADMSG) {
		if (spool_quarantine(f->spool, path) != 0)
			log_error("flusher: cannot quarantine a corrupt spool file: %s",
			          strerror(errno));
	} else if (err != ENOENT) {
		(*transient)++;
		if (!f->read_err_logged)
			log_warn("flusher: cannot read a spool file now (%s); kept in the spool, "
			         "retrying on every tick",
			         strerror(err));
		f->read_err_logged = true;
	}
	return NULL;
}

/* Forget the pass's window of listed paths. */
static void
window_clear(struct flusher *f)
{
	spool_list_free(f->win, f->nwin);
	f->win = NULL;
	f->nwin = f->wpos = 0;
}

/* Set *path to the pass's next file (NULL once the pass went past the last
 * one), listing the next window after the cursor when needed. Return 0, or
 * -1 if the spool cannot be listed. */
static int
window_next(struct flusher *f, const char **path)
{
	*path = NULL;
	if (f->wpos >= f->nwin) {
		window_clear(f);
		if (f->win_last)
			return 0;
		int n = spool_list_after(f->spool, f->cursor, &f->win, f->list_max);
		if (n < 0)
			return -1;
		f->nwin = n;
		f->win_last = (unsigned)n < f->list_max;
		if (n == 0)
			return 0;
	}
	*path = f->win[f->wpos++];
	const char *name = strrchr(*path, '/');
	snprintf(f->cursor, sizeof(f->cursor), "%s", name != NULL ? name + 1 : *path);
	return 0;
}

/* Read the pass's next batch of committed files (quarantining corrupt ones);
 * NULL when the pass has no file left. */
static struct batch *
batch_load(struct flusher *f)
{
	struct batch *b = batch_alloc(f, FLUSHER_BATCH_MAX);
	size_t bytes = 0;
	unsigned transient = 0;
	while (b != NULL && b->n < FLUSHER_BATCH_MAX && (b->n == 0 || bytes < FLUSHER_BATCH_BYTES)) {
		const char *path;
		if (window_next(f, &path) != 0) {
			log_error("flusher: cannot list the spool");
			atomic_fetch_add(&f->failures, 1);
			break;
		}
		if (path == NULL)
			break;
		struct spool_entry *e = entry_load(f, path, &transient);
		if (e == NULL)
			continue;
		bytes += entry_bytes(e);
		b->e[b->n++] = e;
	}
	if (transient > 0) {
		atomic_fetch_add(&f->failures, 1);
	} else if (b != NULL && b->n > 0 && f->read_err_logged) {
		log_info("flusher: reading the spool works again");
		f->read_err_logged = false;
	}
	if (b != NULL && b->n == 0) {
		batch_free(b);
		return NULL;
	}
	return b;
}

/* Start a pass at the first file name. */
static void
pass_start(struct flusher *f)
{
	window_clear(f);
	f->cursor[0] = '\0';
	f->win_last = false;
	f->pass_done = f->pass_kept = 0;
	f->in_pass = true;
}

/* End the pass: log what it did, once. */
static void
pass_finish(struct flusher *f)
{
	window_clear(f);
	f->in_pass = false;
	if (f->pass_done > 0)
		log_info("flusher: flushed %llu spooled entries", (unsigned long long)f->pass_done);
	if (f->pass_kept > 0)
		log_warn("flusher: %llu spooled entries kept back (their team or report is not "
		         "in the database yet); they stay in the spool",
		         (unsigned long long)f->pass_kept);
}

/* Fisher-Yates with an unbiased uniform source. */
static void
batch_shuffle(struct batch *b)
{
	for (size_t i = b->n; i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i);
		struct spool_entry *t = b->e[i - 1];
		b->e[i - 1] = b->e[j];
		b->e[j] = t;
	}
}

static bool
entry_has_report(const struct spool_entry *e)
{
	for (size_t i = 0; i < e->nobjects; i++)
		if (e->objects[i].kind == SPOOL_REPORT)
			return true;
	return false;
}

static bool
in_list(char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* --- finishing --- */

static void
flusher_finish_stop(struct flusher *f)
{
	event_base_loopbreak(f->base);
}

/* Remove flushed files, update counters, and decide what comes next. */
static void
batch_done(struct flusher *f)
{
	struct batch *b = f->b;
	size_t done = 0, kept = 0;
	uint64_t rows = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->state[i] == ENT_DONE) {
			if (spool_entry_remove(f->spool, b->e[i]) != 0)
				log_error("flusher: cannot remove a flushed spool file: %s",
				          strerror(errno));
			if (f->flushed_cb != NULL && b->e[i]->has_inbox)
				f->flushed_cb(b->e[i]->lookup_id, f->flushed_arg);
			if (f->flushed_cb != NULL && b->e[i]->has_forget)
				f->flushed_cb(b->e[i]->forget_id, f->flushed_arg);
			done++;
			rows += b->rows[i];
		} else if (b->state[i] != ENT_PENDING) {
			kept++;
		}
	}
	atomic_fetch_add(&f->entries, done);
	atomic_fetch_add(&f->rows, rows);
	atomic_fetch_add(&f->skipped, kept);
	if (done > 0)
		atomic_fetch_add(&f->batches, 1);
	if (b->lost || done < b->n)
		atomic_fetch_add(&f->failures, 1);
	f->pass_done += done;
	f->pass_kept += kept;
	bool lost = b->lost;
	f->retry_when_up = lost;
	batch_free(b);
	f->b = NULL;
	/* The pass goes on (or ends) now; after a lost connection it goes on
	 * from its cursor when the database is back. */
	if (!lost)
		flusher_start_batch(f);
}

/* --- statements --- */

/* Count a statement's outcome against entry ref->i. */
static void
stmt_cb(const PGresult *res, void *arg)
{
	struct ent_ref *ref = arg;
	struct batch *b = ref->f->b;
	if (b == NULL)
		return; /* the batch was finished by a re-entrant failure */
	if (res == NULL) {
		b->lost = true;
		b->errs[ref->i]++;
		return;
	}
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK) {
		uint64_t n = 0;
		const char *t = PQcmdTuples((PGresult *)(uintptr_t)res);
		for (; *t >= '0' && *t <= '9' && n < 1000000; t++)
			n = n * 10 + (uint64_t)(*t - '0');
		b->rows[ref->i] += n;
		return;
	}
	if (st != PGRES_PIPELINE_ABORTED && b->errs[ref->i] == 0)
		db_log_result("flusher: insert", res);
	b->errs[ref->i]++;
}

static int
send_object(struct flusher *f, const struct spool_entry *e, const struct spool_object *o,
            struct ent_ref *ref)
{
	const char *v[4];
	int len[4] = { 0, 0, 0, 0 }, fmt[4] = { 0, 0, 0, 0 };
	int rc;
	const char *pl = (const char *)o->payload;
	switch (o->kind) {
	case SPOOL_REPORT:
		v[0] = o->uuid, v[1] = e->team, v[2] = e->date, v[3] = pl;
		len[3] = (int)o->payload_len, fmt[3] = 1;
		rc = db_query_prepared(f->db, "fl_report", 4, v, len, fmt, stmt_cb, ref);
		break;
	case SPOOL_ATTACHMENT:
		v[0] = o->uuid, v[1] = e->report_uuid, v[2] = pl;
		len[2] = (int)o->payload_len, fmt[2] = 1;
		rc = db_query_prepared(f->db, "fl_attachment", 3, v, len, fmt, stmt_cb, ref);
		break;
	default:
		v[0] = o->uuid, v[1] = e->report_uuid, v[2] = e->date, v[3] = pl;
		len[3] = (int)o->payload_len, fmt[3] = 1;
		rc = db_query_prepared(f->db, "fl_message", 4, v, len, fmt, stmt_cb, ref);
		break;
	}
	for (size_t h = 0; rc == 0 && h < o->nheaders; h++) {
		const char *hv[3] = { o->uuid, o->recipients[h], (const char *)o->headers[h] };
		int hl[3] = { 0, 0, (int)o->header_lens[h] }, hf[3] = { 0, 0, 1 };
		rc = db_query_prepared(f->db, "fl_header", 3, hv, hl, hf, stmt_cb, ref);
	}
	return rc;
}

/* Queue every INSERT of entry i: the report first, then the other objects. */
static int
send_entry(struct flusher *f, size_t i)
{
	struct batch *b = f->b;
	const struct spool_entry *e = b->e[i];
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < e->nobjects; k++) {
			const struct spool_object *o = &e->objects[k];
			if ((pass == 0) != (o->kind == SPOOL_REPORT))
				continue;
			if (send_object(f, e, o, &b->refs[i]) != 0)
				return -1;
		}
	if (e->has_inbox) {
		const char *v[3] = { (const char *)e->lookup_id, e->report_uuid,
			             (const char *)e->source_pk };
		int len[3] = { 32, 0, 32 }, fmt[3] = { 1, 0, 1 };
		if (db_query_prepared(f->db, "fl_inbox", 3, v, len, fmt, stmt_cb, &b->refs[i]) != 0)
			return -1;
	}
	if (e->has_forget) {
		const char *v[1] = { (const char *)e->forget_id };
		int len[1] = { 32 }, fmt[1] = { 1 };
		if (db_query_prepared(f->db, "fl_forget", 1, v, len, fmt, stmt_cb, &b->refs[i]) != 0)
			return -1;
	}
	return 0;
}

static int
send_plain(struct flusher *f, const char *sql, size_t ref)
{
	return db_query(f->db, sql, 0, NULL, NULL, NULL, stmt_cb, &f->b->refs[ref]);
}

/* --- step 3: one entry at a time --- */

static void single_next(struct flusher *f);

/* Queuing failed half-way: drop the connection so that every statement
 * already queued is answered (with NULL) now, while the batch still exists;
 * keep every file. */
static void
batch_abort(struct flusher *f)
{
	if (f->b == NULL)
		return;
	f->b->lost = true;
	db_reset(f->db, "a query could not be queued");
	/* A pending sync callback may have finished the batch already; no new
	 * one can have started, as the connection is down now. */
	if (f->b != NULL)
		batch_done(f);
}

static void
single_synced(const PGresult *res, void *arg)
{
	struct ent_ref *ref = arg;
	struct batch *b = ref->f->b;
	size_t i = ref->i;
	if (b == NULL)
		return;
	if (res == NULL)
		b->lost = true;
	if (b->lost) {
		batch_done(ref->f);
		return;
	}
	if (b->errs[i] == 0 && PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
		b->state[i] = ENT_DONE;
	} else {
		b->state[i] = ENT_FAILED;
		ref->f->need_rollback = true;
	}
	single_next(ref->f);
}

static void
single_next(struct flusher *f)
{
	struct batch *b = f->b;
	size_t n = b->n;
	/* A failed entry leaves its transaction aborted: roll it back first. */
	bool rollback = f->need_rollback;
	f->need_rollback = false;
	while (b->single < n && b->state[b->single] != ENT_PENDING)
		b->single++;
	if (b->single >= n) {
		f->need_rollback = rollback;
		batch_done(f);
		return;
	}
	size_t i = b->single++;
	if ((rollback && send_plain(f, "ROLLBACK", n) != 0) || send_plain(f, "BEGIN", i) != 0 ||
	    send_entry(f, i) != 0 || send_plain(f, "COMMIT", i) != 0 ||
	    db_sync(f->db, single_synced, &b->refs[i]) != 0)
		batch_abort(f);
}

static void
single_start(struct flusher *f)
{
	struct batch *b = f->b;
	log_warn("flusher: batch failed; retrying its entries one by one");
	for (size_t i = 0; i < b->n; i++) {
		b->errs[i] = 0;
		b->rows[i] = 0;
	}
	b->single = 0;
	f->need_rollback = true;
	single_next(f);
}

/* --- step 2: the batch transaction --- */

static void
txn_synced(const PGresult *res, void *arg)
{
	struct flusher *f = arg;
	struct batch *b = f->b;
	unsigned errs = 0;
	if (b == NULL)
		return;
	if (res == NULL)
		b->lost = true;
	for (size_t i = 0; i <= b->n; i++)
		errs += b->errs[i];
	if (b->lost) {
		batch_done(f);
		return;
	}
	if (errs == 0 && PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
		for (size_t i = 0; i < b->n; i++)
			if (b->state[i] == ENT_PENDING)
				b->state[i] = ENT_DONE;
		batch_done(f);
		return;
	}
	single_start(f);
}

static void
txn_send(struct flusher *f)
{
	struct batch *b = f->b;
	bool any = false;
	for (size_t i = 0; i < b->n; i++)
		any |= b->state[i] == ENT_PENDING;
	if (!any) {
		batch_done(f);
		return;
	}
	if (send_plain(f, "BEGIN", b->n) != 0)
		goto lost;
	for (size_t i = 0; i < b->n; i++)
		if (b->state[i] == ENT_PENDING && send_entry(f, i) != 0)
			goto lost;
	if (send_plain(f, "COMMIT", b->n) != 0 || db_sync(f->db, txn_synced, f) != 0)
		goto lost;
	return;
lost:
	batch_abort(f);
}

/* --- step 1: precheck --- */

static void
collect_cb(const PGresult *res, char ***list, size_t *n, bool *ok)
{
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (res != NULL)
			db_log_result("flusher: precheck", res);
		*ok = false;
		return;
	}
	int rows = PQntuples(res);
	if (rows <= 0)
		return;
	*list = calloc((size_t)rows, sizeof(**list));
	if (*list == NULL) {
		*ok = false;
		return;
	}
	for (int i = 0; i < rows; i++)
		if (((*list)[(*n)++] = strdup(PQgetvalue(res, i, 0))) == NULL)
			*ok = false;
}

static void
teams_cb(const PGresult *res, void *arg)
{
	struct batch *b = ((struct flusher *)arg)->b;
	if (b != NULL)
		collect_cb(res, &b->teams, &b->nteams, &b->precheck_ok);
}

static void
reports_cb(const PGresult *res, void *arg)
{
	struct batch *b = ((struct flusher *)arg)->b;
	if (b != NULL)
		collect_cb(res, &b->reports, &b->nreports, &b->precheck_ok);
}

/* Keep back entries that cannot be inserted yet. */
static void
precheck_apply(struct flusher *f)
{
	struct batch *b = f->b;
	for (size_t i = 0; i < b->n; i++) {
		const struct spool_entry *e = b->e[i];
		if (!in_list(b->teams, b->nteams, e->team)) {
			b->state[i] = ENT_SKIP;
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct spool_entry *e = b->e[i];
		if (b->state[i] != ENT_PENDING || entry_has_report(e) ||
		    in_list(b->reports, b->nreports, e->report_uuid))
			continue;
		bool in_batch = false;
		for (size_t k = 0; k < b->n; k++)
			in_batch |= b->state[k] == ENT_PENDING && entry_has_report(b->e[k]) &&
			            strcmp(b->e[k]->report_uuid, e->report_uuid) == 0;
		if (!in_batch)
			b->state[i] = ENT_SKIP;
	}
}

static void
precheck_synced(const PGresult *res, void *arg)
{
	struct flusher *f = arg;
	struct batch *b = f->b;
	if (b == NULL)
		return;
	if (res == NULL || !b->precheck_ok) {
		b->lost = res == NULL;
		if (res != NULL)
			atomic_fetch_add(&f->failures, 1);
		batch_done(f);
		return;
	}
	precheck_apply(f);
	txn_send(f);
}

/* Build a PostgreSQL array literal of validated ids (no quoting needed:
 * teams are [a-z0-9-], uuids hex and hyphens). */
static char *
id_array(struct batch *b, bool teams)
{
	size_t cap = 3 + b->n * 65, len = 0;
	char *s = malloc(cap);
	if (s == NULL)
		return NULL;
	s[len++] = '{';
	for (size_t i = 0; i < b->n; i++) {
		const char *id = teams ? b->e[i]->team : b->e[i]->report_uuid;
		if (!teams && entry_has_report(b->e[i]))
			continue;
		int w = snprintf(s + len, cap - len, "%s%s", len > 1 ? "," : "", id);
		if (w < 0 || (size_t)w >= cap - len) {
			free(s);
			return NULL;
		}
		len += (size_t)w;
	}
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

static void
flusher_start_batch(struct flusher *f)
{
	if (f->b != NULL || atomic_load(&f->held))
		return;
	if (!db_is_up(f->db)) {
		char **p = NULL;
		int n = spool_list(f->spool, &p, 1);
		spool_list_free(p, n);
		if (n > 0) {
			atomic_fetch_add(&f->failures, 1);
			f->retry_when_up = true;
		}
		return;
	}
	if (!f->in_pass)
		pass_start(f);
	if ((f->b = batch_load(f)) == NULL) {
		pass_finish(f);
		if (f->pass_again) {
			/* Files may have come in behind the cursor since the pass began. */
			f->pass_again = false;
			flusher_start_batch(f);
		} else if (f->stopping) {
			flusher_finish_stop(f);
		}
		return;
	}
	f->b->precheck_ok = true;
	batch_shuffle(f->b);
	char *teams = id_array(f->b, true), *reports = id_array(f->b, false);
	const char *tv[1] = { teams }, *rv[1] = { reports };
	int rc = -1;
	bool rollback = f->need_rollback;
	f->need_rollback = false;
	if (teams != NULL && reports != NULL &&
	    (!rollback || send_plain(f, "ROLLBACK", f->b->n) == 0) &&
	    db_query(f->db, "SELECT id FROM teams WHERE id = ANY($1::text[])", 1, tv, NULL,
	             NULL, teams_cb, f) == 0 &&
	    db_query(f->db, "SELECT id::text FROM reports WHERE id = ANY($1::uuid[])", 1, rv,
	             NULL, NULL, reports_cb, f) == 0 &&
	    db_sync(f->db, precheck_synced, f) == 0)
		rc = 0;
	free(teams);
	free(reports);
	if (rc != 0)
		batch_abort(f);
}

/* --- thread and events --- */

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct flusher *f = arg;
	(void)fd;
	(void)what;
	if (f->b != NULL)
		return; /* a pass is running; the next tick starts the next one */
	flusher_start_batch(f);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct flusher *f = arg;
	(void)fd;
	(void)what;
	if (f->b != NULL)
		f->pass_again = true;
	else
		flusher_start_batch(f);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct flusher *f = arg;
	(void)fd;
	(void)what;
	f->stopping = true;
	event_del(f->tick_ev);
	if (atomic_load(&f->held)) {
		flusher_finish_stop(f); /* held: nothing may be flushed yet */
		return;
	}
	if (f->in_pass)
		f->pass_again = true;
	if (f->b == NULL && db_is_up(f->db))
		flusher_start_batch(f);
	/* Otherwise the running batch, or the connection coming up, continues. */
}

static void
on_db_state(int up, void *arg)
{
	struct flusher *f = arg;
	if (up)
		f->need_rollback = false; /* a new session */
	if (up && (f->retry_when_up || f->stopping)) {
		f->retry_when_up = false;
		flusher_start_batch(f);
	}
}

static void *
flusher_main(void *arg)
{
	struct flusher *f = arg;
	if (event_base_dispatch(f->base) < 0)
		log_error("flusher: event loop failed");
	pthread_mutex_lock(&f->mu);
	f->finished = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

struct flusher *
flusher_new(struct spool *spool, const char *conninfo, unsigned interval_ms)
{
	if (spool == NULL || db_conninfo_check(conninfo) != 0)
		return NULL;
	struct flusher *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->spool = spool;
	f->interval_ms = interval_ms > 0 ? interval_ms : FLUSHER_DEFAULT_INTERVAL_MS;
	f->list_max = FLUSHER_LIST_MAX;
	if ((f->conninfo = strdup(conninfo)) == NULL) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	return f;
}

static int
flusher_setup(struct flusher *f)
{
	struct timeval tv = { f->interval_ms / 1000, (f->interval_ms % 1000) * 1000 };
	if (evthread_use_pthreads() != 0 || (f->base = event_base_new()) == NULL)
		return -1;
	f->tick_ev = event_new(f->base, -1, EV_PERSIST, on_tick, f);
	f->kick_ev = event_new(f->base, -1, 0, on_kick, f);
	f->stop_ev = event_new(f->base, -1, 0, on_stop, f);
	if (f->tick_ev == NULL || f->kick_ev == NULL || f->stop_ev == NULL ||
	    event_add(f->tick_ev, &tv) != 0)
		return -1;
	if ((f->db = db_new(f->base, f->conninfo)) == NULL)
		return -1;
	db_set_state_cb(f->db, on_db_state, f);
	if (db_prepare(f->db, "fl_report", SQL_REPORT, 4) != 0 ||
	    db_prepare(f->db, "fl_attachment", SQL_ATTACHMENT, 3) != 0 ||
	    db_prepare(f->db, "fl_message", SQL_MESSAGE, 4) != 0 ||
	    db_prepare(f->db, "fl_header", SQL_HEADER, 3) != 0 ||
	    db_prepare(f->db, "fl_inbox", SQL_INBOX, 3) != 0 ||
	    db_prepare(f->db, "fl_forget", SQL_FORGET, 1) != 0)
		return -1;
	return 0;
}

static void
flusher_teardown(struct flusher *f)
{
	batch_free(f->b);
	f->b = NULL;
	window_clear(f);
	f->in_pass = false;
	db_free(f->db);
	f->db = NULL;
	if (f->tick_ev != NULL)
		event_free(f->tick_ev);
	if (f->kick_ev != NULL)
		event_free(f->kick_ev);
	if (f->stop_ev != NULL)
		event_free(f->stop_ev);
	f->tick_ev = f->kick_ev = f->stop_ev = NULL;
	if (f->base != NULL)
		event_base_free(f->base);
	f->base = NULL;
}

int
flusher_start(struct flusher *f)
{
	if (f->started)
		return -1;
	if (flusher_setup(f) != 0) {
		log_error("flusher: cannot set up");
		flusher_teardown(f);
		return -1;
	}
	f->finished = false;
	if (pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
		flusher_teardown(f);
		return -1;
	}
	/* Named for ps and the benchmark's per-thread CPU figures. */
	(void)pthread_setname_np(f->thread, "tipd-flusher");
	f->started = true;
	return 0;
}

void
flusher_hold(struct flusher *f)
{
	atomic_store(&f->held, true);
}

void
flusher_release(struct flusher *f)
{
	atomic_store(&f->held, false);
}

int
flusher_flush_now(struct flusher *f)
{
	if (!f->started)
		return -1;
	event_active(f->kick_ev, EV_TIMEOUT, 0);
	return 0;
}

static void
flusher_wait(struct flusher *f, unsigned timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mu);
	while (!f->finished)
		if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT)
			break;
	bool done = f->finished;
	pthread_mutex_unlock(&f->mu);
	if (!done) {
		log_warn("flusher: final flush did not finish in %u ms", timeout_ms);
		event_base_loopbreak(f->base);
	}
}

int
flusher_stop(struct flusher *f, unsigned timeout_ms)
{
	if (!f->started)
		return -1;
	event_active(f->stop_ev, EV_TIMEOUT, 0);
	flusher_wait(f, timeout_ms);
	pthread_join(f->thread, NULL);
	f->started = false;
	flusher_teardown(f);
	char **p = NULL;
	int n = spool_list(f->spool, &p, 1);
	spool_list_free(p, n);
	return n == 0 ? 0 : -1;
}

void
flusher_free(struct flusher *f)
{
	if (f == NULL)
		return;
	if (f->started)
		(void)flusher_stop(f, 0);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f->conninfo);
	free(f);
}

void
flusher_set_list_max(struct flusher *f, unsigned n)
{
	f->list_max = n > 0 ? n : FLUSHER_LIST_MAX;
}

void
flusher_set_flushed_cb(struct flusher *f, flusher_flushed_cb cb, void *arg)
{
	f->flushed_cb = cb;
	f->flushed_arg = arg;
}

void
flusher_get_stats(const struct flusher *f, struct flusher_stats *out)
{
	struct flusher *m = (struct flusher *)(uintptr_t)f;
	out->entries = atomic_load(&m->entries);
	out->rows = atomic_load(&m->rows);
	out->batches = atomic_load(&m->batches);
	out->failures = atomic_load(&m->failures);
	out->skipped = atomic_load(&m->skipped);
}
