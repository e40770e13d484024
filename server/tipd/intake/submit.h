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

#include <jansson.h>

#include "http.h"
#include "questionnaire.h"

struct app;

/* Most bytes of report JSON accepted (the answers, not attachments). */
#define SUBMIT_MAX_REPORT_JSON (256 * 1024)
/* Most attachments in one submission. */
#define SUBMIT_MAX_FILES 20

/* Most form fields (not files) in one form post, and longest field name. */
#define SUBMIT_MAX_FIELDS 256
#define SUBMIT_MAX_FIELD_NAME 64

/* Pick the submission handler for a request whose head is complete, or
 * answer 415/413/503 at once and return NULL. */
const struct http_handler *submit_route(struct http_request *req, struct app *app);

/*
 * The report form of the source pages, posted as multipart/form-data: its
 * fields (parts not named "file", before the first file) and files. The
 * caller owns every word the source sees; submit owns validation, sealing,
 * the spool and the receipt, exactly as for the API. Every callback gets
 * the caller's `arg`; each of invalid, fail and receipt answers the request
 * (exactly one of them runs, unless report answered itself or the request
 * was aborted); release runs last, always.
 */
struct submit_form {
	/* The fields have all arrived (`fields`: name -> string, or an array of
	 * strings for a repeated name). Check the form (its token first) and
	 * build {"team", "language", "answers"} in *report (caller of submit
	 * takes it); return 0, or -1 after answering. Runs before any work. */
	int (*report)(void *arg, struct http_request *req, const json_t *fields, json_t **report);
	/* The answers break the questionnaire (`why`) at question `qid`. */
	void (*invalid)(void *arg, struct http_request *req, enum questionnaire_result why,
	                const char *qid, const json_t *fields);
	/* Anything else failed: `status` is 400, 413, 422, 500 or 503. */
	void (*fail)(void *arg, struct http_request *req, int status);
	/* The report is durable: show the formatted `receipt` (wiped after). */
	void (*receipt)(void *arg, struct http_request *req, const char *receipt);
	void (*release)(void *arg);
};

/* Pick the handler for a report form post (multipart/form-data only), or
 * answer through `form` (fail) and return NULL. `form` must outlive the
 * request; `arg` is released through form->release in every case. */
const struct http_handler *submit_form_route(struct http_request *req, struct app *app,
                                             const struct submit_form *form, void *arg);

#endif
