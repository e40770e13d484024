/*
 * The review API against the real tipd and PostgreSQL, driven the way tipctl
 * drives it: log in by signing the server's nonce with the investigator's
 * Ed25519 key (every way a login can be wrong gives 401 and no session, too
 * many failures 429), Bearer sessions (missing, garbage, idle, logged out),
 * listing with filters and a cursor, fetching a report and an attachment
 * that Debian's `age -d` opens, another team's reports staying invisible,
 * and triage with PATCH (every bad value refused and nothing changed).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "identity.h"
#include "it_common.h"
#include "pad.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(review, .init = setup, .fini = teardown, .timeout = 180);

/* ---- helpers ---- */

static struct identity *
alice(void)
{
	struct identity *id = NULL;
	cr_assert_eq(identity_load(T.identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id),
	             IDENTITY_OK);
	return id;
}

static void
login_as(char token[64], const char *identity)
{
	cr_assert_eq(th_review_login(&T, identity, token), 200, "login failed");
}

/* Call the API and parse a JSON answer (NULL if the body is not JSON). */
static json_t *
call(const char *method, const char *path, const char *token, const char *body, int *status)
{
	struct buf resp;
	json_error_t e;
	buf_init(&resp, 1 << 26);
	*status = th_review(&T, method, path, token, body, &resp);
	json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
	buf_free(&resp);
	return doc;
}

static json_t *
get_ok(const char *path, const char *token)
{
	int st;
	json_t *doc = call("GET", path, token, NULL, &st);
	cr_assert_eq(st, 200, "GET %s answered %d", path, st);
	cr_assert_not_null(doc);
	return doc;
}

/* POST a login body; assert 401 with problem `code` and `sessions` sessions. */
static void
login_fails_with(const char *body, long sessions, const char *code, const char *why)
{
	int st;
	json_t *doc = call("POST", "/api/v1/login", NULL, body, &st);
	cr_assert_eq(st, 401, "%s: login answered %d", why, st);
	const char *got = json_string_value(json_object_get(doc, "code"));
	cr_assert(got != NULL && strcmp(got, code) == 0, "%s: code %s, want %s", why,
	          got ? got : "(none)", code);
	if (strcmp(code, "login_failed") == 0)
		cr_assert_str_eq(json_string_value(json_object_get(doc, "detail")), "login failed",
		                 "%s", why);
	json_decref(doc);
	cr_assert_eq(th_count(&T, "select count(*) from sessions"), sessions, "%s: a session", why);
}

/* POST a login body; assert 401 "login failed" and `sessions` sessions. */
static void
login_fails(const char *body, long sessions, const char *why)
{
	login_fails_with(body, sessions, "login_failed", why);
}

static long long
now(void)
{
	return (long long)time(NULL);
}

/* Submit `n` reports to `team` and wait until PostgreSQL has `total`. */
static void
submit(const char *team, int n, long total)
{
	char body[2048];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	snprintf(body, sizeof(body), "{\"team\":\"%s\",\"language\":\"en\",\"answers\":%s}", team,
	         IT_ANSWERS);
	for (int i = 0; i < n; i++) {
		buf_reset(&resp);
		cr_assert_eq(it_post_json(&T, 0, body, &resp), 201, "%s", buf_cstr(&resp));
	}
	buf_free(&resp);
	cr_assert_eq(th_wait_reports(&T, total, 10000), total);
}

/* Run `sql` as superuser and return the first value of the first row. */
static void
db_value(const char *sql, char *out, size_t n)
{
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, sql);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK,
	          "%s: %s", sql, PQerrorMessage(c));
	snprintf(out, n, "%s", PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0
	                           ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
}


/* ---- login ---- */

Test(review, login_opens_a_session_and_stores_only_the_token_hash)
{
	char token[64], pin[65], nonce[64], sql[256], hex[65];
	th_start(&T);
	struct identity *id = alice();
	th_review_nonce(&T, nonce);
	th_tls_key_hex(&T, pin);
	struct buf body;
	buf_init(&body, 4096);
	th_login_body(identity_ed25519_sk(id), identity_ed25519_pk(id), TH_REVIEW_ORIGIN, pin, nonce,
	              now(), &body);
	int st;
	json_t *doc = call("POST", "/api/v1/login", NULL, buf_cstr(&body), &st);
	cr_assert_eq(st, 200);
	const char *tok = json_string_value(json_object_get(doc, "token"));
	cr_assert(tok != NULL && strlen(tok) == 43);
	snprintf(token, sizeof(token), "%s", tok);
	cr_assert_eq(json_integer_value(json_object_get(doc, "idle_timeout")), 1800);
	json_int_t exp = json_integer_value(json_object_get(doc, "expires_at"));
	cr_assert(exp >= now() + 28800 - 5 && exp <= now() + 28800 + 5, "expires_at is not now + 8 h");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "member")), "alice");
	cr_assert_eq(json_array_size(json_object_get(doc, "teams")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(doc, "teams"), 0)), "demo");
	json_decref(doc);

	/* Only SHA-256(token bytes) is stored, bound to alice's key. */
	uint8_t raw[32], sha[32];
	cr_assert_eq(sodium_base642bin(raw, 32, token, 43, NULL, NULL, NULL,
	                               sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	crypto_hash_sha256(sha, raw, 32);
	util_hex(sha, 32, hex);
	char pkhex[65];
	util_hex(identity_ed25519_pk(id), 32, pkhex);
	snprintf(sql, sizeof(sql), "select count(*) from sessions where token_sha256 = '\\x%s' "
	                           "and ed25519 = '\\x%s'", hex, pkhex);
	cr_assert_eq(th_count(&T, sql), 1);
	cr_assert_eq(th_count(&T, "select count(*) from sessions"), 1);

	/* The session opens the routes. */
	doc = get_ok("/api/v1/labels", token);
	const char *want[] = { "duplicate", "medical", "minor", "referral-needed" };
	cr_assert_eq(json_array_size(json_object_get(doc, "labels")), 4);
	for (size_t i = 0; i < 4; i++)
		cr_assert_str_eq(json_string_value(json_array_get(json_object_get(doc, "labels"), i)),
		                 want[i]);
	json_decref(doc);
	doc = get_ok("/api/v1/questionnaire", token);
	char qpath[TH_PATH];
	json_error_t e;
	snprintf(qpath, sizeof(qpath), "%s/server/web/questionnaire.json", getenv("TIPLINE_SOURCE_DIR"));
	json_t *q = json_load_file(qpath, 0, &e);
	cr_assert(json_equal(doc, q), "the questionnaire differs from the file");
	json_decref(q);
	json_decref(doc);

	/* The same signed login cannot be replayed: the nonce is spent. */
	login_fails(buf_cstr(&body), 1, "replayed login");

	/* Nothing secret reaches the log. */
	size_t len;
	char *log = util_read_file(T.log, 1 << 24, &len);
	cr_assert_not_null(log);
	cr_assert_null(strstr(log, token), "the token is in the log");
	cr_assert_null(strstr(log, nonce), "the nonce is in the log");
	free(log);
	buf_free(&body);
	identity_free(id);
}

Test(review, wrong_signatures_keys_nonces_and_times_give_401_and_no_session)
{
	char pin[65], nonce[64], fake[64];
	uint8_t raw[32];
	th_start(&T);
	struct identity *id = alice(), *eve = identity_generate();
	th_tls_key_hex(&T, pin);
	struct buf b;
	buf_init(&b, 8192);

	/* alice's key claimed, eve's signature */
	th_review_nonce(&T, nonce);
	th_login_body(identity_ed25519_sk(eve), identity_ed25519_pk(id), TH_REVIEW_ORIGIN, pin, nonce,
	              now(), &b);
	login_fails(buf_cstr(&b), 0, "wrong key");
	/* a valid signature by a key no team lists */
	buf_reset(&b);
	th_review_nonce(&T, nonce);
	th_login_body(identity_ed25519_sk(eve), identity_ed25519_pk(eve), TH_REVIEW_ORIGIN, pin, nonce,
	              now(), &b);
	/* it proved the key, so it hears why: never enrolled */
	login_fails_with(buf_cstr(&b), 0, "not_a_member", "non-member");
	/* a nonce the server never issued */
	buf_reset(&b);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(fake, sizeof(fake), raw, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	th_login_body(identity_ed25519_sk(id), identity_ed25519_pk(id), TH_REVIEW_ORIGIN, pin, fake,
	              now(), &b);
	login_fails(buf_cstr(&b), 0, "unknown nonce");
	/* the client's clock 301 s off */
	buf_reset(&b);
	th_review_nonce(&T, nonce);
	th_login_body(identity_ed25519_sk(id), identity_ed25519_pk(id), TH_REVIEW_ORIGIN, pin, nonce,
	              now() - 301, &b);
	login_fails_with(buf_cstr(&b), 0, "clock_skew", "time skew");
	/* a failed attempt burns its nonce: a good login with it fails too */
	buf_reset(&b);
	th_login_body(identity_ed25519_sk(id), identity_ed25519_pk(id), TH_REVIEW_ORIGIN, pin, nonce,
	              now(), &b);
	login_fails(buf_cstr(&b), 0, "nonce of a failed attempt");
	/* Four failures for alice's key so far: she may still log in. */
	char token[64];
	login_as(token, T.identity);
	cr_assert_eq(th_count(&T, "select count(*) from sessions"), 1);
	buf_free(&b);
	identity_free(eve);
	identity_free(id);
}

Test(review, logins_for_another_server_or_malformed_give_401_then_429)
{
	char pin[65], nonce[64], other[65];
	th_start(&T);
	struct identity *id = alice();
	th_tls_key_hex(&T, pin);
	struct buf b;
	buf_init(&b, 16384);
	const uint8_t *sk = identity_ed25519_sk(id), *pk = identity_ed25519_pk(id);

	th_review_nonce(&T, nonce);
	th_login_body(sk, pk, "https://evil.example", pin, nonce, now(), &b);
	login_fails(buf_cstr(&b), 0, "another origin");
	buf_reset(&b);
	memcpy(other, pin, sizeof(other));
	other[0] = other[0] == '0' ? '1' : '0';
	th_review_nonce(&T, nonce);
	th_login_body(sk, pk, TH_REVIEW_ORIGIN, other, nonce, now(), &b);
	login_fails(buf_cstr(&b), 0, "another TLS key");

	/* A good body, then mangled: time as a string, an extra field, a missing
	 * signature (all name alice's key: failures 3, 4 and 5). */
	buf_reset(&b);
	th_review_nonce(&T, nonce);
	th_login_body(sk, pk, TH_REVIEW_ORIGIN, pin, nonce, now(), &b);
	char good[1024], bad[2048];
	snprintf(good, sizeof(good), "%s", buf_cstr(&b));
	char *t = strstr(good, "\"time\":");
	cr_assert_not_null(t);
	snprintf(bad, sizeof(bad), "%.*s\"time\":\"%lld\"%s", (int)(t - good), good, now(),
	         strchr(t, ','));
	login_fails(bad, 0, "time as a string");
	th_review_nonce(&T, nonce);
	buf_reset(&b);
	th_login_body(sk, pk, TH_REVIEW_ORIGIN, pin, nonce, now(), &b);
	snprintf(bad, sizeof(bad), "{\"admin\":true,%s", buf_cstr(&b) + 1);
	login_fails(bad, 0, "extra field");
	th_review_nonce(&T, nonce);
	buf_reset(&b);
	th_login_body(sk, pk, TH_REVIEW_ORIGIN, pin, nonce, now(), &b);
	snprintf(bad, sizeof(bad), "%s", buf_cstr(&b));
	*strstr(bad, ",\"signature\"") = '\0';
	cr_assert_lt(strlen(bad) + 1, sizeof(bad));
	bad[strlen(bad) + 1] = '\0';
	bad[strlen(bad)] = '}';
	login_fails(bad, 0, "missing signature");

	/* No key named: not JSON, not an object, wrong types, too large. */
	login_fails("{\"ed25519\":", 0, "truncated JSON");
	login_fails("[1,2,3]", 0, "an array");
	login_fails("{\"ed25519\":1,\"nonce\":[],\"time\":1.5,\"signature\":null}", 0, "types");
	login_fails("", 0, "empty body");
	static char big[6000];
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	login_fails(big, 0, "oversized body");

	/* Five failures for alice's key within the minute: even a good login
	 * is now refused with 429 and a Retry-After. */
	char hdr[TH_PATH + 16], url[128], crt[TH_PATH];
	th_review_nonce(&T, nonce);
	buf_reset(&b);
	th_login_body(sk, pk, TH_REVIEW_ORIGIN, pin, nonce, now(), &b);
	snprintf(hdr, sizeof(hdr), "%s/headers", T.dir);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/login", T.review_port);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	char *args[] = { "--cacert", crt, "-D", hdr, "-H", "Content-Type: application/json",
		         "--data-binary", (char *)(uintptr_t)buf_cstr(&b), url, NULL };
	cr_assert_eq(th_curl(&T, args, NULL), 429);
	size_t len;
	char *h = util_read_file(hdr, 1 << 16, &len);
	cr_assert_not_null(h);
	char *ra = strcasestr(h, "\nRetry-After: ");
	cr_assert_not_null(ra, "no Retry-After on the 429");
	long secs = strtol(ra + 14, NULL, 10);
	cr_assert(secs >= 1 && secs <= 60, "Retry-After %ld", secs);
	free(h);
	cr_assert_eq(th_count(&T, "select count(*) from sessions"), 0);
	buf_free(&b);
	identity_free(id);
}

Test(review, failed_logins_overall_are_limited_too)
{
	char pin[65], nonce[64];
	th_start(&T);
	th_tls_key_hex(&T, pin);
	/* 60 failures from 60 different (non-member) keys in the minute. */
	for (int i = 0; i < 60; i++) {
		struct identity *eve = identity_generate();
		struct buf b;
		buf_init(&b, 4096);
		th_review_nonce(&T, nonce);
		th_login_body(identity_ed25519_sk(eve), identity_ed25519_pk(eve), TH_REVIEW_ORIGIN, pin,
		              nonce, now(), &b);
		int st;
		json_decref(call("POST", "/api/v1/login", NULL, buf_cstr(&b), &st));
		cr_assert_eq(st, 401, "failure %d answered %d", i + 1, st);
		buf_free(&b);
		identity_free(eve);
	}
	char token[64];
	cr_assert_eq(th_review_login(&T, T.identity, token), 429);
	cr_assert_eq(th_count(&T, "select count(*) from sessions"), 0);
}

/* ---- sessions ---- */

static const char *const routes[][2] = {
	{ "GET", "/api/v1/reports" },
	{ "GET", "/api/v1/reports/0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11" },
	{ "PATCH", "/api/v1/reports/0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11" },
	{ "GET", "/api/v1/reports/0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11/attachments/"
	         "1b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11" },
	{ "GET", "/api/v1/labels" },
	{ "GET", "/api/v1/questionnaire" },
	{ "POST", "/api/v1/logout" },
};

static void
all_routes_401(const char *token, const char *why)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		int st;
		const char *body = strcmp(routes[i][0], "PATCH") == 0 ? "{\"status\":\"closed\"}" : NULL;
		json_t *doc = call(routes[i][0], routes[i][1], token, body, &st);
		cr_assert_eq(st, 401, "%s: %s %s answered %d", why, routes[i][0], routes[i][1], st);
		json_decref(doc);
	}
}

Test(review, every_route_needs_a_live_session)
{
	char token[64], fake[64];
	uint8_t raw[32];
	th_start(&T);
	all_routes_401(NULL, "no token");
	all_routes_401("garbage", "garbage token");
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(fake, sizeof(fake), raw, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	all_routes_401(fake, "unknown token");
	login_as(token, T.identity);
	json_decref(get_ok("/api/v1/reports", token));
	int st;
	json_decref(call("POST", "/api/v1/logout", token, NULL, &st));
	cr_assert_eq(st, 204);
	cr_assert_eq(th_count(&T, "select count(*) from sessions"), 0);
	all_routes_401(token, "after logout");
}

Test(review, sessions_end_after_the_idle_timeout)
{
	char token[64];
	snprintf(T.review_conf, sizeof(T.review_conf), "session_idle_s = 4\n");
	th_write_conf(&T);
	th_start(&T);
	login_as(token, T.identity);
	/* Use keeps it alive past the idle time from login... */
	sleep(2);
	json_decref(get_ok("/api/v1/labels", token));
	sleep(2);
	json_decref(get_ok("/api/v1/labels", token));
	/* ...idleness ends it. */
	sleep(6);
	int st;
	json_decref(call("GET", "/api/v1/labels", token, NULL, &st));
	cr_assert_eq(st, 401);
}

/* The last use of the only session, in seconds before now. */
static long
session_age(void)
{
	return th_count(&T, "select extract(epoch from now())::bigint - last_used_at from sessions");
}

static void
session_set_age(long age)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "update sessions set last_used_at = extract(epoch from now())::bigint - %ld", age);
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	cr_assert_str_eq(PQcmdTuples(r), "1");
	PQclear(r);
	PQfinish(c);
}

/* A request writes the session's last use only when it is a minute old (the
 * default idle timeout of 1,800 s / 30), so most requests commit nothing
 * but their audited action. */
Test(review, sessions_are_touched_at_most_once_a_minute)
{
	char token[64];
	th_start(&T);
	login_as(token, T.identity);
	session_set_age(30);
	json_decref(get_ok("/api/v1/reports", token));
	long age = session_age();
	cr_assert(age >= 30 && age <= 32, "a recent last use was rewritten (now %ld s old)", age);
	session_set_age(61);
	json_decref(get_ok("/api/v1/reports", token));
	cr_assert_leq(session_age(), 2, "a minute-old last use was not updated");
}

/* ---- list ---- */

/* Page through `query` with `limit`; store the ids in order. Return the count. */
static int
page_all(const char *token, const char *query, int limit, char ids[][37], int max)
{
	char path[512], cursor[128] = "";
	int n = 0, pages = 0;
	for (;;) {
		snprintf(path, sizeof(path), "/api/v1/reports?%s%slimit=%d%s%s", query, query[0] ? "&" : "",
		         limit, cursor[0] ? "&cursor=" : "", cursor);
		json_t *doc = get_ok(path, token);
		json_t *arr = json_object_get(doc, "reports");
		cr_assert(json_array_size(arr) <= (size_t)limit);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			cr_assert_lt(n, max);
			snprintf(ids[n++], 37, "%s",
			         json_string_value(json_object_get(json_array_get(arr, i), "id")));
		}
		json_t *next = json_object_get(doc, "next_cursor");
		pages++;
		if (json_is_null(next)) {
			json_decref(doc);
			break;
		}
		cr_assert(json_is_string(next));
		cr_assert_eq(json_array_size(arr), (size_t)limit, "a short page with a cursor");
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(doc);
		cr_assert_lt(pages, 20);
	}
	return n;
}

/* The ids the database lists for `where`, in the API's order. */
static int
db_ids(const char *where, char ids[][37], int max)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "select id from reports where %s order by received_on desc, id desc",
	         where);
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	int n = PQntuples(r);
	cr_assert_leq(n, max);
	for (int i = 0; i < n; i++)
		snprintf(ids[i], 37, "%s", PQgetvalue(r, i, 0));
	PQclear(r);
	PQfinish(c);
	return n;
}

static void
same_ids(const char *token, const char *query, int limit, const char *where)
{
	char got[32][37], want[32][37];
	int n = page_all(token, query, limit, got, 32);
	int m = db_ids(where, want, 32);
	cr_assert_eq(n, m, "%s: %d reports listed, %d expected", query, n, m);
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(got[i], want[i], "%s: report %d differs", query, i);
}

Test(review, list_filters_and_pages_through_a_cursor)
{
	char token[64], sql[256], bob[TH_PATH];
	it_make_other_team(&T, bob, sizeof(bob));
	th_start(&T);
	submit("demo", 7, 7);
	submit("other", 1, 8);
	/* Spread days and triage as investigators would have (superuser). */
	PGconn *c = th_db(&T);
	PQclear(PQexec(c, "update reports set received_on = received_on - "
	                  "(('x' || substr(id::text, 1, 2))::bit(8)::int % 3)"));
	PQclear(PQexec(c, "update reports set status = 'triaged', priority = 'urgent', "
	                  "assignee = 'alice', labels = '{medical,minor}' where id in "
	                  "(select id from reports where team_id = 'demo' order by id limit 3)"));
	PQclear(PQexec(c, "update reports set status = 'closed', labels = '{duplicate}' where id in "
	                  "(select id from reports where team_id = 'demo' order by id desc limit 2)"));
	PQfinish(c);
	login_as(token, T.identity);

	same_ids(token, "", 3, "team_id = 'demo'");
	same_ids(token, "", 200, "team_id = 'demo'");
	same_ids(token, "", 1, "team_id = 'demo'");
	same_ids(token, "team=demo", 2, "team_id = 'demo'");
	same_ids(token, "team=other", 5, "false");
	same_ids(token, "status=triaged", 2, "team_id = 'demo' and status = 'triaged'");
	same_ids(token, "status=closed", 5, "team_id = 'demo' and status = 'closed'");
	same_ids(token, "priority=urgent", 2, "team_id = 'demo' and priority = 'urgent'");
	same_ids(token, "priority=normal&status=new", 2,
	         "team_id = 'demo' and priority = 'normal' and status = 'new'");
	same_ids(token, "assignee=alice", 2, "team_id = 'demo' and assignee = 'alice'");
	same_ids(token, "label=minor", 2, "team_id = 'demo' and 'minor' = any(labels)");
	same_ids(token, "label=duplicate", 1, "team_id = 'demo' and 'duplicate' = any(labels)");
	char today[11], since[64], where[128];
	util_today(today);
	snprintf(since, sizeof(since), "since=%s", today);
	snprintf(where, sizeof(where), "team_id = 'demo' and received_on >= '%s'", today);
	same_ids(token, since, 2, where);

	/* A summary has every field. */
	json_t *doc = get_ok("/api/v1/reports?assignee=alice&limit=1", token);
	json_t *s = json_array_get(json_object_get(doc, "reports"), 0);
	snprintf(sql, sizeof(sql), "select count(*) from reports where id = '%s' and status = 'triaged'",
	         json_string_value(json_object_get(s, "id")));
	cr_assert_eq(th_count(&T, sql), 1);
	cr_assert_str_eq(json_string_value(json_object_get(s, "team")), "demo");
	cr_assert_str_eq(json_string_value(json_object_get(s, "priority")), "urgent");
	cr_assert_str_eq(json_string_value(json_object_get(s, "assignee")), "alice");
	cr_assert_eq(json_array_size(json_object_get(s, "labels")), 2);
	cr_assert_eq(json_integer_value(json_object_get(s, "attachments")), 0);
	const char *day = json_string_value(json_object_get(s, "received_on"));
	cr_assert(day != NULL && strlen(day) == 10 && day[4] == '-' && day[7] == '-');
	json_decref(doc);

	const char *bad[] = { "status=lost", "priority=5", "since=2024-13-01", "since=2023-02-29",
		              "since=yesterday", "limit=0", "limit=201", "limit=ten", "cursor=abc",
		              "team=Bad!", "assignee=a%20b", "label=Minor", "status=new&status=closed",
		              "colour=red", "status", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		char path[256];
		int st;
		snprintf(path, sizeof(path), "/api/v1/reports?%s", bad[i]);
		json_decref(call("GET", path, token, NULL, &st));
		cr_assert_eq(st, 400, "%s answered %d", bad[i], st);
	}
}

/* ---- fetch ---- */

/* Decode base64 `b64` and append it to file `path`. */
static void
append_b64(const char *path, const char *b64, int trunc)
{
	size_t len = strlen(b64), bin = 0;
	uint8_t *raw = malloc(len + 1);
	cr_assert_not_null(raw);
	cr_assert_eq(sodium_base642bin(raw, len, b64, len, NULL, &bin, NULL,
	                               sodium_base64_VARIANT_ORIGINAL), 0, "not base64");
	int fd = open(path, O_WRONLY | O_CREAT | (trunc ? O_TRUNC : O_APPEND), 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(util_write_all(fd, raw, bin), 0);
	close(fd);
	free(raw);
}

static int
age_decrypt(const char *path, struct buf *out)
{
	char *argv[] = { "age", "-d", "-i", T.identity_plain, (char *)(uintptr_t)path, NULL };
	return th_run(argv, NULL, 0, out);
}

/* Submit one multipart report with one `n`-byte file; return the report id. */
static void
submit_with_file(const uint8_t *data, size_t n, char id[37])
{
	char pfile[TH_PATH], preport[TH_PATH], url[128], crt[TH_PATH];
	char ffile[TH_PATH + 8], freport[TH_PATH + 32];
	snprintf(pfile, sizeof(pfile), "%s/photo.jpg", T.dir);
	snprintf(preport, sizeof(preport), "%s/report.json", T.dir);
	int fd = open(pfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(util_write_all(fd, data, n), 0);
	close(fd);
	FILE *f = fopen(preport, "w");
	fprintf(f, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":%s}", IT_ANSWERS);
	fclose(f);
	snprintf(ffile, sizeof(ffile), "file=@%s", pfile);
	snprintf(freport, sizeof(freport), "report=<%s;type=application/json", preport);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", T.source_port);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	char *args[] = { "-F", freport, "-F", ffile, url, NULL };
	cr_assert_eq(th_curl(&T, args, NULL), 201);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	it_only_report(&T, id);
}

Test(review, fetched_report_and_attachment_decrypt_with_age)
{
	enum { N = 70000 };
	static uint8_t data[N];
	char token[64], id[37], path[256], file[TH_PATH], line[160], sql[256];
	randombytes_buf(data, sizeof(data));
	th_start(&T);
	submit_with_file(data, N, id);
	login_as(token, T.identity);

	snprintf(path, sizeof(path), "/api/v1/reports/%s", id);
	json_t *doc = get_ok(path, token);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "id")), id);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "new");
	cr_assert(json_is_null(json_object_get(doc, "assignee")));
	snprintf(file, sizeof(file), "%s/fetched.age", T.dir);
	append_b64(file, json_string_value(json_object_get(doc, "header")), 1);
	append_b64(file, json_string_value(json_object_get(doc, "payload")), 0);
	struct buf pt;
	buf_init(&pt, 1 << 26);
	cr_assert_eq(age_decrypt(file, &pt), 0, "age -d failed on the fetched report");
	int n = snprintf(line, sizeof(line), "tipline/v1 report %s %s\n", id, id);
	cr_assert(pt.len > (size_t)n && memcmp(pt.data, line, (size_t)n) == 0);
	json_error_t e;
	json_t *rep = json_loadb((const char *)pt.data + n, pt.len - (size_t)n, 0, &e);
	json_t *sent = json_loads(IT_ANSWERS, 0, &e);
	cr_assert(json_equal(json_object_get(rep, "answers"), sent), "answers differ");
	json_decref(sent);

	json_t *atts = json_object_get(doc, "attachments");
	cr_assert_eq(json_array_size(atts), 1);
	json_t *a = json_array_get(atts, 0);
	const char *aid = json_string_value(json_object_get(a, "id"));
	cr_assert_str_eq(aid, json_string_value(json_object_get(
	                          json_array_get(json_object_get(rep, "attachments"), 0), "uuid")));
	snprintf(sql, sizeof(sql), "select length(payload) from attachments where id = '%s'", aid);
	cr_assert_eq(json_integer_value(json_object_get(a, "size")), th_count(&T, sql));

	/* The attachment download is a complete age file. */
	struct buf body;
	buf_init(&body, 1 << 26);
	snprintf(path, sizeof(path), "/api/v1/reports/%s/attachments/%s", id, aid);
	cr_assert_eq(th_review(&T, "GET", path, token, NULL, &body), 200);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(util_write_all(fd, body.data, body.len), 0);
	close(fd);
	buf_reset(&pt);
	cr_assert_eq(age_decrypt(file, &pt), 0, "age -d failed on the attachment");
	n = snprintf(line, sizeof(line), "tipline/v1 attachment %s %s\n", aid, id);
	cr_assert(memcmp(pt.data, line, (size_t)n) == 0, "attachment context line");
	cr_assert_eq(pt.len, (size_t)n + pad_padme(N));
	cr_assert(memcmp(pt.data + n, data, N) == 0, "attachment bytes differ");

	/* Unknown ids, a mismatched report, and a report without the caller's
	 * header are all 404. */
	int st;
	const char *missing[] = { "/api/v1/reports/0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11",
		                  "/api/v1/reports/not-a-uuid", NULL };
	for (int i = 0; missing[i] != NULL; i++) {
		json_decref(call("GET", missing[i], token, NULL, &st));
		cr_assert_eq(st, 404, "%s", missing[i]);
	}
	snprintf(path, sizeof(path), "/api/v1/reports/0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11/attachments/%s",
	         aid);
	json_decref(call("GET", path, token, NULL, &st));
	cr_assert_eq(st, 404);
	snprintf(path, sizeof(path), "/api/v1/reports/%s/attachments/%s", id, id);
	json_decref(call("GET", path, token, NULL, &st));
	cr_assert_eq(st, 404);
	PGconn *c = th_db(&T);
	PQclear(PQexec(c, "delete from object_headers"));
	PQfinish(c);
	snprintf(path, sizeof(path), "/api/v1/reports/%s", id);
	json_decref(call("GET", path, token, NULL, &st));
	cr_assert_eq(st, 404, "a report without the caller's header");
	snprintf(path, sizeof(path), "/api/v1/reports/%s/attachments/%s", id, aid);
	json_decref(call("GET", path, token, NULL, &st));
	cr_assert_eq(st, 404);
	json_decref(rep);
	json_decref(doc);
	buf_free(&pt);
	buf_free(&body);
}

Test(review, another_teams_reports_are_invisible)
{
	char token[64], btoken[64], bob[TH_PATH], path[256], demo_id[37], other_id[37];
	it_make_other_team(&T, bob, sizeof(bob));
	th_start(&T);
	submit("other", 1, 1);
	it_only_report(&T, other_id);
	submit("demo", 1, 2);
	char sql[128];
	snprintf(sql, sizeof(sql), "select id from reports where team_id = 'demo'");
	db_value(sql, demo_id, sizeof(demo_id));
	login_as(token, T.identity);
	login_as(btoken, bob);

	json_t *doc = get_ok("/api/v1/reports", token);
	cr_assert_eq(json_array_size(json_object_get(doc, "reports")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(doc, "reports"), 0), "id")), demo_id);
	json_decref(doc);
	int st;
	snprintf(path, sizeof(path), "/api/v1/reports/%s", other_id);
	json_decref(call("GET", path, token, NULL, &st));
	cr_assert_eq(st, 404, "alice sees the other team's report");
	json_decref(call("PATCH", path, token, "{\"status\":\"closed\"}", &st));
	cr_assert_eq(st, 404, "alice triages the other team's report");
	snprintf(sql, sizeof(sql), "select count(*) from reports where status = 'new'");
	cr_assert_eq(th_count(&T, sql), 2);

	/* bob sees his team's only. */
	doc = get_ok("/api/v1/reports", btoken);
	cr_assert_eq(json_array_size(json_object_get(doc, "reports")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(doc, "reports"), 0), "team")), "other");
	json_decref(doc);
	json_decref(get_ok(path, btoken));
	snprintf(path, sizeof(path), "/api/v1/reports/%s", demo_id);
	json_decref(call("GET", path, btoken, NULL, &st));
	cr_assert_eq(st, 404);
}

/* ---- PATCH ---- */

static void
row_state(const char *id, char *out, size_t n)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "select status || '|' || priority || '|' || coalesce(assignee, '-') "
	                           "|| '|' || labels::text from reports where id = '%s'", id);
	db_value(sql, out, n);
}

Test(review, patch_changes_good_values_and_refuses_bad_ones)
{
	char token[64], id[37], path[128], before[256], after[256], bob[TH_PATH];
	it_make_other_team(&T, bob, sizeof(bob)); /* bob exists, but not in demo */
	th_start(&T);
	submit("demo", 1, 1);
	it_only_report(&T, id);
	login_as(token, T.identity);
	snprintf(path, sizeof(path), "/api/v1/reports/%s", id);

	int st;
	json_t *doc = call("PATCH", path, token,
	                   "{\"status\":\"investigating\",\"priority\":\"high\",\"assignee\":\"alice\","
	                   "\"labels\":[\"medical\",\"referral-needed\"]}", &st);
	cr_assert_eq(st, 200);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "investigating");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "priority")), "high");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "assignee")), "alice");
	cr_assert_eq(json_array_size(json_object_get(doc, "labels")), 2);
	json_decref(doc);
	row_state(id, before, sizeof(before));
	cr_assert_str_eq(before, "investigating|high|alice|{medical,referral-needed}");

	struct { const char *body; int status; } bad[] = {
		{ "{\"status\":\"lost\"}", 422 },
		{ "{\"priority\":\"critical\"}", 422 },
		{ "{\"assignee\":\"bob\"}", 422 },
		{ "{\"assignee\":\"no such name!\"}", 422 },
		{ "{\"labels\":[\"nope\"]}", 422 },
		{ "{\"labels\":[\"minor\",\"minor\"]}", 422 },
		{ "{\"status\":\"closed\",\"labels\":[\"medical\",\"Bad Label\"]}", 422 },
		{ "{\"priority\":5}", 400 },
		{ "{\"status\":null}", 400 },
		{ "{\"labels\":\"medical\"}", 400 },
		{ "{\"labels\":[1]}", 400 },
		{ "{\"assignee\":[]}", 400 },
		{ "{\"team\":\"other\"}", 400 },
		{ "{\"status\":\"closed\",\"payload\":\"x\"}", 400 },
		{ "{}", 400 },
		{ "[]", 400 },
		{ "{\"status\":", 400 },
		{ "{\"status\":\"closed\",\"status\":\"new\"}", 400 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_decref(call("PATCH", path, token, bad[i].body, &st));
		cr_assert_eq(st, bad[i].status, "%s answered %d", bad[i].body, st);
		row_state(id, after, sizeof(after));
		cr_assert_str_eq(after, before, "%s changed the report", bad[i].body);
	}
	/* Unknown report. */
	json_decref(call("PATCH", "/api/v1/reports/0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11", token,
	                 "{\"status\":\"closed\"}", &st));
	cr_assert_eq(st, 404);

	/* Partial changes leave the rest; null clears the assignee. */
	doc = call("PATCH", path, token, "{\"assignee\":null,\"labels\":[]}", &st);
	cr_assert_eq(st, 200);
	cr_assert(json_is_null(json_object_get(doc, "assignee")));
	json_decref(doc);
	row_state(id, after, sizeof(after));
	cr_assert_str_eq(after, "investigating|high|-|{}");
	json_decref(call("PATCH", path, token, "{\"status\":\"closed\"}", &st));
	cr_assert_eq(st, 200);
	row_state(id, after, sizeof(after));
	cr_assert_str_eq(after, "closed|high|-|{}");
}
