/*
 * review_req: the request engine of the review API. Every route of the
 * table in review.c runs on it:
 *
 *  - the request object (struct rv_req): the route's row, its path
 *    parameters, the body, the caller, and one context pointer that the
 *    route's handler ops size and release (struct rv_ops);
 *  - asynchronous database steps on the request's loop (rv_q, rv_run);
 *  - the answer helpers (rv_answer, rv_problem, rv_answer_json), which also
 *    free the request;
 *  - the caller and membership lookups, against the membership the request
 *    started with (the statements tipd verified, cached by teams.c);
 *  - the audit appends (rv_audit*), queued into the request's current step
 *    so that an action and its entry commit together. store/audit.c writes
 *    the entry format and knows nothing of requests.
 *
 * It knows no route: routes know it.
 */
#ifndef TIPD_REVIEW_REQ_H
#define TIPD_REVIEW_REQ_H

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "age.h"
#include "audit.h"
#include "buf.h"
#include "db.h"
#include "membership.h"
#include "review_auth.h"

struct app;
struct http_request;
struct rv_members;

#define RV_MAX_TEAMS 64
#define RV_MAX_QUERIES DB_STEP_MAX

/* The state the review API shares between its requests. */
struct review {
	struct app *app;
	struct rv_nonces *nonces;
	struct limiter *limiter;    /* failed logins and enrollments */
	pthread_mutex_t mu;         /* guards `members` */
	struct rv_members *members; /* built from the latest teams view */
	char *questionnaire;
	size_t qlen;
};

/* One member of one team's latest verified membership. */
struct rv_member {
	char team[MEMBERSHIP_TEAM_MAX + 1];
	char name[MEMBERSHIP_NAME_MAX + 1];
	char recipient[AGE_RECIPIENT_STR_MAX];
	uint8_t ed25519[RV_PK_LEN];
};

/* The investigator behind a request: their memberships (one per team). */
struct rv_caller {
	uint8_t ed25519[RV_PK_LEN];
	bool admin; /* the key is one of the admin keys pinned in the configuration */
	const struct rv_member *m[RV_MAX_TEAMS];
	size_t n;
};

/* Which route a request is, for handlers that serve more than one row (a
 * reply or a note, leaves or entries). Never ordered: the table decides. */
enum rv_route {
	RV_NONCE,
	RV_LOGIN,
	RV_LOGOUT,
	RV_LIST,
	RV_FETCH,
	RV_ATTACHMENT,
	RV_PATCH,
	RV_LABELS,
	RV_QUESTIONNAIRE,
	RV_REPLY,
	RV_NOTE,
	RV_MEMBERSHIP,
	RV_AUDIT_CHECKPOINT,
	RV_AUDIT_LEAVES,
	RV_AUDIT_LEAVES_RAW,
	RV_AUDIT_ENTRIES,
	RV_AUDIT_INCLUSION,
	RV_AUDIT_CONSISTENCY,
	RV_ENROLL,
	RV_ADMIN_INVITE,
	RV_ADMIN_ENROLLMENTS,
	RV_ADMIN_MEMBERSHIP,
	RV_ADMIN_LABEL_ADD,
	RV_ADMIN_LABEL_DEL,
	RV_ADMIN_TEAMS,
	RV_ADMIN_REJECT,
	RV_MISSING_HEADERS,
	RV_HEADERS,
	RV_TEAM_OBJECTS, /* review_batch.c */
	RV_TEAM_HEADERS,
	RV_ADMINS,
	RV_ADMIN_ADMINS,
	RV_ADMIN_KEYS,
	RV_AUDIT_HANDOVERS,
	RV_PARTNERS,
	RV_ADMIN_PARTNER_ADD,
	RV_ADMIN_PARTNER_DEL,
	RV_REFER,
	RV_HOLD,
	RV_ADMIN_RETENTION,
	RV_ADMIN_RETENTION_SET,
	RV_KEYS_ROTATION, /* review_rotate.c */
	RV_KEYS_ROTATION_HEADERS,
	RV_KEYS_ROTATION_FINISH
};

/* Who may call a route. */
enum rv_who {
	RV_ANYONE,  /* no session (login, enrollment: the handler checks what it needs) */
	RV_SESSION, /* a bearer token, which the handler checks itself (logout) */
	RV_MEMBER,  /* a live session of a key in some team, or an admin key */
	RV_ADMIN    /* a live session of an admin key (403 otherwise) */
};

struct rv_req;

/* What a route does; one per table row (several rows may share one). */
struct rv_ops {
	/* Run the route once the body is in and the caller is checked; it
	 * answers (now or after its steps). */
	void (*start)(struct rv_req *r);
	/* Bytes of route state in r->ctx, zeroed before `start` (0: none). */
	size_t ctx_size;
	/* Release what r->ctx holds (not r->ctx itself; NULL: nothing). */
	void (*ctx_free)(void *ctx);
	/* Answer a body over the row's limit (NULL: 413). */
	void (*too_large)(struct rv_req *r);
};

/* One row of the route table (review.c). */
struct rv_row {
	const char *method;
	/* "/api/v1/reports/{id}/attachments/{aid}": a {name} is one whole path
	 * segment, checked and copied into the request: {id} and {aid} a uuid
	 * (r->id, r->aid), {team} a team id (r->team), {label} a label (r->label),
	 * {partner} a partner name (r->label as well). */
	const char *pattern;
	enum rv_who who;
	size_t body_max;
	enum rv_route id;
	const struct rv_ops *ops;
};

/* A query's result (borrowed), only when it succeeded. */
typedef void (*rv_row_cb)(struct rv_req *r, const PGresult *res);
/* The next step once every queued query of a step is in and none failed. */
typedef void (*rv_step)(struct rv_req *r);

/* One review request. Freed when it is answered. */
struct rv_req {
	struct app *app;
	struct review *rv;
	struct http_request *req;
	const struct rv_row *row;
	enum rv_route route; /* row->id */
	/* path parameters */
	char id[37];
	char aid[37];
	char team[MEMBERSHIP_TEAM_MAX + 1];
	char label[65]; /* {label}, {partner} */
	struct buf body;
	bool completed;
	uint8_t token_sha[32];
	char token[RV_B64URL_32]; /* a new session's token, until answered */
	struct rv_caller caller;
	/* the step in flight */
	struct db_step step;
	rv_row_cb qcb[RV_MAX_QUERIES];
	rv_step next;
	/* what the steps found */
	int found;
	json_t *out;
	void *ctx;                  /* the route's state: row->ops->ctx_size bytes */
	struct rv_members *members; /* the membership this request runs under */
};

/* Make a request for `row` on `req` whose steps run on `db` (path
 * parameters still to fill in); NULL if out of memory. */
struct rv_req *rv_req_new(struct review *rv, const struct rv_row *row, struct http_request *req,
                          struct db *db);
/* Free `r` without answering (an aborted request). */
void rv_req_free(struct rv_req *r);
/* Run the route of `r` for a caller whose session was checked (or who needs
 * none): the admin check, the route state, then row->ops->start. */
void rv_req_start(struct rv_req *r);

/* --- steps --- */

/* Queue a statement of the current step; `cb` (may be NULL) sees its result
 * if it succeeds. Binary parameters as in db_query. */
void rv_q(struct rv_req *r, const char *sql, int n, const char *const *values, const int *lengths,
          const int *formats, rv_row_cb cb);
/* rv_q with db_query_ex's flags (DB_Q_BINARY: the result in binary form). */
void rv_q_ex(struct rv_req *r, const char *sql, int n, const char *const *values,
             const int *lengths, const int *formats, unsigned flags, rv_row_cb cb);
/* Fail the current step before its Sync: whatever it queued is rolled back
 * and the request answers 500. For a step that cannot be completed after
 * some of its statements were queued (e.g. an entry that cannot be built). */
void rv_fail_step(struct rv_req *r);
/* End the step: `next` runs once every result is in, or the request is
 * answered 503 (database unavailable) or 500 (a statement failed). */
void rv_run(struct rv_req *r, rv_step next);

/* --- answers (each frees `r`) --- */

/* Answer and free `r`. */
void rv_answer(struct rv_req *r, int status, const char *content_type, const void *body, size_t len,
               const char *extra_headers);
/* Answer with problem+json and free `r`. */
void rv_problem(struct rv_req *r, int status, const char *detail);
/* The same with a machine-readable "code" member (NULL: none; the codes are
 * listed in docs/api.md "Errors") and extra header lines (or NULL). */
void rv_problem_code(struct rv_req *r, int status, const char *code, const char *detail,
                     const char *extra);
/* Answer `doc` (stolen) as application/json and free `r`. */
void rv_answer_json(struct rv_req *r, int status, json_t *doc);
/* Answer 200 with the document the steps built in r->out (taken) and free
 * `r`: the last step of most GET routes (an rv_step). */
void rv_answer_out(struct rv_req *r);
/* Add an empty array named `key` to r->out and return it (r->out owns it),
 * or return NULL after marking the request's step failed. */
json_t *rv_out_array(struct rv_req *r, const char *key);
/* Append `o` (taken; NULL counts as a failure) to `arr`; return 0, or -1
 * after marking the request's step failed. */
int rv_out_append(struct rv_req *r, json_t *arr, json_t *o);

/* --- request bodies --- */

/* Parse the body of `r` as a JSON object (duplicate keys refused) into
 * `*slot`, which must be in the route's state (r->ctx) and released by its
 * ctx_free. Return 0, or -1 after answering 400 with `shape` (which frees
 * `r`: touch neither it nor its state after -1). */
int rv_body_object(struct rv_req *r, const char *shape, json_t **slot)
	__attribute__((warn_unused_result));
/* Return 1 if object `o` has no member but those in the NULL-terminated `keys`. */
int rv_only_keys(json_t *o, const char *const *keys);
/* The string member `key` of `o`, or NULL if absent, not a string or with a NUL. */
const char *rv_str_of(json_t *o, const char *key);
/* Append `s` to the PostgreSQL array literal `arr` (`cap` bytes; "" is the
 * empty array). Only for values already checked to hold no quote,
 * backslash, comma or brace. Return 0, or -1 if it does not fit. */
int rv_array_add(char *arr, size_t cap, const char *s) __attribute__((warn_unused_result));

/* --- the caller and the membership --- */

/* Take the current membership for `r` (rebuilt when teams.c adopted a new
 * one). Return 0, or -1 if out of memory. */
int rv_req_members(struct rv_req *r);
/* Release the membership cache of `rv` (review_free). */
void rv_members_release(struct review *rv);
/* Fill r->caller with every membership of key `pk`; return how many. */
size_t rv_caller_fill(struct rv_req *r, const uint8_t *pk);
/* The caller's membership of `team`, or NULL. */
const struct rv_member *rv_caller_team(const struct rv_caller *c, const char *team);
/* Return 1 if `name` is a member of `team`'s latest membership, else 0. */
int rv_team_has_member(const struct rv_req *r, const char *team, const char *name);
/* Store in `out` (at most `max`) the members of `team`'s latest verified
 * membership, in statement order (borrowed); return how many. */
size_t rv_team_members(const struct rv_req *r, const char *team, const struct rv_member **out,
                       size_t max);
/* The member of `team` whose Ed25519 key is `pk`, or NULL. */
const struct rv_member *rv_member_by_key(const struct rv_req *r, const char *team,
                                         const uint8_t pk[RV_PK_LEN]);
/* Team `team`'s latest verified statement in the membership this request
 * runs under, or NULL. Owned by the request. */
const struct membership *rv_team_statement(const struct rv_req *r, const char *team);
/* Write the hex SHA-256 of the review listener's TLS public key. Return 0 or -1. */
int rv_tls_hex(const struct rv_req *r, char out[65]);
/* The limiter of failed logins (and enrollments). */
struct limiter *rv_login_limiter(const struct rv_req *r);

/* --- audit appends (store/audit.h writes the entries) --- */

/*
 * Queue the audit append of action `a` by the request's caller
 * (r->caller.ed25519) into the request's current step (store/audit.h).
 * `team`, `object_uuid` and `subject_ed25519` (32 bytes) may be NULL. A
 * malformed field fails the step (the request answers 500 and nothing
 * commits).
 */
void rv_audit(struct rv_req *r, enum audit_action a, const char *team, const char *object_uuid,
              const uint8_t *subject_ed25519);
/* Same, but the entry is written only if the SQL boolean expression `cond`
 * holds when the step runs (it may use $2, bound to the text `cond_param`).
 * Queue it before the action's own statements: `cond` sees the state before
 * the action (e.g. "the invite is still unused"). */
void rv_audit_when(struct rv_req *r, enum audit_action a, const char *team, const char *object_uuid,
                   const uint8_t *subject_ed25519, const char *cond, const char *cond_param);
/* rv_audit_when for label_add/label_remove: the subject is "label:" and the
 * label's name (audit_entry_format_label). */
void rv_audit_label_when(struct rv_req *r, enum audit_action a, const char *label,
                         const char *cond, const char *cond_param);
/* One entry per subject key (`n` of them) in one statement, so that a step
 * stays within RV_MAX_QUERIES however many subjects an action has. */
void rv_audit_many(struct rv_req *r, enum audit_action a, const char *team, const char *object_uuid,
                   const uint8_t (*subjects)[32], size_t n);
/* rv_audit_many, written only if `cond` holds (as in rv_audit_when; $2 is
 * the text `cond_param`). */
void rv_audit_many_when(struct rv_req *r, enum audit_action a, const char *team,
                        const char *object_uuid, const uint8_t (*subjects)[32], size_t n,
                        const char *cond, const char *cond_param);
/* Same, for an action on report `report_uuid` (and `object_uuid` in it, or
 * NULL for the report itself): the team is the report's, looked up in the
 * same statement ("-" if there is no such report). */
void rv_audit_report(struct rv_req *r, enum audit_action a, const char *report_uuid,
                     const char *object_uuid, const uint8_t *subject_ed25519);
/* Same, for an action whose actor is the owner of the session the request's
 * bearer token names (queue it before deleting the session: logout). */
void rv_audit_session(struct rv_req *r, enum audit_action a);

#endif
