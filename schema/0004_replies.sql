-- 0004_replies: investigators' replies to the source and internal notes
-- (prompts/replies-inbox.md). Both are sealed and signed by the client:
-- tipd stores the age payload, the author's Ed25519 key and signature, and
-- one header per recipient in object_headers (a reply has one for the
-- source's recipient too, a note never). A day, never a time.

CREATE TABLE replies (
	id             uuid PRIMARY KEY,
	report_id      uuid NOT NULL REFERENCES reports ON DELETE CASCADE,
	sent_on        date NOT NULL,
	author_ed25519 bytea NOT NULL CHECK (length(author_ed25519) = 32),
	signature      bytea NOT NULL CHECK (length(signature) = 64),
	payload        bytea NOT NULL
);
CREATE INDEX replies_report_idx ON replies (report_id);

CREATE TABLE notes (
	id             uuid PRIMARY KEY,
	report_id      uuid NOT NULL REFERENCES reports ON DELETE CASCADE,
	sent_on        date NOT NULL,
	author_ed25519 bytea NOT NULL CHECK (length(author_ed25519) = 32),
	signature      bytea NOT NULL CHECK (length(signature) = 64),
	payload        bytea NOT NULL
);
CREATE INDEX notes_report_idx ON notes (report_id);

REVOKE ALL ON replies, notes FROM PUBLIC;
GRANT SELECT, INSERT ON replies, notes TO tipline_app;
