/*
 * Least privilege (server/tipd/app/sandbox.h): the real tipd, started as
 * root with [tipd] user = nobody, runs as nobody with no new privileges and
 * its seccomp filter, still takes and delivers reports, keeps the receipt
 * pepper and the audit signing key in locked pages excluded from core
 * dumps, and is not dumpable. A forbidden system call (the test build's
 * SIGUSR2 hook: execve) kills it with SIGSYS; with [tipd] sandbox = no the
 * same call returns and tipd lives on (the positive control).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_common.h"
#include "util.h"

/* ASan makes mlock and mlockall no-ops: in sanitizer builds only the core
 * dump side of the key check can hold (the gcc build checks both). */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_LOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_LOCKS 0
#endif
#endif
#ifndef TEST_LOCKS
#define TEST_LOCKS 1
#endif

static struct th T;

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	th_setup(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(sandbox, .init = setup, .fini = teardown, .timeout = 120);

/* The value of line `key` ("Uid:", "VmLck:") of /proc/PID/status. */
static void
status_field(pid_t pid, const char *key, char *out, size_t n)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert(f != NULL, "%s", path);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0) {
			const char *v = line + strlen(key);
			while (*v == ' ' || *v == '\t')
				v++;
			size_t l = strcspn(v, "\n");
			while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
				l--;
			snprintf(out, n, "%.*s", (int)l, v);
		}
	fclose(f);
	cr_assert(out[0] != '\0', "no %s in %s", key, path);
}

/* Read the /proc file `path` (its size reads as 0, so not it_slurp) into
 * `out`; assert it is not empty. */
static void
proc_read(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	cr_assert(f != NULL, "%s", path);
	size_t got = fread(out, 1, n - 1, f);
	fclose(f);
	out[got] = '\0';
	cr_assert(got > 0, "%s is empty", path);
}

static void
submit_one(struct th *t)
{
	struct buf resp;
	buf_init(&resp, 1 << 16);
	const char *body = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	cr_assert_eq(it_post_json(t, 0, body, &resp), 201, "answer: %s", buf_cstr(&resp));
	it_assert_receipt(&resp);
	buf_free(&resp);
}

Test(sandbox, forbidden_syscall_kills_tipd)
{
	/* Written out: sanitizer builds default to no (sandbox.h). */
	snprintf(T.extra_conf, sizeof(T.extra_conf), "[tipd]\nsandbox = yes\n");
	th_write_conf(&T);
	th_start(&T);
	submit_one(&T); /* the filter lets the real work through */
	cr_assert_eq(kill(T.tipd, SIGUSR2), 0);
	int st = th_stop(&T, 0);
	cr_assert_eq(st, 128 + SIGSYS, "tipd ended with %d, not killed by SIGSYS (%d)", st,
	             128 + SIGSYS);
}

Test(sandbox, without_filter_the_same_call_returns)
{
	snprintf(T.extra_conf, sizeof(T.extra_conf), "[tipd]\nsandbox = no\n");
	th_write_conf(&T);
	th_start(&T);
	cr_assert_eq(kill(T.tipd, SIGUSR2), 0);
	struct buf log;
	buf_init(&log, 1 << 24);
	for (int i = 0; i < 100; i++) {
		it_slurp(T.log, &log);
		if (strstr(buf_cstr(&log), "forbidden execve answered") != NULL)
			break;
		usleep(50000);
	}
	cr_assert(strstr(buf_cstr(&log), "forbidden execve answered") != NULL,
	          "the test hook did not run: is tipd built with TIPLINE_TEST_HOOKS?");
	cr_assert(strstr(buf_cstr(&log), "no system call filter") != NULL);
	submit_one(&T);
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	buf_free(&log);
}

/* The VmFlags of the mapping of `pid` that holds address `a`. */
static void
vmflags_at(pid_t pid, unsigned long a, char *out, size_t n)
{
	char path[64], line[1024];
	int in = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert(f != NULL);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0)
			snprintf(out, n, "%.*s", (int)strcspn(line + 8, "\n"), line + 8);
	}
	fclose(f);
}

/* Find every copy of `key` in the readable mappings of `pid` (up to 64 MiB
 * each: the sanitizer's shadow is skipped); each must sit in a mapping that
 * is locked ("lo") and left out of core dumps ("dd"). Return the count. */
static int
key_copies(pid_t pid, const uint8_t *key, size_t klen, const char *what)
{
	char path[64], line[512];
	int copies = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int mem = open(path, O_RDONLY);
	cr_assert(maps != NULL && mem >= 0, "cannot read tipd's memory");
	while (fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 || perm[0] != 'r' ||
		    hi - lo > (64ul << 20))
			continue;
		uint8_t *b = malloc(hi - lo);
		cr_assert(b != NULL);
		ssize_t r = pread(mem, b, hi - lo, (off_t)lo);
		for (ssize_t i = 0; r > 0 && i + (ssize_t)klen <= r; i++) {
			if (memcmp(b + i, key, klen) != 0)
				continue;
			char flags[256];
			vmflags_at(pid, lo + (unsigned long)i, flags, sizeof(flags));
			cr_assert((!TEST_LOCKS || strstr(flags, " lo") != NULL) && strstr(flags, " dd") != NULL,
			          "a copy of the %s at %lx is in a mapping with VmFlags%s", what,
			          lo + (unsigned long)i, flags);
			copies++;
		}
		free(b);
	}
	fclose(maps);
	close(mem);
	return copies;
}

/* The audit key's 32-byte seed, from STATE_DIR/audit.key (PRIVATE+KEY+name+
 * hash+base64(0x01 || seed)). */
static void
audit_seed(struct th *t, uint8_t seed[32])
{
	char path[TH_PATH + 32];
	struct buf b;
	uint8_t raw[64];
	size_t n = 0;
	buf_init(&b, 4096);
	snprintf(path, sizeof(path), "%s/state/audit.key", t->dir);
	it_slurp(path, &b);
	/* The key is the fifth field: base64 itself may hold '+'. */
	const char *last = buf_cstr(&b);
	for (int i = 0; i < 4 && last != NULL; i++)
		if ((last = strchr(last, '+')) != NULL)
			last++;
	cr_assert(last != NULL && strncmp(buf_cstr(&b), "PRIVATE+KEY+", 12) == 0);
	last--;
	cr_assert_eq(sodium_base642bin(raw, sizeof(raw), last + 1, strcspn(last + 1, "\r\n"), NULL, &n,
	                               NULL, sodium_base64_VARIANT_ORIGINAL),
	             0);
	cr_assert_eq(n, 33);
	memcpy(seed, raw + 1, 32);
	buf_free(&b);
}

static void
give_to(const char *path, uid_t uid, gid_t gid)
{
	cr_assert_eq(chown(path, uid, gid), 0, "chown %s", path);
}

Test(sandbox, runs_as_user_with_keys_locked_and_undumpable)
{
	struct passwd *pw = getpwnam("nobody");
	cr_assert(pw != NULL && geteuid() == 0, "needs root and a user nobody");
	char state[TH_PATH + 16], status[256], path[TH_PATH + 16];
	snprintf(state, sizeof(state), "%s/state", T.dir);
	cr_assert(mkdir(state, 0700) == 0 || errno == EEXIST);
	cr_assert(mkdir(T.spool, 0700) == 0 || errno == EEXIST);
	give_to(T.spool, pw->pw_uid, pw->pw_gid);
	give_to(state, pw->pw_uid, pw->pw_gid);
	cr_assert_eq(chmod(T.dir, 0711), 0);
	snprintf(T.extra_conf, sizeof(T.extra_conf), "[tipd]\nuser = nobody\nsandbox = yes\n");
	th_write_conf(&T);
	th_start(&T);
	pid_t pid = T.tipd;

	char want[64];
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)pw->pw_uid, (unsigned)pw->pw_uid,
	         (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
	status_field(pid, "Uid:", status, sizeof(status));
	cr_assert_str_eq(status, want, "Uid: %s", status);
	status_field(pid, "Groups:", status, sizeof(status));
	snprintf(want, sizeof(want), "%u", (unsigned)pw->pw_gid);
	cr_assert_str_eq(status, want, "Groups: %s", status);
	status_field(pid, "CapEff:", status, sizeof(status));
	cr_assert_str_eq(status, "0000000000000000");
	status_field(pid, "NoNewPrivs:", status, sizeof(status));
	cr_assert_str_eq(status, "1");
	status_field(pid, "Seccomp:", status, sizeof(status));
	cr_assert_str_eq(status, "2", "Seccomp: %s (2 = filter)", status);
	status_field(pid, "VmLck:", status, sizeof(status));
	cr_assert(!TEST_LOCKS || strtoul(status, NULL, 10) > 0, "VmLck: %s", status);

	/* Not dumpable: the kernel makes its /proc files root's, not nobody's. */
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_uid, 0, "/proc/PID/status belongs to uid %u: tipd is dumpable",
	             (unsigned)st.st_uid);
	char text[4096], *end;
	snprintf(path, sizeof(path), "/proc/%d/coredump_filter", (int)pid);
	proc_read(path, text, sizeof(text));
	unsigned long filter = strtoul(text, &end, 16);
	cr_assert(end != text && filter == 0, "coredump_filter %s", text);
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	proc_read(path, text, sizeof(text));
	const char *core = strstr(text, "Max core file size");
	cr_assert(core != NULL, "%s", text);
	core += strlen("Max core file size");
	core += strspn(core, " ");
	cr_assert(strncmp(core, "0 ", 2) == 0, "core limit: %.40s", core);
	struct buf b;
	buf_init(&b, 1 << 16);

	/* The keys: found (positive control of the search), and only in locked,
	 * undumpable pages. */
	char hex[80];
	uint8_t pepper[32], seed[32];
	snprintf(path, sizeof(path), "%s/pepper", T.dir);
	it_slurp(path, &b);
	snprintf(hex, sizeof(hex), "%.64s", buf_cstr(&b));
	cr_assert_eq(sodium_hex2bin(pepper, 32, hex, 64, NULL, NULL, NULL), 0);
	cr_assert(key_copies(pid, pepper, 32, "receipt pepper") >= 1, "pepper not found in tipd");
	audit_seed(&T, seed);
	cr_assert(key_copies(pid, seed, 32, "audit key") >= 1, "audit key not found in tipd");

	/* As nobody, under the filter, the real work still happens. */
	submit_one(&T);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	buf_free(&b);
}

Test(sandbox, refuses_a_user_who_cannot_write_the_spool)
{
	/* The spool stays root's: tipd must say so and stop, not run as root. */
	snprintf(T.extra_conf, sizeof(T.extra_conf), "[tipd]\nuser = nobody\n");
	th_write_conf(&T);
	struct buf out;
	buf_init(&out, 1 << 16);
	char *argv[] = { "sh", "-c", "timeout 20 \"$0\" -c \"$1\" 2>&1", T.tipd_bin, T.conf, NULL };
	int rc = th_run(argv, NULL, 0, &out);
	cr_assert_eq(rc, 1, "tipd exited %d: %s", rc, buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "must belong to [tipd] user") != NULL, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "ready") == NULL, "%s", buf_cstr(&out));
	buf_free(&out);
}
