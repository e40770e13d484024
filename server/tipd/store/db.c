/*
 * db: asynchronous libpq on libevent (see db.h).
 *
 * States: DOWN (retry timer armed) -> CONNECTING (PQconnectPoll driven by a
 * one-shot event on PQsocket) -> UP (persistent read event, write event while
 * PQflush has output left). Any failure returns to DOWN, failing every
 * pending callback with NULL.
 *
 * Queuing functions never call a callback themselves: a query is queued
 * (callback registered) only after libpq accepted it, and a send failure
 * after that does not make the call fail; the connection is dropped from the
 * loop a moment later (lost_ev), failing the pending callbacks then. So a
 * caller sees either -1 (its callback is never called) or 0 (called exactly
 * once, later).
 */
#include "db.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"

#define DB_CONNECT_TIMEOUT_S 10
#define DB_MAX_PREPARED 32
#define DB_MAX_CACHED 64 /* DB_Q_CACHED statements per db (more run unprepared) */

enum db_state { DB_DOWN, DB_CONNECTING, DB_UP };

struct db_pending {
	db_result_cb cb;
	void *arg;
	bool sync;
	bool delivered;
	struct db_pending *next;
};

struct db_stmt {
	char *name;
	char *sql;
	int nparams;
};

/* A DB_Q_CACHED statement: prepared on the current connection (READY), being
 * prepared (PENDING: its Prepare is in the pipeline, its result not yet in),
 * or not (NONE: never, failed, or the connection it was prepared on is gone). */
enum db_cached_state { DB_C_NONE, DB_C_PENDING, DB_C_READY };
struct db_cached {
	char *sql;
	unsigned long hash;
	enum db_cached_state st;
	char name[16];
};

struct db {
	struct event_base *base;
	char *conninfo;
	PGconn *conn;
	enum db_state state;
	struct event *poll_ev;  /* connecting */
	struct event *read_ev;  /* up */
	struct event *write_ev; /* up, output pending */
	struct event *retry_ev;
	struct event *lost_ev;  /* drops a connection that failed while queuing */
	unsigned backoff_ms, min_ms, max_ms;
	bool outage_logged;
	struct db_pending *head, *tail;
	struct db_stmt stmts[DB_MAX_PREPARED];
	int nstmts;
	struct db_cached cached[DB_MAX_CACHED];
	int ncached;
	db_state_cb state_cb;
	void *state_arg;
};

static void db_start_connect(struct db *db);
static void db_lost(struct db *db, const char *why);

static void
db_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	db_start_connect(arg);
}

static void
db_on_lost(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	(void)fd;
	(void)what;
	if (db->state == DB_UP)
		db_lost(db, "cannot send to the database");
}

/* The connection failed while queuing: drop it from the loop, soon. */
static void
db_defer_lost(struct db *db)
{
	if (db->state == DB_UP)
		event_active(db->lost_ev, EV_TIMEOUT, 0);
}

/* --- conninfo check --- */

static int
host_list_ok(const char *hosts)
{
	/* Comma-separated; each must be an absolute socket directory. */
	const char *p = hosts;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || p[0] != '/')
			return 0;
		p += n;
		if (*p == ',')
			p++;
	}
	return 1;
}

int
db_conninfo_check(const char *conninfo)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	if (opts == NULL) {
		log_error("db: cannot parse the database conninfo");
		PQfreemem(err);
		return -1;
	}
	const char *host = NULL, *hostaddr = NULL;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
	}
	if (host == NULL && hostaddr == NULL) {
		host = getenv("PGHOST");
		hostaddr = getenv("PGHOSTADDR");
		if (hostaddr != NULL && hostaddr[0] == '\0')
			hostaddr = NULL;
	}
	int ok = hostaddr != NULL || host == NULL || host_list_ok(host);
	PQconninfoFree(opts);
	if (!ok) {
		log_error("db: the database host must be a unix socket directory "
		          "(host=/path) or a numeric hostaddr=, not a name to look up");
		return -1;
	}
	return 0;
}

/* --- lifecycle --- */

struct db *
db_new(struct event_base *base, const char *conninfo)
{
	if (db_conninfo_check(conninfo) != 0)
		return NULL;
	struct db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return NULL;
	db->base = base;
	db->min_ms = 100;
	db->max_ms = 2000;
	db->backoff_ms = db->min_ms;
	db->conninfo = strdup(conninfo);
	db->retry_ev = evtimer_new(base, db_on_retry, db);
	db->lost_ev = event_new(base, -1, 0, db_on_lost, db);
	if (db->conninfo == NULL || db->retry_ev == NULL || db->lost_ev == NULL) {
		db_free(db);
		return NULL;
	}
	db_start_connect(db);
	return db;
}

static void
db_drop_conn(struct db *db)
{
	if (db->poll_ev != NULL)
		event_free(db->poll_ev);
	if (db->read_ev != NULL)
		event_free(db->read_ev);
	if (db->write_ev != NULL)
		event_free(db->write_ev);
	db->poll_ev = db->read_ev = db->write_ev = NULL;
	if (db->lost_ev != NULL)
		event_del(db->lost_ev); /* meant for this connection only */
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->state = DB_DOWN;
	/* Prepared statements live and die with their connection: the next
	 * one prepares them again on first use. */
	for (int i = 0; i < db->ncached; i++)
		db->cached[i].st = DB_C_NONE;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_drop_conn(db);
	if (db->retry_ev != NULL)
		event_free(db->retry_ev);
	if (db->lost_ev != NULL)
		event_free(db->lost_ev);
	struct db_pending *p = db->head, *next;
	for (; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	for (int i = 0; i < db->nstmts; i++) {
		free(db->stmts[i].name);
		free(db->stmts[i].sql);
	}
	for (int i = 0; i < db->ncached; i++)
		free(db->cached[i].sql);
	free(db->conninfo);
	free(db);
}

void
db_set_state_cb(struct db *db, db_state_cb cb, void *arg)
{
	db->state_cb = cb;
	db->state_arg = arg;
}

void
db_set_backoff(struct db *db, unsigned min_ms, unsigned max_ms)
{
	db->min_ms = min_ms > 0 ? min_ms : 1;
	db->max_ms = max_ms >= db->min_ms ? max_ms : db->min_ms;
	db->backoff_ms = db->min_ms;
}

void
db_reset(struct db *db, const char *why)
{
	if (db->state == DB_UP)
		db_lost(db, why);
}

int
db_is_up(const struct db *db)
{
	return db->state == DB_UP;
}

static void
db_schedule_retry(struct db *db)
{
	struct timeval tv = { db->backoff_ms / 1000, (db->backoff_ms % 1000) * 1000 };
	db->backoff_ms = db->backoff_ms * 2 > db->max_ms ? db->max_ms : db->backoff_ms * 2;
	if (event_add(db->retry_ev, &tv) != 0)
		log_error("db: cannot arm the reconnect timer");
}

/* Fail every pending item with NULL, oldest first. Callbacks may queue new
 * items; those fail at once because the state is already DOWN. */
static void
db_fail_pending(struct db *db)
{
	struct db_pending *p;
	while ((p = db->head) != NULL) {
		db->head = p->next;
		if (db->head == NULL)
			db->tail = NULL;
		if (p->cb != NULL && !p->delivered)
			p->cb(NULL, p->arg);
		free(p);
	}
}

static void
db_lost(struct db *db, const char *why)
{
	bool was_up = db->state == DB_UP;
	if (!db->outage_logged) {
		log_warn("db: database unreachable (%s); retrying in the background", why);
		db->outage_logged = true;
	}
	db_drop_conn(db);
	db_fail_pending(db);
	if (was_up && db->state_cb != NULL)
		db->state_cb(0, db->state_arg);
	db_schedule_retry(db);
}

/* Copy libpq's connection error into `out` as one line. */
static const char *
db_conn_error(const struct db *db, char *out, size_t n)
{
	const char *m = db->conn != NULL ? PQerrorMessage(db->conn) : "out of memory";
	size_t i = 0;
	for (; m[i] != '\0' && m[i] != '\n' && i + 1 < n; i++)
		out[i] = m[i];
	out[i] = '\0';
	return i > 0 ? out : "connection failed";
}

/* --- connecting --- */

static void db_on_poll(evutil_socket_t fd, short what, void *arg);

static int
db_poll_wait(struct db *db, PostgresPollingStatusType st)
{
	struct timeval tv = { DB_CONNECT_TIMEOUT_S, 0 };
	if (db->poll_ev != NULL)
		event_free(db->poll_ev);
	db->poll_ev = NULL;
	int sock = PQsocket(db->conn);
	if (sock < 0)
		return -1;
	short ev = st == PGRES_POLLING_READING ? EV_READ : EV_WRITE;
	db->poll_ev = event_new(db->base, sock, ev, db_on_poll, db);
	if (db->poll_ev == NULL || event_add(db->poll_ev, &tv) != 0)
		return -1;
	return 0;
}

static void
db_start_connect(struct db *db)
{
	char err[256];
	db->conn = PQconnectStart(db->conninfo);
	if (db->conn == NULL || PQstatus(db->conn) == CONNECTION_BAD) {
		db_lost(db, db_conn_error(db, err, sizeof(err)));
		return;
	}
	db->state = DB_CONNECTING;
	if (db_poll_wait(db, PGRES_POLLING_WRITING) != 0)
		db_lost(db, "cannot watch the database socket");
}

static void db_on_read(evutil_socket_t fd, short what, void *arg);
static void db_on_write(evutil_socket_t fd, short what, void *arg);
static int db_send_prepares(struct db *db);

static void
db_connected(struct db *db)
{
	event_free(db->poll_ev);
	db->poll_ev = NULL;
	int sock = PQsocket(db->conn);
	if (PQsetnonblocking(db->conn, 1) != 0 || PQenterPipelineMode(db->conn) != 1) {
		db_lost(db, "cannot enter pipeline mode");
		return;
	}
	db->read_ev = event_new(db->base, sock, EV_READ | EV_PERSIST, db_on_read, db);
	db->write_ev = event_new(db->base, sock, EV_WRITE, db_on_write, db);
	if (db->read_ev == NULL || db->write_ev == NULL || event_add(db->read_ev, NULL) != 0) {
		db_lost(db, "cannot watch the database socket");
		return;
	}
	db->state = DB_UP;
	db->backoff_ms = db->min_ms;
	if (db->outage_logged)
		log_info("db: database connection restored");
	db->outage_logged = false;
	if (db_send_prepares(db) != 0) {
		db_lost(db, "cannot prepare statements");
		return;
	}
	if (db->state_cb != NULL)
		db->state_cb(1, db->state_arg);
}

static void
db_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	char err[256];
	(void)fd;
	if (what & EV_TIMEOUT) {
		db_lost(db, "connection timed out");
		return;
	}
	PostgresPollingStatusType st = PQconnectPoll(db->conn);
	switch (st) {
	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
		if (db_poll_wait(db, st) != 0)
			db_lost(db, "cannot watch the database socket");
		break;
	case PGRES_POLLING_OK:
		db_connected(db);
		break;
	default:
		db_lost(db, db_conn_error(db, err, sizeof(err)));
		break;
	}
}

/* --- I/O --- */

/* Push buffered output; arm the write event if some is left. 0 or -1. */
static int
db_flush(struct db *db)
{
	int r = PQflush(db->conn);
	if (r < 0)
		return -1;
	if (r == 1 && !event_pending(db->write_ev, EV_WRITE, NULL) &&
	    event_add(db->write_ev, NULL) != 0)
		return -1;
	return 0;
}

static struct db_pending *
db_pop(struct db *db)
{
	struct db_pending *p = db->head;
	db->head = p->next;
	if (db->head == NULL)
		db->tail = NULL;
	return p;
}

/* Hand every complete result to its callback, in order. */
static void
db_drain(struct db *db)
{
	struct db_pending *p;
	int nulls = 0;
	while (db->state == DB_UP && (p = db->head) != NULL && !PQisBusy(db->conn)) {
		PGresult *r = PQgetResult(db->conn);
		if (p->sync) {
			if (r == NULL) {
				/* After an error reported at the sync point: skip the NULL. */
				if (p->delivered && nulls++ == 0)
					continue;
				break;
			}
			nulls = 0;
			bool first = !p->delivered;
			p->delivered = true;
			if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
				/* An error at the sync point (e.g. a deferred constraint of
				 * an implicit transaction): report it, await the sync. */
				if (p->cb != NULL && first)
					p->cb(r, p->arg);
				PQclear(r);
				continue;
			}
			db_pop(db);
			if (p->cb != NULL && first)
				p->cb(r, p->arg);
			PQclear(r);
			free(p);
			continue;
		}
		nulls = 0;
		if (r == NULL) { /* end of this statement's results */
			db_pop(db);
			if (p->cb != NULL && !p->delivered)
				p->cb(NULL, p->arg);
			free(p);
			continue;
		}
		bool first = !p->delivered;
		p->delivered = true; /* before the callback, which may queue more */
		if (p->cb != NULL && first)
			p->cb(r, p->arg);
		PQclear(r);
	}
}

static void
db_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	char err[256];
	(void)fd;
	(void)what;
	if (PQconsumeInput(db->conn) != 1) {
		db_lost(db, db_conn_error(db, err, sizeof(err)));
		return;
	}
	db_drain(db);
	if (db->state != DB_UP)
		return;
	if (PQstatus(db->conn) == CONNECTION_BAD || db_flush(db) != 0)
		db_lost(db, db_conn_error(db, err, sizeof(err)));
}

static void
db_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	char err[256];
	(void)fd;
	(void)what;
	if (db_flush(db) != 0)
		db_lost(db, db_conn_error(db, err, sizeof(err)));
}

/* --- sending --- */

static struct db_pending *
db_pending_new(bool sync, db_result_cb cb, void *arg)
{
	struct db_pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->sync = sync;
	p->cb = cb;
	p->arg = arg;
	return p;
}

static void
db_link(struct db *db, struct db_pending *p)
{
	if (db->tail != NULL)
		db->tail->next = p;
	else
		db->head = p;
	db->tail = p;
}

/* Finish queuing `p`, whose request libpq took (sent = 1) or refused. A
 * refused request may have left half a message in libpq's buffer: the
 * connection cannot be trusted any more. Return 0 or -1 (p freed, its
 * callback never called). */
static int
db_queued(struct db *db, struct db_pending *p, int sent)
{
	if (sent != 1) {
		free(p);
		db_defer_lost(db);
		return -1;
	}
	db_link(db, p);
	if (db_flush(db) != 0)
		db_defer_lost(db);
	return 0;
}

static void
db_prepared_cb(const PGresult *res, void *arg)
{
	if (res != NULL && !db_result_ok(res))
		db_log_result(arg, res);
}

static int
db_send_one_prepare(struct db *db, const struct db_stmt *st)
{
	struct db_pending *p = db_pending_new(false, db_prepared_cb, st->name);
	if (p == NULL)
		return -1;
	return db_queued(db, p, PQsendPrepare(db->conn, st->name, st->sql, st->nparams, NULL));
}

static int
db_send_prepares(struct db *db)
{
	if (db->nstmts == 0)
		return 0;
	for (int i = 0; i < db->nstmts; i++)
		if (db_send_one_prepare(db, &db->stmts[i]) != 0)
			return -1;
	return db_sync(db, NULL, NULL);
}

int
db_prepare(struct db *db, const char *name, const char *sql, int nparams)
{
	if (db->nstmts >= DB_MAX_PREPARED)
		return -1;
	struct db_stmt *st = &db->stmts[db->nstmts];
	st->name = strdup(name);
	st->sql = strdup(sql);
	st->nparams = nparams;
	if (st->name == NULL || st->sql == NULL) {
		free(st->name);
		free(st->sql);
		return -1;
	}
	db->nstmts++;
	if (db->state != DB_UP)
		return 0;
	if (db_send_one_prepare(db, st) != 0 || db_sync(db, NULL, NULL) != 0)
		return -1;
	return 0;
}

/* The Prepare of a DB_Q_CACHED statement came back (NULL: the connection
 * went away, and with it the statement). */
static void
db_cached_cb(const PGresult *res, void *arg)
{
	struct db_cached *c = arg;
	c->st = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK ? DB_C_READY : DB_C_NONE;
}

/* The cache entry of `sql`, added if new and there is room; NULL if full
 * or out of memory (the statement then runs unprepared). */
static struct db_cached *
db_cached_get(struct db *db, const char *sql)
{
	unsigned long h = 5381;
	for (const unsigned char *p = (const unsigned char *)sql; *p != '\0'; p++)
		h = h * 33 + *p;
	for (int i = 0; i < db->ncached; i++)
		if (db->cached[i].hash == h && strcmp(db->cached[i].sql, sql) == 0)
			return &db->cached[i];
	if (db->ncached == DB_MAX_CACHED)
		return NULL;
	struct db_cached *c = &db->cached[db->ncached];
	if ((c->sql = strdup(sql)) == NULL)
		return NULL;
	c->hash = h;
	c->st = DB_C_NONE;
	snprintf(c->name, sizeof(c->name), "tipd_q%d", db->ncached);
	db->ncached++;
	return c;
}

/*
 * For a DB_Q_CACHED `sql`: the name of its prepared statement to run, or
 * NULL to send it unprepared (while its Prepare is in flight, or if the
 * cache is full). On first use on this connection its Prepare is queued
 * first: the query right behind it in the pipeline runs it (if the Prepare
 * fails, the pipeline aborts the query too, until the Sync). *err = 1 if
 * libpq refused the Prepare (the connection is being dropped).
 */
static const char *
db_cached_name(struct db *db, const char *sql, int nparams, int *err)
{
	struct db_cached *c = db_cached_get(db, sql);
	*err = 0;
	if (c == NULL || c->st == DB_C_PENDING)
		return NULL;
	if (c->st == DB_C_NONE) {
		struct db_pending *p = db_pending_new(false, db_cached_cb, c);
		if (p == NULL)
			return NULL;
		if (db_queued(db, p, PQsendPrepare(db->conn, c->name, sql, nparams, NULL)) != 0) {
			*err = 1;
			return NULL;
		}
		c->st = DB_C_PENDING;
	}
	return c->name;
}

/* Send one query: the statement `sql`, or (`prepared`) the prepared
 * statement named `sql`; return 0, or -1 (see db_query). */
static int
db_send_query(struct db *db, bool prepared, const char *sql, int nparams,
              const char *const *values, const int *lengths, const int *formats,
              unsigned flags, db_result_cb cb, void *arg)
{
	if (db->state != DB_UP)
		return -1;
	if (!prepared && (flags & DB_Q_CACHED)) {
		int err;
		const char *name = db_cached_name(db, sql, nparams, &err);
		if (err)
			return -1;
		if (name != NULL) {
			sql = name;
			prepared = true;
		}
	}
	struct db_pending *p = db_pending_new(false, cb, arg);
	if (p == NULL)
		return -1;
	int rfmt = (flags & DB_Q_BINARY) ? 1 : 0;
	int sent = prepared ? PQsendQueryPrepared(db->conn, sql, nparams, values, lengths, formats,
	                                          rfmt)
	                    : PQsendQueryParams(db->conn, sql, nparams, NULL, values, lengths,
	                                        formats, rfmt);
	return db_queued(db, p, sent);
}

int
db_query(struct db *db, const char *sql, int nparams, const char *const *values,
         const int *lengths, const int *formats, db_result_cb cb, void *arg)
{
	return db_send_query(db, false, sql, nparams, values, lengths, formats, 0, cb, arg);
}

int
db_query_ex(struct db *db, const char *sql, int nparams, const char *const *values,
            const int *lengths, const int *formats, unsigned flags, db_result_cb cb, void *arg)
{
	return db_send_query(db, false, sql, nparams, values, lengths, formats, flags, cb, arg);
}

int
db_query_prepared(struct db *db, const char *name, int nparams, const char *const *values,
                  const int *lengths, const int *formats, db_result_cb cb, void *arg)
{
	return db_send_query(db, true, name, nparams, values, lengths, formats, 0, cb, arg);
}

int
db_sync(struct db *db, db_result_cb cb, void *arg)
{
	if (db->state != DB_UP)
		return -1;
	struct db_pending *p = db_pending_new(true, cb, arg);
	if (p == NULL)
		return -1;
	return db_queued(db, p, PQpipelineSync(db->conn));
}

int
db_result_ok(const PGresult *res)
{
	if (res == NULL)
		return 0;
	ExecStatusType st = PQresultStatus(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_PIPELINE_SYNC;
}

void
db_log_result(const char *what, const PGresult *res)
{
	if (res == NULL) {
		log_warn("db: %s: connection lost", what);
		return;
	}
	/* The primary message may quote a value ("... out of range: \"x\""):
	 * log only the SQLSTATE and schema names. */
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
	const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
	const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	log_warn("db: %s: %s SQLSTATE %s%s%s%s%s%s%s", what, PQresStatus(PQresultStatus(res)),
	         state != NULL ? state : "-", table != NULL ? " table " : "",
	         table != NULL ? table : "", column != NULL ? " column " : "",
	         column != NULL ? column : "", cons != NULL ? " constraint " : "",
	         cons != NULL ? cons : "");
}

/* ---- steps ---- */

void
db_step_init(struct db_step *s, struct db *db, const char *what, db_step_row_fn row,
             db_step_done_fn done, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->db = db;
	s->what = what;
	s->row = row;
	s->done = done;
	s->arg = arg;
}

/* Once every result and the Sync are in: reset the step and say how it ended. */
static void
step_maybe_finish(struct db_step *s)
{
	if (s->qdone < s->qn || !s->synced)
		return;
	enum db_step_end end = s->lost ? DB_STEP_LOST : s->failed ? DB_STEP_FAILED : DB_STEP_OK;
	s->qn = s->qdone = 0;
	s->synced = s->lost = s->failed = false;
	s->done(s->arg, end);
}

static void
step_query_cb(const PGresult *res, void *arg)
{
	struct db_step *s = arg;
	unsigned i = s->qdone++;
	if (res == NULL) {
		s->lost = true;
	} else if (!db_result_ok(res)) {
		if (PQresultStatus(res) != PGRES_PIPELINE_ABORTED)
			db_log_result(s->what, res);
		s->failed = true;
	} else if (s->row != NULL && !s->failed && !s->lost) {
		s->row(s->arg, i, res);
	}
	step_maybe_finish(s);
}

static void
step_sync_cb(const PGresult *res, void *arg)
{
	struct db_step *s = arg;
	s->synced = true;
	if (res == NULL)
		s->lost = true;
	else if (PQresultStatus(res) != PGRES_PIPELINE_SYNC)
		s->failed = true;
	step_maybe_finish(s);
}

void
db_step_fail(struct db_step *s)
{
	if (s->lost || s->failed)
		return;
	s->failed = true;
	/* The last slot is kept for this: an error that aborts the step's
	 * implicit transaction, so nothing it queued commits at the Sync. */
	s->qn++;
	if (s->db == NULL || db_query(s->db, "select 1 / 0 -- the step failed; roll it back", 0,
	                              NULL, NULL, NULL, step_query_cb, s) != 0) {
		s->qn--;
		s->lost = true;
	}
}

void
db_step_mark_failed(struct db_step *s)
{
	s->failed = true;
}

void
db_step_q(struct db_step *s, const char *sql, int n, const char *const *values,
          const int *lengths, const int *formats)
{
	db_step_q_ex(s, sql, n, values, lengths, formats, 0);
}

void
db_step_q_ex(struct db_step *s, const char *sql, int n, const char *const *values,
             const int *lengths, const int *formats, unsigned flags)
{
	if (s->lost || s->failed)
		return;
	if (s->qn == DB_STEP_MAX - 1) {
		log_error("%s: a step queued more than %d statements", s->what, DB_STEP_MAX - 1);
		db_step_fail(s);
		return;
	}
	s->qn++;
	if (s->db == NULL ||
	    db_query_ex(s->db, sql, n, values, lengths, formats, flags, step_query_cb, s) != 0) {
		s->qn--;
		s->lost = true;
	}
}

void
db_step_run(struct db_step *s)
{
	/* Sync even after a failure: the statements already queued must end
	 * (an error among them rolls them all back). */
	if (s->lost || s->db == NULL || db_sync(s->db, step_sync_cb, s) != 0) {
		/* Results already queued still come back (NULL if the connection
		 * is dropped); finish when the last one is in. */
		if (!s->failed)
			s->lost = true;
		s->synced = true;
		step_maybe_finish(s);
	}
}
