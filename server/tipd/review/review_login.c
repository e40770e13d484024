#include "review_login.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "audit.h"
#include "config.h"
#include "limiter.h"
#include "log.h"
#include "review_auth.h"
#include "review_req.h"

/* ---- nonces and login ---- */

static void
nonce_start(struct rv_req *r)
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
	log_info("review: login by %s of %zu team(s)",
	         r->caller.admin ? "an admin, member" : "a member", r->caller.n);
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
		limiter_fail(r->rv->limiter, r->caller.ed25519, time(NULL));
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
	rv_q(r,
	     "delete from sessions where expires_at <= $1::bigint "
	     "or last_used_at <= $1::bigint - $2::bigint",
	     2, gc, NULL, NULL, NULL);
	rv_q(r, "delete from ended_sessions where expires_at <= $1::bigint", 1, gc, NULL, NULL,
	     NULL);
	const char *v[4] = { (const char *)r->token_sha, (const char *)r->caller.ed25519, now,
		             expires };
	const int lens[4] = { 32, RV_PK_LEN, 0, 0 }, fmts[4] = { 1, 1, 0, 0 };
	rv_q(r,
	     "insert into sessions (token_sha256, ed25519, created_at, last_used_at, expires_at) "
	     "values ($1, $2, $3::bigint, $3::bigint, $4::bigint)",
	     4, v, lens, fmts, NULL);
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
	rv_q(r,
	     "insert into login_nonces (nonce, expires_at) values ($1, $2::bigint) "
	     "on conflict do nothing returning 1",
	     2, v, lens, fmts, nonce_row);
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
		                "fingerprint over a channel you trust",
		                NULL);
		break;
	case 2:
		rv_problem_code(r, 401, "membership_ended",
		                "this key is no longer a member of any team: an admin removed it",
		                NULL);
		break;
	case 3:
		rv_problem_code(
			r, 401, "enrollment_rejected",
			"an admin rejected this key's enrollment: ask them for a new invite", NULL);
		break;
	default:
		rv_problem_code(r, 401, "not_a_member",
		                "this key is not a member of any team: enroll with an invite from "
		                "your admin",
		                NULL);
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
	rv_q(r,
	     "select status from enrollments where ed25519 = $1 order by enrolled_at desc limit 1",
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
login_start(struct rv_req *r)
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
	unsigned wait = limiter_check(rv->limiter, l.have_pk ? l.pk : NULL, now);
	if (wait > 0) {
		char extra[48];
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", wait);
		rv_problem_code(r, 429, NULL, "too many failed logins; try again later", extra);
		return;
	}
	ok = ok && rv_tls_hex(r, hex) == 0 &&
		rv_login_verify(&l, r->app->cfg->review_origin, hex) == 0;
	sodium_memzero(&l.sig, sizeof(l.sig));
	int in_time = l.time >= now - RV_TIME_SKEW && l.time <= now + RV_TIME_SKEW;
	int member = ok && in_time && (rv_caller_fill(r, l.pk) > 0 || r->caller.admin);
	if (!member) {
		limiter_fail(rv->limiter, l.have_pk ? l.pk : NULL, now);
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
		                "an admin removed this key from its team: the session has ended",
		                NULL);
	else
		rv_problem_code(r, 401, "session_expired",
		                "no such session: it expired, or you logged out: log in again",
		                NULL);
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
	if (rv_caller_fill(r, pk) == 0 && !r->caller.admin) {
		rv_problem_code(r, 401, "membership_ended",
		                "this key is no longer a member of any team: an admin removed it",
		                NULL);
		return;
	}
	rv_req_start(r);
}

void
rv_session_check(struct rv_req *r)
{
	char now[24], idle[24], every[24];
	unsigned idle_s = r->app->cfg->review_idle_s;
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(idle, sizeof(idle), "%u", idle_s);
	snprintf(every, sizeof(every), "%u", rv_session_touch_s(idle_s));
	const char *v[4] = { (const char *)r->token_sha, now, idle, every };
	const int lens[4] = { 32, 0, 0, 0 }, fmts[4] = { 1, 0, 0, 0 };
	/* last_used_at moves only when it is RV_SESSION_TOUCH old: most checks
	 * write nothing, so their transaction commits without a WAL flush (the
	 * audited action that follows has its own). */
	rv_q_ex(r,
	     "with s as (select ed25519, last_used_at from sessions where token_sha256 = $1 "
	     "and expires_at > $2::bigint and last_used_at > $2::bigint - $3::bigint), "
	     "u as (update sessions set last_used_at = $2::bigint where token_sha256 = $1 "
	     "and exists (select 1 from s where s.last_used_at <= $2::bigint - $4::bigint)) "
	     "select encode(ed25519, 'hex') from s",
	     4, v, lens, fmts, DB_Q_CACHED, auth_row);
	rv_run(r, auth_done);
}

unsigned
rv_session_touch_s(unsigned idle_s)
{
	unsigned t = idle_s / RV_SESSION_TOUCH_DIV;
	return t < RV_SESSION_TOUCH_MAX ? t : RV_SESSION_TOUCH_MAX;
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
	rv_q(r,
	     "with d as (delete from sessions where token_sha256 = $1 "
	     "returning expires_at, last_used_at) select count(*) from d "
	     "where expires_at > $2::bigint and last_used_at > $2::bigint - $3::bigint",
	     3, v, lens, fmts, logout_row);
	rv_run(r, logout_done);
}

/* A login body over the limit: a failed login, like any other. */
static void
login_too_large(struct rv_req *r)
{
	limiter_fail(r->rv->limiter, NULL, time(NULL));
	login_refused(r);
}

const struct rv_ops rv_nonce_ops = { .start = nonce_start };
const struct rv_ops rv_login_ops = { .start = login_start, .too_large = login_too_large };
const struct rv_ops rv_logout_ops = { .start = logout_start };
