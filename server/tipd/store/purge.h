/*
 * purge: `tipd purge`, retention applied (docs/operations.md "Retention").
 *
 * A team's policy (retention_policies, set by an admin on the review API)
 * says how many days after closing a closed report is kept, and how many
 * days after arrival any other report is. `tipd purge` (run daily by
 * deploy/tipd-purge.timer) asks PostgreSQL which reports are due
 * (retention_due(): never one under legal hold) and deletes each in its own
 * transaction with retention_purge(id), which re-checks that it is due and
 * removes its payload, every header of it and of its attachments,
 * messages, replies and notes, those rows and its inbox; the same
 * transaction appends one report_purge audit entry by "operator". The
 * application role has no DELETE on these tables: the SECURITY DEFINER
 * function is the only way, and it deletes only what the policy says.
 */
#ifndef TIPD_PURGE_H
#define TIPD_PURGE_H

#include <stddef.h>

#define PURGE_BATCH 1000 /* reports asked for at a time */

/*
 * Purge every report due on the database `conninfo` (or, with `dry_run`,
 * only count them). Store how many were purged (or are due) in *purged.
 * Return 0, or -1 (logged) if the database fails; reports purged before
 * the failure stay purged.
 */
int purge_run(const char *conninfo, int dry_run, size_t *purged)
	__attribute__((warn_unused_result));

#endif
