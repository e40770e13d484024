/*
 * deliver: how delivery of the spool starts, beside serving. The inbox's
 * pending set is rebuilt from the spool first (every spooled report's
 * lookup id, so that a source whose report is not in PostgreSQL yet reads
 * "on its way", not "not found"); only then may the flusher run (a file it
 * flushed during the rebuild would leave its id in the set for good) and
 * the set be shared with the other hosts. A backlog of a million reports
 * takes minutes to read, so this runs in a thread of its own while intake
 * and the review API serve; the inbox answers 503 until the set is ready.
 */
#ifndef TIPD_DELIVER_H
#define TIPD_DELIVER_H

struct app;
struct deliver;

/* Start the thread: rebuild the pending set from app->spool, then start
 * app->ishare (if any) and release app->flusher (started, held:
 * flusher_hold). Wait at most `wait_ms` for the
 * rebuild (a usual spool is read in well under a second, and then tipd is
 * ready with the inbox ready too). If it fails later, tipd stops: an event
 * on app->base breaks its loop. NULL (logged) if the thread cannot start. */
struct deliver *deliver_start(struct app *app, unsigned wait_ms);
/* Stop the rebuild if it still runs, wait for the thread and free `d`.
 * Return 0 if the flusher was released, 1 if the rebuild was stopped before
 * it finished, -1 if delivery failed to start. NULL `d` gives 1. */
int deliver_join(struct deliver *d);

#endif
