/*
 * Tests for tipctl's review side: the login message bytes, the session file
 * (round trip, mode 0600, no symlinks, refusing unsafe files), context-line
 * and manifest checks, file name sanitizing, terminal-safe output, the
 * report table — and the commands themselves (login, tips list/show/get/set,
 * logout) run in-process against a fake review server over pinned TLS that
 * checks the login signature the way the contract says tipd does.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>

#include "api.h"
#include "cli.h"
#include "client.h"
#include "login_cmd.h"
#include "report.h"
#include "session.h"
#include "table.h"
#include "tips_cmd.h"
#include "tips_open.h"
#include "tips_reply.h"
#include "age.h"
#include "fake_tls.h"
#include "pad.h"
#include "util.h"

#define PASS "correct horse battery staple"
#define RID "11111111-2222-4333-8444-555555555555"
#define AID1 "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee1"
#define AID2 "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee2"
#define ORIGIN "tipline-review.example"
#define TOKEN "dG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4"

static char dir[64], home[128], passfile[160], idpath[160];

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/test_tipctl_review.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(home, sizeof(home), "%s/home", dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	cr_assert_eq(setenv("TIPLINE_SCRYPT_LOGN", "10", 1), 0);
	snprintf(passfile, sizeof(passfile), "%s/pass", dir);
	snprintf(idpath, sizeof(idpath), "%s/identity.age", home);
	FILE *f = fopen(passfile, "w");
	cr_assert_not_null(f);
	fputs(PASS "\n", f);
	fclose(f);
}

static void
teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(review, .init = setup, .fini = teardown, .timeout = 60);

/* ---- pure functions ---- */

Test(review, login_message_bytes)
{
	struct buf m;
	buf_init(&m, 4096);
	cr_assert_eq(login_cmd_message("tipline.example", "ab01", "bm9uY2U", 1700000000, &m), 0);
	static const char want[] = "tipline/v1/login\ntipline.example\nab01\nbm9uY2U\n1700000000\n";
	cr_assert_eq(m.len, strlen(want));
	cr_assert_eq(memcmp(m.data, want, m.len), 0);
	buf_reset(&m);
	cr_assert_eq(login_cmd_message("o", "k", "n", 0, &m), 0);
	cr_assert_str_eq(buf_cstr(&m), "tipline/v1/login\no\nk\nn\n0\n");
	/* A field that could smuggle another line into the signed layout is refused. */
	buf_reset(&m);
	cr_assert_eq(login_cmd_message("a\nb", "k", "n", 1, &m), -1);
	cr_assert_eq(login_cmd_message("a", "k\r", "n", 1, &m), -1);
	cr_assert_eq(login_cmd_message("a", "k", "n\n", 1, &m), -1);
	cr_assert_eq(login_cmd_message("", "k", "n", 1, &m), -1);
	cr_assert_eq(login_cmd_message("a", "k", "n", -1, &m), -1);
	cr_assert_eq(m.len, 0);
	buf_free(&m);
}

/* Fill `s` with a valid session. */
static void
good_session(struct session *s)
{
	snprintf(s->server, sizeof(s->server), "https://127.0.0.1:8443");
	memset(s->pin, 'a', 64);
	s->pin[64] = '\0';
	snprintf(s->origin, sizeof(s->origin), "review origin.example");
	snprintf(s->token, SESSION_TOKEN_MAX + 1, "%s", TOKEN);
	s->expires_at = 1900000000;
	snprintf(s->member, sizeof(s->member), "alice.b-c_d");
}

Test(review, session_round_trip_mode_0600)
{
	struct session *s = session_new(), *t = session_new();
	char path[256];
	struct stat st;
	good_session(s);
	snprintf(path, sizeof(path), "%s/session", home);
	umask(022);
	cr_assert_eq(session_save(s, path), SESSION_OK);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(session_load(t, path), SESSION_OK);
	cr_assert_str_eq(t->server, s->server);
	cr_assert_str_eq(t->pin, s->pin);
	cr_assert_str_eq(t->origin, s->origin);
	cr_assert_str_eq(t->token, s->token);
	cr_assert_eq(t->expires_at, s->expires_at);
	cr_assert_str_eq(t->member, s->member);
	/* Saving again replaces it (a new login). */
	s->expires_at = 5;
	cr_assert_eq(session_save(s, path), SESSION_OK);
	cr_assert_eq(session_load(t, path), SESSION_OK);
	cr_assert_eq(t->expires_at, 5);
	session_free(s);
	session_free(t);
}

Test(review, session_unsafe_files_are_refused)
{
	struct session *s = session_new(), *t = session_new();
	char path[256], link[256], other[256];
	good_session(s);
	snprintf(path, sizeof(path), "%s/session", home);
	snprintf(link, sizeof(link), "%s/session-link", home);
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	cr_assert_eq(session_load(t, path), SESSION_ERR_ABSENT);
	cr_assert_eq(session_save(s, path), SESSION_OK);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(session_load(t, path), SESSION_ERR_UNSAFE, "a world-readable session was used");
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_eq(session_load(t, link), SESSION_ERR_UNSAFE, "a symlinked session was followed");
	cr_assert_eq(mkdir(other, 0700), 0);
	cr_assert_eq(session_load(t, other), SESSION_ERR_UNSAFE, "a directory");
	/* Saving through a symlink replaces the link, never writes where it points. */
	char target[256], content[64];
	snprintf(target, sizeof(target), "%s/victim", dir);
	FILE *f = fopen(target, "w");
	fputs("precious\n", f);
	fclose(f);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(session_save(s, path), SESSION_OK);
	f = fopen(target, "r");
	cr_assert_not_null(fgets(content, sizeof(content), f));
	fclose(f);
	cr_assert_str_eq(content, "precious\n");
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	/* A planted session.new symlink is not followed either. */
	char planted[300];
	snprintf(planted, sizeof(planted), "%s.new", path);
	cr_assert_eq(symlink(target, planted), 0);
	cr_assert_eq(session_save(s, path), SESSION_OK);
	f = fopen(target, "r");
	cr_assert_not_null(fgets(content, sizeof(content), f));
	fclose(f);
	cr_assert_str_eq(content, "precious\n");
	session_free(s);
	session_free(t);
}

Test(review, session_parse_rejects_malformed)
{
	struct session *t = session_new();
	static const char good[] = "tipline-session v1\nserver https://h:1\npin "
	                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	                           "origin o\ntoken abc\nexpires_at 10\nmember m\n";
	cr_assert_eq(session_parse(t, good, strlen(good)), SESSION_OK);
	static const char *const bad[] = {
		"tipline-session v2\nserver https://h:1\n",
		"tipline-session v1\nserver https://h:1\npin aa\norigin o\ntoken abc\nexpires_at 10\nmember m\n",
		"tipline-session v1\nserver http://h:1\npin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"origin o\ntoken abc\nexpires_at 10\nmember m\n",
		"tipline-session v1\nserver https://h:1\npin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"origin o\ntoken a+c\nexpires_at 10\nmember m\n",
		"tipline-session v1\nserver https://h:1\npin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"origin o\ntoken abc\nexpires_at -1\nmember m\n",
		"tipline-session v1\nserver https://h:1\npin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"origin o\ntoken abc\nexpires_at 10\nmember m\nmember n\n",
		"tipline-session v1\nserver https://h:1\npin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"origin o\ntoken abc\nexpires_at 10\n",
		"tipline-session v1\nserver https://h:1\npin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"origin o\ntoken abc\nexpires_at 10\nmember m\nextra x\n",
		"tipline-session v1\nserver https://h:1\npin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"origin o\x1b\ntoken abc\nexpires_at 10\nmember m\n",
		"tipline-session v1\nserver https://h:1\npin aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"origin o\ntoken abc\nexpires_at 10\nmember m",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct session *u = session_new();
		cr_assert_eq(session_parse(u, bad[i], strlen(bad[i])), SESSION_ERR_FORMAT, "#%zu", i);
		session_free(u);
	}
	session_free(t);
}

/* Sanitize `in` and return the result (static storage). */
static const char *
san(const char *in)
{
	static char out[1024];
	struct buf b;
	buf_init(&b, 4096);
	cr_assert_eq(report_sanitize_name(in, &b), 0);
	cr_assert_not_null(buf_cstr(&b));
	snprintf(out, sizeof(out), "%s", buf_cstr(&b));
	buf_free(&b);
	return out;
}

Test(review, sanitize_hostile_names)
{
	cr_assert_str_eq(san("photo.jpg"), "photo.jpg");
	cr_assert_str_eq(san("../../etc/passwd"), "passwd");
	cr_assert_str_eq(san("..\\..\\Windows\\win.ini"), "win.ini");
	cr_assert_str_eq(san("/etc/"), "attachment");
	cr_assert_str_eq(san(".bashrc"), "bashrc");
	cr_assert_str_eq(san("..."), "attachment");
	cr_assert_str_eq(san(".."), "attachment");
	cr_assert_str_eq(san(""), "attachment");
	cr_assert_str_eq(san("-rf"), "rf");
	cr_assert_str_eq(san(" . -x"), "x");
	cr_assert_str_eq(san("name. . "), "name");
	cr_assert_str_eq(san("a\x1b[31mred\x07.txt"), "a[31mred.txt");
	cr_assert_str_eq(san("tab\tnew\nline\r.txt"), "tabnewline.txt");
	/* Right-to-left override: "invoice\u202Egpj.exe" would display as invoiceexe.jpg */
	cr_assert_str_eq(san("invoice\xe2\x80\xaegpj.exe"), "invoicegpj.exe");
	cr_assert_str_eq(san("a\xe2\x81\xa6" "b\xe2\x81\xa9.txt"), "ab.txt");     /* isolates */
	cr_assert_str_eq(san("zero\xe2\x80\x8bwidth\xef\xbb\xbf.txt"), "zerowidth.txt");
	cr_assert_str_eq(san("c1\xc2\x9b" "31m.txt"), "c131m.txt");               /* C1 CSI */
	cr_assert_str_eq(san("bad\xff\xfeutf8.txt"), "bad__utf8.txt");
	cr_assert_str_eq(san("over\xc0\xaflong"), "over__long");                /* overlong '/' */
	cr_assert_str_eq(san("sur\xed\xa0\x80rogate"), "sur___rogate");
	cr_assert_str_eq(san("ملاحظة.txt"), "ملاحظة.txt");
	cr_assert_str_eq(san("../../etc/ملاحظة.txt"), "ملاحظة.txt");
	cr_assert_str_eq(san("日本語 ファイル.pdf"), "日本語 ファイル.pdf");
	/* Long names are cut at a character boundary and keep their extension. */
	char lng[1200];
	size_t k = 0;
	for (int i = 0; i < 300; i++) {
		memcpy(lng + k, "\xd9\x85", 2); /* Arabic meem, 2 bytes */
		k += 2;
	}
	memcpy(lng + k, ".jpeg", 6);
	const char *s = san(lng);
	cr_assert_leq(strlen(s), REPORT_NAME_MAX);
	cr_assert_geq(strlen(s), REPORT_NAME_MAX - 1);
	cr_assert_str_eq(s + strlen(s) - 5, ".jpeg");
	struct buf chk;
	buf_init(&chk, 4096);
	cr_assert_eq(report_term_safe(s, strlen(s), 0, &chk), 0);
	cr_assert(strstr(buf_cstr(&chk), "\xef\xbf\xbd") == NULL, "cut inside a character");
	buf_free(&chk);
	memset(lng, 'x', 1000);
	lng[1000] = '\0';
	cr_assert_eq(strlen(san(lng)), REPORT_NAME_MAX);
	/* Nothing a sanitized name contains can leave the directory or hide. */
	static const char *const nasty[] = { "/", "\\", "..", ".", "./.", "a/../../b", "\x01\x02",
		                             "\xe2\x80\xae", "~/x", "x/", "C:\\x" };
	for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
		s = san(nasty[i]);
		cr_assert(s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL &&
		          strchr(s, '\\') == NULL, "'%s' -> '%s'", nasty[i], s);
	}
}

Test(review, write_unique_never_replaces_and_never_follows)
{
	struct buf chosen;
	char path[300], target[300];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	cr_assert(dfd >= 0);
	buf_init(&chosen, 4096);
	cr_assert_eq(report_write_unique(dfd, "f.txt", (const uint8_t *)"one", 3, &chosen), 0);
	cr_assert_str_eq(buf_cstr(&chosen), "f.txt");
	cr_assert_eq(report_write_unique(dfd, "f.txt", (const uint8_t *)"two", 3, &chosen), 0);
	cr_assert_str_eq(buf_cstr(&chosen), "f-1.txt");
	/* A symlink planted under the next candidate name is skipped, not followed. */
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(path, sizeof(path), "%s/f-2.txt", dir);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(report_write_unique(dfd, "f.txt", (const uint8_t *)"three", 5, &chosen), 0);
	cr_assert_str_eq(buf_cstr(&chosen), "f-3.txt");
	cr_assert_eq(access(target, F_OK), -1, "the symlink's target was created");
	cr_assert_eq(report_write_unique(dfd, "noext", (const uint8_t *)"", 0, &chosen), 0);
	cr_assert_eq(report_write_unique(dfd, "noext", (const uint8_t *)"", 0, &chosen), 0);
	cr_assert_str_eq(buf_cstr(&chosen), "noext-1");
	struct stat st;
	snprintf(path, sizeof(path), "%s/f.txt", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 3);
	close(dfd);
	buf_free(&chosen);
}

Test(review, context_line_checks)
{
	size_t skip;
	const char *pt = "tipline/v1 report " RID " " RID "\n{}";
	cr_assert_eq(report_check_context((const uint8_t *)pt, strlen(pt), "report", RID, RID, &skip),
	             REPORT_OK);
	cr_assert_eq(skip, strlen(pt) - 2);
	/* Another kind, another object, another report, a truncated line. */
	cr_assert_eq(report_check_context((const uint8_t *)pt, strlen(pt), "reply", RID, RID, &skip),
	             REPORT_ERR_CONTEXT);
	cr_assert_eq(report_check_context((const uint8_t *)pt, strlen(pt), "report", AID1, RID, &skip),
	             REPORT_ERR_CONTEXT);
	cr_assert_eq(report_check_context((const uint8_t *)pt, strlen(pt), "report", RID, AID1, &skip),
	             REPORT_ERR_CONTEXT);
	cr_assert_eq(report_check_context((const uint8_t *)pt, 30, "report", RID, RID, &skip),
	             REPORT_ERR_CONTEXT);
	const char *nonl = "tipline/v1 report " RID " " RID "{}";
	cr_assert_eq(report_check_context((const uint8_t *)nonl, strlen(nonl), "report", RID, RID,
	                                  &skip),
	             REPORT_ERR_CONTEXT);
	json_t *doc = NULL;
	const char *padded = "tipline/v1 report " RID " " RID "\n{\"a\":1}      ";
	cr_assert_eq(report_open((const uint8_t *)padded, strlen(padded), RID, &doc), REPORT_OK);
	cr_assert_eq(json_integer_value(json_object_get(doc, "a")), 1);
	json_decref(doc);
	const char *dup = "tipline/v1 report " RID " " RID "\n{\"a\":1,\"a\":2}";
	cr_assert_eq(report_open((const uint8_t *)dup, strlen(dup), RID, &doc), REPORT_ERR_FORMAT);
	const char *trail = "tipline/v1 report " RID " " RID "\n{\"a\":1} x";
	cr_assert_eq(report_open((const uint8_t *)trail, strlen(trail), RID, &doc), REPORT_ERR_FORMAT);
	const char *moved = "tipline/v1 report " AID1 " " AID1 "\n{}";
	cr_assert_eq(report_open((const uint8_t *)moved, strlen(moved), RID, &doc), REPORT_ERR_CONTEXT);
}

/* Build an attachment plaintext: context line, `data`, `pad` bytes of `padbyte`. */
static size_t
att_plain(uint8_t *out, const char *aid, const char *data, size_t pad, uint8_t padbyte)
{
	int n = snprintf((char *)out, 200, "tipline/v1 attachment %s %s\n", aid, RID);
	memcpy(out + n, data, strlen(data));
	memset(out + n + strlen(data), padbyte, pad);
	return (size_t)n + strlen(data) + pad;
}

Test(review, manifest_size_and_hash_checks)
{
	char text[2048];
	uint8_t digest[32], pt[512];
	char hex[65];
	json_t *doc = NULL;
	struct report_att a;
	size_t off, n;
	crypto_hash_sha256(digest, (const uint8_t *)"hello", 5);
	util_hex(digest, 32, hex);
	snprintf(text, sizeof(text),
	         "tipline/v1 report %s %s\n{\"attachments\":[{\"uuid\":\"%s\",\"name\":\"h.txt\","
	         "\"content_type\":\"text/plain\",\"size\":5,\"padded_size\":8,\"sha256\":\"%s\"},"
	         "{\"uuid\":\"nope\",\"name\":\"x\",\"size\":1,\"sha256\":\"%s\"},"
	         "{\"uuid\":\"%s\",\"name\":\"x\",\"size\":-1,\"sha256\":\"%s\"},"
	         "{\"uuid\":\"%s\",\"name\":\"x\",\"size\":1,\"sha256\":\"zz\"},"
	         "{\"uuid\":\"%s\",\"name\":7,\"size\":1,\"sha256\":\"%s\"}]}",
	         RID, RID, AID1, hex, hex, AID2, hex, AID2, AID2, hex);
	cr_assert_eq(report_open((const uint8_t *)text, strlen(text), RID, &doc), REPORT_OK);
	cr_assert_eq(report_manifest_count(doc), 5);
	cr_assert_eq(report_manifest_get(doc, 0, &a), REPORT_OK);
	cr_assert_str_eq(a.id, AID1);
	cr_assert_str_eq(a.name, "h.txt");
	cr_assert_eq(a.size, 5);
	for (size_t i = 1; i < 6; i++) {
		struct report_att b;
		cr_assert_eq(report_manifest_get(doc, i, &b), REPORT_ERR_FORMAT, "entry %zu", i);
	}
	n = att_plain(pt, AID1, "hello", 3, 0);
	cr_assert_eq(report_attachment_check(pt, n, &a, RID, &off), REPORT_OK);
	cr_assert_eq(memcmp(pt + off, "hello", 5), 0);
	n = att_plain(pt, AID1, "hello", 0, 0);
	cr_assert_eq(report_attachment_check(pt, n, &a, RID, &off), REPORT_OK, "no padding is fine");
	n = att_plain(pt, AID1, "hell", 0, 0);
	cr_assert_eq(report_attachment_check(pt, n, &a, RID, &off), REPORT_ERR_SIZE);
	n = att_plain(pt, AID1, "hello", 3, 'x');
	cr_assert_eq(report_attachment_check(pt, n, &a, RID, &off), REPORT_ERR_PADDING);
	n = att_plain(pt, AID1, "hellO", 3, 0);
	cr_assert_eq(report_attachment_check(pt, n, &a, RID, &off), REPORT_ERR_HASH);
	n = att_plain(pt, AID2, "hello", 3, 0);
	cr_assert_eq(report_attachment_check(pt, n, &a, RID, &off), REPORT_ERR_CONTEXT);
	/* An attachment moved from another report. */
	int l = snprintf((char *)pt, 200, "tipline/v1 attachment %s %s\nhello", AID1, AID2);
	cr_assert_eq(report_attachment_check(pt, (size_t)l, &a, RID, &off), REPORT_ERR_CONTEXT);
	json_decref(doc);
}

Test(review, terminal_safe_text)
{
	struct buf b;
	buf_init(&b, 4096);
	const char in[] = "ok \x1b]0;title\x07 line\nnext\ttab \xe2\x80\xae rtl \xc2\x9b bad\xff ملاحظة";
	cr_assert_eq(report_term_safe(in, strlen(in), 1, &b), 0);
	const char *s = buf_cstr(&b);
	cr_assert(strchr(s, 0x1b) == NULL && strchr(s, 0x07) == NULL);
	cr_assert(strstr(s, "\xe2\x80\xae") == NULL && strstr(s, "\xc2\x9b") == NULL);
	cr_assert(strstr(s, "line\nnext\ttab") != NULL);
	cr_assert(strstr(s, "ملاحظة") != NULL);
	buf_reset(&b);
	cr_assert_eq(report_term_safe("a\nb\tc\r", 6, 0, &b), 0);
	cr_assert_str_eq(buf_cstr(&b), "a b c\xef\xbf\xbd");
	buf_free(&b);
}

Test(review, table_formatting)
{
	json_error_t e;
	json_t *arr = json_loads(
		"[{\"id\":\"" RID "\",\"team\":\"demo\",\"received_on\":\"2024-05-01\","
		"\"status\":\"new\",\"priority\":\"urgent\",\"assignee\":null,\"labels\":[],"
		"\"attachments\":2},"
		"{\"id\":\"" AID1 "\",\"team\":\"labour-team\",\"received_on\":\"2024-04-30\","
		"\"status\":\"investigating\",\"priority\":\"low\",\"assignee\":\"bob\\u001b[2J\","
		"\"labels\":[\"medical\",\"minor\"],\"attachments\":0},"
		"{\"id\":\"" AID2 "\",\"team\":\"demo\",\"received_on\":\"2024-04-29\","
		"\"status\":\"closed\",\"priority\":\"normal\",\"assignee\":"
		"\"an-extremely-long-member-name-that-goes-on-and-on\",\"labels\":\"oops\"}]",
		0, &e);
	cr_assert_not_null(arr, "%s", e.text);
	struct buf out;
	buf_init(&out, 1 << 20);
	cr_assert_eq(table_reports(arr, &out), 0);
	const char *t = buf_cstr(&out);
	char lines[4][512];
	int nl = 0;
	for (const char *p = t; *p && nl < 4; nl++) {
		size_t l = strcspn(p, "\n");
		cr_assert_lt(l, sizeof(lines[0]));
		memcpy(lines[nl], p, l);
		lines[nl][l] = '\0';
		p += l + (p[l] == '\n');
	}
	cr_assert_eq(nl, 4, "%s", t);
	cr_assert(strncmp(lines[0], "ID", 2) == 0);
	/* Columns line up: each title starts where its values start. */
	const char *titles[] = { "RECEIVED", "TEAM", "STATUS", "PRIORITY", "ASSIGNEE", "FILES", "LABELS" };
	const char *row1[] = { "2024-05-01", "demo", "new", "urgent", "-", "2", "-" };
	for (int i = 0; i < 7; i++) {
		size_t col = (size_t)(strstr(lines[0], titles[i]) - lines[0]);
		cr_assert_eq(strncmp(lines[1] + col, row1[i], strlen(row1[i])), 0, "column %s: '%s'",
		             titles[i], lines[1] + col);
	}
	cr_assert(strstr(lines[1], RID) == lines[1], "the full id comes first");
	cr_assert(strstr(lines[2], "medical,minor") != NULL);
	cr_assert(strchr(t, 0x1b) == NULL, "an escape sequence reached the table");
	cr_assert(strstr(lines[3], "an-extremely-long-member-name-t\xe2\x80\xa6  ") != NULL, "%s",
	          lines[3]);
	cr_assert(strstr(lines[3], "  ?") != NULL, "a mistyped field shows as ?");
	buf_free(&out);
	json_decref(arr);
}

Test(review, query_encoding_and_validators)
{
	struct buf q;
	buf_init(&q, 1024);
	cr_assert_eq(buf_adds(&q, "/api/v1/reports"), 0);
	cr_assert_eq(api_query_add(&q, "label", "a b&c=d/é"), 0);
	cr_assert_eq(api_query_add(&q, "team", "demo-1_x.~"), 0);
	cr_assert_str_eq(buf_cstr(&q), "/api/v1/reports?label=a%20b%26c%3Dd%2F%C3%A9&team=demo-1_x.~");
	buf_free(&q);
	cr_assert(tips_cmd_status_ok("investigating") && !tips_cmd_status_ok("open") &&
	          !tips_cmd_status_ok(""));
	cr_assert(tips_cmd_priority_ok("urgent") && !tips_cmd_priority_ok("Urgent"));
	cr_assert(tips_cmd_date_ok("2024-02-29"));
	static const char *const bad[] = { "2024-13-01", "2024-00-10", "2024-01-32", "24-01-01",
		                           "2024/01/01", "2024-1-01", "2024-01-01x", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!tips_cmd_date_ok(bad[i]), "%s", bad[i]);
}

/* ---- the commands, in-process, against a fake review server ---- */

struct world {
	struct fake f;
	struct identity *id;
	char origin_served[128]; /* what the nonce answer claims */
	char tls_served[65];
	char nonce[64];
	int login_status;        /* forced status for POST /login, 0 = verify */
	int verified;            /* the last login signature verified */
	long long signed_time;
	char report_b64_header[8192];
	struct buf report_payload_b64;
	struct buf att[2];       /* complete age files */
	char patch_body[4096];
	char queries[4][1024];
	int nqueries;
	int logged_out;
};

static struct world W;

/* Answer with the problem `status`. */
static int
problem(struct buf *resp, int status)
{
	fake_reply(resp, status, "application/problem+json", "{\"title\":\"x\",\"detail\":\"nope\"}");
	return 0;
}

static int
h_login(const struct fake_req *r, struct buf *resp)
{
	json_error_t e;
	json_t *b = json_loadb((const char *)r->body, r->body_len, 0, &e);
	uint8_t pk[32], sig[64];
	size_t l1 = 0, l2 = 0;
	const char *pk64 = json_string_value(json_object_get(b, "ed25519"));
	const char *s64 = json_string_value(json_object_get(b, "signature"));
	const char *nonce = json_string_value(json_object_get(b, "nonce"));
	W.verified = 0;
	if (pk64 != NULL && s64 != NULL && nonce != NULL &&
	    sodium_base642bin(pk, 32, pk64, strlen(pk64), NULL, &l1, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    sodium_base642bin(sig, 64, s64, strlen(s64), NULL, &l2, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    l1 == 32 && l2 == 64 && strcmp(nonce, W.nonce) == 0 &&
	    memcmp(pk, identity_ed25519_pk(W.id), 32) == 0) {
		/* Rebuilt with the server's OWN origin and key hash, as tipd does. */
		char msg[512];
		W.signed_time = json_integer_value(json_object_get(b, "time"));
		int n = snprintf(msg, sizeof(msg), "tipline/v1/login\n%s\n%s\n%s\n%lld\n", ORIGIN,
		                 W.f.pin_hex, W.nonce, W.signed_time);
		W.verified = crypto_sign_verify_detached(sig, (const uint8_t *)msg, (size_t)n, pk) == 0;
	}
	json_decref(b);
	if (W.login_status != 0)
		return problem(resp, W.login_status);
	if (!W.verified)
		return problem(resp, 401);
	char body[512];
	snprintf(body, sizeof(body),
	         "{\"token\":\"%s\",\"expires_at\":%lld,\"idle_timeout\":1800,\"member\":\"alice\","
	         "\"teams\":[\"demo\",\"x\\u001b\"]}",
	         TOKEN, (long long)time(NULL) + 3600);
	fake_reply(resp, 200, "application/json", body);
	return 0;
}

/* A report summary JSON for `id`. */
static void
summary(char *out, size_t n, const char *id, const char *status, const char *assignee)
{
	snprintf(out, n,
	         "{\"id\":\"%s\",\"team\":\"demo\",\"received_on\":\"2024-05-01\",\"status\":\"%s\","
	         "\"priority\":\"normal\",\"assignee\":%s,\"labels\":[\"medical\"],\"attachments\":2}",
	         id, status, assignee);
}

static int
h_reports(const struct fake_req *r, struct buf *resp)
{
	char a[512], b[512], body[2048];
	if (W.nqueries < 4)
		snprintf(W.queries[W.nqueries++], sizeof(W.queries[0]), "%s", r->path);
	if (strstr(r->path, "cursor=") == NULL) {
		summary(a, sizeof(a), RID, "new", "null");
		summary(b, sizeof(b), AID1, "triaged", "\"bob\"");
		snprintf(body, sizeof(body), "{\"reports\":[%s,%s],\"next_cursor\":\"MjAyNC0wNS0wMQ==\"}", a,
		         b);
	} else {
		cr_assert(strstr(r->path, "cursor=MjAyNC0wNS0wMQ%3D%3D") != NULL, "%s", r->path);
		summary(a, sizeof(a), AID2, "closed", "null");
		snprintf(body, sizeof(body), "{\"reports\":[%s],\"next_cursor\":null}", a);
	}
	fake_reply(resp, 200, "application/json", body);
	return 0;
}

static int
h_report(const struct fake_req *r, struct buf *resp)
{
	const char *p = r->path + strlen("/api/v1/reports/");
	if (strncmp(p, RID, 36) != 0)
		return problem(resp, 404);
	p += 36;
	if (*p == '\0' && strcmp(r->method, "GET") == 0) {
		cr_assert_eq(buf_printf(resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		                              "Content-Length: %zu\r\n\r\n",
		                        strlen(W.report_b64_header) + W.report_payload_b64.len + 400),
		             0);
		size_t start = resp->len;
		cr_assert_eq(buf_printf(resp, "{\"id\":\"%s\",\"team\":\"demo\",\"received_on\":\"2024-05-01\","
		                              "\"status\":\"new\",\"priority\":\"high\",\"assignee\":null,"
		                              "\"labels\":[],\"header\":\"%s\",\"payload\":\"%s\","
		                              "\"attachments\":[]}",
		                        RID, W.report_b64_header, buf_cstr(&W.report_payload_b64)),
		             0);
		size_t used = resp->len - start;
		cr_assert_leq(used, strlen(W.report_b64_header) + W.report_payload_b64.len + 400);
		cr_assert_eq(buf_fill(resp, ' ', strlen(W.report_b64_header) + W.report_payload_b64.len +
		                                     400 - used),
		             0);
		return 0;
	}
	if (*p == '\0' && strcmp(r->method, "PATCH") == 0) {
		char body[512];
		snprintf(W.patch_body, sizeof(W.patch_body), "%.*s", (int)r->body_len, r->body);
		summary(body, sizeof(body), RID, "investigating", "\"alice\"");
		fake_reply(resp, 200, "application/json", body);
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		char want[80];
		snprintf(want, sizeof(want), "/attachments/%s", i == 0 ? AID1 : AID2);
		if (strcmp(p, want) == 0) {
			cr_assert_eq(buf_printf(resp, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
			                              "\r\nContent-Length: %zu\r\n\r\n",
			                        W.att[i].len),
			             0);
			cr_assert_eq(buf_add(resp, W.att[i].data, W.att[i].len), 0);
			return 0;
		}
	}
	return problem(resp, 404);
}

static int
h_review(struct fake *f, const struct fake_req *r, struct buf *resp)
{
	(void)f;
	char body[512];
	if (strcmp(r->path, "/api/v1/login/nonce") == 0) {
		snprintf(body, sizeof(body), "{\"nonce\":\"%s\",\"origin\":\"%s\",\"tls_key_sha256\":\"%s\"}",
		         W.nonce, W.origin_served, W.tls_served);
		fake_reply(resp, 200, "application/json", body);
		return 0;
	}
	if (strcmp(r->path, "/api/v1/login") == 0)
		return h_login(r, resp);
	if (strcmp(r->auth, "Bearer " TOKEN) != 0)
		return problem(resp, 401);
	if (strcmp(r->path, "/api/v1/logout") == 0) {
		W.logged_out = 1;
		cr_assert_eq(buf_adds(resp, "HTTP/1.1 204 No Content\r\n\r\n"), 0);
		return 0;
	}
	if (strcmp(r->path, "/api/v1/questionnaire") == 0) {
		char path[512];
		size_t n = 0;
		snprintf(path, sizeof(path), "%s/server/web/questionnaire.json",
		         getenv("TIPLINE_SOURCE_DIR"));
		char *q = util_read_file(path, 1 << 20, &n);
		cr_assert_not_null(q, "set TIPLINE_SOURCE_DIR");
		fake_reply(resp, 200, "application/json", q);
		free(q);
		return 0;
	}
	if (strcmp(r->path, "/api/v1/labels") == 0) {
		fake_reply(resp, 200, "application/json", "{\"labels\":[\"medical\",\"minor\"]}");
		return 0;
	}
	if (strncmp(r->path, "/api/v1/reports?", 16) == 0)
		return h_reports(r, resp);
	if (strncmp(r->path, "/api/v1/reports/", 16) == 0)
		return h_report(r, resp);
	return problem(resp, 404);
}

/* Seal `pt` (`n` bytes) to the identity's recipient as one age file in `out`. */
static void
seal(const uint8_t *pt, size_t n, struct buf *out)
{
	uint8_t pk[1][32];
	memcpy(pk[0], identity_x25519_pk(W.id), 32);
	cr_assert_eq(age_encrypt(pt, n, (const uint8_t (*)[32])pk, 1, out), 0);
}

static const uint8_t FILE1[] = "first file\0with a NUL and \xff bytes";
#define FILE2_LEN 70000

/* Build the report and its two attachments; `tamper` selects one broken thing. */
static void
make_report(int tamper)
{
	static uint8_t file2[FILE2_LEN];
	uint8_t d1[32], d2[32];
	char h1[65], h2[65];
	struct buf pt, age;
	size_t hlen;
	int a, b, c;
	for (size_t i = 0; i < FILE2_LEN; i++)
		file2[i] = (uint8_t)(i * 7 + 3);
	crypto_hash_sha256(d1, FILE1, sizeof(FILE1));
	crypto_hash_sha256(d2, file2, FILE2_LEN);
	util_hex(d1, 32, h1);
	util_hex(d2, 32, h2);
	buf_init(&pt, 1 << 20);
	buf_init(&age, 1 << 20);
	cr_assert_eq(buf_printf(&pt, "tipline/v1 report %s %s\n", tamper == 1 ? AID2 : RID, RID), 0);
	size_t ctx = pt.len;
	cr_assert_eq(buf_printf(&pt,
	                        "{\"team\":\"demo\",\"language\":\"fa-AF\",\"received_on\":\"2024-05-01\","
	                        "\"answers\":{\"what_happened\":\"They took our passports.\\nWe work "
	                        "\\u001b[31mwithout pay.\",\"exploitation\":[\"labour\",\"debt_bondage\"],"
	                        "\"safe_now\":\"no\",\"old_question\":\"kept\"},"
	                        "\"attachments\":[{\"uuid\":\"%s\",\"name\":\"../../.hidden\\u202egpj.exe\","
	                        "\"content_type\":\"text/plain\",\"size\":%zu,\"sha256\":\"%s\"},"
	                        "{\"uuid\":\"%s\",\"name\":\"photo.jpg\",\"content_type\":\"image/jpeg\","
	                        "\"size\":%d,\"sha256\":\"%s\"}]}",
	                        AID1, sizeof(FILE1), h1, AID2, FILE2_LEN, h2),
	             0);
	(void)ctx;
	cr_assert_eq(pad_text(&pt), 0);
	seal(pt.data, pt.len, &age);
	cr_assert_eq(age_header_inspect(age.data, age.len, &hlen, &a, &b, &c), AGE_OK);
	sodium_bin2base64(W.report_b64_header, sizeof(W.report_b64_header), age.data, hlen,
	                  sodium_base64_VARIANT_ORIGINAL);
	buf_init(&W.report_payload_b64, 1 << 22);
	cr_assert_eq(buf_reserve(&W.report_payload_b64, (age.len - hlen) * 2 + 8), 0);
	sodium_bin2base64((char *)W.report_payload_b64.data, W.report_payload_b64.cap, age.data + hlen,
	                  age.len - hlen, sodium_base64_VARIANT_ORIGINAL);
	W.report_payload_b64.len = strlen((char *)W.report_payload_b64.data);
	for (int i = 0; i < 2; i++) {
		buf_reset(&pt);
		cr_assert_eq(buf_printf(&pt, "tipline/v1 attachment %s %s\n", i ? AID2 : AID1, RID), 0);
		size_t len = i ? FILE2_LEN : sizeof(FILE1);
		cr_assert_eq(buf_add(&pt, i ? file2 : FILE1, len), 0);
		cr_assert_eq(buf_fill(&pt, 0, pad_padme(len) - len), 0);
		if (tamper == 2 && i == 1)
			pt.data[200] ^= 1; /* a changed byte in the file, not in the padding */
		buf_init(&W.att[i], 1 << 22);
		seal(pt.data, pt.len, &W.att[i]);
	}
	buf_free(&pt);
	buf_free(&age);
}

static char out_txt[1 << 18], err_txt[1 << 16];

/* Read `fd` from the start into `dst`. */
static void
slurp_fd(int fd, char *dst, size_t max)
{
	ssize_t n = pread(fd, dst, max - 1, 0);
	dst[n > 0 ? n : 0] = '\0';
}

/* Run command `fn` with the NULL-terminated argv, capturing stdout and stderr. */
static int
run(int (*fn)(int, char **), ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, fn);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	char p1[128], p2[128];
	snprintf(p1, sizeof(p1), "%s/out.XXXXXX", dir);
	snprintf(p2, sizeof(p2), "%s/err.XXXXXX", dir);
	int o = mkstemp(p1), e = mkstemp(p2);
	cr_assert(o >= 0 && e >= 0);
	dup2(o, 1);
	dup2(e, 2);
	int rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp_fd(o, out_txt, sizeof(out_txt));
	slurp_fd(e, err_txt, sizeof(err_txt));
	close(o);
	close(e);
	unlink(p1);
	unlink(p2);
	return rc;
}

static void
world_up(int tamper)
{
	memset(&W, 0, sizeof(W));
	W.id = identity_generate();
	cr_assert_not_null(W.id);
	cr_assert_eq(identity_save(W.id, idpath, PASS, strlen(PASS)), 0);
	fake_start(&W.f, h_review, 0);
	W.f.user = &W;
	snprintf(W.origin_served, sizeof(W.origin_served), "%s", ORIGIN);
	snprintf(W.tls_served, sizeof(W.tls_served), "%s", W.f.pin_hex);
	snprintf(W.nonce, sizeof(W.nonce), "bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9uY2U");
	make_report(tamper);
}

static void
world_down(void)
{
	fake_stop(&W.f);
	identity_free(W.id);
	buf_free(&W.report_payload_b64);
	buf_free(&W.att[0]);
	buf_free(&W.att[1]);
}

static int
do_login(const char *pin)
{
	return run(login_cmd_login, "login", "--server", W.f.url, "--pin", pin, "--origin", ORIGIN,
	           "--passphrase-file", passfile, NULL);
}

Test(review, login_stores_a_private_session)
{
	char path[256];
	struct stat st;
	world_up(0);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_OK, "%s", err_txt);
	cr_assert(W.verified, "the server could not verify the login signature");
	cr_assert(llabs(W.signed_time - (long long)time(NULL)) < 5);
	cr_assert(strstr(out_txt, "logged in to") != NULL && strstr(out_txt, "as alice") != NULL,
	          "%s", out_txt);
	cr_assert(strchr(out_txt, 0x1b) == NULL, "a server-sent escape reached the terminal");
	snprintf(path, sizeof(path), "%s/session", home);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	struct session *s = session_new();
	cr_assert_eq(session_load(s, path), SESSION_OK);
	cr_assert_str_eq(s->token, TOKEN);
	cr_assert_str_eq(s->pin, W.f.pin_hex);
	cr_assert_str_eq(s->origin, ORIGIN);
	cr_assert_str_eq(s->member, "alice");
	cr_assert_str_eq(s->server, W.f.url);
	session_free(s);
	/* Upper-case pins are the same pin. */
	char upper[65];
	for (int i = 0; i < 65; i++)
		upper[i] = (char)toupper((unsigned char)W.f.pin_hex[i]);
	cr_assert_eq(do_login(upper), CLI_OK, "%s", err_txt);
	world_down();
}

Test(review, login_failures_are_explained)
{
	char wrong[65], path[256];
	world_up(0);
	snprintf(path, sizeof(path), "%s/session", home);
	/* A different key than the pinned one. */
	snprintf(wrong, sizeof(wrong), "%s", W.f.pin_hex);
	wrong[10] = wrong[10] == '0' ? '1' : '0';
	cr_assert_eq(do_login(wrong), CLI_ERR);
	cr_assert(strstr(err_txt, "the server's TLS key does not match the pinned one: do not "
	                          "continue; ask your admin") != NULL, "%s", err_txt);
	cr_assert_eq(atomic_load(&W.f.nreq), 0);
	/* The server announces another key hash or origin than ours. */
	W.tls_served[0] = W.tls_served[0] == 'a' ? 'b' : 'a';
	cr_assert_eq(do_login(W.f.pin_hex), CLI_ERR);
	cr_assert(strstr(err_txt, "does not match the pinned one") != NULL, "%s", err_txt);
	snprintf(W.tls_served, sizeof(W.tls_served), "%s", W.f.pin_hex);
	snprintf(W.origin_served, sizeof(W.origin_served), "evil.example");
	cr_assert_eq(do_login(W.f.pin_hex), CLI_ERR);
	cr_assert(strstr(err_txt, "origin") != NULL, "%s", err_txt);
	snprintf(W.origin_served, sizeof(W.origin_served), "%s", ORIGIN);
	/* Refused by the server, rate limited. */
	W.login_status = 401;
	cr_assert_eq(do_login(W.f.pin_hex), CLI_ERR);
	cr_assert(strstr(err_txt, "login failed") != NULL, "%s", err_txt);
	W.login_status = 429;
	cr_assert_eq(do_login(W.f.pin_hex), CLI_ERR);
	cr_assert(strstr(err_txt, "too many failed logins") != NULL, "%s", err_txt);
	W.login_status = 0;
	/* Wrong passphrase: nothing goes to the network. */
	int before = atomic_load(&W.f.nreq);
	FILE *f = fopen(passfile, "w");
	fputs("not the passphrase\n", f);
	fclose(f);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_ERR);
	cr_assert(strstr(err_txt, "wrong passphrase") != NULL, "%s", err_txt);
	cr_assert_eq(atomic_load(&W.f.nreq), before);
	cr_assert_eq(access(path, F_OK), -1, "a failed login left a session");
	/* Usage errors. */
	cr_assert_eq(run(login_cmd_login, "login", "--server", "http://x:1", "--pin", W.f.pin_hex,
	                 "--origin", ORIGIN, NULL),
	             CLI_USAGE);
	cr_assert_eq(run(login_cmd_login, "login", "--server", W.f.url, "--pin", "abc", "--origin",
	                 ORIGIN, NULL),
	             CLI_USAGE);
	cr_assert_eq(run(login_cmd_login, "login", "--server", W.f.url, "--pin", W.f.pin_hex, NULL),
	             CLI_USAGE);
	cr_assert_eq(run(login_cmd_login, "login", "--help", NULL), CLI_OK);
	cr_assert(strstr(out_txt, "usage: tipctl login") != NULL);
	world_down();
}

Test(review, list_follows_cursors_and_prints_a_table_or_json)
{
	world_up(0);
	cr_assert_eq(run(tips_cmd_main, "tips", "list", NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "not logged in: run tipctl login") != NULL, "%s", err_txt);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_OK, "%s", err_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "list", "--status", "new", "--label", "a b", "--since",
	                 "2024-01-01", NULL),
	             CLI_OK, "%s", err_txt);
	cr_assert_eq(W.nqueries, 2);
	cr_assert_str_eq(W.queries[0], "/api/v1/reports?status=new&label=a%20b&since=2024-01-01&limit=200");
	cr_assert(strncmp(out_txt, "ID", 2) == 0, "%s", out_txt);
	cr_assert(strstr(out_txt, RID) != NULL && strstr(out_txt, AID1) != NULL &&
	          strstr(out_txt, AID2) != NULL, "the second page is missing: %s", out_txt);
	cr_assert(strstr(out_txt, "bob") != NULL);
	cr_assert_eq(run(tips_cmd_main, "tips", "list", "--json", NULL), CLI_OK, "%s", err_txt);
	json_error_t e;
	json_t *arr = json_loads(out_txt, 0, &e);
	cr_assert(json_is_array(arr), "%s", out_txt);
	cr_assert_eq(json_array_size(arr), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 2), "id")), AID2);
	json_decref(arr);
	cr_assert_eq(run(tips_cmd_main, "tips", "list", "--status", "bogus", NULL), CLI_USAGE);
	cr_assert_eq(run(tips_cmd_main, "tips", "list", "--since", "yesterday", NULL), CLI_USAGE);
	world_down();
}

Test(review, show_decrypts_and_labels_the_answers)
{
	world_up(0);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_OK, "%s", err_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "show", RID, "--passphrase-file", passfile, NULL), CLI_OK,
	             "%s", err_txt);
	cr_assert(strstr(out_txt, "What happened?\n  They took our passports.\n  We work") != NULL,
	          "%s", out_txt);
	cr_assert(strchr(out_txt, 0x1b) == NULL, "the source's escape reached the terminal");
	cr_assert(strstr(out_txt, "  - Forced work or exploitation at work\n") != NULL, "%s", out_txt);
	cr_assert(strstr(out_txt, "  - Debt bondage") != NULL);
	cr_assert(strstr(out_txt, "Are you, or the person this is happening to, safe right now?\n  - No\n") != NULL,
	          "%s", out_txt);
	cr_assert(strstr(out_txt, "Where did it happen") != NULL && strstr(out_txt, "(no answer)") != NULL);
	cr_assert(strstr(out_txt, "old_question\n  kept") != NULL, "an unknown answer was dropped");
	cr_assert(strstr(out_txt, "fa-AF") != NULL, "no language tag");
	cr_assert(strstr(out_txt, "Attachments: 2") != NULL);
	cr_assert(strstr(out_txt, "photo.jpg") != NULL && strstr(out_txt, "70000 bytes") != NULL);
	cr_assert(strstr(out_txt, "\xe2\x80\xae") == NULL, "a bidi override reached the terminal");
	cr_assert(strstr(out_txt, "Priority  high") != NULL, "%s", out_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "show", RID, "--json", "--passphrase-file", passfile,
	                 NULL),
	             CLI_OK, "%s", err_txt);
	json_error_t e;
	json_t *doc = json_loads(out_txt, 0, &e);
	cr_assert_not_null(doc, "%s", out_txt);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "language")), "fa-AF");
	json_decref(doc);
	/* Unknown or invisible report, not an id, wrong passphrase. */
	cr_assert_eq(run(tips_cmd_main, "tips", "show", AID1, "--passphrase-file", passfile, NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "not found, or you have no access to it") != NULL, "%s", err_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "show", "../../x", NULL), CLI_USAGE);
	FILE *f = fopen(passfile, "w");
	fputs("wrong wrong wrong\n", f);
	fclose(f);
	cr_assert_eq(run(tips_cmd_main, "tips", "show", RID, "--passphrase-file", passfile, NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "wrong passphrase") != NULL, "%s", err_txt);
	world_down();
}

Test(review, show_refuses_a_moved_report)
{
	world_up(1);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_OK, "%s", err_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "show", RID, "--passphrase-file", passfile, NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "refusing report") != NULL && strstr(err_txt, "context line") != NULL,
	          "%s", err_txt);
	cr_assert(strstr(out_txt, "passports") == NULL, "a refused report was printed");
	world_down();
}

/* Read `path` into `out` (at most `max`); return its size or -1. */
static long
read_all(const char *path, uint8_t *out, size_t max)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	size_t n = fread(out, 1, max, f);
	fclose(f);
	return (long)n;
}

Test(review, get_writes_checked_files_with_safe_names)
{
	static uint8_t got[FILE2_LEN + 10];
	char outdir[160], p[300];
	world_up(0);
	snprintf(outdir, sizeof(outdir), "%s/out", dir);
	cr_assert_eq(mkdir(outdir, 0700), 0);
	snprintf(p, sizeof(p), "%s/photo.jpg", outdir);
	FILE *f = fopen(p, "w"); /* an existing file is never replaced */
	fputs("mine", f);
	fclose(f);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_OK, "%s", err_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "get", RID, "--out", outdir, "--passphrase-file", passfile,
	                 NULL),
	             CLI_OK, "%s", err_txt);
	snprintf(p, sizeof(p), "%s/hiddengpj.exe", outdir);
	cr_assert_eq(read_all(p, got, sizeof(got)), (long)sizeof(FILE1), "%s", out_txt);
	cr_assert_eq(memcmp(got, FILE1, sizeof(FILE1)), 0);
	snprintf(p, sizeof(p), "%s/photo-1.jpg", outdir);
	cr_assert_eq(read_all(p, got, sizeof(got)), FILE2_LEN);
	for (size_t i = 0; i < FILE2_LEN; i++)
		cr_assert_eq(got[i], (uint8_t)(i * 7 + 3));
	snprintf(p, sizeof(p), "%s/photo.jpg", outdir);
	cr_assert_eq(read_all(p, got, sizeof(got)), 4);
	struct stat st;
	snprintf(p, sizeof(p), "%s/photo-1.jpg", outdir);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(run(tips_cmd_main, "tips", "get", RID, "--passphrase-file", passfile, NULL), CLI_USAGE);
	world_down();
}

Test(review, get_refuses_a_tampered_attachment)
{
	char outdir[160], p[300];
	world_up(2);
	snprintf(outdir, sizeof(outdir), "%s/out", dir);
	cr_assert_eq(mkdir(outdir, 0700), 0);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_OK, "%s", err_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "get", RID, "--out", outdir, "--passphrase-file", passfile,
	                 NULL),
	             CLI_ERR);
	cr_assert(strstr(err_txt, "SHA-256 does not match") != NULL, "%s", err_txt);
	snprintf(p, sizeof(p), "%s/photo.jpg", outdir);
	cr_assert_eq(access(p, F_OK), -1, "a file that failed its check was written");
	snprintf(p, sizeof(p), "%s/hiddengpj.exe", outdir);
	cr_assert_eq(access(p, F_OK), 0, "the good attachment was not written");
	world_down();
}

Test(review, set_patches_and_logout_ends_the_session)
{
	char path[256];
	world_up(0);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_OK, "%s", err_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "set", RID, "--status", "investigating", "--assign",
	                 "alice", "--label", "medical", "--label", "minor", NULL),
	             CLI_OK, "%s", err_txt);
	json_error_t e;
	json_t *sent = json_loads(W.patch_body, 0, &e);
	json_t *want = json_loads("{\"status\":\"investigating\",\"assignee\":\"alice\","
	                          "\"labels\":[\"medical\",\"minor\"]}", 0, &e);
	cr_assert(json_equal(sent, want), "%s", W.patch_body);
	json_decref(sent);
	json_decref(want);
	cr_assert(strstr(out_txt, "investigating") != NULL && strstr(out_txt, "alice") != NULL);
	cr_assert_eq(run(tips_cmd_main, "tips", "set", RID, "--unassign", "--clear-labels", NULL), CLI_OK,
	             "%s", err_txt);
	cr_assert_str_eq(W.patch_body, "{\"assignee\":null,\"labels\":[]}");
	cr_assert_eq(run(tips_cmd_main, "tips", "set", RID, NULL), CLI_USAGE);
	cr_assert_eq(run(tips_cmd_main, "tips", "set", RID, "--assign", "a", "--unassign", NULL), CLI_USAGE);
	cr_assert_eq(run(tips_cmd_main, "tips", "set", RID, "--priority", "asap", NULL), CLI_USAGE);
	cr_assert_eq(run(tips_cmd_main, "tips", "set", "nope", "--status", "new", NULL), CLI_USAGE);
	cr_assert_eq(run(login_cmd_logout, "logout", NULL), CLI_OK, "%s", err_txt);
	cr_assert(W.logged_out);
	snprintf(path, sizeof(path), "%s/session", home);
	cr_assert_eq(access(path, F_OK), -1, "the session file is still there");
	cr_assert_eq(run(tips_cmd_main, "tips", "list", NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "not logged in: run tipctl login") != NULL, "%s", err_txt);
	cr_assert_eq(run(login_cmd_logout, "logout", NULL), CLI_OK);
	world_down();
}

Test(review, expired_session_and_server_errors)
{
	char path[256];
	world_up(0);
	cr_assert_eq(do_login(W.f.pin_hex), CLI_OK, "%s", err_txt);
	snprintf(path, sizeof(path), "%s/session", home);
	struct session *s = session_new();
	cr_assert_eq(session_load(s, path), SESSION_OK);
	/* The server forgot the session (idle timeout): 401. */
	snprintf(s->token, SESSION_TOKEN_MAX + 1, "forgotten");
	cr_assert_eq(session_save(s, path), SESSION_OK);
	cr_assert_eq(run(tips_cmd_main, "tips", "list", NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "session expired: run tipctl login") != NULL, "%s", err_txt);
	/* Past its expiry: refused without asking the server. */
	int before = atomic_load(&W.f.nconn);
	s->expires_at = (int64_t)time(NULL) - 1;
	cr_assert_eq(session_save(s, path), SESSION_OK);
	cr_assert_eq(run(tips_cmd_main, "tips", "list", NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "session expired: run tipctl login") != NULL, "%s", err_txt);
	cr_assert_eq(atomic_load(&W.f.nconn), before);
	/* The server's key changed since login. */
	s->expires_at = (int64_t)time(NULL) + 100;
	s->pin[0] = s->pin[0] == 'a' ? 'b' : 'a';
	cr_assert_eq(session_save(s, path), SESSION_OK);
	cr_assert_eq(run(tips_cmd_main, "tips", "list", NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "does not match the pinned one: do not continue; ask your admin") != NULL,
	          "%s", err_txt);
	/* The server is gone. */
	session_free(s);
	world_down();
	cr_assert_eq(run(tips_cmd_main, "tips", "list", NULL), CLI_ERR);
	cr_assert(strstr(err_txt, "server unreachable") != NULL, "%s", err_txt);
	cr_assert_eq(run(tips_cmd_main, "tips", "--help", NULL), CLI_OK);
	cr_assert_eq(run(tips_cmd_main, "tips", "frobnicate", NULL), CLI_USAGE);
}
