#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "websec.h"

static const uint8_t KEY[32] = { 1, 2, 3 };

static void
init(void)
{
	cr_assert(sodium_init() >= 0);
}

TestSuite(websec, .init = init);

Test(websec, tokens_check_kind_expiry_and_key)
{
	struct websec *w = websec_new(KEY), *other = websec_new(NULL);
	char t[WEBSEC_TOKEN_STR];
	cr_assert(w != NULL && other != NULL);
	cr_assert_eq(websec_token_make(w, WEBSEC_FORM_REPORT, 60, 1000, t), 0);
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, t, strlen(t), 1000), 0);
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, t, strlen(t), 1060), 0);
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, t, strlen(t), 1061), -1, "expired");
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_INBOX_FORGET, t, strlen(t), 1000), -1,
	             "kind");
	cr_assert_eq(websec_token_check(other, WEBSEC_FORM_REPORT, t, strlen(t), 1000), -1, "key");
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, t, strlen(t) - 1, 1000), -1);
	t[10] = t[10] == 'A' ? 'B' : 'A';
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, t, strlen(t), 1000), -1, "tampered");
	t[10] = (char)0xc3;
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, t, strlen(t), 1000), -1);
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, "", 0, 1000), -1);
	websec_free(w);
	websec_free(other);
}

Test(websec, cookies_hold_the_lookup_id_and_signing_seed_only_until_expiry)
{
	struct websec *w = websec_new(KEY);
	uint8_t id[32], seed[32], got[32], gseed[32];
	char c[WEBSEC_COOKIE_STR], t[WEBSEC_TOKEN_STR];
	randombytes_buf(id, sizeof(id));
	randombytes_buf(seed, sizeof(seed));
	cr_assert_eq(websec_cookie_make(w, id, seed, 900, 5000, c), 0);
	cr_assert_lt(strlen(c), WEBSEC_COOKIE_STR);
	cr_assert_eq(websec_cookie_open(w, c, strlen(c), 5900, got, gseed), 0);
	cr_assert_eq(memcmp(id, got, 32), 0);
	cr_assert_eq(memcmp(seed, gseed, 32), 0);
	cr_assert_eq(websec_cookie_open(w, c, strlen(c), 5901, got, gseed), -1);
	/* the seed is sealed: it is nowhere in the cookie's text */
	char hex[65];
	sodium_bin2base64(hex, sizeof(hex), seed, 24, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	cr_assert_null(strstr(c, hex));
	/* a token is not a cookie and the other way round */
	cr_assert_eq(websec_token_make(w, WEBSEC_FORM_REPORT, 60, 5000, t), 0);
	cr_assert_eq(websec_cookie_open(w, t, strlen(t), 5000, got, gseed), -1);
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, c, strlen(c), 5000), -1);
	/* two cookies for the same id differ (random nonce): nothing to link */
	char c2[WEBSEC_COOKIE_STR];
	cr_assert_eq(websec_cookie_make(w, id, seed, 900, 5000, c2), 0);
	cr_assert_str_neq(c, c2);
	websec_free(w);
}
