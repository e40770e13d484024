/*
 * bench_disk: the disk ceiling for report intake.
 *
 * Does what the spool must do to make one report durable, as fast as the
 * disk allows: create "<id>.part", write SIZE bytes, fsync it, rename it to
 * "<id>.rep", fsync the directory. THREADS threads do it concurrently (the
 * file system may then share journal commits between them). With --batch B,
 * each thread makes B files (each written and fsync'd, then renamed) before
 * one directory fsync covers them all: group commit itself, which is what the
 * spool does when reports arrive together. The ceiling the benchmark uses is
 * the best of these runs. Bounded by --seconds and --max files; every file is
 * removed at the end.
 *
 * Prints one JSON object on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_THREADS 256

struct disk {
	int dirfd;
	const char *dir;
	size_t size;
	unsigned batch;   /* files per directory fsync */
	uint8_t *data;
	double deadline;
	uint64_t max;
	_Atomic uint64_t done;
	_Atomic int failed;
};

struct worker {
	struct disk *d;
	unsigned id;
	uint64_t n;    /* files this thread made */
	pthread_t th;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Make one file durable but for its directory entry (the caller fsyncs the
 * directory). Return 0 or -1 (errno set). */
static int
one_file(struct disk *d, unsigned id, uint64_t seq)
{
	char part[64], rep[64];
	snprintf(part, sizeof(part), "w%u-%llu.part", id, (unsigned long long)seq);
	snprintf(rep, sizeof(rep), "w%u-%llu.rep", id, (unsigned long long)seq);
	int fd = openat(d->dirfd, part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (util_write_all(fd, d->data, d->size) != 0 || fsync(fd) != 0) {
		close(fd);
		return -1;
	}
	if (close(fd) != 0 || renameat(d->dirfd, part, d->dirfd, rep) != 0)
		return -1;
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct disk *d = w->d;
	while (!atomic_load(&d->failed) && now_s() < d->deadline) {
		if (atomic_fetch_add(&d->done, d->batch) >= d->max)
			break;
		/* Files count only once the directory fsync made them durable. */
		unsigned made = 0;
		while (made < d->batch && one_file(d, w->id, w->n + made) == 0)
			made++;
		if (made < d->batch || fsync(d->dirfd) != 0) {
			fprintf(stderr, "bench_disk: %s\n", strerror(errno));
			w->n += made; /* still removed by cleanup */
			atomic_store(&d->failed, 1);
			break;
		}
		w->n += made;
	}
	return NULL;
}

/* Remove every file the workers made. */
static void
cleanup(struct disk *d, struct worker *w, unsigned threads)
{
	char rep[64];
	for (unsigned i = 0; i < threads; i++)
		for (uint64_t k = 0; k < w[i].n; k++) {
			snprintf(rep, sizeof(rep), "w%u-%llu.rep", i, (unsigned long long)k);
			(void)unlinkat(d->dirfd, rep, 0);
		}
	(void)fsync(d->dirfd);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },     { "size", required_argument, NULL, 'z' },
		{ "seconds", required_argument, NULL, 's' }, { "threads", required_argument, NULL, 't' },
		{ "max", required_argument, NULL, 'm' },     { "batch", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct disk d = { .dirfd = -1, .max = 200000 };
	uint64_t batch = 1;
	uint64_t size = 0, secs = 0, threads = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': d.dir = optarg; break;
		case 'z': if (util_parse_u64(optarg, 64u << 20, &size) != 0) size = 0; break;
		case 's': if (util_parse_u64(optarg, 3600, &secs) != 0) secs = 0; break;
		case 't': if (util_parse_u64(optarg, MAX_THREADS, &threads) != 0) threads = 0; break;
		case 'm': if (util_parse_u64(optarg, 10000000, &d.max) != 0) d.max = 0; break;
		case 'b': if (util_parse_u64(optarg, 4096, &batch) != 0) batch = 0; break;
		default: return 2;
		}
	}
	if (d.dir == NULL || size == 0 || secs == 0 || threads == 0 || d.max == 0 || batch == 0) {
		fprintf(stderr, "usage: bench_disk --dir DIR --size BYTES --seconds S "
		                "[--threads T] [--batch FILES_PER_DIR_FSYNC] [--max FILES]\n");
		return 2;
	}
	d.batch = (unsigned)batch;
	d.size = (size_t)size;
	d.data = malloc(d.size);
	d.dirfd = open(d.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.data == NULL || d.dirfd < 0) {
		fprintf(stderr, "bench_disk: cannot open %s\n", d.dir);
		return 1;
	}
	for (size_t i = 0; i < d.size; i++)
		d.data[i] = (uint8_t)(i * 2654435761u >> 13);
	struct worker w[MAX_THREADS] = { 0 };
	double t0 = now_s();
	d.deadline = t0 + (double)secs;
	unsigned started = 0;
	for (unsigned i = 0; i < threads; i++) {
		w[i].d = &d;
		w[i].id = i;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	uint64_t files = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		files += w[i].n;
	}
	double t1 = now_s();
	cleanup(&d, w, started);
	close(d.dirfd);
	free(d.data);
	if (atomic_load(&d.failed) || started != threads)
		return 1;
	printf("{\"threads\":%u,\"batch\":%u,\"size\":%zu,\"files\":%llu,\"seconds\":%.3f,\"per_sec\":%.1f,"
	       "\"mb_per_sec\":%.2f}\n",
	       started, d.batch, d.size, (unsigned long long)files, t1 - t0, (double)files / (t1 - t0),
	       (double)files * (double)d.size / (t1 - t0) / 1e6);
	return 0;
}
