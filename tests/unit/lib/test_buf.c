/* buf: bounded buffers never grow past their maximum and keep their contents. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "buf.h"

TestSuite(buf, .init = (void (*)(void))sodium_init);

Test(buf, grows_up_to_the_maximum_and_not_past_it)
{
	struct buf b;
	buf_init(&b, 10);
	cr_assert_eq(buf_add(&b, "0123456789", 10), 0);
	cr_assert_eq(b.len, 10);
	cr_assert_eq(buf_add(&b, "x", 1), -1, "grew past its maximum");
	cr_assert_eq(b.len, 10, "a refused append changed the buffer");
	cr_assert_eq(memcmp(b.data, "0123456789", 10), 0);
	cr_assert_str_eq(buf_cstr(&b), "0123456789");
	buf_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
}

Test(buf, printf_fill_and_reset)
{
	struct buf b;
	buf_init(&b, 64);
	cr_assert_eq(buf_printf(&b, "%s-%d", "abc", 42), 0);
	cr_assert_eq(buf_fill(&b, ' ', 3), 0);
	cr_assert_str_eq(buf_cstr(&b), "abc-42   ");
	cr_assert_eq(buf_printf(&b, "%0100d", 1), -1, "printf past the maximum");
	cr_assert_str_eq(buf_cstr(&b), "abc-42   ");
	buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(buf_adds(&b, "again"), 0);
	cr_assert_str_eq(buf_cstr(&b), "again");
	buf_free(&b);
}

Test(buf, secure_buffers_keep_contents_across_growth)
{
	struct buf b;
	buf_init_secure(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(buf_printf(&b, "%04d", i), 0);
	cr_assert_eq(b.len, 4000);
	cr_assert_eq(memcmp(b.data + 3996, "0999", 4), 0);
	buf_reset(&b);
	cr_assert_eq(b.len, 0);
	buf_free(&b);
	cr_assert_null(b.data);
}

Test(buf, size_overflow_is_refused)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	cr_assert_eq(buf_add(&b, "a", 1), 0);
	cr_assert_eq(buf_reserve(&b, SIZE_MAX), -1);
	cr_assert_eq(b.len, 1);
	buf_free(&b);
}
