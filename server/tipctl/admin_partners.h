/*
 * admin_partners: `tipctl admin partner add|list|remove` (partner agencies
 * a case may be referred to, pinned in admin-signed statements,
 * server/lib/partner.h) and `tipctl admin retention set|list` (a team's
 * retention policy, applied by `tipd purge`).
 */
#ifndef TIPCTL_ADMIN_PARTNERS_H
#define TIPCTL_ADMIN_PARTNERS_H

#include "partner.h"

struct admins_view;
struct api;

/* Run `tipctl admin partner ...` (argv starts at "partner"). Return an exit code. */
int admin_partners_main(int argc, char **argv);
/* Run `tipctl admin retention ...` (argv starts at "retention"). Return an exit code. */
int admin_retention_main(int argc, char **argv);

/*
 * Verify the signed partner statement `statement` against the current
 * admins of the verified admin chain `v` (admins_view_load) and the
 * deployment's `origin`; on success fill `p` and return 0, else return the
 * enum partner_result. A statement signed only by an admin removed since,
 * or by a pinned key the chain no longer holds, does not verify.
 */
int admin_partners_verify(const struct admins_view *v, const char *origin, const char *statement,
                          struct partner *p) __attribute__((warn_unused_result));

/*
 * Print a warning for every partner whose statement no current admin signed
 * (after an admin was removed): no case is referred to it until a current
 * admin pins it again. Prints nothing when the list cannot be read.
 */
void admin_partners_warn_retired(struct api *a);

/*
 * Fetch partner `name` from GET /api/v1/partners and verify its statement
 * (admin_partners_verify against the admin chain fetched first; it must
 * name `name`) into `p`, and the verifier key of the current admin who
 * signed it into `signer` (`signer_len` bytes). Return 0, or -1 after
 * printing why (no such partner, a statement that does not verify).
 */
int admin_partners_fetch(struct api *a, const char *name, struct partner *p, char *signer,
                         size_t signer_len) __attribute__((warn_unused_result));

#endif
