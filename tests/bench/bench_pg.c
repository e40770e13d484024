/*
 * bench_pg: the database reference for the flusher.
 *
 * Sends what the flusher sends for spooled reports of a team of five, as fast
 * as PostgreSQL takes it: one pipelined transaction per batch of --batch
 * entries, each entry the flusher's own prepared INSERTs (flusher.h: the
 * report row, one header row per recipient, the inbox row) with binary
 * parameters of the sizes tipd wrote (--payload, --header bytes, random so
 * that nothing compresses), over one connection given by --conninfo (the
 * application role, as tipd connects). Rows count only when PostgreSQL says
 * it inserted them. Bounded by --seconds and --max-batches.
 *
 * Prints one JSON object on stdout.
 */
#include <getopt.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flusher.h"
#include "util.h"

#define MAX_RECIPIENTS 64
#define MAX_BATCH 1024

struct pgb {
	PGconn *c;
	const char *team;
	const char *recipients[MAX_RECIPIENTS];
	size_t nrecipients;
	size_t payload, header, batch;
	uint8_t *pbuf, *hbuf;
	uint64_t rows, statements;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Queue one entry's INSERTs (report, headers, inbox), as the flusher does.
 * Return 0 or -1. */
static int
send_entry(struct pgb *p, const char *date)
{
	char id[UUID_STR_LEN];
	uint8_t lookup[32], pk[32];
	util_uuid(id);
	randombytes_buf(p->pbuf, p->payload);
	randombytes_buf(lookup, sizeof(lookup));
	randombytes_buf(pk, sizeof(pk));
	const char *rv[4] = { id, p->team, date, (const char *)p->pbuf };
	int rl[4] = { 0, 0, 0, (int)p->payload }, rf[4] = { 0, 0, 0, 1 };
	if (PQsendQueryPrepared(p->c, "report", 4, rv, rl, rf, 0) != 1)
		return -1;
	for (size_t k = 0; k < p->nrecipients; k++) {
		randombytes_buf(p->hbuf, p->header);
		const char *hv[3] = { id, p->recipients[k], (const char *)p->hbuf };
		int hl[3] = { 0, 0, (int)p->header }, hf[3] = { 0, 0, 1 };
		if (PQsendQueryPrepared(p->c, "header", 3, hv, hl, hf, 0) != 1)
			return -1;
	}
	const char *iv[3] = { (const char *)lookup, id, (const char *)pk };
	int il[3] = { 32, 0, 32 }, ifm[3] = { 1, 0, 1 };
	if (PQsendQueryPrepared(p->c, "inbox", 3, iv, il, ifm, 0) != 1)
		return -1;
	p->statements += 2 + p->nrecipients;
	return 0;
}

/* Read every result up to the pipeline's sync; count inserted rows. Return 0,
 * or -1 if any statement failed. */
static int
read_batch(struct pgb *p)
{
	int rc = 0;
	for (;;) {
		PGresult *r = PQgetResult(p->c);
		if (r == NULL) {
			if (PQstatus(p->c) == CONNECTION_BAD)
				return -1;
			continue; /* the end of one statement's results */
		}
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			return rc;
		}
		if (st == PGRES_COMMAND_OK) {
			const char *n = PQcmdTuples(r);
			if (n[0] != '\0')
				p->rows += strtoull(n, NULL, 10);
		} else {
			fprintf(stderr, "bench_pg: %s", PQresultErrorMessage(r));
			rc = -1;
		}
		PQclear(r);
	}
}

/* One transaction of p->batch entries in one pipeline segment. */
static int
one_batch(struct pgb *p, const char *date)
{
	if (PQsendQueryParams(p->c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) != 1)
		return -1;
	for (size_t i = 0; i < p->batch; i++)
		if (send_entry(p, date) != 0)
			return -1;
	if (PQsendQueryParams(p->c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1 ||
	    PQpipelineSync(p->c) != 1)
		return -1;
	return read_batch(p);
}

static int
prepare(struct pgb *p)
{
	const char *names[3] = { "report", "header", "inbox" };
	const char *sql[3] = { flusher_sql_report, flusher_sql_header, flusher_sql_inbox };
	const int nparams[3] = { 4, 3, 3 };
	for (int i = 0; i < 3; i++) {
		PGresult *r = PQprepare(p->c, names[i], sql[i], nparams[i], NULL);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			fprintf(stderr, "bench_pg: prepare %s: %s", names[i], PQresultErrorMessage(r));
		PQclear(r);
		if (!ok)
			return -1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_pg --conninfo CONNINFO --team TEAM --recipient AGE1... "
	                "[--recipient ...] --payload BYTES --header BYTES --seconds S "
	                "[--batch N] [--max-batches N]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conninfo", required_argument, NULL, 'c' }, { "team", required_argument, NULL, 't' },
		{ "recipient", required_argument, NULL, 'r' }, { "payload", required_argument, NULL, 'p' },
		{ "header", required_argument, NULL, 'h' },   { "seconds", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },    { "max-batches", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgb p = { .batch = 128 };
	const char *conninfo = NULL;
	uint64_t v, secs = 0, max_batches = 1000000, payload = 0, header = 0, batch = 128;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conninfo = optarg; break;
		case 't': p.team = optarg; break;
		case 'r':
			if (p.nrecipients == MAX_RECIPIENTS) { usage(); return 2; }
			p.recipients[p.nrecipients++] = optarg;
			break;
		case 'p': if (util_parse_u64(optarg, 64u << 20, &payload) != 0) payload = 0; break;
		case 'h': if (util_parse_u64(optarg, 65536, &header) != 0) header = 0; break;
		case 's': if (util_parse_u64(optarg, 3600, &secs) != 0) secs = 0; break;
		case 'b': if (util_parse_u64(optarg, MAX_BATCH, &batch) != 0) batch = 0; break;
		case 'm': if (util_parse_u64(optarg, 100000000, &v) == 0) max_batches = v; break;
		default: usage(); return 2;
		}
	}
	if (conninfo == NULL || p.team == NULL || p.nrecipients == 0 || payload == 0 ||
	    header == 0 || secs == 0 || batch == 0) {
		usage();
		return 2;
	}
	p.payload = (size_t)payload;
	p.header = (size_t)header;
	p.batch = (size_t)batch;
	p.pbuf = malloc(p.payload);
	p.hbuf = malloc(p.header);
	if (sodium_init() < 0 || p.pbuf == NULL || p.hbuf == NULL)
		return 1;
	p.c = PQconnectdb(conninfo);
	if (PQstatus(p.c) != CONNECTION_OK) {
		fprintf(stderr, "bench_pg: %s", PQerrorMessage(p.c));
		return 1;
	}
	if (prepare(&p) != 0 || PQenterPipelineMode(p.c) != 1)
		return 1;
	char date[11];
	util_today(date);
	uint64_t batches = 0;
	double t0 = now_s(), t1 = t0;
	while (t1 - t0 < (double)secs && batches < max_batches) {
		if (one_batch(&p, date) != 0) {
			fprintf(stderr, "bench_pg: a batch failed\n");
			return 1;
		}
		batches++;
		t1 = now_s();
	}
	PQfinish(p.c);
	free(p.pbuf);
	free(p.hbuf);
	printf("{\"batches\":%llu,\"batch\":%zu,\"statements\":%llu,\"rows\":%llu,\"seconds\":%.3f,"
	       "\"rows_per_sec\":%.1f,\"payload_bytes\":%zu,\"header_bytes\":%zu,\"recipients\":%zu}\n",
	       (unsigned long long)batches, p.batch, (unsigned long long)p.statements,
	       (unsigned long long)p.rows, t1 - t0, (double)p.rows / (t1 - t0), p.payload, p.header,
	       p.nrecipients);
	return p.rows == p.statements ? 0 : 1;
}
