/*
 * http: HTTP/1.1 over libevent bufferevents (plain or OpenSSL), parsed by
 * llhttp in strict mode. Owns connections, deadlines, limits, keep-alive and
 * the response headers every answer carries. Routes live elsewhere: a
 * listener is given a router that picks a handler for each request head.
 *
 * Life of a request:
 *   1. head complete -> router(req) returns a handler (or answers itself);
 *   2. body bytes -> handler->on_body (streaming, never buffered whole here);
 *   3. end of message -> handler->on_complete; the handler answers with
 *      http_respond*() now or later (asynchronously, e.g. after an fsync);
 *   4. if the connection dies, a deadline passes, or the body breaks a limit
 *      or the chunked framing before the handler answered, handler->on_abort
 *      runs (never after an answer), and then:
 *      - if on_complete had not run yet, the request is freed as soon as
 *        on_abort returns: do not touch it or answer it again;
 *      - if on_complete had run (the handler owes the answer), the request
 *        stays valid and the handler must still call http_respond*() exactly
 *        once, now or later; that call only releases the request.
 * While a response is pending, the connection reads no further requests.
 * A client that shuts its sending side (or closes, which looks the same)
 * after a complete request is not aborted: the answer is still written,
 * then requests already received are served and the connection closes.
 * Shutting it before the request is complete aborts as above.
 * All functions here run on the thread of the listener's event_base.
 */
#ifndef TIPD_HTTP_H
#define TIPD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "http_surface.h"

struct event_base;
struct http_request;
struct http_listener;
struct tls_ctx;
struct buf;

struct http_limits {
	size_t max_header_bytes;   /* request line + headers; over it: 431 */
	unsigned max_headers;      /* header count; over it: 431 */
	uint64_t max_body_bytes;   /* over it: 413 (declared or streamed) */
	unsigned max_connections;  /* per listener; over it new ones are closed */
	unsigned handshake_ms;     /* TLS handshake deadline */
	unsigned head_ms;          /* from first byte (or idle end) to complete head */
	unsigned body_idle_ms;     /* longest gap between body bytes (not chunk framing) */
	unsigned keepalive_ms;     /* idle time between requests */
	/* Body progress as a minimum rate (docs/architecture.md §3): once the body has been
	 * arriving for body_rate_grace_ms, and at least one window has passed,
	 * the body bytes received in the last body_rate_window_ms must average
	 * min_body_rate bytes per second. Below it, or past body_total_ms, the
	 * connection is closed and the handler aborted, as for body_idle_ms.
	 * Chunk framing does not count as body bytes, and framing out of all
	 * proportion to the chunks (endless zeros or extensions) gets a 400. */
	unsigned min_body_rate;       /* bytes per second; 0: no minimum */
	unsigned body_total_ms;       /* the whole body, from the end of the head; 0: no cap */
	unsigned body_rate_window_ms; /* the rate's sliding window; > 0 when min_body_rate is */
	unsigned body_rate_grace_ms;  /* no rate check before this much of the body's time */
};

struct http_handler {
	/* Body bytes as they arrive; return 0, or -1 after answering (e.g. 400/413). */
	int (*on_body)(struct http_request *req, const uint8_t *p, size_t n);
	/* Whole message received; answer now or later. */
	void (*on_complete)(struct http_request *req);
	/* Connection lost or deadline passed before the answer went out. */
	void (*on_abort)(struct http_request *req);
};

/* Pick the handler for a request whose head is complete, storing per-request
 * state with http_request_set_data(); or answer at once (404, 405, …) and
 * return NULL. */
typedef const struct http_handler *(*http_router)(struct http_request *req, void *router_arg);

struct http_listener_conf {
	const char *bind;          /* "127.0.0.1:8080", "[::1]:443" or "unix:/path" */
	struct tls_ctx *tls;       /* NULL for plain HTTP */
	enum http_surface surface;
	int proxy_protocol;        /* 1: a PROXY v1 line is required first */
	int hsts;                  /* send Strict-Transport-Security */
	/* NULL, or the onion address ("http://x.onion", no trailing slash) for
	 * "Onion-Location: <it><request path>" on every answer (the clearnet
	 * source listener), so Tor Browser offers the same page on the onion. */
	const char *onion_location;
	struct http_limits limits;
	http_router router;
	void *router_arg;
	int reuseport;             /* TCP: SO_REUSEPORT, so each event loop can bind
	                            * its own listener to the same address */
	/* Optional: the 413 answer for a body over the limit to `path`, as a
	 * page a browser can show. Append the body to `out` (at most 64 KiB),
	 * point *ctype at a static content type and return 0; or return -1 for
	 * the default problem+json. */
	int (*too_large)(void *router_arg, const char *path, struct buf *out, const char **ctype);
};

/* Cap the open connections of all listeners together (0: no cap, the
 * default); new connections over it are accepted and closed at once. */
void http_set_max_connections(unsigned max);

/* Defaults suited to a source listener behind Tor: 16 KiB head, 64 headers,
 * 32 MiB body, 1024 connections, deadlines of 15 s (handshake) and 30 s
 * (head, body gap, keep-alive), a body rate of at least 1024 B/s over the
 * last 10 s once 10 s have passed, and 15 minutes for a whole body. */
void http_limits_default(struct http_limits *l);

/* Return 1 if `bind` is a listen address tipd can bind ("a.b.c.d:PORT",
 * "[v6]:PORT" with PORT 0-65535, or "unix:/path"), else 0. */
int http_listen_addr_valid(const char *bind);
/* Bind and listen on `base`; return the listener, or NULL (error logged).
 * The deadlines handshake_ms, head_ms, body_idle_ms and keepalive_ms, and
 * max_connections, must not be 0 (0 never means "none" there), nor
 * body_rate_window_ms while min_body_rate is set: such limits are refused. */
struct http_listener *http_listener_new(struct event_base *base, const struct http_listener_conf *c);
/* The bound TCP port (for "port 0" in tests), or 0 for unix sockets. */
int http_listener_port(const struct http_listener *l);
/* Stop accepting; existing connections finish their current request. */
void http_listener_close(struct http_listener *l);
/* Serve the already-connected socket `fd` as if `l` had accepted it (tests,
 * fuzzing, socket activation); takes ownership of fd. Return 0, or -1 (fd
 * closed) if over a connection cap or out of memory. */
int http_listener_adopt(struct http_listener *l, int fd);
/* Number of open connections on this listener. */
unsigned http_listener_conns(const struct http_listener *l);
void http_listener_free(struct http_listener *l);

/* Request accessors. Strings stay valid until the request is released. */
const char *http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);   /* without query */
const char *http_request_query(const struct http_request *req);  /* after '?', or "" */
/* Value of the first header named `name` (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Declared Content-Length, 0 if the request has no body, or -1 if chunked. */
int64_t http_request_content_length(const struct http_request *req);
enum http_surface http_request_surface(const struct http_request *req);
struct event_base *http_request_base(const struct http_request *req);
/* Tor circuit id from the PROXY line (low 32 bits of the source address in
 * fc00:dead:beef:4dad::/64): store it in *out and return 0, or return -1 if
 * the connection has none. Memory only: never log or store it. */
int http_request_circuit_id(const struct http_request *req, uint32_t *out);
void http_request_set_data(struct http_request *req, void *data);
void *http_request_data(const struct http_request *req);

/*
 * Answer with `status`, a Content-Type (NULL for none) and `len` bytes of
 * body, plus the standard security headers and `extra_headers` (NULL or
 * "Name: value\r\n" lines). Closes the connection after the answer if the
 * request body was not read to the end. Exactly once per request.
 */
void http_respond(struct http_request *req, int status, const char *content_type, const void *body,
                  size_t len, const char *extra_headers);
/* Answer with application/problem+json: {"type":"about:blank","title":…,"status":…,"detail":…}. */
void http_respond_problem(struct http_request *req, int status, const char *detail);
/* Reason phrase for a status code. */
const char *http_status_text(int status);

#endif
