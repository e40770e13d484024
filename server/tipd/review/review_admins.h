/*
 * review_admins: the admin chain on the review listener (docs/api.md,
 * "Admins").
 *
 *  GET  /api/v1/admins          (any session: the chain, to verify locally)
 *  POST /api/v1/admin/admins    (admin: the next signed admin statement)
 *
 * An uploaded statement must follow the current head (adminchain.h): the
 * next sequence number, the head's hash, signatures by the head's quorum of
 * current admins, a quorum no lower than [admins] quorum, and exactly one
 * admin added or removed. It is stored with one audit entry (admin_add or
 * admin_remove, subject the key) in one transaction, and adopted at once:
 * a removed admin's sessions no longer pass as admin, and a team whose
 * latest membership statement only a removed admin signed gets no reports
 * until a current admin signs the next one.
 */
#ifndef TIPD_REVIEW_ADMINS_H
#define TIPD_REVIEW_ADMINS_H

struct rv_ops;

#define RV_ADMINS_MAX_BODY (64u * 1024)

/* The handler ops of the table's rows (review.c). */
extern const struct rv_ops rv_admins_chain_ops; /* GET /api/v1/admins */
extern const struct rv_ops rv_admins_post_ops;  /* POST /api/v1/admin/admins */

#endif
