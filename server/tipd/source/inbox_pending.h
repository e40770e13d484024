/*
 * inbox_pending: the inbox's pending set, private to the inbox. The lookup
 * ids of receipts whose report (or "forget") sits in this host's spool, so
 * the inbox can answer "not read yet" (or "not found") before the flusher
 * has written it to PostgreSQL, and count the messages sent meanwhile.
 * Memory only: rebuilt from the spool at start-up, while tipd serves (until
 * then the set is not ready, and the inbox cannot tell "not pending" from
 * "not read yet"). Thread-safe.
 */
#ifndef TIPD_INBOX_PENDING_H
#define TIPD_INBOX_PENDING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pending_set;
struct spool;

enum pending_state { PENDING_NONE, PENDING_REPORT, PENDING_FORGOTTEN };

/* An empty set, not ready, that holds at most `max` ids, or NULL if out of
 * memory. */
struct pending_set *pending_new(size_t max);
/* Free the set, wiping its entries. NULL is fine. */
void pending_free(struct pending_set *ps);
/* Add `lookup_id` as a report (or, `forgotten`, a spooled "forget") of
 * `report_uuid` in `team`. Return 0, or -1 if the set holds
 * its maximum (logged once until it has room again, never per
 * call), out of memory, or (`unique`) the id is in it already. */
int pending_put(struct pending_set *ps, const uint8_t lookup_id[32], const char *report_uuid,
                const char *team, bool forgotten, bool unique);
/* Count one more message queued for pending report `id`. Return 0, or -1 if
 * it has `max` already (or is no longer pending). */
int pending_take_message(struct pending_set *ps, const uint8_t id[32], unsigned max);
/* Give back a message counted by pending_take_message that was not spooled. */
void pending_return_message(struct pending_set *ps, const uint8_t id[32]);
/* Forget `lookup_id` (flushed, or its commit failed). */
void pending_drop(struct pending_set *ps, const uint8_t lookup_id[32]);
/* Say whether `id` is pending (copying its report uuid and team) or forgotten. */
enum pending_state pending_get(struct pending_set *ps, const uint8_t id[32], char report[37],
                               char team[64]);
/* Write up to `max` entries at `out` (ISHARE_ENTRY bytes each). Return how many. */
size_t pending_export(struct pending_set *ps, uint8_t *out, size_t max);
/* Number of ids in the set. */
size_t pending_count(struct pending_set *ps);
/* Whether pending_rebuild has finished: until then a lookup id missing from
 * the set may still be in the spool. */
bool pending_ready(struct pending_set *ps);
/* Add every INBOX and FORGET record of the committed spool files (those
 * in the set already are skipped: intake may run meanwhile), count the
 * messages spooled for each pending report, and mark the set ready. Stop
 * early, set not ready, returning -1, once `stop` (may be NULL) is true.
 * Return the number of receipts added, or -1. Call it before the flusher
 * starts: a file flushed during the rebuild would stay in the set. */
int pending_rebuild(struct pending_set *ps, struct spool *spool, const atomic_bool *stop);

#endif
