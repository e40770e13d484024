/*
 * pages: the source pages (docs/api.md "Source pages"), server-rendered
 * HTML for Tor Browser at the Safest level: no scripts, no SVG, no web
 * fonts, one small CSS file. Every word comes from the templates and the
 * catalogues under server/web/, none from here.
 *
 *   GET  /static/tipline.css
 *   GET  /                        the landing page in English
 *   GET  /{lang}/                 landing: what this is, safety, help contacts
 *   GET  /{lang}/report           the report form (questionnaire + files)
 *   POST /{lang}/report           multipart: sealed and spooled by submit.c;
 *                                 the receipt page, or the form again
 *   GET  /{lang}/inbox            enter the receipt
 *   POST /{lang}/inbox            the replies (and the inbox cookie)
 *   POST /{lang}/inbox/messages   more text and files to the team (cookie)
 *   POST /{lang}/inbox/forget     forget the receipt (cookie)
 *   POST /{lang}/inbox/close      clear the cookie
 *
 * Every POST carries a sealed form token (websec.h) and, when the browser
 * sends Origin or Sec-Fetch-Site, must come from this site; both are
 * checked before any work. No page varies by anything about the visitor.
 */
#ifndef TIPD_PAGES_H
#define TIPD_PAGES_H

#include <stdbool.h>
#include <stddef.h>

struct app;
struct db;
struct pages;
struct http_request;
struct http_handler;
struct buf;

/* Largest page tipd renders (bytes); pages are meant to stay under 30 KB. */
#define PAGES_MAX_HTML (256 * 1024)

/* Load templates, CSS, catalogues and the web key named by app->cfg's
 * [web] section. Return the pages, or NULL with the reason in `err`. */
struct pages *pages_new(struct app *app, char *err, size_t errlen);
void pages_free(struct pages *pg);

/* 1 if `path` is one of the pages' paths (then pages_route answers it). */
bool pages_match(const struct pages *pg, const char *path);
/* Route a page request: return the handler, or answer and return NULL.
 * `db` is the database connection of the request's event loop (the inbox
 * pages query through it). */
const struct http_handler *pages_route(struct http_request *req, struct app *app, struct db *db);
/* The same for the clearnet TLS listener without submissions: the landing
 * pages and the CSS, and for the forms (and any post) a page saying that
 * reports and the inbox work only in Tor Browser. */
const struct http_handler *pages_route_read_only(struct http_request *req, struct app *app);
/* The localized "too large" page for a request to `path` over the body
 * limit: append it to `out`, set *ctype and return 0; or return -1 (not a
 * page path, or `pg` is NULL). */
int pages_too_large(const struct pages *pg, const char *path, struct buf *out, const char **ctype);

#endif
