#include "review_batch.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "age.h"
#include "audit.h"
#include "buf.h"
#include "log.h"
#include "membership.h"
#include "review_req.h"
#include "util.h"

/* The objects of team $1 among the ids $2 (uuid[]), each with its report,
 * kind and payload (the expression `p` of column payload): primary-key
 * lookups, whatever the team's size. The caller's header is looked up per
 * object, by the primary key, as a scalar subquery (a join or EXISTS may be
 * planned as a hash join over every header of the caller's key). */
#define BT_OBJECTS(p)                                                                         \
	"select x.id oid, x.id rid, 'report'::text kind, " p " payload from reports x "        \
	"where x.id = any($2::uuid[]) and x.team_id = $1 "                                     \
	"union all select x.id, x.report_id, 'attachment', " p " from attachments x "          \
	"join reports r on r.id = x.report_id where x.id = any($2::uuid[]) and r.team_id = $1 " \
	"union all select x.id, x.report_id, 'message', " p " from messages x "                \
	"join reports r on r.id = x.report_id where x.id = any($2::uuid[]) and r.team_id = $1 " \
	"union all select x.id, x.report_id, 'reply', " p " from replies x "                   \
	"join reports r on r.id = x.report_id where x.id = any($2::uuid[]) and r.team_id = $1 " \
	"union all select x.id, x.report_id, 'note', " p " from notes x "                      \
	"join reports r on r.id = x.report_id where x.id = any($2::uuid[]) and r.team_id = $1"

/* Where the audit entries of a batch go: the lock is queued first. */
#define BT_AUDIT_INSERT(rows)                                                                 \
	"insert into audit_entries (idx, entry, leaf_sha256) "                                 \
	"select m.i + e.n - 1, e.b, sha256('\\x00'::bytea || e.b) from (" rows ") e, "         \
	"(select coalesce(max(idx) + 1, 0) i from audit_entries) m"

struct bt_ctx {
	json_t *body;
	struct buf ids;     /* uuid[] literal */
	struct buf rcpts;   /* text[] literals: uploaded recipients, headers */
	struct buf hdrs;
	struct buf objs;    /* uuid[] literal of the uploaded headers' objects */
	struct buf members; /* the team's recipients and their key hashes (audit subjects) */
	struct buf subjects;
	struct buf pre_a, pre_b; /* entry prefixes (audit_entry_prefix) */
	size_t served, total, added, valid, uploaded;
};

/* Parse the body {"ids": [uuid, ...]} (1 to `max` ids) into `out` as a
 * PostgreSQL array literal. Return 0, or -1 (answered 400 with `shape`). */
static int
ids_literal(struct rv_req *r, size_t max, struct buf *out, const char *shape)
{
	struct bt_ctx *c = r->ctx;
	static const char *const keys[] = { "ids", NULL };
	json_t *arr, *v;
	size_t i;
	if (rv_body_object(r, shape, &c->body) != 0)
		return -1;
	arr = json_object_get(c->body, "ids");
	if (!rv_only_keys(c->body, keys) || !json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > max) {
		rv_problem(r, 400, shape);
		return -1;
	}
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL || !util_uuid_valid(s) ||
		    buf_printf(out, "%s%s", i ? "," : "{", s) != 0) {
			rv_problem(r, 400, shape);
			return -1;
		}
	}
	if (buf_adds(out, "}") != 0 || buf_cstr(out) == NULL) {
		rv_problem(r, 400, shape);
		return -1;
	}
	return 0;
}

/* ---- POST /api/v1/teams/{team}/objects ---- */

static void
objects_rows(struct rv_req *r, const PGresult *res)
{
	struct bt_ctx *c = r->ctx;
	json_t *arr = json_object_get(r->out, "objects");
	for (int i = 0; i < PQntuples(res); i++) {
		uint64_t size, total;
		if (util_parse_u64(PQgetvalue(res, i, 5), UINT64_MAX >> 1, &size) != 0 ||
		    util_parse_u64(PQgetvalue(res, i, 6), RV_OBJECTS_MAX, &total) != 0 ||
		    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id",
		                                         PQgetvalue(res, i, 0), "report",
		                                         PQgetvalue(res, i, 1), "kind",
		                                         PQgetvalue(res, i, 2), "header",
		                                         PQgetvalue(res, i, 3), "payload",
		                                         PQgetvalue(res, i, 4), "size",
		                                         (json_int_t)size)) != 0) {
			db_step_mark_failed(&r->step);
			return;
		}
		c->total = (size_t)total;
	}
	c->served = (size_t)PQntuples(res);
}

static void
objects_done(struct rv_req *r)
{
	struct bt_ctx *c = r->ctx;
	json_t *doc = r->out;
	if (json_object_set_new(doc, "truncated", json_boolean(c->served < c->total)) != 0) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	r->out = NULL;
	rv_answer_json(r, 200, doc);
}

/*
 * The caller's header and the payload of up to RV_OBJECTS_MAX objects of
 * the team: a report's whole payload (its team is sealed inside), of any
 * other object the first RV_OBJECTS_PREFIX bytes (the nonce, the first
 * chunk, which starts with the context line, and one byte more, which
 * proves that chunk is not the last). Objects come in id order until
 * RV_OBJECTS_BYTES of payload ("truncated": ask again for the rest). The
 * served set is computed once, in one statement that also appends its
 * audit entries: report_fetch once per report whose objects were served,
 * attachment_fetch per attachment.
 */
static void
objects_start(struct rv_req *r)
{
	struct bt_ctx *c = r->ctx;
	const struct rv_member *me = rv_caller_team(&r->caller, r->team);
	char prefix[24], cap[24];
	time_t now = time(NULL);
	if (me == NULL) {
		rv_problem(r, 404, "no such team");
		return;
	}
	if (ids_literal(r, RV_OBJECTS_MAX, &c->ids,
	                "send {\"ids\": [object uuid, ...]} with 1 to 256 ids") != 0)
		return;
	if (audit_entry_prefix(&c->pre_a, now, AUDIT_REPORT_FETCH, r->caller.ed25519, r->team) != 0 ||
	    audit_entry_prefix(&c->pre_b, now, AUDIT_ATTACHMENT_FETCH, r->caller.ed25519,
	                       r->team) != 0) {
		rv_problem(r, 500, "cannot write the audit entry");
		return;
	}
	snprintf(prefix, sizeof(prefix), "%u", RV_OBJECTS_PREFIX);
	snprintf(cap, sizeof(cap), "%u", RV_OBJECTS_BYTES);
	const char *v[7] = { r->team,           buf_cstr(&c->ids), me->recipient, prefix, cap,
		             buf_cstr(&c->pre_a), buf_cstr(&c->pre_b) };
	r->out = json_pack("{s:[]}", "objects");
	rv_q_ex(r, AUDIT_SQL_LOCK, 0, NULL, NULL, NULL, DB_Q_CACHED, NULL);
	rv_q_ex(r,
	     "with a as (select o.oid, o.rid, o.kind, (select mine.header from object_headers "
	     "mine where mine.object_id = o.oid and mine.recipient = $3) header, "
	     "case when o.kind = 'report' then o.payload "
	     "else substring(o.payload from 1 for $4::int) end p, length(o.payload) size "
	     "from (" BT_OBJECTS("x.payload") ") o), "
	     "w as (select a.*, sum(length(a.p)) over (order by a.oid) upto, "
	     "row_number() over (order by a.oid) k, count(*) over () total from a "
	     "where a.header is not null), "
	     "s as (select * from w where k = 1 or upto <= $5::bigint), "
	     "e as (" BT_AUDIT_INSERT(
		     "select row_number() over (order by t.obj) n, "
		     "convert_to(case when t.att then $7 else $6 end || t.obj::text || ' -', "
		     "'UTF8') b from (select distinct s.kind = 'attachment' att, "
		     "case when s.kind = 'attachment' then s.oid else s.rid end obj from s) t") ") "
	     "select s.oid, s.rid, s.kind, translate(encode(s.header, 'base64'), E'\\n', ''), "
	     "translate(encode(s.p, 'base64'), E'\\n', ''), s.size, s.total from s order by s.oid",
	     7, v, NULL, NULL, DB_Q_CACHED, objects_rows);
	rv_run(r, objects_done);
}

/* ---- POST /api/v1/teams/{team}/headers ---- */

static void
headers_count(struct rv_req *r, const PGresult *res)
{
	struct bt_ctx *c = r->ctx;
	uint64_t a, v;
	if (PQntuples(res) != 1 || util_parse_u64(PQgetvalue(res, 0, 0), SIZE_MAX, &a) != 0 ||
	    util_parse_u64(PQgetvalue(res, 0, 1), SIZE_MAX, &v) != 0) {
		db_step_mark_failed(&r->step);
		return;
	}
	c->added = (size_t)a;
	c->valid = (size_t)v;
}

static void
headers_done(struct rv_req *r)
{
	struct bt_ctx *c = r->ctx;
	log_info("review: %zu headers added for newcomers", c->added);
	rv_answer_json(r, 200,
	               json_pack("{s:I, s:I, s:I}", "added", (json_int_t)c->added, "skipped",
	                         (json_int_t)(c->valid - c->added), "refused",
	                         (json_int_t)(c->uploaded - c->valid)));
}

/* Check one uploaded {"object","recipient","header"} `h` against the team's
 * members `ms` and add it to the literals. Return NULL, or the problem. */
static const char *
header_one(struct bt_ctx *c, json_t *h, const struct rv_member *const *ms, size_t n, size_t i)
{
	static const char *const keys[] = { "object", "recipient", "header", NULL };
	const char *o = rv_str_of(h, "object"), *rc = rv_str_of(h, "recipient"),
		   *hd = rv_str_of(h, "header");
	uint8_t raw[4096];
	size_t rl = 0, hl = 0;
	int nx = 0, ns = 0, no = 0, member = 0;
	if (!json_is_object(h) || !rv_only_keys(h, keys) || o == NULL || !util_uuid_valid(o) ||
	    rc == NULL || hd == NULL)
		return "each header is {\"object\": uuid, \"recipient\": \"age1…\", \"header\": base64}";
	for (size_t j = 0; j < n && !member; j++)
		member = strcmp(ms[j]->recipient, rc) == 0;
	if (!member)
		return "a recipient is not a member of the team";
	if (strlen(hd) > 2 * sizeof(raw) ||
	    util_base64_decode(hd, strlen(hd), raw, sizeof(raw), &rl,
	                       sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    age_header_inspect(raw, rl, &hl, &nx, &ns, &no) != AGE_OK || hl != rl || nx != 1 ||
	    ns != 0 || no != 0)
		return "each header must be an age header with exactly one X25519 stanza";
	/* uuids, bech32 recipients and base64 need no quoting in an array literal */
	if (buf_printf(&c->objs, "%s%s", i ? "," : "{", o) != 0 ||
	    buf_printf(&c->rcpts, "%s%s", i ? "," : "{", rc) != 0 ||
	    buf_printf(&c->hdrs, "%s%s", i ? "," : "{", hd) != 0)
		return "too many headers in one request";
	return NULL;
}

/* Check every uploaded header and build the literals, with the team's
 * recipients and the hex SHA-256 of their keys (the entries' subjects).
 * Return NULL, or the problem. */
static const char *
headers_check(struct rv_req *r, json_t *arr)
{
	struct bt_ctx *c = r->ctx;
	const struct rv_member *ms[MEMBERSHIP_MAX_MEMBERS];
	size_t n = rv_team_members(r, r->team, ms, MEMBERSHIP_MAX_MEMBERS), i;
	json_t *h;
	json_array_foreach(arr, i, h) {
		const char *bad = header_one(c, h, ms, n, i);
		if (bad != NULL)
			return bad;
	}
	for (i = 0; i < n; i++) {
		uint8_t d[crypto_hash_sha256_BYTES];
		char hex[2 * crypto_hash_sha256_BYTES + 1];
		crypto_hash_sha256(d, ms[i]->ed25519, RV_PK_LEN);
		util_hex(d, sizeof(d), hex);
		if (buf_printf(&c->members, "%s%s", i ? "," : "{", ms[i]->recipient) != 0 ||
		    buf_printf(&c->subjects, "%s%s", i ? "," : "{", hex) != 0)
			return "team too large";
	}
	if (buf_adds(&c->objs, "}") != 0 || buf_adds(&c->rcpts, "}") != 0 ||
	    buf_adds(&c->hdrs, "}") != 0 || buf_adds(&c->members, n ? "}" : "{}") != 0 ||
	    buf_adds(&c->subjects, n ? "}" : "{}") != 0 || buf_cstr(&c->objs) == NULL ||
	    buf_cstr(&c->rcpts) == NULL || buf_cstr(&c->hdrs) == NULL ||
	    buf_cstr(&c->members) == NULL || buf_cstr(&c->subjects) == NULL)
		return "too many headers in one request";
	return NULL;
}

/*
 * Store up to RV_TEAM_HEADERS_MAX headers for objects of any of the team's
 * reports: only for current members of the team, only on objects the
 * caller has a header for, never replacing one. One statement stores them
 * and appends a headers_add entry per report and newcomer served (as POST
 * /api/v1/reports/{id}/headers does per request), after the audit lock.
 */
static void
headers_start(struct rv_req *r)
{
	struct bt_ctx *c = r->ctx;
	static const char *const keys[] = { "headers", NULL };
	static const char shape[] = "send {\"headers\": [{\"object\", \"recipient\", \"header\"}]} "
	                            "with 1 to 1024 headers";
	const struct rv_member *me = rv_caller_team(&r->caller, r->team);
	json_t *arr;
	const char *bad;
	if (me == NULL) {
		rv_problem(r, 404, "no such team");
		return;
	}
	if (rv_body_object(r, shape, &c->body) != 0)
		return;
	arr = json_object_get(c->body, "headers");
	if (!rv_only_keys(c->body, keys) || !json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > RV_TEAM_HEADERS_MAX) {
		rv_problem(r, 400, shape);
		return;
	}
	c->uploaded = json_array_size(arr);
	if ((bad = headers_check(r, arr)) != NULL) {
		rv_problem(r, 422, bad);
		return;
	}
	if (audit_entry_prefix(&c->pre_a, time(NULL), AUDIT_HEADERS_ADD, r->caller.ed25519,
	                       r->team) != 0) {
		rv_problem(r, 500, "cannot write the audit entry");
		return;
	}
	const char *v[8] = { r->team,           buf_cstr(&c->objs),    me->recipient,
		             buf_cstr(&c->rcpts), buf_cstr(&c->hdrs),    buf_cstr(&c->members),
		             buf_cstr(&c->subjects), buf_cstr(&c->pre_a) };
	rv_q_ex(r, AUDIT_SQL_LOCK, 0, NULL, NULL, NULL, DB_Q_CACHED, NULL);
	rv_q_ex(r,
	     "with u as (select i.oid, i.rcpt, i.hdr, o.rid from "
	     "unnest($2::uuid[], $4::text[], $5::text[]) i(oid, rcpt, hdr) "
	     "join (" BT_OBJECTS("null::bytea") ") o on o.oid = i.oid "
	     "where (select 1 from object_headers m where m.object_id = i.oid "
	     "and m.recipient = $3) is not null), "
	     "ins as (insert into object_headers (object_id, recipient, header) "
	     "select u.oid, u.rcpt, decode(u.hdr, 'base64') from u "
	     "on conflict do nothing returning 1), "
	     "e as (" BT_AUDIT_INSERT(
		     "select row_number() over (order by t.rid, t.subj) n, "
		     "convert_to($8 || t.rid::text || ' ' || t.subj, 'UTF8') b from "
		     "(select distinct u.rid, s.subj from u "
		     "join unnest($6::text[], $7::text[]) s(rcpt, subj) on s.rcpt = u.rcpt) t") ") "
	     "select (select count(*) from ins), (select count(*) from u)",
	     8, v, NULL, NULL, DB_Q_CACHED, headers_count);
	rv_run(r, headers_done);
}

/* ---- the routes (review.c's table) ---- */

static void
bt_ctx_free(void *p)
{
	struct bt_ctx *c = p;
	json_decref(c->body);
	buf_free(&c->ids);
	buf_free(&c->rcpts);
	buf_free(&c->hdrs);
	buf_free(&c->objs);
	buf_free(&c->members);
	buf_free(&c->subjects);
	buf_free(&c->pre_a);
	buf_free(&c->pre_b);
}

/* The buffers are set up by the starts below: ctx is zeroed, and a zeroed
 * buf has no room, so each start sizes the ones it uses first. */
static void
objects_begin(struct rv_req *r)
{
	struct bt_ctx *c = r->ctx;
	buf_init(&c->ids, RV_OBJECTS_MAX * 38 + 4);
	buf_init(&c->pre_a, AUDIT_ENTRY_MAX);
	buf_init(&c->pre_b, AUDIT_ENTRY_MAX);
	objects_start(r);
}

static void
headers_begin(struct rv_req *r)
{
	struct bt_ctx *c = r->ctx;
	buf_init(&c->objs, RV_TEAM_HEADERS_MAX * 38 + 4);
	buf_init(&c->rcpts, RV_TEAM_HEADERS_MAX * (AGE_RECIPIENT_STR_MAX + 1) + 4);
	buf_init(&c->hdrs, RV_TEAM_HEADERS_MAX_BODY);
	buf_init(&c->members, MEMBERSHIP_MAX_MEMBERS * (AGE_RECIPIENT_STR_MAX + 1) + 4);
	buf_init(&c->subjects, MEMBERSHIP_MAX_MEMBERS * 66 + 4);
	buf_init(&c->pre_a, AUDIT_ENTRY_MAX);
	headers_start(r);
}

const struct rv_ops rv_team_objects_ops = { .start = objects_begin,
	                                    .ctx_size = sizeof(struct bt_ctx),
	                                    .ctx_free = bt_ctx_free };
const struct rv_ops rv_team_headers_ops = { .start = headers_begin,
	                                    .ctx_size = sizeof(struct bt_ctx),
	                                    .ctx_free = bt_ctx_free };
