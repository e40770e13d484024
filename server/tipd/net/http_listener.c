/*
 * http_listener: listeners on TCP (IPv4, IPv6, SO_REUSEPORT) or unix
 * sockets: parsing and binding listen addresses, accepting (with a pause
 * when out of descriptors), the default limits and their check, and
 * closing (connections finish their current request).
 */
#include "http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define ACCEPT_RETRY_MS 500
#define LISTEN_BACKLOG 511

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

/* ---- listeners ---- */

static void
listener_acceptcb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int socklen,
                  void *arg)
{
	(void)evl;
	(void)sa; /* the peer's address is never looked at, logged or kept */
	(void)socklen;
	(void)http_conn_new(arg, (int)fd);
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
	struct timeval tv = { .tv_sec = 0, .tv_usec = ACCEPT_RETRY_MS * 1000 };
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
	l->evl = evconnlistener_new(l->base, listener_acceptcb, l,
	                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, LISTEN_BACKLOG,
	                            fd);
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
		return bind[5] == '/' &&
			strlen(bind + 5) < sizeof(((struct sockaddr_un *)0)->sun_path);
	return parse_inet(bind, &ss, &len) == 0;
}

static int
bind_inet(struct http_listener *l, const char *bind)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (parse_inet(bind, &ss, &len) != 0) {
		log_error(
			"http: bad listen address \"%s\" (want host:port, [v6]:port or unix:/path)",
			bind);
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
	int rc = strncmp(conf->bind, "unix:", 5) == 0 ? bind_unix(l, conf->bind + 5)
						      : bind_inet(l, conf->bind);
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
	return http_conn_new(l, fd);
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
		if (c->state == CS_PROXY || c->state == CS_HANDSHAKE ||
		    (c->state == CS_IDLE && c->req == NULL))
			http_conn_free(c);
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
		http_conn_free(l->conns);
	if (l->retry_ev != NULL)
		event_free(l->retry_ev);
	free(l->unix_path);
	free(l);
}
