/*
 * review_admins: the admin chain routes (see review_admins.h). Adopting an
 * uploaded statement fsyncs two small state files on the loop, a few
 * milliseconds on a rare admin action.
 */
#include "review_admins.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adminchain.h"
#include "admins.h"
#include "app.h"
#include "audit.h"
#include "config.h"
#include "log.h"
#include "review_req.h"
#include "teams.h"

struct ads_ctx {
	json_t *body;
	struct admins *stmt;
	const char *text;
	size_t len;
	uint8_t changed[32];
	int added;
};

static struct ads_ctx *
ctx(struct rv_req *r)
{
	return r->ctx;
}

/* ---- GET /api/v1/admins ---- */

static void
chain_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "statements");
	for (int i = 0; i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_stringn(PQgetvalue(res, i, 0),
		                                            (size_t)PQgetlength(res, i, 0))) != 0)
			db_step_mark_failed(&r->step);
}

/* Every session may read the chain: tipctl verifies it from its own pins. */
static void
chain_start(struct rv_req *r)
{
	char seq[24];
	snprintf(seq, sizeof(seq), "%llu",
	         (unsigned long long)adminchain_seq(teams_admins(r->app->teams)));
	r->out = json_pack("{s:[], s:i}", "statements", "quorum", (int)r->app->cfg->admin_quorum);
	if (r->out == NULL) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	const char *v[1] = { seq };
	/* Up to the head tipd verified: a row written past it is not shown. */
	rv_q(r, "select statement from admin_statements where seq <= $1::bigint order by seq", 1, v,
	     NULL, NULL, chain_rows);
	rv_audit(r, AUDIT_ADMINS_FETCH, NULL, NULL, NULL);
	rv_run(r, rv_answer_out);
}

/* ---- POST /api/v1/admin/admins ---- */

static void
stored_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res) == 1;
}

static void
stored(struct rv_req *r)
{
	struct ads_ctx *c = ctx(r);
	char fp[17];
	uint64_t seq = admins_seq(c->stmt);
	size_t n = admins_count(c->stmt);
	if (!r->found) {
		rv_problem(r, 409, "another admin statement with this sequence number was stored "
		                   "first; fetch the chain again and sign the next one");
		return;
	}
	r->found = 0;
	struct adminchain *ac = teams_admins(r->app->teams);
	if (adminchain_adopt(ac, c->stmt, c->text, c->len) != 0)
		log_error("review: admin statement %llu stored, but the state directory could not "
		          "be written", (unsigned long long)seq);
	c->stmt = NULL; /* taken */
	teams_admins_changed(r->app->teams);
	membership_fingerprint(c->changed, fp);
	log_info("review: admin statement %llu adopted (%zu admins, %s %s)",
	         (unsigned long long)seq, n, c->added ? "added" : "removed", fp);
	rv_answer_json(r, 201, json_pack("{s:I, s:I, s:s, s:s}", "seq", (json_int_t)seq, "admins",
	                                 (json_int_t)n, c->added ? "added" : "removed", fp,
	                                 "change", c->added ? "add" : "remove"));
}

/* Store the statement with its audit entry, both only if no statement
 * holds its sequence number yet (the audit lock serializes uploads). */
static void
store(struct rv_req *r)
{
	struct ads_ctx *c = ctx(r);
	char seq[24];
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)admins_seq(c->stmt));
	rv_audit_when(r, c->added ? AUDIT_ADMIN_ADD : AUDIT_ADMIN_REMOVE, NULL, NULL, c->changed,
	              "not exists (select 1 from admin_statements where seq = $2::bigint)", seq);
	const char *v[3] = { seq, (const char *)admins_hash(c->stmt), c->text };
	const int lens[3] = { 0, 32, (int)c->len }, fmts[3] = { 0, 1, 0 };
	rv_q(r, "insert into admin_statements (seq, sha256, statement) values ($1::bigint, $2, $3) "
	        "on conflict do nothing returning seq", 3, v, lens, fmts, stored_row);
	rv_run(r, stored);
}

static void
post_start(struct rv_req *r)
{
	static const char shape[] = "send {\"statement\": the next signed admin statement}";
	static const char *const keys[] = { "statement", NULL };
	struct ads_ctx *c = ctx(r);
	json_t *st;
	if (rv_body_object(r, shape, &c->body) != 0)
		return; /* answered 400 */
	if (!rv_only_keys(c->body, keys) ||
	    !json_is_string(st = json_object_get(c->body, "statement")) ||
	    strlen(json_string_value(st)) != json_string_length(st)) {
		rv_problem(r, 400, shape);
		return;
	}
	c->text = json_string_value(st);
	c->len = json_string_length(st);
	enum admins_result ar = adminchain_check_next(teams_admins(r->app->teams), c->text, c->len,
	                                              &c->stmt, c->changed, &c->added);
	if (ar != ADMINS_OK) {
		char detail[200];
		snprintf(detail, sizeof(detail), "admin statement refused: %s%s", admins_strerror(ar),
		         ar == ADMINS_ERR_FORMAT ? " (or it does not change exactly one admin, or "
		                                   "lowers the quorum below the configured one)" : "");
		int conflict = ar == ADMINS_ERR_SEQUENCE || ar == ADMINS_ERR_STALE ||
		               ar == ADMINS_ERR_PREV_HASH;
		rv_problem(r, conflict ? 409 : 422, detail);
		return;
	}
	store(r);
}

/* Release the route state (not the state itself). */
static void
ads_free(void *p)
{
	struct ads_ctx *c = p;
	json_decref(c->body);
	admins_free(c->stmt);
}

const struct rv_ops rv_admins_chain_ops = { .start = chain_start };
const struct rv_ops rv_admins_post_ops = { .start = post_start,
	                                   .ctx_size = sizeof(struct ads_ctx),
	                                   .ctx_free = ads_free };
