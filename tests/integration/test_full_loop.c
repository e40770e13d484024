/*
 * The whole investigator loop through the real tipctl and tipd, with a real
 * PostgreSQL, over pinned TLS:
 *
 *  - the operator makes the first admin's invite with `tipd invite --admin`;
 *    the admin enrolls (`tipctl enroll --admin-key`) and logs in with nothing
 *    but what the invite pinned;
 *  - the admin invites alice and bob to team alpha and carol to team bravo;
 *    each enrolls with a fresh identity; the admin approves them after
 *    checking the fingerprints they print (no restart of tipd anywhere);
 *  - reports go to both teams; each investigator lists and decrypts only
 *    their team's (content equal, attachment byte-equal), triages, replies;
 *    the source reads the reply with the receipt and answers; alice reads it;
 *  - dave joins alpha: he cannot open the older report until alice runs
 *    `tipctl sync`, then he can;
 *  - bob is revoked: his session ends at once and he cannot log in again.
 *
 * Each person has their own TIPLINE_HOME; nobody passes --server, --pin or
 * --origin: everything comes from the invites.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

TestSuite(full_loop, .init = setup, .fini = teardown, .timeout = 300);

/* The TIPLINE_HOME of `who` (NULL: the operator), made if need be. Return it
 * in a static buffer, valid until the next call. */
static const char *
home_of(const char *who)
{
	static char home[TH_PATH + 32];
	snprintf(home, sizeof(home), "%s/home-%s", T.dir, who != NULL ? who : "operator");
	(void)mkdir(home, 0700);
	return home;
}

/* Run argv (NULL-terminated) as `who` (their TIPLINE_HOME, or NULL), without
 * a terminal; stdout in `out`, stderr in `err`. Return the exit status. */
#define run(who, argv) it_exec(&T, home_of(who), NULL, (argv), &out, &err)
/* Run tipctl as `who` with the NULL-terminated arguments. */
#define tipctl(who, ...) it_tipctl(&T, home_of(who), NULL, &out, &err, __VA_ARGS__)

/* The first line of `out` that starts with the invite prefix, copied into `inv`. */
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

/* The "your fingerprint: xxxx xxxx xxxx xxxx" that enroll printed. */
static void
take_fingerprint(char fp[20])
{
	const char *p = strstr(buf_cstr(&out), "your fingerprint: ");
	cr_assert_not_null(p, "enroll printed no fingerprint: %s", buf_cstr(&out));
	memcpy(fp, p + 18, 19);
	fp[19] = '\0';
}

/* Admin invites NAME to TEAM; NAME enrolls (a new identity); return the fingerprint. */
static void
invite_and_enroll(const char *name, const char *team, char fp[20])
{
	char inv[8192];
	cr_assert_eq(tipctl("admin", "admin", "invite", "--name", name, "--team", team, NULL), 0,
	             "admin invite: %s", buf_cstr(&err));
	take_invite(inv, sizeof(inv));
	cr_assert_eq(tipctl(name, "enroll", "--passphrase-file", T.passfile, inv, NULL), 0,
	             "%s enroll: %s", name, buf_cstr(&err));
	take_fingerprint(fp);
	cr_assert(strstr(buf_cstr(&out), "waiting for an admin's approval") != NULL, "%s",
	          buf_cstr(&out));
	/* the invite is single use */
	cr_assert_eq(tipctl(name, "enroll", "--passphrase-file", T.passfile, inv, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "already used") != NULL, "%s", buf_cstr(&err));
}

static void
login(const char *who)
{
	cr_assert_eq(tipctl(who, "login", "--passphrase-file", T.passfile, NULL), 0, "%s login: %s",
	             who, buf_cstr(&err));
}

/* `tips list --json` as `who`: the ids, space-separated, into `ids`. */
static void
list_ids(const char *who, char *ids, size_t cap)
{
	json_error_t e;
	size_t i;
	json_t *r;
	cr_assert_eq(tipctl(who, "tips", "list", "--json", NULL), 0, "%s", buf_cstr(&err));
	json_t *arr = json_loads(buf_cstr(&out), 0, &e);
	cr_assert(json_is_array(arr), "%s", buf_cstr(&out));
	ids[0] = '\0';
	json_array_foreach(arr, i, r) {
		size_t l = strlen(ids);
		snprintf(ids + l, cap - l, "%s ", json_string_value(json_object_get(r, "id")));
	}
	json_decref(arr);
}

/* Submit a multipart report with one file to `team`; return the receipt. */
static void
submit(const char *team, const char *answer_marker, const uint8_t *file, size_t n,
       char receipt[64])
{
	char pfile[TH_PATH + 16], preport[TH_PATH + 16], ff[TH_PATH + 64], fr[TH_PATH + 64];
	char url[128];
	struct buf resp;
	json_error_t e;
	buf_init(&resp, 1 << 16);
	snprintf(pfile, sizeof(pfile), "%s/%s.bin", T.dir, team);
	snprintf(preport, sizeof(preport), "%s/%s.json", T.dir, team);
	int fd = open(pfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0 && util_write_all(fd, file, n) == 0);
	close(fd);
	FILE *f = fopen(preport, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"team\":\"%s\",\"language\":\"es\",\"answers\":{\"what_happened\":\"%s\","
	           "\"exploitation\":[\"labour\"],\"where\":\"a farm\",\"when\":\"last week\","
	           "\"affected_person\":\"me\",\"safe_now\":\"no\"}}",
	        team, answer_marker);
	fclose(f);
	snprintf(ff, sizeof(ff), "file=@%s;filename=evidence.bin", pfile);
	snprintf(fr, sizeof(fr), "report=<%s;type=application/json", preport);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", T.source_port);
	char *args[] = { "-F", fr, "-F", ff, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
	snprintf(receipt, 64, "%s", json_string_value(json_object_get(doc, "receipt")));
	json_decref(doc);
	buf_free(&resp);
}

/* POST the receipt to the source's inbox (`sub` "" or "/messages" with text). */
static int
inbox(const char *sub, const char *receipt, const char *text, struct buf *resp)
{
	char url[128], body[512];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox%s", T.source_port, sub);
	if (text != NULL)
		snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"%s\"}", receipt, text);
	else
		snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	char *args[] = { "-H", "Content-Type: application/json", "--data-binary", body, url, NULL };
	buf_reset(resp); /* th_curl appends */
	return th_curl(&T, args, resp);
}

/* Assert file `path` holds exactly `want`. */
static void
assert_file(const char *path, const uint8_t *want, size_t n)
{
	struct buf b;
	buf_init(&b, 1 << 22);
	it_slurp(path, &b);
	cr_assert_eq(b.len, n, "%s: %zu bytes, sent %zu", path, b.len, n);
	cr_assert(memcmp(b.data, want, n) == 0, "%s differs from what was sent", path);
	buf_free(&b);
}

/* The operator's bootstrap: an admin invite, enrolled and logged in. */
static void
bootstrap_admin(void)
{
	char server[64], inv[8192];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	char *op[] = { T.tipd_bin, "-c", T.conf, "invite", "--admin", "--server", server, NULL };
	cr_assert_eq(run(NULL, op), 0, "tipd invite: %s", buf_cstr(&err));
	take_invite(inv, sizeof(inv));
	/* an admin invite needs the admin key */
	cr_assert_eq(tipctl("admin", "enroll", "--passphrase-file", T.passfile, inv, NULL), 2);
	cr_assert_eq(tipctl("admin", "enroll", "--admin-key", T.admin_key, "--passphrase-file",
	                    T.passfile, inv, NULL), 0, "admin enroll: %s", buf_cstr(&err));
	login("admin");
	cr_assert(strstr(buf_cstr(&out), "logged in") != NULL, "%s", buf_cstr(&out));
	/* an admin who is in no team sees no report */
	char ids[256];
	list_ids("admin", ids, sizeof(ids));
	cr_assert_str_eq(ids, "");
}

Test(full_loop, invite_enroll_read_reply_sync_revoke)
{
	char fa[20], fb[20], fc[20], fd[20], ids[4096], receipt_a[64], receipt_b[64];
	static uint8_t file_a[70001], file_b[999];
	randombytes_buf(file_a, sizeof(file_a));
	randombytes_buf(file_b, sizeof(file_b));

	bootstrap_admin();
	/* teams are made explicitly; an invite to an unknown team is refused */
	cr_assert_eq(tipctl("admin", "admin", "invite", "--name", "alice", "--team", "alpha", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "no such team alpha") != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "team", "create", "alpha", "--yes", "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "team", "create", "bravo", "--yes", "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	invite_and_enroll("alice", "alpha", fa);
	invite_and_enroll("bob", "alpha", fb);
	invite_and_enroll("carol", "bravo", fc);

	/* Before approval nobody can log in. */
	cr_assert_eq(tipctl("alice", "login", "--passphrase-file", T.passfile, NULL), 1);

	/* The admin approves; the fingerprints shown are the ones each enrollee printed. */
	cr_assert_eq(tipctl("admin", "admin", "approve", "--yes", "--passphrase-file", T.passfile,
	                    NULL), 0, "approve: %s\n%s", buf_cstr(&out), buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), fa) && strstr(buf_cstr(&out), fb) &&
	          strstr(buf_cstr(&out), fc), "approve showed other fingerprints: %s (want %s %s %s)",
	          buf_cstr(&out), fa, fb, fc);
	cr_assert_eq(th_count(&T, "select count(*) from enrollments where status = 'approved'"), 3);
	cr_assert_eq(th_count(&T, "select count(*) from membership_statements where team_id = 'alpha'"), 3);

	/* Reports to both teams, sealed to the new members without a restart. */
	submit("alpha", "MARKER-ALPHA", file_a, sizeof(file_a), receipt_a);
	submit("bravo", "MARKER-BRAVO", file_b, sizeof(file_b), receipt_b);
	cr_assert_eq(th_wait_reports(&T, 2, 10000), 2);

	const char *who[3] = { "alice", "bob", "carol" };
	for (int i = 0; i < 3; i++) {
		login(who[i]);
		list_ids(who[i], ids, sizeof(ids));
		cr_assert_eq(strlen(ids), 37, "%s sees %s", who[i], ids); /* exactly one report */
	}
	char alpha_id[37], bravo_id[37];
	list_ids("alice", ids, sizeof(ids));
	memcpy(alpha_id, ids, 36);
	alpha_id[36] = '\0';
	list_ids("carol", ids, sizeof(ids));
	memcpy(bravo_id, ids, 36);
	bravo_id[36] = '\0';
	cr_assert_str_neq(alpha_id, bravo_id);

	/* Each decrypts their own team's report; carol cannot open alpha's. */
	cr_assert_eq(tipctl("bob", "tips", "show", alpha_id, "--passphrase-file", T.passfile, NULL), 0,
	             "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "MARKER-ALPHA") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(tipctl("carol", "tips", "show", bravo_id, "--passphrase-file", T.passfile, NULL), 0);
	cr_assert(strstr(buf_cstr(&out), "MARKER-BRAVO") != NULL);
	cr_assert_neq(tipctl("carol", "tips", "show", alpha_id, "--passphrase-file", T.passfile, NULL), 0);
	cr_assert(strstr(buf_cstr(&out), "MARKER-ALPHA") == NULL);

	char dir_a[TH_PATH + 16], dir_c[TH_PATH + 16], path[TH_PATH + 64];
	snprintf(dir_a, sizeof(dir_a), "%s/alice-files", T.dir);
	snprintf(dir_c, sizeof(dir_c), "%s/carol-files", T.dir);
	cr_assert_eq(mkdir(dir_a, 0700), 0);
	cr_assert_eq(mkdir(dir_c, 0700), 0);
	cr_assert_eq(tipctl("alice", "tips", "get", alpha_id, "--out", dir_a, "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	snprintf(path, sizeof(path), "%s/evidence.bin", dir_a);
	assert_file(path, file_a, sizeof(file_a));
	cr_assert_eq(tipctl("carol", "tips", "get", bravo_id, "--out", dir_c, "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	snprintf(path, sizeof(path), "%s/evidence.bin", dir_c);
	assert_file(path, file_b, sizeof(file_b));

	/* Triage and reply; the source reads it and answers; alice reads the answer. */
	cr_assert_eq(tipctl("alice", "tips", "set", alpha_id, "--status", "investigating",
	                    "--priority", "urgent", NULL), 0, "%s", buf_cstr(&err));
	char reply[TH_PATH + 16];
	snprintf(reply, sizeof(reply), "%s/reply.txt", T.dir);
	FILE *f = fopen(reply, "w");
	fputs("REPLY-TO-SOURCE: are you safe now?", f);
	fclose(f);
	cr_assert_eq(tipctl("alice", "tips", "reply", alpha_id, "--file", reply, "--yes",
	                    "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(inbox("", receipt_a, NULL, &resp), 200, "%s", buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "REPLY-TO-SOURCE") != NULL, "%s", buf_cstr(&resp));
	cr_assert_eq(inbox("", receipt_b, NULL, &resp), 200);
	cr_assert(strstr(buf_cstr(&resp), "REPLY-TO-SOURCE") == NULL);
	cr_assert_eq(inbox("/messages", receipt_a, "SOURCE-ANSWER: yes, for now", &resp), 201,
	             "%s", buf_cstr(&resp));
	for (int i = 0; i < 100 && th_count(&T, "select count(*) from messages") < 1; i++)
		usleep(100000);
	cr_assert_eq(tipctl("alice", "tips", "show", alpha_id, "--passphrase-file", T.passfile, NULL), 0);
	cr_assert(strstr(buf_cstr(&out), "SOURCE-ANSWER") != NULL, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "investigating") != NULL, "%s", buf_cstr(&out));

	/* dave joins alpha: new reports are his at once, older ones after a sync. */
	invite_and_enroll("dave", "alpha", fd);
	cr_assert_eq(tipctl("admin", "admin", "approve", "dave", "--yes", "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), fd) != NULL);
	login("dave");
	cr_assert_neq(tipctl("dave", "tips", "show", alpha_id, "--passphrase-file", T.passfile, NULL), 0);
	cr_assert(strstr(buf_cstr(&out), "MARKER-ALPHA") == NULL);
	cr_assert_eq(tipctl("alice", "sync", "--team", "alpha", "--yes", "--passphrase-file",
	                    T.passfile, NULL), 0, "sync: %s\n%s", buf_cstr(&out), buf_cstr(&err));
	cr_assert_eq(tipctl("dave", "tips", "show", alpha_id, "--passphrase-file", T.passfile, NULL), 0,
	             "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "MARKER-ALPHA") != NULL);
	cr_assert(strstr(buf_cstr(&out), "SOURCE-ANSWER") != NULL, "%s", buf_cstr(&out));
	char dir_d[TH_PATH + 16];
	snprintf(dir_d, sizeof(dir_d), "%s/dave-files", T.dir);
	cr_assert_eq(mkdir(dir_d, 0700), 0);
	cr_assert_eq(tipctl("dave", "tips", "get", alpha_id, "--out", dir_d, "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	snprintf(path, sizeof(path), "%s/evidence.bin", dir_d);
	assert_file(path, file_a, sizeof(file_a));

	/* bob is revoked: his session ends now, he cannot log in, his headers are gone. */
	cr_assert_eq(tipctl("admin", "admin", "revoke", "bob", "--team", "alpha", "--yes",
	                    "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_neq(tipctl("bob", "tips", "list", NULL), 0);
	cr_assert(strstr(buf_cstr(&err), "no longer a member") != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("bob", "login", "--passphrase-file", T.passfile, NULL), 1);
	cr_assert_eq(tipctl("alice", "tips", "show", alpha_id, "--passphrase-file", T.passfile, NULL), 0);
	buf_free(&resp);
}
