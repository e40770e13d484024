/*
 * auditkey_cmd: `tipd audit-key rotate`, the audit signing key's handover
 * (docs/keys.md "Server keys").
 *
 * With tipd stopped, it makes the next key (STATE_DIR/audit.key.next), and
 * in one transaction appends the audit_key_rotate entry and stores the
 * checkpoint of the whole log signed by the current key and the next one,
 * naming the next one (audit_handover). Then the next key becomes
 * STATE_DIR/audit.key and the old one is kept as
 * STATE_DIR/audit.key.retired-<unix seconds> for the backup. `tipctl audit
 * verify` follows the handover from the key it pinned.
 */
#ifndef TIPD_AUDITKEY_CMD_H
#define TIPD_AUDITKEY_CMD_H

struct tipd_config;

/* Run `tipd audit-key rotate` (argv[0] is "audit-key"). Return the exit
 * code: 0, 1 on error, 2 on bad usage. */
int auditkey_cmd(const struct tipd_config *cfg, int argc, char **argv);

#endif
