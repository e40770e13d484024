-- Sessions that a revocation ended. The session row itself is deleted at
-- once, as before; only its token's hash stays here (until the session
-- would have expired), so that its holder hears "an admin removed you"
-- instead of "session expired" (docs/api.md, "Errors"). No key, no name.
CREATE TABLE ended_sessions (
	token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
	reason       text NOT NULL CHECK (reason IN ('revoked')),
	expires_at   bigint NOT NULL
);
CREATE INDEX ended_sessions_expires_idx ON ended_sessions (expires_at);

REVOKE ALL ON ended_sessions FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON ended_sessions TO tipline_app;
