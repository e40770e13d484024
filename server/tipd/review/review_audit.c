#include "review_audit.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "http.h"
#include "log.h"
#include "merkle.h"
#include "review_req.h"
#include "util.h"

int
rv_audit_query(const char *q, const char *const *keys, unsigned long long *vals, int *seen, int n)
{
	const char *p = q;
	for (int i = 0; i < n; i++)
		seen[i] = 0;
	while (*p != '\0') {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		char v[24];
		uint64_t x;
		int k;
		if (eq == NULL || (size_t)(p + len - eq - 1) >= sizeof(v))
			return -1;
		for (k = 0; k < n; k++)
			if (strlen(keys[k]) == (size_t)(eq - p) && memcmp(p, keys[k], (size_t)(eq - p)) == 0)
				break;
		if (k == n || seen[k])
			return -1;
		memcpy(v, eq + 1, (size_t)(p + len - eq - 1));
		v[p + len - eq - 1] = '\0';
		if (util_parse_u64(v, INT64_MAX, &x) != 0)
			return -1;
		vals[k] = x;
		seen[k] = 1;
		p += len;
		if (*p == '&' && *++p == '\0')
			return -1; /* a trailing '&' */
	}
	return 0;
}

static json_t *
b64(const uint8_t h[MERKLE_HASH_LEN])
{
	char s[sodium_base64_ENCODED_LEN(MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(s, sizeof(s), h, MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
	return json_string(s);
}

/* Decode a hex leaf hash column. Return 0, or -1. */
static int
leaf_of(const PGresult *res, int row, int col, uint8_t out[MERKLE_HASH_LEN])
{
	return PQgetlength(res, row, col) == 2 * MERKLE_HASH_LEN &&
	       sodium_hex2bin(out, MERKLE_HASH_LEN, PQgetvalue(res, row, col), 2 * MERKLE_HASH_LEN,
	                      NULL, NULL, NULL) == 0 ? 0 : -1;
}

static unsigned long long
out_u64(struct rv_req *r, const char *key)
{
	return (unsigned long long)json_integer_value(json_object_get(r->out, key));
}

/* ---- checkpoint ---- */

static void
checkpoint_row(struct rv_req *r, const PGresult *res)
{
	if (PQntuples(res) != 1)
		return;
	r->out = json_stringn(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	r->found = r->out != NULL;
}

static void
checkpoint_done(struct rv_req *r)
{
	if (!r->found) {
		rv_problem(r, 503, "no checkpoint has been signed yet; try again shortly");
		return;
	}
	rv_answer(r, 200, "text/plain; charset=utf-8", json_string_value(r->out),
	          json_string_length(r->out), NULL);
}

static void
checkpoint_start(struct rv_req *r)
{
	rv_q(r, "select note from audit_checkpoints order by size desc limit 1", 0, NULL, NULL, NULL,
	     checkpoint_row);
	rv_run(r, checkpoint_done);
}

/* ---- leaves and entries ---- */

static void
size_row(struct rv_req *r, const PGresult *res)
{
	uint64_t n;
	if (PQntuples(res) != 1 || util_parse_u64(PQgetvalue(res, 0, 0), INT64_MAX, &n) != 0 ||
	    json_object_set_new(r->out, "size", json_integer((json_int_t)n)) != 0)
		db_step_mark_failed(&r->step);
}

/* Return 1 if the caller may read the entry at row `i` (columns idx, leaf, entry). */
static int
entry_visible(const struct rv_req *r, const char *entry, size_t len, const char *me)
{
	struct audit_fields f;
	if (r->caller.admin)
		return 1;
	if (audit_entry_parse(entry, len, &f) != 0)
		return 0;
	if (strcmp(f.actor, me) == 0 || strcmp(f.subject, me) == 0)
		return 1;
	return f.team[0] != '\0' && rv_caller_team(&r->caller, f.team) != NULL;
}

static int
entry_add(struct rv_req *r, json_t *arr, const PGresult *res, int i, const char *me)
{
	uint8_t leaf[MERKLE_HASH_LEN], raw[AUDIT_ENTRY_MAX];
	uint64_t idx;
	size_t len = 0;
	json_t *e = json_null();
	if (util_parse_u64(PQgetvalue(res, i, 0), INT64_MAX, &idx) != 0 || leaf_of(res, i, 1, leaf) != 0)
		return -1;
	if (PQnfields(res) == 3) {
		if (sodium_hex2bin(raw, sizeof(raw), PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2),
		                   NULL, &len, NULL) != 0)
			return -1;
		for (size_t k = 0; k < len; k++)
			if (raw[k] < 0x20 || raw[k] > 0x7e)
				return -1; /* entries are printable ASCII; never pass on anything else */
		if (entry_visible(r, (const char *)raw, len, me))
			e = json_stringn((const char *)raw, len);
	}
	json_t *o = PQnfields(res) == 3
	            ? json_pack("{s:I, s:o, s:o}", "index", (json_int_t)idx, "leaf", b64(leaf), "entry", e)
	            : b64(leaf);
	return o != NULL && json_array_append_new(arr, o) == 0 ? 0 : -1;
}

static void
range_rows(struct rv_req *r, const PGresult *res)
{
	char me[65];
	uint8_t h[crypto_hash_sha256_BYTES];
	json_t *arr = json_object_get(r->out, r->route == RV_AUDIT_LEAVES ? "leaves" : "entries");
	crypto_hash_sha256(h, r->caller.ed25519, RV_PK_LEN);
	util_hex(h, sizeof(h), me);
	for (int i = 0; i < PQntuples(res); i++)
		if (entry_add(r, arr, res, i, me) != 0) {
			db_step_mark_failed(&r->step);
			return;
		}
}

static void
range_start(struct rv_req *r)
{
	static const char *const keys[2] = { "start", "end" };
	unsigned long long v[2] = { 0, 0 };
	int seen[2];
	char s[24], e[24];
	int leaves = r->route == RV_AUDIT_LEAVES;
	/* leaf hashes are 32 bytes each: a verifier reading a long log takes more a page */
	unsigned long long max = leaves ? RV_AUDIT_LEAVES_MAX : RV_AUDIT_RANGE_MAX;
	if (rv_audit_query(http_request_query(r->req), keys, v, seen, 2) != 0 ||
	    (seen[1] && (v[1] <= v[0] || v[1] - v[0] > max))) {
		rv_problem(r, 400, leaves ? "want start and end: 0 <= start < end, at most 10000 leaves"
		                          : "want start and end: 0 <= start < end, at most 1000 entries");
		return;
	}
	if (!seen[1])
		v[1] = v[0] + max;
	r->out = json_pack("{s:I, s:[]}", "start", (json_int_t)v[0], leaves ? "leaves" : "entries");
	snprintf(s, sizeof(s), "%llu", v[0]);
	snprintf(e, sizeof(e), "%llu", v[1]);
	const char *p[2] = { s, e };
	rv_q(r, "select coalesce(max(idx) + 1, 0) from audit_entries", 0, NULL, NULL, NULL, size_row);
	rv_q(r, leaves ? "select idx, encode(leaf_sha256, 'hex') from audit_entries "
	                 "where idx >= $1::bigint and idx < $2::bigint order by idx"
	               : "select idx, encode(leaf_sha256, 'hex'), encode(entry, 'hex') from audit_entries "
	                 "where idx >= $1::bigint and idx < $2::bigint order by idx",
	     2, p, NULL, NULL, range_rows);
	rv_run(r, rv_answer_out);
}

/* ---- raw leaves ---- */

/* The raw leaves' state: the bytes and their length. */
struct raw_ctx {
	uint8_t *p;
	size_t n;
};

static void
raw_ctx_free(void *ctx)
{
	free(((struct raw_ctx *)ctx)->p);
}

/* One row per leaf, in index order, in binary form (DB_Q_BINARY): each value
 * is the 32 bytes themselves, with no hex text to decode, and no aggregate
 * to sort (PostgreSQL 15 sorts an ordered aggregate's input even when the
 * index scan delivers it in order: 100,000 leaves spilled to disk). */
static void
raw_row(struct rv_req *r, const PGresult *res)
{
	size_t n = (size_t)PQntuples(res);
	uint8_t *out;
	r->found = 1; /* no leaf in the range: an empty body */
	if (n == 0)
		return;
	if (PQfformat(res, 0) != 1 || (out = malloc(n * MERKLE_HASH_LEN)) == NULL) {
		db_step_mark_failed(&r->step);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (PQgetlength(res, (int)i, 0) != MERKLE_HASH_LEN) {
			free(out);
			db_step_mark_failed(&r->step);
			return;
		}
		memcpy(out + i * MERKLE_HASH_LEN, PQgetvalue(res, (int)i, 0), MERKLE_HASH_LEN);
	}
	((struct raw_ctx *)r->ctx)->p = out;
	((struct raw_ctx *)r->ctx)->n = n * MERKLE_HASH_LEN;
}

static void
raw_done(struct rv_req *r)
{
	const struct raw_ctx *c = r->ctx;
	rv_answer(r, 200, "application/octet-stream", c->p != NULL ? c->p : (const uint8_t *)"",
	          c->n, NULL);
}

/*
 * GET /api/v1/audit/leaves/raw?start=&end=: the leaf hashes [start, end) as
 * 32 bytes each, concatenated (fewer if the log ends first): a verifier of
 * a long log reads 32 bytes an entry, not a JSON string of base64.
 */
static void
raw_start(struct rv_req *r)
{
	static const char *const keys[2] = { "start", "end" };
	unsigned long long v[2] = { 0, 0 };
	int seen[2];
	char s[24], e[24];
	if (rv_audit_query(http_request_query(r->req), keys, v, seen, 2) != 0 ||
	    (seen[1] && (v[1] <= v[0] || v[1] - v[0] > RV_AUDIT_RAW_MAX))) {
		rv_problem(r, 400, "want start and end: 0 <= start < end, at most 100000 leaves");
		return;
	}
	if (!seen[1])
		v[1] = v[0] + RV_AUDIT_RAW_MAX;
	snprintf(s, sizeof(s), "%llu", v[0]);
	snprintf(e, sizeof(e), "%llu", v[1]);
	const char *p[2] = { s, e };
	rv_q_ex(r, "select leaf_sha256 from audit_entries "
	           "where idx >= $1::bigint and idx < $2::bigint order by idx",
	        2, p, NULL, NULL, DB_Q_BINARY, raw_row);
	rv_run(r, raw_done);
}

/* ---- proofs ----
 *
 * A proof is computed from the stored roots of complete subtrees
 * (audit_nodes, kept by a trigger as entries are appended: schema 0008),
 * never from all the leaves: a first pass of the proof algorithm only
 * collects which subtrees it needs, one query fetches those, and a second
 * pass computes the proof from them. For a tree of n leaves that is at most
 * RV_AUDIT_NODES_MAX (in practice a few hundred for n = 2^20) rows read and
 * hashes computed per request, whatever n is.
 */

static int
proof_set(json_t *out, const char *key, const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++)
		if (json_array_append_new(arr, b64(proof[i])) != 0) {
			json_decref(arr);
			return -1;
		}
	return json_object_set_new(out, key, arr);
}

struct nodeset {
	size_t n;
	uint8_t level[RV_AUDIT_NODES_MAX];
	uint64_t idx[RV_AUDIT_NODES_MAX];
	uint8_t hash[RV_AUDIT_NODES_MAX][MERKLE_HASH_LEN];
	int overflow;
};

/* First pass: note the subtree; the hash does not matter yet. */
static int
node_collect(void *arg, unsigned level, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	struct nodeset *s = arg;
	memset(out, 0, MERKLE_HASH_LEN);
	for (size_t i = 0; i < s->n; i++)
		if (s->level[i] == level && s->idx[i] == idx)
			return 0;
	if (s->n == RV_AUDIT_NODES_MAX) {
		s->overflow = 1;
		return -1;
	}
	s->level[s->n] = (uint8_t)level;
	s->idx[s->n++] = idx;
	return 0;
}

/* Second pass: the fetched subtree, or -1 if the database has none. */
static int
node_lookup(void *arg, unsigned level, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	const struct nodeset *s = arg;
	for (size_t i = 0; i < s->n; i++)
		if (s->level[i] == level && s->idx[i] == idx) {
			memcpy(out, s->hash[i], MERKLE_HASH_LEN);
			return 0;
		}
	return -1;
}

/* Run the proof of r->out's route with the subtrees `f` gives: set
 * "proof" and the roots (and "leaf") in r->out. Return 0, or -1. */
static int
proof_compute(struct rv_req *r, merkle_node_fn f, void *arg)
{
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_LEN], r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN];
	size_t n = 0;
	if (r->route == RV_AUDIT_INCLUSION) {
		uint64_t index = out_u64(r, "index"), size = out_u64(r, "size");
		if (merkle_root_nodes(f, arg, size, r2) != 0 || f(arg, 0, index, r1) != 0 ||
		    merkle_inclusion_proof_nodes(f, arg, size, index, proof, &n) != 0)
			return -1;
		return json_object_set_new(r->out, "leaf", b64(r1)) == 0 &&
		       json_object_set_new(r->out, "root", b64(r2)) == 0 &&
		       proof_set(r->out, "proof", (const uint8_t(*)[MERKLE_HASH_LEN])proof, n) == 0
		       ? 0 : -1;
	}
	uint64_t old = out_u64(r, "old"), size = out_u64(r, "new");
	if (merkle_root_nodes(f, arg, old, r1) != 0 || merkle_root_nodes(f, arg, size, r2) != 0 ||
	    merkle_consistency_proof_nodes(f, arg, old, size, proof, &n) != 0)
		return -1;
	return json_object_set_new(r->out, "old_root", b64(r1)) == 0 &&
	       json_object_set_new(r->out, "new_root", b64(r2)) == 0 &&
	       proof_set(r->out, "proof", (const uint8_t(*)[MERKLE_HASH_LEN])proof, n) == 0 ? 0 : -1;
}

static void
log_size_row(struct rv_req *r, const PGresult *res)
{
	uint64_t n;
	if (PQntuples(res) != 1 || util_parse_u64(PQgetvalue(res, 0, 0), INT64_MAX, &n) != 0)
		db_step_mark_failed(&r->step);
	else
		r->found = (uint64_t)json_integer_value(json_object_get(r->out, r->route ==
		            RV_AUDIT_INCLUSION ? "size" : "new")) <= n ? 1 : 0;
}

static void
nodes_rows(struct rv_req *r, const PGresult *res)
{
	if (!r->found)
		return; /* the tree asked for is larger than the log */
	struct nodeset *s = calloc(1, sizeof(*s));
	int ok = s != NULL && PQntuples(res) <= RV_AUDIT_NODES_MAX;
	for (int i = 0; ok && i < PQntuples(res); i++) {
		uint64_t lv = 0, ix = 0;
		ok = util_parse_u64(PQgetvalue(res, i, 0), 62, &lv) == 0 &&
		     util_parse_u64(PQgetvalue(res, i, 1), INT64_MAX, &ix) == 0 &&
		     (PQgetisnull(res, i, 2) || leaf_of(res, i, 2, s->hash[s->n]) == 0);
		if (ok && !PQgetisnull(res, i, 2)) {
			s->level[s->n] = (uint8_t)lv;
			s->idx[s->n++] = ix;
		}
	}
	if (!ok || proof_compute(r, node_lookup, s) != 0) {
		log_error("review: an audit proof cannot be computed from the stored subtrees");
		db_step_mark_failed(&r->step);
	}
	free(s);
}

static void
proof_done(struct rv_req *r)
{
	if (!r->found) {
		rv_problem(r, 400, "the tree size is larger than the log");
		return;
	}
	rv_answer_out(r);
}

/* Queue the query for the subtrees `s` lists, in array literals. */
static int
nodes_query(struct rv_req *r, const struct nodeset *s)
{
	struct buf lv, ix;
	int rc = -1;
	buf_init(&lv, 4 * RV_AUDIT_NODES_MAX + 4);
	buf_init(&ix, 21 * RV_AUDIT_NODES_MAX + 4);
	int bad = buf_adds(&lv, "{") != 0 || buf_adds(&ix, "{") != 0;
	for (size_t i = 0; i < s->n && !bad; i++)
		bad = buf_printf(&lv, "%s%u", i ? "," : "", (unsigned)s->level[i]) != 0 ||
		      buf_printf(&ix, "%s%llu", i ? "," : "", (unsigned long long)s->idx[i]) != 0;
	if (!bad && buf_adds(&lv, "}") == 0 && buf_adds(&ix, "}") == 0 && buf_cstr(&lv) != NULL &&
	    buf_cstr(&ix) != NULL) {
		const char *p[2] = { buf_cstr(&lv), buf_cstr(&ix) };
		rv_q(r, "select n.l, n.i, encode(case when n.l = 0 then "
		        "(select leaf_sha256 from audit_entries where idx = n.i) else "
		        "(select hash from audit_nodes where level = n.l and idx = n.i) end, 'hex') "
		        "from unnest($1::int[], $2::bigint[]) with ordinality as n(l, i, o) order by n.o",
		     2, p, NULL, NULL, nodes_rows);
		rc = 0;
	}
	buf_free(&lv);
	buf_free(&ix);
	return rc;
}

static void
proof_start(struct rv_req *r)
{
	int incl = r->route == RV_AUDIT_INCLUSION;
	static const char *const ik[2] = { "index", "size" }, *const ck[2] = { "old", "new" };
	unsigned long long v[2] = { 0, 0 };
	int seen[2];
	if (rv_audit_query(http_request_query(r->req), incl ? ik : ck, v, seen, 2) != 0 || !seen[0] ||
	    !seen[1] || v[1] > RV_AUDIT_PROOF_MAX || (incl ? v[0] >= v[1] : v[0] > v[1])) {
		rv_problem(r, 400, incl ? "want index and size: 0 <= index < size <= 2^40"
		                        : "want old and new: 0 <= old <= new <= 2^40");
		return;
	}
	r->out = json_pack("{s:I, s:I}", incl ? "index" : "old", (json_int_t)v[0],
	                   incl ? "size" : "new", (json_int_t)v[1]);
	struct nodeset *s = calloc(1, sizeof(*s));
	if (r->out == NULL || s == NULL) {
		free(s);
		rv_problem(r, 500, "out of memory");
		return;
	}
	/* the first pass fails only if it needs more than RV_AUDIT_NODES_MAX */
	int collected = proof_compute(r, node_collect, s) == 0 && !s->overflow;
	json_object_clear(r->out);
	json_object_set_new(r->out, incl ? "index" : "old", json_integer((json_int_t)v[0]));
	json_object_set_new(r->out, incl ? "size" : "new", json_integer((json_int_t)v[1]));
	if (!collected) {
		free(s);
		rv_problem(r, 500, "the proof needs too many subtrees");
		return;
	}
	rv_q(r, "select coalesce(max(idx) + 1, 0) from audit_entries", 0, NULL, NULL, NULL,
	     log_size_row);
	if (nodes_query(r, s) != 0)
		rv_fail_step(r);
	free(s);
	rv_run(r, proof_done);
}

/* ---- the routes (review.c's table) ---- */

const struct rv_ops rv_checkpoint_ops = { .start = checkpoint_start };
const struct rv_ops rv_audit_range_ops = { .start = range_start };
const struct rv_ops rv_audit_raw_ops = { .start = raw_start,
	                                    .ctx_size = sizeof(struct raw_ctx),
	                                    .ctx_free = raw_ctx_free };
const struct rv_ops rv_audit_proof_ops = { .start = proof_start };
