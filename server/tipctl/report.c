#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "age.h"
#include "proto.h"
#include "util.h"

#define REPORT_EXT_MAX 16 /* an extension up to this long survives truncation */

const char *
report_strerror(int r)
{
	switch (r) {
	case REPORT_OK: return "ok";
	case REPORT_ERR_CONTEXT: return "its context line names another object";
	case REPORT_ERR_FORMAT: return "it is malformed";
	case REPORT_ERR_SIZE: return "it is shorter than its manifest says";
	case REPORT_ERR_PADDING: return "its padding is not zero bytes";
	case REPORT_ERR_HASH: return "its SHA-256 does not match the manifest";
	default: return "unknown error";
	}
}

int
report_check_context(const uint8_t *pt, size_t n, const char *kind, const char *oid,
                     const char *rid, size_t *skip)
{
	return proto_context_check(pt, n, kind, oid, rid, skip) == 0 ? REPORT_OK : REPORT_ERR_CONTEXT;
}

int
report_open(const uint8_t *pt, size_t n, const char *rid, json_t **doc)
{
	size_t skip;
	json_error_t e;
	*doc = NULL;
	if (report_check_context(pt, n, "report", rid, rid, &skip) != REPORT_OK)
		return REPORT_ERR_CONTEXT;
	json_t *d = json_loadb((const char *)pt + skip, n - skip, JSON_REJECT_DUPLICATES, &e);
	if (d == NULL || !json_is_object(d)) {
		json_decref(d);
		return REPORT_ERR_FORMAT;
	}
	*doc = d;
	return REPORT_OK;
}

int
report_json_bytes(const uint8_t *pt, size_t n, const char *rid, struct buf *out)
{
	size_t skip;
	if (report_check_context(pt, n, "report", rid, rid, &skip) != REPORT_OK)
		return -1;
	while (n > skip && pt[n - 1] == ' ')
		n--;
	return buf_add(out, pt + skip, n - skip);
}

size_t
report_manifest_count(json_t *doc)
{
	return json_array_size(json_object_get(doc, "attachments"));
}

int
report_source_key(json_t *doc, uint8_t pk[32])
{
	const char *s = json_string_value(json_object_get(doc, "source_recipient"));
	if (s == NULL || strlen(s) >= AGE_RECIPIENT_STR_MAX || age_recipient_decode(s, pk) != 0)
		return REPORT_ERR_FORMAT;
	return REPORT_OK;
}

/* Decode the base64 string `v` into exactly `n` bytes at `out`. Return 0, or -1. */
static int
report_b64_exact(json_t *v, uint8_t *out, size_t n)
{
	const char *s = json_string_value(v);
	size_t got = 0;
	if (s == NULL || util_base64_decode(s, strlen(s), out, n, &got,
	                                    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return got == n ? 0 : -1;
}

int
report_message_signed(json_t *report, json_t *msg, const char *mid, const char *rid)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	json_t *key = json_object_get(report, "source_signing_key");
	json_t *text = json_object_get(msg, "text");
	struct buf m;
	int rc = REPORT_MSG_FORGED;
	if (key == NULL)
		return REPORT_MSG_UNSIGNED_OLD;
	struct proto_file files[REPORT_MSG_MAX_FILES];
	struct report_att att;
	size_t nfiles = report_manifest_count(msg);
	if (report_b64_exact(key, pk, sizeof(pk)) != 0 ||
	    report_b64_exact(json_object_get(msg, "signature"), sig, sizeof(sig)) != 0 ||
	    !json_is_string(text) || nfiles > REPORT_MSG_MAX_FILES)
		return REPORT_MSG_FORGED;
	/* The files sent with the message: the signature covers each one. */
	for (size_t i = 0; i < nfiles; i++) {
		if (report_manifest_get(msg, i, &att) != REPORT_OK)
			return REPORT_MSG_FORGED;
		files[i].uuid = json_string_value(
			json_object_get(json_array_get(json_object_get(msg, "attachments"), i), "uuid"));
		files[i].size = att.size;
		memcpy(files[i].sha256, att.sha256, sizeof(att.sha256));
	}
	buf_init(&m, 256 + nfiles * 160);
	if (proto_source_message(mid, rid, (const uint8_t *)json_string_value(text),
	                         json_string_length(text), files, nfiles, &m) == 0 &&
	    crypto_sign_verify_detached(sig, m.data, m.len, pk) == 0)
		rc = REPORT_MSG_VERIFIED;
	buf_free(&m);
	return rc;
}

int
report_files_add(json_t *files, json_t *doc)
{
	json_t *all = json_object_get(files, "attachments");
	json_t *more = json_object_get(doc, "attachments");
	if (!json_is_array(all))
		return -1;
	return more == NULL || json_array_extend(all, more) == 0 ? 0 : -1;
}

json_t *
report_files_new(json_t *doc)
{
	json_t *files = json_pack("{s:[]}", "attachments");
	if (files != NULL && report_files_add(files, doc) != 0) {
		json_decref(files);
		files = NULL;
	}
	return files;
}

int
report_manifest_get(json_t *doc, size_t i, struct report_att *a)
{
	json_t *e = json_array_get(json_object_get(doc, "attachments"), i);
	json_t *uuid = json_object_get(e, "uuid"), *name = json_object_get(e, "name");
	json_t *size = json_object_get(e, "size"), *sha = json_object_get(e, "sha256");
	json_t *ct = json_object_get(e, "content_type");
	const char *hex = json_string_value(sha);
	size_t bl = 0;
	const char *end = NULL;
	memset(a, 0, sizeof(*a));
	if (!json_is_object(e) || !json_is_string(uuid) || !util_uuid_valid(json_string_value(uuid)) ||
	    !json_is_string(name) || !json_is_integer(size) || json_integer_value(size) < 0 ||
	    hex == NULL || strlen(hex) != 64 || (ct != NULL && !json_is_string(ct)))
		return REPORT_ERR_FORMAT;
	if (sodium_hex2bin(a->sha256, 32, hex, 64, NULL, &bl, &end) != 0 || bl != 32 || *end != '\0')
		return REPORT_ERR_FORMAT;
	snprintf(a->id, sizeof(a->id), "%s", json_string_value(uuid));
	a->name = json_string_value(name);
	a->content_type = ct != NULL ? json_string_value(ct) : "";
	a->size = (uint64_t)json_integer_value(size);
	return REPORT_OK;
}

int
report_attachment_check(const uint8_t *pt, size_t n, const struct report_att *a, const char *rid,
                        size_t *off)
{
	size_t skip;
	uint8_t digest[32];
	if (report_check_context(pt, n, "attachment", a->id, rid, &skip) != REPORT_OK)
		return REPORT_ERR_CONTEXT;
	if (n - skip < a->size)
		return REPORT_ERR_SIZE;
	size_t end = skip + (size_t)a->size;
	uint8_t acc = 0;
	for (size_t i = end; i < n; i++)
		acc |= pt[i];
	if (acc != 0)
		return REPORT_ERR_PADDING;
	crypto_hash_sha256(digest, pt + skip, a->size);
	if (sodium_memcmp(digest, a->sha256, 32) != 0)
		return REPORT_ERR_HASH;
	*off = skip;
	return REPORT_OK;
}

/* Return 1 for characters a terminal or a file manager might obey or hide. */
static int
is_dangerous(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||           /* C0, DEL, C1 */
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || /* bidi */
	       c == 0x061c || c == 0x200e || c == 0x200f ||                     /* bidi marks */
	       (c >= 0x200b && c <= 0x200d) || c == 0x2060 || c == 0xfeff ||    /* invisible */
	       (c >= 0xfff9 && c <= 0xfffb) || c == 0x2028 || c == 0x2029;
}

/* Return 1 for the characters report_term_safe replaces (it keeps invisible marks). */
static int
term_replaces(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

int
report_term_safe(const char *s, size_t n, int multiline, struct buf *out)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		uint32_t c;
		size_t l = proto_utf8_next(p + i, n - i, &c);
		int rc;
		if (l == 0) {
			rc = buf_add(out, repl, 3);
			l = 1;
		} else if (c == '\n' || c == '\t') {
			rc = buf_add(out, multiline ? (const char *)p + i : " ", 1);
		} else if (term_replaces(c)) {
			rc = buf_add(out, repl, 3);
		} else {
			rc = buf_add(out, p + i, l);
		}
		if (rc != 0)
			return -1;
		i += l;
	}
	return 0;
}

/* Keep only safe characters of `s` (`n` bytes) in `out`; invalid bytes become '_'. */
static int
name_filter(const uint8_t *s, size_t n, struct buf *out)
{
	size_t i = 0;
	while (i < n) {
		uint32_t c;
		size_t l = proto_utf8_next(s + i, n - i, &c);
		int rc = 0;
		if (l == 0) {
			rc = buf_add(out, "_", 1);
			l = 1;
		} else if (!is_dangerous(c)) {
			rc = buf_add(out, s + i, l);
		}
		if (rc != 0)
			return -1;
		i += l;
	}
	return 0;
}

/* Return the largest cut <= `max` in `s` that does not split a UTF-8 sequence. */
static size_t
utf8_cut(const uint8_t *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && (s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

int
report_sanitize_name(const char *name, struct buf *out)
{
	struct buf f;
	const char *base = name;
	int rc = -1;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	buf_init(&f, 4 * strlen(base) + 16);
	if (name_filter((const uint8_t *)base, strlen(base), &f) != 0)
		goto out;
	const uint8_t *s = f.data;
	size_t n = f.len;
	while (n > 0 && (s[0] == '.' || s[0] == ' ' || s[0] == '-')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == '.' || s[n - 1] == ' '))
		n--;
	if (n == 0) {
		rc = buf_adds(out, "attachment");
		goto out;
	}
	if (n <= REPORT_NAME_MAX) {
		rc = buf_add(out, s, n);
		goto out;
	}
	/* Too long: keep a short extension and cut the stem at a character boundary. */
	const uint8_t *dot = NULL;
	for (size_t i = n; i > 0 && n - i < REPORT_EXT_MAX; i--)
		if (s[i - 1] == '.') {
			dot = s + i - 1;
			break;
		}
	size_t ext = dot != NULL ? (size_t)(s + n - dot) : 0;
	size_t stem = utf8_cut(s, n - ext, REPORT_NAME_MAX - ext);
	rc = buf_add(out, s, stem) != 0 || buf_add(out, s + n - ext, ext) != 0 ? -1 : 0;
out:
	buf_free(&f);
	return rc;
}

/* Make candidate `k` of `name` ("stem-k.ext" for k > 0) in `out`. Return 0, or -1. */
static int
candidate(const char *name, unsigned k, struct buf *out)
{
	buf_reset(out);
	if (k == 0)
		return buf_adds(out, name);
	const char *dot = strrchr(name, '.');
	if (dot == NULL || dot == name || strlen(dot) > REPORT_EXT_MAX)
		dot = name + strlen(name);
	return buf_add(out, name, (size_t)(dot - name)) != 0 || buf_printf(out, "-%u%s", k, dot) != 0
	               ? -1
	               : 0;
}

int
report_fill_new(int dirfd, const char *name, int fd, const void *p, size_t n)
{
	int bad = util_write_all(fd, p, n) != 0 || fsync(fd) != 0;
	int e = errno;
	if (close(fd) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		(void)unlinkat(dirfd, name, 0);
		errno = e;
		return -1;
	}
	return 0;
}

int
report_write_unique(int dirfd, const char *name, const uint8_t *p, size_t n, struct buf *chosen)
{
	for (unsigned k = 0; k <= REPORT_SUFFIX_MAX; k++) {
		if (candidate(name, k, chosen) != 0 || buf_cstr(chosen) == NULL) {
			errno = ENAMETOOLONG;
			return -1;
		}
		const char *cand = buf_cstr(chosen);
		int fd = openat(dirfd, cand, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && (errno == EEXIST || errno == ELOOP))
			continue;
		if (fd < 0)
			return -1;
		return report_fill_new(dirfd, cand, fd, p, n);
	}
	errno = EEXIST;
	return -1;
}
