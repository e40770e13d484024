#include "review_auth.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

/* ---- nonces ---- */

struct rv_nonce {
	uint8_t v[RV_NONCE_LEN];
	int64_t expires;
	int live;
};

struct rv_nonces {
	pthread_mutex_t mu;
	size_t max;
	size_t next;  /* ring position of the next nonce (overwrites the oldest) */
	size_t count; /* live entries */
	struct rv_nonce *v;
};

struct rv_nonces *
rv_nonces_new(size_t max)
{
	struct rv_nonces *n;
	if (max == 0 || (n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	if ((n->v = calloc(max, sizeof(*n->v))) == NULL ||
	    pthread_mutex_init(&n->mu, NULL) != 0) {
		free(n->v);
		free(n);
		return NULL;
	}
	n->max = max;
	return n;
}

void
rv_nonces_free(struct rv_nonces *n)
{
	if (n == NULL)
		return;
	sodium_memzero(n->v, n->max * sizeof(*n->v));
	free(n->v);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

/* Decode `s` as base64url without padding of exactly 32 bytes. */
static int
b64url_32(const char *s, uint8_t out[32])
{
	size_t bin_len = 0;
	size_t len = strnlen(s, RV_B64URL_32);
	if (len != RV_B64URL_32 - 1 ||
	    util_base64_decode(s, len, out, 32, &bin_len,
	                       sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bin_len != 32)
		return -1;
	return 0;
}

int
rv_nonce_issue(struct rv_nonces *n, int64_t now, char out[RV_B64URL_32])
{
	struct rv_nonce e = { .expires = now + RV_NONCE_TTL, .live = 1 };
	randombytes_buf(e.v, sizeof(e.v));
	sodium_bin2base64(out, RV_B64URL_32, e.v, sizeof(e.v),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (pthread_mutex_lock(&n->mu) != 0)
		return -1;
	if (!n->v[n->next].live)
		n->count++;
	n->v[n->next] = e;
	n->next = (n->next + 1) % n->max;
	pthread_mutex_unlock(&n->mu);
	sodium_memzero(&e, sizeof(e));
	return 0;
}

int
rv_nonce_consume(struct rv_nonces *n, const char *s, int64_t now)
{
	uint8_t v[RV_NONCE_LEN];
	int rc = -1;
	if (s == NULL || b64url_32(s, v) != 0)
		return -1;
	if (pthread_mutex_lock(&n->mu) != 0)
		return -1;
	for (size_t i = 0; i < n->max; i++) {
		struct rv_nonce *e = &n->v[i];
		if (!e->live || sodium_memcmp(e->v, v, sizeof(v)) != 0)
			continue;
		rc = e->expires > now ? 0 : -1;
		sodium_memzero(e, sizeof(*e));
		n->count--;
		break;
	}
	pthread_mutex_unlock(&n->mu);
	sodium_memzero(v, sizeof(v));
	return rc;
}

size_t
rv_nonces_count(struct rv_nonces *n)
{
	size_t c;
	pthread_mutex_lock(&n->mu);
	c = n->count;
	pthread_mutex_unlock(&n->mu);
	return c;
}

/* ---- failed-login limiter ---- */

#define RV_LIMITER_KEYS 1024

/* The times of the last `cap` failures, as a ring. */
struct rv_window {
	int64_t *t;
	unsigned cap;
	unsigned next;
};

struct rv_keyslot {
	uint8_t pk[RV_PK_LEN];
	int used;
	int64_t last;
	struct rv_window w;
};

struct rv_limiter {
	pthread_mutex_t mu;
	unsigned window_s;
	struct rv_window all;
	struct rv_keyslot keys[RV_LIMITER_KEYS];
	int64_t *store; /* every window's times, one allocation */
};

struct rv_limiter *
rv_limiter_new(unsigned per_key, unsigned total, unsigned window_s)
{
	struct rv_limiter *l;
	if (per_key == 0 || total == 0 || window_s == 0 || per_key > 1000 || total > 100000)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->store = calloc((size_t)total + (size_t)per_key * RV_LIMITER_KEYS, sizeof(int64_t));
	if (l->store == NULL || pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l->store);
		free(l);
		return NULL;
	}
	l->window_s = window_s;
	l->all = (struct rv_window){ l->store, total, 0 };
	for (unsigned i = 0; i < RV_LIMITER_KEYS; i++)
		l->keys[i].w = (struct rv_window){ l->store + total + (size_t)i * per_key, per_key, 0 };
	return l;
}

void
rv_limiter_free(struct rv_limiter *l)
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
window_wait(const struct rv_window *w, unsigned window_s, int64_t now)
{
	int64_t oldest = w->t[w->next];
	if (oldest == 0 || oldest + window_s <= now)
		return 0;
	return (unsigned)(oldest + window_s - now);
}

static void
window_add(struct rv_window *w, int64_t now)
{
	w->t[w->next] = now > 0 ? now : 1;
	w->next = (w->next + 1) % w->cap;
}

static struct rv_keyslot *
key_find(struct rv_limiter *l, const uint8_t *pk, int create, int64_t now)
{
	struct rv_keyslot *victim = &l->keys[0];
	for (unsigned i = 0; i < RV_LIMITER_KEYS; i++) {
		struct rv_keyslot *k = &l->keys[i];
		if (k->used && memcmp(k->pk, pk, RV_PK_LEN) == 0)
			return k;
		if (!k->used || (victim->used && k->last < victim->last))
			victim = k;
	}
	if (!create)
		return NULL;
	/* Reuse the slot idle the longest (or a free one). */
	memcpy(victim->pk, pk, RV_PK_LEN);
	victim->used = 1;
	victim->last = now;
	memset(victim->w.t, 0, victim->w.cap * sizeof(int64_t));
	victim->w.next = 0;
	return victim;
}

unsigned
rv_limiter_check(struct rv_limiter *l, const uint8_t *pk, int64_t now)
{
	unsigned wait;
	if (pthread_mutex_lock(&l->mu) != 0)
		return 1;
	wait = window_wait(&l->all, l->window_s, now);
	if (pk != NULL) {
		struct rv_keyslot *k = key_find(l, pk, 0, now);
		unsigned kw = k != NULL ? window_wait(&k->w, l->window_s, now) : 0;
		if (kw > wait)
			wait = kw;
	}
	pthread_mutex_unlock(&l->mu);
	return wait;
}

void
rv_limiter_fail(struct rv_limiter *l, const uint8_t *pk, int64_t now)
{
	if (pthread_mutex_lock(&l->mu) != 0)
		return;
	window_add(&l->all, now);
	if (pk != NULL) {
		struct rv_keyslot *k = key_find(l, pk, 1, now);
		k->last = now;
		window_add(&k->w, now);
	}
	pthread_mutex_unlock(&l->mu);
}

/* ---- login body, message and signature ---- */

/* Decode standard base64 (with padding) of exactly `n` bytes. */
static int
b64_exact(const char *s, uint8_t *out, size_t n)
{
	size_t len = strlen(s), bin_len = 0;
	if (len != 4 * ((n + 2) / 3) ||
	    util_base64_decode(s, len, out, n, &bin_len, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != n)
		return -1;
	return 0;
}

/* Take one field of the login object; return 0, or -1 if it is wrong. */
static int
login_field(const char *key, json_t *v, struct rv_login *out, unsigned *seen)
{
	if (strcmp(key, "nonce") == 0) {
		const char *s = json_string_value(v);
		if (s == NULL || json_string_length(v) != RV_B64URL_32 - 1)
			return -1;
		memcpy(out->nonce, s, RV_B64URL_32);
		*seen |= 1;
		return 0;
	}
	if (strcmp(key, "ed25519") == 0) {
		const char *s = json_string_value(v);
		if (s == NULL || json_string_length(v) != strlen(s) ||
		    b64_exact(s, out->pk, RV_PK_LEN) != 0)
			return -1;
		out->have_pk = 1;
		*seen |= 2;
		return 0;
	}
	if (strcmp(key, "signature") == 0) {
		const char *s = json_string_value(v);
		if (s == NULL || json_string_length(v) != strlen(s) ||
		    b64_exact(s, out->sig, RV_SIG_LEN) != 0)
			return -1;
		*seen |= 4;
		return 0;
	}
	if (strcmp(key, "time") == 0) {
		if (!json_is_integer(v))
			return -1;
		out->time = (int64_t)json_integer_value(v);
		*seen |= 8;
		return 0;
	}
	return -1;
}

int
rv_login_parse(const uint8_t *body, size_t len, struct rv_login *out)
{
	json_error_t e;
	json_t *doc, *v;
	const char *key;
	unsigned seen = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > RV_LOGIN_MAX_BODY)
		return -1;
	doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &e);
	if (doc == NULL)
		return -1;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -1;
	}
	/* Look at the nonce and key first, so that they are known even when
	 * another field is wrong. */
	if ((v = json_object_get(doc, "nonce")) != NULL && login_field("nonce", v, out, &seen) != 0)
		rc = -1;
	if ((v = json_object_get(doc, "ed25519")) != NULL &&
	    login_field("ed25519", v, out, &seen) != 0)
		rc = -1;
	json_object_foreach(doc, key, v) {
		if (login_field(key, v, out, &seen) != 0)
			rc = -1;
	}
	json_decref(doc);
	return rc == 0 && seen == 15 ? 0 : -1;
}

int
rv_login_message(const char *origin, const char *tls_hex, const char *nonce, int64_t time,
                 struct buf *out)
{
	return proto_login_message(origin, tls_hex, nonce, time, out);
}

int
rv_login_verify(const struct rv_login *l, const char *origin, const char *tls_hex)
{
	struct buf msg;
	int rc = -1;
	buf_init(&msg, 4096);
	if (rv_login_message(origin, tls_hex, l->nonce, l->time, &msg) == 0 &&
	    crypto_sign_verify_detached(l->sig, msg.data, msg.len, l->pk) == 0)
		rc = 0;
	buf_free(&msg);
	return rc;
}

/* ---- tokens ---- */

void
rv_token_new(char text[RV_B64URL_32], uint8_t sha[32])
{
	uint8_t raw[RV_TOKEN_LEN];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(text, RV_B64URL_32, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(sha, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

int
rv_bearer_parse(const char *authorization, uint8_t sha[32])
{
	uint8_t raw[RV_TOKEN_LEN];
	static const char scheme[] = "Bearer ";
	if (authorization == NULL || strncmp(authorization, scheme, sizeof(scheme) - 1) != 0)
		return -1;
	if (b64url_32(authorization + sizeof(scheme) - 1, raw) != 0 ||
	    authorization[sizeof(scheme) - 1 + RV_B64URL_32 - 1] != '\0')
		return -1;
	crypto_hash_sha256(sha, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return 0;
}
