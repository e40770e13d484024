/*
 * review_sync: history sync on the review API (docs/api.md).
 *
 *  GET  /api/v1/teams/{team}/missing-headers   (member)
 *  POST /api/v1/reports/{id}/headers           (member)
 *
 * A member lists the objects of a team that some current member has no
 * header for (with the caller's own header), makes the missing headers
 * locally from the file key, and uploads them; tipd stores only headers with
 * one X25519 stanza, for current members of the report's team, on objects of
 * that report that the caller can open.
 */
#ifndef TIPD_REVIEW_SYNC_H
#define TIPD_REVIEW_SYNC_H

struct rv_ops;

#define RV_HEADERS_MAX 128 /* headers in one upload */
#define RV_HEADERS_MAX_BODY (128u * 1024)

extern const struct rv_ops rv_missing_headers_ops;
extern const struct rv_ops rv_headers_ops;

#endif
