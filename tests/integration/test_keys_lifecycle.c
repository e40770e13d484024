/*
 * Key ceremonies through the real tipctl and tipd, with a real PostgreSQL
 * and Debian's `age` (docs/keys.md):
 *
 *  - a lost laptop: the admin revokes bob's key; bob enrolls a new identity
 *    on a new computer and is approved; he reads new reports at once and the
 *    older ones only after alice's `tipctl sync`, which shows his new
 *    fingerprint and asks first; the lost identity opens nothing new;
 *  - a recovery key: made with `tipctl recovery keygen` as 2-of-3 shares and
 *    put into the team by `tipctl admin recovery`; new reports are sealed to
 *    it, older ones after a sync; stock `age -d` opens reports with the key
 *    recombined from 2 shares, with the whole key, and with 3 of 5 shares of
 *    a re-split, while fewer shares are refused; it cannot log in.
 *
 * Each step that changes something is exactly one audit entry.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "identity.h"
#include "it_common.h"
#include "util.h"

static struct th T;
static struct buf out, err;

static void
setup(void)
{
	th_setup(&T);
	th_start(&T);
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}

TestSuite(keys_lifecycle, .init = setup, .fini = teardown, .timeout = 300);

/* The TIPLINE_HOME of `who` (NULL: the operator), made if need be; static. */
static const char *
home_of(const char *who)
{
	static char home[TH_PATH + 32];
	snprintf(home, sizeof(home), "%s/home-%s", T.dir, who != NULL ? who : "operator");
	(void)mkdir(home, 0700);
	return home;
}

#define tipctl(who, ...) it_tipctl(&T, home_of(who), NULL, &out, &err, __VA_ARGS__)

/* ---- the audit log: what a step changed ---- */

/* The actions that read (audited, but not a change). */
static int
is_read(const char *action)
{
	static const char *const reads[] = { "login", "logout", "report_list", "report_fetch",
		                             "attachment_fetch", "membership_fetch", "admins_fetch",
		                             "keys_check", NULL };
	for (int i = 0; reads[i] != NULL; i++)
		if (strcmp(action, reads[i]) == 0)
			return 1;
	return 0;
}

static long
audit_size(void)
{
	return th_count(&T, "select count(*) from audit_entries");
}

/* Assert that the entries from index `from` on hold exactly the changes
 * `want` ("action action ", in order; "" for none), reads aside. */
static void
assert_changes(long from, const char *want)
{
	char sql[160], act[64], changes[1024] = "";
	snprintf(sql, sizeof(sql), "select convert_from(entry, 'UTF8') from audit_entries "
	         "where idx >= %ld order by idx", from);
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++) {
		/* tipline/v1/audit <time> <action> ... */
		cr_assert_eq(sscanf(PQgetvalue(r, i, 0), "%*s %*s %63s", act), 1);
		if (is_read(act))
			continue;
		size_t l = strlen(changes);
		snprintf(changes + l, sizeof(changes) - l, "%s ", act);
	}
	PQclear(r);
	PQfinish(c);
	cr_assert_str_eq(changes, want, "want the audit entries '%s', got '%s'", want, changes);
}

/* Assert that the entries from `from` on hold exactly one change, `action`. */
static void
assert_one_change(long from, const char *action)
{
	char want[80];
	snprintf(want, sizeof(want), "%s ", action);
	assert_changes(from, want);
}

/* ---- people ---- */

static void
take_invite(char *inv, size_t cap)
{
	const char *p = strstr(buf_cstr(&out), "tipline-invite-1:");
	cr_assert_not_null(p, "no invite printed: %s / %s", buf_cstr(&out), buf_cstr(&err));
	size_t n = strcspn(p, "\n");
	cr_assert(n < cap);
	memcpy(inv, p, n);
	inv[n] = '\0';
}

/* The fingerprint enroll printed ("xxxx xxxx xxxx xxxx"), without the spaces. */
static void
take_fingerprint(char fp[17])
{
	const char *p = strstr(buf_cstr(&out), "your fingerprint: ");
	cr_assert_not_null(p, "enroll printed no fingerprint: %s", buf_cstr(&out));
	p += 18;
	for (int i = 0, j = 0; i < 19; i++)
		if (p[i] != ' ')
			fp[j++] = p[i];
	fp[16] = '\0';
}

/* Admin invites NAME to TEAM; they enroll from computer `home` (a new identity). */
static void
invite_and_enroll(const char *name, const char *home, const char *team, char fp[17])
{
	char inv[8192];
	long a0 = audit_size();
	cr_assert_eq(tipctl("admin", "admin", "invite", "--name", name, "--team", team, NULL), 0,
	             "admin invite: %s", buf_cstr(&err));
	assert_one_change(a0, "invite_create");
	take_invite(inv, sizeof(inv));
	a0 = audit_size();
	cr_assert_eq(tipctl(home, "enroll", "--passphrase-file", T.passfile, inv, NULL), 0,
	             "%s enroll: %s", name, buf_cstr(&err));
	assert_one_change(a0, "enroll");
	take_fingerprint(fp);
}

static void
login(const char *who)
{
	cr_assert_eq(tipctl(who, "login", "--passphrase-file", T.passfile, NULL), 0, "%s login: %s",
	             who, buf_cstr(&err));
}

/* The operator's bootstrap: an admin enrolled and logged in, team alpha made. */
static void
bootstrap(void)
{
	char server[64], inv[8192];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	char *op[] = { T.tipd_bin, "-c", T.conf, "invite", "--admin", "--server", server, NULL };
	cr_assert_eq(it_exec(&T, home_of(NULL), NULL, op, &out, &err), 0, "%s", buf_cstr(&err));
	take_invite(inv, sizeof(inv));
	cr_assert_eq(tipctl("admin", "enroll", "--admin-key", T.admin_key, "--passphrase-file",
	                    T.passfile, inv, NULL), 0, "admin enroll: %s", buf_cstr(&err));
	login("admin");
	cr_assert_eq(tipctl("admin", "admin", "team", "create", "alpha", "--yes", "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
}

/* ---- reports ---- */

static char known[16][37]; /* report ids seen so far */
static int nknown;

/* Submit a multipart report with one file to team alpha carrying `marker`;
 * wait until it is stored and write its id and its attachment's id. */
static void
submit(const char *marker, char id[37], char att[37])
{
	char pfile[TH_PATH + 16], preport[TH_PATH + 16], ff[TH_PATH + 64], fr[TH_PATH + 64];
	char url[128];
	uint8_t file[3000];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	long before = th_count(&T, "select count(*) from reports");
	snprintf(pfile, sizeof(pfile), "%s/file.bin", T.dir);
	snprintf(preport, sizeof(preport), "%s/report.json", T.dir);
	randombytes_buf(file, sizeof(file));
	int fd = open(pfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0 && util_write_all(fd, file, sizeof(file)) == 0);
	close(fd);
	FILE *f = fopen(preport, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"team\":\"alpha\",\"language\":\"en\",\"answers\":{\"what_happened\":\"%s\","
	           "\"exploitation\":[\"labour\"],\"where\":\"a farm\",\"when\":\"last week\","
	           "\"affected_person\":\"me\",\"safe_now\":\"no\"}}", marker);
	fclose(f);
	snprintf(ff, sizeof(ff), "file=@%s;filename=evidence.bin", pfile);
	snprintf(fr, sizeof(fr), "report=<%s;type=application/json", preport);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", T.source_port);
	char *args[] = { "-F", fr, "-F", ff, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	cr_assert_eq(th_wait_reports(&T, before + 1, 10000), before + 1);
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "select a.report_id, a.id from attachments a");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	int found = 0;
	for (int i = 0; i < PQntuples(r) && !found; i++) {
		int seen = 0;
		for (int k = 0; k < nknown; k++)
			seen |= strcmp(known[k], PQgetvalue(r, i, 0)) == 0;
		if (seen)
			continue;
		snprintf(id, 37, "%s", PQgetvalue(r, i, 0));
		snprintf(att, 37, "%s", PQgetvalue(r, i, 1));
		cr_assert(nknown < 16);
		snprintf(known[nknown++], 37, "%s", id);
		found = 1;
	}
	cr_assert(found, "the new report was not found");
	PQclear(r);
	PQfinish(c);
	buf_free(&resp);
}

/* Decrypt `who`'s identity file (in their home) into `plain` (for `age -d -i`)
 * and write its age recipient into `rcpt`. */
static void
plain_identity(const char *who, const char *plain, char rcpt[128])
{
	char path[TH_PATH + 64];
	struct identity *id = NULL;
	struct buf text;
	buf_init(&text, 1 << 14);
	snprintf(path, sizeof(path), "%s/identity.age", home_of(who));
	cr_assert_eq(identity_load(path, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id), IDENTITY_OK,
	             "%s", path);
	cr_assert_eq(identity_text(id, &text), 0);
	(void)unlink(plain);
	int fd = open(plain, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0 && util_write_all(fd, text.data, text.len) == 0);
	close(fd);
	snprintf(rcpt, 128, "%s", identity_recipient(id));
	identity_free(id);
	buf_free(&text);
}

/* Run Debian's `age -d -i identity` on object `object` (a report, or an
 * attachment) as stored: the header for `recipient` followed by the
 * payload. Return age's exit status, or -2 if no header for `recipient`
 * exists; the plaintext goes into `plain`. */
static int
age_open(const char *recipient, const char *identity, const char *object, int attachment,
         struct buf *plain)
{
	char sql[256], path[TH_PATH + 32];
	snprintf(sql, sizeof(sql), "select h.header, o.payload from object_headers h join %s o "
	         "on o.id = h.object_id where h.object_id = $1 and h.recipient = $2",
	         attachment ? "attachments" : "reports");
	PGconn *c = th_db(&T);
	const char *v[2] = { object, recipient };
	PGresult *r = PQexecParams(c, sql, 2, NULL, v, NULL, NULL, 1);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	if (PQntuples(r) != 1) {
		PQclear(r);
		PQfinish(c);
		return -2;
	}
	snprintf(path, sizeof(path), "%s/object.age", T.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert(util_write_all(fd, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)) == 0);
	cr_assert(util_write_all(fd, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1)) == 0);
	close(fd);
	PQclear(r);
	PQfinish(c);
	char *argv[] = { "/usr/bin/age", "-d", "-i", (char *)(uintptr_t)identity, path, NULL };
	buf_reset(plain);
	int rc = it_exec(&T, NULL, NULL, argv, plain, &err);
	if (rc != 0)
		cr_log_info("age -d %s: %d: %s", object, rc, buf_cstr(&err));
	return rc;
}

/* `who` decrypts report `id` with `tips show`; return the exit status. */
static int
show(const char *who, const char *id)
{
	return tipctl(who, "tips", "show", id, "--passphrase-file", T.passfile, NULL);
}

Test(keys_lifecycle, lost_laptop_revoke_reenroll_and_a_peer_regrants_history)
{
	char fa[17], fb[17], fb2[17], r1[37], a1[37], r2[37], a2[37];
	char lost[TH_PATH + 32], lost_rcpt[128], newid[TH_PATH + 32], new_rcpt[128];
	struct buf plain;
	buf_init(&plain, 1 << 20);
	bootstrap();
	invite_and_enroll("alice", "alice", "alpha", fa);
	invite_and_enroll("bob", "bob", "alpha", fb);
	long a0 = audit_size();
	cr_assert_eq(tipctl("admin", "admin", "approve", "--yes", "--passphrase-file", T.passfile,
	                    NULL), 0, "%s", buf_cstr(&err));
	login("alice");
	login("bob");
	submit("MARKER-BEFORE-LOSS", r1, a1);
	cr_assert_eq(show("bob", r1), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "MARKER-BEFORE-LOSS") != NULL);
	snprintf(lost, sizeof(lost), "%s/bob-lost.txt", T.dir);
	plain_identity("bob", lost, lost_rcpt);

	/* The laptop is lost: the admin revokes bob's key at once (one entry). */
	a0 = audit_size();
	cr_assert_eq(tipctl("admin", "admin", "revoke", "bob", "--team", "alpha", "--yes",
	                    "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	assert_one_change(a0, "member_revoke");
	cr_assert_neq(tipctl("bob", "tips", "list", NULL), 0);
	cr_assert_eq(tipctl("bob", "login", "--passphrase-file", T.passfile, NULL), 1);
	char sql[256];
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where recipient = '%s'",
	         lost_rcpt);
	cr_assert_eq(th_count(&T, sql), 0, "the lost key's headers must be gone");

	/* bob enrolls a new identity on a new computer; the admin approves it. */
	invite_and_enroll("bob", "bob-new", "alpha", fb2);
	cr_assert_str_neq(fb, fb2);
	a0 = audit_size();
	cr_assert_eq(tipctl("admin", "admin", "approve", "bob", "--yes", "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	assert_one_change(a0, "enroll_approve");
	login("bob-new");
	snprintf(newid, sizeof(newid), "%s/bob-new.txt", T.dir);
	plain_identity("bob-new", newid, new_rcpt);

	/* New reports are his at once; the lost key opens nothing that came after. */
	submit("MARKER-AFTER-LOSS", r2, a2);
	cr_assert_eq(show("bob-new", r2), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "MARKER-AFTER-LOSS") != NULL);
	cr_assert_eq(age_open(lost_rcpt, lost, r2, 0, &plain), -2);
	cr_assert_eq(age_open(new_rcpt, lost, r2, 0, &plain), 1, "age must refuse: not its key");
	cr_assert(strstr(buf_cstr(&plain), "MARKER-AFTER-LOSS") == NULL);
	/* The older report waits for a peer. */
	cr_assert_neq(show("bob-new", r1), 0);
	cr_assert(strstr(buf_cstr(&out), "MARKER-BEFORE-LOSS") == NULL);
	cr_assert_eq(age_open(new_rcpt, newid, r1, 0, &plain), -2);

	/* alice's sync shows bob's new fingerprint and asks; without a terminal, no. */
	a0 = audit_size();
	cr_assert_eq(tipctl("alice", "sync", "--team", "alpha", "--passphrase-file", T.passfile,
	                    NULL), 1);
	char g2[20], g1[20]; /* sync prints fingerprints in groups of four */
	snprintf(g2, sizeof(g2), "%.4s %.4s %.4s %.4s", fb2, fb2 + 4, fb2 + 8, fb2 + 12);
	snprintf(g1, sizeof(g1), "%.4s %.4s %.4s %.4s", fb, fb + 4, fb + 8, fb + 12);
	cr_assert(strstr(buf_cstr(&out), g2) != NULL, "sync did not show %s: %s", g2,
	          buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), g1) == NULL, "sync showed the lost key: %s", buf_cstr(&out));
	cr_assert_eq(age_open(new_rcpt, newid, r1, 0, &plain), -2);
	cr_assert_eq(tipctl("alice", "sync", "--team", "alpha", "--yes", "--passphrase-file",
	                    T.passfile, NULL), 0, "%s\n%s", buf_cstr(&out), buf_cstr(&err));
	assert_one_change(a0, "headers_add");
	cr_assert_eq(show("bob-new", r1), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "MARKER-BEFORE-LOSS") != NULL);
	cr_assert_eq(age_open(new_rcpt, newid, a1, 1, &plain), 0, "the attachment too");
	cr_assert_eq(age_open(lost_rcpt, lost, r1, 0, &plain), -2);
	buf_free(&plain);
}

/* The shares (lines "tipline-share1-...") of `out`, into `shares`; return the count. */
static int
take_shares(char shares[][128], int max)
{
	int n = 0;
	for (const char *p = buf_cstr(&out); (p = strstr(p, "tipline-share1-")) != NULL && n < max;
	     p++) {
		size_t l = strcspn(p, "\n");
		cr_assert(l < 128);
		memcpy(shares[n], p, l);
		shares[n++][l] = '\0';
		p += l - 1;
	}
	return n;
}

/* Combine the shares into the new file `path`; return tipctl's exit status. */
static int
combine(const char *path, const char *s1, const char *s2, const char *s3)
{
	(void)unlink(path);
	return tipctl("alice", "recovery", "combine", "--out", path, s1, s2, s3, NULL);
}

Test(keys_lifecycle, recovery_key_whole_and_from_k_of_n_shares_opens_reports)
{
	char fa[17], r1[37], a1[37], r2[37], a2[37], rcpt[128], shares[3][128], more[5][128];
	char k13[TH_PATH + 32], k2[TH_PATH + 32], whole[TH_PATH + 32], k5[TH_PATH + 32];
	struct buf plain;
	buf_init(&plain, 1 << 20);
	bootstrap();
	invite_and_enroll("alice", "alice", "alpha", fa);
	cr_assert_eq(tipctl("admin", "admin", "approve", "--yes", "--passphrase-file", T.passfile,
	                    NULL), 0, "%s", buf_cstr(&err));
	login("alice");
	submit("MARKER-OLD", r1, a1); /* before the team had a recovery key */

	/* Officers' ceremony: a 2-of-3 split, the recipient given to the admin. */
	cr_assert_eq(tipctl("alice", "recovery", "keygen", "--threshold", "2", "--shares", "3", NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "\u2588") != NULL, "no QR code printed");
	const char *p = strstr(buf_cstr(&out), "\nage1");
	cr_assert_not_null(p);
	snprintf(rcpt, sizeof(rcpt), "%.*s", (int)strcspn(p + 1, "\n"), p + 1);
	cr_assert_eq(take_shares(shares, 3), 3);
	cr_assert(strstr(buf_cstr(&out), "AGE-SECRET-KEY-1") == NULL, "a split prints no whole key");
	long a0 = audit_size();
	cr_assert_eq(tipctl("admin", "admin", "recovery", "--team", "alpha", "--recipient", rcpt,
	                    "--yes", "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	assert_one_change(a0, "enroll_approve");

	/* New reports are sealed to it; older ones reach it with a member's sync. */
	submit("MARKER-NEW", r2, a2);
	a0 = audit_size();
	cr_assert_eq(tipctl("alice", "sync", "--team", "alpha", "--yes", "--passphrase-file",
	                    T.passfile, NULL), 0, "%s\n%s", buf_cstr(&out), buf_cstr(&err));
	assert_one_change(a0, "headers_add");

	/* Any 2 shares rebuild it; stock age opens old and new reports and files with it. */
	snprintf(k13, sizeof(k13), "%s/k13.txt", T.dir);
	cr_assert_eq(combine(k13, shares[0], shares[2], NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(age_open(rcpt, k13, r2, 0, &plain), 0);
	cr_assert(strstr(buf_cstr(&plain), "MARKER-NEW") != NULL);
	cr_assert_eq(age_open(rcpt, k13, r1, 0, &plain), 0);
	cr_assert(strstr(buf_cstr(&plain), "MARKER-OLD") != NULL);
	cr_assert_eq(age_open(rcpt, k13, a2, 1, &plain), 0);
	/* One share is refused: nothing written. */
	snprintf(k2, sizeof(k2), "%s/k2.txt", T.dir);
	cr_assert_eq(combine(k2, shares[1], NULL, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "2 are needed") != NULL, "%s", buf_cstr(&err));
	cr_assert_neq(access(k2, F_OK), 0);

	/* The whole key (as if kept on paper) opens it too, and a 3-of-5 re-split
	 * of it works with 3 shares and not with 2. */
	snprintf(whole, sizeof(whole), "%s/whole.txt", T.dir);
	cr_assert_eq(combine(whole, shares[1], shares[2], NULL), 0);
	cr_assert_eq(age_open(rcpt, whole, r2, 0, &plain), 0);
	cr_assert(strstr(buf_cstr(&plain), "MARKER-NEW") != NULL);
	cr_assert_eq(tipctl("alice", "recovery", "split", "--in", whole, "--threshold", "3",
	                    "--shares", "5", "--no-qr", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(take_shares(more, 5), 5);
	snprintf(k5, sizeof(k5), "%s/k5.txt", T.dir);
	cr_assert_eq(combine(k5, more[4], more[0], NULL), 1);
	cr_assert_neq(access(k5, F_OK), 0);
	cr_assert_eq(combine(k5, more[4], more[0], more[2]), 0, "%s", buf_cstr(&err));
	cr_assert_eq(age_open(rcpt, k5, r1, 0, &plain), 0);
	cr_assert(strstr(buf_cstr(&plain), "MARKER-OLD") != NULL);

	/* A reply is sealed to the recovery recipient too (tipd wants every member). */
	char reply[TH_PATH + 16];
	snprintf(reply, sizeof(reply), "%s/reply.txt", T.dir);
	FILE *f = fopen(reply, "w");
	fputs("REPLY-MARKER", f);
	fclose(f);
	cr_assert_eq(tipctl("alice", "tips", "reply", r2, "--file", reply, "--yes",
	                    "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	char sql[256];
	snprintf(sql, sizeof(sql), "select count(*) from object_headers h join replies x on "
	         "x.id = h.object_id where h.recipient = '%s'", rcpt);
	cr_assert_eq(th_count(&T, sql), 1);

	/* It never logs in: no signature verifies under its all-zero key. */
	uint8_t pk[32] = { 0 }, sk[64];
	char nonce[64], tls[65];
	struct buf body, resp;
	buf_init(&body, 4096);
	buf_init(&resp, 4096);
	randombytes_buf(sk, sizeof(sk));
	th_review_nonce(&T, nonce);
	th_tls_key_hex(&T, tls);
	th_login_body(sk, pk, TH_REVIEW_ORIGIN, tls, nonce, (long long)time(NULL), &body);
	cr_assert_eq(th_review(&T, "POST", "/api/v1/login", NULL, buf_cstr(&body), &resp), 401,
	             "%s", buf_cstr(&resp));
	buf_free(&body);
	buf_free(&resp);
	buf_free(&plain);
}

Test(keys_lifecycle, rotated_key_reads_old_and_new_reports_and_the_old_one_nothing_new)
{
	char fa[17], fb[17], r1[37], a1[37], r2[37], a2[37], req[TH_PATH + 64];
	char old_plain[TH_PATH + 32], old_rcpt[128], new_plain[TH_PATH + 32], new_rcpt[128];
	char old_file[TH_PATH + 64], sql[256];
	struct buf plain;
	buf_init(&plain, 1 << 20);
	bootstrap();
	invite_and_enroll("alice", "alice", "alpha", fa);
	invite_and_enroll("bob", "bob", "alpha", fb);
	cr_assert_eq(tipctl("admin", "admin", "approve", "--yes", "--passphrase-file", T.passfile,
	                    NULL), 0, "%s", buf_cstr(&err));
	login("alice");
	login("bob");
	submit("MARKER-BEFORE-ROTATION", r1, a1);
	snprintf(old_plain, sizeof(old_plain), "%s/bob-old.txt", T.dir);
	plain_identity("bob", old_plain, old_rcpt);

	/* 1. bob makes a new identity and a request both keys sign: nothing changes yet. */
	long a0 = audit_size();
	cr_assert_eq(tipctl("bob", "keys", "rotate", "--passphrase-file", T.passfile, NULL), 0,
	             "%s", buf_cstr(&err));
	const char *p = strstr(buf_cstr(&out), "your NEW fingerprint: ");
	cr_assert_not_null(p, "%s", buf_cstr(&out));
	char fnew[20];
	snprintf(fnew, sizeof(fnew), "%.19s", p + 22);
	assert_changes(a0, "");
	cr_assert_eq(show("bob", r1), 0, "bob keeps working with his current key");
	snprintf(req, sizeof(req), "%s/rotation-request.txt", home_of("bob"));

	/* 2. The admin checks it and signs the statements: one member_rotate entry. */
	a0 = audit_size();
	cr_assert_eq(tipctl("admin", "admin", "rotate", req, "--yes", "--passphrase-file", T.passfile,
	                    NULL), 0, "%s\n%s", buf_cstr(&out), buf_cstr(&err));
	assert_one_change(a0, "member_rotate");
	cr_assert_neq(tipctl("bob", "tips", "list", NULL), 0, "the old key's session must end");
	snprintf(old_file, sizeof(old_file), "%s/identity.age", home_of("bob"));
	cr_assert_eq(tipctl("bob", "login", "--identity", old_file, "--passphrase-file", T.passfile,
	                    NULL), 1, "the old key must not log in");
	submit("MARKER-AFTER-ROTATION", r2, a2);
	cr_assert_eq(age_open(old_rcpt, old_plain, r2, 0, &plain), -2, "sealed to the old key");

	/* 3. bob re-makes his headers and finishes: one headers_add per upload, one
	 * member_rotate_done. */
	a0 = audit_size();
	cr_assert_eq(tipctl("bob", "keys", "rotate", "--finish", "--passphrase-file", T.passfile,
	                    NULL), 0, "%s\n%s", buf_cstr(&out), buf_cstr(&err));
	cr_log_info("%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "re-made 2 headers") != NULL, "%s", buf_cstr(&out));
	assert_changes(a0, "headers_add member_rotate_done ");
	snprintf(new_plain, sizeof(new_plain), "%s/bob-new.txt", T.dir);
	plain_identity("bob", new_plain, new_rcpt);
	cr_assert_str_neq(old_rcpt, new_rcpt);

	/* The new identity reads old and new reports, with tipctl and with stock age. */
	cr_assert_eq(show("bob", r1), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "MARKER-BEFORE-ROTATION") != NULL);
	cr_assert_eq(show("bob", r2), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "MARKER-AFTER-ROTATION") != NULL);
	cr_assert_eq(age_open(new_rcpt, new_plain, r1, 0, &plain), 0);
	cr_assert_eq(age_open(new_rcpt, new_plain, a1, 1, &plain), 0);
	cr_assert_eq(age_open(new_rcpt, new_plain, a2, 1, &plain), 0);

	/* The old identity: no header left anywhere, opens nothing new, cannot log in. */
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where recipient = '%s'",
	         old_rcpt);
	cr_assert_eq(th_count(&T, sql), 0, "the old key's headers must be deleted");
	cr_assert_eq(th_count(&T, "select count(*) from key_rotations"), 0);
	cr_assert_eq(age_open(new_rcpt, old_plain, r2, 0, &plain), 1, "age must refuse");
	cr_assert(strstr(buf_cstr(&plain), "MARKER-AFTER-ROTATION") == NULL);
	snprintf(old_file, sizeof(old_file), "%s/identity-retired.age", home_of("bob"));
	cr_assert_eq(tipctl("bob", "login", "--identity", old_file, "--passphrase-file", T.passfile,
	                    NULL), 1, "the retired key must not log in");
	/* alice still reads both; a second finish finds nothing under way. */
	cr_assert_eq(show("alice", r2), 0);
	cr_assert_eq(tipctl("bob", "keys", "rotate", "--finish", "--passphrase-file", T.passfile,
	                    NULL), 1);
	buf_free(&plain);
}

/* Insert `n` reports of team alpha, each with a header for the X25519 key
 * `pk` (recipient `rcpt`) around its own file key, straight into PostgreSQL. */
static void
insert_reports(long n, const uint8_t pk[32], const char *rcpt)
{
	struct buf ids, hdrs, h;
	uint8_t pks[1][32];
	memcpy(pks[0], pk, 32);
	buf_init(&ids, (size_t)n * 40 + 16);
	buf_init(&hdrs, (size_t)n * 400 + 16);
	buf_init(&h, 4096);
	for (long i = 0; i < n; i++) {
		char id[UUID_STR_LEN];
		uint8_t fk[AGE_FILE_KEY_LEN];
		age_file_key_new(fk);
		util_uuid(id);
		buf_reset(&h);
		cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[32])pks, 1, &h), 0);
		char *b64 = it_b64(h.data, h.len);
		cr_assert(buf_printf(&ids, "%s%s", i ? "," : "{", id) == 0 &&
		          buf_printf(&hdrs, "%s%s", i ? "," : "{", b64) == 0);
		free(b64);
	}
	cr_assert(buf_adds(&ids, "}") == 0 && buf_adds(&hdrs, "}") == 0);
	PGconn *c = th_db(&T);
	const char *v[3] = { buf_cstr(&ids), buf_cstr(&hdrs), rcpt };
	PGresult *r = PQexecParams(c, "with r as (insert into reports (id, team_id, received_on, payload) "
	                              "select i, 'alpha', current_date, '\\x00' from unnest($1::uuid[]) "
	                              "as i returning id) insert into object_headers (object_id, recipient, "
	                              "header) select i.id, $3, decode(i.h, 'base64') from "
	                              "unnest($1::uuid[], $2::text[]) as i(id, h)",
	                           3, NULL, v, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	buf_free(&ids);
	buf_free(&hdrs);
	buf_free(&h);
}

/* The CPU-only rate of re-making a header (open with one key, wrap for another). */
static double
rewrap_cpu_rate(void)
{
	uint8_t pk[1][32], sk[1][32], pk2[1][32], sk2[32], fk[AGE_FILE_KEY_LEN];
	struct buf h, o2;
	struct timespec t0, t1;
	const int n = 3000;
	buf_init(&h, 4096);
	buf_init(&o2, 4096);
	cr_assert(age_keygen(pk[0], sk[0]) == 0 && age_keygen(pk2[0], sk2) == 0);
	age_file_key_new(fk);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[32])pk, 1, &h), 0);
	struct age_unwrap_opts uo = { .sks = (const uint8_t(*)[32])sk, .nsks = 1 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		size_t hl;
		buf_reset(&o2);
		cr_assert(age_header_unwrap(h.data, h.len, &uo, fk, &hl) == AGE_OK &&
		          age_header_x25519(fk, (const uint8_t(*)[32])pk2, 1, &o2) == 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	buf_free(&h);
	buf_free(&o2);
	return n / ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/* tests/bench/rotate runs this with TIPLINE_BENCH_ROTATE=N; skipped otherwise. */
Test(keys_lifecycle, bench_rotation_rate)
{
	const char *nv = getenv("TIPLINE_BENCH_ROTATE");
	uint64_t n = 0;
	if (nv == NULL || util_parse_u64(nv, 10000000, &n) != 0 || n == 0)
		cr_skip_test("set TIPLINE_BENCH_ROTATE=N (tests/bench/rotate)");
	char fb[17], req[TH_PATH + 64], path[TH_PATH + 64];
	struct identity *id = NULL;
	struct timespec t0, t1;
	bootstrap();
	invite_and_enroll("bob", "bob", "alpha", fb);
	cr_assert_eq(tipctl("admin", "admin", "approve", "--yes", "--passphrase-file", T.passfile,
	                    NULL), 0, "%s", buf_cstr(&err));
	login("bob");
	snprintf(path, sizeof(path), "%s/identity.age", home_of("bob"));
	cr_assert_eq(identity_load(path, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id), IDENTITY_OK);
	insert_reports((long)n, identity_x25519_pk(id), identity_recipient(id));
	identity_free(id);
	cr_assert_eq(tipctl("bob", "keys", "rotate", "--passphrase-file", T.passfile, NULL), 0);
	snprintf(req, sizeof(req), "%s/rotation-request.txt", home_of("bob"));
	cr_assert_eq(tipctl("admin", "admin", "rotate", req, "--yes", "--passphrase-file", T.passfile,
	                    NULL), 0, "%s", buf_cstr(&err));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(tipctl("bob", "keys", "rotate", "--finish", "--passphrase-file", T.passfile,
	                    NULL), 0, "%s", buf_cstr(&err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_log_info("%s", buf_cstr(&out));
	cr_log_info("rotation bench: %llu headers: CPU-only re-wrap %.0f headers/s on one core; "
	            "end to end (login, pages, uploads, finish) %.1f s = %.0f headers/s; "
	            "100,000 headers take about %.0f s",
	            (unsigned long long)n, rewrap_cpu_rate(), secs, (double)n / secs,
	            100000.0 * secs / (double)n);
	cr_assert(strstr(buf_cstr(&out), "re-made") != NULL);
}
