/*
 * review_keys: what `tipctl keys check` reads (docs/api.md, "Checking keys").
 *
 *  GET /api/v1/admin/keys[?after=<report uuid>]   (admin)
 *  GET /api/v1/audit/handovers                     (any session)
 *
 * The raw rows, unverified, exactly as the database holds them: every admin
 * statement, every team's membership statements (with the day each was
 * stored) on the first page, and a page of reports (by id) with every
 * object's header recipients. tipd verifies none of it here on purpose:
 * tipctl checks it against the admin keys it pinned itself and reports
 * every key, header or statement that no admin signed. No payload and no
 * header bytes leave: recipients only.
 *
 * The audit key handovers (checkpoint.h, `tipd audit-key rotate`) are part
 * of the audit log and are served to every session.
 */
#ifndef TIPD_REVIEW_KEYS_H
#define TIPD_REVIEW_KEYS_H

struct rv_ops;

#define RV_KEYS_PAGE 200 /* reports per page */

/* The handler ops of the table's rows (review.c): the key inventory
 * (admin), and every audit key handover checkpoint, oldest first, which
 * `tipctl audit verify` follows from the key it pinned (any session). */
extern const struct rv_ops rv_keys_ops;
extern const struct rv_ops rv_handovers_ops;

#endif
