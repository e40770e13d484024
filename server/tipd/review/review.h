/*
 * review: the review API on the review listener (docs/api.md):
 * login with a signed nonce, Bearer sessions, and the request plumbing that
 * review_reports.c uses (asynchronous queries on the request's loop).
 *
 * Who may log in, and which teams a caller sees, comes from each team's
 * latest verified membership statement: the statements tipd verified at
 * start-up (teams.c caches them in STATE_DIR/membership-heads), opened again
 * here against the pinned admin keys and used only if teams.c kept the team
 * at the same sequence number.
 */
#ifndef TIPD_REVIEW_H
#define TIPD_REVIEW_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "age.h"
#include "buf.h"
#include "membership.h"
#include "review_auth.h"

struct app;
struct review;
struct rv_members;
struct http_request;
struct http_handler;
struct db;

#define RV_MAX_TEAMS 64
#define RV_MAX_QUERIES 12

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
	RV_REPLY,        /* review_replies.c */
	RV_NOTE,
	RV_MEMBERSHIP,
	RV_AUDIT_CHECKPOINT, /* review_audit.c */
	RV_AUDIT_LEAVES,
	RV_AUDIT_ENTRIES,
	RV_AUDIT_INCLUSION,
	RV_AUDIT_CONSISTENCY,
	RV_ENROLL,       /* review_admin.c */
	RV_ADMIN_INVITE,
	RV_ADMIN_ENROLLMENTS,
	RV_ADMIN_MEMBERSHIP,
	RV_ADMIN_LABEL_ADD,
	RV_ADMIN_LABEL_DEL,
	RV_ADMIN_TEAMS,
	RV_ADMIN_REJECT,
	RV_MISSING_HEADERS,
	RV_HEADERS
};

struct rv_req;
/* A query's result (borrowed), only when it succeeded. */
typedef void (*rv_row_cb)(struct rv_req *r, const PGresult *res);
/* The next step once every queued query of a step is in and none failed. */
typedef void (*rv_step)(struct rv_req *r);

/* One review request. Freed when it is answered. */
struct rv_req {
	struct app *app;
	struct review *rv;
	struct http_request *req;
	struct db *db;
	enum rv_route route;
	char id[37];
	char aid[37];
	struct buf body;
	bool completed;
	uint8_t token_sha[32];
	char token[RV_B64URL_32]; /* a new session's token, until answered */
	struct rv_caller caller;
	/* the step in flight */
	rv_row_cb qcb[RV_MAX_QUERIES];
	unsigned qn, qdone;
	bool synced, lost, failed;
	rv_step next;
	/* what the steps found */
	int found;
	json_t *out;
	void *ctx;  /* route state of review_reports.c */
	void *rctx; /* route state of review_replies.c */
	void *actx; /* route state of review_admin.c */
	char team[MEMBERSHIP_TEAM_MAX + 1]; /* RV_MEMBERSHIP, RV_ADMIN_MEMBERSHIP, RV_MISSING_HEADERS */
	char label[65];                     /* RV_ADMIN_LABEL_DEL */
	struct rv_members *members; /* the membership this request runs under */
};

/* Build the review state from the loaded teams and configuration; NULL and
 * a message in `err` on error. Call after teams_load(). Caller frees. */
struct review *review_new(struct app *app, char *err, size_t errlen);
void review_free(struct review *rv);

/* Route a request on the review listener whose path starts with /api/v1/:
 * return its handler, or answer (401, 404, 405, 413, 503) and return NULL. */
const struct http_handler *review_route(struct http_request *req, struct app *app);

/* --- for review_reports.c --- */

/* Queue a statement of the current step; `cb` (may be NULL) sees its result
 * if it succeeds. Binary parameters as in db_query. */
void rv_q(struct rv_req *r, const char *sql, int n, const char *const *values,
          const int *lengths, const int *formats, rv_row_cb cb);
/* Fail the current step before its Sync: whatever it queued is rolled back
 * and the request answers 500. For a step that cannot be completed after
 * some of its statements were queued (e.g. an entry that cannot be built). */
void rv_fail_step(struct rv_req *r);
/* End the step: `next` runs once every result is in, or the request is
 * answered 503 (database unavailable) or 500 (a statement failed). */
void rv_run(struct rv_req *r, rv_step next);
/* Answer and free `r`. */
void rv_answer(struct rv_req *r, int status, const char *content_type, const void *body,
               size_t len, const char *extra_headers);
/* Answer with problem+json and free `r`. */
void rv_problem(struct rv_req *r, int status, const char *detail);
/* The same with a machine-readable "code" member (NULL: none; the codes are
 * listed in docs/api.md "Errors") and extra header lines (or NULL). */
void rv_problem_code(struct rv_req *r, int status, const char *code, const char *detail,
                     const char *extra);
/* Answer `doc` (stolen) as application/json and free `r`. */
void rv_answer_json(struct rv_req *r, int status, json_t *doc);
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
struct rv_limiter *rv_login_limiter(const struct rv_req *r);
/* The questionnaire file as loaded (`*len` bytes). */
const char *rv_questionnaire(const struct review *rv, size_t *len);

#endif
