/*
 * client: a small blocking HTTPS/1.1 client for tipctl on OpenSSL.
 *
 * The trust anchor is a pin: the SHA-256 of the server's TLS
 * SubjectPublicKeyInfo (DER), given by the admin out of band. No CA chain,
 * no host name check and no trust on first use: a server whose key does not
 * hash to the pin is refused right after the handshake, before a single byte
 * of a request is sent. TLS 1.2 (AEAD ciphers only) or 1.3, no
 * renegotiation, no compression.
 *
 * One connection is kept alive between requests and re-opened (and
 * re-pinned) when the server closes it.
 */
#ifndef TIPCTL_CLIENT_H
#define TIPCTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#include "buf.h"

#define CLIENT_PIN_LEN 32
#define CLIENT_HOST_MAX 256
#define CLIENT_TIMEOUT_MS 60000 /* connect, and each read or write (Tor is slow) */
#define CLIENT_HEAD_MAX 16384   /* most bytes of a response's status line and headers */

enum client_result {
	CLIENT_OK = 0,
	CLIENT_ERR_CONNECT = -1, /* cannot resolve or reach the server, or it timed out */
	CLIENT_ERR_TLS = -2,     /* the TLS handshake failed */
	CLIENT_ERR_PIN = -3,     /* the server's key does not match the pin */
	CLIENT_ERR_PROTO = -4,   /* a malformed or oversized HTTP response */
	CLIENT_ERR_SYSTEM = -5   /* out of memory, or a library failure */
};

/* An HTTP response. Initialise `body` (with its maximum) before the request. */
struct client_response {
	int status;
	char content_type[128]; /* media type without parameters, lower case; "" if none */
	long retry_after;       /* seconds from Retry-After, or -1 */
	struct buf body;
};

struct client;

/*
 * Send every later connection through the SOCKS5 proxy at "IP:PORT" (or
 * "[IPv6]:PORT"), e.g. Tor's SocksPort 127.0.0.1:9050 to reach an .onion
 * review address: the proxy resolves the server's name. Return 0, or -1 if
 * `hostport` is malformed (a proxy is named by address, never resolved).
 */
int client_set_socks5(const char *hostport) __attribute__((warn_unused_result));

/*
 * Parse "https://HOST:PORT" (HOST a name, an IPv4 address or [IPv6]; an
 * optional trailing "/"). Store the host without brackets in `host`
 * (CLIENT_HOST_MAX bytes) and the port. Return 0, or -1 if malformed.
 */
int client_parse_url(const char *url, char *host, unsigned *port)
	__attribute__((warn_unused_result));

/* Parse 64 hex digits (either case) into `pin`. Return 0, or -1. */
int client_parse_pin(const char *hex, uint8_t pin[CLIENT_PIN_LEN])
	__attribute__((warn_unused_result));

/* Store the SHA-256 of the DER SubjectPublicKeyInfo of `cert` in `out`. Return 0, or -1. */
int client_spki_sha256(X509 *cert, uint8_t out[CLIENT_PIN_LEN]) __attribute__((warn_unused_result));

/*
 * Connect to `url` and check the server's key against `pin` (copied).
 * On CLIENT_OK store a new client in *out (free with client_free);
 * otherwise return the failure, with a short English reason in `err`.
 */
enum client_result client_open(const char *url, const uint8_t pin[CLIENT_PIN_LEN],
                               struct client **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Close the connection and free the client (NULL is fine). */
void client_free(struct client *c);

/*
 * Send `method` `path` (which must start with "/") with an optional Bearer
 * `token` and an optional body of `n` bytes of `ctype`, and read the whole
 * response into `r` (r->body must be initialised; a body over its maximum
 * is CLIENT_ERR_PROTO). A reused connection the server has closed is
 * re-opened once. Return CLIENT_OK (any HTTP status), or a failure with
 * the reason in `err`.
 */
enum client_result client_request(struct client *c, const char *method, const char *path,
                                  const char *token, const char *ctype, const void *body,
                                  size_t n, struct client_response *r, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Parse a complete HTTP/1.1 response head (status line and headers, up
 * to and including the empty line) of `n` bytes into `r`'s status,
 * content type and Retry-After, and the body framing: *content_length
 * (-1 if absent), *chunked, *close. Return 0, or -1 if malformed.
 */
int client_parse_head(const char *p, size_t n, struct client_response *r, long long *content_length,
                      int *chunked, int *close) __attribute__((warn_unused_result));

#endif
