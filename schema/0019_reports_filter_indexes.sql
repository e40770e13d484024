-- 0019_reports_filter_indexes: the review list filtered by status, priority
-- or assignee (GET /api/v1/reports?status=...) pages through a team's
-- matching reports newest first. With only 0013's (team_id, received_on,
-- id) index, each page walked the team's reports in that order and dropped
-- the others: a rare value (5 % of a member's 320,000 reports marked
-- urgent) cost twenty times a page of rows read, 31 ms at p50 and 454 ms
-- at worst at full size (docs/performance.md, "Years of data"). With the
-- filtered column second, each team's page is one index range scan that
-- stops after the page, as without filters. A label or a day (since) still
-- uses 0013's index. The cost is three more index entries per report and
-- no HOT update when triage changes one of these columns.
CREATE INDEX reports_team_status_idx ON reports (team_id, status, received_on, id);
CREATE INDEX reports_team_priority_idx ON reports (team_id, priority, received_on, id);
CREATE INDEX reports_team_assignee_idx ON reports (team_id, assignee, received_on, id);
