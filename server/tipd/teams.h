/*
 * teams: the verified membership of every team, as tipd seals to it.
 *
 * At start-up every team's chain of signed membership statements is read
 * from PostgreSQL and verified from sequence 1 against the admin keys pinned
 * in the configuration; only the latest statement of a valid chain is used.
 * A team whose chain does not verify is left out (and logged), so no report
 * is ever sealed to keys that no pinned admin signed.
 */
#ifndef TIPD_TEAMS_H
#define TIPD_TEAMS_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"

struct teams;
struct note_verifier;

/* One team's current recipients. Reference-counted: a submission holds a
 * reference while it seals, so a reload cannot pull keys from under it. */
struct team_keys {
	char id[64];
	uint64_t seq;
	struct seal_recipients recipients;
};

/* Parse the pinned admin verifier keys; NULL and a message in `err` on error. */
struct teams *teams_new(char *const *admin_keys, size_t n, char *err, size_t errlen);
void teams_free(struct teams *t);

/* Load and verify every team's chain with the blocking libpq API (start-up
 * and CLI only). Return the number of usable teams, or -1.
 *
 * With a `state_dir` (not NULL), tipd remembers outside the database:
 *  - the highest statement seen for each team (sequence and hash), in
 *    membership-seen: a team whose chain in the database ends lower (rolled
 *    back: a revoked member could be back) or forks from it is refused until
 *    the operator looks;
 *  - each team's latest statement, in membership-heads/TEAM.note, so that
 *    tipd starts and seals while PostgreSQL is unreachable (the cached
 *    statements are verified against the pinned admin keys again). */
int teams_load(struct teams *t, const char *conninfo, const char *state_dir);

/* Return 1 if team `id` exists but its membership was refused at load
 * (a chain that does not verify, or was rolled back), else 0. */
int teams_refused(const struct teams *t, const char *id);

/* Verify the signed statement in `path` as the next one of its team's chain
 * and store it (creating the team on sequence 1). Blocking; CLI only.
 * Return 0, or -1 after printing the reason to stderr. */
int teams_add_statement(struct teams *t, const char *conninfo, const char *path);

/* Find a team with at least one member; NULL if unknown. The result is a
 * new reference: release it with team_keys_release(). */
const struct team_keys *teams_find(struct teams *t, const char *id);
void team_keys_release(const struct team_keys *k);

/* Number of teams loaded. */
size_t teams_count(const struct teams *t);

struct membership;
/* The latest verified membership statement of the i-th loaded team (i <
 * teams_count). Owned by `t`; it does not change until teams_load/free. */
const struct membership *teams_membership_at(const struct teams *t, size_t i);

#endif
