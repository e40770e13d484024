-- 0002_inboxes: what a receipt opens. Only the receipt's lookup id (keyed
-- BLAKE2b of the receipt with the deployment's pepper) and the source's X25519
-- public key are stored: never the receipt, never the source's secret key.
-- Deleting the row ("forget this receipt") makes the receipt open nothing.

CREATE TABLE inboxes (
	lookup_id bytea PRIMARY KEY CHECK (length(lookup_id) = 32),
	report_id uuid NOT NULL UNIQUE REFERENCES reports ON DELETE CASCADE
	          DEFERRABLE INITIALLY DEFERRED,
	source_pk bytea NOT NULL CHECK (length(source_pk) = 32)
);

REVOKE ALL ON inboxes FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON inboxes TO tipline_app;
