/*
 * Shared bits of the integration tests: a valid set of answers for the
 * shipped questionnaire, and helpers to submit and to decrypt what was stored.
 */
#ifndef TIPLINE_IT_COMMON_H
#define TIPLINE_IT_COMMON_H

#include <jansson.h>

#include "harness.h"

#define IT_ANSWERS                                                                              \
	"{\"what_happened\":\"They took our passports and we work without pay.\","          \
	"\"exploitation\":[\"labour\",\"debt_bondage\"],\"where\":\"A farm near the river\","  \
	"\"when\":\"Since March\",\"who_involved\":\"The farm manager and his brother\","              \
	"\"affected_person\":\"me\",\"safe_now\":\"no\"}"

/* POST `body` as application/json to the plain source listener (tls = 0) or
 * the TLS one (tls = 1). Return the HTTP status; the answer goes in `resp`. */
int it_post_json(struct th *t, int tls, const char *body, struct buf *resp);
/* Check `resp` is {"receipt": "ddddd-…"} with a valid check digit. */
void it_assert_receipt(const struct buf *resp);
/* The id of the only report in the database (asserts there is exactly one). */
void it_only_report(struct th *t, char id[37]);
/* Decrypt report `id` with `age -d`, check its context line, and return the
 * JSON document after it (caller json_decref()s). */
json_t *it_open_report(struct th *t, const char *id);
/* Assert that no report was stored: nothing in the spool, nothing in PostgreSQL
 * after a flush interval has passed. */
void it_assert_nothing_stored(struct th *t);

#endif
