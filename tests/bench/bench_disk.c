/*
 * bench_disk: the disk ceiling for report intake.
 *
 * Makes reports durable exactly as tipd does, through tipd's own spool
 * (server/tipd/intake/spool.c), as fast as the disk allows: THREADS writer
 * threads, each running a libevent loop as tipd's event loops do, keep
 * INFLIGHT submissions in flight between them. Each submission is written
 * by its writer thread (spool_begin creates "<id>.part"; one object, one
 * header, the payload, the inbox record; spool_commit writes the END record
 * with its BLAKE2b checksum) and queued to the spool's single committer
 * thread, which fsyncs and renames every queued file to "<id>.rep" and then
 * fsyncs the directory once for the whole group; the writer's loop is called
 * back and starts the next submission. So group commit forms the way it does
 * in tipd: whatever was queued while the committer was busy. Only the
 * sealing (random bytes stand in for the ciphertext) and the HTTP are left
 * out, so tipd, which does this and more, cannot make reports durable faster
 * on the same disk: the best of these runs is an upper bound.
 *
 * Files are SIZE bytes (the size of a real spool file for the team, printed
 * by bench_seal). Bounded by --seconds and --max submissions; every file is
 * removed at the end, unless --keep: then the caller removes the directory
 * later (on ext4 without a journal a new file steps over every inode deleted
 * recently in its block group, so removing them right away would slow down
 * whatever creates files next: the next run, or tipd). Prints one JSON
 * object on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sodium.h>

#include "spool.h"
#include "util.h"

#define MAX_THREADS 64
#define MAX_INFLIGHT 4096
#define TEAM "bench"
#define RECIPIENT "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
#define HEADER_BYTES 200
/* Bytes of a file besides its payload bytes (spool.c's grammar): magic,
 * META, OBJECT, HEADER, one PAYLOAD record's prefix and uuid, INBOX, END. */
#define OVERHEAD                                                                         \
	(16 + (5 + 36 + 10 + sizeof(TEAM) - 1) + (5 + 1 + 36) +                          \
	 (5 + 36 + 2 + sizeof(RECIPIENT) - 1 + HEADER_BYTES) + (5 + 36) + (5 + 64) + (5 + 32))

struct disk {
	struct spool *spool;
	size_t payload;     /* payload bytes per file */
	uint8_t *data;      /* random payload and header bytes */
	double deadline;
	uint64_t max;
	char date[11];
	bool keep;          /* leave the files for the caller to remove */
	_Atomic uint64_t started;
	_Atomic uint64_t durable;
	_Atomic int failed;
};

struct writer {
	struct disk *d;
	struct event_base *base;
	unsigned inflight;  /* submissions of this writer not yet called back */
	pthread_t th;
};

/* Return the monotonic clock in seconds. */
static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Report a failure and stop every writer. */
static void
fail_run(struct disk *d, const char *what)
{
	if (!atomic_exchange(&d->failed, 1))
		fprintf(stderr, "bench_disk: %s: %s\n", what, strerror(errno));
}

/* Write one submission as submit.c's path does (one object, one header,
 * the payload, the inbox record) and hand it to the committer. Return 0 or -1. */
static int
submit_one(struct writer *w);

/* The committer's callback, on the writer's loop: count it, start the next. */
static void
committed(int ok, void *arg)
{
	struct writer *w = arg;
	struct disk *d = w->d;
	w->inflight--;
	if (!ok)
		fail_run(d, "commit");
	else
		atomic_fetch_add(&d->durable, 1);
	if (!atomic_load(&d->failed) && now_s() < d->deadline &&
	    atomic_fetch_add(&d->started, 1) < d->max) {
		if (submit_one(w) != 0)
			fail_run(d, "submit");
	}
	if (w->inflight == 0)
		event_base_loopbreak(w->base);
}

static int
submit_one(struct writer *w)
{
	struct disk *d = w->d;
	char report[UUID_STR_LEN];
	uint8_t ids[64];
	util_uuid(report);
	randombytes_buf(ids, sizeof(ids));
	struct spool_txn *t = spool_begin(d->spool, report, TEAM, d->date);
	if (t == NULL)
		return -1;
	if (spool_object(t, SPOOL_REPORT, report) != 0 ||
	    spool_header(t, report, RECIPIENT, d->data, HEADER_BYTES) != 0 ||
	    spool_payload(t, report, d->data + HEADER_BYTES, d->payload) != 0 ||
	    spool_inbox(t, ids, ids + 32) != 0) {
		spool_abort(t);
		return -1;
	}
	if (spool_commit(t, w->base, committed, w) != 0)
		return -1;
	w->inflight++;
	return 0;
}

/* A writer thread: run its loop until its last submission was called back. */
static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	if (w->inflight > 0)
		(void)event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* Remove every committed file (the spool holds nothing else now). */
static void
cleanup(struct spool *s)
{
	char **paths;
	int n;
	while ((n = spool_list(s, &paths, 4096)) > 0) {
		for (int i = 0; i < n; i++)
			(void)unlink(paths[i]);
		spool_list_free(paths, n);
	}
}

/* Parse the options into `d`, `threads` and `inflight`. Return 0, or -1 after
 * printing the usage. */
static int
parse_args(int argc, char **argv, struct disk *d, const char **dir, uint64_t *size,
           uint64_t *secs, uint64_t *threads, uint64_t *inflight)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },     { "size", required_argument, NULL, 'z' },
		{ "seconds", required_argument, NULL, 's' }, { "threads", required_argument, NULL, 't' },
		{ "max", required_argument, NULL, 'm' },     { "inflight", required_argument, NULL, 'i' },
		{ "keep", no_argument, NULL, 'k' },          { NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': *dir = optarg; break;
		case 'z': if (util_parse_u64(optarg, 64u << 20, size) != 0) *size = 0; break;
		case 's': if (util_parse_u64(optarg, 3600, secs) != 0) *secs = 0; break;
		case 't': if (util_parse_u64(optarg, MAX_THREADS, threads) != 0) *threads = 0; break;
		case 'm': if (util_parse_u64(optarg, 10000000, &d->max) != 0) d->max = 0; break;
		case 'i': if (util_parse_u64(optarg, MAX_INFLIGHT, inflight) != 0) *inflight = 0; break;
		case 'k': d->keep = true; break;
		default: return -1;
		}
	}
	if (*dir == NULL || *size <= OVERHEAD || *secs == 0 || *threads == 0 || d->max == 0) {
		fprintf(stderr, "usage: bench_disk --dir DIR --size BYTES (> %zu) --seconds S "
		                "[--threads WRITERS] [--inflight SUBMISSIONS] [--max N] [--keep]\n",
		        (size_t)OVERHEAD);
		return -1;
	}
	return 0;
}

/* Start `inflight` submissions spread over the writers' loops. Return 0 or -1. */
static int
prime(struct disk *d, struct writer *w, unsigned threads, unsigned inflight)
{
	for (unsigned k = 0; k < inflight; k++) {
		atomic_fetch_add(&d->started, 1);
		if (submit_one(&w[k % threads]) != 0) {
			fail_run(d, "submit");
			return -1;
		}
	}
	return 0;
}

/* Check the size of a committed file and print the run's JSON line. Return 0,
 * or 1 if the run failed or wrote files of the wrong size. */
static int
print_result(struct disk *d, uint64_t size, unsigned threads, unsigned inflight, double secs)
{
	struct stat st;
	char **paths;
	int n = spool_list(d->spool, &paths, 1);
	off_t file_bytes = n == 1 && stat(paths[0], &st) == 0 ? st.st_size : -1;
	spool_list_free(paths, n);
	if (atomic_load(&d->failed))
		return 1;
	if (file_bytes != (off_t)size) {
		fprintf(stderr, "bench_disk: wrote files of %lld bytes, not %llu\n",
		        (long long)file_bytes, (unsigned long long)size);
		return 1;
	}
	uint64_t files = atomic_load(&d->durable);
	printf("{\"threads\":%u,\"inflight\":%u,\"size\":%llu,\"files\":%llu,\"seconds\":%.3f,"
	       "\"per_sec\":%.1f,\"mb_per_sec\":%.2f}\n",
	       threads, inflight, (unsigned long long)size, (unsigned long long)files, secs,
	       (double)files / secs, (double)files * (double)size / secs / 1e6);
	return 0;
}

int
main(int argc, char **argv)
{
	struct disk d = { .max = 1000000 };
	struct writer w[MAX_THREADS] = { 0 };
	const char *dir = NULL;
	uint64_t size = 0, secs = 0, threads = 1, inflight = 1;
	unsigned started = 0;
	int rc = 1;
	if (parse_args(argc, argv, &d, &dir, &size, &secs, &threads, &inflight) != 0)
		return 2;
	if (inflight == 0)
		inflight = 1;
	if (sodium_init() < 0 || evthread_use_pthreads() != 0)
		return 1;
	d.payload = (size_t)size - OVERHEAD;
	if ((d.data = malloc(d.payload + HEADER_BYTES)) == NULL)
		return 1;
	randombytes_buf(d.data, d.payload + HEADER_BYTES);
	util_today(d.date);
	if ((d.spool = spool_open(dir, UINT64_C(1) << 40)) == NULL) {
		fprintf(stderr, "bench_disk: cannot open the spool %s\n", dir);
		goto out;
	}
	cleanup(d.spool); /* a spool left by an interrupted run */
	for (unsigned i = 0; i < threads; i++) {
		w[i].d = &d;
		if ((w[i].base = event_base_new()) == NULL)
			goto out;
	}
	double t0 = now_s();
	d.deadline = t0 + (double)secs;
	if (prime(&d, w, (unsigned)threads, (unsigned)inflight) != 0)
		goto out;
	for (; started < threads; started++)
		if (pthread_create(&w[started].th, NULL, writer_main, &w[started]) != 0)
			break;
	for (unsigned i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	double t1 = now_s();
	if (started != threads)
		goto out;
	rc = print_result(&d, size, (unsigned)threads, (unsigned)inflight, t1 - t0);
out:
	if (d.spool != NULL && (!d.keep || rc != 0))
		cleanup(d.spool);
	spool_free(d.spool);
	for (unsigned i = 0; i < threads; i++)
		if (w[i].base != NULL)
			event_base_free(w[i].base);
	free(d.data);
	return rc;
}
