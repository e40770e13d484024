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
