/*
 * age: the age v1 file format (C2SP age) on libsodium.
 *
 * Header parsing is strict and bounded: every line is found within the first
 * AGE_MAX_HEADER bytes, base64 must be canonical and unpadded, body lines are
 * at most 64 columns and a shorter line ends a stanza. Recipient stanzas of
 * the two known types are checked structurally while parsing (argument count
 * and sizes, body of exactly one wrapped file key); unknown types are skipped
 * once they are well-formed.
 *
 * This file is the header (parsing, unwrapping, writing), the keys and the
 * one-shot helpers; the payload (STREAM) is age_stream.c.
 */
#include "age.h"
#include "age_int.h"
#include "util.h"

#include "bech32.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGE_VERSION_LINE "age-encryption.org/v1\n"
#define AGE_X25519_INFO "age-encryption.org/v1/X25519"
#define AGE_SCRYPT_LABEL "age-encryption.org/v1/scrypt"
#define AGE_B64_COLS 64
#define AGE_MAC_LEN 32
#define AGE_MAC_B64_LEN 43
#define AGE_WRAPPED_LEN (AGE_FILE_KEY_LEN + AGE_TAG_LEN)
#define AGE_SALT_LEN 16
#define AGE_B64V sodium_base64_VARIANT_ORIGINAL_NO_PADDING

enum age_stanza_type { AGE_ST_OTHER, AGE_ST_X25519, AGE_ST_SCRYPT };

struct age_stanza {
	enum age_stanza_type type;
	uint8_t arg[AGE_KEY_LEN]; /* X25519 share, or scrypt salt */
	int logn;
	uint8_t body[AGE_WRAPPED_LEN];
};

struct age_hdr {
	size_t nst;
	struct age_stanza st[AGE_MAX_STANZAS];
	size_t mac_off; /* bytes covered by the MAC: up to and including "---" */
	size_t len;     /* whole header, through the MAC line's LF */
	uint8_t mac[AGE_MAC_LEN];
};

struct age_cur {
	const uint8_t *p;
	size_t n; /* bytes we may look at: min(input, AGE_MAX_HEADER) */
	size_t off;
	bool clipped; /* the input went on past AGE_MAX_HEADER */
};

int
age_lib_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

const char *
age_strerror(int err)
{
	switch (err) {
	case AGE_OK: return "success";
	case AGE_ERR_FORMAT: return "malformed age header";
	case AGE_ERR_LIMIT: return "age file exceeds a limit";
	case AGE_ERR_NO_MATCH: return "no identity matches any recipient";
	case AGE_ERR_HEADER_MAC: return "age header MAC does not verify";
	case AGE_ERR_PAYLOAD: return "age payload is corrupt or truncated";
	case AGE_ERR_UNEXPECTED: return "unexpected recipient type";
	case AGE_ERR_SYSTEM: return "system or crypto library failure";
	default: return "unknown age error";
	}
}

/* HKDF-SHA-256 (RFC 5869) on libsodium's HMAC-SHA-256: extract, then
 * expand. Debian 12's libsodium (1.0.18) has no HKDF of its own. OpenSSL's
 * EVP_KDF fetches the algorithm and its digest again on every call, through
 * a store every thread shares: with tipd's event loops sealing at once, HKDF
 * took 10 % of tipd's CPU for a team of 20 (22 derivations a report) and
 * takes 3.5 % this way. */
int
age_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const char *info,
         uint8_t *out, size_t outlen)
{
	static const uint8_t no_salt[crypto_auth_hmacsha256_BYTES];
	uint8_t prk[crypto_auth_hmacsha256_BYTES], t[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	size_t tlen = 0, done = 0;
	uint8_t counter = 0;
	int rc = -1;
	if (outlen > 255 * sizeof(t))
		return -1;
	if (saltlen == 0) { /* an absent salt is HashLen zero bytes */
		salt = no_salt;
		saltlen = sizeof(no_salt);
	}
	if (crypto_auth_hmacsha256_init(&st, salt, saltlen) != 0 ||
	    crypto_auth_hmacsha256_update(&st, ikm, ikmlen) != 0 ||
	    crypto_auth_hmacsha256_final(&st, prk) != 0)
		goto fail;
	while (done < outlen) { /* T(i) = HMAC(PRK, T(i-1) || info || i) */
		counter++;
		if (crypto_auth_hmacsha256_init(&st, prk, sizeof(prk)) != 0 ||
		    crypto_auth_hmacsha256_update(&st, t, tlen) != 0 ||
		    crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, strlen(info)) != 0 ||
		    crypto_auth_hmacsha256_update(&st, &counter, 1) != 0 ||
		    crypto_auth_hmacsha256_final(&st, t) != 0)
			goto fail;
		tlen = sizeof(t);
		size_t n = outlen - done < tlen ? outlen - done : tlen;
		memcpy(out + done, t, n);
		done += n;
	}
	rc = 0;
fail:
	if (rc != 0)
		sodium_memzero(out, outlen);
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(&st, sizeof(st));
	return rc;
}

/* Decode exactly the `len` chars of canonical unpadded base64 at `s` into at
 * most `max` bytes; return the decoded length, or -1. */
static long
age_unb64(const uint8_t *s, size_t len, uint8_t *out, size_t max)
{
	size_t bin_len = 0;
	const char *end = NULL;
	if (len == 0)
		return 0;
	/* libsodium 1.0.18 takes bytes >= 0x80 as base64 characters: check
	 * first ('=' is then refused by the unpadded variant). */
	if (!util_base64_chars_ok((const char *)s, len))
		return -1;
	if (sodium_base642bin(out, max, (const char *)s, len, NULL, &bin_len, &end, AGE_B64V) !=
	            0 ||
	    end != (const char *)s + len)
		return -1;
	return (long)bin_len;
}

/* Decode base64 argument `s` that must hold exactly `want` bytes; return 0 or -1. */
static int
age_unb64_exact(const uint8_t *s, size_t len, uint8_t *out, size_t want)
{
	uint8_t tmp[AGE_KEY_LEN + 3];
	if (want > AGE_KEY_LEN || len != sodium_base64_ENCODED_LEN(want, AGE_B64V) - 1)
		return -1;
	long k = age_unb64(s, len, tmp, sizeof(tmp));
	if (k != (long)want)
		return -1;
	memcpy(out, tmp, want);
	return 0;
}

/* ---- header parsing ---- */

/* Take the next line (without its LF); return AGE_OK, AGE_ERR_LIMIT or AGE_ERR_FORMAT. */
static int
age_line(struct age_cur *c, const uint8_t **line, size_t *len)
{
	const uint8_t *s = c->p + c->off;
	const uint8_t *nl = memchr(s, '\n', c->n - c->off);
	if (nl == NULL)
		return c->clipped ? AGE_ERR_LIMIT : AGE_ERR_FORMAT;
	*line = s;
	*len = (size_t)(nl - s);
	c->off += *len + 1;
	return AGE_OK;
}

/* Parse a decimal scrypt work factor without sign or leading zeros; return 0 or -1. */
static int
age_parse_logn(const uint8_t *s, size_t len, int *logn)
{
	int v = 0;
	if (len == 0 || len > 2 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*logn = v;
	return 0;
}

/* Split the arguments of a stanza line (after "-> ") into `args`; return the count or -1. */
static int
age_split_args(const uint8_t *s, size_t len, const uint8_t *args[4], size_t alen[4])
{
	int nargs = 0;
	size_t i = 0;
	for (;;) {
		size_t start = i;
		while (i < len && s[i] != ' ') {
			if (s[i] < 0x21 || s[i] > 0x7e)
				return -1;
			i++;
		}
		if (i == start)
			return -1; /* empty argument */
		if (nargs < 4) {
			args[nargs] = s + start;
			alen[nargs] = i - start;
		}
		nargs++;
		if (i == len)
			return nargs;
		i++; /* the single space */
	}
}

/* Parse a stanza line (without "-> ") into `st`; return AGE_OK or AGE_ERR_FORMAT. */
static int
age_parse_stanza_line(const uint8_t *s, size_t len, struct age_stanza *st)
{
	const uint8_t *args[4];
	size_t alen[4];
	int nargs = age_split_args(s, len, args, alen);
	if (nargs < 1)
		return AGE_ERR_FORMAT;
	memset(st, 0, sizeof(*st));
	if (alen[0] == 6 && memcmp(args[0], "X25519", 6) == 0) {
		st->type = AGE_ST_X25519;
		if (nargs != 2 || age_unb64_exact(args[1], alen[1], st->arg, AGE_KEY_LEN) != 0)
			return AGE_ERR_FORMAT;
	} else if (alen[0] == 6 && memcmp(args[0], "scrypt", 6) == 0) {
		st->type = AGE_ST_SCRYPT;
		if (nargs != 3 || age_unb64_exact(args[1], alen[1], st->arg, AGE_SALT_LEN) != 0 ||
		    age_parse_logn(args[2], alen[2], &st->logn) != 0)
			return AGE_ERR_FORMAT;
	} else {
		st->type = AGE_ST_OTHER;
	}
	return AGE_OK;
}

/* Parse the base64 body lines of `st`; return an enum age_err. */
static int
age_parse_body(struct age_cur *c, struct age_stanza *st)
{
	size_t total = 0;
	const uint8_t *line;
	size_t len;
	for (;;) {
		uint8_t tmp[AGE_B64_COLS / 4 * 3];
		int rc = age_line(c, &line, &len);
		if (rc != AGE_OK)
			return rc;
		long k = len > AGE_B64_COLS ? -1 : age_unb64(line, len, tmp, sizeof(tmp));
		if (k < 0)
			return AGE_ERR_FORMAT;
		if (st->type != AGE_ST_OTHER) {
			if ((size_t)k > sizeof(st->body) - total)
				return AGE_ERR_FORMAT; /* not a 16-byte wrapped file key */
			memcpy(st->body + total, tmp, (size_t)k);
		}
		total += (size_t)k;
		if (len < AGE_B64_COLS)
			break;
	}
	if (st->type != AGE_ST_OTHER && total != sizeof(st->body))
		return AGE_ERR_FORMAT;
	return AGE_OK;
}

/* Parse the MAC line `s` (without LF); return AGE_OK or AGE_ERR_FORMAT. */
static int
age_parse_mac_line(const uint8_t *s, size_t len, struct age_hdr *h)
{
	if (len != 4 + AGE_MAC_B64_LEN || memcmp(s, "--- ", 4) != 0)
		return AGE_ERR_FORMAT;
	if (age_unb64_exact(s + 4, AGE_MAC_B64_LEN, h->mac, AGE_MAC_LEN) != 0)
		return AGE_ERR_FORMAT;
	return AGE_OK;
}

/* Parse the header at `p` into `h`; return AGE_OK, AGE_ERR_FORMAT or AGE_ERR_LIMIT. */
static int
age_parse(const uint8_t *p, size_t n, struct age_hdr *h)
{
	struct age_cur c = { p, n > AGE_MAX_HEADER ? AGE_MAX_HEADER : n, 0, n > AGE_MAX_HEADER };
	const uint8_t *line;
	size_t len, vlen = strlen(AGE_VERSION_LINE);
	int rc, nscrypt = 0;

	memset(h, 0, sizeof(*h));
	if (c.n < vlen || memcmp(p, AGE_VERSION_LINE, vlen) != 0)
		return AGE_ERR_FORMAT;
	c.off = vlen;
	for (;;) {
		size_t line_off = c.off;
		if ((rc = age_line(&c, &line, &len)) != AGE_OK)
			return rc;
		if (len >= 3 && memcmp(line, "---", 3) == 0) {
			if ((rc = age_parse_mac_line(line, len, h)) != AGE_OK)
				return rc;
			h->mac_off = line_off + 3;
			h->len = c.off;
			break;
		}
		if (len < 3 || memcmp(line, "-> ", 3) != 0)
			return AGE_ERR_FORMAT;
		if (h->nst == AGE_MAX_STANZAS)
			return AGE_ERR_LIMIT;
		struct age_stanza *st = &h->st[h->nst++];
		if ((rc = age_parse_stanza_line(line + 3, len - 3, st)) != AGE_OK)
			return rc;
		if ((rc = age_parse_body(&c, st)) != AGE_OK)
			return rc;
		nscrypt += st->type == AGE_ST_SCRYPT;
	}
	if (nscrypt > 0 && h->nst != 1)
		return AGE_ERR_FORMAT; /* an scrypt stanza must be alone */
	return AGE_OK;
}

int
age_header_inspect(const uint8_t *p, size_t n, size_t *hdr_len, int *n_x25519, int *n_scrypt,
                   int *n_other)
{
	struct age_hdr h;
	int rc = age_parse(p, n, &h);
	if (rc != AGE_OK)
		return rc;
	int counts[3] = { 0, 0, 0 };
	for (size_t i = 0; i < h.nst; i++)
		counts[h.st[i].type]++;
	*hdr_len = h.len;
	*n_x25519 = counts[AGE_ST_X25519];
	*n_scrypt = counts[AGE_ST_SCRYPT];
	*n_other = counts[AGE_ST_OTHER];
	return AGE_OK;
}

/* ---- keys ---- */

int
age_keygen(uint8_t pk[AGE_KEY_LEN], uint8_t sk[AGE_KEY_LEN])
{
	if (age_lib_init() != 0)
		return -1;
	randombytes_buf(sk, AGE_KEY_LEN);
	return crypto_scalarmult_base(pk, sk) == 0 ? 0 : -1;
}

int
age_public_of(const uint8_t sk[AGE_KEY_LEN], uint8_t pk[AGE_KEY_LEN])
{
	if (age_lib_init() != 0)
		return -1;
	return crypto_scalarmult_base(pk, sk) == 0 ? 0 : -1;
}

/* Decode the Bech32 string `s` whose human-readable part must be `hrp`
 * (as bech32_decode returns it) and whose data is one key; store the key
 * in `key` and return 0, or -1. The decoded copy is wiped either way. */
static int
age_key_decode(const char *s, const char *hrp, uint8_t key[AGE_KEY_LEN])
{
	char got[BECH32_HRP_MAX + 1];
	uint8_t data[AGE_KEY_LEN];
	size_t len = 0;
	int rc = -1;
	if (bech32_decode(s, got, data, sizeof(data), &len) != 0 || strcmp(got, hrp) != 0 ||
	    len != AGE_KEY_LEN)
		goto fail;
	memcpy(key, data, AGE_KEY_LEN);
	rc = 0;
fail:
	sodium_memzero(data, sizeof(data));
	return rc;
}

int
age_recipient_encode(const uint8_t pk[AGE_KEY_LEN], char *out, size_t outlen)
{
	return bech32_encode("age", pk, AGE_KEY_LEN, false, out, outlen);
}

int
age_recipient_decode(const char *s, uint8_t pk[AGE_KEY_LEN])
{
	return age_key_decode(s, "age", pk);
}

int
age_identity_encode(const uint8_t sk[AGE_KEY_LEN], char *out, size_t outlen)
{
	return bech32_encode("age-secret-key-", sk, AGE_KEY_LEN, true, out, outlen);
}

int
age_identity_decode(const char *s, uint8_t sk[AGE_KEY_LEN])
{
	return age_key_decode(s, "AGE-SECRET-KEY-", sk);
}

void
age_file_key_new(uint8_t file_key[AGE_FILE_KEY_LEN])
{
	if (age_lib_init() != 0)
		abort(); /* no randomness: nothing safe to do */
	randombytes_buf(file_key, AGE_FILE_KEY_LEN);
}

/* ---- header: unwrapping ---- */

/* Open a wrapped file key `body` with `key`; return 0, or -1 if it does not authenticate. */
static int
age_open_file_key(const uint8_t key[AGE_KEY_LEN], const uint8_t body[AGE_WRAPPED_LEN],
                  uint8_t file_key[AGE_FILE_KEY_LEN])
{
	static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long mlen = 0;
	return crypto_aead_chacha20poly1305_ietf_decrypt(file_key, &mlen, NULL, body,
	                                                 AGE_WRAPPED_LEN, NULL, 0, zero_nonce, key);
}

/* Wrap `file_key` under `key` into `body`; return 0 or -1. */
static int
age_seal_file_key(const uint8_t key[AGE_KEY_LEN], const uint8_t file_key[AGE_FILE_KEY_LEN],
                  uint8_t body[AGE_WRAPPED_LEN])
{
	static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long clen = 0;
	return crypto_aead_chacha20poly1305_ietf_encrypt(body, &clen, file_key, AGE_FILE_KEY_LEN,
	                                                 NULL, 0, NULL, zero_nonce, key);
}

/* X25519 wrap key for `share` and recipient `pk` from `shared`; return 0 or -1. */
static int
age_x25519_wrap_key(const uint8_t shared[AGE_KEY_LEN], const uint8_t share[AGE_KEY_LEN],
                    const uint8_t pk[AGE_KEY_LEN], uint8_t key[AGE_KEY_LEN])
{
	uint8_t salt[2 * AGE_KEY_LEN];
	memcpy(salt, share, AGE_KEY_LEN);
	memcpy(salt + AGE_KEY_LEN, pk, AGE_KEY_LEN);
	return age_hkdf(shared, AGE_KEY_LEN, salt, sizeof(salt), AGE_X25519_INFO, key, AGE_KEY_LEN);
}

/* Try identity `sk` on X25519 stanza `st`; return AGE_OK, AGE_ERR_NO_MATCH or another error. */
static int
age_try_x25519(const struct age_stanza *st, const uint8_t sk[AGE_KEY_LEN],
               uint8_t file_key[AGE_FILE_KEY_LEN])
{
	uint8_t pk[AGE_KEY_LEN], shared[AGE_KEY_LEN], key[AGE_KEY_LEN];
	int rc = AGE_ERR_SYSTEM;
	if (crypto_scalarmult_base(pk, sk) != 0)
		goto fail;
	if (crypto_scalarmult(shared, sk, st->arg) != 0 || sodium_is_zero(shared, AGE_KEY_LEN)) {
		rc = AGE_ERR_FORMAT; /* low-order share: all-zero shared secret */
		goto fail;
	}
	if (age_x25519_wrap_key(shared, st->arg, pk, key) != 0)
		goto fail;
	rc = age_open_file_key(key, st->body, file_key) == 0 ? AGE_OK : AGE_ERR_NO_MATCH;
fail:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int
age_unwrap_x25519(const struct age_hdr *h, const struct age_unwrap_opts *o,
                  uint8_t file_key[AGE_FILE_KEY_LEN])
{
	for (size_t i = 0; o->sks != NULL && i < o->nsks; i++) {
		for (size_t j = 0; j < h->nst; j++) {
			if (h->st[j].type != AGE_ST_X25519)
				continue;
			int rc = age_try_x25519(&h->st[j], o->sks[i], file_key);
			if (rc != AGE_ERR_NO_MATCH)
				return rc;
		}
	}
	return AGE_ERR_NO_MATCH;
}

/* Derive the scrypt wrap key for `salt` and work factor 2^logn; return 0 or -1. */
static int
age_scrypt_key(const char *pass, size_t passlen, const uint8_t salt[AGE_SALT_LEN], int logn,
               uint8_t key[AGE_KEY_LEN])
{
	uint8_t s[sizeof(AGE_SCRYPT_LABEL) - 1 + AGE_SALT_LEN];
	memcpy(s, AGE_SCRYPT_LABEL, sizeof(AGE_SCRYPT_LABEL) - 1);
	memcpy(s + sizeof(AGE_SCRYPT_LABEL) - 1, salt, AGE_SALT_LEN);
	return crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)pass, passlen, s, sizeof(s),
	                                             (uint64_t)1 << logn, 8, 1, key, AGE_KEY_LEN);
}

static int
age_unwrap_scrypt(const struct age_stanza *st, const struct age_unwrap_opts *o,
                  uint8_t file_key[AGE_FILE_KEY_LEN])
{
	uint8_t key[AGE_KEY_LEN];
	int max = o->max_logn > AGE_MAX_SCRYPT_LOGN ? AGE_MAX_SCRYPT_LOGN : o->max_logn;
	int rc = AGE_ERR_SYSTEM;
	if (o->pass == NULL)
		return AGE_ERR_UNEXPECTED;
	if (st->logn > max)
		return AGE_ERR_LIMIT;
	if (age_scrypt_key(o->pass, o->passlen, st->arg, st->logn, key) != 0)
		goto fail;
	rc = age_open_file_key(key, st->body, file_key) == 0 ? AGE_OK : AGE_ERR_NO_MATCH;
fail:
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* Compute the header MAC over `len` bytes at `p` with `file_key`; return 0 or -1. */
static int
age_header_mac(const uint8_t *p, size_t len, const uint8_t file_key[AGE_FILE_KEY_LEN],
               uint8_t mac[AGE_MAC_LEN])
{
	uint8_t key[crypto_auth_hmacsha256_KEYBYTES];
	int rc = -1;
	if (age_hkdf(file_key, AGE_FILE_KEY_LEN, NULL, 0, "header", key, sizeof(key)) != 0)
		goto fail;
	if (crypto_auth_hmacsha256(mac, p, len, key) != 0)
		goto fail;
	rc = 0;
fail:
	sodium_memzero(key, sizeof(key));
	return rc;
}

int
age_header_unwrap(const uint8_t *p, size_t n, const struct age_unwrap_opts *opts,
                  uint8_t file_key[AGE_FILE_KEY_LEN], size_t *hdr_len)
{
	struct age_hdr h;
	uint8_t fk[AGE_FILE_KEY_LEN], mac[AGE_MAC_LEN];
	int rc;
	if (age_lib_init() != 0)
		return AGE_ERR_SYSTEM;
	if ((rc = age_parse(p, n, &h)) != AGE_OK)
		return rc;
	if (h.nst == 1 && h.st[0].type == AGE_ST_SCRYPT)
		rc = age_unwrap_scrypt(&h.st[0], opts, fk);
	else
		rc = age_unwrap_x25519(&h, opts, fk);
	if (rc != AGE_OK)
		goto fail;
	rc = AGE_ERR_SYSTEM;
	if (age_header_mac(p, h.mac_off, fk, mac) != 0)
		goto fail;
	rc = AGE_ERR_HEADER_MAC;
	if (sodium_memcmp(mac, h.mac, AGE_MAC_LEN) != 0)
		goto fail;
	memcpy(file_key, fk, AGE_FILE_KEY_LEN);
	*hdr_len = h.len;
	rc = AGE_OK;
fail:
	sodium_memzero(fk, sizeof(fk));
	sodium_memzero(&h, sizeof(h));
	return rc;
}

/* ---- header: writing ---- */

/* Append "-> args\n" and the body lines for `body` to `out`; return 0 or -1. */
static int
age_put_stanza(struct buf *out, const char *args, const uint8_t body[AGE_WRAPPED_LEN])
{
	char b64[sodium_base64_ENCODED_LEN(AGE_WRAPPED_LEN, AGE_B64V)];
	sodium_bin2base64(b64, sizeof(b64), body, AGE_WRAPPED_LEN, AGE_B64V);
	/* 43 characters: a single short line ends the body. */
	return buf_printf(out, "-> %s\n%s\n", args, b64);
}

static int
age_put_x25519(struct buf *out, const uint8_t file_key[AGE_FILE_KEY_LEN],
               const uint8_t pk[AGE_KEY_LEN])
{
	uint8_t esk[AGE_KEY_LEN], share[AGE_KEY_LEN], shared[AGE_KEY_LEN], key[AGE_KEY_LEN];
	uint8_t body[AGE_WRAPPED_LEN];
	char args[8 + sodium_base64_ENCODED_LEN(AGE_KEY_LEN, AGE_B64V)] = "X25519 ";
	int rc = -1;
	randombytes_buf(esk, sizeof(esk));
	if (crypto_scalarmult_base(share, esk) != 0)
		goto fail;
	if (crypto_scalarmult(shared, esk, pk) != 0 || sodium_is_zero(shared, AGE_KEY_LEN))
		goto fail; /* a low-order recipient key */
	if (age_x25519_wrap_key(shared, share, pk, key) != 0)
		goto fail;
	if (age_seal_file_key(key, file_key, body) != 0)
		goto fail;
	sodium_bin2base64(args + 7, sizeof(args) - 7, share, AGE_KEY_LEN, AGE_B64V);
	rc = age_put_stanza(out, args, body);
fail:
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* Append "---", the MAC of everything from `start`, and LF; return 0 or -1. */
static int
age_put_mac(struct buf *out, size_t start, const uint8_t file_key[AGE_FILE_KEY_LEN])
{
	uint8_t mac[AGE_MAC_LEN];
	char b64[sodium_base64_ENCODED_LEN(AGE_MAC_LEN, AGE_B64V)];
	if (buf_adds(out, "---") != 0)
		return -1;
	if (age_header_mac(out->data + start, out->len - start, file_key, mac) != 0)
		return -1;
	sodium_bin2base64(b64, sizeof(b64), mac, AGE_MAC_LEN, AGE_B64V);
	return buf_printf(out, " %s\n", b64);
}

int
age_header_x25519(const uint8_t file_key[AGE_FILE_KEY_LEN], const uint8_t (*pks)[AGE_KEY_LEN],
                  size_t n, struct buf *out)
{
	size_t start = out->len;
	if (age_lib_init() != 0 || n == 0 || n > AGE_MAX_STANZAS)
		return -1;
	if (buf_adds(out, AGE_VERSION_LINE) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (age_put_x25519(out, file_key, pks[i]) != 0)
			goto fail;
	}
	if (age_put_mac(out, start, file_key) != 0)
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}

int
age_header_scrypt(const uint8_t file_key[AGE_FILE_KEY_LEN], const char *pass, size_t passlen,
                  int logn, struct buf *out)
{
	uint8_t salt[AGE_SALT_LEN], key[AGE_KEY_LEN], body[AGE_WRAPPED_LEN];
	char salt64[sodium_base64_ENCODED_LEN(AGE_SALT_LEN, AGE_B64V)];
	char args[64];
	size_t start = out->len;
	if (age_lib_init() != 0 || logn < 1 || logn > AGE_MAX_SCRYPT_LOGN)
		return -1;
	randombytes_buf(salt, sizeof(salt));
	if (age_scrypt_key(pass, passlen, salt, logn, key) != 0)
		goto fail;
	if (age_seal_file_key(key, file_key, body) != 0)
		goto fail;
	sodium_bin2base64(salt64, sizeof(salt64), salt, sizeof(salt), AGE_B64V);
	if (snprintf(args, sizeof(args), "scrypt %s %d", salt64, logn) >= (int)sizeof(args))
		goto fail;
	if (buf_adds(out, AGE_VERSION_LINE) != 0 || age_put_stanza(out, args, body) != 0 ||
	    age_put_mac(out, start, file_key) != 0)
		goto fail;
	sodium_memzero(key, sizeof(key));
	return 0;
fail:
	sodium_memzero(key, sizeof(key));
	out->len = start;
	return -1;
}

/* ---- one-shot helpers ---- */

/* Encrypt `n` bytes of `pt` under `file_key` onto `out`; return 0 or -1. */
static int
age_payload_encrypt(const uint8_t file_key[AGE_FILE_KEY_LEN], const uint8_t *pt, size_t n,
                    struct buf *out)
{
	struct age_enc *e = age_enc_new(file_key);
	int rc = -1;
	if (e == NULL)
		return -1;
	if (age_enc_update(e, pt, n, out) == 0 && age_enc_final(e, out) == 0)
		rc = 0;
	age_enc_free(e);
	return rc;
}

/* Encrypt `n` bytes of `pt` under a fresh file key onto `out`: with an
 * X25519 header to the `npk` keys at `pks`, or (`scrypt`) with an scrypt
 * header for `pass`. Return 0, or -1 with `out` as it was. */
static int
age_encrypt_to(const uint8_t *pt, size_t n, bool scrypt, const uint8_t (*pks)[AGE_KEY_LEN],
               size_t npk, const char *pass, size_t passlen, int logn, struct buf *out)
{
	uint8_t fk[AGE_FILE_KEY_LEN];
	size_t start = out->len;
	int rc = -1;
	if (age_lib_init() != 0)
		return -1;
	age_file_key_new(fk);
	if ((scrypt ? age_header_scrypt(fk, pass, passlen, logn, out)
	            : age_header_x25519(fk, pks, npk, out)) != 0 ||
	    age_payload_encrypt(fk, pt, n, out) != 0)
		goto fail;
	rc = 0;
fail:
	if (rc != 0)
		out->len = start;
	sodium_memzero(fk, sizeof(fk));
	return rc;
}

int
age_encrypt(const uint8_t *pt, size_t n, const uint8_t (*pks)[AGE_KEY_LEN], size_t npk,
            struct buf *out)
{
	return age_encrypt_to(pt, n, false, pks, npk, NULL, 0, 0, out);
}

int
age_encrypt_scrypt(const uint8_t *pt, size_t n, const char *pass, size_t passlen, int logn,
                   struct buf *out)
{
	return age_encrypt_to(pt, n, true, NULL, 0, pass, passlen, logn, out);
}

int
age_decrypt(const uint8_t *ct, size_t n, const struct age_unwrap_opts *opts, struct buf *out)
{
	uint8_t fk[AGE_FILE_KEY_LEN];
	size_t start = out->len, hl = 0;
	struct age_dec *d = NULL;
	int rc = age_header_unwrap(ct, n, opts, fk, &hl);
	if (rc != AGE_OK)
		return rc;
	rc = AGE_ERR_FORMAT; /* like the reference: a missing nonce is a header failure */
	if (n - hl < AGE_NONCE_LEN)
		goto fail;
	rc = AGE_ERR_SYSTEM;
	if ((d = age_dec_new(fk)) == NULL)
		goto fail;
	if ((rc = age_dec_update(d, ct + hl, n - hl, out)) != AGE_OK)
		goto fail;
	rc = age_dec_final(d, out);
fail:
	if (rc != AGE_OK && out->len > start) {
		sodium_memzero(out->data + start, out->len - start);
		out->len = start;
	}
	age_dec_free(d);
	sodium_memzero(fk, sizeof(fk));
	return rc;
}
