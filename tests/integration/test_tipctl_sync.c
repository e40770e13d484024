/*
 * `tipctl sync` against the real tipd and PostgreSQL: alice and bob are in
 * team demo when reports arrive (one with an attachment); carol joins
 * later and cannot open them; alice's sync shows carol's fingerprint and
 * the signed statement, refuses to act without a terminal unless --yes,
 * then makes carol's headers, after which carol's `tips show` and `tips
 * get` decrypt the old report and its attachment byte-equal; a second
 * sync adds nothing. When the server then shows an older membership
 * (the database rolled back), sync and `tips reply` refuse with the
 * rolled-back message. A recipient the server lists but the verified
 * statement does not is never given a header. When the server lists a
 * report of another team as one of this team's, sync opens it, sees the
 * team sealed inside and refuses before anything is sent. The batch routes
 * sync uses (objects and headers per team) serve, audit and store what
 * docs/api.md says, and nothing else.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "age.h"
#include "it_common.h"
#include "membership.h"
#include "util.h"

static struct th T;
static char pin[65], server[64], home_a[TH_PATH + 16], home_c[TH_PATH + 16];
static struct buf out, err;

static void
setup(void)
{
	th_setup(&T);
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	snprintf(home_a, sizeof(home_a), "%s/home-alice", T.dir);
	snprintf(home_c, sizeof(home_c), "%s/home-carol", T.dir);
	cr_assert_eq(mkdir(home_a, 0700), 0);
	cr_assert_eq(mkdir(home_c, 0700), 0);
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}

TestSuite(tipctl_sync, .init = setup, .fini = teardown, .timeout = 240);

/* Start tipd re-reading the membership every `poll_ms`. */
static void
start(unsigned poll_ms)
{
	snprintf(T.review_conf, sizeof(T.review_conf), "[tipd]\nmembership_poll_ms = %u\n", poll_ms);
	th_write_conf(&T);
	th_start(&T);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	th_tls_key_hex(&T, pin);
}

/* Run $TIPCTL with TIPLINE_HOME=`home` and the NULL-terminated arguments,
 * no terminal, stdin from /dev/null; stdout in `out`, stderr in `err`. */
#define tipctl(home, ...) it_tipctl(&T, (home), NULL, &out, &err, __VA_ARGS__)

static int
login(const char *home, const char *identity)
{
	return tipctl(home, "login", "--server", server, "--pin", pin, "--origin", TH_REVIEW_ORIGIN,
	              "--identity", identity, "--passphrase-file", T.passfile, "--admin-key",
	              T.admin_pub, NULL);
}

static int
sync_as_alice(int yes)
{
	return tipctl(home_a, "sync", "--identity", T.identity, "--passphrase-file", T.passfile,
	              yes ? "--yes" : NULL, NULL);
}

/* Make investigator `name` (identity in T.dir/NAME.age); store the member line. */
static void
make_person(const char *name, char *identity, size_t idlen, char *line, size_t n)
{
	struct buf o;
	buf_init(&o, 1 << 16);
	snprintf(identity, idlen, "%s/%s.age", T.dir, name);
	char *argv[] = { T.tipctl_bin, "init", "--identity", identity, "--name", (char *)(uintptr_t)name,
		         "--passphrase-file", T.passfile, NULL };
	cr_assert_eq(th_run(argv, NULL, 0, &o), 0);
	const char *p = strstr(buf_cstr(&o), "member:");
	cr_assert(p != NULL);
	p += strlen("member:");
	p += strspn(p, " ");
	snprintf(line, n, "%.*s", (int)strcspn(p, "\n"), p);
	buf_free(&o);
}

/* Sign statement `seq` of team demo (after T.dir/membership-(seq-1).txt)
 * listing the member lines `members` and add it with `tipd membership add`. */
static void
add_statement(int seq, const char *members[])
{
	char prev[TH_PATH + 32], next[TH_PATH + 32], *argv[32];
	int n = 0;
	snprintf(prev, sizeof(prev), "%s/membership-%d.txt", T.dir, seq - 1);
	snprintf(next, sizeof(next), "%s/membership-%d.txt", T.dir, seq);
	const char *head[] = { T.tipctl_bin, "admin", "membership", "--key", T.admin_key,
		               "--passphrase-file", T.passfile, "--team", "demo", "--prev", prev,
		               "--out", next };
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		argv[n++] = (char *)(uintptr_t)head[i];
	for (int i = 0; members[i] != NULL; i++) {
		argv[n++] = "--member";
		argv[n++] = (char *)(uintptr_t)members[i];
	}
	argv[n] = NULL;
	cr_assert_eq(th_run(argv, NULL, 0, NULL), 0, "tipctl admin membership failed");
	char *add[] = { T.tipd_bin, "-c", T.conf, "membership", "add", next, NULL };
	cr_assert_eq(th_run(add, NULL, 0, NULL), 0, "tipd membership add failed");
}

enum { FILE_LEN = 70000 };
static uint8_t file_bytes[FILE_LEN];

/* Submit one JSON report and one multipart report with one attachment. */
static void
submit_two(void)
{
	char pfile[TH_PATH], preport[TH_PATH], url[128], crt[TH_PATH];
	char ffile[TH_PATH + 8], freport[TH_PATH + 32];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"demo\",\"language\":\"fa\",\"answers\":" IT_ANSWERS "}",
	                          &resp),
	             201, "%s", buf_cstr(&resp));
	snprintf(pfile, sizeof(pfile), "%s/photo.jpg", T.dir);
	snprintf(preport, sizeof(preport), "%s/report.json", T.dir);
	randombytes_buf(file_bytes, FILE_LEN);
	int fd = open(pfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0 && util_write_all(fd, file_bytes, FILE_LEN) == 0);
	close(fd);
	FILE *f = fopen(preport, "w");
	fprintf(f, "{\"team\":\"demo\",\"language\":\"ar\",\"answers\":%s}", IT_ANSWERS);
	fclose(f);
	snprintf(ffile, sizeof(ffile), "file=@%s", pfile);
	snprintf(freport, sizeof(freport), "report=<%s;type=application/json", preport);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/reports", T.source_tls_port);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	char *args[] = { "--cacert", crt, "-F", freport, "-F", ffile, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	cr_assert_eq(th_wait_reports(&T, 2, 10000), 2, "the reports did not reach PostgreSQL");
	buf_free(&resp);
}

/* The id of the report with (`with_file`) or without an attachment. */
static void
report_id(int with_file, char id[37])
{
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, with_file ? "select report_id from attachments limit 1"
	                                  : "select id from reports where id not in "
	                                    "(select report_id from attachments)");
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
	snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

/* Number of headers stored for the member whose line is `line`. */
static long
headers_for(const char *line)
{
	char rcpt[128], sql[256];
	cr_assert_eq(sscanf(line, "%*s %127s", rcpt), 1);
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where recipient = '%s'", rcpt);
	return th_count(&T, sql);
}

/* The fingerprint of the member line `line` as tipctl prints it: "xxxx xxxx xxxx xxxx". */
static void
fingerprint(const char *line, char fp[20])
{
	char b64[128], hex[17];
	uint8_t pk[64];
	size_t n = 0;
	cr_assert_eq(sscanf(line, "%*s %*s %127s", b64), 1);
	cr_assert_eq(util_base64_decode(b64, strlen(b64), pk, sizeof(pk), &n,
	                                sodium_base64_VARIANT_ORIGINAL), 0);
	cr_assert_eq(n, 32);
	membership_fingerprint(pk, hex);
	snprintf(fp, 20, "%.4s %.4s %.4s %.4s", hex, hex + 4, hex + 8, hex + 12);
}

static int
contains(const struct buf *b, const char *s)
{
	return strstr((const char *)b->data, s) != NULL;
}

/* Wait until `home`'s login as `identity` works (tipd adopted a statement naming it). */
static void
login_when_member(const char *home, const char *identity)
{
	for (int i = 0; i < 100; i++) {
		if (login(home, identity) == 0)
			return;
		usleep(100000);
	}
	cr_assert_fail("login never worked: %s", buf_cstr(&err));
}

Test(tipctl_sync, newcomer_gets_history_and_a_rollback_is_refused)
{
	char bob[TH_PATH], carol[TH_PATH], bob_line[512], carol_line[512], fp[20], rid[37], rid0[37];
	char dirout[TH_PATH + 16], p[TH_PATH + 64], seen[TH_PATH + 64], state[TH_PATH + 64];
	make_person("bob", bob, sizeof(bob), bob_line, sizeof(bob_line));
	make_person("carol", carol, sizeof(carol), carol_line, sizeof(carol_line));
	const char *ab[] = { T.member_line, bob_line, NULL };
	add_statement(2, ab);
	start(200);
	submit_two();
	report_id(1, rid);
	report_id(0, rid0);
	cr_assert_eq(login(home_a, T.identity), 0, "%s", buf_cstr(&err));

	/* Everyone has every header: nothing to do; the statement is remembered. */
	cr_assert_eq(sync_as_alice(1), 0, "%s", buf_cstr(&err));
	cr_assert(contains(&out, "team demo: nothing to do"), "%s", buf_cstr(&out));
	snprintf(seen, sizeof(seen), "%s/membership-seen", home_a);
	struct stat st;
	cr_assert_eq(stat(seen, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	/* carol joins; she cannot read what came before. */
	const char *abc[] = { T.member_line, bob_line, carol_line, NULL };
	add_statement(3, abc);
	login_when_member(home_c, carol);
	cr_assert_eq(tipctl(home_c, "tips", "show", rid0, "--identity", carol, "--passphrase-file",
	                    T.passfile, NULL),
	             1);
	/* ...and hears why, and who can fix it, rather than "not found" */
	cr_assert(contains(&err, "arrived before you joined its team") &&
	          contains(&err, "tipctl sync"), "%s", buf_cstr(&err));

	/* Without a terminal and without --yes: shown, not done. */
	fingerprint(carol_line, fp);
	cr_assert_eq(sync_as_alice(0), 1);
	cr_assert(contains(&out, "Newcomer in team demo: carol"), "%s", buf_cstr(&out));
	cr_assert(contains(&out, fp), "no fingerprint %s in: %s", fp, buf_cstr(&out));
	cr_assert(contains(&out, "membership statement 3, signed by test-admin (key "), "%s",
	          buf_cstr(&out));
	cr_assert(contains(&err, "no terminal to ask on"), "%s", buf_cstr(&err));
	cr_assert_eq(headers_for(carol_line), 0);

	/* With --yes: a report, a report and its attachment. */
	cr_assert_eq(sync_as_alice(1), 0, "%s", buf_cstr(&err));
	cr_assert(contains(&out, "team demo: 3 object(s) missing headers; 3 header(s) added for 1 "
	                         "newcomer(s): carol\n"),
	          "%s", buf_cstr(&out));
	cr_assert_eq(headers_for(carol_line), 3);

	/* carol reads the old report and gets the attachment, byte-equal. */
	cr_assert_eq(tipctl(home_c, "tips", "show", rid0, "--identity", carol, "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert(contains(&out, "They took our passports and we work without pay."), "%s",
	          buf_cstr(&out));
	snprintf(dirout, sizeof(dirout), "%s/got", T.dir);
	cr_assert_eq(mkdir(dirout, 0700), 0);
	cr_assert_eq(tipctl(home_c, "tips", "get", rid, "--out", dirout, "--identity", carol,
	                    "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	snprintf(p, sizeof(p), "%s/photo.jpg", dirout);
	struct buf got;
	buf_init(&got, 1 << 20);
	it_slurp(p, &got);
	cr_assert_eq(got.len, FILE_LEN);
	cr_assert_eq(memcmp(got.data, file_bytes, FILE_LEN), 0, "the attachment differs");
	buf_free(&got);

	/* Again: nothing to add. */
	cr_assert_eq(sync_as_alice(1), 0, "%s", buf_cstr(&err));
	cr_assert(contains(&out, "team demo: nothing to do"), "%s", buf_cstr(&out));
	cr_assert_eq(headers_for(carol_line), 3);

	/* The server rolls back to statement 2 (tipd's own memory of it is
	 * wiped too, as an attacker holding the server would). */
	snprintf(state, sizeof(state), "%s/state/membership-seen", T.dir);
	cr_assert_eq(unlink(state), 0);
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "delete from membership_statements where team_id = 'demo' and seq = 3");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	char token[64];
	cr_assert_eq(th_review_login(&T, T.identity, token), 200);
	struct buf resp;
	buf_init(&resp, 1 << 20);
	int two = 0;
	for (int i = 0; i < 100 && !two; i++) {
		buf_reset(&resp);
		cr_assert_eq(th_review(&T, "GET", "/api/v1/teams/demo/membership", token, NULL, &resp),
		             200);
		json_error_t e;
		json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
		two = json_array_size(json_object_get(doc, "statements")) == 2;
		json_decref(doc);
		if (!two)
			usleep(100000);
	}
	buf_free(&resp);
	cr_assert(two, "tipd did not take the rolled-back chain");

	static const char rolled[] = "the server showed an older membership of team demo "
	                             "(statement 2) than this computer has already seen (3): "
	                             "refusing; tell an admin";
	cr_assert_eq(sync_as_alice(1), 1);
	cr_assert(contains(&err, rolled), "%s", buf_cstr(&err));
	snprintf(p, sizeof(p), "%s/reply.txt", T.dir);
	FILE *f = fopen(p, "w");
	fputs("We can help. Please stay safe.\n", f);
	fclose(f);
	cr_assert_eq(tipctl(home_a, "tips", "reply", rid0, "--file", p, "--yes", "--identity",
	                    T.identity, "--passphrase-file", T.passfile, NULL),
	             1);
	cr_assert(contains(&err, rolled), "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 0);
	/* The file still remembers statement 3. */
	struct buf sf;
	buf_init(&sf, 1 << 16);
	it_slurp(seen, &sf);
	char want[128];
	snprintf(want, sizeof(want), "%s demo 3 ", server);
	cr_assert(contains(&sf, want), "%s", buf_cstr(&sf));
	buf_free(&sf);
}

Test(tipctl_sync, recipient_outside_the_verified_statement_gets_nothing)
{
	char dave[TH_PATH], dave_line[512];
	make_person("dave", dave, sizeof(dave), dave_line, sizeof(dave_line));
	start(3600000); /* tipd never re-reads the database by itself here */
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":"
	                                 IT_ANSWERS "}", &out),
	             201);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	/* dave is signed in and tipd adopts him at start ... */
	th_stop(&T, SIGTERM);
	const char *ad[] = { T.member_line, dave_line, NULL };
	add_statement(2, ad);
	th_start(&T);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	/* ... but the chain the server shows ends at statement 1 (alice only). */
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "delete from membership_statements where team_id = 'demo' and seq = 2");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	cr_assert_eq(login(home_a, T.identity), 0, "%s", buf_cstr(&err));
	cr_assert_eq(sync_as_alice(1), 1);
	cr_assert(contains(&err, "the server lists age1"), "%s", buf_cstr(&err));
	cr_assert(contains(&err, "but the verified membership statement 1 does not: no header is "
	                         "made for it"),
	          "%s", buf_cstr(&err));
	cr_assert(!contains(&out, "Newcomer"), "%s", buf_cstr(&out));
	cr_assert_eq(headers_for(dave_line), 0);
	/* A usage error and an unknown team are clear too. */
	cr_assert_eq(tipctl(home_a, "sync", "extra", NULL), 2);
	cr_assert_eq(tipctl(home_a, "sync", "--team", "no-such-team", "--yes", "--identity",
	                    T.identity, "--passphrase-file", T.passfile, NULL),
	             1);
	cr_assert(contains(&err, "not found, or you have no access to it"), "%s", buf_cstr(&err));
}

Test(tipctl_sync, needs_a_session_and_the_right_passphrase)
{
	char bad[TH_PATH + 16];
	start(200);
	cr_assert_eq(sync_as_alice(1), 1);
	cr_assert(contains(&err, "not logged in: run tipctl login"), "%s", buf_cstr(&err));
	/* A session without a pinned admin key cannot check newcomers. */
	cr_assert_eq(tipctl(home_a, "login", "--server", server, "--pin", pin, "--origin",
	                    TH_REVIEW_ORIGIN, "--identity", T.identity, "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(sync_as_alice(1), 1);
	cr_assert(contains(&err, "no admin key is pinned"), "%s", buf_cstr(&err));
	cr_assert_eq(login(home_a, T.identity), 0, "%s", buf_cstr(&err));
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":"
	                                 IT_ANSWERS "}", &out),
	             201);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	snprintf(bad, sizeof(bad), "%s/badpass", T.dir);
	FILE *f = fopen(bad, "w");
	fputs("not the passphrase at all\n", f);
	fclose(f);
	cr_assert_eq(tipctl(home_a, "sync", "--yes", "--identity", T.identity, "--passphrase-file",
	                    bad, NULL),
	             1);
	cr_assert(contains(&err, "wrong passphrase"), "%s", buf_cstr(&err));
	/* Without --team, the teams come from the report list. */
	cr_assert_eq(sync_as_alice(1), 0, "%s", buf_cstr(&err));
	cr_assert(contains(&out, "team demo: nothing to do"), "%s", buf_cstr(&out));
}

/* Sign the first statement of team "other" listing `members` and load it. */
static void
add_other_team(const char *members[])
{
	char path[TH_PATH + 32], *argv[32];
	int n = 0;
	snprintf(path, sizeof(path), "%s/other-1.txt", T.dir);
	const char *head[] = { T.tipctl_bin, "admin", "membership", "--key", T.admin_key,
		               "--passphrase-file", T.passfile, "--team", "other", "--first",
		               "--out", path };
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		argv[n++] = (char *)(uintptr_t)head[i];
	for (int i = 0; members[i] != NULL; i++) {
		argv[n++] = "--member";
		argv[n++] = (char *)(uintptr_t)members[i];
	}
	argv[n] = NULL;
	cr_assert_eq(th_run(argv, NULL, 0, NULL), 0, "tipctl admin membership failed");
	char *add[] = { T.tipd_bin, "-c", T.conf, "membership", "add", path, NULL };
	cr_assert_eq(th_run(add, NULL, 0, NULL), 0, "tipd membership add failed");
}

Test(tipctl_sync, an_object_of_another_team_is_refused)
{
	char bob[TH_PATH], carol[TH_PATH], bob_line[512], carol_line[512];
	make_person("bob", bob, sizeof(bob), bob_line, sizeof(bob_line));
	make_person("carol", carol, sizeof(carol), carol_line, sizeof(carol_line));
	/* alice is in demo and, with bob, in "other"; a report goes to each. */
	const char *ab[] = { T.member_line, bob_line, NULL };
	add_other_team(ab);
	start(200);
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":"
	                                 IT_ANSWERS "}", &out), 201, "%s", buf_cstr(&out));
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"other\",\"language\":\"en\",\"answers\":"
	                                 IT_ANSWERS "}", &out), 201, "%s", buf_cstr(&out));
	cr_assert_eq(th_wait_reports(&T, 2, 10000), 2);
	/* The server (here: the database owner) lists other's report as demo's. */
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "update reports set team_id = 'demo' where team_id = 'other'");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	cr_assert_str_eq(PQcmdTuples(r), "1");
	PQclear(r);
	PQfinish(c);
	/* carol joins demo; alice's sync must not give her other's report. */
	const char *ac[] = { T.member_line, carol_line, NULL };
	add_statement(2, ac);
	login_when_member(home_c, carol);
	cr_assert_eq(login(home_a, T.identity), 0, "%s", buf_cstr(&err));
	cr_assert_eq(sync_as_alice(1), 1, "%s", buf_cstr(&out));
	cr_assert(contains(&out, "Newcomer in team demo: carol"), "%s", buf_cstr(&out));
	cr_assert(contains(&err, "the report itself (sealed at submission) names another team: "
	                         "refusing; no header was sent for this team"),
	          "%s", buf_cstr(&err));
	cr_assert_eq(headers_for(carol_line), 0, "a header was sent after a mismatch");
	/* Put back, the same sync gives carol demo's report only. */
	c = th_db(&T);
	r = PQexec(c, "update reports set team_id = 'other' where id in (select object_id from "
	              "object_headers group by object_id having count(*) = 2)");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	cr_assert_str_eq(PQcmdTuples(r), "1");
	PQclear(r);
	PQfinish(c);
	cr_assert_eq(sync_as_alice(1), 0, "%s", buf_cstr(&err));
	cr_assert_eq(headers_for(carol_line), 1);
}

/* The number of audit entries whose text matches the LIKE pattern `like`. */
static long
entries_like(const char *like)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "select count(*) from audit_entries where convert_from(entry, 'UTF8') like '%s'",
	         like);
	return th_count(&T, sql);
}

/* A header upload for `recipient` (X25519 key `pk`) on each of the `n` objects. */
static char *
headers_body(const char *const *objects, size_t n, const char *recipient, const uint8_t *pk)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char *hd = it_header_b64(pk);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "object", objects[i],
		                                     "recipient", recipient, "header", hd));
		free(hd);
	}
	json_t *doc = json_pack("{s:o}", "headers", arr);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* The batch routes tipctl sync uses: objects with the caller's header and
 * payload (a report whole, an attachment's first chunk), audited per report
 * and attachment; headers for any of the team's reports in one upload,
 * audited per report and newcomer, refused for objects outside the team. */
Test(tipctl_sync, batch_routes_serve_audit_and_store)
{
	char carol[TH_PATH], carol_line[512], rid[37], rid0[37], aid[37], tok[64], rcpt[128];
	char body[1024], like[256];
	uint8_t carol_x[AGE_KEY_LEN];
	struct buf resp;
	json_error_t e;
	make_person("carol", carol, sizeof(carol), carol_line, sizeof(carol_line));
	const char *ac[] = { T.member_line, carol_line, NULL };
	start(200);
	submit_two();
	add_statement(2, ac);
	report_id(1, rid);
	report_id(0, rid0);
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "select id, length(payload) from attachments");
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
	snprintf(aid, sizeof(aid), "%s", PQgetvalue(r, 0, 0));
	long att_len = strtol(PQgetvalue(r, 0, 1), NULL, 10);
	cr_assert_gt(att_len, 65569, "the attachment must be longer than the prefix served");
	PQclear(r);
	PQfinish(c);
	cr_assert_eq(th_review_login(&T, T.identity, tok), 200);
	buf_init(&resp, 1 << 22);

	/* Three objects and one unknown id: the three, in id order, audited. */
	long before = th_count(&T, "select count(*) from audit_entries");
	snprintf(body, sizeof(body), "{\"ids\":[\"%s\",\"%s\",\"%s\","
	                             "\"00000000-0000-4000-8000-000000000009\"]}", rid, aid, rid0);
	cr_assert_eq(th_review(&T, "POST", "/api/v1/teams/demo/objects", tok, body, &resp), 200,
	             "%s", buf_cstr(&resp));
	json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
	json_t *objs = json_object_get(doc, "objects");
	cr_assert_eq(json_array_size(objs), 3, "%s", buf_cstr(&resp));
	cr_assert(json_is_false(json_object_get(doc, "truncated")));
	for (size_t i = 0; i < 3; i++) {
		json_t *o = json_array_get(objs, i);
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *p = json_string_value(json_object_get(o, "payload"));
		long size = (long)json_integer_value(json_object_get(o, "size"));
		size_t len = 0;
		uint8_t *raw = malloc(strlen(p));
		cr_assert(util_base64_decode(p, strlen(p), raw, strlen(p), &len,
		                             sodium_base64_VARIANT_ORIGINAL) == 0);
		free(raw);
		if (i > 0)
			cr_assert_lt(strcmp(json_string_value(json_object_get(json_array_get(objs, i - 1),
			                                                       "id")), id), 0);
		if (strcmp(kind, "attachment") == 0) {
			cr_assert_str_eq(id, aid);
			cr_assert_eq(size, att_len);
			cr_assert_eq(len, 65569, "an attachment's prefix is %zu bytes", len);
		} else {
			cr_assert_str_eq(kind, "report");
			cr_assert_eq((long)len, size, "a report is served whole");
		}
		cr_assert(json_string_length(json_object_get(o, "header")) > 100);
	}
	json_decref(doc);
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), before + 3);
	snprintf(like, sizeof(like), "%% report_fetch %% demo %s -", rid);
	cr_assert_eq(entries_like(like), 1);
	snprintf(like, sizeof(like), "%% report_fetch %% demo %s -", rid0);
	cr_assert_eq(entries_like(like), 1);
	snprintf(like, sizeof(like), "%% attachment_fetch %% demo %s -", aid);
	cr_assert_eq(entries_like(like), 1);
	/* Bad bodies change nothing. */
	cr_assert_eq(th_review(&T, "POST", "/api/v1/teams/demo/objects", tok, "{\"ids\":[]}", NULL),
	             400);
	cr_assert_eq(th_review(&T, "POST", "/api/v1/teams/demo/objects", tok, "{\"ids\":[\"x\"]}",
	                       NULL), 400);
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), before + 3);

	/* carol's headers for all three objects and one that is no object of demo. */
	cr_assert_eq(sscanf(carol_line, "%*s %127s", rcpt), 1);
	cr_assert_eq(age_recipient_decode(rcpt, carol_x), 0);
	const char *ids[] = { rid0, rid, aid, "00000000-0000-4000-8000-000000000009" };
	char *up = headers_body(ids, 4, rcpt, carol_x);
	before = th_count(&T, "select count(*) from audit_entries");
	cr_assert_eq(th_review(&T, "POST", "/api/v1/teams/demo/headers", tok, up, &resp), 200, "%s",
	             buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "\"added\":3") && strstr(buf_cstr(&resp), "\"skipped\":0") &&
	          strstr(buf_cstr(&resp), "\"refused\":1"), "%s", buf_cstr(&resp));
	cr_assert_eq(headers_for(carol_line), 3);
	/* one headers_add per report and newcomer */
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), before + 2);
	snprintf(like, sizeof(like), "%% headers_add %% demo %s %%", rid);
	cr_assert_eq(entries_like(like), 1);
	snprintf(like, sizeof(like), "%% headers_add %% demo %s %%", rid0);
	cr_assert_eq(entries_like(like), 1);
	/* Again: nothing new stored. */
	cr_assert_eq(th_review(&T, "POST", "/api/v1/teams/demo/headers", tok, up, &resp), 200);
	cr_assert(strstr(buf_cstr(&resp), "\"added\":0") && strstr(buf_cstr(&resp), "\"skipped\":3"),
	          "%s", buf_cstr(&resp));
	free(up);
	/* A recipient outside the team: 422, nothing stored. */
	uint8_t other_x[AGE_KEY_LEN];
	char other[128];
	randombytes_buf(other_x, sizeof(other_x));
	cr_assert_eq(age_recipient_encode(other_x, other, sizeof(other)), 0);
	up = headers_body(ids, 1, other, other_x);
	cr_assert_eq(th_review(&T, "POST", "/api/v1/teams/demo/headers", tok, up, &resp), 422, "%s",
	             buf_cstr(&resp));
	free(up);
	snprintf(like, sizeof(like), "select count(*) from object_headers where recipient = '%s'",
	         other);
	cr_assert_eq(th_count(&T, like), 0);
	buf_free(&resp);
}
