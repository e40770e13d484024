/*
 * review_admin: enrollment and the admin routes of the review API (see
 * review_admin.h). Every route queues its statements on the request's loop
 * with rv_q/rv_run. One thing here blocks the loop briefly: adopting an
 * uploaded membership statement (teams_adopt) re-opens the teams' statements
 * and fsyncs the state directory, a few milliseconds on a rare admin action.
 */
#include "review_admin.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "age.h"
#include "app.h"
#include "audit.h"
#include "config.h"
#include "http.h"
#include "invite.h"
#include "log.h"
#include "membership.h"
#include "review_reports.h"
#include "review_req.h"
#include "teams.h"
#include "util.h"

#define AD_INVITE_TTL_H 72
#define AD_INVITE_TTL_MAX_H 720
#define AD_PENDING_MAX 100
#define AD_ARRAY_MAX 32768 /* a PostgreSQL array literal of uuids, recipients or keys */

struct ad_ctx {
	json_t *body;
	/* enroll */
	char invite[37];
	uint8_t secret_sha[32];
	uint8_t pk[RV_PK_LEN];
	uint8_t sig[RV_SIG_LEN];
	char recipient[AGE_RECIPIENT_STR_MAX];
	char role[16];
	char name[MEMBERSHIP_NAME_MAX + 1];
	json_t *teams;
	/* membership upload */
	struct membership *stmt;
	const char *text;
	size_t len;
	char enrollment[37];
	int enrollment_complete;
	uint8_t enrollee[RV_PK_LEN];
	uint64_t stmt_seq;
	size_t stmt_count;
	json_t *removed; /* names */
	uint8_t (*removed_pks)[RV_PK_LEN];
	size_t n_removed;
	/* PostgreSQL array literals, by route: removed recipients and removed
	 * keys (hex); the team's recipients; uploaded recipients and object ids */
	char rcpts_lit[AD_ARRAY_MAX];
	char ids_lit[AD_ARRAY_MAX];
	struct membership *prev; /* the head the uploaded statement follows */
	/* rotations: members whose keys the statement replaces under the same
	 * name: old recipients, new recipients, new keys (hex) as literals */
	char rot_old_lit[AD_ARRAY_MAX];
	char rot_new_lit[AD_ARRAY_MAX];
	char rot_key_lit[AD_ARRAY_MAX];
	uint8_t (*rot_pks)[RV_PK_LEN];
	size_t n_rot;
	/* labels */
	char label[65];
};

static struct ad_ctx *
ctx(struct rv_req *r)
{
	return r->ctx;
}

/* Parse the request body as a JSON object into the context. Return 0, or -1
 * after answering 400. */
static int
body_object(struct rv_req *r, const char *shape)
{
	return rv_body_object(r, shape, &ctx(r)->body);
}

/* Decode base64 `s` into exactly `n` bytes. Return 0 or -1. */
static int
b64_exact(const char *s, uint8_t *out, size_t n, int variant)
{
	size_t got = 0;
	return s != NULL && util_base64_decode(s, strlen(s), out, n, &got, variant) == 0 && got == n
	               ? 0 : -1;
}

/* ---- POST /api/v1/enroll ---- */

static void
enroll_fail(struct rv_req *r, int status, const char *detail)
{
	rv_limiter_fail(rv_login_limiter(r), NULL, time(NULL));
	log_info("review: failed enrollment (%d)", status);
	rv_problem(r, status, detail);
}

static void
enroll_stored_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res) == 1;
}

static void
enroll_stored(struct rv_req *r)
{
	struct ad_ctx *c = ctx(r);
	char fp[17];
	if (!r->found) {
		rv_problem(r, 410, "this invite was already used");
		return;
	}
	membership_fingerprint(c->pk, fp);
	log_info("review: %s enrolled from an invite", c->role);
	json_t *teams = c->teams;
	c->teams = NULL;
	rv_answer_json(r, 201, json_pack("{s:s, s:s, s:o, s:s}", "role", c->role, "name", c->name,
	                                 "teams", teams != NULL ? teams : json_array(),
	                                 "fingerprint", fp));
}

/* Verify the proof of possession over the server's own origin and TLS key. */
static int
enroll_pop_ok(struct rv_req *r)
{
	struct ad_ctx *c = ctx(r);
	char hex[65], pk64[sodium_base64_ENCODED_LEN(RV_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	struct buf msg;
	int ok = 0;
	buf_init(&msg, 4096);
	sodium_bin2base64(pk64, sizeof(pk64), c->pk, RV_PK_LEN, sodium_base64_VARIANT_ORIGINAL);
	if (rv_tls_hex(r, hex) == 0 &&
	    invite_enroll_message(r->app->cfg->review_origin, hex, c->invite, c->name,
	                          strcmp(c->role, "admin") == 0 ? NULL : c->recipient, pk64,
	                          &msg) == 0 &&
	    crypto_sign_verify_detached(c->sig, msg.data, msg.len, c->pk) == 0)
		ok = 1;
	buf_free(&msg);
	return ok;
}

static void
enroll_invite_row(struct rv_req *r, const PGresult *res)
{
	struct ad_ctx *c = ctx(r);
	uint8_t sha[32];
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 64 ||
	    sodium_hex2bin(sha, sizeof(sha), PQgetvalue(res, 0, 0), 64, NULL, NULL, NULL) != 0 ||
	    sodium_memcmp(sha, c->secret_sha, 32) != 0)
		return; /* r->found stays 0: unknown invite or wrong secret */
	r->found = 1;
	snprintf(c->role, sizeof(c->role), "%s", PQgetvalue(res, 0, 1));
	snprintf(c->name, sizeof(c->name), "%s", PQgetvalue(res, 0, 2));
	json_error_t e;
	c->teams = json_loads(PQgetvalue(res, 0, 3), 0, &e);
	if (!PQgetisnull(res, 0, 5))
		r->found = 2; /* used */
	else if (strtoll(PQgetvalue(res, 0, 4), NULL, 10) <= (long long)time(NULL))
		r->found = 3; /* expired */
}

static void
enroll_checked(struct rv_req *r)
{
	struct ad_ctx *c = ctx(r);
	int admin = strcmp(c->role, "admin") == 0;
	char now[24];
	int found = r->found;
	r->found = 0;
	if (found == 0 || !json_is_array(c->teams)) {
		enroll_fail(r, 401, "this invite is not valid");
		return;
	}
	if (found == 2 || found == 3) {
		rv_problem(r, 410, found == 2 ? "this invite was already used" : "this invite has expired");
		return;
	}
	if (!admin && c->recipient[0] == '\0') {
		rv_problem(r, 422, "an investigator enrolls with an age recipient");
		return;
	}
	if (!enroll_pop_ok(r)) {
		enroll_fail(r, 401, "the enrollment signature does not verify");
		return;
	}
	if (admin && !teams_is_admin(r->app->teams, c->pk)) {
		rv_problem(r, 403, "this key is not one of the admin keys pinned in tipd's configuration");
		return;
	}
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	memcpy(r->caller.ed25519, c->pk, RV_PK_LEN);
	r->caller.admin = admin;
	const char *v[5] = { c->invite, now, c->recipient, (const char *)c->pk, (const char *)c->sig };
	const int lens[5] = { 0, 0, 0, RV_PK_LEN, RV_SIG_LEN }, fmts[5] = { 0, 0, 0, 1, 1 };
	/* before the update: written only if this request is the one that uses the invite */
	rv_audit_when(r, AUDIT_ENROLL, NULL, c->invite, c->pk,
	              "exists (select 1 from invites where id = $2::uuid and used_at is null)",
	              c->invite);
	if (admin)
		rv_q(r, "update invites set used_at = $2::bigint where id = $1::uuid and used_at is null "
		        "returning id", 2, v, NULL, NULL, enroll_stored_row);
	else
		rv_q(r, "with u as (update invites set used_at = $2::bigint where id = $1::uuid "
		        "and used_at is null returning id, name, teams) "
		        "insert into enrollments (invite_id, name, teams, recipient, ed25519, signature, "
		        "enrolled_at) select id, name, teams, $3, $4, $5, $2::bigint from u returning invite_id",
		     5, v, lens, fmts, enroll_stored_row);
	rv_run(r, enroll_stored);
}

static void
enroll_start(struct rv_req *r)
{
	static const char *const keys[] = { "invite", "secret", "recipient", "ed25519", "signature",
		                            NULL };
	static const char shape[] = "send {\"invite\": uuid, \"secret\": base64url, \"recipient\": "
	                            "\"age1…\", \"ed25519\": base64, \"signature\": base64}";
	struct ad_ctx *c = ctx(r);
	uint8_t secret[INVITE_SECRET_LEN], xpk[AGE_KEY_LEN];
	unsigned wait = rv_limiter_check(rv_login_limiter(r), NULL, time(NULL));
	if (wait > 0) {
		rv_problem(r, 429, "too many failed enrollments; try again later");
		return;
	}
	if (body_object(r, shape) != 0)
		return;
	const char *id = rv_str_of(c->body, "invite"), *rc = rv_str_of(c->body, "recipient");
	if (!rv_only_keys(c->body, keys) || id == NULL || !util_uuid_valid(id) ||
	    b64_exact(rv_str_of(c->body, "secret"), secret, sizeof(secret),
	              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    b64_exact(rv_str_of(c->body, "ed25519"), c->pk, RV_PK_LEN, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    b64_exact(rv_str_of(c->body, "signature"), c->sig, RV_SIG_LEN,
	              sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    (json_object_get(c->body, "recipient") != NULL &&
	     (rc == NULL || strlen(rc) >= sizeof(c->recipient) || age_recipient_decode(rc, xpk) != 0))) {
		sodium_memzero(secret, sizeof(secret));
		enroll_fail(r, 400, shape);
		return;
	}
	snprintf(c->invite, sizeof(c->invite), "%s", id);
	snprintf(c->recipient, sizeof(c->recipient), "%s", rc != NULL ? rc : "");
	crypto_hash_sha256(c->secret_sha, secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	const char *v[1] = { c->invite };
	rv_q(r, "select encode(secret_sha256, 'hex'), role, coalesce(name, ''), array_to_json(teams), "
	        "expires_at, used_at from invites where id = $1::uuid", 1, v, NULL, NULL,
	     enroll_invite_row);
	rv_run(r, enroll_checked);
}

/* ---- POST /api/v1/admin/invites ---- */

static void
invite_stored(struct rv_req *r)
{
	json_t *doc = r->out;
	r->out = NULL;
	log_info("review: an admin created an invite");
	rv_answer_json(r, 201, doc);
}

/* Check "teams": 1..16 distinct valid team ids; build the array literal. */
static int
teams_literal(json_t *teams, char *arr, size_t cap)
{
	size_t i;
	json_t *t;
	if (!json_is_array(teams) || json_array_size(teams) == 0 ||
	    json_array_size(teams) > INVITE_TEAMS_MAX)
		return -1;
	arr[0] = '\0';
	json_array_foreach(teams, i, t) {
		const char *s = json_string_value(t);
		if (s == NULL || strlen(s) != json_string_length(t) || !membership_team_valid(s) ||
		    rv_array_add(arr, cap, s) != 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s, json_string_value(json_array_get(teams, j))) == 0)
				return -1;
	}
	return 0;
}

static void
invite_start(struct rv_req *r)
{
	static const char *const keys[] = { "name", "teams", "ttl_hours", NULL };
	static const char shape[] = "send {\"name\": member name, \"teams\": [team, …], "
	                            "\"ttl_hours\": 1..720 (default 72)}";
	struct ad_ctx *c = ctx(r);
	char arr[INVITE_TEAMS_MAX * 66 + 4], id[37], now[24], exp[24];
	uint8_t secret[INVITE_SECRET_LEN];
	char secret64[INVITE_SECRET_B64];
	if (body_object(r, shape) != 0)
		return;
	const char *name = rv_str_of(c->body, "name");
	json_t *ttl = json_object_get(c->body, "ttl_hours");
	json_int_t hours = ttl == NULL ? AD_INVITE_TTL_H : json_integer_value(ttl);
	if (!rv_only_keys(c->body, keys) || name == NULL || !invite_name_valid(name) ||
	    teams_literal(json_object_get(c->body, "teams"), arr, sizeof(arr)) != 0 ||
	    (ttl != NULL && !json_is_integer(ttl)) || hours < 1 || hours > AD_INVITE_TTL_MAX_H) {
		rv_problem(r, 422, shape);
		return;
	}
	int64_t t = time(NULL), e = t + (int64_t)hours * 3600;
	util_uuid(id);
	randombytes_buf(secret, sizeof(secret));
	crypto_hash_sha256(c->secret_sha, secret, sizeof(secret));
	sodium_bin2base64(secret64, sizeof(secret64), secret, sizeof(secret),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(secret, sizeof(secret));
	snprintf(now, sizeof(now), "%lld", (long long)t);
	snprintf(exp, sizeof(exp), "%lld", (long long)e);
	r->out = json_pack("{s:s, s:s, s:s, s:s, s:O, s:I}", "id", id, "secret", secret64, "role",
	                   "investigator", "name", name, "teams", json_object_get(c->body, "teams"),
	                   "expires_at", (json_int_t)e);
	sodium_memzero(secret64, sizeof(secret64));
	const char *v[7] = { id, (const char *)c->secret_sha, name, arr,
		             (const char *)r->caller.ed25519, now, exp };
	const int lens[7] = { 0, 32, 0, 0, RV_PK_LEN, 0, 0 }, fmts[7] = { 0, 1, 0, 0, 1, 0, 0 };
	rv_q(r, "insert into invites (id, secret_sha256, role, name, teams, created_by, created_at, "
	        "expires_at) values ($1::uuid, $2, 'investigator', $3, $4::text[], $5, $6::bigint, "
	        "$7::bigint)", 7, v, lens, fmts, NULL);
	rv_audit(r, AUDIT_INVITE_CREATE, NULL, id, NULL);
	rv_run(r, invite_stored);
}

/* ---- GET /api/v1/admin/enrollments ---- */

static void
pending_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = rv_out_array(r, "enrollments");
	if (arr == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		uint8_t pk[RV_PK_LEN];
		char fp[17], pk64[sodium_base64_ENCODED_LEN(RV_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
		json_error_t e;
		if (sodium_hex2bin(pk, sizeof(pk), PQgetvalue(res, i, 4), 64, NULL, NULL, NULL) != 0) {
			db_step_mark_failed(&r->step);
			return;
		}
		membership_fingerprint(pk, fp);
		sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
		json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:I}", "id",
		                      PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1), "teams",
		                      json_loads(PQgetvalue(res, i, 2), 0, &e), "recipient",
		                      PQgetvalue(res, i, 3), "ed25519", pk64, "fingerprint", fp,
		                      "signature", PQgetvalue(res, i, 5), "enrolled_at",
		                      (json_int_t)strtoll(PQgetvalue(res, i, 6), NULL, 10));
		if (rv_out_append(r, arr, o) != 0)
			return;
	}
}

static void
pending_start(struct rv_req *r)
{
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", AD_PENDING_MAX);
	const char *v[1] = { lim };
	r->out = json_object();
	rv_q(r, "select invite_id, name, array_to_json(teams), recipient, encode(ed25519, 'hex'), "
	        "translate(encode(signature, 'base64'), E'\\n', ''), enrolled_at from enrollments "
	        "where status = 'pending' order by enrolled_at, invite_id limit $1::int",
	     1, v, NULL, NULL, pending_rows);
	rv_run(r, rv_answer_out);
}

/* ---- GET /api/v1/admin/teams ---- */

static void
teams_rows(struct rv_req *r, const PGresult *res)
{
	const struct rv_member *ms[MEMBERSHIP_MAX_MEMBERS];
	json_t *arr = rv_out_array(r, "teams");
	if (arr == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *team = PQgetvalue(res, i, 0);
		size_t n = rv_team_members(r, team, ms, MEMBERSHIP_MAX_MEMBERS);
		json_t *o = json_pack("{s:s, s:I, s:I}", "team", team, "seq",
		                      (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10), "members",
		                      (json_int_t)n);
		if (rv_out_append(r, arr, o) != 0)
			return;
	}
}

/* Every team with a membership statement, its head's seq and member count. */
static void
teams_start(struct rv_req *r)
{
	r->out = json_object();
	rv_q(r, "select team_id, max(seq) from membership_statements group by team_id "
	        "order by team_id", 0, NULL, NULL, NULL, teams_rows);
	rv_run(r, rv_answer_out);
}

/* ---- POST /api/v1/admin/enrollments/{id}/reject ---- */

static void
reject_row(struct rv_req *r, const PGresult *res)
{
	if (PQntuples(res) != 1)
		return;
	r->found = 1;
	json_object_set_new(r->out, "name", json_string(PQgetvalue(res, 0, 0)));
}

static void
reject_done(struct rv_req *r)
{
	if (!r->found) {
		rv_problem(r, 404, "no pending enrollment with this id");
		return;
	}
	json_t *doc = r->out;
	r->out = NULL;
	json_object_set_new(doc, "id", json_string(r->id));
	json_object_set_new(doc, "status", json_string("rejected"));
	rv_answer_json(r, 200, doc);
}

/* Mark a pending enrollment rejected; its key can then never be approved from it. */
static void
reject_start(struct rv_req *r)
{
	const char *v[1] = { r->id };
	r->out = json_object();
	r->found = 0;
	/* before the change: written only if there is a pending enrollment to reject */
	rv_audit_when(r, AUDIT_ENROLL_REJECT, NULL, r->id, NULL,
	              "exists (select 1 from enrollments where invite_id = $2::uuid "
	              "and status = 'pending')", r->id);
	rv_q(r, "update enrollments set status = 'rejected' where invite_id = $1::uuid "
	        "and status = 'pending' returning name", 1, v, NULL, NULL, reject_row);
	rv_run(r, reject_done);
}

/* ---- POST /api/v1/admin/teams/{team}/membership ---- */

static void
statement_answered(struct rv_req *r)
{
	struct ad_ctx *c = ctx(r);
	json_t *removed = c->removed;
	c->removed = NULL;
	rv_answer_json(r, 201, json_pack("{s:s, s:I, s:I, s:o, s:b}", "team", r->team, "seq",
	                                 (json_int_t)c->stmt_seq, "members", (json_int_t)c->stmt_count,
	                                 "removed", removed != NULL ? removed : json_array(),
	                                 "enrollment_approved", c->enrollment_complete));
}

static void
statement_stored_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res) == 1;
}

/* The statement, its effects and its audit entries are committed: seal to
 * it from now on. */
static void
statement_stored(struct rv_req *r)
{
	struct ad_ctx *c = ctx(r);
	if (!r->found) {
		rv_problem(r, 409, "another membership statement with this sequence number was stored "
		                   "first; fetch the chain again and sign the next one");
		return;
	}
	r->found = 0;
	if (teams_adopt(r->app->teams, c->stmt, c->text, c->len) != 0)
		log_error("review: team %s: statement %llu stored, but the state directory could not "
		          "be written", r->team, (unsigned long long)c->stmt_seq);
	c->stmt = NULL; /* taken by teams_adopt */
	log_info("review: team %s: membership statement %llu adopted (%zu members, %zu removed)",
	         r->team, (unsigned long long)c->stmt_seq, c->stmt_count, c->n_removed);
	statement_answered(r);
}

/* Store the statement and, guarded by "our statement is the one stored",
 * delete the removed members' headers and sessions and mark the enrollment,
 * all in one transaction with the enroll_approve (an approval, or a
 * statement that removes no one) and member_revoke (one per removed member)
 * audit entries (as `tipd membership add` does): a crash or a dropped connection
 * leaves either all of it or none. The entries are queued first, written
 * only if no statement holds this sequence number yet: the audit lock they
 * take serializes concurrent uploads, so exactly the upload whose statement
 * is stored is audited. */
static void
statement_store(struct rv_req *r)
{
	struct ad_ctx *c = ctx(r);
	char seq[24];
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)c->stmt_seq);
	const char *v[4] = { r->team, seq, (const char *)membership_hash(c->stmt), c->text };
	const int lens[4] = { 0, 0, 32, (int)c->len }, fmts[4] = { 0, 0, 1, 0 };
	char first[160];
	snprintf(first, sizeof(first), "not exists (select 1 from membership_statements "
	         "where team_id = $2 and seq = %llu)", (unsigned long long)c->stmt_seq);
	rv_q(r, "insert into teams (id) values ($1) on conflict do nothing", 1, v, NULL, NULL, NULL);
	/* One entry per change: a statement that only removes members is their
	 * member_revoke entries, one that rotates keys their member_rotate
	 * entries, not also an enroll_approve. */
	if (c->enrollment_complete || (c->n_removed == 0 && c->n_rot == 0))
		rv_audit_when(r, AUDIT_ENROLL_APPROVE, r->team,
		              c->enrollment_complete ? c->enrollment : NULL,
		              c->enrollment_complete ? c->enrollee : NULL, first, r->team);
	rv_audit_many_when(r, AUDIT_MEMBER_REVOKE, r->team, NULL,
	                   (const uint8_t(*)[32])c->removed_pks, c->n_removed, first, r->team);
	rv_audit_many_when(r, AUDIT_MEMBER_ROTATE, r->team, NULL, (const uint8_t(*)[32])c->rot_pks,
	                   c->n_rot, first, r->team);
	rv_q(r, "insert into membership_statements (team_id, seq, sha256, statement) "
	        "values ($1, $2::int, $3, $4) on conflict do nothing returning seq",
	     4, v, lens, fmts, statement_stored_row);
#define AD_OURS "exists (select 1 from membership_statements where team_id = $1 " \
	        "and seq = $2::int and sha256 = $3)"
	if (c->n_rot > 0) {
		const char *k[6] = { r->team, seq, (const char *)membership_hash(c->stmt),
			             c->rot_old_lit, c->rot_new_lit, c->rot_key_lit };
		const int kl[6] = { 0, 0, 32, 0, 0, 0 }, kf[6] = { 0, 0, 1, 0, 0, 0 };
		rv_q(r, "insert into key_rotations (team_id, old_recipient, new_recipient, new_ed25519) "
		        "select $1, i.o, i.n, decode(i.k, 'hex') from unnest($4::text[], $5::text[], "
		        "$6::text[]) as i(o, n, k) where " AD_OURS " on conflict (team_id, old_recipient) "
		        "do update set new_recipient = excluded.new_recipient, "
		        "new_ed25519 = excluded.new_ed25519", 6, k, kl, kf, NULL);
	}
	if (c->n_removed > 0 || c->n_rot > 0) {
		const char *d[4] = { r->team, seq, (const char *)membership_hash(c->stmt),
			             c->rcpts_lit };
		const int dl[4] = { 0, 0, 32, 0 }, df[4] = { 0, 0, 1, 0 };
		rv_q(r, "delete from object_headers where recipient = any($4::text[]) and object_id in ("
		        "select oid from (" TEAMS_OBJECTS_SQL ") o) and " AD_OURS, 4, d, dl, df, NULL);
		const char *k[4] = { r->team, seq, (const char *)membership_hash(c->stmt),
			             c->ids_lit };
		rv_q(r, "with d as (delete from sessions where encode(ed25519, 'hex') = any($4::text[]) "
		        "and " AD_OURS " returning token_sha256, expires_at) "
		        "insert into ended_sessions (token_sha256, reason, expires_at) "
		        "select token_sha256, 'revoked', expires_at from d on conflict do nothing",
		     4, k, dl, df, NULL);
	}
	if (c->enrollment_complete) {
		const char *e[4] = { r->team, seq, (const char *)membership_hash(c->stmt), c->enrollment };
		const int el[4] = { 0, 0, 32, 0 }, ef[4] = { 0, 0, 1, 0 };
		rv_q(r, "update enrollments set status = 'approved' where invite_id = $4::uuid "
		        "and status = 'pending' and " AD_OURS, 4, e, el, ef, NULL);
	}
#undef AD_OURS
	rv_run(r, statement_stored);
}

/* Return 1 if the enrollee is in every team of the enrollment once the
 * statement is adopted (the statement for its team, the current head for
 * the others), else 0. */
static int
enrollment_done(struct rv_req *r, json_t *teams)
{
	struct ad_ctx *c = ctx(r);
	size_t i;
	json_t *t;
	if (!json_is_array(teams) || json_array_size(teams) == 0)
		return 0;
	json_array_foreach(teams, i, t) {
		const char *team = json_string_value(t);
		const struct membership *m = team != NULL && strcmp(team, r->team) == 0
		                                     ? c->stmt : rv_team_statement(r, team);
		int in = 0;
		for (size_t j = 0; m != NULL && j < membership_count(m) && !in; j++)
			in = sodium_memcmp(membership_member_at(m, j)->ed25519_pk, c->enrollee,
			                   RV_PK_LEN) == 0 &&
			     strcmp(membership_member_at(m, j)->recipient, c->recipient) == 0;
		if (!in)
			return 0;
	}
	return 1;
}

static void
enrollment_row(struct rv_req *r, const PGresult *res)
{
	struct ad_ctx *c = ctx(r);
	json_error_t e;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 1) != 64 ||
	    sodium_hex2bin(c->enrollee, RV_PK_LEN, PQgetvalue(res, 0, 1), 64, NULL, NULL, NULL) != 0)
		return;
	r->found = 1;
	snprintf(c->recipient, sizeof(c->recipient), "%s", PQgetvalue(res, 0, 0));
	json_t *teams = json_loads(PQgetvalue(res, 0, 2), 0, &e);
	c->enrollment_complete = strcmp(PQgetvalue(res, 0, 3), "pending") == 0 &&
	                         enrollment_done(r, teams);
	json_decref(teams);
}

static void
enrollment_checked(struct rv_req *r)
{
	if (!r->found) {
		rv_problem(r, 404, "no such enrollment");
		return;
	}
	r->found = 0;
	statement_store(r);
}

/* If the statement lists `old`'s name with both keys replaced (neither
 * kept by anyone), note a rotation and return 1; else 0; -1 if too many. */
static int
rotation_note(struct rv_req *r, const struct membership_member *old, int kept_rcpt, int kept_key)
{
	struct ad_ctx *c = ctx(r);
	const struct membership_member *now = membership_find(c->stmt, old->name);
	char hex[2 * RV_PK_LEN + 1];
	if (now == NULL || kept_rcpt || kept_key || membership_member_is_recovery(old) ||
	    membership_member_is_recovery(now) || (c->prev != NULL &&
	    (membership_has_key(c->prev, now->ed25519_pk) ||
	     membership_has_recipient(c->prev, now->recipient))))
		return 0;
	sodium_bin2hex(hex, sizeof(hex), now->ed25519_pk, RV_PK_LEN);
	if (rv_array_add(c->rot_old_lit, sizeof(c->rot_old_lit), old->recipient) != 0 ||
	    rv_array_add(c->rot_new_lit, sizeof(c->rot_new_lit), now->recipient) != 0 ||
	    rv_array_add(c->rot_key_lit, sizeof(c->rot_key_lit), hex) != 0)
		return -1;
	memcpy(c->rot_pks[c->n_rot++], now->ed25519_pk, RV_PK_LEN);
	return 1;
}

/* Who is in the previous head and not in `m`: their names, recipients and keys. */
static int
removed_fill(struct rv_req *r)
{
	struct ad_ctx *c = ctx(r);
	const struct membership *prev = c->prev;
	size_t n = prev != NULL ? membership_count(prev) : 0;
	if ((c->removed = json_array()) == NULL ||
	    (c->removed_pks = calloc(n + 1, RV_PK_LEN)) == NULL ||
	    (c->rot_pks = calloc(n + 1, RV_PK_LEN)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct membership_member *old = membership_member_at(prev, i);
		int kept_rcpt = 0, kept_key = 0;
		for (size_t j = 0; j < membership_count(c->stmt); j++) {
			const struct membership_member *cur = membership_member_at(c->stmt, j);
			kept_rcpt |= strcmp(cur->recipient, old->recipient) == 0;
			kept_key |= sodium_memcmp(cur->ed25519_pk, old->ed25519_pk, RV_PK_LEN) == 0;
		}
		if (kept_rcpt && kept_key)
			continue;
		char hex[2 * RV_PK_LEN + 1];
		sodium_bin2hex(hex, sizeof(hex), old->ed25519_pk, RV_PK_LEN);
		int rot = rotation_note(r, old, kept_rcpt, kept_key);
		if (rot < 0)
			return -1;
		if (rot) { /* headers kept for the re-wrap; sessions end */
			if (rv_array_add(c->ids_lit, sizeof(c->ids_lit), hex) != 0)
				return -1;
			continue;
		}
		if ((!kept_rcpt && rv_array_add(c->rcpts_lit, sizeof(c->rcpts_lit),
		                             old->recipient) != 0) ||
		    (!kept_key && rv_array_add(c->ids_lit, sizeof(c->ids_lit), hex) != 0) ||
		    json_array_append_new(c->removed, json_string(old->name)) != 0)
			return -1;
		if (!kept_key)
			memcpy(c->removed_pks[c->n_removed++], old->ed25519_pk, RV_PK_LEN);
	}
	if (c->rcpts_lit[0] == '\0')
		snprintf(c->rcpts_lit, sizeof(c->rcpts_lit), "{}");
	if (c->ids_lit[0] == '\0')
		snprintf(c->ids_lit, sizeof(c->ids_lit), "{}");
	if (c->n_rot == 0) {
		snprintf(c->rot_old_lit, sizeof(c->rot_old_lit), "{}");
		snprintf(c->rot_new_lit, sizeof(c->rot_new_lit), "{}");
		snprintf(c->rot_key_lit, sizeof(c->rot_key_lit), "{}");
	}
	return 0;
}

static void
statement_start(struct rv_req *r)
{
	static const char *const keys[] = { "statement", "enrollment", NULL };
	static const char shape[] = "send {\"statement\": signed membership statement, "
	                            "\"enrollment\": uuid (optional)}";
	struct ad_ctx *c = ctx(r);
	if (body_object(r, shape) != 0)
		return;
	const char *text = rv_str_of(c->body, "statement"), *en = rv_str_of(c->body, "enrollment");
	if (!rv_only_keys(c->body, keys) || text == NULL ||
	    (json_object_get(c->body, "enrollment") != NULL && (en == NULL || !util_uuid_valid(en)))) {
		rv_problem(r, 400, shape);
		return;
	}
	c->text = text;
	c->len = strlen(text);
	enum membership_result mr = teams_check_next(r->app->teams, text, c->len, &c->stmt, &c->prev);
	if (mr == MEMBERSHIP_OK && strcmp(membership_team(c->stmt), r->team) != 0)
		mr = MEMBERSHIP_ERR_TEAM;
	if (mr != MEMBERSHIP_OK) {
		char detail[160];
		snprintf(detail, sizeof(detail), "membership statement refused: %s",
		         membership_strerror(mr));
		rv_problem(r, mr == MEMBERSHIP_ERR_SEQUENCE || mr == MEMBERSHIP_ERR_STALE || mr == MEMBERSHIP_ERR_PREV_HASH ? 409 : 422, detail);
		return;
	}
	c->stmt_seq = membership_seq(c->stmt);
	c->stmt_count = membership_count(c->stmt);
	if (removed_fill(r) != 0) {
		rv_problem(r, 500, "out of memory");
		return;
	}
	if (en == NULL) {
		statement_store(r);
		return;
	}
	snprintf(c->enrollment, sizeof(c->enrollment), "%s", en);
	const char *v[1] = { c->enrollment };
	rv_q(r, "select recipient, encode(ed25519, 'hex'), array_to_json(teams), status "
	        "from enrollments where invite_id = $1::uuid", 1, v, NULL, NULL, enrollment_row);
	rv_run(r, enrollment_checked);
}

/* ---- labels ---- */

static void
label_row(struct rv_req *r, const PGresult *res)
{
	r->found = PQntuples(res) == 1;
}

static void
label_done(struct rv_req *r)
{
	if (r->route == RV_ADMIN_LABEL_ADD && r->found)
		rv_answer_json(r, 201, json_pack("{s:s}", "name", ctx(r)->label));
	else if (r->route == RV_ADMIN_LABEL_ADD)
		rv_problem(r, 409, "this label already exists");
	else if (r->found)
		rv_answer(r, 204, NULL, NULL, 0, NULL);
	else
		rv_problem(r, 404, "no such label");
}

static void
label_start(struct rv_req *r)
{
	struct ad_ctx *c = ctx(r);
	static const char *const keys[] = { "name", NULL };
	if (r->route == RV_ADMIN_LABEL_ADD) {
		if (body_object(r, "send {\"name\": label}") != 0)
			return;
		const char *name = rv_str_of(c->body, "name");
		if (!rv_only_keys(c->body, keys) || name == NULL || !rv_label_valid(name)) {
			rv_problem(r, 422, "a label is 1 to 64 of a-z, 0-9, '.', '_', '-', starting "
			                   "with a letter or digit");
			return;
		}
		snprintf(c->label, sizeof(c->label), "%s", name);
	} else {
		snprintf(c->label, sizeof(c->label), "%s", r->label);
	}
	const char *v[1] = { c->label };
	int add = r->route == RV_ADMIN_LABEL_ADD;
	/* before the change: written only if there is a change to make */
	rv_audit_label_when(r, add ? AUDIT_LABEL_ADD : AUDIT_LABEL_REMOVE, c->label,
	                    add ? "not exists (select 1 from labels where name = $2)"
	                        : "exists (select 1 from labels where name = $2)", c->label);
	if (add)
		rv_q(r, "insert into labels (name) values ($1) on conflict do nothing returning name",
		     1, v, NULL, NULL, label_row);
	else
		rv_q(r, "delete from labels where name = $1 returning name", 1, v, NULL, NULL, label_row);
	rv_run(r, label_done);
}

/* ---- the routes (review.c's table) ---- */

static void
ad_ctx_free(void *p)
{
	struct ad_ctx *c = p;
	json_decref(c->body);
	json_decref(c->teams);
	json_decref(c->removed);
	membership_free(c->stmt);
	membership_free(c->prev);
	free(c->removed_pks);
	free(c->rot_pks);
}

#define AD_OPS(name, fn)                                                                      \
	const struct rv_ops name = { .start = fn, .ctx_size = sizeof(struct ad_ctx),             \
		                     .ctx_free = ad_ctx_free }
AD_OPS(rv_enroll_ops, enroll_start);
AD_OPS(rv_invite_ops, invite_start);
AD_OPS(rv_enrollments_ops, pending_start);
AD_OPS(rv_admin_teams_ops, teams_start);
AD_OPS(rv_reject_ops, reject_start);
AD_OPS(rv_statement_ops, statement_start);
AD_OPS(rv_label_ops, label_start);
