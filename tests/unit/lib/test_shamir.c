/* Tests for shamir: GF(2^8) arithmetic, split and combine, the share text form. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "shamir.h"

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
}

TestSuite(shamir, .init = setup);

Test(shamir, gf_multiplication_matches_fips197)
{
	/* FIPS-197 §4.2: {57} • {83} = {c1}; {57} • {13} = {fe}. */
	cr_assert_eq(shamir_gf_mul(0x57, 0x83), 0xc1);
	cr_assert_eq(shamir_gf_mul(0x57, 0x13), 0xfe);
	/* §5.1.1's S-box example: the inverse of {53} is {ca}. */
	cr_assert_eq(shamir_gf_inv(0x53), 0xca);
	cr_assert_eq(shamir_gf_inv(0), 0);
	for (unsigned a = 1; a < 256; a++)
		cr_assert_eq(shamir_gf_mul((uint8_t)a, shamir_gf_inv((uint8_t)a)), 1, "a=%u", a);
}

Test(shamir, combine_of_a_hand_made_2_of_n_split)
{
	/* f(x) = 0x42 + 0x05 x: f(1) = 0x47, f(2) = 0x42 ^ 0x0a = 0x48, f(3) = 0x42 ^ 0x0f = 0x4d. */
	const uint8_t xs[3] = { 1, 2, 3 }, ys[3] = { 0x47, 0x48, 0x4d };
	uint8_t out;
	cr_assert_eq(shamir_combine(xs, ys, 2, 1, &out), 0);
	cr_assert_eq(out, 0x42);
	cr_assert_eq(shamir_combine(xs + 1, ys + 1, 2, 1, &out), 0);
	cr_assert_eq(out, 0x42);
	cr_assert_eq(shamir_combine(xs, ys, 3, 1, &out), 0);
	cr_assert_eq(out, 0x42);
}

/* Combine the shares whose bits are set in `mask` into `out`. */
static int
combine_mask(const uint8_t *ys, unsigned n, unsigned mask, uint8_t out[32])
{
	uint8_t xs[16], sel[16 * 32];
	size_t c = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!(mask & (1u << i)))
			continue;
		xs[c] = (uint8_t)(i + 1);
		memcpy(sel + c * 32, ys + i * 32, 32);
		c++;
	}
	return shamir_combine(xs, sel, c, 32, out);
}

Test(shamir, every_k_subset_recovers_and_no_smaller_one_does)
{
	uint8_t secret[32], ys[5 * 32], out[32];
	randombytes_buf(secret, sizeof(secret));
	for (unsigned k = 2; k <= 5; k++) {
		cr_assert_eq(shamir_split(secret, 32, k, 5, ys), 0);
		for (unsigned mask = 1; mask < 32; mask++) {
			unsigned c = (unsigned)__builtin_popcount(mask);
			cr_assert_eq(combine_mask(ys, 5, mask, out), 0);
			if (c >= k)
				cr_assert_eq(memcmp(out, secret, 32), 0, "k=%u mask=%x", k, mask);
			else
				cr_assert_neq(memcmp(out, secret, 32), 0, "k=%u mask=%x", k, mask);
		}
	}
}

Test(shamir, shares_of_one_secret_differ_between_splits)
{
	uint8_t secret[32] = { 0 }, a[3 * 32], b[3 * 32];
	cr_assert_eq(shamir_split(secret, 32, 2, 3, a), 0);
	cr_assert_eq(shamir_split(secret, 32, 2, 3, b), 0);
	cr_assert_neq(memcmp(a, b, sizeof(a)), 0);
	cr_assert_neq(memcmp(a, secret, 32), 0, "a share must not be the secret");
}

Test(shamir, bad_parameters_are_refused)
{
	uint8_t s[32] = { 1 }, ys[256 * 2], out[32];
	cr_assert_eq(shamir_split(s, 32, 1, 3, ys), -1);
	cr_assert_eq(shamir_split(s, 32, 4, 3, ys), -1);
	cr_assert_eq(shamir_split(s, 1, 2, 256, ys), -1);
	cr_assert_eq(shamir_split(s, 1, 255, 255, ys), 0);
	const uint8_t dup[2] = { 3, 3 }, zero[2] = { 0, 1 };
	cr_assert_eq(shamir_combine(dup, ys, 2, 1, out), -1);
	cr_assert_eq(shamir_combine(zero, ys, 2, 1, out), -1);
	cr_assert_eq(shamir_combine(dup, ys, 0, 1, out), -1);
}

static void
sample_share(struct shamir_share *s)
{
	memset(s, 0, sizeof(*s));
	s->k = 3;
	s->n = 5;
	s->x = 4;
	memcpy(s->set, "\x8f\x3a\x2b\x1c", 4);
	for (int i = 0; i < 32; i++)
		s->y[i] = (uint8_t)(i * 7 + 1);
}

Test(shamir, text_form_round_trips_and_pins_its_layout)
{
	struct shamir_share s, t;
	char text[SHAMIR_TEXT_MAX];
	sample_share(&s);
	shamir_share_format(&s, text);
	cr_assert_eq(strncmp(text, "tipline-share1-3of5-4-8f3a2b1c-01080f161d242b32", 47), 0,
	             "%s", text);
	cr_assert_eq(strlen(text), strlen("tipline-share1-3of5-4-8f3a2b1c-") + 64 + 9);
	cr_assert_eq(shamir_share_parse(text, strlen(text), &t), SHAMIR_OK);
	cr_assert_eq(memcmp(&s, &t, sizeof(s)), 0);
	char padded[SHAMIR_TEXT_MAX + 8];
	snprintf(padded, sizeof(padded), "  %s\r\n", text);
	cr_assert_eq(shamir_share_parse(padded, strlen(padded), &t), SHAMIR_OK);
}

Test(shamir, every_single_character_typo_is_caught)
{
	struct shamir_share s, t;
	char text[SHAMIR_TEXT_MAX];
	sample_share(&s);
	shamir_share_format(&s, text);
	size_t n = strlen(text);
	const char *hexpos = strchr(text + 20, '-'); /* after "<k>of<n>" */
	cr_assert_not_null(hexpos);
	for (size_t i = 0; i < n; i++) {
		char bad[SHAMIR_TEXT_MAX];
		memcpy(bad, text, n + 1);
		bad[i] = bad[i] == 'a' ? 'b' : 'a';
		enum shamir_parse_result r = shamir_share_parse(bad, n, &t);
		cr_assert_neq(r, SHAMIR_OK, "typo at %zu accepted: %s", i, bad);
		if (i > (size_t)(hexpos - text) + 3 && bad[i] != '-' && text[i] != '-')
			cr_assert(r == SHAMIR_ERR_CHECK || r == SHAMIR_ERR_FORMAT, "at %zu", i);
	}
	/* A hex digit changed to another hex digit is a check failure, not a format one. */
	char bad[SHAMIR_TEXT_MAX];
	memcpy(bad, text, n + 1);
	bad[40] = bad[40] == '0' ? '1' : '0';
	cr_assert_eq(shamir_share_parse(bad, n, &t), SHAMIR_ERR_CHECK);
}

Test(shamir, malformed_and_out_of_range_shares_are_refused)
{
	struct shamir_share s, t;
	char text[SHAMIR_TEXT_MAX];
	const char *bad[] = {
		"", "tipline-share1-", "tipline-share2-3of5-4-8f3a2b1c-00-00000000",
		"TIPLINE-SHARE1-3of5-4-8f3a2b1c-0000000000000000000000000000000000000000000000000000000000000000-00000000",
		"tipline-share1-03of5-4-8f3a2b1c-0000000000000000000000000000000000000000000000000000000000000000-00000000",
		"tipline-share1-3of5-4-8F3A2B1C-0000000000000000000000000000000000000000000000000000000000000000-00000000",
		"tipline-share1-3of5-4-8f3a2b1c-000000000000000000000000000000000000000000000000000000000000000-00000000",
		"tipline-share1-3of5-4-8f3a2b1c-0000000000000000000000000000000000000000000000000000000000000000-00000000-",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(shamir_share_parse(bad[i], strlen(bad[i]), &t), SHAMIR_ERR_FORMAT, "%zu", i);
	/* Well formed with a correct check, but x > n, x = 0 or k > n. */
	const uint8_t kxn[3][3] = { { 3, 5, 6 }, { 3, 5, 0 }, { 6, 5, 1 } };
	for (int i = 0; i < 3; i++) {
		sample_share(&s);
		s.k = kxn[i][0];
		s.n = kxn[i][1];
		s.x = kxn[i][2];
		shamir_share_format(&s, text);
		cr_assert_eq(shamir_share_parse(text, strlen(text), &t), SHAMIR_ERR_RANGE, "%s", text);
	}
}
