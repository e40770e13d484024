/*
 * fanout: run one function over a set of items on a few threads at once.
 *
 * The spool's committer uses it to fsync the files of one group commit in
 * parallel: a disk serves several outstanding writes and cache flushes in
 * about the time of one, so a group of N files is durable in much less than
 * N fsync latencies. The caller's thread takes part; the helper threads are
 * started on the first run that needs them and live until fanout_free.
 */
#ifndef TIPD_FANOUT_H
#define TIPD_FANOUT_H

#include <stddef.h>

struct fanout;

/* A fanout running at most `threads` calls at once (the caller's thread
 * included; 1 means no helper thread). Helper threads are named `name`
 * (at most 15 characters). NULL on error. */
struct fanout *fanout_new(unsigned threads, const char *name);
/* Call fn(items[i]) once for every i < n and return when every call has
 * returned. One run at a time (the caller serialises runs). If a helper
 * thread cannot be started the calls run on the threads there are. */
void fanout_run(struct fanout *f, void **items, size_t n, void (*fn)(void *item));
/* Stop and join the helper threads and free `f`. NULL is fine. */
void fanout_free(struct fanout *f);

#endif
