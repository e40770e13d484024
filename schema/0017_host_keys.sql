-- 0017_host_keys: the check value of each secret every tipd host of one
-- deployment must share (the receipt pepper, the login nonce key, the web
-- key): a keyed BLAKE2b hash of a fixed label under the secret, which shows
-- nothing of it (server/lib/proto.h, proto_key_check). The first host to
-- start records them; a host whose copy differs refuses to start
-- (server/tipd/store/hostkeys.h). The application role may add the first
-- values but never change them: `tipd keys adopt`, run as the migration role
-- after an operator replaced a secret on every host on purpose, does.
CREATE TABLE host_keys (
	name text PRIMARY KEY CHECK (name IN ('receipt-pepper', 'nonce', 'web')),
	check_value bytea NOT NULL CHECK (length(check_value) = 32),
	set_on date NOT NULL DEFAULT current_date
);
GRANT SELECT, INSERT ON host_keys TO tipline_app;
