/*
 * review: the review API's route table and its HTTP glue. Each row says
 * everything a route is: method, path pattern, who may call it, the largest
 * body it takes, and the handler ops that run it (review_req.h). Nothing
 * else decides those things: review_route matches the row, takes the bearer
 * token and enforces the body limit; the request engine checks the session
 * and the admin role before the handler starts.
 */
#include "review.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "limiter.h"
#include "membership.h"
#include "partner.h"
#include "review_admin.h"
#include "review_admins.h"
#include "review_audit.h"
#include "review_auth.h"
#include "review_batch.h"
#include "review_keys.h"
#include "review_login.h"
#include "review_refer.h"
#include "review_replies.h"
#include "review_reports.h"
#include "review_req.h"
#include "review_rotate.h"
#include "review_sync.h"
#include "util.h"

static void questionnaire_start(struct rv_req *r);
static const struct rv_ops questionnaire_ops = { .start = questionnaire_start };

/* The review API (docs/api.md, docs/openapi.yaml). First match wins; a
 * method a path does not take is no route (404). */
/* clang-format off */
static const struct rv_row routes[] = {
	/* method  pattern                                  who         body limit          id                  handler */
	{ "POST", "/api/v1/login/nonce",                    RV_ANYONE,  0,                  RV_NONCE,            &rv_nonce_ops },
	{ "POST", "/api/v1/login",                          RV_ANYONE,  RV_LOGIN_MAX_BODY,  RV_LOGIN,            &rv_login_ops },
	{ "POST", "/api/v1/logout",                         RV_SESSION, 0,                  RV_LOGOUT,           &rv_logout_ops },
	{ "GET",  "/api/v1/reports",                        RV_MEMBER,  0,                  RV_LIST,             &rv_list_ops },
	{ "GET",  "/api/v1/labels",                         RV_MEMBER,  0,                  RV_LABELS,           &rv_labels_ops },
	{ "GET",  "/api/v1/questionnaire",                  RV_MEMBER,  0,                  RV_QUESTIONNAIRE,    &questionnaire_ops },
	{ "GET",  "/api/v1/audit/checkpoint",               RV_MEMBER,  0,                  RV_AUDIT_CHECKPOINT, &rv_checkpoint_ops },
	{ "GET",  "/api/v1/audit/leaves",                   RV_MEMBER,  0,                  RV_AUDIT_LEAVES,     &rv_audit_range_ops },
	{ "GET",  "/api/v1/audit/leaves/raw",               RV_MEMBER,  0,                  RV_AUDIT_LEAVES_RAW, &rv_audit_raw_ops },
	{ "GET",  "/api/v1/audit/entries",                  RV_MEMBER,  0,                  RV_AUDIT_ENTRIES,    &rv_audit_range_ops },
	{ "GET",  "/api/v1/audit/proof/inclusion",          RV_MEMBER,  0,                  RV_AUDIT_INCLUSION,  &rv_audit_proof_ops },
	{ "GET",  "/api/v1/audit/proof/consistency",        RV_MEMBER,  0,                  RV_AUDIT_CONSISTENCY, &rv_audit_proof_ops },
	{ "GET",  "/api/v1/teams/{team}/membership",        RV_MEMBER,  0,                  RV_MEMBERSHIP,       &rv_membership_ops },
	{ "GET",  "/api/v1/teams/{team}/missing-headers",   RV_MEMBER,  0,                  RV_MISSING_HEADERS,  &rv_missing_headers_ops },
	{ "POST", "/api/v1/teams/{team}/objects",           RV_MEMBER,  RV_OBJECTS_MAX_BODY, RV_TEAM_OBJECTS,    &rv_team_objects_ops },
	{ "POST", "/api/v1/teams/{team}/headers",           RV_MEMBER,  RV_TEAM_HEADERS_MAX_BODY, RV_TEAM_HEADERS, &rv_team_headers_ops },
	{ "GET",  "/api/v1/keys/rotation",                  RV_MEMBER,  0,                  RV_KEYS_ROTATION,    &rv_rotation_list_ops },
	{ "POST", "/api/v1/keys/rotation/headers",          RV_MEMBER,  ROT_MAX_BODY,       RV_KEYS_ROTATION_HEADERS, &rv_rotation_headers_ops },
	{ "POST", "/api/v1/keys/rotation/finish",           RV_MEMBER,  ROT_MAX_BODY,       RV_KEYS_ROTATION_FINISH, &rv_rotation_finish_ops },
	{ "POST", "/api/v1/enroll",                         RV_ANYONE,  RV_ENROLL_MAX_BODY, RV_ENROLL,           &rv_enroll_ops },
	{ "POST", "/api/v1/admin/invites",                  RV_ADMIN,   RV_ENROLL_MAX_BODY, RV_ADMIN_INVITE,     &rv_invite_ops },
	{ "GET",  "/api/v1/admin/enrollments",              RV_ADMIN,   0,                  RV_ADMIN_ENROLLMENTS, &rv_enrollments_ops },
	{ "GET",  "/api/v1/admin/teams",                    RV_ADMIN,   0,                  RV_ADMIN_TEAMS,      &rv_admin_teams_ops },
	{ "POST", "/api/v1/admin/enrollments/{id}/reject",  RV_ADMIN,   0,                  RV_ADMIN_REJECT,     &rv_reject_ops },
	{ "POST", "/api/v1/admin/teams/{team}/membership",  RV_ADMIN,   RV_ADMIN_MAX_BODY,  RV_ADMIN_MEMBERSHIP, &rv_statement_ops },
	{ "POST", "/api/v1/admin/labels",                   RV_ADMIN,   RV_ENROLL_MAX_BODY, RV_ADMIN_LABEL_ADD,  &rv_label_ops },
	{ "DELETE", "/api/v1/admin/labels/{label}",         RV_ADMIN,   0,                  RV_ADMIN_LABEL_DEL,  &rv_label_ops },
	{ "GET",  "/api/v1/admins",                         RV_MEMBER,  0,                  RV_ADMINS,           &rv_admins_chain_ops },
	{ "POST", "/api/v1/admin/admins",                   RV_ADMIN,   RV_ADMINS_MAX_BODY, RV_ADMIN_ADMINS,     &rv_admins_post_ops },
	{ "GET",  "/api/v1/admin/keys",                     RV_ADMIN,   0,                  RV_ADMIN_KEYS,       &rv_keys_ops },
	{ "GET",  "/api/v1/audit/handovers",                RV_MEMBER,  0,                  RV_AUDIT_HANDOVERS,  &rv_handovers_ops },
	{ "GET",  "/api/v1/reports/{id}",                   RV_MEMBER,  0,                  RV_FETCH,            &rv_fetch_ops },
	{ "PATCH", "/api/v1/reports/{id}",                  RV_MEMBER,  RV_PATCH_MAX_BODY,  RV_PATCH,            &rv_patch_ops },
	{ "GET",  "/api/v1/reports/{id}/attachments/{aid}", RV_MEMBER,  0,                  RV_ATTACHMENT,       &rv_attachment_ops },
	{ "POST", "/api/v1/reports/{id}/replies",           RV_MEMBER,  RV_REPLY_MAX_BODY,  RV_REPLY,            &rv_sealed_ops },
	{ "POST", "/api/v1/reports/{id}/notes",             RV_MEMBER,  RV_REPLY_MAX_BODY,  RV_NOTE,             &rv_sealed_ops },
	{ "POST", "/api/v1/reports/{id}/headers",           RV_MEMBER,  RV_HEADERS_MAX_BODY, RV_HEADERS,         &rv_headers_ops },
	{ "POST", "/api/v1/reports/{id}/referral",          RV_MEMBER,  RV_REFER_MAX_BODY,  RV_REFER,            &rv_refer_ops },
	{ "POST", "/api/v1/reports/{id}/hold",              RV_MEMBER,  RV_REFER_MAX_BODY,  RV_HOLD,             &rv_refer_ops },
	{ "GET",  "/api/v1/partners",                       RV_MEMBER,  0,                  RV_PARTNERS,         &rv_partners_ops },
	{ "POST", "/api/v1/admin/partners",                 RV_ADMIN,   RV_REFER_MAX_BODY,  RV_ADMIN_PARTNER_ADD, &rv_partner_add_ops },
	{ "DELETE", "/api/v1/admin/partners/{partner}",     RV_ADMIN,   0,                  RV_ADMIN_PARTNER_DEL, &rv_partner_del_ops },
	{ "GET",  "/api/v1/admin/retention",                RV_ADMIN,   0,                  RV_ADMIN_RETENTION,  &rv_retention_ops },
	{ "PUT",  "/api/v1/admin/teams/{team}/retention",   RV_ADMIN,   RV_REFER_MAX_BODY,  RV_ADMIN_RETENTION_SET, &rv_retention_set_ops },
};
/* clang-format on */

/* GET /api/v1/questionnaire: the questionnaire file as loaded. */
static void
questionnaire_start(struct rv_req *r)
{
	rv_answer(r, 200, "application/json", r->rv->questionnaire, r->rv->qlen, NULL);
}

const char *
rv_questionnaire(const struct review *rv, size_t *len)
{
	*len = rv->qlen;
	return rv->questionnaire;
}

struct review *
review_new(struct app *app, char *err, size_t errlen)
{
	struct review *rv = calloc(1, sizeof(*rv));
	if (rv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rv->app = app;
	char path[4096];
	int w = snprintf(path, sizeof(path), "%s/%s", app->cfg->state_dir, RV_NONCE_FILE);
	if (w < 0 || (size_t)w >= sizeof(path)) {
		snprintf(err, errlen, "the state directory's path is too long");
		goto fail;
	}
	if ((rv->nonces = rv_nonces_load(path, err, errlen)) == NULL)
		goto fail;
	rv->limiter = limiter_new(RV_FAIL_PER_KEY, RV_FAIL_TOTAL, RV_FAIL_WINDOW);
	if (rv->limiter == NULL || pthread_mutex_init(&rv->mu, NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rv->questionnaire = util_read_file(app->cfg->questionnaire, 1 << 20, &rv->qlen);
	if (rv->questionnaire == NULL) {
		snprintf(err, errlen, "%s: cannot read", app->cfg->questionnaire);
		goto fail;
	}
	return rv;
fail:
	review_free(rv);
	return NULL;
}

void
review_free(struct review *rv)
{
	if (rv == NULL)
		return;
	rv_nonces_free(rv->nonces);
	limiter_free(rv->limiter);
	rv_members_release(rv);
	pthread_mutex_destroy(&rv->mu);
	free(rv->questionnaire);
	free(rv);
}

/* ---- the HTTP handler ---- */

/* Answer a body over the row's limit. */
static void
too_large(struct rv_req *r)
{
	if (r->row->ops->too_large != NULL)
		r->row->ops->too_large(r);
	else
		rv_problem(r, 413, "request body too large");
}

static int
rv_on_body(struct http_request *req, const uint8_t *p, size_t n)
{
	struct rv_req *r = http_request_data(req);
	if (buf_add(&r->body, p, n) == 0)
		return 0;
	too_large(r);
	return -1;
}

static void
rv_on_complete(struct http_request *req)
{
	struct rv_req *r = http_request_data(req);
	r->completed = true;
	if (r->row->who == RV_MEMBER || r->row->who == RV_ADMIN)
		rv_session_check(r); /* then rv_req_start */
	else
		rv_req_start(r);
}

static void
rv_on_abort(struct http_request *req)
{
	struct rv_req *r = http_request_data(req);
	if (r == NULL || r->completed)
		return; /* a database step is in flight: it answers (and so releases) */
	http_request_set_data(req, NULL);
	rv_req_free(r);
}

static const struct http_handler rv_handler = {
	.on_body = rv_on_body,
	.on_complete = rv_on_complete,
	.on_abort = rv_on_abort,
};

/* ---- matching ---- */

/* Copy the path segment at `*p` (up to '/' or the end) into `out` (`cap`
 * bytes) and advance `*p`; -1 if empty or too long. */
static int
segment(const char **p, char *out, size_t cap)
{
	size_t n = strcspn(*p, "/");
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return 0;
}

/* Fill the parameter `name` (of `len` bytes) of `r` from the segment at
 * `*p`. Return 0, or -1 if the segment is not a valid value. */
static int
param(struct rv_req *r, const char *name, size_t len, const char **p)
{
	if (len == 2 && strncmp(name, "id", 2) == 0)
		return segment(p, r->id, sizeof(r->id)) == 0 && util_uuid_valid(r->id) ? 0 : -1;
	if (len == 3 && strncmp(name, "aid", 3) == 0)
		return segment(p, r->aid, sizeof(r->aid)) == 0 && util_uuid_valid(r->aid) ? 0 : -1;
	if (len == 4 && strncmp(name, "team", 4) == 0)
		return segment(p, r->team, sizeof(r->team)) == 0 && membership_team_valid(r->team)
			? 0
			: -1;
	if (len == 7 && strncmp(name, "partner", 7) == 0)
		return segment(p, r->label, sizeof(r->label)) == 0 && partner_name_valid(r->label) ? 0
		                                                                                  : -1;
	if (len == 5 && strncmp(name, "label", 5) == 0)
		return segment(p, r->label, sizeof(r->label)) == 0 && rv_label_valid(r->label) ? 0
											       : -1;
	return -1;
}

/* Return 0 if `path` matches `pattern`, filling the parameters of `r`. */
static int
match(const char *pattern, const char *path, struct rv_req *r)
{
	const char *p = path, *q = pattern;
	while (*q != '\0') {
		if (*q == '{') {
			const char *end = strchr(q, '}');
			if (end == NULL || param(r, q + 1, (size_t)(end - q - 1), &p) != 0)
				return -1;
			q = end + 1;
		} else if (*q++ != *p++) {
			return -1;
		}
	}
	return *p == '\0' ? 0 : -1;
}

/* The row for method + path, with the parameters in `r`, or NULL. */
static const struct rv_row *
route_find(const char *method, const char *path, struct rv_req *r)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].method, method) == 0 && match(routes[i].pattern, path, r) == 0)
			return &routes[i];
	return NULL;
}

const struct http_handler *
review_route(struct http_request *req, struct app *app, struct db *db)
{
	struct rv_req probe; /* the parameters, until the request exists */
	const struct rv_row *row = NULL;
	struct rv_req *r;
	memset(&probe, 0, sizeof(probe));
	if (app->review == NULL ||
	    (row = route_find(http_request_method(req), http_request_path(req), &probe)) == NULL) {
		/* A method a path does not take is no route either (the review
		 * surface answers nothing it does not serve). */
		http_respond_problem(req, 404, "no such resource");
		return NULL;
	}
	if ((r = rv_req_new(app->review, row, req, db)) == NULL) {
		http_respond_problem(req, 500, "out of memory");
		return NULL;
	}
	memcpy(r->id, probe.id, sizeof(r->id));
	memcpy(r->aid, probe.aid, sizeof(r->aid));
	memcpy(r->team, probe.team, sizeof(r->team));
	memcpy(r->label, probe.label, sizeof(r->label));
	if (rv_req_members(r) != 0) {
		http_respond_problem(req, 500, "out of memory");
		rv_req_free(r);
		return NULL;
	}
	if (row->who != RV_ANYONE &&
	    rv_bearer_parse(http_request_header(req, "Authorization"), r->token_sha) != 0) {
		rv_problem_code(r, 401, "session_expired", "log in first", NULL); /* frees r */
		return NULL;
	}
	if (http_request_content_length(req) > (int64_t)row->body_max) {
		too_large(r); /* frees r */
		return NULL;
	}
	http_request_set_data(req, r);
	return &rv_handler;
}
