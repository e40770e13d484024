/*
 * review_admin: enrollment and the admin routes on the review listener
 * (docs/api.md, "Enrollment and administration").
 *
 *  POST   /api/v1/enroll                          (no session: an invite's secret)
 *  POST   /api/v1/admin/invites                   (admin)
 *  GET    /api/v1/admin/enrollments               (admin)
 *  POST   /api/v1/admin/teams/{team}/membership   (admin: approve, revoke)
 *  POST   /api/v1/admin/labels                    (admin)
 *  DELETE /api/v1/admin/labels/{name}             (admin)
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
 * History sync is review_sync.h.
 */
#ifndef TIPD_REVIEW_ADMIN_H
#define TIPD_REVIEW_ADMIN_H

struct rv_ops;

#define RV_ADMIN_MAX_BODY (256u * 1024) /* a statement of 256 members, in JSON */
#define RV_ENROLL_MAX_BODY 4096

/* The handler ops of the table's rows (review.c). */
extern const struct rv_ops rv_enroll_ops;
extern const struct rv_ops rv_invite_ops;
extern const struct rv_ops rv_enrollments_ops;
extern const struct rv_ops rv_admin_teams_ops;
extern const struct rv_ops rv_reject_ops;
extern const struct rv_ops rv_statement_ops;
extern const struct rv_ops rv_label_ops; /* add and delete */

#endif
