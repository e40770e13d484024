/*
 * Many slow clients cannot starve honest ones (issue: slow and many
 * clients). 1,000 connections to the plain source listener misbehave the
 * ways a cheap attacker would: a third send a request head one byte at a
 * time (slowloris), a third send a complete head and then trickle the body,
 * a third make one request and then sit idle on the keep-alive connection.
 * Meanwhile 16 honest clients each submit reports. Every honest report must
 * be acknowledged (201 with a receipt), the 99th percentile of their
 * latencies must stay under 1 s, and tipd's resident memory must not grow by
 * more than SLOW_RSS_GROWTH_MB while it holds the slow connections.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

#define SLOW_CONNS 1000
#define HONEST_CLIENTS 16
#define HONEST_EACH 8
#define SLOW_TICK_MS 200
#define SLOW_RSS_GROWTH_MB 128

static struct th T;

static void
setup(void)
{
	/* 1,000 slow sockets here and as many in tipd: lift the fd limit
	 * before tipd is started (it inherits it). */
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	cr_assert(rl.rlim_cur >= 2 * SLOW_CONNS + 256, "RLIMIT_NOFILE %llu is too low",
	          (unsigned long long)rl.rlim_cur);
	th_setup(&T);
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(slow_clients, .init = setup, .fini = teardown, .timeout = 120);

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tipd's VmRSS in KiB, or 0. */
static unsigned long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	unsigned long kib = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lu", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int
connect_port(int port, int nonblock)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- honest clients: one report per connection, timed ---- */

struct honest {
	int port;
	double lat[HONEST_EACH];
	int status[HONEST_EACH];
};

/* Submit one report; return the HTTP status (0 if none) and its latency. */
static int
honest_submit(int port, double *lat)
{
	static const char body[] = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	char req[4096], resp[2048];
	int n = snprintf(req, sizeof(req),
	                 "POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n%s",
	                 sizeof(body) - 1, body);
	double t0 = now_s();
	int fd = connect_port(port, 0), status = 0;
	size_t got = 0;
	if (fd < 0)
		return 0;
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, req, (size_t)n) == n) {
		ssize_t r;
		while (got < sizeof(resp) - 1 && (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
			got += (size_t)r;
	}
	resp[got] = '\0';
	*lat = now_s() - t0;
	close(fd);
	if (sscanf(resp, "HTTP/1.1 %d", &status) != 1 || strstr(resp, "\"receipt\"") == NULL)
		return status == 201 ? -201 : status;
	return status;
}

static void *
honest_main(void *arg)
{
	struct honest *h = arg;
	for (int i = 0; i < HONEST_EACH; i++)
		h->status[i] = honest_submit(h->port, &h->lat[i]);
	return NULL;
}

/* ---- slow clients ---- */

enum slow_kind { SLOW_HEAD, SLOW_BODY, SLOW_IDLE };

static const char *const slow_start[] = {
	[SLOW_HEAD] = "POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n",
	[SLOW_BODY] = ("POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	               "Content-Type: application/json\r\nContent-Length: 65536\r\n\r\n{"),
	[SLOW_IDLE] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
};
/* What each tick sends, one byte at a time (nothing for the idle ones). */
static const char *const slow_trickle[] = {
	[SLOW_HEAD] = "X-Slow: 1\r\n", [SLOW_BODY] = " ", [SLOW_IDLE] = "",
};

struct slow {
	int fd[SLOW_CONNS];
	size_t pos[SLOW_CONNS];
	int connected, closed_by_tipd;
};

/* Open every slow connection and send its opening bytes; return how many
 * connected within 10 s. */
static int
slow_open(struct slow *s, int port)
{
	static struct pollfd p[SLOW_CONNS];
	for (int i = 0; i < SLOW_CONNS; i++) {
		s->fd[i] = connect_port(port, 1);
		s->pos[i] = 0;
		p[i] = (struct pollfd){ .fd = s->fd[i], .events = POLLOUT };
	}
	double end = now_s() + 10;
	int pending = SLOW_CONNS;
	while (pending > 0 && now_s() < end) {
		if (poll(p, SLOW_CONNS, 100) < 0)
			break;
		for (int i = 0; i < SLOW_CONNS; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
			const char *m = slow_start[i % 3];
			if (err == 0 && write(p[i].fd, m, strlen(m)) == (ssize_t)strlen(m))
				s->connected++;
			p[i].fd = -1;
			pending--;
		}
	}
	return s->connected;
}

/* One tick: a byte more on each trickling connection, drain what came back
 * (an idle connection's answer, a 408), count the ones tipd closed. */
static void
slow_tick(struct slow *s)
{
	char sink[4096];
	for (int i = 0; i < SLOW_CONNS; i++) {
		if (s->fd[i] < 0)
			continue;
		ssize_t r;
		while ((r = read(s->fd[i], sink, sizeof(sink))) > 0)
			;
		const char *t = slow_trickle[i % 3];
		if (r == 0 || (r < 0 && errno != EAGAIN) ||
		    (t[0] != '\0' && write(s->fd[i], t + s->pos[i] % strlen(t), 1) < 0 && errno != EAGAIN)) {
			close(s->fd[i]);
			s->fd[i] = -1;
			s->closed_by_tipd++;
			continue;
		}
		s->pos[i]++;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

Test(slow_clients, honest_reports_get_through_1000_slow_connections)
{
	static struct slow s;
	static struct honest h[HONEST_CLIENTS];
	pthread_t th[HONEST_CLIENTS];
	memset(&s, 0, sizeof(s));
	unsigned long rss0 = rss_kib(T.tipd), rss_max = rss0;
	cr_assert(rss0 > 0);
	double t0 = now_s();

	int up = slow_open(&s, T.source_port);
	cr_assert_eq(up, SLOW_CONNS, "only %d of %d slow connections were set up", up, SLOW_CONNS);
	/* Let tipd accept and park them all, trickling meanwhile. */
	for (int i = 0; i < 5; i++) {
		slow_tick(&s);
		usleep(SLOW_TICK_MS * 1000);
	}
	for (int i = 0; i < HONEST_CLIENTS; i++) {
		h[i].port = T.source_port;
		cr_assert_eq(pthread_create(&th[i], NULL, honest_main, &h[i]), 0);
	}
	/* Keep trickling while the honest clients run (joined below, in the
	 * background of the ticks), and a little after. */
	double honest_t0 = now_s();
	for (int i = 0; i < 10; i++) {
		slow_tick(&s);
		unsigned long r = rss_kib(T.tipd);
		rss_max = r > rss_max ? r : rss_max;
		usleep(SLOW_TICK_MS * 1000);
	}
	for (int i = 0; i < HONEST_CLIENTS; i++)
		pthread_join(th[i], NULL);
	double honest_wall = now_s() - honest_t0;
	slow_tick(&s);
	unsigned long r = rss_kib(T.tipd);
	rss_max = r > rss_max ? r : rss_max;
	int still_open = 0;
	for (int i = 0; i < SLOW_CONNS; i++)
		still_open += s.fd[i] >= 0;

	static double lat[HONEST_CLIENTS * HONEST_EACH];
	int n = 0, ok = 0;
	for (int i = 0; i < HONEST_CLIENTS; i++)
		for (int j = 0; j < HONEST_EACH; j++) {
			lat[n++] = h[i].lat[j];
			ok += h[i].status[j] == 201;
		}
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_double);
	double p50 = lat[n / 2], p99 = lat[(n * 99 + 99) / 100 - 1], worst = lat[n - 1];
	fprintf(stderr,
	        "slow_clients: %d slow connections (%d still open, %d closed by tipd); "
	        "%d/%d honest reports acknowledged; latency p50 %.0f ms, p99 %.0f ms, max %.0f ms "
	        "(honest phase %.1f s); tipd VmRSS %lu KiB before, %lu KiB peak (+%lu KiB); "
	        "test %.1f s\n",
	        up, still_open, s.closed_by_tipd, ok, n, p50 * 1e3, p99 * 1e3, worst * 1e3,
	        honest_wall, rss0, rss_max, rss_max - rss0, now_s() - t0);
	cr_assert_eq(ok, n, "%d of %d honest reports were not acknowledged", n - ok, n);
	cr_assert(p99 < 1.0, "honest p99 %.0f ms (must be under 1 s)", p99 * 1e3);
	cr_assert(rss_max - rss0 < SLOW_RSS_GROWTH_MB * 1024ul, "tipd grew by %lu KiB",
	          rss_max - rss0);
	/* The slow ones were really held, not refused at once. */
	cr_assert(still_open >= SLOW_CONNS * 9 / 10, "only %d slow connections stayed open",
	          still_open);
	for (int i = 0; i < SLOW_CONNS; i++)
		if (s.fd[i] >= 0)
			close(s.fd[i]);
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
}
