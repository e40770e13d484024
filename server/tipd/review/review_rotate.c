/*
 * review_rotate: the member's side of a key rotation (see review_rotate.h).
 */
#include "review_rotate.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "age.h"
#include "audit.h"
#include "buf.h"
#include "http.h"
#include "log.h"
#include "review_req.h"
#include "util.h"

/* The objects of every team in which the caller ($1, the new Ed25519 key)
 * is rotating, with the rotation's old and new recipient. */
#define ROT_OBJECTS                                                                          \
	"with k as (select team_id, old_recipient, new_recipient from key_rotations "       \
	"where new_ed25519 = $1), objs as ("                                                  \
	"select r.id as oid, k.old_recipient as old, k.new_recipient as new from reports r " \
	"join k on k.team_id = r.team_id "                                                    \
	"union all select a.id, k.old_recipient, k.new_recipient from attachments a "        \
	"join reports r on r.id = a.report_id join k on k.team_id = r.team_id "               \
	"union all select m.id, k.old_recipient, k.new_recipient from messages m "           \
	"join reports r on r.id = m.report_id join k on k.team_id = r.team_id "               \
	"union all select x.id, k.old_recipient, k.new_recipient from replies x "            \
	"join reports r on r.id = x.report_id join k on k.team_id = r.team_id "               \
	"union all select x.id, k.old_recipient, k.new_recipient from notes x "              \
	"join reports r on r.id = x.report_id join k on k.team_id = r.team_id) "
/* Of those, the ones with an old header and no new one. */
#define ROT_PENDING                                                                          \
	"from objs o join object_headers h on h.object_id = o.oid and h.recipient = o.old "  \
	"where not exists (select 1 from object_headers n where n.object_id = o.oid "        \
	"and n.recipient = o.new) "

/* ---- GET /api/v1/keys/rotation ---- */

static void
list_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = rv_out_array(r, "objects");
	if (arr == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_pack("{s:s, s:s}", "id", PQgetvalue(res, i, 0), "header",
		                      PQgetvalue(res, i, 1));
		if (rv_out_append(r, arr, o) != 0)
			return;
	}
}

static void
list_count(struct rv_req *r, const PGresult *res)
{
	r->found = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10); /* rotations */
	if (json_object_set_new(r->out, "remaining",
	                        json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10))) != 0)
		db_step_mark_failed(&r->step);
}

static void
list_done(struct rv_req *r)
{
	if (r->found == 0) {
		rv_problem(r, 404, "no key rotation in progress for this key");
		return;
	}
	rv_answer_out(r);
}

static void
rotate_list(struct rv_req *r)
{
	char after[37] = "00000000-0000-0000-0000-000000000000", lim[16];
	const char *q = http_request_query(r->req);
	if (q != NULL && q[0] != '\0' && (strncmp(q, "after=", 6) != 0 || !util_uuid_valid(q + 6))) {
		rv_problem(r, 400, "the only parameter is after=<object uuid>");
		return;
	}
	if (q != NULL && q[0] != '\0')
		snprintf(after, sizeof(after), "%s", q + 6);
	snprintf(lim, sizeof(lim), "%d", ROT_PAGE);
	const char *v[3] = { (const char *)r->caller.ed25519, after, lim };
	const int lens[3] = { RV_PK_LEN, 0, 0 }, fmts[3] = { 1, 0, 0 };
	if ((r->out = json_object()) == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	/* counting what is left costs a scan: on the first page only (-1 after) */
	rv_q(r, ROT_OBJECTS "select case when $2::uuid = '00000000-0000-0000-0000-000000000000' "
	        "then (select count(*) " ROT_PENDING ") else -1 end, "
	        "(select count(*) from key_rotations where new_ed25519 = $1) where $3::int > 0",
	     3, v, lens, fmts, list_count);
	rv_q(r, ROT_OBJECTS "select o.oid, translate(encode(h.header, 'base64'), E'\\n', '') "
	        ROT_PENDING "and o.oid > $2::uuid order by o.oid limit $3::int",
	     3, v, lens, fmts, list_rows);
	rv_run(r, list_done);
}

/* ---- POST /api/v1/keys/rotation/headers ---- */

static void
headers_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res);
}

static void
headers_done(struct rv_req *r)
{
	json_t *doc = r->out;
	r->out = NULL;
	size_t sent = (size_t)json_integer_value(json_object_get(doc, "sent"));
	json_object_del(doc, "sent");
	json_object_set_new(doc, "added", json_integer(r->found));
	json_object_set_new(doc, "skipped", json_integer((json_int_t)sent - r->found));
	log_info("review: %d headers re-made for a rotated key", r->found);
	rv_answer_json(r, 200, doc);
}

/* Check the body and build the two array literals; NULL, or the problem. */
static const char *
headers_parse(json_t *body, struct buf *objs, struct buf *hdrs, size_t *count)
{
	json_t *arr = json_object_get(body, "headers"), *h;
	size_t i;
	if (!json_is_object(body) || json_object_size(body) != 1 || !json_is_array(arr) ||
	    json_array_size(arr) == 0 || json_array_size(arr) > ROT_HEADERS_MAX)
		return "send {\"headers\": [{\"object\", \"header\"}]} (1 to 500 of them)";
	json_array_foreach(arr, i, h) {
		const char *o = json_string_value(json_object_get(h, "object"));
		const char *hd = json_string_value(json_object_get(h, "header"));
		uint8_t raw[4096];
		size_t rl = 0, hl = 0;
		int nx = 0, ns = 0, no = 0;
		if (!json_is_object(h) || json_object_size(h) != 2 || o == NULL ||
		    !util_uuid_valid(o) || hd == NULL)
			return "each header is {\"object\": uuid, \"header\": base64}";
		if (util_base64_decode(hd, strlen(hd), raw, sizeof(raw), &rl,
		                       sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    age_header_inspect(raw, rl, &hl, &nx, &ns, &no) != AGE_OK || hl != rl || nx != 1 ||
		    ns != 0 || no != 0)
			return "each header must be an age header with exactly one X25519 stanza";
		if (buf_printf(objs, "%s%s", i ? "," : "{", o) != 0 ||
		    buf_printf(hdrs, "%s%s", i ? "," : "{", hd) != 0)
			return "too many headers in one request";
	}
	if (buf_adds(objs, "}") != 0 || buf_adds(hdrs, "}") != 0)
		return "too many headers in one request";
	*count = i;
	return NULL;
}

static void
rotate_headers(struct rv_req *r)
{
	json_error_t e;
	struct buf objs, hdrs;
	size_t count = 0;
	json_t *body = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &e);
	buf_init(&objs, ROT_HEADERS_MAX * 40);
	buf_init(&hdrs, ROT_MAX_BODY);
	const char *bad = body != NULL ? headers_parse(body, &objs, &hdrs, &count)
	                               : "send {\"headers\": [{\"object\", \"header\"}]}";
	json_decref(body);
	if (bad != NULL) {
		rv_problem(r, 400, bad);
		goto out;
	}
	if ((r->out = json_pack("{s:I}", "sent", (json_int_t)count)) == NULL) {
		rv_problem(r, 500, "out of memory");
		goto out;
	}
	const char *v[3] = { (const char *)r->caller.ed25519, buf_cstr(&objs), buf_cstr(&hdrs) };
	const int lens[3] = { RV_PK_LEN, 0, 0 }, fmts[3] = { 1, 0, 0 };
	/* Only on objects of a rotating team that still hold the old key's header. */
	rv_q(r, ROT_OBJECTS "insert into object_headers (object_id, recipient, header) "
	        "select i.oid, o.new, decode(i.hdr, 'base64') "
	        "from unnest($2::uuid[], $3::text[]) as i(oid, hdr) join objs o on o.oid = i.oid "
	        "where exists (select 1 from object_headers h where h.object_id = i.oid "
	        "and h.recipient = o.old) on conflict do nothing returning object_id",
	     3, v, lens, fmts, headers_row);
	rv_audit(r, AUDIT_HEADERS_ADD, NULL, NULL, r->caller.ed25519);
	rv_run(r, headers_done);
out:
	buf_free(&objs);
	buf_free(&hdrs);
}

/* ---- POST /api/v1/keys/rotation/finish ---- */

static void
finish_count(struct rv_req *r, const PGresult *res)
{
	long remaining = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	long rotations = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	if (json_object_set_new(r->out, "remaining", json_integer(remaining)) != 0 ||
	    json_object_set_new(r->out, "rotations", json_integer(rotations)) != 0)
		db_step_mark_failed(&r->step);
}

static void
finish_deleted(struct rv_req *r, const PGresult *res)
{
	json_object_set_new(r->out, "deleted", json_integer(PQntuples(res)));
}

static void
finish_done(struct rv_req *r)
{
	json_t *doc = r->out;
	r->out = NULL;
	json_object_del(doc, "rotations");
	json_object_del(doc, "remaining");
	rv_answer_json(r, 200, doc);
}

/* Delete the old headers and the rotation rows, with one audit entry. */
static void
finish_delete(struct rv_req *r)
{
	json_t *doc = r->out;
	json_int_t remaining = json_integer_value(json_object_get(doc, "remaining"));
	if (json_integer_value(json_object_get(doc, "rotations")) == 0) {
		rv_problem(r, 404, "no key rotation in progress for this key");
		return;
	}
	if (remaining > 0 && !r->found) {
		char detail[200];
		snprintf(detail, sizeof(detail), "%lld objects still have only the old key's header: "
		         "run tipctl keys rotate again (or finish with force to give them up)",
		         (long long)remaining);
		rv_problem_code(r, 409, "rotation_incomplete", detail, NULL);
		return;
	}
	const char *v[1] = { (const char *)r->caller.ed25519 };
	const int lens[1] = { RV_PK_LEN }, fmts[1] = { 1 };
	rv_q(r, ROT_OBJECTS "delete from object_headers h using objs o where h.object_id = o.oid "
	        "and h.recipient = o.old returning h.object_id", 1, v, lens, fmts, finish_deleted);
	rv_q(r, "delete from key_rotations where new_ed25519 = $1", 1, v, lens, fmts, NULL);
	rv_audit(r, AUDIT_MEMBER_ROTATE_DONE, NULL, NULL, r->caller.ed25519);
	rv_run(r, finish_done);
}

static void
rotate_finish(struct rv_req *r)
{
	json_error_t e;
	json_t *body = NULL, *force = NULL;
	if (r->body.len > 0) {
		body = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &e);
		force = json_object_get(body, "force");
		if (!json_is_object(body) || json_object_size(body) > 1 ||
		    (json_object_size(body) == 1 && !json_is_boolean(force))) {
			json_decref(body);
			rv_problem(r, 400, "send nothing, {} or {\"force\": true}");
			return;
		}
	}
	r->found = json_is_true(force);
	json_decref(body);
	if ((r->out = json_object()) == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	const char *v[1] = { (const char *)r->caller.ed25519 };
	const int lens[1] = { RV_PK_LEN }, fmts[1] = { 1 };
	rv_q(r, ROT_OBJECTS "select (select count(*) " ROT_PENDING "), "
	        "(select count(*) from key_rotations where new_ed25519 = $1)",
	     1, v, lens, fmts, finish_count);
	rv_run(r, finish_delete);
}

const struct rv_ops rv_rotation_list_ops = { .start = rotate_list };
const struct rv_ops rv_rotation_headers_ops = { .start = rotate_headers };
const struct rv_ops rv_rotation_finish_ops = { .start = rotate_finish };
