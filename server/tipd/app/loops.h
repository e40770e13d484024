/*
 * loops: tipd's event loops, one per core by default. Loop 0 runs on the
 * main thread (it also takes the signals); the others run on their own
 * threads. Every loop has its own listeners on the same TCP addresses
 * (SO_REUSEPORT: the kernel spreads connections across them), so a
 * connection and everything it does stays on one loop. A unix socket can
 * have one listener only: it lives on loop 0.
 */
#ifndef TIPD_LOOPS_H
#define TIPD_LOOPS_H

struct app;
struct loops;
struct event_base;
struct db;

#define LOOPS_MAX 64

/* Make `n` event loops; loop 0's base becomes app->base. NULL on error. */
struct loops *loops_new(struct app *app, unsigned n);
/* Open the configured listeners on every loop; return 0, or -1 (logged). */
int loops_listen(struct loops *l);
/* Start the loop threads (all but loop 0). Return 0 or -1. */
int loops_start(struct loops *l);
/* Stop accepting on every loop (thread-safe; used when draining). */
void loops_stop_accepting(struct loops *l);
/* Break the loop threads out of their loops and join them. */
void loops_stop(struct loops *l);
/* Stop the threads, free the listeners and let each loop run the deferred
 * frees of its closed connections. NULL is fine. */
void loops_close(struct loops *l);
/* Free the event bases and `l` (last: the spool may still deliver commit
 * callbacks to them until it is freed). NULL is fine. */
void loops_free_bases(struct loops *l);
unsigned loops_count(const struct loops *l);
/* Give every loop its own asynchronous database connection (db.h) on its
 * base, which its routers are given (routes.h); call before loops_start.
 * Return 0, or -1 (logged). */
int loops_open_db(struct loops *l, const char *conninfo);

#endif
