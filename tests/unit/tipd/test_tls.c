/*
 * Tests for tipd's TLS contexts, through a real listener on 127.0.0.1 and an
 * OpenSSL client, with throwaway self-signed certificates.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "tls.h"

static struct {
	struct event_base *base;
	struct http_listener *l;
	struct tls_ctx *tls;
	pthread_t thr;
	int port;
	char dir[64];
	char cert[128];
	char key[128];
} srv;

/* ---- certificates ---- */

/* Write a fresh P-256 key and a self-signed certificate for it; store the
 * SHA-256 of its SubjectPublicKeyInfo in `spki` if not NULL. */
static void
make_cert(const char *cert_path, const char *key_path, uint8_t spki[32])
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	cr_assert_not_null(pk);
	X509 *x = X509_new();
	cr_assert_not_null(x);
	cr_assert_eq(X509_set_version(x, 2), 1);
	cr_assert_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	X509_NAME *name = X509_get_subject_name(x);
	cr_assert_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0),
	             1);
	cr_assert_eq(X509_set_issuer_name(x, name), 1);
	cr_assert_eq(X509_set_pubkey(x, pk), 1);
	cr_assert_gt(X509_sign(x, pk, EVP_sha256()), 0);
	FILE *f = fopen(cert_path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	f = fopen(key_path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	if (spki != NULL) {
		unsigned char *der = NULL;
		int len = i2d_PUBKEY(pk, &der);
		cr_assert_gt(len, 0);
		cr_assert_eq(EVP_Digest(der, (size_t)len, spki, NULL, EVP_sha256(), NULL), 1);
		OPENSSL_free(der);
	}
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void
dir_setup(void)
{
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/h3-tlsXXXXXX");
	cr_assert_not_null(mkdtemp(srv.dir));
	snprintf(srv.cert, sizeof(srv.cert), "%s/cert.pem", srv.dir);
	snprintf(srv.key, sizeof(srv.key), "%s/key.pem", srv.dir);
}

static void
dir_cleanup(void)
{
	char p[160];
	unlink(srv.cert);
	unlink(srv.key);
	snprintf(p, sizeof(p), "%s/other.pem", srv.dir);
	unlink(p);
	rmdir(srv.dir);
}

/* ---- server ---- */

static void
hello_complete(struct http_request *req)
{
	http_respond(req, 200, "text/plain", "hello", 5, NULL);
}

static void
no_abort(struct http_request *req)
{
	(void)req;
}

static const struct http_handler h_hello = {NULL, hello_complete, no_abort};

static const struct http_handler *
router(struct http_request *req, void *arg)
{
	(void)req;
	(void)arg;
	return &h_hello;
}

static void *
loop_thread(void *arg)
{
	(void)arg;
	event_base_loop(srv.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void
srv_start(enum http_surface surface, uint8_t spki[32])
{
	struct http_listener_conf c = {0};
	cr_assert_eq(evthread_use_pthreads(), 0);
	dir_setup();
	make_cert(srv.cert, srv.key, spki);
	srv.tls = tls_ctx_new(srv.cert, srv.key, surface);
	cr_assert_not_null(srv.tls);
	srv.base = event_base_new();
	c.bind = "127.0.0.1:0";
	c.tls = srv.tls;
	c.surface = surface;
	c.router = router;
	http_limits_default(&c.limits);
	c.limits.handshake_ms = 400;
	srv.l = http_listener_new(srv.base, &c);
	cr_assert_not_null(srv.l);
	srv.port = http_listener_port(srv.l);
	cr_assert_eq(pthread_create(&srv.thr, NULL, loop_thread, NULL), 0);
}

static void
srv_stop(void)
{
	event_base_loopbreak(srv.base);
	pthread_join(srv.thr, NULL);
	http_listener_free(srv.l);
	(void)event_base_loop(srv.base, EVLOOP_NONBLOCK);
	event_base_free(srv.base);
	tls_ctx_free(srv.tls);
	dir_cleanup();
}

/* ---- client ---- */

static int
tcp_connect(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
	struct timeval tv = {3, 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static SSL_CTX *
client_ctx(int minv, int maxv, const char *ciphers)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	cr_assert_not_null(ctx);
	SSL_CTX_set_security_level(ctx, 0);
	cr_assert_eq(SSL_CTX_set_min_proto_version(ctx, minv), 1);
	cr_assert_eq(SSL_CTX_set_max_proto_version(ctx, maxv), 1);
	if (ciphers != NULL)
		cr_assert_eq(SSL_CTX_set_cipher_list(ctx, ciphers), 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	return ctx;
}

/* Connect with TLS (optionally resuming `sess`); return the SSL, or NULL if
 * the handshake failed. *fd receives the socket. */
static SSL *
tls_connect(SSL_CTX *ctx, SSL_SESSION *sess, int *fd)
{
	*fd = tcp_connect();
	SSL *ssl = SSL_new(ctx);
	cr_assert_not_null(ssl);
	cr_assert_eq(SSL_set_fd(ssl, *fd), 1);
	if (sess != NULL)
		cr_assert_eq(SSL_set_session(ssl, sess), 1);
	if (SSL_connect(ssl) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		close(*fd);
		*fd = -1;
		return NULL;
	}
	return ssl;
}

/* Send a GET and check the answer is 200 "hello". */
static void
tls_get(SSL *ssl)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096];
	size_t len = 0;
	cr_assert_eq(SSL_write(ssl, req, sizeof(req) - 1), (int)sizeof(req) - 1);
	while (len < sizeof(buf) - 1) {
		int n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - 1 - len));
		cr_assert_gt(n, 0, "TLS read failed");
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\nhello") != NULL)
			break;
	}
	cr_assert_eq(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
}

static void
tls_close(SSL *ssl, int fd)
{
	(void)SSL_shutdown(ssl); /* else OpenSSL marks the session not resumable */
	SSL_free(ssl);
	close(fd);
}

static void
peer_spki(SSL *ssl, uint8_t out[32])
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	cr_assert_not_null(peer);
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(X509_get0_pubkey(peer), &der);
	cr_assert_gt(len, 0);
	cr_assert_eq(EVP_Digest(der, (size_t)len, out, NULL, EVP_sha256(), NULL), 1);
	OPENSSL_free(der);
	X509_free(peer);
}

/* ---- tests ---- */

Test(tls, handshake_and_request_tls13)
{
	int fd;
	uint8_t want[32], got[32];
	srv_start(HTTP_SURFACE_REVIEW, want);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION, NULL);
	SSL *ssl = tls_connect(ctx, NULL, &fd);
	cr_assert_not_null(ssl, "handshake failed");
	cr_assert_eq(SSL_version(ssl), TLS1_3_VERSION, "TLS 1.3 was not preferred");
	tls_get(ssl);
	tls_get(ssl); /* keep-alive over TLS */
	peer_spki(ssl, got);
	cr_assert_eq(memcmp(want, got, 32), 0);
	cr_assert_eq(tls_ctx_pubkey_sha256(srv.tls, got), 0);
	cr_assert_eq(memcmp(want, got, 32), 0);
	tls_close(ssl, fd);
	SSL_CTX_free(ctx);
	srv_stop();
}

Test(tls, tls12_needs_ecdhe_aead)
{
	int fd;
	srv_start(HTTP_SURFACE_REVIEW, NULL);
	SSL_CTX *ok = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION, "DEFAULT:@SECLEVEL=0");
	SSL *ssl = tls_connect(ok, NULL, &fd);
	cr_assert_not_null(ssl);
	const char *cipher = SSL_get_cipher_name(ssl);
	cr_assert(strstr(cipher, "ECDHE") == cipher && (strstr(cipher, "GCM") || strstr(cipher, "CHACHA20")),
	          "negotiated %s", cipher);
	tls_get(ssl);
	tls_close(ssl, fd);
	SSL_CTX *cbc = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256");
	cr_assert_null(tls_connect(cbc, NULL, &fd), "CBC or static-RSA cipher accepted");
	SSL_CTX_free(ok);
	SSL_CTX_free(cbc);
	srv_stop();
}

Test(tls, tls11_is_refused)
{
	int fd;
	srv_start(HTTP_SURFACE_SOURCE, NULL);
	SSL_CTX *old = client_ctx(TLS1_1_VERSION, TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0");
	cr_assert_null(tls_connect(old, NULL, &fd), "TLS 1.1 accepted");
	SSL_CTX_free(old);
	srv_stop();
}

/* Connect, fetch, return the session the client got. */
static SSL_SESSION *
first_session(SSL_CTX *ctx)
{
	int fd;
	SSL *ssl = tls_connect(ctx, NULL, &fd);
	cr_assert_not_null(ssl);
	tls_get(ssl); /* TLS 1.3 tickets arrive after the handshake */
	SSL_SESSION *s = SSL_get1_session(ssl);
	cr_assert_not_null(s);
	tls_close(ssl, fd);
	return s;
}

static int
resumed(SSL_CTX *ctx, SSL_SESSION *s)
{
	int fd;
	SSL *ssl = tls_connect(ctx, s, &fd);
	cr_assert_not_null(ssl);
	int r = SSL_session_reused(ssl);
	tls_get(ssl);
	tls_close(ssl, fd);
	return r;
}

Test(tls, source_surface_offers_no_resumption)
{
	static const int versions[] = {TLS1_3_VERSION, TLS1_2_VERSION};
	srv_start(HTTP_SURFACE_SOURCE, NULL);
	for (size_t i = 0; i < 2; i++) {
		SSL_CTX *ctx = client_ctx(versions[i], versions[i], NULL);
		SSL_SESSION *s = first_session(ctx);
		cr_assert_eq(SSL_SESSION_has_ticket(s), 0, "a session ticket was sent");
		cr_assert_eq(resumed(ctx, s), 0, "a session was resumed");
		SSL_SESSION_free(s);
		SSL_CTX_free(ctx);
	}
	srv_stop();
}

Test(tls, review_surface_may_resume)
{
	/* The control for the test above: resumption is detectable here. */
	srv_start(HTTP_SURFACE_REVIEW, NULL);
	SSL_CTX *ctx = client_ctx(TLS1_3_VERSION, TLS1_3_VERSION, NULL);
	SSL_SESSION *s = first_session(ctx);
	cr_assert_eq(SSL_SESSION_has_ticket(s), 1);
	cr_assert_eq(resumed(ctx, s), 1);
	SSL_SESSION_free(s);
	SSL_CTX_free(ctx);
	srv_stop();
}

Test(tls, reload_swaps_certificate_and_bad_reload_keeps_it)
{
	int fd_old, fd;
	uint8_t a[32], b[32], got[32];
	char other[160];
	srv_start(HTTP_SURFACE_SOURCE, a);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION, NULL);
	SSL *before = tls_connect(ctx, NULL, &fd_old);
	cr_assert_not_null(before);
	tls_get(before);

	make_cert(srv.cert, srv.key, b);
	cr_assert_eq(tls_ctx_reload(srv.tls), 0);
	cr_assert_eq(tls_ctx_pubkey_sha256(srv.tls, got), 0);
	cr_assert_eq(memcmp(got, b, 32), 0);
	SSL *after = tls_connect(ctx, NULL, &fd);
	cr_assert_not_null(after);
	peer_spki(after, got);
	cr_assert_eq(memcmp(got, b, 32), 0, "new connection did not get the new certificate");
	tls_close(after, fd);
	tls_get(before); /* the old connection is untouched */
	peer_spki(before, got);
	cr_assert_eq(memcmp(got, a, 32), 0);
	tls_close(before, fd_old);

	/* A key that does not match the certificate: refused, B stays. */
	snprintf(other, sizeof(other), "%s/other.pem", srv.dir);
	make_cert(other, srv.key, NULL);
	cr_assert_eq(tls_ctx_reload(srv.tls), -1);
	/* A garbage key file: refused, B stays. */
	FILE *f = fopen(srv.key, "w");
	cr_assert_not_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	cr_assert_eq(tls_ctx_reload(srv.tls), -1);
	after = tls_connect(ctx, NULL, &fd);
	cr_assert_not_null(after, "service broken by a failed reload");
	peer_spki(after, got);
	cr_assert_eq(memcmp(got, b, 32), 0);
	tls_get(after);
	tls_close(after, fd);
	SSL_CTX_free(ctx);
	srv_stop();
}

Test(tls, missing_files_fail_cleanly)
{
	dir_setup();
	cr_assert_null(tls_ctx_new("/nonexistent/cert.pem", "/nonexistent/key.pem", HTTP_SURFACE_SOURCE));
	make_cert(srv.cert, srv.key, NULL);
	cr_assert_null(tls_ctx_new(srv.cert, "/nonexistent/key.pem", HTTP_SURFACE_REVIEW));
	cr_assert_null(tls_ctx_new(srv.key, srv.key, HTTP_SURFACE_REVIEW)); /* key as cert */
	struct tls_ctx *t = tls_ctx_new(srv.cert, srv.key, HTTP_SURFACE_REVIEW);
	cr_assert_not_null(t);
	cr_assert_eq(tls_ctx_surface(t), HTTP_SURFACE_REVIEW);
	tls_ctx_free(t);
	tls_ctx_free(NULL);
	dir_cleanup();
}

Test(tls, silent_client_is_cut_at_handshake_deadline)
{
	srv_start(HTTP_SURFACE_SOURCE, NULL);
	int fd = tcp_connect();
	char c;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ssize_t n = recv(fd, &c, 1, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "not closed (n=%zd)", n);
	cr_assert_geq(ms, 300);
	cr_assert_lt(ms, 2000);
	close(fd);
	srv_stop();
}

Test(tls, plain_http_to_tls_listener_is_closed)
{
	srv_start(HTTP_SURFACE_SOURCE, NULL);
	int fd = tcp_connect();
	static const char req[] = "GET / HTTP/1.1\r\n\r\n";
	cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	char buf[256];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		cr_assert(memcmp(buf, "HTTP/", 5) != 0 || n < 5, "plain HTTP answered on TLS");
	cr_assert(n == 0 || errno == ECONNRESET);
	close(fd);
	srv_stop();
}
