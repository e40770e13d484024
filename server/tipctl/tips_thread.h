/*
 * tips_thread: the replies, notes and source messages of a report, opened
 * and checked for `tips show`, `tips export` and `tips refer`. Each is
 * decrypted with the investigator's key and must begin with its own context
 * line; a reply's or note's signature (tips_reply_sig_message) must verify
 * with its author's key, and that key be in the team's verified membership
 * (chain.h) when an admin key is pinned; a source message must carry the
 * signature of the source's key sealed in the report
 * (report_message_signed), else it is shown as possibly forged.
 */
#ifndef TIPCTL_TIPS_THREAD_H
#define TIPCTL_TIPS_THREAD_H

#include <jansson.h>

#include "membership.h"

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
int tips_thread_show(struct api *a, const struct identity *id, const char *rid, json_t *meta,
                     json_t *doc);

/*
 * Decrypt the reply, note or message `o` (an element of the report's
 * "replies", "notes" or "messages"; `kind` is "reply", "note" or
 * "message") of report `rid` with `id`, check its context line and, for a
 * reply or note, its signature and (if `m` is not NULL) that its author is
 * in `m`, as tips_thread_show does; for a message, the source's signature
 * against the key in the decrypted report `report` (report_message_signed:
 * a missing or wrong one is refused when the report has a key). On success
 * store in *out a new object {"id", "kind", "sent_on" (or null), "author"
 * (the member's name, null if not checked, "source" for a message whose
 * signature verified, null for one of an older report), "text",
 * "signature" (how it was checked)} (caller json_decref()s) and return 0;
 * else print which object failed and how, and return -1.
 */
int tips_thread_open_checked(json_t *o, const char *kind, const char *rid,
                             const struct identity *id, const struct membership *m,
                             json_t *report, json_t **out) __attribute__((warn_unused_result));

#endif
