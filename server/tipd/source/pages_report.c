/* The report form: built from the questionnaire, posted to submit.c. */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "l10n.h"
#include "log.h"
#include "pages_int.h"
#include "questionnaire.h"
#include "submit.h"

/* Text above ~300 characters gets a text area rather than one line. */
#define LONG_TEXT 300

/* A questionnaire text in `lang`: the questionnaire's own translation if it
 * has one for the language, else the catalogue's translation of the
 * English text, else English. */
static const char *
q_text(const json_t *localized, const struct l10n_lang *lang)
{
	const char *t = questionnaire_text(localized, lang->code);
	const char *en = questionnaire_text(localized, "en");
	if (t == NULL || t != en)
		return t;
	return l10n_get(lang, en);
}

/* 1 if `v` (a field value: string or array of strings) holds `opt`. */
static int
has_value(const json_t *v, const char *opt)
{
	size_t i;
	const json_t *e;
	if (json_is_string(v))
		return strcmp(json_string_value(v), opt) == 0;
	json_array_foreach(v, i, e)
	{
		if (json_is_string(e) && strcmp(json_string_value(e), opt) == 0)
			return 1;
	}
	return 0;
}

static json_t *
options_json(const struct questionnaire_question *q, const struct l10n_lang *lang,
             const json_t *value)
{
	json_t *opts = json_array();
	for (size_t i = 0; opts != NULL && i < q->noptions; i++) {
		const struct questionnaire_option *o = &q->options[i];
		json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", o->id, "qid", q->id,
		                      "label", q_text(o->label, lang), "type",
		                      q->multiple ? "checkbox" : "radio", "checked",
		                      value != NULL && has_value(value, o->id));
		if (e == NULL || json_array_append_new(opts, e) != 0) {
			json_decref(opts);
			return NULL;
		}
	}
	return opts;
}

/* One question of the form, with its kept answer and its problem. */
static json_t *
question_json(const struct questionnaire_question *q, const struct l10n_lang *lang,
              const json_t *fields, const json_t *errors)
{
	const json_t *value = fields != NULL ? json_object_get(fields, q->id) : NULL;
	const char *err = errors != NULL ? json_string_value(json_object_get(errors, q->id)) : NULL;
	const char *help = q->help != NULL ? q_text(q->help, lang) : NULL;
	json_t *e =
		json_pack("{s:s, s:s, s:s?, s:b, s:b, s:b, s:I, s:b, s:b, s:b}", "id", q->id,
	                  "label", q_text(q->label, lang), "help", help, "required", q->required,
	                  "is_text", q->type == QUESTIONNAIRE_TEXT, "long",
	                  q->max_length > LONG_TEXT, "max", (json_int_t)q->max_length, "error",
	                  err != NULL, "err_missing", err != NULL && strcmp(err, "missing") == 0,
	                  "err_invalid", err != NULL && strcmp(err, "invalid") == 0);
	if (e == NULL)
		return NULL;
	int rc = 0;
	if (q->type == QUESTIONNAIRE_TEXT && json_is_string(value))
		rc = json_object_set_new(
			e, "value",
			json_stringn(json_string_value(value), json_string_length(value)));
	else if (q->type == QUESTIONNAIRE_CHOICE)
		rc = json_object_set_new(e, "options", options_json(q, lang, value));
	if (rc != 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

void
pages_report_form(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
                  const json_t *fields, const json_t *errors, int status)
{
	const struct questionnaire *qn = pg->app->questionnaire;
	json_t *ctx = pages_ctx(pg, lang, "/report");
	json_t *qs = json_array(), *errs = json_array();
	int ok = ctx != NULL && qs != NULL && errs != NULL &&
		pages_add_token(pg, ctx, "token", WEBSEC_FORM_REPORT) == 0;
	for (size_t i = 0; ok && i < questionnaire_count(qn); i++) {
		const struct questionnaire_question *q = questionnaire_question(qn, i);
		json_t *e = question_json(q, lang, fields, errors);
		ok = e != NULL && json_array_append_new(qs, e) == 0;
		if (ok && json_object_get(errors, q->id) != NULL)
			ok = json_array_append_new(errs,
			                           json_pack("{s:s, s:s}", "id", q->id, "label",
			                                     q_text(q->label, lang))) == 0;
	}
	if (ok)
		ok = json_object_set_new(ctx, "questions", qs) == 0 &&
			json_object_set_new(ctx, "has_errors",
		                            json_boolean(json_array_size(errs) > 0)) == 0 &&
			json_object_set_new(ctx, "file_error", json_boolean(errors != NULL)) == 0 &&
			json_object_set_new(ctx, "errors", errs) == 0;
	else {
		json_decref(qs);
		json_decref(errs);
	}
	if (!ok) {
		json_decref(ctx);
		ctx = NULL;
	}
	pages_send(req, pg, lang, status, "report", ctx, NULL);
}

/* ---- the post, through submit.c ---- */

struct report_post {
	const struct pages *pg;
	const struct l10n_lang *lang;
};

/* 1 if a field value counts as an answer (not empty, not only spaces). */
static int
answered(const json_t *v)
{
	if (json_is_array(v))
		return json_array_size(v) > 0;
	const char *s = json_string_value(v);
	for (; s != NULL && *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return 1;
	return 0;
}

/* The answers from the fields: one entry per answered question, an array
 * for multiple choices. Required questions left empty go into `errors`. */
static json_t *
answers_from(const struct questionnaire *qn, const json_t *fields, json_t *errors)
{
	json_t *answers = json_object();
	for (size_t i = 0; answers != NULL && i < questionnaire_count(qn); i++) {
		const struct questionnaire_question *q = questionnaire_question(qn, i);
		json_t *v = json_object_get(fields, q->id);
		int rc = 0;
		if (!answered(v)) {
			if (q->required)
				rc = json_object_set_new(errors, q->id, json_string("missing"));
		} else if (q->type == QUESTIONNAIRE_CHOICE && q->multiple && json_is_string(v)) {
			rc = json_object_set_new(answers, q->id, json_pack("[O]", v));
		} else {
			rc = json_object_set(answers, q->id, v); /* validated by submit */
		}
		if (rc != 0) {
			json_decref(answers);
			return NULL;
		}
	}
	return answers;
}

static int
rp_report(void *arg, struct http_request *req, const json_t *fields, json_t **report)
{
	struct report_post *rp = arg;
	const struct pages *pg = rp->pg;
	if (pages_check_token(pg, fields, WEBSEC_FORM_REPORT) != 0) {
		log_debug("pages: a report form without a valid token");
		pages_message(req, pg, rp->lang, 403, "expired", "report", NULL);
		return -1;
	}
	json_t *errors = json_object();
	json_t *answers =
		errors != NULL ? answers_from(pg->app->questionnaire, fields, errors) : NULL;
	if (answers == NULL) {
		json_decref(errors);
		pages_message(req, pg, rp->lang, 500, "failed", "report", NULL);
		return -1;
	}
	if (json_object_size(errors) > 0) {
		pages_report_form(req, pg, rp->lang, fields, errors, 422);
		json_decref(errors);
		json_decref(answers);
		return -1;
	}
	json_decref(errors);
	*report = json_pack("{s:s, s:s, s:o}", "team", pg->app->cfg->web_team, "language",
	                    rp->lang->code, "answers", answers);
	if (*report == NULL) {
		pages_message(req, pg, rp->lang, 500, "failed", "report", NULL);
		return -1;
	}
	return 0;
}

static void
rp_invalid(void *arg, struct http_request *req, enum questionnaire_result why, const char *qid,
           const json_t *fields)
{
	struct report_post *rp = arg;
	json_t *errors = json_object();
	if (errors == NULL || (why != QUESTIONNAIRE_ERR_MISSING && why != QUESTIONNAIRE_ERR_TYPE) ||
	    json_object_set_new(
		    errors, qid,
		    json_string(why == QUESTIONNAIRE_ERR_MISSING ? "missing" : "invalid")) != 0) {
		json_decref(errors);
		pages_message(req, rp->pg, rp->lang, 400, "broken", "report", NULL);
		return;
	}
	pages_report_form(req, rp->pg, rp->lang, fields, errors, 422);
	json_decref(errors);
}

static void
rp_fail(void *arg, struct http_request *req, int status)
{
	struct report_post *rp = arg;
	if (status == 422)
		status = 500; /* the configured team is unknown: our fault, not theirs */
	pages_message(req, rp->pg, rp->lang, status, pages_status_flag(status), "report", NULL);
}

static void
rp_receipt(void *arg, struct http_request *req, const char *receipt)
{
	struct report_post *rp = arg;
	json_t *ctx = pages_ctx(rp->pg, rp->lang, "/");
	if (ctx != NULL && json_object_set_new(ctx, "receipt", json_string(receipt)) != 0) {
		json_decref(ctx);
		ctx = NULL;
	}
	pages_send(req, rp->pg, rp->lang, 200, "receipt", ctx, NULL);
}

static void
rp_release(void *arg)
{
	free(arg);
}

static const struct submit_form report_form = {
	.report = rp_report,
	.invalid = rp_invalid,
	.fail = rp_fail,
	.receipt = rp_receipt,
	.release = rp_release,
};

const struct http_handler *
pages_report_post(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang)
{
	struct report_post *rp = calloc(1, sizeof(*rp));
	if (rp == NULL) {
		pages_message(req, pg, lang, 500, "failed", "report", NULL);
		return NULL;
	}
	rp->pg = pg;
	rp->lang = lang;
	return submit_form_route(req, pg->app, &report_form, rp);
}
