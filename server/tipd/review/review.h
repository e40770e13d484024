/*
 * review: the review API on the review listener (docs/api.md): its route
 * table (review.c) on the request engine of review_req.h. Login, sessions
 * and logout are review_login.c; the routes are review_reports.c,
 * review_replies.c, review_audit.c, review_admin.c and review_sync.c.
 *
 * Who may log in, and which teams a caller sees, comes from each team's
 * latest verified membership statement: the statements tipd verified at
 * start-up (teams.c caches them in STATE_DIR/membership-heads), opened again
 * here against the pinned admin keys and used only if teams.c kept the team
 * at the same sequence number.
 */
#ifndef TIPD_REVIEW_H
#define TIPD_REVIEW_H

#include <stddef.h>

struct app;
struct review;
struct http_request;
struct http_handler;
struct db;

/* Build the review state from the loaded teams and configuration; NULL and
 * a message in `err` on error. Call after teams_load(). Caller frees. */
struct review *review_new(struct app *app, char *err, size_t errlen);
void review_free(struct review *rv);

/* Route a request on the review listener whose path starts with /api/v1/,
 * whose steps run on `db` (its loop's connection; NULL: every step answers
 * 503): return its handler, or answer (401, 404, 413, 500) and return NULL. */
const struct http_handler *review_route(struct http_request *req, struct app *app,
                                        struct db *db);

/* The questionnaire file as loaded (`*len` bytes). */
const char *rv_questionnaire(const struct review *rv, size_t *len);

#endif
