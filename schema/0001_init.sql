-- 0001_init: the source-side tables (teams, membership, reports, attachments,
-- messages, per-recipient headers) and the migration ledger.
--
-- Run by `tipd migrate` inside one transaction, as role tipline_owner when the
-- connecting user may SET ROLE to it. Roles come from deploy/postgresql/roles.sql.
-- Source-side tables store a day (date), never a time: arrival times must not
-- reach the database (DESIGN §6). A test checks that no column is a time type.

CREATE TABLE schema_migrations (
	version    int PRIMARY KEY,
	name       text NOT NULL,
	checksum   text NOT NULL,                 -- SHA-256 (hex) of the file
	applied_on date NOT NULL DEFAULT current_date
);

CREATE TABLE teams (
	id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	created_on date NOT NULL DEFAULT current_date
);

-- Signed membership statements (C2SP signed notes), one chain per team.
CREATE TABLE membership_statements (
	team_id   text NOT NULL REFERENCES teams,
	seq       int NOT NULL CHECK (seq >= 0),
	sha256    bytea NOT NULL CHECK (length(sha256) = 32),
	statement text NOT NULL,
	added_on  date NOT NULL DEFAULT current_date,
	PRIMARY KEY (team_id, seq)
);

-- One sealed report: the age payload (ciphertext). Headers live in object_headers.
CREATE TABLE reports (
	id          uuid PRIMARY KEY,
	team_id     text NOT NULL REFERENCES teams,
	received_on date NOT NULL,
	payload     bytea NOT NULL,
	status      text NOT NULL DEFAULT 'new'
	            CHECK (status IN ('new', 'triaged', 'investigating', 'referred', 'closed')),
	priority    text NOT NULL DEFAULT 'normal'
	            CHECK (priority IN ('low', 'normal', 'high', 'urgent'))
);
CREATE INDEX reports_team_idx ON reports (team_id, received_on);

-- Foreign keys to reports are deferred so that the flusher may insert a
-- shuffled batch in any order inside its one transaction.
CREATE TABLE attachments (
	id        uuid PRIMARY KEY,
	report_id uuid NOT NULL REFERENCES reports ON DELETE CASCADE
	          DEFERRABLE INITIALLY DEFERRED,
	payload   bytea NOT NULL
);
CREATE INDEX attachments_report_idx ON attachments (report_id);

-- Messages a source sends from the inbox after the report (spool kind
-- "message"). Investigators' replies are added by later migrations.
CREATE TABLE messages (
	id        uuid PRIMARY KEY,
	report_id uuid NOT NULL REFERENCES reports ON DELETE CASCADE
	          DEFERRABLE INITIALLY DEFERRED,
	sent_on   date NOT NULL,
	payload   bytea NOT NULL
);
CREATE INDEX messages_report_idx ON messages (report_id);

-- One age header (single X25519 stanza + MAC) per recipient of an object
-- (a report, attachment or message). Header ‖ payload is a complete age file.
CREATE TABLE object_headers (
	object_id uuid NOT NULL,
	recipient text NOT NULL CHECK (recipient ~ '^age1[02-9ac-hj-np-z]{6,200}$'),
	header    bytea NOT NULL,
	PRIMARY KEY (object_id, recipient)
);

-- Least privilege for the application role: read and append; triage may
-- change status and priority only. Payloads and headers are never updated.
REVOKE ALL ON schema_migrations, teams, membership_statements, reports, attachments,
	messages, object_headers FROM PUBLIC;
GRANT SELECT ON schema_migrations TO tipline_app;
GRANT SELECT, INSERT ON teams, membership_statements, reports, attachments, messages,
	object_headers TO tipline_app;
GRANT UPDATE (status, priority) ON reports TO tipline_app;
