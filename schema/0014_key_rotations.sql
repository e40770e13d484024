-- 0014_key_rotations: a member's key rotation in progress (docs/keys.md
-- "Rotating your key", docs/api.md "Key rotation").
--
-- When an admin's statement replaces a member's keys under the same name,
-- tipd keeps the old key's headers on the team's objects (instead of
-- deleting them, as for a removal) and records the rotation here, so that
-- the member, logged in with the new key, can fetch the old headers, open
-- them locally with the old identity and upload a header for the new key.
-- Finishing deletes the old headers and the row. Public keys only.

CREATE TABLE key_rotations (
	team_id       text NOT NULL REFERENCES teams,
	old_recipient text NOT NULL CHECK (old_recipient ~ '^age1[02-9ac-hj-np-z]{6,200}$'),
	new_recipient text NOT NULL CHECK (new_recipient ~ '^age1[02-9ac-hj-np-z]{6,200}$'),
	new_ed25519   bytea NOT NULL CHECK (length(new_ed25519) = 32),
	PRIMARY KEY (team_id, old_recipient)
);
CREATE INDEX key_rotations_new_idx ON key_rotations (new_ed25519);

REVOKE ALL ON key_rotations FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON key_rotations TO tipline_app;
-- a second rotation before the first finished replaces the new key
GRANT UPDATE (new_recipient, new_ed25519) ON key_rotations TO tipline_app;
