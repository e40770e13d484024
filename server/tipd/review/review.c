#include "review.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "audit.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "loops.h"
#include "note.h"
#include "review_admin.h"
#include "review_audit.h"
#include "review_replies.h"
#include "review_reports.h"
#include "teams.h"
#include "tls.h"
#include "util.h"

#define RV_PATCH_MAX_BODY 16384

struct review {
	struct app *app;
	struct rv_nonces *nonces;
	struct rv_limiter *limiter;
	pthread_mutex_t mu;           /* guards `members` */
	struct rv_members *members;   /* built from the latest teams view */
	char *questionnaire;
	size_t qlen;
};

/* ---- members ---- */

/* Every member of every team of one teams view, flattened for lookups.
 * Reference-counted: a request holds the one it started with. */
struct rv_members {
	atomic_uint refs;
	const struct teams_view *view;
	struct rv_member *v;
	size_t n;
};

static void
members_unref(struct rv_members *ms)
{
	if (ms == NULL || atomic_fetch_sub(&ms->refs, 1) > 1)
		return;
	teams_view_release(ms->view);
	free(ms->v);
	free(ms);
}

/* Flatten view `tv` (taken). NULL if out of memory. */
static struct rv_members *
members_build(const struct teams_view *tv)
{
	struct rv_members *ms = calloc(1, sizeof(*ms));
	size_t total = 0;
	for (size_t i = 0; i < teams_view_count(tv); i++)
		total += membership_count(teams_view_at(tv, i));
	if (ms == NULL || (ms->v = calloc(total + 1, sizeof(*ms->v))) == NULL) {
		free(ms);
		teams_view_release(tv);
		return NULL;
	}
	ms->refs = 1;
	ms->view = tv;
	for (size_t i = 0; i < teams_view_count(tv); i++) {
		const struct membership *m = teams_view_at(tv, i);
		for (size_t j = 0; j < membership_count(m); j++) {
			const struct membership_member *mm = membership_member_at(m, j);
			struct rv_member *e = &ms->v[ms->n++];
			snprintf(e->team, sizeof(e->team), "%s", membership_team(m));
			snprintf(e->name, sizeof(e->name), "%s", mm->name);
			snprintf(e->recipient, sizeof(e->recipient), "%s", mm->recipient);
			memcpy(e->ed25519, mm->ed25519_pk, RV_PK_LEN);
		}
	}
	return ms;
}

/* The members of the current membership (a new reference), rebuilt when
 * the membership changed. NULL if out of memory. */
static struct rv_members *
members_get(struct review *rv)
{
	const struct teams_view *tv = teams_view_get(rv->app->teams);
	struct rv_members *ms = NULL;
	pthread_mutex_lock(&rv->mu);
	if (rv->members == NULL || rv->members->view != tv) {
		struct rv_members *fresh = members_build(tv);
		tv = NULL;
		if (fresh != NULL) {
			members_unref(rv->members);
			rv->members = fresh;
		}
	}
	if ((ms = rv->members) != NULL)
		atomic_fetch_add(&ms->refs, 1);
	pthread_mutex_unlock(&rv->mu);
	if (tv != NULL)
		teams_view_release(tv);
	return ms;
}

/* Fill `c` with every membership of key `pk`; return how many. */
static size_t
caller_fill(const struct rv_req *r, const uint8_t *pk, struct rv_caller *c)
{
	const struct rv_members *ms = r->members;
	memcpy(c->ed25519, pk, RV_PK_LEN);
	c->admin = teams_is_admin(r->app->teams, pk);
	c->n = 0;
	for (size_t i = 0; ms != NULL && i < ms->n && c->n < RV_MAX_TEAMS; i++)
		if (sodium_memcmp(ms->v[i].ed25519, pk, RV_PK_LEN) == 0)
			c->m[c->n++] = &ms->v[i];
	return c->n;
}

const struct rv_member *
rv_caller_team(const struct rv_caller *c, const char *team)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->m[i]->team, team) == 0)
			return c->m[i];
	return NULL;
}

int
rv_team_has_member(const struct rv_req *r, const char *team, const char *name)
{
	const struct rv_members *ms = r->members;
	for (size_t i = 0; ms != NULL && i < ms->n; i++)
		if (strcmp(ms->v[i].team, team) == 0 && strcmp(ms->v[i].name, name) == 0)
			return 1;
	return 0;
}

size_t
rv_team_members(const struct rv_req *r, const char *team, const struct rv_member **out,
                size_t max)
{
	const struct rv_members *ms = r->members;
	size_t n = 0;
	for (size_t i = 0; ms != NULL && i < ms->n && n < max; i++)
		if (strcmp(ms->v[i].team, team) == 0)
			out[n++] = &ms->v[i];
	return n;
}

const struct rv_member *
rv_member_by_key(const struct rv_req *r, const char *team, const uint8_t pk[RV_PK_LEN])
{
	const struct rv_members *ms = r->members;
	for (size_t i = 0; ms != NULL && i < ms->n; i++)
		if (strcmp(ms->v[i].team, team) == 0 &&
		    sodium_memcmp(ms->v[i].ed25519, pk, RV_PK_LEN) == 0)
			return &ms->v[i];
	return NULL;
}

const struct membership *
rv_team_statement(const struct rv_req *r, const char *team)
{
	return r->members != NULL ? teams_view_team(r->members->view, team) : NULL;
}

struct rv_limiter *
rv_login_limiter(const struct rv_req *r)
{
	return r->rv->limiter;
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
	rv->limiter = rv_limiter_new(RV_FAIL_PER_KEY, RV_FAIL_TOTAL, RV_FAIL_WINDOW);
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
	rv_limiter_free(rv->limiter);
	members_unref(rv->members);
	pthread_mutex_destroy(&rv->mu);
	free(rv->questionnaire);
	free(rv);
}

/* ---- answering ---- */

static void
rv_req_free(struct rv_req *r)
{
	rv_reports_free(r);
	rv_replies_free(r);
	rv_admin_free(r);
	members_unref(r->members);
	buf_free(&r->body);
	json_decref(r->out);
	sodium_memzero(r->token, sizeof(r->token));
	sodium_memzero(r->token_sha, sizeof(r->token_sha));
	free(r);
}

void
rv_answer(struct rv_req *r, int status, const char *content_type, const void *body, size_t len,
          const char *extra_headers)
{
	/* Detach first: answering an aborted request releases it. */
	http_request_set_data(r->req, NULL);
	http_respond(r->req, status, content_type, body, len, extra_headers);
	rv_req_free(r);
}

/* Answer problem+json with a "code" member (if not NULL) and extra headers. */
void
rv_problem_code(struct rv_req *r, int status, const char *code, const char *detail,
                const char *extra)
{
	json_t *doc = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title",
	                        http_status_text(status), "status", status, "detail", detail);
	if (doc != NULL && code != NULL && json_object_set_new(doc, "code", json_string(code)) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (s == NULL) {
		rv_answer(r, 500, NULL, NULL, 0, NULL);
		return;
	}
	rv_answer(r, status, "application/problem+json", s, strlen(s), extra);
	free(s);
}

/* Answer problem+json with extra headers (e.g. Retry-After). */
static void
rv_problem_extra(struct rv_req *r, int status, const char *detail, const char *extra)
{
	rv_problem_code(r, status, NULL, detail, extra);
}

void
rv_problem(struct rv_req *r, int status, const char *detail)
{
	rv_problem_extra(r, status, detail, NULL);
}

void
rv_answer_json(struct rv_req *r, int status, json_t *doc)
{
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (s == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	rv_answer(r, status, "application/json", s, strlen(s), NULL);
	free(s);
}

static void
rv_unavailable(struct rv_req *r)
{
	rv_problem_extra(r, 503, "the database is unavailable; try again shortly",
	                 "Retry-After: 5\r\n");
}

/* ---- asynchronous steps ---- */

static void
rv_maybe_finish(struct rv_req *r)
{
	if (r->qdone < r->qn || !r->synced)
		return;
	rv_step next = r->next;
	bool lost = r->lost, failed = r->failed;
	r->qn = r->qdone = 0;
	r->synced = r->lost = r->failed = false;
	r->next = NULL;
	if (lost)
		rv_unavailable(r);
	else if (failed || next == NULL)
		rv_problem(r, 500, "the request could not be completed");
	else
		next(r);
}

static void
rv_query_cb(const PGresult *res, void *arg)
{
	struct rv_req *r = arg;
	rv_row_cb cb = r->qcb[r->qdone++];
	if (res == NULL) {
		r->lost = true;
	} else if (!db_result_ok(res)) {
		if (PQresultStatus(res) != PGRES_PIPELINE_ABORTED)
			db_log_result("review", res);
		r->failed = true;
	} else if (cb != NULL && !r->failed && !r->lost) {
		cb(r, res);
	}
	rv_maybe_finish(r);
}

static void
rv_sync_cb(const PGresult *res, void *arg)
{
	struct rv_req *r = arg;
	r->synced = true;
	if (res == NULL)
		r->lost = true;
	else if (PQresultStatus(res) != PGRES_PIPELINE_SYNC)
		r->failed = true;
	rv_maybe_finish(r);
}

void
rv_fail_step(struct rv_req *r)
{
	if (r->lost || r->failed)
		return;
	r->failed = true;
	/* The last slot is kept for this: an error that aborts the step's
	 * implicit transaction, so nothing it queued commits at the Sync. */
	r->qcb[r->qn++] = NULL;
	if (r->db == NULL || db_query(r->db, "select 1 / 0 -- the step failed; roll it back", 0,
	                              NULL, NULL, NULL, rv_query_cb, r) != 0) {
		r->qn--;
		r->lost = true;
	}
}

void
rv_q(struct rv_req *r, const char *sql, int n, const char *const *values, const int *lengths,
     const int *formats, rv_row_cb cb)
{
	if (r->lost || r->failed)
		return;
	if (r->qn == RV_MAX_QUERIES - 1) {
		log_error("review: a step queued more than %d statements", RV_MAX_QUERIES - 1);
		rv_fail_step(r);
		return;
	}
	r->qcb[r->qn++] = cb;
	if (r->db == NULL ||
	    db_query(r->db, sql, n, values, lengths, formats, rv_query_cb, r) != 0) {
		r->qn--;
		r->lost = true;
	}
}

void
rv_run(struct rv_req *r, rv_step next)
{
	r->next = next;
	/* Sync even after a failure: the statements already queued must end
	 * (an error among them rolls them all back). */
	if (r->lost || r->db == NULL || db_sync(r->db, rv_sync_cb, r) != 0) {
		/* Results already queued still come back (NULL if the connection
		 * is dropped); finish when the last one is in. */
		if (!r->failed)
			r->lost = true;
		r->synced = true;
		rv_maybe_finish(r);
	}
}

/* ---- login ---- */

int
rv_tls_hex(const struct rv_req *r, char out[65])
{
	uint8_t h[32];
	if (r->app->review_tls == NULL || tls_ctx_pubkey_sha256(r->app->review_tls, h) != 0)
		return -1;
	util_hex(h, sizeof(h), out);
	return 0;
}

static void
nonce_complete(struct rv_req *r)
{
	char nonce[RV_B64URL_32], hex[65];
	if (rv_tls_hex(r, hex) != 0 || rv_nonce_issue(r->rv->nonces, time(NULL), nonce) != 0) {
		rv_problem(r, 500, "cannot make a nonce");
		return;
	}
	rv_answer_json(r, 200,
	               json_pack("{s:s, s:s, s:s}", "nonce", nonce, "origin",
	                         r->app->cfg->review_origin, "tls_key_sha256", hex));
}

static void
login_stored(struct rv_req *r)
{
	const struct tipd_config *c = r->app->cfg;
	json_t *teams = json_array();
	for (size_t i = 0; teams != NULL && i < r->caller.n; i++)
		json_array_append_new(teams, json_string(r->caller.m[i]->team));
	json_t *doc = json_pack("{s:s, s:I, s:I, s:s, s:o, s:s}", "token", r->token, "expires_at",
	                        (json_int_t)(time(NULL) + c->review_lifetime_s), "idle_timeout",
	                        (json_int_t)c->review_idle_s, "member",
	                        r->caller.n > 0 ? r->caller.m[0]->name : "admin", "teams", teams,
	                        "role", r->caller.admin ? "admin" : "member");
	log_info("review: login by %s of %zu team(s)", r->caller.admin ? "an admin, member" : "a member",
	         r->caller.n);
	rv_answer_json(r, 200, doc);
}

static void
login_refused(struct rv_req *r)
{
	rv_problem_code(r, 401, "login_failed", "login failed", NULL);
}

/* Store the new session: the token's hash only, never the token. */
static void
login_store(struct rv_req *r)
{
	if (!r->found) {
		rv_limiter_fail(r->rv->limiter, r->caller.ed25519, time(NULL));
		log_info("review: failed login (a nonce used again)");
		login_refused(r);
		return;
	}
	r->found = 0;
	const struct tipd_config *c = r->app->cfg;
	char now[24], idle[24], expires[24];
	int64_t t = time(NULL);
	snprintf(now, sizeof(now), "%lld", (long long)t);
	snprintf(idle, sizeof(idle), "%u", c->review_idle_s);
	snprintf(expires, sizeof(expires), "%lld", (long long)(t + c->review_lifetime_s));
	const char *gc[2] = { now, idle };
	rv_q(r, "delete from sessions where expires_at <= $1::bigint "
	        "or last_used_at <= $1::bigint - $2::bigint", 2, gc, NULL, NULL, NULL);
	rv_q(r, "delete from ended_sessions where expires_at <= $1::bigint", 1, gc, NULL, NULL, NULL);
	const char *v[4] = { (const char *)r->token_sha, (const char *)r->caller.ed25519, now,
		             expires };
	const int lens[4] = { 32, RV_PK_LEN, 0, 0 }, fmts[4] = { 1, 1, 0, 0 };
	rv_q(r, "insert into sessions (token_sha256, ed25519, created_at, last_used_at, expires_at) "
	        "values ($1, $2, $3::bigint, $3::bigint, $4::bigint)", 4, v, lens, fmts, NULL);
	rv_audit(r, AUDIT_LOGIN, NULL, NULL, NULL);
	rv_run(r, login_stored);
}

static void
nonce_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res) == 1;
}

/* Record a nonce as used, in its own step (it stays used whatever happens
 * next: any attempt that names a genuine nonce burns it, and failed
 * attempts are few, the limiter answers 429 before this), forget expired ones
 * (kept RV_TIME_SKEW longer, for review hosts whose clocks lag), then run
 * `next`. Every review host shares the table, so a nonce logs in once on any
 * of them. */
static void
nonce_record(struct rv_req *r, const uint8_t nonce[RV_NONCE_LEN], int64_t expires, rv_step next)
{
	char now[24], exp[24], margin[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(exp, sizeof(exp), "%lld", (long long)expires);
	snprintf(margin, sizeof(margin), "%d", RV_TIME_SKEW);
	const char *gc[2] = { now, margin };
	rv_q(r, "delete from login_nonces where expires_at < $1::bigint - $2::bigint", 2, gc, NULL,
	     NULL, NULL);
	const char *v[2] = { (const char *)nonce, exp };
	const int lens[2] = { RV_NONCE_LEN, 0 }, fmts[2] = { 1, 0 };
	rv_q(r, "insert into login_nonces (nonce, expires_at) values ($1, $2::bigint) "
	        "on conflict do nothing returning 1", 2, v, lens, fmts, nonce_row);
	rv_run(r, next);
}

static void
login_status_row(struct rv_req *r, const PGresult *res)
{
	if (PQntuples(res) != 1)
		return;
	const char *st = PQgetvalue(res, 0, 0);
	r->found = strcmp(st, "pending") == 0 ? 1 : strcmp(st, "approved") == 0 ? 2 : 3;
}

/* A key that signed correctly but is in no team: say why (docs/api.md "Login refusals"). */
static void
login_not_member_done(struct rv_req *r)
{
	switch (r->found) {
	case 1:
		rv_problem_code(r, 401, "enrollment_pending",
		                "your enrollment waits for an admin's approval: read them your "
		                "fingerprint over a channel you trust", NULL);
		break;
	case 2:
		rv_problem_code(r, 401, "membership_ended",
		                "this key is no longer a member of any team: an admin removed it", NULL);
		break;
	case 3:
		rv_problem_code(r, 401, "enrollment_rejected",
		                "an admin rejected this key's enrollment: ask them for a new invite", NULL);
		break;
	default:
		rv_problem_code(r, 401, "not_a_member",
		                "this key is not a member of any team: enroll with an invite from "
		                "your admin", NULL);
		break;
	}
}

/* Look up the enrollment of a key that proved itself but is in no team. */
static void
login_not_member(struct rv_req *r, const uint8_t *pk)
{
	const char *v[1] = { (const char *)pk };
	const int lens[1] = { RV_PK_LEN }, fmts[1] = { 1 };
	r->found = 0;
	rv_q(r, "select status from enrollments where ed25519 = $1 order by enrolled_at desc limit 1",
	     1, v, lens, fmts, login_status_row);
	rv_run(r, login_not_member_done);
}

static void
login_clock(struct rv_req *r)
{
	struct rv_login l;
	char detail[160];
	int64_t now = time(NULL);
	if (!r->found || rv_login_parse(r->body.data, r->body.len, &l) != 0) {
		login_refused(r);
		return;
	}
	sodium_memzero(&l.sig, sizeof(l.sig));
	snprintf(detail, sizeof(detail),
	         "this computer's clock is %lld seconds %s the server's (at most %d allowed): "
	         "set it right and log in again",
	         (long long)(l.time > now ? l.time - now : now - l.time),
	         l.time > now ? "ahead of" : "behind", RV_TIME_SKEW);
	rv_problem_code(r, 401, "clock_skew", detail, NULL);
}

/* A key that signed a fresh nonce but is in no team: look up why. */
static void
login_why(struct rv_req *r)
{
	struct rv_login l;
	if (!r->found || rv_login_parse(r->body.data, r->body.len, &l) != 0) {
		login_refused(r);
		return;
	}
	sodium_memzero(&l.sig, sizeof(l.sig));
	login_not_member(r, l.pk);
}

/*
 * Check a login. Only a signature that verifies (over a fresh, unused nonce,
 * the origin and this TLS key) earns a reason: a wrong clock, a pending,
 * rejected or ended enrollment. Anything else is "login failed". Every
 * attempt that names a genuine nonce burns it first (nonce_record).
 */
static void
login_complete(struct rv_req *r)
{
	struct review *rv = r->rv;
	struct rv_login l;
	char hex[65];
	int64_t now = time(NULL);
	uint8_t nonce[RV_NONCE_LEN];
	int64_t expires = 0;
	int ok = rv_login_parse(r->body.data, r->body.len, &l) == 0;
	/* Stateless: our tag and fresh. Whether it was used is asked of the
	 * database (nonce_record), which also burns it. */
	int genuine = l.nonce[0] != '\0' &&
	              rv_nonce_check(rv->nonces, l.nonce, now, nonce, &expires) == 0;
	ok = genuine && ok;
	unsigned wait = rv_limiter_check(rv->limiter, l.have_pk ? l.pk : NULL, now);
	if (wait > 0) {
		char extra[48];
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", wait);
		rv_problem_extra(r, 429, "too many failed logins; try again later", extra);
		return;
	}
	ok = ok && rv_tls_hex(r, hex) == 0 && rv_login_verify(&l, r->app->cfg->review_origin, hex) == 0;
	sodium_memzero(&l.sig, sizeof(l.sig));
	int in_time = l.time >= now - RV_TIME_SKEW && l.time <= now + RV_TIME_SKEW;
	int member = ok && in_time && (caller_fill(r, l.pk, &r->caller) > 0 || r->caller.admin);
	if (!member) {
		rv_limiter_fail(rv->limiter, l.have_pk ? l.pk : NULL, now);
		log_info("review: failed login");
	}
	rv_step next;
	if (!ok) {
		next = login_refused;
	} else if (!in_time) {
		next = login_clock;
	} else if (!member) {
		next = login_why;
	} else {
		rv_token_new(r->token, r->token_sha);
		next = login_store;
	}
	if (genuine)
		nonce_record(r, nonce, expires, next);
	else
		login_refused(r);
}

/* ---- sessions ---- */

static void
auth_row(struct rv_req *r, const PGresult *res)
{
	if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 2 * RV_PK_LEN &&
	    sodium_hex2bin(r->caller.ed25519, RV_PK_LEN, PQgetvalue(res, 0, 0), 2 * RV_PK_LEN, NULL,
	                   NULL, NULL) == 0)
		r->found = 1;
}

static void
ended_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res) == 1;
}

/* No live session: one a revocation ended says so; any other expired. */
static void
auth_ended_done(struct rv_req *r)
{
	if (r->found)
		rv_problem_code(r, 401, "membership_ended",
		                "an admin removed this key from its team: the session has ended", NULL);
	else
		rv_problem_code(r, 401, "session_expired",
		                "no such session: it expired, or you logged out: log in again", NULL);
}

static void
auth_done(struct rv_req *r)
{
	uint8_t pk[RV_PK_LEN];
	if (!r->found) {
		const char *v[1] = { (const char *)r->token_sha };
		const int lens[1] = { 32 }, fmts[1] = { 1 };
		rv_q(r, "select 1 from ended_sessions where token_sha256 = $1", 1, v, lens, fmts,
		     ended_row);
		rv_run(r, auth_ended_done);
		return;
	}
	r->found = 0;
	memcpy(pk, r->caller.ed25519, RV_PK_LEN);
	/* A key that no longer belongs to any team (and is no admin key) sees nothing. */
	if (caller_fill(r, pk, &r->caller) == 0 && !r->caller.admin) {
		rv_problem_code(r, 401, "membership_ended",
		                "this key is no longer a member of any team: an admin removed it", NULL);
		return;
	}
	if (r->route == RV_QUESTIONNAIRE) {
		rv_answer(r, 200, "application/json", r->rv->questionnaire, r->rv->qlen, NULL);
		return;
	}
	if (r->route == RV_REPLY || r->route == RV_NOTE || r->route == RV_MEMBERSHIP) {
		rv_replies_start(r);
		return;
	}
	if (r->route >= RV_AUDIT_CHECKPOINT && r->route <= RV_AUDIT_CONSISTENCY) {
		rv_auditlog_start(r);
		return;
	}
	if (r->route >= RV_ENROLL) {
		rv_admin_start(r);
		return;
	}
	rv_reports_start(r);
}

/* Check the session (and touch it); the route runs in auth_done. */
static void
auth_start(struct rv_req *r)
{
	char now[24], idle[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(idle, sizeof(idle), "%u", r->app->cfg->review_idle_s);
	const char *v[3] = { (const char *)r->token_sha, now, idle };
	const int lens[3] = { 32, 0, 0 }, fmts[3] = { 1, 0, 0 };
	rv_q(r, "update sessions set last_used_at = $2::bigint where token_sha256 = $1 "
	        "and expires_at > $2::bigint and last_used_at > $2::bigint - $3::bigint "
	        "returning encode(ed25519, 'hex')", 3, v, lens, fmts, auth_row);
	rv_run(r, auth_done);
}

static void
logout_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "1") == 0;
}

static void
logout_done(struct rv_req *r)
{
	if (!r->found)
		rv_problem(r, 401, "log in first");
	else
		rv_answer(r, 204, NULL, NULL, 0, NULL);
}

static void
logout_start(struct rv_req *r)
{
	char now[24], idle[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(idle, sizeof(idle), "%u", r->app->cfg->review_idle_s);
	const char *v[3] = { (const char *)r->token_sha, now, idle };
	const int lens[3] = { 32, 0, 0 }, fmts[3] = { 1, 0, 0 };
	rv_audit_session(r, AUDIT_LOGOUT); /* before the session goes: it names the actor */
	rv_q(r, "with d as (delete from sessions where token_sha256 = $1 "
	        "returning expires_at, last_used_at) select count(*) from d "
	        "where expires_at > $2::bigint and last_used_at > $2::bigint - $3::bigint",
	     3, v, lens, fmts, logout_row);
	rv_run(r, logout_done);
}

/* ---- the HTTP handler ---- */

static size_t
body_max(enum rv_route route)
{
	if (route == RV_REPLY || route == RV_NOTE)
		return RV_REPLY_MAX_BODY;
	if (route == RV_ENROLL || route == RV_ADMIN_INVITE || route == RV_ADMIN_LABEL_ADD)
		return RV_ENROLL_MAX_BODY;
	if (route == RV_ADMIN_MEMBERSHIP)
		return RV_ADMIN_MAX_BODY;
	if (route == RV_HEADERS)
		return RV_HEADERS_MAX_BODY;
	return route == RV_LOGIN ? RV_LOGIN_MAX_BODY : route == RV_PATCH ? RV_PATCH_MAX_BODY : 0;
}

static int
rv_on_body(struct http_request *req, const uint8_t *p, size_t n)
{
	struct rv_req *r = http_request_data(req);
	if (buf_add(&r->body, p, n) == 0)
		return 0;
	if (r->route == RV_LOGIN) {
		rv_limiter_fail(r->rv->limiter, NULL, time(NULL));
		rv_problem_code(r, 401, "login_failed", "login failed", NULL);
	} else {
		rv_problem(r, 413, "request body too large");
	}
	return -1;
}

static void
rv_on_complete(struct http_request *req)
{
	struct rv_req *r = http_request_data(req);
	r->completed = true;
	switch (r->route) {
	case RV_NONCE: nonce_complete(r); break;
	case RV_LOGIN: login_complete(r); break;
	case RV_LOGOUT: logout_start(r); break;
	case RV_ENROLL: rv_admin_start(r); break;
	default: auth_start(r); break;
	}
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

/* Match "<prefix><uuid><rest>"; copy the uuid into `id`. */
static int
match_id(const char *path, const char *prefix, char id[37], const char **rest)
{
	size_t pl = strlen(prefix);
	if (strncmp(path, prefix, pl) != 0 || strlen(path + pl) < 36)
		return -1;
	memcpy(id, path + pl, 36);
	id[36] = '\0';
	*rest = path + pl + 36;
	return util_uuid_valid(id) ? 0 : -1;
}

/* Match "<pre><team><post>"; copy the team into `team`. */
static int
match_team(const char *path, const char *pre, const char *post, char team[MEMBERSHIP_TEAM_MAX + 1])
{
	size_t pl = strlen(pre), n;
	if (strncmp(path, pre, pl) != 0)
		return -1;
	n = strcspn(path + pl, "/");
	if (n == 0 || n > MEMBERSHIP_TEAM_MAX || strcmp(path + pl + n, post) != 0)
		return -1;
	memcpy(team, path + pl, n);
	team[n] = '\0';
	return membership_team_valid(team) ? 0 : -1;
}

/* Match "/api/v1/admin/labels/<label>"; copy the label into `label`. */
static int
match_label(const char *path, char label[65])
{
	static const char pre[] = "/api/v1/admin/labels/";
	size_t pl = sizeof(pre) - 1;
	if (strncmp(path, pre, pl) != 0 || strlen(path + pl) > 64)
		return -1;
	snprintf(label, 65, "%s", path + pl);
	return rv_label_valid(label) ? 0 : -1;
}

/* Find the route for method + path; return 0, or -1 if there is none. */
static int
parse_route(const char *method, const char *path, struct rv_req *r)
{
	const char *rest;
	int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	if (post && strcmp(path, "/api/v1/login/nonce") == 0)
		r->route = RV_NONCE;
	else if (post && strcmp(path, "/api/v1/login") == 0)
		r->route = RV_LOGIN;
	else if (post && strcmp(path, "/api/v1/logout") == 0)
		r->route = RV_LOGOUT;
	else if (get && strcmp(path, "/api/v1/reports") == 0)
		r->route = RV_LIST;
	else if (get && strcmp(path, "/api/v1/labels") == 0)
		r->route = RV_LABELS;
	else if (get && strcmp(path, "/api/v1/questionnaire") == 0)
		r->route = RV_QUESTIONNAIRE;
	else if (get && strcmp(path, "/api/v1/audit/checkpoint") == 0)
		r->route = RV_AUDIT_CHECKPOINT;
	else if (get && strcmp(path, "/api/v1/audit/leaves") == 0)
		r->route = RV_AUDIT_LEAVES;
	else if (get && strcmp(path, "/api/v1/audit/entries") == 0)
		r->route = RV_AUDIT_ENTRIES;
	else if (get && strcmp(path, "/api/v1/audit/proof/inclusion") == 0)
		r->route = RV_AUDIT_INCLUSION;
	else if (get && strcmp(path, "/api/v1/audit/proof/consistency") == 0)
		r->route = RV_AUDIT_CONSISTENCY;
	else if (get && match_team(path, "/api/v1/teams/", "/membership", r->team) == 0)
		r->route = RV_MEMBERSHIP;
	else if (get && match_team(path, "/api/v1/teams/", "/missing-headers", r->team) == 0)
		r->route = RV_MISSING_HEADERS;
	else if (post && strcmp(path, "/api/v1/enroll") == 0)
		r->route = RV_ENROLL;
	else if (post && strcmp(path, "/api/v1/admin/invites") == 0)
		r->route = RV_ADMIN_INVITE;
	else if (get && strcmp(path, "/api/v1/admin/enrollments") == 0)
		r->route = RV_ADMIN_ENROLLMENTS;
	else if (get && strcmp(path, "/api/v1/admin/teams") == 0)
		r->route = RV_ADMIN_TEAMS;
	else if (post && match_id(path, "/api/v1/admin/enrollments/", r->id, &rest) == 0 &&
	         strcmp(rest, "/reject") == 0)
		r->route = RV_ADMIN_REJECT;
	else if (post && match_team(path, "/api/v1/admin/teams/", "/membership", r->team) == 0)
		r->route = RV_ADMIN_MEMBERSHIP;
	else if (post && strcmp(path, "/api/v1/admin/labels") == 0)
		r->route = RV_ADMIN_LABEL_ADD;
	else if (strcmp(method, "DELETE") == 0 && match_label(path, r->label) == 0)
		r->route = RV_ADMIN_LABEL_DEL;
	else if (match_id(path, "/api/v1/reports/", r->id, &rest) != 0)
		return -1;
	else if (*rest == '\0' && (get || strcmp(method, "PATCH") == 0))
		r->route = get ? RV_FETCH : RV_PATCH;
	else if (get && match_id(rest, "/attachments/", r->aid, &rest) == 0 && *rest == '\0')
		r->route = RV_ATTACHMENT;
	else if (post && (strcmp(rest, "/replies") == 0 || strcmp(rest, "/notes") == 0))
		r->route = rest[1] == 'r' ? RV_REPLY : RV_NOTE;
	else if (post && strcmp(rest, "/headers") == 0)
		r->route = RV_HEADERS;
	else
		return -1;
	return 0;
}

const struct http_handler *
review_route(struct http_request *req, struct app *app)
{
	struct rv_req *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		http_respond_problem(req, 500, "out of memory");
		return NULL;
	}
	r->app = app;
	r->rv = app->review;
	r->req = req;
	if (app->review == NULL ||
	    parse_route(http_request_method(req), http_request_path(req), r) != 0) {
		/* A method a path does not take is no route either (the review
		 * surface answers nothing it does not serve). */
		free(r);
		http_respond_problem(req, 404, "no such resource");
		return NULL;
	}
	r->db = loops_db(app->loops, http_request_base(req));
	if ((r->members = members_get(app->review)) == NULL) {
		http_respond_problem(req, 500, "out of memory");
		rv_req_free(r);
		return NULL;
	}
	size_t max = body_max(r->route);
	buf_init(&r->body, max); /* no report data: status, labels, a signed nonce */
	int64_t cl = http_request_content_length(req);
	int needs_token = r->route != RV_NONCE && r->route != RV_LOGIN && r->route != RV_ENROLL;
	if (needs_token && rv_bearer_parse(http_request_header(req, "Authorization"),
	                                   r->token_sha) != 0) {
		rv_problem_code(r, 401, "session_expired", "log in first", NULL); /* frees r */
		return NULL;
	}
	if (cl > (int64_t)max) {
		if (r->route == RV_LOGIN)
			rv_limiter_fail(r->rv->limiter, NULL, time(NULL));
		rv_problem_code(r, r->route == RV_LOGIN ? 401 : 413,
		                r->route == RV_LOGIN ? "login_failed" : NULL,
		                r->route == RV_LOGIN ? "login failed" : "request body too large", NULL);
		return NULL;
	}
	http_request_set_data(req, r);
	return &rv_handler;
}
