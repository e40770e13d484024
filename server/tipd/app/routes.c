#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "inbox.h"
#include "pages.h"
#include "review.h"
#include "submit.h"

static void
healthz_complete(struct http_request *req)
{
	static const char body[] = "{\"status\":\"ok\"}";
	http_respond(req, 200, "application/json", body, sizeof(body) - 1, NULL);
}

static const struct http_handler healthz_handler = { NULL, healthz_complete, NULL };

/* The page for "/" when the source pages are not loaded (no [web]). The
 * clearnet listener adds Onion-Location to every answer itself. */
static void
landing_complete(struct http_request *req)
{
	static const char body[] =
		"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>Tipline</title></head><body><h1>Tipline</h1>"
		"<p>To send a report safely, open this site in Tor Browser.</p></body></html>";
	http_respond(req, 200, "text/html; charset=utf-8", body, sizeof(body) - 1, NULL);
}

static const struct http_handler landing_handler = { NULL, landing_complete, NULL };

static int
is_get(const struct http_request *req)
{
	const char *m = http_request_method(req);
	return strcmp(m, "GET") == 0;
}

/* Answer 405 naming the allowed method; return NULL for the router. */
static const struct http_handler *
method_not_allowed(struct http_request *req, const char *allow)
{
	char extra[64];
	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	static const char body[] = "{\"type\":\"about:blank\",\"title\":\"Method Not Allowed\","
	                           "\"status\":405,\"detail\":\"method not allowed here\"}";
	http_respond(req, 405, "application/problem+json", body, sizeof(body) - 1, extra);
	return NULL;
}

static const struct http_handler *
route_common(struct http_request *req, const char *path)
{
	if (strcmp(path, "/healthz") == 0)
		return is_get(req) ? &healthz_handler : method_not_allowed(req, "GET");
	return NULL;
}

static const struct http_handler *
not_found(struct http_request *req)
{
	http_respond_problem(req, 404, "no such resource");
	return NULL;
}

const struct http_handler *
routes_source(struct http_request *req, void *arg)
{
	const struct routes_ctx *rc = arg;
	struct app *app = rc->app;
	const char *path = http_request_path(req);
	const struct http_handler *h = route_common(req, path);
	http_request_set_data(req, app);
	if (h != NULL)
		return h;
	if (strcmp(path, "/api/v1/reports") == 0) {
		if (strcmp(http_request_method(req), "POST") != 0)
			return method_not_allowed(req, "POST");
		return submit_route(req, app);
	}
	if (strcmp(path, "/api/v1/inbox") == 0 || strcmp(path, "/api/v1/inbox/messages") == 0 ||
	    strcmp(path, "/api/v1/inbox/forget") == 0) {
		if (strcmp(http_request_method(req), "POST") != 0)
			return method_not_allowed(req, "POST");
		return inbox_route(req, app, rc->db, path);
	}
	if (pages_match(app->pages, path))
		return pages_route(req, app, rc->db);
	if (strcmp(path, "/") == 0 && is_get(req))
		return &landing_handler;
	return not_found(req);
}

const struct http_handler *
routes_source_clearnet(struct http_request *req, void *arg)
{
	struct app *app = ((const struct routes_ctx *)arg)->app;
	const char *path = http_request_path(req);
	const struct http_handler *h = route_common(req, path);
	http_request_set_data(req, app);
	if (h != NULL)
		return h;
	if (pages_match(app->pages, path))
		return pages_route_read_only(req, app);
	if (strcmp(path, "/") == 0 && is_get(req))
		return &landing_handler;
	if (strcmp(path, "/api/v1/reports") == 0) {
		http_respond_problem(req, 403, "reports are accepted through the onion service only");
		return NULL;
	}
	return not_found(req);
}

const struct http_handler *
routes_review(struct http_request *req, void *arg)
{
	const struct routes_ctx *rc = arg;
	const char *path = http_request_path(req);
	const struct http_handler *h = route_common(req, path);
	http_request_set_data(req, rc->app);
	if (h != NULL)
		return h;
	if (strncmp(path, "/api/v1/", 8) == 0)
		return review_route(req, rc->app, rc->db);
	return not_found(req);
}

int
routes_too_large(void *arg, const char *path, struct buf *out, const char **ctype)
{
	const struct routes_ctx *rc = arg;
	return pages_too_large(rc->app->pages, path, out, ctype);
}
