#include "review_replies.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "app.h"
#include "audit.h"
#include "http.h"
#include "log.h"
#include "membership.h"
#include "pad.h"
#include "proto.h"
#include "review_req.h"
#include "teams.h"
#include "util.h"

/* Route state of a reply or note POST, or a membership GET. */
struct rp_ctx {
	struct rv_sealed s;
	char team[MEMBERSHIP_TEAM_MAX + 1];
	char source[AGE_RECIPIENT_STR_MAX]; /* "" if the source forgot the receipt */
	int exists;
	int inserted;
};

#define B64(x) "translate(encode(" x ", 'base64'), E'\\n', '')"

/* ---- parsing ---- */

/* Decode base64 `s` into a new malloc'd buffer of at most `max` bytes.
 * Return 0, 1 if it decodes to more than `max`, or -1 if malformed. */
static int
b64_decode(const char *s, size_t slen, size_t max, uint8_t **out, size_t *n)
{
	size_t bin = 0;
	*out = NULL;
	if (slen / 4 * 3 > max + 2)
		return 1;
	uint8_t *p = malloc(slen / 4 * 3 + 3);
	if (p == NULL)
		return -1;
	if (util_base64_decode(s, slen, p, slen / 4 * 3 + 3, &bin,
	                       sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(p);
		return -1;
	}
	if (bin > max) {
		free(p);
		return 1;
	}
	*out = p;
	*n = bin;
	return 0;
}

/* Check one {"recipient", "header"} entry and add it to the literals. */
static enum rv_sealed_result
parse_header(json_t *h, struct rv_sealed *s, struct buf *rl, struct buf *hl)
{
	const char *rc = json_string_value(json_object_get(h, "recipient"));
	const char *hd = json_string_value(json_object_get(h, "header"));
	uint8_t pk[AGE_KEY_LEN], *raw = NULL;
	size_t rawn = 0, hdr_len = 0;
	int nx = 0, ns = 0, no = 0;
	if (!json_is_object(h) || json_object_size(h) != 2 || rc == NULL || hd == NULL ||
	    strlen(rc) >= sizeof(s->recipients[0]) || age_recipient_decode(rc, pk) != 0)
		return RV_SEALED_BAD;
	for (size_t i = 0; i < s->nheaders; i++)
		if (strcmp(s->recipients[i], rc) == 0)
			return RV_SEALED_BAD; /* a recipient twice */
	int d = b64_decode(hd, strlen(hd), AGE_MAX_HEADER, &raw, &rawn);
	if (d != 0)
		return d > 0 ? RV_SEALED_HEADER : RV_SEALED_BAD;
	int ok = age_header_inspect(raw, rawn, &hdr_len, &nx, &ns, &no) == AGE_OK &&
	         hdr_len == rawn && nx == 1 && ns == 0 && no == 0;
	free(raw);
	if (!ok)
		return RV_SEALED_HEADER;
	snprintf(s->recipients[s->nheaders], sizeof(s->recipients[0]), "%s", rc);
	/* base64 and age1… hold no quote, comma, brace or space: literal-safe */
	if (buf_printf(rl, "%s%s", s->nheaders ? "," : "", rc) != 0 ||
	    buf_printf(hl, "%s%s", s->nheaders ? "," : "", hd) != 0)
		return RV_SEALED_BAD;
	s->nheaders++;
	return RV_SEALED_OK;
}

static enum rv_sealed_result
parse_headers(json_t *arr, struct rv_sealed *s)
{
	struct buf rl, hl;
	size_t i;
	json_t *h;
	enum rv_sealed_result rc = RV_SEALED_OK;
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n == 0 || n > RV_REPLY_MAX_HEADERS)
		return RV_SEALED_BAD;
	if ((s->recipients = calloc(n, sizeof(*s->recipients))) == NULL)
		return RV_SEALED_BAD;
	buf_init(&rl, n * 130 + 3);
	buf_init(&hl, n * (AGE_MAX_HEADER / 3 * 4 + 8) + 3);
	if (buf_adds(&rl, "{") != 0 || buf_adds(&hl, "{") != 0)
		rc = RV_SEALED_BAD;
	json_array_foreach(arr, i, h) {
		if (rc != RV_SEALED_OK)
			break;
		rc = parse_header(h, s, &rl, &hl);
	}
	if (rc == RV_SEALED_OK && (buf_adds(&rl, "}") != 0 || buf_adds(&hl, "}") != 0 ||
	                           (s->rcpt_lit = strdup(buf_cstr(&rl))) == NULL ||
	                           (s->hdr_lit = strdup(buf_cstr(&hl))) == NULL))
		rc = RV_SEALED_BAD;
	buf_free(&rl);
	buf_free(&hl);
	return rc;
}

enum rv_sealed_result
rv_sealed_parse(const uint8_t *body, size_t len, struct rv_sealed *s)
{
	json_error_t e;
	enum rv_sealed_result rc = RV_SEALED_BAD;
	uint8_t *sig = NULL;
	size_t sign = 0;
	memset(s, 0, sizeof(*s));
	json_t *doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &e);
	const char *id = json_string_value(json_object_get(doc, "id"));
	const char *pl = json_string_value(json_object_get(doc, "payload"));
	const char *sg = json_string_value(json_object_get(doc, "signature"));
	if (!json_is_object(doc) || json_object_size(doc) != 4 || id == NULL || pl == NULL ||
	    sg == NULL || strlen(id) != 36 || !util_uuid_valid(id))
		goto out;
	memcpy(s->id, id, 37);
	int d = b64_decode(pl, strlen(pl), RV_REPLY_PAYLOAD_MAX, &s->payload, &s->payload_len);
	if (d != 0) {
		rc = d > 0 ? RV_SEALED_TOO_BIG : RV_SEALED_BAD;
		goto out;
	}
	/* tipd never sees the text, but a reply or note is a context line and
	 * JSON padded to at least the smallest text bucket (server/lib/pad.h):
	 * a payload too short to hold that is empty or not a reply at all */
	if (s->payload_len < age_payload_size(PAD_TEXT_MIN)) {
		rc = RV_SEALED_SHORT;
		goto out;
	}
	if (b64_decode(sg, strlen(sg), RV_REPLY_SIG_LEN, &sig, &sign) != 0 ||
	    sign != RV_REPLY_SIG_LEN)
		goto out;
	memcpy(s->sig, sig, RV_REPLY_SIG_LEN);
	rc = parse_headers(json_object_get(doc, "headers"), s);
out:
	free(sig);
	json_decref(doc);
	return rc;
}

void
rv_sealed_free(struct rv_sealed *s)
{
	free(s->payload);
	free(s->recipients);
	free(s->rcpt_lit);
	free(s->hdr_lit);
	memset(s, 0, sizeof(*s));
}

int
rv_sealed_verify(const struct rv_sealed *s, const char *kind, const char *rid,
                 const uint8_t pk[32])
{
	struct buf m;
	int rc = -1;
	buf_init(&m, 512);
	if (proto_sealed_sig_message(kind, s->id, rid, s->payload, s->payload_len, &m) == 0 &&
	    crypto_sign_verify_detached(s->sig, m.data, m.len, pk) == 0)
		rc = 0;
	buf_free(&m);
	return rc;
}

/* ---- POST replies / notes ---- */

static const char *
kind_of(const struct rv_req *r)
{
	return r->route == RV_REPLY ? "reply" : "note";
}

static void
post_report(struct rv_req *r, const PGresult *res)
{
	struct rp_ctx *c = r->ctx;
	uint8_t pk[AGE_KEY_LEN];
	if (PQntuples(res) != 1)
		return;
	r->found = 1;
	snprintf(c->team, sizeof(c->team), "%s", PQgetvalue(res, 0, 0));
	c->exists = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	if (!PQgetisnull(res, 0, 1)) {
		if (PQgetlength(res, 0, 1) != 64 ||
		    sodium_hex2bin(pk, sizeof(pk), PQgetvalue(res, 0, 1), 64, NULL, NULL, NULL) != 0 ||
		    age_recipient_encode(pk, c->source, sizeof(c->source)) != 0)
			db_step_mark_failed(&r->step);
	}
}

static void
post_inserted(struct rv_req *r, const PGresult *res)
{
	struct rp_ctx *c = r->ctx;
	c->inserted = PQntuples(res) > 0;
}

static void
post_done(struct rv_req *r)
{
	struct rp_ctx *c = r->ctx;
	if (!c->inserted) {
		rv_problem(r, 409, "an object with this id exists");
		return;
	}
	log_info("review: %s stored", kind_of(r));
	rv_answer_json(r, 201, json_pack("{s:s}", "id", c->s.id));
}

/* Return 1 if the headers are for exactly the team's members (and the
 * source, for a reply), else 0. */
static int
recipients_exact(struct rv_req *r)
{
	struct rp_ctx *c = r->ctx;
	const struct rv_member *ms[MEMBERSHIP_MAX_MEMBERS];
	size_t n = rv_team_members(r, c->team, ms, MEMBERSHIP_MAX_MEMBERS);
	size_t want = n + (r->route == RV_REPLY && c->source[0] != '\0');
	if (n == 0 || c->s.nheaders != want)
		return 0;
	/* the header recipients are distinct, so equal counts and inclusion suffice */
	for (size_t i = 0; i < c->s.nheaders; i++) {
		const char *h = c->s.recipients[i];
		int ok = r->route == RV_REPLY && c->source[0] != '\0' && strcmp(h, c->source) == 0;
		for (size_t j = 0; j < n && !ok; j++)
			ok = strcmp(h, ms[j]->recipient) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

static void
post_checked(struct rv_req *r)
{
	struct rp_ctx *c = r->ctx;
	if (!r->found || rv_caller_team(&r->caller, c->team) == NULL) {
		rv_problem(r, 404, "no such report");
		return;
	}
	r->found = 0;
	if (rv_sealed_verify(&c->s, kind_of(r), r->id, r->caller.ed25519) != 0) {
		rv_problem(r, 422, "the signature does not verify with your key");
		return;
	}
	if (c->exists) {
		rv_problem(r, 409, "an object with this id exists");
		return;
	}
	if (!recipients_exact(r)) {
		rv_problem(r, 422, r->route == RV_REPLY
		                   ? "send one header for each member of the team's current membership "
		                     "and one for the source"
		                   : "send one header for each member of the team's current membership "
		                     "and none for the source");
		return;
	}
	char plen[24];
	snprintf(plen, sizeof(plen), "%zu", c->s.payload_len);
	const char *v[7] = { c->s.id, r->id, (const char *)r->caller.ed25519,
		             (const char *)c->s.sig, (const char *)c->s.payload, c->s.rcpt_lit,
		             c->s.hdr_lit };
	const int lens[7] = { 0, 0, RV_PK_LEN, RV_REPLY_SIG_LEN, (int)c->s.payload_len, 0, 0 };
	const int fmts[7] = { 0, 0, 1, 1, 1, 0, 0 };
	rv_q(r, r->route == RV_REPLY
	        ? "with o as (insert into replies (id, report_id, sent_on, author_ed25519, signature, "
	          "payload) values ($1::uuid, $2::uuid, current_date, $3, $4, $5) "
	          "on conflict (id) do nothing returning id) "
	          "insert into object_headers (object_id, recipient, header) "
	          "select o.id, h.r, decode(h.h, 'base64') from o, "
	          "unnest($6::text[], $7::text[]) h(r, h) returning object_id"
	        : "with o as (insert into notes (id, report_id, sent_on, author_ed25519, signature, "
	          "payload) values ($1::uuid, $2::uuid, current_date, $3, $4, $5) "
	          "on conflict (id) do nothing returning id) "
	          "insert into object_headers (object_id, recipient, header) "
	          "select o.id, h.r, decode(h.h, 'base64') from o, "
	          "unnest($6::text[], $7::text[]) h(r, h) returning object_id",
	     7, v, lens, fmts, post_inserted);
	rv_audit(r, r->route == RV_REPLY ? AUDIT_REPLY_POST : AUDIT_NOTE_POST, c->team, c->s.id, NULL);
	rv_run(r, post_done);
}

static void
post_start(struct rv_req *r)
{
	struct rp_ctx *c = r->ctx;
	char teams[RV_MAX_TEAMS * (MEMBERSHIP_TEAM_MAX + 1) + 3];
	switch (rv_sealed_parse(r->body.data, r->body.len, &c->s)) {
	case RV_SEALED_OK: break;
	case RV_SEALED_TOO_BIG: rv_problem(r, 413, "the payload is larger than 1 MiB"); return;
	case RV_SEALED_HEADER:
		rv_problem(r, 422, "each header must be an age header with exactly one X25519 stanza");
		return;
	case RV_SEALED_SHORT:
		rv_problem(r, 422, "the payload is too short to hold a padded text (an empty reply or "
		                   "note?): nothing was stored");
		return;
	default:
		rv_problem(r, 400, "send {\"id\": uuid, \"payload\": base64, \"headers\": "
		                   "[{\"recipient\", \"header\"}], \"signature\": base64}");
		return;
	}
	size_t o = 0;
	teams[o++] = '{';
	for (size_t i = 0; i < r->caller.n; i++) {
		int w = snprintf(teams + o, sizeof(teams) - o, "%s%s", i ? "," : "",
		                 r->caller.m[i]->team);
		if (w < 0 || (size_t)w >= sizeof(teams) - o - 2)
			break;
		o += (size_t)w;
	}
	teams[o++] = '}';
	teams[o] = '\0';
	const char *v[3] = { r->id, c->s.id, teams };
	rv_q(r, "select r.team_id, encode(i.source_pk, 'hex'), "
	        "exists (select 1 from replies where id = $2::uuid) "
	        "or exists (select 1 from notes where id = $2::uuid) "
	        "or exists (select 1 from messages where id = $2::uuid) "
	        "or exists (select 1 from reports where id = $2::uuid) "
	        "or exists (select 1 from attachments where id = $2::uuid) "
	        "or exists (select 1 from object_headers where object_id = $2::uuid) "
	        "from reports r left join inboxes i on i.report_id = r.id "
	        "where r.id = $1::uuid and r.team_id = any($3::text[])",
	     3, v, NULL, NULL, post_report);
	rv_run(r, post_checked);
}

/* ---- GET membership ---- */

static void
membership_rows(struct rv_req *r, const PGresult *res)
{
	json_t *arr = json_object_get(r->out, "statements");
	for (int i = 0; arr != NULL && i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_string(PQgetvalue(res, i, 0))) != 0)
			db_step_mark_failed(&r->step);
}

static void
membership_start(struct rv_req *r)
{
	char seq[24];
	/* Members read their own teams' chains; admins every team's (to sign the next). */
	const struct membership *head = rv_team_statement(r, r->team);
	if (!r->caller.admin && (rv_caller_team(&r->caller, r->team) == NULL || head == NULL)) {
		rv_problem(r, 404, "no such team");
		return;
	}
	if (head == NULL) { /* an admin asking about a team with no statement yet */
		rv_answer_json(r, 200, json_pack("{s:[]}", "statements"));
		return;
	}
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)membership_seq(head));
	r->out = json_pack("{s:[]}", "statements");
	const char *v[2] = { r->team, seq };
	rv_q(r, "select statement from membership_statements where team_id = $1 "
	        "and seq <= $2::bigint order by seq", 2, v, NULL, NULL, membership_rows);
	rv_audit(r, AUDIT_MEMBERSHIP_FETCH, r->team, NULL, NULL);
	rv_run(r, rv_answer_out);
}

static void
rp_ctx_free(void *p)
{
	struct rp_ctx *c = p;
	rv_sealed_free(&c->s);
}

/* Replies and notes share one handler (r->route tells them apart). */
const struct rv_ops rv_sealed_ops = { .start = post_start, .ctx_size = sizeof(struct rp_ctx),
	                              .ctx_free = rp_ctx_free };
const struct rv_ops rv_membership_ops = { .start = membership_start,
	                                  .ctx_size = sizeof(struct rp_ctx),
	                                  .ctx_free = rp_ctx_free };

/* ---- GET /reports/{id}: source recipient, replies, notes, messages ---- */

static void
fetch_source(struct rv_req *r, const PGresult *res)
{
	uint8_t pk[AGE_KEY_LEN];
	char rc[AGE_RECIPIENT_STR_MAX];
	json_t *v = json_null();
	if (r->out == NULL)
		return;
	if (PQntuples(res) == 1) {
		if (PQgetlength(res, 0, 0) != 64 ||
		    sodium_hex2bin(pk, sizeof(pk), PQgetvalue(res, 0, 0), 64, NULL, NULL, NULL) != 0 ||
		    age_recipient_encode(pk, rc, sizeof(rc)) != 0) {
			db_step_mark_failed(&r->step);
			return;
		}
		v = json_string(rc);
	}
	if (json_object_set_new(r->out, "source_recipient", v) != 0)
		db_step_mark_failed(&r->step);
}

/* Rows: id, sent_on, author hex, signature, header, payload, team. */
static void
fetch_signed(struct rv_req *r, const PGresult *res, const char *key)
{
	uint8_t pk[RV_PK_LEN];
	if (r->out == NULL)
		return;
	json_t *arr = rv_out_array(r, key);
	if (arr == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		const struct rv_member *m = NULL;
		memset(pk, 0, sizeof(pk));
		if (PQgetlength(res, i, 2) == 64 &&
		    sodium_hex2bin(pk, sizeof(pk), PQgetvalue(res, i, 2), 64, NULL, NULL, NULL) == 0)
			m = rv_member_by_key(r, PQgetvalue(res, i, 6), pk);
		char pk64[sodium_base64_ENCODED_LEN(RV_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
		sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
		json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s}", "id", PQgetvalue(res, i, 0),
		                      "sent_on", PQgetvalue(res, i, 1), "author",
		                      m != NULL ? json_string(m->name) : json_null(), "author_ed25519",
		                      pk64, "signature", PQgetvalue(res, i, 3), "header",
		                      PQgetvalue(res, i, 4), "payload", PQgetvalue(res, i, 5));
		if (rv_out_append(r, arr, o) != 0)
			return;
	}
}

static void
fetch_replies(struct rv_req *r, const PGresult *res)
{
	fetch_signed(r, res, "replies");
}

static void
fetch_notes(struct rv_req *r, const PGresult *res)
{
	fetch_signed(r, res, "notes");
}

static void
fetch_messages(struct rv_req *r, const PGresult *res)
{
	if (r->out == NULL)
		return;
	json_t *arr = rv_out_array(r, "messages");
	if (arr == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", PQgetvalue(res, i, 0), "sent_on",
		                      PQgetvalue(res, i, 1), "header", PQgetvalue(res, i, 2),
		                      "payload", PQgetvalue(res, i, 3));
		if (rv_out_append(r, arr, o) != 0)
			return;
	}
}

#define VISIBLE "join unnest($2::text[], $3::text[]) v(team, recipient) on r.team_id = v.team "
#define SIGNED_SQL(table)                                                                     \
	"select o.id, o.sent_on::text, encode(o.author_ed25519, 'hex'), " B64("o.signature")   \
	", " B64("h.header") ", " B64("o.payload") ", r.team_id from " table " o "              \
	"join reports r on r.id = o.report_id " VISIBLE                                       \
	"join object_headers h on h.object_id = o.id and h.recipient = v.recipient "          \
	"where o.report_id = $1::uuid order by o.sent_on, o.id"

void
rv_replies_fetch(struct rv_req *r, const char *teams, const char *rcpts)
{
	const char *v[3] = { r->id, teams, rcpts };
	rv_q_ex(r, "select encode(source_pk, 'hex') from inboxes where report_id = $1::uuid", 1, v,
	     NULL, NULL, DB_Q_CACHED, fetch_source);
	rv_q_ex(r, SIGNED_SQL("replies"), 3, v, NULL, NULL, DB_Q_CACHED, fetch_replies);
	rv_q_ex(r, SIGNED_SQL("notes"), 3, v, NULL, NULL, DB_Q_CACHED, fetch_notes);
	rv_q_ex(r, "select m.id, m.sent_on::text, " B64("h.header") ", " B64("m.payload")
	        " from messages m join reports r on r.id = m.report_id " VISIBLE
	        "join object_headers h on h.object_id = m.id and h.recipient = v.recipient "
	        "where m.report_id = $1::uuid order by m.sent_on, m.id",
	     3, v, NULL, NULL, DB_Q_CACHED, fetch_messages);
}
