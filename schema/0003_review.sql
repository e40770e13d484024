-- 0003_review: what the review API needs (prompts/review-api.md): triage
-- fields on reports, investigators' login sessions and the label vocabulary.
--
-- Sessions are investigator data, not source data: they keep unix seconds
-- (bigint) on purpose, and no time-typed column (the schema test forbids
-- those everywhere). Only the SHA-256 of a session token is stored, never
-- the token.

ALTER TABLE reports
	ADD COLUMN assignee text CHECK (assignee ~ '^[A-Za-z0-9._-]{1,64}$'),
	ADD COLUMN labels text[] NOT NULL DEFAULT '{}'
	           CHECK (cardinality(labels) <= 32);

CREATE TABLE sessions (
	token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
	ed25519      bytea NOT NULL CHECK (length(ed25519) = 32),
	created_at   bigint NOT NULL,
	last_used_at bigint NOT NULL,
	expires_at   bigint NOT NULL
);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- The labels investigators may put on reports (admin routes edit it later).
CREATE TABLE labels (
	name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$')
);
INSERT INTO labels (name) VALUES ('minor'), ('medical'), ('referral-needed'), ('duplicate');

REVOKE ALL ON sessions, labels FROM PUBLIC;
GRANT UPDATE (assignee, labels) ON reports TO tipline_app;
GRANT SELECT, INSERT, DELETE ON sessions TO tipline_app;
GRANT UPDATE (last_used_at) ON sessions TO tipline_app;
GRANT SELECT ON labels TO tipline_app;
