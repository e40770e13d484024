-- The roots of the audit tree's complete subtrees (RFC 9162), kept as
-- entries are appended, so that an inclusion or consistency proof reads and
-- hashes O(log^2 n) stored nodes instead of all n leaves of the tree
-- (server/lib/merkle.h, merkle_*_nodes). Node (level, idx) is the root of
-- leaves [idx * 2^level, (idx + 1) * 2^level); level 0 is the leaf hash in
-- audit_entries and is not repeated here.
CREATE TABLE audit_nodes (
	level smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
	idx   bigint NOT NULL CHECK (idx >= 0),
	hash  bytea NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (level, idx)
);

-- The root of node (lvl, i), stored on the way; NULL while the subtree is
-- incomplete. Each call stores at most the nodes it lacks, which after the
-- backfill below is the one a new leaf completes.
CREATE FUNCTION audit_node(lvl int, i bigint) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
	h bytea;
BEGIN
	IF lvl = 0 THEN
		SELECT leaf_sha256 INTO h FROM audit_entries WHERE idx = i;
		RETURN h;
	END IF;
	SELECT hash INTO h FROM audit_nodes WHERE level = lvl AND idx = i;
	IF h IS NULL THEN
		h := sha256('\x01'::bytea || audit_node(lvl - 1, 2 * i) || audit_node(lvl - 1, 2 * i + 1));
		IF h IS NOT NULL THEN
			INSERT INTO audit_nodes (level, idx, hash) VALUES (lvl, i, h) ON CONFLICT DO NOTHING;
		END IF;
	END IF;
	RETURN h;
END
$$;

-- A new leaf completes the subtrees it is the last leaf of: one per level
-- while its index is odd (amortized two node reads and one insert a leaf).
CREATE FUNCTION audit_nodes_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	lvl int := 0;
	i bigint := NEW.idx;
BEGIN
	WHILE i % 2 = 1 LOOP
		lvl := lvl + 1;
		i := i / 2;
		PERFORM audit_node(lvl, i);
	END LOOP;
	RETURN NULL;
END
$$;

CREATE TRIGGER audit_entries_nodes AFTER INSERT ON audit_entries
	FOR EACH ROW EXECUTE FUNCTION audit_nodes_add();
CREATE TRIGGER audit_nodes_no_change BEFORE UPDATE OR DELETE ON audit_nodes
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Entries appended before this migration.
DO $$
DECLARE
	n bigint;
	lvl int := 1;
BEGIN
	SELECT coalesce(max(idx) + 1, 0) INTO n FROM audit_entries;
	WHILE (1::bigint << lvl) <= n LOOP
		FOR i IN 0 .. (n >> lvl) - 1 LOOP
			PERFORM audit_node(lvl, i);
		END LOOP;
		lvl := lvl + 1;
	END LOOP;
END
$$;

REVOKE ALL ON audit_nodes FROM PUBLIC;
GRANT SELECT, INSERT ON audit_nodes TO tipline_app;
