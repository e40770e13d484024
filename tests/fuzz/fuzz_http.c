/*
 * libFuzzer target: the HTTP/1.1 connection layer. Each input is a client's
 * byte stream, written into a socketpair whose other end a real listener
 * adopts; the event loop runs until the connection is gone. The first byte
 * picks a listener: bit 0 set means the PROXY line is required.
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static struct http_listener *plain, *proxied;
static int pending_async;

struct fz {
	struct buf body;
	struct event *ev;
	struct http_request *req;
	int aborted;
};

static void
fz_free(struct fz *f)
{
	buf_free(&f->body);
	if (f->ev != NULL)
		event_free(f->ev);
	free(f);
}

static int
fz_body(struct http_request *req, const uint8_t *p, size_t n)
{
	struct fz *f = http_request_data(req);
	if (buf_add(&f->body, p, n) != 0) {
		http_respond_problem(req, 413, "fuzz");
		fz_free(f);
		return -1;
	}
	return 0;
}

static void
fz_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fz *f = arg;
	(void)fd;
	(void)what;
	pending_async--;
	http_respond(f->req, 200, "text/plain", f->body.data, f->body.len, "X-A: b\r\n");
	fz_free(f);
}

static void
fz_complete(struct http_request *req)
{
	struct fz *f = http_request_data(req);
	const char *path = http_request_path(req);
	if (strcmp(path, "/async") == 0) {
		struct timeval tv = {0, 0};
		f->req = req;
		f->ev = evtimer_new(http_request_base(req), fz_fire, f);
		if (f->ev != NULL && evtimer_add(f->ev, &tv) == 0) {
			pending_async++;
			return;
		}
	}
	http_respond(req, 200, "text/plain", f->body.data, f->body.len, NULL);
	fz_free(f);
}

static void
fz_abort(struct http_request *req)
{
	struct fz *f = http_request_data(req);
	if (f->ev != NULL)
		f->aborted = 1; /* fz_fire still answers (and releases) */
	else
		fz_free(f);
}

static const struct http_handler fz_handler = {fz_body, fz_complete, fz_abort};

static const struct http_handler *
fz_router(struct http_request *req, void *arg)
{
	(void)arg;
	if (strcmp(http_request_path(req), "/404") == 0) {
		http_respond_problem(req, 404, http_request_query(req));
		return NULL;
	}
	(void)http_request_header(req, "host");
	(void)http_request_content_length(req);
	struct fz *f = calloc(1, sizeof(*f));
	if (f == NULL) {
		http_respond_problem(req, 503, NULL);
		return NULL;
	}
	buf_init(&f->body, 512);
	http_request_set_data(req, f);
	return &fz_handler;
}

static struct http_listener *
fz_listener(int proxy)
{
	struct http_listener_conf c = {0};
	c.bind = "127.0.0.1:0";
	c.proxy_protocol = proxy;
	c.router = fz_router;
	http_limits_default(&c.limits);
	c.limits.max_header_bytes = 1024;
	c.limits.max_headers = 8;
	c.limits.max_body_bytes = 256;
	return http_listener_new(base, &c);
}

static void
fz_init(void)
{
	log_init("fuzz_http", LOG_LVL_ERROR);
	base = event_base_new();
	plain = fz_listener(0);
	proxied = fz_listener(1);
	if (base == NULL || plain == NULL || proxied == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (base == NULL)
		fz_init();
	if (size < 1 || size > 65536)
		return 0;
	struct http_listener *l = (data[0] & 1) ? proxied : plain;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		return 0;
	if (http_listener_adopt(l, sv[1]) != 0) {
		close(sv[0]);
		return 0;
	}
	size_t off = 1;
	char sink[4096];
	if (off == size)
		(void)shutdown(sv[0], SHUT_WR);
	for (int i = 0; i < 1000 && (http_listener_conns(l) > 0 || pending_async > 0); i++) {
		if (off < size) {
			ssize_t n = write(sv[0], data + off, size - off);
			if (n > 0)
				off += (size_t)n;
			if (off == size || n < 0)
				(void)shutdown(sv[0], SHUT_WR);
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		while (read(sv[0], sink, sizeof(sink)) > 0)
			;
	}
	close(sv[0]);
	if (http_listener_conns(l) > 0 || pending_async > 0)
		abort(); /* a connection outlived its client */
	return 0;
}
