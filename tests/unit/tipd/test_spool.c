/* Unit tests for the spool: durability protocol, format checks, quota. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sodium.h>

#include "spool.h"
#include "util.h"

static char tmpdir[256];
static char spooldir[300];

static const char REC1[] = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
static const char REC2[] = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_spool.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(spooldir, sizeof(spooldir), "%s/spool", tmpdir);
}

static void
teardown(void)
{
	spool_test_fault(SPOOL_FAULT_DIRSYNC, 0, 0);
	spool_test_fault(SPOOL_FAULT_READ, 0, 0);
	DIR *d = opendir(spooldir);
	if (d != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			char p[600];
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", spooldir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(spooldir);
	rmdir(tmpdir);
}

TestSuite(spool, .init = setup, .fini = teardown);

static int
count_suffix(const char *suffix)
{
	DIR *d = opendir(spooldir);
	int n = 0;
	cr_assert_not_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Spool one complete submission (report + attachment); return the report uuid. */
static struct spool_txn *
make_txn(struct spool *s, char report[UUID_STR_LEN], char att[UUID_STR_LEN],
         size_t payload_len)
{
	util_uuid(report);
	util_uuid(att);
	struct spool_txn *t = spool_begin(s, report, "team-a", "2024-02-29");
	cr_assert_not_null(t);
	uint8_t *pl = malloc(payload_len);
	cr_assert_not_null(pl);
	for (size_t i = 0; i < payload_len; i++)
		pl[i] = (uint8_t)(i * 7 + 3);
	cr_assert_eq(spool_object(t, SPOOL_REPORT, report), 0);
	cr_assert_eq(spool_header(t, report, REC1, (const uint8_t *)"hdr-one", 7), 0);
	cr_assert_eq(spool_header(t, report, REC2, (const uint8_t *)"hdr-two!", 8), 0);
	cr_assert_eq(spool_object(t, SPOOL_ATTACHMENT, att), 0);
	cr_assert_eq(spool_header(t, att, REC1, (const uint8_t *)"h", 1), 0);
	/* Payload in uneven pieces, interleaved between objects. */
	size_t half = payload_len / 3;
	cr_assert_eq(spool_payload(t, report, pl, half), 0);
	cr_assert_eq(spool_payload(t, att, (const uint8_t *)"attachment", 10), 0);
	cr_assert_eq(spool_payload(t, report, pl + half, payload_len - half), 0);
	free(pl);
	return t;
}

static struct spool_entry *
read_only_entry(struct spool *s)
{
	char **paths = NULL;
	int n = spool_list(s, &paths, 16);
	cr_assert_eq(n, 1, "expected one committed file, found %d", n);
	struct spool_entry *e = spool_entry_read(paths[0]);
	spool_list_free(paths, n);
	return e;
}

Test(spool, commit_then_read_back_equal)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	struct stat st;
	cr_assert_eq(stat(spooldir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	/* > 1 MiB so that the payload spans several records. */
	size_t plen = (3u << 20) + 12345;
	cr_assert_eq(spool_commit_sync(make_txn(s, rep, att, plen)), 0);
	cr_assert_eq(count_suffix(".part"), 0);
	cr_assert_eq(count_suffix(".rep"), 1);

	struct spool_entry *e = read_only_entry(s);
	cr_assert_not_null(e);
	cr_assert_eq(stat(e->path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(spool_used(s), (uint64_t)st.st_size);
	cr_assert_str_eq(e->report_uuid, rep);
	cr_assert_str_eq(e->team, "team-a");
	cr_assert_str_eq(e->date, "2024-02-29");
	cr_assert_eq(e->nobjects, 2);
	struct spool_object *r = &e->objects[0], *a = &e->objects[1];
	cr_assert_eq(r->kind, SPOOL_REPORT);
	cr_assert_str_eq(r->uuid, rep);
	cr_assert_eq(r->nheaders, 2);
	cr_assert_str_eq(r->recipients[0], REC1);
	cr_assert_str_eq(r->recipients[1], REC2);
	cr_assert_eq(r->header_lens[1], 8);
	cr_assert_eq(memcmp(r->headers[1], "hdr-two!", 8), 0);
	cr_assert_eq(r->payload_len, plen);
	for (size_t i = 0; i < plen; i++)
		if (r->payload[i] != (uint8_t)(i * 7 + 3))
			cr_assert_fail("payload differs at %zu", i);
	cr_assert_eq(a->kind, SPOOL_ATTACHMENT);
	cr_assert_str_eq(a->uuid, att);
	cr_assert_eq(a->payload_len, 10);
	cr_assert_eq(memcmp(a->payload, "attachment", 10), 0);

	cr_assert_eq(spool_entry_remove(s, e), 0);
	cr_assert_eq(spool_used(s), 0);
	cr_assert_eq(count_suffix(".rep"), 0);
	spool_entry_free(e);
	spool_free(s);
}

Test(spool, leftover_part_removed_at_open_and_never_listed)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	/* An upload in progress is not listed... */
	struct spool_txn *t = make_txn(s, rep, att, 100);
	char **paths = NULL;
	cr_assert_eq(spool_list(s, &paths, 16), 0);
	spool_list_free(paths, 0);
	cr_assert_eq(count_suffix(".part"), 1);
	cr_assert_gt(spool_used(s), 100);
	/* ...and a crash leaves it behind: copy it aside as if the process died. */
	char name[600] = "";
	DIR *d = opendir(spooldir);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".part") != NULL)
			snprintf(name, sizeof(name), "%s/%s", spooldir, de->d_name);
	closedir(d);
	char crash[700];
	snprintf(crash, sizeof(crash), "%s/%s.part", spooldir, "0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11");
	cr_assert_eq(link(name, crash), 0);
	spool_abort(t);
	cr_assert_eq(spool_used(s), 0);
	spool_free(s);

	cr_assert_eq(count_suffix(".part"), 1);
	s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	cr_assert_eq(count_suffix(".part"), 0, "unfinished upload survived spool_open");
	cr_assert_eq(spool_used(s), 0);
	cr_assert_eq(spool_list(s, &paths, 16), 0);
	spool_list_free(paths, 0);
	spool_free(s);
}

Test(spool, used_is_recounted_at_open)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	cr_assert_eq(spool_commit_sync(make_txn(s, rep, att, 1000)), 0);
	cr_assert_eq(spool_commit_sync(make_txn(s, rep, att, 2000)), 0);
	uint64_t used = spool_used(s);
	cr_assert_gt(used, 3000);
	spool_free(s);
	s = spool_open(spooldir, 1 << 30);
	cr_assert_eq(spool_used(s), used);
	spool_free(s);
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	char *p = util_read_file(path, 1 << 24, len);
	cr_assert_not_null(p);
	return (uint8_t *)p;
}

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(util_write_all(fd, p, n), 0);
	close(fd);
}

Test(spool, any_corrupted_byte_or_truncation_is_rejected)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_eq(spool_commit_sync(make_txn(s, rep, att, 300)), 0);
	char **paths = NULL;
	cr_assert_eq(spool_list(s, &paths, 4), 1);
	size_t n = 0;
	uint8_t *orig = read_file(paths[0], &n);
	spool_list_free(paths, 1);
	char bad[600];
	snprintf(bad, sizeof(bad), "%s/x.rep", tmpdir);

	write_file(bad, orig, n);
	struct spool_entry *e = spool_entry_read(bad);
	cr_assert_not_null(e, "an intact copy must read back");
	spool_entry_free(e);

	uint8_t *copy = malloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, orig, n);
		copy[i] ^= (uint8_t)(1u << (i % 8));
		write_file(bad, copy, n);
		errno = 0;
		e = spool_entry_read(bad);
		cr_assert_null(e, "flipped bit at offset %zu of %zu was accepted", i, n);
		cr_assert_eq(errno, EBADMSG, "flipped bit at %zu: errno %d", i, errno);
		errno = 0;
		cr_assert_null(spool_entry_parse(copy, n));
		cr_assert_eq(errno, EBADMSG);
	}
	for (size_t len = 0; len < n; len++) {
		write_file(bad, orig, len);
		errno = 0;
		cr_assert_null(spool_entry_read(bad), "truncation to %zu accepted", len);
		cr_assert_eq(errno, EBADMSG, "truncation to %zu: errno %d", len, errno);
	}
	memcpy(copy, orig, n);
	copy[n] = 0;
	write_file(bad, copy, n + 1);
	errno = 0;
	cr_assert_null(spool_entry_read(bad), "trailing byte accepted");
	cr_assert_eq(errno, EBADMSG);
	errno = 0;
	cr_assert_null(spool_entry_read("/nonexistent/x.rep"));
	cr_assert_eq(errno, ENOENT, "a missing file is not a corrupt one");
	unlink(bad);
	free(copy);
	free(orig);
	spool_free(s);
}

Test(spool, quota_refuses_with_enospc_until_space_is_freed)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	cr_assert_eq(spool_commit_sync(make_txn(s, rep, att, 5000)), 0);
	uint64_t used = spool_used(s);
	spool_free(s);
	/* Too little room left for even the head of another submission. */
	s = spool_open(spooldir, used + 50);
	cr_assert_not_null(s);
	cr_assert_eq(spool_used(s), used);
	errno = 0;
	cr_assert_null(spool_begin(s, rep, "team-a", "2024-01-01"));
	cr_assert_eq(errno, ENOSPC);

	struct spool_entry *e = read_only_entry(s);
	cr_assert_not_null(e);
	cr_assert_eq(spool_entry_remove(s, e), 0);
	spool_entry_free(e);
	cr_assert_eq(spool_used(s), 0);
	struct spool_txn *t = spool_begin(s, rep, "team-a", "2024-01-01");
	cr_assert_not_null(t, "space freed, but begin still refused");
	spool_abort(t);
	cr_assert_eq(spool_used(s), 0);
	cr_assert_eq(count_suffix(".part"), 0);
	spool_free(s);
}

Test(spool, writer_refuses_what_the_reader_would_reject)
{
	char rep[UUID_STR_LEN], other[UUID_STR_LEN];
	util_uuid(rep);
	util_uuid(other);
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_null(spool_begin(s, "not-a-uuid", "team-a", "2024-01-01"));
	cr_assert_null(spool_begin(s, rep, "Team-A", "2024-01-01"));
	cr_assert_null(spool_begin(s, rep, "-team", "2024-01-01"));
	cr_assert_null(spool_begin(s, rep, "team-a", "2024-13-01"));
	cr_assert_null(spool_begin(s, rep, "team-a", "2024-1-01"));
	cr_assert_eq(count_suffix(".part"), 0);

	struct spool_txn *t = spool_begin(s, rep, "team-a", "2024-01-01");
	cr_assert_not_null(t);
	cr_assert_neq(spool_object(t, SPOOL_REPORT, other), 0, "report uuid mismatch accepted");
	cr_assert_neq(spool_object(t, (enum spool_kind)9, other), 0);
	cr_assert_neq(spool_header(t, rep, REC1, (const uint8_t *)"h", 1), 0,
	              "header for undeclared object accepted");
	cr_assert_eq(spool_object(t, SPOOL_REPORT, rep), 0);
	cr_assert_neq(spool_object(t, SPOOL_ATTACHMENT, rep), 0, "duplicate object accepted");
	cr_assert_neq(spool_header(t, rep, "age1BAD", (const uint8_t *)"h", 1), 0);
	cr_assert_neq(spool_header(t, rep, "x25519zzzzzzzzzzzz", (const uint8_t *)"h", 1), 0);
	cr_assert_neq(spool_header(t, rep, REC1, (const uint8_t *)"h", 0), 0);
	cr_assert_neq(spool_payload(t, other, (const uint8_t *)"p", 1), 0);
	cr_assert_eq(spool_header(t, rep, REC1, (const uint8_t *)"h", 1), 0);
	/* No payload yet: the commit must refuse and leave nothing behind. */
	cr_assert_neq(spool_commit_sync(t), 0);
	cr_assert_eq(count_suffix(".part"), 0);
	cr_assert_eq(count_suffix(".rep"), 0);
	cr_assert_eq(spool_used(s), 0);
	spool_free(s);
}

Test(spool, quarantine_moves_file_out_of_the_list)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_eq(spool_commit_sync(make_txn(s, rep, att, 10)), 0);
	char **paths = NULL;
	cr_assert_eq(spool_list(s, &paths, 4), 1);
	cr_assert_eq(spool_quarantine(s, paths[0]), 0);
	spool_list_free(paths, 1);
	cr_assert_eq(spool_list(s, &paths, 4), 0);
	spool_list_free(paths, 0);
	cr_assert_eq(count_suffix(".bad"), 1);
	spool_free(s);
}

struct async_state {
	struct event_base *base;
	pthread_t loop_thread;
	int done;
	int ok;
	int wrong_thread;
};

static void
on_commit(int ok, void *arg)
{
	struct async_state *st = arg;
	if (!pthread_equal(pthread_self(), st->loop_thread))
		st->wrong_thread++;
	st->ok += ok;
	if (++st->done == 5)
		event_base_loopbreak(st->base);
}

Test(spool, async_commit_callback_is_delivered_on_the_loop)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	cr_assert_eq(evthread_use_pthreads(), 0);
	struct async_state st = { 0 };
	st.base = event_base_new();
	cr_assert_not_null(st.base);
	st.loop_thread = pthread_self();
	struct spool *s = spool_open(spooldir, 1 << 30);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(spool_commit(make_txn(s, rep, att, 100 + (size_t)i), st.base,
		                          on_commit, &st),
		             0);
	cr_assert_eq(st.done, 0, "callback ran before the loop did");
	struct timeval limit = { 10, 0 };
	cr_assert_eq(event_base_loopexit(st.base, &limit), 0);
	cr_assert_eq(event_base_dispatch(st.base), 0);
	cr_assert_eq(st.done, 5);
	cr_assert_eq(st.ok, 5);
	cr_assert_eq(st.wrong_thread, 0);
	cr_assert_eq(count_suffix(".rep"), 5);
	cr_assert_eq(count_suffix(".part"), 0);
	char **paths = NULL;
	int n = spool_list(s, &paths, 3);
	cr_assert_eq(n, 3, "list must honour its maximum");
	spool_list_free(paths, n);
	spool_free(s);
	event_base_free(st.base);
}

Test(spool, records_ending_near_the_size_cap_leave_room_for_the_end_record, .timeout = 120)
{
	char rep[UUID_STR_LEN];
	static uint8_t chunk[(1u << 20) + 64];
	const uint64_t chunk_len = 1u << 20, rec_over = 5 + 36, end_len = 5 + 32;
	const uint64_t limit = SPOOL_MAX_FILE_BYTES;
	util_uuid(rep);
	struct spool *s = spool_open(spooldir, (uint64_t)1 << 40);
	struct spool_txn *t = spool_begin(s, rep, "team-a", "2024-03-01");
	cr_assert_not_null(t);
	cr_assert_eq(spool_object(t, SPOOL_REPORT, rep), 0);
	cr_assert_eq(spool_header(t, rep, REC1, (const uint8_t *)"h", 1), 0);
	/* magic | META | OBJECT | HEADER, then whole payload records. */
	uint64_t size = 16 + (5 + 36 + 10 + 6) + (5 + 37) + (5 + 36 + 2 + strlen(REC1) + 1);
	uint64_t room = limit - end_len - size; /* bytes of records that still fit */
	while (room > rec_over + chunk_len) {
		cr_assert_eq(spool_payload(t, rep, chunk, chunk_len), 0, "errno %d", errno);
		room -= rec_over + chunk_len;
	}
	cr_assert_gt(room, rec_over + end_len);
	uint64_t used = spool_used(s);
	size_t fit = (size_t)(room - rec_over); /* payload bytes that fill the room */
	/* A last record ending anywhere within the END record's 37 bytes. */
	for (size_t extra = 1; extra <= end_len; extra++) {
		errno = 0;
		cr_assert_eq(spool_payload(t, rep, chunk, fit + extra), -1,
		             "a record ending %zu bytes short of the cap was taken",
		             (size_t)end_len - extra);
		cr_assert_eq(errno, EFBIG);
		cr_assert_eq(spool_used(s), used, "a refused write was counted");
	}
	/* Exactly up to the END record's room: accepted, and it reads back. */
	cr_assert_eq(spool_payload(t, rep, chunk, fit), 0, "errno %d", errno);
	cr_assert_eq(spool_commit_sync(t), 0);
	char **paths = NULL;
	cr_assert_eq(spool_list(s, &paths, 2), 1);
	struct stat st;
	cr_assert_eq(stat(paths[0], &st), 0);
	cr_assert_eq((uint64_t)st.st_size, limit, "the file is %ld bytes", (long)st.st_size);
	cr_assert_eq(spool_used(s), limit);
	struct spool_entry *e = spool_entry_read(paths[0]);
	spool_list_free(paths, 1);
	cr_assert_not_null(e, "a committed file at the cap does not read back (errno %d)", errno);
	cr_assert_eq(spool_entry_remove(s, e), 0);
	cr_assert_eq(spool_used(s), 0);
	spool_entry_free(e);
	spool_free(s);
}

Test(spool, quota_is_enforced_while_writing_and_released_once)
{
	char r1[UUID_STR_LEN], r2[UUID_STR_LEN];
	static uint8_t pl[40000];
	util_uuid(r1);
	util_uuid(r2);
	struct spool *s = spool_open(spooldir, 64 * 1024);
	struct spool_txn *t1 = spool_begin(s, r1, "team-a", "2024-03-01");
	struct spool_txn *t2 = spool_begin(s, r2, "team-a", "2024-03-01");
	cr_assert(t1 != NULL && t2 != NULL);
	cr_assert_eq(spool_object(t1, SPOOL_REPORT, r1), 0);
	cr_assert_eq(spool_header(t1, r1, REC1, (const uint8_t *)"h", 1), 0);
	cr_assert_eq(spool_object(t2, SPOOL_REPORT, r2), 0);
	cr_assert_eq(spool_header(t2, r2, REC1, (const uint8_t *)"h", 1), 0);
	/* Both began under the quota; together they would overshoot it. */
	cr_assert_eq(spool_payload(t1, r1, pl, sizeof(pl)), 0);
	uint64_t used = spool_used(s);
	errno = 0;
	cr_assert_eq(spool_payload(t2, r2, pl, sizeof(pl)), -1, "the quota was overshot");
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(spool_used(s), used, "a refused write was counted");
	cr_assert_leq(spool_used(s), 64 * 1024);
	/* Nothing was written: a smaller write still fits and the file is sound. */
	cr_assert_eq(spool_payload(t2, r2, pl, 100), 0);
	spool_abort(t2);
	cr_assert_eq(count_suffix(".part"), 1, "only t1's file may remain");
	cr_assert_eq(spool_commit_sync(t1), 0);
	struct spool_entry *e = read_only_entry(s);
	cr_assert_not_null(e);
	struct stat st;
	cr_assert_eq(stat(e->path, &st), 0);
	cr_assert_eq(spool_used(s), (uint64_t)st.st_size, "used %lu, file %ld",
	             (unsigned long)spool_used(s), (long)st.st_size);
	cr_assert_eq(e->objects[0].payload_len, sizeof(pl));
	cr_assert_eq(spool_entry_remove(s, e), 0);
	cr_assert_eq(spool_used(s), 0);
	cr_assert_eq(spool_entry_remove(s, e), 0, "removing twice");
	cr_assert_eq(spool_used(s), 0);
	spool_entry_free(e);
	cr_assert_eq(count_suffix(".part"), 0);

	/* Quota exceeded mid-submission: ENOSPC, and abort leaves nothing. */
	struct spool_txn *t = spool_begin(s, r1, "team-a", "2024-03-01");
	cr_assert_not_null(t);
	cr_assert_eq(spool_object(t, SPOOL_REPORT, r1), 0);
	cr_assert_eq(spool_header(t, r1, REC1, (const uint8_t *)"h", 1), 0);
	cr_assert_eq(spool_payload(t, r1, pl, sizeof(pl)), 0);
	errno = 0;
	cr_assert_eq(spool_payload(t, r1, pl, sizeof(pl)), -1);
	cr_assert_eq(errno, ENOSPC);
	spool_abort(t);
	cr_assert_eq(spool_used(s), 0);
	cr_assert_eq(count_suffix(".part"), 0);
	cr_assert_eq(count_suffix(".rep"), 0);
	spool_free(s);
}

Test(spool, failed_write_poisons_the_submission)
{
	char rep[UUID_STR_LEN];
	static uint8_t pl[256 * 1024];
	util_uuid(rep);
	struct spool *s = spool_open(spooldir, 1 << 30);
	struct spool_txn *t = spool_begin(s, rep, "team-a", "2024-03-01");
	cr_assert_eq(spool_object(t, SPOOL_REPORT, rep), 0);
	cr_assert_eq(spool_header(t, rep, REC1, (const uint8_t *)"h", 1), 0);
	/* The disk "fills up" half-way through a record (the file size limit
	 * makes write(2) fail as a full disk would, with EFBIG for ENOSPC). */
	struct rlimit rl = { 100 * 1024, 100 * 1024 };
	cr_assert_neq(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	errno = 0;
	cr_assert_eq(spool_payload(t, rep, pl, sizeof(pl)), -1);
	int err = errno;
	cr_assert_eq(err, EFBIG, "errno %d", err);
	/* The file now ends with a torn record: nothing more may be added... */
	errno = 0;
	cr_assert_eq(spool_payload(t, rep, pl, 10), -1, "a write after a torn record was taken");
	cr_assert_eq(errno, err);
	cr_assert_eq(spool_inbox(t, pl, pl), -1);
	/* ...and it can never be committed. */
	errno = 0;
	cr_assert_eq(spool_commit_sync(t), -1);
	cr_assert_eq(errno, err);
	cr_assert_eq(count_suffix(".part"), 0);
	cr_assert_eq(count_suffix(".rep"), 0);
	cr_assert_eq(spool_used(s), 0);
	spool_free(s);
}

Test(spool, resource_errors_are_not_corruption)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_eq(spool_commit_sync(make_txn(s, rep, att, 100)), 0);
	char **paths = NULL;
	cr_assert_eq(spool_list(s, &paths, 4), 1);
	/* Run out of file descriptors, for real. */
	struct rlimit rl = { 64, 64 };
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	int fds[64], n = 0;
	while (n < 64 && (fds[n] = dup(0)) >= 0)
		n++;
	cr_assert_lt(n, 64);
	errno = 0;
	cr_assert_null(spool_entry_read(paths[0]));
	cr_assert_eq(errno, EMFILE, "errno %d", errno);
	while (n > 0)
		close(fds[--n]);
	struct spool_entry *e = spool_entry_read(paths[0]);
	cr_assert_not_null(e, "the file must still read back");
	spool_entry_free(e);
	/* Not a spool file at all (a directory, a symlink): corrupt. */
	char odd[700];
	snprintf(odd, sizeof(odd), "%s/0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11.rep", spooldir);
	cr_assert_eq(mkdir(odd, 0700), 0);
	errno = 0;
	cr_assert_null(spool_entry_read(odd));
	cr_assert_eq(errno, EBADMSG);
	cr_assert_eq(rmdir(odd), 0);
	cr_assert_eq(symlink(paths[0], odd), 0);
	errno = 0;
	cr_assert_null(spool_entry_read(odd));
	cr_assert_eq(errno, EBADMSG);
	cr_assert_eq(unlink(odd), 0);
	spool_list_free(paths, 1);
	spool_free(s);
}

Test(spool, failed_directory_sync_keeps_the_file_and_counts_it_once)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	struct spool *s = spool_open(spooldir, 1 << 30);
	spool_test_fault(SPOOL_FAULT_DIRSYNC, 1, EIO);
	errno = 0;
	cr_assert_eq(spool_commit_sync(make_txn(s, rep, att, 100)), -1,
	             "acknowledged a file whose name may not be durable");
	cr_assert_eq(errno, EIO);
	/* The flusher may already have seen it: it stays, complete. */
	cr_assert_eq(count_suffix(".part"), 0);
	cr_assert_eq(count_suffix(".rep"), 1, "the renamed file was removed");
	struct spool_entry *e = read_only_entry(s);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->report_uuid, rep);
	struct stat st;
	cr_assert_eq(stat(e->path, &st), 0);
	cr_assert_eq(spool_used(s), (uint64_t)st.st_size);
	cr_assert_eq(spool_entry_remove(s, e), 0);
	cr_assert_eq(spool_used(s), 0);
	spool_entry_free(e);
	spool_free(s);
}

static void
on_one_commit(int ok, void *arg)
{
	struct async_state *st = arg;
	st->ok += ok;
	st->done++;
	event_base_loopbreak(st->base);
}

Test(spool, failed_directory_sync_in_group_commit_keeps_the_file)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN];
	cr_assert_eq(evthread_use_pthreads(), 0);
	struct async_state st = { 0 };
	st.base = event_base_new();
	struct spool *s = spool_open(spooldir, 1 << 30);
	spool_test_fault(SPOOL_FAULT_DIRSYNC, 1, EIO);
	cr_assert_eq(spool_commit(make_txn(s, rep, att, 100), st.base, on_one_commit, &st), 0);
	struct timeval limit = { 10, 0 };
	cr_assert_eq(event_base_loopexit(st.base, &limit), 0);
	cr_assert_eq(event_base_dispatch(st.base), 0);
	cr_assert_eq(st.done, 1);
	cr_assert_eq(st.ok, 0, "acknowledged after a failed directory fsync");
	cr_assert_eq(count_suffix(".rep"), 1);
	struct spool_entry *e = read_only_entry(s);
	cr_assert_not_null(e);
	struct stat sb;
	cr_assert_eq(stat(e->path, &sb), 0);
	cr_assert_eq(spool_used(s), (uint64_t)sb.st_size);
	spool_entry_free(e);
	spool_free(s);
	event_base_free(st.base);
}

#define GROUP_N 8

struct group_one {
	struct async_state *st;
	int result; /* -1 until called */
};

static void
on_group_commit(int ok, void *arg)
{
	struct group_one *g = arg;
	g->result = ok;
	if (++g->st->done == GROUP_N)
		event_base_loopbreak(g->st->base);
}

/* The name of the one ".part" file in the spool not in `seen` (n names). */
static void
new_part(char seen[][64], int n, char out[64])
{
	DIR *d = opendir(spooldir);
	cr_assert_not_null(d);
	struct dirent *de;
	out[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		bool old = false;
		if (l < 6 || l >= 64 || strcmp(de->d_name + l - 5, ".part") != 0)
			continue;
		for (int i = 0; i < n; i++)
			old |= strcmp(seen[i], de->d_name) == 0;
		if (!old)
			snprintf(out, 64, "%.63s", de->d_name); /* l < 64 above */
	}
	closedir(d);
	cr_assert(out[0] != '\0', "no new .part file");
}

/* One file of a group commit fails before its rename (its ".part" is gone):
 * that commit alone fails and its quota is released; every other file of
 * the group is acknowledged, durable and counted once. */
Test(spool, one_failing_file_fails_only_its_commit_in_a_group)
{
	char rep[UUID_STR_LEN], att[UUID_STR_LEN], parts[GROUP_N][64], path[400];
	struct spool_txn *txns[GROUP_N];
	struct group_one g[GROUP_N];
	cr_assert_eq(evthread_use_pthreads(), 0);
	struct async_state st = { 0 };
	st.base = event_base_new();
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	for (int i = 0; i < GROUP_N; i++) {
		txns[i] = make_txn(s, rep, att, 1000 + 10 * (size_t)i);
		new_part(parts, i, parts[i]);
		g[i] = (struct group_one){ &st, -1 };
	}
	snprintf(path, sizeof(path), "%s/%s", spooldir, parts[3]);
	cr_assert_eq(unlink(path), 0);
	for (int i = 0; i < GROUP_N; i++)
		cr_assert_eq(spool_commit(txns[i], st.base, on_group_commit, &g[i]), 0);
	struct timeval limit = { 20, 0 };
	cr_assert_eq(event_base_loopexit(st.base, &limit), 0);
	cr_assert_eq(event_base_dispatch(st.base), 0);
	cr_assert_eq(st.done, GROUP_N);
	for (int i = 0; i < GROUP_N; i++)
		cr_assert_eq(g[i].result, i == 3 ? 0 : 1, "commit %d answered %d", i, g[i].result);
	cr_assert_eq(count_suffix(".part"), 0);
	cr_assert_eq(count_suffix(".rep"), GROUP_N - 1);
	char **paths = NULL;
	int n = spool_list(s, &paths, 2 * GROUP_N);
	cr_assert_eq(n, GROUP_N - 1);
	uint64_t sum = 0;
	for (int i = 0; i < n; i++) {
		struct stat sb;
		cr_assert_eq(stat(paths[i], &sb), 0);
		sum += (uint64_t)sb.st_size;
		struct spool_entry *e = spool_entry_read(paths[i]);
		cr_assert_not_null(e, "%s does not read back", paths[i]);
		spool_entry_free(e);
	}
	spool_list_free(paths, n);
	cr_assert_eq(spool_used(s), sum, "the failed file's quota was not released once");
	spool_free(s);
	event_base_free(st.base);
}

Test(spool, new_directory_is_synced_into_its_parent)
{
	/* The fault makes the parent's fsync fail: a new spool must not open. */
	spool_test_fault(SPOOL_FAULT_DIRSYNC, 1, EIO);
	cr_assert_null(spool_open(spooldir, 1 << 30), "the parent directory was not synced");
	spool_test_fault(SPOOL_FAULT_DIRSYNC, 0, 0);
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	spool_free(s);
	/* An existing directory opens even if its parent cannot be synced now. */
	spool_test_fault(SPOOL_FAULT_DIRSYNC, 1, EIO);
	s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	spool_free(s);
	spool_test_fault(SPOOL_FAULT_DIRSYNC, 0, 0);
	/* A relative path whose parent is the working directory. */
	cr_assert_eq(chdir(tmpdir), 0);
	s = spool_open("rel-spool/", 1 << 30);
	cr_assert_not_null(s);
	spool_free(s);
	cr_assert_eq(rmdir("rel-spool"), 0);
}

Test(spool, forget_record_reads_back_without_objects)
{
	struct spool *s = spool_open(spooldir, 1 << 20);
	char report[UUID_STR_LEN];
	uint8_t id[32], pk[32];
	cr_assert_not_null(s);
	util_uuid(report);
	randombytes_buf(id, sizeof(id));
	randombytes_buf(pk, sizeof(pk));
	struct spool_txn *t = spool_begin(s, report, "demo", "2026-01-02");
	cr_assert_not_null(t);
	cr_assert_eq(spool_forget(t, id), 0);
	cr_assert_eq(spool_forget(t, id), -1, "a second FORGET record was accepted");
	cr_assert_eq(spool_inbox(t, id, pk), -1, "INBOX next to FORGET was accepted");
	cr_assert_eq(spool_commit_sync(t), 0);
	char **paths = NULL;
	cr_assert_eq(spool_list(s, &paths, 10), 1);
	struct spool_entry *e = spool_entry_read(paths[0]);
	cr_assert_not_null(e);
	cr_assert(e->has_forget && !e->has_inbox);
	cr_assert_eq(memcmp(e->forget_id, id, 32), 0);
	cr_assert_eq(e->nobjects, 0);
	cr_assert_str_eq(e->report_uuid, report);
	spool_entry_free(e);
	spool_list_free(paths, 1);
	/* Without FORGET, a submission with no object is still refused. */
	t = spool_begin(s, report, "demo", "2026-01-02");
	cr_assert_not_null(t);
	cr_assert_eq(spool_commit_sync(t), -1);
	spool_free(s);
}

Test(spool, list_after_walks_every_file_in_name_order)
{
	struct spool *s = spool_open(spooldir, 64 << 20);
	char report[UUID_STR_LEN], att[UUID_STR_LEN], after[64] = "";
	cr_assert_not_null(s);
	for (int i = 0; i < 23; i++)
		cr_assert_eq(spool_commit_sync(make_txn(s, report, att, 10)), 0);
	int seen = 0, n;
	do {
		char **p = NULL;
		n = spool_list_after(s, after, &p, 5);
		cr_assert_geq(n, 0);
		for (int i = 0; i < n; i++) {
			const char *name = strrchr(p[i], '/') + 1;
			cr_assert_gt(strcmp(name, after), 0, "not in name order, or listed twice");
			snprintf(after, sizeof(after), "%s", name);
		}
		seen += n;
		spool_list_free(p, n);
	} while (n == 5);
	cr_assert_eq(seen, 23);
	spool_free(s);
}
