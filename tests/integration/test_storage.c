/*
 * Storage against a real PostgreSQL: migrations, grants, and the flusher
 * moving spooled entries into the database exactly once, through outages.
 *
 * Needs TIPLINE_TEST_PGHOST (unix socket directory), TIPLINE_TEST_PGPORT and
 * TIPLINE_TEST_PGUSER (a superuser). Each test creates its own database.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "db.h"
#include "flusher.h"
#include "migrate.h"
#include "spool.h"
#include "util.h"

static const char REC1[] = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
static const char REC2[] = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

static const char *pghost, *pgport, *pguser;
static char srcdir[1024];
static char dbname[64];
static char tmpdir[256];
static char spooldir[300];
static char admin_ci[1024], super_ci[1024], app_ci[1024];

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static PGconn *
connect_or_die(const char *ci)
{
	PGconn *c = PQconnectdb(ci);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "cannot connect (%s): %s", ci,
	             PQerrorMessage(c));
	return c;
}

static void
exec_or_die(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
	          PQerrorMessage(c));
	PQclear(r);
}

/* Run `sql` and return the first column of the first row as a long. */
static long
scalar(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	cr_assert_eq(PQntuples(r), 1, "%s", sql);
	uint64_t v = 0;
	cr_assert_eq(util_parse_u64(PQgetvalue(r, 0, 0), UINT64_MAX, &v), 0, "%s", sql);
	PQclear(r);
	return (long)v;
}

/* Run `sql` and return its SQLSTATE ("" on success). */
static const char *
sqlstate(PGconn *c, const char *sql)
{
	static char st[6];
	PGresult *r = PQexec(c, sql);
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(st, sizeof(st), "%s", s != NULL ? s : "");
	PQclear(r);
	return st;
}

static void
setup(void)
{
	pghost = getenv("TIPLINE_TEST_PGHOST");
	pgport = getenv("TIPLINE_TEST_PGPORT");
	pguser = getenv("TIPLINE_TEST_PGUSER");
	const char *src = getenv("TIPLINE_SOURCE_DIR");
	if (pghost == NULL || pgport == NULL || pguser == NULL || pghost[0] != '/') {
		pghost = NULL;
		cr_assert_fail("set TIPLINE_TEST_PGHOST (a unix socket directory), "
		               "TIPLINE_TEST_PGPORT and TIPLINE_TEST_PGUSER (a superuser) "
		               "to run the storage tests against PostgreSQL");
	}
	if (src == NULL) {
		pghost = NULL;
		cr_assert_fail("TIPLINE_SOURCE_DIR is not set (ctest sets it)");
	}
	snprintf(srcdir, sizeof(srcdir), "%s", src);
	cr_assert(sodium_init() >= 0);
	uint8_t rnd[8];
	char hex[17];
	randombytes_buf(rnd, sizeof(rnd));
	util_hex(rnd, sizeof(rnd), hex);
	snprintf(dbname, sizeof(dbname), "tipline_test_%s", hex);
	snprintf(admin_ci, sizeof(admin_ci), "host=%s port=%s user=%s dbname=postgres", pghost,
	         pgport, pguser);
	snprintf(super_ci, sizeof(super_ci), "host=%s port=%s user=%s dbname=%s", pghost, pgport,
	         pguser, dbname);
	snprintf(app_ci, sizeof(app_ci), "host=%s port=%s user=tipline_app dbname=%s", pghost,
	         pgport, dbname);

	PGconn *c = connect_or_die(admin_ci);
	char path[1200], sql[256];
	snprintf(path, sizeof(path), "%s/deploy/postgresql/roles.sql", srcdir);
	size_t len;
	char *roles = util_read_file(path, 1 << 16, &len);
	cr_assert_not_null(roles, "cannot read %s", path);
	exec_or_die(c, roles);
	free(roles);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER tipline_owner", dbname);
	exec_or_die(c, sql);
	PQfinish(c);

	snprintf(path, sizeof(path), "%s/schema", srcdir);
	cr_assert_eq(migrate_run(super_ci, path), 0, "first migrate_run failed");
	cr_assert_eq(migrate_run(super_ci, path), 0, "second migrate_run failed");

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_storage.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(spooldir, sizeof(spooldir), "%s/spool", tmpdir);
}

static void
rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char p[1200];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void
teardown(void)
{
	spool_test_fault(SPOOL_FAULT_READ, 0, 0);
	if (pghost == NULL)
		return;
	rm_tree(tmpdir);
	PGconn *c = PQconnectdb(admin_ci);
	char sql[256];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
	PQclear(PQexec(c, sql));
	PQfinish(c);
}

TestSuite(storage, .init = setup, .fini = teardown, .timeout = 60);

/* --- schema --- */

/* Number of migrations shipped in schema/. */
static long
shipped_count(void)
{
	char src[1200];
	long n = 0;
	snprintf(src, sizeof(src), "%s/schema", srcdir);
	DIR *d = opendir(src);
	cr_assert_not_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && l > 4 &&
		    strcmp(e->d_name + l - 4, ".sql") == 0)
			n++;
	}
	closedir(d);
	return n;
}

Test(storage, migrations_are_idempotent_owned_and_timeless)
{
	PGconn *c = connect_or_die(super_ci);
	cr_assert_geq(shipped_count(), 2);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM schema_migrations"), shipped_count());
	cr_assert_eq(scalar(c, "SELECT count(*) FROM schema_migrations WHERE version = 1 "
	                       "AND name = 'init' AND length(checksum) = 64"),
	             1);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
	                       "AND tableowner <> 'tipline_owner'"),
	             0, "a table is not owned by tipline_owner");
	cr_assert_geq(scalar(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 7);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM information_schema.columns "
	                       "WHERE table_schema = 'public' AND (data_type LIKE 'timestamp%' "
	                       "OR data_type LIKE 'time%' OR data_type = 'interval')"),
	             0, "the schema stores a time of day");
	cr_assert_geq(scalar(c, "SELECT count(*) FROM information_schema.columns WHERE "
	                        "table_schema = 'public' AND data_type = 'date'"),
	              5);
	PQfinish(c);
}

Test(storage, app_role_has_least_privilege)
{
	PGconn *c = connect_or_die(app_ci);
	cr_assert_str_eq(sqlstate(c, "INSERT INTO teams (id) VALUES ('team-a')"), "");
	cr_assert_str_eq(sqlstate(c, "INSERT INTO teams (id) VALUES ('Bad Team')"), "23514");
	cr_assert_str_eq(sqlstate(c, "INSERT INTO reports (id, team_id, received_on, payload) "
	                             "VALUES ('0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11', 'team-a', "
	                             "'2024-05-01', '\\x01')"),
	                 "");
	cr_assert_str_eq(sqlstate(c, "UPDATE reports SET status = 'triaged', priority = 'high'"),
	                 "");
	cr_assert_str_eq(sqlstate(c, "UPDATE reports SET status = 'lost'"), "23514");
	cr_assert_str_eq(sqlstate(c, "UPDATE reports SET payload = '\\x02'"), "42501");
	cr_assert_str_eq(sqlstate(c, "UPDATE reports SET team_id = 'team-a'"), "42501");
	cr_assert_str_eq(sqlstate(c, "DELETE FROM reports"), "42501");
	cr_assert_str_eq(sqlstate(c, "TRUNCATE reports"), "42501");
	cr_assert_str_eq(sqlstate(c, "DELETE FROM attachments"), "42501");
	cr_assert_str_eq(sqlstate(c, "UPDATE object_headers SET header = '\\x00'"), "42501");
	cr_assert_str_eq(sqlstate(c, "SELECT * FROM schema_migrations"), "");
	cr_assert_str_eq(sqlstate(c, "DELETE FROM schema_migrations"), "42501");
	cr_assert_str_eq(sqlstate(c, "INSERT INTO schema_migrations VALUES (99, 'x', 'y')"),
	                 "42501");
	cr_assert_str_eq(sqlstate(c, "DROP TABLE reports"), "42501");
	cr_assert_str_eq(sqlstate(c, "CREATE TABLE sneaky (t timestamptz)"), "42501");
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports WHERE status = 'triaged'"), 1);
	PQfinish(c);
}

static void
write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(util_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* Copy every shipped migration into `dir`; return how many there are. */
static long
copy_shipped(const char *dir)
{
	char src[1200], path[1200];
	long n = 0;
	snprintf(src, sizeof(src), "%s/schema", srcdir);
	DIR *d = opendir(src);
	cr_assert_not_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || l < 5 ||
		    strcmp(e->d_name + l - 4, ".sql") != 0)
			continue;
		size_t len;
		snprintf(src, sizeof(src), "%s/schema/%s", srcdir, e->d_name);
		char *text = util_read_file(src, 1 << 20, &len);
		cr_assert_not_null(text);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		write_text(path, text);
		free(text);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 1);
	return n;
}

Test(storage, migrate_refuses_changed_files_and_rolls_back_failures)
{
	char dir[400], path[600], src[1200];
	size_t len;
	snprintf(dir, sizeof(dir), "%s/schema", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	long shipped = copy_shipped(dir);
	cr_assert_eq(migrate_run(super_ci, dir), 0, "an unchanged copy must be up to date");

	/* A failing migration changes nothing and is not recorded. */
	snprintf(path, sizeof(path), "%s/9000_broken.sql", dir);
	write_text(path, "CREATE TABLE half (id int);\nSELECT no_such_function();\n");
	cr_assert_neq(migrate_run(super_ci, dir), 0);
	PGconn *c = connect_or_die(super_ci);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM schema_migrations"), shipped);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'"), 0);

	/* A good one is applied once, owned by tipline_owner. */
	write_text(path, "CREATE TABLE later (id int PRIMARY KEY);\n");
	cr_assert_eq(migrate_run(super_ci, dir), 0);
	cr_assert_eq(migrate_run(super_ci, dir), 0);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM schema_migrations"), shipped + 1);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'later' "
	                       "AND tableowner = 'tipline_owner'"),
	             1);

	/* Editing an applied migration is refused. */
	snprintf(src, sizeof(src), "%s/schema/0001_init.sql", srcdir);
	char *init = util_read_file(src, 1 << 20, &len);
	cr_assert_not_null(init);
	snprintf(path, sizeof(path), "%s/0001_init.sql", dir);
	char *edited = malloc(len + 32);
	snprintf(edited, len + 32, "%s-- edited\n", init);
	write_text(path, edited);
	cr_assert_neq(migrate_run(super_ci, dir), 0, "a changed applied migration was accepted");
	write_text(path, init);
	free(edited);
	free(init);
	/* Renaming an applied migration is refused too. */
	char renamed[600];
	snprintf(renamed, sizeof(renamed), "%s/9000_renamed.sql", dir);
	snprintf(path, sizeof(path), "%s/9000_broken.sql", dir);
	cr_assert_eq(rename(path, renamed), 0);
	cr_assert_neq(migrate_run(super_ci, dir), 0);
	PQfinish(c);
	cr_assert_neq(migrate_run("host=/nonexistent-socket-dir dbname=x", dir), 0);
}

/* --- flusher --- */

static void
add_team(const char *team)
{
	PGconn *c = connect_or_die(app_ci);
	char sql[200];
	snprintf(sql, sizeof(sql), "INSERT INTO teams (id) VALUES ('%s')", team);
	exec_or_die(c, sql);
	PQfinish(c);
}

/* Spool a report (with `natt` attachments) for `team` on `date`; return its uuid. */
static void
spool_report(struct spool *s, const char *team, const char *date, int natt,
             char rep[UUID_STR_LEN])
{
	char att[UUID_STR_LEN];
	util_uuid(rep);
	struct spool_txn *t = spool_begin(s, rep, team, date);
	cr_assert_not_null(t);
	cr_assert_eq(spool_object(t, SPOOL_REPORT, rep), 0);
	cr_assert_eq(spool_header(t, rep, REC1, (const uint8_t *)"header-1", 8), 0);
	cr_assert_eq(spool_header(t, rep, REC2, (const uint8_t *)"header-2", 8), 0);
	cr_assert_eq(spool_payload(t, rep, (const uint8_t *)rep, 36), 0);
	for (int i = 0; i < natt; i++) {
		util_uuid(att);
		cr_assert_eq(spool_object(t, SPOOL_ATTACHMENT, att), 0);
		cr_assert_eq(spool_header(t, att, REC1, (const uint8_t *)"\x00\x01", 2), 0);
		cr_assert_eq(spool_payload(t, att, (const uint8_t *)"\x00zero\xff", 6), 0);
	}
	cr_assert_eq(spool_commit_sync(t), 0);
}

static void
spool_message(struct spool *s, const char *team, const char *rep)
{
	char msg[UUID_STR_LEN];
	util_uuid(msg);
	struct spool_txn *t = spool_begin(s, rep, team, "2024-05-03");
	cr_assert_not_null(t);
	cr_assert_eq(spool_object(t, SPOOL_MESSAGE, msg), 0);
	cr_assert_eq(spool_header(t, msg, REC1, (const uint8_t *)"mh", 2), 0);
	cr_assert_eq(spool_payload(t, msg, (const uint8_t *)"message", 7), 0);
	cr_assert_eq(spool_commit_sync(t), 0);
}

static int
spool_count(struct spool *s)
{
	char **p = NULL;
	int n = spool_list(s, &p, 10000);
	spool_list_free(p, n);
	return n;
}

/* Wait until the spool holds `want` committed files; return whether it did. */
static int
wait_spool(struct spool *s, int want, unsigned ms)
{
	for (unsigned waited = 0; waited < ms; waited += 20) {
		if (spool_count(s) == want)
			return 1;
		sleep_ms(20);
	}
	return spool_count(s) == want;
}

static void
copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = util_read_file(from, 1 << 24, &len);
	cr_assert_not_null(data);
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(util_write_all(fd, data, len), 0);
	close(fd);
	free(data);
}

Test(storage, flusher_inserts_every_entry_exactly_once)
{
	add_team("team-a");
	struct spool *s = spool_open(spooldir, 1 << 30);
	cr_assert_not_null(s);
	char rep[UUID_STR_LEN], first[UUID_STR_LEN];
	for (int i = 0; i < 6; i++)
		spool_report(s, "team-a", i % 2 ? "2024-05-01" : "2024-05-02", i % 3,
		             i == 0 ? first : rep);
	spool_message(s, "team-a", first);
	/* Keep a copy of one file to replay it later. */
	char **paths = NULL;
	cr_assert_eq(spool_list(s, &paths, 1), 1);
	char saved[600], again[700];
	snprintf(saved, sizeof(saved), "%s/saved", tmpdir);
	copy_file(paths[0], saved);
	snprintf(again, sizeof(again), "%s", paths[0]);
	spool_list_free(paths, 1);

	struct flusher *f = flusher_new(s, app_ci, 200);
	cr_assert_not_null(f);
	cr_assert_eq(flusher_start(f), 0);
	cr_assert(wait_spool(s, 0, 10000), "the spool was not flushed");
	/* The batch's files go before its figures are counted: wait for those
	 * too (they must reach 7 and stop there). */
	struct flusher_stats st;
	for (int waited = 0; waited < 5000; waited += 20) {
		flusher_get_stats(f, &st);
		if (st.entries >= 7 && st.rows >= 18 + 12 + 2)
			break;
		usleep(20000);
	}
	cr_assert_eq(st.entries, 7);
	/* 6 reports x (1 + 2 headers), 6 attachments x (1 + 1), 1 message x (1 + 1). */
	cr_assert_eq(st.rows, 18 + 12 + 2, "rows: %lu", (unsigned long)st.rows);
	cr_assert_eq(spool_used(s), 0);

	PGconn *c = connect_or_die(super_ci);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports"), 6);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports WHERE received_on = '2024-05-01'"),
	             3);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports WHERE payload = "
	                       "convert_to(id::text, 'UTF8')"),
	             6, "payload bytes changed on the way");
	cr_assert_eq(scalar(c, "SELECT count(*) FROM attachments"), 6);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM attachments WHERE payload = "
	                       "'\\x007a65726fff'::bytea"),
	             6);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM messages"), 1);
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM messages WHERE report_id = '%s' AND "
	                           "sent_on = '2024-05-03'", first);
	cr_assert_eq(scalar(c, sql), 1);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM object_headers"), 12 + 6 + 1);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM object_headers h JOIN reports r ON "
	                       "r.id = h.object_id WHERE h.header IN ('\\x6865616465722d31', "
	                       "'\\x6865616465722d32')"),
	             12);

	/* Replay a file that was already flushed: still exactly once. */
	copy_file(saved, again);
	cr_assert_eq(flusher_flush_now(f), 0);
	cr_assert(wait_spool(s, 0, 10000), "the replayed file was not flushed");
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports"), 6);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM attachments"), 6);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM messages"), 1);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM object_headers"), 19);
	flusher_get_stats(f, &st);
	cr_assert_eq(st.entries, 8);
	cr_assert_eq(flusher_stop(f, 5000), 0);
	flusher_free(f);
	spool_free(s);
	PQfinish(c);
}

Test(storage, unknown_team_and_bad_rows_do_not_sink_the_batch)
{
	add_team("team-a");
	struct spool *s = spool_open(spooldir, 1 << 30);
	char rep[UUID_STR_LEN], lost[UUID_STR_LEN], bad[UUID_STR_LEN];
	for (int i = 0; i < 4; i++)
		spool_report(s, "team-a", "2024-06-01", 1, rep);
	spool_report(s, "team-b", "2024-06-01", 0, lost);
	/* Passes the spool's format checks but not PostgreSQL's calendar. */
	spool_report(s, "team-a", "2023-02-30", 0, bad);

	struct flusher *f = flusher_new(s, app_ci, 200);
	cr_assert_eq(flusher_start(f), 0);
	cr_assert(wait_spool(s, 2, 10000), "good entries were held back");
	PGconn *c = connect_or_die(super_ci);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports"), 4);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM attachments"), 4);
	cr_assert_eq(flusher_stop(f, 5000), -1, "stop must report files left behind");
	struct flusher_stats st;
	flusher_get_stats(f, &st);
	cr_assert_eq(st.entries, 4);
	cr_assert_geq(st.skipped, 2);
	flusher_free(f);
	cr_assert_eq(spool_count(s), 2);

	/* Once the operator creates the team, its report goes in. */
	add_team("team-b");
	f = flusher_new(s, app_ci, 200);
	cr_assert_eq(flusher_start(f), 0);
	cr_assert(wait_spool(s, 1, 10000));
	cr_assert_eq(flusher_stop(f, 5000), -1);
	flusher_free(f);
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE id = '%s'", lost);
	cr_assert_eq(scalar(c, sql), 1);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports"), 5);
	PQfinish(c);
	spool_free(s);
}

Test(storage, outage_keeps_files_and_flushes_after_recovery)
{
	add_team("team-a");
	char dead[400], sock[500], real[1200];
	snprintf(dead, sizeof(dead), "%s/dead", tmpdir);
	cr_assert_eq(mkdir(dead, 0700), 0);
	char ci[1200];
	snprintf(ci, sizeof(ci), "host=%s port=%s user=tipline_app dbname=%s", dead, pgport,
	         dbname);
	struct spool *s = spool_open(spooldir, 1 << 30);
	char rep[UUID_STR_LEN];
	for (int i = 0; i < 3; i++)
		spool_report(s, "team-a", "2024-07-01", 1, rep);

	struct flusher *f = flusher_new(s, ci, 100);
	cr_assert_eq(flusher_start(f), 0);
	sleep_ms(700);
	cr_assert_eq(spool_count(s), 3, "files vanished while the database was down");
	struct flusher_stats st;
	flusher_get_stats(f, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_geq(st.failures, 2, "failures: %lu", (unsigned long)st.failures);
	spool_report(s, "team-a", "2024-07-01", 0, rep); /* still accepting */

	/* The database comes back at the same address. */
	snprintf(sock, sizeof(sock), "%s/.s.PGSQL.%s", dead, pgport);
	snprintf(real, sizeof(real), "%s/.s.PGSQL.%s", pghost, pgport);
	cr_assert_eq(symlink(real, sock), 0);
	cr_assert(wait_spool(s, 0, 10000), "not flushed after the database came back");
	PGconn *c = connect_or_die(super_ci);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports"), 4);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM attachments"), 3);
	PQfinish(c);
	cr_assert_eq(flusher_stop(f, 5000), 0);

	/* Down again at shutdown: stop gives up in time and reports files left. */
	cr_assert_eq(unlink(sock), 0);
	spool_report(s, "team-a", "2024-07-02", 0, rep);
	flusher_free(f);
	f = flusher_new(s, ci, 100);
	cr_assert_eq(flusher_start(f), 0);
	time_t t0 = time(NULL);
	cr_assert_eq(flusher_stop(f, 500), -1);
	cr_assert_leq(time(NULL) - t0, 3);
	cr_assert_eq(spool_count(s), 1);
	flusher_free(f);
	spool_free(s);
}

Test(storage, no_name_lookups_on_the_loop)
{
	cr_assert_eq(db_conninfo_check("host=/run/postgresql dbname=x"), 0);
	cr_assert_eq(db_conninfo_check("host=/a,/b dbname=x"), 0);
	cr_assert_eq(db_conninfo_check("hostaddr=127.0.0.1 port=5432 dbname=x"), 0);
	cr_assert_eq(db_conninfo_check("postgresql:///x?host=/run/postgresql"), 0);
	cr_assert_neq(db_conninfo_check("host=db.example.com dbname=x"), 0);
	cr_assert_neq(db_conninfo_check("host=/ok,db.example.com dbname=x"), 0);
	cr_assert_neq(db_conninfo_check("postgresql://db.example.com/x"), 0);
	cr_assert_neq(db_conninfo_check("host=localhost"), 0);
	cr_assert_neq(db_conninfo_check("this is not a conninfo"), 0);
	struct spool *s = spool_open(spooldir, 1 << 20);
	cr_assert_null(flusher_new(s, "host=db.example.com", 100));
	spool_free(s);
}

static int
count_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	int n = 0;
	cr_assert_not_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

Test(storage, unreadable_now_is_retried_corrupt_is_quarantined)
{
	add_team("team-a");
	struct spool *s = spool_open(spooldir, 1 << 30);
	char rep[UUID_STR_LEN];
	spool_report(s, "team-a", "2024-08-01", 1, rep);
	spool_report(s, "team-a", "2024-08-01", 0, rep);
	/* A third file whose bytes are damaged. */
	char **paths = NULL, corrupt[700];
	cr_assert_eq(spool_list(s, &paths, 1), 1);
	size_t len;
	char *data = util_read_file(paths[0], 1 << 20, &len);
	cr_assert_not_null(data);
	spool_list_free(paths, 1);
	data[len / 2] ^= 0x20;
	snprintf(corrupt, sizeof(corrupt), "%s/0b1e0a52-3f5b-4d0c-9a77-2b0f1f3f2a11.rep", spooldir);
	int fd = open(corrupt, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(util_write_all(fd, data, len), 0);
	close(fd);
	free(data);

	/* Out of file descriptors (as the flusher would see it) for a while. */
	spool_test_fault(SPOOL_FAULT_READ, 1000000, EMFILE);
	struct flusher *f = flusher_new(s, app_ci, 100);
	cr_assert_eq(flusher_start(f), 0);
	sleep_ms(600);
	cr_assert_eq(count_suffix(spooldir, ".bad"), 0, "a readable-later file was quarantined");
	cr_assert_eq(spool_count(s), 3);
	struct flusher_stats st;
	flusher_get_stats(f, &st);
	cr_assert_geq(st.failures, 1, "unreadable files were not counted as a failure");
	cr_assert_eq(st.entries, 0);

	/* Descriptors are back: good files go in, the damaged one is set aside. */
	spool_test_fault(SPOOL_FAULT_READ, 0, 0);
	cr_assert(wait_spool(s, 0, 10000), "files were not flushed once readable");
	cr_assert_eq(count_suffix(spooldir, ".bad"), 1, "the corrupt file was not quarantined");
	PGconn *c = connect_or_die(super_ci);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM reports"), 2);
	cr_assert_eq(scalar(c, "SELECT count(*) FROM attachments"), 1);
	PQfinish(c);
	cr_assert_eq(flusher_stop(f, 5000), 0);
	flusher_free(f);
	spool_free(s);
}

/* --- db: each queued item's callback runs exactly once, or never on -1 --- */

struct calls {
	int n;
	int null;
};

static void
count_cb(const PGresult *res, void *arg)
{
	struct calls *c = arg;
	c->n++;
	c->null += res == NULL;
}

static void
run_until(struct event_base *base, const int *flag, int want, unsigned ms)
{
	for (unsigned waited = 0; *flag < want && waited < ms; waited += 10) {
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void
up_cb(int up, void *arg)
{
	*(int *)arg += up;
}

/* A db on a new event base, connected (asserted) as the superuser; with
 * `backoff`, its reconnect backoff is 10 to 50 ms. `ups` counts its
 * connections (up_cb), and must outlive the db. */
static struct db *
db_up(struct event_base **base, int *ups, int backoff)
{
	*base = event_base_new();
	cr_assert_not_null(*base);
	struct db *db = db_new(*base, super_ci);
	cr_assert_not_null(db);
	*ups = 0;
	db_set_state_cb(db, up_cb, ups);
	if (backoff)
		db_set_backoff(db, 10, 50);
	run_until(*base, ups, 1, 5000);
	cr_assert(db_is_up(db));
	return db;
}

Test(storage, db_never_calls_back_a_refused_query)
{
	struct event_base *base;
	int ups;
	struct db *db = db_up(&base, &ups, 0);

	struct calls ok = { 0 }, refused = { 0 }, sync = { 0 };
	cr_assert_eq(db_query(db, "SELECT 1", 0, NULL, NULL, NULL, count_cb, &ok), 0);
	/* libpq refuses more than 65535 parameters before sending anything. */
	enum { TOO_MANY = 70000 };
	const char **v = calloc(TOO_MANY, sizeof(*v));
	cr_assert_not_null(v);
	for (int i = 0; i < TOO_MANY; i++)
		v[i] = "1";
	int rc = db_query(db, "SELECT 1", TOO_MANY, v, NULL, NULL, count_cb, &refused);
	free(v);
	cr_assert_eq(rc, -1);
	if (db_is_up(db))
		cr_assert_eq(db_sync(db, count_cb, &sync), 0);
	else
		sync.n = 1;
	run_until(base, &sync.n, 1, 5000);
	run_until(base, &ups, 2, 5000); /* the connection may be made anew */
	cr_assert_eq(refused.n, 0, "a query that returned -1 was called back");
	cr_assert_eq(ok.n, 1, "the accepted query was called back %d times", ok.n);
	cr_assert_eq(sync.n, 1);

	/* The connection is usable afterwards. */
	run_until(base, &ups, 1, 5000);
	cr_assert(db_is_up(db));
	struct calls later = { 0 };
	cr_assert_eq(db_query(db, "SELECT 2", 0, NULL, NULL, NULL, count_cb, &later), 0);
	cr_assert_eq(db_sync(db, NULL, NULL), 0);
	run_until(base, &later.n, 1, 5000);
	cr_assert_eq(later.n, 1);
	cr_assert_eq(later.null, 0);
	db_free(db);
	event_base_free(base);
}

/* --- db: DB_Q_CACHED statements are prepared again on a new connection --- */

struct prepared {
	int n;
	int failed;
	long count; /* of the last pg_prepared_statements count */
};

static void
prepared_cb(const PGresult *res, void *arg)
{
	struct prepared *p = arg;
	p->n++;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		p->failed++;
		return;
	}
	p->count = strtol(PQgetvalue(res, 0, 0), NULL, 10);
}

/* Run the cached count of this session's prepared statements once, with a
 * failing statement after it in the same segment when `then_fail`; return
 * what the callback saw. */
static struct prepared
run_cached(struct event_base *base, struct db *db, int then_fail)
{
	struct prepared p = { 0 };
	struct calls sync = { 0 }, bad = { 0 };
	cr_assert_eq(db_query_ex(db, "select count(*) from pg_prepared_statements", 0, NULL, NULL,
	                         NULL, DB_Q_CACHED, prepared_cb, &p),
	             0);
	if (then_fail)
		cr_assert_eq(db_query(db, "select 1 / 0", 0, NULL, NULL, NULL, count_cb, &bad), 0);
	cr_assert_eq(db_sync(db, count_cb, &sync), 0);
	run_until(base, &sync.n, 1, 5000);
	cr_assert_eq(sync.n, 1);
	return p;
}

Test(storage, cached_statements_are_prepared_again_after_a_reconnect)
{
	struct event_base *base;
	int ups;
	struct db *db = db_up(&base, &ups, 1);

	/* First use prepares it (and runs it prepared: it counts itself); a
	 * segment that fails after it does not undo the Prepare. */
	struct prepared p = run_cached(base, db, 1);
	cr_assert_eq(p.failed, 0);
	cr_assert_eq(p.count, 1, "%ld prepared statements after the first use", p.count);
	p = run_cached(base, db, 0);
	cr_assert_eq(p.failed, 0);
	cr_assert_eq(p.count, 1);

	/* The server ends the connection: the statement is gone with it. The
	 * next connection must prepare it again, not run a name it never saw. */
	PGconn *c = connect_or_die(super_ci);
	cr_assert_eq(scalar(c, "select count(pg_terminate_backend(pid)) from pg_stat_activity "
	                       "where query = 'select count(*) from pg_prepared_statements'"),
	             1, "the db's connection was not found");
	PQfinish(c);
	/* The loss is noticed on the next use (the callback sees NULL) or on read. */
	struct calls probe = { 0 };
	for (int i = 0; i < 100 && db_is_up(db); i++) {
		if (db_query(db, "select 1", 0, NULL, NULL, NULL, count_cb, &probe) == 0 &&
		    db_sync(db, NULL, NULL) == 0)
			run_until(base, &probe.n, probe.n + 1, 1000);
	}
	run_until(base, &ups, 2, 5000);
	cr_assert(db_is_up(db), "no new connection");
	p = run_cached(base, db, 0);
	cr_assert_eq(p.failed, 0, "the cached statement failed on the new connection");
	cr_assert_eq(p.count, 1);
	db_free(db);
	event_base_free(base);
}
