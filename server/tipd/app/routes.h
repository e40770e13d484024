/*
 * routes: which handler answers which request, per surface. The source
 * surface serves the submission API (and, later, the source pages); the
 * review surface serves the review API. Neither answers the other's routes.
 */
#ifndef TIPD_ROUTES_H
#define TIPD_ROUTES_H

#include "http.h"

struct app;
struct db;

/* What each router of one event loop is given (its listeners' router_arg):
 * the app, and the loop's own database connection (NULL until loops.c has
 * opened it), which the handlers that query use on that loop's thread. */
struct routes_ctx {
	struct app *app;
	struct db *db;
};

/* Router for the source listeners; `arg` is the loop's struct routes_ctx
 * (as for every router and routes_too_large below). */
const struct http_handler *routes_source(struct http_request *req, void *arg);
/* Router for the clearnet TLS source listener when submissions are off:
 * health, the source pages read-only (pages_route_read_only), 403 for
 * the report API. (Onion-Location is added by the listener.) */
const struct http_handler *routes_source_clearnet(struct http_request *req, void *arg);
/* The source listeners' 413 for a body over the limit: the localized page
 * for a page path (http_listener_conf.too_large). */
int routes_too_large(void *arg, const char *path, struct buf *out, const char **ctype);
/* Router for the review listener. */
const struct http_handler *routes_review(struct http_request *req, void *arg);

#endif
