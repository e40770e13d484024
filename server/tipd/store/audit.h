/*
 * audit: the tamper-evident audit log (docs/api.md "Audit log").
 *
 * Entries. Every audited action appends one leaf to an RFC 9162 Merkle tree
 * (server/lib/merkle.h) kept in PostgreSQL (schema/0006_audit.sql). An
 * entry is one line of ASCII, the exact bytes hashed into the leaf:
 *
 *   tipline/v1/audit <unix seconds> <action> <actor> <team|-> <object uuid|-> <subject|->
 *
 * where actor and subject are the lower-case hex SHA-256 of an Ed25519 key
 * (its first 16 digits are the fingerprint `tipctl whoami` shows) or
 * "operator" for tipd's own subcommands. Never report content, names,
 * addresses or anything a source sent.
 *
 * Appends. review_req.c's rv_audit() queues the append into the request's current step,
 * after the action's statements: `select pg_advisory_xact_lock(AUDIT_LOCK)`
 * then an INSERT of index max(idx) + 1. In pipeline mode everything up to
 * the step's Sync is one implicit transaction, so the action and its entry
 * commit or fail together, and the advisory lock serializes appends from
 * every tipd host sharing the database (docs/architecture.md §8) until that commit.
 *
 * Checkpoints. tipd signs C2SP tlog-checkpoints with its audit key (an
 * Ed25519 signed-note key in STATE_DIR/audit.key, mode 0600, made on first
 * start) every [audit] checkpoint_entries new entries, or every
 * checkpoint_interval_s seconds if the log grew, and stores them in
 * audit_checkpoints. The signer runs on a thread of its own with a blocking
 * libpq connection: it does a few sequential statements once a second at
 * most, so it needs no event loop, and blocking there holds up no request
 * (the flusher's loop is left to the flusher). Before signing size n it
 * takes the advisory lock, reads the newest stored checkpoint, and checks
 * that the tree it is about to sign extends it (the root of its first
 * `size` leaves equals the stored root); if not it refuses, loudly, and
 * never signs. It inserts with ON CONFLICT DO NOTHING, so two hosts never
 * store two checkpoints of one size, and never two that disagree. It reads
 * each leaf once (a page of AUDIT_SYNC_PAGE at a time) into a Merkle
 * frontier (server/lib/merkle.h): O(log n) memory whatever the log's size,
 * and only the new leaves per checkpoint. So the checkpoint it checks must
 * be at or past the leaves it holds, or the one it checked last: the newest
 * checkpoint never goes back, since every signer signs the whole log under
 * the lock.
 */
#ifndef TIPD_AUDIT_H
#define TIPD_AUDIT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct tipd_config;
struct audit;
struct note_signer;

/* The transaction-level advisory lock key of the audit log's single writer. */
#define AUDIT_LOCK "7461756469740001"
#define AUDIT_ENTRY_MAX 512          /* longest entry line */
#define AUDIT_KEY_FILE "audit.key"
#define AUDIT_DEFAULT_ENTRIES 64     /* [audit] checkpoint_entries */
#define AUDIT_DEFAULT_INTERVAL_S 60  /* [audit] checkpoint_interval_s */

/* What was done. The codes (audit_action_code) are stable: never renumber. */
enum audit_action {
	AUDIT_LOGIN,
	AUDIT_LOGOUT,
	AUDIT_REPORT_LIST,
	AUDIT_REPORT_FETCH,
	AUDIT_ATTACHMENT_FETCH,
	AUDIT_REPORT_PATCH,
	AUDIT_REPLY_POST,
	AUDIT_NOTE_POST,
	AUDIT_INVITE_CREATE,
	AUDIT_ENROLL,
	AUDIT_ENROLL_APPROVE, /* a membership statement uploaded */
	AUDIT_MEMBER_REVOKE,
	AUDIT_HEADERS_ADD,    /* history sync: headers added for a newcomer */
	AUDIT_LABEL_ADD,
	AUDIT_LABEL_REMOVE,
	AUDIT_OPERATOR_INVITE,
	AUDIT_MEMBERSHIP_FETCH,
	AUDIT_ENROLL_REJECT, /* an admin rejected a pending enrollment */
	AUDIT_ADMIN_ADD,     /* an admin statement added the subject key */
	AUDIT_ADMIN_REMOVE,  /* an admin statement removed the subject key */
	AUDIT_ADMINS_FETCH,  /* the admin chain was read */
	AUDIT_KEYS_CHECK,    /* a page of the key inventory was read */
	AUDIT_KEY_ROTATE,    /* the audit signing key was handed over (subject: the next key) */
	AUDIT_PARTNER_ADD,    /* subject: the partner's X25519 key */
	AUDIT_PARTNER_REMOVE,
	AUDIT_REPORT_REFER,   /* a case encrypted to a partner; subject: its X25519 key */
	AUDIT_REPORT_HOLD,    /* legal hold set */
	AUDIT_REPORT_RELEASE, /* legal hold released */
	AUDIT_RETENTION_SET,  /* a team's retention policy */
	AUDIT_REPORT_PURGE,   /* `tipd purge` deleted an expired report */
	AUDIT_MEMBER_ROTATE, /* a statement replaced a member's keys (subject: the new key) */
	AUDIT_MEMBER_ROTATE_DONE, /* the member's old key's headers were deleted after re-wrap */
	AUDIT_ACTION_COUNT
};

/* The entry code of `a` ("login", "report_fetch", ...), or NULL if out of range. */
const char *audit_action_code(enum audit_action a);
/* The action whose code is the NUL-terminated `code`; -1 if none. */
int audit_action_parse(const char *code);

/*
 * Append the entry line for the given fields to `out`: `actor` is the hex
 * SHA-256 of the 32-byte Ed25519 key `actor_pk`, or "operator" if it is
 * NULL; `team`, `object` (a uuid) and `subject_pk` may be NULL ("-").
 * Return 0, or -1 if a field is malformed (a team that is not a team id, an
 * object that is not a uuid) or `out` is full.
 */
int audit_entry_format(struct buf *out, int64_t when, enum audit_action a, const uint8_t *actor_pk,
                       const char *team, const char *object, const uint8_t *subject_pk)
	__attribute__((warn_unused_result));

/* The subject of label_add and label_remove entries: "label:" and the label. */
#define AUDIT_LABEL_PREFIX "label:"

/* Same, with the subject given as text: NULL ("-"), or for label_add and
 * label_remove AUDIT_LABEL_PREFIX followed by the label (1 to 64 of a-z,
 * 0-9, '.', '_', '-', starting with a letter or digit). */
int audit_entry_format_label(struct buf *out, int64_t when, enum audit_action a,
                             const uint8_t *actor_pk, const char *label)
	__attribute__((warn_unused_result));

/* The fields of a parsed entry, pointing into the caller's copy. */
struct audit_fields {
	int64_t when;
	char action[32];
	char actor[65];  /* 64 hex, or "operator" */
	char team[65];   /* "" for "-" */
	char object[37]; /* "" for "-" */
	char subject[72];/* "" for "-"; 64 hex, or "label:NAME" (label_add, label_remove) */
};

/* Parse the entry of `len` bytes at `p` strictly. Return 0, or -1. */
int audit_entry_parse(const char *p, size_t len, struct audit_fields *f)
	__attribute__((warn_unused_result));

/*
 * The statements an append queues into a step (review/review_req.c's
 * rv_audit*) or runs on a blocking connection: the lock, then the insert of
 * an entry ($1 bytea) with its leaf hash ($2 bytea), or of an entry built in
 * SQL from a prefix ($1), a looked-up field `expr` (from `from`, which may
 * use $2) and a suffix ($3).
 */
#define AUDIT_SQL_LOCK "select pg_advisory_xact_lock(" AUDIT_LOCK ")"
#define AUDIT_SQL_APPEND                                                                      \
	"insert into audit_entries (idx, entry, leaf_sha256) "                                 \
	"select coalesce(max(idx) + 1, 0), $1::bytea, $2::bytea from audit_entries"
#define AUDIT_SQL_APPEND_FROM(expr, from)                                                     \
	"with e as (select convert_to($1 || " expr " || $3, 'UTF8') b" from ") "               \
	"insert into audit_entries (idx, entry, leaf_sha256) "                                 \
	"select (select coalesce(max(idx) + 1, 0) from audit_entries), b, "                    \
	"sha256('\\x00'::bytea || b) from e"

/*
 * Write the entry of action `a` split around the one field SQL fills in:
 * the team (lookup_actor false; `actor` is the caller; `object` and
 * `subject` may be NULL) or the actor (lookup_actor true; team, object and
 * subject are "-"), into `pre` and `post` (NUL-terminated). Return 0, or -1.
 */
int audit_entry_parts(enum audit_action a, const uint8_t *actor, bool lookup_actor,
                      const char *object, const uint8_t *subject, struct buf *pre,
                      struct buf *post) __attribute__((warn_unused_result));

/*
 * Write the start of an entry of action `a` by `actor_pk` about an object of
 * `team`, up to the object: "tipline/v1/audit <when> <action> <actor> <team> "
 * (NUL-terminated), for entries whose object SQL fills in (followed by the
 * uuid and " -"). Return 0, or -1 if a field is malformed or `out` is full.
 */
int audit_entry_prefix(struct buf *out, int64_t when, enum audit_action a, const uint8_t *actor_pk,
                       const char *team) __attribute__((warn_unused_result));

/*
 * Append one entry by "operator" on the blocking connection `c` in its own
 * transaction (BEGIN; lock; INSERT; COMMIT): for tipd's CLI subcommands.
 * Return 0, or -1 (logged). audit_append_in does the same inside the
 * caller's open transaction, so that the action and its entry commit
 * together.
 */
int audit_append_in(PGconn *c, enum audit_action a, const char *team, const char *object,
                    const uint8_t *subject) __attribute__((warn_unused_result));
int audit_append_blocking(PGconn *c, enum audit_action a, const char *team, const char *object,
                          const uint8_t *subject) __attribute__((warn_unused_result));

/*
 * Load the audit signing key from STATE_DIR/audit.key, creating it (mode
 * 0600, O_EXCL|O_NOFOLLOW) if missing, named after the review origin's host
 * ("<host>/audit"; "tipline/audit" without a review listener). Return the
 * audit state (not started), or NULL with the reason in `err`.
 */
struct audit *audit_new(const struct tipd_config *cfg, char *err, size_t errlen);
/* Start the checkpoint signer thread. Return 0, or -1. */
int audit_start(struct audit *a) __attribute__((warn_unused_result));
/* Stop the signer (if started), wipe the key and free. NULL is fine. */
void audit_free(struct audit *a);
/* The verifier key text "<name>+<hash>+<base64>" that tipctl pins. */
const char *audit_verifier_key(const struct audit *a);
/* The log's origin (the key name). */
const char *audit_origin(const struct audit *a);

/*
 * Sign a checkpoint now on the blocking connection `c` if the log grew
 * (or none was ever stored), after the consistency check described above.
 * Return 1 if one was stored, 0 if there was nothing to do, -1 on error
 * (logged; a failed consistency check is an error).
 */
int audit_checkpoint_now(struct audit *a, PGconn *c) __attribute__((warn_unused_result));

/*
 * Hand the log over to the signing key `next` (tipd stopped: `tipd
 * audit-key rotate`): in one transaction, append the audit_key_rotate entry
 * (subject: the next key), check that the log extends the newest stored
 * checkpoint, and store the checkpoint of the whole log signed by the
 * current key and by `next`, naming `next` (checkpoint.h), in
 * audit_checkpoints and audit_key_handovers. Return 0, or -1 (logged;
 * nothing changed).
 */
int audit_handover(struct audit *a, PGconn *c, const struct note_signer *next)
	__attribute__((warn_unused_result));
/* The path of the key file (STATE_DIR/audit.key). */
const char *audit_key_path(const struct audit *a);

#endif
