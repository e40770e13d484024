/*
 * review_rotate: a member's own key rotation, after an admin's statement
 * replaced their keys under the same name (docs/api.md "Key rotation"):
 *
 *   GET  /api/v1/keys/rotation[?after=<object uuid>]
 *        the old key's headers on the team's objects that the caller's new
 *        key has none for, ROT_PAGE at a time, with how many remain;
 *   POST /api/v1/keys/rotation/headers {"headers":[{"object","header"}]}
 *        headers the caller's tipctl made for the new key from the old ones;
 *   POST /api/v1/keys/rotation/finish [{"force":true}]
 *        delete the old key's headers (refused while some remain, unless
 *        forced) and end the rotation.
 *
 * Only the session of the new key sees its rotation; each call that
 * changes something is one audit entry (headers_add, member_rotate_done).
 */
#ifndef TIPD_REVIEW_ROTATE_H
#define TIPD_REVIEW_ROTATE_H

#define ROT_PAGE 500                /* objects per GET page */
#define ROT_HEADERS_MAX 500         /* headers in one upload */
#define ROT_MAX_BODY (384u * 1024)  /* the upload's body */

struct rv_ops;

/* The handlers of the three routes (review.c's table: RV_MEMBER, since the
 * new key is a member). They keep no route state of their own. */
extern const struct rv_ops rv_rotation_list_ops;
extern const struct rv_ops rv_rotation_headers_ops;
extern const struct rv_ops rv_rotation_finish_ops;

#endif
