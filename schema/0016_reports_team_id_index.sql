-- 0016_reports_team_id_index: history sync pages through a team's objects
-- that some member has no header for, by id (GET
-- /api/v1/teams/{team}/missing-headers?after=). With (team_id, id) each
-- page of reports is one index range scan from the cursor that stops after
-- the page, instead of reading every report of the team for every page
-- (docs/performance.md, "Years of data").
CREATE INDEX reports_team_id_idx ON reports (team_id, id);
