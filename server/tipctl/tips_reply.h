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
 * Print the replies, notes and source messages of the fetched report
 * `meta` (GET /api/v1/reports/{id}) decrypted with `id`: context lines
 * checked, each reply's and note's signature checked against its author's
 * key, and that key against the team's membership verified with the
 * session's pinned admin keys (when there are any). Untrusted text is
 * printed terminal-safe. Return the number of objects that could not be
 * opened or verified (each reported on stderr).
 */
int tips_reply_show(struct api *a, const struct identity *id, const char *rid, json_t *meta);

/* Append the message a reply or note signature covers (see above) to `out`.
 * Return 0, or -1. */
int tips_reply_sig_message(const char *kind, const char *id, const char *rid,
                           const uint8_t *payload, size_t n, struct buf *out)
	__attribute__((warn_unused_result));

#endif
