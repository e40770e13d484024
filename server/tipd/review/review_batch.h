/*
 * review_batch: history sync in batches on the review API (docs/api.md
 * "History sync"), for members of the team:
 *
 *  POST /api/v1/teams/{team}/objects   the caller's header and the payload
 *                                      (a report's whole, another object's
 *                                      first chunk) of up to 256 objects
 *  POST /api/v1/teams/{team}/headers   up to 1024 headers for newcomers, on
 *                                      objects of any of the team's reports
 *
 * A newcomer's sync of 100,000 reports then costs a few hundred requests,
 * not two audited requests per report. Every object served is audited
 * (report_fetch per report, attachment_fetch per attachment) and every
 * upload (headers_add per report and newcomer) in the statement that reads
 * or stores, so an answer is never sent before its entries commit.
 */
#ifndef TIPD_REVIEW_BATCH_H
#define TIPD_REVIEW_BATCH_H

struct rv_ops;

#define RV_OBJECTS_MAX 256               /* ids in one objects request */
#define RV_OBJECTS_MAX_BODY (16u * 1024) /* 256 quoted uuids and commas */
#define RV_OBJECTS_BYTES (4u << 20)      /* payload bytes in one answer (then "truncated") */
/* The payload bytes served of an object that is not a report: the 16-byte
 * nonce, the first 64 KiB chunk with its 16-byte tag, and one byte more
 * (age's last chunk is marked: a chunk followed by data is not the last). */
#define RV_OBJECTS_PREFIX (16u + 65536u + 16u + 1u)
#define RV_TEAM_HEADERS_MAX 1024             /* headers in one upload */
#define RV_TEAM_HEADERS_MAX_BODY (1024u * 1024)

extern const struct rv_ops rv_team_objects_ops;
extern const struct rv_ops rv_team_headers_ops;

#endif
