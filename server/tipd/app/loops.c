#include "loops.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "routes.h"

enum { L_SOURCE, L_SOURCE_TLS, L_REVIEW, L_COUNT };

struct loop {
	struct event_base *base;
	pthread_t thread;
	int running;
	struct http_listener *l[L_COUNT];
	struct routes_ctx rt; /* its routers' app and own database connection */
};

struct loops {
	struct app *app;
	unsigned n;
	struct loop v[];
};

struct loops *
loops_new(struct app *app, unsigned n)
{
	if (n == 0 || n > LOOPS_MAX)
		return NULL;
	struct loops *l = calloc(1, sizeof(*l) + n * sizeof(l->v[0]));
	if (l == NULL)
		return NULL;
	l->app = app;
	l->n = n;
	for (unsigned i = 0; i < n; i++) {
		l->v[i].rt.app = app;
		if ((l->v[i].base = event_base_new()) == NULL) {
			loops_free_bases(l);
			return NULL;
		}
	}
	app->base = l->v[0].base;
	return l;
}

unsigned
loops_count(const struct loops *l)
{
	return l->n;
}

int
loops_open_db(struct loops *ls, const char *conninfo)
{
	if (db_conninfo_check(conninfo) != 0)
		return -1;
	for (unsigned i = 0; i < ls->n; i++) {
		if (ls->v[i].rt.db == NULL && (ls->v[i].rt.db = db_new(ls->v[i].base, conninfo)) == NULL) {
			log_error("cannot open the database connection of event loop %u", i);
			return -1;
		}
	}
	return 0;
}

/* Listen on `addr` on loop `i`; log the address actually bound from loop 0. */
static struct http_listener *
listen_one(struct loops *ls, unsigned i, const char *addr, const struct config_listener *cl,
           struct tls_ctx *tls, enum http_surface surface, http_router router)
{
	struct http_listener_conf lc = {
		.bind = addr,
		.tls = tls,
		.surface = surface,
		.proxy_protocol = cl->proxy_protocol,
		/* HSTS only on clearnet TLS: the review listener sits behind an onion. */
		.hsts = tls != NULL && surface == HTTP_SURFACE_SOURCE,
		.onion_location = tls != NULL && surface == HTTP_SURFACE_SOURCE
		                          ? ls->app->cfg->onion_location
		                          : NULL,
		.limits = ls->app->cfg->limits,
		.router = router,
		.router_arg = &ls->v[i].rt,
		.reuseport = ls->n > 1,
		.too_large = surface == HTTP_SURFACE_SOURCE ? routes_too_large : NULL,
	};
	struct http_listener *hl = http_listener_new(ls->v[i].base, &lc);
	if (hl == NULL || i > 0)
		return hl;
	const char *what = surface == HTTP_SURFACE_SOURCE ? "source" : "review";
	const char *colon = strrchr(addr, ':');
	int port = http_listener_port(hl);
	if (port > 0 && colon != NULL)
		log_info("listening on %.*s:%d (%s%s)", (int)(colon - addr), addr, port, what,
		         tls ? ", TLS" : "");
	else
		log_info("listening on %s (%s%s)", addr, what, tls ? ", TLS" : "");
	return hl;
}

/* One configured listener on every loop (a unix socket on loop 0 only). */
static int
listen_all(struct loops *ls, int slot, const struct config_listener *cl, struct tls_ctx *tls,
           enum http_surface surface, http_router router)
{
	char addr[300];
	if (cl->listen == NULL)
		return 0;
	ls->v[0].l[slot] = listen_one(ls, 0, cl->listen, cl, tls, surface, router);
	if (ls->v[0].l[slot] == NULL)
		return -1;
	if (strncmp(cl->listen, "unix:", 5) == 0)
		return 0;
	/* Port 0 means "any": the other loops must share the port loop 0 got. */
	const char *colon = strrchr(cl->listen, ':');
	snprintf(addr, sizeof(addr), "%.*s:%d", (int)(colon - cl->listen), cl->listen,
	         http_listener_port(ls->v[0].l[slot]));
	for (unsigned i = 1; i < ls->n; i++)
		if ((ls->v[i].l[slot] = listen_one(ls, i, addr, cl, tls, surface, router)) == NULL)
			return -1;
	return 0;
}

int
loops_listen(struct loops *ls)
{
	struct app *app = ls->app;
	struct tipd_config *c = app->cfg;
	if (listen_all(ls, L_SOURCE, &c->source, NULL, HTTP_SURFACE_SOURCE, routes_source) != 0 ||
	    listen_all(ls, L_SOURCE_TLS, &c->source_tls, app->source_tls, HTTP_SURFACE_SOURCE,
	               c->source_tls.submissions ? routes_source : routes_source_clearnet) != 0 ||
	    listen_all(ls, L_REVIEW, &c->review, app->review_tls, HTTP_SURFACE_REVIEW,
	               routes_review) != 0)
		return -1;
	return 0;
}

static void *
loop_main(void *arg)
{
	struct loop *lp = arg;
	event_base_loop(lp->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int
loops_start(struct loops *ls)
{
	for (unsigned i = 1; i < ls->n; i++) {
		if (pthread_create(&ls->v[i].thread, NULL, loop_main, &ls->v[i]) != 0) {
			log_error("cannot start event loop %u", i);
			return -1;
		}
		ls->v[i].running = 1;
		/* Named for ps and the benchmark's per-thread CPU figures (loop 0
		 * is the main thread, named tipd). Set from here, through /proc,
		 * because the sandbox is already in place and forbids prctl. */
		char name[32];
		snprintf(name, sizeof(name), "tipd-loop%u", i);
		name[15] = '\0'; /* the kernel's limit for a thread name */
		(void)pthread_setname_np(ls->v[i].thread, name);
	}
	return 0;
}

static void
close_listeners(evutil_socket_t fd, short what, void *arg)
{
	struct loop *lp = arg;
	(void)fd;
	(void)what;
	for (int k = 0; k < L_COUNT; k++)
		if (lp->l[k] != NULL)
			http_listener_close(lp->l[k]);
}

void
loops_stop_accepting(struct loops *ls)
{
	static const struct timeval now = { 0, 0 };
	for (unsigned i = 0; i < ls->n; i++) {
		/* Run on the loop that owns the listeners. */
		if (event_base_once(ls->v[i].base, -1, EV_TIMEOUT, close_listeners, &ls->v[i], &now) != 0)
			log_error("cannot stop accepting on event loop %u", i);
	}
}

static void
break_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Stop every loop thread and wait for it. The break is queued as an event on
 * the loop rather than sent with event_base_loopbreak from here: a thread that
 * has not yet entered event_base_loop would clear that flag on entry and run
 * forever, while a queued event waits for the loop to run it. */
void
loops_stop(struct loops *ls)
{
	static const struct timeval now = { 0, 0 };
	if (ls == NULL)
		return;
	for (unsigned i = 1; i < ls->n; i++) {
		if (!ls->v[i].running)
			continue;
		if (event_base_once(ls->v[i].base, -1, EV_TIMEOUT, break_loop, ls->v[i].base, &now) != 0)
			event_base_loopbreak(ls->v[i].base);
		pthread_join(ls->v[i].thread, NULL);
		ls->v[i].running = 0;
	}
}

void
loops_close(struct loops *ls)
{
	if (ls == NULL)
		return;
	loops_stop(ls);
	for (unsigned i = 0; i < ls->n; i++) {
		for (int k = 0; k < L_COUNT; k++)
			http_listener_free(ls->v[i].l[k]);
		if (ls->v[i].base == NULL)
			continue;
		/* Let libevent run the deferred frees of the closed connections. */
		event_base_loop(ls->v[i].base, EVLOOP_NONBLOCK);
		db_free(ls->v[i].rt.db);
		ls->v[i].rt.db = NULL;
	}
}

void
loops_free_bases(struct loops *ls)
{
	if (ls == NULL)
		return;
	for (unsigned i = 0; i < ls->n; i++)
		if (ls->v[i].base != NULL)
			event_base_free(ls->v[i].base);
	free(ls);
}
