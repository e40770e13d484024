/*
 * bench_seal: the compute ceiling for report intake.
 *
 * Does, in a tight loop on one core, the CPU work tipd does for each report
 * submitted as JSON (submit.c): parse and validate the body against the
 * questionnaire, build the report document, pad it, seal it to N X25519
 * recipients (one single-stanza age header each, one STREAM payload that
 * starts with the context line) and derive the receipt's lookup id and
 * source key. No HTTP, no TLS, no disk: what is left is the ceiling that
 * sealing alone puts on reports per second per core.
 *
 * With --mlock it first hardens the process as tipd does with its default
 * "mlock = auto" (secmem_harden_process: mlockall of current and future
 * pages), so that the ceiling pays the same price for locked memory.
 *
 * With --spool-sample DIR it also writes one real spool file through seal.h
 * and spool_commit_sync() and prints its size, so that the disk ceiling
 * (bench_disk) appends files of exactly that size.
 *
 * Prints one JSON object on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "age.h"
#include "buf.h"
#include "pad.h"
#include "questionnaire.h"
#include "receipt.h"
#include "seal.h"
#include "secmem.h"
#include "spool.h"
#include "util.h"

#define MAX_RECIPIENTS 256
#define MAX_BODY (256 * 1024)

struct bench {
	struct questionnaire *q;
	struct receipt_pepper *pepper;
	uint8_t *body;
	size_t body_len;
	size_t n;
	uint8_t (*pks)[AGE_KEY_LEN];
	char **strs;
	uint64_t pt_bytes;  /* plaintext sealed by the last report */
	uint64_t ct_bytes;  /* headers + payload of the last report */
};

/* Return the monotonic clock in seconds. */
static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Make `b->n` fresh recipients (public keys and age1 strings). Return 0 or -1. */
static int
make_recipients(struct bench *b)
{
	uint8_t sk[AGE_KEY_LEN];
	b->pks = calloc(b->n, sizeof(*b->pks));
	b->strs = calloc(b->n, sizeof(*b->strs));
	if (b->pks == NULL || b->strs == NULL)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		b->strs[i] = calloc(1, AGE_RECIPIENT_STR_MAX);
		if (b->strs[i] == NULL || age_keygen(b->pks[i], sk) != 0 ||
		    age_recipient_encode(b->pks[i], b->strs[i], AGE_RECIPIENT_STR_MAX) != 0)
			return -1;
	}
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

/* Parse, validate and build the padded report plaintext into `pt` (as
 * submit.c does). Return 0 or -1. */
static int
build_plaintext(struct bench *b, const char *date, struct buf *pt)
{
	json_t *report = NULL, *doc = NULL, *manifest = NULL;
	char why[128], qid[128];
	int rc = -1;

	if (questionnaire_parse_report(b->body, b->body_len, &report, why, sizeof(why)) !=
	    QUESTIONNAIRE_REPORT_OK) {
		fprintf(stderr, "bench_seal: the body is not a valid report: %s\n", why);
		return -1;
	}
	if (questionnaire_validate(b->q, json_object_get(report, "answers"), qid, sizeof(qid)) !=
	    QUESTIONNAIRE_OK) {
		fprintf(stderr, "bench_seal: answer %s is not valid\n", qid);
		goto fail;
	}
	manifest = json_array();
	/* The same fields as submit.c's report, with a stand-in for the source's
	 * reply key (a recipient string of the real length). */
	doc = json_pack("{s:O, s:O, s:s, s:s, s:O, s:O}", "team", json_object_get(report, "team"),
	                "language", json_object_get(report, "language"), "received_on", date,
	                "source_recipient",
	                "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
	                "answers", json_object_get(report, "answers"), "attachments", manifest);
	if (doc == NULL)
		goto fail;
	size_t need = json_dumpb(doc, NULL, 0, JSON_COMPACT);
	if (need == 0 || buf_reserve(pt, need) != 0 ||
	    json_dumpb(doc, (char *)pt->data + pt->len, need, JSON_COMPACT) != need)
		goto fail;
	pt->len += need;
	rc = pad_text(pt);
fail:
	json_decref(doc);
	json_decref(manifest);
	json_decref(report);
	return rc;
}

/* Seal `pt` to every recipient with age.h; count the bytes. Return 0 or -1. */
static int
seal_direct(struct bench *b, const char *uuid, const struct buf *pt)
{
	uint8_t key[AGE_FILE_KEY_LEN];
	char line[128];
	struct buf hdr, out;
	struct age_enc *enc = NULL;
	int rc = -1;

	buf_init(&hdr, AGE_MAX_HEADER);
	buf_init(&out, 4 * AGE_CHUNK_SIZE);
	age_file_key_new(key);
	b->ct_bytes = 0;
	for (size_t i = 0; i < b->n; i++) {
		buf_reset(&hdr);
		if (age_header_x25519(key, &b->pks[i], 1, &hdr) != 0)
			goto fail;
		b->ct_bytes += hdr.len;
	}
	int n = snprintf(line, sizeof(line), "tipline/v1 report %s %s\n", uuid, uuid);
	if (n < 0 || (size_t)n >= sizeof(line) || (enc = age_enc_new(key)) == NULL ||
	    age_enc_update(enc, (const uint8_t *)line, (size_t)n, &out) != 0)
		goto fail;
	for (size_t off = 0; off < pt->len; off += AGE_CHUNK_SIZE) {
		size_t step = pt->len - off < AGE_CHUNK_SIZE ? pt->len - off : AGE_CHUNK_SIZE;
		if (age_enc_update(enc, pt->data + off, step, &out) != 0)
			goto fail;
	}
	if (age_enc_final(enc, &out) != 0)
		goto fail;
	b->ct_bytes += out.len;
	b->pt_bytes = (uint64_t)n + pt->len;
	rc = 0;
fail:
	sodium_memzero(key, sizeof(key));
	age_enc_free(enc);
	buf_free(&hdr);
	buf_free(&out);
	return rc;
}

/* Derive the receipt as submit.c does. Return 0 or -1. */
static int
make_receipt(struct bench *b)
{
	char digits[RECEIPT_DIGITS], text[RECEIPT_STR_LEN];
	uint8_t id[RECEIPT_ID_LEN], pk[RECEIPT_KEY_LEN], sk[RECEIPT_KEY_LEN];
	int rc = -1;
	receipt_new(digits);
	if (receipt_lookup_id(b->pepper, digits, id) == 0 &&
	    receipt_source_key(b->pepper, digits, pk, sk) == 0) {
		receipt_format(digits, text);
		rc = 0;
	}
	sodium_memzero(digits, sizeof(digits));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* One whole report's CPU work. Return 0 or -1. */
static int
one_report(struct bench *b)
{
	char uuid[UUID_STR_LEN], date[11];
	struct buf pt;
	int rc = -1;
	buf_init_secure(&pt, 2 * MAX_BODY + 65536);
	util_uuid(uuid);
	util_today(date);
	if (build_plaintext(b, date, &pt) == 0 && seal_direct(b, uuid, &pt) == 0 &&
	    make_receipt(b) == 0)
		rc = 0;
	buf_free(&pt);
	return rc;
}

/* Write one real spool file for a report into `dir`; print nothing, return
 * its size in bytes or 0 on error. */
static uint64_t
spool_sample(struct bench *b, const char *dir)
{
	char uuid[UUID_STR_LEN], date[11];
	uint8_t id[RECEIPT_ID_LEN] = { 1 }, pk[RECEIPT_KEY_LEN] = { 2 };
	struct buf pt;
	struct seal_recipients r = { b->n, (const char *const *)b->strs,
		                     (const uint8_t(*)[32])b->pks };
	struct spool *s = spool_open(dir, 1u << 30);
	struct spool_txn *t = NULL;
	struct seal_object *o = NULL;
	uint64_t size = 0;

	buf_init_secure(&pt, 2 * MAX_BODY + 65536);
	util_uuid(uuid);
	util_today(date);
	if (s == NULL || build_plaintext(b, date, &pt) != 0 ||
	    (t = spool_begin(s, uuid, "bench", date)) == NULL ||
	    (o = seal_begin(t, SPOOL_REPORT, uuid, uuid, &r)) == NULL ||
	    seal_write(o, pt.data, pt.len) != 0)
		goto fail;
	int rc = seal_finish(o);
	o = NULL;
	if (rc != 0 || spool_inbox(t, id, pk) != 0)
		goto fail;
	rc = spool_commit_sync(t);
	t = NULL;
	if (rc == 0)
		size = spool_used(s);
fail:
	seal_free(o);
	spool_abort(t);
	spool_free(s);
	buf_free(&pt);
	return size;
}

static int
load_body(struct bench *b, const char *path)
{
	b->body = (uint8_t *)util_read_file(path, MAX_BODY, &b->body_len);
	if (b->body == NULL) {
		fprintf(stderr, "bench_seal: cannot read %s\n", path);
		return -1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_seal --questionnaire FILE --body FILE --recipients N "
	                "--seconds S [--mlock] [--spool-sample DIR]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "questionnaire", required_argument, NULL, 'q' },
		{ "body", required_argument, NULL, 'b' },
		{ "recipients", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "spool-sample", required_argument, NULL, 'p' },
		{ "mlock", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { 0 };
	const char *qpath = NULL, *body = NULL, *sample = NULL;
	uint64_t n = 0, secs = 0;
	uint8_t pep[RECEIPT_PEPPER_LEN];
	char err[256];
	int ch, lock = 0;

	if (secmem_install_hooks() != 0 || sodium_init() < 0)
		return 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'q': qpath = optarg; break;
		case 'b': body = optarg; break;
		case 'n': if (util_parse_u64(optarg, MAX_RECIPIENTS, &n) != 0) n = 0; break;
		case 's': if (util_parse_u64(optarg, 3600, &secs) != 0) secs = 0; break;
		case 'p': sample = optarg; break;
		case 'm': lock = 1; break;
		default: usage(); return 2;
		}
	}
	if (qpath == NULL || body == NULL || n == 0 || secs == 0) {
		usage();
		return 2;
	}
	b.n = (size_t)n;
	if (secmem_harden_process(lock) != 0)
		fprintf(stderr, "bench_seal: mlockall failed; measuring without locked memory\n");
	randombytes_buf(pep, sizeof(pep));
	b.q = questionnaire_load(qpath, err, sizeof(err));
	b.pepper = receipt_pepper_from_bytes(pep);
	if (b.q == NULL || b.pepper == NULL || load_body(&b, body) != 0 ||
	    make_recipients(&b) != 0) {
		fprintf(stderr, "bench_seal: set-up failed %s\n", b.q == NULL ? err : "");
		return 1;
	}
	uint64_t spool_bytes = sample != NULL ? spool_sample(&b, sample) : 0;
	if (sample != NULL && spool_bytes == 0) {
		fprintf(stderr, "bench_seal: could not write a spool sample in %s\n", sample);
		return 1;
	}
	uint64_t count = 0;
	double t0 = now_s(), t1 = t0;
	/* Bounded in time and in count. */
	while (t1 - t0 < (double)secs && count < 100000000u) {
		if (one_report(&b) != 0) {
			fprintf(stderr, "bench_seal: sealing failed\n");
			return 1;
		}
		count++;
		if ((count & 15) == 0)
			t1 = now_s();
	}
	t1 = now_s();
	printf("{\"mlock\":%d,\"recipients\":%zu,\"reports\":%llu,\"seconds\":%.3f,\"per_sec\":%.1f,"
	       "\"plaintext_bytes\":%llu,\"sealed_bytes\":%llu,\"spool_file_bytes\":%llu}\n",
	       lock, b.n, (unsigned long long)count, t1 - t0, (double)count / (t1 - t0),
	       (unsigned long long)b.pt_bytes, (unsigned long long)b.ct_bytes,
	       (unsigned long long)spool_bytes);
	return 0;
}
