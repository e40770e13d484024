#include "review_sync.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "audit.h"
#include "buf.h"
#include "http.h"
#include "log.h"
#include "membership.h"
#include "review_req.h"
#include "teams.h"
#include "util.h"

#define SY_PAGE 100      /* objects per missing-headers page, by default */
#define SY_PAGE_MAX 1000 /* and at most (limit=) */
#define SY_ARRAY_MAX 32768 /* a PostgreSQL array literal of uuids or recipients */

/* The objects (report, attachments, messages, replies, notes) of report
 * $1; used by the header routes. */
#define SY_REPORT_OBJECTS                                                  \
	"select id from reports where id = $1::uuid "                      \
	"union all select id from attachments where report_id = $1::uuid " \
	"union all select id from messages where report_id = $1::uuid "    \
	"union all select id from replies where report_id = $1::uuid "     \
	"union all select id from notes where report_id = $1::uuid"

struct sy_ctx {
	json_t *body;
	/* array literals: the team's recipients; uploaded recipients and object ids */
	char rcpts_lit[SY_ARRAY_MAX];
	char ids_lit[SY_ARRAY_MAX];
	/* header upload */
	char report_team[MEMBERSHIP_TEAM_MAX + 1];
	json_t *headers;
	size_t added;
};

/* ---- GET /api/v1/teams/{team}/missing-headers (history sync) ---- */

static void
missing_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = rv_out_array(r, "objects");
	if (arr == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		json_error_t e;
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", PQgetvalue(res, i, 0),
		                      "report", PQgetvalue(res, i, 1), "kind",
		                      PQgetvalue(res, i, 2), "header", PQgetvalue(res, i, 3),
		                      "missing", json_loads(PQgetvalue(res, i, 4), 0, &e));
		if (rv_out_append(r, arr, o) != 0)
			return;
	}
}

/* One kind of object of team $1 after $4 that the caller (recipient $3) can
 * open and some member ($2) has no header for: the first $5 by id. With the
 * filter inside the ordered, limited scan (reports by (team_id, id), schema
 * 0016; the other kinds by their primary key), a page reads about the rows
 * it returns, not every object of the team. The caller's header is looked
 * up per row by the primary key (a scalar subquery: as an EXISTS, the
 * planner made it a hash join over every header of the caller's key). */
#define SY_MISSING_KIND(sel, from, id)                                                        \
	"(select " sel " from " from " and " id " > $4::uuid "                                 \
	"and (select 1 from object_headers mine where mine.object_id = " id " "                 \
	"and mine.recipient = $3) is not null "                                                \
	"and exists (select 1 from unnest($2::text[]) w(rc) where not exists (select 1 from "    \
	"object_headers h where h.object_id = " id " and h.recipient = w.rc)) "                \
	"order by " id " limit $5::int)"
#define SY_JOIN_TEAM(t) t " x join reports r on r.id = x.report_id where r.team_id = $1"

/* Parse the missing-headers query: after=<uuid> and limit=1..SY_PAGE_MAX, both
 * optional, in any order. Return 0, or -1. */
static int
missing_query(const char *q, char after[37], unsigned *limit)
{
	char one[64];
	int seen_after = 0, seen_limit = 0;
	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&");
		uint64_t v;
		if (n >= sizeof(one))
			return -1;
		memcpy(one, q, n);
		one[n] = '\0';
		q += n;
		if (*q == '&' && *++q == '\0')
			return -1;
		if (strncmp(one, "after=", 6) == 0 && !seen_after && util_uuid_valid(one + 6)) {
			memcpy(after, one + 6, 37); /* a uuid: 36 characters and the NUL */
			seen_after = 1;
		} else if (strncmp(one, "limit=", 6) == 0 && !seen_limit &&
		           util_parse_u64(one + 6, SY_PAGE_MAX, &v) == 0 && v > 0) {
			*limit = (unsigned)v;
			seen_limit = 1;
		} else {
			return -1;
		}
	}
	return 0;
}

static void
missing_start(struct rv_req *r)
{
	struct sy_ctx *c = r->ctx;
	const struct rv_member *me = rv_caller_team(&r->caller, r->team);
	const struct rv_member *ms[MEMBERSHIP_MAX_MEMBERS];
	char after[37] = "00000000-0000-0000-0000-000000000000", lim[16];
	unsigned limit = SY_PAGE;
	if (me == NULL) {
		rv_problem(r, 404, "no such team");
		return;
	}
	if (missing_query(http_request_query(r->req), after, &limit) != 0) {
		rv_problem(r, 400, "the parameters are after=<object uuid> and limit=1..1000");
		return;
	}
	size_t n = rv_team_members(r, r->team, ms, MEMBERSHIP_MAX_MEMBERS);
	c->rcpts_lit[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (rv_array_add(c->rcpts_lit, sizeof(c->rcpts_lit), ms[i]->recipient) != 0) {
			rv_problem(r, 500, "team too large");
			return;
		}
	snprintf(lim, sizeof(lim), "%u", limit);
	const char *v[5] = { r->team, c->rcpts_lit, me->recipient, after, lim };
	r->out = json_object();
	rv_q_ex(r,
	     "select o.oid, o.rid, o.kind, translate(encode((select mine.header from "
	     "object_headers mine where mine.object_id = o.oid and mine.recipient = $3), "
	     "'base64'), E'\\n', ''), "
	     "(select array_to_json(array_agg(w.rc order by w.rc)) from unnest($2::text[]) w(rc) "
	     "where not exists (select 1 from object_headers h where h.object_id = o.oid "
	     "and h.recipient = w.rc)) "
	     "from (" SY_MISSING_KIND("r.id oid, r.id rid, 'report' kind",
	                              "reports r where r.team_id = $1", "r.id")
	     " union all " SY_MISSING_KIND("x.id, x.report_id, 'attachment'",
	                                   SY_JOIN_TEAM("attachments"), "x.id")
	     " union all " SY_MISSING_KIND("x.id, x.report_id, 'message'", SY_JOIN_TEAM("messages"),
	                                   "x.id")
	     " union all " SY_MISSING_KIND("x.id, x.report_id, 'reply'", SY_JOIN_TEAM("replies"),
	                                   "x.id")
	     " union all " SY_MISSING_KIND("x.id, x.report_id, 'note'", SY_JOIN_TEAM("notes"),
	                                   "x.id")
	     ") o order by o.oid limit $5::int",
	     5, v, NULL, NULL, DB_Q_CACHED, missing_rows);
	rv_run(r, rv_answer_out);
}

/* ---- POST /api/v1/reports/{id}/headers (history sync) ---- */

static void
headers_added_row(struct rv_req *r, const PGresult *res)
{
	((struct sy_ctx *)r->ctx)->added = (size_t)PQntuples(res);
}

static void
headers_added(struct rv_req *r)
{
	struct sy_ctx *c = r->ctx;
	log_info("review: %zu headers added for newcomers", c->added);
	rv_answer_json(r, 200,
	               json_pack("{s:I, s:I}", "added", (json_int_t)c->added, "skipped",
	                         (json_int_t)(json_array_size(c->headers) - c->added)));
}

/* Check every {"object","recipient","header"}: a uuid, a current member of
 * the report's team, an age header with exactly one X25519 stanza. Build
 * the three array literals. Return NULL if fine, else the problem. */
static const char *
headers_check(struct rv_req *r, char *objs, char *rcpts, struct buf *hdrs)
{
	struct sy_ctx *c = r->ctx;
	const struct rv_member *ms[MEMBERSHIP_MAX_MEMBERS];
	size_t n = rv_team_members(r, c->report_team, ms, MEMBERSHIP_MAX_MEMBERS), i;
	json_t *h;
	json_array_foreach(c->headers, i, h)
	{
		static const char *const keys[] = { "object", "recipient", "header", NULL };
		const char *o = rv_str_of(h, "object"), *rc = rv_str_of(h, "recipient"),
			   *hd = rv_str_of(h, "header");
		uint8_t raw[4096];
		size_t rl = 0, hl = 0;
		int nx = 0, ns = 0, no = 0, member = 0;
		if (!json_is_object(h) || !rv_only_keys(h, keys) || o == NULL ||
		    !util_uuid_valid(o) || rc == NULL || hd == NULL)
			return "each header is {\"object\": uuid, \"recipient\": \"age1…\", "
			       "\"header\": base64}";
		for (size_t j = 0; j < n && !member; j++)
			member = strcmp(ms[j]->recipient, rc) == 0;
		if (!member)
			return "a recipient is not a member of the report's team";
		if (util_base64_decode(hd, strlen(hd), raw, sizeof(raw), &rl,
		                       sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    age_header_inspect(raw, rl, &hl, &nx, &ns, &no) != AGE_OK || hl != rl ||
		    nx != 1 || ns != 0 || no != 0)
			return "each header must be an age header with exactly one X25519 stanza";
		if (rv_array_add(objs, SY_ARRAY_MAX, o) != 0 ||
		    rv_array_add(rcpts, SY_ARRAY_MAX, rc) != 0 ||
		    buf_printf(hdrs, "%s%s", i ? "," : "{", hd) != 0)
			return "too many headers in one request";
	}
	if (buf_adds(hdrs, "}") != 0)
		return "too many headers in one request";
	return NULL;
}

static void
headers_team_row(struct rv_req *r, const PGresult *res)
{
	if (PQntuples(res) == 1) {
		snprintf(((struct sy_ctx *)r->ctx)->report_team,
		         sizeof(((struct sy_ctx *)r->ctx)->report_team), "%s",
		         PQgetvalue(res, 0, 0));
		r->found = 1;
	}
}

static void
headers_store(struct rv_req *r)
{
	struct sy_ctx *c = r->ctx;
	const struct rv_member *me;
	char *objs = c->ids_lit, *rcpts = c->rcpts_lit;
	struct buf hdrs;
	if (!r->found || (me = rv_caller_team(&r->caller, c->report_team)) == NULL) {
		rv_problem(r, 404, "no such report");
		return;
	}
	r->found = 0;
	objs[0] = rcpts[0] = '\0';
	buf_init(&hdrs, RV_HEADERS_MAX_BODY);
	const char *bad = headers_check(r, objs, rcpts, &hdrs);
	if (bad != NULL) {
		buf_free(&hdrs);
		rv_problem(r, 422, bad);
		return;
	}
	const char *v[5] = { r->id, objs, rcpts, buf_cstr(&hdrs), me->recipient };
	rv_q(r,
	     "insert into object_headers (object_id, recipient, header) "
	     "select i.oid, i.rcpt, decode(i.hdr, 'base64') "
	     "from unnest($2::uuid[], $3::text[], $4::text[]) as i(oid, rcpt, hdr) "
	     "where i.oid in (" SY_REPORT_OBJECTS ") and (select 1 from object_headers m "
	     "where m.object_id = i.oid and m.recipient = $5) is not null "
	     "on conflict do nothing returning object_id",
	     5, v, NULL, NULL, headers_added_row);
	buf_free(&hdrs);
	/* one entry per newcomer served (recipients are fixed-length bech32, so a
	 * substring of the literal is a whole element) */
	const struct rv_member *ms[MEMBERSHIP_MAX_MEMBERS];
	uint8_t(*subjects)[32] = calloc(MEMBERSHIP_MAX_MEMBERS, 32);
	size_t n = rv_team_members(r, c->report_team, ms, MEMBERSHIP_MAX_MEMBERS), ns = 0;
	if (subjects == NULL) {
		rv_fail_step(r);
	} else {
		for (size_t j = 0; j < n; j++)
			if (strstr(rcpts, ms[j]->recipient) != NULL)
				memcpy(subjects[ns++], ms[j]->ed25519, 32);
		rv_audit_many(r, AUDIT_HEADERS_ADD, c->report_team, r->id,
		              (const uint8_t(*)[32])subjects, ns);
		free(subjects);
	}
	rv_run(r, headers_added);
}

static void
headers_start(struct rv_req *r)
{
	struct sy_ctx *c = r->ctx;
	static const char *const keys[] = { "headers", NULL };
	static const char shape[] = "send {\"headers\": [{\"object\", \"recipient\", \"header\"}]}";
	if (rv_body_object(r, shape, &c->body) != 0)
		return;
	c->headers = json_object_get(c->body, "headers");
	if (!rv_only_keys(c->body, keys) || !json_is_array(c->headers) ||
	    json_array_size(c->headers) == 0 || json_array_size(c->headers) > RV_HEADERS_MAX) {
		rv_problem(r, 400, shape);
		return;
	}
	const char *v[1] = { r->id };
	rv_q(r, "select team_id from reports where id = $1::uuid", 1, v, NULL, NULL,
	     headers_team_row);
	rv_run(r, headers_store);
}

static void
sy_ctx_free(void *p)
{
	struct sy_ctx *c = p;
	json_decref(c->body);
}

const struct rv_ops rv_missing_headers_ops = { .start = missing_start,
	                                       .ctx_size = sizeof(struct sy_ctx),
	                                       .ctx_free = sy_ctx_free };
const struct rv_ops rv_headers_ops = { .start = headers_start,
	                               .ctx_size = sizeof(struct sy_ctx),
	                               .ctx_free = sy_ctx_free };
