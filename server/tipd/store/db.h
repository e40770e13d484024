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

#endif
