/*
 * pages_int: what pages.c shares with pages_report.c and pages_inbox.c
 * (not for other modules).
 */
#ifndef TIPD_PAGES_INT_H
#define TIPD_PAGES_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "questionnaire.h"
#include "websec.h"

struct app;
struct db;
struct http_handler;
struct http_request;
struct l10n;
struct l10n_lang;
struct tmpl_set;

struct pages {
	struct app *app;
	struct tmpl_set *tmpl;
	struct l10n *l10n;
	struct websec *sec;
	char *css;
	size_t css_len;
};

/* The scope every page starts from: language, direction, language menu
 * (links to `page_path` in each language), quick exit, help contacts,
 * limits. NULL if out of memory. */
json_t *pages_ctx(const struct pages *pg, const struct l10n_lang *lang, const char *page_path);
/* Render template `name` with `ctx` (stolen) and answer `status` (500 if
 * it cannot be rendered); `extra` is NULL or more header lines. */
void pages_send(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
                int status, const char *name, json_t *ctx, const char *extra);
/* Answer the message page with `flag` set (expired, too_large, …) and a
 * "go back" link to /{lang}/`back`. */
void pages_message(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
                   int status, const char *flag, const char *back, const char *extra);
/* The message page flag for a failed post answered with `status`. */
const char *pages_status_flag(int status);
/* See pages.c. */
bool pages_same_origin(struct http_request *req);
int pages_check_token(const struct pages *pg, const json_t *fields, enum websec_form kind)
	__attribute__((warn_unused_result));
int pages_add_token(const struct pages *pg, json_t *ctx, const char *key, enum websec_form kind);

/* The report form with the answers in `fields` (or NULL) and the problems
 * in `errors` (question id -> "missing" or "invalid"; or NULL). */
void pages_report_form(struct http_request *req, const struct pages *pg,
                       const struct l10n_lang *lang, const json_t *fields, const json_t *errors,
                       int status);
const struct http_handler *pages_report_post(struct http_request *req, const struct pages *pg,
                                             const struct l10n_lang *lang);
/* POST /{lang}/inbox`rest` ("", "/messages", "/forget", "/close"). */
const struct http_handler *pages_inbox_post(struct http_request *req, const struct pages *pg,
                                            const struct l10n_lang *lang, const char *rest,
                                            struct db *db);

#endif
