/*
 * Several admins, and changing them (issue 9, item 1), against the real
 * tipd, PostgreSQL and tipctl:
 *
 *  - a second admin added by the first (`tipctl admin add`) enrolls, logs in
 *    and approves a member; once removed (`tipctl admin remove`, which first
 *    re-signs the team the leaving admin signed last) their session is no
 *    admin's and a membership statement they sign is refused by tipd;
 *  - with a quorum of two, one signature changes nothing (tipd: 422) and a
 *    second admin's `tipctl admin cosign` uploads the statement;
 *  - a replayed older admin statement is refused by tipd (409), an admin
 *    chain rolled back in the database is refused by tipctl (admins-seen)
 *    and by a restarting tipd (STATE_DIR/admins-seen);
 *  - every change is exactly one audit entry (admin_add, admin_remove);
 *  - a partner statement is trusted while its signer is a current admin: an
 *    admin added through the chain pins one; once removed, `admin remove`
 *    names the partner, tipctl neither lists it as good nor refers to it, and
 *    tipd neither records a referral to it nor takes the statement again;
 *  - a membership statement and a header written into the database as a
 *    superuser are never sealed to and are listed by `tipctl keys check`
 *    (which lists nothing on a clean database), and so is a report that
 *    lost the header of a member it arrived under;
 *  - `tipd audit-key rotate` writes a handover checkpoint signed by both
 *    keys (one audit_key_rotate entry) that `tipctl audit verify` follows
 *    from the key it pinned; a handover signed by another key is an alarm.
 *
 * That an admin who is in no team reads no report through any route, the
 * routes added here included, is test_role_matrix's "admin in no team" column.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "age.h"
#include "invite.h"
#include "note.h"
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

/* `who` enrolls as an admin with `key` through an operator's admin invite, and logs in. */
static void
admin_enroll(const char *who, const char *key)
{
	char server[64], inv[INVITE_TEXT_MAX];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	char *op[] = { T.tipd_bin, "-c", T.conf, "invite", "--admin", "--server", server, NULL };
	cr_assert_eq(it_exec(&T, home_of(who), NULL, op, &out, &err), 0, "%s", buf_cstr(&err));
	take_invite(inv, sizeof(inv));
	cr_assert_eq(tipctl(who, "enroll", "--admin-key", key, "--passphrase-file", T.passfile, inv,
	                    NULL),
	             0, "%s enroll: %s", who, buf_cstr(&err));
	cr_assert_eq(tipctl(who, "login", "--admin", "--passphrase-file", T.passfile, NULL), 0,
	             "%s login: %s", who, buf_cstr(&err));
}

/* Make admin key `name` in `path`; its verifier key into `vkey`. */
static void
admin_keygen(const char *name, const char *path, char *vkey, size_t cap)
{
	cr_assert_eq(tipctl(name, "admin", "keygen", "--name", name, "--out", path,
	                    "--passphrase-file", T.passfile, NULL),
	             0, "keygen: %s", buf_cstr(&err));
	const char *p = strstr(buf_cstr(&out), "admin_key = ");
	cr_assert_not_null(p);
	p += strlen("admin_key = ");
	size_t n = strcspn(p, "\n");
	cr_assert(n < cap);
	memcpy(vkey, p, n);
	vkey[n] = '\0';
}

/* Audit entries of action `action`. */
static long
audited(const char *action)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "select count(*) from audit_entries where "
	         "convert_from(entry, 'UTF8') like '%% %s %%'", action);
	return th_count(&T, sql);
}

static void
setup(void)
{
	th_setup(&T);
	th_start(&T);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 16);
	admin_enroll("admin", T.admin_key);
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}

TestSuite(admins, .init = setup, .fini = teardown, .timeout = 240);

static void submit(long n);

/* The first admin adds admin2; returns admin2's key file in `key2`. */
static void
add_second(char *key2, size_t cap, char *vkey2, size_t vcap)
{
	snprintf(key2, cap, "%s/admin2.key", T.dir);
	admin_keygen("admin2", key2, vkey2, vcap);
	cr_assert_eq(tipctl("admin", "admin", "add", vkey2, "--yes", "--passphrase-file", T.passfile,
	                    NULL),
	             0, "admin add: %s", buf_cstr(&err));
	cr_assert_eq(audited("admin_add"), 1);
}

/* admin2 invites carol to demo, carol enrolls, admin2 approves her. */
static void
second_approves_carol(void)
{
	char inv[INVITE_TEXT_MAX];
	cr_assert_eq(tipctl("admin2", "admin", "invite", "--name", "carol", "--team", "demo", NULL), 0,
	             "admin2 invite: %s", buf_cstr(&err));
	take_invite(inv, sizeof(inv));
	cr_assert_eq(tipctl("carol", "enroll", "--passphrase-file", T.passfile, inv, NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert_eq(tipctl("admin2", "admin", "approve", "--yes", "--passphrase-file", T.passfile,
	                    "carol", NULL),
	             0, "admin2 approve: %s / %s", buf_cstr(&out), buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from membership_statements where team_id = 'demo' "
	                          "and statement like '%member carol %'"),
	             1);
}

Test(admins, second_admin_approves_removed_admin_cannot)
{
	char key2[TH_PATH], vkey2[256], path[TH_PATH + 32];
	add_second(key2, sizeof(key2), vkey2, sizeof(vkey2));
	admin_enroll("admin2", key2);
	second_approves_carol();
	cr_assert_eq(tipctl("admin", "admin", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "admin2") != NULL, "%s", buf_cstr(&out));

	/* The first admin removes admin2: demo's head (signed by admin2) is re-signed first. */
	cr_assert_eq(tipctl("admin", "admin", "remove", "admin2", "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "admin remove: %s / %s", buf_cstr(&out), buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "team demo: re-signed") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(audited("admin_remove"), 1);
	cr_assert_eq(audited("admin_add"), 1);

	/* admin2's session no longer passes as an admin's. */
	cr_assert_neq(tipctl("admin2", "admin", "revoke", "carol", "--team", "demo", "--yes",
	                     "--passphrase-file", T.passfile, NULL),
	              0, "a removed admin revoked a member: %s", buf_cstr(&out));
	/* A statement admin2 signs offline is refused by tipd (operator path too). */
	char prev[TH_PATH + 32];
	snprintf(prev, sizeof(prev), "%s/demo-head.note", T.dir);
	PGconn *db = th_db(&T);
	PGresult *r = PQexec(db, "select statement from membership_statements where team_id = 'demo' "
	                         "order by seq desc limit 1");
	cr_assert_eq(PQntuples(r), 1);
	FILE *f = fopen(prev, "w");
	cr_assert_not_null(f);
	fputs(PQgetvalue(r, 0, 0), f);
	fclose(f);
	PQclear(r);
	PQfinish(db);
	snprintf(path, sizeof(path), "%s/by-admin2.note", T.dir);
	cr_assert_eq(tipctl("admin2", "admin", "membership", "--key", key2, "--passphrase-file",
	                    T.passfile, "--team", "demo", "--prev", prev, "--trust", T.admin_pub,
	                    "--out", path, NULL),
	             0, "admin membership: %s", buf_cstr(&err));
	char *op[] = { T.tipd_bin, "-c", T.conf, "membership", "add", path, NULL };
	cr_assert_neq(it_exec(&T, NULL, NULL, op, &out, &err), 0, "tipd stored a removed admin's "
	              "statement");
	cr_assert(strstr(buf_cstr(&err), "signed only by an admin who is no longer one") != NULL,
	          "%s", buf_cstr(&err));

	/* After a restart, the links admin2 signed while an admin still verify:
	 * the next report is sealed to both members of demo, carol included. */
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	th_start(&T);
	submit(1);
	cr_assert_eq(th_count(&T, "select count(*) from object_headers h join reports r on "
	                          "r.id = h.object_id"),
	             2, "the report is not sealed to demo's two members after a restart");
}

/* The partner statement of `name` stored in the database (malloc'd). */
static char *
stored_partner_statement(const char *name)
{
	PGconn *db = th_db(&T);
	const char *v[1] = { name };
	PGresult *r = PQexecParams(db, "select statement from partners where name = $1", 1, NULL, v,
	                           NULL, NULL, 0);
	cr_assert_eq(PQntuples(r), 1, "no partner %s stored", name);
	char *st = strdup(PQgetvalue(r, 0, 0));
	cr_assert_not_null(st);
	PQclear(r);
	PQfinish(db);
	return st;
}

/* Run one SQL statement as the superuser; assert it succeeds. */
static void
superuser_exec(const char *sql, const char *param)
{
	PGconn *db = th_db(&T);
	const char *v[1] = { param };
	PGresult *r = PQexecParams(db, sql, param != NULL ? 1 : 0, NULL, v, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(db));
	PQclear(r);
	PQfinish(db);
}

/* A partner statement is trusted while an admin of the admin chain's current
 * set signed it: tipd stores one by an admin added through the chain (not
 * pinned in tipd.conf); once that admin is removed, `admin remove` names the
 * partner, tipctl neither lists it as good nor refers a case to it, and tipd
 * records no referral to it and refuses the statement if offered again. */
Test(admins, a_partner_is_pinned_only_by_a_current_admin)
{
	char key2[TH_PATH], vkey2[256], rcpt[AGE_RECIPIENT_STR_MAX], token[64], rid[37];
	char file[TH_PATH + 32];
	uint8_t xpk[AGE_KEY_LEN], xsk[AGE_KEY_LEN];
	cr_assert_eq(age_keygen(xpk, xsk), 0);
	cr_assert_eq(age_recipient_encode(xpk, rcpt, sizeof(rcpt)), 0);
	add_second(key2, sizeof(key2), vkey2, sizeof(vkey2));
	admin_enroll("admin2", key2);

	cr_assert_eq(tipctl("admin2", "admin", "partner", "add", "iom", rcpt, "--passphrase-file",
	                    T.passfile, "--yes", NULL),
	             0, "an admin added through the chain could not pin a partner: %s / %s",
	             buf_cstr(&out), buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "partner", "list", NULL), 0, "%s / %s",
	             buf_cstr(&out), buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&out), rcpt), "%s", buf_cstr(&out));

	/* admin2 leaves: `admin remove` names the partner only they pinned. */
	char *st = stored_partner_statement("iom");
	cr_assert_eq(tipctl("admin", "admin", "remove", "admin2", "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "admin remove: %s / %s", buf_cstr(&out), buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&out), "warning: partner iom is no longer pinned by a "
	                                          "current admin"),
	                   "%s", buf_cstr(&out));

	/* tipctl lists it as not verifying and refers nothing to it. */
	cr_assert_neq(tipctl("admin", "admin", "partner", "list", NULL), 0, "%s", buf_cstr(&out));
	cr_assert_not_null(strstr(buf_cstr(&out), "DOES NOT VERIFY"), "%s", buf_cstr(&out));
	submit(1);
	it_only_report(&T, rid);
	it_tipctl_login(&T, home_of("inv"));
	snprintf(file, sizeof(file), "%s/case.tar.age", T.dir);
	cr_assert_neq(tipctl("inv", "tips", "refer", rid, "--to", "iom", "--out", file,
	                     "--identity", T.identity, "--passphrase-file", T.passfile, "--yes",
	                     NULL),
	              0, "a case was referred to a removed admin's partner: %s", buf_cstr(&out));
	cr_assert_not_null(strstr(buf_cstr(&err), "does not verify against the current admins"),
	                   "%s", buf_cstr(&err));
	cr_assert_eq(access(file, F_OK), -1, "a referral file was written");

	/* tipd records no referral to it either (a client that skipped the check). */
	struct buf resp;
	buf_init(&resp, 1 << 16);
	char path[128], mtoken[64];
	cr_assert_eq(th_review_login(&T, T.identity, mtoken), 200);
	snprintf(path, sizeof(path), "/api/v1/reports/%s/referral", rid);
	cr_assert_eq(th_review(&T, "POST", path, mtoken, "{\"partner\":\"iom\"}", &resp), 422,
	             "%s", buf_cstr(&resp));
	cr_assert_not_null(strstr(buf_cstr(&resp), "partner_not_pinned"), "%s", buf_cstr(&resp));
	cr_assert_eq(th_count(&T, "select count(*) from reports where status = 'referred'"), 0);

	/* Offered again to tipd, the removed admin's statement is refused. */
	superuser_exec("delete from partners where name = $1", "iom");
	json_t *body = json_pack("{s:s}", "statement", st);
	char *text = json_dumps(body, JSON_COMPACT);
	it_admin_login(&T, token);
	cr_assert_eq(th_review(&T, "POST", "/api/v1/admin/partners", token, text, &resp), 422,
	             "tipd took a removed admin's partner statement: %s", buf_cstr(&resp));
	cr_assert_not_null(strstr(buf_cstr(&resp), "not signed by a current admin"), "%s",
	                   buf_cstr(&resp));
	cr_assert_eq(th_count(&T, "select count(*) from partners"), 0);
	json_decref(body);
	free(text);
	free(st);
	buf_free(&resp);
}

/* Submit one report to demo over the plain source listener; wait for `n` reports. */
static void
submit(long n)
{
	struct buf resp;
	buf_init(&resp, 1 << 16);
	const char *body = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	cr_assert_eq(it_post_json(&T, 0, body, &resp), 201, "answer: %s", buf_cstr(&resp));
	cr_assert_eq(th_wait_reports(&T, n, 20000), n, "the report did not reach PostgreSQL");
	buf_free(&resp);
}

/* Write into the database, as a superuser, a membership statement 2 of demo
 * signed by a key no admin holds, adding member "rogue" with recipient
 * `rogue` (written), and a header for `rogue` on report `report`. */
static void
insert_rogue(const char *report, char rogue[AGE_RECIPIENT_STR_MAX])
{
	uint8_t xpk[32], xsk[32], epk[32], esk[64];
	char b64[64], line[1024], sql[256];
	struct buf st, vt, text, note;
	buf_init_secure(&st, 512);
	buf_init(&vt, 512);
	buf_init(&text, 8192);
	buf_init(&note, 16384);
	cr_assert_eq(note_keygen("rogue-admin", &st, &vt), 0);
	struct note_signer *s = note_signer_parse((const char *)st.data, st.len);
	cr_assert_not_null(s);
	cr_assert_eq(age_keygen(xpk, xsk), 0);
	cr_assert_eq(age_recipient_encode(xpk, rogue, AGE_RECIPIENT_STR_MAX), 0);
	cr_assert_eq(crypto_sign_keypair(epk, esk), 0);
	sodium_bin2base64(b64, sizeof(b64), epk, 32, sodium_base64_VARIANT_ORIGINAL);
	PGconn *db = th_db(&T);
	PGresult *r = PQexec(db, "select encode(sha256, 'hex') from membership_statements "
	                         "where team_id = 'demo' and seq = 1");
	cr_assert_eq(PQntuples(r), 1);
	snprintf(line, sizeof(line), "tipline/v1/membership\nteam demo\nseq 2\nprev %s\n"
	         "member %s\nmember rogue %s %s\n", PQgetvalue(r, 0, 0), T.member_line, rogue, b64);
	PQclear(r);
	cr_assert_eq(note_sign(s, line, strlen(line), &note), 0);
	const char *v[1] = { buf_cstr(&note) };
	r = PQexecParams(db, "insert into membership_statements (team_id, seq, sha256, statement) "
	                     "values ('demo', 2, sha256(convert_to($1, 'UTF8')), $1)",
	                 1, NULL, v, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(db));
	PQclear(r);
	snprintf(sql, sizeof(sql), "insert into object_headers (object_id, recipient, header) "
	         "values ('%s', '%s', '\\x00')", report, rogue);
	r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(db));
	PQclear(r);
	PQfinish(db);
	note_signer_free(s);
	buf_free(&st);
	buf_free(&vt);
	buf_free(&text);
	buf_free(&note);
}

Test(admins, a_key_written_into_the_database_is_never_sealed_to_and_is_flagged)
{
	char report[37], rogue[AGE_RECIPIENT_STR_MAX], sql[512];
	submit(1);
	it_only_report(&T, report);
	/* Positive control: a clean database has nothing to list. */
	cr_assert_eq(tipctl("admin", "keys", "check", NULL), 0, "keys check on a clean database: "
	             "%s / %s", buf_cstr(&out), buf_cstr(&err));
	insert_rogue(report, rogue);
	/* Past a membership poll (5 s by default): tipd has read the database again. */
	usleep(5500 * 1000);
	submit(2);
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where recipient = '%s'",
	         rogue);
	cr_assert_eq(th_count(&T, sql), 1, "tipd sealed to a key no admin signed");
	snprintf(sql, sizeof(sql), "select count(*) from reports r join object_headers h on "
	         "h.object_id = r.id and h.recipient = '%s' where r.id <> '%s'", T.recipient, report);
	cr_assert_eq(th_count(&T, sql), 1, "the second report is not sealed to the team");
	cr_assert_eq(tipctl("admin", "keys", "check", NULL), 1, "keys check: %s / %s",
	             buf_cstr(&out), buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "team demo: membership statement 2: no admin signed") !=
	                  NULL, "%s", buf_cstr(&out));
	char want[256];
	snprintf(want, sizeof(want), "header for %s, a key no admin signed", rogue);
	cr_assert(strstr(buf_cstr(&out), want) != NULL, "%s", buf_cstr(&out));
	snprintf(want, sizeof(want), "key %s", rogue);
	cr_assert(strstr(buf_cstr(&out), want) != NULL, "%s", buf_cstr(&out));
	/* A report that lost the header of a member it arrived under is listed too. */
	snprintf(sql, sizeof(sql), "delete from object_headers where object_id = '%s' and "
	         "recipient = '%s'", report, T.recipient);
	PGconn *db = th_db(&T);
	PQclear(PQexec(db, sql));
	PQfinish(db);
	cr_assert_eq(tipctl("admin", "keys", "check", NULL), 1);
	snprintf(want, sizeof(want), "report %s (arrived ", report);
	cr_assert(strstr(buf_cstr(&out), want) != NULL && strstr(buf_cstr(&out), "no header for") !=
	                  NULL, "%s", buf_cstr(&out));
}

/* Admin statement `seq` as stored, into `b` (reset first). */
static void
stored_admin_statement(int seq, struct buf *b)
{
	char sql[128];
	PGconn *db = th_db(&T);
	snprintf(sql, sizeof(sql), "select statement from admin_statements where seq = %d", seq);
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQntuples(r), 1);
	buf_reset(b);
	cr_assert_eq(buf_add(b, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)), 0);
	PQclear(r);
	PQfinish(db);
}

Test(admins, a_replayed_or_rolled_back_admin_chain_is_refused)
{
	char key2[TH_PATH], vkey2[256], token[64];
	struct buf first, resp;
	buf_init(&first, 1 << 16);
	buf_init(&resp, 1 << 16);
	add_second(key2, sizeof(key2), vkey2, sizeof(vkey2));
	cr_assert_eq(tipctl("admin", "admin", "remove", "admin2", "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "admin remove: %s", buf_cstr(&err));
	cr_assert_eq(audited("admin_add"), 1);
	cr_assert_eq(audited("admin_remove"), 1);

	/* tipd: statement 1 again, after 2, is a replay. */
	stored_admin_statement(1, &first);
	json_t *o = json_pack("{s:s%}", "statement", (const char *)first.data, first.len);
	char *body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	it_admin_login(&T, token);
	cr_assert_eq(th_review(&T, "POST", "/api/v1/admin/admins", token, body, &resp), 409, "%s",
	             buf_cstr(&resp));
	free(body);
	cr_assert_eq(th_count(&T, "select count(*) from admin_statements"), 2);
	cr_assert_eq(audited("admin_add"), 1, "a refused statement was audited as a change");

	/* tipctl: the database loses statement 2, so the server shows the chain
	 * ending at 1, which this tipctl has seen superseded. */
	PGconn *db = th_db(&T);
	PQclear(PQexec(db, "delete from admin_statements where seq = 2"));
	PQfinish(db);
	cr_assert_neq(tipctl("admin", "admin", "list", NULL), 0, "tipctl took a rolled-back chain");
	cr_assert(strstr(buf_cstr(&err), "older admin chain") != NULL, "%s", buf_cstr(&err));

	/* tipd: a restart refuses the rolled-back chain (STATE_DIR/admins-seen). */
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	char *run[] = { "/usr/bin/timeout", "30", T.tipd_bin, "-c", T.conf, NULL };
	int st = it_exec(&T, NULL, NULL, run, &out, &err);
	cr_assert(st != 0 && st != 124, "tipd started on a rolled-back admin chain (status %d)", st);
	struct buf log;
	buf_init(&log, 1 << 20);
	it_slurp(T.log, &log);
	cr_assert(strstr(buf_cstr(&log), "ends before the admin statement") != NULL ||
	                  strstr(buf_cstr(&err), "ends before the admin statement") != NULL,
	          "%s", buf_cstr(&err));
	buf_free(&log);
	buf_free(&first);
	buf_free(&resp);
}

/* ---- the audit key handover ---- */

static void
audit_setup(void)
{
	th_setup(&T);
	snprintf(T.review_conf, sizeof(T.review_conf),
	         "[audit]\ncheckpoint_entries = 1\ncheckpoint_interval_s = 1\n[review]\n");
	th_write_conf(&T);
	th_start(&T);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 16);
	admin_enroll("admin", T.admin_key);
}

/* Wait until a checkpoint covers the whole log (tipd signs within a second). */
static void
wait_signed(void)
{
	for (int i = 0; i < 100; i++) {
		if (th_count(&T, "select count(*) from audit_checkpoints where size = "
		                 "(select count(*) from audit_entries)") == 1)
			return;
		usleep(100 * 1000);
	}
	cr_assert_fail("no checkpoint of the whole log");
}

TestSuite(audit_handover, .init = audit_setup, .fini = teardown, .timeout = 240);

Test(audit_handover, tipctl_audit_verify_follows_a_handover_signed_by_both_keys)
{
	cr_assert_eq(tipctl("admin", "admin", "list", NULL), 0, "%s", buf_cstr(&err));
	wait_signed();
	cr_assert_eq(tipctl("admin", "audit", "verify", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "first verification") != NULL, "%s", buf_cstr(&out));

	/* The operator rotates the key with tipd stopped: one audit entry, one handover. */
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	char *rot[] = { T.tipd_bin, "-c", T.conf, "audit-key", "rotate", NULL };
	cr_assert_eq(it_exec(&T, NULL, NULL, rot, &out, &err), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "new audit verifier key: ") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(audited("audit_key_rotate"), 1);
	cr_assert_eq(th_count(&T, "select count(*) from audit_key_handovers"), 1);
	/* The same review port again: the session names it. */
	snprintf(T.review_listen, sizeof(T.review_listen), "127.0.0.1:%d", T.review_port);
	th_write_conf(&T);
	th_start(&T);

	/* The log grows under the new key; tipctl, which pinned the old key, follows. */
	cr_assert_eq(tipctl("admin", "admin", "list", NULL), 0, "%s", buf_cstr(&err));
	wait_signed();
	cr_assert_eq(tipctl("admin", "audit", "verify", NULL), 0, "%s / %s", buf_cstr(&out),
	             buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "followed 1 audit key handover") != NULL, "%s",
	          buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "it extends the checkpoint of") != NULL, "%s",
	          buf_cstr(&out));

	/* A handover signed by a key nobody trusts is an alarm, not a new key. */
	struct buf st, vt, note;
	buf_init_secure(&st, 512);
	buf_init(&vt, 512);
	buf_init(&note, 8192);
	cr_assert_eq(note_keygen("tipline-review.test/audit", &st, &vt), 0);
	struct note_signer *rogue = note_signer_parse((const char *)st.data, st.len);
	cr_assert_not_null(rogue);
	cr_assert_eq(note_sign(rogue, "tipline-review.test/audit\n1000\n"
	                              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 76, &note), 0);
	PGconn *db = th_db(&T);
	const char *v[1] = { buf_cstr(&note) };
	PGresult *r = PQexecParams(db, "insert into audit_key_handovers (size, note) values (1000, $1)",
	                           1, NULL, v, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(db));
	PQclear(r);
	PQfinish(db);
	cr_assert_eq(tipctl("admin", "audit", "verify", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "ALERT: audit key handover 2 does not verify") != NULL, "%s",
	          buf_cstr(&err));
	note_signer_free(rogue);
	buf_free(&st);
	buf_free(&vt);
	buf_free(&note);
}

Test(admins, a_quorum_of_two_needs_a_second_signature)
{
	char key2[TH_PATH], vkey2[256], key3[TH_PATH], vkey3[256], change[TH_PATH + 32];
	snprintf(key2, sizeof(key2), "%s/admin2.key", T.dir);
	admin_keygen("admin2", key2, vkey2, sizeof(vkey2));
	/* Statement 1 (by the pinned admin, quorum 1) sets the quorum to 2. */
	cr_assert_eq(tipctl("admin", "admin", "add", vkey2, "--quorum", "2", "--yes",
	                    "--passphrase-file", T.passfile, NULL),
	             0, "admin add: %s", buf_cstr(&err));
	admin_enroll("admin2", key2);
	snprintf(key3, sizeof(key3), "%s/admin3.key", T.dir);
	admin_keygen("admin3", key3, vkey3, sizeof(vkey3));
	/* One signature is not enough: without --out nothing is sent, with it a file. */
	cr_assert_neq(tipctl("admin", "admin", "add", vkey3, "--yes", "--passphrase-file",
	                     T.passfile, NULL),
	              0);
	cr_assert(strstr(buf_cstr(&err), "needs 2 admin signatures and has 1") != NULL, "%s",
	          buf_cstr(&err));
	snprintf(change, sizeof(change), "%s/change.note", T.dir);
	cr_assert_eq(tipctl("admin", "admin", "add", vkey3, "--yes", "--passphrase-file",
	                    T.passfile, "--out", change, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from admin_statements"), 1);
	/* A statement with one signature, uploaded by hand, is refused. */
	struct buf one, resp;
	char token[64];
	buf_init(&one, 1 << 16);
	buf_init(&resp, 1 << 16);
	it_slurp(change, &one);
	json_t *o = json_pack("{s:s%}", "statement", (const char *)one.data, one.len);
	char *body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	it_admin_login(&T, token);
	cr_assert_eq(th_review(&T, "POST", "/api/v1/admin/admins", token, body, &resp), 422, "%s",
	             buf_cstr(&resp));
	free(body);
	/* admin2's signature completes the quorum and uploads it. */
	cr_assert_eq(tipctl("admin2", "admin", "cosign", change, "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "cosign: %s / %s", buf_cstr(&out), buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from admin_statements"), 2);
	cr_assert_eq(audited("admin_add"), 2);
	cr_assert_eq(tipctl("admin", "admin", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "* admin3") != NULL, "%s", buf_cstr(&out));
	buf_free(&one);
	buf_free(&resp);
}
