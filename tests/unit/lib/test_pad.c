/* Tests for pad: text buckets and Padmé lengths. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "pad.h"

Test(pad, text_buckets_known_values)
{
	static const struct {
		size_t len, bucket;
	} t[] = {
		{0, 1024},       {1, 1024},       {1023, 1024},    {1024, 1024},
		{1025, 2048},    {2048, 2048},    {2049, 4096},    {4096, 4096},
		{4097, 8192},    {8193, 16384},   {16384, 16384},  {16385, 32768},
		{32768, 32768},  {32769, 49152},  {49152, 49152},  {49153, 65536},
		{262144, 262144}, {262145, 278528},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(pad_text_bucket(t[i].len), t[i].bucket, "len %zu -> %zu, want %zu",
			     t[i].len, pad_text_bucket(t[i].len), t[i].bucket);
}

Test(pad, text_bucket_overflow_is_zero)
{
	cr_expect_eq(pad_text_bucket(SIZE_MAX), 0);
	cr_expect_eq(pad_text_bucket(SIZE_MAX - 100), 0);
	cr_expect_eq(pad_text_bucket(SIZE_MAX - PAD_TEXT_STEP), SIZE_MAX - (SIZE_MAX % PAD_TEXT_STEP));
	size_t top = SIZE_MAX - (SIZE_MAX % PAD_TEXT_STEP);
	cr_expect_eq(pad_text_bucket(top), top);
}

Test(pad, text_buckets_hide_length)
{
	/* Every short report looks the same; sizes never shrink. */
	for (size_t len = 0; len <= 1024; len++)
		cr_assert_eq(pad_text_bucket(len), 1024);
	size_t prev = 0;
	for (size_t len = 0; len < 200000; len += 7) {
		size_t b = pad_text_bucket(len);
		cr_assert_geq(b, len);
		cr_assert_geq(b, prev);
		cr_assert_eq(pad_text_bucket(b), b, "bucket %zu must be a fixed point", b);
		prev = b;
	}
}

Test(pad, pad_text_appends_spaces)
{
	struct buf b;
	buf_init(&b, 64 * 1024);
	cr_assert_eq(buf_adds(&b, "{\"a\":\"x\"}"), 0);
	cr_assert_eq(pad_text(&b), 0);
	cr_assert_eq(b.len, 1024);
	cr_expect_eq(memcmp(b.data, "{\"a\":\"x\"}", 9), 0);
	for (size_t i = 9; i < b.len; i++)
		cr_assert_eq(b.data[i], ' ');
	/* Already on a bucket: unchanged. */
	cr_assert_eq(pad_text(&b), 0);
	cr_expect_eq(b.len, 1024);
	cr_assert_eq(buf_fill(&b, 'x', 1), 0);
	cr_assert_eq(pad_text(&b), 0);
	cr_expect_eq(b.len, 2048);
	buf_free(&b);
}

Test(pad, pad_text_fails_when_max_too_small)
{
	struct buf b;
	buf_init(&b, 1500);
	cr_assert_eq(buf_fill(&b, 'a', 1100), 0);
	cr_expect_eq(pad_text(&b), -1);
	cr_expect_eq(b.len, 1100, "buffer must be unchanged on failure");
	buf_free(&b);
}

Test(pad, pad_text_secure_buffer)
{
	cr_assert_geq(sodium_init(), 0);
	struct buf b;
	buf_init_secure(&b, 4096);
	cr_assert_eq(buf_adds(&b, "[]"), 0);
	cr_assert_eq(pad_text(&b), 0);
	cr_expect_eq(b.len, 1024);
	buf_free(&b);
}

Test(pad, padme_known_values)
{
	/* Worked from the PURBs algorithm: E = floor(log2 L), S = floor(log2 E) + 1,
	 * round L up to a multiple of 2^(E - S). */
	static const struct {
		uint64_t len, padded;
	} t[] = {
		{0, 0},         {1, 1},         {2, 2},         {3, 3},
		{7, 7},         {8, 8},         {9, 10},        {11, 12},
		{15, 16},       {17, 18},       {31, 32},       {33, 36},
		{100, 104},     {129, 144},     {255, 256},     {256, 256},
		{257, 272},     {1000, 1024},   {1025, 1088},   {4097, 4352},
		{65537, 67584}, {1000000, 1015808},             {1000000000, 1006632960},
		{UINT64_C(4294967297), UINT64_C(4362076160)},
		{UINT64_C(1099511640121), UINT64_C(1116691496960)},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(pad_padme(t[i].len), t[i].padded, "L=%llu -> %llu, want %llu",
			     (unsigned long long)t[i].len, (unsigned long long)pad_padme(t[i].len),
			     (unsigned long long)t[i].padded);
}

Test(pad, padme_overhead_and_fixed_points)
{
	uint64_t prev = 0;
	for (uint64_t len = 1; len < 300000; len++) {
		uint64_t p = pad_padme(len);
		cr_assert_geq(p, len);
		cr_assert_geq(p, prev, "monotonic at %llu", (unsigned long long)len);
		cr_assert_leq((p - len) * 100, len * 12, "overhead > 12%% at %llu",
			      (unsigned long long)len);
		cr_assert_eq(pad_padme(p), p, "padded length must be a fixed point");
		prev = p;
	}
	/* Large sizes: overhead shrinks. */
	for (uint64_t len = UINT64_C(1) << 32; len < (UINT64_C(1) << 62); len = len * 3 + 12345) {
		uint64_t p = pad_padme(len);
		cr_assert_geq(p, len);
		cr_assert_leq((p - len) / 16, len / 100);
	}
}

Test(pad, padme_few_buckets)
{
	/* Lengths in [1 MiB, 2 MiB) (E = 20, S = 5) pad to one of 2^5 steps of
	 * 32 KiB or to 2 MiB itself: 33 sizes instead of a million. */
	uint64_t distinct = 0, prev = 0;
	for (uint64_t len = (1u << 20); len < (2u << 20); len++) {
		uint64_t p = pad_padme(len);
		if (p != prev)
			distinct++;
		prev = p;
	}
	cr_expect_eq(distinct, 33);
}

Test(pad, padme_overflow_is_zero)
{
	cr_expect_eq(pad_padme(UINT64_MAX), 0);
	cr_expect_eq(pad_padme(UINT64_MAX - (UINT64_C(1) << 57) + 2), 0);
	uint64_t top = UINT64_MAX - ((UINT64_C(1) << 57) - 1);
	cr_expect_eq(pad_padme(top), top);
	cr_expect_eq(pad_padme(UINT64_C(1) << 63), UINT64_C(1) << 63);
}
