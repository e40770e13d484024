/*
 * review_refer: partner agencies, referrals, legal hold and retention on the
 * review API (docs/api.md "Partners, referral and retention").
 *
 *  GET    /api/v1/partners                       (any login: the signed statements)
 *  POST   /api/v1/admin/partners                 (admin: {"statement": signed note})
 *  DELETE /api/v1/admin/partners/{partner}       (admin)
 *  POST   /api/v1/reports/{id}/referral          (member: {"partner": name})
 *  POST   /api/v1/reports/{id}/hold              (member or admin: {"hold": bool})
 *  GET    /api/v1/admin/retention                (admin: policies and held reports)
 *  PUT    /api/v1/admin/teams/{team}/retention   (admin: {"closed_days", "open_days"})
 *
 * A partner statement (server/lib/partner.h) is stored only if it verifies
 * against the admin keys pinned in the configuration and names this
 * server's review origin. The referral route records what tipctl did on
 * the investigator's machine (the case encrypted to the partner's key):
 * the status becomes "referred" and one report_refer entry names the
 * partner's key. tipd cannot read the report, so it cannot check the
 * source's consent: tipctl does, before anything is encrypted or sent.
 * Every change is one audit entry in the same transaction.
 */
#ifndef TIPD_REVIEW_REFER_H
#define TIPD_REVIEW_REFER_H

struct rv_ops;

#define RV_REFER_MAX_BODY 16384 /* a partner statement in JSON */

/* The handlers of the rows above (review.c's route table). */
extern const struct rv_ops rv_partners_ops;
extern const struct rv_ops rv_partner_add_ops;
extern const struct rv_ops rv_partner_del_ops;
extern const struct rv_ops rv_refer_ops; /* referral and hold */
extern const struct rv_ops rv_retention_ops;
extern const struct rv_ops rv_retention_set_ops;

#endif
