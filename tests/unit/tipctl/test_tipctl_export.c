/*
 * The parts of `tipctl tips export` and of the editor mode of `tipctl tips
 * reply/note` that need no server: the report's JSON without padding, the
 * manifest lines (hash, symlinks and odd names refused), export's refusals
 * before it connects (usage, an existing DIR/ID, a symlinked DIR), the
 * editor's comment stripping and command splitting, the RAM directory
 * check, the header of the editor's file, and a whole editor run with a
 * script as the editor: the text read back, and the file (with any swap
 * file the editor left) overwritten with zeros and removed on every path.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "editor.h"
#include "report.h"
#include "tips_export.h"
#include "tips_reply.h"
#include "util.h"

#define RID "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee1"

static char shm[64];

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	snprintf(shm, sizeof(shm), "/dev/shm/tipctl-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(shm), "no /dev/shm");
}

/* Remove `shm` and what is directly in it. */
static void
teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", shm);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(export, .init = setup, .fini = teardown, .timeout = 60);

static void
put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0, "%s", path);
	cr_assert_eq(util_write_all(fd, s, strlen(s)), 0);
	close(fd);
}

/* Strip `in` (`n` bytes) as the editor mode does; compare with `want`. */
static void
strip_is(const char *in, size_t n, const char *want, size_t wn)
{
	struct buf raw, t;
	buf_init_secure(&raw, 4096);
	buf_init_secure(&t, 4096);
	cr_assert_eq(buf_add(&raw, in, n), 0);
	cr_assert_eq(editor_strip(&raw, &t), 0);
	cr_assert_eq(t.len, wn, "'%s' gave %zu bytes '%.*s', want '%s'", in, t.len, (int)t.len,
	             (const char *)t.data, want);
	cr_assert(wn == 0 || memcmp(t.data, want, wn) == 0, "'%s' gave '%.*s'", in, (int)t.len,
	          (const char *)t.data);
	buf_free(&raw);
	buf_free(&t);
}

#define STRIP(in, want) strip_is(in, sizeof(in) - 1, want, sizeof(want) - 1)

Test(export, editor_strips_comments_and_blank_edges)
{
	STRIP("\n# header\nHello\n# inside\nworld\n\n", "Hello\nworld");
	STRIP("#only\n#comments", "");
	STRIP("#only\n#comments\n", "");
	STRIP("", "");
	STRIP("\n \n\t\n", "");
	STRIP("  \n\t\n  indented first line\n", "  indented first line");
	STRIP("a#b\n", "a#b");
	STRIP(" # not a comment\n", " # not a comment");
	STRIP("no newline at the end", "no newline at the end");
	STRIP("\r\nWindows\r\nlines\r\n", "Windows\r\nlines");
	STRIP("one\n\n\ntwo\n#x", "one\n\n\ntwo");
	STRIP("nul\0inside\n", "nul\0inside");
	STRIP("\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \n", "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85");
	/* More text than the output can hold: refused, not cut. */
	struct buf raw, t;
	buf_init_secure(&raw, 4096);
	buf_init_secure(&t, 8);
	cr_assert_eq(buf_adds(&raw, "#c\n0123456789\n"), 0);
	cr_assert_eq(editor_strip(&raw, &t), -1);
	buf_free(&raw);
	buf_free(&t);
}

Test(export, editor_command_is_split_on_blanks)
{
	char store[64], path[] = "/dev/shm/x/reply.txt", *argv[EDITOR_ARGS_MAX + 2];
	cr_assert_eq(editor_split("code --wait  -n", store, sizeof(store), argv, path), 3);
	cr_assert_str_eq(argv[0], "code");
	cr_assert_str_eq(argv[1], "--wait");
	cr_assert_str_eq(argv[2], "-n");
	cr_assert_eq(argv[3], path);
	cr_assert_null(argv[4]);
	cr_assert_eq(editor_split("\t vi \t", store, sizeof(store), argv, path), 1);
	cr_assert_str_eq(argv[0], "vi");
	cr_assert_eq(argv[1], path);
	cr_assert_eq(editor_split("", store, sizeof(store), argv, path), 0);
	cr_assert_eq(editor_split("   ", store, sizeof(store), argv, path), 0);
	cr_assert_eq(editor_split(NULL, store, sizeof(store), argv, path), 0);
	/* No shell: quotes and $ are plain characters. */
	cr_assert_eq(editor_split("ed '$HOME' \"x\";rm", store, sizeof(store), argv, path), 3);
	cr_assert_str_eq(argv[1], "'$HOME'");
	cr_assert_str_eq(argv[2], "\"x\";rm");
	/* Too long for the store: refused; too many words: capped. */
	char lng[200];
	memset(lng, 'a', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	cr_assert_eq(editor_split(lng, store, sizeof(store), argv, path), 0);
	char many[256], big[256];
	for (int i = 0; i < 40; i++)
		memcpy(many + 2 * i, "w ", 2);
	many[80] = '\0';
	cr_assert_eq(editor_split(many, big, sizeof(big), argv, path), EDITOR_ARGS_MAX);
	cr_assert_eq(argv[EDITOR_ARGS_MAX], path);
	cr_assert_null(argv[EDITOR_ARGS_MAX + 1]);
}

Test(export, editor_directory_must_be_ours_and_in_ram)
{
	char f[128];
	cr_assert(editor_dir_ok("/dev/shm", true), "/dev/shm is sticky tmpfs");
	cr_assert(!editor_dir_ok("/dev/shm", false), "/dev/shm is shared");
	cr_assert(editor_dir_ok(shm, false));
	cr_assert_eq(chmod(shm, 0777), 0);
	cr_assert(!editor_dir_ok(shm, false), "a world-writable directory is not ours");
	cr_assert_eq(chmod(shm, 0700), 0);
	snprintf(f, sizeof(f), "%s/file", shm);
	put(f, "x");
	cr_assert(!editor_dir_ok(f, false), "a file");
	snprintf(f, sizeof(f), "%s/link", shm);
	cr_assert_eq(symlink(shm, f), 0);
	cr_assert(!editor_dir_ok(f, false), "a symbolic link");
	cr_assert(!editor_dir_ok(NULL, false));
	cr_assert(!editor_dir_ok("", false));
	cr_assert(!editor_dir_ok("dev/shm", true), "relative");
	cr_assert(!editor_dir_ok("/nonexistent", true));
	struct statfs fs;
	if (statfs("/proc", &fs) == 0)
		cr_assert(!editor_dir_ok("/proc", true), "/proc is not tmpfs");
}

Test(export, editor_file_header_warns_for_a_reply)
{
	char path[256], dir[64];
	struct stat st;
	size_t n = 0;
	snprintf(dir, sizeof(dir), "%s", shm);
	cr_assert_eq(editor_make_file(true, true, RID, dir, path, sizeof(path)), 0);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	char *s = util_read_file(path, 65536, &n);
	cr_assert_not_null(s);
	cr_assert_not_null(strstr(s, "WARNING: whoever holds this report's receipt will read"), "%s",
	                   s);
	cr_assert_not_null(strstr(s, RID));
	cr_assert_eq(s[0], '\n', "the first line is left for the text");
	free(s);
	/* a reply on a report whose source forgot the receipt: the team only */
	cr_assert_eq(editor_make_file(true, false, RID, dir, path, sizeof(path)), 0);
	s = util_read_file(path, 65536, &n);
	cr_assert_null(strstr(s, "whoever holds"), "%s", s);
	cr_assert_not_null(strstr(s, "forgotten this report's receipt: no one outside"), "%s", s);
	free(s);
	cr_assert_eq(editor_make_file(false, true, RID, dir, path, sizeof(path)), 0);
	s = util_read_file(path, 65536, &n);
	cr_assert_null(strstr(s, "receipt"), "%s", s);
	cr_assert_not_null(strstr(s, "never the source"), "%s", s);
	free(s);
	cr_assert_eq(editor_make_file(false, true, RID, "/nonexistent", path, sizeof(path)), -1);
}

Test(export, editor_cleanup_zeroes_and_removes_everything)
{
	char dir[128], a[160], b[160];
	snprintf(dir, sizeof(dir), "%s/tipctl-XXXXXX", shm);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/reply-abc.txt", dir);
	snprintf(b, sizeof(b), "%s/.reply-abc.txt.swp", dir);
	put(a, "secret words the source must not lose");
	put(b, "swap file copy of the secret words");
	int fd = open(a, O_RDONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(editor_cleanup(dir), 0);
	cr_assert_eq(access(dir, F_OK), -1, "the directory is still there");
	/* The inode we still hold was overwritten with zeros before the unlink. */
	char back[64];
	ssize_t r = pread(fd, back, sizeof(back), 0);
	close(fd);
	cr_assert_eq(r, (ssize_t)strlen("secret words the source must not lose"));
	for (ssize_t i = 0; i < r; i++)
		cr_assert_eq(back[i], 0, "byte %zd not wiped", i);
	/* A directory that is not there is reported. */
	cr_assert_eq(editor_cleanup(dir), -1);
}

/* The editor script: MODE then the file. */
static const char script[] =
	"#!/bin/sh\n"
	"f=$2\n"
	"case $1 in\n"
	"ok) printf 'Dear source,\\n\\nwe are here.\\n' >> \"$f\"; echo swap > \"$f.swp\" ;;\n"
	"fail) printf 'never sent\\n' >> \"$f\"; exit 7 ;;\n"
	"empty) : ;;\n"
	"huge) head -c 70000 /dev/zero | tr '\\\\0' a >> \"$f\" ;;\n"
	"esac\n";

/* Run the editor mode with EDITOR="sh SCRIPT mode"; return its result; `t` gets the text. */
static int
edit(const char *mode, bool is_reply, struct buf *t)
{
	char sp[128], cmd[192];
	snprintf(sp, sizeof(sp), "%s/ed.sh", shm);
	put(sp, script);
	snprintf(cmd, sizeof(cmd), "sh %s %s", sp, mode);
	cr_assert_eq(unsetenv("VISUAL"), 0);
	cr_assert_eq(setenv("EDITOR", cmd, 1), 0);
	cr_assert_eq(setenv("XDG_RUNTIME_DIR", shm, 1), 0);
	return editor_text(is_reply, true, RID, t);
}

/* Assert that only the script is left in `shm`. */
static void
only_script_left(void)
{
	DIR *d = opendir(shm);
	struct dirent *e;
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		cr_assert(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		                  strcmp(e->d_name, "ed.sh") == 0,
		          "%s/%s was left behind", shm, e->d_name);
	closedir(d);
}

Test(export, editor_run_reads_the_text_and_leaves_nothing)
{
	struct buf t;
	buf_init_secure(&t, TIPS_REPLY_TEXT_MAX);
	cr_assert_eq(edit("ok", true, &t), 0);
	cr_assert_eq(t.len, strlen("Dear source,\n\nwe are here."));
	cr_assert_eq(memcmp(t.data, "Dear source,\n\nwe are here.", t.len), 0);
	only_script_left();
	buf_reset(&t);
	cr_assert_eq(edit("fail", true, &t), -1);
	only_script_left();
	cr_assert_eq(edit("empty", false, &t), -1);
	cr_assert_eq(t.len, 0);
	only_script_left();
	cr_assert_eq(edit("huge", true, &t), -1, "more than 64 KiB was accepted");
	only_script_left();
	/* With $XDG_RUNTIME_DIR unusable, /dev/shm is used (and cleaned) instead. */
	buf_reset(&t);
	char sp[128], cmd[192];
	snprintf(sp, sizeof(sp), "%s/ed.sh", shm);
	snprintf(cmd, sizeof(cmd), "sh %s ok", sp);
	cr_assert_eq(setenv("VISUAL", cmd, 1), 0);
	cr_assert_eq(setenv("EDITOR", "false", 1), 0);
	cr_assert_eq(setenv("XDG_RUNTIME_DIR", "relative/dir", 1), 0);
	cr_assert_eq(editor_text(false, true, RID, &t), 0, "VISUAL was not used");
	cr_assert_eq(t.len, strlen("Dear source,\n\nwe are here."));
	buf_free(&t);
}

Test(export, report_json_without_padding)
{
	struct buf out, small;
	const char pt[] = "tipline/v1 report " RID " " RID "\n{\"a\":\"x  \"}     ";
	buf_init_secure(&out, 1024);
	buf_init_secure(&small, 4);
	cr_assert_eq(report_json_bytes((const uint8_t *)pt, sizeof(pt) - 1, RID, &out), 0);
	cr_assert_str_eq(buf_cstr(&out), "{\"a\":\"x  \"}");
	buf_reset(&out);
	cr_assert_eq(report_json_bytes((const uint8_t *)pt, sizeof(pt) - 1,
	                               "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee2", &out), -1);
	cr_assert_eq(report_json_bytes((const uint8_t *)pt, 20, RID, &out), -1);
	cr_assert_eq(report_json_bytes((const uint8_t *)pt, sizeof(pt) - 1, RID, &small), -1);
	const char blank[] = "tipline/v1 report " RID " " RID "\n    ";
	cr_assert_eq(report_json_bytes((const uint8_t *)blank, sizeof(blank) - 1, RID, &out), 0);
	cr_assert_eq(out.len, 0);
	buf_free(&out);
	buf_free(&small);
}

Test(export, manifest_lines)
{
	char f[128], hex[65];
	uint8_t h[32];
	struct buf m;
	buf_init(&m, 4096);
	int dfd = open(shm, O_RDONLY | O_DIRECTORY);
	cr_assert(dfd >= 0);
	snprintf(f, sizeof(f), "%s/report.txt", shm);
	put(f, "hello\n");
	crypto_hash_sha256(h, (const uint8_t *)"hello\n", 6);
	util_hex(h, 32, hex);
	cr_assert_eq(tips_export_manifest_add(dfd, "report.txt", "report.txt", &m), 0);
	char want[128];
	snprintf(want, sizeof(want), "%s  report.txt\n", hex);
	cr_assert_str_eq(buf_cstr(&m), want);
	/* The line is what `sha256sum -c` reads. */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cd '%s' && printf '%%s' '%s' | sha256sum --strict --quiet -c -",
	         shm, buf_cstr(&m));
	cr_assert_eq(system(cmd), 0, "sha256sum disagrees with %s", buf_cstr(&m));
	/* Refused: a symbolic link, a directory, a missing file, odd names, a full manifest. */
	snprintf(f, sizeof(f), "%s/link", shm);
	cr_assert_eq(symlink("report.txt", f), 0);
	cr_assert_eq(tips_export_manifest_add(dfd, "link", "link", &m), -1);
	cr_assert_eq(errno, ELOOP);
	snprintf(f, sizeof(f), "%s/sub", shm);
	cr_assert_eq(mkdir(f, 0700), 0);
	cr_assert_eq(tips_export_manifest_add(dfd, "sub", "sub", &m), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(tips_export_manifest_add(dfd, "missing", "missing", &m), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(tips_export_manifest_add(dfd, "report.txt", "a\nb", &m), -1);
	cr_assert_eq(tips_export_manifest_add(dfd, "report.txt", "a\\b", &m), -1);
	cr_assert_str_eq(buf_cstr(&m), want, "a refused file changed the manifest");
	struct buf tiny;
	buf_init(&tiny, 16);
	cr_assert_eq(tips_export_manifest_add(dfd, "report.txt", "report.txt", &tiny), -1);
	buf_free(&tiny);
	close(dfd);
	buf_free(&m);
}

/* Run tips export with `args` (argv[0] = "export"); return its exit code. */
static int
run_export(char **args)
{
	int argc = 0;
	while (args[argc] != NULL)
		argc++;
	return tips_export_main(argc, args);
}

Test(export, refusals_before_connecting)
{
	char p[256], out[128], home[128];
	snprintf(home, sizeof(home), "%s/home", shm);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0); /* no session here */
	snprintf(out, sizeof(out), "%s/out", shm);
	cr_assert_eq(mkdir(out, 0700), 0);
	char *help[] = { "export", "--help", NULL };
	cr_assert_eq(run_export(help), CLI_OK);
	char *noid[] = { "export", "--out", out, NULL };
	cr_assert_eq(run_export(noid), CLI_USAGE);
	char *badid[] = { "export", "not-a-uuid", "--out", out, NULL };
	cr_assert_eq(run_export(badid), CLI_USAGE);
	char *two[] = { "export", RID, RID, "--out", out, NULL };
	cr_assert_eq(run_export(two), CLI_USAGE);
	char *noout[] = { "export", RID, NULL };
	cr_assert_eq(run_export(noout), CLI_USAGE);
	char *unknown[] = { "export", RID, "--out", out, "--force", NULL };
	cr_assert_eq(run_export(unknown), CLI_USAGE);
	/* DIR/ID exists (even as a dangling link): refused, untouched. */
	snprintf(p, sizeof(p), "%s/%s", out, RID);
	cr_assert_eq(symlink("/nonexistent", p), 0);
	char *ok[] = { "export", RID, "--out", out, NULL };
	cr_assert_eq(run_export(ok), CLI_ERR);
	struct stat st;
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(unlink(p), 0);
	/* DIR is a symbolic link, or missing: refused. */
	snprintf(p, sizeof(p), "%s/outlink", shm);
	cr_assert_eq(symlink(out, p), 0);
	char *via_link[] = { "export", RID, "--out", p, NULL };
	cr_assert_eq(run_export(via_link), CLI_ERR);
	snprintf(p, sizeof(p), "%s/missing", shm);
	char *missing[] = { "export", RID, "--out", p, NULL };
	cr_assert_eq(run_export(missing), CLI_ERR);
	/* Not logged in: refused after the checks, nothing created. */
	cr_assert_eq(run_export(ok), CLI_ERR);
	snprintf(p, sizeof(p), "%s/%s", out, RID);
	cr_assert_eq(access(p, F_OK), -1);
}
