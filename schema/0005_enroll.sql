-- 0005_enroll: invites and enrollments (docs/api.md, "Enrollment"), and what
-- revocation and the label vocabulary need.
--
-- An invite is single-use and expires; only the SHA-256 of its secret is
-- stored. An enrollment is an invitee's public keys with their
-- proof-of-possession signature, waiting for an admin to compare
-- fingerprints and sign a membership statement. Investigator data, not
-- source data: unix seconds in bigint, no time-typed column.

CREATE TABLE invites (
	id            uuid PRIMARY KEY,
	secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
	role          text NOT NULL CHECK (role IN ('admin', 'investigator')),
	name          text CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
	teams         text[] NOT NULL DEFAULT '{}' CHECK (cardinality(teams) <= 16),
	created_by    bytea CHECK (length(created_by) = 32), -- NULL: the operator (tipd invite)
	created_at    bigint NOT NULL,
	expires_at    bigint NOT NULL,
	used_at       bigint,
	CHECK (role = 'admin' OR (name IS NOT NULL AND cardinality(teams) >= 1))
);

CREATE TABLE enrollments (
	invite_id   uuid PRIMARY KEY REFERENCES invites,
	name        text NOT NULL CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
	teams       text[] NOT NULL CHECK (cardinality(teams) BETWEEN 1 AND 16),
	recipient   text NOT NULL CHECK (recipient ~ '^age1[02-9ac-hj-np-z]{6,200}$'),
	ed25519     bytea NOT NULL CHECK (length(ed25519) = 32),
	signature   bytea NOT NULL CHECK (length(signature) = 64),
	status      text NOT NULL DEFAULT 'pending'
	            CHECK (status IN ('pending', 'approved', 'rejected')),
	enrolled_at bigint NOT NULL
);
CREATE INDEX enrollments_pending_idx ON enrollments (status) WHERE status = 'pending';

REVOKE ALL ON invites, enrollments FROM PUBLIC;
GRANT SELECT, INSERT ON invites, enrollments TO tipline_app;
GRANT UPDATE (used_at) ON invites TO tipline_app;
GRANT UPDATE (status) ON enrollments TO tipline_app;
-- Revocation deletes a removed member's headers; admins edit the labels.
GRANT DELETE ON object_headers TO tipline_app;
GRANT INSERT, DELETE ON labels TO tipline_app;
