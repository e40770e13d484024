/*
 * Signed membership, loaded with `tipd membership add`: statements that are
 * tampered, replayed, out of sequence or signed by a key tipd does not pin are
 * refused and change nothing; a valid next statement is taken, and reports
 * are then sealed to every member of it.
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

TestSuite(membership, .init = setup, .fini = teardown, .timeout = 120);

static int
add(const char *path)
{
	char *argv[] = { T.tipd_bin, "-c", T.conf, "membership", "add", (char *)(uintptr_t)path,
		         NULL };
	return th_run(argv, NULL, 0, NULL);
}

static void
path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", T.dir, name);
}

/* Sign a statement for team demo with `key` after `prev` (NULL: first);
 * `trust` names the verifier key that signed `prev` when it is not `key`. */
static void
sign_trusting(const char *key, const char *trust, const char *prev, const char *members[],
              const char *out)
{
	char *argv[32];
	int n = 0;
	argv[n++] = T.tipctl_bin;
	argv[n++] = "admin";
	argv[n++] = "membership";
	argv[n++] = "--key";
	argv[n++] = (char *)(uintptr_t)key;
	argv[n++] = "--passphrase-file";
	argv[n++] = T.passfile;
	argv[n++] = "--team";
	argv[n++] = "demo";
	if (prev == NULL) {
		argv[n++] = "--first";
	} else {
		argv[n++] = "--prev";
		argv[n++] = (char *)(uintptr_t)prev;
	}
	for (int i = 0; members[i] != NULL; i++) {
		argv[n++] = "--member";
		argv[n++] = (char *)(uintptr_t)members[i];
	}
	if (trust != NULL) {
		argv[n++] = "--trust";
		argv[n++] = (char *)(uintptr_t)trust;
	}
	argv[n++] = "--out";
	argv[n++] = (char *)(uintptr_t)out;
	argv[n] = NULL;
	cr_assert_eq(th_run(argv, NULL, 0, NULL), 0, "tipctl admin membership failed");
}

static void
sign(const char *key, const char *prev, const char *members[], const char *out)
{
	sign_trusting(key, NULL, prev, members, out);
}

static long
statements(void)
{
	return th_count(&T, "select count(*) from membership_statements");
}

/* Make a second investigator; return their member line in `line`. */
static void
make_bob(char *line, size_t n, char *identity)
{
	struct buf out;
	buf_init(&out, 1 << 16);
	char *argv[] = { T.tipctl_bin, "init", "--identity", identity, "--name", "bob",
		         "--passphrase-file", T.passfile, NULL };
	cr_assert_eq(th_run(argv, NULL, 0, &out), 0);
	const char *p = strstr(buf_cstr(&out), "member:");
	cr_assert(p != NULL);
	p += strlen("member:");
	p += strspn(p, " ");
	snprintf(line, n, "%.*s", (int)strcspn(p, "\n"), p);
	buf_free(&out);
}

Test(membership, replayed_statement_is_refused)
{
	char first[TH_PATH];
	path_in(first, sizeof(first), "membership-1.txt");
	cr_assert_neq(add(first), 0);
	cr_assert_eq(statements(), 1);
}

Test(membership, tampered_statement_is_refused)
{
	char first[TH_PATH], bad[TH_PATH], second[TH_PATH], bobid[TH_PATH], bob[512];
	path_in(first, sizeof(first), "membership-1.txt");
	path_in(second, sizeof(second), "membership-2.txt");
	path_in(bad, sizeof(bad), "membership-2-tampered.txt");
	path_in(bobid, sizeof(bobid), "bob.age");
	make_bob(bob, sizeof(bob), bobid);
	const char *members[] = { T.member_line, bob, NULL };
	sign(T.admin_key, first, members, second);
	size_t len;
	char *text = util_read_file(second, 1 << 16, &len);
	char *p = strstr(text, "member bob");
	cr_assert(p != NULL);
	memcpy(p, "member eve", 10);
	FILE *f = fopen(bad, "w");
	fwrite(text, 1, len, f);
	fclose(f);
	free(text);
	cr_assert_neq(add(bad), 0);
	cr_assert_eq(statements(), 1);
	cr_assert_eq(add(second), 0, "the untampered statement must still be accepted");
	cr_assert_eq(statements(), 2);
}

Test(membership, statement_signed_by_unpinned_key_is_refused)
{
	char first[TH_PATH], rogue[TH_PATH], second[TH_PATH];
	path_in(first, sizeof(first), "membership-1.txt");
	path_in(rogue, sizeof(rogue), "rogue.key");
	path_in(second, sizeof(second), "membership-2-rogue.txt");
	char *kg[] = { T.tipctl_bin, "admin", "keygen", "--name", "rogue", "--out", rogue,
		       "--passphrase-file", T.passfile, NULL };
	cr_assert_eq(th_run(kg, NULL, 0, NULL), 0);
	const char *members[] = { T.member_line, NULL };
	sign_trusting(rogue, T.admin_pub, first, members, second);
	cr_assert_neq(add(second), 0);
	cr_assert_eq(statements(), 1);
}

Test(membership, out_of_sequence_statement_is_refused)
{
	char first[TH_PATH], second[TH_PATH], third[TH_PATH];
	path_in(first, sizeof(first), "membership-1.txt");
	path_in(second, sizeof(second), "membership-2.txt");
	path_in(third, sizeof(third), "membership-3.txt");
	const char *members[] = { T.member_line, NULL };
	sign(T.admin_key, first, members, second);
	sign(T.admin_key, second, members, third);
	cr_assert_neq(add(third), 0, "seq 3 accepted right after seq 1");
	cr_assert_eq(statements(), 1);
	cr_assert_eq(add(second), 0);
	cr_assert_eq(add(third), 0);
	cr_assert_eq(statements(), 3);
}

Test(membership, reports_are_sealed_to_every_member_of_the_latest_statement)
{
	char first[TH_PATH], second[TH_PATH], bobid[TH_PATH], bob[512], id[37];
	path_in(first, sizeof(first), "membership-1.txt");
	path_in(second, sizeof(second), "membership-2.txt");
	path_in(bobid, sizeof(bobid), "bob.age");
	make_bob(bob, sizeof(bob), bobid);
	const char *members[] = { T.member_line, bob, NULL };
	sign(T.admin_key, first, members, second);
	cr_assert_eq(add(second), 0);
	th_start(&T);
	struct buf resp;
	buf_init(&resp, 4096);
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":"
	                                  IT_ANSWERS "}", &resp), 201);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	it_only_report(&T, id);
	cr_assert_eq(th_count(&T, "select count(*) from object_headers"), 2,
	             "the report is not sealed to both members");
	/* The header of each member is a different recipient, and alice's opens. */
	cr_assert_eq(th_count(&T, "select count(distinct recipient) from object_headers"), 2);
	json_t *doc = it_open_report(&T, id);
	json_decref(doc);
	buf_free(&resp);
}

Test(membership, database_rolled_back_to_an_older_statement_is_refused)
{
	char first[TH_PATH], second[TH_PATH], bobid[TH_PATH], bob[512];
	path_in(first, sizeof(first), "membership-1.txt");
	path_in(second, sizeof(second), "membership-2.txt");
	path_in(bobid, sizeof(bobid), "bob.age");
	make_bob(bob, sizeof(bob), bobid);
	const char *members[] = { T.member_line, bob, NULL };
	sign(T.admin_key, first, members, second);
	cr_assert_eq(add(second), 0);
	th_start(&T); /* tipd sees and remembers statement 2 */
	cr_assert_eq(th_stop(&T, SIGTERM), 0);

	/* Someone with the database deletes the newest statement. */
	PGconn *c = th_db(&T);
	PQclear(PQexec(c, "delete from membership_statements where seq = 2"));
	PQfinish(c);
	cr_assert_eq(statements(), 1);
	th_start(&T);
	struct buf resp;
	buf_init(&resp, 4096);
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":"
	                                  IT_ANSWERS "}", &resp), 503,
	             "tipd sealed to a rolled-back membership");
	size_t len;
	char *log = util_read_file(T.log, 1 << 24, &len);
	cr_assert(log != NULL && strstr(log, "ends before the statement this server has already seen"),
	          "no clear log line about the rollback");
	free(log);
	buf_free(&resp);
}
