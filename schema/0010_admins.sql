-- 0010_admins: the signed chain of admin sets (docs/crypto.md "Admin
-- statements", docs/keys.md "Adding and removing an admin").
--
-- Each row is one signed statement listing the whole admin set after a
-- change; tipd verifies the chain from the admin keys pinned in its
-- configuration before it believes any row, so a row written here directly
-- changes nothing. Rows are never changed or removed by the application.
CREATE TABLE admin_statements (
	seq       bigint PRIMARY KEY CHECK (seq >= 1),
	sha256    bytea NOT NULL CHECK (length(sha256) = 32),
	statement text NOT NULL CHECK (length(statement) BETWEEN 1 AND 65536)
);

REVOKE ALL ON admin_statements FROM PUBLIC;
GRANT SELECT, INSERT ON admin_statements TO tipline_app;

-- Audit key handovers (docs/keys.md "Server keys"): when the audit signing key
-- changes, the old and the next key both sign one checkpoint naming the next
-- key; it is stored in audit_checkpoints and here, so that `tipctl audit
-- verify` can follow the keys from the one it pinned. Append-only like the
-- audit tables.
CREATE TABLE audit_key_handovers (
	size bigint PRIMARY KEY CHECK (size >= 1),
	note text NOT NULL CHECK (length(note) BETWEEN 1 AND 65536)
);
CREATE TRIGGER audit_key_handovers_no_change BEFORE UPDATE OR DELETE ON audit_key_handovers
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_key_handovers_no_truncate BEFORE TRUNCATE ON audit_key_handovers
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

REVOKE ALL ON audit_key_handovers FROM PUBLIC;
GRANT SELECT, INSERT ON audit_key_handovers TO tipline_app;
