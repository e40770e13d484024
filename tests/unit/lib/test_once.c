/* once: a bounded set of identifiers, each reported as first exactly once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "once.h"

Test(once, each_key_is_first_once_and_the_set_is_bounded)
{
	struct once *o = once_new(3);
	cr_assert_not_null(o);
	cr_assert_eq(once_first(o, "a", 1), 1);
	cr_assert_eq(once_first(o, "a", 1), 0);
	cr_assert_eq(once_first(o, "ab", 2), 1, "a longer key with the same prefix is another key");
	cr_assert_eq(once_first(o, "b", 1), 1);
	cr_assert_eq(once_count(o), 3);
	/* full: nothing new is first, the known ones stay known */
	cr_assert_eq(once_first(o, "c", 1), 0);
	cr_assert_eq(once_first(o, "c", 1), 0);
	cr_assert_eq(once_first(o, "b", 1), 0);
	cr_assert_eq(once_count(o), 3);
	once_free(o);
	once_free(NULL);
}

Test(once, malformed_keys_are_never_first)
{
	char big[ONCE_KEY_MAX + 1];
	memset(big, 'x', sizeof(big));
	struct once *o = once_new(8);
	cr_assert_null(once_new(0));
	cr_assert_eq(once_first(o, "", 0), 0);
	cr_assert_eq(once_first(o, NULL, 3), 0);
	cr_assert_eq(once_first(o, big, sizeof(big)), 0);
	cr_assert_eq(once_first(o, big, ONCE_KEY_MAX), 1, "the longest key is fine");
	cr_assert_eq(once_first(NULL, "a", 1), 0);
	once_free(o);
}

Test(once, many_keys_fill_exactly_to_the_cap)
{
	struct once *o = once_new(1000);
	char k[16];
	int firsts = 0;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 1500; i++) {
			int n = snprintf(k, sizeof(k), "%d", i);
			firsts += once_first(o, k, (size_t)n);
		}
	cr_assert_eq(firsts, 1000);
	cr_assert_eq(once_count(o), 1000);
	once_free(o);
}
