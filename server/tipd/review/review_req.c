#include "review_req.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "merkle.h"
#include "teams.h"
#include "tls.h"
#include "util.h"

/* ---- the membership ---- */

/* Every member of every team of one teams view, flattened for lookups.
 * Reference-counted: a request holds the one it started with. */
struct rv_members {
	atomic_uint refs;
	const struct teams_view *view;
	struct rv_member *v;
	size_t n;
};

static void
members_unref(struct rv_members *ms)
{
	if (ms == NULL || atomic_fetch_sub(&ms->refs, 1) > 1)
		return;
	teams_view_release(ms->view);
	free(ms->v);
	free(ms);
}

/* Flatten view `tv` (taken). NULL if out of memory. */
static struct rv_members *
members_build(const struct teams_view *tv)
{
	struct rv_members *ms = calloc(1, sizeof(*ms));
	size_t total = 0;
	for (size_t i = 0; i < teams_view_count(tv); i++)
		total += membership_count(teams_view_at(tv, i));
	if (ms == NULL || (ms->v = calloc(total + 1, sizeof(*ms->v))) == NULL) {
		free(ms);
		teams_view_release(tv);
		return NULL;
	}
	ms->refs = 1;
	ms->view = tv;
	for (size_t i = 0; i < teams_view_count(tv); i++) {
		const struct membership *m = teams_view_at(tv, i);
		for (size_t j = 0; j < membership_count(m); j++) {
			const struct membership_member *mm = membership_member_at(m, j);
			struct rv_member *e = &ms->v[ms->n++];
			snprintf(e->team, sizeof(e->team), "%s", membership_team(m));
			snprintf(e->name, sizeof(e->name), "%s", mm->name);
			snprintf(e->recipient, sizeof(e->recipient), "%s", mm->recipient);
			memcpy(e->ed25519, mm->ed25519_pk, RV_PK_LEN);
		}
	}
	return ms;
}

/* The members of the current membership (a new reference), rebuilt when
 * the membership changed. NULL if out of memory. */
static struct rv_members *
members_get(struct review *rv)
{
	const struct teams_view *tv = teams_view_get(rv->app->teams);
	struct rv_members *ms = NULL;
	pthread_mutex_lock(&rv->mu);
	if (rv->members == NULL || rv->members->view != tv) {
		struct rv_members *fresh = members_build(tv);
		tv = NULL;
		if (fresh != NULL) {
			members_unref(rv->members);
			rv->members = fresh;
		}
	}
	if ((ms = rv->members) != NULL)
		atomic_fetch_add(&ms->refs, 1);
	pthread_mutex_unlock(&rv->mu);
	if (tv != NULL)
		teams_view_release(tv);
	return ms;
}

int
rv_req_members(struct rv_req *r)
{
	return (r->members = members_get(r->rv)) != NULL ? 0 : -1;
}

void
rv_members_release(struct review *rv)
{
	members_unref(rv->members);
	rv->members = NULL;
}

/* ---- the request ---- */

static void step_row(void *arg, unsigned i, const PGresult *res);
static void step_done(void *arg, enum db_step_end end);

struct rv_req *
rv_req_new(struct review *rv, const struct rv_row *row, struct http_request *req, struct db *db)
{
	struct rv_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->app = rv->app;
	r->rv = rv;
	r->req = req;
	r->row = row;
	r->route = row->id;
	db_step_init(&r->step, db, "review", step_row, step_done, r);
	buf_init(&r->body, row->body_max); /* no report data: status, labels, a signed nonce */
	return r;
}

void
rv_req_start(struct rv_req *r)
{
	const struct rv_ops *ops = r->row->ops;
	if (r->row->who == RV_ADMIN && !r->caller.admin) {
		rv_problem_code(r, 403, "admin_required",
		                "this needs an admin login (tipctl login --admin)", NULL);
		return;
	}
	if (ops->ctx_size > 0 && (r->ctx = calloc(1, ops->ctx_size)) == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	ops->start(r);
}

void
rv_req_free(struct rv_req *r)
{
	if (r->ctx != NULL) {
		if (r->row->ops->ctx_free != NULL)
			r->row->ops->ctx_free(r->ctx);
		sodium_memzero(r->ctx, r->row->ops->ctx_size);
		free(r->ctx);
	}
	members_unref(r->members);
	buf_free(&r->body);
	json_decref(r->out);
	sodium_memzero(r->token, sizeof(r->token));
	sodium_memzero(r->token_sha, sizeof(r->token_sha));
	free(r);
}

void
rv_answer(struct rv_req *r, int status, const char *content_type, const void *body, size_t len,
          const char *extra_headers)
{
	/* Detach first: answering an aborted request releases it. */
	http_request_set_data(r->req, NULL);
	http_respond(r->req, status, content_type, body, len, extra_headers);
	rv_req_free(r);
}

/* Answer problem+json with a "code" member (if not NULL) and extra headers. */
void
rv_problem_code(struct rv_req *r, int status, const char *code, const char *detail,
                const char *extra)
{
	json_t *doc = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title",
	                        http_status_text(status), "status", status, "detail", detail);
	if (doc != NULL && code != NULL &&
	    json_object_set_new(doc, "code", json_string(code)) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (s == NULL) {
		rv_answer(r, 500, NULL, NULL, 0, NULL);
		return;
	}
	rv_answer(r, status, "application/problem+json", s, strlen(s), extra);
	free(s);
}

void
rv_problem(struct rv_req *r, int status, const char *detail)
{
	rv_problem_code(r, status, NULL, detail, NULL);
}

void
rv_answer_json(struct rv_req *r, int status, json_t *doc)
{
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (s == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	rv_answer(r, status, "application/json", s, strlen(s), NULL);
	free(s);
}

void
rv_answer_out(struct rv_req *r)
{
	json_t *doc = r->out;
	r->out = NULL;
	rv_answer_json(r, 200, doc);
}

json_t *
rv_out_array(struct rv_req *r, const char *key)
{
	json_t *arr = json_array();
	if (arr == NULL || json_object_set_new(r->out, key, arr) != 0) {
		db_step_mark_failed(&r->step);
		return NULL;
	}
	return arr;
}

int
rv_out_append(struct rv_req *r, json_t *arr, json_t *o)
{
	if (o == NULL || json_array_append_new(arr, o) != 0) {
		db_step_mark_failed(&r->step);
		return -1;
	}
	return 0;
}

static void
rv_unavailable(struct rv_req *r)
{
	rv_problem_code(r, 503, NULL, "the database is unavailable; try again shortly",
	                "Retry-After: 5\r\n");
}

/* ---- request bodies ---- */

int
rv_body_object(struct rv_req *r, const char *shape, json_t **slot)
{
	json_error_t e;
	*slot = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &e);
	if (json_is_object(*slot))
		return 0;
	rv_problem(r, 400, shape);
	return -1;
}

int
rv_only_keys(json_t *o, const char *const *keys)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		int ok = 0;
		for (size_t i = 0; keys[i] != NULL && !ok; i++)
			ok = strcmp(k, keys[i]) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

const char *
rv_str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

int
rv_array_add(char *arr, size_t cap, const char *s)
{
	size_t n = strlen(arr);
	if (n == 0) {
		if (cap < 3)
			return -1;
		memcpy(arr, "{}", 3);
		n = 2;
	}
	int w = snprintf(arr + n - 1, cap - n + 1, "%s%s}", n > 2 ? "," : "", s);
	return w < 0 || (size_t)w >= cap - n + 1 ? -1 : 0;
}

/* ---- asynchronous steps (store/db.h) ---- */

static void
step_row(void *arg, unsigned i, const PGresult *res)
{
	struct rv_req *r = arg;
	if (i < RV_MAX_QUERIES && r->qcb[i] != NULL)
		r->qcb[i](r, res);
}

static void
step_done(void *arg, enum db_step_end end)
{
	struct rv_req *r = arg;
	rv_step next = r->next;
	r->next = NULL;
	memset(r->qcb, 0, sizeof(r->qcb));
	if (end == DB_STEP_LOST)
		rv_unavailable(r);
	else if (end == DB_STEP_FAILED || next == NULL)
		rv_problem(r, 500, "the request could not be completed");
	else
		next(r);
}

void
rv_fail_step(struct rv_req *r)
{
	db_step_fail(&r->step);
}

void
rv_q(struct rv_req *r, const char *sql, int n, const char *const *values, const int *lengths,
     const int *formats, rv_row_cb cb)
{
	rv_q_ex(r, sql, n, values, lengths, formats, 0, cb);
}

void
rv_q_ex(struct rv_req *r, const char *sql, int n, const char *const *values, const int *lengths,
        const int *formats, unsigned flags, rv_row_cb cb)
{
	if (r->step.qn < RV_MAX_QUERIES)
		r->qcb[r->step.qn] = cb;
	db_step_q_ex(&r->step, sql, n, values, lengths, formats, flags);
}

void
rv_run(struct rv_req *r, rv_step next)
{
	r->next = next;
	db_step_run(&r->step);
}

size_t
rv_caller_fill(struct rv_req *r, const uint8_t *pk)
{
	const struct rv_members *ms = r->members;
	struct rv_caller *c = &r->caller;
	memcpy(c->ed25519, pk, RV_PK_LEN);
	c->admin = teams_is_admin(r->app->teams, pk);
	c->n = 0;
	for (size_t i = 0; ms != NULL && i < ms->n && c->n < RV_MAX_TEAMS; i++)
		if (sodium_memcmp(ms->v[i].ed25519, pk, RV_PK_LEN) == 0)
			c->m[c->n++] = &ms->v[i];
	return c->n;
}

const struct rv_member *
rv_caller_team(const struct rv_caller *c, const char *team)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->m[i]->team, team) == 0)
			return c->m[i];
	return NULL;
}

int
rv_team_has_member(const struct rv_req *r, const char *team, const char *name)
{
	const struct rv_members *ms = r->members;
	for (size_t i = 0; ms != NULL && i < ms->n; i++)
		if (strcmp(ms->v[i].team, team) == 0 && strcmp(ms->v[i].name, name) == 0)
			return 1;
	return 0;
}

size_t
rv_team_members(const struct rv_req *r, const char *team, const struct rv_member **out, size_t max)
{
	const struct rv_members *ms = r->members;
	size_t n = 0;
	for (size_t i = 0; ms != NULL && i < ms->n && n < max; i++)
		if (strcmp(ms->v[i].team, team) == 0)
			out[n++] = &ms->v[i];
	return n;
}

const struct rv_member *
rv_member_by_key(const struct rv_req *r, const char *team, const uint8_t pk[RV_PK_LEN])
{
	const struct rv_members *ms = r->members;
	for (size_t i = 0; ms != NULL && i < ms->n; i++)
		if (strcmp(ms->v[i].team, team) == 0 &&
		    sodium_memcmp(ms->v[i].ed25519, pk, RV_PK_LEN) == 0)
			return &ms->v[i];
	return NULL;
}

const struct membership *
rv_team_statement(const struct rv_req *r, const char *team)
{
	return r->members != NULL ? teams_view_team(r->members->view, team) : NULL;
}

struct limiter *
rv_login_limiter(const struct rv_req *r)
{
	return r->rv->limiter;
}

/* ---- the review listener ---- */

int
rv_tls_hex(const struct rv_req *r, char out[65])
{
	uint8_t h[32];
	if (r->app->review_tls == NULL || tls_ctx_pubkey_sha256(r->app->review_tls, h) != 0)
		return -1;
	util_hex(h, sizeof(h), out);
	return 0;
}

/* ---- audit appends (store/audit.h) ---- */

void
rv_audit(struct rv_req *r, enum audit_action a, const char *team, const char *object_uuid,
         const uint8_t *subject_ed25519)
{
	struct buf e;
	uint8_t leaf[MERKLE_HASH_LEN];
	buf_init(&e, AUDIT_ENTRY_MAX);
	if (audit_entry_format(&e, time(NULL), a, r->caller.ed25519, team, object_uuid,
	                       subject_ed25519) != 0) {
		log_error("audit: cannot format a %s entry",
		          audit_action_code(a) ? audit_action_code(a) : "?");
		rv_fail_step(r);
		buf_free(&e);
		return;
	}
	merkle_leaf_hash(e.data, e.len, leaf);
	const char *v[2] = { (const char *)e.data, (const char *)leaf };
	const int lens[2] = { (int)e.len, MERKLE_HASH_LEN }, fmts[2] = { 1, 1 };
	rv_q_ex(r, AUDIT_SQL_LOCK, 0, NULL, NULL, NULL, DB_Q_CACHED, NULL);
	rv_q_ex(r, AUDIT_SQL_APPEND, 2, v, lens, fmts, DB_Q_CACHED, NULL);
	buf_free(&e);
}

/* Queue the append of the formatted entry `e` if `cond` holds (rv_audit_when). */
static void
audit_append_when(struct rv_req *r, struct buf *e, const char *cond, const char *cond_param)
{
	char sql[1024];
	int n = snprintf(sql, sizeof(sql),
	                 "insert into audit_entries (idx, entry, leaf_sha256) "
	                 "select m.i, convert_to($1, 'UTF8'), sha256('\\x00'::bytea || "
	                 "convert_to($1, 'UTF8')) from (select coalesce(max(idx) + 1, 0) i "
	                 "from audit_entries) m where %s",
	                 cond);
	if (n < 0 || (size_t)n >= sizeof(sql)) {
		rv_fail_step(r);
	} else {
		const char *v[2] = { buf_cstr(e), cond_param };
		rv_q_ex(r, AUDIT_SQL_LOCK, 0, NULL, NULL, NULL, DB_Q_CACHED, NULL);
		rv_q(r, sql, 2, v, NULL, NULL, NULL);
	}
}

/* Queue the entry `e` that the caller formatted (`formatted`: the format
 * call's result) as rv_audit_when does, or fail the step if formatting
 * failed; free `e` either way. */
static void
audit_append_formatted(struct rv_req *r, struct buf *e, int formatted, const char *cond,
                       const char *cond_param)
{
	if (formatted != 0 || buf_cstr(e) == NULL)
		rv_fail_step(r);
	else
		audit_append_when(r, e, cond, cond_param);
	buf_free(e);
}

void
rv_audit_when(struct rv_req *r, enum audit_action a, const char *team, const char *object_uuid,
              const uint8_t *subject_ed25519, const char *cond, const char *cond_param)
{
	struct buf e;
	buf_init(&e, AUDIT_ENTRY_MAX);
	audit_append_formatted(r, &e,
	                       audit_entry_format(&e, time(NULL), a, r->caller.ed25519, team,
	                                          object_uuid, subject_ed25519),
	                       cond, cond_param);
}

void
rv_audit_label_when(struct rv_req *r, enum audit_action a, const char *label, const char *cond,
                    const char *cond_param)
{
	struct buf e;
	buf_init(&e, AUDIT_ENTRY_MAX);
	audit_append_formatted(r, &e,
	                       audit_entry_format_label(&e, time(NULL), a, r->caller.ed25519, label),
	                       cond, cond_param);
}

void
rv_audit_many(struct rv_req *r, enum audit_action a, const char *team, const char *object_uuid,
              const uint8_t (*subjects)[32], size_t n)
{
	rv_audit_many_when(r, a, team, object_uuid, subjects, n, "true", "");
}

void
rv_audit_many_when(struct rv_req *r, enum audit_action a, const char *team, const char *object_uuid,
                   const uint8_t (*subjects)[32], size_t n, const char *cond,
                   const char *cond_param)
{
	struct buf e, arr;
	if (n == 0)
		return;
	buf_init(&e, AUDIT_ENTRY_MAX);
	buf_init(&arr, (n + 1) * (AUDIT_ENTRY_MAX + 4));
	int bad = buf_adds(&arr, "{") != 0;
	for (size_t i = 0; i < n && !bad; i++) {
		buf_reset(&e);
		/* entries hold codes, hex, uuids and team ids: no quote or backslash */
		bad = audit_entry_format(&e, time(NULL), a, r->caller.ed25519, team, object_uuid,
		                         subjects[i]) != 0 ||
			buf_printf(&arr, "%s\"%.*s\"", i ? "," : "", (int)e.len,
		                   (const char *)e.data) != 0;
	}
	if (bad || buf_adds(&arr, "}") != 0 || buf_cstr(&arr) == NULL) {
		rv_fail_step(r);
	} else {
		char sql[1024];
		int w = snprintf(sql, sizeof(sql),
		                 "insert into audit_entries (idx, entry, leaf_sha256) "
		                 "select m.i + o.n - 1, convert_to(o.e, 'UTF8'), "
		                 "sha256('\\x00'::bytea || convert_to(o.e, 'UTF8')) "
		                 "from (select coalesce(max(idx) + 1, 0) i from audit_entries) m, "
		                 "unnest($1::text[]) with ordinality o(e, n) "
		                 "where (%s) and $2::text is not null",
		                 cond);
		const char *v[2] = { buf_cstr(&arr), cond_param };
		if (w < 0 || (size_t)w >= sizeof(sql)) {
			rv_fail_step(r);
		} else {
			rv_q_ex(r, AUDIT_SQL_LOCK, 0, NULL, NULL, NULL, DB_Q_CACHED, NULL);
			rv_q(r, sql, 2, v, NULL, NULL, NULL);
		}
	}
	buf_free(&e);
	buf_free(&arr);
}

void
rv_audit_report(struct rv_req *r, enum audit_action a, const char *report_uuid,
                const char *object_uuid, const uint8_t *subject_ed25519)
{
	struct buf pre, post;
	buf_init(&pre, AUDIT_ENTRY_MAX);
	buf_init(&post, AUDIT_ENTRY_MAX);
	if (!util_uuid_valid(report_uuid) ||
	    audit_entry_parts(a, r->caller.ed25519, false,
	                      object_uuid != NULL ? object_uuid : report_uuid, subject_ed25519,
	                      &pre, &post) != 0) {
		rv_fail_step(r);
	} else {
		const char *v[3] = { buf_cstr(&pre), report_uuid, buf_cstr(&post) };
		rv_q_ex(r, AUDIT_SQL_LOCK, 0, NULL, NULL, NULL, DB_Q_CACHED, NULL);
		rv_q_ex(r,
		        AUDIT_SQL_APPEND_FROM(
			        "coalesce((select team_id from reports where id = $2::uuid), '-')", ""),
		        3, v, NULL, NULL, DB_Q_CACHED, NULL);
	}
	buf_free(&pre);
	buf_free(&post);
}

void
rv_audit_session(struct rv_req *r, enum audit_action a)
{
	struct buf pre, post;
	buf_init(&pre, AUDIT_ENTRY_MAX);
	buf_init(&post, AUDIT_ENTRY_MAX);
	if (audit_entry_parts(a, NULL, true, NULL, NULL, &pre, &post) != 0) {
		rv_fail_step(r);
	} else {
		const char *v[3] = { buf_cstr(&pre), (const char *)r->token_sha, buf_cstr(&post) };
		const int lens[3] = { 0, 32, 0 }, fmts[3] = { 0, 1, 0 };
		rv_q_ex(r, AUDIT_SQL_LOCK, 0, NULL, NULL, NULL, DB_Q_CACHED, NULL);
		rv_q(r,
		     AUDIT_SQL_APPEND_FROM("encode(sha256(s.ed25519), 'hex')",
		                           " from sessions s where s.token_sha256 = $2"),
		     3, v, lens, fmts, NULL);
	}
	buf_free(&pre);
	buf_free(&post);
}
