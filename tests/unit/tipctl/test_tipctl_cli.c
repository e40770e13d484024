/*
 * Tests for the tipctl binary ($TIPCTL): init, whoami, admin keygen and admin
 * membership, run the way a user runs them, in a temporary directory.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "membership.h"
#include "names.h"
#include "note.h"

static char dir[64];
static char out_txt[65536], err_txt[65536];

static void
setup(void)
{
	char home[128];
	cr_assert(sodium_init() >= 0);
	cr_assert_not_null(getenv("TIPCTL"), "TIPCTL must name the tipctl binary");
	snprintf(dir, sizeof(dir), "/tmp/test_tipctl.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(home, sizeof(home), "%s/home", dir);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	cr_assert_eq(setenv("TIPLINE_SCRYPT_LOGN", "10", 1), 0);
	cr_assert_eq(chdir(dir), 0);
}

static void
teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(tipctl, .init = setup, .fini = teardown, .timeout = 60);

static void
slurp(const char *path, char *out, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0;
	if (f != NULL) {
		n = fread(out, 1, max - 1, f);
		fclose(f);
	}
	out[n] = '\0';
}

/* Run tipctl with the NULL-terminated arguments; capture output; return the exit status. */
static int
tipctl(const char *arg, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	argv[argc++] = getenv("TIPCTL");
	va_start(ap, arg);
	for (const char *a = arg; a != NULL && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)(uintptr_t)a;
	va_end(ap);
	argv[argc] = NULL;
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int o = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int n = open("/dev/null", O_RDONLY);
		if (o < 0 || e < 0 || n < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(n, 0) < 0)
			_exit(99);
		setsid(); /* no controlling terminal: tipctl must not hang on a prompt */
		execv(argv[0], argv);
		_exit(98);
	}
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	slurp("stdout.txt", out_txt, sizeof(out_txt));
	slurp("stderr.txt", err_txt, sizeof(err_txt));
	cr_assert(WIFEXITED(st), "tipctl died: %s", err_txt);
	return WEXITSTATUS(st);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* Copy the value after "key:" (or "key =") on its line of out_txt into `val`. */
static void
field(const char *key, char *val, size_t max)
{
	const char *p = strstr(out_txt, key);
	cr_assert_not_null(p, "no '%s' in output: %s", key, out_txt);
	p += strlen(key);
	while (*p == ' ' || *p == ':' || *p == '=')
		p++;
	size_t n = strcspn(p, "\n");
	cr_assert(n < max);
	memcpy(val, p, n);
	val[n] = '\0';
}

static mode_t
mode_of(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s missing", path);
	return st.st_mode & 0777;
}

Test(tipctl, init_and_whoami)
{
	char rec[128], member[256], rec2[128], idpath[128];
	write_text("pw", "a good long passphrase\n");
	write_text("bad", "not the passphrase\n");
	cr_assert_eq(tipctl("init", "--passphrase-file", "pw", "--name", "alice", NULL), 0, "%s",
	             err_txt);
	field("recipient", rec, sizeof(rec));
	field("member", member, sizeof(member));
	cr_assert(strncmp(rec, "age1", 4) == 0);
	struct membership_member m;
	cr_assert_eq(membership_member_parse(member, strlen(member), &m), 0, "bad member line %s",
	             member);
	cr_assert_str_eq(m.name, "alice");
	cr_assert_str_eq(m.recipient, rec);
	snprintf(idpath, sizeof(idpath), "%s/home/identity.age", dir);
	cr_assert_eq(mode_of(idpath), 0600);
	snprintf(rec2, sizeof(rec2), "%s/home", dir);
	cr_assert_eq(mode_of(rec2), 0700);

	cr_assert_eq(tipctl("whoami", "--passphrase-file", "pw", NULL), 0, "%s", err_txt);
	field("recipient", rec2, sizeof(rec2));
	cr_assert_str_eq(rec2, rec);
	cr_assert_eq(tipctl("whoami", "--passphrase-file", "bad", NULL), 1);
	cr_assert_not_null(strstr(err_txt, "wrong passphrase"), "unclear error: %s", err_txt);
	cr_assert_eq(out_txt[0], '\0', "printed keys despite the wrong passphrase");

	/* No silent overwrite; --force replaces the keys. */
	cr_assert_eq(tipctl("init", "--passphrase-file", "pw", NULL), 1);
	cr_assert_not_null(strstr(err_txt, "already exists"));
	cr_assert_eq(tipctl("whoami", "--passphrase-file", "pw", NULL), 0);
	field("recipient", rec2, sizeof(rec2));
	cr_assert_str_eq(rec2, rec, "identity changed without --force");
	cr_assert_eq(tipctl("init", "--passphrase-file", "pw", "--force", NULL), 0, "%s", err_txt);
	cr_assert_eq(tipctl("whoami", "--passphrase-file", "pw", NULL), 0);
	field("recipient", rec2, sizeof(rec2));
	cr_assert_str_neq(rec2, rec);
	cr_assert_eq(mode_of(idpath), 0600);
}

Test(tipctl, init_refuses_weak_or_missing_passphrases)
{
	write_text("short", "2short\n");
	cr_assert_eq(tipctl("init", "--identity", "x.age", "--passphrase-file", "short", NULL), 1);
	cr_assert_not_null(strstr(err_txt, "at least 10"), "%s", err_txt);
	cr_assert_neq(access("x.age", F_OK), 0, "identity written with a weak passphrase");
	write_text("empty", "\n");
	cr_assert_eq(tipctl("init", "--identity", "x.age", "--passphrase-file", "empty", NULL), 1);
	cr_assert_eq(tipctl("init", "--identity", "x.age", "--passphrase-file", "nope", NULL), 1);
	cr_assert_not_null(strstr(err_txt, "nope"));
	/* No terminal and no passphrase file: a clear error, not a hang. */
	cr_assert_eq(tipctl("init", "--identity", "x.age", NULL), 1);
	cr_assert_not_null(strstr(err_txt, "--passphrase-file"), "%s", err_txt);
	cr_assert_neq(access("x.age", F_OK), 0);
	cr_assert_eq(tipctl("whoami", "--identity", "missing.age", "--passphrase-file", "short", NULL), 1);
	cr_assert_not_null(strstr(err_txt, "tipctl init"), "%s", err_txt);
}

/* Make an identity named `name` at `path` and return its member line in `member`. */
static void
make_member(const char *name, const char *path, char *member, size_t max)
{
	cr_assert_eq(tipctl("init", "--identity", path, "--passphrase-file", "pw", "--name", name,
	                    NULL), 0, "%s", err_txt);
	field("member", member, max);
}

/* Open statement file `path` against the admin key text `vkey`. */
static enum membership_result
open_statement(const char *path, const char *vkey, struct membership **m)
{
	static char note[65536];
	slurp(path, note, sizeof(note));
	struct note_verifier *v = note_verifier_parse(vkey, strlen(vkey));
	cr_assert_not_null(v, "printed admin key does not parse: %s", vkey);
	const struct note_verifier *vs[1] = { v };
	enum membership_result r = membership_open(note, strlen(note), vs, 1, m);
	note_verifier_free(v);
	return r;
}

Test(tipctl, admin_keygen_and_membership_chain)
{
	char alice[256], bob[256], carol[256], vkey[256], vkey2[256], line[1024];
	write_text("pw", "a good long passphrase\n");
	write_text("apw", "the admin's passphrase\n");
	write_text("wrong", "the admin's passphrasE\n");
	make_member("alice", "alice.age", alice, sizeof(alice));
	make_member("bob", "bob.age", bob, sizeof(bob));
	make_member("carol", "carol.age", carol, sizeof(carol));

	cr_assert_eq(tipctl("admin", "keygen", "--name", "admin.tipline.test", "--out", "admin.key",
	                    "--passphrase-file", "apw", NULL), 0, "%s", err_txt);
	field("admin_key =", vkey, sizeof(vkey));
	cr_assert_eq(mode_of("admin.key"), 0600);
	cr_assert_eq(tipctl("admin", "keygen", "--name", "admin.tipline.test", "--out", "admin.key",
	                    "--passphrase-file", "apw", NULL), 1, "overwrote an admin key");
	cr_assert_eq(tipctl("admin", "keygen", "--name", "other", "--out", "other.key",
	                    "--passphrase-file", "apw", NULL), 0);
	field("admin_key =", vkey2, sizeof(vkey2));

	/* seq 1: alice and bob */
	cr_assert_eq(tipctl("admin", "membership", "--key", "admin.key", "--passphrase-file", "apw",
	                    "--team", "trafficking-nl", "--first", "--member", alice, "--member", bob,
	                    "--out", "s1.note", NULL), 0, "%s", err_txt);
	cr_assert_not_null(strstr(out_txt, "fingerprint"));
	struct membership *s1 = NULL, *s2 = NULL, *x = NULL;
	cr_assert_eq(open_statement("s1.note", vkey, &s1), MEMBERSHIP_OK);
	cr_assert_eq(membership_check_next(NULL, s1), MEMBERSHIP_OK);
	cr_assert_eq(membership_count(s1), 2);
	cr_assert_not_null(membership_find(s1, "bob"));
	char fp[NAMES_FP_LEN + 1];
	names_fingerprint(membership_find(s1, "bob")->ed25519_pk, fp);
	cr_assert_not_null(strstr(out_txt, fp), "bob's fingerprint not shown as xxxx xxxx xxxx xxxx");
	cr_assert_eq(open_statement("s1.note", vkey2, &x), MEMBERSHIP_ERR_UNSIGNED);

	/* seq 2: bob leaves, carol joins (from a members file) */
	snprintf(line, sizeof(line), "# team members\n%s\n\n%s\n", alice, carol);
	write_text("members.txt", line);
	cr_assert_eq(tipctl("admin", "membership", "--key", "admin.key", "--passphrase-file", "apw",
	                    "--team", "trafficking-nl", "--prev", "s1.note", "--members", "members.txt",
	                    "--out", "s2.note", NULL), 0, "%s", err_txt);
	cr_assert_not_null(strstr(out_txt, "removed"));
	cr_assert_eq(open_statement("s2.note", vkey, &s2), MEMBERSHIP_OK);
	cr_assert_eq(membership_seq(s2), 2);
	cr_assert_eq(membership_check_next(s1, s2), MEMBERSHIP_OK);
	cr_assert_null(membership_find(s2, "bob"));
	cr_assert_not_null(membership_find(s2, "carol"));
	cr_assert_eq(membership_check_next(s2, s1), MEMBERSHIP_ERR_STALE);

	/* The output file is never overwritten; a wrong passphrase is a clear error. */
	cr_assert_eq(tipctl("admin", "membership", "--key", "admin.key", "--passphrase-file", "apw",
	                    "--team", "trafficking-nl", "--first", "--out", "s2.note", NULL), 1);
	cr_assert_eq(tipctl("admin", "membership", "--key", "admin.key", "--passphrase-file", "wrong",
	                    "--team", "trafficking-nl", "--first", "--out", "s3.note", NULL), 1);
	cr_assert_not_null(strstr(err_txt, "wrong passphrase"), "%s", err_txt);
	/* A previous statement from another team, or by an untrusted admin, is refused. */
	cr_assert_eq(tipctl("admin", "membership", "--key", "admin.key", "--passphrase-file", "apw",
	                    "--team", "other-team", "--prev", "s2.note", "--out", "s3.note", NULL), 1);
	cr_assert_eq(tipctl("admin", "membership", "--key", "other.key", "--passphrase-file", "apw",
	                    "--team", "trafficking-nl", "--prev", "s2.note", "--out", "s3.note", NULL), 1);
	cr_assert_not_null(strstr(err_txt, "not signed by a pinned admin key"), "%s", err_txt);
	cr_assert_eq(tipctl("admin", "membership", "--key", "other.key", "--passphrase-file", "apw",
	                    "--team", "trafficking-nl", "--prev", "s2.note", "--trust", vkey,
	                    "--member", carol, "--out", "s3.note", NULL), 0, "%s", err_txt);
	cr_assert_eq(open_statement("s3.note", vkey2, &x), MEMBERSHIP_OK);
	cr_assert_eq(membership_check_next(s2, x), MEMBERSHIP_OK);
	membership_free(x);
	/* A malformed or duplicated member line is refused, and no file is written. */
	cr_assert_eq(tipctl("admin", "membership", "--key", "admin.key", "--passphrase-file", "apw",
	                    "--team", "t", "--first", "--member", "alice age1xyz AAAA", "--out",
	                    "bad.note", NULL), 1);
	cr_assert_eq(tipctl("admin", "membership", "--key", "admin.key", "--passphrase-file", "apw",
	                    "--team", "t", "--first", "--member", alice, "--member", alice, "--out",
	                    "bad.note", NULL), 1);
	cr_assert_neq(access("bad.note", F_OK), 0);
	membership_free(s1);
	membership_free(s2);
}

Test(tipctl, usage_errors_and_help)
{
	cr_assert_eq(tipctl(NULL), 2);
	cr_assert_eq(tipctl("frobnicate", NULL), 2);
	cr_assert_not_null(strstr(err_txt, "unknown command"));
	cr_assert_eq(tipctl("init", "--bogus", NULL), 2);
	cr_assert_eq(tipctl("init", "extra-arg", NULL), 2);
	cr_assert_eq(tipctl("init", "--name", "no spaces please", NULL), 2);
	cr_assert_eq(tipctl("init", "--identity", NULL), 2);
	cr_assert_eq(tipctl("whoami", "--force", NULL), 2);
	cr_assert_eq(tipctl("admin", NULL), 2);
	cr_assert_eq(tipctl("admin", "nope", NULL), 2);
	cr_assert_eq(tipctl("admin", "keygen", "--out", "k", NULL), 2);
	cr_assert_eq(tipctl("admin", "keygen", "--name", "a+b", "--out", "k", NULL), 2);
	cr_assert_eq(tipctl("admin", "membership", "--key", "k", "--team", "t", "--out", "o", NULL), 2);
	cr_assert_not_null(strstr(err_txt, "--first"));
	cr_assert_eq(tipctl("admin", "membership", "--key", "k", "--team", "t", "--first", "--prev",
	                    "p", "--out", "o", NULL), 2);
	cr_assert_eq(tipctl("admin", "membership", "--key", "k", "--team", "Bad_Team", "--first",
	                    "--out", "o", NULL), 2);
	cr_assert_eq(tipctl("admin", "membership", "--team", "t", "--first", "--out", "o", NULL), 2);

	cr_assert_eq(tipctl("--help", NULL), 0);
	cr_assert_not_null(strstr(out_txt, "usage: tipctl"));
	const char *cmds[][2] = { { "init", NULL }, { "whoami", NULL }, { "admin", "keygen" },
		                  { "admin", "membership" } };
	for (size_t i = 0; i < 4; i++) {
		int rc = cmds[i][1] ? tipctl(cmds[i][0], cmds[i][1], "--help", NULL)
		                    : tipctl(cmds[i][0], "--help", NULL);
		cr_assert_eq(rc, 0);
		char want[64];
		snprintf(want, sizeof(want), "usage: tipctl %s%s%s", cmds[i][0], cmds[i][1] ? " " : "",
		         cmds[i][1] ? cmds[i][1] : "");
		cr_assert_not_null(strstr(out_txt, want), "help for %s: %s", want, out_txt);
	}
}

/* Count the passphrase prompts in `s`. */
static int
prompts_in(const char *s)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, "assphrase")) != NULL; p++)
		/* not the refusals "passphrases do not match", "passphrase must have" */
		n += strncmp(p + 9, "s do", 4) != 0 && strncmp(p + 9, " must", 5) != 0;
	return n;
}

/*
 * Run tipctl with `args` on a pseudo-terminal, typing answers[i] at the
 * i-th passphrase prompt. Everything it printed lands in out_txt. Return
 * its exit status, or -1 on a timeout.
 */
static int
tipctl_tty(char *const args[], const char *const answers[], int nanswers)
{
	int master = -1, typed = 0;
	size_t got = 0;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert(pid >= 0);
	if (pid == 0) {
		execv(getenv("TIPCTL"), args);
		_exit(98);
	}
	out_txt[0] = '\0';
	for (;;) {
		struct pollfd pfd = { master, POLLIN, 0 };
		if (poll(&pfd, 1, 20000) <= 0)
			break;
		ssize_t r = read(master, out_txt + got, sizeof(out_txt) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		out_txt[got] = '\0';
		while (typed < nanswers && prompts_in(out_txt) > typed) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			const char *a = answers[typed++];
			cr_assert_eq(write(master, a, strlen(a)), (ssize_t)strlen(a));
			cr_assert_eq(write(master, "\r", 1), 1);
		}
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

Test(tipctl, passphrase_typed_at_the_terminal)
{
	char *init[] = { "tipctl", "init", "--identity", "tty.age", "--name", "dana", NULL };
	const char *same[] = { "typed at the terminal", "typed at the terminal" };
	cr_assert_eq(tipctl_tty(init, same, 2), 0, "%s", out_txt);
	cr_assert_eq(prompts_in(out_txt), 2, "asked %d times: %s", prompts_in(out_txt), out_txt);
	cr_assert_null(strstr(out_txt, "typed at the terminal"), "passphrase echoed: %s", out_txt);
	cr_assert_not_null(strstr(out_txt, "member:      dana age1"));
	write_text("pw", "typed at the terminal\n");
	cr_assert_eq(tipctl("whoami", "--identity", "tty.age", "--passphrase-file", "pw", NULL), 0,
	             "the typed passphrase does not open the file: %s", err_txt);

	char *init2[] = { "tipctl", "init", "--identity", "tty2.age", NULL };
	/* a mismatch or a too-short one is said at once and asked again, three times */
	const char *differ[] = { "first passphrase", "second passphrase", "first passphrase",
		                 "second passphrase", "first passphrase", "second passphrase" };
	cr_assert_eq(tipctl_tty(init2, differ, 6), 1);
	cr_assert_not_null(strstr(out_txt, "do not match: try again"), "%s", out_txt);
	const char *weak[] = { "short", "short", "short" };
	cr_assert_eq(tipctl_tty(init2, weak, 3), 1);
	cr_assert_not_null(strstr(out_txt, "at least 10 characters: try again"), "%s", out_txt);
	cr_assert_null(strstr(out_txt, "Repeat"), "asked to repeat a too-short one: %s", out_txt);
	cr_assert_neq(access("tty2.age", F_OK), 0);
	const char *fixed[] = { "short", "long enough now", "long enough now" };
	cr_assert_eq(tipctl_tty(init2, fixed, 3), 0, "%s", out_txt);
	cr_assert_eq(access("tty2.age", F_OK), 0);

	char *who[] = { "tipctl", "whoami", "--identity", "tty.age", NULL };
	const char *right[] = { "typed at the terminal" };
	/* without the passphrase cache: every run asks */
	cr_assert_eq(setenv("TIPLINE_PASS_CACHE", "0", 1), 0);
	cr_assert_eq(tipctl_tty(who, right, 1), 0, "%s", out_txt);
	/* three tries, then a refusal */
	const char *wrong[] = { "typed at the terminaL", "typed at the termina1",
		                "Typed at the terminal" };
	cr_assert_eq(tipctl_tty(who, wrong, 3), 1);
	cr_assert_not_null(strstr(out_txt, "try again (1 try left)"), "%s", out_txt);
	cr_assert_not_null(strstr(out_txt, "wrong passphrase"), "%s", out_txt);
	cr_assert_eq(unsetenv("TIPLINE_PASS_CACHE"), 0);
}
