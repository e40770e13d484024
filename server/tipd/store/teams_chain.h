/*
 * teams_chain: one team's chain of membership statements (membership.h),
 * opened and verified against the admin chain (adminchain.h): every link
 * must be signed by someone the admin chain has ever named, and a head
 * also by a current admin, so that a removed admin cannot make the next
 * statement. Blocking libpq; shared by teams.c (loading and refreshing the
 * views) and teams_store.c (`tipd membership add`).
 */
#ifndef TIPD_TEAMS_CHAIN_H
#define TIPD_TEAMS_CHAIN_H

#include <libpq-fe.h>
#include <stddef.h>

#include "membership.h"

struct adminchain;

/* The longest signed statement read from a file (64 KiB). */
#define TEAMS_MAX_STATEMENT (64 * 1024)

/* Open `len` bytes of `text` against every admin `ac` has ever named (a
 * link made by an admin since removed stays valid); on MEMBERSHIP_OK store
 * the statement in *m (caller frees). */
enum membership_result teams_chain_open(const struct adminchain *ac, const char *text, size_t len,
                                        struct membership **m);
/* As teams_chain_open, and the statement must also carry a current
 * admin's signature (MEMBERSHIP_ERR_UNSIGNED if not). */
enum membership_result teams_chain_open_head(const struct adminchain *ac, const char *text,
                                             size_t len, struct membership **m);
/* Connect to PostgreSQL with `conninfo` (blocking); return the connection,
 * or NULL (logged). Caller PQfinish()es it. */
PGconn *teams_chain_connect(const char *conninfo);
/* Verify one team's chain: rows [from, to) of `r` (team_id, statement, seq;
 * ordered by seq), its head by a current admin if `head_current`. Return the
 * latest statement (caller frees), or NULL if any link fails (logged). */
struct membership *teams_chain_verify(const struct adminchain *ac, PGresult *r, int from, int to,
                                      int head_current);

#endif
