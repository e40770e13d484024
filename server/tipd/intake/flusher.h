/*
 * flusher: moves committed spool files into PostgreSQL (docs/architecture.md §2).
 *
 * Runs on its own thread with its own event_base and asynchronous database
 * connection. Every interval, on flusher_flush_now() and once more at
 * shutdown it makes one pass over the whole spool: it walks the committed
 * files in name order, listing at most `list_max` names at a time after a
 * cursor, and takes them in batches; each batch is shuffled and every entry
 * inserted (report row dated with the entry's day, attachment and message
 * rows, one header row per recipient, the inbox row; a forget record deletes
 * the inbox row) with ON CONFLICT DO NOTHING in one transaction per batch,
 * pipelined. Files are unlinked only after COMMIT succeeds, so a crash or an
 * unknown commit outcome replays them exactly once.
 *
 * An entry whose team is not in `teams` (or whose report is neither in the
 * database nor in the batch) is kept back in the spool; the pass goes on
 * past it, so kept-back entries never hide deliverable ones, and their
 * number is logged once per pass (no path, no report id). If the batch
 * transaction fails anyway, the entries are retried one transaction each, so
 * one bad entry never holds back the others; entries that still fail stay in
 * the spool. While PostgreSQL is unreachable files stay and every tick counts
 * a failure; the outage is logged once (by db), and the pass goes on from its
 * cursor when the database is back.
 *
 * The process must call evthread_use_pthreads() before flusher_start().
 */
#ifndef TIPD_FLUSHER_H
#define TIPD_FLUSHER_H

#include <stdint.h>

struct spool;
struct flusher;

#define FLUSHER_DEFAULT_INTERVAL_MS 300000u
#define FLUSHER_BATCH_MAX 128               /* files per batch */
#define FLUSHER_LIST_MAX 1024             /* spool files listed at a time (default) */
#define FLUSHER_BATCH_BYTES (64u << 20)     /* payload bytes per batch (>= 1 file) */

struct flusher_stats {
	uint64_t entries;  /* spool files flushed and removed */
	uint64_t rows;     /* rows inserted (conflicts not counted) */
	uint64_t batches;  /* batches committed */
	uint64_t failures; /* ticks or batches that left files behind */
	uint64_t skipped;  /* entries kept for the operator (unknown team, bad rows) */
};

/* Create a flusher for `spool` (borrowed; must outlive the flusher) that
 * connects with `conninfo` (copied; unix socket dir or hostaddr only) every
 * `interval_ms` (0 means FLUSHER_DEFAULT_INTERVAL_MS). NULL on error. */
struct flusher *flusher_new(struct spool *spool, const char *conninfo, unsigned interval_ms);
/* Called on the flusher's thread after a commit, once per flushed entry that
 * carried an inbox or a forget record, with its lookup id. */
typedef void (*flusher_flushed_cb)(const uint8_t lookup_id[32], void *arg);
/* Set the flushed-entry callback (may be NULL); call before flusher_start. */
void flusher_set_flushed_cb(struct flusher *f, flusher_flushed_cb cb, void *arg);
/* List at most `n` spool files at a time (0: FLUSHER_LIST_MAX); call
 * before flusher_start. */
void flusher_set_list_max(struct flusher *f, unsigned n);
/* Start the thread and the connection. Return 0 or -1. */
int flusher_start(struct flusher *f) __attribute__((warn_unused_result));
/* Start no pass (at a tick, on request or at flusher_stop) until
 * flusher_release: for the inbox's pending set to be rebuilt from the spool
 * first. Call before flusher_start. */
void flusher_hold(struct flusher *f);
/* End flusher_hold (from any thread): the next tick, request or stop
 * starts a pass. */
void flusher_release(struct flusher *f);
/* Ask for a flush as soon as possible (from any thread). Return 0, or -1 if
 * not running. */
int flusher_flush_now(struct flusher *f);
/* Flush once more (waiting for the database up to `timeout_ms`), then stop
 * the thread. Return 0 if the spool is empty afterwards, -1 if files remain. */
int flusher_stop(struct flusher *f, unsigned timeout_ms);
/* Stop if running and free. NULL is fine. */
void flusher_free(struct flusher *f);
/* Copy the counters (any thread). */
void flusher_get_stats(const struct flusher *f, struct flusher_stats *out);

/* The flusher's INSERT statements for a report, its headers and its inbox,
 * for the benchmark's database reference (tests/bench/bench_pg.c), which
 * sends exactly these. */
extern const char *const flusher_sql_report;
extern const char *const flusher_sql_header;
extern const char *const flusher_sql_inbox;

#endif
