/*
 * sync_cmd: `tipctl sync` — give newcomers the team's history
 * (docs/crypto.md §3 "One payload, one header per recipient", §8 "Key lifecycle").
 *
 * For each team (--team, or every team of the reports the caller can
 * list), tipctl fetches the membership chain and verifies it against the
 * admin keys pinned at login, checks it against the highest statement this
 * computer has seen (seen.h), then pages through
 * GET /api/v1/teams/{team}/missing-headers. A recipient the server lists is
 * served only if it is a member of the VERIFIED latest statement; for each
 * such newcomer tipctl shows the name, the fingerprint of the Ed25519 key,
 * the statement's number and signer, and asks before making any header
 * (--yes answers yes; without a terminal it refuses unless --yes). A
 * header is made locally: the caller's own header is opened with the
 * caller's identity to get the file key, which is wrapped in a one-stanza
 * header for the newcomer and wiped. The objects come SYNC_FETCH at a time
 * from POST /api/v1/teams/{team}/objects (the caller's header; a report's
 * whole payload, whose sealed team is checked; another object's first
 * chunk, whose context line is checked), and the headers are uploaded
 * SYNC_BATCH at a time (POST /api/v1/teams/{team}/headers), only once
 * every object of the team checked.
 */
#ifndef TIPCTL_SYNC_CMD_H
#define TIPCTL_SYNC_CMD_H

#include <stddef.h>
#include <stdint.h>

#define SYNC_TEAMS_MAX 64         /* most teams in one run */
#define SYNC_OBJECTS_MAX 200000   /* most objects collected per team in one run */
#define SYNC_PAGE 1000            /* objects per missing-headers page (limit=, the server's most) */
#define SYNC_FETCH 256            /* objects fetched per request (RV_OBJECTS_MAX) */
#define SYNC_BATCH 1024           /* headers per upload (RV_TEAM_HEADERS_MAX) */
#define SYNC_REPORT_PAGES 1000    /* most report-list pages read to find the teams */

/*
 * Run `tipctl sync` (argv starts at "sync"). Return an exit code: 0 when
 * every team was handled, 1 on any error or anomaly (a header that does
 * not open with the caller's key, a recipient not in the verified
 * statement, a refused upload, a rolled-back membership), 2 on usage.
 */
int sync_cmd_main(int argc, char **argv);

/*
 * Check that the age payload `p` (`n` bytes) authenticates under the
 * 16-byte file key `fk` and that its plaintext starts with the context line
 * of (`kind`, `oid`, `rid`): what sync checks before it wraps `fk` for a
 * newcomer. `whole`: `p` is the whole payload (its last chunk is checked
 * too); else `p` is the server's prefix of it (the nonce, the first chunk
 * and at least one byte more: the first chunk is checked as one that is
 * not the last, which is all the context line needs). Only a few chunks of
 * plaintext are held at a time, in locked memory. Return 0, or -1.
 */
int sync_check_payload(const uint8_t *fk, const uint8_t *p, size_t n, int whole, const char *kind,
                       const char *oid, const char *rid) __attribute__((warn_unused_result));

#endif
