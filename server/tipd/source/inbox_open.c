#include "inbox_open.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "age.h"
#include "pad.h"
#include "proto.h"

enum inbox_parse
inbox_parse_body(const uint8_t *p, size_t n, bool want_text, char digits[RECEIPT_DIGITS],
                 struct buf *text)
{
	json_error_t e;
	enum inbox_parse rc = INBOX_PARSE_JSON;
	sodium_memzero(digits, RECEIPT_DIGITS);
	if (n > (want_text ? INBOX_MAX_MESSAGE_BODY : INBOX_MAX_BODY))
		return INBOX_PARSE_JSON;
	json_t *doc = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &e);
	if (doc == NULL || !json_is_object(doc) || json_object_size(doc) != (want_text ? 2u : 1u))
		goto out;
	json_t *r = json_object_get(doc, "receipt");
	json_t *t = json_object_get(doc, "text");
	if (!json_is_string(r) || (want_text && !json_is_string(t)))
		goto out;
	switch (receipt_normalize(json_string_value(r), json_string_length(r), digits)) {
	case RECEIPT_OK:
		break;
	case RECEIPT_ERR_CHECK:
		rc = INBOX_PARSE_TYPO;
		goto out;
	default:
		rc = INBOX_PARSE_RECEIPT;
		goto out;
	}
	if (want_text) {
		size_t len = json_string_length(t);
		if (len == 0 || len > INBOX_MAX_TEXT) {
			rc = INBOX_PARSE_TEXT;
			goto out;
		}
		if (buf_add(text, json_string_value(t), len) != 0)
			goto out;
	}
	rc = INBOX_PARSE_OK;
out:
	json_decref(doc);
	if (rc != INBOX_PARSE_OK)
		sodium_memzero(digits, RECEIPT_DIGITS);
	return rc;
}

/* Return 0 if `author` is a member and signed the reply, else -1. */
static int
reply_signed(const struct inbox_reply *rp, const uint8_t (*members)[32], size_t nmembers)
{
	struct buf msg;
	size_t i;
	int rc = -1;
	if (rp->author_len != 32 || rp->signature_len != crypto_sign_BYTES)
		return -1;
	for (i = 0; i < nmembers; i++)
		if (sodium_memcmp(members[i], rp->author, 32) == 0)
			break;
	if (i == nmembers)
		return -1;
	buf_init(&msg, 256);
	if (proto_sealed_sig_message("reply", rp->id, rp->report_id, rp->payload, rp->payload_len,
	                             &msg) == 0 &&
	    crypto_sign_verify_detached(rp->signature, msg.data, msg.len, rp->author) == 0)
		rc = 0;
	buf_free(&msg);
	return rc;
}

/* Check the context line of `pt` and append its JSON "text" to `text`. */
static int
reply_text(const struct inbox_reply *rp, const struct buf *pt, struct buf *text)
{
	json_error_t e;
	size_t n = 0;
	if (proto_context_check(pt->data, pt->len, "reply", rp->id, rp->report_id, &n) != 0)
		return -1;
	json_t *doc = json_loadb((const char *)pt->data + n, pt->len - n, JSON_REJECT_DUPLICATES, &e);
	json_t *t = json_object_get(doc, "text");
	int rc = -1;
	if (json_is_string(t) && json_string_length(t) <= INBOX_MAX_REPLY_TEXT &&
	    buf_add(text, json_string_value(t), json_string_length(t)) == 0)
		rc = 0;
	json_decref(doc);
	return rc;
}

int
inbox_open_reply(const struct inbox_reply *rp, const uint8_t (*sk)[32],
                 const uint8_t (*members)[32], size_t nmembers, struct buf *text)
{
	struct buf file, pt;
	int rc = -1;
	if (rp->header_len > AGE_MAX_HEADER || rp->payload_len > age_payload_size(INBOX_MAX_REPLY_PT))
		return -1;
	if (reply_signed(rp, members, nmembers) != 0)
		return -1;
	buf_init(&file, rp->header_len + rp->payload_len);
	buf_init_secure(&pt, INBOX_MAX_REPLY_PT);
	struct age_unwrap_opts o = { .sks = sk, .nsks = 1 };
	if (buf_add(&file, rp->header, rp->header_len) != 0 ||
	    buf_add(&file, rp->payload, rp->payload_len) != 0 ||
	    age_decrypt(file.data, file.len, &o, &pt) != AGE_OK)
		goto fail;
	rc = reply_text(rp, &pt, text);
fail:
	buf_free(&file);
	buf_free(&pt);
	return rc;
}

/* Append {"text", "sent_on"[, "signature": sig][, "attachments": manifest]}
 * padded with spaces. */
static int
message_json(const char *text, size_t len, const char *date, const char *sig, json_t *manifest,
             struct buf *out)
{
	json_t *doc = sig != NULL ? json_pack("{s:s%, s:s, s:s}", "text", text, len, "sent_on", date,
	                                      "signature", sig)
	                          : json_pack("{s:s%, s:s}", "text", text, len, "sent_on", date);
	int rc = -1;
	if (doc == NULL)
		return -1;
	if (json_array_size(manifest) > 0 &&
	    json_object_set(doc, "attachments", manifest) != 0)
		goto out;
	size_t need = json_dumpb(doc, NULL, 0, JSON_COMPACT);
	if (need > 0 && buf_reserve(out, need) == 0 &&
	    json_dumpb(doc, (char *)out->data + out->len, need, JSON_COMPACT) == need) {
		out->len += need;
		rc = pad_text(out);
	}
out:
	json_decref(doc);
	return rc;
}

int
inbox_message_json(const char *text, size_t len, const char *date, struct buf *out)
{
	return message_json(text, len, date, NULL, NULL, out);
}

/* The files of `manifest` (seal_file's entries) as the signature covers
 * them, into `files` (room for `max`). Return how many, or -1 if an entry
 * is malformed or there are more than `max`. */
static long
manifest_files(const json_t *manifest, struct proto_file *files, size_t max)
{
	size_t n = json_array_size(manifest), bl = 0;
	if (n > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(manifest, i);
		const char *hex = json_string_value(json_object_get(e, "sha256"));
		json_int_t size = json_integer_value(json_object_get(e, "size"));
		files[i].uuid = json_string_value(json_object_get(e, "uuid"));
		if (files[i].uuid == NULL || hex == NULL || size < 0 ||
		    sodium_hex2bin(files[i].sha256, 32, hex, strlen(hex), NULL, &bl, NULL) != 0 ||
		    bl != 32)
			return -1;
		files[i].size = (uint64_t)size;
	}
	return (long)n;
}

int
inbox_message_json_files(const char *text, size_t len, const char *date, const char *mid,
                         const char *rid, const uint8_t sk[RECEIPT_SIGN_SK_LEN],
                         json_t *manifest, struct buf *out)
{
	uint8_t sig[crypto_sign_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	struct proto_file files[INBOX_MAX_FILES];
	struct buf msg;
	int rc = -1;
	long nfiles = manifest_files(manifest, files, INBOX_MAX_FILES);
	buf_init(&msg, 256 + INBOX_MAX_FILES * 160);
	if (nfiles < 0 ||
	    proto_source_message(mid, rid, (const uint8_t *)text, len, files, (size_t)nfiles,
	                         &msg) != 0 ||
	    crypto_sign_detached(sig, NULL, msg.data, msg.len, sk) != 0)
		goto out;
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	rc = message_json(text, len, date, b64, manifest, out);
out:
	buf_free(&msg);
	return rc;
}

int
inbox_message_json_signed(const char *text, size_t len, const char *date, const char *mid,
                          const char *rid, const uint8_t sk[RECEIPT_SIGN_SK_LEN], struct buf *out)
{
	return inbox_message_json_files(text, len, date, mid, rid, sk, NULL, out);
}
