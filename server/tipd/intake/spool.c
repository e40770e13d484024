/*
 * spool: one durable file per submission (see spool.h).
 *
 * File format (all integers big-endian):
 *
 *   magic     "TIPLINE-SPOOL 1\n"                      16 bytes
 *   record*   type (1 byte) | length (4 bytes) | body (length bytes)
 *
 *   type 0x01 META     report uuid (36) | date YYYY-MM-DD (10) | team (1..63)
 *                      exactly once, first
 *   type 0x02 OBJECT   kind (1) | object uuid (36)
 *   type 0x03 HEADER   object uuid (36) | recipient length (2) | recipient |
 *                      age header (1..SPOOL_MAX_HEADER_BYTES)
 *   type 0x04 PAYLOAD  object uuid (36) | ciphertext chunk (1..SPOOL_CHUNK)
 *   type 0x05 INBOX    receipt lookup id (32) | source X25519 public key (32)
 *                      at most once
 *   type 0x06 FORGET   receipt lookup id (32): the source asked to forget
 *                      this receipt; at most once, never with INBOX
 *   type 0x7f END      BLAKE2b-256 of every byte before this record (32)
 *                      exactly once, last: the file ends right after it
 *
 * A HEADER or PAYLOAD names an object declared earlier by OBJECT; payload
 * chunks of one object are concatenated in file order. A report object's
 * uuid is the META report uuid. Every object has at least one header and a
 * non-empty payload. A file holds at least one object, or a FORGET record
 * (then it may hold none). The writer enforces every rule the reader checks, so a
 * file that was acknowledged always reads back.
 *
 * Files are written as "<file uuid>.part" (a fresh uuid per file, not the
 * report uuid, so that several messages for one report can wait in the spool
 * together), then fsync'd, renamed to "<file uuid>.rep" and the directory
 * fsync'd. Commits queued together share one directory fsync (group commit)
 * on a single committer thread; the files of a group are fsync'd and renamed
 * several at once (fanout.h: the disk serves concurrent fsyncs in about the
 * time of one), each file's fsync before its own rename, and the directory
 * fsync only after every file of the group is done.
 *
 * Quota: `used` counts every byte of ".rep"/".bad" files and every byte
 * reserved by open submissions. A submission reserves each record before
 * writing it (and the END record's room at spool_begin), so concurrent
 * uploads cannot overshoot the quota together. Its reservation is released
 * exactly once: by spool_abort or a commit that failed before the rename;
 * after the rename the bytes belong to the ".rep" file and are released by
 * whoever unlinks it (spool_entry_remove).
 *
 * A failed directory fsync after a successful rename: the ".rep" file is
 * visible to the flusher, which may already have inserted it. Unlinking it
 * would tell the source "failed" for a report that may be in the database
 * anyway, and a retried fsync after an error may report success although
 * nothing reached the disk (Linux clears the error once reported). So the
 * fsync is retried only on EINTR; on any other error the file is kept (it is
 * complete and fsync'd; the next successful directory fsync makes its name
 * durable), the error is logged and the commit reports failure: the source
 * gets no receipt for a report whose name is not known to be durable. The
 * report is flushed once; a source that sends it again makes a second one.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "buf.h"
#include "fanout.h"
#include "log.h"
#include "spool_format.h"
#include "util.h"

#define WBUF_SIZE 65536
/* Files of one group commit fsync'd at once (the committer included). */
#define SPOOL_SYNC_THREADS 8
/* Bytes of META and the magic before it, for a team name of `tl` bytes. */
#define HEAD_LEN(tl) (SPOOL_MAGIC_LEN + REC_PREFIX + UUID_LEN + 10 + (uint64_t)(tl))

struct spool {
	char *dir;
	int dirfd;
	uint64_t quota;
	_Atomic uint64_t used;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t committer;
	bool committer_running;
	bool stopping;
	struct spool_txn *queue;
	/* The committer's: the group being committed, and the threads that
	 * fsync its files in parallel. */
	struct fanout *syncers;
	void **group;
	size_t group_cap;
};

struct txn_obj {
	char uuid[UUID_STR_LEN];
	size_t nheaders;
	uint64_t payload;
};

struct spool_txn {
	crypto_generichash_state h; /* first: needs 64-byte alignment */
	struct spool *s;
	int fd;
	char id[UUID_STR_LEN];
	char report[UUID_STR_LEN];
	uint64_t bytes;   /* bytes written to the file (END included once sealed) */
	uint64_t charged; /* bytes this txn counts in s->used */
	int err;          /* first write error; the txn can only be aborted then */
	bool renamed;     /* the file is "<id>.rep": its bytes belong to the file */
	struct txn_obj *objs;
	size_t nobjs;
	bool has_report;
	bool has_inbox;
	bool has_forget;
	uint8_t wbuf[WBUF_SIZE];
	size_t wlen;
	/* async commit */
	spool_done_cb cb;
	void *arg;
	struct event *ev;
	int ok;
	struct spool_txn *next;
};

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
spool_fmt_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
used_sub(struct spool *s, uint64_t n)
{
	uint64_t cur = atomic_load(&s->used);
	while (!atomic_compare_exchange_weak(&s->used, &cur, cur > n ? cur - n : 0))
		;
}

/* Count `n` more bytes against the quota; return 0, or -1 (errno ENOSPC,
 * nothing counted) if the quota would be exceeded. */
static int
used_reserve(struct spool *s, uint64_t n)
{
	uint64_t cur = atomic_load(&s->used);
	do {
		if (n > s->quota || cur > s->quota - n) {
			errno = ENOSPC;
			return -1;
		}
	} while (!atomic_compare_exchange_weak(&s->used, &cur, cur + n));
	return 0;
}

/* --- fault injection for tests (spool.h) --- */

static _Atomic unsigned fault_count[2];
static _Atomic int fault_errno[2];

void
spool_test_fault(enum spool_fault which, unsigned count, int err)
{
	if (which != SPOOL_FAULT_DIRSYNC && which != SPOOL_FAULT_READ)
		return;
	atomic_store(&fault_errno[which], err);
	atomic_store(&fault_count[which], count);
}

/* Return the errno to fail with if a fault of this kind is armed, else 0. */
int
spool_fmt_fault_take(enum spool_fault which)
{
	unsigned c = atomic_load(&fault_count[which]);
	while (c > 0)
		if (atomic_compare_exchange_weak(&fault_count[which], &c, c - 1))
			return atomic_load(&fault_errno[which]);
	return 0;
}

static int
fsync_retry(int fd)
{
	int rc;
	do
		rc = fsync(fd);
	while (rc != 0 && errno == EINTR);
	return rc;
}

/* fsync a directory (retrying only on EINTR, see the top comment). */
static int
dir_sync(int dirfd)
{
	int err = spool_fmt_fault_take(SPOOL_FAULT_DIRSYNC);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return fsync_retry(dirfd);
}

/* --- opening --- */

/* Remove unfinished files and count the bytes of committed ones. */
static int
spool_scan(struct spool *s)
{
	/* A fresh open file description: a dup() would share the directory
	 * offset with concurrent listings on other threads. */
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *de;
	uint64_t used = 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (spool_fmt_name_is(de->d_name, ".part")) {
			if (unlinkat(s->dirfd, de->d_name, 0) != 0)
				log_warn("spool: cannot remove unfinished %s: %s", de->d_name,
				         strerror(errno));
			else
				log_info("spool: removed unfinished %s", de->d_name);
		} else if (spool_fmt_name_is(de->d_name, ".rep") || spool_fmt_name_is(de->d_name, ".bad")) {
			if (fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				used += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	atomic_store(&s->used, used);
	return 0;
}

/* fsync the directory holding `dir`, so that its entry for `dir` is durable.
 * Return 0 or -1 (errno set). */
static int
sync_parent(const char *dir)
{
	char parent[4096];
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	while (n > 0 && dir[n - 1] != '/')
		n--;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (n == 0)
		parent[n++] = '.';
	else
		memcpy(parent, dir, n);
	parent[n] = '\0';
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = dir_sync(fd), err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* Create `dir` if needed and make its name durable. Return 0 or -1 (logged). */
static int
spool_mkdir(const char *dir)
{
	bool created = mkdir(dir, 0700) == 0;
	if (!created && errno != EEXIST) {
		log_error("spool: cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (sync_parent(dir) == 0)
		return 0;
	if (created) {
		/* Files acknowledged in it would vanish with it after a crash. */
		log_error("spool: created %s but cannot sync its parent directory: %s", dir,
		          strerror(errno));
		return -1;
	}
	/* An existing directory was made durable when it was created. */
	log_warn("spool: cannot sync the parent directory of %s: %s", dir, strerror(errno));
	return 0;
}

struct spool *
spool_open(const char *dir, uint64_t quota_bytes)
{
	struct spool *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->dirfd = -1;
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return NULL;
	}
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	s->quota = quota_bytes;
	if ((s->syncers = fanout_new(SPOOL_SYNC_THREADS, "tipd-fsync")) == NULL)
		goto fail;
	if ((s->dir = strdup(dir)) == NULL || spool_mkdir(dir) != 0)
		goto fail;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (s->dirfd < 0) {
		log_error("spool: cannot open %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (fchmod(s->dirfd, 0700) != 0)
		log_warn("spool: cannot set mode 0700 on %s: %s", dir, strerror(errno));
	if (spool_scan(s) != 0) {
		log_error("spool: cannot scan %s: %s", dir, strerror(errno));
		goto fail;
	}
	return s;
fail:
	spool_free(s);
	return NULL;
}

void
spool_free(struct spool *s)
{
	if (s == NULL)
		return;
	if (s->committer_running) {
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->committer, NULL);
	}
	fanout_free(s->syncers);
	free(s->group);
	if (s->dirfd >= 0)
		close(s->dirfd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->dir);
	free(s);
}

uint64_t
spool_used(const struct spool *s)
{
	return atomic_load(&((struct spool *)(uintptr_t)s)->used);
}

int
spool_fmt_dirfd(const struct spool *s)
{
	return s->dirfd;
}

const char *
spool_dir(const struct spool *s)
{
	return s->dir;
}

/* --- writing --- */

/* Remember the first write error: the file is now in an unknown state. */
static int
txn_failed(struct spool_txn *t)
{
	if (t->err == 0)
		t->err = errno != 0 ? errno : EIO;
	errno = t->err;
	return -1;
}

static int
txn_flush(struct spool_txn *t)
{
	if (t->wlen == 0)
		return 0;
	errno = 0;
	if (util_write_all(t->fd, t->wbuf, t->wlen) != 0)
		return txn_failed(t);
	t->wlen = 0;
	return 0;
}

/* Before writing `need` bytes of whole records: check the txn, the file size
 * cap (keeping room for the END record) and reserve the bytes against the
 * quota. Return 0, or -1 with nothing written (errno as in spool.h). */
static int
txn_room(struct spool_txn *t, uint64_t need)
{
	if (t->err != 0) {
		errno = t->err;
		return -1;
	}
	if (t->fd < 0 || need > SPOOL_MAX_FILE_BYTES - END_LEN - t->bytes) {
		errno = EFBIG;
		return -1;
	}
	if (used_reserve(t->s, need) != 0)
		return -1;
	t->charged += need;
	return 0;
}

/* Append bytes reserved by txn_room to the file (through the write buffer)
 * and the checksum. */
static int
txn_write(struct spool_txn *t, const void *p, size_t n)
{
	if (t->err != 0) {
		errno = t->err;
		return -1;
	}
	if (t->fd < 0 || t->bytes + n + END_LEN > t->charged) {
		errno = EFBIG; /* not reserved: a bug, but never write past the cap */
		return txn_failed(t);
	}
	if (crypto_generichash_update(&t->h, p, n) != 0) {
		errno = EIO;
		return txn_failed(t);
	}
	t->bytes += n;
	if (t->wlen + n <= WBUF_SIZE) {
		memcpy(t->wbuf + t->wlen, p, n);
		t->wlen += n;
		return 0;
	}
	if (txn_flush(t) != 0)
		return -1;
	errno = 0;
	if (util_write_all(t->fd, p, n) != 0)
		return txn_failed(t);
	return 0;
}

static int
txn_record(struct spool_txn *t, uint8_t type, size_t len)
{
	uint8_t pre[REC_PREFIX];
	pre[0] = type;
	put_u32(pre + 1, (uint32_t)len);
	return txn_write(t, pre, sizeof(pre));
}

static void
txn_free(struct spool_txn *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->ev != NULL)
		event_free(t->ev);
	free(t->objs);
	sodium_memzero(t, sizeof(*t));
	free(t);
}

static void
part_name(const struct spool_txn *t, const char *suffix, char *out, size_t n)
{
	snprintf(out, n, "%s%s", t->id, suffix);
}

struct spool_txn *
spool_begin(struct spool *s, const char *report_uuid, const char *team, const char *date)
{
	struct spool_txn *t = NULL;
	char name[64];
	if (!util_uuid_valid(report_uuid) || !spool_fmt_valid_team(team) || !spool_fmt_valid_date(date)) {
		errno = EINVAL;
		return NULL;
	}
	size_t tl = strlen(team);
	/* The head, and the END record's room until the commit writes it. */
	uint64_t reserve = HEAD_LEN(tl) + END_LEN;
	if (used_reserve(s, reserve) != 0)
		return NULL;
	if (posix_memalign((void **)&t, 64, sizeof(*t)) != 0) {
		used_sub(s, reserve);
		errno = ENOMEM;
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	t->s = s;
	t->fd = -1;
	t->charged = reserve;
	util_uuid(t->id);
	memcpy(t->report, report_uuid, UUID_STR_LEN);
	part_name(t, ".part", name, sizeof(name));
	t->fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	               0600);
	if (t->fd < 0)
		goto fail;
	if (crypto_generichash_init(&t->h, NULL, 0, 32) != 0 ||
	    txn_write(t, SPOOL_MAGIC, SPOOL_MAGIC_LEN) != 0 ||
	    txn_record(t, REC_META, UUID_LEN + 10 + tl) != 0 ||
	    txn_write(t, report_uuid, UUID_LEN) != 0 || txn_write(t, date, 10) != 0 ||
	    txn_write(t, team, tl) != 0)
		goto fail;
	return t;
fail:;
	int err = errno;
	spool_abort(t);
	errno = err;
	return NULL;
}

static struct txn_obj *
txn_find(struct spool_txn *t, const char *uuid)
{
	for (size_t i = 0; i < t->nobjs; i++)
		if (strcmp(t->objs[i].uuid, uuid) == 0)
			return &t->objs[i];
	return NULL;
}

int
spool_object(struct spool_txn *t, enum spool_kind kind, const char *object_uuid)
{
	if (kind < SPOOL_REPORT || kind > SPOOL_MESSAGE || !util_uuid_valid(object_uuid) ||
	    txn_find(t, object_uuid) != NULL || t->nobjs >= SPOOL_MAX_OBJECTS)
		goto inval;
	if (kind == SPOOL_REPORT && (t->has_report || strcmp(object_uuid, t->report) != 0))
		goto inval;
	struct txn_obj *o = realloc(t->objs, (t->nobjs + 1) * sizeof(*o));
	if (o == NULL)
		return -1;
	t->objs = o;
	uint8_t k = (uint8_t)kind;
	if (txn_room(t, REC_PREFIX + 1 + UUID_LEN) != 0 ||
	    txn_record(t, REC_OBJECT, 1 + UUID_LEN) != 0 || txn_write(t, &k, 1) != 0 ||
	    txn_write(t, object_uuid, UUID_LEN) != 0)
		return -1;
	o = &t->objs[t->nobjs++];
	memset(o, 0, sizeof(*o));
	memcpy(o->uuid, object_uuid, UUID_STR_LEN);
	if (kind == SPOOL_REPORT)
		t->has_report = true;
	return 0;
inval:
	errno = EINVAL;
	return -1;
}

int
spool_header(struct spool_txn *t, const char *object_uuid, const char *recipient,
             const uint8_t *hdr, size_t len)
{
	struct txn_obj *o = util_uuid_valid(object_uuid) ? txn_find(t, object_uuid) : NULL;
	size_t rl = strlen(recipient);
	if (o == NULL || !spool_fmt_valid_recipient(recipient, rl, SPOOL_MAX_RECIPIENT) ||
	    len < 1 || len > SPOOL_MAX_HEADER_BYTES || o->nheaders >= SPOOL_MAX_HEADERS) {
		errno = EINVAL;
		return -1;
	}
	uint8_t rlen[2] = { (uint8_t)(rl >> 8), (uint8_t)rl };
	if (txn_room(t, REC_PREFIX + UUID_LEN + 2 + rl + len) != 0 ||
	    txn_record(t, REC_HEADER, UUID_LEN + 2 + rl + len) != 0 ||
	    txn_write(t, object_uuid, UUID_LEN) != 0 || txn_write(t, rlen, 2) != 0 ||
	    txn_write(t, recipient, rl) != 0 || txn_write(t, hdr, len) != 0)
		return -1;
	o->nheaders++;
	return 0;
}

int
spool_payload(struct spool_txn *t, const char *object_uuid, const uint8_t *p, size_t len)
{
	struct txn_obj *o = util_uuid_valid(object_uuid) ? txn_find(t, object_uuid) : NULL;
	if (o == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (len > SPOOL_MAX_FILE_BYTES) {
		errno = EFBIG;
		return -1;
	}
	/* All chunks or none: a refused payload leaves the file as it was. */
	uint64_t nrec = ((uint64_t)len + SPOOL_CHUNK - 1) / SPOOL_CHUNK;
	if (len > 0 && txn_room(t, len + nrec * (REC_PREFIX + UUID_LEN)) != 0)
		return -1;
	while (len > 0) {
		size_t n = len < SPOOL_CHUNK ? len : SPOOL_CHUNK;
		if (txn_record(t, REC_PAYLOAD, UUID_LEN + n) != 0 ||
		    txn_write(t, object_uuid, UUID_LEN) != 0 || txn_write(t, p, n) != 0)
			return -1;
		o->payload += n;
		p += n;
		len -= n;
	}
	return 0;
}

int
spool_inbox(struct spool_txn *t, const uint8_t lookup_id[32], const uint8_t source_pk[32])
{
	if (t->has_inbox || t->has_forget) {
		errno = EINVAL;
		return -1;
	}
	if (txn_room(t, REC_PREFIX + 64) != 0 || txn_record(t, REC_INBOX, 64) != 0 ||
	    txn_write(t, lookup_id, 32) != 0 ||
	    txn_write(t, source_pk, 32) != 0)
		return -1;
	t->has_inbox = true;
	return 0;
}

int
spool_forget(struct spool_txn *t, const uint8_t lookup_id[32])
{
	if (t->has_forget || t->has_inbox) {
		errno = EINVAL;
		return -1;
	}
	if (txn_room(t, REC_PREFIX + 32) != 0 || txn_record(t, REC_FORGET, 32) != 0 ||
	    txn_write(t, lookup_id, 32) != 0)
		return -1;
	t->has_forget = true;
	return 0;
}

void
spool_abort(struct spool_txn *t)
{
	char name[64];
	if (t == NULL)
		return;
	if (t->fd >= 0) {
		part_name(t, ".part", name, sizeof(name));
		unlinkat(t->s->dirfd, name, 0);
	}
	if (!t->renamed)
		used_sub(t->s, t->charged);
	t->charged = 0;
	txn_free(t);
}

/* Check completeness and write the END record; the data is then in the file
 * (not yet durable). Return 0 or -1. */
static int
txn_seal(struct spool_txn *t)
{
	uint8_t sum[32];
	if (t->err != 0) {
		errno = t->err;
		return -1;
	}
	if (t->nobjs == 0 && !t->has_forget)
		goto inval;
	for (size_t i = 0; i < t->nobjs; i++)
		if (t->objs[i].nheaders == 0 || t->objs[i].payload == 0)
			goto inval;
	if (crypto_generichash_final(&t->h, sum, sizeof(sum)) != 0)
		return -1;
	/* The END record is not part of the checksum: write it around txn_write. */
	uint8_t rec[END_LEN];
	rec[0] = REC_END;
	put_u32(rec + 1, 32);
	memcpy(rec + REC_PREFIX, sum, 32);
	/* Its room was reserved by spool_begin: t->charged is the file size now.
	 * Appended to the write buffer when it fits, so that a report's file
	 * usually takes one write(2) rather than two. */
	if (t->wlen + sizeof(rec) <= WBUF_SIZE) {
		memcpy(t->wbuf + t->wlen, rec, sizeof(rec));
		t->wlen += sizeof(rec);
	} else if (txn_flush(t) != 0) {
		return -1;
	} else {
		errno = 0;
		if (util_write_all(t->fd, rec, sizeof(rec)) != 0)
			return txn_failed(t);
	}
	t->bytes += sizeof(rec);
	return txn_flush(t);
inval:
	log_error("spool: refusing to commit an incomplete submission");
	errno = EINVAL;
	return -1;
}

/* fsync the file and rename it to ".rep" (no directory fsync). Return 0, or
 * -1 with errno set and the ".part" file removed. */
static int
txn_durable_file(struct spool_txn *t)
{
	char from[64], to[64];
	part_name(t, ".part", from, sizeof(from));
	part_name(t, ".rep", to, sizeof(to));
	int rc = fsync_retry(t->fd), err = errno;
	if (close(t->fd) != 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	t->fd = -1;
	if (rc == 0 && renameat(t->s->dirfd, from, t->s->dirfd, to) != 0) {
		rc = -1;
		err = errno;
	}
	if (rc != 0) {
		unlinkat(t->s->dirfd, from, 0);
		errno = err;
		return -1;
	}
	t->renamed = true;
	return 0;
}

/* After a failed commit (error `err`): release the quota of a file that never
 * became ".rep" (txn_durable_file removed it); keep a ".rep" file, whose bytes
 * are now the file's (see the top comment). Leaves errno = err. */
static void
txn_discard(struct spool_txn *t, int err)
{
	if (t->renamed)
		log_error("spool: %s.rep is complete but the spool directory could not be "
		          "synced (%s): kept for the flusher, the submission is reported "
		          "as failed",
		          t->id, strerror(err));
	else
		log_error("spool: commit of %s failed: %s", t->id, strerror(err));
	if (!t->renamed)
		used_sub(t->s, t->charged);
	t->charged = 0;
	errno = err;
}

int
spool_commit_sync(struct spool_txn *t)
{
	int err;
	if (txn_seal(t) != 0) {
		err = errno;
		spool_abort(t);
		errno = err;
		return -1;
	}
	if (txn_durable_file(t) == 0 && dir_sync(t->s->dirfd) == 0) {
		txn_free(t);
		return 0;
	}
	err = errno;
	txn_discard(t, err);
	txn_free(t);
	errno = err;
	return -1;
}

static void
commit_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct spool_txn *t = arg;
	(void)fd;
	(void)what;
	t->cb(t->ok, t->arg);
	txn_free(t);
}

/* Make one queued file durable but for its name (fanout_run's function). */
static void
commit_file(void *arg)
{
	struct spool_txn *t = arg;
	t->ok = txn_durable_file(t) == 0;
	t->err = t->ok ? 0 : errno;
}

/* fsync and rename every file of `list`, several at once (one at a time if
 * the group's array cannot grow). Return true if any file is now ".rep". */
static bool
commit_files(struct spool *s, struct spool_txn *list)
{
	size_t n = 0;
	bool any = false;
	for (struct spool_txn *t = list; t != NULL; t = t->next)
		n++;
	if (n > s->group_cap) {
		void **g = realloc(s->group, n * sizeof(*g));
		if (g != NULL) {
			s->group = g;
			s->group_cap = n;
		}
	}
	if (n <= s->group_cap) {
		n = 0;
		for (struct spool_txn *t = list; t != NULL; t = t->next)
			s->group[n++] = t;
		fanout_run(s->syncers, s->group, n, commit_file);
	} else {
		for (struct spool_txn *t = list; t != NULL; t = t->next)
			commit_file(t);
	}
	for (struct spool_txn *t = list; t != NULL; t = t->next)
		any |= t->ok;
	return any;
}

/* Group commit: fsync and rename every queued file (each file's fsync before
 * its own rename), then one directory fsync for all of them, then hand each
 * result back to its loop. */
static void
commit_batch(struct spool *s, struct spool_txn *list)
{
	bool any = commit_files(s, list);
	int dir_err = 0;
	if (any && dir_sync(s->dirfd) != 0)
		dir_err = errno;
	struct spool_txn *next;
	for (struct spool_txn *t = list; t != NULL; t = next) {
		next = t->next;
		if (t->ok && dir_err != 0) {
			t->ok = 0;
			t->err = dir_err;
		}
		if (!t->ok)
			txn_discard(t, t->err);
		event_active(t->ev, EV_TIMEOUT, 0);
	}
}

static void *
committer_main(void *arg)
{
	struct spool *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->queue == NULL && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->queue == NULL && s->stopping)
			break;
		struct spool_txn *list = s->queue;
		s->queue = NULL;
		pthread_mutex_unlock(&s->mu);
		commit_batch(s, list);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int
commit_enqueue(struct spool *s, struct spool_txn *t)
{
	pthread_mutex_lock(&s->mu);
	if (!s->committer_running) {
		if (pthread_create(&s->committer, NULL, committer_main, s) != 0) {
			pthread_mutex_unlock(&s->mu);
			return -1;
		}
		(void)pthread_setname_np(s->committer, "tipd-committer");
		s->committer_running = true;
	}
	t->next = s->queue;
	s->queue = t;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int
spool_commit(struct spool_txn *t, struct event_base *base, spool_done_cb cb, void *arg)
{
	if (cb == NULL || base == NULL)
		goto fail;
	t->cb = cb;
	t->arg = arg;
	t->ev = event_new(base, -1, 0, commit_deliver, t);
	if (t->ev == NULL || txn_seal(t) != 0 || commit_enqueue(t->s, t) != 0)
		goto fail;
	return 0;
fail:;
	int err = errno != 0 ? errno : EIO;
	spool_abort(t);
	errno = err;
	return -1;
}

/* --- removing --- */

int
spool_entry_remove(struct spool *s, const struct spool_entry *e)
{
	struct stat st;
	if (lstat(e->path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (unlink(e->path) != 0)
		return errno == ENOENT ? 0 : -1;
	used_sub(s, (uint64_t)st.st_size);
	return 0;
}

int
spool_quarantine(struct spool *s, const char *path)
{
	size_t n = strlen(path);
	char to[4096];
	(void)s;
	if (n < 4 || n >= sizeof(to) || strcmp(path + n - 4, ".rep") != 0)
		return -1;
	memcpy(to, path, n - 4);
	memcpy(to + n - 4, ".bad", 5);
	if (rename(path, to) != 0)
		return -1;
	log_warn("spool: moved unreadable %s aside as .bad", path);
	return 0;
}
