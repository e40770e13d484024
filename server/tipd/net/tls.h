/*
 * tls: server-side OpenSSL contexts for tipd's listeners.
 *
 * TLS 1.2 minimum and 1.3 preferred; TLS 1.2 only with ECDHE and AEAD
 * ciphers; no compression, no renegotiation. The source surface gets neither
 * session tickets nor a session cache (both let a server recognise a
 * returning source). The certificate and key can be reloaded (SIGHUP) without
 * touching existing connections: each SSL holds a reference to the SSL_CTX it
 * was made from, and only new connections see the new one.
 *
 * Thread-safe: new connections and reloads may happen on different threads.
 */
#ifndef TIPD_TLS_H
#define TIPD_TLS_H

#include <openssl/ssl.h>
#include <stdint.h>

#include "http_surface.h"

struct tls_ctx;

/* Load the PEM certificate chain and private key for `surface`; return the
 * context, or NULL (OpenSSL's reason logged) if a file does not load, the key
 * does not match the certificate, or OpenSSL fails. Caller frees. */
struct tls_ctx *tls_ctx_new(const char *cert_file, const char *key_file, enum http_surface surface);

/* Load the same files again into a new SSL_CTX and use it for new
 * connections if it loads and the key matches; return 0, or -1 (error logged)
 * keeping the old one. Existing connections are unaffected either way. */
int tls_ctx_reload(struct tls_ctx *t) __attribute__((warn_unused_result));

/* Write SHA-256 of the DER SubjectPublicKeyInfo of the current certificate
 * into `out`; return 0, or -1. */
int tls_ctx_pubkey_sha256(struct tls_ctx *t, uint8_t out[32]) __attribute__((warn_unused_result));

/* Return a new server-side SSL from the current context for one accepted
 * connection, or NULL (error logged). Caller owns it (SSL_free, or hand it to
 * a bufferevent with BEV_OPT_CLOSE_ON_FREE). */
SSL *tls_ctx_new_ssl(struct tls_ctx *t);

/* The surface this context was made for. */
enum http_surface tls_ctx_surface(const struct tls_ctx *t);

/* Free the context; connections made from it keep their SSL_CTX reference.
 * Accepts NULL. */
void tls_ctx_free(struct tls_ctx *t);

#endif
