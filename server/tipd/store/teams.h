/*
 * teams: the verified membership of every team, as tipd seals to it.
 *
 * At start-up every team's chain of signed membership statements is read
 * from PostgreSQL and verified from sequence 1 against the admins of the
 * admin chain (adminchain.h, from the keys pinned in the configuration):
 * every statement by an admin it ever named, the latest by a current admin;
 * only the latest statement of a valid chain is used.
 * A team whose chain does not verify is left out (and logged), so no report
 * is ever sealed to keys that no pinned admin signed.
 *
 * Membership changes while tipd runs: the review API adopts a statement an
 * admin uploads (teams_check_next, then teams_adopt once it is stored), and a
 * watcher thread re-reads the database (teams_refresh) for statements stored
 * elsewhere. Readers take a reference-counted view, so an update never pulls
 * a statement or a key from under a request. Thread-safe.
 */
#ifndef TIPD_TEAMS_H
#define TIPD_TEAMS_H

#include <stddef.h>
#include <stdint.h>

#include "membership.h"
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

struct adminchain;

/* Parse the pinned admin verifier keys, of which `quorum` sign the first
 * admin statement (adminchain.h); NULL and a message in `err` on error. */
struct teams *teams_new(char *const *admin_keys, size_t n, unsigned quorum, char *err,
                        size_t errlen);
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

/* Re-read every chain from the database (blocking) and, if any head
 * changed, verify and publish the new membership. Return 1 if it changed, 0
 * if not, -1 if the database could not be read (nothing changes). */
int teams_refresh(struct teams *t, const char *conninfo);

/* Start a thread that calls teams_refresh every `interval_ms`, so that a
 * statement stored by another tipd, or by `tipd membership add`, is sealed to
 * without a restart. Return 0 or -1. teams_free stops it. */
int teams_watch_start(struct teams *t, const char *conninfo, unsigned interval_ms);
void teams_watch_stop(struct teams *t);

/* Open the signed statement `text` against the pinned admin keys and check
 * that it is the next one of its team's current chain (sequence 1 for a new
 * team). On MEMBERSHIP_OK store it in `*out` (caller frees, or hands it to
 * teams_adopt) and, if `prev` is not NULL, a copy of the head it was checked
 * against in `*prev` (NULL for a new team; caller frees): who the statement
 * removes is decided against that head. On error both are NULL. */
enum membership_result teams_check_next(struct teams *t, const char *text, size_t len,
                                        struct membership **out, struct membership **prev)
	__attribute__((warn_unused_result));
/* Publish `m` (taken; checked by teams_check_next and stored in the
 * database) as its team's latest statement, and remember it in the state
 * directory. Return 0, or -1 if the state files could not be written. */
int teams_adopt(struct teams *t, struct membership *m, const char *text, size_t len);

/*
 * The objects of team $1 (reports, attachments, messages, replies, notes),
 * each with its report and kind, as SQL: "select oid, rid, kind ...". What
 * revocation deletes headers from, and what history sync adds them to.
 */
#define TEAMS_OBJECTS_SQL                                                                      \
	"select r.id as oid, r.id as rid, 'report' as kind from reports r where r.team_id = $1 " \
	"union all select a.id, a.report_id, 'attachment' from attachments a "                 \
	"join reports r on r.id = a.report_id where r.team_id = $1 "                           \
	"union all select m.id, m.report_id, 'message' from messages m "                       \
	"join reports r on r.id = m.report_id where r.team_id = $1 "                           \
	"union all select x.id, x.report_id, 'reply' from replies x "                          \
	"join reports r on r.id = x.report_id where r.team_id = $1 "                           \
	"union all select x.id, x.report_id, 'note' from notes x "                             \
	"join reports r on r.id = x.report_id where r.team_id = $1"

/* Return 1 if `pk` is a current admin key (adminchain.h), else 0. */
int teams_is_admin(const struct teams *t, const uint8_t pk[32]);
/* The admin chain the teams are verified against (owned by `t`). */
struct adminchain *teams_admins(struct teams *t);
/* After the admin set changed: refuse every team whose latest statement no
 * current admin signed (a removed admin's), until a current admin signs the
 * next one. */
void teams_admins_changed(struct teams *t);

/* Find a team with at least one member; NULL if unknown. The result is a
 * new reference: release it with team_keys_release(). */
const struct team_keys *teams_find(struct teams *t, const char *id);
void team_keys_release(const struct team_keys *k);

/*
 * A view: every team's latest verified statement at one moment. It never
 * changes; an update publishes a new one. Hold a view for as long as you use
 * the statements in it (a request: from its start to its answer).
 */
struct teams_view;
/* Take a reference to the current view; release it with teams_view_release. */
const struct teams_view *teams_view_get(struct teams *t);
void teams_view_release(const struct teams_view *v);
size_t teams_view_count(const struct teams_view *v);
/* The i-th team's latest statement (i < teams_view_count), owned by the view. */
const struct membership *teams_view_at(const struct teams_view *v, size_t i);
/* Team `id`'s latest statement, or NULL. Owned by the view. */
const struct membership *teams_view_team(const struct teams_view *v, const char *id);

#endif
