/*
 * bench_tls: a small OpenSSL client for what wrk cannot do.
 *
 *   bench_tls handshake --port P --seconds S [--threads T] [--path /healthz]
 *       Each of T threads, until S seconds pass: connect to 127.0.0.1:P, do a
 *       full TLS 1.3 handshake (no session resumption), send one GET, read the
 *       whole response, close. Prints handshakes (= requests) per second.
 *
 *   bench_tls hold --port P --count N --seconds S --stop-file F [--check K]
 *       Open N TLS connections (at most --window handshakes in flight), make
 *       one GET on each, and keep them open and idle. Prints {"ready":…}
 *       once they are all up, then holds them until F exists or S seconds
 *       pass, then sends one more GET on K connections spread over the set
 *       and prints how many were still open and answered 200.
 *
 * The certificate is not verified (the bench makes a throwaway one); the
 * handshake still checks the server's CertificateVerify signature.
 * Everything goes to 127.0.0.1 only. Output is one JSON object per line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_CONNS 60000
#define RESP_MAX 16384

struct opts {
	int port;
	unsigned seconds;
	unsigned threads;
	unsigned count;
	unsigned window;
	unsigned check;
	const char *path;
	const char *stop_file;
};

static SSL_CTX *ctx;
static char request[512];
static size_t request_len;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Make the client context: TLS 1.3 only, no verification, no session cache.
 * Return 0 or -1. */
static int
ctx_init(void)
{
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
		return -1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

/* Start a TCP connection to 127.0.0.1:port (non-blocking if asked). Return the fd or -1. */
static int
tcp_connect(int port, bool nonblock)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	int one = 1;
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Return 1 if `buf` (len bytes) holds a whole response, 0 if not yet, and
 * set *status. Responses carry Content-Length (tipd and nginx both do). */
static int
response_complete(const char *buf, size_t len, int *status)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	size_t head = (size_t)(end - buf) + 4, body = 0;
	*status = len > 12 && memcmp(buf, "HTTP/1.1 ", 9) == 0 ? (int)strtol(buf + 9, NULL, 10) : 0;
	for (const char *p = buf; p < end; p++) {
		if ((p == buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
			body = (size_t)strtoul(p + 15, NULL, 10);
			break;
		}
	}
	return len >= head + body;
}

/* --- handshake mode --- */

struct hs_worker {
	const struct opts *o;
	double deadline;
	uint64_t ok, failed;
	pthread_t th;
};

/* One connection, one handshake, one request. Return 0 or -1. */
static int
hs_once(int port)
{
	char resp[RESP_MAX];
	size_t len = 0;
	int status = 0, rc = -1;
	int fd = tcp_connect(port, false);
	SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1 ||
	    SSL_write(ssl, request, (int)request_len) != (int)request_len)
		goto fail;
	while (len < sizeof(resp)) {
		int r = SSL_read(ssl, resp + len, (int)(sizeof(resp) - len));
		if (r <= 0)
			goto fail;
		len += (size_t)r;
		if (response_complete(resp, len, &status))
			break;
	}
	rc = status == 200 ? 0 : -1;
fail:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return rc;
}

static void *
hs_main(void *arg)
{
	struct hs_worker *w = arg;
	while (now_s() < w->deadline && w->ok + w->failed < 100000000u) {
		if (hs_once(w->o->port) == 0)
			w->ok++;
		else
			w->failed++;
	}
	return NULL;
}

static int
run_handshake(const struct opts *o)
{
	static struct hs_worker w[MAX_THREADS];
	double t0 = now_s();
	unsigned started = 0;
	uint64_t ok = 0, failed = 0;
	for (unsigned i = 0; i < o->threads; i++) {
		w[i].o = o;
		w[i].deadline = t0 + o->seconds;
		if (pthread_create(&w[i].th, NULL, hs_main, &w[i]) != 0)
			break;
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		ok += w[i].ok;
		failed += w[i].failed;
	}
	double t = now_s() - t0;
	printf("{\"threads\":%u,\"handshakes\":%llu,\"failed\":%llu,\"seconds\":%.3f,"
	       "\"per_sec\":%.1f}\n",
	       started, (unsigned long long)ok, (unsigned long long)failed, t, (double)ok / t);
	return started == o->threads ? 0 : 1;
}

/* --- hold mode --- */

enum cstate { C_CONNECT, C_HANDSHAKE, C_SEND, C_READ, C_IDLE, C_DONE, C_DEAD };

struct conn {
	int fd;
	SSL *ssl;
	enum cstate st;
	unsigned short len;
	bool answered;   /* the last request got a 200 */
	char *resp;
};

struct hold {
	int ep;
	struct conn *c;
	unsigned n;
	unsigned busy;     /* connections between start and idle/done/dead */
	unsigned dead;
};

static void
conn_kill(struct hold *h, struct conn *c)
{
	if (c->st == C_DEAD)
		return;
	if (c->st != C_IDLE && c->st != C_DONE)
		h->busy--;
	c->st = C_DEAD;
	h->dead++;
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->resp);
	c->resp = NULL;
}

static void
conn_want(struct hold *h, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)(c - h->c) };
	(void)epoll_ctl(h->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Map an SSL result to a wait; return 1 to wait, -1 if the connection failed. */
static int
ssl_wait(struct hold *h, struct conn *c, int r)
{
	int e = SSL_get_error(c->ssl, r);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ) {
		conn_want(h, c, EPOLLIN);
		return 1;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		conn_want(h, c, EPOLLOUT);
		return 1;
	}
	return -1;
}

/* Take one step on connection c. Return 1 to take another, 0 to wait for
 * an event (or because the connection is finished or dead). */
static int
conn_step1(struct hold *h, struct conn *c)
{
	int r, status = 0, err = 0;
	socklen_t el = sizeof(err);
	char tmp[256];
	switch (c->st) {
	case C_CONNECT:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
			break;
		c->st = C_HANDSHAKE;
		return 1;
	case C_HANDSHAKE:
		if ((r = SSL_connect(c->ssl)) == 1) {
			c->st = C_SEND;
			return 1;
		}
		return ssl_wait(h, c, r) > 0 ? 0 : (conn_kill(h, c), 0);
	case C_SEND:
		if ((r = SSL_write(c->ssl, request, (int)request_len)) <= 0)
			return ssl_wait(h, c, r) > 0 ? 0 : (conn_kill(h, c), 0);
		c->st = C_READ;
		c->len = 0;
		if (c->resp == NULL && (c->resp = malloc(RESP_MAX)) == NULL)
			break;
		return 1;
	case C_READ:
		if ((r = SSL_read(c->ssl, c->resp + c->len, RESP_MAX - c->len)) <= 0)
			return ssl_wait(h, c, r) > 0 ? 0 : (conn_kill(h, c), 0);
		c->len = (unsigned short)(c->len + r);
		if (!response_complete(c->resp, c->len, &status))
			return c->len < RESP_MAX ? 1 : (conn_kill(h, c), 0);
		c->answered = status == 200;
		free(c->resp);
		c->resp = NULL;
		c->st = c->answered ? C_IDLE : C_DONE;
		h->busy--;
		/* Idle: a readable event from now on means the server closed. */
		conn_want(h, c, EPOLLIN | EPOLLRDHUP);
		return 0;
	case C_IDLE:
	case C_DONE:
		r = SSL_read(c->ssl, tmp, sizeof(tmp));
		if (r <= 0 && ssl_wait(h, c, r) > 0)
			return 0;
		break;
	case C_DEAD:
		return 0;
	}
	conn_kill(h, c);
	return 0;
}

/* Drive connection c as far as it goes without blocking. */
static void
conn_step(struct hold *h, struct conn *c)
{
	while (conn_step1(h, c))
		;
}

/* Open connection i. Return 0 or -1. */
static int
conn_open(struct hold *h, unsigned i, int port)
{
	struct conn *c = &h->c[i];
	c->fd = tcp_connect(port, true);
	if (c->fd < 0)
		return -1;
	c->st = C_CONNECT;
	h->busy++;
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
	return epoll_ctl(h->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Wait for events for up to `ms` and drive the connections that have some. */
static void
hold_poll(struct hold *h, int ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(h->ep, evs, 256, ms);
	for (int i = 0; i < n; i++)
		conn_step(h, &h->c[evs[i].data.u32]);
}

/* Send one more request on `k` connections spread over the set; return how
 * many answered 200 within 30 s. */
static unsigned
hold_check(struct hold *h, unsigned k)
{
	unsigned ok = 0, step = k > 0 && h->n / k > 0 ? h->n / k : 1, picked = 0;
	for (unsigned i = 0; i < h->n && picked < k; i += step, picked++) {
		struct conn *c = &h->c[i];
		if (c->st != C_IDLE)
			continue;
		c->st = C_SEND;
		c->answered = false;
		h->busy++;
		conn_step(h, c);
	}
	double end = now_s() + 30;
	while (h->busy > 0 && now_s() < end)
		hold_poll(h, 100);
	for (unsigned i = 0, p = 0; i < h->n && p < k; i += step, p++)
		if (h->c[i].st == C_IDLE && h->c[i].answered)
			ok++;
	return ok;
}

static int
run_hold(const struct opts *o)
{
	struct hold h = { .n = o->count };
	struct stat st;
	h.c = calloc(h.n, sizeof(*h.c));
	h.ep = epoll_create1(EPOLL_CLOEXEC);
	if (h.c == NULL || h.ep < 0)
		return 1;
	for (unsigned i = 0; i < h.n; i++) {
		h.c[i].fd = -1;
		h.c[i].st = C_DEAD;
	}
	double t0 = now_s(), end = t0 + o->seconds;
	unsigned next = 0, open_failed = 0;
	/* Open with at most `window` connections in progress. */
	while ((next < h.n || h.busy > 0) && now_s() < end) {
		while (next < h.n && h.busy < o->window) {
			if (conn_open(&h, next, o->port) != 0) {
				open_failed++;
				conn_kill(&h, &h.c[next]);
			}
			next++;
		}
		hold_poll(&h, 50);
	}
	double t_up = now_s() - t0;
	unsigned up = 0;
	for (unsigned i = 0; i < h.n; i++)
		up += h.c[i].st == C_IDLE;
	printf("{\"ready\":%u,\"seconds\":%.3f}\n", up, t_up);
	fflush(stdout);
	/* Hold until told to stop; a connection the server closes is counted. */
	unsigned dead_before = h.dead;
	while (now_s() < end && stat(o->stop_file, &st) != 0)
		hold_poll(&h, 100);
	unsigned dropped = h.dead - dead_before;
	unsigned ok = hold_check(&h, o->check);
	printf("{\"target\":%u,\"established\":%u,\"open_failed\":%u,\"establish_seconds\":%.3f,"
	       "\"dropped_while_idle\":%u,\"checked\":%u,\"check_ok\":%u}\n",
	       h.n, up, open_failed, t_up, dropped, o->check, ok);
	for (unsigned i = 0; i < h.n; i++)
		conn_kill(&h, &h.c[i]);
	free(h.c);
	close(h.ep);
	return 0;
}

static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "port", required_argument, NULL, 'p' },    { "seconds", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' }, { "count", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },  { "check", required_argument, NULL, 'k' },
		{ "path", required_argument, NULL, 'P' },    { "stop-file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .threads = 1, .window = 64, .check = 100, .path = "/healthz" };
	unsigned port = 0;
	int ch, bad = 0;
	if (argc < 2)
		goto usage;
	const char *mode = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 'p': bad |= parse_uint(optarg, 65535, &port); break;
		case 's': bad |= parse_uint(optarg, 3600, &o.seconds); break;
		case 't': bad |= parse_uint(optarg, MAX_THREADS, &o.threads); break;
		case 'n': bad |= parse_uint(optarg, MAX_CONNS, &o.count); break;
		case 'w': bad |= parse_uint(optarg, 4096, &o.window); break;
		case 'k': bad |= parse_uint(optarg, MAX_CONNS, &o.check); break;
		case 'P': o.path = optarg; break;
		case 'f': o.stop_file = optarg; break;
		default: bad = 1;
		}
	}
	o.port = (int)port;
	if (bad || port == 0 || o.seconds == 0 || o.threads == 0 || o.window == 0 ||
	    strlen(o.path) > 200 || o.path[0] != '/')
		goto usage;
	int n = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n",
	                 o.path);
	request_len = (size_t)n;
	if (ctx_init() != 0) {
		fprintf(stderr, "bench_tls: cannot make the TLS context\n");
		return 1;
	}
	if (strcmp(mode, "handshake") == 0)
		return run_handshake(&o);
	if (strcmp(mode, "hold") == 0 && o.count > 0 && o.stop_file != NULL)
		return run_hold(&o);
usage:
	fprintf(stderr, "usage: bench_tls handshake --port P --seconds S [--threads T] [--path P]\n"
	                "       bench_tls hold --port P --count N --seconds S --stop-file F "
	                "[--window W] [--check K] [--path P]\n");
	return 2;
}
