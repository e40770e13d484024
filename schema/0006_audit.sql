-- 0006_audit: the tamper-evident audit log (DESIGN §5, docs/api.md "Audit log").
--
-- audit_entries holds the leaves of an RFC 9162 Merkle tree: `entry` is the
-- exact bytes that were hashed (one text line of uuids, key fingerprints and
-- enum codes, never report content) and leaf_sha256 = SHA-256(0x00 || entry).
-- Indexes are dense from 0; tipd appends under a transaction-level advisory
-- lock so that appends from several hosts are serialized (DESIGN §8).
-- audit_checkpoints keeps every checkpoint tipd signed (C2SP tlog-checkpoint
-- as a signed note), one per tree size.
--
-- Both tables are append-only: triggers reject UPDATE, DELETE and TRUNCATE
-- for every role, the owner included, and the application role may only
-- INSERT and SELECT. No time-typed column: times are unix seconds inside
-- the entry text.

CREATE TABLE audit_entries (
	idx         bigint PRIMARY KEY CHECK (idx >= 0),
	entry       bytea NOT NULL CHECK (length(entry) BETWEEN 1 AND 1024),
	leaf_sha256 bytea NOT NULL CHECK (length(leaf_sha256) = 32)
);

CREATE TABLE audit_checkpoints (
	size bigint PRIMARY KEY CHECK (size >= 0),
	root bytea NOT NULL CHECK (length(root) = 32),
	note text NOT NULL CHECK (length(note) BETWEEN 1 AND 65536)
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

REVOKE ALL ON audit_entries, audit_checkpoints FROM PUBLIC;
GRANT SELECT, INSERT ON audit_entries, audit_checkpoints TO tipline_app;
