/*
 * `tipctl tips export` and the editor mode of `tipctl tips reply/note`
 * against the real tipd and PostgreSQL.
 *
 * Setup: a report with two attachments submitted through the source API,
 * a message from the source through the inbox, a reply and a note from
 * tipctl (logged in with the pinned admin key, so authors are checked
 * against the signed membership).
 *
 *  - export: every file of the bundle equals what was sent (the report's
 *    answers, its text rendering, the attachments byte for byte, the
 *    message, reply and note texts with their checked author), directories
 *    0700 and files 0600, MANIFEST.txt lists every file with its SHA-256
 *    (checked here and with `sha256sum -c`); an existing DIR/ID, a symlink
 *    as DIR or as DIR/ID, an inaccessible report and usage errors are
 *    refused; a tampered reply stops the export without a manifest.
 *  - editor: tipctl on a pseudo-terminal with $VISUAL/$EDITOR set to a
 *    small script: the reply is posted and opens to exactly what the editor
 *    wrote (the comment header dropped), the file was 0600 in
 *    $XDG_RUNTIME_DIR and is gone afterwards; an editor that fails or
 *    leaves no text sends nothing and leaves nothing behind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"
#include "util.h"

#define MESSAGE_TEXT "I am at the bus station now. \xd8\xb4\xd9\x83\xd8\xb1\xd8\xa7"
#define REPLY_TEXT "We read your report.\nAre you safe where you are?"
#define NOTE_TEXT "Called the shelter on Monday; waiting for them."

static struct th T;
static char pin[65], server[64], home[TH_PATH + 16], rid[37], receipt[64];
static struct buf out, err;

enum { BIG = 70001, SMALL = 33 };
static uint8_t big[BIG], small[SMALL];

/* Run $TIPCTL (no terminal, stdin from `in` or /dev/null); stdout/stderr into out/err. */
#define tipctl_in(in, ...) it_tipctl(&T, NULL, (in), &out, &err, __VA_ARGS__)


/* Submit a multipart report with two files; keep its receipt. */
static void
submit(void)
{
	char pbig[TH_PATH], psmall[TH_PATH], preport[TH_PATH], url[128], crt[TH_PATH];
	char fbig[TH_PATH + 8], fsmall[TH_PATH + 64], freport[TH_PATH + 32];
	struct buf resp;
	json_error_t e;
	buf_init(&resp, 1 << 16);
	snprintf(pbig, sizeof(pbig), "%s/photo.jpg", T.dir);
	snprintf(psmall, sizeof(psmall), "%s/small.txt", T.dir);
	snprintf(preport, sizeof(preport), "%s/report-in.json", T.dir);
	randombytes_buf(big, BIG);
	randombytes_buf(small, SMALL);
	it_write_file(pbig, big, BIG);
	it_write_file(psmall, small, SMALL);
	const char *rep = "{\"team\":\"demo\",\"language\":\"ar\",\"answers\":" IT_ANSWERS "}";
	it_write_file(preport, rep, strlen(rep));
	snprintf(fbig, sizeof(fbig), "file=@%s", pbig);
	snprintf(fsmall, sizeof(fsmall), "file=@%s;filename=../../.etc/ملاحظة.txt", psmall);
	snprintf(freport, sizeof(freport), "report=<%s;type=application/json", preport);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/reports", T.source_tls_port);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	char *args[] = { "--cacert", crt, "-F", freport, "-F", fbig, "-F", fsmall, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
	cr_assert(json_is_string(json_object_get(doc, "receipt")), "%s", buf_cstr(&resp));
	snprintf(receipt, sizeof(receipt), "%s", json_string_value(json_object_get(doc, "receipt")));
	json_decref(doc);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1, "the report did not reach PostgreSQL");
	it_only_report(&T, rid);
	buf_free(&resp);
}

/* Send a message from the source through the inbox; wait until it is stored. */
static void
source_message(void)
{
	char url[128], body[512];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox/messages", T.source_port);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"%s\"}", receipt, MESSAGE_TEXT);
	char *args[] = { "-H", "Content-Type: application/json", "--data-binary", body, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	for (int i = 0; i < 200 && th_count(&T, "select count(*) from messages") == 0; i++)
		usleep(50000);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 1, "the message was not stored");
	buf_free(&resp);
}

static void
setup(void)
{
	char txt[TH_PATH + 16];
	th_setup(&T);
	th_start(&T);
	snprintf(home, sizeof(home), "%s/tipctl-home", T.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	cr_assert_eq(unsetenv("XDG_RUNTIME_DIR"), 0);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	th_tls_key_hex(&T, pin); /* SHA-256 of the certificate's SubjectPublicKeyInfo */
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	submit();
	source_message();
	cr_assert_eq(tipctl_in(NULL, "login", "--server", server, "--pin", pin, "--origin",
	                       TH_REVIEW_ORIGIN, "--identity", T.identity, "--passphrase-file",
	                       T.passfile, "--admin-key", T.admin_pub, NULL),
	             0, "login: %s", buf_cstr(&err));
	snprintf(txt, sizeof(txt), "%s/reply.txt", T.dir);
	it_write_file(txt, REPLY_TEXT "\n", strlen(REPLY_TEXT) + 1);
	cr_assert_eq(tipctl_in(NULL, "tips", "reply", rid, "--file", txt, "--yes", "--identity",
	                       T.identity, "--passphrase-file", T.passfile, NULL),
	             0, "reply: %s", buf_cstr(&err));
	snprintf(txt, sizeof(txt), "%s/note.txt", T.dir);
	it_write_file(txt, NOTE_TEXT, strlen(NOTE_TEXT));
	cr_assert_eq(tipctl_in(txt, "tips", "note", rid, "--stdin", "--identity", T.identity,
	                       "--passphrase-file", T.passfile, NULL),
	             0, "note: %s", buf_cstr(&err));
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}

TestSuite(tipctl_export, .init = setup, .fini = teardown, .timeout = 240);

/* ---- helpers for the bundle ---- */

static int
export(const char *dir)
{
	return tipctl_in(NULL, "tips", "export", rid, "--out", dir, "--identity", T.identity,
	                 "--passphrase-file", T.passfile, NULL);
}

/* Assert `path` is a regular file, mode 0600, holding exactly `want` (`n` bytes). */
static void
assert_file(const char *path, const void *want, size_t n)
{
	struct buf b;
	struct stat st;
	buf_init(&b, 1 << 22);
	cr_assert_eq(lstat(path, &st), 0, "%s was not written (%s)", path, buf_cstr(&err));
	cr_assert(S_ISREG(st.st_mode), "%s", path);
	cr_assert_eq(st.st_mode & 07777, 0600, "%s: mode %o", path, st.st_mode & 07777);
	it_slurp(path, &b);
	cr_assert_eq(b.len, n, "%s: %zu bytes, want %zu", path, b.len, n);
	cr_assert_eq(memcmp(b.data, want, n), 0, "%s differs", path);
	buf_free(&b);
}

/* Assert `dir` holds exactly one file; return its JSON (caller decrefs). */
static json_t *
only_json(const char *dir, char *name, size_t nlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	cr_assert_not_null(d, "%s missing", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(name, nlen, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	cr_assert_eq(n, 1, "%s holds %d files", dir, n);
	struct buf b;
	json_error_t je;
	struct stat st;
	buf_init(&b, 1 << 20);
	cr_assert_eq(lstat(name, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "%s: mode %o", name, st.st_mode & 07777);
	it_slurp(name, &b);
	json_t *doc = json_loads(buf_cstr(&b), JSON_REJECT_DUPLICATES, &je);
	cr_assert(json_is_object(doc), "%s: %s", name, buf_cstr(&b));
	buf_free(&b);
	return doc;
}

/* Walk `root`/`rel` and count regular files; assert dirs are 0700, files 0600,
 * and that each file's "<sha256>  <rel>" line is in `manifest`. */
static int
walk_check(const char *root, const char *rel, const char *manifest)
{
	char path[2048], sub[1024];
	int n = 0;
	snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
	DIR *d = opendir(path);
	struct dirent *e;
	cr_assert_not_null(d, "%s", path);
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char p[3072];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
		snprintf(p, sizeof(p), "%s/%s", root, sub);
		cr_assert_eq(lstat(p, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			cr_assert_eq(st.st_mode & 07777, 0700, "%s: mode %o", p, st.st_mode & 07777);
			n += walk_check(root, sub, manifest);
			continue;
		}
		cr_assert(S_ISREG(st.st_mode), "%s is not a regular file", p);
		cr_assert_eq(st.st_mode & 07777, 0600, "%s: mode %o", p, st.st_mode & 07777);
		if (strcmp(sub, "MANIFEST.txt") == 0)
			continue;
		size_t len = 0;
		char *data = util_read_file(p, 1 << 22, &len), hex[65], line[1200];
		uint8_t h[32];
		cr_assert_not_null(data);
		crypto_hash_sha256(h, (const uint8_t *)data, len);
		free(data);
		util_hex(h, 32, hex);
		snprintf(line, sizeof(line), "%s  %s\n", hex, sub);
		cr_assert_not_null(strstr(manifest, line), "MANIFEST.txt lacks \"%s\":\n%s", line,
		                   manifest);
		n++;
	}
	closedir(d);
	return n;
}

static int
count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- export ---- */

Test(tipctl_export, bundle_holds_what_was_sent)
{
	char dir[TH_PATH + 16], b[TH_PATH + 64], p[TH_PATH * 2 + 160], name[TH_PATH * 3 + 200];
	struct buf txt, man;
	struct stat st;
	json_error_t je;
	buf_init(&txt, 1 << 22);
	buf_init(&man, 1 << 20);
	snprintf(dir, sizeof(dir), "%s/cases", T.dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(export(dir), 0, "export: %s\n%s", buf_cstr(&err), buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "sha256sum -c MANIFEST.txt") != NULL, "%s", buf_cstr(&out));
	snprintf(b, sizeof(b), "%s/%s", dir, rid);
	cr_assert_eq(lstat(b, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700);

	/* report.txt: as tips show prints it, questions labelled, the language. */
	snprintf(p, sizeof(p), "%s/report.txt", b);
	it_slurp(p, &txt);
	const char *t = buf_cstr(&txt);
	cr_assert(strstr(t, "What happened?\n  They took our passports and we work without pay.\n")
	          != NULL, "%s", t);
	cr_assert(strstr(t, "  - Forced work or exploitation at work\n") != NULL, "%s", t);
	cr_assert(strstr(t, "Language  ar\n") != NULL, "%s", t);
	cr_assert(strstr(t, "Attachments: 2\n") != NULL, "%s", t);
	cr_assert(strstr(t, rid) != NULL, "%s", t);

	/* report.json: the decrypted document without its padding. */
	snprintf(p, sizeof(p), "%s/report.json", b);
	it_slurp(p, &txt);
	cr_assert(txt.len > 2 && txt.data[txt.len - 1] == '\n' && txt.data[txt.len - 2] == '}',
	          "padding left in report.json");
	json_t *doc = json_loads(buf_cstr(&txt), JSON_REJECT_DUPLICATES, &je);
	json_t *sent = json_loads(IT_ANSWERS, 0, &je);
	cr_assert(json_equal(json_object_get(doc, "answers"), sent), "%s", buf_cstr(&txt));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "language")), "ar");
	cr_assert_eq(json_array_size(json_object_get(doc, "attachments")), 2);
	json_decref(sent);
	json_decref(doc);

	/* attachments: byte-equal, sanitized names. */
	snprintf(p, sizeof(p), "%s/attachments/photo.jpg", b);
	assert_file(p, big, BIG);
	snprintf(p, sizeof(p), "%s/attachments/ملاحظة.txt", b);
	assert_file(p, small, SMALL);

	/* messages, replies, notes: one JSON file each, text and checked author. */
	snprintf(p, sizeof(p), "%s/messages", b);
	doc = only_json(p, name, sizeof(name));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "text")), MESSAGE_TEXT);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "author")), "source");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "kind")), "message");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "signature")),
	                 "verified against the source key sealed in the report");
	const char *oid = json_string_value(json_object_get(doc, "id"));
	cr_assert(oid != NULL && util_uuid_valid(oid));
	cr_assert(strstr(name, oid) != NULL, "%s", name);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 1);
	json_decref(doc);
	snprintf(p, sizeof(p), "%s/replies", b);
	doc = only_json(p, name, sizeof(name));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "text")), REPLY_TEXT);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "author")), "alice");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "signature")),
	                 "verified against the team's membership");
	const char *on = json_string_value(json_object_get(doc, "sent_on"));
	cr_assert(on != NULL && strlen(on) == 10 && on[4] == '-' && on[7] == '-', "sent_on %s", on);
	json_decref(doc);
	snprintf(p, sizeof(p), "%s/notes", b);
	doc = only_json(p, name, sizeof(name));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "text")), NOTE_TEXT);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "author")), "alice");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "kind")), "note");
	json_decref(doc);

	/* MANIFEST.txt: every other file with its SHA-256, modes checked on the way. */
	snprintf(p, sizeof(p), "%s/MANIFEST.txt", b);
	it_slurp(p, &man);
	int files = walk_check(b, "", buf_cstr(&man));
	cr_assert_eq(files, 7, "%d files", files);
	cr_assert_eq(count_lines(buf_cstr(&man)), files, "%s", buf_cstr(&man));
	char cmd[TH_PATH + 128];
	snprintf(cmd, sizeof(cmd), "cd '%s' && sha256sum --strict --quiet -c MANIFEST.txt", b);
	char *sh[] = { "sh", "-c", cmd, NULL };
	cr_assert_eq(th_run(sh, NULL, 0, NULL), 0, "sha256sum -c failed");
	/* A changed file no longer matches. */
	snprintf(p, sizeof(p), "%s/attachments/photo.jpg", b);
	big[100] ^= 1;
	it_write_file(p, big, BIG);
	cr_assert_neq(th_run(sh, NULL, 0, NULL), 0, "sha256sum -c missed a changed file");

	/* Exporting again into the same DIR is refused and changes nothing. */
	snprintf(p, sizeof(p), "%s/MANIFEST.txt", b);
	cr_assert_eq(export(dir), 1);
	cr_assert(strstr(buf_cstr(&err), "already exists") != NULL, "%s", buf_cstr(&err));
	it_slurp(p, &txt);
	cr_assert_eq(txt.len, man.len);
	cr_assert_eq(memcmp(txt.data, man.data, man.len), 0);
	buf_free(&txt);
	buf_free(&man);
}

Test(tipctl_export, refusals)
{
	char dir[TH_PATH + 16], link[TH_PATH + 16], target[TH_PATH + 16], p[TH_PATH * 2 + 64];
	snprintf(dir, sizeof(dir), "%s/out", T.dir);
	snprintf(target, sizeof(target), "%s/elsewhere", T.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(mkdir(target, 0700), 0);

	/* DIR/ID is a symbolic link: refused, the target is untouched. */
	snprintf(p, sizeof(p), "%s/%s", dir, rid);
	cr_assert_eq(symlink(target, p), 0);
	cr_assert_eq(export(dir), 1);
	cr_assert(strstr(buf_cstr(&err), "already exists") != NULL, "%s", buf_cstr(&err));
	snprintf(p, sizeof(p), "%s/report.txt", target);
	cr_assert_eq(access(p, F_OK), -1, "wrote through a symlink");
	/* DIR itself is a symbolic link: refused. */
	snprintf(link, sizeof(link), "%s/link", T.dir);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_eq(export(link), 1);
	cr_assert(strstr(buf_cstr(&err), "symbolic link") != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(access(p, F_OK), -1, "wrote through a symlink");
	/* DIR does not exist. */
	snprintf(p, sizeof(p), "%s/missing", T.dir);
	cr_assert_eq(export(p), 1);
	cr_assert(strstr(buf_cstr(&err), "cannot open directory") != NULL, "%s", buf_cstr(&err));

	/* A report we cannot see: refused, nothing created. */
	cr_assert_eq(tipctl_in(NULL, "tips", "export", "00000000-0000-4000-8000-000000000000",
	                       "--out", target, "--identity", T.identity, "--passphrase-file",
	                       T.passfile, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "not found, or you have no access to it") != NULL, "%s",
	          buf_cstr(&err));
	snprintf(p, sizeof(p), "%s/00000000-0000-4000-8000-000000000000", target);
	cr_assert_eq(access(p, F_OK), -1, "a directory was created for an inaccessible report");

	/* Usage. */
	cr_assert_eq(tipctl_in(NULL, "tips", "export", rid, NULL), 2);
	cr_assert(strstr(buf_cstr(&err), "--out DIR is required") != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl_in(NULL, "tips", "export", "not-a-uuid", "--out", target, NULL), 2);
	cr_assert_eq(tipctl_in(NULL, "tips", "export", "--help", NULL), 0);
	cr_assert(strstr(buf_cstr(&out), "MANIFEST.txt") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(tipctl_in(NULL, "tips", "--help", NULL), 0);
	cr_assert(strstr(buf_cstr(&out), "export") != NULL, "%s", buf_cstr(&out));
}

Test(tipctl_export, a_tampered_reply_stops_the_export)
{
	char dir[TH_PATH + 16], p[TH_PATH * 2 + 64];
	snprintf(dir, sizeof(dir), "%s/out", T.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	PGconn *c = th_db(&T);
	PGresult *res = PQexec(c, "update replies set signature = "
	                          "set_byte(signature, 0, get_byte(signature, 0) # 1)");
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	cr_assert_eq(export(dir), 1);
	cr_assert(strstr(buf_cstr(&err), "signature does not verify") != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "has no MANIFEST.txt") != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "exported") == NULL, "%s", buf_cstr(&out));
	/* What was written stays; no manifest; the reply is not there. */
	snprintf(p, sizeof(p), "%s/%s/report.txt", dir, rid);
	cr_assert_eq(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/%s/MANIFEST.txt", dir, rid);
	cr_assert_eq(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/%s/replies", dir, rid);
	DIR *d = opendir(p);
	cr_assert_not_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		cr_assert(e->d_name[0] == '.', "a tampered reply was written: %s", e->d_name);
	closedir(d);
}

/* ---- editor mode ---- */

static char pty_txt[1 << 16];

/*
 * Run $TIPCTL `args` on a pseudo-terminal with VISUAL and EDITOR set as
 * given (NULL: unset), XDG_RUNTIME_DIR=`xdg` and EDDIR (for the script) =
 * T.dir. Everything it printed lands in pty_txt. Return its exit status.
 */
static int
tipctl_pty(const char *visual, const char *editor, const char *xdg, char *const args[])
{
	int master = -1;
	size_t got = 0;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert(pid >= 0);
	if (pid == 0) {
		if ((visual != NULL ? setenv("VISUAL", visual, 1) : unsetenv("VISUAL")) != 0 ||
		    (editor != NULL ? setenv("EDITOR", editor, 1) : unsetenv("EDITOR")) != 0 ||
		    setenv("XDG_RUNTIME_DIR", xdg, 1) != 0 || setenv("EDDIR", T.dir, 1) != 0)
			_exit(98);
		execv(T.tipctl_bin, args);
		_exit(98);
	}
	pty_txt[0] = '\0';
	for (;;) {
		struct pollfd pfd = { master, POLLIN, 0 };
		if (poll(&pfd, 1, 30000) <= 0)
			break;
		ssize_t r = read(master, pty_txt + got, sizeof(pty_txt) - 1 - got);
		if (r <= 0)
			break; /* EIO once the child has gone */
		got += (size_t)r;
		pty_txt[got] = '\0';
		if (got == sizeof(pty_txt) - 1)
			break;
	}
	close(master);
	int st = 0;
	pid_t w = 0;
	for (int i = 0; i < 1000 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (w != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The editor: records the file's path, mode and first content, then acts by MODE. */
static const char ed_script[] =
	"#!/bin/sh\n"
	"mode=$1; f=$2\n"
	"printf '%s' \"$f\" > \"$EDDIR/ed-path\"\n"
	"stat -c %a \"$f\" > \"$EDDIR/ed-mode\"\n"
	"cp \"$f\" \"$EDDIR/ed-before\"\n"
	"case $mode in\n"
	"append) printf 'Hello from the editor.\\n\\nSecond line.\\n' >> \"$f\" ;;\n"
	"replace) printf '\\n\\n  Note written in the editor\\n\\n' > \"$f\" ;;\n"
	"fail) printf 'must not be sent\\n' >> \"$f\"; exit 3 ;;\n"
	"empty) printf '\\n   \\n\\t\\n' >> \"$f\" ;;\n"
	"esac\n";

/* Assert that the editor's file and its private directory are gone: `xdg` is empty. */
static void
assert_nothing_left(const char *xdg)
{
	char path[TH_PATH + 64];
	struct buf b;
	buf_init(&b, 8192);
	snprintf(path, sizeof(path), "%s/ed-path", T.dir);
	it_slurp(path, &b);
	cr_assert(strncmp(buf_cstr(&b), xdg, strlen(xdg)) == 0, "the file was not in %s: %s", xdg,
	          buf_cstr(&b));
	cr_assert_eq(access(buf_cstr(&b), F_OK), -1, "%s was left behind", buf_cstr(&b));
	DIR *d = opendir(xdg);
	struct dirent *e;
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		cr_assert(e->d_name[0] == '.', "%s/%s was left behind", xdg, e->d_name);
	closedir(d);
	cr_assert_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/ed-mode", T.dir);
	it_slurp(path, &b);
	cr_assert_str_eq(buf_cstr(&b), "600\n");
	buf_free(&b);
}

/* Find the exported object of `sub` whose text is `text`. */
static int
exported_with_text(const char *dir, const char *sub, const char *text)
{
	char p[TH_PATH * 2 + 160], f[TH_PATH * 3 + 512];
	struct buf b;
	json_error_t je;
	int found = 0;
	buf_init(&b, 1 << 20);
	snprintf(p, sizeof(p), "%s/%s/%s", dir, rid, sub);
	DIR *d = opendir(p);
	struct dirent *e;
	cr_assert_not_null(d, "%s", p);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", p, e->d_name);
		it_slurp(f, &b);
		json_t *doc = json_loads(buf_cstr(&b), 0, &je);
		const char *t = json_string_value(json_object_get(doc, "text"));
		found += t != NULL && strcmp(t, text) == 0;
		json_decref(doc);
	}
	closedir(d);
	buf_free(&b);
	return found;
}

Test(tipctl_export, editor_mode)
{
	char ed[TH_PATH + 16], xdg[64] = "/dev/shm/tipctl-it-XXXXXX", cmd[TH_PATH + 64];
	char p[TH_PATH * 2 + 64], dir[TH_PATH + 16];
	struct buf b;
	buf_init(&b, 1 << 16);
	snprintf(ed, sizeof(ed), "%s/ed.sh", T.dir);
	it_write_file(ed, ed_script, strlen(ed_script));
	cr_assert_not_null(mkdtemp(xdg));
	char *reply[] = { T.tipctl_bin, "tips", "reply", rid, "--yes", "--identity", T.identity,
		          "--passphrase-file", T.passfile, NULL };
	char *note[] = { T.tipctl_bin, "tips", "note", rid, "--identity", T.identity,
		         "--passphrase-file", T.passfile, NULL };
	snprintf(p, sizeof(p), "%s/ed-before", T.dir);

	/* $VISUAL wins over $EDITOR; its arguments are split on spaces. */
	snprintf(cmd, sizeof(cmd), "sh %s append", ed);
	cr_assert_eq(tipctl_pty(cmd, "false", xdg, reply), 0, "%s", pty_txt);
	cr_assert(strstr(pty_txt, "and the source") != NULL, "%s", pty_txt);
	assert_nothing_left(xdg);
	it_slurp(p, &b);
	cr_assert(strstr(buf_cstr(&b), "# WARNING: whoever holds this report's receipt will read "
	                               "this reply") != NULL, "%s", buf_cstr(&b));
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 2);

	/* A note written over the whole file; its header says the source never reads it. */
	snprintf(cmd, sizeof(cmd), "sh %s replace", ed);
	cr_assert_eq(tipctl_pty(NULL, cmd, xdg, note), 0, "%s", pty_txt);
	assert_nothing_left(xdg);
	it_slurp(p, &b);
	cr_assert(strstr(buf_cstr(&b), "never the source") != NULL, "%s", buf_cstr(&b));
	cr_assert(strstr(buf_cstr(&b), "receipt") == NULL, "%s", buf_cstr(&b));
	cr_assert_eq(th_count(&T, "select count(*) from notes"), 2);

	/* What was posted opens to exactly the text written (comments and blank edges dropped). */
	snprintf(dir, sizeof(dir), "%s/check", T.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(export(dir), 0, "%s", buf_cstr(&err));
	cr_assert_eq(exported_with_text(dir, "replies", "Hello from the editor.\n\nSecond line."), 1);
	cr_assert_eq(exported_with_text(dir, "notes", "  Note written in the editor"), 1);

	/* An editor that fails, cannot run, or leaves no text: nothing sent, nothing left. */
	snprintf(cmd, sizeof(cmd), "sh %s fail", ed);
	cr_assert_eq(tipctl_pty(NULL, cmd, xdg, reply), 1, "%s", pty_txt);
	cr_assert(strstr(pty_txt, "exited with status 3: nothing was sent") != NULL, "%s", pty_txt);
	assert_nothing_left(xdg);
	snprintf(cmd, sizeof(cmd), "sh %s empty", ed);
	cr_assert_eq(tipctl_pty(NULL, cmd, xdg, reply), 1, "%s", pty_txt);
	cr_assert(strstr(pty_txt, "empty reply; nothing sent") != NULL, "%s", pty_txt);
	assert_nothing_left(xdg);
	cr_assert_eq(tipctl_pty(NULL, cmd, xdg, note), 1, "%s", pty_txt);
	cr_assert(strstr(pty_txt, "empty note; nothing sent") != NULL, "%s", pty_txt);
	assert_nothing_left(xdg);
	cr_assert_eq(tipctl_pty(NULL, "/nonexistent/editor --wait", xdg, reply), 1, "%s", pty_txt);
	cr_assert(strstr(pty_txt, "cannot run the editor '/nonexistent/editor'") != NULL, "%s",
	          pty_txt);
	cr_assert(strstr(pty_txt, "nothing was sent") != NULL, "%s", pty_txt);
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 2);
	cr_assert_eq(th_count(&T, "select count(*) from notes"), 2);
	cr_assert_eq(rmdir(xdg), 0, "%s is not empty", xdg);
	buf_free(&b);
}
