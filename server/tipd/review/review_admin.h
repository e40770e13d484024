/*
 * review_admin: enrollment, the admin routes and history sync on the review
 * listener (docs/api.md, "Enrollment and administration").
 *
 *  POST   /api/v1/enroll                          (no session: an invite's secret)
 *  POST   /api/v1/admin/invites                   (admin)
 *  GET    /api/v1/admin/enrollments               (admin)
 *  POST   /api/v1/admin/teams/{team}/membership   (admin: approve, revoke)
 *  POST   /api/v1/admin/labels                    (admin)
 *  DELETE /api/v1/admin/labels/{name}             (admin)
 *  GET    /api/v1/teams/{team}/missing-headers    (member: history sync)
 *  POST   /api/v1/reports/{id}/headers            (member: history sync)
 *
 * Enrollment: the invitee proves possession of the Ed25519 key it enrolls by
 * signing the message of invite.h over this server's own origin and TLS key
 * hash. An investigator's keys wait as a pending enrollment until an admin
 * compares fingerprints and uploads a membership statement that includes
 * them; an admin invite only checks that the key is one of the admin keys
 * pinned in the configuration (those are never taken from the database).
 *
 * A membership statement is checked against the team's current head (the
 * next sequence number, the previous hash, signed by a pinned admin key),
 * stored, and adopted at once (teams_adopt): new reports are sealed to it
 * from then on. Members it removes lose their headers on the team's objects
 * and their sessions in the same transaction.
 *
 * History sync: a member lists the objects of a team that some current
 * member has no header for (with the caller's own header), makes the missing
 * headers locally from the file key, and uploads them; tipd stores only
 * headers with one X25519 stanza, for current members of the report's team,
 * on objects of that report that the caller can open.
 */
#ifndef TIPD_REVIEW_ADMIN_H
#define TIPD_REVIEW_ADMIN_H

struct rv_req;

#define RV_ADMIN_MAX_BODY (256u * 1024) /* a statement of 256 members, in JSON */
#define RV_ENROLL_MAX_BODY 4096
#define RV_HEADERS_MAX 128               /* headers in one upload */
#define RV_HEADERS_MAX_BODY (128u * 1024)

/* Run an enrollment, admin or sync route (r->route); answers. */
void rv_admin_start(struct rv_req *r);
/* Release the route state of `r`. */
void rv_admin_free(struct rv_req *r);

#endif
