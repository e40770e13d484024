/*
 * DESIGN §1.1: a unique canary string, sent in an answer, in an attachment
 * and in its file name, is found nowhere at rest: not in the PostgreSQL
 * data directory (tables, WAL), not in the spool, not in tipd's log.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

Test(canary, is_nowhere_at_rest, .init = setup, .fini = teardown, .timeout = 120)
{
	const char *pgdata = getenv("TIPLINE_TEST_PGDATA");
	cr_assert(pgdata != NULL, "TIPLINE_TEST_PGDATA is not set: run with scripts/test");
	uint8_t rnd[12];
	char hex[25], canary[64], path[TH_PATH + 64], report[TH_PATH];
	char freport[TH_PATH + 40], ffile[2 * TH_PATH], url[128], id[37];
	randombytes_buf(rnd, sizeof(rnd));
	util_hex(rnd, sizeof(rnd), hex);
	snprintf(canary, sizeof(canary), "CANARY%sCANARY", hex);

	/* The attachment: the canary among other bytes, and in its name. */
	snprintf(path, sizeof(path), "%s/upload.bin", T.dir);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 2000; i++)
		fprintf(f, "line %d of the attachment %s\n", i, canary);
	fclose(f);
	snprintf(report, sizeof(report), "%s/report.json", T.dir);
	f = fopen(report, "w");
	fprintf(f, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":{\"what_happened\":\"%s\","
	           "\"exploitation\":[\"labour\"],\"affected_person\":\"me\",\"safe_now\":\"no\","
	           "\"where\":\"%s\"}}", canary, canary);
	fclose(f);
	snprintf(freport, sizeof(freport), "report=<%s", report);
	snprintf(ffile, sizeof(ffile), "file=@%s;filename=%s.jpg", path, canary);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", T.source_port);
	char *args[] = { "-F", freport, "-F", ffile, url, NULL };
	cr_assert_eq(th_curl(&T, args, NULL), 201);
	/* While the sealed report sits in the spool, the spool holds no canary. */
	cr_assert_eq(th_spool_count(&T, ".rep"), 1, "the report is not waiting in the spool");
	cr_assert(!found_under(T.spool, canary), "canary found in the spool");
	cr_assert_eq(th_stop(&T, SIGTERM), 0, "tipd did not stop cleanly");
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 1, "not flushed at shutdown");

	/* Positive control: the report really holds the canary once decrypted. */
	it_only_report(&T, id);
	json_t *doc = it_open_report(&T, id);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "answers"),
	                                                   "what_happened")), canary);
	json_decref(doc);
	/* …and grep would find it if it were there. */
	cr_assert(found_under(T.dir, canary), "grep cannot find the canary in the upload itself");

	/* Make PostgreSQL write everything down: data files and WAL. */
	PGconn *c = th_db(&T);
	PQclear(PQexec(c, "checkpoint"));
	PQfinish(c);
	unlink(path);
	unlink(report);
	cr_assert(!found_under(pgdata, canary), "canary found in the PostgreSQL data directory");
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
