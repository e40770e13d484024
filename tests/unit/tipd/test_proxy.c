/* Unit tests for the PROXY v1 line parser. */
#include <criterion/criterion.h>
#include <string.h>

#include "proxy.h"

static enum proxy_result
parse(const char *s, struct proxy_info *info, size_t *used)
{
	return proxy_parse_v1(s, strlen(s), info, used);
}

Test(proxy, tor_tcp6_line_gives_circuit_id)
{
	const char *s = "PROXY TCP6 fc00:dead:beef:4dad::12:3456 ::1 49152 80\r\nGET / HTTP/1.1\r\n";
	struct proxy_info info;
	size_t used = 0;
	cr_assert_eq(parse(s, &info, &used), PROXY_OK);
	cr_assert_eq(used, strlen("PROXY TCP6 fc00:dead:beef:4dad::12:3456 ::1 49152 80\r\n"));
	cr_assert_eq(info.family, PROXY_TCP6);
	cr_assert_eq(info.has_circuit, 1);
	cr_assert_eq(info.circuit_id, 0x00123456u);
	cr_assert_eq(info.src_port, 49152);
	cr_assert_eq(info.dst_port, 80);
}

Test(proxy, tcp4_line_has_no_circuit)
{
	struct proxy_info info;
	size_t used = 0;
	cr_assert_eq(parse("PROXY TCP4 192.0.2.1 198.51.100.7 0 65535\r\n", &info, &used), PROXY_OK);
	cr_assert_eq(info.family, PROXY_TCP4);
	cr_assert_eq(info.has_circuit, 0);
	cr_assert_eq(info.src_port, 0);
	cr_assert_eq(info.dst_port, 65535);
	cr_assert_eq(info.src[0], 192);
}

Test(proxy, tcp6_outside_tor_prefix_has_no_circuit)
{
	struct proxy_info info;
	size_t used = 0;
	cr_assert_eq(parse("PROXY TCP6 2001:db8::1 ::1 1 2\r\n", &info, &used), PROXY_OK);
	cr_assert_eq(info.has_circuit, 0);
	cr_assert_eq(parse("PROXY TCP6 fc00:dead:beef:4dae::1:2 ::1 1 2\r\n", &info, &used), PROXY_OK);
	cr_assert_eq(info.has_circuit, 0);
}

Test(proxy, unknown_accepts_anything_after)
{
	struct proxy_info info;
	size_t used = 0;
	cr_assert_eq(parse("PROXY UNKNOWN\r\n", &info, &used), PROXY_OK);
	cr_assert_eq(info.family, PROXY_UNKNOWN);
	cr_assert_eq(used, 15);
	cr_assert_eq(parse("PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n", &info, &used), PROXY_OK);
}

Test(proxy, incomplete_prefixes_need_more)
{
	const char *full = "PROXY TCP4 192.0.2.1 198.51.100.7 1234 80\r\n";
	struct proxy_info info;
	size_t used = 7;
	for (size_t n = 0; n < strlen(full); n++)
		cr_assert_eq(proxy_parse_v1(full, n, &info, &used), PROXY_NEED_MORE, "prefix of %zu bytes", n);
	cr_assert_eq(used, 0);
	cr_assert_eq(proxy_parse_v1(full, strlen(full), &info, &used), PROXY_OK);
}

Test(proxy, invalid_lines)
{
	static const char *bad[] = {
		"GET / HTTP/1.1\r\n",
		"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
		"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n",
		"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
		"PROXY TCP4 ::1 ::1 1 2\r\n",
		"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP6 fc00:dead:beef:4dad::1:2%eth0 ::1 1 2\r\n",
		"PROXY \r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY UNKNOWN \r\n",
		"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proxy_info info;
		size_t used = 99;
		cr_assert_eq(parse(bad[i], &info, &used), PROXY_INVALID, "accepted: %s", bad[i]);
		cr_assert_eq(used, 0);
	}
}

Test(proxy, nul_and_high_bytes_rejected)
{
	struct proxy_info info;
	size_t used;
	const char nul[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
	cr_assert_eq(proxy_parse_v1(nul, sizeof(nul) - 1, &info, &used), PROXY_INVALID);
	cr_assert_eq(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xc3\xa9\r\n", &info, &used), PROXY_INVALID);
}

Test(proxy, length_limit_is_107_bytes)
{
	char line[200];
	struct proxy_info info;
	size_t used;
	/* UNKNOWN lets us pad: exactly 107 bytes with CRLF is fine, 108 is not. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + 105, "\r\n", 2);
	cr_assert_eq(proxy_parse_v1(line, 107, &info, &used), PROXY_OK);
	cr_assert_eq(used, 107);
	memset(line, 'a', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + 106, "\r\n", 2);
	cr_assert_eq(proxy_parse_v1(line, 108, &info, &used), PROXY_INVALID);
	/* 107 bytes with no CRLF: never going to be valid. */
	cr_assert_eq(proxy_parse_v1(line, 107, &info, &used), PROXY_INVALID);
	cr_assert_eq(proxy_parse_v1(line, 106, &info, &used), PROXY_NEED_MORE);
}

Test(proxy, longest_tcp6_line_fits)
{
	const char *s = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proxy_info info;
	size_t used;
	cr_assert_eq(strlen(s), 104);
	cr_assert_eq(parse(s, &info, &used), PROXY_OK);
	cr_assert_eq(info.circuit_id, 0);
}
