-- Cluster-wide roles for Tipline. Run once per cluster as a superuser
-- (the start script does: psql -v ON_ERROR_STOP=1 -f roles.sql). Idempotent.
--
--   tipline_owner  NOLOGIN: owns every table; migrations run as this role
--                  (tipd migrate does SET ROLE tipline_owner).
--   tipline_app    LOGIN: what tipd uses at run time; gets only the grants
--                  listed in schema/*.sql. Set its password (or use peer
--                  authentication over the unix socket) outside this file.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tipline_owner') THEN
		CREATE ROLE tipline_owner NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tipline_app') THEN
		CREATE ROLE tipline_app LOGIN;
	END IF;
END
$$;
