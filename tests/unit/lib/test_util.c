/* util: uuids, hex, bounded integer parsing, whole-file I/O, dates. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

TestSuite(util, .init = (void (*)(void))sodium_init);

Test(util, uuids_are_version_4_and_distinct)
{
	char a[UUID_STR_LEN], b[UUID_STR_LEN];
	regex_t re;
	cr_assert_eq(regcomp(&re, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
	                     REG_EXTENDED | REG_NOSUB), 0);
	for (int i = 0; i < 200; i++) {
		util_uuid(a);
		cr_assert_eq(regexec(&re, a, 0, NULL, 0), 0, "%s", a);
		cr_assert(util_uuid_valid(a));
	}
	util_uuid(b);
	cr_assert_str_neq(a, b);
	regfree(&re);
	cr_assert_not(util_uuid_valid("00000000-0000-0000-0000-00000000000"));
	cr_assert_not(util_uuid_valid("00000000-0000-0000-0000-0000000000000"));
	cr_assert_not(util_uuid_valid("0000000G-0000-0000-0000-000000000000"));
	cr_assert_not(util_uuid_valid("00000000-0000-0000-0000-00000000000A"));
	cr_assert_not(util_uuid_valid("00000000_0000-0000-0000-000000000000"));
}

Test(util, base64_characters)
{
	cr_assert(util_base64_chars_ok("AZaz09+/=", 9));
	cr_assert(util_base64_chars_ok("", 0));
	cr_assert_not(util_base64_chars_ok("abc\xc3\xa9", 5), "bytes >= 0x80 are not base64");
	cr_assert_not(util_base64_chars_ok("ab c", 4));
	cr_assert_not(util_base64_chars_ok("ab-_", 4), "the URL-safe alphabet is not standard");
	cr_assert_not(util_base64_chars_ok("ab\0c", 4));
}

Test(util, base64_decode_checks_the_alphabet_and_the_whole_input)
{
	uint8_t out[16];
	size_t n = 99;
	cr_assert_eq(util_base64_decode("aGk=", 4, out, sizeof(out), &n,
	                                sodium_base64_VARIANT_ORIGINAL), 0);
	cr_assert_eq(n, 2);
	cr_assert(memcmp(out, "hi", 2) == 0);
	/* libsodium 1.0.18 alone would take the byte 0xc3 as a base64 letter. */
	cr_assert_eq(util_base64_decode("aG\xc3=", 4, out, sizeof(out), &n,
	                                sodium_base64_VARIANT_ORIGINAL), -1);
	cr_assert_eq(util_base64_decode("a-_A", 4, out, sizeof(out), &n,
	                                sodium_base64_VARIANT_ORIGINAL), -1, "URL-safe letters");
	cr_assert_eq(util_base64_decode("a-_A", 4, out, sizeof(out), &n,
	                                sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	cr_assert_eq(util_base64_decode("a+/A", 4, out, sizeof(out), &n,
	                                sodium_base64_VARIANT_URLSAFE_NO_PADDING), -1);
	cr_assert_eq(util_base64_decode("aGk=aGk=", 8, out, sizeof(out), &n,
	                                sodium_base64_VARIANT_ORIGINAL), -1, "trailing data");
	cr_assert_eq(util_base64_decode("aGVsbG8gd29ybGQgaGVsbG8=", 24, out, 4, &n,
	                                sodium_base64_VARIANT_ORIGINAL), -1, "over the maximum");
}

Test(util, hex)
{
	char out[9];
	util_hex((const uint8_t *)"\x00\x01\xab\xff", 4, out);
	cr_assert_str_eq(out, "0001abff");
}

Test(util, parse_u64_accepts_only_bounded_decimals)
{
	uint64_t v = 7;
	cr_assert_eq(util_parse_u64("0", 10, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(util_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(util_parse_u64("18446744073709551616", UINT64_MAX, &v), -1);
	cr_assert_eq(util_parse_u64("11", 10, &v), -1);
	cr_assert_eq(util_parse_u64("10", 10, &v), 0);
	static const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "1e3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(util_parse_u64(bad[i], 1000, &v), -1, "accepted \"%s\"", bad[i]);
	cr_assert_eq(util_parse_u64(NULL, 1000, &v), -1);
}

Test(util, read_and_write_whole_files)
{
	char path[] = "/tmp/tipline-util-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, "hello\nworld", 11), 0);
	close(fd);
	size_t len = 0;
	char *text = util_read_file(path, 100, &len);
	cr_assert_not_null(text);
	cr_assert_eq(len, 11);
	cr_assert_str_eq(text, "hello\nworld");
	free(text);
	cr_assert_null(util_read_file(path, 10, &len), "read a file over its maximum");
	cr_assert_eq(errno, EFBIG);
	unlink(path);
	cr_assert_null(util_read_file(path, 100, &len));
	cr_assert_eq(errno, ENOENT);
	cr_assert_null(util_read_file("/tmp", 100, &len), "read a directory");
}

Test(util, today_is_a_date_without_time)
{
	char d[11];
	regex_t re;
	util_today(d);
	cr_assert_eq(regcomp(&re, "^20[0-9]{2}-[01][0-9]-[0-3][0-9]$", REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regexec(&re, d, 0, NULL, 0), 0, "%s", d);
	regfree(&re);
}
