#include "websec.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "util.h"

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define TOKEN_PT 10  /* version, kind, expiry (8, big-endian) */
/* version, lookup id (32), signing seed (32), report uuid (36), team (64,
 * NUL-padded: every cookie has the same length), expiry (8) */
#define COOKIE_PT (1 + 32 + 32 + 36 + 64 + 8)
#define MAX_SEALED (NONCE + COOKIE_PT + TAG)

static const char AD_TOKEN[] = "tipline/v1/form-token";
static const char AD_COOKIE[] = "tipline/v1/inbox-cookie";

struct websec {
	uint8_t token_key[32];
	uint8_t cookie_key[32];
	uint8_t check[PROTO_KEY_CHECK_LEN]; /* of the [web] key itself (hostkeys) */
};

struct websec *
websec_new(const uint8_t *key)
{
	uint8_t master[crypto_kdf_KEYBYTES];
	struct websec *w = sodium_malloc(sizeof(*w));
	if (w == NULL)
		return NULL;
	if (key != NULL)
		memcpy(master, key, sizeof(master));
	else
		randombytes_buf(master, sizeof(master));
	if (crypto_kdf_derive_from_key(w->token_key, 32, 1, "tl-form_", master) != 0 ||
	    crypto_kdf_derive_from_key(w->cookie_key, 32, 2, "tl-cooki", master) != 0 ||
	    proto_key_check(master, sizeof(master), "web", w->check) != 0) {
		sodium_memzero(master, sizeof(master));
		sodium_free(w);
		return NULL;
	}
	sodium_memzero(master, sizeof(master));
	return w;
}

struct websec *
websec_load(const char *path, char *err, size_t errlen)
{
	size_t len = 0, bin = 0;
	uint8_t key[32];
	char *hex = util_read_file(path, 256, &len);
	struct websec *w = NULL;
	if (hex == NULL) {
		snprintf(err, errlen, "%s: cannot read the web key", path);
		return NULL;
	}
	while (len > 0 && (hex[len - 1] == '\n' || hex[len - 1] == '\r'))
		len--;
	if (len != 64 || sodium_hex2bin(key, sizeof(key), hex, len, NULL, &bin, NULL) != 0 ||
	    bin != 32)
		snprintf(err, errlen, "%s: the web key must be 64 hex characters", path);
	else if ((w = websec_new(key)) == NULL)
		snprintf(err, errlen, "out of memory");
	sodium_memzero(hex, len);
	sodium_memzero(key, sizeof(key));
	free(hex);
	return w;
}

int
websec_check(const struct websec *w, uint8_t out[32])
{
	memcpy(out, w->check, sizeof(w->check));
	return 0;
}

void
websec_free(struct websec *w)
{
	if (w != NULL)
		sodium_free(w);
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Seal `n` bytes of `pt` under `key` with `ad` and write base64url to `out`. */
static int
seal_b64(const uint8_t *key, const char *ad, const uint8_t *pt, size_t n, char *out, size_t outlen)
{
	uint8_t sealed[MAX_SEALED];
	unsigned long long clen = 0;
	if (NONCE + n + TAG > sizeof(sealed) ||
	    sodium_base64_ENCODED_LEN(NONCE + n + TAG, sodium_base64_VARIANT_URLSAFE_NO_PADDING) >
	            outlen)
		return -1;
	randombytes_buf(sealed, NONCE);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + NONCE, &clen, pt, n,
	                                               (const uint8_t *)ad, strlen(ad), NULL,
	                                               sealed, key) != 0)
		return -1;
	sodium_bin2base64(out, outlen, sealed, NONCE + (size_t)clen,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

/* Decode and open exactly `n` bytes of plaintext into `pt`; 0 or -1. */
static int
open_b64(const uint8_t *key, const char *ad, const char *s, size_t len, uint8_t *pt, size_t n)
{
	uint8_t sealed[MAX_SEALED];
	size_t bin = 0;
	unsigned long long plen = 0;
	if (len !=
	    sodium_base64_ENCODED_LEN(NONCE + n + TAG, sodium_base64_VARIANT_URLSAFE_NO_PADDING) -
	            1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return -1; /* libsodium 1.0.18 would take bytes >= 0x80 as letters */
	}
	if (sodium_base642bin(sealed, sizeof(sealed), s, len, NULL, &bin, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bin != NONCE + n + TAG)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL, sealed + NONCE, bin - NONCE,
	                                               (const uint8_t *)ad, strlen(ad), sealed,
	                                               key) != 0 ||
	    plen != n)
		return -1;
	return 0;
}

int
websec_token_make(const struct websec *w, enum websec_form kind, unsigned ttl_s, time_t now,
                  char out[WEBSEC_TOKEN_STR])
{
	uint8_t pt[TOKEN_PT] = { 1, (uint8_t)kind };
	put64(pt + 2, (uint64_t)now + ttl_s);
	return seal_b64(w->token_key, AD_TOKEN, pt, sizeof(pt), out, WEBSEC_TOKEN_STR);
}

int
websec_token_check(const struct websec *w, enum websec_form kind, const char *tok, size_t len,
                   time_t now)
{
	uint8_t pt[TOKEN_PT];
	if (open_b64(w->token_key, AD_TOKEN, tok, len, pt, sizeof(pt)) != 0)
		return -1;
	if (pt[0] != 1 || pt[1] != (uint8_t)kind || get64(pt + 2) < (uint64_t)now)
		return -1;
	return 0;
}

int
websec_cookie_make(const struct websec *w, const struct websec_inbox *in, unsigned ttl_s, time_t now,
                   char out[WEBSEC_COOKIE_STR])
{
	uint8_t pt[COOKIE_PT];
	size_t tl = strnlen(in->team, sizeof(in->team));
	if (!util_uuid_valid(in->report) || tl == 0 || tl >= sizeof(in->team))
		return -1;
	memset(pt, 0, sizeof(pt));
	pt[0] = 3;
	memcpy(pt + 1, in->id, 32);
	memcpy(pt + 33, in->seed, 32);
	memcpy(pt + 65, in->report, 36);
	memcpy(pt + 101, in->team, tl);
	put64(pt + 165, (uint64_t)now + ttl_s);
	int rc = seal_b64(w->cookie_key, AD_COOKIE, pt, sizeof(pt), out, WEBSEC_COOKIE_STR);
	sodium_memzero(pt, sizeof(pt));
	return rc;
}

int
websec_cookie_open(const struct websec *w, const char *val, size_t len, time_t now,
                   struct websec_inbox *out)
{
	uint8_t pt[COOKIE_PT];
	int rc = -1;
	if (open_b64(w->cookie_key, AD_COOKIE, val, len, pt, sizeof(pt)) == 0 && pt[0] == 3 &&
	    get64(pt + 165) >= (uint64_t)now && pt[164] == 0) {
		memcpy(out->id, pt + 1, 32);
		memcpy(out->seed, pt + 33, 32);
		memcpy(out->report, pt + 65, 36);
		out->report[36] = '\0';
		memcpy(out->team, pt + 101, 64); /* NUL-terminated: pt[164] is 0 */
		rc = util_uuid_valid(out->report) && out->team[0] != '\0' ? 0 : -1;
	}
	sodium_memzero(pt, sizeof(pt));
	return rc;
}
