-- Create the Tipline database, owned by tipline_owner so that migrations
-- (run as tipline_owner) may create tables in schema public (PostgreSQL 15
-- no longer grants CREATE on public to everyone). Run as a superuser after
-- roles.sql:  psql -v ON_ERROR_STOP=1 -f database.sql
-- then:       tipd migrate   (connecting as a superuser or a member of tipline_owner)
CREATE DATABASE tipline OWNER tipline_owner;
REVOKE ALL ON DATABASE tipline FROM PUBLIC;
GRANT CONNECT ON DATABASE tipline TO tipline_app;
