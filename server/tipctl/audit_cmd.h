/*
 * audit_cmd: `tipctl audit log` and `tipctl audit verify` (docs/api.md
 * "Audit log"). Both take argv starting at "audit" and return an exit code
 * (enum cli_exit).
 *
 * verify: fetch the newest signed checkpoint and check its signature with
 * the audit key pinned in the session (from the invite, never from the
 * server); fetch every leaf hash, recompute the root and compare; then, if
 * a checkpoint was verified before ($TIPLINE_HOME/audit-checkpoint or
 * ~/.config/tipline/audit-checkpoint, mode 0600, replaced by rename), demand
 * the server's consistency proof from it to the new one and check it, and
 * check the old root against the leaves too. Leaves go through a Merkle
 * frontier (O(log n) memory, whatever the log's size), which is remembered
 * next to the checkpoint (AUDIT_CMD_FRONTIER): the next verification starts
 * from it and fetches only the newer leaves, if its root is the remembered
 * checkpoint's. A log that shrank, forked or
 * was rewritten is reported as an ALERT with exit status 1, and the
 * remembered checkpoint is kept. Cosignatures are not uploaded (yet).
 *
 * log: print entries as a table (or --json), checking each readable entry
 * against its leaf hash.
 */
#ifndef TIPCTL_AUDIT_CMD_H
#define TIPCTL_AUDIT_CMD_H

#define AUDIT_CMD_PAGE 1000          /* entries asked for per request */
#define AUDIT_CMD_LEAF_PAGE 100000   /* leaf hashes asked for per request (the raw route's most) */
#define AUDIT_CMD_STATE "audit-checkpoint"
#define AUDIT_CMD_MAX_KEYS 16        /* the pinned audit key and the keys it handed over to */
#define AUDIT_CMD_FRONTIER ".frontier" /* appended to the state file's name */

/* Dispatch `tipctl audit SUBCOMMAND ...`. */
int audit_cmd_main(int argc, char **argv);

#endif
