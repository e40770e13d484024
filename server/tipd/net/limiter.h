/*
 * limiter: a failure limiter for both request surfaces: at most `per_key`
 * failures per key and `total` failures overall in a sliding window of
 * `window_s` seconds (mutex; thread-safe). The review API counts failed
 * logins and enrollments per Ed25519 key; the source inbox counts receipts
 * that open nothing per Tor circuit. A key is LIMITER_KEY_LEN bytes; the
 * LIMITER_KEYS keys idle the longest are forgotten first.
 */
#ifndef TIPD_LIMITER_H
#define TIPD_LIMITER_H

#include <stdint.h>

#define LIMITER_KEY_LEN 32
#define LIMITER_KEYS 1024

struct limiter;

/* Make a limiter of `per_key` failures per key and `total` overall in any
 * `window_s` seconds (all > 0). NULL on error. */
struct limiter *limiter_new(unsigned per_key, unsigned total, unsigned window_s);
void limiter_free(struct limiter *l);
/* Return 0 if an attempt by `key` (NULL: unknown) may be tried at `now`,
 * else the number of seconds to wait (>= 1). */
unsigned limiter_check(struct limiter *l, const uint8_t *key, int64_t now);
/* Record a failure by `key` (NULL: unknown) at `now`. */
void limiter_fail(struct limiter *l, const uint8_t *key, int64_t now);

#endif
