/*
 * db: one asynchronous PostgreSQL connection on a libevent loop.
 *
 * The connection is made with PQconnectStart/PQconnectPoll driven by events on
 * its socket and then kept in pipeline mode: queries are queued with
 * db_query/db_query_prepared and a pipeline segment is closed with db_sync.
 * Each queued item gets exactly one callback, in order, on the loop. If the
 * server goes away, every pending callback gets a NULL result and the
 * connection is re-established in the background with exponential backoff
 * (logged once per outage). Registered prepared statements are prepared again
 * on every new connection.
 *
 * No DNS on a loop: the conninfo must name a unix socket directory
 * (host=/path) or a numeric hostaddr=.
 *
 * Not thread-safe: use a db only on the thread that runs its event_base.
 */
#ifndef TIPD_DB_H
#define TIPD_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

struct event_base;
struct db;

/* Called with a query's result (borrowed: valid only during the call), or
 * NULL if the connection was lost before the result arrived. For db_sync the
 * result has status PGRES_PIPELINE_SYNC. */
typedef void (*db_result_cb)(const PGresult *res, void *arg);
/* Called when the connection comes up (up = 1) or goes down (up = 0). */
typedef void (*db_state_cb)(int up, void *arg);

/* Return 0 if `conninfo` parses and needs no name lookup (every host is an
 * absolute socket directory, or hostaddr is set), or -1 (logged). */
int db_conninfo_check(const char *conninfo) __attribute__((warn_unused_result));

/* Create a connection on `base` and start connecting. NULL on a bad conninfo
 * or out of memory. The conninfo is copied. */
struct db *db_new(struct event_base *base, const char *conninfo);
/* Close the connection; pending callbacks are NOT called. NULL is fine.
 * Must not be called from inside a db callback. */
void db_free(struct db *db);
/* Set the state callback (may be NULL). */
void db_set_state_cb(struct db *db, db_state_cb cb, void *arg);
/* Set the reconnect backoff range in milliseconds (default 100 .. 2000). */
void db_set_backoff(struct db *db, unsigned min_ms, unsigned max_ms);

/* Register a prepared statement, prepared now if connected and again on every
 * reconnect. Register before queuing queries that use it. Return 0 or -1. */
int db_prepare(struct db *db, const char *name, const char *sql, int nparams)
	__attribute__((warn_unused_result));

/* If connected, drop the connection as if the server had gone away: every
 * pending callback gets NULL before this returns; reconnect later. */
void db_reset(struct db *db, const char *why);

/* Return 1 if connected (queries may be queued), else 0. */
int db_is_up(const struct db *db);

/* Queue one statement with parameters (`formats[i]` = 1 for binary, as for
 * bytea; lengths and formats may be NULL for all-text). Parameters are copied
 * before return. `cb` may be NULL. Return 0, or -1 if down or on error (cb is
 * then not called). Results arrive after the next db_sync. */
int db_query(struct db *db, const char *sql, int nparams, const char *const *values,
             const int *lengths, const int *formats, db_result_cb cb, void *arg)
	__attribute__((warn_unused_result));
/* Flags of db_query_ex and db_step_q_ex. */
#define DB_Q_BINARY 1u /* results in binary format (bytea as its bytes, no hex text) */
/* Prepared on first use on each connection (named after its text, up to 64
 * texts a db) and run prepared from then on: the planning of a hot statement
 * is paid once per connection, not per request (PostgreSQL may also keep a
 * generic plan: only for statements whose plan does not depend on which
 * parameters are NULL). A new connection prepares again on first use. */
#define DB_Q_CACHED 2u
/* db_query with `flags`. */
int db_query_ex(struct db *db, const char *sql, int nparams, const char *const *values,
                const int *lengths, const int *formats, unsigned flags, db_result_cb cb,
                void *arg) __attribute__((warn_unused_result));
/* Same with a statement registered by db_prepare. */
int db_query_prepared(struct db *db, const char *name, int nparams, const char *const *values,
                      const int *lengths, const int *formats, db_result_cb cb, void *arg)
	__attribute__((warn_unused_result));
/* End the pipeline segment: statements since the last sync not inside an
 * explicit BEGIN run as one implicit transaction; after an error the rest of
 * the segment is skipped (PGRES_PIPELINE_ABORTED). Return 0 or -1. */
int db_sync(struct db *db, db_result_cb cb, void *arg) __attribute__((warn_unused_result));

/* Return 1 if `res` is a successful command or query result, else 0. */
int db_result_ok(const PGresult *res);
/* Log a failed result at warn level: SQLSTATE, table, column and constraint
 * names only (messages and DETAIL can quote row values). */
void db_log_result(const char *what, const PGresult *res);

/*
 * Steps: the one asynchronous "pipelined step" engine of tipd's request
 * surfaces (the review API and the source inbox). A step is up to
 * DB_STEP_MAX - 1 statements queued with db_step_q and closed by
 * db_step_run with one Sync, so they commit or fail together. `row` sees
 * each statement's result (by the order it was queued) if it succeeded and
 * the step has not failed; once every result and the Sync are in, the step
 * is reset and `done` gets how it ended: DB_STEP_LOST (the connection was
 * down or went away: answer 503), DB_STEP_FAILED (a statement failed, or
 * db_step_fail or db_step_mark_failed: answer 500), or DB_STEP_OK. `done`
 * may queue the next step on the same struct.
 */
#define DB_STEP_MAX 12
enum db_step_end { DB_STEP_OK, DB_STEP_LOST, DB_STEP_FAILED };
typedef void (*db_step_row_fn)(void *arg, unsigned i, const PGresult *res);
typedef void (*db_step_done_fn)(void *arg, enum db_step_end end);
struct db_step {
	struct db *db;    /* NULL: every step is lost */
	const char *what; /* the log prefix of failed statements */
	db_step_row_fn row;
	db_step_done_fn done;
	void *arg;
	unsigned qn, qdone;
	bool synced, lost, failed;
};

/* Set up `s` on `db` (may be NULL) with its callbacks. */
void db_step_init(struct db_step *s, struct db *db, const char *what, db_step_row_fn row,
                  db_step_done_fn done, void *arg);
/* Queue a statement of the current step (parameters as in db_query); the
 * DB_STEP_MAX - 1st fails the step. Nothing is queued once the step failed
 * or was lost. */
void db_step_q(struct db_step *s, const char *sql, int n, const char *const *values,
               const int *lengths, const int *formats);
/* db_step_q with db_query_ex's `flags`. */
void db_step_q_ex(struct db_step *s, const char *sql, int n, const char *const *values,
                  const int *lengths, const int *formats, unsigned flags);
/* Fail the current step before its Sync: an error is queued into it, so
 * nothing it queued commits. */
void db_step_fail(struct db_step *s);
/* Mark the step failed (e.g. a result that cannot be used); what it queued
 * still commits unless a later statement fails. */
void db_step_mark_failed(struct db_step *s);
/* Close the step with a Sync (even after a failure: what was queued must
 * end); `done` runs once every result is in. */
void db_step_run(struct db_step *s);

#endif
