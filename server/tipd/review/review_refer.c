#include "review_refer.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "adminchain.h"
#include "config.h"
#include "log.h"
#include "note.h"
#include "partner.h"
#include "review_req.h"
#include "teams.h"
#include "util.h"

#define RETENTION_DAYS_MAX 36500 /* as the schema's CHECK */

/* What a route holds while it runs. */
struct rf_ctx {
	json_t *body;
	struct partner p;        /* the partner a statement, removal or referral names */
	char team[MEMBERSHIP_TEAM_MAX + 1]; /* the report's team */
	char name[65]; /* a partner name (at most PARTNER_NAME_MAX) */
	char hold[2];            /* "t" or "f" */
	char closed[12], open[12]; /* days as text, "" for NULL */
	int have_partner;
	int retired;             /* the partner's statement has no current admin's signature */
};

static struct rf_ctx *
ctx(struct rv_req *r)
{
	return r->ctx;
}

/* Parse the body as a JSON object with only the NULL-terminated `keys`;
 * answer 400 with `shape` and return -1 (`r` is freed then) if it is not. */
static int
body_object(struct rv_req *r, const char *const *keys, const char *shape)
{
	struct rf_ctx *c = ctx(r);
	if (rv_body_object(r, shape, &c->body) != 0)
		return -1;
	if (!rv_only_keys(c->body, keys)) {
		rv_problem(r, 400, shape);
		return -1;
	}
	return 0;
}

static void
found_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res) >= 1;
}

/* ---- GET /api/v1/partners ---- */

static void
partners_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "partners");
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", PQgetvalue(res, i, 0), "recipient",
		                      PQgetvalue(res, i, 1), "statement", PQgetvalue(res, i, 2),
		                      "added_on", PQgetvalue(res, i, 3));
		if (o == NULL || json_array_append_new(arr, o) != 0)
			db_step_mark_failed(&r->step);
	}
}

static void
partners_start(struct rv_req *r)
{
	if ((r->out = json_pack("{s:[]}", "partners")) == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	rv_q(r, "select name, recipient, statement, added_on::text from partners order by name", 0,
	     NULL, NULL, NULL, partners_rows);
	rv_run(r, rv_answer_out);
}

/* ---- POST /api/v1/admin/partners, DELETE /api/v1/admin/partners/{name} ---- */

/* Open `note` against the admin chain (store/adminchain.h) and this server's
 * review origin: it must carry the signature of a current admin, as a
 * team's latest membership statement must. An admin removed since, or a
 * pinned key the chain has replaced, no longer pins a partner. */
static enum partner_result
open_statement(struct rv_req *r, const char *note, struct partner *p)
{
	const struct adminchain *ac = teams_admins(r->app->teams);
	size_t n = 0;
	const struct note_verifier *const *ever = adminchain_ever(ac, &n);
	enum partner_result pr = partner_open(note, strlen(note), ever, n,
	                                      r->app->cfg->review_origin, p);
	if (pr == PARTNER_OK && !adminchain_signed_by_current(ac, note, strlen(note)))
		pr = PARTNER_ERR_UNSIGNED;
	return pr;
}

static void
partner_add_done(struct rv_req *r)
{
	struct rf_ctx *c = ctx(r);
	if (!r->found) {
		rv_problem_code(r, 409, "partner_exists",
		                "a partner of that name exists: remove it first to pin another key",
		                NULL);
		return;
	}
	rv_answer_json(r, 201, json_pack("{s:s, s:s}", "name", c->p.name, "recipient",
	                                 c->p.recipient));
}

static void
partner_add_start(struct rv_req *r)
{
	static const char *const keys[] = { "statement", NULL };
	struct rf_ctx *c = ctx(r);
	if (body_object(r, keys, "send {\"statement\": a signed partner statement}") != 0)
		return;
	const char *st = rv_str_of(c->body, "statement");
	if (st == NULL) {
		rv_problem(r, 400, "send {\"statement\": a signed partner statement}");
		return;
	}
	enum partner_result pr = open_statement(r, st, &c->p);
	if (pr != PARTNER_OK) {
		char detail[160];
		snprintf(detail, sizeof(detail), "the partner statement is refused: %s",
		         partner_strerror(pr));
		rv_problem(r, pr == PARTNER_ERR_SYSTEM ? 500 : 422, detail);
		return;
	}
	const char *v[3] = { c->p.name, c->p.recipient, st };
	/* before the insert: written only if there is no such partner yet */
	rv_audit_when(r, AUDIT_PARTNER_ADD, NULL, NULL, c->p.x25519_pk,
	              "not exists (select 1 from partners where name = $2)", c->p.name);
	rv_q(r, "insert into partners (name, recipient, statement) values ($1, $2, $3) "
	        "on conflict do nothing returning name", 3, v, NULL, NULL, found_row);
	rv_run(r, partner_add_done);
}

static void
partner_row(struct rv_req *r, const PGresult *res)
{
	struct rf_ctx *c = ctx(r);
	if (PQntuples(res) != 1)
		return;
	if (age_recipient_decode(PQgetvalue(res, 0, 0), c->p.x25519_pk) != 0) {
		db_step_mark_failed(&r->step);
		return;
	}
	snprintf(c->p.recipient, sizeof(c->p.recipient), "%s", PQgetvalue(res, 0, 0));
	c->have_partner = 1;
}

static void
partner_del_done(struct rv_req *r)
{
	if (!r->found)
		rv_problem(r, 404, "no such partner");
	else
		rv_answer(r, 204, NULL, NULL, 0, NULL);
}

static void
partner_del_delete(struct rv_req *r)
{
	struct rf_ctx *c = ctx(r);
	if (!c->have_partner) {
		rv_problem(r, 404, "no such partner");
		return;
	}
	const char *v[1] = { c->name };
	rv_audit_when(r, AUDIT_PARTNER_REMOVE, NULL, NULL, c->p.x25519_pk,
	              "exists (select 1 from partners where name = $2)", c->name);
	rv_q(r, "delete from partners where name = $1 returning name", 1, v, NULL, NULL, found_row);
	rv_run(r, partner_del_done);
}

/* Look up partner c->name (its recipient, for the audit entry), then `next`. */
static void
partner_lookup(struct rv_req *r, rv_step next)
{
	const char *v[1] = { ctx(r)->name };
	rv_q(r, "select recipient from partners where name = $1", 1, v, NULL, NULL, partner_row);
	rv_run(r, next);
}

/* ---- POST /api/v1/reports/{id}/referral and /hold ---- */

/* The partner a referral names: its recipient, if its stored statement
 * still carries a current admin's signature (an admin removed since no
 * longer pins anything; tipctl checks the same before it encrypts). */
static void
refer_partner_row(struct rv_req *r, const PGresult *res)
{
	struct rf_ctx *c = ctx(r);
	struct partner p;
	if (PQntuples(res) != 1)
		return;
	if (open_statement(r, PQgetvalue(res, 0, 1), &p) != PARTNER_OK ||
	    strcmp(p.name, c->name) != 0 || strcmp(p.recipient, PQgetvalue(res, 0, 0)) != 0) {
		c->retired = 1;
		return;
	}
	partner_row(r, res);
}

static void
report_team_row(struct rv_req *r, const PGresult *res)
{
	struct rf_ctx *c = ctx(r);
	if (PQntuples(res) == 1)
		snprintf(c->team, sizeof(c->team), "%s", PQgetvalue(res, 0, 0));
}

static void
updated_done(struct rv_req *r)
{
	struct rf_ctx *c = ctx(r);
	if (!r->found) {
		rv_problem(r, 404, "no such report");
		return;
	}
	if (r->route == RV_REFER)
		rv_answer_json(r, 200, json_pack("{s:s, s:s, s:s}", "id", r->id, "status", "referred",
		                                 "partner", c->name));
	else
		rv_answer_json(r, 200, json_pack("{s:s, s:b}", "id", r->id, "legal_hold",
		                                 c->hold[0] == 't'));
}

/* The report's team is known (or not): check the caller may act on it, then
 * change it and audit, in one step. */
static void
report_act(struct rv_req *r)
{
	struct rf_ctx *c = ctx(r);
	int member = c->team[0] != '\0' && rv_caller_team(&r->caller, c->team) != NULL;
	/* A referral is a member's act (they encrypted the case); a hold may
	 * also come from an admin, who cannot read the report either way. */
	if (!member && !(r->route == RV_HOLD && r->caller.admin && c->team[0] != '\0')) {
		rv_problem(r, 404, "no such report");
		return;
	}
	if (r->route == RV_REFER && c->retired) {
		rv_problem_code(r, 422, "partner_not_pinned",
		                "that partner is no longer pinned by a current admin: an admin pins it "
		                "again (tipctl admin partner list)", NULL);
		return;
	}
	if (r->route == RV_REFER && !c->have_partner) {
		rv_problem_code(r, 422, "no_such_partner", "no such partner (tipctl admin partner list)",
		                NULL);
		return;
	}
	const char *v[2] = { r->id, c->hold };
	if (r->route == RV_REFER) {
		rv_audit_when(r, AUDIT_REPORT_REFER, c->team, r->id, c->p.x25519_pk,
		              "exists (select 1 from reports where id = $2::uuid)", r->id);
		rv_q(r, "update reports set status = 'referred' where id = $1::uuid returning id", 1, v,
		     NULL, NULL, found_row);
	} else {
		rv_audit_when(r, c->hold[0] == 't' ? AUDIT_REPORT_HOLD : AUDIT_REPORT_RELEASE, c->team,
		              r->id, NULL, "exists (select 1 from reports where id = $2::uuid)", r->id);
		rv_q(r, "update reports set legal_hold = $2::boolean where id = $1::uuid returning id", 2,
		     v, NULL, NULL, found_row);
	}
	rv_run(r, updated_done);
}

static void
report_start(struct rv_req *r)
{
	static const char *const refer_keys[] = { "partner", NULL };
	static const char *const hold_keys[] = { "hold", NULL };
	struct rf_ctx *c = ctx(r);
	const char *v[1] = { r->id };
	if (r->route == RV_REFER) {
		if (body_object(r, refer_keys, "send {\"partner\": name}") != 0)
			return;
		const char *name = rv_str_of(c->body, "partner");
		if (name == NULL || !partner_name_valid(name)) {
			rv_problem(r, 422, "not a partner name");
			return;
		}
		snprintf(c->name, sizeof(c->name), "%s", name);
		rv_q(r, "select recipient, statement from partners where name = $1", 1,
		     (const char *const[]){ c->name }, NULL, NULL, refer_partner_row);
	} else {
		if (body_object(r, hold_keys, "send {\"hold\": true} or {\"hold\": false}") != 0)
			return;
		json_t *h = json_object_get(c->body, "hold");
		if (!json_is_boolean(h)) {
			rv_problem(r, 400, "send {\"hold\": true} or {\"hold\": false}");
			return;
		}
		snprintf(c->hold, sizeof(c->hold), "%s", json_is_true(h) ? "t" : "f");
	}
	rv_q(r, "select team_id from reports where id = $1::uuid", 1, v, NULL, NULL,
	     report_team_row);
	rv_run(r, report_act);
}

/* ---- retention ---- */

static void
retention_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "policies");
	for (int i = 0; i < PQntuples(res); i++) {
		uint64_t cd = 0, od = 0;
		int hc = !PQgetisnull(res, i, 1), ho = !PQgetisnull(res, i, 2);
		if ((hc && util_parse_u64(PQgetvalue(res, i, 1), RETENTION_DAYS_MAX, &cd) != 0) ||
		    (ho && util_parse_u64(PQgetvalue(res, i, 2), RETENTION_DAYS_MAX, &od) != 0)) {
			db_step_mark_failed(&r->step);
			return;
		}
		json_t *o = json_pack("{s:s, s:o, s:o}", "team", PQgetvalue(res, i, 0), "closed_days",
		                      hc ? json_integer((json_int_t)cd) : json_null(), "open_days",
		                      ho ? json_integer((json_int_t)od) : json_null());
		if (o == NULL || json_array_append_new(arr, o) != 0)
			db_step_mark_failed(&r->step);
	}
}

static void
held_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "held");
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_pack("{s:s, s:s}", "id", PQgetvalue(res, i, 0), "team",
		                      PQgetvalue(res, i, 1));
		if (o == NULL || json_array_append_new(arr, o) != 0)
			db_step_mark_failed(&r->step);
	}
}

static void
retention_list_start(struct rv_req *r)
{
	if ((r->out = json_pack("{s:[], s:[]}", "policies", "held")) == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	rv_q(r, "select team_id, closed_days, open_days from retention_policies order by team_id", 0,
	     NULL, NULL, NULL, retention_rows);
	rv_q(r, "select id::text, team_id from reports where legal_hold order by team_id, id", 0,
	     NULL, NULL, NULL, held_rows);
	rv_run(r, rv_answer_out);
}

/* Store days member `key` of the body in `out` ("" for null). Return 0, or -1. */
static int
days_of(json_t *body, const char *key, char out[12])
{
	json_t *v = json_object_get(body, key);
	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > RETENTION_DAYS_MAX)
		return -1;
	snprintf(out, 12, "%lld", (long long)json_integer_value(v));
	return 0;
}

static void
retention_set_done(struct rv_req *r)
{
	struct rf_ctx *c = ctx(r);
	if (!r->found) {
		rv_problem(r, 404, "no such team");
		return;
	}
	json_t *cd = json_object_get(c->body, "closed_days"), *od = json_object_get(c->body, "open_days");
	json_t *doc = json_pack("{s:s, s:O, s:O}", "team", r->team, "closed_days",
	                        c->closed[0] ? cd : json_null(), "open_days",
	                        c->open[0] ? od : json_null());
	rv_answer_json(r, 200, doc);
}

static void
retention_set_start(struct rv_req *r)
{
	static const char *const keys[] = { "closed_days", "open_days", NULL };
	static const char shape[] =
		"send {\"closed_days\": N or null, \"open_days\": M or null} (days, 1 to 36500)";
	struct rf_ctx *c = ctx(r);
	if (body_object(r, keys, shape) != 0)
		return;
	if (days_of(c->body, "closed_days", c->closed) != 0 ||
	    days_of(c->body, "open_days", c->open) != 0) {
		rv_problem(r, 422, shape);
		return;
	}
	const char *v[3] = { r->team, c->closed[0] ? c->closed : NULL, c->open[0] ? c->open : NULL };
	rv_audit_when(r, AUDIT_RETENTION_SET, r->team, NULL, NULL,
	              "exists (select 1 from teams where id = $2)", r->team);
	rv_q(r, "insert into retention_policies (team_id, closed_days, open_days) "
	        "select t.id, $2::int, $3::int from teams t where t.id = $1 "
	        "on conflict (team_id) do update set closed_days = excluded.closed_days, "
	        "open_days = excluded.open_days returning team_id",
	     3, v, NULL, NULL, found_row);
	rv_run(r, retention_set_done);
}

/* ---- route state and ops ---- */

static void
partner_del_start(struct rv_req *r)
{
	snprintf(ctx(r)->name, sizeof(ctx(r)->name), "%s", r->label);
	partner_lookup(r, partner_del_delete);
}

static void
rf_ctx_free(void *p)
{
	struct rf_ctx *c = p;
	json_decref(c->body);
}

#define RF_OPS(name, fn)                                                                        \
	const struct rv_ops name = { .start = fn, .ctx_size = sizeof(struct rf_ctx),             \
		                     .ctx_free = rf_ctx_free }
RF_OPS(rv_partners_ops, partners_start);
RF_OPS(rv_partner_add_ops, partner_add_start);
RF_OPS(rv_partner_del_ops, partner_del_start);
RF_OPS(rv_refer_ops, report_start); /* referral and hold */
RF_OPS(rv_retention_ops, retention_list_start);
RF_OPS(rv_retention_set_ops, retention_set_start);
