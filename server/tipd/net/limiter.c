#include "limiter.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LIMITER_KEYS 1024

/* The times of the last `cap` failures, as a ring. */
struct lim_window {
	int64_t *t;
	unsigned cap;
	unsigned next;
};

struct lim_keyslot {
	uint8_t pk[LIMITER_KEY_LEN];
	int used;
	int64_t last;
	struct lim_window w;
};

struct limiter {
	pthread_mutex_t mu;
	unsigned window_s;
	struct lim_window all;
	struct lim_keyslot keys[LIMITER_KEYS];
	int64_t *store; /* every window's times, one allocation */
};

struct limiter *
limiter_new(unsigned per_key, unsigned total, unsigned window_s)
{
	struct limiter *l;
	if (per_key == 0 || total == 0 || window_s == 0 || per_key > 1000 || total > 100000)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->store = calloc((size_t)total + (size_t)per_key * LIMITER_KEYS, sizeof(int64_t));
	if (l->store == NULL || pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l->store);
		free(l);
		return NULL;
	}
	l->window_s = window_s;
	l->all = (struct lim_window){ l->store, total, 0 };
	for (unsigned i = 0; i < LIMITER_KEYS; i++)
		l->keys[i].w =
			(struct lim_window){ l->store + total + (size_t)i * per_key, per_key, 0 };
	return l;
}

void
limiter_free(struct limiter *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l->store);
	free(l);
}

/* Seconds until the window has room again, or 0 if it has room now. The
 * oldest of the last `cap` failures is at `next`: if it is still inside the
 * window, the window is full. */
static unsigned
window_wait(const struct lim_window *w, unsigned window_s, int64_t now)
{
	int64_t oldest = w->t[w->next];
	if (oldest == 0 || oldest + window_s <= now)
		return 0;
	return (unsigned)(oldest + window_s - now);
}

static void
window_add(struct lim_window *w, int64_t now)
{
	w->t[w->next] = now > 0 ? now : 1;
	w->next = (w->next + 1) % w->cap;
}

static struct lim_keyslot *
key_find(struct limiter *l, const uint8_t *pk, int create, int64_t now)
{
	struct lim_keyslot *victim = &l->keys[0];
	for (unsigned i = 0; i < LIMITER_KEYS; i++) {
		struct lim_keyslot *k = &l->keys[i];
		if (k->used && memcmp(k->pk, pk, LIMITER_KEY_LEN) == 0)
			return k;
		if (!k->used || (victim->used && k->last < victim->last))
			victim = k;
	}
	if (!create)
		return NULL;
	/* Reuse the slot idle the longest (or a free one). */
	memcpy(victim->pk, pk, LIMITER_KEY_LEN);
	victim->used = 1;
	victim->last = now;
	memset(victim->w.t, 0, victim->w.cap * sizeof(int64_t));
	victim->w.next = 0;
	return victim;
}

unsigned
limiter_check(struct limiter *l, const uint8_t *pk, int64_t now)
{
	unsigned wait;
	if (pthread_mutex_lock(&l->mu) != 0)
		return 1;
	wait = window_wait(&l->all, l->window_s, now);
	if (pk != NULL) {
		struct lim_keyslot *k = key_find(l, pk, 0, now);
		unsigned kw = k != NULL ? window_wait(&k->w, l->window_s, now) : 0;
		if (kw > wait)
			wait = kw;
	}
	pthread_mutex_unlock(&l->mu);
	return wait;
}

void
limiter_fail(struct limiter *l, const uint8_t *pk, int64_t now)
{
	if (pthread_mutex_lock(&l->mu) != 0)
		return;
	window_add(&l->all, now);
	if (pk != NULL) {
		struct lim_keyslot *k = key_find(l, pk, 1, now);
		k->last = now;
		window_add(&k->w, now);
	}
	pthread_mutex_unlock(&l->mu);
}
