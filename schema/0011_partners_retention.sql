-- 0011_partners_retention: partner agencies a case may be referred to, and
-- retention (docs/keys.md "Referral to a partner" and "Retention").
--
-- partners: one row per partner agency, holding the admin-signed statement
-- (a C2SP signed note, origin line tipline/v1/partner, server/lib/partner.h)
-- that pins the partner's age recipient. tipctl verifies the statement
-- against the admin keys it pinned before it encrypts a case to that key;
-- the columns next to it are for listing only.
CREATE TABLE partners (
	name      text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
	recipient text NOT NULL CHECK (recipient ~ '^age1[02-9ac-hj-np-z]{6,200}$'),
	statement text NOT NULL CHECK (length(statement) BETWEEN 1 AND 8192),
	added_on  date NOT NULL DEFAULT current_date
);

-- A team's retention policy: closed reports are purged closed_days after
-- the day they were closed, all others open_days after the day they
-- arrived. NULL keeps them. `tipd purge` applies it daily.
CREATE TABLE retention_policies (
	team_id     text PRIMARY KEY REFERENCES teams,
	closed_days int CHECK (closed_days BETWEEN 1 AND 36500),
	open_days   int CHECK (open_days BETWEEN 1 AND 36500)
);

-- Legal hold keeps a report whatever the policy says; status_on is the day
-- of the last status change (a day, never a time), kept by a trigger.
ALTER TABLE reports
	ADD COLUMN legal_hold boolean NOT NULL DEFAULT false,
	ADD COLUMN status_on date;
UPDATE reports SET status_on = received_on;
ALTER TABLE reports
	ALTER COLUMN status_on SET DEFAULT current_date,
	ALTER COLUMN status_on SET NOT NULL;

CREATE FUNCTION reports_status_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		NEW.status_on := current_date;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER reports_status_on BEFORE UPDATE OF status ON reports
	FOR EACH ROW EXECUTE FUNCTION reports_status_on();

-- The reports the policies say are due today (never one under legal hold).
CREATE FUNCTION retention_due() RETURNS TABLE (id uuid, team_id text)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT r.id, r.team_id FROM reports r JOIN retention_policies p ON p.team_id = r.team_id
	WHERE NOT r.legal_hold AND (
		(r.status = 'closed' AND p.closed_days IS NOT NULL
		 AND r.status_on <= current_date - p.closed_days)
		OR (r.status <> 'closed' AND p.open_days IS NOT NULL
		    AND r.received_on <= current_date - p.open_days))
	ORDER BY r.id
$$;

-- Purge report `rid` if, and only if, it is due: its headers, the headers
-- of its attachments, messages, replies and notes, those rows, its inbox
-- and the report itself. Return its team, or NULL if it was not due (then
-- nothing changed). SECURITY DEFINER so that the application role needs
-- no DELETE on these tables: it can purge what the policy says, nothing else.
CREATE FUNCTION retention_purge(rid uuid) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	t text;
BEGIN
	SELECT d.team_id INTO t FROM retention_due() d WHERE d.id = rid;
	IF t IS NULL THEN
		RETURN NULL;
	END IF;
	PERFORM 1 FROM reports WHERE id = rid AND NOT legal_hold FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	DELETE FROM object_headers h WHERE h.object_id = rid
		OR h.object_id IN (SELECT a.id FROM attachments a WHERE a.report_id = rid)
		OR h.object_id IN (SELECT m.id FROM messages m WHERE m.report_id = rid)
		OR h.object_id IN (SELECT p.id FROM replies p WHERE p.report_id = rid)
		OR h.object_id IN (SELECT n.id FROM notes n WHERE n.report_id = rid);
	DELETE FROM attachments WHERE report_id = rid;
	DELETE FROM messages WHERE report_id = rid;
	DELETE FROM replies WHERE report_id = rid;
	DELETE FROM notes WHERE report_id = rid;
	DELETE FROM inboxes WHERE report_id = rid;
	DELETE FROM reports WHERE id = rid;
	RETURN t;
END
$$;

REVOKE ALL ON partners, retention_policies FROM PUBLIC;
REVOKE ALL ON FUNCTION retention_due(), retention_purge(uuid) FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON partners TO tipline_app;
GRANT SELECT, INSERT ON retention_policies TO tipline_app;
GRANT UPDATE (closed_days, open_days) ON retention_policies TO tipline_app;
GRANT UPDATE (legal_hold) ON reports TO tipline_app;
GRANT EXECUTE ON FUNCTION retention_due(), retention_purge(uuid) TO tipline_app;
