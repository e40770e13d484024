/*
 * http_conn: the life of one HTTP/1.1 connection on a libevent bufferevent
 * (see http.h for the contract, http_int.h for the module's other files).
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
 * Ownership: a connection owns its current request. When the connection
 * goes away first, http_conn_drop_request() calls on_abort and either frees
 * the request or, if the handler owes the answer, detaches it (req->conn =
 * NULL) so that the handler's later http_respond() frees it. Nothing is
 * freed inside llhttp callbacks except through those two paths.
 *
 * Several event loops share an address through SO_REUSEPORT (conf.reuseport):
 * a listener belongs to one event_base, and tipd creates one per loop.
 */
#include "http_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tls.h"

/* Lingering close after an early answer (nginx's lingering_timeout and
 * lingering_time): input is read and discarded while it keeps coming, at
 * most LINGER_MS apart and for LINGER_TOTAL_MS in all, so that a browser
 * still uploading a body over the limit reads the answer, not a reset. */
#define LINGER_MS 5000
#define LINGER_TOTAL_MS 30000
#define FRAMING_PER_CHUNK 64 /* chunk-size line and CRLFs a chunk may cost */
#define FRAMING_SLACK 1024

static atomic_uint total_conns;
static atomic_uint max_total_conns;

static int conn_process_input(struct http_conn *c);

void
http_set_max_connections(unsigned max)
{
	atomic_store(&max_total_conns, max);
}

/* ---- timers ---- */

void
http_conn_arm(struct http_conn *c, unsigned ms)
{
	if (ms == 0) {
		evtimer_del(c->timer);
		return;
	}
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	if (evtimer_add(c->timer, &tv) != 0)
		log_error("http: cannot arm a connection deadline");
}

void
http_conn_disarm(struct http_conn *c)
{
	evtimer_del(c->timer);
}

uint64_t
http_mono_ms(void)
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
	http_conn_arm(c, ms > UINT_MAX ? UINT_MAX : (unsigned)ms);
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
void
http_body_start(struct http_conn *c)
{
	const struct http_limits *lim = &c->l->conf.limits;
	uint64_t now = http_mono_ms();
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
	uint64_t now = http_mono_ms();
	if (now - c->bc.last >= lim->body_idle_ms) {
		log_debug("http: request body stalled");
		return -1;
	}
	if (lim->body_total_ms > 0 && now - c->bc.start >= lim->body_total_ms) {
		log_debug("http: request body took too long");
		return -1;
	}
	if (lim->min_body_rate > 0 && now >= c->bc.tick &&
	    body_rate_sample(c, now, c->req->body_read) != 0) {
		log_debug("http: request body below the minimum rate");
		return -1;
	}
	body_arm(c, now);
	return 0;
}

/* ---- requests ---- */

struct http_request *
http_req_new(struct http_conn *c)
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

void
http_req_free(struct http_request *req)
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
void
http_conn_drop_request(struct http_conn *c)
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
	http_req_free(req);
}

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
	http_conn_fail(c, 400, "The request is not valid HTTP/1.1.");
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
	uint64_t allow = c->l->conf.limits.max_header_bytes + FRAMING_SLACK +
		FRAMING_PER_CHUNK * req->nchunks;
	if (c->bc.framing <= allow)
		return 0;
	http_conn_fail(c, 400, "The chunked framing is too large.");
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
				http_conn_fail(c, 431, "The request head is too large.");
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
	c->linger_until = http_mono_ms() + LINGER_TOTAL_MS;
	if (bufferevent_openssl_get_ssl(c->bev) == NULL) {
		int fd = (int)bufferevent_getfd(c->bev);
		if (fd >= 0)
			(void)shutdown(fd, SHUT_WR);
	}
	struct evbuffer *in = bufferevent_get_input(c->bev);
	(void)evbuffer_drain(in, evbuffer_get_length(in));
	if (bufferevent_enable(c->bev, EV_READ) != 0)
		log_debug("http: cannot read while lingering");
	http_conn_arm(c, LINGER_MS);
}

/* The answer has drained: release the request and go on (or wind down);
 * return 0, or -1 if the caller must free the connection. */
static int
conn_finish_request(struct http_conn *c)
{
	struct http_request *req = c->req;
	int complete = req != NULL && req->complete;
	c->req = NULL;
	http_req_free(req);
	if (c->close_after || !complete || c->l->closed) {
		conn_start_linger(c);
		return 0;
	}
	c->nreqs++;
	c->state = CS_IDLE;
	if (llhttp_get_errno(&c->parser) == HPE_PAUSED)
		llhttp_resume(&c->parser);
	http_conn_arm(c, c->l->conf.limits.keepalive_ms);
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
		uint64_t now = http_mono_ms();
		if (now >= c->linger_until)
			http_conn_free(c);
		else
			http_conn_arm(c,
			              (unsigned)(c->linger_until - now < LINGER_MS
			                                 ? c->linger_until - now
			                                 : LINGER_MS));
		return;
	}
	/* HANDLER, WRITING: later requests wait in the buffer (bounded by the
	 * read watermark) so that a lost client is still noticed. */
	if (conn_process_input(c) != 0)
		http_conn_free(c);
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	if (c->state != CS_WRITING || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return; /* e.g. "100 Continue" has drained, or a stale deferred call */
	if (conn_finish_request(c) != 0)
		http_conn_free(c);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == CS_HANDSHAKE) {
			c->state = CS_IDLE;
			http_conn_arm(c, c->l->conf.limits.head_ms);
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
	http_conn_free(c);
}

static void
conn_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->state == CS_BODY && body_check(c) == 0)
		return;
	http_conn_free(c);
}

void
http_conn_free(struct http_conn *c)
{
	if (c == NULL)
		return;
	http_conn_drop_request(c);
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
		c->bev = bufferevent_openssl_socket_new(l->base, c->fd, ssl,
		                                        BUFFEREVENT_SSL_ACCEPTING, opts);
		if (c->bev == NULL) {
			/* libevent may or may not have freed ssl and fd by now:
			 * leak rather than risk a double free. */
			log_error("http: cannot create a TLS bufferevent");
			c->fd = -1;
			return -1;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->state = CS_HANDSHAKE;
		http_conn_arm(c, l->conf.limits.handshake_ms);
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
	struct timeval wtv = { .tv_sec = l->conf.limits.body_idle_ms / 1000,
		               .tv_usec =
		                       (suseconds_t)(l->conf.limits.body_idle_ms % 1000) * 1000 };
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
	http_conn_free(c);
}

/* Take a new socket; return 0, or -1 with fd closed. */
int
http_conn_new(struct http_listener *l, int fd)
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
	llhttp_init(&c->parser, HTTP_REQUEST, &http_parser_settings);
	c->parser.data = c;
	llhttp_set_lenient_headers(&c->parser, 0);
	llhttp_set_lenient_chunked_length(&c->parser, 0);
	llhttp_set_lenient_keep_alive(&c->parser, 0);
	llhttp_set_lenient_transfer_encoding(&c->parser, 0);
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	                 sizeof(one)); /* fails on unix sockets */
	c->timer = evtimer_new(l->base, conn_timeoutcb, c);
	if (c->timer == NULL)
		goto fail;
	http_conn_arm(c, l->conf.limits.head_ms);
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
	http_conn_free(c);
	return -1;
}
