/*
 * tipd's life as an operator sees it: `tipd -n` checks a configuration;
 * SIGTERM flushes the spool to PostgreSQL before exiting; SIGHUP swaps the TLS
 * certificate; while PostgreSQL refuses connections the spool keeps taking
 * reports (up to its quota, then 503) and they arrive once it is back.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "it_common.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(lifecycle, .init = setup, .fini = teardown, .timeout = 120);

#define BODY "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}"

Test(lifecycle, check_mode_accepts_a_good_file_and_names_the_fault_of_a_bad_one)
{
	struct buf out;
	buf_init(&out, 1 << 16);
	char *good[] = { T.tipd_bin, "-c", T.conf, "-n", NULL };
	cr_assert_eq(th_run(good, NULL, 0, &out), 0);
	cr_assert(strstr(buf_cstr(&out), "configuration OK") != NULL);
	snprintf(T.extra_conf, sizeof(T.extra_conf), "max_headers = many\n");
	th_write_conf(&T);
	char *bad[] = { T.tipd_bin, "-c", T.conf, "-n", NULL };
	cr_assert_eq(th_run(bad, NULL, 0, NULL), 1);
	char *missing[] = { T.tipd_bin, "-c", "/nonexistent.conf", "-n", NULL };
	cr_assert_eq(th_run(missing, NULL, 0, NULL), 1);
	char *usage[] = { T.tipd_bin, "--bogus", NULL };
	cr_assert_eq(th_run(usage, NULL, 0, NULL), 2);
	char *help[] = { T.tipd_bin, "--help", NULL };
	buf_reset(&out);
	cr_assert_eq(th_run(help, NULL, 0, &out), 0);
	cr_assert(strstr(buf_cstr(&out), "membership add") != NULL);
	buf_free(&out);
}

Test(lifecycle, sigterm_flushes_the_spool_before_exiting)
{
	T.flush_ms = 3600 * 1000;
	th_write_conf(&T);
	th_start(&T);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(it_post_json(&T, 0, BODY, NULL), 201);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 0);
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 3,
	             "the spool was not flushed at shutdown");
	cr_assert_eq(th_spool_count(&T, ".rep"), 0);
}

Test(lifecycle, sighup_swaps_the_tls_certificate)
{
	char crt[TH_PATH + 16], key[TH_PATH + 16], old[TH_PATH + 16], url[128];
	th_start(&T);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	snprintf(key, sizeof(key), "%s/tls.key", T.dir);
	snprintf(old, sizeof(old), "%s/old.crt", T.dir);
	cr_assert_eq(rename(crt, old), 0);
	char *ossl[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
		         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", crt, NULL };
	cr_assert_eq(th_run(ossl, NULL, 0, NULL), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", T.review_port);
	char *with_old[] = { "--cacert", old, url, NULL };
	char *with_new[] = { "--cacert", crt, url, NULL };
	cr_assert_eq(th_curl(&T, with_old, NULL), 200, "before SIGHUP the old certificate serves");
	cr_assert_eq(th_curl(&T, with_new, NULL), 0);
	kill(T.tipd, SIGHUP);
	usleep(300 * 1000);
	cr_assert_eq(th_curl(&T, with_new, NULL), 200, "after SIGHUP the new certificate serves");
	cr_assert_eq(th_curl(&T, with_old, NULL), 0);

	/* A broken pair is refused and the working one stays. */
	FILE *f = fopen(key, "w");
	fputs("not a key\n", f);
	fclose(f);
	kill(T.tipd, SIGHUP);
	usleep(300 * 1000);
	cr_assert_eq(th_curl(&T, with_new, NULL), 200);
}

static void
db_connections(int allow)
{
	char sql[256];
	PGconn *c = th_db(&(struct th){ .db = "postgres" });
	snprintf(sql, sizeof(sql), "alter database %s allow_connections %s", T.db,
	         allow ? "true" : "false");
	PQclear(PQexec(c, sql));
	if (!allow) {
		snprintf(sql, sizeof(sql),
		         "select pg_terminate_backend(pid) from pg_stat_activity where datname = '%s'",
		         T.db);
		PQclear(PQexec(c, sql));
	}
	PQfinish(c);
}

/* Submit a report with a `kib` KiB attachment; return the status. */
static int
post_with_file(int kib)
{
	char path[TH_PATH + 16], rep[TH_PATH + 16], f1[TH_PATH + 32], f2[TH_PATH + 32], url[128];
	snprintf(path, sizeof(path), "%s/blob", T.dir);
	snprintf(rep, sizeof(rep), "%s/rep.json", T.dir);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < kib; i++)
		for (int j = 0; j < 1024; j++)
			fputc(j & 0xff, f);
	fclose(f);
	f = fopen(rep, "w");
	fputs(BODY, f);
	fclose(f);
	snprintf(f1, sizeof(f1), "report=<%s", rep);
	snprintf(f2, sizeof(f2), "file=@%s", path);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", T.source_port);
	char *args[] = { "-F", f1, "-F", f2, url, NULL };
	return th_curl(&T, args, NULL);
}

Test(lifecycle, database_outage_spools_up_to_the_quota_then_flushes)
{
	snprintf(T.extra_conf, sizeof(T.extra_conf), "max_body_mb = 8\n");
	th_write_conf(&T);
	/* A 1 MiB quota: set through the [tipd] section. */
	size_t len;
	char *conf = util_read_file(T.conf, 1 << 16, &len);
	FILE *f = fopen(T.conf, "w");
	fprintf(f, "%s[tipd]\nspool_quota_mb = 1\n", conf);
	fclose(f);
	free(conf);
	th_start(&T);

	db_connections(0);
	cr_assert_eq(post_with_file(400), 201, "the spool must accept while the database is away");
	cr_assert_eq(post_with_file(400), 201);
	cr_assert_eq(post_with_file(400), 503, "over the spool quota must be a 503");
	usleep(600 * 1000);
	cr_assert_eq(th_spool_count(&T, ".rep"), 2);

	db_connections(1);
	cr_assert_eq(th_wait_reports(&T, 2, 15000), 2, "the spooled reports did not arrive");
	cr_assert_eq(th_count(&T, "select count(*) from attachments"), 2);
	for (int i = 0; i < 50 && th_spool_count(&T, ".rep") > 0; i++)
		usleep(100 * 1000);
	cr_assert_eq(th_spool_count(&T, ".rep"), 0);
	cr_assert_eq(post_with_file(400), 201, "room again once flushed");
}

Test(lifecycle, starts_and_takes_reports_while_the_database_is_away)
{
	th_start(&T); /* a first start caches the verified membership */
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	db_connections(0);
	th_start(&T);
	cr_assert_eq(it_post_json(&T, 0, BODY, NULL), 201,
	             "no receipt while PostgreSQL is away after a restart");
	cr_assert_eq(th_spool_count(&T, ".rep"), 1);
	db_connections(1);
	cr_assert_eq(th_wait_reports(&T, 1, 15000), 1, "the report did not arrive afterwards");
}

Test(lifecycle, without_a_cached_membership_an_unreachable_database_stops_start_up)
{
	db_connections(0);
	/* `timeout` turns a tipd that wrongly starts into exit status 124. */
	char *argv[] = { "timeout", "20", T.tipd_bin, "-c", T.conf, NULL };
	int rc = th_run(argv, NULL, 0, NULL);
	db_connections(1);
	cr_assert_eq(rc, 1, "tipd %s without a database or a cached membership",
	             rc == 124 ? "ran" : "failed oddly");
}
