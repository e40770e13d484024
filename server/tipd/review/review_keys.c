/* review_keys: the raw key inventory for `tipctl keys check` (see review_keys.h). */
#include "review_keys.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "http.h"
#include "review_req.h"
#include "util.h"

/* The objects of the page's reports (CTE r) with their kinds. */
#define KEYS_OBJECTS                                                                      \
	"select r.id as rid, r.id as oid, 'report' as kind from r "                         \
	"union all select a.report_id, a.id, 'attachment' from attachments a "              \
	"join r on r.id = a.report_id "                                                       \
	"union all select m.report_id, m.id, 'message' from messages m "                    \
	"join r on r.id = m.report_id "                                                       \
	"union all select x.report_id, x.id, 'reply' from replies x join r on r.id = x.report_id " \
	"union all select x.report_id, x.id, 'note' from notes x join r on r.id = x.report_id"

static void
admin_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "admin_statements");
	for (int i = 0; i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:s%}", "seq", PQgetvalue(res, i, 0),
		                                         "statement", PQgetvalue(res, i, 1),
		                                         (size_t)PQgetlength(res, i, 1))) != 0)
			db_step_mark_failed(&r->step);
}

static void
stmt_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "membership_statements");
	for (int i = 0; i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s%}", "team",
		                                         PQgetvalue(res, i, 0), "seq",
		                                         PQgetvalue(res, i, 1), "added_on",
		                                         PQgetvalue(res, i, 2), "statement",
		                                         PQgetvalue(res, i, 3),
		                                         (size_t)PQgetlength(res, i, 3))) != 0)
			db_step_mark_failed(&r->step);
}

/* One row per object: report, team, day, object, kind, recipients (JSON). */
static void
object_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "objects");
	json_error_t e;
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		json_t *rc = json_loads(PQgetvalue(res, i, 5), 0, &e);
		if (!json_is_array(rc) ||
		    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "report",
		                                         PQgetvalue(res, i, 0), "team",
		                                         PQgetvalue(res, i, 1), "received_on",
		                                         PQgetvalue(res, i, 2), "object",
		                                         PQgetvalue(res, i, 3), "kind",
		                                         PQgetvalue(res, i, 4), "recipients", rc)) != 0)
			db_step_mark_failed(&r->step);
	}
}

static void
last_row(struct rv_req *r, const PGresult *res)
{
	int n = PQntuples(res);
	if (n == RV_KEYS_PAGE)
		json_object_set_new(r->out, "next", json_string(PQgetvalue(res, n - 1, 0)));
}

static void
keys_start(struct rv_req *r)
{
	char after[37] = "00000000-0000-0000-0000-000000000000", lim[16];
	const char *q = http_request_query(r->req);
	if (q != NULL && q[0] != '\0' && (strncmp(q, "after=", 6) != 0 || !util_uuid_valid(q + 6))) {
		rv_problem(r, 400, "the only parameter is after=<report uuid>");
		return;
	}
	int first = q == NULL || q[0] == '\0';
	if (!first)
		snprintf(after, sizeof(after), "%s", q + 6);
	snprintf(lim, sizeof(lim), "%d", RV_KEYS_PAGE);
	r->out = json_pack("{s:[], s:[], s:[], s:n}", "admin_statements", "membership_statements",
	                   "objects", "next");
	if (r->out == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	if (first) {
		/* Ordered by the columns, not by their text (an output name wins
		 * in ORDER BY, and "10" < "2"). */
		rv_q(r, "select seq::text, statement from admin_statements "
		        "order by admin_statements.seq", 0, NULL, NULL, NULL, admin_rows);
		rv_q(r, "select team_id, seq::text, added_on::text, statement from "
		        "membership_statements order by membership_statements.team_id, "
		        "membership_statements.seq", 0, NULL, NULL, NULL, stmt_rows);
	}
	const char *v[2] = { after, lim };
	rv_q(r, "with r as (select id, team_id, received_on from reports where id > $1::uuid "
	        "order by id limit $2::int), o as (" KEYS_OBJECTS ") "
	        "select r.id, r.team_id, r.received_on::text, o.oid, o.kind, "
	        "coalesce((select json_agg(h.recipient order by h.recipient) from object_headers h "
	        "where h.object_id = o.oid), '[]')::text "
	        "from r join o on o.rid = r.id order by r.id, o.kind, o.oid",
	     2, v, NULL, NULL, object_rows);
	rv_q(r, "select id from reports where id > $1::uuid order by id limit $2::int", 2, v, NULL,
	     NULL, last_row);
	rv_audit(r, AUDIT_KEYS_CHECK, NULL, NULL, NULL);
	rv_run(r, rv_answer_out);
}

/* ---- GET /api/v1/audit/handovers ---- */

static void
handover_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "handovers");
	for (int i = 0; i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_stringn(PQgetvalue(res, i, 0),
		                                            (size_t)PQgetlength(res, i, 0))) != 0)
			db_step_mark_failed(&r->step);
}

static void
handovers_start(struct rv_req *r)
{
	if ((r->out = json_pack("{s:[]}", "handovers")) == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	/* Part of the audit log, which every session reads; reading it is not logged. */
	rv_q(r, "select note from audit_key_handovers order by size", 0, NULL, NULL, NULL,
	     handover_rows);
	rv_run(r, rv_answer_out);
}

const struct rv_ops rv_keys_ops = { .start = keys_start };
const struct rv_ops rv_handovers_ops = { .start = handovers_start };
