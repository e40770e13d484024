/*
 * http_response: the response writer. Every answer gets a status line,
 * Content-Type, Content-Length, Connection and the security headers (plus
 * HSTS and Onion-Location where the listener asks for them); handlers'
 * extra headers are checked for stray CR/LF. Also the answers the
 * connection gives by itself (problem+json, or the listener's 413 page).
 */
#include "http_int.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char security_headers[] =
	"Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self'; "
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
	"Referrer-Policy: no-referrer\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"Cache-Control: no-store\r\n"
	"X-Frame-Options: DENY\r\n"
	"Cross-Origin-Opener-Policy: same-origin\r\n"
	"Cross-Origin-Resource-Policy: same-origin\r\n";

const char *
http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

/* ---- responses ---- */

/* Return 1 if `extra` is a list of "Name: value\r\n" lines without stray CR/LF. */
static int
extra_headers_ok(const char *extra)
{
	const char *p = extra;
	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL || eol == p)
			return 0;
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p)
			return 0;
		for (const char *q = p; q < eol; q++)
			if (*q == '\r' || *q == '\n' || *q == '\0')
				return 0;
		p = eol + 2;
	}
	return 1;
}

static int
build_response(struct evbuffer *out, const struct http_conn *c, int status, const char *ctype,
               const void *body, size_t len, const char *extra, int send_body)
{
	int no_len = status == 204 || status == 304;
	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, http_status_text(status)) < 0)
		return -1;
	if (ctype != NULL && evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype) < 0)
		return -1;
	if (!no_len && evbuffer_add_printf(out, "Content-Length: %zu\r\n", len) < 0)
		return -1;
	if (evbuffer_add_printf(out, "Connection: %s\r\n",
	                        c->close_after ? "close" : "keep-alive") < 0)
		return -1;
	if (evbuffer_add(out, security_headers, sizeof(security_headers) - 1) != 0)
		return -1;
	if (c->l->conf.hsts &&
	    evbuffer_add_printf(out, "Strict-Transport-Security: max-age=63072000\r\n") < 0)
		return -1;
	if (extra != NULL && evbuffer_add(out, extra, strlen(extra)) != 0)
		return -1;
	if (evbuffer_add(out, "\r\n", 2) != 0)
		return -1;
	if (send_body && !no_len && len > 0 && evbuffer_add(out, body, len) != 0)
		return -1;
	return 0;
}

/* Queue a complete answer on the connection and enter WRITING. */
static void
conn_write_response(struct http_conn *c, int status, const char *ctype, const void *body,
                    size_t len, const char *extra, int send_body)
{
	static const char fallback[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
				       "Connection: close\r\n\r\n";
	int ok = 0;
	if (c->l->closed)
		c->close_after = 1;
	if ((ctype != NULL && strpbrk(ctype, "\r\n") != NULL) ||
	    (extra != NULL && !extra_headers_ok(extra))) {
		log_error("http: handler passed a malformed header; answering 500");
		c->close_after = 1;
	} else {
		struct evbuffer *out = evbuffer_new();
		if (out != NULL &&
		    build_response(out, c, status, ctype, body, len, extra, send_body) == 0 &&
		    bufferevent_write_buffer(c->bev, out) == 0)
			ok = 1;
		evbuffer_free(out);
	}
	if (!ok) {
		c->close_after = 1;
		if (bufferevent_write(c->bev, fallback, sizeof(fallback) - 1) != 0)
			log_error("http: cannot queue an answer");
	}
	c->state = CS_WRITING;
	http_conn_disarm(c);
}

int
http_req_body_pending(const struct http_request *req)
{
	if (req->complete)
		return 0;
	if (req->content_length < 0)
		return 1;
	return req->body_read < (uint64_t)req->content_length;
}

/* `extra` (or "") with "Onion-Location: <onion><path>\r\n" added in `out`
 * (the onion's root if the path holds anything but plain URL characters);
 * return out, or `extra` if it does not fit. */
static const char *
with_onion_location(const char *onion, const char *path, const char *extra, char *out,
                    size_t outlen)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789/-._~%";
	if (path == NULL || path[0] != '/' || path[strspn(path, plain)] != '\0' ||
	    strlen(path) > 512)
		path = "/";
	int n = snprintf(out, outlen, "%sOnion-Location: %s%s\r\n", extra != NULL ? extra : "",
	                 onion, path);
	return n > 0 && (size_t)n < outlen ? out : extra;
}

void
http_respond(struct http_request *req, int status, const char *content_type, const void *body,
             size_t len, const char *extra_headers)
{
	char onion_extra[2048];
	if (req->responded) {
		log_error("http: a second answer to one request was ignored");
		return;
	}
	if (req->conn == NULL) {
		/* The connection is gone: this only releases the request. */
		if (req->in_abort)
			req->responded = 1;
		else
			http_req_free(req);
		return;
	}
	struct http_conn *c = req->conn;
	req->responded = 1;
	if (!req->head_done || http_req_body_pending(req))
		c->close_after = 1;
	if (c->l->conf.onion_location != NULL)
		extra_headers = with_onion_location(
			c->l->conf.onion_location, req->head_done ? req->path : NULL, extra_headers,
			onion_extra, sizeof(onion_extra));
	conn_write_response(c, status, content_type, body, len, extra_headers, !req->is_head);
}

static char *
problem_json(int status, const char *detail)
{
	json_t *o = json_pack("{s:s, s:s, s:i}", "type", "about:blank", "title",
	                      http_status_text(status), "status", status);
	if (o == NULL)
		return NULL;
	if (detail != NULL) {
		json_t *d = json_string(detail); /* NULL if not UTF-8: then left out */
		if (d != NULL && json_object_set_new(o, "detail", d) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

void
http_respond_problem(struct http_request *req, int status, const char *detail)
{
	char *s = problem_json(status, detail);
	const char *body = s != NULL ? s : "{\"type\":\"about:blank\"}";
	http_respond(req, status, "application/problem+json", body, strlen(body), NULL);
	free(s);
}

/* The connection answers by itself (limits, malformed input): abort the
 * handler if one is reading, answer with problem+json and close after. */
void
http_conn_fail(struct http_conn *c, int status, const char *detail)
{
	c->close_after = 1;
	if (c->req != NULL && c->req->responded)
		return; /* an answer is already on its way */
	if (status == 413 && c->l->conf.too_large != NULL && c->req != NULL &&
	    c->req->path != NULL) {
		struct buf page;
		const char *ctype = NULL;
		buf_init(&page, 64 * 1024);
		int own = c->l->conf.too_large(c->l->conf.router_arg, c->req->path, &page, &ctype);
		http_conn_drop_request(c);
		if (own == 0 && ctype != NULL)
			conn_write_response(c, status, ctype, page.data, page.len, NULL, 1);
		buf_free(&page);
		if (own == 0 && ctype != NULL)
			return;
	} else {
		http_conn_drop_request(c);
	}
	char *s = problem_json(status, detail);
	const char *body = s != NULL ? s : "{\"type\":\"about:blank\"}";
	conn_write_response(c, status, "application/problem+json", body, strlen(body), NULL, 1);
	free(s);
}
