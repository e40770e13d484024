/*
 * Tests for tipd's HTTP/1.1 layer: a real event loop in a thread, real
 * sockets on 127.0.0.1 (port 0) or a unix socket, and a small test router.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "tls.h"

/* ---- server side: loop thread, router, handlers ---- */

static struct {
	struct event_base *base;
	struct http_listener *l;
	pthread_t thr;
	int port;
	char dir[64];
	char sock[128];
	struct tls_ctx *tls;
} srv;

static atomic_int n_aborts, n_completes, n_body_calls, n_late_released, n_router;

struct reqdata {
	struct buf body;
	struct event *ev;
	struct http_request *req;
	int aborted;
};

static void
reqdata_free(struct reqdata *d)
{
	if (d == NULL)
		return;
	buf_free(&d->body);
	if (d->ev != NULL)
		event_free(d->ev);
	free(d);
}

static int
echo_body(struct http_request *req, const uint8_t *p, size_t n)
{
	struct reqdata *d = http_request_data(req);
	atomic_fetch_add(&n_body_calls, 1);
	if (buf_add(&d->body, p, n) != 0) {
		http_respond_problem(req, 413, "too big for the echo");
		reqdata_free(d);
		return -1;
	}
	return 0;
}

static void
echo_complete(struct http_request *req)
{
	struct reqdata *d = http_request_data(req);
	atomic_fetch_add(&n_completes, 1);
	http_respond(req, 200, "application/octet-stream", d->body.data, d->body.len, "X-Echo: yes\r\n");
	reqdata_free(d);
}

static void
echo_abort(struct http_request *req)
{
	atomic_fetch_add(&n_aborts, 1);
	reqdata_free(http_request_data(req));
}

static const struct http_handler h_echo = {echo_body, echo_complete, echo_abort};

static void
hello_complete(struct http_request *req)
{
	atomic_fetch_add(&n_completes, 1);
	http_respond(req, 200, "text/plain", "hello", 5, NULL);
}

static void
count_abort(struct http_request *req)
{
	(void)req;
	atomic_fetch_add(&n_aborts, 1);
}

static const struct http_handler h_hello = {NULL, hello_complete, count_abort};

/* Answers from a timer, after on_complete has returned. */
static void
async_fire(evutil_socket_t fd, short what, void *arg)
{
	struct reqdata *d = arg;
	(void)fd;
	(void)what;
	if (d->aborted)
		atomic_fetch_add(&n_late_released, 1);
	http_respond(d->req, 200, "text/plain", "async", 5, NULL); /* only releases if aborted */
	reqdata_free(d);
}

static void
async_complete(struct http_request *req)
{
	struct reqdata *d = http_request_data(req);
	const char *q = http_request_query(req);
	struct timeval tv = {0, strcmp(q, "slow") == 0 ? 400000 : 100000};
	atomic_fetch_add(&n_completes, 1);
	d->req = req;
	d->ev = evtimer_new(http_request_base(req), async_fire, d);
	cr_assert_not_null(d->ev);
	cr_assert_eq(evtimer_add(d->ev, &tv), 0);
}

static void
async_abort(struct http_request *req)
{
	struct reqdata *d = http_request_data(req);
	atomic_fetch_add(&n_aborts, 1);
	if (d->ev != NULL)
		d->aborted = 1; /* the timer still owes http_respond() */
	else
		reqdata_free(d);
}

static const struct http_handler h_async = {NULL, async_complete, async_abort};

/* Refuses the body after the first bytes, answering itself. */
static int
refuse_body(struct http_request *req, const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	http_respond_problem(req, 422, "no thanks");
	return -1;
}

static const struct http_handler h_refuse = {refuse_body, hello_complete, count_abort};

/* Answers with the X-Test header as seen once the whole message is in. */
static void
header_complete(struct http_request *req)
{
	const char *v = http_request_header(req, "x-test");
	v = v != NULL ? v : "(none)";
	atomic_fetch_add(&n_completes, 1);
	http_respond(req, 200, "text/plain", v, strlen(v), NULL);
}

static const struct http_handler h_header = {NULL, header_complete, count_abort};

static const struct http_handler *
test_router(struct http_request *req, void *arg)
{
	const char *path = http_request_path(req);
	(void)arg;
	atomic_fetch_add(&n_router, 1);
	if (strcmp(path, "/hello") == 0)
		return &h_hello;
	if (strcmp(path, "/refuse") == 0)
		return &h_refuse;
	if (strcmp(path, "/late-header") == 0)
		return &h_header;
	if (strcmp(path, "/echo") == 0 || strcmp(path, "/async") == 0) {
		struct reqdata *d = calloc(1, sizeof(*d));
		cr_assert_not_null(d);
		buf_init(&d->body, 1 << 20);
		http_request_set_data(req, d);
		return path[1] == 'e' ? &h_echo : &h_async;
	}
	if (strcmp(path, "/hdr") == 0) {
		const char *v = http_request_header(req, "x-test");
		v = v != NULL ? v : "(none)";
		http_respond(req, 200, "text/plain", v, strlen(v), NULL);
		return NULL;
	}
	if (strcmp(path, "/circuit") == 0) {
		uint32_t id;
		char out[16];
		if (http_request_circuit_id(req, &id) == 0)
			snprintf(out, sizeof(out), "%08x", id);
		else
			snprintf(out, sizeof(out), "none");
		http_respond(req, 200, "text/plain", out, strlen(out), NULL);
		return NULL;
	}
	http_respond_problem(req, 404, "No page \"here\".\nSorry \xc3\xa9");
	return NULL;
}

static void *
loop_thread(void *arg)
{
	(void)arg;
	event_base_loop(srv.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void
test_limits(struct http_limits *l)
{
	http_limits_default(l);
	l->max_header_bytes = 4096;
	l->max_headers = 16;
	l->max_body_bytes = 1024;
	l->max_connections = 8;
	l->handshake_ms = 2000;
	l->head_ms = 2000;
	l->body_idle_ms = 2000;
	l->keepalive_ms = 2000;
}

static void
srv_start_conf(struct http_listener_conf *c)
{
	cr_assert_eq(evthread_use_pthreads(), 0);
	srv.base = event_base_new();
	cr_assert_not_null(srv.base);
	c->router = test_router;
	srv.l = http_listener_new(srv.base, c);
	cr_assert_not_null(srv.l);
	srv.port = http_listener_port(srv.l);
	cr_assert_eq(pthread_create(&srv.thr, NULL, loop_thread, NULL), 0);
}

static void
srv_start(struct http_limits *lim, int proxy, int hsts)
{
	struct http_listener_conf c = {0};
	c.bind = "127.0.0.1:0";
	c.surface = HTTP_SURFACE_SOURCE;
	c.proxy_protocol = proxy;
	c.hsts = hsts;
	if (lim != NULL)
		c.limits = *lim;
	else
		test_limits(&c.limits);
	srv_start_conf(&c);
	cr_assert_gt(srv.port, 0);
}

struct onloop {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	unsigned conns;
};

static void
onloop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct onloop *o = arg;
	(void)fd;
	(void)what;
	pthread_mutex_lock(&o->mu);
	o->conns = http_listener_conns(srv.l);
	o->done = 1;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

/* The listener's connection count, read on the loop thread. */
static unsigned
srv_conns(void)
{
	struct onloop o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	struct timeval tv = {0, 0};
	cr_assert_eq(event_base_once(srv.base, -1, EV_TIMEOUT, onloop_cb, &o, &tv), 0);
	pthread_mutex_lock(&o.mu);
	while (!o.done)
		pthread_cond_wait(&o.cv, &o.mu);
	pthread_mutex_unlock(&o.mu);
	return o.conns;
}

static void
srv_stop(void)
{
	cr_assert_eq(event_base_loopbreak(srv.base), 0);
	pthread_join(srv.thr, NULL);
	http_listener_free(srv.l);
	/* Let libevent run the finalizers of the freed bufferevents. */
	cr_assert_neq(event_base_loop(srv.base, EVLOOP_NONBLOCK), -1);
	event_base_free(srv.base);
	tls_ctx_free(srv.tls);
	memset(&srv, 0, sizeof(srv));
}

static void
msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- client side ---- */

struct cli {
	int fd;
	char buf[1 << 16];
	size_t len;
};

struct resp {
	int status;
	char head[8192];
	char body[1 << 14];
	size_t body_len;
};

static void
cli_timeout(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

static void
cli_open(struct cli *c)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(c->fd, 0);
	cr_assert_eq(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cli_timeout(c->fd, 3000);
}

static void
cli_sendn(struct cli *c, const void *p, size_t n)
{
	cr_assert_eq(send(c->fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void
cli_send(struct cli *c, const char *s)
{
	cli_sendn(c, s, strlen(s));
}

/* Read more into the buffer; return bytes read, 0 on EOF, -1 on error/timeout. */
static ssize_t
cli_fill(struct cli *c)
{
	if (c->len == sizeof(c->buf))
		return -1;
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

static const char *
resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	const char *p = strstr(r->head, "\r\n");
	size_t nl = strlen(name);
	while (p != NULL && p[2] != '\0') {
		p += 2;
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = (size_t)(eol - v);
			if (vl >= outlen)
				vl = outlen - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return out;
		}
		p = eol;
	}
	return NULL;
}

/* Read one response; return 0, or -1 if the connection ended first. */
static int
cli_read(struct cli *c, struct resp *r)
{
	char *end;
	memset(r, 0, sizeof(*r));
	for (;;) {
		c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
		end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end != NULL)
			break;
		if (cli_fill(c) <= 0)
			return -1;
	}
	size_t hlen = (size_t)(end - c->buf) + 4;
	cr_assert_lt(hlen, sizeof(r->head));
	memcpy(r->head, c->buf, hlen);
	r->head[hlen] = '\0';
	cr_assert_eq(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1, "bad status line: %s", r->head);
	char v[32];
	size_t blen = 0;
	if (resp_header(r, "Content-Length", v, sizeof(v)) != NULL)
		blen = strtoul(v, NULL, 10);
	cr_assert_lt(blen, sizeof(r->body));
	while (c->len < hlen + blen)
		if (cli_fill(c) <= 0)
			return -1;
	memcpy(r->body, c->buf + hlen, blen);
	r->body_len = blen;
	memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
	c->len -= hlen + blen;
	return 0;
}

/* Return 1 if the server closes the connection within `ms` (any unread
 * data is skipped), 0 if it is still open. */
static int
cli_closed_within(struct cli *c, int ms)
{
	cli_timeout(c->fd, ms);
	for (;;) {
		char tmp[4096];
		ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (n < 0)
			return 0;
	}
}

static void
cli_close(struct cli *c)
{
	close(c->fd);
	c->fd = -1;
}

static void
get_ok(struct cli *c, const char *req, const char *body)
{
	struct resp r;
	cli_send(c, req);
	cr_assert_eq(cli_read(c, &r), 0);
	cr_assert_eq(r.status, 200, "status %d for %s", r.status, req);
	cr_assert_eq(r.body_len, strlen(body));
	cr_assert_eq(memcmp(r.body, body, r.body_len), 0);
}

static struct cli C; /* static: too large for a stack in a hurry */
static struct resp R;

/* ---- tests ---- */

Test(http, keepalive_two_requests_one_connection)
{
	char v[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_send(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_str_eq(resp_header(&R, "Connection", v, sizeof(v)), "keep-alive");
	cr_assert_eq(srv_conns(), 1);
	cr_assert_eq(atomic_load(&n_completes), 2);
	cli_close(&C);
	srv_stop();
}

Test(http, pipelined_requests_answered_in_order)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	/* The first answer is slow (timer), the later ones are instant. */
	cli_send(&C, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n"
	             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	             "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.body_len, 5);
	cr_assert_eq(memcmp(R.body, "async", 5), 0);
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.body_len, 3);
	cr_assert_eq(memcmp(R.body, "abc", 3), 0);
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(memcmp(R.body, "hello", 5), 0);
	cli_close(&C);
	srv_stop();
}

Test(http, post_content_length_body)
{
	char v[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello ");
	msleep(50);
	cli_send(&C, "world");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(R.body_len, 11);
	cr_assert_eq(memcmp(R.body, "hello world", 11), 0);
	cr_assert_str_eq(resp_header(&R, "X-Echo", v, sizeof(v)), "yes");
	cr_assert_str_eq(resp_header(&R, "Content-Type", v, sizeof(v)), "application/octet-stream");
	cli_close(&C);
	srv_stop();
}

Test(http, post_chunked_body_is_streamed)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
	msleep(50);
	cli_send(&C, "6\r\n world\r\n");
	msleep(50);
	cli_send(&C, "0\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(R.body_len, 11);
	cr_assert_eq(memcmp(R.body, "hello world", 11), 0);
	cr_assert_geq(atomic_load(&n_body_calls), 2, "body was not streamed");
	/* The connection stays usable. */
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_close(&C);
	srv_stop();
}

Test(http, expect_continue_accepted)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 100);
	cli_send(&C, "data");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(memcmp(R.body, "data", 4), 0);
	cli_close(&C);
	srv_stop();
}

Test(http, expect_continue_over_limit_gets_413_without_100)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 413);
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	cr_assert_eq(atomic_load(&n_router), 0, "the router saw an oversized request");
	srv_stop();
}

Test(http, expect_continue_unroutable_gets_404_without_100)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /nowhere HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 404);
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	srv_stop();
}

Test(http, unknown_expectation_gets_417)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 5\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 417);
	cli_close(&C);
	srv_stop();
}

static void
assert_security_headers(const struct resp *r)
{
	char v[512];
	cr_assert_str_eq(resp_header(r, "Content-Security-Policy", v, sizeof(v)),
	                 "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
	                 "frame-ancestors 'none'; base-uri 'none'");
	cr_assert_str_eq(resp_header(r, "Referrer-Policy", v, sizeof(v)), "no-referrer");
	cr_assert_str_eq(resp_header(r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
	cr_assert_str_eq(resp_header(r, "Cache-Control", v, sizeof(v)), "no-store");
	cr_assert_str_eq(resp_header(r, "X-Frame-Options", v, sizeof(v)), "DENY");
	cr_assert_str_eq(resp_header(r, "Cross-Origin-Opener-Policy", v, sizeof(v)), "same-origin");
	cr_assert_str_eq(resp_header(r, "Cross-Origin-Resource-Policy", v, sizeof(v)), "same-origin");
	cr_assert_not_null(resp_header(r, "Content-Length", v, sizeof(v)));
	cr_assert_null(resp_header(r, "Server", v, sizeof(v)));
	cr_assert_null(resp_header(r, "Date", v, sizeof(v)));
}

Test(http, security_headers_on_every_answer_no_hsts_by_default)
{
	char v[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	assert_security_headers(&R);
	cr_assert_null(resp_header(&R, "Strict-Transport-Security", v, sizeof(v)));
	cli_send(&C, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 404);
	assert_security_headers(&R);
	cli_send(&C, "BAD\x01 / HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 400);
	assert_security_headers(&R);
	cli_close(&C);
	srv_stop();
}

Test(http, hsts_only_when_asked)
{
	char v[64];
	srv_start(NULL, 0, 1);
	cli_open(&C);
	cli_send(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_str_eq(resp_header(&R, "Strict-Transport-Security", v, sizeof(v)), "max-age=63072000");
	assert_security_headers(&R);
	cli_close(&C);
	srv_stop();
}

Test(http, problem_json_escapes_detail)
{
	char v[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 404);
	cr_assert_str_eq(resp_header(&R, "Content-Type", v, sizeof(v)), "application/problem+json");
	json_error_t err;
	json_t *j = json_loadb(R.body, R.body_len, 0, &err);
	cr_assert_not_null(j, "not JSON: %.*s", (int)R.body_len, R.body);
	cr_assert_str_eq(json_string_value(json_object_get(j, "detail")), "No page \"here\".\nSorry \xc3\xa9");
	cr_assert_str_eq(json_string_value(json_object_get(j, "title")), "Not Found");
	cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "about:blank");
	cr_assert_eq(json_integer_value(json_object_get(j, "status")), 404);
	json_decref(j);
	/* A 404 without a body to read keeps the connection. */
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_close(&C);
	srv_stop();
}

Test(http, declared_body_over_limit_gets_413)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 413);
	cr_assert_not_null(strstr(R.body, "\"status\":413"));
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	cr_assert_eq(atomic_load(&n_router), 0);
	srv_stop();
}

Test(http, body_at_limit_is_accepted)
{
	static char req[2048];
	srv_start(NULL, 0, 0);
	int n = snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n");
	memset(req + n, 'x', 1024);
	cli_open(&C);
	cli_sendn(&C, req, (size_t)n + 1024);
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(R.body_len, 1024);
	cli_close(&C);
	srv_stop();
}

Test(http, streamed_body_over_limit_gets_413_and_aborts)
{
	static char chunk[700];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	memset(chunk, 'y', sizeof(chunk));
	for (int i = 0; i < 2; i++) {
		cli_send(&C, "2bc\r\n");
		cli_sendn(&C, chunk, sizeof(chunk));
		cli_send(&C, "\r\n");
	}
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 413);
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	cr_assert_eq(atomic_load(&n_aborts), 1);
	cr_assert_eq(atomic_load(&n_completes), 0);
	srv_stop();
}

Test(http, handler_refusing_body_closes_without_abort)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 422);
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	cr_assert_eq(atomic_load(&n_aborts), 0);
	srv_stop();
}

Test(http, one_huge_header_gets_431)
{
	static char big[6000];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	memset(big, 'a', sizeof(big) - 1);
	cli_send(&C, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
	cli_send(&C, big);
	cli_send(&C, "\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 431);
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	srv_stop();
}

Test(http, too_many_headers_get_431)
{
	char line[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 17; i++) {
		snprintf(line, sizeof(line), "X-H%d: v\r\n", i);
		cli_send(&C, line);
	}
	cli_send(&C, "\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 431);
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	srv_stop();
}

Test(http, sixteen_headers_are_fine)
{
	char line[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /hdr HTTP/1.1\r\nHost: x\r\n"); /* Host is one of the sixteen */
	for (int i = 0; i < 14; i++) {
		snprintf(line, sizeof(line), "X-H%d: v\r\n", i);
		cli_send(&C, line);
	}
	get_ok(&C, "X-TEST: found\r\n\r\n", "found");
	get_ok(&C, "GET /hdr HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Test: \r\nX-Other: 1\r\n\r\n", "");
	cli_close(&C);
	srv_stop();
}

Test(http, garbage_gets_400_problem_and_close)
{
	static const char *bad[] = {
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\nHost x\r\n\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET hello HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};
	srv_start(NULL, 0, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cli_open(&C);
		cli_send(&C, bad[i]);
		cr_assert_eq(cli_read(&C, &R), 0, "no answer to case %zu", i);
		cr_assert_eq(R.status, 400, "case %zu got %d", i, R.status);
		cr_assert_not_null(strstr(R.body, "\"status\":400"));
		cr_assert_eq(cli_closed_within(&C, 3000), 1, "case %zu left open", i);
		cli_close(&C);
	}
	/* The chunked one had reached a handler: it was aborted. */
	cr_assert_eq(atomic_load(&n_aborts), 1);
	srv_stop();
}

Test(http, http10_closes_after_answer)
{
	char v[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_str_eq(resp_header(&R, "Connection", v, sizeof(v)), "close");
	cr_assert_eq(cli_closed_within(&C, 1000), 1);
	srv_stop();
}

Test(http, connection_close_is_honoured)
{
	char v[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_str_eq(resp_header(&R, "Connection", v, sizeof(v)), "close");
	cr_assert_eq(cli_closed_within(&C, 1000), 1);
	cr_assert_eq(atomic_load(&n_completes), 1, "a request after Connection: close was served");
	srv_stop();
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

Test(http, trickling_head_is_cut_at_head_deadline)
{
	struct http_limits lim;
	struct timespec t0;
	test_limits(&lim);
	lim.head_ms = 400;
	srv_start(&lim, 0, 0);
	cli_open(&C);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const char *parts[] = {"GET /hel", "lo HTTP/1.1\r\nHost: x\r\n", "Host: x\r\n", "X-A: b\r\n", "X-C: d\r\n", "\r\n"};
	int closed = 0;
	for (size_t i = 0; i < 6 && !closed; i++) {
		if (send(C.fd, parts[i], strlen(parts[i]), MSG_NOSIGNAL) < 0)
			break;
		closed = cli_closed_within(&C, 150);
	}
	if (!closed)
		closed = cli_closed_within(&C, 1000);
	cr_assert_eq(closed, 1);
	long ms = elapsed_ms(&t0);
	cr_assert_geq(ms, 350, "closed too early (%ld ms)", ms);
	cr_assert_lt(ms, 1200, "closed too late (%ld ms)", ms);
	cr_assert_eq(atomic_load(&n_router), 0);
	srv_stop();
}

Test(http, idle_keepalive_connection_is_closed)
{
	struct http_limits lim;
	test_limits(&lim);
	lim.keepalive_ms = 300;
	srv_start(&lim, 0, 0);
	cli_open(&C);
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cr_assert_eq(cli_closed_within(&C, 100), 0, "closed before the keep-alive deadline");
	cr_assert_eq(cli_closed_within(&C, 1000), 1);
	cr_assert_eq(srv_conns(), 0);
	srv_stop();
}

Test(http, stalled_body_is_closed_and_aborted)
{
	struct http_limits lim;
	test_limits(&lim);
	lim.body_idle_ms = 300;
	srv_start(&lim, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
	msleep(200);
	cli_send(&C, "0123456789"); /* progress resets the deadline */
	cr_assert_eq(cli_closed_within(&C, 200), 0);
	cr_assert_eq(cli_closed_within(&C, 1000), 1);
	msleep(50);
	cr_assert_eq(atomic_load(&n_aborts), 1);
	cr_assert_eq(atomic_load(&n_completes), 0);
	srv_stop();
}

Test(http, max_connections_per_listener)
{
	struct http_limits lim;
	struct cli *c = calloc(3, sizeof(*c));
	test_limits(&lim);
	lim.max_connections = 2;
	srv_start(&lim, 0, 0);
	cli_open(&c[0]);
	cli_open(&c[1]);
	get_ok(&c[0], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	get_ok(&c[1], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_open(&c[2]);
	cr_assert_eq(cli_closed_within(&c[2], 1000), 1, "a third connection was kept");
	cli_close(&c[2]);
	cli_close(&c[0]);
	msleep(100);
	cli_open(&c[2]);
	get_ok(&c[2], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cr_assert_eq(srv_conns(), 2);
	free(c);
	srv_stop();
}

Test(http, global_connection_cap)
{
	struct cli *c = calloc(2, sizeof(*c));
	http_set_max_connections(1);
	srv_start(NULL, 0, 0);
	cli_open(&c[0]);
	get_ok(&c[0], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_open(&c[1]);
	cr_assert_eq(cli_closed_within(&c[1], 1000), 1);
	http_set_max_connections(0);
	free(c);
	srv_stop();
}

Test(http, async_answer_after_timer)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	get_ok(&C, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n", "async");
	get_ok(&C, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n", "async");
	cr_assert_eq(atomic_load(&n_aborts), 0);
	cli_close(&C);
	srv_stop();
}

/* Close with a reset: the server sees an error, not an EOF (which it takes
 * for a half-close and answers). */
static void
cli_reset(struct cli *c)
{
	struct linger lg = {1, 0};
	cr_assert_eq(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	cli_close(c);
}

Test(http, async_answer_after_client_left_is_released)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /async?slow HTTP/1.1\r\nHost: x\r\n\r\n");
	msleep(100);
	cli_reset(&C);
	msleep(100);
	cr_assert_eq(atomic_load(&n_aborts), 1, "on_abort not called");
	cr_assert_eq(srv_conns(), 0);
	msleep(500);
	cr_assert_eq(atomic_load(&n_late_released), 1, "late answer not given");
	/* The server is still healthy. */
	cli_open(&C);
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_close(&C);
	srv_stop();
}

Test(http, listener_free_with_request_in_flight)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
	msleep(100);
	srv_stop(); /* frees the connection: the handler is aborted */
	cr_assert_eq(atomic_load(&n_aborts), 1);
	cli_close(&C);
}

Test(http, unix_socket_listener)
{
	struct http_listener_conf c = {0};
	struct stat st;
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/h3-httpXXXXXX");
	cr_assert_not_null(mkdtemp(srv.dir));
	snprintf(srv.sock, sizeof(srv.sock), "%s/s.sock", srv.dir);
	/* A stale socket from an earlier run is replaced. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path, srv.sock, strlen(srv.sock) + 1);
	cr_assert_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(s);
	char bind[160];
	snprintf(bind, sizeof(bind), "unix:%s", srv.sock);
	c.bind = bind;
	test_limits(&c.limits);
	srv_start_conf(&c);
	cr_assert_eq(srv.port, 0);
	cr_assert_eq(stat(srv.sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0660);
	C.len = 0;
	C.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(connect(C.fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cli_timeout(C.fd, 3000);
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_close(&C);
	/* A second listener on a live socket is refused. */
	struct http_listener *dup = http_listener_new(srv.base, &c);
	cr_assert_null(dup);
	char path[128];
	memcpy(path, srv.sock, sizeof(path));
	char dir[64];
	memcpy(dir, srv.dir, sizeof(dir));
	srv_stop();
	cr_assert_neq(stat(path, &st), 0, "socket left behind");
	rmdir(dir);
}

Test(http, unix_path_that_is_not_a_socket_is_refused)
{
	char dir[] = "/tmp/h3-httpXXXXXX";
	char path[64], bind[80];
	struct http_listener_conf c = {0};
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	snprintf(bind, sizeof(bind), "unix:%s", path);
	c.bind = bind;
	c.router = test_router;
	test_limits(&c.limits);
	struct event_base *base = event_base_new();
	cr_assert_null(http_listener_new(base, &c));
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "a regular file was removed");
	unlink(path);
	rmdir(dir);
	event_base_free(base);
}

Test(http, bad_bind_addresses_are_refused)
{
	static const char *bad[] = {"localhost:80", "127.0.0.1", "127.0.0.1:65536", "[::1:80", "::1:80",
	                            "127.0.0.1:-1", "1.2.3.4.5:80", "[::1]:8x"};
	struct event_base *base = event_base_new();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_listener_conf c = {.bind = bad[i], .router = test_router};
		test_limits(&c.limits);
		cr_assert_null(http_listener_new(base, &c), "accepted %s", bad[i]);
	}
	struct http_listener_conf c6 = {.bind = "[::1]:0", .router = test_router};
	test_limits(&c6.limits);
	struct http_listener *l = http_listener_new(base, &c6);
	if (l != NULL) { /* IPv6 may be off in a container */
		cr_assert_gt(http_listener_port(l), 0);
		http_listener_free(l);
	}
	event_base_free(base);
}

Test(http, proxy_line_required_and_circuit_kept)
{
	srv_start(NULL, 1, 0);
	cli_open(&C);
	cli_send(&C, "PROXY TCP6 fc00:dead:beef:4dad::12:3456 ::1 4321 80\r\nGET /circuit HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(R.body_len, 8);
	cr_assert_eq(memcmp(R.body, "00123456", 8), 0);
	/* The circuit id stays with the connection for later requests. */
	get_ok(&C, "GET /circuit HTTP/1.1\r\nHost: x\r\n\r\n", "00123456");
	cli_close(&C);
	/* Sent in pieces. */
	cli_open(&C);
	cli_send(&C, "PROXY TCP4 192.0.2.1 ");
	msleep(50);
	cli_send(&C, "192.0.2.2 1 2\r");
	msleep(50);
	cli_send(&C, "\nGET /circuit HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(memcmp(R.body, "none", 4), 0);
	cli_close(&C);
	srv_stop();
}

Test(http, missing_or_bad_proxy_line_closes)
{
	static const char *bad[] = {
		"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
		"PROXY TCP6 fc00:dead:beef:4dad::12:3456 ::1 4321 80\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	srv_start(NULL, 1, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cli_open(&C);
		cli_send(&C, bad[i]);
		cli_timeout(C.fd, 2000);
		char tmp[64];
		ssize_t n = recv(C.fd, tmp, sizeof(tmp), 0);
		cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "case %zu: got %zd bytes", i, n);
		cli_close(&C);
	}
	cr_assert_eq(atomic_load(&n_router), 0);
	srv_stop();
}

Test(http, head_method_has_no_body)
{
	char v[32];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	/* The HEAD answer says Content-Length: 5 but carries no body, so the
	 * 5 bytes cli_read takes as its body are the start of the GET answer. */
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_str_eq(resp_header(&R, "Content-Length", v, sizeof(v)), "5");
	cr_assert_eq(memcmp(R.body, "HTTP/", 5), 0, "HEAD answer carried a body");
	cli_close(&C);
	srv_stop();
}

/* ---- half-close: the client shuts its sending side ---- */

Test(http, half_close_after_request_still_gets_async_answer)
{
	char v[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(shutdown(C.fd, SHUT_WR), 0);
	cr_assert_eq(cli_read(&C, &R), 0, "no answer after a half-close");
	cr_assert_eq(R.status, 200);
	cr_assert_eq(memcmp(R.body, "async", 5), 0);
	cr_assert_str_eq(resp_header(&R, "Connection", v, sizeof(v)), "close");
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	cr_assert_eq(atomic_load(&n_aborts), 0);
	msleep(50);
	cr_assert_eq(srv_conns(), 0);
	cli_close(&C);
	srv_stop();
}

Test(http, half_close_serves_pipelined_requests_then_closes)
{
	char v[64];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n"
	             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	             "GET /async HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(shutdown(C.fd, SHUT_WR), 0);
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(memcmp(R.body, "async", 5), 0);
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.body_len, 3);
	cr_assert_eq(memcmp(R.body, "abc", 3), 0);
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(memcmp(R.body, "async", 5), 0);
	cr_assert_str_eq(resp_header(&R, "Connection", v, sizeof(v)), "close");
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	cr_assert_eq(atomic_load(&n_completes), 3);
	cr_assert_eq(atomic_load(&n_aborts), 0);
	cli_close(&C);
	srv_stop();
}

Test(http, half_close_with_incomplete_pipelined_request_aborts_it)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /async HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
	cr_assert_eq(shutdown(C.fd, SHUT_WR), 0);
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(memcmp(R.body, "async", 5), 0);
	cr_assert_eq(cli_closed_within(&C, 3000), 1, "left open with a request that cannot complete");
	msleep(50);
	cr_assert_eq(atomic_load(&n_aborts), 1, "the cut-short request was not aborted");
	cr_assert_eq(atomic_load(&n_completes), 1);
	cr_assert_eq(srv_conns(), 0);
	srv_stop();
}

Test(http, half_close_before_request_complete_aborts)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
	msleep(50);
	cr_assert_eq(shutdown(C.fd, SHUT_WR), 0);
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	cr_assert_eq(C.len, 0);
	msleep(50);
	cr_assert_eq(atomic_load(&n_aborts), 1);
	cr_assert_eq(atomic_load(&n_completes), 0);
	srv_stop();
}

Test(http, plain_close_during_async_answer_releases_connection)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "GET /async?slow HTTP/1.1\r\nHost: x\r\n\r\n");
	msleep(100);
	cli_close(&C); /* indistinguishable from a half-close on the server */
	msleep(700);
	cr_assert_eq(srv_conns(), 0, "the connection outlived its answer");
	cr_assert_eq(atomic_load(&n_completes), 1);
	cli_open(&C);
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_close(&C);
	srv_stop();
}

/* ---- body progress: minimum rate, total time, framing ---- */

/* Send `piece` every `every_ms` until the server closes or `max_ms` pass;
 * return the milliseconds until the close, or -1 if it stayed open. */
static long
trickle(struct cli *c, const char *piece, int every_ms, int max_ms, const struct timespec *t0)
{
	while (elapsed_ms(t0) < max_ms) {
		if (send(c->fd, piece, strlen(piece), MSG_NOSIGNAL) < 0)
			return elapsed_ms(t0);
		if (cli_closed_within(c, every_ms))
			return elapsed_ms(t0);
	}
	return -1;
}

static void
rate_limits(struct http_limits *lim, unsigned rate, unsigned window, unsigned grace)
{
	test_limits(lim);
	lim->min_body_rate = rate;
	lim->body_rate_window_ms = window;
	lim->body_rate_grace_ms = grace;
	lim->body_total_ms = 0;
}

Test(http, default_limits_have_body_rate_and_total)
{
	struct http_limits lim;
	memset(&lim, 0, sizeof(lim));
	http_limits_default(&lim);
	cr_assert_eq(lim.min_body_rate, 1024);
	cr_assert_eq(lim.body_total_ms, 15 * 60 * 1000);
	cr_assert_gt(lim.body_rate_window_ms, 0);
	cr_assert_geq(lim.body_rate_grace_ms, lim.body_rate_window_ms);
	cr_assert_gt(lim.handshake_ms, 0);
	cr_assert_gt(lim.head_ms, 0);
	cr_assert_gt(lim.body_idle_ms, 0);
	cr_assert_gt(lim.keepalive_ms, 0);
}

Test(http, body_below_minimum_rate_is_closed_and_aborted)
{
	struct http_limits lim;
	struct timespec t0;
	rate_limits(&lim, 1000, 200, 0);
	srv_start(&lim, 0, 0);
	cli_open(&C);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
	/* 10 bytes every 50 ms is 200 B/s: never idle, far below the rate. */
	long ms = trickle(&C, "0123456789", 50, 2000, &t0);
	cr_assert_neq(ms, -1, "a body at 200 B/s was kept");
	cr_assert_geq(ms, 150, "closed too early (%ld ms)", ms);
	cr_assert_lt(ms, 1200, "closed too late (%ld ms)", ms);
	msleep(50);
	cr_assert_eq(atomic_load(&n_aborts), 1);
	cr_assert_eq(atomic_load(&n_completes), 0);
	srv_stop();
}

Test(http, body_above_minimum_rate_is_served)
{
	static char piece[101];
	struct http_limits lim;
	rate_limits(&lim, 1000, 200, 0);
	srv_start(&lim, 0, 0);
	cli_open(&C);
	memset(piece, 'r', 100);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
	for (int i = 0; i < 10; i++) { /* about 3 kB/s, for 300 ms */
		cli_send(&C, piece);
		msleep(30);
	}
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(R.body_len, 1000);
	cr_assert_eq(atomic_load(&n_aborts), 0);
	cli_close(&C);
	srv_stop();
}

Test(http, body_rate_is_a_sliding_window_not_an_average)
{
	static char burst[901];
	struct http_limits lim;
	struct timespec t0;
	rate_limits(&lim, 1000, 200, 0);
	srv_start(&lim, 0, 0);
	cli_open(&C);
	memset(burst, 'b', 900);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
	cli_send(&C, burst);
	/* The average since the start stays above 1000 B/s for about 900 ms;
	 * the last 200 ms fall below it at once. */
	long ms = trickle(&C, "x", 50, 2000, &t0);
	cr_assert_neq(ms, -1);
	cr_assert_lt(ms, 750, "the rate was averaged over the whole body (%ld ms)", ms);
	msleep(50);
	cr_assert_eq(atomic_load(&n_aborts), 1);
	srv_stop();
}

Test(http, body_rate_waits_for_the_grace_period)
{
	struct http_limits lim;
	struct timespec t0;
	rate_limits(&lim, 1000, 200, 700);
	srv_start(&lim, 0, 0);
	cli_open(&C);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
	long ms = trickle(&C, "0123456789", 50, 2500, &t0);
	cr_assert_neq(ms, -1);
	cr_assert_geq(ms, 650, "closed during the grace period (%ld ms)", ms);
	cr_assert_lt(ms, 1800, "closed too late (%ld ms)", ms);
	srv_stop();
}

Test(http, body_total_deadline)
{
	struct http_limits lim;
	struct timespec t0;
	test_limits(&lim);
	lim.min_body_rate = 0;
	lim.body_total_ms = 500;
	srv_start(&lim, 0, 0);
	cli_open(&C);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
	long ms = trickle(&C, "0123456789", 100, 2500, &t0);
	cr_assert_neq(ms, -1, "the body outlived body_total_ms");
	cr_assert_geq(ms, 450, "closed too early (%ld ms)", ms);
	cr_assert_lt(ms, 1300, "closed too late (%ld ms)", ms);
	msleep(50);
	cr_assert_eq(atomic_load(&n_aborts), 1);
	/* A request without a body is not touched by the body deadlines. */
	cli_open(&C);
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	msleep(600);
	get_ok(&C, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
	cli_close(&C);
	srv_stop();
}

Test(http, rate_off_and_total_off_keep_a_slow_body)
{
	struct http_limits lim;
	rate_limits(&lim, 0, 0, 0);
	srv_start(&lim, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
	/* Ten bytes every 60 ms: counted in pieces, not by the clock, so a busy
	 * machine sends the same 100 bytes (a time budget sent fewer, and the
	 * body never ended). */
	for (int i = 0; i < 9; i++) {
		cr_assert_eq(send(C.fd, "0123456789", 10, MSG_NOSIGNAL), 10);
		cr_assert(!cli_closed_within(&C, 60), "closed after %d of 10 pieces", i + 1);
	}
	cli_send(&C, "0123456789");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(R.body_len, 100);
	cli_close(&C);
	srv_stop();
}

Test(http, chunk_framing_without_body_bytes_hits_idle_deadline)
{
	struct http_limits lim;
	struct timespec t0;
	test_limits(&lim);
	lim.body_idle_ms = 300;
	srv_start(&lim, 0, 0);
	cli_open(&C);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	/* Leading zeros of a chunk size: bytes, but never a body byte. */
	long ms = trickle(&C, "0", 80, 2000, &t0);
	cr_assert_neq(ms, -1, "framing bytes kept the body alive");
	cr_assert_lt(ms, 900, "closed too late (%ld ms)", ms);
	msleep(50);
	cr_assert_eq(atomic_load(&n_aborts), 1);
	srv_stop();
}

Test(http, endless_chunk_extension_gets_400)
{
	static char ext[20001];
	srv_start(NULL, 0, 0);
	cli_open(&C);
	memset(ext, 'e', sizeof(ext) - 1);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=");
	cli_send(&C, ext);
	cr_assert_eq(cli_read(&C, &R), 0, "no answer to 20 kB of chunk extension");
	cr_assert_eq(R.status, 400);
	cr_assert_eq(cli_closed_within(&C, 3000), 1);
	cr_assert_eq(atomic_load(&n_aborts), 1);
	cr_assert_eq(atomic_load(&n_completes), 0);
	srv_stop();
}

Test(http, many_small_chunks_and_trailers_are_fine)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	cli_send(&C, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 300; i++)
		cli_send(&C, "1;n=v\r\nz\r\n");
	cli_send(&C, "0\r\nX-Sum: 300\r\n\r\n");
	cr_assert_eq(cli_read(&C, &R), 0);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(R.body_len, 300);
	cr_assert_eq(R.body[299], 'z');
	cli_close(&C);
	srv_stop();
}

/* ---- other review findings ---- */

Test(http, trailer_fields_are_not_request_headers)
{
	srv_start(NULL, 0, 0);
	cli_open(&C);
	get_ok(&C, "POST /late-header HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	           "3\r\nabc\r\n0\r\nX-Test: smuggled\r\n\r\n",
	       "(none)");
	get_ok(&C, "POST /late-header HTTP/1.1\r\nHost: x\r\nX-Test: head\r\nTransfer-Encoding: chunked\r\n\r\n"
	           "0\r\nX-Test: smuggled\r\n\r\n",
	       "head");
	cli_close(&C);
	srv_stop();
}

Test(http, fragment_before_query_gets_400)
{
	srv_start(NULL, 0, 0);
	static const char *bad[] = {"GET /hello#x?y HTTP/1.1\r\nHost: x\r\n\r\n", "GET /hello?a#b HTTP/1.1\r\nHost: x\r\n\r\n",
	                            "GET /hello# HTTP/1.1\r\nHost: x\r\n\r\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cli_open(&C);
		cli_send(&C, bad[i]);
		cr_assert_eq(cli_read(&C, &R), 0);
		cr_assert_eq(R.status, 400, "case %zu got %d", i, R.status);
		cli_close(&C);
	}
	cr_assert_eq(atomic_load(&n_router), 0);
	srv_stop();
}

/* ---- limits that would silently mean "no deadline" ---- */

static int
listener_refused(struct http_limits *lim)
{
	struct http_listener_conf c = {.bind = "127.0.0.1:0", .router = test_router, .limits = *lim};
	struct event_base *base = event_base_new();
	cr_assert_not_null(base);
	struct http_listener *l = http_listener_new(base, &c);
	int refused = l == NULL;
	http_listener_free(l);
	event_base_free(base);
	return refused;
}

/* Send stderr to a temporary file (capture_start), then put it back and
 * read what was logged into `out` (capture_end). */
static int
capture_start(FILE **tmp)
{
	fflush(stderr);
	*tmp = tmpfile();
	cr_assert_not_null(*tmp);
	int saved = dup(STDERR_FILENO);
	cr_assert_geq(saved, 0);
	cr_assert_geq(dup2(fileno(*tmp), STDERR_FILENO), 0);
	return saved;
}

static void
capture_end(FILE *tmp, int saved, char *out, size_t outlen)
{
	fflush(stderr);
	cr_assert_geq(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(tmp);
	size_t n = fread(out, 1, outlen - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

Test(http, zero_deadlines_are_refused)
{
	static char out[8192];
	FILE *tmp;
	int saved = capture_start(&tmp);
	struct http_limits lim;
	unsigned *fields[] = {&lim.handshake_ms, &lim.head_ms, &lim.body_idle_ms, &lim.keepalive_ms,
	                      &lim.max_connections};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		test_limits(&lim);
		*fields[i] = 0;
		cr_assert(listener_refused(&lim), "a zero limit %zu was accepted", i);
	}
	rate_limits(&lim, 1000, 0, 0);
	cr_assert(listener_refused(&lim), "a minimum rate without a window was accepted");
	/* 0 turns the rate and the total off, and is fine. */
	rate_limits(&lim, 0, 0, 0);
	cr_assert_not(listener_refused(&lim));
	test_limits(&lim);
	cr_assert_not(listener_refused(&lim));
	capture_end(tmp, saved, out, sizeof(out));
	cr_assert_not_null(strstr(out, "limit handshake_ms is 0"), "logged: %s", out);
	cr_assert_not_null(strstr(out, "limit head_ms is 0"));
	cr_assert_not_null(strstr(out, "limit body_idle_ms is 0"));
	cr_assert_not_null(strstr(out, "limit keepalive_ms is 0"));
	cr_assert_not_null(strstr(out, "limit body_rate_window_ms"));
}

/* ---- TLS: a client that sends close_notify after its request ---- */

static void
tls_cert(const char *cert_path, const char *key_path)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	cr_assert_not_null(pk);
	X509 *x = X509_new();
	cr_assert_not_null(x);
	cr_assert_eq(X509_set_version(x, 2), 1);
	cr_assert_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	X509_NAME *name = X509_get_subject_name(x);
	cr_assert_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0),
	             1);
	cr_assert_eq(X509_set_issuer_name(x, name), 1);
	cr_assert_eq(X509_set_pubkey(x, pk), 1);
	cr_assert_gt(X509_sign(x, pk, EVP_sha256()), 0);
	FILE *f = fopen(cert_path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	f = fopen(key_path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

Test(http, tls_close_notify_after_request_still_gets_answer)
{
	char cert[128], key[128];
	struct http_listener_conf c = {0};
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/h3-httpXXXXXX");
	cr_assert_not_null(mkdtemp(srv.dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", srv.dir);
	snprintf(key, sizeof(key), "%s/key.pem", srv.dir);
	tls_cert(cert, key);
	srv.tls = tls_ctx_new(cert, key, HTTP_SURFACE_SOURCE);
	cr_assert_not_null(srv.tls);
	c.bind = "127.0.0.1:0";
	c.tls = srv.tls;
	test_limits(&c.limits);
	srv_start_conf(&c);

	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	cr_assert_not_null(cctx);
	cli_open(&C);
	SSL *ssl = SSL_new(cctx);
	cr_assert_not_null(ssl);
	cr_assert_eq(SSL_set_fd(ssl, C.fd), 1);
	cr_assert_eq(SSL_connect(ssl), 1);
	const char *rq = "GET /async HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(SSL_write(ssl, rq, (int)strlen(rq)), (int)strlen(rq));
	cr_assert_geq(SSL_shutdown(ssl), 0); /* close_notify: nothing more from us */
	size_t got = 0;
	for (;;) {
		int n = SSL_read(ssl, C.buf + got, (int)(sizeof(C.buf) - 1 - got));
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	C.buf[got] = '\0';
	cr_assert_not_null(strstr(C.buf, "HTTP/1.1 200 "), "no answer after close_notify: \"%s\"", C.buf);
	cr_assert_not_null(strstr(C.buf, "\r\n\r\nasync"));
	cr_assert_eq(atomic_load(&n_aborts), 0);
	SSL_free(ssl);
	SSL_CTX_free(cctx);
	cli_close(&C);
	char dir[64];
	memcpy(dir, srv.dir, sizeof(dir));
	srv_stop();
	unlink(cert);
	unlink(key);
	rmdir(dir);
}
