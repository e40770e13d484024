/*
 * review_login: login with a signed nonce, sessions and logout on the
 * review API (docs/api.md "Login"; docs/crypto.md §10).
 *
 *  POST /api/v1/login/nonce   a stateless nonce (review_auth.h)
 *  POST /api/v1/login         a signature over the login message: a session
 *  POST /api/v1/logout        ends the session the bearer token names
 *
 * Only a signature that verifies earns a reason for a refusal (a wrong
 * clock, a pending, rejected or ended enrollment); anything else is "login
 * failed", counted by the limiter (net/limiter.h). Every attempt that names
 * a genuine nonce burns it in PostgreSQL (login_nonces), so a nonce logs in
 * once on any review host.
 *
 * rv_session_check runs before every route the table marks RV_MEMBER or
 * RV_ADMIN: it checks and touches the session, fills the caller, then
 * starts the route (review_req.h).
 */
#ifndef TIPD_REVIEW_LOGIN_H
#define TIPD_REVIEW_LOGIN_H

struct rv_req;
struct rv_ops;

extern const struct rv_ops rv_nonce_ops;
extern const struct rv_ops rv_login_ops;
extern const struct rv_ops rv_logout_ops;

/* A session's last use is stored at most every rv_session_touch_s(idle)
 * seconds: idle / RV_SESSION_TOUCH_DIV, at most RV_SESSION_TOUCH_MAX. So a
 * session ends after between idle - that and idle seconds unused. */
#define RV_SESSION_TOUCH_DIV 30
#define RV_SESSION_TOUCH_MAX 60

/* Check the bearer session of `r` (r->token_sha) and touch it if its last
 * use is older than rv_session_touch_s; answer 401 if it is gone or its key
 * is in no team, else fill the caller and run the route (rv_req_start). */
void rv_session_check(struct rv_req *r);
/* The seconds between two stored uses of a session with idle timeout `idle_s`. */
unsigned rv_session_touch_s(unsigned idle_s);

#endif
