/*
 * What a stranger can make the daemon do cheaply, and HTTP conformance:
 *  - a request without Host (HTTP/1.1) is refused on every listener;
 *  - a flood of login nonces does not stop a real login (nonces are
 *    stateless: an HMAC under the server's nonce key), a nonce logs in once,
 *    and an expired or forged nonce is refused;
 *  - an audit proof costs a bounded number of hashes whatever the tree size
 *    (stored subtree roots, not every leaf, per request).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "it_common.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(review_limits, .init = setup, .fini = teardown, .timeout = 240);

/* ---- Host (RFC 9112 §3.2) ---- */

/* Call `url` with curl over TLS (POST for the nonce route, else GET) with
 * the curl arguments `a1` and `a2`; return the status. */
static int
curl_get(const char *url, const char *a1, const char *a2)
{
	char crt[TH_PATH + 16];
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	int post = strstr(url, "/login/nonce") != NULL;
	char *args[] = { "--http1.1",
		         "--cacert",
		         crt,
		         "-X",
		         post ? "POST" : "GET",
		         (char *)(uintptr_t)url,
		         (char *)(uintptr_t)a1,
		         (char *)(uintptr_t)a2,
		         NULL };
	struct buf b;
	buf_init(&b, 1 << 16);
	int st = th_curl(&T, args, &b);
	buf_free(&b);
	return st;
}

/* Send `req` raw to the plain source listener; return the status. */
static int
raw(const char *req)
{
	struct buf resp;
	buf_init(&resp, 1 << 16);
	int st = th_raw(T.source_port, req, strlen(req), 5000, &resp);
	buf_free(&resp);
	return st;
}

Test(review_limits, a_request_without_host_is_refused_on_every_listener)
{
	static const char no_host[] = "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n";
	static const char two[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
				  "Connection: close\r\n\r\n";
	static const char bad[] = "GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n";
	static const char good[] =
		"GET /healthz HTTP/1.1\r\nHost: x.onion\r\nConnection: close\r\n\r\n";
	static const char v10[] = "GET /healthz HTTP/1.0\r\n\r\n";
	cr_assert_eq(raw(no_host), 400, "source: no Host");
	cr_assert_eq(raw(two), 400, "source: two Hosts");
	cr_assert_eq(raw(bad), 400, "source: bad Host");
	/* positive controls: the same request with one Host, and HTTP/1.0 without */
	cr_assert_eq(raw(good), 200);
	cr_assert_eq(raw(v10), 200);

	char url[128];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", T.source_tls_port);
	cr_assert_eq(curl_get(url, "-H", "Host:"), 400, "source TLS: no Host");
	cr_assert_eq(curl_get(url, "-H", "X-Control: 1"), 200, "source TLS with Host");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/login/nonce", T.review_port);
	cr_assert_eq(curl_get(url, "-H", "Host:"), 400, "review: no Host");
	cr_assert_eq(curl_get(url, "-H", "X-Control: 1"), 200, "review with Host");
}

/* ---- login nonces ---- */

/* Log in as the admin with `nonce` at client time `when`; return the status. */
static int
login_with(const char *nonce, long long when)
{
	uint8_t sk[64];
	char pin[65];
	struct buf body, resp;
	struct note_signer *s = it_admin_signer(&T, sk);
	note_signer_free(s);
	th_tls_key_hex(&T, pin);
	buf_init(&body, 4096);
	buf_init(&resp, 1 << 16);
	th_login_body(sk, sk + 32, TH_REVIEW_ORIGIN, pin, nonce, when, &body);
	sodium_memzero(sk, sizeof(sk));
	int st = th_review(&T, "POST", "/api/v1/login", NULL, buf_cstr(&body), &resp);
	buf_free(&body);
	buf_free(&resp);
	return st;
}

/* Ask for `n` nonces in one curl run (keep-alive); return how many got 200. */
static long
nonce_flood(long n)
{
	char cfg[TH_PATH + 16], crt[TH_PATH + 16], line[256];
	snprintf(cfg, sizeof(cfg), "%s/flood.curlrc", T.dir);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	FILE *f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "silent\nrequest = \"POST\"\ncacert = \"%s\"\nwrite-out = \"%%{http_code}\\n\"\n",
	        crt);
	snprintf(line, sizeof(line),
	         "url = \"https://127.0.0.1:%d/api/v1/login/nonce\"\n"
	         "output = \"/dev/null\"\n",
	         T.review_port);
	for (long i = 0; i < n; i++)
		cr_assert(fputs(line, f) >= 0);
	cr_assert_eq(fclose(f), 0);
	char *argv[] = { "curl", "--config", cfg, NULL };
	struct buf out;
	buf_init(&out, (size_t)n * 8 + 64);
	th_run(argv, NULL, 0, &out);
	long ok = 0;
	for (const char *p = buf_cstr(&out); p != NULL && (p = strstr(p, "200")) != NULL; p += 3)
		ok++;
	buf_free(&out);
	return ok;
}

Test(review_limits, a_nonce_flood_does_not_stop_a_real_login, .timeout = 300)
{
	char nonce[64];
	th_review_nonce(&T, nonce);    /* a real user asks first */
	long got = nonce_flood(10050); /* more than the old 10,000-slot ring */
	cr_assert_geq(got, 10050, "the flood itself failed (%ld answered)", got);
	cr_assert_eq(login_with(nonce, (long long)time(NULL)), 200,
	             "the real user's nonce was evicted by the flood");
}

/* The server's nonce key (STATE_DIR/nonce.key: 64 hex digits). */
static void
nonce_key(uint8_t key[32])
{
	char path[TH_PATH + 32];
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/state/nonce.key", T.dir);
	char *hex = util_read_file(path, 4096, &len);
	cr_assert_not_null(hex, "no nonce key at %s", path);
	cr_assert(len >= 64);
	cr_assert_eq(sodium_hex2bin(key, 32, hex, 64, NULL, NULL, NULL), 0);
	free(hex);
}

/* A nonce made as the server makes it (docs/crypto.md): issue time `t`
 * (big-endian u32), 12 random bytes, the first 16 bytes of HMAC-SHA-256
 * under `key` of "tipline/v1/nonce" || time || random; base64url. */
static void
nonce_make(const uint8_t key[32], uint32_t t, char out[64])
{
	uint8_t raw[32], mac[32];
	crypto_auth_hmacsha256_state st;
	raw[0] = (uint8_t)(t >> 24);
	raw[1] = (uint8_t)(t >> 16);
	raw[2] = (uint8_t)(t >> 8);
	raw[3] = (uint8_t)t;
	randombytes_buf(raw + 4, 12);
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)"tipline/v1/nonce", 16);
	crypto_auth_hmacsha256_update(&st, raw, 16);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(raw + 16, mac, 16);
	sodium_bin2base64(out, 64, raw, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

Test(review_limits, a_nonce_is_single_use_and_expired_or_forged_ones_are_refused)
{
	char nonce[64], forged[64];
	uint8_t key[32], other[32];
	long long now = (long long)time(NULL);
	th_review_nonce(&T, nonce);
	cr_assert_eq(login_with(nonce, now), 200);
	cr_assert_eq(login_with(nonce, now), 401, "a nonce logged in twice");

	nonce_key(key);
	/* positive control: a nonce made here the way the server makes it works */
	nonce_make(key, (uint32_t)now, forged);
	cr_assert_eq(login_with(forged, now), 200, "a well-made nonce is refused");
	/* expired: issued longer ago than its lifetime */
	nonce_make(key, (uint32_t)(now - 600), forged);
	cr_assert_eq(login_with(forged, now), 401, "an expired nonce logged in");
	/* too far in the future */
	nonce_make(key, (uint32_t)(now + 600), forged);
	cr_assert_eq(login_with(forged, now), 401, "a nonce from the future logged in");
	/* forged: under another key, or random bytes */
	randombytes_buf(other, sizeof(other));
	nonce_make(other, (uint32_t)now, forged);
	cr_assert_eq(login_with(forged, now), 401, "a nonce under another key logged in");
	uint8_t rnd[32];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(forged, sizeof(forged), rnd, sizeof(rnd),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	cr_assert_eq(login_with(forged, now), 401, "a random nonce logged in");
	sodium_memzero(key, sizeof(key));
	/* Used nonces are remembered in PostgreSQL, and only until they expire. */
	cr_assert_geq(th_count(&T, "select count(*) from login_nonces"), 2);
}

/* ---- audit proofs ---- */

#define BIG_LOG (1L << 18)

/* tipd's CPU time so far (user + system), in clock ticks. */
static long
tipd_cpu(void)
{
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)T.tipd);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *p = strrchr(text, ')'); /* after "pid (comm)" */
	long ut = 0, st = 0;
	cr_assert(p != NULL &&
	          sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) ==
	                  2);
	return ut + st;
}

/* As the superuser (who can write the database), append BIG_LOG entries at
 * once, and the subtree roots a deployment's trigger would have stored. */
static void
big_log(void)
{
	PGconn *c = th_db(&T);
	static const char *const sql[] = {
		"begin",
		"select pg_advisory_xact_lock(7461756469740001)",
		"alter table audit_entries disable trigger user",
		"insert into audit_entries (idx, entry, leaf_sha256) "
		"select m.i + g, convert_to('tipline/v1/audit 0 login operator - - -', 'UTF8'), "
		"sha256('\\x00'::bytea || convert_to('tipline/v1/audit 0 login operator - - -', "
		"'UTF8')) "
		"from (select coalesce(max(idx) + 1, 0) i from audit_entries) m, "
		"generate_series(0, 262143) g",
		"alter table audit_entries enable trigger user",
		"do $$ begin if to_regclass('audit_nodes') is not null then "
		"insert into audit_nodes select 1, e.idx / 2, sha256('\\x01'::bytea || "
		"e.leaf_sha256 || "
		"f.leaf_sha256) from audit_entries e join audit_entries f on f.idx = e.idx + 1 "
		"where e.idx % 2 = 0 on conflict do nothing; "
		"for l in 2 .. 40 loop insert into audit_nodes select l, a.idx / 2, "
		"sha256('\\x01'::bytea || a.hash || b.hash) from audit_nodes a join audit_nodes b "
		"on b.level = l - 1 and b.idx = a.idx + 1 where a.level = l - 1 and a.idx % 2 = 0 "
		"on conflict do nothing; end loop; end if; end $$",
		"commit",
	};
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		PGresult *r = PQexec(c, sql[i]);
		cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK ||
		                  PQresultStatus(r) == PGRES_TUPLES_OK,
		          "%s: %s", sql[i], PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
}

Test(review_limits, an_audit_proof_costs_a_bounded_amount_of_work, .timeout = 300)
{
	char token[64], path[160];
	struct buf resp;
	buf_init(&resp, 1 << 20);
	big_log();
	it_admin_login(&T, token);
	long before = tipd_cpu();
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/api/v1/audit/proof/%s=%ld&%s=%ld",
		         i % 2 ? "consistency?old" : "inclusion?index", (long)(i * 9973),
		         i % 2 ? "new" : "size", BIG_LOG);
		buf_reset(&resp);
		cr_assert_eq(th_review(&T, "GET", path, token, NULL, &resp), 200, "%s: %s", path,
		             buf_cstr(&resp));
	}
	long ticks = tipd_cpu() - before;
	cr_log_info("ten proofs over %ld leaves: %ld ticks of tipd's CPU", BIG_LOG, ticks);
	/* Reading and hashing all 2^18 leaves ten times takes seconds of CPU;
	 * O(log^2 n) stored subtrees take a few milliseconds. */
	cr_assert_lt(ticks, sysconf(_SC_CLK_TCK) / 5,
	             "ten proofs over %ld leaves took %ld ticks of "
	             "tipd's CPU",
	             BIG_LOG, ticks);
	/* and the proofs are right (test_audit checks them against signed
	 * checkpoints; here one against the leaves themselves) */
	PGconn *c = th_db(&T);
	PGresult *r =
		PQexec(c, "select leaf_sha256 from audit_entries where idx < 262144 order by idx");
	cr_assert_eq(PQntuples(r), BIG_LOG);
	static uint8_t leaves[1L << 18][32];
	for (long i = 0; i < BIG_LOG; i++) {
		size_t n = 0;
		uint8_t *b = PQunescapeBytea((const uint8_t *)PQgetvalue(r, (int)i, 0), &n);
		cr_assert(b != NULL && n == 32);
		memcpy(leaves[i], b, 32);
		PQfreemem(b);
	}
	PQclear(r);
	PQfinish(c);
	uint8_t root[32], got[32], proof[MERKLE_PROOF_MAX][32];
	merkle_root((const uint8_t(*)[32])leaves, BIG_LOG, root);
	snprintf(path, sizeof(path), "/api/v1/audit/proof/inclusion?index=123457&size=%ld",
	         BIG_LOG);
	buf_reset(&resp);
	cr_assert_eq(th_review(&T, "GET", path, token, NULL, &resp), 200);
	json_error_t e;
	json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
	size_t len = 0, k;
	json_t *h;
	const char *rs = json_string_value(json_object_get(doc, "root"));
	cr_assert(rs != NULL &&
	          util_base64_decode(rs, strlen(rs), got, 32, &len,
	                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
	          len == 32);
	cr_assert_eq(memcmp(root, got, 32), 0, "the root is not the leaves' root");
	json_array_foreach(json_object_get(doc, "proof"), k, h)
	{
		const char *s = json_string_value(h);
		cr_assert(util_base64_decode(s, strlen(s), proof[k], 32, &len,
		                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
		          len == 32);
	}
	cr_assert_eq(merkle_inclusion_verify(123457, BIG_LOG, leaves[123457],
	                                     (const uint8_t(*)[32])proof,
	                                     json_array_size(json_object_get(doc, "proof")), root),
	             0);
	json_decref(doc);
	buf_free(&resp);
}
