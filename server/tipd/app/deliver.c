/* How delivery of the spool starts, beside serving (deliver.h). */
#include "deliver.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "flusher.h"
#include "inbox.h"
#include "inbox_share.h"
#include "log.h"

struct deliver {
	struct app *app;
	pthread_t thread;
	atomic_bool stop;      /* deliver_join: give up the rebuild */
	struct event *failed;  /* on app->base: delivery failed, stop tipd */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool rebuilt;          /* the rebuild ended (under mu, signalled on cv) */
	int result;            /* deliver_join's answer, once the thread ended */
};

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
on_failed(evutil_socket_t fd, short what, void *arg)
{
	struct app *app = arg;
	(void)fd;
	(void)what;
	log_error("stopping: the spool cannot be delivered");
	event_base_loopbreak(app->base);
}

/* The inbox's pending set, as the sharing thread asks for it. */
static size_t
pending_export(void *inbox, uint8_t *out, size_t max)
{
	return inbox_pending_export(inbox, out, max);
}

static void *
deliver_main(void *arg)
{
	struct deliver *d = arg;
	struct app *app = d->app;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
#ifdef TIPLINE_TEST_HOOKS
	/* Test builds only: a spool slow to read, to see what tipd serves and
	 * holds back meanwhile (tests/integration/test_inbox.c). */
	const char *delay = getenv("TIPD_TEST_SPOOL_READ_DELAY_MS");
	if (delay != NULL)
		usleep((useconds_t)strtoul(delay, NULL, 10) * 1000);
#endif
	int n = inbox_pending_rebuild(app->inbox, app->spool, &d->stop);
	pthread_mutex_lock(&d->mu);
	d->rebuilt = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (n < 0 && atomic_load(&d->stop)) {
		d->result = 1;
		return NULL;
	}
	if (n < 0) {
		log_error("inbox: cannot read the spool to rebuild the pending set");
		goto fail;
	}
	log_info("inbox: %d spooled reports not yet delivered (spool read in %.1f s)", n,
	         seconds_since(&t0));
	if (app->ishare != NULL && ishare_start(app->ishare, pending_export, app->inbox,
	                                        app->cfg->db_conninfo,
	                                        app->cfg->pending_share_ms) != 0) {
		log_error("inbox: cannot start sharing the pending set");
		goto fail;
	}
	if (app->ishare != NULL)
		log_info("inbox: sharing the pending set every %u ms as host %s",
		         app->cfg->pending_share_ms, ishare_host(app->ishare));
	flusher_release(app->flusher);
	d->result = 0;
	return NULL;
fail:
	d->result = -1;
	event_active(d->failed, EV_TIMEOUT, 0);
	return NULL;
}

struct deliver *
deliver_start(struct app *app, unsigned wait_ms)
{
	struct deliver *d = calloc(1, sizeof(*d));
	if (d == NULL || (d->failed = event_new(app->base, -1, 0, on_failed, app)) == NULL) {
		free(d);
		log_error("out of memory");
		return NULL;
	}
	d->app = app;
	atomic_init(&d->stop, false);
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	int err = pthread_create(&d->thread, NULL, deliver_main, d);
	if (err != 0) {
		log_error("cannot start the delivery thread: %s", strerror(err));
		event_free(d->failed);
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return NULL;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&d->mu);
	while (!d->rebuilt && pthread_cond_timedwait(&d->cv, &d->mu, &until) != ETIMEDOUT)
		;
	bool rebuilt = d->rebuilt;
	pthread_mutex_unlock(&d->mu);
	if (!rebuilt)
		log_info("inbox: still reading the spool; serving meanwhile (the inbox answers 503 "
		         "until it is read, and the flusher waits for it)");
	return d;
}

int
deliver_join(struct deliver *d)
{
	if (d == NULL)
		return 1;
	atomic_store(&d->stop, true);
	pthread_join(d->thread, NULL);
	int rc = d->result;
	event_free(d->failed);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
	return rc;
}
