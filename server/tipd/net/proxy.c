/*
 * proxy: PROXY protocol v1 line parser (see proxy.h).
 *
 * Grammar (haproxy proxy-protocol.txt, section 2.1), accepted strictly:
 *   "PROXY" SP ( "UNKNOWN" [ SP *printable ] / proto SP src SP dst SP sport SP dport ) CRLF
 *   proto = "TCP4" / "TCP6"; addresses checked with inet_pton for the family;
 *   ports are 0-65535 in decimal without leading zeros.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <string.h>

static const char proxy_sig[] = "PROXY ";
static const uint8_t tor_prefix[12] = {0xfc, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x4d, 0xad, 0, 0, 0, 0};

struct cursor {
	const char *p;
	size_t len;
	size_t pos;
};

/* Take the next token (bytes up to a single space or the end); return 0, or
 * -1 if it is empty or the separator is not exactly one space. */
static int
next_token(struct cursor *c, const char **tok, size_t *toklen)
{
	size_t start = c->pos;
	while (c->pos < c->len && c->p[c->pos] != ' ')
		c->pos++;
	if (c->pos == start)
		return -1;
	*tok = c->p + start;
	*toklen = c->pos - start;
	if (c->pos < c->len) {
		c->pos++; /* the one space */
		if (c->pos == c->len)
			return -1; /* trailing space */
	}
	return 0;
}

static int
parse_addr(const char *tok, size_t len, int af, uint8_t out[16])
{
	char tmp[INET6_ADDRSTRLEN];
	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, tok, len);
	tmp[len] = '\0';
	return inet_pton(af, tmp, out) == 1 ? 0 : -1;
}

static int
parse_port(const char *tok, size_t len, uint16_t *out)
{
	uint32_t v = 0;
	if (len == 0 || len > 5 || (len > 1 && tok[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(tok[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Find the end of the line: return PROXY_OK with *eol at the CR, or another result. */
static enum proxy_result
find_eol(const char *p, size_t n, size_t *eol)
{
	size_t lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX;
	for (size_t i = 0; i < lim; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '\r') {
			if (i + 1 >= lim)
				return (n < PROXY_V1_MAX) ? PROXY_NEED_MORE : PROXY_INVALID;
			if (p[i + 1] != '\n')
				return PROXY_INVALID;
			*eol = i;
			return PROXY_OK;
		}
		if (ch < 0x20 || ch > 0x7e)
			return PROXY_INVALID;
	}
	return (n < PROXY_V1_MAX) ? PROXY_NEED_MORE : PROXY_INVALID;
}

static enum proxy_result
parse_tcp(struct cursor *c, int af, struct proxy_info *info)
{
	const char *tok;
	size_t len;
	if (next_token(c, &tok, &len) != 0 || parse_addr(tok, len, af, info->src) != 0)
		return PROXY_INVALID;
	if (next_token(c, &tok, &len) != 0 || parse_addr(tok, len, af, info->dst) != 0)
		return PROXY_INVALID;
	if (next_token(c, &tok, &len) != 0 || parse_port(tok, len, &info->src_port) != 0)
		return PROXY_INVALID;
	if (next_token(c, &tok, &len) != 0 || parse_port(tok, len, &info->dst_port) != 0)
		return PROXY_INVALID;
	if (c->pos != c->len)
		return PROXY_INVALID;
	if (af == AF_INET6 && memcmp(info->src, tor_prefix, sizeof(tor_prefix)) == 0) {
		info->has_circuit = 1;
		info->circuit_id = ((uint32_t)info->src[12] << 24) | ((uint32_t)info->src[13] << 16) |
		                   ((uint32_t)info->src[14] << 8) | (uint32_t)info->src[15];
	}
	return PROXY_OK;
}

enum proxy_result
proxy_parse_v1(const char *p, size_t n, struct proxy_info *out, size_t *consumed)
{
	struct proxy_info info;
	size_t eol = 0;
	const char *tok;
	size_t len;

	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if (n == 0)
		return PROXY_NEED_MORE;
	size_t sig = n < sizeof(proxy_sig) - 1 ? n : sizeof(proxy_sig) - 1;
	if (memcmp(p, proxy_sig, sig) != 0)
		return PROXY_INVALID;
	enum proxy_result r = find_eol(p, n, &eol);
	if (r != PROXY_OK)
		return r;

	memset(&info, 0, sizeof(info));
	struct cursor c = {p, eol, sizeof(proxy_sig) - 1};
	if (next_token(&c, &tok, &len) != 0)
		return PROXY_INVALID;
	if (len == 7 && memcmp(tok, "UNKNOWN", 7) == 0) {
		info.family = PROXY_UNKNOWN; /* the rest of the line is ignored */
		r = PROXY_OK;
	} else if (len == 4 && memcmp(tok, "TCP4", 4) == 0) {
		info.family = PROXY_TCP4;
		r = parse_tcp(&c, AF_INET, &info);
	} else if (len == 4 && memcmp(tok, "TCP6", 4) == 0) {
		info.family = PROXY_TCP6;
		r = parse_tcp(&c, AF_INET6, &info);
	} else {
		r = PROXY_INVALID;
	}
	if (r == PROXY_OK) {
		*out = info;
		*consumed = eol + 2;
	}
	memset(&info, 0, sizeof(info));
	return r;
}
