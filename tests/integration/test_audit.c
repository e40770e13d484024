/*
 * The audit log against the real tipd and PostgreSQL: actions produce
 * entries in the same transaction (login, list, fetch, patch, logout), the
 * entries hold no report content, every leaf is SHA-256(0x00 || entry), the
 * signed checkpoint verifies with the audit key tipd made and matches the
 * leaves, inclusion and consistency proofs verify with merkle.c, bad
 * parameters get 400, a member of one team does not read another team's
 * entries, the tables reject UPDATE/DELETE/TRUNCATE for the app role, the
 * owner and a superuser, and `tipctl audit verify` passes on an honest log
 * and fails loudly on a rewritten or rolled-back one.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "identity.h"
#include "it_common.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

typedef uint8_t hash_t[MERKLE_HASH_LEN];

static struct th T;
static char bob_identity[TH_PATH];
static struct note_verifier *V;


/* The verifier of the audit key tipd made in its state directory. */
static struct note_verifier *
audit_verifier(void)
{
	char path[TH_PATH + 32];
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/state/audit.key", T.dir);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "tipd made no audit key");
	cr_assert_eq(st.st_mode & 0777, 0600, "the audit key is not mode 0600");
	char *text = util_read_file(path, 4096, &n);
	cr_assert_not_null(text);
	while (n > 0 && text[n - 1] == '\n')
		n--;
	struct note_signer *s = note_signer_parse(text, n);
	cr_assert_not_null(s);
	struct note_verifier *v = note_signer_verifier(s);
	cr_assert_not_null(v);
	cr_assert_str_eq(note_verifier_name(v), "tipline-review.test/audit");
	note_signer_free(s);
	sodium_memzero(text, n);
	free(text);
	return v;
}

/* Entries the set-up wrote, before any test's own. */
static long B;

static void
setup(void)
{
	th_setup(&T);
	snprintf(T.review_conf, sizeof(T.review_conf),
	         "[audit]\ncheckpoint_entries = 1\ncheckpoint_interval_s = 1\n[review]\n");
	th_write_conf(&T);
	it_make_other_team(&T, bob_identity, sizeof(bob_identity));
	th_start(&T);
	V = audit_verifier();
	/* `tipd membership add` (the harness's team and "other") is audited too */
	B = th_count(&T, "select count(*) from audit_entries");
	cr_assert_eq(B, 2);
}

static void
teardown(void)
{
	note_verifier_free(V);
	V = NULL;
	th_teardown(&T);
}

TestSuite(audit, .init = setup, .fini = teardown, .timeout = 240);

/* Call the review API; return the status, the JSON answer in *doc (may be NULL). */
static int
call(const char *method, const char *path, const char *token, const char *body, json_t **doc)
{
	struct buf resp;
	json_error_t e;
	buf_init(&resp, 1 << 24);
	int st = th_review(&T, method, path, token, body, &resp);
	if (doc != NULL)
		*doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
	buf_free(&resp);
	return st;
}

static json_t *
get_ok(const char *path, const char *token)
{
	json_t *doc = NULL;
	int st = call("GET", path, token, NULL, &doc);
	cr_assert_eq(st, 200, "GET %s answered %d", path, st);
	cr_assert_not_null(doc);
	return doc;
}

static void
submit(const char *team)
{
	char body[2048];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	snprintf(body, sizeof(body), "{\"team\":\"%s\",\"language\":\"en\",\"answers\":%s}", team,
	         IT_ANSWERS);
	cr_assert_eq(it_post_json(&T, 0, body, &resp), 201, "%s", buf_cstr(&resp));
	buf_free(&resp);
}

static void
report_of(const char *team, char id[37])
{
	char sql[128];
	snprintf(sql, sizeof(sql), "select id from reports where team_id = '%s'", team);
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, sql);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
	snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

/* The hex SHA-256 of the Ed25519 key of the identity at `path`. */
static void
actor_of(const char *path, char hex[65])
{
	struct identity *id = NULL;
	uint8_t h[32];
	cr_assert_eq(identity_load(path, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id), IDENTITY_OK);
	crypto_hash_sha256(h, identity_ed25519_pk(id), 32);
	util_hex(h, 32, hex);
	identity_free(id);
}

/* Fetch and verify the checkpoint until it covers at least `n` entries. */
static struct checkpoint
wait_checkpoint(uint64_t n)
{
	struct checkpoint cp = { 0 };
	for (int i = 0; i < 150; i++) {
		PGconn *c = th_db(&T);
		PGresult *r = PQexec(c, "select note from audit_checkpoints order by size desc limit 1");
		int have = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		if (have) {
			cr_assert_eq(checkpoint_open(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), V,
			                             NULL, &cp), NOTE_OK, "a stored checkpoint does not verify");
		}
		PQclear(r);
		PQfinish(c);
		if (have && cp.size >= n)
			return cp;
		usleep(100000);
	}
	cr_assert_fail("no checkpoint of %llu entries was signed", (unsigned long long)n);
	return cp;
}

/* All entries as stored, checking each leaf hash; returns the count. */
static long
check_entries(const char *must_not_contain, struct buf *all)
{
	PGconn *c = th_db(&T);
	PGresult *r = PQexecParams(c, "select idx, entry, leaf_sha256 from audit_entries order by idx",
	                           0, NULL, NULL, NULL, NULL, 1);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	long n = PQntuples(r);
	for (long i = 0; i < n; i++) {
		uint8_t want[32];
		const char *e = PQgetvalue(r, (int)i, 1);
		size_t len = (size_t)PQgetlength(r, (int)i, 1);
		merkle_leaf_hash(e, len, want);
		cr_assert_eq(PQgetlength(r, (int)i, 2), 32);
		cr_assert_eq(memcmp(want, PQgetvalue(r, (int)i, 2), 32), 0, "leaf %ld is not SHA-256(0 || entry)", i);
		cr_assert(memmem(e, len, must_not_contain, strlen(must_not_contain)) == NULL,
		          "entry %ld holds report content", i);
		for (size_t k = 0; k < len; k++)
			cr_assert(e[k] >= 0x20 && e[k] <= 0x7e, "entry %ld is not one printable line", i);
		cr_assert_eq(buf_add(all, e, len), 0);
		cr_assert_eq(buf_adds(all, "\n"), 0);
	}
	PQclear(r);
	PQfinish(c);
	cr_assert_not_null(buf_cstr(all));
	return n;
}

static int
has_line(const char *all, const char *action, const char *actor, const char *team, const char *obj)
{
	char want[256];
	snprintf(want, sizeof(want), " %s %s %s %s -\n", action, actor, team, obj);
	return strstr(all, want) != NULL;
}

Test(audit, actions_are_logged_without_content_and_the_tree_verifies)
{
	char alice_tok[64], bob_tok[64], alice[65], bob[65], demo_id[37], other_id[37], path[256];
	submit("demo");
	submit("other");
	cr_assert_eq(th_wait_reports(&T, 2, 10000), 2);
	report_of("demo", demo_id);
	report_of("other", other_id);
	actor_of(T.identity, alice);
	actor_of(bob_identity, bob);

	cr_assert_eq(th_review_login(&T, T.identity, alice_tok), 200);
	cr_assert_eq(th_review_login(&T, bob_identity, bob_tok), 200);
	json_decref(get_ok("/api/v1/reports", alice_tok));
	snprintf(path, sizeof(path), "/api/v1/reports/%s", demo_id);
	json_decref(get_ok(path, alice_tok));
	cr_assert_eq(call("PATCH", path, alice_tok, "{\"status\":\"triaged\"}", NULL), 200);
	/* a failed PATCH (422) changes nothing and logs nothing */
	long before = th_count(&T, "select count(*) from audit_entries");
	cr_assert_eq(call("PATCH", path, alice_tok, "{\"status\":\"bogus\"}", NULL), 422);
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), before);
	snprintf(path, sizeof(path), "/api/v1/reports/%s", other_id);
	json_decref(get_ok(path, bob_tok));
	/* alice probing the other team's report: 404, and logged with that team */
	cr_assert_eq(call("GET", path, alice_tok, NULL, NULL), 404);
	cr_assert_eq(call("POST", "/api/v1/logout", alice_tok, NULL, NULL), 204);

	struct buf all;
	buf_init(&all, 1 << 20);
	long n = check_entries("They took our passports", &all);
	const char *a = buf_cstr(&all);
	cr_assert(has_line(a, "login", alice, "-", "-"), "%s", a);
	cr_assert(has_line(a, "login", bob, "-", "-"), "%s", a);
	cr_assert(has_line(a, "report_list", alice, "-", "-"), "%s", a);
	cr_assert(has_line(a, "report_fetch", alice, "demo", demo_id), "%s", a);
	cr_assert(has_line(a, "report_patch", alice, "demo", demo_id), "%s", a);
	cr_assert(has_line(a, "report_fetch", bob, "other", other_id), "%s", a);
	cr_assert(has_line(a, "report_fetch", alice, "other", other_id), "%s", a);
	cr_assert(has_line(a, "logout", alice, "-", "-"), "%s", a);
	cr_assert_eq(n, B + 8, "%s", a);
	cr_assert(strstr(a, "bogus") == NULL && strstr(a, "127.0.0.1") == NULL);
	buf_free(&all);

	/* The signed checkpoint covers every entry and matches the leaves the API serves. */
	struct checkpoint cp = wait_checkpoint((uint64_t)n);
	cr_assert_eq(cp.size, (uint64_t)n);
	json_t *doc = get_ok("/api/v1/audit/leaves?start=0&end=1000", bob_tok);
	cr_assert_eq(json_integer_value(json_object_get(doc, "size")), n);
	json_t *arr = json_object_get(doc, "leaves");
	cr_assert_eq(json_array_size(arr), (size_t)n);
	hash_t leaves[16], root;
	for (long i = 0; i < n; i++) {
		size_t len = 0;
		const char *s = json_string_value(json_array_get(arr, (size_t)i));
		cr_assert(s != NULL && util_base64_decode(s, strlen(s), leaves[i], 32, &len,
		                                          sodium_base64_VARIANT_ORIGINAL) == 0 && len == 32);
	}
	json_decref(doc);
	merkle_root((const hash_t *)leaves, (uint64_t)n, root);
	cr_assert_eq(memcmp(root, cp.root, 32), 0, "the leaves do not hash to the signed root");

	/* The binary route serves the same leaves, 32 bytes each; a range past
	 * the end is cut short; a range over the maximum is refused. */
	struct buf raw;
	buf_init(&raw, 1 << 20);
	cr_assert_eq(th_review(&T, "GET", "/api/v1/audit/leaves/raw?start=0&end=1000", bob_tok, NULL,
	                       &raw), 200);
	cr_assert_eq(raw.len, (size_t)n * 32, "%zu bytes for %ld leaves", raw.len, n);
	cr_assert_eq(memcmp(raw.data, leaves, raw.len), 0, "the raw leaves differ from the JSON ones");
	buf_reset(&raw);
	snprintf(path, sizeof(path), "/api/v1/audit/leaves/raw?start=%ld", n - 1);
	cr_assert_eq(th_review(&T, "GET", path, bob_tok, NULL, &raw), 200);
	cr_assert_eq(raw.len, 32);
	cr_assert_eq(memcmp(raw.data, leaves[n - 1], 32), 0);
	buf_reset(&raw);
	snprintf(path, sizeof(path), "/api/v1/audit/leaves/raw?start=%ld", n + 5);
	cr_assert_eq(th_review(&T, "GET", path, bob_tok, NULL, &raw), 200);
	cr_assert_eq(raw.len, 0, "no leaf past the end: an empty body");
	cr_assert_eq(th_review(&T, "GET", "/api/v1/audit/leaves/raw?start=0&end=100001", bob_tok,
	                       NULL, NULL), 400);
	cr_assert_eq(th_review(&T, "GET", "/api/v1/audit/leaves/raw?start=0&end=1", NULL, NULL,
	                       NULL), 401);
	buf_free(&raw);

	/* Inclusion of every leaf, and consistency from every older size. */
	for (long i = 0; i < n; i++) {
		hash_t proof[MERKLE_PROOF_MAX];
		snprintf(path, sizeof(path), "/api/v1/audit/proof/inclusion?index=%ld&size=%ld", i, n);
		doc = get_ok(path, bob_tok);
		json_t *p = json_object_get(doc, "proof");
		size_t k;
		json_t *h;
		json_array_foreach(p, k, h) {
			size_t len = 0;
			const char *s = json_string_value(h);
			cr_assert(util_base64_decode(s, strlen(s), proof[k], 32, &len,
			                             sodium_base64_VARIANT_ORIGINAL) == 0 && len == 32);
		}
		cr_assert_eq(merkle_inclusion_verify((uint64_t)i, (uint64_t)n, leaves[i],
		                                     (const hash_t *)proof, json_array_size(p), cp.root), 0,
		             "inclusion proof %ld does not verify", i);
		json_decref(doc);
		snprintf(path, sizeof(path), "/api/v1/audit/proof/consistency?old=%ld&new=%ld", i, n);
		doc = get_ok(path, bob_tok);
		p = json_object_get(doc, "proof");
		json_array_foreach(p, k, h) {
			size_t len = 0;
			const char *s = json_string_value(h);
			cr_assert(util_base64_decode(s, strlen(s), proof[k], 32, &len,
			                             sodium_base64_VARIANT_ORIGINAL) == 0 && len == 32);
		}
		merkle_root((const hash_t *)leaves, (uint64_t)i, root);
		cr_assert_eq(merkle_consistency_verify((uint64_t)i, (uint64_t)n, root, cp.root,
		                                       (const hash_t *)proof, json_array_size(p)), 0,
		             "consistency proof %ld -> %ld does not verify", i, n);
		json_decref(doc);
	}
}

/* A restarted tipd reads the whole log back before it signs again. The
 * leaves must come in index order: ordered by their text, 10 came before 2
 * and the signer refused to sign any log of more than ten entries after a
 * restart ("the log has a gap or a bad leaf at index 2"). */
Test(audit, a_restarted_signer_reads_past_ten_entries_and_signs_again)
{
	char token[64];
	while (th_count(&T, "select count(*) from audit_entries") < 12)
		cr_assert_eq(th_review_login(&T, T.identity, token), 200);
	long n = th_count(&T, "select count(*) from audit_entries");
	wait_checkpoint((uint64_t)n);
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	th_start(&T);
	cr_assert_eq(th_review_login(&T, T.identity, token), 200);
	struct checkpoint cp = wait_checkpoint((uint64_t)n + 1);
	cr_assert_geq(cp.size, (uint64_t)n + 1);
	struct buf log;
	buf_init(&log, 1 << 20);
	it_slurp(T.log, &log);
	cr_assert_null(strstr(buf_cstr(&log), "gap or a bad leaf"), "%s", buf_cstr(&log));
	buf_free(&log);
}

Test(audit, bad_parameters_get_400_and_the_routes_need_a_session)
{
	char tok[64];
	cr_assert_eq(th_review_login(&T, T.identity, tok), 200);
	static const char *const bad[] = {
		"/api/v1/audit/leaves?start=5&end=2",
		"/api/v1/audit/leaves?start=0&end=10001",
		"/api/v1/audit/entries?start=0&end=1001",
		"/api/v1/audit/leaves?start=-1",
		"/api/v1/audit/leaves?start=1&start=2",
		"/api/v1/audit/leaves?begin=0",
		"/api/v1/audit/leaves?start=0&",
		"/api/v1/audit/entries?start=x",
		"/api/v1/audit/entries?end=0",
		"/api/v1/audit/proof/inclusion?index=1&size=1",
		"/api/v1/audit/proof/inclusion?index=0",
		"/api/v1/audit/proof/inclusion?index=0&size=99999",     /* beyond the log */
		"/api/v1/audit/proof/inclusion?index=0&size=2000000000000", /* beyond the bound */
		"/api/v1/audit/proof/consistency?old=2&new=1",
		"/api/v1/audit/proof/consistency?old=0&new=99999",
		"/api/v1/audit/proof/consistency?old=99999999999999999999&new=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = NULL;
		cr_assert_eq(call("GET", bad[i], tok, NULL, &doc), 400, "%s", bad[i]);
		cr_assert_not_null(json_object_get(doc, "detail"));
		json_decref(doc);
	}
	cr_assert_eq(call("GET", "/api/v1/audit/checkpoint", NULL, NULL, NULL), 401);
	cr_assert_eq(call("GET", "/api/v1/audit/leaves", "AAAA", NULL, NULL), 401);
	cr_assert_eq(call("POST", "/api/v1/audit/leaves", tok, NULL, NULL), 404);
	/* the empty range past the end is fine */
	json_t *doc = get_ok("/api/v1/audit/entries?start=1000&end=1001", tok);
	cr_assert_eq(json_array_size(json_object_get(doc, "entries")), 0);
	json_decref(doc);
	/* consistency old = new: an empty proof */
	doc = get_ok("/api/v1/audit/proof/consistency?old=1&new=1", tok);
	cr_assert_eq(json_array_size(json_object_get(doc, "proof")), 0);
	json_decref(doc);
}

/* Return the entry text of the i-th entry of the answer (log index B + i),
 * or NULL if hidden. */
static const char *
entry_at(json_t *doc, long i)
{
	json_t *e = json_array_get(json_object_get(doc, "entries"), (size_t)i);
	cr_assert_not_null(e, "no entry %ld", i);
	cr_assert_eq(json_integer_value(json_object_get(e, "index")), B + i); /* the pages start at B */
	cr_assert(json_is_string(json_object_get(e, "leaf")));
	return json_string_value(json_object_get(e, "entry"));
}

Test(audit, members_read_only_their_teams_entries)
{
	char alice_tok[64], bob_tok[64], demo_id[37], other_id[37], path[128];
	submit("demo");
	submit("other");
	cr_assert_eq(th_wait_reports(&T, 2, 10000), 2);
	report_of("demo", demo_id);
	report_of("other", other_id);
	cr_assert_eq(th_review_login(&T, T.identity, alice_tok), 200);   /* 0 */
	cr_assert_eq(th_review_login(&T, bob_identity, bob_tok), 200);   /* 1 */
	snprintf(path, sizeof(path), "/api/v1/reports/%s", demo_id);
	json_decref(get_ok(path, alice_tok));                             /* 2: demo */
	snprintf(path, sizeof(path), "/api/v1/reports/%s", other_id);
	json_decref(get_ok(path, bob_tok));                               /* 3: other */

	char from[64];
	snprintf(from, sizeof(from), "/api/v1/audit/entries?start=%ld", B);
	json_t *a = get_ok(from, alice_tok);
	json_t *b = get_ok(from, bob_tok);
	cr_assert_eq(json_array_size(json_object_get(a, "entries")), 4);
	/* own login: visible; the other's login: hidden */
	cr_assert_not_null(entry_at(a, 0));
	cr_assert_null(entry_at(a, 1));
	cr_assert_null(entry_at(b, 0));
	cr_assert_not_null(entry_at(b, 1));
	/* team entries: only to that team's members */
	cr_assert(entry_at(a, 2) != NULL && strstr(entry_at(a, 2), demo_id) != NULL);
	cr_assert_null(entry_at(b, 2));
	cr_assert(entry_at(b, 3) != NULL && strstr(entry_at(b, 3), other_id) != NULL);
	cr_assert_null(entry_at(a, 3));
	/* hidden entries still carry the leaf hash everyone can check */
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(a, "entries"), 3), "leaf")),
	                 json_string_value(json_object_get(json_array_get(json_object_get(b, "entries"), 3), "leaf")));
	json_decref(a);
	json_decref(b);
}

/* Run `sql` as superuser after `set role`; return the SQLSTATE ("" on success). */
static void
exec_as(const char *role, const char *sql, char state[6])
{
	char set[64];
	PGconn *c = th_db(&T);
	PGresult *r;
	if (role != NULL) {
		snprintf(set, sizeof(set), "set role %s", role);
		r = PQexec(c, set);
		cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
		PQclear(r);
	}
	r = PQexec(c, sql);
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(state, 6, "%s", PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
	                             ? "" : s != NULL ? s : "?????");
	PQclear(r);
	PQfinish(c);
}

Test(audit, the_tables_are_append_only_for_every_role)
{
	char tok[64], st[6];
	cr_assert_eq(th_review_login(&T, T.identity, tok), 200);
	(void)wait_checkpoint((uint64_t)B + 1);
	static const char *const changes[] = {
		"update audit_entries set entry = 'x'", "delete from audit_entries",
		"truncate audit_entries", "update audit_checkpoints set note = 'x'",
		"delete from audit_checkpoints", "truncate audit_checkpoints",
	};
	static const char *const roles[] = { "tipline_app", "tipline_owner", NULL };
	for (size_t r = 0; r < 3; r++) {
		for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
			exec_as(roles[r], changes[i], st);
			cr_assert_str_neq(st, "", "%s succeeded as %s", changes[i],
			                  roles[r] ? roles[r] : "superuser");
			/* 42501: the app role lacks the privilege, or the trigger refused */
			cr_assert_str_eq(st, "42501", "%s as %s: %s", changes[i], roles[r] ? roles[r] : "superuser", st);
		}
	}
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), B + 1);
	cr_assert(th_count(&T, "select count(*) from audit_checkpoints") >= 1);
	/* the app role may append and read */
	exec_as("tipline_app", "select count(*) from audit_entries", st);
	cr_assert_str_eq(st, "");
	char ins[128];
	snprintf(ins, sizeof(ins), "insert into audit_entries values (%ld, 'x', sha256('x'))", B + 1);
	exec_as("tipline_app", ins, st);
	cr_assert_str_eq(st, "");
}


/* Append `n` entries in one statement, as tipd's app role (the batch
 * routes append up to 1,024 so, a single read one). */
static void
append_as_app(int n)
{
	char sql[512], st[6];
	snprintf(sql, sizeof(sql),
	         "insert into audit_entries (idx, entry, leaf_sha256) select m.i + k, "
	         "convert_to('test ' || (m.i + k), 'UTF8'), "
	         "sha256('\\x00'::bytea || convert_to('test ' || (m.i + k), 'UTF8')) "
	         "from (select coalesce(max(idx) + 1, 0) i from audit_entries) m, "
	         "generate_series(0, %d) k",
	         n - 1);
	exec_as("tipline_app", sql, st);
	cr_assert_str_eq(st, "", "appending %d entries: SQLSTATE %s", n, st);
}

/* The subtree nodes (schema 0008, kept by 0018's statement trigger) are
 * those of the tree whatever the appends' sizes and alignment: many
 * entries in one statement complete nodes at several levels at once. */
Test(audit, batch_appends_keep_every_subtree_node)
{
	static const int sizes[] = { 1, 3, 1, 1, 37, 1, 300, 2, 1, 129, 1, 1, 1 };
	it_assert_audit_nodes(&T);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		append_as_app(sizes[i]);
		it_assert_audit_nodes(&T);
	}
}

/* ---- tipctl audit verify ---- */

static char home[TH_PATH + 16], server[64];
static struct buf out, err;

/* Run $TIPCTL with the NULL-terminated arguments; stdout in `out`, stderr in `err`. */
#define tipctl(...) it_tipctl(&T, NULL, NULL, &out, &err, __VA_ARGS__)

/* Log in with tipctl and pin the audit key in the session (as --audit-key will). */
static void
tipctl_login(int pin_key)
{
	char pin[65], sess[TH_PATH + 32];
	struct buf vt;
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	th_tls_key_hex(&T, pin);
	cr_assert_eq(tipctl("login", "--server", server, "--pin", pin, "--origin", TH_REVIEW_ORIGIN,
	                    "--identity", T.identity, "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	if (!pin_key)
		return;
	buf_init(&vt, 1024);
	cr_assert_eq(note_verifier_text(V, &vt), 0);
	snprintf(sess, sizeof(sess), "%s/session", home);
	FILE *f = fopen(sess, "a");
	cr_assert_not_null(f);
	fprintf(f, "audit_key %s\n", buf_cstr(&vt));
	fclose(f);
	buf_free(&vt);
}

static void
tipctl_setup(void)
{
	setup();
	snprintf(home, sizeof(home), "%s/tipctl-home", T.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
}

static void
tipctl_teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	teardown();
}

/* Stop tipd, run `sql` as superuser with the append-only triggers off, start again. */
static void
tamper(const char *sql)
{
	char full[1024], st[6];
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	snprintf(full, sizeof(full),
	         "alter table audit_entries disable trigger user; "
	         "alter table audit_checkpoints disable trigger user; %s; "
	         "alter table audit_entries enable trigger user; "
	         "alter table audit_checkpoints enable trigger user", sql);
	exec_as(NULL, full, st);
	cr_assert_str_eq(st, "", "tampering failed: %s", st);
	th_start(&T);
}

/* Its own suite: a test's .init/.fini run in addition to its suite's, and
 * setup() must run once. */
TestSuite(audit_tipctl, .init = tipctl_setup, .fini = tipctl_teardown, .timeout = 240);

Test(audit_tipctl, verify_passes_then_catches_a_rewrite_and_a_rollback)
{
	char state[TH_PATH + 64];
	struct stat sb;
	snprintf(state, sizeof(state), "%s/audit-checkpoint", home);
	tipctl_login(0);
	cr_assert_eq(tipctl("audit", "verify", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "no audit key pinned: log in with --audit-key") != NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("tips", "list", NULL), 0, "%s", buf_cstr(&err)); /* entry 1 */
	tipctl_login(1);                                                      /* entry 2 */
	(void)wait_checkpoint((uint64_t)B + 3);
	cr_assert_eq(tipctl("audit", "verify", NULL), 0, "%s", buf_cstr(&err));
	char want[96];
	snprintf(want, sizeof(want), "audit log verified: %ld of its %ld entries", B + 3, B + 3);
	cr_assert(strstr(buf_cstr(&out), want) != NULL, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "first verification") != NULL);
	cr_assert_eq(stat(state, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);

	/* the log grows: the next run checks the consistency proof */
	cr_assert_eq(tipctl("tips", "list", NULL), 0);
	cr_assert_eq(tipctl("tips", "list", "--status", "new", NULL), 0);
	(void)wait_checkpoint((uint64_t)B + 5);
	cr_assert_eq(tipctl("audit", "verify", NULL), 0, "%s", buf_cstr(&err));
	snprintf(want, sizeof(want), "extends the checkpoint of %ld entries", B + 3);
	cr_assert(strstr(buf_cstr(&out), want) != NULL, "%s", buf_cstr(&out));
	/* incremental: only the leaves since the remembered frontier were fetched */
	cr_assert(strstr(buf_cstr(&out), "only the entries since then were fetched") != NULL, "%s",
	          buf_cstr(&out));

	/* a remembered frontier that does not match the signed checkpoint is not
	 * trusted: every leaf is fetched again, and the log still verifies */
	char fpath[TH_PATH + 96];
	snprintf(fpath, sizeof(fpath), "%s.frontier", state);
	FILE *ff = fopen(fpath, "r+");
	cr_assert_not_null(ff, "no frontier remembered next to the checkpoint");
	char fl[256];
	cr_assert_not_null(fgets(fl, sizeof(fl), ff));
	cr_assert_not_null(fgets(fl, sizeof(fl), ff));
	long at = ftell(ff);
	cr_assert_not_null(fgets(fl, sizeof(fl), ff), "the frontier holds no subtree");
	char *sp = strchr(fl, ' ');
	cr_assert_not_null(sp);
	sp[1] = sp[1] == 'A' ? 'B' : 'A'; /* another hash, same shape */
	cr_assert_eq(fseek(ff, at, SEEK_SET), 0);
	cr_assert_eq(fputs(fl, ff) >= 0, 1);
	cr_assert_eq(fclose(ff), 0);
	cr_assert_eq(tipctl("tips", "list", NULL), 0);
	(void)wait_checkpoint((uint64_t)B + 6);
	cr_assert_eq(tipctl("audit", "verify", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "every leaf was fetched") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(tipctl("audit", "log", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "report_list") != NULL && strstr(buf_cstr(&out), "login") != NULL,
	          "%s", buf_cstr(&out));
	cr_assert_eq(tipctl("audit", "log", "--json", "--start", "1", "--count", "2", NULL), 0);
	json_error_t je;
	json_t *arr = json_loads(buf_cstr(&out), 0, &je);
	cr_assert_eq(json_array_size(arr), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(arr, 0), "index")), 1);
	json_decref(arr);
	/* by default the newest first: the last entry of the log leads */
	cr_assert_eq(tipctl("audit", "log", "--json", "--count", "2", NULL), 0);
	arr = json_loads(buf_cstr(&out), 0, &je);
	cr_assert_eq(json_array_size(arr), 2, "%s", buf_cstr(&out));
	json_int_t i0 = json_integer_value(json_object_get(json_array_get(arr, 0), "index"));
	json_int_t i1 = json_integer_value(json_object_get(json_array_get(arr, 1), "index"));
	cr_assert(i0 == i1 + 1 && i0 >= B + 4, "not newest first: %lld then %lld", (long long)i0,
	          (long long)i1);
	json_decref(arr);

	/* an operator rewrites the report_list entry and re-signs: a fork */
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "update audit_entries set entry = convert_to(replace(convert_from(entry, 'UTF8'), "
	         "'report_list', 'report_fetch'), 'UTF8') where idx = %ld; "
	         "update audit_entries set leaf_sha256 = sha256('\\x00'::bytea || entry) "
	         "where idx = %ld; delete from audit_checkpoints", B + 1, B + 1);
	tamper(sql);
	tipctl_login(1); /* tipd's port changed */
	(void)wait_checkpoint((uint64_t)B + 6);
	cr_assert_eq(tipctl("audit", "verify", NULL), 1, "a rewritten log verified: %s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&err), "ALERT") != NULL && strstr(buf_cstr(&err), "rewritten") != NULL,
	          "%s", buf_cstr(&err));

	/* ... and rolls the log back to B + 2 entries (B + 3 with the new login) */
	snprintf(sql, sizeof(sql), "delete from audit_entries where idx >= %ld; "
	         "delete from audit_checkpoints", B + 2);
	tamper(sql);
	tipctl_login(1);
	(void)wait_checkpoint((uint64_t)B + 3);
	cr_assert_eq(tipctl("audit", "verify", NULL), 1, "a rolled-back log verified: %s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&err), "ALERT: the audit log was rolled back") != NULL,
	          "%s", buf_cstr(&err));
}
