#include "note.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

#define NOTE_ALG_ED25519 0x01
#define NOTE_SIG_LEN (4 + crypto_sign_BYTES)
#define NOTE_KEY_B64_LEN 44     /* base64 of 33 bytes */
#define NOTE_SIG_B64_MAX 256    /* longest signature base64 accepted (any key type) */
#define NOTE_SIG_RAW_MAX 192
static const char note_sig_prefix[] = "\xe2\x80\x94 "; /* U+2014 and a space */
static const char note_private_prefix[] = "PRIVATE+KEY+";

struct note_verifier {
	char name[NOTE_NAME_MAX + 1];
	uint32_t hash;
	uint8_t pk[NOTE_PK_LEN];
};

struct note_signer {
	char name[NOTE_NAME_MAX + 1];
	uint32_t hash;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

/* One parsed signature line. */
struct note_sigline {
	const char *name;
	size_t namelen;
	uint32_t hash;
	uint8_t raw[NOTE_SIG_RAW_MAX];
	size_t rawlen;
};

/* Return 1 if the `n` bytes at `p` form a valid key name, else 0. */
static int
name_valid_n(const char *p, size_t n)
{
	if (n == 0 || n > NOTE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '+')
			return 0;
	}
	return 1;
}

int
note_name_valid(const char *name)
{
	return name != NULL && name_valid_n(name, strnlen(name, NOTE_NAME_MAX + 1));
}

/* Compute the key hash of `name` (`n` bytes) and Ed25519 key `pk`. */
static uint32_t
key_hash(const char *name, size_t n, const uint8_t pk[NOTE_PK_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t sep[2] = { '\n', NOTE_ALG_ED25519 };
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, n);
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, pk, NOTE_PK_LEN);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/*
 * Return 1 if the `n` bytes at `p` are valid UTF-8 (no overlongs,
 * surrogates or code points past U+10FFFF) with no control character but
 * "\n", else 0.
 */
static int
text_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t c;
		size_t len = proto_utf8_next(p + i, n - i, &c);
		if (len == 0 || (c < 0x20 && c != '\n'))
			return 0;
		i += len;
	}
	return 1;
}

/* Parse 8 lower-case hex digits at `p`; return 0, or -1. */
static int
parse_hash_hex(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		char c = p[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/*
 * Parse "<name>+<8 hex>+<base64 of 33 bytes starting with 0x01>" of `len`
 * bytes: copy the name into `name`, the hash into `hash` and the 32 key
 * bytes into `key` (which the caller wipes if secret). Return 0, or -1.
 */
static int
parse_key_text(const char *text, size_t len, char name[NOTE_NAME_MAX + 1], uint32_t *hash,
               uint8_t key[32])
{
	uint8_t raw[33];
	size_t rawlen = 0;
	const char *end = NULL;
	const char *plus = memchr(text, '+', len);
	if (plus == NULL || !name_valid_n(text, (size_t)(plus - text)))
		return -1;
	size_t nlen = (size_t)(plus - text);
	size_t rest = len - nlen - 1;
	const char *h = plus + 1;
	if (rest != 8 + 1 + NOTE_KEY_B64_LEN || h[8] != '+' || parse_hash_hex(h, hash) != 0)
		return -1;
	const char *b64 = h + 9;
	if (!util_base64_chars_ok(b64, NOTE_KEY_B64_LEN) ||
	    sodium_base642bin(raw, sizeof(raw), b64, NOTE_KEY_B64_LEN, NULL, &rawlen, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    rawlen != 33 || end != b64 + NOTE_KEY_B64_LEN || raw[0] != NOTE_ALG_ED25519) {
		sodium_memzero(raw, sizeof(raw));
		return -1;
	}
	memcpy(name, text, nlen);
	name[nlen] = '\0';
	memcpy(key, raw + 1, 32);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

/* Append "<name>+<8 hex>+<base64(0x01 || key)>" to `out`. Return 0, or -1. */
static int
append_key_text(struct buf *out, const char *name, uint32_t hash, const uint8_t key[32])
{
	uint8_t raw[33];
	char b64[NOTE_KEY_B64_LEN + 1];
	raw[0] = NOTE_ALG_ED25519;
	memcpy(raw + 1, key, 32);
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	int rc = buf_printf(out, "%s+%08x+%s", name, (unsigned)hash, b64);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(b64, sizeof(b64));
	return rc;
}

struct note_verifier *
note_verifier_new(const char *name, const uint8_t pk[NOTE_PK_LEN])
{
	if (!note_name_valid(name))
		return NULL;
	struct note_verifier *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	memcpy(v->name, name, strlen(name) + 1);
	memcpy(v->pk, pk, NOTE_PK_LEN);
	v->hash = key_hash(v->name, strlen(v->name), v->pk);
	return v;
}

struct note_verifier *
note_verifier_parse(const char *text, size_t len)
{
	struct note_verifier *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	if (parse_key_text(text, len, v->name, &v->hash, v->pk) != 0 ||
	    key_hash(v->name, strlen(v->name), v->pk) != v->hash) {
		free(v);
		return NULL;
	}
	return v;
}

void
note_verifier_free(struct note_verifier *v)
{
	free(v);
}

const char *
note_verifier_name(const struct note_verifier *v)
{
	return v->name;
}

uint32_t
note_verifier_hash(const struct note_verifier *v)
{
	return v->hash;
}

const uint8_t *
note_verifier_pk(const struct note_verifier *v)
{
	return v->pk;
}

int
note_verifier_text(const struct note_verifier *v, struct buf *out)
{
	return append_key_text(out, v->name, v->hash, v->pk);
}

/* Fill the key pair of `s` from the 32-byte `seed`. Return 0, or -1. */
static int
signer_from_seed(struct note_signer *s, const uint8_t seed[32])
{
	if (crypto_sign_seed_keypair(s->pk, s->sk, seed) != 0)
		return -1;
	s->hash = key_hash(s->name, strlen(s->name), s->pk);
	return 0;
}

struct note_signer *
note_signer_parse(const char *text, size_t len)
{
	uint8_t seed[32];
	uint32_t hash = 0;
	struct note_signer *s = NULL;
	size_t pl = sizeof(note_private_prefix) - 1;
	if (sodium_init() < 0 || (s = sodium_malloc(sizeof(*s))) == NULL)
		return NULL;
	if (len <= pl || memcmp(text, note_private_prefix, pl) != 0 ||
	    parse_key_text(text + pl, len - pl, s->name, &hash, seed) != 0 ||
	    signer_from_seed(s, seed) != 0 || s->hash != hash)
		goto fail;
	sodium_memzero(seed, sizeof(seed));
	return s;
fail:
	sodium_memzero(seed, sizeof(seed));
	sodium_free(s);
	return NULL;
}

void
note_signer_free(struct note_signer *s)
{
	if (s != NULL)
		sodium_free(s); /* wipes */
}

struct note_verifier *
note_signer_verifier(const struct note_signer *s)
{
	return note_verifier_new(s->name, s->pk);
}

const uint8_t *
note_signer_pk(const struct note_signer *s)
{
	return s->pk;
}

int
note_signer_sign_detached(const struct note_signer *s, const uint8_t *msg, size_t n,
                          uint8_t sig[NOTE_ED25519_SIG_LEN])
{
	return crypto_sign_detached(sig, NULL, msg, n, s->sk);
}

int
note_keygen(const char *name, struct buf *signer_text, struct buf *verifier_text)
{
	uint8_t seed[32];
	int rc = -1;
	struct note_signer *s = NULL;
	if (!note_name_valid(name) || sodium_init() < 0 || (s = sodium_malloc(sizeof(*s))) == NULL)
		return -1;
	memcpy(s->name, name, strlen(name) + 1);
	randombytes_buf(seed, sizeof(seed));
	if (signer_from_seed(s, seed) != 0)
		goto fail;
	if (buf_adds(signer_text, note_private_prefix) != 0 ||
	    append_key_text(signer_text, s->name, s->hash, seed) != 0 ||
	    append_key_text(verifier_text, s->name, s->hash, s->pk) != 0)
		goto fail;
	rc = 0;
fail:
	sodium_memzero(seed, sizeof(seed));
	sodium_free(s);
	return rc;
}

/*
 * Split the note of `len` bytes: check size, encoding and shape, and store
 * the text length and the offset of the signature block. Return 0, or -1.
 */
static int
note_split(const char *note, size_t len, size_t *text_len, size_t *sigs_off)
{
	if (len < 2 || len > NOTE_MAX_LEN || !text_valid((const uint8_t *)note, len))
		return -1;
	if (note[len - 1] != '\n')
		return -1;
	/* The last blank line starts the signatures: signature lines never hold one. */
	size_t i = len - 1;
	while (i > 0 && !(note[i - 1] == '\n' && note[i] == '\n'))
		i--;
	if (i == 0 || i + 1 >= len)
		return -1;
	*text_len = i;
	*sigs_off = i + 1;
	return 0;
}

/* Parse the signature line of `n` bytes at `p` (without its "\n"). Return 0, or -1. */
static int
sigline_parse(const char *p, size_t n, struct note_sigline *sl)
{
	size_t pl = sizeof(note_sig_prefix) - 1;
	const char *end = NULL;
	if (n <= pl || memcmp(p, note_sig_prefix, pl) != 0)
		return -1;
	p += pl;
	n -= pl;
	const char *sp = memchr(p, ' ', n);
	if (sp == NULL || sp == p || memchr(p, '+', (size_t)(sp - p)) != NULL)
		return -1;
	sl->name = p;
	sl->namelen = (size_t)(sp - p);
	const char *b64 = sp + 1;
	size_t blen = n - sl->namelen - 1;
	if (blen == 0 || blen > NOTE_SIG_B64_MAX || !util_base64_chars_ok(b64, blen) ||
	    sodium_base642bin(sl->raw, sizeof(sl->raw), b64, blen, NULL, &sl->rawlen, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + blen || sl->rawlen < 5)
		return -1;
	sl->hash = (uint32_t)sl->raw[0] << 24 | (uint32_t)sl->raw[1] << 16 |
	           (uint32_t)sl->raw[2] << 8 | sl->raw[3];
	return 0;
}

/*
 * Parse the signature line starting at `*pos` in the block `sigs` of `n`
 * bytes (which ends in "\n") and advance `*pos` past it. Return 0, or -1.
 */
static int
sigline_next(const char *sigs, size_t n, size_t *pos, struct note_sigline *sl)
{
	const char *eol = memchr(sigs + *pos, '\n', n - *pos);
	if (eol == NULL)
		return -1;
	size_t ll = (size_t)(eol - (sigs + *pos));
	if (sigline_parse(sigs + *pos, ll, sl) != 0)
		return -1;
	*pos += ll + 1;
	return 0;
}

/* Return the index of the verifier matching `sl` by name and hash, or -1. */
static long
find_verifier(const struct note_sigline *sl, const struct note_verifier *const *vs, size_t nv)
{
	for (size_t i = 0; i < nv; i++) {
		if (vs[i] != NULL && vs[i]->hash == sl->hash &&
		    strlen(vs[i]->name) == sl->namelen &&
		    memcmp(vs[i]->name, sl->name, sl->namelen) == 0)
			return (long)i;
	}
	return -1;
}

enum note_result
note_open(const char *note, size_t len, const struct note_verifier *const *vs, size_t nv,
          size_t *text_len, bool *signed_by)
{
	size_t tl, off, pos = 0, nsig = 0;
	bool any = false;
	struct note_sigline sl;
	if (signed_by != NULL)
		memset(signed_by, 0, nv * sizeof(*signed_by));
	if (note == NULL || note_split(note, len, &tl, &off) != 0)
		return NOTE_ERR_FORMAT;
	const char *sigs = note + off;
	size_t slen = len - off;
	while (pos < slen) {
		if (sigline_next(sigs, slen, &pos, &sl) != 0 || ++nsig > NOTE_MAX_SIGS)
			return NOTE_ERR_FORMAT;
		long vi = find_verifier(&sl, vs, nv);
		if (vi < 0)
			continue; /* not a key we trust */
		if (sl.rawlen != NOTE_SIG_LEN ||
		    crypto_sign_verify_detached(sl.raw + 4, (const uint8_t *)note, tl,
		                                vs[vi]->pk) != 0)
			return NOTE_ERR_BAD_SIGNATURE;
		if (signed_by != NULL)
			signed_by[vi] = true;
		any = true;
	}
	if (!any)
		return NOTE_ERR_UNSIGNED;
	if (text_len != NULL)
		*text_len = tl;
	return NOTE_OK;
}

/* Append the signature line by `s` over `text` (`tl` bytes) to `out`. Return 0, or -1. */
static int
append_sigline(const struct note_signer *s, const char *text, size_t tl, struct buf *out)
{
	uint8_t raw[NOTE_SIG_LEN];
	char b64[sodium_base64_ENCODED_LEN(NOTE_SIG_LEN, sodium_base64_VARIANT_ORIGINAL)];
	raw[0] = (uint8_t)(s->hash >> 24);
	raw[1] = (uint8_t)(s->hash >> 16);
	raw[2] = (uint8_t)(s->hash >> 8);
	raw[3] = (uint8_t)s->hash;
	if (crypto_sign_detached(raw + 4, NULL, (const uint8_t *)text, tl, s->sk) != 0)
		return -1;
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	if (buf_printf(out, "%s%s %s\n", note_sig_prefix, s->name, b64) != 0)
		return -1;
	return 0;
}

int
note_sign(const struct note_signer *s, const char *text, size_t len, struct buf *out)
{
	size_t start = out->len;
	if (len == 0 || len > NOTE_MAX_LEN || text[len - 1] != '\n' ||
	    !text_valid((const uint8_t *)text, len))
		return -1;
	if (buf_add(out, text, len) != 0 || buf_add(out, "\n", 1) != 0 ||
	    append_sigline(s, text, len, out) != 0 || out->len - start > NOTE_MAX_LEN)
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}

int
note_cosign(const struct note_signer *s, const char *note, size_t len, struct buf *out)
{
	size_t tl, off, pos = 0, nsig = 0, start = out->len;
	struct note_sigline sl;
	if (note_split(note, len, &tl, &off) != 0)
		return -1;
	while (pos < len - off) {
		if (sigline_next(note + off, len - off, &pos, &sl) != 0)
			return -1;
		nsig++;
		if (sl.hash == s->hash && sl.namelen == strlen(s->name) &&
		    memcmp(sl.name, s->name, sl.namelen) == 0)
			return -1; /* already signed by this key */
	}
	if (nsig >= NOTE_MAX_SIGS)
		return -1;
	if (buf_add(out, note, len) != 0 || append_sigline(s, note, tl, out) != 0 ||
	    out->len - start > NOTE_MAX_LEN)
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}

const char *
note_strerror(enum note_result r)
{
	switch (r) {
	case NOTE_OK:
		return "ok";
	case NOTE_ERR_FORMAT:
		return "malformed signed note";
	case NOTE_ERR_UNSIGNED:
		return "not signed by a trusted key";
	case NOTE_ERR_BAD_SIGNATURE:
		return "a signature by a trusted key does not verify";
	case NOTE_ERR_SYSTEM:
		return "internal error";
	}
	return "unknown error";
}
