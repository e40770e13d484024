#include "submit.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "buf.h"
#include "inbox.h"
#include "log.h"
#include "multipart.h"
#include "questionnaire.h"
#include "receipt.h"
#include "seal.h"
#include "seal_file.h"
#include "seal_report.h"
#include "spool.h"
#include "teams.h"
#include "util.h"

enum submit_part { PART_NONE, PART_REPORT, PART_FILE, PART_SKIP, PART_FIELD, PART_DISCARD };

struct submit {
	struct app *app;
	struct http_request *req;
	struct multipart *mp;
	struct buf json;             /* report JSON (secure memory) */
	json_t *report;              /* parsed and validated */
	const struct team_keys *team;
	struct spool_txn *txn;
	char report_uuid[UUID_STR_LEN];
	char date[11];
	enum submit_part part;
	struct seal_file *att;       /* the attachment being received */
	json_t *manifest;
	/* the answer */
	char receipt[RECEIPT_STR_LEN];
	uint8_t lookup_id[RECEIPT_ID_LEN]; /* for the inbox's pending set */
	bool answered;
	bool committing;
	bool counted;
	/* a form of the source pages (submit_form_route) */
	const struct submit_form *form;
	void *form_arg;
	json_t *fields;              /* name -> string or [strings] */
	struct buf field;            /* the field being received (secure) */
	char field_name[SUBMIT_MAX_FIELD_NAME + 1];
	size_t nfields;
	bool rejected;               /* answers refused: discard the rest, then say why */
	enum questionnaire_result why;
	char why_qid[128];
};

static void
submit_free(struct submit *s)
{
	if (s == NULL)
		return;
	multipart_free(s->mp);
	buf_free(&s->json);
	json_decref(s->report);
	json_decref(s->manifest);
	seal_file_free(s->att);
	spool_abort(s->txn);
	if (s->team != NULL)
		team_keys_release(s->team);
	if (s->counted)
		atomic_fetch_sub(&s->app->inflight, 1);
	sodium_memzero(s->receipt, sizeof(s->receipt));
	json_decref(s->fields);
	buf_free(&s->field);
	if (s->form != NULL && s->form->release != NULL)
		s->form->release(s->form_arg);
	free(s);
}

/* Answer with a problem (once); the state is freed by the caller's path. */
static int
submit_fail(struct submit *s, int status, const char *detail)
{
	if (!s->answered) {
		s->answered = true;
		if (s->form != NULL)
			s->form->fail(s->form_arg, s->req, status);
		else
			http_respond_problem(s->req, status, detail);
	}
	return -1;
}

/* Answer a failed spool write: a full spool or disk is a 503 "come back
 * later", a submission too large for one spool file a 413. */
static int
submit_store_fail(struct submit *s)
{
	if (errno == ENOSPC || errno == EDQUOT)
		return submit_fail(s, 503, "we cannot take reports right now; please try again later");
	if (errno == EFBIG)
		return submit_fail(s, 413, "submission too large");
	return submit_fail(s, 500, "could not store the report");
}

/* Parse and validate the report JSON, find the team, open the spool file. */
static int
submit_accept_report(struct submit *s)
{
	char why[128] = "", qid[128] = "", msg[256];
	json_t *answers;
	const char *team;

	switch (questionnaire_parse_report(s->json.data, s->json.len, &s->report, why, sizeof(why))) {
	case QUESTIONNAIRE_REPORT_OK:
		break;
	case QUESTIONNAIRE_REPORT_ERR_TOO_LARGE:
		return submit_fail(s, 413, "report too large");
	default:
		snprintf(msg, sizeof(msg), "invalid report: %s", why);
		return submit_fail(s, 400, msg);
	}
	buf_free(&s->json);
	team = json_string_value(json_object_get(s->report, "team"));
	s->team = teams_find(s->app->teams, team);
	if (s->team == NULL && teams_refused(s->app->teams, team))
		return submit_fail(s, 503, "this team cannot take reports right now; "
		                           "please try again later");
	if (s->team == NULL)
		return submit_fail(s, 422, "unknown team");
	answers = json_object_get(s->report, "answers");
	enum questionnaire_result vr =
		questionnaire_validate(s->app->questionnaire, answers, qid, sizeof(qid));
	if (vr != QUESTIONNAIRE_OK && s->form != NULL) {
		/* Answer once the body is in, so the browser can show the form
		 * again instead of a connection reset; files are discarded. */
		s->rejected = true;
		s->why = vr;
		memcpy(s->why_qid, qid, sizeof(s->why_qid));
		return 0;
	}
	switch (vr) {
	case QUESTIONNAIRE_OK:
		break;
	case QUESTIONNAIRE_ERR_MISSING:
		snprintf(msg, sizeof(msg), "missing required answer: %s", qid);
		return submit_fail(s, 422, msg);
	case QUESTIONNAIRE_ERR_UNKNOWN_QUESTION:
		snprintf(msg, sizeof(msg), "unknown question: %s", qid);
		return submit_fail(s, 422, msg);
	case QUESTIONNAIRE_ERR_TYPE:
		snprintf(msg, sizeof(msg), "invalid answer: %s", qid);
		return submit_fail(s, 422, msg);
	default:
		return submit_fail(s, 422, "answers must be an object");
	}
	util_uuid(s->report_uuid);
	util_today(s->date);
	s->txn = spool_begin(s->app->spool, s->report_uuid, s->team->id, s->date);
	if (s->txn == NULL)
		return submit_store_fail(s);
	return 0;
}

static int
submit_file_begin(struct submit *s, const char *filename, const char *ctype)
{
	if (s->report == NULL)
		return submit_fail(s, 400, "the report part must come before any file");
	if (json_array_size(s->manifest) >= SUBMIT_MAX_FILES)
		return submit_fail(s, 413, "too many files");
	s->att = seal_file_begin(s->txn, s->report_uuid, &s->team->recipients, filename, ctype);
	if (s->att == NULL && errno == ENAMETOOLONG)
		return submit_fail(s, 400, "file name too long");
	if (s->att == NULL && errno == ENOMEM)
		return submit_fail(s, 500, "out of memory");
	if (s->att == NULL)
		return submit_store_fail(s);
	s->part = PART_FILE;
	return 0;
}

static int
submit_file_end(struct submit *s)
{
	struct seal_file *f = s->att;
	s->att = NULL;
	if (seal_file_finish(f, s->manifest) == 0)
		return 0;
	return errno == ENOMEM ? submit_fail(s, 500, "could not store the file")
	                       : submit_store_fail(s);
}

/* The form's fields are complete: let the pages check the form and build
 * the report, then accept it as the API would. */
static int
submit_form_build(struct submit *s)
{
	json_t *report = NULL;
	if (s->form->report(s->form_arg, s->req, s->fields, &report) != 0) {
		s->answered = true;
		return -1;
	}
	size_t need = report != NULL ? json_dumpb(report, NULL, 0, JSON_COMPACT) : 0;
	int ok = need > 0 && buf_reserve(&s->json, need) == 0 &&
	         json_dumpb(report, (char *)s->json.data, need, JSON_COMPACT) == need;
	json_decref(report);
	if (!ok)
		return submit_fail(s, 413, "report too large");
	s->json.len = need;
	return submit_accept_report(s);
}

/* Keep the field just received: a repeated name becomes an array. */
static int
submit_field_end(struct submit *s)
{
	json_t *v = json_stringn((const char *)s->field.data, s->field.len), *old;
	buf_reset(&s->field);
	if (v == NULL)
		return submit_fail(s, 400, "a form field is not UTF-8");
	old = json_object_get(s->fields, s->field_name);
	if (old == NULL) {
		if (json_object_set_new(s->fields, s->field_name, v) != 0)
			return submit_fail(s, 500, "out of memory");
		return 0;
	}
	if (json_is_string(old)) {
		json_t *arr = json_array();
		if (arr == NULL || json_array_append(arr, old) != 0) {
			json_decref(arr);
			json_decref(v);
			return submit_fail(s, 500, "out of memory");
		}
		/* json_object_set_new takes arr even when it fails */
		if (json_object_set_new(s->fields, s->field_name, arr) != 0) {
			json_decref(v);
			return submit_fail(s, 500, "out of memory");
		}
		old = arr;
	}
	return json_array_append_new(old, v) == 0 ? 0 : submit_fail(s, 500, "out of memory");
}

/* A part of a form post: fields first, then files. */
static int
mp_form_part_begin(struct submit *s, const char *name, const char *filename, const char *ctype)
{
	if (strcmp(name, "file") == 0) {
		if (s->report == NULL && submit_form_build(s) != 0)
			return -1;
		if (s->rejected) {
			s->part = PART_DISCARD;
			return 0;
		}
		if (filename == NULL || filename[0] == '\0') {
			s->part = PART_SKIP;
			return 0;
		}
		return submit_file_begin(s, filename, ctype);
	}
	if (s->report != NULL)
		return submit_fail(s, 400, "a form field after the files");
	size_t n = strlen(name);
	if (n == 0 || n > SUBMIT_MAX_FIELD_NAME || ++s->nfields > SUBMIT_MAX_FIELDS)
		return submit_fail(s, 400, "unexpected form field");
	memcpy(s->field_name, name, n + 1);
	s->part = PART_FIELD;
	return 0;
}

static int
mp_part_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct submit *s = arg;
	if (s->form != NULL)
		return mp_form_part_begin(s, name, filename, ctype);
	if (strcmp(name, "report") == 0) {
		if (s->report != NULL || s->json.len > 0)
			return submit_fail(s, 400, "more than one report part");
		s->part = PART_REPORT;
		return 0;
	}
	if (strcmp(name, "file") == 0) {
		/* A form's empty file input arrives as filename="" with no data. */
		if (filename == NULL || filename[0] == '\0') {
			s->part = PART_SKIP;
			return 0;
		}
		return submit_file_begin(s, filename, ctype);
	}
	return submit_fail(s, 400, "unexpected form field");
}

static int
mp_part_data(void *arg, const uint8_t *p, size_t n)
{
	struct submit *s = arg;
	switch (s->part) {
	case PART_REPORT:
		if (buf_add(&s->json, p, n) != 0)
			return submit_fail(s, 413, "report too large");
		return 0;
	case PART_FILE:
		if (seal_file_write(s->att, p, n) != 0)
			return submit_store_fail(s);
		return 0;
	case PART_SKIP:
		return n == 0 ? 0 : submit_fail(s, 400, "file part without a file name");
	case PART_DISCARD:
		return 0;
	case PART_FIELD:
		if (buf_add(&s->field, p, n) != 0)
			return submit_fail(s, 413, "form field too large");
		return 0;
	default:
		return submit_fail(s, 400, "malformed form");
	}
}

static int
mp_part_end(void *arg)
{
	struct submit *s = arg;
	enum submit_part part = s->part;
	s->part = PART_NONE;
	if (part == PART_REPORT)
		return submit_accept_report(s);
	if (part == PART_FILE)
		return submit_file_end(s);
	if (part == PART_FIELD)
		return submit_field_end(s);
	return 0;
}

static const struct multipart_callbacks submit_mp_callbacks = {
	.on_part_begin = mp_part_begin,
	.on_part_data = mp_part_data,
	.on_part_end = mp_part_end,
};

static int
submit_on_body(struct http_request *req, const uint8_t *p, size_t n)
{
	struct submit *s = http_request_data(req);
	int rc = 0;
	if (s->mp == NULL) {
		if (buf_add(&s->json, p, n) != 0)
			rc = submit_fail(s, 413, "report too large");
	} else {
		int r = multipart_feed(s->mp, p, n);
		if (r != MULTIPART_OK)
			rc = submit_fail(s, r == MULTIPART_ERR_LIMIT ? 413 : 400,
			                 "malformed multipart body");
	}
	if (rc != 0) {
		http_request_set_data(req, NULL);
		submit_free(s);
	}
	return rc;
}

/* Seal the report itself (seal_report.c: the receipt, the source's keys, the
 * padded document) and keep the receipt and lookup id for the answer. */
static int
submit_seal_report(struct submit *s)
{
	const struct seal_report_in in = {
		.pepper = s->app->pepper,
		.recipients = &s->team->recipients,
		.report_uuid = s->report_uuid,
		.date = s->date,
		.report = s->report,
		.manifest = s->manifest,
		.max_json = SUBMIT_MAX_REPORT_JSON,
	};
	return seal_report(s->txn, &in, s->lookup_id, s->receipt);
}

static void
submit_committed(int ok, void *arg)
{
	struct submit *s = arg;
	char body[96];
	s->committing = false;
	if (!ok) {
		inbox_pending_drop(s->app->inbox, s->lookup_id);
		submit_fail(s, 500, "could not store the report");
	} else {
		s->answered = true;
		if (s->form != NULL) {
			s->form->receipt(s->form_arg, s->req, s->receipt);
		} else {
			int n = snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", s->receipt);
			http_respond(s->req, 201, "application/json", body, (size_t)n, NULL);
			sodium_memzero(body, sizeof(body));
		}
	}
	submit_free(s);
}

static void
submit_on_complete(struct http_request *req)
{
	struct submit *s = http_request_data(req);
	if (s->mp != NULL) {
		if (multipart_finish(s->mp) != MULTIPART_OK) {
			submit_fail(s, 400, "truncated or malformed multipart body");
			goto done;
		}
		if (s->report == NULL && s->form != NULL && submit_form_build(s) != 0)
			goto done;
		if (s->report == NULL) {
			submit_fail(s, 400, "missing report part");
			goto done;
		}
		if (s->rejected) {
			s->answered = true;
			s->form->invalid(s->form_arg, s->req, s->why, s->why_qid, s->fields);
			goto done;
		}
	} else if (submit_accept_report(s) != 0) {
		goto done;
	}
	if (submit_seal_report(s) != 0) {
		submit_store_fail(s);
		goto done;
	}
	struct spool_txn *t = s->txn;
	s->txn = NULL;
	s->committing = true;
	/* Pending from before the commit: the flusher may take the file before
	 * submit_committed runs, and drops the id then. */
	if (s->app->inbox != NULL) /* full: inbox logs it once; the report is still stored */
		(void)inbox_pending_add(s->app->inbox, s->lookup_id, s->report_uuid, s->team->id);
	/* The callback runs on this request's own event loop. */
	if (spool_commit(t, http_request_base(s->req), submit_committed, s) != 0) {
		inbox_pending_drop(s->app->inbox, s->lookup_id);
		s->committing = false;
		submit_fail(s, 500, "could not store the report");
		goto done;
	}
	return; /* answered in submit_committed */
done:
	http_request_set_data(req, NULL);
	submit_free(s);
}

static void
submit_on_abort(struct http_request *req)
{
	struct submit *s = http_request_data(req);
	if (s == NULL)
		return;
	if (s->committing) {
		/* The report is being made durable; it will reach the database
		 * even though nobody is left to read the receipt. The answer
		 * in submit_committed() then only releases the request. */
		return;
	}
	http_request_set_data(req, NULL);
	submit_free(s);
}

static const struct http_handler submit_handler = {
	.on_body = submit_on_body,
	.on_complete = submit_on_complete,
	.on_abort = submit_on_abort,
};

static bool
media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	if (ct == NULL || strncasecmp(ct, type, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

const struct http_handler *
submit_route(struct http_request *req, struct app *app)
{
	const char *ct = http_request_header(req, "Content-Type");
	char boundary[128];
	struct submit *s;

	if (app->draining) {
		http_respond_problem(req, 503, "the service is restarting; please try again shortly");
		return NULL;
	}
	bool json = media_type_is(ct, "application/json");
	if (!json && !media_type_is(ct, "multipart/form-data")) {
		http_respond_problem(req, 415, "send application/json or multipart/form-data");
		return NULL;
	}
	if (json && http_request_content_length(req) > SUBMIT_MAX_REPORT_JSON) {
		http_respond_problem(req, 413, "report too large");
		return NULL;
	}
	if (!json && multipart_boundary(ct, boundary, sizeof(boundary)) != 0) {
		http_respond_problem(req, 400, "bad multipart boundary");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		http_respond_problem(req, 500, "out of memory");
		return NULL;
	}
	s->app = app;
	s->req = req;
	s->counted = true;
	atomic_fetch_add(&app->inflight, 1);
	buf_init_secure(&s->json, SUBMIT_MAX_REPORT_JSON);
	s->manifest = json_array();
	if (!json)
		s->mp = multipart_new(boundary, NULL, &submit_mp_callbacks, s);
	if (s->manifest == NULL || (!json && s->mp == NULL)) {
		http_respond_problem(req, 500, "out of memory");
		submit_free(s);
		return NULL;
	}
	http_request_set_data(req, s);
	return &submit_handler;
}

const struct http_handler *
submit_form_route(struct http_request *req, struct app *app, const struct submit_form *form,
                  void *arg)
{
	const char *ct = http_request_header(req, "Content-Type");
	char boundary[128];
	struct submit *s = NULL;
	int status = 500;

	if (app->draining)
		status = 503;
	else if (!media_type_is(ct, "multipart/form-data") ||
	         multipart_boundary(ct, boundary, sizeof(boundary)) != 0)
		status = 400;
	else if ((s = calloc(1, sizeof(*s))) != NULL) {
		s->app = app;
		s->req = req;
		s->form = form;
		s->form_arg = arg;
		s->counted = true;
		atomic_fetch_add(&app->inflight, 1);
		buf_init_secure(&s->json, SUBMIT_MAX_REPORT_JSON);
		buf_init_secure(&s->field, SUBMIT_MAX_REPORT_JSON);
		s->manifest = json_array();
		s->fields = json_object();
		struct multipart_limits lim = { SUBMIT_MAX_FIELDS + SUBMIT_MAX_FILES + 1, 0 };
		s->mp = multipart_new(boundary, &lim, &submit_mp_callbacks, s);
		if (s->manifest != NULL && s->fields != NULL && s->mp != NULL) {
			http_request_set_data(req, s);
			return &submit_handler;
		}
		s->answered = true;
		form->fail(arg, req, 500);
		submit_free(s); /* releases arg */
		return NULL;
	}
	form->fail(arg, req, status);
	if (form->release != NULL)
		form->release(arg);
	return NULL;
}
