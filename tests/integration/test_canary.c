/*
 * Property 1 (docs/architecture.md): a unique canary string, sent in an
 * answer, in an attachment and in its file name, is found nowhere at rest:
 * not in the PostgreSQL
 * data directory (tables, WAL), not in PostgreSQL's log, not in the spool,
 * not in tipd's log.
 *
 * The positive controls go through the same path a leak would take: a
 * second canary, in a block of random bytes as large as the attachment, is
 * stored in clear in a scratch table and raised into PostgreSQL's log, and
 * after a checked CHECKPOINT the same search must find it in the data
 * directory and in the log, with the cluster configured as it is
 * (wal_compression = on, TOAST compression): random bytes do not compress,
 * so neither can hide a canary from the search.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_common.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
	T.flush_ms = 3600 * 1000; /* the report waits in the spool until SIGTERM */
	th_write_conf(&T);
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

/* Return 1 if `needle` occurs in any file under `dir`, 0 if not. Another
 * test dropping its database while grep walks the shared cluster makes grep
 * fail on a vanished file: walk again then (our files do not vanish). */
static int
found_under(const char *dir, const char *needle)
{
	char *argv[] = { "grep", "-r", "-s", "-a", "-F", "-l", "-q", (char *)(uintptr_t)needle,
		         (char *)(uintptr_t)dir, NULL };
	int rc = 2;
	for (int tries = 0; tries < 5 && rc == 2; tries++)
		rc = th_run(argv, NULL, 0, NULL);
	cr_assert(rc == 0 || rc == 1, "grep failed on %s (%d)", dir, rc);
	return rc == 0;
}

/* A block of `len` random bytes with `canary` written at a few offsets
 * (each well inside one 2 KB TOAST chunk), so no compression can shrink it
 * and a search for the canary has something contiguous to find. */
#define BLOCK_LEN (128 * 1024)
static void
random_block(uint8_t *block, size_t len, const char *canary)
{
	static const size_t at[] = { 100, 20100, 60100, 100100 };
	randombytes_buf(block, len);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		memcpy(block + at[i], canary, strlen(canary));
}

static void
write_bytes(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(fd >= 0, "cannot write %s", path);
	cr_assert_eq(util_write_all(fd, p, len), 0);
	close(fd);
}

static void
exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

/* The positive control through PostgreSQL itself: `control` (in a random
 * block as large as the attachment) stored in clear in a scratch table of
 * the test database and raised into the server log; then a CHECKPOINT,
 * whose result is checked, so data files and WAL are written down. */
static void
store_control_in_postgres(struct th *t, const char *control)
{
	static uint8_t block[BLOCK_LEN];
	char sql[256];
	random_block(block, sizeof(block), control);
	PGconn *c = th_db(t);
	exec_ok(c, "create table canary_control (b bytea not null)");
	const char *params[1] = { (const char *)block };
	const int lens[1] = { (int)sizeof(block) };
	const int fmts[1] = { 1 };
	PGresult *r = PQexecParams(c, "insert into canary_control (b) values ($1)", 1, NULL, params,
	                           lens, fmts, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	snprintf(sql, sizeof(sql), "do $$ begin raise log 'canary control %%', '%s'; end $$",
	         control);
	exec_ok(c, sql);
	exec_ok(c, "checkpoint");
	PQfinish(c);
}

/* A fresh canary: CANARY<24 hex digits>CANARY. */
static void
new_canary(char out[64])
{
	uint8_t rnd[12];
	char hex[25];
	randombytes_buf(rnd, sizeof(rnd));
	util_hex(rnd, sizeof(rnd), hex);
	snprintf(out, 64, "CANARY%sCANARY", hex);
}

/* Submit a report with `canary` in two answers, and an attachment of random
 * bytes holding it, named after it; the files it was made from are removed. */
static void
submit_canary_report(const char *canary)
{
	static uint8_t block[BLOCK_LEN];
	char path[TH_PATH + 64], report[TH_PATH], freport[TH_PATH + 40], ffile[2 * TH_PATH];
	char url[128];
	snprintf(path, sizeof(path), "%s/upload.bin", T.dir);
	random_block(block, sizeof(block), canary);
	write_bytes(path, block, sizeof(block));
	sodium_memzero(block, sizeof(block));
	snprintf(report, sizeof(report), "%s/report.json", T.dir);
	FILE *f = fopen(report, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":{\"what_happened\":\"%s\","
	           "\"exploitation\":[\"labour\"],\"affected_person\":\"me\",\"safe_now\":\"no\","
	           "\"where\":\"%s\"}}", canary, canary);
	cr_assert_eq(fclose(f), 0);
	snprintf(freport, sizeof(freport), "report=<%s", report);
	snprintf(ffile, sizeof(ffile), "file=@%s;filename=%s.jpg", path, canary);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", T.source_port);
	char *args[] = { "-F", freport, "-F", ffile, url, NULL };
	cr_assert_eq(th_curl(&T, args, NULL), 201);
	unlink(path);
	unlink(report);
}

Test(canary, is_nowhere_at_rest, .init = setup, .fini = teardown, .timeout = 120)
{
	const char *pgdata = getenv("TIPLINE_TEST_PGDATA");
	const char *pglog = getenv("TIPLINE_TEST_PGLOG");
	cr_assert(pgdata != NULL, "TIPLINE_TEST_PGDATA is not set: run with scripts/test");
	cr_assert(pglog != NULL, "TIPLINE_TEST_PGLOG is not set: run with scripts/test");
	char canary[64], control[64], id[37];
	new_canary(canary);
	new_canary(control);
	submit_canary_report(canary);
	/* While the sealed report sits in the spool, the spool holds no canary. */
	cr_assert_eq(th_spool_count(&T, ".rep"), 1, "the report is not waiting in the spool");
	cr_assert(!found_under(T.spool, canary), "canary found in the spool");
	cr_assert_eq(th_stop(&T, SIGTERM), 0, "tipd did not stop cleanly");
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 1, "not flushed at shutdown");
	cr_assert_eq(th_count(&T, "select count(*) from attachments where length(payload) > 131072"),
	             1, "the attachment was not flushed whole");

	/* The report really holds the canary once decrypted. */
	it_only_report(&T, id);
	json_t *doc = it_open_report(&T, id);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "answers"),
	                                                   "what_happened")), canary);
	json_decref(doc);

	/* Positive control, through PostgreSQL: found by the same search. */
	store_control_in_postgres(&T, control);
	cr_assert(found_under(pgdata, control),
	          "the control canary, stored in clear in PostgreSQL and checkpointed, is not found "
	          "in %s: the search below would miss a leak", pgdata);
	cr_assert(found_under(pglog, control),
	          "the control canary raised into PostgreSQL's log is not found in %s", pglog);

	cr_assert(!found_under(pgdata, canary), "canary found in the PostgreSQL data directory");
	cr_assert(!found_under(pglog, canary), "canary found in PostgreSQL's log");
	cr_assert(!found_under(T.log, canary), "canary found in tipd's log");
	/* Nothing else tipd wrote in its directory holds it either. */
	unlink(T.identity_plain);
	char body[TH_PATH + 16];
	snprintf(body, sizeof(body), "%s/curl-body", T.dir);
	unlink(body);
	snprintf(body, sizeof(body), "%s/object.age", T.dir);
	cr_assert(!found_under(body, canary), "canary found in the sealed report");
	unlink(body);
	cr_assert(!found_under(T.dir, canary), "canary found in the test directory");
}
