/*
 * Partner referral and retention against the real tipd, PostgreSQL, tipctl
 * and Debian's stock age and tar (docs/keys.md "Referral to a partner",
 * "Retention"):
 *
 *  - referral: an admin pins a partner's key (`admin partner add`); `tips
 *    refer` writes one .age file that opens with `age -d` and the
 *    partner's identity only (not the member's), holding the case bundle
 *    (report, attachment byte for byte, reply, note, message, a manifest
 *    `sha256sum -c` accepts), and leaves no other file behind; the report
 *    becomes "referred". A report whose source did not consent, and a
 *    partner statement altered in the database, are refused with nothing
 *    written and nothing recorded.
 *  - retention: an admin sets a policy; `tips hold` / `--release`; `tipd
 *    purge` removes every row and every sealed byte of the expired report
 *    (every table is searched, after a positive control that the same search
 *    finds them before) and nothing of the one under legal hold or of the
 *    one not yet due; a second purge finds nothing.
 *  - every step above is exactly one audit entry of its kind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invite.h"
#include "it_common.h"
#include "util.h"

#define REPLY_TEXT "We read your report. Are you safe?"
#define NOTE_TEXT "Shelter called back; case goes to the partner."
#define MESSAGE_TEXT "I can talk on Friday."
#define ATTACH_TEXT "scanned passport page (not really)"

static struct th T;
static struct buf out, err;
static char pin[65], server[64];

static const char *
home_of(const char *who)
{
	static char home[TH_PATH + 32];
	snprintf(home, sizeof(home), "%s/home-%s", T.dir, who);
	(void)mkdir(home, 0700);
	return home;
}

#define tipctl(who, ...) it_tipctl(&T, home_of(who), NULL, &out, &err, __VA_ARGS__)

static void
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(s, f);
	cr_assert_eq(fclose(f), 0);
}

/* The first admin (tipd invite --admin, enroll, login) and the demo
 * investigator (logged in with the admin key pinned). */
static void
setup(void)
{
	char inv[INVITE_TEXT_MAX];
	th_setup(&T);
	th_start(&T);
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	th_tls_key_hex(&T, pin);
	char *op[] = { T.tipd_bin, "-c", T.conf, "invite", "--admin", "--server", server, NULL };
	cr_assert_eq(it_exec(&T, home_of("admin"), NULL, op, &out, &err), 0, "%s", buf_cstr(&err));
	const char *p = strstr(buf_cstr(&out), INVITE_PREFIX);
	cr_assert_not_null(p);
	snprintf(inv, sizeof(inv), "%.*s", (int)strcspn(p, "\n"), p);
	cr_assert_eq(tipctl("admin", "enroll", "--admin-key", T.admin_key, "--passphrase-file",
	                    T.passfile, inv, NULL), 0, "admin enroll: %s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "login", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert_eq(tipctl("inv", "login", "--server", server, "--pin", pin, "--origin",
	                    TH_REVIEW_ORIGIN, "--identity", T.identity, "--passphrase-file",
	                    T.passfile, "--admin-key", T.admin_pub, NULL),
	             0, "login: %s", buf_cstr(&err));
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}

TestSuite(refer_retention, .init = setup, .fini = teardown, .timeout = 240);

/* Audit entries of action `code` (about object `object`, or any if NULL). */
static long
audit_count(const char *code, const char *object)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "select count(*) from audit_entries where split_part(convert_from(entry, 'UTF8'), "
	         "' ', 3) = '%s' and ('%s' = '' or split_part(convert_from(entry, 'UTF8'), ' ', 6) "
	         "= '%s')", code, object ? object : "", object ? object : "");
	return th_count(&T, sql);
}

/* Submit a report with one attachment over the source's multipart API,
 * answering the consent question with `consent` (NULL: not answered);
 * wait until it is stored; its id into `rid` and its receipt into `receipt`. */
static void
submit(const char *consent, char rid[37], char receipt[64])
{
	char preport[TH_PATH], pfile[TH_PATH], freport[TH_PATH + 32], ffile[TH_PATH + 8], url[128];
	char body[2048], known[8192] = "";
	struct buf resp;
	json_error_t je;
	long before = th_count(&T, "select count(*) from reports");
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "select coalesce(string_agg(quote_literal(id::text), ','), "
	                        "'''00000000-0000-0000-0000-000000000000''') from reports");
	snprintf(known, sizeof(known), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	snprintf(preport, sizeof(preport), "%s/report-in.json", T.dir);
	snprintf(pfile, sizeof(pfile), "%s/passport.jpg", T.dir);
	char extra[96] = "";
	if (consent != NULL)
		snprintf(extra, sizeof(extra), ",\"referral_consent\":\"%s\"", consent);
	snprintf(body, sizeof(body), "{\"team\":\"demo\",\"language\":\"en\",\"answers\":%.*s%s}}",
	         (int)strlen(IT_ANSWERS) - 1, IT_ANSWERS, extra);
	write_file(preport, body);
	write_file(pfile, ATTACH_TEXT);
	snprintf(freport, sizeof(freport), "report=<%s;type=application/json", preport);
	snprintf(ffile, sizeof(ffile), "file=@%s", pfile);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", T.source_port);
	char *args[] = { "-F", freport, "-F", ffile, url, NULL };
	buf_init(&resp, 1 << 16);
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	json_t *doc = json_loads(buf_cstr(&resp), 0, &je);
	cr_assert(json_is_string(json_object_get(doc, "receipt")), "%s", buf_cstr(&resp));
	snprintf(receipt, 64, "%s", json_string_value(json_object_get(doc, "receipt")));
	json_decref(doc);
	buf_free(&resp);
	cr_assert_eq(th_wait_reports(&T, before + 1, 15000), before + 1);
	char sql[8400];
	snprintf(sql, sizeof(sql), "select id from reports where id::text not in (%s)", known);
	r = PQexec(c, sql);
	cr_assert_eq(PQntuples(r), 1, "%s", PQerrorMessage(c));
	snprintf(rid, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

/* A message from the source, a reply and a note from the team on `rid`. */
static void
converse(const char *rid, const char *receipt)
{
	char url[128], body[512], txt[TH_PATH + 16];
	struct buf resp;
	long n = th_count(&T, "select count(*) from messages");
	buf_init(&resp, 1 << 16);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox/messages", T.source_port);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"%s\"}", receipt, MESSAGE_TEXT);
	char *args[] = { "-H", "Content-Type: application/json", "--data-binary", body, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	for (int i = 0; i < 300 && th_count(&T, "select count(*) from messages") == n; i++)
		usleep(50000);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), n + 1);
	snprintf(txt, sizeof(txt), "%s/reply.txt", T.dir);
	write_file(txt, REPLY_TEXT "\n");
	cr_assert_eq(tipctl("inv", "tips", "reply", rid, "--file", txt, "--yes", "--identity",
	                    T.identity, "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
	write_file(txt, NOTE_TEXT "\n");
	cr_assert_eq(tipctl("inv", "tips", "note", rid, "--file", txt, "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	buf_free(&resp);
}

/* Make a partner identity with stock age-keygen; its recipient into `rcpt`. */
static void
partner_keygen(char *path, char rcpt[128])
{
	char *argv[] = { "age-keygen", "-o", path, NULL };
	cr_assert_eq(th_run(argv, NULL, 0, NULL), 0);
	char *argv2[] = { "age-keygen", "-y", path, NULL };
	struct buf b;
	buf_init(&b, 4096);
	cr_assert_eq(th_run(argv2, NULL, 0, &b), 0);
	snprintf(rcpt, 128, "%.*s", (int)strcspn(buf_cstr(&b), "\n"), buf_cstr(&b));
	cr_assert(strncmp(rcpt, "age1", 4) == 0, "%s", rcpt);
	buf_free(&b);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static char *
status_of(const char *rid, char st[32])
{
	char sql[128];
	PGconn *c = th_db(&T);
	snprintf(sql, sizeof(sql), "select status from reports where id = '%s'", rid);
	PGresult *r = PQexec(c, sql);
	cr_assert_eq(PQntuples(r), 1);
	snprintf(st, 32, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return st;
}

Test(refer_retention, referral_opens_for_the_partner_only_and_needs_consent)
{
	char yes_id[37], no_id[37], receipt[64], rcpt[128], key[TH_PATH], outdir[TH_PATH];
	char file[TH_PATH + 32], tarfile[TH_PATH + 32], x[TH_PATH + 32], path[TH_PATH * 2], st[32];
	submit("yes", yes_id, receipt);
	converse(yes_id, receipt);
	submit(NULL, no_id, receipt);
	snprintf(key, sizeof(key), "%s/partner-key.txt", T.dir);
	partner_keygen(key, rcpt);

	/* an admin pins the partner: one partner_add; the same name again is refused */
	cr_assert_eq(tipctl("admin", "admin", "partner", "add", "iom-vienna", rcpt,
	                    "--passphrase-file", T.passfile, "--yes", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_neq(tipctl("admin", "admin", "partner", "add", "iom-vienna", rcpt,
	                     "--passphrase-file", T.passfile, "--yes", NULL), 0);
	cr_assert_eq(audit_count("partner_add", NULL), 1);
	cr_assert_eq(tipctl("inv", "admin", "partner", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&out), rcpt), "%s", buf_cstr(&out));

	/* refer: one file, in an otherwise empty directory */
	snprintf(outdir, sizeof(outdir), "%s/outbox", T.dir);
	cr_assert_eq(mkdir(outdir, 0700), 0);
	snprintf(file, sizeof(file), "%s/case.tar.age", outdir);
	cr_assert_eq(tipctl("inv", "tips", "refer", yes_id, "--to", "iom-vienna", "--out", file,
	                    "--identity", T.identity, "--passphrase-file", T.passfile, "--yes", NULL),
	             0, "refer: %s", buf_cstr(&err));
	cr_assert_eq(count_entries(outdir), 1);
	cr_assert_str_eq(status_of(yes_id, st), "referred");
	cr_assert_eq(audit_count("report_refer", yes_id), 1);
	cr_assert_eq(audit_count("report_refer", NULL), 1);

	/* the member's identity does not open it; the partner's does, with stock age */
	char *member[] = { "age", "-d", "-i", T.identity_plain, file, NULL };
	cr_assert_neq(th_run(member, NULL, 0, NULL), 0, "the member's key opened the referral");
	snprintf(tarfile, sizeof(tarfile), "%s/case.tar", T.dir);
	char *partner[] = { "age", "-d", "-i", key, "-o", tarfile, file, NULL };
	cr_assert_eq(th_run(partner, NULL, 0, NULL), 0, "age -d with the partner's key failed");
	snprintf(x, sizeof(x), "%s/extracted", T.dir);
	cr_assert_eq(mkdir(x, 0700), 0);
	char *untar[] = { "tar", "-x", "-f", tarfile, "-C", x, NULL };
	cr_assert_eq(th_run(untar, NULL, 0, NULL), 0);
	struct buf b;
	buf_init(&b, 1 << 20);
	snprintf(path, sizeof(path), "%s/%s/report.json", x, yes_id);
	it_slurp(path, &b);
	cr_assert_not_null(strstr(buf_cstr(&b), "They took our passports"), "%s", buf_cstr(&b));
	cr_assert_not_null(strstr(buf_cstr(&b), "referral_consent"), "%s", buf_cstr(&b));
	snprintf(path, sizeof(path), "%s/%s/attachments/passport.jpg", x, yes_id);
	it_slurp(path, &b);
	cr_assert(b.len == strlen(ATTACH_TEXT) && memcmp(b.data, ATTACH_TEXT, b.len) == 0);
	snprintf(path, sizeof(path), "%s/%s/replies", x, yes_id);
	cr_assert_eq(count_entries(path), 1);
	snprintf(path, sizeof(path), "%s/%s/notes", x, yes_id);
	cr_assert_eq(count_entries(path), 1);
	snprintf(path, sizeof(path), "%s/%s/messages", x, yes_id);
	cr_assert_eq(count_entries(path), 1);
	snprintf(path, sizeof(path), "%s/%s", x, yes_id);
	char *check[] = { "sh", "-c", "cd \"$0\" && sha256sum --quiet -c MANIFEST.txt && "
	                  "test $(wc -l < MANIFEST.txt) -eq 6", path, NULL };
	cr_assert_eq(th_run(check, NULL, 0, NULL), 0, "MANIFEST.txt does not check");

	/* no consent: refused, nothing written, nothing recorded */
	snprintf(file, sizeof(file), "%s/no.tar.age", outdir);
	cr_assert_eq(tipctl("inv", "tips", "refer", no_id, "--to", "iom-vienna", "--out", file,
	                    "--identity", T.identity, "--passphrase-file", T.passfile, "--yes", NULL),
	             1);
	cr_assert_not_null(strstr(buf_cstr(&err), "did not agree"), "%s", buf_cstr(&err));
	cr_assert_eq(count_entries(outdir), 1);
	cr_assert_str_eq(status_of(no_id, st), "new");
	cr_assert_eq(audit_count("report_refer", NULL), 1);

	/* a statement altered in the database (another key) is refused */
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "insert into partners (name, recipient, statement) select 'rogue', "
	                        "recipient, replace(replace(statement, 'iom-vienna', 'rogue'), "
	                        "'name rogue', 'name rogue') from partners where name = 'iom-vienna'");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	cr_assert_eq(tipctl("inv", "tips", "refer", yes_id, "--to", "rogue", "--out", file,
	                    "--identity", T.identity, "--passphrase-file", T.passfile, "--yes", NULL),
	             1);
	cr_assert_not_null(strstr(buf_cstr(&err), "does not verify"), "%s", buf_cstr(&err));
	cr_assert_eq(count_entries(outdir), 1);
	cr_assert_eq(audit_count("report_refer", NULL), 1);

	/* removing the partner: one partner_remove */
	cr_assert_eq(tipctl("admin", "admin", "partner", "remove", "iom-vienna", "--yes", NULL), 0,
	             "%s", buf_cstr(&err));
	cr_assert_eq(audit_count("partner_remove", NULL), 1);
	cr_assert_eq(th_count(&T, "select count(*) from partners where name = 'iom-vienna'"), 0);
	buf_free(&b);
}

/* ---- retention ---- */

/* Rows of every table but the audit log whose text holds `needle`. */
static long
rows_holding(PGconn *c, const char *needle)
{
	long total = 0;
	PGresult *t = PQexec(c, "select quote_ident(table_name) from information_schema.tables "
	                        "where table_schema = 'public' and table_type = 'BASE TABLE' and "
	                        "table_name not like 'audit%'");
	cr_assert_eq(PQresultStatus(t), PGRES_TUPLES_OK);
	cr_assert_geq(PQntuples(t), 10, "too few tables: the search would prove little");
	for (int i = 0; i < PQntuples(t); i++) {
		char sql[512];
		snprintf(sql, sizeof(sql), "select count(*) from %s x where strpos(x::text, '%s') > 0",
		         PQgetvalue(t, i, 0), needle);
		PGresult *r = PQexec(c, sql);
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
		total += strtol(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	PQclear(t);
	return total;
}

/* Every id of report `rid` and of its objects, and a 24-byte hex slice of
 * each payload and header, into `needles` (at most `max`). Return how many. */
static int
needles_of(PGconn *c, const char *rid, char needles[][80], int max)
{
	char sql[4096];
	snprintf(sql, sizeof(sql),
	         "with o as (select id from reports where id = '%1$s' union all "
	         "select id from attachments where report_id = '%1$s' union all "
	         "select id from messages where report_id = '%1$s' union all "
	         "select id from replies where report_id = '%1$s' union all "
	         "select id from notes where report_id = '%1$s') "
	         "select id::text from o union all "
	         "select encode(substr(payload, 40, 24), 'hex') from (select payload from reports "
	         "where id = '%1$s' union all select payload from attachments where report_id = '%1$s' "
	         "union all select payload from messages where report_id = '%1$s' union all "
	         "select payload from replies where report_id = '%1$s' union all select payload "
	         "from notes where report_id = '%1$s') p union all "
	         "select encode(substr(header, 30, 24), 'hex') from object_headers "
	         "where object_id in (select id from o)", rid);
	PGresult *r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	int n = PQntuples(r);
	cr_assert_leq(n, max);
	for (int i = 0; i < n; i++)
		snprintf(needles[i], 80, "%s", PQgetvalue(r, i, 0));
	PQclear(r);
	return n;
}

static void
age_report(const char *rid, const char *column, int days)
{
	char sql[256];
	PGconn *c = th_db(&T);
	snprintf(sql, sizeof(sql), "update reports set %s = current_date - %d where id = '%s'",
	         column, days, rid);
	PGresult *r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static int
purge(int dry)
{
	char *argv[] = { T.tipd_bin, "-c", T.conf, "purge", dry ? "--dry-run" : NULL, NULL };
	return it_exec(&T, NULL, NULL, argv, &out, &err);
}

Test(refer_retention, purge_removes_every_byte_of_expired_reports_but_not_held_ones)
{
	char a[37], held[37], young[37], receipt[64], needles[64][80], hneedles[64][80];
	submit("no", a, receipt);
	converse(a, receipt);
	submit(NULL, held, receipt);
	converse(held, receipt);
	submit(NULL, young, receipt);

	/* the policy (one retention_set); A is closed, 31 days ago; the held one
	 * arrived 400 days ago; the young one is left as it is */
	cr_assert_eq(tipctl("admin", "admin", "retention", "set", "demo", "--closed-days", "30",
	                    "--open-days", "365", "--yes", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(audit_count("retention_set", NULL), 1);
	cr_assert_eq(tipctl("inv", "tips", "set", a, "--status", "closed", NULL), 0, "%s",
	             buf_cstr(&err));
	age_report(a, "status_on", 31);
	age_report(held, "received_on", 400);
	/* hold, release, hold again: one entry each */
	cr_assert_eq(tipctl("inv", "tips", "hold", held, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("inv", "tips", "hold", held, "--release", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "tips", "hold", held, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(audit_count("report_hold", held), 2);
	cr_assert_eq(audit_count("report_release", held), 1);
	cr_assert_eq(tipctl("admin", "admin", "retention", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&out), held), "%s", buf_cstr(&out));

	/* positive control: the search finds every id and byte slice now */
	PGconn *c = th_db(&T);
	int n = needles_of(c, a, needles, 64), hn = needles_of(c, held, hneedles, 64);
	/* report, attachment, message, reply, note; their payloads; 5 objects x 1
	 * member header + the reply's source header */
	cr_assert_geq(n, 5 + 5 + 6, "only %d needles", n);
	for (int i = 0; i < n; i++)
		cr_assert_gt(rows_holding(c, needles[i]), 0, "positive control: %s not found", needles[i]);
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), 3);

	/* a report that is not due cannot be purged, even through the function */
	char sql[128];
	snprintf(sql, sizeof(sql), "select retention_purge('%s') is null", young);
	PGresult *r = PQexec(c, sql);
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "t");
	PQclear(r);

	cr_assert_eq(purge(1), 0, "%s", buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&out), "1 report(s) due"), "%s", buf_cstr(&out));
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 3);
	cr_assert_eq(purge(0), 0, "%s", buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&out), "1 report(s) purged"), "%s", buf_cstr(&out));

	for (int i = 0; i < n; i++)
		cr_assert_eq(rows_holding(c, needles[i]), 0, "%s survived the purge", needles[i]);
	for (int i = 0; i < hn; i++)
		cr_assert_gt(rows_holding(c, hneedles[i]), 0, "%s of the held report is gone",
		             hneedles[i]);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 2);
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), 2);
	cr_assert_eq(audit_count("report_purge", a), 1);
	cr_assert_eq(audit_count("report_purge", NULL), 1);

	/* again: nothing due, nothing written */
	cr_assert_eq(purge(0), 0, "%s", buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&out), "0 report(s) purged"), "%s", buf_cstr(&out));
	cr_assert_eq(audit_count("report_purge", NULL), 1);
	/* released, the held report is due at the next purge */
	cr_assert_eq(tipctl("inv", "tips", "hold", held, "--release", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(purge(0), 0, "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 1);
	for (int i = 0; i < hn; i++)
		cr_assert_eq(rows_holding(c, hneedles[i]), 0, "%s survived the purge", hneedles[i]);
	cr_assert_eq(audit_count("report_purge", NULL), 2);
	PQfinish(c);
}
