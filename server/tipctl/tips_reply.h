/*
 * tips_reply: `tipctl tips reply` and `tipctl tips note`
 * (docs/api.md, "Replies"). The text is sealed here, never on
 * the server: to every member of the team's latest membership, which must
 * verify as a chain against the admin keys pinned at login, and, for a
 * reply only, to the source's recipient. Signed with the investigator's
 * Ed25519 key over
 *   "tipline/v1/<kind>\n<id>\n<report id>\n<hex SHA-256 of the payload>\n".
 */
#ifndef TIPCTL_TIPS_REPLY_H
#define TIPCTL_TIPS_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "membership.h"
#include "note.h"

#define TIPS_REPLY_TEXT_MAX 65536 /* longest reply or note text, in bytes */
#define TIPS_CHAIN_MAX 4096       /* most statements in a chain */

/* Run `tipctl tips reply` (argv starts at "reply"). Return an exit code. */
int tips_reply_main(int argc, char **argv);
/* Run `tipctl tips note` (argv starts at "note"). Return an exit code. */
int tips_reply_note_main(int argc, char **argv);

/*
 * Verify the chain of `n` signed statements `stmts` (in order, from seq 1)
 * against the `nadmins` pinned admin verifiers, each following the one
 * before, all of team `team`. On success store the latest statement in
 * *out (membership_free) and return 0; else return -1.
 */
int tips_reply_verify_chain(const char *const *stmts, size_t n, const char *team,
                            const struct note_verifier *const *admins, size_t nadmins,
                            struct membership **out) __attribute__((warn_unused_result));

struct api;
struct identity;
/*
 * Fetch `team`'s chain of membership statements and verify it with the
 * session's pinned admin keys into *m (membership_free). With `allow_empty`
 * a team with no statement yet (an admin's view) stores NULL. Return 0, or
 * -1 (printed).
 */
int tips_reply_fetch_chain(struct api *a, const char *team, int allow_empty, struct membership **m)
	__attribute__((warn_unused_result));
/*
 * Print the replies, notes and source messages of the fetched report
 * `meta` (GET /api/v1/reports/{id}) decrypted with `id`: context lines
 * checked, each reply's and note's signature checked against its author's
 * key, and that key against the team's membership verified with the
 * session's pinned admin keys (when there are any). Untrusted text is
 * printed terminal-safe. Return the number of objects that could not be
 * opened or verified (each reported on stderr).
 */
int tips_reply_show(struct api *a, const struct identity *id, const char *rid, json_t *meta,
                    json_t *doc);

/*
 * Take the team of report `rid` from its decrypted document `doc`, never
 * from the server's answer `meta`: store it (borrowed from `doc`) in *team
 * and return 0, or, if `doc` names no valid team or the server names
 * another, print why and return -1.
 */
int tips_reply_sealed_team(json_t *meta, json_t *doc, const char *rid, const char **team)
	__attribute__((warn_unused_result));

/*
 * Fetch the membership of the team sealed in the decrypted report `doc`
 * (tips_reply_sealed_team: a server answer `meta` naming another team is
 * refused) and verify its chain against the session's pinned admin keys
 * into *m (membership_free). With no admin key pinned, warn on stderr and
 * store NULL: authors are then checked by signature only. Return 0, or -1
 * after printing why.
 */
int tips_reply_team_membership(struct api *a, json_t *meta, json_t *doc, struct membership **m)
	__attribute__((warn_unused_result));

/*
 * Decrypt the reply, note or message `o` (an element of the report's
 * "replies", "notes" or "messages"; `kind` is "reply", "note" or
 * "message") of report `rid` with `id`, check its context line and, for a
 * reply or note, its signature and (if `m` is not NULL) that its author is
 * in `m`, as tips_reply_show does; for a message, the source's signature
 * against the key in the decrypted report `report` (report_message_signed:
 * a missing or wrong one is refused when the report has a key). On success
 * store in *out a new object {"id", "kind", "sent_on" (or null), "author"
 * (the member's name, null if not checked, "source" for a message whose
 * signature verified, null for one of an older report), "text",
 * "signature" (how it was checked)} (caller json_decref()s) and return 0;
 * else print which object failed and how, and return -1.
 */
int tips_reply_open_checked(json_t *o, const char *kind, const char *rid,
                            const struct identity *id, const struct membership *m,
                            json_t *report, json_t **out) __attribute__((warn_unused_result));

/* Append the message a reply or note signature covers (see above;
 * proto_sealed_sig_message) to `out`. Return 0, or -1. */
int tips_reply_sig_message(const char *kind, const char *id, const char *rid,
                           const uint8_t *payload, size_t n, struct buf *out)
	__attribute__((warn_unused_result));

#endif
