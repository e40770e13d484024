/*
 * tipctl for the everyday reading of reports, against the real tipd and
 * PostgreSQL (issue: "what a newcomer tripped over", items 2, 4, 8, 9, 11):
 *
 *  - `tips list` shows what is new for this investigator (a report never
 *    opened, a message from the source, others' replies and notes, kept on
 *    their computer), orders by the day of the last activity, and
 *    `--attention` keeps only what needs it; one's own reply is not news;
 *  - a report that arrived before one joined is "waiting for a grant" until
 *    a member's `tipctl sync`;
 *  - a unique id prefix (8+ characters) works wherever a report id is taken;
 *    an ambiguous one is refused with the candidates;
 *  - one fingerprint format everywhere, names next to keys in `audit log`; a
 *    revocation is one member_revoke entry, label changes name the label;
 *  - on a real terminal (tmux): whoami gives three tries, and a passphrase
 *    typed once unlocks the identity for the next commands (kernel keyring
 *    cache) until logout, unless TIPLINE_PASS_CACHE=0.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness_tmux.h"
#include "invite.h"
#include "it_common.h"
#include "util.h"

static struct th T;
static struct buf out, err;

/* The TIPLINE_HOME of `who`, made if need be (static buffer, until the next call). */
static const char *
home_of(const char *who)
{
	static char home[TH_PATH + 32];
	snprintf(home, sizeof(home), "%s/home-%s", T.dir, who);
	(void)mkdir(home, 0700);
	return home;
}

#define tipctl(who, ...) it_tipctl(&T, home_of(who), NULL, &out, &err, __VA_ARGS__)

/* The first invite printed in `out`, into `inv`. */
static void
take_invite(char *inv, size_t cap)
{
	const char *p = strstr(buf_cstr(&out), INVITE_PREFIX);
	cr_assert_not_null(p, "no invite printed: %s / %s", buf_cstr(&out), buf_cstr(&err));
	size_t n = strcspn(p, "\n");
	cr_assert(n < cap);
	memcpy(inv, p, n);
	inv[n] = '\0';
}

static void
setup(void)
{
	char server[64], inv[INVITE_TEXT_MAX];
	th_setup(&T);
	th_start(&T);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 16);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	char *op[] = { T.tipd_bin, "-c", T.conf, "invite", "--admin", "--server", server, NULL };
	cr_assert_eq(it_exec(&T, home_of("admin"), NULL, op, &out, &err), 0, "%s", buf_cstr(&err));
	take_invite(inv, sizeof(inv));
	cr_assert_eq(tipctl("admin", "enroll", "--admin-key", T.admin_key, "--passphrase-file",
	                    T.passfile, inv, NULL),
	             0, "admin enroll: %s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "login", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}

TestSuite(tipctl_daily, .init = setup, .fini = teardown, .timeout = 240);

/* A new investigator `name` in team demo, approved and logged in. */
static void
member(const char *name)
{
	char inv[INVITE_TEXT_MAX];
	cr_assert_eq(tipctl("admin", "admin", "invite", "--name", name, "--team", "demo", NULL), 0,
	             "admin invite: %s", buf_cstr(&err));
	take_invite(inv, sizeof(inv));
	cr_assert_eq(tipctl(name, "enroll", "--passphrase-file", T.passfile, inv, NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "approve", name, "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl(name, "login", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
}

/* Submit a report to team demo; wait until `n` reports are stored; return the new
 * one's id in `id` and its receipt in `receipt`. */
static void
submit(long n, char id[37], char receipt[64])
{
	struct buf resp;
	json_error_t e;
	char q[160];
	buf_init(&resp, 1 << 16);
	cr_assert_eq(it_post_json(&T, 0,
	                          "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}",
	                          &resp),
	             201, "%s", buf_cstr(&resp));
	json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
	cr_assert(json_is_string(json_object_get(doc, "receipt")), "%s", buf_cstr(&resp));
	snprintf(receipt, 64, "%s", json_string_value(json_object_get(doc, "receipt")));
	json_decref(doc);
	cr_assert_eq(th_wait_reports(&T, n, 10000), n, "the report did not reach PostgreSQL");
	/* the newest stored: the one not yet returned (ids are random) */
	PGconn *db = th_db(&T);
	snprintf(q, sizeof(q), "select id::text from reports order by ctid desc limit 1");
	PGresult *res = PQexec(db, q);
	cr_assert_eq(PQntuples(res), 1);
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(db);
	buf_free(&resp);
}

/* The source with `receipt` writes `text`; wait until `n` messages are stored. */
static void
source_writes(const char *receipt, const char *text, long n)
{
	char url[128], body[512];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox/messages", T.source_port);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"%s\"}", receipt, text);
	char *args[] = { "-H", "Content-Type: application/json", "--data-binary", body, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	for (int i = 0; i < 200 && th_count(&T, "select count(*) from messages") < n; i++)
		usleep(50000);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), n, "the message was not stored");
	buf_free(&resp);
}

/* Run SQL as the superuser. */
static void
sql(const char *q)
{
	PGconn *db = th_db(&T);
	PGresult *res = PQexec(db, q);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", q, PQerrorMessage(db));
	PQclear(res);
	PQfinish(db);
}

/* The table line of report `id` in `out` (static buffer). */
static const char *
row_of(const char *id)
{
	static char line[1024];
	const char *p = strstr(buf_cstr(&out), id);
	cr_assert_not_null(p, "report %s is not listed:\n%s", id, buf_cstr(&out));
	size_t n = strcspn(p, "\n");
	cr_assert(n < sizeof(line));
	memcpy(line, p, n);
	line[n] = '\0';
	return line;
}

Test(tipctl_daily, list_shows_what_is_new_and_orders_by_activity)
{
	char a[37], b[37], ra[64], rb[64], prefix[9], txt[TH_PATH + 16], q[256];
	member("rita");
	submit(1, a, ra);
	submit(2, b, rb);
	/* a arrived five days ago, b three days ago: newest received first is b, a */
	snprintf(q, sizeof(q), "update reports set received_on = current_date - 5 where id = '%s'", a);
	sql(q);
	snprintf(q, sizeof(q), "update reports set received_on = current_date - 3 where id = '%s'", b);
	sql(q);
	cr_assert_eq(tipctl("rita", "tips", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "ACTIVITY") != NULL && strstr(buf_cstr(&out), "NEW") != NULL,
	          "%s", buf_cstr(&out));
	cr_assert(strstr(row_of(a), "new report") != NULL, "%s", row_of(a));
	cr_assert(strstr(buf_cstr(&out), b) < strstr(buf_cstr(&out), a), "%s", buf_cstr(&out));

	/* opened with an 8-character prefix: no longer new */
	memcpy(prefix, a, 8);
	prefix[8] = '\0';
	cr_assert_eq(tipctl("rita", "tips", "show", prefix, "--passphrase-file", T.passfile, NULL), 0,
	             "show by prefix: %s", buf_cstr(&err));
	cr_assert_eq(tipctl("rita", "tips", "list", "--attention", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), a) == NULL && strstr(buf_cstr(&out), b) != NULL, "%s",
	          buf_cstr(&out));

	/* the source writes back on a: a moves to the top, "1 message", needs attention */
	source_writes(ra, "I can talk on Sunday morning", 1);
	cr_assert_eq(tipctl("rita", "tips", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_log_info("tips list after the source wrote back:\n%s", buf_cstr(&out));
	cr_assert(strstr(row_of(a), "1 message") != NULL, "%s", row_of(a));
	cr_assert(strstr(buf_cstr(&out), a) < strstr(buf_cstr(&out), b),
	          "the report with today's message is not first:\n%s", buf_cstr(&out));
	cr_assert_eq(tipctl("rita", "tips", "list", "--attention", "--json", NULL), 0);
	json_error_t e;
	json_t *arr = json_loads(buf_cstr(&out), 0, &e);
	cr_assert(json_is_array(arr), "%s", buf_cstr(&out));
	json_t *first = json_array_get(arr, 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "id")), a);
	cr_assert(json_is_true(json_object_get(first, "needs_attention")));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(first, "unread"), "messages")),
	             1);
	cr_assert_eq(json_integer_value(json_object_get(first, "message_count")), 1);
	cr_assert(json_is_string(json_object_get(first, "last_activity_on")));
	json_decref(arr);

	/* rita's own reply is not news; reading the report clears the message */
	snprintf(txt, sizeof(txt), "%s/reply.txt", T.dir);
	FILE *f = fopen(txt, "w");
	cr_assert_not_null(f);
	fputs("Sunday at nine works.\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(tipctl("rita", "tips", "reply", prefix, "--file", txt, "--yes",
	                    "--passphrase-file", T.passfile, NULL),
	             0, "reply by prefix: %s", buf_cstr(&err));
	cr_assert_eq(tipctl("rita", "tips", "list", NULL), 0);
	cr_assert(strstr(row_of(a), "1 message  ") != NULL, "%s", row_of(a));
	cr_assert_eq(tipctl("rita", "tips", "show", a, "--passphrase-file", T.passfile, NULL), 0);
	cr_assert_eq(tipctl("rita", "tips", "list", "--attention", NULL), 0);
	cr_assert(strstr(buf_cstr(&out), a) == NULL, "%s", buf_cstr(&out));
}

Test(tipctl_daily, a_report_from_before_joining_waits_for_a_grant)
{
	char a[37], ra[64];
	member("rita");
	submit(1, a, ra);
	member("nina");
	cr_assert_eq(tipctl("nina", "tips", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_log_info("a newcomer's tips list:\n%s", buf_cstr(&out));
	cr_assert(strstr(row_of(a), "waiting for a grant") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(tipctl("nina", "tips", "list", "--json", NULL), 0);
	cr_assert(strstr(buf_cstr(&out), "\"granted\": false") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(tipctl("nina", "tips", "show", a, "--passphrase-file", T.passfile, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "tipctl sync") != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("rita", "sync", "--yes", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert_eq(tipctl("nina", "tips", "list", NULL), 0);
	cr_assert(strstr(row_of(a), "new report") != NULL, "%s", buf_cstr(&out));
}

Test(tipctl_daily, an_ambiguous_prefix_lists_the_candidates)
{
	char a[37], b[37], r[64], q[512];
	member("rita");
	submit(1, a, r);
	submit(2, b, r);
	/* copies of both whose ids start with the same 8 characters (headers too) */
	char *ids[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		snprintf(q, sizeof(q),
		         "begin; create temp table r as select * from reports where id = '%s'; "
		         "create temp table h as select * from object_headers where object_id = '%s'; "
		         "update r set id = ('abcdef01' || substr(id::text, 9))::uuid; "
		         "update h set object_id = ('abcdef01' || substr(object_id::text, 9))::uuid; "
		         "insert into reports select * from r; insert into object_headers select * from h; "
		         "drop table r; drop table h; commit",
		         ids[i], ids[i]);
		sql(q);
		memcpy(ids[i], "abcdef01", 8);
	}
	cr_assert_eq(tipctl("rita", "tips", "set", "abcdef01", "--status", "triaged", NULL), 1);
	cr_log_info("an ambiguous prefix:\n%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "abcdef01 is ambiguous") != NULL &&
	                  strstr(buf_cstr(&err), a) != NULL && strstr(buf_cstr(&err), b) != NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from reports where status = 'triaged'"), 0,
	             "an ambiguous prefix changed a report");
	char longer[20];
	snprintf(longer, sizeof(longer), "%.13s", a);
	if (strncmp(a, b, 13) != 0) {
		cr_assert_eq(tipctl("rita", "tips", "set", longer, "--status", "triaged", NULL), 0, "%s",
		             buf_cstr(&err));
		cr_assert_eq(th_count(&T, "select count(*) from reports where status = 'triaged'"), 1);
	}
	/* an unknown label is refused with the labels there are */
	cr_assert_eq(tipctl("rita", "tips", "set", a, "--label", "medicl", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "unknown label medicl (labels: ") != NULL &&
	                  strstr(buf_cstr(&err), "medical") != NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("rita", "tips", "set", "0000000000", "--status", "triaged", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "no report you can see has an id starting with 0000000000") !=
	                  NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("rita", "tips", "show", "abc", NULL), 2, "a too short prefix");
}

/* Return 1 if `s` starts with a fingerprint "xxxx xxxx xxxx xxxx" (then not hex). */
static int
is_fp(const char *s)
{
	for (int i = 0; i < 19; i++)
		if (i % 5 == 4 ? s[i] != ' ' : strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return 0;
	return strchr("0123456789abcdef", s[19]) == NULL || s[19] == '\0';
}

/* The text after the first `key` in `s`, asserted to be there. */
static const char *
after(const char *s, const char *key)
{
	const char *p = strstr(s, key);
	cr_assert_not_null(p, "no '%s' in:\n%s", key, s);
	return p + strlen(key);
}

Test(tipctl_daily, one_fingerprint_format_and_names_in_the_audit_log)
{
	member("rita");
	member("nina");
	/* whoami, and the membership login shows, print the same format */
	cr_assert_eq(tipctl("rita", "whoami", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert(is_fp(after(buf_cstr(&out), "fingerprint: ")), "%s", buf_cstr(&out));
	cr_assert_eq(tipctl("nina", "whoami", "--passphrase-file", T.passfile, NULL), 0);
	char nina_fp[20];
	memcpy(nina_fp, after(buf_cstr(&out), "fingerprint: "), 19);
	nina_fp[19] = '\0';
	/* rita's login shows the membership changed: nina, in the same format */
	cr_assert_eq(tipctl("rita", "login", "--passphrase-file", T.passfile, NULL), 0);
	cr_assert(strcmp(after(buf_cstr(&out), "  nina"), "") != 0 &&
	                  strstr(after(buf_cstr(&out), "  nina"), nina_fp) != NULL,
	          "login's member list:\n%s", buf_cstr(&out));

	/* a revocation is one member_revoke entry; a label change names the label */
	long approvals = th_count(&T, "select count(*) from audit_entries where "
	                              "convert_from(entry, 'UTF8') like '% enroll_approve %'");
	cr_assert_eq(tipctl("admin", "admin", "revoke", "nina", "--team", "demo", "--yes",
	                    "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries where "
	                          "convert_from(entry, 'UTF8') like '% enroll_approve %'"),
	             approvals, "the revocation was audited as an approval too");
	cr_assert_eq(tipctl("admin", "admin", "label", "add", "hotline-call", NULL), 0, "%s",
	             buf_cstr(&err));

	/* rita's log: newest first, her team's entries with names next to fingerprints */
	cr_assert_eq(tipctl("rita", "audit", "log", "--count", "200", NULL), 0, "%s", buf_cstr(&err));
	const char *log = buf_cstr(&out);
	cr_log_info("rita's audit log:\n%s", log);
	const char *rev = strstr(log, "member_revoke");
	cr_assert_not_null(rev, "%s", log);
	size_t n = strcspn(rev, "\n");
	char line[512];
	cr_assert(n < sizeof(line));
	memcpy(line, rev, n);
	line[n] = '\0';
	cr_assert(is_fp(after(line, " nina ")), "the removed member is not named: %s", line);
	cr_assert(strstr(line, "admin:") != NULL, "the admin is not named: %s", line);
	const char *login = strstr(log, " login ");
	cr_assert(login != NULL && login > rev, "not newest first:\n%s", log);

	/* the admin sees the label's entry */
	cr_assert_eq(tipctl("admin", "audit", "log", "--count", "5", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "label_add") != NULL &&
	                  strstr(buf_cstr(&out), "label:hotline-call") != NULL,
	          "%s", buf_cstr(&out));
}

/* Run `tipctl ARGS` as `who` on a terminal (tmux) with the extra setting
 * `extra` ("K=V" or NULL). */
static void
tt_tipctl(struct tt *s, const char *who, const char *extra, char *const args[])
{
	char home[TH_PATH + 48];
	char *argv[16] = { T.tipctl_bin };
	size_t n = 1;
	snprintf(home, sizeof(home), "TIPLINE_HOME=%s", home_of(who));
	const char *env[] = { home, extra != NULL ? extra : "TIPLINE_PASS_CACHE=", NULL };
	for (; args[n - 1] != NULL && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	tt_start(s, T.dir, env, argv);
}

/* Run whoami on a terminal; type `typed` (NULL-terminated) at each passphrase
 * prompt. Return the exit status; the screen goes into `screen`. */
static int
tt_whoami(const char *who, const char *extra, const char *const typed[], struct buf *screen)
{
	struct tt s;
	char *args[] = { "whoami", NULL };
	tt_tipctl(&s, who, extra, args);
	for (int i = 0; typed[i] != NULL; i++) {
		cr_assert_eq(tt_wait(&s, "Passphrase:", i + 1, 15000), 0, "no prompt %d", i + 1);
		tt_type(&s, typed[i]);
	}
	int rc = tt_exit(&s, 15000);
	tt_screen(&s, screen);
	tt_stop(&s);
	return rc;
}

Test(tipctl_daily, whoami_tries_three_times_and_the_passphrase_is_cached_until_logout)
{
	struct buf screen;
	buf_init(&screen, 1 << 20);
	member("rita");
	const char *wrong_then_right[] = { "not it", TH_PASSPHRASE, NULL };
	cr_assert_eq(tt_whoami("rita", NULL, wrong_then_right, &screen), 0, "%s", buf_cstr(&screen));
	cr_log_info("whoami, a wrong passphrase first:\n%s", buf_cstr(&screen));
	cr_assert(strstr(buf_cstr(&screen), "try again (2 tries left)") != NULL &&
	                  strstr(buf_cstr(&screen), "fingerprint: ") != NULL,
	          "%s", buf_cstr(&screen));
	/* approved and logged in: no stale "until your admin approves you" */
	cr_assert(strstr(buf_cstr(&screen), "as rita, and logged in there: an admin approved you") !=
	                  NULL,
	          "%s", buf_cstr(&screen));

	/* the next command does not ask: the identity is cached */
	const char *none[] = { NULL };
	cr_assert_eq(tt_whoami("rita", NULL, none, &screen), 0, "%s", buf_cstr(&screen));
	cr_assert(strstr(buf_cstr(&screen), "Passphrase") == NULL &&
	                  strstr(buf_cstr(&screen), "fingerprint: ") != NULL,
	          "asked again, or failed:\n%s", buf_cstr(&screen));

	/* the off-switch: asked every time */
	const char *right[] = { TH_PASSPHRASE, NULL };
	cr_assert_eq(tt_whoami("rita", "TIPLINE_PASS_CACHE=0", right, &screen), 0, "%s",
	             buf_cstr(&screen));

	/* logout clears the cache: asked again */
	cr_assert_eq(tipctl("rita", "logout", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "the passphrase cache is cleared") != NULL, "%s",
	          buf_cstr(&out));
	cr_assert_eq(tt_whoami("rita", NULL, right, &screen), 0, "%s", buf_cstr(&screen));
	cr_assert_eq(tipctl("rita", "logout", NULL), 0, "%s", buf_cstr(&err));
	buf_free(&screen);
}
