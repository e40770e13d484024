/*
 * fake_tls: a throwaway TLS server for tipctl's unit tests, in a thread of
 * the test process. It makes a fresh P-256 key and self-signed certificate,
 * listens on 127.0.0.1 port 0, and answers each request with what the
 * test's handler writes. Included by the tests (static functions only).
 */
#ifndef TIPCTL_TEST_FAKE_TLS_H
#define TIPCTL_TEST_FAKE_TLS_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"

struct fake_req {
	char method[16];
	char path[1024];
	char auth[512];   /* Authorization header value, "" if none */
	char head[8192];  /* the whole request head */
	uint8_t body[65536];
	size_t body_len;
};

struct fake;
/* Write the complete raw HTTP response to `resp`; return 1 to close the connection after it. */
typedef int (*fake_handler)(struct fake *f, const struct fake_req *req, struct buf *resp);

struct fake {
	SSL_CTX *ctx;
	X509 *cert;
	EVP_PKEY *key;
	int lfd;
	int port;
	pthread_t th;
	uint8_t pin[32];
	char pin_hex[65];
	char url[64];
	fake_handler handler;
	void *user;
	atomic_int stop;
	atomic_int nconn;
	atomic_int nreq;
	struct fake_req last;
};

/* Make a self-signed certificate for a fresh P-256 key. */
static void
fake_make_cert(struct fake *f)
{
	f->key = EVP_EC_gen("P-256");
	cr_assert_not_null(f->key);
	f->cert = X509_new();
	cr_assert_not_null(f->cert);
	cr_assert_eq(X509_set_version(f->cert, 2), 1);
	cr_assert_eq(ASN1_INTEGER_set(X509_get_serialNumber(f->cert), 1), 1);
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notBefore(f->cert), -60));
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notAfter(f->cert), 3600));
	cr_assert_eq(X509_set_pubkey(f->cert, f->key), 1);
	X509_NAME *n = X509_get_subject_name(f->cert);
	cr_assert_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
	                                        -1, -1, 0),
	             1);
	cr_assert_eq(X509_set_issuer_name(f->cert, n), 1);
	cr_assert(X509_sign(f->cert, f->key, EVP_sha256()) > 0);
	/* The pin, computed independently of client.c: SHA-256 of the SPKI DER. */
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(f->key, &der);
	cr_assert(len > 0);
	crypto_hash_sha256(f->pin, der, (unsigned long long)len);
	OPENSSL_free(der);
	for (int i = 0; i < 32; i++)
		snprintf(f->pin_hex + 2 * i, 3, "%02x", f->pin[i]);
}

/* Read one request from `ssl` into `r`. Return 0, or -1 at end of stream. */
static int
fake_read_req(SSL *ssl, struct fake_req *r)
{
	size_t n = 0;
	memset(r, 0, sizeof(*r));
	for (;;) {
		if (n + 1 >= sizeof(r->head))
			return -1;
		if (SSL_read(ssl, r->head + n, 1) != 1)
			return -1;
		n++;
		if (n >= 4 && memcmp(r->head + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	r->head[n] = '\0';
	if (sscanf(r->head, "%15s %1023s", r->method, r->path) != 2)
		return -1;
	const char *a = strcasestr(r->head, "\r\nAuthorization: ");
	if (a != NULL) {
		a += 17;
		size_t l = strcspn(a, "\r");
		if (l >= sizeof(r->auth))
			l = sizeof(r->auth) - 1;
		memcpy(r->auth, a, l);
	}
	const char *cl = strcasestr(r->head, "\r\nContent-Length: ");
	if (cl != NULL) {
		size_t want = strtoul(cl + 18, NULL, 10);
		if (want > sizeof(r->body))
			return -1;
		while (r->body_len < want) {
			int k = SSL_read(ssl, r->body + r->body_len, (int)(want - r->body_len));
			if (k <= 0)
				return -1;
			r->body_len += (size_t)k;
		}
	}
	return 0;
}

/* Serve one connection. */
static void
fake_serve(struct fake *f, int fd)
{
	SSL *ssl = SSL_new(f->ctx);
	static struct fake_req req; /* one server thread per test */
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1)
		goto out;
	for (;;) {
		struct buf resp;
		if (fake_read_req(ssl, &req) != 0)
			break;
		atomic_fetch_add(&f->nreq, 1);
		f->last = req;
		buf_init(&resp, 64u << 20);
		int close_after = f->handler(f, &req, &resp);
		int ok = resp.len == 0 || SSL_write(ssl, resp.data, (int)resp.len) == (int)resp.len;
		buf_free(&resp);
		if (!ok || close_after)
			break;
	}
	(void)SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	close(fd);
}

static void *
fake_thread(void *arg)
{
	struct fake *f = arg;
	while (!atomic_load(&f->stop)) {
		struct pollfd p = { .fd = f->lfd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&f->nconn, 1);
		fake_serve(f, fd);
	}
	return NULL;
}

/* Start the server with `handler`; `max_tls` limits its protocol version (0: any). */
static void
fake_start(struct fake *f, fake_handler handler, int max_tls)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	memset(f, 0, sizeof(*f));
	f->handler = handler;
	fake_make_cert(f);
	f->ctx = SSL_CTX_new(TLS_server_method());
	cr_assert_not_null(f->ctx);
	if (max_tls != 0) {
		SSL_CTX_set_security_level(f->ctx, 0);
		cr_assert_eq(SSL_CTX_set_min_proto_version(f->ctx, TLS1_VERSION), 1);
		cr_assert_eq(SSL_CTX_set_max_proto_version(f->ctx, max_tls), 1);
		cr_assert_eq(SSL_CTX_set_cipher_list(f->ctx, "ALL:@SECLEVEL=0"), 1);
	}
	cr_assert_eq(SSL_CTX_use_certificate(f->ctx, f->cert), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(f->ctx, f->key), 1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(f->lfd >= 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->lfd, 16), 0);
	cr_assert_eq(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d", f->port);
	cr_assert_eq(pthread_create(&f->th, NULL, fake_thread, f), 0);
}

static void
fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->th, NULL);
	close(f->lfd);
	SSL_CTX_free(f->ctx);
	X509_free(f->cert);
	EVP_PKEY_free(f->key);
}

/* Append a response with `status`, `ctype` and `body` (Content-Length framing). */
static void
fake_reply(struct buf *resp, int status, const char *ctype, const char *body)
{
	cr_assert_eq(buf_printf(resp, "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
	                        status, ctype, strlen(body), body),
	             0);
}

#endif
