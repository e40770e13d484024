-- 0013_reports_list_index: the review list pages through a team's reports
-- newest first by (received_on, id) (GET /api/v1/reports, cursor paging).
-- With id in the index, each page of each team is one index range scan
-- that stops after the page, at any depth, instead of reading and sorting
-- every report of the team (docs/performance.md, "Years of data"). The old
-- index is a prefix of the new one and goes.
CREATE INDEX reports_team_day_id_idx ON reports (team_id, received_on, id);
DROP INDEX reports_team_idx;
