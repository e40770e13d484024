/*
 * once: an open-addressing hash set of fixed capacity (see once.h). The
 * table has twice as many slots as the set may hold, so a probe always ends
 * at an empty slot. Keys are hashed with BLAKE2b under a key drawn at start,
 * so nobody outside can choose identifiers that collide.
 */
#include "once.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t len; /* 0: empty */
	uint8_t key[ONCE_KEY_MAX];
};

struct once {
	pthread_mutex_t mu;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	size_t cap, n, nslots;
	struct slot *slots;
};

struct once *
once_new(size_t cap)
{
	struct once *o = NULL;
	if (cap == 0 || cap > SIZE_MAX / 2 / sizeof(struct slot) ||
	    (o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->cap = cap;
	o->nslots = 2 * cap;
	o->slots = calloc(o->nslots, sizeof(struct slot));
	if (o->slots == NULL || pthread_mutex_init(&o->mu, NULL) != 0) {
		free(o->slots);
		free(o);
		return NULL;
	}
	crypto_shorthash_keygen(o->hkey);
	return o;
}

void
once_free(struct once *o)
{
	if (o == NULL)
		return;
	pthread_mutex_destroy(&o->mu);
	free(o->slots);
	free(o);
}

int
once_first(struct once *o, const void *key, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	int first = 0;
	if (o == NULL || key == NULL || len == 0 || len > ONCE_KEY_MAX)
		return 0;
	crypto_shorthash(h, key, len, o->hkey);
	for (size_t i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	pthread_mutex_lock(&o->mu);
	for (size_t i = (size_t)(v % o->nslots);; i = (i + 1) % o->nslots) {
		struct slot *s = &o->slots[i];
		if (s->len == len && memcmp(s->key, key, len) == 0)
			break; /* seen */
		if (s->len == 0) {
			if (o->n < o->cap) {
				s->len = (uint8_t)len;
				memcpy(s->key, key, len);
				o->n++;
				first = 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&o->mu);
	return first;
}

size_t
once_count(struct once *o)
{
	if (o == NULL)
		return 0;
	pthread_mutex_lock(&o->mu);
	size_t n = o->n;
	pthread_mutex_unlock(&o->mu);
	return n;
}
