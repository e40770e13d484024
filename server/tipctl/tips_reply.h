/*
 * tips_reply: `tipctl tips reply` and `tipctl tips note`
 * (docs/api.md, "Replies"). The text is sealed here, never on
 * the server: to every member of the team's latest membership, which must
 * verify as a chain against the admin keys pinned at login, and, for a
 * reply only, to the source's recipient. Signed with the investigator's
 * Ed25519 key over
 *   "tipline/v1/<kind>\n<id>\n<report id>\n<hex SHA-256 of the payload>\n".
 * The text comes from --file, standard input or the editor (editor.h); the
 * team's membership from chain.h; showing replies is tips_thread.h.
 */
#ifndef TIPCTL_TIPS_REPLY_H
#define TIPCTL_TIPS_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TIPS_REPLY_TEXT_MAX 65536 /* longest reply or note text, in bytes */

/* Run `tipctl tips reply` (argv starts at "reply"). Return an exit code. */
int tips_reply_main(int argc, char **argv);
/* Run `tipctl tips note` (argv starts at "note"). Return an exit code. */
int tips_reply_note_main(int argc, char **argv);

/* Append the message a reply or note signature covers (see above;
 * proto_sealed_sig_message) to `out`. Return 0, or -1. */
int tips_reply_sig_message(const char *kind, const char *id, const char *rid,
                           const uint8_t *payload, size_t n, struct buf *out)
	__attribute__((warn_unused_result));

#endif
