/*
 * tipctl against the real tipd: reports submitted through the source API,
 * then the real tipctl binary ($TIPCTL) logs in over pinned TLS, lists
 * (--json parsed), shows (the content equals what was sent), gets the
 * attachments (byte-equal), triages (the list shows the change) and logs
 * out — and fails clearly with a wrong pin, a wrong passphrase, an absent
 * or expired session and an unreachable server.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_common.h"
#include "util.h"

static struct th T;
static char pin[65], server[64], home[TH_PATH + 16];
static struct buf out, err;

static void
setup(void)
{
	th_setup(&T);
	th_start(&T);
	snprintf(home, sizeof(home), "%s/tipctl-home", T.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	th_tls_key_hex(&T, pin); /* SHA-256 of the certificate's SubjectPublicKeyInfo */
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

TestSuite(tipctl_review, .init = setup, .fini = teardown, .timeout = 240);

/* Run $TIPCTL with the NULL-terminated arguments; stdout in `out`, stderr in `err`. */
#define tipctl(...) it_tipctl(&T, NULL, NULL, &out, &err, __VA_ARGS__)

static int
login(const char *with_pin)
{
	return tipctl("login", "--server", server, "--pin", with_pin, "--origin", TH_REVIEW_ORIGIN,
	              "--identity", T.identity, "--passphrase-file", T.passfile, NULL);
}

static void
write_random_file(const char *path, size_t n, uint8_t *copy)
{
	randombytes_buf(copy, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert(util_write_all(fd, copy, n) == 0);
	close(fd);
}

enum { BIG = 2 * 65536 + 999, SMALL = 33 };
static uint8_t big[BIG], small[SMALL];

/* Submit one JSON report and one multipart report with two files; wait for both. */
static void
submit_two(void)
{
	char pbig[TH_PATH], psmall[TH_PATH], preport[TH_PATH], url[128], crt[TH_PATH];
	char fbig[TH_PATH + 8], fsmall[TH_PATH + 64], freport[TH_PATH + 32];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(it_post_json(&T, 0,
	                          "{\"team\":\"demo\",\"language\":\"fa\",\"answers\":" IT_ANSWERS "}",
	                          &resp),
	             201, "%s", buf_cstr(&resp));
	snprintf(pbig, sizeof(pbig), "%s/photo.jpg", T.dir);
	snprintf(psmall, sizeof(psmall), "%s/note.txt", T.dir);
	snprintf(preport, sizeof(preport), "%s/report.json", T.dir);
	write_random_file(pbig, BIG, big);
	write_random_file(psmall, SMALL, small);
	FILE *f = fopen(preport, "w");
	fprintf(f, "{\"team\":\"demo\",\"language\":\"ar\",\"answers\":%s}", IT_ANSWERS);
	fclose(f);
	snprintf(fbig, sizeof(fbig), "file=@%s", pbig);
	snprintf(fsmall, sizeof(fsmall), "file=@%s;filename=../../.etc/ملاحظة.txt", psmall);
	snprintf(freport, sizeof(freport), "report=<%s;type=application/json", preport);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/reports", T.source_tls_port);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	char *args[] = { "--cacert", crt, "-F", freport, "-F", fbig, "-F", fsmall, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	cr_assert_eq(th_wait_reports(&T, 2, 10000), 2, "the reports did not reach PostgreSQL");
	buf_free(&resp);
}

/* Run `tips list --json` and return the parsed array (caller decrefs). */
static json_t *
list_json(void)
{
	json_error_t e;
	cr_assert_eq(tipctl("tips", "list", "--json", NULL), 0, "%s", buf_cstr(&err));
	json_t *arr = json_loads(buf_cstr(&out), 0, &e);
	cr_assert(json_is_array(arr), "not a JSON array: %s", buf_cstr(&out));
	return arr;
}

/* The id of the report in `arr` with `n` attachments. */
static const char *
with_files(json_t *arr, int n)
{
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r) {
		if (json_integer_value(json_object_get(r, "attachments")) == n)
			return json_string_value(json_object_get(r, "id"));
	}
	cr_assert_fail("no report with %d attachments", n);
	return NULL;
}

/* Assert that file `path` holds exactly `want` (`n` bytes). */
static void
assert_file(const char *path, const uint8_t *want, size_t n)
{
	struct buf b;
	struct stat st;
	buf_init(&b, 1 << 22);
	cr_assert_eq(lstat(path, &st), 0, "%s was not written (stdout: %s)", path, buf_cstr(&out));
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600);
	it_slurp(path, &b);
	cr_assert_eq(b.len, n, "%s: %zu bytes, want %zu", path, b.len, n);
	cr_assert_eq(memcmp(b.data, want, n), 0, "%s differs", path);
	buf_free(&b);
}

Test(tipctl_review, login_list_show_get_set_logout)
{
	char rid[37], rid0[37], dirout[TH_PATH + 8], p[TH_PATH + 64], sess[TH_PATH + 32];
	struct stat st;
	submit_two();
	cr_assert_eq(login(pin), 0, "login: %s", buf_cstr(&err));
	snprintf(sess, sizeof(sess), "%s/session", home);
	cr_assert_eq(lstat(sess, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	json_t *arr = list_json();
	cr_assert_eq(json_array_size(arr), 2);
	snprintf(rid, sizeof(rid), "%s", with_files(arr, 2));
	snprintf(rid0, sizeof(rid0), "%s", with_files(arr, 0));
	json_decref(arr);
	cr_assert_eq(tipctl("tips", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strncmp(buf_cstr(&out), "ID", 2) == 0 && strstr(buf_cstr(&out), rid) != NULL,
	          "%s", buf_cstr(&out));

	/* show: the decrypted answers, labelled, equal what was sent. */
	cr_assert_eq(tipctl("tips", "show", rid0, "--identity", T.identity, "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	const char *o = buf_cstr(&out);
	cr_assert(strstr(o, "What happened?\n  They took our passports and we work without pay.\n") != NULL,
	          "%s", o);
	cr_assert(strstr(o, "  - Forced work or exploitation at work\n") != NULL, "%s", o);
	cr_assert(strstr(o, "Language  fa\n") != NULL, "%s", o);
	cr_assert_eq(tipctl("tips", "show", rid0, "--json", "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	json_error_t e;
	json_t *doc = json_loads(buf_cstr(&out), 0, &e);
	json_t *sent = json_loads(IT_ANSWERS, 0, &e);
	cr_assert(json_equal(json_object_get(doc, "answers"), sent), "answers differ: %s",
	          buf_cstr(&out));
	json_decref(doc);
	json_decref(sent);

	/* get: both files, byte-equal, with sanitized names. */
	snprintf(dirout, sizeof(dirout), "%s/got", T.dir);
	cr_assert_eq(mkdir(dirout, 0700), 0);
	cr_assert_eq(tipctl("tips", "get", rid, "--out", dirout, "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	snprintf(p, sizeof(p), "%s/photo.jpg", dirout);
	assert_file(p, big, BIG);
	snprintf(p, sizeof(p), "%s/ملاحظة.txt", dirout);
	assert_file(p, small, SMALL);
	/* Again: nothing is replaced, new names are chosen. */
	cr_assert_eq(tipctl("tips", "get", rid, "--out", dirout, "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	snprintf(p, sizeof(p), "%s/photo-1.jpg", dirout);
	assert_file(p, big, BIG);

	/* set, then the list shows it. */
	cr_assert_eq(tipctl("tips", "set", rid, "--status", "triaged", "--priority", "high", "--label",
	                    "medical", NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("tips", "list", "--status", "triaged", "--json", NULL), 0, "%s",
	             buf_cstr(&err));
	arr = json_loads(buf_cstr(&out), 0, &e);
	cr_assert_eq(json_array_size(arr), 1, "%s", buf_cstr(&out));
	json_t *r = json_array_get(arr, 0);
	cr_assert_str_eq(json_string_value(json_object_get(r, "id")), rid);
	cr_assert_str_eq(json_string_value(json_object_get(r, "priority")), "high");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "labels"), 0)), "medical");
	json_decref(arr);
	cr_assert_eq(tipctl("tips", "set", rid, "--label", "no-such-label", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "unknown label no-such-label (labels: ") != NULL &&
	                  strstr(buf_cstr(&err), "medical") != NULL,
	          "%s", buf_cstr(&err));

	/* An unknown report is "not found, or no access". */
	cr_assert_eq(tipctl("tips", "show", "00000000-0000-4000-8000-000000000000", "--identity",
	                    T.identity, "--passphrase-file", T.passfile, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "not found, or you have no access to it") != NULL, "%s",
	          buf_cstr(&err));

	/* logout ends the session on the server too. */
	struct buf tok;
	buf_init(&tok, 4096);
	it_slurp(sess, &tok);
	cr_assert_eq(tipctl("logout", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(access(sess, F_OK), -1);
	cr_assert_eq(tipctl("tips", "list", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "not logged in: run tipctl login") != NULL, "%s",
	          buf_cstr(&err));
	/* The old token no longer works: put the old file back. */
	int fd = open(sess, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, tok.data, tok.len), 0);
	close(fd);
	cr_assert_eq(tipctl("tips", "list", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "session expired: run tipctl login") != NULL, "%s",
	          buf_cstr(&err));
	buf_free(&tok);
}

Test(tipctl_review, failures_are_clear)
{
	char wrong[65], sess[TH_PATH + 32], badpass[TH_PATH + 16];
	snprintf(sess, sizeof(sess), "%s/session", home);
	/* No session yet. */
	cr_assert_eq(tipctl("tips", "list", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "not logged in: run tipctl login") != NULL, "%s",
	          buf_cstr(&err));
	/* Wrong pin. */
	snprintf(wrong, sizeof(wrong), "%s", pin);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	cr_assert_eq(login(wrong), 1);
	cr_assert(strstr(buf_cstr(&err), "the server's TLS key does not match the pinned one: do not "
	                                 "continue; ask your admin") != NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(access(sess, F_OK), -1);
	/* Wrong origin: the server's own answer does not match what we pinned. */
	cr_assert_eq(tipctl("login", "--server", server, "--pin", pin, "--origin", "https://other.test",
	                    "--identity", T.identity, "--passphrase-file", T.passfile, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "origin") != NULL, "%s", buf_cstr(&err));
	/* Wrong passphrase. */
	snprintf(badpass, sizeof(badpass), "%s/badpass", T.dir);
	FILE *f = fopen(badpass, "w");
	fputs("not the passphrase at all\n", f);
	fclose(f);
	cr_assert_eq(tipctl("login", "--server", server, "--pin", pin, "--origin", TH_REVIEW_ORIGIN,
	                    "--identity", T.identity, "--passphrase-file", badpass, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "wrong passphrase") != NULL, "%s", buf_cstr(&err));
	/* Usage. */
	cr_assert_eq(tipctl("login", "--server", server, NULL), 2);
	cr_assert_eq(tipctl("login", "--help", NULL), 0);
	/* A good login, then the server goes away. */
	cr_assert_eq(login(pin), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("tips", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "no reports") != NULL, "%s", buf_cstr(&out));
	th_stop(&T, SIGTERM);
	cr_assert_eq(tipctl("tips", "list", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "server unreachable") != NULL, "%s", buf_cstr(&err));
}
