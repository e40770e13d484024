/*
 * chain: a team's membership, fetched from the server and verified here
 * (docs/crypto.md §8 "Membership statements"). The whole chain of signed
 * statements from statement 1: each link signed by an admin the admin chain
 * ever named (admins_view.h), the latest by a current admin, each following
 * the one before, all of one team, and never older than (or forked from)
 * the statement this computer already verified (seen.h). Every command that
 * seals to a team or checks an author goes through chain_fetch: tips reply,
 * note, show, export and refer, and the online admin commands.
 */
#ifndef TIPCTL_CHAIN_H
#define TIPCTL_CHAIN_H

#include <stddef.h>

#include <jansson.h>

#include "membership.h"
#include "note.h"

#define CHAIN_MAX 4096 /* most statements in a chain */

struct api;

/*
 * Verify the chain of `n` signed statements `stmts` (in order, from seq 1)
 * against the `nadmins` pinned admin verifiers, each following the one
 * before, all of team `team`. On success store the latest statement in
 * *out (membership_free) and return 0; else return -1.
 */
int chain_verify(const char *const *stmts, size_t n, const char *team,
                 const struct note_verifier *const *admins, size_t nadmins,
                 struct membership **out) __attribute__((warn_unused_result));

/*
 * Fetch `team`'s chain of membership statements and verify it with the
 * session's pinned admin keys into *m (membership_free). With `allow_empty`
 * a team with no statement yet (an admin's view) stores NULL. Return 0, or
 * -1 (printed).
 */
int chain_fetch(struct api *a, const char *team, int allow_empty, struct membership **m)
	__attribute__((warn_unused_result));

/*
 * The same, and write the names and key hashes of the pinned admin keys
 * that signed the latest statement into `signers` (`signers_len` bytes; if
 * not NULL), as `tipctl sync` shows them.
 */
int chain_fetch_signed(struct api *a, const char *team, int allow_empty, struct membership **m,
                       char *signers, size_t signers_len) __attribute__((warn_unused_result));

/*
 * Take the team of report `rid` from its decrypted document `doc`, never
 * from the server's answer `meta`: store it (borrowed from `doc`) in *team
 * and return 0, or, if `doc` names no valid team or the server names
 * another, print why and return -1.
 */
int chain_sealed_team(json_t *meta, json_t *doc, const char *rid, const char **team)
	__attribute__((warn_unused_result));

/*
 * Fetch the membership of the team sealed in the decrypted report `doc`
 * (chain_sealed_team: a server answer `meta` naming another team is
 * refused) and verify its chain against the session's pinned admin keys
 * into *m (membership_free). With no admin key pinned, warn on stderr and
 * store NULL: authors are then checked by signature only. Return 0, or -1
 * after printing why.
 */
int chain_team_membership(struct api *a, json_t *meta, json_t *doc, struct membership **m)
	__attribute__((warn_unused_result));

#endif
