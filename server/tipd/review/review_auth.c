#include "review_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"

/* ---- nonces ---- */

struct rv_nonces {
	uint8_t *key; /* RV_NONCE_KEY_LEN bytes in sodium_malloc memory */
};

struct rv_nonces *
rv_nonces_new(const uint8_t key[RV_NONCE_KEY_LEN])
{
	struct rv_nonces *n = calloc(1, sizeof(*n));
	if (n == NULL || (n->key = sodium_malloc(RV_NONCE_KEY_LEN)) == NULL) {
		free(n);
		return NULL;
	}
	memcpy(n->key, key, RV_NONCE_KEY_LEN);
	return n;
}

/* Read the 64 hex digits of the key file at `path` into `key`. Return 0 or -1. */
static int
nonce_key_read(const char *path, uint8_t key[RV_NONCE_KEY_LEN])
{
	size_t len = 0;
	char *hex = util_read_file(path, 256, &len);
	int rc = hex != NULL && len >= 2 * RV_NONCE_KEY_LEN &&
	         (len == 2 * RV_NONCE_KEY_LEN ||
	          (len == 2 * RV_NONCE_KEY_LEN + 1 && hex[len - 1] == '\n')) &&
	         sodium_hex2bin(key, RV_NONCE_KEY_LEN, hex, 2 * RV_NONCE_KEY_LEN, NULL, NULL,
	                        NULL) == 0 ? 0 : -1;
	if (hex != NULL) {
		sodium_memzero(hex, len);
		free(hex);
	}
	return rc;
}

/* Make the key file at `path` (mode 0600, O_EXCL). Return 0, or -1 with errno. */
static int
nonce_key_create(const char *path)
{
	uint8_t key[RV_NONCE_KEY_LEN];
	char hex[2 * RV_NONCE_KEY_LEN + 2];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), rc = -1;
	if (fd < 0)
		return -1;
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	hex[2 * RV_NONCE_KEY_LEN] = '\n';
	if (util_write_all(fd, hex, sizeof(hex) - 1) == 0 && fsync(fd) == 0)
		rc = 0;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) != 0)
		rc = -1;
	if (rc != 0)
		unlink(path);
	return rc;
}

struct rv_nonces *
rv_nonces_load(const char *path, char *err, size_t errlen)
{
	uint8_t key[RV_NONCE_KEY_LEN];
	struct stat st;
	if (nonce_key_create(path) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return NULL;
	}
	if (stat(path, &st) != 0 || (st.st_mode & 077) != 0 || nonce_key_read(path, key) != 0) {
		snprintf(err, errlen, "%s: not a login nonce key (64 hex digits, mode 0600)", path);
		return NULL;
	}
	struct rv_nonces *n = rv_nonces_new(key);
	sodium_memzero(key, sizeof(key));
	if (n == NULL)
		snprintf(err, errlen, "out of memory");
	return n;
}

int
rv_nonces_check(const struct rv_nonces *n, uint8_t out[32])
{
	return proto_key_check(n->key, RV_NONCE_KEY_LEN, "nonce", out);
}

void
rv_nonces_free(struct rv_nonces *n)
{
	if (n == NULL)
		return;
	sodium_free(n->key);
	free(n);
}

/* Decode `s` as base64url without padding of exactly 32 bytes. */
static int
b64url_32(const char *s, uint8_t out[32])
{
	size_t bin_len = 0;
	size_t len = strnlen(s, RV_B64URL_32);
	if (len != RV_B64URL_32 - 1 ||
	    util_base64_decode(s, len, out, 32, &bin_len,
	                       sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bin_len != 32)
		return -1;
	return 0;
}

/* The tag of a nonce: HMAC-SHA-256 under the key of the purpose line, the
 * issue time and the random bytes (the first 16 of `v`), first 16 bytes. */
static void
nonce_tag(const struct rv_nonces *n, const uint8_t v[RV_NONCE_LEN], uint8_t tag[16])
{
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, n->key, RV_NONCE_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)RV_NONCE_PURPOSE,
	                              sizeof(RV_NONCE_PURPOSE) - 1);
	crypto_auth_hmacsha256_update(&st, v, 16);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(tag, mac, 16);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
}

int
rv_nonce_issue(const struct rv_nonces *n, int64_t now, char out[RV_B64URL_32])
{
	uint8_t v[RV_NONCE_LEN];
	if (now < 0 || now > UINT32_MAX)
		return -1;
	v[0] = (uint8_t)(now >> 24);
	v[1] = (uint8_t)(now >> 16);
	v[2] = (uint8_t)(now >> 8);
	v[3] = (uint8_t)now;
	randombytes_buf(v + 4, 12);
	nonce_tag(n, v, v + 16);
	sodium_bin2base64(out, RV_B64URL_32, v, sizeof(v), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

int
rv_nonce_check(const struct rv_nonces *n, const char *s, int64_t now,
               uint8_t raw[RV_NONCE_LEN], int64_t *expires)
{
	uint8_t tag[16];
	if (s == NULL || b64url_32(s, raw) != 0)
		return -1;
	nonce_tag(n, raw, tag);
	int64_t t = (int64_t)raw[0] << 24 | (int64_t)raw[1] << 16 | (int64_t)raw[2] << 8 | raw[3];
	int ok = sodium_memcmp(tag, raw + 16, sizeof(tag)) == 0 && t > now - RV_NONCE_TTL &&
	         t <= now + RV_NONCE_AHEAD;
	sodium_memzero(tag, sizeof(tag));
	*expires = t + RV_NONCE_TTL;
	return ok ? 0 : -1;
}

/* ---- login body, message and signature ---- */

/* Decode standard base64 (with padding) of exactly `n` bytes. */
static int
b64_exact(const char *s, uint8_t *out, size_t n)
{
	size_t len = strlen(s), bin_len = 0;
	if (len != 4 * ((n + 2) / 3) ||
	    util_base64_decode(s, len, out, n, &bin_len, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != n)
		return -1;
	return 0;
}

/* Take one field of the login object; return 0, or -1 if it is wrong. */
static int
login_field(const char *key, json_t *v, struct rv_login *out, unsigned *seen)
{
	if (strcmp(key, "nonce") == 0) {
		const char *s = json_string_value(v);
		if (s == NULL || json_string_length(v) != RV_B64URL_32 - 1)
			return -1;
		memcpy(out->nonce, s, RV_B64URL_32);
		*seen |= 1;
		return 0;
	}
	if (strcmp(key, "ed25519") == 0) {
		const char *s = json_string_value(v);
		if (s == NULL || json_string_length(v) != strlen(s) ||
		    b64_exact(s, out->pk, RV_PK_LEN) != 0)
			return -1;
		out->have_pk = 1;
		*seen |= 2;
		return 0;
	}
	if (strcmp(key, "signature") == 0) {
		const char *s = json_string_value(v);
		if (s == NULL || json_string_length(v) != strlen(s) ||
		    b64_exact(s, out->sig, RV_SIG_LEN) != 0)
			return -1;
		*seen |= 4;
		return 0;
	}
	if (strcmp(key, "time") == 0) {
		if (!json_is_integer(v))
			return -1;
		out->time = (int64_t)json_integer_value(v);
		*seen |= 8;
		return 0;
	}
	return -1;
}

int
rv_login_parse(const uint8_t *body, size_t len, struct rv_login *out)
{
	json_error_t e;
	json_t *doc, *v;
	const char *key;
	unsigned seen = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > RV_LOGIN_MAX_BODY)
		return -1;
	doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &e);
	if (doc == NULL)
		return -1;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -1;
	}
	/* Look at the nonce and key first, so that they are known even when
	 * another field is wrong. */
	if ((v = json_object_get(doc, "nonce")) != NULL && login_field("nonce", v, out, &seen) != 0)
		rc = -1;
	if ((v = json_object_get(doc, "ed25519")) != NULL &&
	    login_field("ed25519", v, out, &seen) != 0)
		rc = -1;
	json_object_foreach(doc, key, v) {
		if (login_field(key, v, out, &seen) != 0)
			rc = -1;
	}
	json_decref(doc);
	return rc == 0 && seen == 15 ? 0 : -1;
}

int
rv_login_message(const char *origin, const char *tls_hex, const char *nonce, int64_t time,
                 struct buf *out)
{
	return proto_login_message(origin, tls_hex, nonce, time, out);
}

int
rv_login_verify(const struct rv_login *l, const char *origin, const char *tls_hex)
{
	struct buf msg;
	int rc = -1;
	buf_init(&msg, 4096);
	if (rv_login_message(origin, tls_hex, l->nonce, l->time, &msg) == 0 &&
	    crypto_sign_verify_detached(l->sig, msg.data, msg.len, l->pk) == 0)
		rc = 0;
	buf_free(&msg);
	return rc;
}

/* ---- tokens ---- */

void
rv_token_new(char text[RV_B64URL_32], uint8_t sha[32])
{
	uint8_t raw[RV_TOKEN_LEN];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(text, RV_B64URL_32, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(sha, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

int
rv_bearer_parse(const char *authorization, uint8_t sha[32])
{
	uint8_t raw[RV_TOKEN_LEN];
	static const char scheme[] = "Bearer ";
	if (authorization == NULL || strncmp(authorization, scheme, sizeof(scheme) - 1) != 0)
		return -1;
	if (b64url_32(authorization + sizeof(scheme) - 1, raw) != 0 ||
	    authorization[sizeof(scheme) - 1 + RV_B64URL_32 - 1] != '\0')
		return -1;
	crypto_hash_sha256(sha, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return 0;
}
