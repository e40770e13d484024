/*
 * proxy: a strict parser for the PROXY protocol version 1 line that Tor's
 * HiddenServiceExportCircuitID haproxy (or a TCP balancer) sends first.
 *
 * The parser is pure (no I/O, no allocation) so that it can be unit-tested
 * and fuzzed. The addresses it returns are for the caller to drop at once:
 * tipd keeps only the circuit id, in memory, and never logs or stores it.
 */
#ifndef TIPD_PROXY_H
#define TIPD_PROXY_H

#include <stddef.h>
#include <stdint.h>

/* Longest PROXY v1 line, CRLF included (haproxy's proxy-protocol.txt). */
#define PROXY_V1_MAX 107

enum proxy_result {
	PROXY_OK = 0,    /* a complete, valid line was parsed */
	PROXY_NEED_MORE, /* valid so far but incomplete: read more bytes */
	PROXY_INVALID,   /* not a valid PROXY v1 line: close the connection */
};

enum proxy_family { PROXY_UNKNOWN = 0, PROXY_TCP4, PROXY_TCP6 };

struct proxy_info {
	enum proxy_family family;
	uint8_t src[16]; /* network order; 4 bytes used for TCP4 */
	uint8_t dst[16];
	uint16_t src_port;
	uint16_t dst_port;
	/* 1 if the source is in Tor's fc00:dead:beef:4dad::/64: then circuit_id
	 * holds the low 32 bits of the source address. */
	int has_circuit;
	uint32_t circuit_id;
};

/*
 * Parse the PROXY v1 line at the start of the `n` bytes at `p` (which need not
 * be NUL-terminated). On PROXY_OK fill `out` and set `consumed` to the line
 * length (CRLF included); the bytes after it belong to the next protocol.
 * PROXY_NEED_MORE if the bytes so far are a valid prefix shorter than
 * PROXY_V1_MAX without CRLF; PROXY_INVALID for anything else. `out` and
 * `consumed` are only written on PROXY_OK (zeroed otherwise).
 */
enum proxy_result proxy_parse_v1(const char *p, size_t n, struct proxy_info *out, size_t *consumed)
	__attribute__((warn_unused_result));

#endif
