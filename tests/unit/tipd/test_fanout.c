/* Unit tests for fanout: every item runs once, runs overlap, runs in a row
 * never mix. The spool's committer fsyncs a group's files through it. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "fanout.h"

struct item {
	_Atomic int calls;
	unsigned run;     /* the run the item belongs to */
	pthread_t thread; /* the thread that called it */
};

static _Atomic int running; /* calls in progress right now */
static _Atomic int most_running;
static _Atomic unsigned current_run;
static _Atomic int wrong_run;

/* Sleep `ms` milliseconds. */
static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Record how many calls overlap, and the calling thread; take 20 ms. */
static void
slow_call(void *arg)
{
	struct item *it = arg;
	int now = atomic_fetch_add(&running, 1) + 1;
	int m = atomic_load(&most_running);
	while (now > m && !atomic_compare_exchange_weak(&most_running, &m, now))
		;
	it->thread = pthread_self();
	sleep_ms(20);
	atomic_fetch_add(&it->calls, 1);
	atomic_fetch_sub(&running, 1);
}

/* Count the call, and whether its item belongs to the current run. */
static void
quick_call(void *arg)
{
	struct item *it = arg;
	if (it->run != atomic_load(&current_run))
		atomic_fetch_add(&wrong_run, 1);
	atomic_fetch_add(&it->calls, 1);
}

Test(fanout, every_item_runs_once_on_several_threads_and_run_waits_for_all)
{
	struct item items[16] = { 0 };
	void *ptrs[16];
	for (int i = 0; i < 16; i++)
		ptrs[i] = &items[i];
	struct fanout *f = fanout_new(4, "test-fanout");
	cr_assert_not_null(f);
	atomic_store(&most_running, 0);
	fanout_run(f, ptrs, 16, slow_call);
	cr_assert_eq(atomic_load(&running), 0, "fanout_run returned before every call did");
	for (int i = 0; i < 16; i++)
		cr_assert_eq(atomic_load(&items[i].calls), 1, "item %d ran %d times", i,
		             atomic_load(&items[i].calls));
	/* 16 calls of 20 ms on 4 threads: they overlap, at most 4 at once. */
	cr_assert_geq(atomic_load(&most_running), 2, "the calls never overlapped");
	cr_assert_leq(atomic_load(&most_running), 4, "more calls at once than threads");
	fanout_free(f);
}

Test(fanout, one_thread_runs_everything_on_the_callers_thread)
{
	struct item items[5] = { 0 };
	void *ptrs[5];
	for (int i = 0; i < 5; i++)
		ptrs[i] = &items[i];
	struct fanout *f = fanout_new(1, "test-fanout");
	cr_assert_not_null(f);
	atomic_store(&most_running, 0);
	fanout_run(f, ptrs, 5, slow_call);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(atomic_load(&items[i].calls), 1);
		cr_assert(pthread_equal(items[i].thread, pthread_self()));
	}
	cr_assert_eq(atomic_load(&most_running), 1);
	fanout_free(f);
}

Test(fanout, runs_in_a_row_never_mix_their_items, .timeout = 60)
{
	enum { RUNS = 3000, MAXN = 9 };
	static struct item items[2][MAXN];
	void *ptrs[MAXN];
	struct fanout *f = fanout_new(8, "test-fanout");
	cr_assert_not_null(f);
	for (unsigned r = 1; r <= RUNS; r++) {
		/* Alternate two arrays, so that an item of the previous run is
		 * still there to be (wrongly) called. */
		struct item *v = items[r % 2];
		size_t n = 1 + r % MAXN;
		for (size_t i = 0; i < n; i++) {
			atomic_store(&v[i].calls, 0);
			v[i].run = r;
			ptrs[i] = &v[i];
		}
		atomic_store(&current_run, r);
		fanout_run(f, ptrs, n, quick_call);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(atomic_load(&v[i].calls), 1, "run %u: item %zu ran %d times",
			             r, i, atomic_load(&v[i].calls));
	}
	cr_assert_eq(atomic_load(&wrong_run), 0, "an item was called during another run");
	fanout_free(f);
}

Test(fanout, free_without_a_run_and_null_are_fine)
{
	fanout_free(fanout_new(8, "test-fanout"));
	fanout_free(NULL);
	void *none[1] = { NULL };
	struct fanout *f = fanout_new(3, "a-name-longer-than-fifteen");
	cr_assert_not_null(f);
	fanout_run(f, none, 0, quick_call); /* no item: nothing is called */
	fanout_free(f);
}
