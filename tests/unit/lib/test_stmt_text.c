/* Tests for stmt_text: the line cursor and field parsers of the signed
 * statements (admin chain, team membership). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "stmt_text.h"

Test(stmt_text, lines_in_order_and_none_after_the_last)
{
	static const char t[] = "tipline/v1\nseq 2\n\nlast\n";
	struct stmt_cur c = { t, strlen(t), 0 };
	const char *want[] = { "tipline/v1", "seq 2", "", "last" };
	const char *l;
	size_t n;
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(stmt_line(&c, &l, &n), 0, "line %zu", i);
		cr_expect_eq(n, strlen(want[i]));
		cr_expect_eq(memcmp(l, want[i], n), 0, "line %zu", i);
	}
	cr_expect_eq(stmt_line(&c, &l, &n), -1);
}

Test(stmt_text, a_line_without_newline_is_not_a_line)
{
	static const char t[] = "one\ntwo";
	struct stmt_cur c = { t, strlen(t), 0 };
	const char *l;
	size_t n;
	cr_assert_eq(stmt_line(&c, &l, &n), 0);
	cr_expect_eq(stmt_line(&c, &l, &n), -1);
}

Test(stmt_text, strip_takes_the_prefix_or_leaves_the_line)
{
	const char *l = "seq 12";
	size_t n = strlen(l);
	cr_expect_eq(stmt_strip(&l, &n, "prev "), 0);
	cr_expect_eq(n, 6);
	cr_expect_eq(stmt_strip(&l, &n, "seq "), 1);
	cr_expect_eq(n, 2);
	cr_expect_eq(memcmp(l, "12", 2), 0);
	cr_expect_eq(stmt_strip(&l, &n, "123"), 0, "a prefix longer than the line");
}

Test(stmt_text, numbers_are_decimal_from_one_to_max_without_leading_zeros)
{
	uint64_t v = 0;
	cr_expect_eq(stmt_num("1", 1, 10, &v), 0);
	cr_expect_eq(v, 1);
	cr_expect_eq(stmt_num("10", 2, 10, &v), 0);
	cr_expect_eq(v, 10);
	cr_expect_eq(stmt_num("11", 2, 10, &v), -1, "over max");
	cr_expect_eq(stmt_num("0", 1, 10, &v), -1, "zero");
	cr_expect_eq(stmt_num("07", 2, 10, &v), -1, "leading zero");
	cr_expect_eq(stmt_num("", 0, 10, &v), -1, "empty");
	cr_expect_eq(stmt_num("-1", 2, 10, &v), -1, "sign");
	cr_expect_eq(stmt_num("1 ", 2, 10, &v), -1, "junk");
	cr_expect_eq(stmt_num("1\0x", 3, 10, &v), -1, "a NUL inside the field");
	cr_expect_eq(stmt_num("123456789012345678901234", 24, UINT64_MAX, &v), -1, "too long");
}

Test(stmt_text, prev_is_a_dash_or_64_lower_case_hex_digits)
{
	char hex[65];
	uint8_t h[STMT_HASH_LEN];
	bool has = true;
	cr_expect_eq(stmt_prev("-", 1, h, &has), 0);
	cr_expect(!has);
	for (int i = 0; i < 64; i++)
		hex[i] = "0123456789abcdef"[i % 16];
	hex[64] = '\0';
	cr_expect_eq(stmt_prev(hex, 64, h, &has), 0);
	cr_expect(has);
	cr_expect_eq(h[0], 0x01);
	cr_expect_eq(h[31], 0xef);
	cr_expect_eq(stmt_prev(hex, 63, h, &has), -1, "short");
	hex[10] = 'A';
	cr_expect_eq(stmt_prev(hex, 64, h, &has), -1, "upper case");
	cr_expect_eq(stmt_prev("--", 2, h, &has), -1);
}
