#include "pages.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "inbox_open.h"
#include "l10n.h"
#include "log.h"
#include "pages_int.h"
#include "questionnaire.h"
#include "submit.h"
#include "tmpl.h"
#include "util.h"
#include "websec.h"

#define PAGES_MAX_CSS (64 * 1024)

static const char HTML[] = "text/html; charset=utf-8";

/* ---- start-up ---- */

struct pages *
pages_new(struct app *app, char *err, size_t errlen)
{
	struct tipd_config *c = app->cfg;
	struct pages *pg = calloc(1, sizeof(*pg));
	char path[1024];
	if (pg == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pg->app = app;
	if (snprintf(path, sizeof(path), "%s/templates", c->web_dir) >= (int)sizeof(path) ||
	    (pg->tmpl = tmpl_load_dir(path, err, errlen)) == NULL)
		goto fail;
	static const char *const need[] = { "landing",     "report", "receipt",
		                            "inbox_login", "inbox",  "message" };
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!tmpl_has(pg->tmpl, need[i])) {
			snprintf(err, errlen, "%s: no %s.html", path, need[i]);
			goto fail;
		}
	}
	if (snprintf(path, sizeof(path), "%s/static/tipline.css", c->web_dir) >=
	            (int)sizeof(path) ||
	    (pg->css = util_read_file(path, PAGES_MAX_CSS, &pg->css_len)) == NULL) {
		snprintf(err, errlen, "%s: cannot read (or larger than 64 KiB)", path);
		goto fail;
	}
	if ((pg->l10n = l10n_load(c->web_locales, err, errlen)) == NULL)
		goto fail;
	pg->sec = c->web_key != NULL ? websec_load(c->web_key, err, errlen) : websec_new(NULL);
	if (pg->sec == NULL) {
		if (c->web_key == NULL)
			snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return pg;
fail:
	pages_free(pg);
	return NULL;
}

void
pages_free(struct pages *pg)
{
	if (pg == NULL)
		return;
	tmpl_free(pg->tmpl);
	l10n_free(pg->l10n);
	websec_free(pg->sec);
	free(pg->css);
	free(pg);
}

/* ---- rendering ---- */

static const char *
translate(const void *arg, const char *msgid)
{
	return l10n_get(arg, msgid);
}

/* Operator text (contacts, regions): the catalogue's translation if any. */
static const char *
operator_text(const struct l10n_lang *lang, const char *s)
{
	const char *t = l10n_lookup(lang, s);
	return t != NULL ? t : s;
}

/* The help contacts, grouped by region in the order configured. */
static json_t *
regions_json(const struct tipd_config *c, const struct l10n_lang *lang)
{
	json_t *regions = json_array();
	for (unsigned i = 0; regions != NULL && i < c->n_contacts; i++) {
		const struct config_contact *k = &c->contacts[i];
		json_t *region = NULL, *r;
		size_t j;
		json_array_foreach(regions, j, r)
		{
			if (strcmp(json_string_value(json_object_get(r, "key")), k->region) == 0)
				region = r;
		}
		if (region == NULL) {
			region = json_pack("{s:s, s:s, s:[]}", "key", k->region, "name",
			                   operator_text(lang, k->region), "contacts");
			if (region == NULL || json_array_append_new(regions, region) != 0) {
				json_decref(regions);
				return NULL;
			}
		}
		json_t *e = json_pack("{s:s, s:s}", "name", operator_text(lang, k->name), "how",
		                      k->how);
		if (e == NULL ||
		    json_array_append_new(json_object_get(region, "contacts"), e) != 0) {
			json_decref(regions);
			return NULL;
		}
	}
	return regions;
}

json_t *
pages_ctx(const struct pages *pg, const struct l10n_lang *lang, const char *page_path)
{
	const struct tipd_config *c = pg->app->cfg;
	json_t *langs = json_array();
	for (size_t i = 0; langs != NULL && i < l10n_count(pg->l10n); i++) {
		const struct l10n_lang *g = l10n_at(pg->l10n, i);
		json_t *e = json_pack("{s:s, s:s, s:s, s:b}", "code", g->code, "name", g->name,
		                      "dir", g->rtl ? "rtl" : "ltr", "current", g == lang);
		if (e == NULL || json_array_append_new(langs, e) != 0) {
			json_decref(langs);
			return NULL;
		}
	}
	json_t *regions = regions_json(c, lang);
	if (langs == NULL || regions == NULL) {
		json_decref(langs);
		json_decref(regions);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s?, s:o, s:s, s:o, s:i, s:i}", "lang", lang->code, "dir",
	                 lang->rtl ? "rtl" : "ltr", "exit_url", c->web_exit_url, "languages", langs,
	                 "page_path", page_path, "regions", regions, "max_files", SUBMIT_MAX_FILES,
	                 "max_size", (int)(c->limits.max_body_bytes >> 20));
}

/* Render template `name` with `ctx` (stolen) into `out`; 0 or -1. */
static int
pages_render(const struct pages *pg, const struct l10n_lang *lang, const char *name, json_t *ctx,
             struct buf *out)
{
	int rc = ctx != NULL ? tmpl_render(pg->tmpl, name, ctx, translate, lang, out) : -1;
	json_decref(ctx);
	if (rc != 0)
		log_error("pages: cannot render %s", name);
	return rc;
}

void
pages_send(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
           int status, const char *name, json_t *ctx, const char *extra)
{
	struct buf out;
	char headers[512];
	buf_init_secure(&out, PAGES_MAX_HTML);
	if (pages_render(pg, lang, name, ctx, &out) != 0) {
		buf_free(&out);
		http_respond(req, 500, "text/plain; charset=utf-8", "500\n", 4, NULL);
		return;
	}
	snprintf(headers, sizeof(headers), "Content-Language: %s\r\n%s", lang->code,
	         extra != NULL ? extra : "");
	http_respond(req, status, HTML, out.data, out.len, headers);
	buf_free(&out);
}

/* The message page's scope: `flag` set, a "go back" link to `back`. */
static json_t *
message_ctx(const struct pages *pg, const struct l10n_lang *lang, int status, const char *flag,
            const char *back)
{
	json_t *ctx = pages_ctx(pg, lang, "/");
	if (ctx != NULL &&
	    (json_object_set_new(ctx, flag, json_true()) != 0 ||
	     json_object_set_new(ctx, "back", json_string(back)) != 0 ||
	     json_object_set_new(ctx, "max_message", json_integer(INBOX_MAX_TEXT)) != 0 ||
	     json_object_set_new(ctx, "error", json_boolean(status >= 400)) != 0)) {
		json_decref(ctx);
		ctx = NULL;
	}
	return ctx;
}

void
pages_message(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
              int status, const char *flag, const char *back, const char *extra)
{
	pages_send(req, pg, lang, status, "message", message_ctx(pg, lang, status, flag, back),
	           extra);
}

/* The message page's flag for a failed form post answered with `status`. */
const char *
pages_status_flag(int status)
{
	switch (status) {
	case 403: return "expired";
	case 404: return "not_found";
	case 413: return "too_large";
	case 429: return "too_many";
	case 503: return "busy";
	case 400: return "broken";
	default: return "failed";
	}
}

/* ---- requests ---- */

/* The language and the rest of "/{lang}/rest"; NULL if no such language. */
static const struct l10n_lang *
split_path(const struct pages *pg, const char *path, const char **rest)
{
	if (path[0] != '/')
		return NULL;
	const char *slash = strchr(path + 1, '/');
	size_t n = slash != NULL ? (size_t)(slash - path - 1) : strlen(path + 1);
	const struct l10n_lang *lang = l10n_find(pg->l10n, path + 1, n);
	*rest = slash != NULL ? slash : "";
	return lang;
}

bool
pages_match(const struct pages *pg, const char *path)
{
	const char *rest;
	if (pg == NULL)
		return false;
	return strcmp(path, "/") == 0 || strcmp(path, "/static/tipline.css") == 0 ||
		split_path(pg, path, &rest) != NULL;
}

/* 1 if a POST comes from one of our own pages, as far as the browser says:
 * Sec-Fetch-Site, when sent, must be same-origin; Origin, when sent and not
 * "null" (our no-referrer policy makes browsers send "null"), must name the
 * Host the request went to. The form token is checked as well. */
bool
pages_same_origin(struct http_request *req)
{
	const char *site = http_request_header(req, "Sec-Fetch-Site");
	const char *origin = http_request_header(req, "Origin");
	const char *host = http_request_header(req, "Host");
	if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return false;
	if (origin == NULL || strcmp(origin, "null") == 0)
		return true;
	const char *sep = strstr(origin, "://");
	if (host == NULL || sep == NULL)
		return false;
	return strcasecmp(sep + 3, host) == 0;
}

/* Check the "token" field of `fields` for form `kind`; 0 or -1. */
int
pages_check_token(const struct pages *pg, const json_t *fields, enum websec_form kind)
{
	const json_t *t = json_object_get(fields, "token");
	if (!json_is_string(t))
		return -1;
	return websec_token_check(pg->sec, kind, json_string_value(t), json_string_length(t),
	                          time(NULL));
}

/* Set `key` in `ctx` to a fresh token for `kind`; 0 or -1. */
int
pages_add_token(const struct pages *pg, json_t *ctx, const char *key, enum websec_form kind)
{
	char tok[WEBSEC_TOKEN_STR];
	if (websec_token_make(pg->sec, kind, pg->app->cfg->web_form_ttl_s, time(NULL), tok) != 0)
		return -1;
	return json_object_set_new(ctx, key, json_string(tok));
}

static void
send_css(struct http_request *req, const struct pages *pg)
{
	http_respond(req, 200, "text/css; charset=utf-8", pg->css, pg->css_len, NULL);
}

static void
send_simple(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
            const char *name, const char *page_path, enum websec_form kind, const char *extra)
{
	json_t *ctx = pages_ctx(pg, lang, page_path);
	if (ctx != NULL && kind != 0 && pages_add_token(pg, ctx, "token", kind) != 0) {
		json_decref(ctx);
		ctx = NULL;
	}
	pages_send(req, pg, lang, 200, name, ctx, extra);
}

/* GET: answer at once. */
static void
route_get(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
          const char *rest)
{
	if (strcmp(rest, "/") == 0)
		send_simple(req, pg, lang, "landing", "/", 0, NULL);
	else if (strcmp(rest, "/report") == 0)
		pages_report_form(req, pg, lang, NULL, NULL, 200);
	else if (strcmp(rest, "/inbox") == 0)
		send_simple(req, pg, lang, "inbox_login", "/inbox", WEBSEC_FORM_INBOX_OPEN, NULL);
	else
		pages_message(req, pg, lang, 404, "missing", "", NULL);
}

/* The clearnet listener without submissions: the landing pages and the CSS
 * as usual; the forms and every post answer a page that says to use Tor
 * Browser (a form there could not be sent, and typed answers would be lost).
 * Return 1 if it answered. */
static int
route_read_only(struct http_request *req, const struct pages *pg, const struct l10n_lang *lang,
                const char *rest, bool get)
{
	if (get && (strcmp(rest, "/report") != 0 && strncmp(rest, "/inbox", 6) != 0))
		return 0;
	pages_message(req, pg, lang, get ? 200 : 403, "onion_only", "", NULL);
	return 1;
}

const struct http_handler *
pages_route_read_only(struct http_request *req, struct app *app)
{
	const struct pages *pg = app->pages;
	const char *path = http_request_path(req), *method = http_request_method(req), *rest = "";
	const struct l10n_lang *lang = split_path(pg, path, &rest);
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (lang != NULL && rest[0] != '\0' && route_read_only(req, pg, lang, rest, get))
		return NULL;
	if (lang == NULL && !get && strcmp(method, "POST") == 0) {
		pages_message(req, pg, l10n_find(pg->l10n, "en", 2), 403, "onion_only", "", NULL);
		return NULL;
	}
	return pages_route(req, app, NULL); /* reads only: no query */
}

const struct http_handler *
pages_route(struct http_request *req, struct app *app, struct db *db)
{
	const struct pages *pg = app->pages;
	const char *path = http_request_path(req), *method = http_request_method(req), *rest = "";
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	const struct l10n_lang *lang = split_path(pg, path, &rest);

	if (strcmp(path, "/static/tipline.css") == 0 || strcmp(path, "/") == 0) {
		if (!get) {
			http_respond(req, 405, NULL, NULL, 0, "Allow: GET, HEAD\r\n");
			return NULL;
		}
		if (path[1] == 's')
			send_css(req, pg);
		else
			send_simple(req, pg, l10n_find(pg->l10n, "en", 2), "landing", "/", 0, NULL);
		return NULL;
	}
	if (rest[0] == '\0') { /* "/fa": the landing page is "/fa/" */
		char loc[64];
		snprintf(loc, sizeof(loc), "Location: /%s/\r\n", lang->code);
		http_respond(req, 308, NULL, NULL, 0, loc);
		return NULL;
	}
	if (get) {
		route_get(req, pg, lang, rest);
		return NULL;
	}
	if (!post) {
		http_respond(req, 405, NULL, NULL, 0, "Allow: GET, HEAD, POST\r\n");
		return NULL;
	}
	if (!pages_same_origin(req)) {
		log_debug("pages: refused a post from another site");
		pages_message(req, pg, lang, 403, "expired", "", NULL);
		return NULL;
	}
	if (strcmp(rest, "/report") == 0)
		return pages_report_post(req, pg, lang);
	if (strncmp(rest, "/inbox", 6) == 0)
		return pages_inbox_post(req, pg, lang, rest + 6, db);
	pages_message(req, pg, lang, 404, "missing", "", NULL);
	return NULL;
}

int
pages_too_large(const struct pages *pg, const char *path, struct buf *out, const char **ctype)
{
	const char *rest;
	const struct l10n_lang *lang = pg != NULL ? split_path(pg, path, &rest) : NULL;
	if (lang == NULL)
		return -1;
	const char *back = strncmp(rest, "/inbox", 6) == 0 ? "inbox" : "report";
	if (pages_render(pg, lang, "message", message_ctx(pg, lang, 413, "too_large", back), out) !=
	    0)
		return -1;
	*ctype = HTML;
	return 0;
}
