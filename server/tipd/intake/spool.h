/*
 * spool: the durable local queue between a source and PostgreSQL.
 *
 * One submission is one spool file. Records are appended while the upload
 * streams in (sealed bytes only: headers and payload ciphertext), then the
 * file is sealed with an end record carrying a BLAKE2b checksum of the whole
 * file, fsync'd, renamed from "<file uuid>.part" to "<file uuid>.rep" (a
 * fresh uuid per file; the report uuid is inside), and the directory
 * fsync'd. Only then may a receipt be shown. If that directory fsync fails
 * the commit is reported as failed but the ".rep" file is kept (the flusher
 * may already have read it): the report is never lost, and reaches the
 * database at most once, but the source was told it failed (it may send it
 * again as a new report). Unfinished ".part" files were
 * never acknowledged and are removed at start-up; a ".rep" file that fails
 * its checks is renamed ".bad" for the operator and never flushed.
 *
 * The flusher (flusher.h) reads ".rep" files, inserts them into PostgreSQL
 * and unlinks them after the transaction commits.
 */
#ifndef TIPD_SPOOL_H
#define TIPD_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct spool;
struct spool_txn;

enum spool_kind { SPOOL_REPORT = 1, SPOOL_ATTACHMENT = 2, SPOOL_MESSAGE = 3 };

/* Limits enforced when writing and again when reading a spool file. */
#define SPOOL_MAX_FILE_BYTES (256u << 20) /* one submission, all objects */
#define SPOOL_MAX_OBJECTS 256             /* objects per submission */
#define SPOOL_MAX_HEADERS 256             /* recipients per object */
#define SPOOL_MAX_HEADER_BYTES 65536      /* one age header */
#define SPOOL_MAX_RECIPIENT 256           /* one age1... string */

/* Open (creating, mode 0700) the spool directory with a byte quota; fsync
 * its parent so that the directory itself is durable; remove unfinished
 * ".part" files. NULL on error (logged). */
struct spool *spool_open(const char *dir, uint64_t quota_bytes);
/* Free the spool, after waiting for queued commits (their callbacks are
 * activated on their bases). NULL is fine. */
void spool_free(struct spool *s);
/* Bytes held by committed and in-progress files. */
uint64_t spool_used(const struct spool *s);
const char *spool_dir(const struct spool *s);

/* Start a submission for report `report_uuid` of team `team` on day
 * `date` (YYYY-MM-DD). NULL if the quota is reached (errno ENOSPC) or on error.
 *
 * Every write below counts its bytes against the quota before writing (room
 * for the end record is held from spool_begin on, so a commit never needs
 * more). A write is refused, with nothing written, with errno ENOSPC when the
 * quota would be exceeded (answer 503), EFBIG when the file would exceed
 * SPOOL_MAX_FILE_BYTES (answer 413) and EINVAL on bad arguments. Once a write
 * failed half-way (e.g. ENOSPC from write(2)) every further call, and the
 * commit, fail with that errno: spool_abort() the submission. */
struct spool_txn *spool_begin(struct spool *s, const char *report_uuid, const char *team,
                              const char *date);
/* Declare an object (report, attachment, message) of the submission. */
int spool_object(struct spool_txn *t, enum spool_kind kind, const char *object_uuid)
	__attribute__((warn_unused_result));
/* Add the age header for one recipient of an object (`recipient` is its age1… string). */
int spool_header(struct spool_txn *t, const char *object_uuid, const char *recipient,
                 const uint8_t *hdr, size_t len) __attribute__((warn_unused_result));
/* Append payload ciphertext of an object (may be called many times, in order). */
int spool_payload(struct spool_txn *t, const char *object_uuid, const uint8_t *p, size_t len)
	__attribute__((warn_unused_result));

/* Record the submission's inbox: the receipt's lookup id and the source's
 * X25519 public key (32 bytes each; never the receipt itself). Once per txn. */
int spool_inbox(struct spool_txn *t, const uint8_t lookup_id[32], const uint8_t source_pk[32])
	__attribute__((warn_unused_result));

/* Record that the source asked to forget the receipt with lookup id
 * `lookup_id` (of this submission's report). Once per txn, never with
 * spool_inbox(); a submission may then hold no object. */
int spool_forget(struct spool_txn *t, const uint8_t lookup_id[32])
	__attribute__((warn_unused_result));

/* Called on the loop of `base` when a commit finished: ok is 1 if durable. */
typedef void (*spool_done_cb)(int ok, void *arg);
/* Write the end record, then fsync and rename off the loop (worker thread);
 * call `cb` on `base` when durable. Takes ownership of `t`. Return 0, or -1
 * (cb not called, t freed). `base` must have been created after
 * evthread_use_pthreads(), and must keep running until the callback came;
 * commits queued together share one directory fsync. */
int spool_commit(struct spool_txn *t, struct event_base *base, spool_done_cb cb, void *arg)
	__attribute__((warn_unused_result));
/* Blocking variant for tools and tests. Return 0 if durable. Frees `t`. */
int spool_commit_sync(struct spool_txn *t) __attribute__((warn_unused_result));
/* Drop an unfinished submission and its file. NULL is fine. */
void spool_abort(struct spool_txn *t);

/* --- reading, for the flusher --- */
struct spool_object {
	enum spool_kind kind;
	char uuid[37];
	size_t nheaders;
	char **recipients;          /* age1… strings */
	uint8_t **headers;
	size_t *header_lens;
	uint8_t *payload;           /* ciphertext */
	size_t payload_len;
};
struct spool_entry {
	char report_uuid[37];
	char team[64];
	char date[11];
	int has_inbox;              /* spool_inbox() was called */
	uint8_t lookup_id[32];
	uint8_t source_pk[32];
	int has_forget;             /* spool_forget() was called */
	uint8_t forget_id[32];
	size_t nobjects;
	struct spool_object *objects;
	char path[4096];
};
/* List up to `max` committed entry paths into a malloc'd array (caller frees
 * with spool_list_free). Return the count, or -1. */
int spool_list(struct spool *s, char ***paths, size_t max);
void spool_list_free(char **paths, int n);
/* List, in name order, up to `max` committed entry paths whose file name
 * comes after `after` (a file name; "" for the first), reading the whole
 * directory. Return the count (fewer than `max`: nothing is left after the
 * last one), or -1. Caller frees with spool_list_free. */
int spool_list_after(struct spool *s, const char *after, char ***paths, size_t max);
/* Read and verify one committed file. NULL if missing, corrupt or unreadable
 * (errno says which, see below). */
struct spool_entry *spool_entry_read(const char *path);
/* Parse and verify the bytes of a spool file (what spool_entry_read does after
 * reading it; `path` of the result is empty). NULL if corrupt (errno EBADMSG)
 * or out of memory (ENOMEM). Caller frees. */
struct spool_entry *spool_entry_parse(const uint8_t *p, size_t n);
/* Move a committed file that cannot be flushed aside ("<id>.rep" becomes
 * "<id>.bad", still counted against the quota) for the operator. Return 0 or -1. */
int spool_quarantine(struct spool *s, const char *path);
void spool_entry_free(struct spool_entry *e);
/* Remove a flushed file and release its quota. Return 0 or -1. */
int spool_entry_remove(struct spool *s, const struct spool_entry *e);

/* errno after spool_entry_read()/spool_entry_parse() returned NULL:
 *   EBADMSG  the bytes are not an intact spool file (quarantine it);
 *   ENOENT   the file is gone (flushed or removed meanwhile);
 *   anything else (EMFILE, ENFILE, ENOMEM, EIO, ...) is a failure to read
 *   it now: keep the file and try again later. */

/* --- fault injection, for tests only (tipd never calls this) --- */
enum spool_fault { SPOOL_FAULT_DIRSYNC = 0, SPOOL_FAULT_READ = 1 };
/* Make the next `count` directory fsyncs (SPOOL_FAULT_DIRSYNC) or
 * spool_entry_read() calls (SPOOL_FAULT_READ), by any spool of the process,
 * fail with errno `err`. A count of 0 disarms. */
void spool_test_fault(enum spool_fault which, unsigned count, int err);
/* For spool.c and spool_read.c only: the errno an armed spool_test_fault()
 * asks `which` to fail with (one use of its count), or 0. Declared here, not
 * in spool_format.h, so that header needs nothing of this one. */
int spool_fmt_fault_take(enum spool_fault which);

#endif
