/*
 * bench_seal: the compute ceiling for report intake.
 *
 * Does, in a tight loop on one core, the CPU work tipd does for each report
 * submitted as JSON, through tipd's own code: parse and validate the body
 * against the questionnaire (as submit.c does), open a spool transaction,
 * and seal_report() (seal_report.c, which submit.c calls too): the receipt
 * and the source's keys, the report document, padding, one single-stanza age
 * header per recipient and the STREAM payload, written as spool records with
 * their BLAKE2b checksum, and the inbox record. Each transaction is then
 * aborted instead of fsync'd and renamed: no HTTP, no TLS, no durable write.
 * What is left is the ceiling that this work puts on reports per second per
 * core.
 *
 * With --mlock it first hardens the process as tipd does with its default
 * "mlock = auto" (secmem_harden_process: mlockall of current and future
 * pages), so that the ceiling pays the same price for locked memory.
 *
 * The first report is committed durably into --spool DIR, and its file's
 * size is printed, so that the disk ceiling (bench_disk) writes files of
 * exactly that size.
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
#include "questionnaire.h"
#include "receipt.h"
#include "seal.h"
#include "seal_report.h"
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
	struct seal_recipients r;
	struct spool *spool;
};

/* Return clock `clk` (CLOCK_MONOTONIC, or CLOCK_PROCESS_CPUTIME_ID for this
 * process's CPU time) in seconds. */
static double
clock_s(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Return the monotonic clock in seconds. */
static double
now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
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

/* Parse and validate the body against the questionnaire, as submit.c does
 * for every report. `*report` is the parsed report. Return 0 or -1. */
static int
parse_report(struct bench *b, json_t **report)
{
	char why[128], qid[128];
	if (questionnaire_parse_report(b->body, b->body_len, report, why, sizeof(why)) !=
	    QUESTIONNAIRE_REPORT_OK) {
		fprintf(stderr, "bench_seal: the body is not a valid report: %s\n", why);
		return -1;
	}
	if (questionnaire_validate(b->q, json_object_get(*report, "answers"), qid, sizeof(qid)) !=
	    QUESTIONNAIRE_OK) {
		fprintf(stderr, "bench_seal: answer %s is not valid\n", qid);
		json_decref(*report);
		*report = NULL;
		return -1;
	}
	return 0;
}

/* One whole report's CPU work, through tipd's own code: parse and validate,
 * open a spool transaction, seal_report() (receipt, source keys, document,
 * padding, sealing, spool records with their checksum, inbox record), then
 * commit it with `durable` (1: fsync'd, as tipd does; 0: aborted, so that only
 * the CPU work is measured and nothing reaches the disk but page cache).
 * Return 0 or -1. */
static int
one_report(struct bench *b, int durable)
{
	char uuid[UUID_STR_LEN], date[11], receipt[RECEIPT_STR_LEN];
	uint8_t id[RECEIPT_ID_LEN];
	json_t *report = NULL, *manifest = NULL;
	struct spool_txn *t = NULL;
	int rc = -1;

	util_uuid(uuid);
	util_today(date);
	if (parse_report(b, &report) != 0 || (manifest = json_array()) == NULL ||
	    (t = spool_begin(b->spool, uuid, "bench", date)) == NULL)
		goto fail;
	const struct seal_report_in in = {
		.pepper = b->pepper, .recipients = &b->r, .report_uuid = uuid, .date = date,
		.report = report, .manifest = manifest, .max_json = MAX_BODY,
	};
	if (seal_report(t, &in, id, receipt) != 0)
		goto fail;
	if (durable) {
		rc = spool_commit_sync(t);
		t = NULL;
	} else {
		rc = 0;
	}
fail:
	spool_abort(t);
	json_decref(manifest);
	json_decref(report);
	sodium_memzero(receipt, sizeof(receipt));
	return rc;
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
	                "--seconds S --spool DIR [--mlock]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "questionnaire", required_argument, NULL, 'q' },
		{ "body", required_argument, NULL, 'b' },
		{ "recipients", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "spool", required_argument, NULL, 'p' },
		{ "mlock", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { 0 };
	const char *qpath = NULL, *body = NULL, *spool_dir = NULL;
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
		case 'p': spool_dir = optarg; break;
		case 'm': lock = 1; break;
		default: usage(); return 2;
		}
	}
	if (qpath == NULL || body == NULL || spool_dir == NULL || n == 0 || secs == 0) {
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
	b.r = (struct seal_recipients){ b.n, (const char *const *)b.strs,
		                        (const uint8_t(*)[AGE_KEY_LEN])b.pks };
	/* One durable report first: its spool file's size is what the disk
	 * ceiling (bench_disk) writes. */
	if ((b.spool = spool_open(spool_dir, 1u << 30)) == NULL || one_report(&b, 1) != 0) {
		fprintf(stderr, "bench_seal: could not spool a report in %s\n", spool_dir);
		return 1;
	}
	uint64_t spool_bytes = spool_used(b.spool);
	uint64_t count = 0;
	double t0 = now_s(), t1 = t0, c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	/* Bounded in time and in count. */
	while (t1 - t0 < (double)secs && count < 100000000u) {
		if (one_report(&b, 0) != 0) {
			fprintf(stderr, "bench_seal: sealing failed\n");
			return 1;
		}
		count++;
		if ((count & 15) == 0)
			t1 = now_s();
	}
	t1 = now_s();
	/* CPU time of the loop alone (set-up excluded): on a shared machine
	 * it moves far less than the wall-clock rate, and it is what tipd's
	 * "CPU us/rep" is compared with. */
	double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	spool_free(b.spool);
	printf("{\"mlock\":%d,\"recipients\":%zu,\"reports\":%llu,\"seconds\":%.3f,\"per_sec\":%.1f,"
	       "\"cpu_s\":%.3f,\"cpu_us_per_report\":%.1f,\"spool_file_bytes\":%llu}\n",
	       lock, b.n, (unsigned long long)count, t1 - t0, (double)count / (t1 - t0), cpu,
	       count ? cpu * 1e6 / (double)count : 0.0, (unsigned long long)spool_bytes);
	return 0;
}
