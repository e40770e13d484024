#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define CLIENT_RBUF 16384
#define CLIENT_CHUNK_LINE_MAX 256
#define CLIENT_TRAILER_MAX 8192

struct client {
	char host[CLIENT_HOST_MAX];
	unsigned port;
	uint8_t pin[CLIENT_PIN_LEN];
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	unsigned served;  /* responses read on this connection */
	uint8_t rbuf[CLIENT_RBUF];
	size_t rpos, rlen;
	int eof;
};

int
client_parse_url(const char *url, char *host, unsigned *port)
{
	const char *p, *end;
	uint64_t v;
	char digits[8];
	size_t hl, dl;
	if (strncmp(url, "https://", 8) != 0)
		return -1;
	p = url + 8;
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		p++;
		hl = (size_t)(end - p);
		end++;
	} else {
		end = strchr(p, ':');
		if (end == NULL)
			return -1;
		hl = (size_t)(end - p);
	}
	if (hl == 0 || hl >= CLIENT_HOST_MAX)
		return -1;
	for (size_t i = 0; i < hl; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') &&
		    ch != '.' && ch != '-' && ch != ':' && ch != '_')
			return -1;
	}
	memcpy(host, p, hl);
	host[hl] = '\0';
	end++; /* past ':' */
	dl = strcspn(end, "/");
	if (dl == 0 || dl >= sizeof(digits) || (end[dl] == '/' && end[dl + 1] != '\0'))
		return -1;
	memcpy(digits, end, dl);
	digits[dl] = '\0';
	if (util_parse_u64(digits, 65535, &v) != 0 || v == 0)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int
client_parse_pin(const char *hex, uint8_t pin[CLIENT_PIN_LEN])
{
	size_t bin_len = 0;
	const char *end = NULL;
	if (strlen(hex) != 2 * CLIENT_PIN_LEN)
		return -1;
	if (sodium_hex2bin(pin, CLIENT_PIN_LEN, hex, 2 * CLIENT_PIN_LEN, NULL, &bin_len, &end) != 0 ||
	    bin_len != CLIENT_PIN_LEN || *end != '\0')
		return -1;
	return 0;
}

int
client_spki_sha256(X509 *cert, uint8_t out[CLIENT_PIN_LEN])
{
	unsigned char *der = NULL;
	X509_PUBKEY *pk = X509_get_X509_PUBKEY(cert);
	if (pk == NULL)
		return -1;
	int n = i2d_X509_PUBKEY(pk, &der);
	if (n <= 0)
		return -1;
	crypto_hash_sha256(out, der, (unsigned long long)n);
	OPENSSL_free(der);
	return 0;
}

/* Close the connection (not the client). */
static void
client_close(struct client *c)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rpos = c->rlen = 0;
	c->served = 0;
	c->eof = 0;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	client_close(c);
	SSL_CTX_free(c->ctx);
	free(c);
}

/* Connect `fd` to `sa` within CLIENT_TIMEOUT_MS. Return 0, or -1 with errno set. */
static int
connect_timeout(int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int flags = fcntl(fd, F_GETFL), soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return -1;
	if (connect(fd, sa, salen) != 0) {
		if (errno != EINPROGRESS)
			return -1;
		int r;
		while ((r = poll(&pfd, 1, CLIENT_TIMEOUT_MS)) < 0 && errno == EINTR)
			;
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			return -1;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			return -1;
		if (soerr != 0) {
			errno = soerr;
			return -1;
		}
	}
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_MS / 1000 };
	if (fcntl(fd, F_SETFL, flags) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	return 0;
}

/* The SOCKS5 proxy every connection goes through (client_set_socks5), if any. */
static struct {
	int on;
	char host[64];
	unsigned port;
} socks5;

int
client_set_socks5(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	char *end;
	uint8_t a[16];
	if (colon == NULL || colon == hostport || (size_t)(colon - hostport) >= sizeof(socks5.host))
		return -1;
	const char *h = hostport;
	size_t hl = (size_t)(colon - hostport);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(socks5.host, h, hl);
	socks5.host[hl] = '\0';
	errno = 0;
	unsigned long v = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || v == 0 || v > 65535 ||
	    (inet_pton(AF_INET, socks5.host, a) != 1 && inet_pton(AF_INET6, socks5.host, a) != 1))
		return -1;
	socks5.port = (unsigned)v;
	socks5.on = 1;
	return 0;
}

/* Open a TCP connection to `host` port `port` (numeric only if `numeric`).
 * Return the fd, or -1 with the reason in `err`. */
static int
tcp_open(const char *host, unsigned port, int numeric, char *err, size_t errlen);

/* What a SOCKS5 reply code means, Tor's extended codes included. */
static const char *
socks5_reason(unsigned rep)
{
	switch (rep) {
	case 0x01: return "general failure";
	case 0x02: return "not allowed by the proxy";
	case 0x03: return "network unreachable";
	case 0x04: return "host unreachable";
	case 0x05: return "connection refused";
	case 0x06: return "TTL expired (timed out)";
	case 0xf0: return "onion service descriptor not found";
	case 0xf1: return "onion service descriptor is invalid";
	case 0xf2: return "onion service introduction failed";
	case 0xf3: return "onion service rendezvous failed";
	case 0xf4: return "onion service needs client authorization (no key for it)";
	case 0xf5: return "onion service refused this client authorization key";
	case 0xf6: return "bad onion address";
	case 0xf7: return "onion service introduction timed out";
	default: return "refused";
	}
}

/* Read exactly `n` bytes from `fd`. Return 0, or -1. */
static int
read_full(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Ask the SOCKS5 proxy on `fd` (RFC 1928, no authentication) to connect to
 * the client's host by name, so that the proxy resolves it (an .onion
 * address only Tor can). Return 0, or -1 with the reason in `err`. */
static int
socks5_handshake(int fd, const struct client *c, char *err, size_t errlen)
{
	uint8_t req[4 + 1 + CLIENT_HOST_MAX + 2], rep[4 + 256 + 2];
	size_t hl = strlen(c->host), n = 0;
	if (hl == 0 || hl > 255) {
		util_errf(err, errlen, "host name too long for SOCKS5");
		return -1;
	}
	if (util_write_all(fd, (const uint8_t *)"\x05\x01\x00", 3) != 0 || read_full(fd, rep, 2) != 0 ||
	    rep[0] != 5 || rep[1] != 0) {
		util_errf(err, errlen, "the SOCKS5 proxy at %s port %u refused the greeting",
		            socks5.host, socks5.port);
		return -1;
	}
	req[n++] = 5, req[n++] = 1, req[n++] = 0, req[n++] = 3, req[n++] = (uint8_t)hl;
	memcpy(req + n, c->host, hl);
	n += hl;
	req[n++] = (uint8_t)(c->port >> 8), req[n++] = (uint8_t)(c->port & 0xff);
	if (util_write_all(fd, req, n) != 0 || read_full(fd, rep, 4) != 0 || rep[0] != 5) {
		util_errf(err, errlen, "no answer from the SOCKS5 proxy at %s port %u", socks5.host,
		            socks5.port);
		return -1;
	}
	if (rep[1] != 0) {
		util_errf(err, errlen, "cannot reach %s port %u through the SOCKS5 proxy: %s",
		            c->host, c->port, socks5_reason(rep[1]));
		return -1;
	}
	/* Skip the bound address: IPv4, a name, or IPv6; then the port. */
	size_t skip = rep[3] == 1 ? 4 : rep[3] == 4 ? 16 : 0;
	if (rep[3] == 3 && read_full(fd, rep, 1) == 0)
		skip = rep[0];
	if ((rep[3] != 1 && rep[3] != 3 && rep[3] != 4) || read_full(fd, rep, skip + 2) != 0) {
		util_errf(err, errlen, "a malformed answer from the SOCKS5 proxy");
		return -1;
	}
	return 0;
}

/* Open a TCP connection to the client's host and port, through the SOCKS5
 * proxy if one is set. Return the fd, or -1. */
static int
tcp_connect(const struct client *c, char *err, size_t errlen)
{
	if (!socks5.on)
		return tcp_open(c->host, c->port, 0, err, errlen);
	int fd = tcp_open(socks5.host, socks5.port, 1, err, errlen);
	if (fd >= 0 && socks5_handshake(fd, c, err, errlen) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int
tcp_open(const char *host, unsigned port, int numeric, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		                  .ai_flags = numeric ? AI_NUMERICHOST : 0 };
	struct addrinfo *res = NULL;
	char ps[8];
	int fd = -1, e = 0;
	snprintf(ps, sizeof(ps), "%u", port);
	int gr = getaddrinfo(host, ps, &hints, &res);
	if (gr != 0) {
		util_errf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gr));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect_timeout(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		util_errf(err, errlen, "cannot reach %s at %s port %u: %s",
		            numeric ? "the SOCKS5 proxy" : "the server", host, port,
		            strerror(e != 0 ? e : ECONNREFUSED));
	return fd;
}

/* Return 1 if `host` is an IP address literal. */
static int
host_is_ip(const char *host)
{
	uint8_t a[16];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* Check the peer's key against the pin. Return CLIENT_OK or CLIENT_ERR_PIN. */
static enum client_result
check_pin(struct client *c, char *err, size_t errlen)
{
	uint8_t got[CLIENT_PIN_LEN];
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	int ok = cert != NULL && client_spki_sha256(cert, got) == 0 &&
	         sodium_memcmp(got, c->pin, CLIENT_PIN_LEN) == 0;
	X509_free(cert);
	if (!ok) {
		util_errf(err, errlen,
		            "the server's TLS key does not match the pinned one: do not continue; "
		            "ask your admin");
		return CLIENT_ERR_PIN;
	}
	return CLIENT_OK;
}

/* Open the connection: TCP, TLS handshake, pin check. */
static enum client_result
client_connect(struct client *c, char *err, size_t errlen)
{
	client_close(c);
	if ((c->fd = tcp_connect(c, err, errlen)) < 0)
		return CLIENT_ERR_CONNECT;
	if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    (!host_is_ip(c->host) && SSL_set_tlsext_host_name(c->ssl, c->host) != 1)) {
		util_errf(err, errlen, "cannot set up TLS");
		client_close(c);
		return CLIENT_ERR_SYSTEM;
	}
	ERR_clear_error();
	if (SSL_connect(c->ssl) != 1) {
		unsigned long e = ERR_peek_last_error();
		char msg[256];
		ERR_error_string_n(e, msg, sizeof(msg));
		util_errf(err, errlen, "TLS handshake with %s port %u failed: %s", c->host, c->port,
		            e != 0 ? msg : "the connection was closed");
		ERR_clear_error();
		client_close(c);
		return CLIENT_ERR_TLS;
	}
	enum client_result r = check_pin(c, err, errlen);
	if (r != CLIENT_OK)
		client_close(c);
	return r;
}

/* Make the TLS context: TLS 1.2+, AEAD only, no renegotiation or compression. */
static SSL_CTX *
client_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	/* The pin is the trust anchor; it is checked after the handshake. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

enum client_result
client_open(const char *url, const uint8_t pin[CLIENT_PIN_LEN], struct client **out, char *err,
            size_t errlen)
{
	struct client *c = calloc(1, sizeof(*c));
	enum client_result r = CLIENT_ERR_SYSTEM;
	*out = NULL;
	if (c == NULL) {
		util_errf(err, errlen, "out of memory");
		return CLIENT_ERR_SYSTEM;
	}
	c->fd = -1;
	if (client_parse_url(url, c->host, &c->port) != 0) {
		util_errf(err, errlen, "bad server address (want https://HOST:PORT)");
		r = CLIENT_ERR_CONNECT;
		goto fail;
	}
	memcpy(c->pin, pin, CLIENT_PIN_LEN);
	if ((c->ctx = client_ctx_new()) == NULL) {
		util_errf(err, errlen, "cannot set up TLS");
		goto fail;
	}
	if ((r = client_connect(c, err, errlen)) != CLIENT_OK)
		goto fail;
	*out = c;
	return CLIENT_OK;
fail:
	client_free(c);
	return r;
}

/* Write all of `p` to the connection. Return 0, or -1. */
static int
conn_write(struct client *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int chunk = n > 65536 ? 65536 : (int)n;
		int w = SSL_write(c->ssl, p, chunk);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Refill the read buffer. Return the bytes read, 0 at end of stream, or -1. */
static int
conn_fill(struct client *c)
{
	if (c->eof)
		return 0;
	c->rpos = c->rlen = 0;
	int r = SSL_read(c->ssl, c->rbuf, sizeof(c->rbuf));
	if (r > 0) {
		c->rlen = (size_t)r;
		return r;
	}
	int e = SSL_get_error(c->ssl, r);
	ERR_clear_error();
	if (e == SSL_ERROR_ZERO_RETURN) {
		c->eof = 1;
		return 0;
	}
	return -1;
}

/* Read one byte. Return it, or -1 at end of stream or on error. */
static int
conn_byte(struct client *c)
{
	if (c->rpos == c->rlen && conn_fill(c) <= 0)
		return -1;
	return c->rbuf[c->rpos++];
}

/*
 * Read a response head (through the empty line) into `head`. Return 0, or
 * -1; *got tells whether any byte arrived.
 */
static int
read_head(struct client *c, struct buf *head, int *got)
{
	*got = 0;
	for (;;) {
		int ch = conn_byte(c);
		if (ch < 0)
			return -1;
		*got = 1;
		uint8_t b = (uint8_t)ch;
		if (buf_add(head, &b, 1) != 0)
			return -1;
		if (head->len >= 4 && memcmp(head->data + head->len - 4, "\r\n\r\n", 4) == 0)
			return 0;
	}
}

/* Return 1 if header `name` (`nl` bytes) is `want`, ignoring case. */
static int
hdr_is(const char *name, size_t nl, const char *want)
{
	return nl == strlen(want) && strncasecmp(name, want, nl) == 0;
}

/* Parse `n` bytes of decimal digits (at most `maxd`) into *out. Return 0, or -1. */
static int
parse_digits(const char *v, size_t n, size_t maxd, long long *out)
{
	long long x = 0;
	if (n == 0 || n > maxd)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

/* Return 1 if the comma-separated `v` (`n` bytes) holds the token `tok`, ignoring case. */
static int
has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;
	while (i < n) {
		size_t s = i, e;
		while (i < n && v[i] != ',')
			i++;
		e = i++;
		while (s < e && (v[s] == ' ' || v[s] == '\t'))
			s++;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

/* Apply one header field to the parse state. Return 0, or -1 if it is unacceptable. */
static int
apply_header(const char *name, size_t nl, const char *v, size_t vl, struct client_response *r,
             long long *cl, int *chunked, int *close)
{
	if (hdr_is(name, nl, "content-length")) {
		long long x;
		if (*cl >= 0 || parse_digits(v, vl, 18, &x) != 0)
			return -1;
		*cl = x;
	} else if (hdr_is(name, nl, "transfer-encoding")) {
		if (*chunked || vl != 7 || strncasecmp(v, "chunked", 7) != 0)
			return -1;
		*chunked = 1;
	} else if (hdr_is(name, nl, "connection")) {
		if (has_token(v, vl, "close"))
			*close = 1;
		else if (has_token(v, vl, "keep-alive"))
			*close = 0;
	} else if (hdr_is(name, nl, "content-type")) {
		size_t k = 0;
		while (k < vl && v[k] != ';' && v[k] != ' ' && k + 1 < sizeof(r->content_type)) {
			char ch = v[k];
			r->content_type[k++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
		}
		r->content_type[k] = '\0';
	} else if (hdr_is(name, nl, "retry-after")) {
		long long x;
		if (parse_digits(v, vl, 9, &x) == 0)
			r->retry_after = (long)x;
	}
	return 0;
}

/* Parse the status line at `p` (`n` bytes, no CRLF). Return 0, or -1. */
static int
parse_status_line(const char *p, size_t n, struct client_response *r, int *close)
{
	long long st;
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    parse_digits(p + 9, 3, 3, &st) != 0 || st < 100 || (n > 12 && p[12] != ' '))
		return -1;
	for (size_t i = 12; i < n; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
			return -1;
	r->status = (int)st;
	*close = p[7] == '0';
	return 0;
}

int
client_parse_head(const char *p, size_t n, struct client_response *r, long long *cl, int *chunked,
                  int *close)
{
	const char *end = p + n, *eol;
	r->status = 0;
	r->content_type[0] = '\0';
	r->retry_after = -1;
	*cl = -1;
	*chunked = 0;
	*close = 0;
	if ((eol = memmem(p, n, "\r\n", 2)) == NULL ||
	    parse_status_line(p, (size_t)(eol - p), r, close) != 0)
		return -1;
	for (p = eol + 2;; p = eol + 2) {
		if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			return -1;
		if (eol == p)
			break;
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p)
			return -1;
		for (const char *q = p; q < colon; q++)
			if (*q <= 0x20 || *q >= 0x7f)
				return -1; /* not a token (includes obs-fold and spaces before ':') */
		const char *v = colon + 1, *ve = eol;
		for (const char *q = v; q < ve; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
				return -1;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (apply_header(p, (size_t)(colon - p), v, (size_t)(ve - v), r, cl, chunked, close) != 0)
			return -1;
	}
	if (eol + 2 != end || (*chunked && *cl >= 0))
		return -1;
	return 0;
}

/* Append exactly `n` body bytes to `out`. Return 0, or -1 (*big if over the maximum). */
static int
read_exact(struct client *c, unsigned long long n, struct buf *out, int *big)
{
	while (n > 0) {
		if (c->rpos == c->rlen && conn_fill(c) <= 0)
			return -1;
		size_t k = c->rlen - c->rpos;
		if (k > n)
			k = (size_t)n;
		if (buf_add(out, c->rbuf + c->rpos, k) != 0) {
			*big = 1;
			return -1;
		}
		c->rpos += k;
		n -= k;
	}
	return 0;
}

/* Read a CRLF-terminated line of at most `max` - 1 bytes into `line`. Return 0, or -1. */
static int
read_crlf_line(struct client *c, char *line, size_t max)
{
	size_t n = 0;
	for (;;) {
		int ch = conn_byte(c);
		if (ch < 0 || n + 1 >= max)
			return -1;
		line[n++] = (char)ch;
		if (n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n') {
			line[n - 2] = '\0';
			return 0;
		}
	}
}

/* Read a chunked body (and its trailers) into `out`. Return 0, or -1. */
static int
read_chunked(struct client *c, struct buf *out, int *big)
{
	char line[CLIENT_CHUNK_LINE_MAX];
	for (;;) {
		unsigned long long size = 0;
		size_t i = 0;
		if (read_crlf_line(c, line, sizeof(line)) != 0)
			return -1;
		for (; line[i] != '\0' && line[i] != ';'; i++) {
			int d = line[i] >= '0' && line[i] <= '9'   ? line[i] - '0'
			        : line[i] >= 'a' && line[i] <= 'f' ? line[i] - 'a' + 10
			        : line[i] >= 'A' && line[i] <= 'F' ? line[i] - 'A' + 10
			                                           : -1;
			if (d < 0 || i >= 15)
				return -1;
			size = size * 16 + (unsigned long long)d;
		}
		if (i == 0)
			return -1;
		if (size == 0)
			break;
		if (read_exact(c, size, out, big) != 0 || read_crlf_line(c, line, 3) != 0 ||
		    line[0] != '\0')
			return -1;
	}
	for (size_t total = 0;;) { /* trailers, ignored */
		if (read_crlf_line(c, line, sizeof(line)) != 0)
			return -1;
		if (line[0] == '\0')
			return 0;
		if ((total += strlen(line)) > CLIENT_TRAILER_MAX)
			return -1;
	}
}

/* Read a body that ends when the server closes the connection. Return 0, or -1. */
static int
read_to_close(struct client *c, struct buf *out, int *big)
{
	for (;;) {
		if (c->rpos < c->rlen) {
			if (buf_add(out, c->rbuf + c->rpos, c->rlen - c->rpos) != 0) {
				*big = 1;
				return -1;
			}
			c->rpos = c->rlen;
		}
		int r = conn_fill(c);
		if (r == 0)
			return 0;
		if (r < 0)
			return -1;
	}
}

/* Build the request head (and body) in `req`. Return 0, or -1. */
static int
build_request(const struct client *c, const char *method, const char *path, const char *token,
              const char *ctype, const void *body, size_t n, struct buf *req)
{
	int v6 = strchr(c->host, ':') != NULL;
	if (buf_printf(req, "%s %s HTTP/1.1\r\nHost: %s%s%s:%u\r\nAccept: application/json\r\n",
	               method, path, v6 ? "[" : "", c->host, v6 ? "]" : "", c->port) != 0)
		return -1;
	if (token != NULL && buf_printf(req, "Authorization: Bearer %s\r\n", token) != 0)
		return -1;
	if (ctype != NULL && buf_printf(req, "Content-Type: %s\r\n", ctype) != 0)
		return -1;
	if ((body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0) &&
	    buf_printf(req, "Content-Length: %zu\r\n", n) != 0)
		return -1;
	if (buf_adds(req, "\r\n") != 0 || (n > 0 && buf_add(req, body, n) != 0))
		return -1;
	return 0;
}

/* Read the body that follows the head according to its framing. Return 0, or -1. */
static enum client_result
read_body(struct client *c, const char *method, struct client_response *r, long long cl,
          int chunked, int *close, char *err, size_t errlen)
{
	int big = 0, rc = 0;
	if (strcmp(method, "HEAD") == 0 || r->status == 204 || r->status == 304)
		rc = 0;
	else if (chunked)
		rc = read_chunked(c, &r->body, &big);
	else if (cl >= 0)
		rc = read_exact(c, (unsigned long long)cl, &r->body, &big);
	else {
		rc = read_to_close(c, &r->body, &big);
		*close = 1;
	}
	if (rc != 0) {
		util_errf(err, errlen, big ? "the server's answer is too large"
		                             : "the server's answer was cut short");
		return CLIENT_ERR_PROTO;
	}
	return CLIENT_OK;
}

/* One attempt on the current connection. *retry is set if nothing came back on a reused one. */
static enum client_result
request_once(struct client *c, const char *method, const struct buf *req,
             struct client_response *r, int *retry, char *err, size_t errlen)
{
	struct buf head;
	long long cl;
	int chunked, close = 0, got = 0;
	enum client_result res = CLIENT_ERR_PROTO;
	*retry = 0;
	buf_init(&head, CLIENT_HEAD_MAX);
	if (conn_write(c, req->data, req->len) != 0 || read_head(c, &head, &got) != 0) {
		*retry = c->served > 0 && !got;
		util_errf(err, errlen, got ? "the server's answer is malformed or too large"
		                             : "the server closed the connection");
		res = got ? CLIENT_ERR_PROTO : CLIENT_ERR_CONNECT;
		goto out;
	}
	if (client_parse_head((const char *)head.data, head.len, r, &cl, &chunked, &close) != 0 ||
	    r->status < 200) {
		util_errf(err, errlen, "the server's answer is malformed");
		goto out;
	}
	buf_reset(&r->body);
	if ((res = read_body(c, method, r, cl, chunked, &close, err, errlen)) != CLIENT_OK)
		goto out;
	c->served++;
	if (close)
		client_close(c);
out:
	if (res != CLIENT_OK)
		client_close(c);
	buf_free(&head);
	return res;
}

enum client_result
client_request(struct client *c, const char *method, const char *path, const char *token,
               const char *ctype, const void *body, size_t n, struct client_response *r,
               char *err, size_t errlen)
{
	struct buf req;
	enum client_result res = CLIENT_ERR_SYSTEM;
	int retry = 0;
	buf_init_secure(&req, CLIENT_HEAD_MAX + n);
	if (path[0] != '/' || strpbrk(path, " \r\n") != NULL ||
	    (token != NULL && strpbrk(token, "\r\n") != NULL) ||
	    build_request(c, method, path, token, ctype, body, n, &req) != 0) {
		util_errf(err, errlen, "cannot build the request");
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->ssl == NULL && (res = client_connect(c, err, errlen)) != CLIENT_OK)
			goto out;
		res = request_once(c, method, &req, r, &retry, err, errlen);
		if (res == CLIENT_OK || !retry)
			break;
	}
out:
	buf_free(&req);
	return res;
}
