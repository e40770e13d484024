/*
 * app: the daemon's shared state, built by main.c at start-up and handed to
 * routes. Nothing here is per-request.
 */
#ifndef TIPD_APP_H
#define TIPD_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_base;
struct tipd_config;
struct teams;
struct questionnaire;
struct spool;
struct flusher;
struct tls_ctx;
struct receipt_pepper;
struct loops;
struct review;
struct inbox;
struct ishare;
struct audit;
struct pages;

struct app {
	struct tipd_config *cfg;
	struct event_base *base;   /* loop 0's: signals, drain timer */
	struct teams *teams;
	struct questionnaire *questionnaire;
	struct spool *spool;
	struct flusher *flusher;
	struct receipt_pepper *pepper;
	struct tls_ctx *source_tls;
	struct tls_ctx *review_tls;
	struct loops *loops;       /* the event loops and their listeners */
	struct review *review;     /* review API state (nonces, limiter, members) */
	struct inbox *inbox;       /* the source's inbox (pending set, limiter, signers) */
	struct ishare *ishare;     /* the other hosts' pending sets, or NULL (inbox_share.h) */
	struct audit *audit;       /* audit log: checkpoint key and signer thread */
	struct pages *pages;       /* the source pages, or NULL ([web] dir unset) */
	struct event *drain_tick;  /* polls in-flight submissions at shutdown */
	atomic_bool draining;      /* shutting down: refuse new submissions */
	atomic_uint inflight;      /* submissions between their head and their answer */
};

#endif
