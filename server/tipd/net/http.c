/*
 * http: HTTP/1.1 connections on libevent bufferevents, parsed by llhttp
 * (see http.h for the contract).
 *
 * A connection moves through these states:
 *   PROXY     reading the PROXY v1 line straight from the socket (no bufferevent yet)
 *   HANDSHAKE TLS handshake in progress
 *   IDLE      between requests (first request: head deadline from accept)
 *   HEAD      request head arriving (head deadline)
 *   BODY      body arriving, fed to the handler (body idle, minimum rate and
 *             total deadlines, all on the connection timer: see body_check)
 *   HANDLER   message complete, the handler owes the answer (no deadline)
 *   WRITING   answer queued, waiting for it to drain (bufferevent write timeout)
 *   LINGER    answer sent (plain TCP: write side shut), discarding input for
 *             a bounded time before closing, so that the client reads the
 *             answer instead of a reset (over TLS too: no close_notify until
 *             the end, since a peer still sending treats it as an error)
 * llhttp is paused after every message and resumed when the answer has been
 * written, so pipelined requests wait in the input buffer, in order.
 * A read-side EOF in HANDLER or WRITING (the client half-closed after a
 * complete request) sets peer_eof: the answer is still written, buffered
 * pipelined requests are served, and the connection closes when the input
 * runs out (aborting a request left incomplete).
 *
 * Ownership: a connection owns its current request. When the connection goes
 * away first, conn_drop_request() calls on_abort and either frees the request
 * or, if the handler owes the answer, detaches it (req->conn = NULL) so that
 * the handler's later http_respond() frees it. Nothing is freed inside llhttp
 * callbacks except through those two paths.
 *
 * Several event loops share an address through SO_REUSEPORT (conf.reuseport):
 * a listener belongs to one event_base, and tipd creates one per loop.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>
#include <limits.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "proxy.h"
#include "tls.h"
#include "util.h"

/* Lingering close after an early answer (nginx's lingering_timeout and
 * lingering_time): input is read and discarded while it keeps coming, at
 * most LINGER_MS apart and for LINGER_TOTAL_MS in all, so that a browser
 * still uploading a body over the limit reads the answer, not a reset. */
#define LINGER_MS 5000
#define LINGER_TOTAL_MS 30000
#define ACCEPT_RETRY_MS 500
#define LISTEN_BACKLOG 511
#define RATE_SLOTS 4              /* ticks per rate window */
#define RATE_SAMPLES (RATE_SLOTS + 1)
#define FRAMING_PER_CHUNK 64      /* chunk-size line and CRLFs a chunk may cost */
#define FRAMING_SLACK 1024

static const char security_headers[] =
	"Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self'; "
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
	"Referrer-Policy: no-referrer\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"Cache-Control: no-store\r\n"
	"X-Frame-Options: DENY\r\n"
	"Cross-Origin-Opener-Policy: same-origin\r\n"
	"Cross-Origin-Resource-Policy: same-origin\r\n";

enum conn_state { CS_PROXY, CS_HANDSHAKE, CS_IDLE, CS_HEAD, CS_BODY, CS_HANDLER, CS_WRITING, CS_LINGER };

struct http_conn;

struct http_request {
	struct http_conn *conn; /* NULL once detached from a dead connection */
	struct event_base *base;
	enum http_surface surface;
	const struct http_handler *h;
	void *data;
	struct buf url;  /* the target; after the head: path NUL query */
	struct buf hdrs; /* name NUL value NUL ... */
	unsigned nhdrs;
	const char *method;
	const char *path;
	const char *query;
	int64_t content_length; /* -1 chunked */
	uint64_t body_read;
	uint64_t nchunks;
	int has_circuit;
	uint32_t circuit_id;
	unsigned head_done : 1, complete : 1, responded : 1, in_abort : 1, is_head : 1;
};

/* Progress of the body being read (BODY state); times in monotonic ms. */
struct body_clock {
	uint64_t start;   /* end of the head */
	uint64_t last;    /* last body byte (or start) */
	uint64_t tick;    /* next rate sample */
	uint64_t t[RATE_SAMPLES], bytes[RATE_SAMPLES];
	unsigned head, n; /* ring of samples: oldest at head */
	uint64_t framing; /* raw bytes read in BODY that were not body bytes */
};

struct http_conn {
	struct http_listener *l;
	struct http_conn *prev, *next;
	int fd; /* owned here until the bufferevent takes it */
	struct event *proxy_ev;
	char proxy_buf[PROXY_V1_MAX];
	size_t proxy_len;
	struct bufferevent *bev;
	struct event *timer;
	llhttp_t parser;
	enum conn_state state;
	struct http_request *req;
	size_t head_bytes; /* request line and header contents */
	size_t head_raw;   /* raw bytes consumed while the head was incomplete */
	uint64_t linger_until;   /* mono_ms() when lingering ends at the latest */
	unsigned nreqs;
	int close_after;
	int peer_eof; /* the client shut its sending side after a complete request */
	struct body_clock bc;
	int has_circuit;
	uint32_t circuit_id;
};

struct http_listener {
	struct event_base *base;
	struct evconnlistener *evl;
	struct event *retry_ev;
	struct http_listener_conf conf;
	char *unix_path;
	int port;
	unsigned nconns;
	struct http_conn *conns;
	int closed;
};

static atomic_uint total_conns;
static atomic_uint max_total_conns;

static void conn_free(struct http_conn *c);
static int conn_process_input(struct http_conn *c);

void
http_set_max_connections(unsigned max)
{
	atomic_store(&max_total_conns, max);
}

void
http_limits_default(struct http_limits *l)
{
	l->max_header_bytes = 16 * 1024;
	l->max_headers = 64;
	l->max_body_bytes = 32 * 1024 * 1024;
	l->max_connections = 1024;
	l->handshake_ms = 15000;
	l->head_ms = 30000;
	l->body_idle_ms = 30000;
	l->keepalive_ms = 30000;
	l->min_body_rate = 1024;
	l->body_total_ms = 15 * 60 * 1000;
	l->body_rate_window_ms = 10000;
	l->body_rate_grace_ms = 10000;
}

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

/* ---- timers ---- */

static void
conn_arm(struct http_conn *c, unsigned ms)
{
	if (ms == 0) {
		evtimer_del(c->timer);
		return;
	}
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	if (evtimer_add(c->timer, &tv) != 0)
		log_error("http: cannot arm a connection deadline");
}

static void
conn_disarm(struct http_conn *c)
{
	evtimer_del(c->timer);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Arm the connection timer for the absolute time `at` (at least 1 ms ahead). */
static void
conn_arm_at(struct http_conn *c, uint64_t at, uint64_t now)
{
	uint64_t ms = at > now ? at - now : 1;
	conn_arm(c, ms > UINT_MAX ? UINT_MAX : (unsigned)ms);
}

/* Arm the timer for the nearest body deadline: idle, next rate sample, total. */
static void
body_arm(struct http_conn *c, uint64_t now)
{
	const struct http_limits *lim = &c->l->conf.limits;
	uint64_t next = c->bc.last + lim->body_idle_ms;
	if (lim->body_total_ms > 0 && c->bc.start + lim->body_total_ms < next)
		next = c->bc.start + lim->body_total_ms;
	if (lim->min_body_rate > 0 && c->bc.tick < next)
		next = c->bc.tick;
	conn_arm_at(c, next, now);
}

/* Start the body deadlines (the head is complete and a body is due). */
static void
body_start(struct http_conn *c)
{
	const struct http_limits *lim = &c->l->conf.limits;
	uint64_t now = mono_ms();
	memset(&c->bc, 0, sizeof(c->bc));
	c->bc.start = c->bc.last = now;
	c->bc.t[0] = now;
	c->bc.n = 1;
	unsigned step = lim->body_rate_window_ms / RATE_SLOTS;
	c->bc.tick = now + (step > 0 ? step : 1);
	body_arm(c, now);
}

/* Take a rate sample now; return -1 if the body is arriving too slowly. */
static int
body_rate_sample(struct http_conn *c, uint64_t now, uint64_t body_read)
{
	const struct http_limits *lim = &c->l->conf.limits;
	struct body_clock *bc = &c->bc;
	unsigned step = lim->body_rate_window_ms / RATE_SLOTS;
	bc->tick = now + (step > 0 ? step : 1);
	if (bc->n < RATE_SAMPLES) {
		unsigned i = (bc->head + bc->n) % RATE_SAMPLES;
		bc->t[i] = now;
		bc->bytes[i] = body_read;
		bc->n++;
	} else {
		bc->t[bc->head] = now;
		bc->bytes[bc->head] = body_read;
		bc->head = (bc->head + 1) % RATE_SAMPLES;
	}
	if (bc->n < RATE_SAMPLES || now - bc->start < lim->body_rate_grace_ms)
		return 0;
	/* The oldest sample is one window (RATE_SLOTS ticks) ago. */
	uint64_t dt = now - bc->t[bc->head];
	uint64_t got = body_read - bc->bytes[bc->head];
	if (dt > 0 && got * 1000 < (uint64_t)lim->min_body_rate * dt)
		return -1;
	return 0;
}

/* The timer fired while reading a body: return 0 after re-arming it if
 * every body deadline still holds, or -1 if one has passed. */
static int
body_check(struct http_conn *c)
{
	const struct http_limits *lim = &c->l->conf.limits;
	uint64_t now = mono_ms();
	if (now - c->bc.last >= lim->body_idle_ms) {
		log_debug("http: request body stalled");
		return -1;
	}
	if (lim->body_total_ms > 0 && now - c->bc.start >= lim->body_total_ms) {
		log_debug("http: request body took too long");
		return -1;
	}
	if (lim->min_body_rate > 0 && now >= c->bc.tick && body_rate_sample(c, now, c->req->body_read) != 0) {
		log_debug("http: request body below the minimum rate");
		return -1;
	}
	body_arm(c, now);
	return 0;
}

/* ---- requests ---- */

static struct http_request *
req_new(struct http_conn *c)
{
	struct http_request *req = calloc(1, sizeof(*req));
	if (req == NULL)
		return NULL;
	const struct http_limits *lim = &c->l->conf.limits;
	req->conn = c;
	req->base = c->l->base;
	req->surface = c->l->conf.surface;
	buf_init(&req->url, lim->max_header_bytes + 1);
	buf_init(&req->hdrs, lim->max_header_bytes + 2 * (size_t)lim->max_headers + 2);
	req->has_circuit = c->has_circuit;
	req->circuit_id = c->circuit_id;
	req->query = "";
	req->path = "";
	return req;
}

static void
req_free(struct http_request *req)
{
	if (req == NULL)
		return;
	buf_free(&req->url);
	buf_free(&req->hdrs);
	req->circuit_id = 0;
	free(req);
}

/* Take the request away from its connection: abort the handler if it has
 * not answered, then free the request unless the handler owes the answer. */
static void
conn_drop_request(struct http_conn *c)
{
	struct http_request *req = c->req;
	if (req == NULL)
		return;
	c->req = NULL;
	req->conn = NULL;
	if (req->h != NULL && !req->responded) {
		int owes = req->complete;
		req->in_abort = 1;
		if (req->h->on_abort != NULL)
			req->h->on_abort(req);
		req->in_abort = 0;
		if (owes && !req->responded)
			return; /* the handler's http_respond() frees it */
	}
	req_free(req);
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
	if (evbuffer_add_printf(out, "Connection: %s\r\n", c->close_after ? "close" : "keep-alive") < 0)
		return -1;
	if (evbuffer_add(out, security_headers, sizeof(security_headers) - 1) != 0)
		return -1;
	if (c->l->conf.hsts && evbuffer_add_printf(out, "Strict-Transport-Security: max-age=63072000\r\n") < 0)
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
conn_write_response(struct http_conn *c, int status, const char *ctype, const void *body, size_t len,
                    const char *extra, int send_body)
{
	static const char fallback[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
	                               "Connection: close\r\n\r\n";
	int ok = 0;
	if (c->l->closed)
		c->close_after = 1;
	if ((ctype != NULL && strpbrk(ctype, "\r\n") != NULL) || (extra != NULL && !extra_headers_ok(extra))) {
		log_error("http: handler passed a malformed header; answering 500");
		c->close_after = 1;
	} else {
		struct evbuffer *out = evbuffer_new();
		if (out != NULL && build_response(out, c, status, ctype, body, len, extra, send_body) == 0 &&
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
	conn_disarm(c);
}

static int
req_body_pending(const struct http_request *req)
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
http_respond(struct http_request *req, int status, const char *content_type, const void *body, size_t len,
             const char *extra_headers)
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
			req_free(req);
		return;
	}
	struct http_conn *c = req->conn;
	req->responded = 1;
	if (!req->head_done || req_body_pending(req))
		c->close_after = 1;
	if (c->l->conf.onion_location != NULL)
		extra_headers = with_onion_location(c->l->conf.onion_location,
		                                    req->head_done ? req->path : NULL, extra_headers,
		                                    onion_extra, sizeof(onion_extra));
	conn_write_response(c, status, content_type, body, len, extra_headers, !req->is_head);
}

static char *
problem_json(int status, const char *detail)
{
	json_t *o = json_pack("{s:s, s:s, s:i}", "type", "about:blank", "title", http_status_text(status),
	                      "status", status);
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
static void
conn_fail(struct http_conn *c, int status, const char *detail)
{
	c->close_after = 1;
	if (c->req != NULL && c->req->responded)
		return; /* an answer is already on its way */
	if (status == 413 && c->l->conf.too_large != NULL && c->req != NULL && c->req->path != NULL) {
		struct buf page;
		const char *ctype = NULL;
		buf_init(&page, 64 * 1024);
		int own = c->l->conf.too_large(c->l->conf.router_arg, c->req->path, &page, &ctype);
		conn_drop_request(c);
		if (own == 0 && ctype != NULL)
			conn_write_response(c, status, ctype, page.data, page.len, NULL, 1);
		buf_free(&page);
		if (own == 0 && ctype != NULL)
			return;
	} else {
		conn_drop_request(c);
	}
	char *s = problem_json(status, detail);
	const char *body = s != NULL ? s : "{\"type\":\"about:blank\"}";
	conn_write_response(c, status, "application/problem+json", body, strlen(body), NULL, 1);
	free(s);
}

/* ---- llhttp callbacks ---- */

static int
head_account(struct http_conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > c->l->conf.limits.max_header_bytes) {
		conn_fail(c, 431, "The request head is too large.");
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
	c->req = req_new(c);
	if (c->req == NULL) {
		conn_fail(c, 503, NULL);
		return HPE_USER;
	}
	c->head_bytes = 0;
	c->head_raw = 0;
	if (c->nreqs > 0) /* the first head's deadline runs from accept */
		conn_arm(c, c->l->conf.limits.head_ms);
	c->state = CS_HEAD;
	return 0;
}

static int
cb_url(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	if (head_account(c, n) != 0)
		return HPE_USER;
	if (buf_add(&c->req->url, at, n) != 0) {
		conn_fail(c, 431, "The request head is too large.");
		return HPE_USER;
	}
	return 0;
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
	if (buf_add(&c->req->hdrs, at, n) != 0) {
		conn_fail(c, 431, "The request head is too large.");
		return HPE_USER;
	}
	return 0;
}

static int
cb_header_field_complete(llhttp_t *p)
{
	struct http_conn *c = p->data;
	if (++c->req->nhdrs > c->l->conf.limits.max_headers) {
		conn_fail(c, 431, "The request has too many header fields.");
		return HPE_USER;
	}
	if (head_account(c, 4) != 0) /* ": " and CRLF */
		return HPE_USER;
	if (c->req->head_done)
		return 0;
	if (buf_add(&c->req->hdrs, "", 1) != 0) {
		conn_fail(c, 431, "The request head is too large.");
		return HPE_USER;
	}
	return 0;
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
	if (buf_add(&c->req->hdrs, "", 1) != 0) {
		conn_fail(c, 431, "The request head is too large.");
		return HPE_USER;
	}
	return 0;
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
		const char *vend = nul != NULL ? memchr(nul + 1, '\0', (size_t)(end - nul - 1)) : NULL;
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
		conn_fail(c, 400, "The request target is not valid.");
		return HPE_USER;
	}
	if (llhttp_get_http_major(p) != 1) {
		conn_fail(c, 505, NULL);
		return HPE_USER;
	}
	if (!host_ok(req, llhttp_get_http_minor(p))) {
		conn_fail(c, 400, "An HTTP/1.1 request needs exactly one valid Host header field.");
		return HPE_USER;
	}
	const char *expect = http_request_header(req, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") != 0) {
		conn_fail(c, 417, "Only \"Expect: 100-continue\" is supported.");
		return HPE_USER;
	}
	if (req->content_length > 0 && (uint64_t)req->content_length > lim->max_body_bytes) {
		conn_fail(c, 413, "The request body is too large.");
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
		req->content_length = p->content_length > INT64_MAX ? INT64_MAX : (int64_t)p->content_length;
	if (!llhttp_should_keep_alive(p) || llhttp_get_http_minor(p) == 0 || p->upgrade)
		c->close_after = 1;
	int rc = head_checks(c, p);
	if (rc != 0)
		return rc;
	conn_disarm(c);
	const struct http_handler *h = c->l->conf.router(req, c->l->conf.router_arg);
	if (req->responded)
		return req_body_pending(req) ? HPE_PAUSED : 0;
	if (h == NULL) {
		log_error("http: the router returned no handler and no answer");
		http_respond_problem(req, 500, NULL);
		return req_body_pending(req) ? HPE_PAUSED : 0;
	}
	req->h = h;
	c->state = CS_BODY;
	if (req_body_pending(req)) {
		const char *expect = http_request_header(req, "Expect");
		if (expect != NULL && llhttp_get_http_minor(p) >= 1 &&
		    bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
			log_error("http: cannot queue 100 Continue");
		body_start(c);
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
		c->bc.last = mono_ms(); /* progress for the idle deadline */
	req->body_read += n;
	if (req->body_read > c->l->conf.limits.max_body_bytes) {
		conn_fail(c, 413, "The request body is too large.");
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
		conn_disarm(c);
		c->state = CS_HANDLER;
		req->h->on_complete(req);
	}
	return HPE_PAUSED; /* one request at a time; resumed after the answer */
}

static const llhttp_settings_t http_settings = {
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

/* ---- connections ---- */

static int
conn_reading(const struct http_conn *c)
{
	return c->state == CS_IDLE || c->state == CS_HEAD || c->state == CS_BODY;
}

/* llhttp stopped with an error: answer 400 (aborting the handler) and close
 * after; return 0, or -1 if the connection should simply be closed. */
static int
conn_protocol_error(struct http_conn *c, llhttp_errno_t e)
{
	log_debug("http: malformed request (%s)", llhttp_errno_name(e));
	if (c->req != NULL && c->req->responded) {
		c->close_after = 1;
		return 0;
	}
	if (c->state == CS_IDLE && c->req == NULL && c->nreqs > 0)
		return -1; /* junk after a request: nothing to answer */
	conn_fail(c, 400, "The request is not valid HTTP/1.1.");
	return 0;
}

/* Count the raw bytes of one llhttp run in BODY that were not body bytes
 * (chunk-size lines with their zeros and extensions, CRLFs, trailers);
 * return 0, or -1 after answering 400 if they outgrow what the chunks
 * received so far can need. Without this cap a client could stream
 * framing forever without ever sending a body byte. */
static int
body_framing_account(struct http_conn *c, size_t used, uint64_t before)
{
	/* Still in BODY: the same request (a new one begins only after a pause). */
	const struct http_request *req = c->req;
	if (req == NULL || c->state != CS_BODY || req->responded)
		return 0;
	uint64_t body = req->body_read - before;
	c->bc.framing += used > body ? used - body : 0;
	uint64_t allow = c->l->conf.limits.max_header_bytes + FRAMING_SLACK + FRAMING_PER_CHUNK * req->nchunks;
	if (c->bc.framing <= allow)
		return 0;
	conn_fail(c, 400, "The chunked framing is too large.");
	return -1;
}

/* Feed buffered input to llhttp while the connection is reading requests;
 * return 0, or -1 if the caller must free the connection. */
static int
conn_process_input(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	const struct http_limits *lim = &c->l->conf.limits;
	while (conn_reading(c) && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		const char *data = v.iov_base;
		int in_body = c->state == CS_BODY;
		uint64_t before = in_body ? c->req->body_read : 0;
		llhttp_errno_t e = llhttp_execute(&c->parser, data, v.iov_len);
		size_t used = v.iov_len;
		if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
			const char *pos = llhttp_get_error_pos(&c->parser);
			if (pos != NULL && pos >= data && pos <= data + v.iov_len)
				used = (size_t)(pos - data);
		}
		if (evbuffer_drain(in, used) != 0)
			return -1;
		if (in_body && body_framing_account(c, used, before) != 0)
			break;
		if (c->state == CS_HEAD) {
			c->head_raw += used;
			if (c->head_raw > 2 * lim->max_header_bytes + 1024) {
				conn_fail(c, 431, "The request head is too large.");
				break;
			}
		}
		if (e == HPE_OK)
			continue;
		if (e == HPE_PAUSED_UPGRADE)
			c->close_after = 1;
		if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE || !conn_reading(c))
			break; /* paused after a message, or a callback answered */
		return conn_protocol_error(c, e);
	}
	return 0;
}

static void
conn_start_linger(struct http_conn *c)
{
	c->state = CS_LINGER;
	c->linger_until = mono_ms() + LINGER_TOTAL_MS;
	if (bufferevent_openssl_get_ssl(c->bev) == NULL) {
		int fd = (int)bufferevent_getfd(c->bev);
		if (fd >= 0)
			(void)shutdown(fd, SHUT_WR);
	}
	struct evbuffer *in = bufferevent_get_input(c->bev);
	(void)evbuffer_drain(in, evbuffer_get_length(in));
	if (bufferevent_enable(c->bev, EV_READ) != 0)
		log_debug("http: cannot read while lingering");
	conn_arm(c, LINGER_MS);
}

/* The answer has drained: release the request and go on (or wind down);
 * return 0, or -1 if the caller must free the connection. */
static int
conn_finish_request(struct http_conn *c)
{
	struct http_request *req = c->req;
	int complete = req != NULL && req->complete;
	c->req = NULL;
	req_free(req);
	if (c->close_after || !complete || c->l->closed) {
		conn_start_linger(c);
		return 0;
	}
	c->nreqs++;
	c->state = CS_IDLE;
	if (llhttp_get_errno(&c->parser) == HPE_PAUSED)
		llhttp_resume(&c->parser);
	conn_arm(c, c->l->conf.limits.keepalive_ms);
	if (conn_process_input(c) != 0)
		return -1;
	if (!c->peer_eof)
		return 0;
	/* The client has stopped sending: serve only what is buffered. */
	if (conn_reading(c)) {
		if (c->req != NULL)
			return -1; /* a request cut short: abort it */
		conn_start_linger(c);
		return 0;
	}
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
		c->close_after = 1; /* this answer is the last */
	return 0;
}

/* The client shut its sending side: return 0 to keep the connection while
 * an answer to a complete request is owed or being written (then close),
 * or -1 to free it now (aborting a request not yet complete). */
static int
conn_peer_eof(struct http_conn *c)
{
	if (c->state != CS_HANDLER && c->state != CS_WRITING)
		return -1;
	c->peer_eof = 1;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
		c->close_after = 1;
	return 0;
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	if (c->state == CS_LINGER) {
		struct evbuffer *in = bufferevent_get_input(bev);
		(void)evbuffer_drain(in, evbuffer_get_length(in));
		uint64_t now = mono_ms();
		if (now >= c->linger_until)
			conn_free(c);
		else
			conn_arm(c, (unsigned)(c->linger_until - now < LINGER_MS ? c->linger_until - now
			                                                         : LINGER_MS));
		return;
	}
	/* HANDLER, WRITING: later requests wait in the buffer (bounded by the
	 * read watermark) so that a lost client is still noticed. */
	if (conn_process_input(c) != 0)
		conn_free(c);
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	if (c->state != CS_WRITING || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return; /* e.g. "100 Continue" has drained, or a stale deferred call */
	if (conn_finish_request(c) != 0)
		conn_free(c);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == CS_HANDSHAKE) {
			c->state = CS_IDLE;
			conn_arm(c, c->l->conf.limits.head_ms);
		}
		return;
	}
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && !(what & BEV_EVENT_ERROR) &&
	    conn_peer_eof(c) == 0)
		return; /* the client stopped sending; finish the answer */
	if (what & BEV_EVENT_ERROR) {
		unsigned long e;
		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			log_debug("http: TLS error %lu", e);
	}
	conn_free(c);
}

static void
conn_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->state == CS_BODY && body_check(c) == 0)
		return;
	conn_free(c);
}

static void
conn_free(struct http_conn *c)
{
	if (c == NULL)
		return;
	conn_drop_request(c);
	struct http_listener *l = c->l;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	l->nconns--;
	atomic_fetch_sub(&total_conns, 1);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->proxy_ev != NULL)
		event_free(c->proxy_ev);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else if (c->fd >= 0)
		close(c->fd);
	c->circuit_id = 0;
	free(c);
}

/* Wrap the socket in a (TLS) bufferevent and start reading requests;
 * return 0, or -1 (the caller frees the connection). */
static int
conn_start(struct http_conn *c)
{
	struct http_listener *l = c->l;
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	if (l->conf.tls != NULL) {
		SSL *ssl = tls_ctx_new_ssl(l->conf.tls);
		if (ssl == NULL)
			return -1;
		c->bev = bufferevent_openssl_socket_new(l->base, c->fd, ssl, BUFFEREVENT_SSL_ACCEPTING, opts);
		if (c->bev == NULL) {
			/* libevent may or may not have freed ssl and fd by now:
			 * leak rather than risk a double free. */
			log_error("http: cannot create a TLS bufferevent");
			c->fd = -1;
			return -1;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->state = CS_HANDSHAKE;
		conn_arm(c, l->conf.limits.handshake_ms);
	} else {
		c->bev = bufferevent_socket_new(l->base, c->fd, opts);
		if (c->bev == NULL) {
			log_error("http: cannot create a bufferevent");
			return -1;
		}
		c->state = CS_IDLE; /* the head deadline runs from accept */
	}
	c->fd = -1;
	size_t hiwat = l->conf.limits.max_header_bytes + 16384;
	struct timeval wtv = {.tv_sec = l->conf.limits.body_idle_ms / 1000,
	                      .tv_usec = (suseconds_t)(l->conf.limits.body_idle_ms % 1000) * 1000};
	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, hiwat);
	if (l->conf.limits.body_idle_ms > 0 && bufferevent_set_timeouts(c->bev, NULL, &wtv) != 0)
		return -1;
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0)
		return -1;
	return 0;
}

static void
conn_proxycb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	char tmp[PROXY_V1_MAX];
	char line[PROXY_V1_MAX];
	struct proxy_info info;
	size_t used = 0;
	(void)what;

	ssize_t n = recv(fd, tmp, sizeof(tmp) - c->proxy_len, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0)
		goto drop;
	memcpy(line, c->proxy_buf, c->proxy_len);
	memcpy(line + c->proxy_len, tmp, (size_t)n);
	enum proxy_result r = proxy_parse_v1(line, c->proxy_len + (size_t)n, &info, &used);
	if (r == PROXY_INVALID)
		goto drop;
	/* Take exactly the bytes of the line (or all, if incomplete) off the socket. */
	size_t take = r == PROXY_OK ? used - c->proxy_len : (size_t)n;
	if (recv(fd, tmp, take, 0) != (ssize_t)take)
		goto drop;
	if (r == PROXY_NEED_MORE) {
		memcpy(c->proxy_buf + c->proxy_len, tmp, take);
		c->proxy_len += take;
		return;
	}
	c->has_circuit = info.has_circuit;
	c->circuit_id = info.circuit_id;
	memset(&info, 0, sizeof(info));
	memset(line, 0, sizeof(line));
	memset(c->proxy_buf, 0, sizeof(c->proxy_buf));
	event_free(c->proxy_ev);
	c->proxy_ev = NULL;
	if (conn_start(c) != 0)
		goto drop;
	return;
drop:
	memset(&info, 0, sizeof(info));
	conn_free(c);
}

/* Take a new socket; return 0, or -1 with fd closed. */
static int
conn_new(struct http_listener *l, int fd)
{
	unsigned cap = atomic_load(&max_total_conns);
	if (l->closed || l->nconns >= l->conf.limits.max_connections ||
	    (cap > 0 && atomic_load(&total_conns) >= cap)) {
		close(fd);
		return -1;
	}
	struct http_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return -1;
	}
	c->l = l;
	c->fd = fd;
	c->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = c;
	l->conns = c;
	l->nconns++;
	atomic_fetch_add(&total_conns, 1);
	llhttp_init(&c->parser, HTTP_REQUEST, &http_settings);
	c->parser.data = c;
	llhttp_set_lenient_headers(&c->parser, 0);
	llhttp_set_lenient_chunked_length(&c->parser, 0);
	llhttp_set_lenient_keep_alive(&c->parser, 0);
	llhttp_set_lenient_transfer_encoding(&c->parser, 0);
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on unix sockets */
	c->timer = evtimer_new(l->base, conn_timeoutcb, c);
	if (c->timer == NULL)
		goto fail;
	conn_arm(c, l->conf.limits.head_ms);
	if (l->conf.proxy_protocol) {
		c->state = CS_PROXY;
		c->proxy_ev = event_new(l->base, fd, EV_READ | EV_PERSIST, conn_proxycb, c);
		if (c->proxy_ev == NULL || event_add(c->proxy_ev, NULL) != 0)
			goto fail;
		return 0;
	}
	if (conn_start(c) != 0)
		goto fail;
	return 0;
fail:
	conn_free(c);
	return -1;
}

/* ---- listeners ---- */

static void
listener_acceptcb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	(void)evl;
	(void)sa; /* the peer's address is never looked at, logged or kept */
	(void)socklen;
	(void)conn_new(arg, (int)fd);
}

static void
listener_retrycb(evutil_socket_t fd, short what, void *arg)
{
	struct http_listener *l = arg;
	(void)fd;
	(void)what;
	if (l->evl != NULL && evconnlistener_enable(l->evl) != 0)
		log_error("http: cannot resume accepting");
}

static void
listener_errorcb(struct evconnlistener *evl, void *arg)
{
	struct http_listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	log_warn("http: accept failed: %s", evutil_socket_error_to_string(err));
	/* Out of descriptors: pause instead of spinning on the ready socket. */
	struct timeval tv = {.tv_sec = 0, .tv_usec = ACCEPT_RETRY_MS * 1000};
	if (evconnlistener_disable(evl) != 0 || evtimer_add(l->retry_ev, &tv) != 0)
		log_error("http: cannot pause accepting");
}

/* Parse "a.b.c.d:port" or "[v6]:port" into `ss`; return 0, or -1. */
static int
parse_inet(const char *bind, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon;
	const char *h = bind;
	size_t hlen;
	uint64_t port;
	if (bind[0] == '[') {
		const char *end = strchr(bind, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		h = bind + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(bind, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - bind);
	}
	if (hlen == 0 || hlen >= sizeof(host) || util_parse_u64(colon + 1, 65535, &port) != 0)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (bind[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (bind[0] == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Remove a stale unix socket at `path`; return 0, or -1 if something else
 * (or a live server) is there. */
static int
unix_remove_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("http: %s exists and is not a socket", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		log_error("http: another server is listening on %s", path);
		return -1;
	}
	return unlink(path) == 0 ? 0 : -1;
}

static int
bind_unix(struct http_listener *l, const char *path)
{
	struct sockaddr_un sun;
	int fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	size_t plen = strlen(path);
	if (plen == 0 || plen >= sizeof(sun.sun_path)) {
		log_error("http: unix socket path too long");
		return -1;
	}
	memcpy(sun.sun_path, path, plen);
	if (unix_remove_stale(path, &sun) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0 || chmod(path, 0660) != 0)
		goto fail;
	l->unix_path = strdup(path);
	if (l->unix_path == NULL)
		goto fail;
	l->evl = evconnlistener_new(l->base, listener_acceptcb, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	                            LISTEN_BACKLOG, fd);
	if (l->evl == NULL)
		goto fail;
	return 0;
fail:
	log_error("http: cannot listen on %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int
http_listen_addr_valid(const char *bind)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (strncmp(bind, "unix:", 5) == 0)
		return bind[5] == '/' && strlen(bind + 5) < sizeof(((struct sockaddr_un *)0)->sun_path);
	return parse_inet(bind, &ss, &len) == 0;
}

static int
bind_inet(struct http_listener *l, const char *bind)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (parse_inet(bind, &ss, &len) != 0) {
		log_error("http: bad listen address \"%s\" (want host:port, [v6]:port or unix:/path)", bind);
		return -1;
	}
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;
	if (l->conf.reuseport)
		flags |= LEV_OPT_REUSEABLE_PORT;
	l->evl = evconnlistener_new_bind(l->base, listener_acceptcb, l, flags, LISTEN_BACKLOG,
	                                 (struct sockaddr *)&ss, (int)len);
	if (l->evl == NULL) {
		log_error("http: cannot listen on %s: %s", bind, strerror(errno));
		return -1;
	}
	struct sockaddr_storage got;
	socklen_t glen = sizeof(got);
	if (getsockname(evconnlistener_get_fd(l->evl), (struct sockaddr *)&got, &glen) != 0)
		return -1;
	if (got.ss_family == AF_INET)
		l->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	else
		l->port = ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
	return 0;
}

/* Return 0 if the limits are usable, or -1 (logged) if a deadline or cap is
 * 0, which would silently mean "none" (or, for the cap, "no connections"). */
static int
limits_check(const struct http_limits *lim)
{
	const char *bad = NULL;
	if (lim->handshake_ms == 0)
		bad = "handshake_ms";
	else if (lim->head_ms == 0)
		bad = "head_ms";
	else if (lim->body_idle_ms == 0)
		bad = "body_idle_ms";
	else if (lim->keepalive_ms == 0)
		bad = "keepalive_ms";
	else if (lim->max_connections == 0)
		bad = "max_connections";
	else if (lim->min_body_rate > 0 && lim->body_rate_window_ms == 0)
		bad = "body_rate_window_ms (with min_body_rate set)";
	if (bad == NULL)
		return 0;
	log_error("http: refusing a listener whose limit %s is 0", bad);
	return -1;
}

struct http_listener *
http_listener_new(struct event_base *base, const struct http_listener_conf *conf)
{
	if (conf->bind == NULL || conf->router == NULL) {
		log_error("http: a listener needs an address and a router");
		return NULL;
	}
	if (limits_check(&conf->limits) != 0)
		return NULL;
	struct http_listener *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	/* A peer that goes away mid-write must cost an EPIPE, not the process
	 * (libevent writes without MSG_NOSIGNAL). */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		goto fail;
	l->base = base;
	l->conf = *conf;
	l->conf.bind = NULL; /* not kept: the caller's string */
	l->retry_ev = evtimer_new(base, listener_retrycb, l);
	if (l->retry_ev == NULL)
		goto fail;
	int rc = strncmp(conf->bind, "unix:", 5) == 0 ? bind_unix(l, conf->bind + 5) : bind_inet(l, conf->bind);
	if (rc != 0)
		goto fail;
	evconnlistener_set_error_cb(l->evl, listener_errorcb);
	return l;
fail:
	http_listener_free(l);
	return NULL;
}

int
http_listener_port(const struct http_listener *l)
{
	return l->port;
}

int
http_listener_adopt(struct http_listener *l, int fd)
{
	if (evutil_make_socket_nonblocking(fd) != 0 || evutil_make_socket_closeonexec(fd) != 0) {
		close(fd);
		return -1;
	}
	return conn_new(l, fd);
}

void
http_listener_close(struct http_listener *l)
{
	if (l->closed)
		return;
	l->closed = 1;
	if (l->evl != NULL) {
		evconnlistener_free(l->evl);
		l->evl = NULL;
	}
	if (l->unix_path != NULL && unlink(l->unix_path) != 0)
		log_warn("http: cannot remove %s: %s", l->unix_path, strerror(errno));
	struct http_conn *next;
	for (struct http_conn *c = l->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == CS_PROXY || c->state == CS_HANDSHAKE || (c->state == CS_IDLE && c->req == NULL))
			conn_free(c);
		else
			c->close_after = 1;
	}
}

unsigned
http_listener_conns(const struct http_listener *l)
{
	return l->nconns;
}

void
http_listener_free(struct http_listener *l)
{
	if (l == NULL)
		return;
	http_listener_close(l);
	while (l->conns != NULL)
		conn_free(l->conns);
	if (l->retry_ev != NULL)
		event_free(l->retry_ev);
	free(l->unix_path);
	free(l);
}

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
