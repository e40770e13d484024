/*
 * http_parse: llhttp's callbacks for a connection's requests (strict mode,
 * one request at a time: paused after each message), the checks a request
 * head must pass before it is routed, and the request accessors of http.h.
 * Header callbacks count every byte against the head limits.
 */
#include "http_int.h"

#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* ---- llhttp callbacks ---- */

/* Count `n` more bytes of the head; return 0, or HPE_USER after answering
 * 431 once the head is over max_header_bytes. */
static int
head_account(struct http_conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > c->l->conf.limits.max_header_bytes) {
		http_conn_fail(c, 431, "The request head is too large.");
		return HPE_USER;
	}
	return 0;
}

/* Keep `n` bytes of the head in `b`; return 0, or HPE_USER after answering
 * 431 if they do not fit. */
static int
head_keep(struct http_conn *c, struct buf *b, const void *at, size_t n)
{
	if (buf_add(b, at, n) != 0) {
		http_conn_fail(c, 431, "The request head is too large.");
		return HPE_USER;
	}
	return 0;
}

static int
cb_message_begin(llhttp_t *p)
{
	struct http_conn *c = p->data;
	if (c->req != NULL)
		return HPE_INTERNAL; /* cannot happen: paused after each message */
	c->req = http_req_new(c);
	if (c->req == NULL) {
		http_conn_fail(c, 503, NULL);
		return HPE_USER;
	}
	c->head_bytes = 0;
	c->head_raw = 0;
	if (c->nreqs > 0) /* the first head's deadline runs from accept */
		http_conn_arm(c, c->l->conf.limits.head_ms);
	c->state = CS_HEAD;
	return 0;
}

static int
cb_url(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	if (head_account(c, n) != 0)
		return HPE_USER;
	return head_keep(c, &c->req->url, at, n);
}

/* Header callbacks also see a chunked body's trailer fields: those count
 * against the head limits but are not kept, so that a trailer can never
 * pass for a request header. */
static int
cb_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	if (head_account(c, n) != 0)
		return HPE_USER;
	if (c->req->head_done)
		return 0;
	return head_keep(c, &c->req->hdrs, at, n);
}

static int
cb_header_field_complete(llhttp_t *p)
{
	struct http_conn *c = p->data;
	if (++c->req->nhdrs > c->l->conf.limits.max_headers) {
		http_conn_fail(c, 431, "The request has too many header fields.");
		return HPE_USER;
	}
	if (head_account(c, 4) != 0) /* ": " and CRLF */
		return HPE_USER;
	if (c->req->head_done)
		return 0;
	return head_keep(c, &c->req->hdrs, "", 1);
}

static int
cb_header_value(llhttp_t *p, const char *at, size_t n)
{
	return cb_header_field(p, at, n);
}

static int
cb_header_value_complete(llhttp_t *p)
{
	struct http_conn *c = p->data;
	if (c->req->head_done)
		return 0;
	return head_keep(c, &c->req->hdrs, "", 1);
}

/* Split the target into path and query; return 0, or -1 if it is not origin-form. */
static int
req_split_target(struct http_request *req)
{
	if (buf_add(&req->url, "", 1) != 0)
		return -1;
	char *t = (char *)req->url.data;
	if (t[0] != '/' || strchr(t, '#') != NULL) /* a fragment, before or after '?' */
		return -1;
	char *q = strchr(t, '?');
	if (q != NULL) {
		*q = '\0';
		req->query = q + 1;
	}
	req->path = t;
	return 0;
}

/* Return 1 if `v` is a valid Host field value (RFC 9112 §3.2, RFC 3986
 * uri-host [":" port]; empty is allowed), else 0. Characters only: the
 * name is never used to route, so its form need not be checked further. */
static int
host_value_ok(const char *v)
{
	static const char ok[] = "-._~!$&'()*+,;=:[]%";
	for (; *v != '\0'; v++)
		if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		      (*v >= '0' && *v <= '9') || strchr(ok, *v) != NULL))
			return 0;
	return 1;
}

/* Return 1 if the head has the Host field RFC 9112 §3.2 asks for: exactly
 * one (at most one in HTTP/1.0), with a valid value; else 0. */
static int
host_ok(const struct http_request *req, int minor)
{
	const char *p = (const char *)req->hdrs.data, *end = p != NULL ? p + req->hdrs.len : NULL;
	int n = 0;
	while (p != NULL && p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		const char *vend =
			nul != NULL ? memchr(nul + 1, '\0', (size_t)(end - nul - 1)) : NULL;
		if (vend == NULL)
			break;
		if (strcasecmp(p, "Host") == 0 && (++n > 1 || !host_value_ok(nul + 1)))
			return 0;
		p = vend + 1;
	}
	return n == 1 || (n == 0 && minor == 0);
}

/* Check the head against the limits; return 0, or an HPE code after answering. */
static int
head_checks(struct http_conn *c, llhttp_t *p)
{
	struct http_request *req = c->req;
	const struct http_limits *lim = &c->l->conf.limits;
	if (req_split_target(req) != 0 || llhttp_get_method(p) == HTTP_CONNECT) {
		http_conn_fail(c, 400, "The request target is not valid.");
		return HPE_USER;
	}
	if (llhttp_get_http_major(p) != 1) {
		http_conn_fail(c, 505, NULL);
		return HPE_USER;
	}
	if (!host_ok(req, llhttp_get_http_minor(p))) {
		http_conn_fail(c, 400,
		               "An HTTP/1.1 request needs exactly one valid Host header field.");
		return HPE_USER;
	}
	const char *expect = http_request_header(req, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") != 0) {
		http_conn_fail(c, 417, "Only \"Expect: 100-continue\" is supported.");
		return HPE_USER;
	}
	if (req->content_length > 0 && (uint64_t)req->content_length > lim->max_body_bytes) {
		http_conn_fail(c, 413, "The request body is too large.");
		return HPE_USER;
	}
	return 0;
}

static int
cb_headers_complete(llhttp_t *p)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;
	req->head_done = 1;
	req->method = llhttp_method_name((llhttp_method_t)llhttp_get_method(p));
	req->is_head = llhttp_get_method(p) == HTTP_HEAD;
	if (p->flags & F_CHUNKED)
		req->content_length = -1;
	else if (p->flags & F_CONTENT_LENGTH)
		req->content_length =
			p->content_length > INT64_MAX ? INT64_MAX : (int64_t)p->content_length;
	if (!llhttp_should_keep_alive(p) || llhttp_get_http_minor(p) == 0 || p->upgrade)
		c->close_after = 1;
	int rc = head_checks(c, p);
	if (rc != 0)
		return rc;
	http_conn_disarm(c);
	const struct http_handler *h = c->l->conf.router(req, c->l->conf.router_arg);
	if (req->responded)
		return http_req_body_pending(req) ? HPE_PAUSED : 0;
	if (h == NULL) {
		log_error("http: the router returned no handler and no answer");
		http_respond_problem(req, 500, NULL);
		return http_req_body_pending(req) ? HPE_PAUSED : 0;
	}
	req->h = h;
	c->state = CS_BODY;
	if (http_req_body_pending(req)) {
		const char *expect = http_request_header(req, "Expect");
		if (expect != NULL && llhttp_get_http_minor(p) >= 1 &&
		    bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
			log_error("http: cannot queue 100 Continue");
		http_body_start(c);
	}
	return 0;
}

static int
cb_body(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;
	if (req == NULL || req->responded)
		return HPE_PAUSED;
	if (n > 0)
		c->bc.last = http_mono_ms(); /* progress for the idle deadline */
	req->body_read += n;
	if (req->body_read > c->l->conf.limits.max_body_bytes) {
		http_conn_fail(c, 413, "The request body is too large.");
		return HPE_USER;
	}
	if (req->h->on_body == NULL)
		return 0;
	int r = req->h->on_body(req, (const uint8_t *)at, n);
	if (req->responded)
		return HPE_PAUSED;
	if (r != 0) {
		log_error("http: a handler refused a body without answering");
		http_respond_problem(req, 500, NULL);
		return HPE_PAUSED;
	}
	return 0;
}

static int
cb_chunk_header(llhttp_t *p)
{
	struct http_conn *c = p->data;
	if (c->req != NULL)
		c->req->nchunks++;
	return 0;
}

static int
cb_message_complete(llhttp_t *p)
{
	struct http_conn *c = p->data;
	struct http_request *req = c->req;
	if (req == NULL)
		return HPE_PAUSED;
	req->complete = 1;
	if (!req->responded) {
		http_conn_disarm(c);
		c->state = CS_HANDLER;
		req->h->on_complete(req);
	}
	return HPE_PAUSED; /* one request at a time; resumed after the answer */
}

const llhttp_settings_t http_parser_settings = {
	.on_message_begin = cb_message_begin,
	.on_url = cb_url,
	.on_header_field = cb_header_field,
	.on_header_field_complete = cb_header_field_complete,
	.on_header_value = cb_header_value,
	.on_header_value_complete = cb_header_value_complete,
	.on_headers_complete = cb_headers_complete,
	.on_body = cb_body,
	.on_chunk_header = cb_chunk_header,
	.on_message_complete = cb_message_complete,
};

/* ---- request accessors ---- */

const char *
http_request_method(const struct http_request *req)
{
	return req->method != NULL ? req->method : "";
}

const char *
http_request_path(const struct http_request *req)
{
	return req->path;
}

const char *
http_request_query(const struct http_request *req)
{
	return req->query;
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	if (req->hdrs.data == NULL)
		return NULL;
	const char *p = (const char *)req->hdrs.data;
	const char *end = p + req->hdrs.len;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL || nul + 1 >= end)
			return NULL;
		const char *val = nul + 1;
		const char *vend = memchr(val, '\0', (size_t)(end - val));
		if (vend == NULL)
			return NULL;
		if (strcasecmp(p, name) == 0)
			return val;
		p = vend + 1;
	}
	return NULL;
}

int64_t
http_request_content_length(const struct http_request *req)
{
	return req->content_length;
}

enum http_surface
http_request_surface(const struct http_request *req)
{
	return req->surface;
}

struct event_base *
http_request_base(const struct http_request *req)
{
	return req->base;
}

int
http_request_circuit_id(const struct http_request *req, uint32_t *out)
{
	if (!req->has_circuit)
		return -1;
	*out = req->circuit_id;
	return 0;
}

void
http_request_set_data(struct http_request *req, void *data)
{
	req->data = data;
}

void *
http_request_data(const struct http_request *req)
{
	return req->data;
}
