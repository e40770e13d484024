-- 0018_audit_nodes_per_statement: the subtree nodes of the audit log
-- (0008) were kept by a row trigger, a PL/pgSQL call with its own lookups
-- for every appended entry. History sync appends up to 1,024 entries in
-- one statement (POST /api/v1/teams/{team}/headers, .../objects), and the
-- row trigger was most of such a statement's time: 103-240 ms of trigger
-- time for 1,024 entries against 24-39 ms computed level by level, one
-- INSERT ... SELECT per level over the nodes the new entries complete
-- (docs/performance.md, "Years of data"). A single entry (every audited
-- read) takes the old path: the nodes above it, one by one. The nodes are
-- the same either way; audit_node() (0008) fills in a child that is
-- missing, as before.
CREATE FUNCTION audit_nodes_add_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	lo bigint;
	hi bigint;
	lvl int := 0;
	jlo bigint;
	jhi bigint;
BEGIN
	SELECT min(idx), max(idx) INTO lo, hi FROM new_entries;
	IF hi IS NULL THEN
		RETURN NULL;
	END IF;
	IF lo = hi THEN
		-- one entry (an audited read): as the row trigger of 0008 did
		WHILE hi % 2 = 1 LOOP
			lvl := lvl + 1;
			hi := hi / 2;
			PERFORM audit_node(lvl, hi);
		END LOOP;
		RETURN NULL;
	END IF;
	-- Entries [lo, hi] complete node j of level lvl (leaves j * 2^lvl to
	-- (j + 1) * 2^lvl - 1) when its last leaf is among them. No node of a
	-- level completes: none of a higher one does either.
	LOOP
		lvl := lvl + 1;
		jlo := ((lo + (1::bigint << lvl)) >> lvl) - 1;
		jhi := ((hi + 1) >> lvl) - 1;
		EXIT WHEN jhi < jlo;
		IF lvl = 1 THEN
			INSERT INTO audit_nodes (level, idx, hash)
			SELECT 1, j, sha256('\x01'::bytea || coalesce(l.leaf_sha256, audit_node(0, 2 * j))
			                    || coalesce(r.leaf_sha256, audit_node(0, 2 * j + 1)))
			FROM generate_series(jlo, jhi) j
			LEFT JOIN audit_entries l ON l.idx = 2 * j
			LEFT JOIN audit_entries r ON r.idx = 2 * j + 1
			ON CONFLICT DO NOTHING;
		ELSE
			INSERT INTO audit_nodes (level, idx, hash)
			SELECT lvl, j, sha256('\x01'::bytea || coalesce(l.hash, audit_node(lvl - 1, 2 * j))
			                      || coalesce(r.hash, audit_node(lvl - 1, 2 * j + 1)))
			FROM generate_series(jlo, jhi) j
			LEFT JOIN audit_nodes l ON l.level = lvl - 1 AND l.idx = 2 * j
			LEFT JOIN audit_nodes r ON r.level = lvl - 1 AND r.idx = 2 * j + 1
			ON CONFLICT DO NOTHING;
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;

DROP TRIGGER audit_entries_nodes ON audit_entries;
DROP FUNCTION audit_nodes_add();
CREATE TRIGGER audit_entries_nodes AFTER INSERT ON audit_entries
	REFERENCING NEW TABLE AS new_entries
	FOR EACH STATEMENT EXECUTE FUNCTION audit_nodes_add_rows();
