#include "review_reports.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "http.h"
#include "membership.h"
#include "review_replies.h"
#include "review_req.h"
#include "util.h"

/* Route state, one per request. */
struct rv_ctx {
	struct rv_filter f;
	struct rv_patch p;
	char team[MEMBERSHIP_TEAM_MAX + 1]; /* the report's team (PATCH) */
	long unknown_labels;
	int rows;
	char last_date[11];
	char last_id[37];
	uint8_t *file;   /* attachment download: header || payload */
	size_t file_len;
	int in_team;     /* fetch: the report is in one of the caller's teams */
};

static const char *const statuses[] = { "new", "triaged", "investigating", "referred", "closed",
	                                NULL };
static const char *const priorities[] = { "low", "normal", "high", "urgent", NULL };

/* The listed columns of a report, as in every summary. */
#define SUMMARY_COLS                                                                         \
	"r.id, r.team_id, r.received_on::text, r.status, r.priority, r.assignee, "          \
	"array_to_json(r.labels)::text, "                                                  \
	"(select count(*) from attachments a where a.report_id = r.id), "                  \
	"(select count(*) from messages m where m.report_id = r.id), "                     \
	"(select count(*) from replies p where p.report_id = r.id), "                      \
	"(select count(*) from notes n where n.report_id = r.id), "                        \
	"greatest(r.received_on, "                                                         \
	"(select max(m.sent_on) from messages m where m.report_id = r.id), "               \
	"(select max(p.sent_on) from replies p where p.report_id = r.id), "                \
	"(select max(n.sent_on) from notes n where n.report_id = r.id))::text"
/* The number of SUMMARY_COLS columns (what a query selects after them comes next). */
#define SUMMARY_N 12

/* ---- parsing ---- */

static const char *
one_of(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i] != NULL; i++)
		if (strcmp(s, set[i]) == 0)
			return set[i];
	return NULL;
}

int
rv_date_valid(const char *s)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(m == 2 && d == 29 && !leap);
}

static int
chars_ok(const char *s, size_t max, const char *extra, int upper)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		         (upper && c >= 'A' && c <= 'Z') || (c != '\0' && strchr(extra, c) != NULL);
		if (!ok)
			return 0;
	}
	return 1;
}

int
rv_label_valid(const char *s)
{
	return chars_ok(s, 64, "._-", 0) && s[0] != '.' && s[0] != '_' && s[0] != '-';
}

int
rv_name_valid(const char *s)
{
	return chars_ok(s, MEMBERSHIP_NAME_MAX, "._-", 1);
}

int
rv_cursor_make(const char *date, const char *id, char *out, size_t outlen)
{
	char raw[64];
	int n = snprintf(raw, sizeof(raw), "%s/%s", date, id);
	if (n != 47 || outlen < sodium_base64_ENCODED_LEN(47, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return -1;
	sodium_bin2base64(out, outlen, (const unsigned char *)raw, 47,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

static int
cursor_parse(const char *s, struct rv_filter *f)
{
	char raw[48];
	size_t len = strlen(s), bin_len = 0;
	if (len != 63 ||
	    util_base64_decode(s, len, (uint8_t *)raw, 47, &bin_len,
	                       sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bin_len != 47 || raw[10] != '/')
		return -1;
	memcpy(f->cursor_date, raw, 10);
	f->cursor_date[10] = '\0';
	memcpy(f->cursor_id, raw + 11, 36);
	f->cursor_id[36] = '\0';
	if (!rv_date_valid(f->cursor_date) || !util_uuid_valid(f->cursor_id))
		return -1;
	f->has_cursor = 1;
	return 0;
}

/* Check and store one key=value of the list query. */
static int
filter_set(struct rv_filter *f, const char *k, const char *v)
{
	uint64_t n;
	const char **slot = NULL;
	int ok = 0;
	if (strcmp(k, "team") == 0) {
		slot = &f->team;
		ok = membership_team_valid(v);
	} else if (strcmp(k, "status") == 0) {
		slot = &f->status;
		ok = one_of(v, statuses) != NULL;
	} else if (strcmp(k, "priority") == 0) {
		slot = &f->priority;
		ok = one_of(v, priorities) != NULL;
	} else if (strcmp(k, "assignee") == 0) {
		slot = &f->assignee;
		ok = rv_name_valid(v);
	} else if (strcmp(k, "label") == 0) {
		slot = &f->label;
		ok = rv_label_valid(v);
	} else if (strcmp(k, "since") == 0) {
		slot = &f->since;
		ok = rv_date_valid(v);
	} else if (strcmp(k, "limit") == 0) {
		if (f->limit != 0 || util_parse_u64(v, RV_LIST_MAX, &n) != 0 || n == 0)
			return -1;
		f->limit = (unsigned)n;
		return 0;
	} else if (strcmp(k, "cursor") == 0) {
		return f->has_cursor ? -1 : cursor_parse(v, f);
	}
	if (slot == NULL || *slot != NULL || !ok)
		return -1;
	*slot = v;
	return 0;
}

int
rv_filter_parse(const char *q, struct rv_filter *f)
{
	memset(f, 0, sizeof(*f));
	size_t len = strlen(q);
	if (len >= sizeof(f->buf))
		return -1;
	memcpy(f->buf, q, len + 1);
	for (char *p = f->buf; *p != '\0';) {
		char *amp = strchr(p, '&');
		char *next = amp != NULL ? amp + 1 : p + strlen(p);
		if (amp != NULL)
			*amp = '\0';
		char *eq = strchr(p, '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		if (filter_set(f, p, eq + 1) != 0)
			return -1;
		p = next;
	}
	if (f->limit == 0)
		f->limit = RV_LIST_DEFAULT;
	return 0;
}

/* Fill p->labels with the array literal of `arr`; return RV_PATCH_*. */
static enum rv_patch_result
patch_labels(json_t *arr, struct rv_patch *p)
{
	struct buf b;
	size_t i;
	json_t *v;
	enum rv_patch_result rc = RV_PATCH_OK;
	if (!json_is_array(arr))
		return RV_PATCH_BAD;
	if (json_array_size(arr) > RV_LABELS_MAX)
		return RV_PATCH_INVALID;
	buf_init(&b, sizeof(p->labels) - 1);
	if (buf_adds(&b, "{") != 0)
		rc = RV_PATCH_BAD;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL) {
			rc = RV_PATCH_BAD;
			break;
		}
		if (!rv_label_valid(s) || json_string_length(v) != strlen(s))
			rc = RV_PATCH_INVALID;
		for (size_t j = 0; j < i && rc == RV_PATCH_OK; j++)
			if (strcmp(s, json_string_value(json_array_get(arr, j))) == 0)
				rc = RV_PATCH_INVALID; /* repeated */
		if (rc == RV_PATCH_OK && buf_printf(&b, "%s%s", i ? "," : "", s) != 0)
			rc = RV_PATCH_BAD;
	}
	if (rc == RV_PATCH_OK && buf_adds(&b, "}") == 0) {
		memcpy(p->labels, b.data, b.len);
		p->labels[b.len] = '\0';
		p->set_labels = 1;
	}
	buf_free(&b);
	return rc;
}

static enum rv_patch_result
patch_field(const char *key, json_t *v, struct rv_patch *p)
{
	if (strcmp(key, "status") == 0 || strcmp(key, "priority") == 0) {
		int st = key[0] == 's';
		if (!json_is_string(v))
			return RV_PATCH_BAD;
		const char *s = one_of(json_string_value(v), st ? statuses : priorities);
		if (s == NULL)
			return RV_PATCH_INVALID;
		*(st ? &p->status : &p->priority) = s;
		return RV_PATCH_OK;
	}
	if (strcmp(key, "assignee") == 0) {
		p->set_assignee = 1;
		if (json_is_null(v))
			return RV_PATCH_OK;
		if (!json_is_string(v))
			return RV_PATCH_BAD;
		const char *s = json_string_value(v);
		if (!rv_name_valid(s) || json_string_length(v) != strlen(s))
			return RV_PATCH_INVALID;
		snprintf(p->assignee, sizeof(p->assignee), "%s", s);
		return RV_PATCH_OK;
	}
	if (strcmp(key, "labels") == 0)
		return patch_labels(v, p);
	return RV_PATCH_BAD;
}

enum rv_patch_result
rv_patch_parse(const uint8_t *body, size_t len, struct rv_patch *p)
{
	json_error_t e;
	const char *key;
	json_t *v;
	enum rv_patch_result rc = RV_PATCH_OK;
	memset(p, 0, sizeof(*p));
	json_t *doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &e);
	if (doc == NULL || !json_is_object(doc) || json_object_size(doc) == 0) {
		json_decref(doc);
		return RV_PATCH_BAD;
	}
	/* A 400 (shape) wins over a 422 (value) wherever it is. */
	json_object_foreach(doc, key, v) {
		enum rv_patch_result r = patch_field(key, v, p);
		if (r == RV_PATCH_BAD || (r == RV_PATCH_INVALID && rc == RV_PATCH_OK))
			rc = r;
	}
	json_decref(doc);
	return rc;
}

/* ---- answers ---- */

/* The summary of row `i` (columns as SUMMARY_COLS). NULL on error. */
static json_t *
summary_row(const PGresult *res, int i)
{
	json_error_t e;
	json_t *labels = json_loads(PQgetvalue(res, i, 6), 0, &e);
	json_t *assignee = PQgetisnull(res, i, 5) ? json_null() : json_string(PQgetvalue(res, i, 5));
	uint64_t n[4] = { 0 };
	int bad = !json_is_array(labels) || assignee == NULL;
	for (int k = 0; k < 4 && !bad; k++)
		bad = util_parse_u64(PQgetvalue(res, i, 7 + k), UINT32_MAX, &n[k]) != 0;
	if (bad) {
		json_decref(labels);
		json_decref(assignee);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:s}", "id",
	                 PQgetvalue(res, i, 0), "team", PQgetvalue(res, i, 1), "received_on",
	                 PQgetvalue(res, i, 2), "status", PQgetvalue(res, i, 3), "priority",
	                 PQgetvalue(res, i, 4), "assignee", assignee, "labels", labels,
	                 "attachments", (json_int_t)n[0], "message_count", (json_int_t)n[1], "reply_count",
	                 (json_int_t)n[2], "note_count", (json_int_t)n[3], "last_activity_on",
	                 PQgetvalue(res, i, 11));
}

/* The caller's teams as a PostgreSQL array literal (team ids need no quoting),
 * or only `only` if the caller is a member of it ("{}" if not). */
static void
teams_literal(const struct rv_caller *c, const char *only, char *out, size_t n)
{
	size_t o = 0;
	out[o++] = '{';
	for (size_t i = 0; i < c->n; i++) {
		if (only != NULL && strcmp(only, c->m[i]->team) != 0)
			continue;
		int w = snprintf(out + o, n - o, "%s%s", o > 1 ? "," : "", c->m[i]->team);
		if (w < 0 || (size_t)w >= n - o - 1)
			break;
		o += (size_t)w;
	}
	out[o++] = '}';
	out[o] = '\0';
}

/* Teams and the caller's recipient in each, as two parallel literals. */
static void
recipients_literal(const struct rv_caller *c, char *teams, size_t tn, char *rcpts, size_t rn)
{
	size_t a = 0, b = 0;
	teams[a++] = '{';
	rcpts[b++] = '{';
	for (size_t i = 0; i < c->n; i++) {
		int w1 = snprintf(teams + a, tn - a, "%s%s", i ? "," : "", c->m[i]->team);
		int w2 = snprintf(rcpts + b, rn - b, "%s%s", i ? "," : "", c->m[i]->recipient);
		/* Keep room for the closing brace and the NUL in both. */
		if (w1 < 0 || w2 < 0 || (size_t)w1 >= tn - a - 1 || (size_t)w2 >= rn - b - 1) {
			teams[a] = rcpts[b] = '\0';
			break;
		}
		a += (size_t)w1;
		b += (size_t)w2;
	}
	teams[a++] = '}';
	rcpts[b++] = '}';
	teams[a] = rcpts[b] = '\0';
}

#define TEAMS_LIT (RV_MAX_TEAMS * (MEMBERSHIP_TEAM_MAX + 1) + 3)
#define RCPTS_LIT (RV_MAX_TEAMS * AGE_RECIPIENT_STR_MAX + 3)

/* ---- list ---- */

static void
list_rows(struct rv_req *r, const PGresult *res)
{
	struct rv_ctx *c = r->ctx;
	json_t *arr = json_object_get(r->out, "reports");
	int n = PQntuples(res);
	c->rows = n;
	for (int i = 0; i < n && i < (int)c->f.limit; i++) {
		json_t *s = summary_row(res, i);
		if (s == NULL ||
		    json_object_set_new(s, "granted",
		                        json_boolean(PQgetvalue(res, i, SUMMARY_N)[0] == 't')) != 0 ||
		    json_array_append_new(arr, s) != 0) {
			db_step_mark_failed(&r->step);
			return;
		}
		snprintf(c->last_date, sizeof(c->last_date), "%s", PQgetvalue(res, i, 2));
		snprintf(c->last_id, sizeof(c->last_id), "%s", PQgetvalue(res, i, 0));
	}
}

static void
list_done(struct rv_req *r)
{
	struct rv_ctx *c = r->ctx;
	char cur[96];
	json_t *next = json_null();
	if (c->rows > (int)c->f.limit) {
		if (rv_cursor_make(c->last_date, c->last_id, cur, sizeof(cur)) != 0) {
			rv_problem(r, 500, "cannot make a cursor");
			return;
		}
		next = json_string(cur);
	}
	json_object_set_new(r->out, "next_cursor", next);
	rv_answer_out(r);
}

/* The list query around the per-team page conditions `cond` (each team's
 * page, then the newest of those, then only those rows summed up), with
 * the page size and the caller's recipients as parameters `lim` and `rc`. */
#define LIST_SQL(cond, lim, rc)                                                               \
	"select " SUMMARY_COLS ", exists (select 1 from object_headers h where "               \
	"h.object_id = r.id and h.recipient = any(" rc "::text[])) "                           \
	"from (select p.id from unnest($1::text[]) t(team) cross join lateral ("              \
	"select x.id, x.received_on from reports x where x.team_id = t.team " cond            \
	"order by x.received_on desc, x.id desc limit " lim "::int) p "                        \
	"order by p.received_on desc, p.id desc limit " lim "::int) page "                     \
	"join reports r on r.id = page.id "                                                    \
	"order by r.received_on desc, r.id desc"

/* Queue the list query for filter `f`. A list without filters (the usual
 * walk through every page, with or without a cursor) is one of two fixed
 * texts with only the conditions it uses, run prepared (DB_Q_CACHED): its
 * generic plan keeps the cursor as an index condition. Filters go into one
 * text of nullable parameters, planned per request (a generic plan of it
 * could not use the cursor as an index condition). */
static void
list_query(struct rv_req *r, const struct rv_filter *f, const char *teams, const char *limit,
           const char *rcpts)
{
	if (f->status == NULL && f->priority == NULL && f->assignee == NULL && f->label == NULL &&
	    f->since == NULL) {
		const char *v[5] = { teams, limit, rcpts, f->cursor_date, f->cursor_id };
		if (f->has_cursor)
			rv_q_ex(r,
			        LIST_SQL("and (x.received_on, x.id) < ($4::date, $5::uuid) ", "$2",
			                 "$3"),
			        5, v, NULL, NULL, DB_Q_CACHED, list_rows);
		else
			rv_q_ex(r, LIST_SQL("", "$2", "$3"), 3, v, NULL, NULL, DB_Q_CACHED, list_rows);
		return;
	}
	const char *v[10] = { teams, f->status, f->priority, f->assignee, f->label, f->since,
		              f->has_cursor ? f->cursor_date : NULL,
		              f->has_cursor ? f->cursor_id : NULL, limit, rcpts };
	rv_q(r, LIST_SQL("and ($2::text is null or x.status = $2) "
	                 "and ($3::text is null or x.priority = $3) "
	                 "and ($4::text is null or x.assignee = $4) "
	                 "and ($5::text is null or $5 = any(x.labels)) "
	                 "and ($6::date is null or x.received_on >= $6::date) "
	                 "and ($7::date is null or (x.received_on, x.id) < ($7::date, $8::uuid)) ",
	                 "$9", "$10"),
	     10, v, NULL, NULL, list_rows);
}

static void
list_start(struct rv_req *r)
{
	struct rv_ctx *c = r->ctx;
	struct rv_filter *f = &c->f;
	char teams[TEAMS_LIT], limit[16], all_teams[TEAMS_LIT], rcpts[RCPTS_LIT];
	if (rv_filter_parse(http_request_query(r->req), f) != 0) {
		rv_problem(r, 400, "bad filter: team, status, priority, assignee, label, "
		                   "since=YYYY-MM-DD, limit=1..200, cursor");
		return;
	}
	teams_literal(&r->caller, f->team, teams, sizeof(teams));
	recipients_literal(&r->caller, all_teams, sizeof(all_teams), rcpts, sizeof(rcpts));
	snprintf(limit, sizeof(limit), "%u", f->limit + 1);
	r->out = json_pack("{s:[]}", "reports");
	/* One page per team, each an index range scan on (team_id, received_on,
	 * id) from the cursor on (schema 0013; index-only without filters), then
	 * the newest of those: the cost is the page size times the teams, at any
	 * depth. Only the rows of that page are read whole and summed up (the
	 * summary's subqueries run per row: not for every team's candidates,
	 * which are up to RV_MAX_TEAMS times as many). granted: the
	 * caller has a header for the report (else it arrived before they joined
	 * and waits for a member's tipctl sync). */
	list_query(r, f, teams, limit, rcpts);
	rv_audit(r, AUDIT_REPORT_LIST, f->team, NULL, NULL);
	rv_run(r, list_done);
}

/* ---- fetch one ---- */

static void
fetch_report(struct rv_req *r, const PGresult *res)
{
	if (PQntuples(res) != 1)
		return;
	json_t *s = summary_row(res, 0);
	if (s == NULL || json_object_set_new(s, "header", json_string(PQgetvalue(res, 0, SUMMARY_N))) != 0 ||
	    json_object_set_new(s, "payload", json_string(PQgetvalue(res, 0, SUMMARY_N + 1))) != 0 ||
	    json_object_set_new(s, "attachments", json_array()) != 0) {
		json_decref(s);
		db_step_mark_failed(&r->step);
		return;
	}
	r->out = s;
	r->found = 1;
}

static void
fetch_attachments(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "attachments");
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		uint64_t size;
		if (util_parse_u64(PQgetvalue(res, i, 2), UINT64_MAX >> 1, &size) != 0 ||
		    json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "id", PQgetvalue(res, i, 0),
		                                         "header", PQgetvalue(res, i, 1), "size",
		                                         (json_int_t)size)) != 0) {
			db_step_mark_failed(&r->step);
			return;
		}
	}
}

static void
fetch_in_team_row(struct rv_req *r, const PGresult *res)
{
	struct rv_ctx *c = r->ctx;
	c->in_team = PQntuples(res) > 0;
}

static void
fetch_done(struct rv_req *r)
{
	const struct rv_ctx *c = r->ctx;
	if (!r->found && c->in_team) {
		/* a team member may know the report exists (it is in their list) */
		rv_problem_code(r, 404, "no_grant",
		                "this report arrived before you joined its team: a member who can "
		                "read it grants you access by running tipctl sync", NULL);
		return;
	}
	if (!r->found) {
		rv_problem(r, 404, "no such report");
		return;
	}
	rv_answer_out(r);
}

#define B64(x) "translate(encode(" x ", 'base64'), E'\\n', '')"
#define VISIBLE "join unnest($2::text[], $3::text[]) v(team, recipient) on r.team_id = v.team "

static void
fetch_start(struct rv_req *r)
{
	char teams[TEAMS_LIT], rcpts[RCPTS_LIT];
	recipients_literal(&r->caller, teams, sizeof(teams), rcpts, sizeof(rcpts));
	const char *v[3] = { r->id, teams, rcpts };
	rv_q_ex(r, "select " SUMMARY_COLS ", " B64("h.header") ", " B64("r.payload")
	        " from reports r " VISIBLE
	        "join object_headers h on h.object_id = r.id and h.recipient = v.recipient "
	        "where r.id = $1::uuid",
	     3, v, NULL, NULL, DB_Q_CACHED, fetch_report);
	rv_q_ex(r, "select a.id, " B64("h.header") ", length(a.payload) from attachments a "
	        "join reports r on r.id = a.report_id " VISIBLE
	        "join object_headers h on h.object_id = a.id and h.recipient = v.recipient "
	        "where a.report_id = $1::uuid order by a.id",
	     3, v, NULL, NULL, DB_Q_CACHED, fetch_attachments);
	rv_q_ex(r, "select 1 from reports r " VISIBLE "where r.id = $1::uuid", 3, v, NULL, NULL,
	        DB_Q_CACHED, fetch_in_team_row);
	rv_replies_fetch(r, teams, rcpts);
	rv_audit_report(r, AUDIT_REPORT_FETCH, r->id, NULL, NULL);
	rv_run(r, fetch_done);
}

/* ---- attachment ---- */

static void
attachment_row(struct rv_req *r, const PGresult *res)
{
	struct rv_ctx *c = r->ctx;
	size_t hl = 0, pl = 0;
	if (PQntuples(res) != 1)
		return;
	unsigned char *h = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &hl);
	unsigned char *p = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 1), &pl);
	if (h != NULL && p != NULL && (c->file = malloc(hl + pl + 1)) != NULL) {
		memcpy(c->file, h, hl);
		memcpy(c->file + hl, p, pl);
		c->file_len = hl + pl;
		r->found = 1;
	} else {
		db_step_mark_failed(&r->step);
	}
	PQfreemem(h);
	PQfreemem(p);
}

static void
attachment_done(struct rv_req *r)
{
	struct rv_ctx *c = r->ctx;
	if (!r->found) {
		rv_problem(r, 404, "no such attachment");
		return;
	}
	rv_answer(r, 200, "application/octet-stream", c->file, c->file_len, NULL);
}

static void
attachment_start(struct rv_req *r)
{
	char teams[TEAMS_LIT], rcpts[RCPTS_LIT];
	recipients_literal(&r->caller, teams, sizeof(teams), rcpts, sizeof(rcpts));
	const char *v[4] = { r->aid, teams, rcpts, r->id };
	rv_q(r, "select h.header, a.payload from attachments a "
	        "join reports r on r.id = a.report_id " VISIBLE
	        "join object_headers h on h.object_id = a.id and h.recipient = v.recipient "
	        "where a.id = $1::uuid and a.report_id = $4::uuid",
	     4, v, NULL, NULL, attachment_row);
	rv_audit_report(r, AUDIT_ATTACHMENT_FETCH, r->id, r->aid, NULL);
	rv_run(r, attachment_done);
}

/* ---- PATCH ---- */

static void
patch_updated(struct rv_req *r, const PGresult *res)
{
	if (PQntuples(res) == 1 && (r->out = summary_row(res, 0)) != NULL)
		r->found = 1;
}

static void
patch_done(struct rv_req *r)
{
	if (!r->found) {
		rv_problem(r, 404, "no such report");
		return;
	}
	rv_answer_out(r);
}

static void
patch_report(struct rv_req *r, const PGresult *res)
{
	struct rv_ctx *c = r->ctx;
	if (PQntuples(res) == 1) {
		snprintf(c->team, sizeof(c->team), "%s", PQgetvalue(res, 0, 0));
		r->found = 1;
	}
}

static void
patch_labels_known(struct rv_req *r, const PGresult *res)
{
	struct rv_ctx *c = r->ctx;
	uint64_t n = 1;
	if (PQntuples(res) != 1 || util_parse_u64(PQgetvalue(res, 0, 0), 1000, &n) != 0)
		db_step_mark_failed(&r->step);
	c->unknown_labels = (long)n;
}

/* The report is visible and the labels are checked: validate the assignee
 * against the report's team, then update. */
static void
patch_checked(struct rv_req *r)
{
	struct rv_ctx *c = r->ctx;
	struct rv_patch *p = &c->p;
	if (!r->found) {
		rv_problem(r, 404, "no such report");
		return;
	}
	r->found = 0;
	if (c->unknown_labels > 0) {
		rv_problem(r, 422, "unknown label");
		return;
	}
	if (p->set_assignee && p->assignee[0] != '\0' && !rv_team_has_member(r, c->team, p->assignee)) {
		rv_problem(r, 422, "the assignee is not a member of the report's team");
		return;
	}
	const char *v[7] = { r->id, p->status, p->priority, p->set_assignee ? "t" : "f",
		             p->assignee[0] ? p->assignee : NULL, p->set_labels ? "t" : "f",
		             p->set_labels ? p->labels : NULL };
	rv_q(r, "update reports r set status = coalesce($2, r.status), "
	        "priority = coalesce($3, r.priority), "
	        "assignee = case when $4::boolean then $5::text else r.assignee end, "
	        "labels = case when $6::boolean then $7::text[] else r.labels end "
	        "where r.id = $1::uuid returning " SUMMARY_COLS,
	     7, v, NULL, NULL, patch_updated);
	rv_audit_report(r, AUDIT_REPORT_PATCH, r->id, NULL, NULL);
	rv_run(r, patch_done);
}

static void
patch_start(struct rv_req *r)
{
	struct rv_ctx *c = r->ctx;
	char teams[TEAMS_LIT];
	switch (rv_patch_parse(r->body.data, r->body.len, &c->p)) {
	case RV_PATCH_OK: break;
	case RV_PATCH_INVALID:
		rv_problem(r, 422, "a value is not allowed (status, priority, assignee or label)");
		return;
	default:
		rv_problem(r, 400, "send a JSON object with any of status, priority, assignee, labels");
		return;
	}
	teams_literal(&r->caller, NULL, teams, sizeof(teams));
	const char *v[2] = { r->id, teams };
	rv_q(r, "select r.team_id from reports r where r.id = $1::uuid "
	        "and r.team_id = any($2::text[])", 2, v, NULL, NULL, patch_report);
	const char *l[1] = { c->p.set_labels ? c->p.labels : "{}" };
	rv_q(r, "select count(*) from unnest($1::text[]) x(name) "
	        "where not exists (select 1 from labels l where l.name = x.name)",
	     1, l, NULL, NULL, patch_labels_known);
	rv_run(r, patch_checked);
}

/* ---- labels ---- */

static void
labels_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "labels");
	for (int i = 0; i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_string(PQgetvalue(res, i, 0))) != 0)
			db_step_mark_failed(&r->step);
}

static void
labels_start(struct rv_req *r)
{
	r->out = json_pack("{s:[]}", "labels");
	rv_q(r, "select name from labels order by name", 0, NULL, NULL, NULL, labels_rows);
	rv_run(r, rv_answer_out);
}

/* ---- the routes (review.c's table) ---- */

static void
rv_ctx_free(void *p)
{
	struct rv_ctx *c = p;
	free(c->file);
}

#define RP_OPS(name, fn)                                                                      \
	const struct rv_ops name = { .start = fn, .ctx_size = sizeof(struct rv_ctx),             \
		                     .ctx_free = rv_ctx_free }
RP_OPS(rv_list_ops, list_start);
RP_OPS(rv_fetch_ops, fetch_start);
RP_OPS(rv_attachment_ops, attachment_start);
RP_OPS(rv_patch_ops, patch_start);
RP_OPS(rv_labels_ops, labels_start);
