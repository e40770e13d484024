-- Each tipd host's share of the inbox's pending set (docs/threat-model.md,
-- "Several hosts"): a source whose report still sits in one host's spool
-- may ask another host. Every [tipd] pending_share_ms each host overwrites
-- its one row with a blob of a fixed size, whatever its spool holds:
-- XChaCha20-Poly1305 under a key derived from the receipt pepper, over a
-- padded list of (lookup id, report uuid, team, forgotten). The database
-- sees one constant-size write per host on a fixed schedule: no count, no
-- id, no time of any submission. UNLOGGED: not in WAL, not replicated, not
-- in backups, emptied by a crash or a failover (the hosts rewrite their
-- rows within one interval). `host` is the random id in the host's state
-- directory (host.id), never a name or an address.
CREATE UNLOGGED TABLE pending_shares (
	host text PRIMARY KEY CHECK (host ~ '^[0-9a-f]{32}$'),
	blob bytea NOT NULL CHECK (length(blob) <= 16777216)
);

REVOKE ALL ON pending_shares FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON pending_shares TO tipline_app;
