/*
 * seal_report: the report's own object, as every submission seals it. Drawing
 * the receipt, deriving the source's keys, building the report document,
 * padding it and sealing it into the spool transaction is the per-report CPU
 * work of intake; submit.c calls it for each report, and the benchmark's
 * compute ceiling (tests/bench/bench_seal.c) calls the same function, so the
 * ceiling measures exactly what tipd does.
 */
#ifndef TIPD_SEAL_REPORT_H
#define TIPD_SEAL_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "receipt.h"
#include "seal.h"
#include "spool.h"

struct seal_report_in {
	const struct receipt_pepper *pepper;
	const struct seal_recipients *recipients;
	const char *report_uuid;
	const char *date;       /* YYYY-MM-DD: the day it arrived, nothing finer */
	json_t *report;         /* parsed and validated: team, language, answers */
	json_t *manifest;       /* the attachments' entries, already sealed */
	size_t max_json;        /* the largest report JSON the caller accepts */
};

/* Draw a receipt, derive its lookup id and the source's X25519 and Ed25519
 * key pairs (the secret halves are wiped at once), build the report document
 * with the source's public keys inside, pad it, seal it to `in->recipients`
 * in `t`, and record the inbox. On success `receipt` holds the formatted
 * receipt and `lookup_id` the inbox's id. Return 0 or -1. */
int seal_report(struct spool_txn *t, const struct seal_report_in *in,
                uint8_t lookup_id[RECEIPT_ID_LEN], char receipt[RECEIPT_STR_LEN])
	__attribute__((warn_unused_result));

#endif
