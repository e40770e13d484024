#include "seal_report.h"

#include <sodium.h>
#include <string.h>

#include "age.h"
#include "buf.h"
#include "pad.h"

/* Build the padded report document into `out` (secure memory): what the
 * source answered, the day, and the source's X25519 recipient `src`, so that
 * tipctl seals replies only to the key derived at submission, not to one the
 * database names later (docs/threat-model.md §5 item 7), and the source's
 * Ed25519 public key `sig_pk` (base64), against which tipctl checks every
 * later message from the source (docs/crypto.md §9). */
static int
report_json(const struct seal_report_in *in, const char *src, const char *sig_pk, struct buf *out)
{
	json_t *doc = json_pack("{s:O, s:O, s:s, s:s, s:s, s:O, s:O}", "team",
	                        json_object_get(in->report, "team"), "language",
	                        json_object_get(in->report, "language"), "received_on", in->date,
	                        "source_recipient", src, "source_signing_key", sig_pk, "answers",
	                        json_object_get(in->report, "answers"), "attachments", in->manifest);
	if (doc == NULL)
		return -1;
	/* json_dumpb writes into our secure buffer: no unwiped copy. */
	size_t need = json_dumpb(doc, NULL, 0, JSON_COMPACT);
	int rc = -1;
	/* Reserve the padded size at once: one secure block, no regrowth. */
	if (need > 0 && buf_reserve(out, pad_text_bucket(out->len + need) - out->len) == 0 &&
	    json_dumpb(doc, (char *)out->data + out->len, need, JSON_COMPACT) == need) {
		out->len += need;
		rc = pad_text(out);
	}
	json_decref(doc);
	return rc;
}

int
seal_report(struct spool_txn *t, const struct seal_report_in *in,
            uint8_t lookup_id[RECEIPT_ID_LEN], char receipt[RECEIPT_STR_LEN])
{
	struct buf pt;
	struct seal_object *o = NULL;
	char digits[RECEIPT_DIGITS], src[AGE_RECIPIENT_STR_MAX];
	char sig_b64[sodium_base64_ENCODED_LEN(RECEIPT_SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t id[RECEIPT_ID_LEN], pk[RECEIPT_KEY_LEN], sk[RECEIPT_KEY_LEN];
	uint8_t sig_pk[RECEIPT_SIGN_PK_LEN], sig_sk[RECEIPT_SIGN_SK_LEN];
	int rc = -1;

	buf_init_secure(&pt, 2 * in->max_json + 65536);
	receipt_new(digits);
	if (receipt_lookup_id(in->pepper, digits, id) != 0 ||
	    receipt_source_key(in->pepper, digits, pk, sk) != 0 ||
	    receipt_source_sign_key(in->pepper, digits, sig_pk, sig_sk) != 0)
		goto fail;
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sig_sk, sizeof(sig_sk));
	sodium_bin2base64(sig_b64, sizeof(sig_b64), sig_pk, sizeof(sig_pk),
	                  sodium_base64_VARIANT_ORIGINAL);
	if (age_recipient_encode(pk, src, sizeof(src)) != 0 || report_json(in, src, sig_b64, &pt) != 0)
		goto fail;
	o = seal_begin(t, SPOOL_REPORT, in->report_uuid, in->report_uuid, in->recipients);
	if (o == NULL || seal_write(o, pt.data, pt.len) != 0)
		goto fail;
	rc = seal_finish(o);
	o = NULL;
	if (rc != 0 || (rc = spool_inbox(t, id, pk)) != 0)
		goto fail;
	memcpy(lookup_id, id, sizeof(id));
	receipt_format(digits, receipt);
fail:
	seal_free(o);
	buf_free(&pt);
	sodium_memzero(digits, sizeof(digits));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sig_sk, sizeof(sig_sk));
	return rc;
}
