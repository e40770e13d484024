/*
 * admin_partners: `tipctl admin partner add|list|remove` (partner agencies
 * a case may be referred to, pinned in admin-signed statements,
 * server/lib/partner.h) and `tipctl admin retention set|list` (a team's
 * retention policy, applied by `tipd purge`).
 */
#ifndef TIPCTL_ADMIN_PARTNERS_H
#define TIPCTL_ADMIN_PARTNERS_H

#include "partner.h"

struct api;

/* Run `tipctl admin partner ...` (argv starts at "partner"). Return an exit code. */
int admin_partners_main(int argc, char **argv);
/* Run `tipctl admin retention ...` (argv starts at "retention"). Return an exit code. */
int admin_retention_main(int argc, char **argv);

/*
 * Verify the signed partner statement `statement` against the admin keys
 * pinned in the session and its origin; on success fill `p` and return 0.
 * Return -1 after printing why if no admin key is pinned, else the enum
 * partner_result (nothing printed).
 */
int admin_partners_verify(const struct api *a, const char *statement, struct partner *p)
	__attribute__((warn_unused_result));

/*
 * Fetch partner `name` from GET /api/v1/partners and verify its statement
 * (admin_partners_verify; it must name `name`) into `p`. Return 0, or -1
 * after printing why (no such partner, a statement that does not verify).
 */
int admin_partners_fetch(struct api *a, const char *name, struct partner *p)
	__attribute__((warn_unused_result));

#endif
