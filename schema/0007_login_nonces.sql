-- Login nonces are stateless (an HMAC tag under the deployment's nonce key
-- over their issue time and random bytes: docs/crypto.md), so a flood of
-- nonce requests stores nothing. What must be remembered is that a nonce was
-- used: tipd inserts it here when a login that names it verifies, and
-- refuses the login if it is already here. Every review host shares the
-- table, so a nonce logs in once on any of them. Rows are deleted once no
-- host can accept the nonce any more (expires_at, plus a clock-skew margin).
CREATE TABLE login_nonces (
	nonce      bytea PRIMARY KEY CHECK (length(nonce) = 32),
	expires_at bigint NOT NULL
);
CREATE INDEX login_nonces_expires ON login_nonces (expires_at);

REVOKE ALL ON login_nonces FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON login_nonces TO tipline_app;
