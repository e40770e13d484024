/*
 * tls: server-side OpenSSL contexts (see tls.h).
 */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* TLS 1.2: forward secrecy and AEAD only. TLS 1.3 keeps OpenSSL's defaults
 * (all AEAD). */
static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct tls_ctx {
	pthread_mutex_t lock; /* guards ctx */
	SSL_CTX *ctx;
	char *cert_file;
	char *key_file;
	enum http_surface surface;
};

/* Log the OpenSSL error queue (library reasons only, never peer data) and clear it. */
static void
tls_log_errors(const char *what)
{
	unsigned long e;
	int any = 0;
	while ((e = ERR_get_error()) != 0) {
		char msg[256];
		ERR_error_string_n(e, msg, sizeof(msg));
		log_error("tls: %s: %s", what, msg);
		any = 1;
	}
	if (!any)
		log_error("tls: %s failed", what);
}

static int
tls_set_policy(SSL_CTX *ctx, enum http_surface surface)
{
	uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE;
	if (surface == HTTP_SURFACE_SOURCE)
		opts |= SSL_OP_NO_TICKET;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return -1;
	if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1)
		return -1;
	SSL_CTX_set_options(ctx, opts);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (surface == HTTP_SURFACE_SOURCE) {
		if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
			return -1;
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	} else {
		static const unsigned char sid_ctx[] = "tipline-review";
		if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1)
			return -1;
	}
	return 0;
}

/* Build a fully configured SSL_CTX from the files; return it, or NULL (logged). */
static SSL_CTX *
tls_load(const char *cert_file, const char *key_file, enum http_surface surface)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_log_errors("SSL_CTX_new");
		goto fail;
	}
	if (tls_set_policy(ctx, surface) != 0) {
		tls_log_errors("setting the TLS policy");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		tls_log_errors("loading the certificate");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		tls_log_errors("loading the private key");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_log_errors("the private key does not match the certificate");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_ctx *
tls_ctx_new(const char *cert_file, const char *key_file, enum http_surface surface)
{
	struct tls_ctx *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return NULL;
	}
	t->surface = surface;
	t->cert_file = strdup(cert_file);
	t->key_file = strdup(key_file);
	if (t->cert_file == NULL || t->key_file == NULL)
		goto fail;
	t->ctx = tls_load(cert_file, key_file, surface);
	if (t->ctx == NULL)
		goto fail;
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

int
tls_ctx_reload(struct tls_ctx *t)
{
	SSL_CTX *fresh = tls_load(t->cert_file, t->key_file, t->surface);
	if (fresh == NULL) {
		log_warn("tls: reload failed, keeping the current certificate");
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	SSL_CTX *old = t->ctx;
	t->ctx = fresh;
	pthread_mutex_unlock(&t->lock);
	SSL_CTX_free(old); /* connections made from it hold their own reference */
	log_info("tls: certificate reloaded");
	return 0;
}

int
tls_ctx_pubkey_sha256(struct tls_ctx *t, uint8_t out[32])
{
	unsigned char *der = NULL;
	int rc = -1;
	pthread_mutex_lock(&t->lock);
	X509 *cert = SSL_CTX_get0_certificate(t->ctx);
	EVP_PKEY *pk = cert != NULL ? X509_get0_pubkey(cert) : NULL;
	int len = pk != NULL ? i2d_PUBKEY(pk, &der) : -1;
	pthread_mutex_unlock(&t->lock);
	if (len <= 0) {
		tls_log_errors("encoding the public key");
		goto fail;
	}
	unsigned int mdlen = 0;
	if (EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		tls_log_errors("hashing the public key");
		goto fail;
	}
	rc = 0;
fail:
	OPENSSL_free(der);
	return rc;
}

SSL *
tls_ctx_new_ssl(struct tls_ctx *t)
{
	pthread_mutex_lock(&t->lock);
	SSL *ssl = SSL_new(t->ctx);
	pthread_mutex_unlock(&t->lock);
	if (ssl == NULL)
		tls_log_errors("SSL_new");
	return ssl;
}

enum http_surface
tls_ctx_surface(const struct tls_ctx *t)
{
	return t->surface;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t->cert_file);
	free(t->key_file);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
