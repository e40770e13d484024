#include "proto.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int
proto_kind_valid(const char *kind)
{
	static const char *const kinds[] = { "report", "attachment", "message", "reply", "note" };
	for (size_t i = 0; kind != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return 1;
	return 0;
}

/* Return 1 if `s` is a lower-case canonical uuid, else 0 (NULL too). */
static int
proto_id_ok(const char *s)
{
	return s != NULL && strlen(s) == UUID_STR_LEN - 1 && util_uuid_valid(s);
}

int
proto_context_line(const char *kind, const char *oid, const char *rid, char *out, size_t outlen)
{
	if (!proto_kind_valid(kind) || !proto_id_ok(oid) || !proto_id_ok(rid))
		return -1;
	int n = snprintf(out, outlen, "tipline/v1 %s %s %s\n", kind, oid, rid);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}

int
proto_context_check(const uint8_t *pt, size_t n, const char *kind, const char *oid, const char *rid,
                    size_t *skip)
{
	char line[PROTO_CONTEXT_MAX];
	int l = proto_context_line(kind, oid, rid, line, sizeof(line));
	if (l < 0 || n < (size_t)l || memcmp(pt, line, (size_t)l) != 0)
		return -1;
	*skip = (size_t)l;
	return 0;
}

/* Return 1 if `s` is not empty and has no control character, else 0. */
static int
proto_field_ok(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
proto_login_message(const char *origin, const char *tls_hex, const char *nonce, int64_t t,
                    struct buf *out)
{
	if (!proto_field_ok(origin) || !proto_field_ok(tls_hex) || !proto_field_ok(nonce) || t < 0)
		return -1;
	return buf_printf(out, "tipline/v1/login\n%s\n%s\n%s\n%lld\n", origin, tls_hex, nonce,
	                  (long long)t);
}

int
proto_rotate_message(const char *origin, const char *tls_hex, const char *name,
                     const uint8_t old_ed25519[32], const char *new_recipient,
                     const uint8_t new_ed25519[32], struct buf *out)
{
	char o64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char n64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	if (!proto_field_ok(origin) || !proto_field_ok(tls_hex) || !proto_field_ok(name) ||
	    !proto_field_ok(new_recipient))
		return -1;
	sodium_bin2base64(o64, sizeof(o64), old_ed25519, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(n64, sizeof(n64), new_ed25519, 32, sodium_base64_VARIANT_ORIGINAL);
	return buf_printf(out, "tipline/v1/rotate\n%s\n%s\n%s\n%s\n%s\n%s\n", origin, tls_hex,
	                  name, o64, new_recipient, n64);
}

/* Write the hex SHA-256 of `n` bytes at `p` into `hex` (65 bytes). */
static void
proto_sha256_hex(const uint8_t *p, size_t n, char hex[65])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, p, (unsigned long long)n);
	util_hex(h, sizeof(h), hex);
}

int
proto_sealed_sig_message(const char *kind, const char *oid, const char *rid, const uint8_t *payload,
                         size_t n, struct buf *out)
{
	char hex[65];
	if (kind == NULL || (strcmp(kind, "reply") != 0 && strcmp(kind, "note") != 0) ||
	    !proto_id_ok(oid) || !proto_id_ok(rid))
		return -1;
	proto_sha256_hex(payload, n, hex);
	return buf_printf(out, "tipline/v1/%s\n%s\n%s\n%s\n", kind, oid, rid, hex);
}

int
proto_source_message(const char *mid, const char *rid, const uint8_t *text, size_t n,
                     const struct proto_file *files, size_t nfiles, struct buf *out)
{
	char line[PROTO_CONTEXT_MAX], hex[65];
	size_t start = out->len;
	if (proto_context_line("message", mid, rid, line, sizeof(line)) < 0)
		return -1;
	for (size_t i = 0; i < nfiles; i++)
		if (!proto_id_ok(files[i].uuid))
			return -1;
	proto_sha256_hex(text, n, hex);
	if (buf_printf(out, PROTO_SOURCE_MESSAGE_PURPOSE "\n%s%s\n", line, hex) != 0)
		return -1;
	for (size_t i = 0; i < nfiles; i++) {
		util_hex(files[i].sha256, sizeof(files[i].sha256), hex);
		if (buf_printf(out, "attachment %s %llu %s\n", files[i].uuid,
		               (unsigned long long)files[i].size, hex) != 0) {
			out->len = start;
			return -1;
		}
	}
	return 0;
}

size_t
proto_utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t len;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int
proto_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = proto_utf8_next(p + i, n - i, &cp);
		if (l == 0)
			return 0;
		i += l;
	}
	return 1;
}

int
proto_key_check(const uint8_t *key, size_t keylen, const char *name,
                uint8_t out[PROTO_KEY_CHECK_LEN])
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), "tipline/v1/key-check %s", name);
	if (n < 0 || (size_t)n >= sizeof(msg) || keylen < crypto_generichash_KEYBYTES_MIN ||
	    keylen > crypto_generichash_KEYBYTES_MAX)
		return -1;
	return crypto_generichash(out, PROTO_KEY_CHECK_LEN, (const uint8_t *)msg, (size_t)n, key,
	                          keylen) == 0 ? 0 : -1;
}
