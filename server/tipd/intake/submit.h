/*
 * submit: POST /api/v1/reports, the public submission contract.
 *
 * Body: application/json {"team", "language", "answers"} or
 * multipart/form-data with a part "report" holding that JSON first, then any
 * number of parts "file". Attachments are sealed while they stream in; the
 * report (context line, answers, language, attachment manifest) is padded,
 * sealed to the team's current members, spooled and fsync'd; only then is
 * the receipt sent (201 {"receipt": "…"}).
 */
#ifndef TIPD_SUBMIT_H
#define TIPD_SUBMIT_H

#include "http.h"

struct app;

/* Most bytes of report JSON accepted (the answers, not attachments). */
#define SUBMIT_MAX_REPORT_JSON (256 * 1024)
/* Most attachments in one submission. */
#define SUBMIT_MAX_FILES 20

/* Pick the submission handler for a request whose head is complete, or
 * answer 415/413/503 at once and return NULL. */
const struct http_handler *submit_route(struct http_request *req, struct app *app);

#endif
