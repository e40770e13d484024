/*
 * http_int: what the files of the http module share and nothing else sees
 * (http.h is the contract). The module is four files:
 *   http_conn.c      connection lifecycle: states, deadlines and the body
 *                    clock, feeding input to llhttp, PROXY, TLS start-up,
 *                    lingering close, freeing
 *   http_parse.c     llhttp callbacks, the head checks, request accessors
 *   http_response.c  the response writer: status line, headers, bodies,
 *                    problem+json, answers the connection gives by itself
 *   http_listener.c  listeners: addresses, binding, accepting, limits
 * See http_conn.c for the states a connection moves through and who owns
 * what. Everything here runs on the listener's event_base thread.
 */
#ifndef TIPD_HTTP_INT_H
#define TIPD_HTTP_INT_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "proxy.h"

#define RATE_SLOTS 4 /* ticks per rate window */
#define RATE_SAMPLES (RATE_SLOTS + 1)

enum conn_state {
	CS_PROXY,
	CS_HANDSHAKE,
	CS_IDLE,
	CS_HEAD,
	CS_BODY,
	CS_HANDLER,
	CS_WRITING,
	CS_LINGER
};

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
	uint64_t start; /* end of the head */
	uint64_t last;  /* last body byte (or start) */
	uint64_t tick;  /* next rate sample */
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
	size_t head_bytes;     /* request line and header contents */
	size_t head_raw;       /* raw bytes consumed while the head was incomplete */
	uint64_t linger_until; /* http_mono_ms() when lingering ends at the latest */
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

/* --- http_conn.c --- */
/* Arm the connection's deadline `ms` from now (0: disarm). */
void http_conn_arm(struct http_conn *c, unsigned ms);
/* Disarm the connection's deadline. */
void http_conn_disarm(struct http_conn *c);
/* Monotonic time in milliseconds (0 if the clock fails). */
uint64_t http_mono_ms(void);
/* Start the body deadlines (the head is complete and a body is due). */
void http_body_start(struct http_conn *c);
/* Return a new request for connection `c`, or NULL without memory. */
struct http_request *http_req_new(struct http_conn *c);
/* Free a request (wiping its circuit id). Accepts NULL. */
void http_req_free(struct http_request *req);
/* Take the request away from its connection: abort the handler if it has
 * not answered, then free the request unless the handler owes the answer. */
void http_conn_drop_request(struct http_conn *c);
/* Take a new socket for listener `l`; return 0, or -1 with fd closed. */
int http_conn_new(struct http_listener *l, int fd);
/* Close and free the connection (dropping its request). Accepts NULL. */
void http_conn_free(struct http_conn *c);

/* --- http_parse.c --- */
/* The llhttp callbacks every connection's parser runs. */
extern const llhttp_settings_t http_parser_settings;

/* --- http_response.c --- */
/* The connection answers by itself (limits, malformed input): abort the
 * handler if one is reading, answer with problem+json and close after. */
void http_conn_fail(struct http_conn *c, int status, const char *detail);
/* Return 1 if the request's body has not been read to its end, else 0. */
int http_req_body_pending(const struct http_request *req);

#endif
