/*
 * review_auth and the parsers of review_reports: the login message and
 * body, signature checks, the nonce store, the failed-login limiter,
 * Bearer tokens, list filters and cursors, and PATCH bodies.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "review_auth.h"
#include "review_reports.h"

static void
init(void)
{
	cr_assert_geq(sodium_init(), 0);
}

TestSuite(review_auth, .init = init);

/* ---- nonces ---- */

static const uint8_t KEY[RV_NONCE_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

Test(review_auth, nonce_is_checked_without_state_by_any_holder_of_the_key)
{
	struct rv_nonces *n = rv_nonces_new(KEY), *m = rv_nonces_new(KEY);
	char a[RV_B64URL_32], b[RV_B64URL_32];
	uint8_t raw[RV_NONCE_LEN], raw2[RV_NONCE_LEN];
	int64_t exp = 0;
	cr_assert_eq(rv_nonce_issue(n, 1000, a), 0);
	cr_assert_eq(rv_nonce_issue(n, 1000, b), 0);
	cr_assert_eq(strlen(a), 43);
	cr_assert_str_neq(a, b);
	/* another review host with the same key accepts it; the check is
	 * repeatable (single use is the database's) */
	cr_assert_eq(rv_nonce_check(m, a, 1001, raw, &exp), 0);
	cr_assert_eq(exp, 1000 + RV_NONCE_TTL);
	cr_assert_eq(rv_nonce_check(n, a, 1001, raw2, &exp), 0);
	cr_assert_eq(memcmp(raw, raw2, sizeof(raw)), 0);
	/* issue time in the first four bytes, big-endian */
	cr_assert(raw[0] == 0 && raw[1] == 0 && raw[2] == 0x03 && raw[3] == 0xe8);
	rv_nonces_free(n);
	rv_nonces_free(m);
	rv_nonces_free(NULL);
}

Test(review_auth, nonce_forged_malformed_or_expired_is_refused)
{
	uint8_t other_key[RV_NONCE_KEY_LEN] = { 9 }, raw[RV_NONCE_LEN];
	struct rv_nonces *n = rv_nonces_new(KEY), *o = rv_nonces_new(other_key);
	char a[RV_B64URL_32], x[RV_B64URL_32];
	int64_t exp;
	cr_assert_eq(rv_nonce_issue(n, 1000, a), 0);
	cr_assert_eq(rv_nonce_check(o, a, 1000, raw, &exp), -1, "another key's nonce");
	for (size_t i = 0; i < 43; i++) { /* any changed character */
		memcpy(x, a, sizeof(x));
		x[i] = x[i] == 'A' ? 'B' : 'A';
		cr_assert_eq(rv_nonce_check(n, x, 1000, raw, &exp), -1, "changed at %zu", i);
	}
	cr_assert_eq(rv_nonce_check(n, "", 1000, raw, &exp), -1);
	cr_assert_eq(rv_nonce_check(n, "short", 1000, raw, &exp), -1);
	cr_assert_eq(rv_nonce_check(n, NULL, 1000, raw, &exp), -1);
	char longer[64];
	snprintf(longer, sizeof(longer), "%sAA", a);
	cr_assert_eq(rv_nonce_check(n, longer, 1000, raw, &exp), -1);
	/* valid until issue + TTL, and from a clock at most RV_NONCE_AHEAD ahead */
	cr_assert_eq(rv_nonce_check(n, a, 1000 + RV_NONCE_TTL - 1, raw, &exp), 0);
	cr_assert_eq(rv_nonce_check(n, a, 1000 + RV_NONCE_TTL, raw, &exp), -1);
	cr_assert_eq(rv_nonce_check(n, a, 1000 - RV_NONCE_AHEAD, raw, &exp), 0);
	cr_assert_eq(rv_nonce_check(n, a, 1000 - RV_NONCE_AHEAD - 1, raw, &exp), -1);
	cr_assert_eq(rv_nonce_issue(n, -1, x), -1);
	rv_nonces_free(n);
	rv_nonces_free(o);
}

/* ---- limiter ---- */

Test(review_auth, limiter_counts_failures_per_key)
{
	struct rv_limiter *l = rv_limiter_new(5, 60, 60);
	uint8_t a[32] = { 1 }, b[32] = { 2 };
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(rv_limiter_check(l, a, 100 + i), 0, "attempt %d refused", i + 1);
		rv_limiter_fail(l, a, 100 + i);
	}
	unsigned wait = rv_limiter_check(l, a, 110);
	cr_assert_eq(wait, 50, "wait %u: the oldest failure leaves the window at 160", wait);
	cr_assert_eq(rv_limiter_check(l, b, 110), 0, "another key is not limited");
	cr_assert_eq(rv_limiter_check(l, NULL, 110), 0);
	cr_assert_eq(rv_limiter_check(l, a, 160), 0, "the window slid");
	rv_limiter_fail(l, a, 160);
	cr_assert_gt(rv_limiter_check(l, a, 160), 0, "five failures in [101, 160]");
	rv_limiter_free(l);
}

Test(review_auth, limiter_counts_all_failures)
{
	struct rv_limiter *l = rv_limiter_new(5, 60, 60);
	uint8_t k[32];
	for (int i = 0; i < 60; i++) {
		memset(k, i + 1, sizeof(k));
		cr_assert_eq(rv_limiter_check(l, k, 200), 0);
		rv_limiter_fail(l, i % 2 ? k : NULL, 200);
	}
	memset(k, 99, sizeof(k));
	cr_assert_eq(rv_limiter_check(l, k, 200), 60);
	cr_assert_eq(rv_limiter_check(l, NULL, 259), 1);
	cr_assert_eq(rv_limiter_check(l, NULL, 260), 0);
	cr_assert_null(rv_limiter_new(0, 1, 1));
	rv_limiter_free(l);
}

Test(review_auth, limiter_forgets_the_longest_idle_key_when_full)
{
	struct rv_limiter *l = rv_limiter_new(1, 100000, 60);
	uint8_t k[32] = { 0 };
	/* 1025 keys, one failure each, the first one oldest. */
	for (unsigned i = 0; i <= 1024; i++) {
		memcpy(k, &i, sizeof(i));
		rv_limiter_fail(l, k, 1000 + (i == 0 ? 0 : 1));
	}
	memset(k, 0, sizeof(k));
	cr_assert_eq(rv_limiter_check(l, k, 1001), 0, "key 0 was evicted");
	unsigned last = 1024;
	memcpy(k, &last, sizeof(last));
	cr_assert_gt(rv_limiter_check(l, k, 1001), 0);
	rv_limiter_free(l);
}

/* ---- login ---- */

static void
make_body(uint8_t pk[32], uint8_t sk[64], const char *origin, const char *tls, const char *nonce,
          long long t, char *out, size_t n)
{
	char msg[512], pk64[64], sig64[128];
	uint8_t sig[64];
	int len = snprintf(msg, sizeof(msg), "tipline/v1/login\n%s\n%s\n%s\n%lld\n", origin, tls,
	                   nonce, t);
	crypto_sign_detached(sig, NULL, (uint8_t *)msg, (size_t)len, sk);
	sodium_bin2base64(pk64, sizeof(pk64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sig64, sizeof(sig64), sig, 64, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, n, "{\"ed25519\":\"%s\",\"nonce\":\"%s\",\"time\":%lld,\"signature\":\"%s\"}",
	         pk64, nonce, t, sig64);
}

static const char NONCE[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
static const char TLS[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

Test(review_auth, login_message_is_the_documented_layout)
{
	struct buf b;
	buf_init(&b, 1024);
	cr_assert_eq(rv_login_message("https://x.onion", "ab", "n", 1700000000, &b), 0);
	cr_assert_str_eq(buf_cstr(&b), "tipline/v1/login\nhttps://x.onion\nab\nn\n1700000000\n");
	buf_reset(&b);
	cr_assert_eq(rv_login_message("https://x\nevil", "ab", "n", 1, &b), -1);
	cr_assert_eq(rv_login_message("o", "ab", "n\n", 1, &b), -1);
	buf_free(&b);
}

Test(review_auth, login_signed_for_this_server_verifies)
{
	uint8_t pk[32], sk[64];
	char body[1024];
	struct rv_login l;
	crypto_sign_keypair(pk, sk);
	make_body(pk, sk, "https://a.onion", TLS, NONCE, 1700000000, body, sizeof(body));
	cr_assert_eq(rv_login_parse((uint8_t *)body, strlen(body), &l), 0);
	cr_assert_str_eq(l.nonce, NONCE);
	cr_assert_eq(l.time, 1700000000);
	cr_assert(l.have_pk && memcmp(l.pk, pk, 32) == 0);
	cr_assert_eq(rv_login_verify(&l, "https://a.onion", TLS), 0);
	cr_assert_eq(rv_login_verify(&l, "https://b.onion", TLS), -1, "another origin");
	char tls2[65];
	memcpy(tls2, TLS, sizeof(tls2));
	tls2[63] = 'e';
	cr_assert_eq(rv_login_verify(&l, "https://a.onion", tls2), -1, "another TLS key");
	l.time++;
	cr_assert_eq(rv_login_verify(&l, "https://a.onion", TLS), -1, "another time");
	l.time--;
	l.sig[0] ^= 1;
	cr_assert_eq(rv_login_verify(&l, "https://a.onion", TLS), -1, "a bad signature");
}

Test(review_auth, login_body_must_be_exact)
{
	uint8_t pk[32], sk[64];
	char good[1024], bad[1200];
	struct rv_login l;
	crypto_sign_keypair(pk, sk);
	make_body(pk, sk, "o", TLS, NONCE, 5, good, sizeof(good));
	const char *bodies[] = {
		"", "{", "[]", "null", "{}",
		"{\"ed25519\":\"AAAA\",\"nonce\":\"x\",\"time\":1,\"signature\":\"AAAA\"}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		cr_assert_eq(rv_login_parse((const uint8_t *)bodies[i], strlen(bodies[i]), &l), -1,
		             "%s", bodies[i]);
	/* An extra field: refused, but the nonce and key are known. */
	snprintf(bad, sizeof(bad), "{\"x\":1,%s", good + 1);
	cr_assert_eq(rv_login_parse((uint8_t *)bad, strlen(bad), &l), -1);
	cr_assert_str_eq(l.nonce, NONCE);
	cr_assert(l.have_pk);
	/* time as a float or a string, a duplicate key */
	char *t = strstr(good, "\"time\":5");
	snprintf(bad, sizeof(bad), "%.*s\"time\":5.0%s", (int)(t - good), good, t + 8);
	cr_assert_eq(rv_login_parse((uint8_t *)bad, strlen(bad), &l), -1);
	snprintf(bad, sizeof(bad), "%.*s\"time\":\"5\"%s", (int)(t - good), good, t + 8);
	cr_assert_eq(rv_login_parse((uint8_t *)bad, strlen(bad), &l), -1);
	snprintf(bad, sizeof(bad), "{\"time\":6,%s", good + 1);
	cr_assert_eq(rv_login_parse((uint8_t *)bad, strlen(bad), &l), -1);
	/* base64url where standard base64 is due, or a short key */
	char *k = strstr(good, "\"ed25519\":\"") + 11;
	memcpy(bad, good, sizeof(good));
	bad[k - good + 42] = '_';
	cr_assert_eq(rv_login_parse((uint8_t *)bad, strlen(bad), &l), -1);
	cr_assert_eq(rv_login_parse((uint8_t *)good, RV_LOGIN_MAX_BODY + 1, &l), -1);
	cr_assert_eq(rv_login_parse((uint8_t *)good, strlen(good), &l), 0);
}

Test(review_auth, tokens_and_bearer_headers)
{
	char text[RV_B64URL_32], hdr[80];
	uint8_t sha[32], back[32];
	rv_token_new(text, sha);
	cr_assert_eq(strlen(text), 43);
	snprintf(hdr, sizeof(hdr), "Bearer %s", text);
	cr_assert_eq(rv_bearer_parse(hdr, back), 0);
	cr_assert_eq(memcmp(sha, back, 32), 0);
	const char *bad[] = { NULL, "", "Bearer ", "bearer x", "Basic abc", "Bearer abc",
		              "Bearer  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(rv_bearer_parse(bad[i], back), -1, "%s", bad[i] ? bad[i] : "NULL");
	snprintf(hdr, sizeof(hdr), "Bearer %s=", text);
	cr_assert_eq(rv_bearer_parse(hdr, back), -1, "padding");
	snprintf(hdr, sizeof(hdr), "Bearer %s ", text);
	cr_assert_eq(rv_bearer_parse(hdr, back), -1, "trailing space");
}

/* ---- list filters, cursors, PATCH bodies ---- */

Test(review_auth, filters_parse_strictly)
{
	struct rv_filter f;
	cr_assert_eq(rv_filter_parse("", &f), 0);
	cr_assert_eq(f.limit, RV_LIST_DEFAULT);
	cr_assert_eq(rv_filter_parse("team=demo&status=closed&priority=urgent&assignee=a.b-c"
	                             "&label=referral-needed&since=2024-02-29&limit=200", &f), 0);
	cr_assert_str_eq(f.team, "demo");
	cr_assert_str_eq(f.label, "referral-needed");
	cr_assert_str_eq(f.since, "2024-02-29");
	cr_assert_eq(f.limit, 200);
	const char *bad[] = { "status=lost", "limit=0", "limit=201", "limit=-1", "since=2023-02-29",
		              "since=2024-04-31", "since=2024-1-01", "x=1", "status", "status=new&status=new",
		              "assignee=", "team=A", "label=-x", "cursor=", "&", "limit=1&limit=2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(rv_filter_parse(bad[i], &f), -1, "%s", bad[i]);
}

Test(review_auth, cursor_round_trips)
{
	char cur[96], q[160];
	struct rv_filter f;
	const char *id = "0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11";
	cr_assert_eq(rv_cursor_make("2024-05-01", id, cur, sizeof(cur)), 0);
	snprintf(q, sizeof(q), "cursor=%s", cur);
	cr_assert_eq(rv_filter_parse(q, &f), 0);
	cr_assert(f.has_cursor);
	cr_assert_str_eq(f.cursor_date, "2024-05-01");
	cr_assert_str_eq(f.cursor_id, id);
	q[7] = q[7] == 'A' ? 'B' : 'A';
	cr_assert_eq(rv_filter_parse(q, &f), -1, "a tampered cursor");
	cr_assert_eq(rv_cursor_make("2024-05-01", "nope", cur, sizeof(cur)), -1);
}

Test(review_auth, patch_bodies)
{
	struct rv_patch p;
	const char *ok = "{\"status\":\"referred\",\"priority\":\"low\",\"assignee\":null,"
	                 "\"labels\":[\"minor\",\"medical\"]}";
	cr_assert_eq(rv_patch_parse((const uint8_t *)ok, strlen(ok), &p), RV_PATCH_OK);
	cr_assert_str_eq(p.status, "referred");
	cr_assert_str_eq(p.priority, "low");
	cr_assert(p.set_assignee && p.assignee[0] == '\0');
	cr_assert_str_eq(p.labels, "{minor,medical}");
	struct { const char *b; enum rv_patch_result r; } v[] = {
		{ "{\"labels\":[]}", RV_PATCH_OK },
		{ "{\"assignee\":\"alice\"}", RV_PATCH_OK },
		{ "{\"status\":\"lost\"}", RV_PATCH_INVALID },
		{ "{\"labels\":[\"a,b\"]}", RV_PATCH_INVALID },
		{ "{\"labels\":[\"{x}\"]}", RV_PATCH_INVALID },
		{ "{\"assignee\":\"a b\"}", RV_PATCH_INVALID },
		{ "{\"status\":1}", RV_PATCH_BAD },
		{ "{\"status\":\"lost\",\"x\":1}", RV_PATCH_BAD },
		{ "{}", RV_PATCH_BAD },
		{ "", RV_PATCH_BAD },
		{ "{\"labels\":{}}", RV_PATCH_BAD },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_assert_eq(rv_patch_parse((const uint8_t *)v[i].b, strlen(v[i].b), &p), v[i].r, "%s",
		             v[i].b);
	char many[2048] = "{\"labels\":[";
	for (int i = 0; i <= RV_LABELS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"l%d\"", i ? "," : "", i);
	snprintf(many + strlen(many), sizeof(many) - strlen(many), "]}");
	cr_assert_eq(rv_patch_parse((const uint8_t *)many, strlen(many), &p), RV_PATCH_INVALID);
}
