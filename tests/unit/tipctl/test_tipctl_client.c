/*
 * Tests for tipctl's HTTPS client (server/tipctl/client.c): the TLS key
 * pin against a throwaway TLS server in a thread (right pin connects, any
 * other key is refused before a request is sent), TLS versions, response
 * framing (Content-Length, chunked, until close), limits, keep-alive reuse
 * and reconnects, and the parsers for URLs, pins and response heads.
 */
#include <criterion/criterion.h>
#include <signal.h>

#include "client.h"
#include "fake_tls.h"

static void
init(void)
{
	cr_assert(sodium_init() >= 0);
	signal(SIGPIPE, SIG_IGN);
}

TestSuite(client, .init = init, .timeout = 30);

static int
h_hello(struct fake *f, const struct fake_req *r, struct buf *resp)
{
	(void)f;
	(void)r;
	fake_reply(resp, 200, "application/json; charset=utf-8", "{\"hello\":1}");
	return 0;
}

/* Open a client on `f` with `pin`; return the result. */
static enum client_result
open_with(struct fake *f, const uint8_t *pin, struct client **c, char *err, size_t errlen)
{
	return client_open(f->url, pin, c, err, errlen);
}

Test(client, right_pin_connects_and_requests)
{
	struct fake f;
	struct client *c = NULL;
	struct client_response r;
	char err[256] = "";
	fake_start(&f, h_hello, 0);
	cr_assert_eq(open_with(&f, f.pin, &c, err, sizeof(err)), CLIENT_OK, "%s", err);
	buf_init(&r.body, 1024);
	cr_assert_eq(client_request(c, "GET", "/api/v1/x", "tok_en-1", NULL, NULL, 0, &r, err,
	                            sizeof(err)),
	             CLIENT_OK, "%s", err);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.content_type, "application/json");
	cr_assert_str_eq(buf_cstr(&r.body), "{\"hello\":1}");
	cr_assert_str_eq(f.last.auth, "Bearer tok_en-1");
	cr_assert_str_eq(f.last.path, "/api/v1/x");
	cr_assert(strstr(f.last.head, "\r\nHost: 127.0.0.1:") != NULL);
	buf_free(&r.body);
	client_free(c);
	fake_stop(&f);
}

Test(client, wrong_pin_is_refused_before_any_request)
{
	struct fake f;
	struct client *c = NULL;
	char err[256] = "";
	uint8_t bad[32];
	fake_start(&f, h_hello, 0);
	for (int bit = 0; bit < 256; bit += 85) { /* a single flipped bit anywhere is enough */
		memcpy(bad, f.pin, 32);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(open_with(&f, bad, &c, err, sizeof(err)), CLIENT_ERR_PIN);
		cr_assert_null(c);
		cr_assert(strstr(err, "does not match the pinned one: do not continue; ask your admin") != NULL,
		          "%s", err);
	}
	cr_assert_eq(atomic_load(&f.nreq), 0, "a request was sent to an unpinned server");
	fake_stop(&f);
}

Test(client, pin_is_spki_hash_not_certificate_hash)
{
	struct fake f;
	uint8_t got[32], certhash[32];
	unsigned char *der = NULL;
	fake_start(&f, h_hello, 0);
	cr_assert_eq(client_spki_sha256(f.cert, got), 0);
	cr_assert_eq(memcmp(got, f.pin, 32), 0);
	int n = i2d_X509(f.cert, &der);
	crypto_hash_sha256(certhash, der, (unsigned long long)n);
	OPENSSL_free(der);
	cr_assert_neq(memcmp(certhash, f.pin, 32), 0);
	fake_stop(&f);
}

Test(client, old_tls_is_refused)
{
	struct fake f;
	struct client *c = NULL;
	char err[256] = "";
	fake_start(&f, h_hello, TLS1_1_VERSION);
	cr_assert_eq(open_with(&f, f.pin, &c, err, sizeof(err)), CLIENT_ERR_TLS, "%s", err);
	cr_assert_null(c);
	fake_stop(&f);
}

Test(client, unreachable_server)
{
	struct client *c = NULL;
	char err[256] = "";
	uint8_t pin[32] = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char url[64];
	/* Find a free port, then close it so that nothing listens there. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", ntohs(sa.sin_port));
	cr_assert_eq(client_open(url, pin, &c, err, sizeof(err)), CLIENT_ERR_CONNECT);
	cr_assert(strstr(err, "cannot reach the server") != NULL, "%s", err);
	cr_assert(strstr(err, "refused") != NULL, "%s", err);
}

static int
h_chunked(struct fake *f, const struct fake_req *r, struct buf *resp)
{
	(void)f;
	(void)r;
	cr_assert_eq(buf_adds(resp, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	                            "Content-Type: application/octet-stream\r\n\r\n"
	                            "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"),
	             0);
	return 0;
}

Test(client, chunked_body)
{
	struct fake f;
	struct client *c = NULL;
	struct client_response r;
	char err[256] = "";
	fake_start(&f, h_chunked, 0);
	cr_assert_eq(open_with(&f, f.pin, &c, err, sizeof(err)), CLIENT_OK, "%s", err);
	buf_init(&r.body, 1024);
	for (int i = 0; i < 2; i++) { /* twice on the same connection */
		cr_assert_eq(client_request(c, "GET", "/a", NULL, NULL, NULL, 0, &r, err, sizeof(err)),
		             CLIENT_OK, "%s", err);
		cr_assert_str_eq(buf_cstr(&r.body), "hello 0123456789");
	}
	cr_assert_eq(atomic_load(&f.nconn), 1, "the connection was not kept alive");
	buf_free(&r.body);
	client_free(c);
	fake_stop(&f);
}

static int
h_until_close(struct fake *f, const struct fake_req *r, struct buf *resp)
{
	(void)f;
	(void)r;
	cr_assert_eq(buf_adds(resp, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"), 0);
	return 1;
}

Test(client, body_until_close_then_reconnects)
{
	struct fake f;
	struct client *c = NULL;
	struct client_response r;
	char err[256] = "";
	fake_start(&f, h_until_close, 0);
	cr_assert_eq(open_with(&f, f.pin, &c, err, sizeof(err)), CLIENT_OK, "%s", err);
	buf_init(&r.body, 1024);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(client_request(c, "POST", "/b", NULL, "application/json", "{}", 2, &r, err,
		                            sizeof(err)),
		             CLIENT_OK, "%s", err);
		cr_assert_str_eq(buf_cstr(&r.body), "all of it");
		cr_assert_eq(f.last.body_len, 2);
	}
	cr_assert_eq(atomic_load(&f.nconn), 3, "the opened connection serves the first request, "
	             "then one new connection per request");
	buf_free(&r.body);
	client_free(c);
	fake_stop(&f);
}

static int
h_silent_close(struct fake *f, const struct fake_req *r, struct buf *resp)
{
	(void)f;
	(void)r;
	fake_reply(resp, 200, "text/plain", "ok");
	return 1; /* closes although it said nothing: a keep-alive timeout */
}

Test(client, reused_connection_closed_by_server_is_retried_once)
{
	struct fake f;
	struct client *c = NULL;
	struct client_response r;
	char err[256] = "";
	fake_start(&f, h_silent_close, 0);
	cr_assert_eq(open_with(&f, f.pin, &c, err, sizeof(err)), CLIENT_OK, "%s", err);
	buf_init(&r.body, 1024);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(client_request(c, "GET", "/c", NULL, NULL, NULL, 0, &r, err, sizeof(err)),
		             CLIENT_OK, "request %d: %s", i, err);
		cr_assert_str_eq(buf_cstr(&r.body), "ok");
	}
	cr_assert_eq(atomic_load(&f.nreq), 3);
	buf_free(&r.body);
	client_free(c);
	fake_stop(&f);
}

static int
h_big(struct fake *f, const struct fake_req *r, struct buf *resp)
{
	(void)f;
	(void)r;
	cr_assert_eq(buf_adds(resp, "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n"), 0);
	cr_assert_eq(buf_fill(resp, 'x', 2000), 0);
	return 0;
}

Test(client, body_over_the_callers_maximum_is_refused)
{
	struct fake f;
	struct client *c = NULL;
	struct client_response r;
	char err[256] = "";
	fake_start(&f, h_big, 0);
	cr_assert_eq(open_with(&f, f.pin, &c, err, sizeof(err)), CLIENT_OK, "%s", err);
	buf_init(&r.body, 1999);
	cr_assert_eq(client_request(c, "GET", "/d", NULL, NULL, NULL, 0, &r, err, sizeof(err)),
	             CLIENT_ERR_PROTO);
	cr_assert(strstr(err, "too large") != NULL, "%s", err);
	buf_free(&r.body);
	buf_init(&r.body, 2000);
	cr_assert_eq(client_request(c, "GET", "/d", NULL, NULL, NULL, 0, &r, err, sizeof(err)),
	             CLIENT_OK, "%s", err);
	cr_assert_eq(r.body.len, 2000);
	buf_free(&r.body);
	client_free(c);
	fake_stop(&f);
}

static int
h_short(struct fake *f, const struct fake_req *r, struct buf *resp)
{
	(void)f;
	(void)r;
	cr_assert_eq(buf_adds(resp, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"), 0);
	return 1;
}

Test(client, truncated_body_is_an_error)
{
	struct fake f;
	struct client *c = NULL;
	struct client_response r;
	char err[256] = "";
	fake_start(&f, h_short, 0);
	cr_assert_eq(open_with(&f, f.pin, &c, err, sizeof(err)), CLIENT_OK, "%s", err);
	buf_init(&r.body, 1024);
	cr_assert_eq(client_request(c, "GET", "/e", NULL, NULL, NULL, 0, &r, err, sizeof(err)),
	             CLIENT_ERR_PROTO);
	cr_assert(strstr(err, "cut short") != NULL, "%s", err);
	buf_free(&r.body);
	client_free(c);
	fake_stop(&f);
}

Test(client, request_refuses_injection_in_path_and_token)
{
	struct fake f;
	struct client *c = NULL;
	struct client_response r;
	char err[256] = "";
	fake_start(&f, h_hello, 0);
	cr_assert_eq(open_with(&f, f.pin, &c, err, sizeof(err)), CLIENT_OK, "%s", err);
	buf_init(&r.body, 1024);
	cr_assert_neq(client_request(c, "GET", "/a b", NULL, NULL, NULL, 0, &r, err, sizeof(err)),
	              CLIENT_OK);
	cr_assert_neq(client_request(c, "GET", "/a\r\nX: y", NULL, NULL, NULL, 0, &r, err,
	                             sizeof(err)),
	              CLIENT_OK);
	cr_assert_neq(client_request(c, "GET", "/a", "t\r\nX: y", NULL, NULL, 0, &r, err, sizeof(err)),
	              CLIENT_OK);
	cr_assert_neq(client_request(c, "GET", "relative", NULL, NULL, NULL, 0, &r, err, sizeof(err)),
	              CLIENT_OK);
	cr_assert_eq(atomic_load(&f.nreq), 0);
	buf_free(&r.body);
	client_free(c);
	fake_stop(&f);
}

Test(client, parse_url)
{
	char host[CLIENT_HOST_MAX];
	unsigned port;
	cr_assert_eq(client_parse_url("https://127.0.0.1:8443", host, &port), 0);
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_eq(port, 8443);
	cr_assert_eq(client_parse_url("https://[::1]:443/", host, &port), 0);
	cr_assert_str_eq(host, "::1");
	cr_assert_eq(port, 443);
	cr_assert_eq(client_parse_url("https://review.example.onion:1", host, &port), 0);
	cr_assert_str_eq(host, "review.example.onion");
	static const char *const bad[] = {
		"http://127.0.0.1:80", "https://127.0.0.1",       "https://:443",
		"https://h:0",         "https://h:65536",          "https://h:443/path",
		"https://h:44a",       "https://h:-1",             "https://h:+1",
		"https://[::1:443",    "https://h/x:443",          "https://h h:443",
		"https://h:443?x",     "https://user@h:443",       "",
		"https://h:",          "https://h:1234567",        "HTTPS://h:443",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(client_parse_url(bad[i], host, &port), -1, "accepted %s", bad[i]);
}

Test(client, parse_pin)
{
	uint8_t pin[32];
	char hex[65];
	for (int i = 0; i < 64; i++)
		hex[i] = "0123456789abcdef"[i % 16];
	hex[64] = '\0';
	cr_assert_eq(client_parse_pin(hex, pin), 0);
	cr_assert_eq(pin[0], 0x01);
	cr_assert_eq(pin[31], 0xef);
	hex[0] = 'A';
	cr_assert_eq(client_parse_pin(hex, pin), 0, "upper case is fine");
	hex[0] = 'g';
	cr_assert_eq(client_parse_pin(hex, pin), -1);
	hex[0] = '0';
	hex[63] = '\0';
	cr_assert_eq(client_parse_pin(hex, pin), -1, "63 digits");
	cr_assert_eq(client_parse_pin("", pin), -1);
	char longer[70];
	memset(longer, 'a', 66);
	longer[66] = '\0';
	cr_assert_eq(client_parse_pin(longer, pin), -1);
	memset(longer, 'a', 64);
	longer[30] = ' ';
	longer[64] = '\0';
	cr_assert_eq(client_parse_pin(longer, pin), -1);
}

/* Parse `head`; return the parser's result. */
static int
ph(const char *head, struct client_response *r, long long *cl, int *ch, int *cls)
{
	return client_parse_head(head, strlen(head), r, cl, ch, cls);
}

Test(client, parse_head_good)
{
	struct client_response r;
	long long cl;
	int ch, cls;
	cr_assert_eq(ph("HTTP/1.1 429 Too Many\r\nRetry-After: 17\r\nContent-Length: 5\r\n"
	                "content-type:  Application/Problem+JSON ; charset=utf-8 \r\n\r\n",
	                &r, &cl, &ch, &cls),
	             0);
	cr_assert_eq(r.status, 429);
	cr_assert_eq(r.retry_after, 17);
	cr_assert_eq(cl, 5);
	cr_assert_eq(ch, 0);
	cr_assert_eq(cls, 0);
	cr_assert_str_eq(r.content_type, "application/problem+json");
	cr_assert_eq(ph("HTTP/1.1 204\r\nConnection: keep-alive, close\r\n\r\n", &r, &cl, &ch, &cls), 0);
	cr_assert_eq(r.status, 204);
	cr_assert_eq(cls, 1);
	cr_assert_eq(cl, -1);
	cr_assert_eq(ph("HTTP/1.0 200 OK\r\n\r\n", &r, &cl, &ch, &cls), 0);
	cr_assert_eq(cls, 1, "HTTP/1.0 closes by default");
	cr_assert_eq(ph("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nRetry-After: soon\r\n\r\n",
	                &r, &cl, &ch, &cls),
	             0);
	cr_assert_eq(ch, 1);
	cr_assert_eq(r.retry_after, -1);
}

Test(client, parse_head_bad)
{
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\r\n",                                           /* no end */
		"HTTP/2 200 OK\r\n\r\n",                                         /* version */
		"HTTP/1.1 20 OK\r\n\r\n",                                        /* status */
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 1\n\n",                        /* bare LF */
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", /* duplicate */
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",                          /* obs-fold */
		"HTTP/1.1 200 OK\r\nName : x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nextra",
		"HTTP/1.1 200 O\x1bK\r\n\r\n",
	};
	struct client_response r;
	long long cl;
	int ch, cls;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(ph(bad[i], &r, &cl, &ch, &cls), -1, "accepted #%zu", i);
}
