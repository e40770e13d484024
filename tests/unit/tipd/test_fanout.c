/* Unit tests for fanout: every item runs once, runs overlap, runs in a row
 * never mix; and the spool's committer fsyncs a group's files through it. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sodium.h>

#include "fanout.h"
#include "spool.h"
#include "util.h"

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

/* --- the spool's group commit --- */

#define GROUP_FILES 64

struct commits {
	struct event_base *base;
	int done;
	int ok;
};

/* A commit's callback: count it; stop the loop after the last. */
static void
on_commit(int ok, void *arg)
{
	struct commits *c = arg;
	c->ok += ok;
	if (++c->done == GROUP_FILES)
		event_base_loopbreak(c->base);
}

/* Return the number of this process's threads named `name`. */
static int
threads_named(const char *name)
{
	char path[300], comm[32];
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL && strncmp(comm, name, strlen(name)) == 0)
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Queue one small complete submission for commit. */
static void
queue_one(struct spool *s, struct commits *c)
{
	char report[UUID_STR_LEN];
	uint8_t ids[64] = { 1 };
	util_uuid(report);
	struct spool_txn *t = spool_begin(s, report, "team-a", "2024-02-29");
	cr_assert_not_null(t);
	cr_assert_eq(spool_object(t, SPOOL_REPORT, report), 0);
	cr_assert_eq(spool_header(t, report,
	                          "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
	                          (const uint8_t *)"hdr", 3),
	             0);
	cr_assert_eq(spool_payload(t, report, (const uint8_t *)"sealed", 6), 0);
	cr_assert_eq(spool_inbox(t, ids, ids + 32), 0);
	cr_assert_eq(spool_commit(t, c->base, on_commit, c), 0);
}

Test(fanout, spool_group_commit_fsyncs_on_helper_threads_and_every_file_reads_back, .timeout = 60)
{
	/* In the working directory (the build tree), not /tmp, which may be a
	 * tmpfs whose fsync returns at once: then the committer could keep up
	 * with the queue and never see a group of more than one file. */
	char dir[] = "test_fanout.XXXXXX", sdir[64];
	cr_assert(sodium_init() >= 0);
	cr_assert_eq(evthread_use_pthreads(), 0);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	struct commits c = { 0 };
	c.base = event_base_new();
	cr_assert_not_null(c.base);
	struct spool *s = spool_open(sdir, 1 << 30);
	cr_assert_not_null(s);
	cr_assert_eq(threads_named("tipd-fsync"), 0);
	/* Queued faster than the committer fsyncs: later groups hold many. */
	for (int i = 0; i < GROUP_FILES; i++)
		queue_one(s, &c);
	struct timeval limit = { 30, 0 };
	cr_assert_eq(event_base_loopexit(c.base, &limit), 0);
	cr_assert_eq(event_base_dispatch(c.base), 0);
	cr_assert_eq(c.done, GROUP_FILES);
	cr_assert_eq(c.ok, GROUP_FILES);
	cr_assert_eq(threads_named("tipd-fsync"), 7,
	             "the group's files were not fsync'd in parallel");
	char **paths = NULL;
	int n = spool_list(s, &paths, 2 * GROUP_FILES);
	cr_assert_eq(n, GROUP_FILES);
	for (int i = 0; i < n; i++) {
		struct spool_entry *e = spool_entry_read(paths[i]);
		cr_assert_not_null(e, "%s does not read back", paths[i]);
		cr_assert_eq(spool_entry_remove(s, e), 0);
		spool_entry_free(e);
	}
	spool_list_free(paths, n);
	spool_free(s);
	event_base_free(c.base);
	cr_assert_eq(rmdir(sdir), 0);
	cr_assert_eq(rmdir(dir), 0);
}
