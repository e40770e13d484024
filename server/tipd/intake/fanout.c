/*
 * fanout: see fanout.h.
 *
 * A run publishes its items under the mutex with a new generation number;
 * every thread (the caller and the helpers) then takes the next index with
 * an atomic counter until none is left, and the last call to finish wakes
 * the caller. Helpers sleep on a condition variable between runs. A helper
 * counts itself in `active` while it takes items: the run's fields change
 * only under the mutex while no helper is active, so a helper that wakes
 * late never takes an item of the next run with the previous run's view.
 */
#include "fanout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define FANOUT_MAX_THREADS 64
/* A helper's stack: enough for what it runs (a file's fsync, close and
 * rename), and small, since tipd locks its memory (mlockall). */
#define FANOUT_STACK (256u << 10)

struct fanout {
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* a new run, or stopping */
	pthread_cond_t done_cv; /* the last call of a run returned */
	unsigned max_threads;
	unsigned nhelpers;
	bool started; /* helpers were started (or tried) */
	bool stopping;
	char name[16];
	pthread_t helpers[FANOUT_MAX_THREADS];
	/* the current run */
	unsigned long gen;
	void **items;
	size_t n;
	_Atomic size_t next;
	size_t pending;  /* calls not yet returned, under mu */
	unsigned active; /* helpers taking items, under mu */
	void (*fn)(void *item);
};

/* Take items of the current run until none is left; return how many calls
 * this thread made. */
static size_t
take_items(struct fanout *f)
{
	size_t done = 0, i;
	while ((i = atomic_fetch_add(&f->next, 1)) < f->n) {
		f->fn(f->items[i]);
		done++;
	}
	return done;
}

/* Count `done` calls as returned (and the helper as gone if `helper`); wake
 * the caller when the run is over. Called with the mutex held. */
static void
calls_returned(struct fanout *f, size_t done, bool helper)
{
	f->pending -= done;
	if (helper)
		f->active--;
	if (f->pending == 0 && f->active == 0)
		pthread_cond_signal(&f->done_cv);
}

/* A helper thread: wait for a new run, take its items, repeat until stopped. */
static void *
helper_main(void *arg)
{
	struct fanout *f = arg;
	unsigned long seen = 0;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->gen == seen && !f->stopping)
			pthread_cond_wait(&f->work_cv, &f->mu);
		if (f->stopping)
			break;
		seen = f->gen;
		f->active++;
		pthread_mutex_unlock(&f->mu);
		size_t done = take_items(f);
		pthread_mutex_lock(&f->mu);
		calls_returned(f, done, true);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

struct fanout *
fanout_new(unsigned threads, const char *name)
{
	struct fanout *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	if (pthread_mutex_init(&f->mu, NULL) != 0)
		goto fail_mu;
	if (pthread_cond_init(&f->work_cv, NULL) != 0)
		goto fail_work;
	if (pthread_cond_init(&f->done_cv, NULL) != 0)
		goto fail_done;
	f->max_threads = threads;
	if (f->max_threads < 1)
		f->max_threads = 1;
	if (f->max_threads > FANOUT_MAX_THREADS)
		f->max_threads = FANOUT_MAX_THREADS;
	for (size_t i = 0; i + 1 < sizeof(f->name) && name[i] != '\0'; i++)
		f->name[i] = name[i];
	return f;
fail_done:
	pthread_cond_destroy(&f->work_cv);
fail_work:
	pthread_mutex_destroy(&f->mu);
fail_mu:
	free(f);
	return NULL;
}

/* Start the helper threads (once); those that cannot start are left out. */
static void
start_helpers(struct fanout *f)
{
	pthread_attr_t attr;
	f->started = true;
	if (pthread_attr_init(&attr) != 0)
		return;
	if (pthread_attr_setstacksize(&attr, FANOUT_STACK) == 0) {
		while (f->nhelpers + 1 < f->max_threads) {
			pthread_t *th = &f->helpers[f->nhelpers];
			if (pthread_create(th, &attr, helper_main, f) != 0)
				break;
			(void)pthread_setname_np(*th, f->name);
			f->nhelpers++;
		}
	}
	pthread_attr_destroy(&attr);
}

void
fanout_run(struct fanout *f, void **items, size_t n, void (*fn)(void *item))
{
	if (n == 0)
		return;
	pthread_mutex_lock(&f->mu);
	if (n > 1 && !f->started)
		start_helpers(f);
	while (f->active > 0) /* a helper that woke late for the previous run */
		pthread_cond_wait(&f->done_cv, &f->mu);
	f->items = items;
	f->n = n;
	f->fn = fn;
	f->pending = n;
	atomic_store(&f->next, 0);
	if (n > 1 && f->nhelpers > 0) {
		f->gen++;
		pthread_cond_broadcast(&f->work_cv);
	}
	pthread_mutex_unlock(&f->mu);
	size_t done = take_items(f);
	pthread_mutex_lock(&f->mu);
	calls_returned(f, done, false);
	while (f->pending > 0 || f->active > 0)
		pthread_cond_wait(&f->done_cv, &f->mu);
	f->items = NULL;
	f->n = 0;
	pthread_mutex_unlock(&f->mu);
}

void
fanout_free(struct fanout *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_cond_broadcast(&f->work_cv);
	pthread_mutex_unlock(&f->mu);
	for (unsigned i = 0; i < f->nhelpers; i++)
		pthread_join(f->helpers[i], NULL);
	pthread_cond_destroy(&f->done_cv);
	pthread_cond_destroy(&f->work_cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
