/*
 * inbox_share: the inbox's pending set across several tipd hosts.
 *
 * A report sits in the spool of the host that took it until that host's
 * flusher moves it into PostgreSQL; a source who asks another host in the
 * meantime must hear "on its way", not "nothing found". So every
 * [tipd] pending_share_ms each host writes its pending set into its row of
 * the UNLOGGED table pending_shares (schema/0012), and reads the other
 * hosts' rows into memory, on a thread of its own with a blocking libpq
 * connection (no event loop waits on it).
 *
 * What the database sees (docs/threat-model.md, "Several hosts"): one
 * write per host per interval, always, of one fixed size (capacity
 * [limits] pending_share_max entries, padded), sealed with
 * XChaCha20-Poly1305 under receipt_share_key() and bound to the host's id.
 * So no submission's time, no count and no lookup id reaches the database
 * before the flusher's shuffled batch. A host shares at most its capacity;
 * beyond it, receipts answer "pending" on their own host only.
 *
 * The host's id is 16 random bytes in hex, made on first start in
 * STATE_DIR/host.id (mode 0600); it must differ between hosts, so never
 * copy that file to another host.
 */
#ifndef TIPD_INBOX_SHARE_H
#define TIPD_INBOX_SHARE_H

#include <stddef.h>
#include <stdint.h>

struct receipt_pepper;
struct ishare;

/* One shared entry: lookup id (32), report uuid (36 ASCII), flags (1: bit 0
 * = forgotten), team length (1), team (up to 63 bytes, zero-padded). */
#define ISHARE_ENTRY 133
#define ISHARE_HOST_ID_FILE "host.id"

/* What another host holds for a lookup id. */
enum ishare_state { ISHARE_NONE, ISHARE_REPORT, ISHARE_FORGOTTEN };

/* Write one entry at `out` (ISHARE_ENTRY bytes). */
void ishare_entry_put(uint8_t *out, const uint8_t id[32], const char *report, const char *team,
                      int forgotten);

/* Make the sharing state: this host's id (read or made in `state_dir`), the
 * key derived from `pepper`, `capacity` entries. NULL and a message in `err`
 * on error. Caller frees with ishare_free (after ishare_stop). */
struct ishare *ishare_new(const char *state_dir, const struct receipt_pepper *pepper,
                          unsigned capacity, char *err, size_t errlen);
void ishare_free(struct ishare *s);
/* This host's id (32 hex digits). */
const char *ishare_host(const struct ishare *s);

/* Where this host's pending set comes from: write up to `max` entries
 * (ISHARE_ENTRY bytes each) at `out` and return how many. Called on the
 * sharing thread (inbox_pending_export, with the inbox as `arg`). */
typedef size_t (*ishare_export_fn)(void *arg, uint8_t *out, size_t max);

/* Start the thread: every `interval_ms`, write what `export` gives and read
 * the other hosts' rows, over `conninfo` (copied). Return 0, or -1. */
int ishare_start(struct ishare *s, ishare_export_fn export, void *arg, const char *conninfo,
                 unsigned interval_ms);
/* Stop and join the thread (NULL or never started is fine). */
void ishare_stop(struct ishare *s);
/* One round now, on the caller's thread, over `conninfo` (tests, start-up).
 * Return 0, or -1 (logged). */
int ishare_round(struct ishare *s, ishare_export_fn export, void *arg, const char *conninfo);

/* Whether another host holds `id` pending (copying its report uuid and
 * team) or as forgotten. Thread-safe; NULL `s` answers ISHARE_NONE. */
enum ishare_state ishare_find(struct ishare *s, const uint8_t id[32], char report[37],
                              char team[64]);
/* Count one more message queued here for a report pending on another host.
 * Return 0, or -1 if it has `max` already or is not known. Thread-safe. */
int ishare_take_message(struct ishare *s, const uint8_t id[32], unsigned max);
/* Give back a message counted by ishare_take_message that was not spooled. */
void ishare_return_message(struct ishare *s, const uint8_t id[32]);

#endif
