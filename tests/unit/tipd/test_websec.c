#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
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

Test(websec, cookies_hold_the_inbox_only_until_expiry)
{
	struct websec *w = websec_new(KEY);
	struct websec_inbox in, got;
	char c[WEBSEC_COOKIE_STR], t[WEBSEC_TOKEN_STR];
	memset(&in, 0, sizeof(in));
	randombytes_buf(in.id, sizeof(in.id));
	randombytes_buf(in.seed, sizeof(in.seed));
	snprintf(in.report, sizeof(in.report), "%s", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee1");
	snprintf(in.team, sizeof(in.team), "%s", "anti-trafficking");
	cr_assert_eq(websec_cookie_make(w, &in, 900, 5000, c), 0);
	cr_assert_lt(strlen(c), WEBSEC_COOKIE_STR);
	cr_assert_eq(websec_cookie_open(w, c, strlen(c), 5900, &got), 0);
	cr_assert_eq(memcmp(in.id, got.id, 32), 0);
	cr_assert_eq(memcmp(in.seed, got.seed, 32), 0);
	cr_assert_str_eq(got.report, in.report);
	cr_assert_str_eq(got.team, in.team);
	cr_assert_eq(websec_cookie_open(w, c, strlen(c), 5901, &got), -1);
	/* the seed and the team are sealed: neither is in the cookie's text */
	char b64[65];
	sodium_bin2base64(b64, sizeof(b64), in.seed, 24, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	cr_assert_null(strstr(c, b64));
	cr_assert_null(strstr(c, "anti"));
	/* a token is not a cookie and the other way round */
	cr_assert_eq(websec_token_make(w, WEBSEC_FORM_REPORT, 60, 5000, t), 0);
	cr_assert_eq(websec_cookie_open(w, t, strlen(t), 5000, &got), -1);
	cr_assert_eq(websec_token_check(w, WEBSEC_FORM_REPORT, c, strlen(c), 5000), -1);
	/* two cookies for the same inbox differ (random nonce): nothing to link */
	char c2[WEBSEC_COOKIE_STR];
	cr_assert_eq(websec_cookie_make(w, &in, 900, 5000, c2), 0);
	cr_assert_str_neq(c, c2);
	/* every cookie has the same length, whatever the team's name */
	snprintf(in.team, sizeof(in.team), "%s", "x");
	cr_assert_eq(websec_cookie_make(w, &in, 900, 5000, c2), 0);
	cr_assert_eq(strlen(c2), strlen(c));
	/* a team name that fills the field, or none, is refused */
	memset(in.team, 'a', sizeof(in.team));
	cr_assert_eq(websec_cookie_make(w, &in, 900, 5000, c2), -1);
	in.team[0] = '\0';
	cr_assert_eq(websec_cookie_make(w, &in, 900, 5000, c2), -1);
	websec_free(w);
}
