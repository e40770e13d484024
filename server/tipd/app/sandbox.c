/*
 * sandbox: privilege drop, no-new-privileges and the seccomp filter (see
 * sandbox.h). The filter's allow list is one table; the system calls in it
 * are the ones tipd was seen to make after start-up under strace while the
 * integration tests drove intake, inbox, review, flush, SIGHUP and shutdown
 * (docs/threat-model.md, "Least privilege", says how to redo that).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

#ifdef SANDBOX_SANITIZER
static bool sandbox_on;

/* LeakSanitizer asks this at exit (sandbox.h says why it must not run). */
int __lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
	return sandbox_on;
}
#endif

/* Allowed without conditions on their arguments. Names unknown on this
 * architecture are skipped. */
static const char *const sandbox_allow[] = {
	/* memory (sodium_malloc guard pages use mprotect and mlock) */
	"brk", "munmap", "mremap", "madvise", "mlock", "munlock", "membarrier",
	/* threads and time (the vDSO covers most clock calls) */
	"futex", "sched_yield", "nanosleep", "clock_nanosleep", "clock_gettime",
	"gettimeofday", "getrandom", "getpid", "gettid", "getuid", "geteuid", "getgid",
	"getegid", "rseq", "set_robust_list", "exit", "exit_group", "restart_syscall",
	/* signals (libevent's signal pipe, raise for abort) */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	/* files: spool, state, certificates at SIGHUP, the questionnaire */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "openat", "fstat",
	"newfstatat", "statx", "lseek", "fsync", "fdatasync", "rename", "renameat",
	"renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "getdents64", "ftruncate", "fallocate", "fcntl",
	"dup", "pipe2", "eventfd2",
	/* network: accept, libpq (re)connecting, TLS */
	"accept4", "connect", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
	"setsockopt", "getsockopt", "getsockname", "getpeername", "poll", "ppoll",
	"epoll_wait", "epoll_pwait", "epoll_ctl",
};

#ifdef SANDBOX_SANITIZER
static const char *const sandbox_allow_sanitizer[] = {
	"clone", "ptrace", "wait4", "prctl", "getppid", "readlink", "sched_getaffinity",
	"mprotect", "mmap", "kill", "tgkill", "open", "access", "pipe", "socket",
};
#endif

static int
allow_names(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			return -1;
	}
	return 0;
}

/* A comparison of argument `arg`: equal to `v`, or (masked) `arg & mask == v`.
 * Spelled out, because libseccomp's SCMP_A* macros leave datum_b implicit. */
static struct scmp_arg_cmp
arg_eq(unsigned arg, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0 };
}

static struct scmp_arg_cmp
arg_masked(unsigned arg, scmp_datum_t mask, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask,
		                      .datum_b = v };
}

/* The calls allowed only with some arguments. */
static int
allow_conditional(scmp_filter_ctx ctx)
{
	static const int domains[] = { AF_UNIX, AF_INET, AF_INET6 };
	/* No executable memory after start-up: no shellcode staged in a new
	 * mapping, no library loaded. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	                     arg_masked(2, PROT_EXEC, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	                     arg_masked(2, PROT_EXEC, 0)) != 0)
		return -1;
	/* libpq reconnecting: local and IP sockets, never netlink or raw. */
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                     arg_eq(0, (scmp_datum_t)domains[i])) != 0)
			return -1;
	/* libevent and OpenSSL ask how much is buffered; nothing else. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	                     arg_eq(1, (scmp_datum_t)FIONREAD)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	                     arg_eq(1, (scmp_datum_t)FIONBIO)) != 0)
		return -1;
	/* Threads started after start-up, never a new process: clone only with
	 * CLONE_THREAD, and clone3 (whose flags sit in memory a filter cannot
	 * read) answers ENOSYS, so that glibc falls back to clone. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	                     arg_masked(0, CLONE_THREAD, CLONE_THREAD)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0)
		return -1;
	/* abort() and pthread_kill signal this process only. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	                     arg_eq(0, (scmp_datum_t)getpid())) != 0)
		return -1;
	return 0;
}

int
sandbox_enter(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = NULL;
	int rc = -1, step = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		goto fail;
	step = 1;
	/* Kill the whole process, not the thread: a half-dead tipd would hold
	 * connections open and answer nothing. */
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		goto fail;
	step = 2;
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0 ||
	    allow_names(ctx, sandbox_allow, sizeof(sandbox_allow) / sizeof(sandbox_allow[0])) != 0 ||
	    allow_conditional(ctx) != 0)
		goto fail;
#ifdef SANDBOX_SANITIZER
	if (allow_names(ctx, sandbox_allow_sanitizer,
	                sizeof(sandbox_allow_sanitizer) / sizeof(sandbox_allow_sanitizer[0])) != 0)
		goto fail;
#endif
	step = 3;
	if (seccomp_load(ctx) != 0)
		goto fail;
#ifdef SANDBOX_SANITIZER
	sandbox_on = true;
#endif
	rc = 0;
fail:
	if (rc != 0) {
		static const char *const what[] = { "no-new-privileges", "seccomp_init",
			                            "building the filter", "loading the filter" };
		snprintf(err, errlen, "sandbox: %s failed", what[step]);
	}
	seccomp_release(ctx);
	return rc;
}

/* Check that `path` is owned by `uid`. */
static int
owned_by(const char *path, uid_t uid, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != uid) {
		snprintf(err, errlen, "%s: must belong to [tipd] user (uid %u), not uid %u", path,
		         (unsigned)uid, (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

/* Keep memory lockable once CAP_IPC_LOCK is gone: RLIMIT_MEMLOCK unlimited.
 * If the hard limit forbids it, mlock = yes refuses; auto locks what is
 * there now (the keys) and stops locking new memory, which would otherwise
 * fail to allocate past the limit. */
static int
keep_locking(enum config_mlock mlock, char *err, size_t errlen)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	if (mlock == CONFIG_MLOCK_NO || setrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		return 0;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY)
		return 0;
	if (mlock == CONFIG_MLOCK_YES) {
		snprintf(err, errlen, "[tipd] mlock = yes and user: RLIMIT_MEMLOCK cannot be made "
		         "unlimited (LimitMEMLOCK=infinity in the systemd unit)");
		return -1;
	}
	if (mlockall(MCL_CURRENT) != 0) {
		snprintf(err, errlen, "mlockall: %s", strerror(errno));
		return -1;
	}
	log_warn("RLIMIT_MEMLOCK cannot be made unlimited: memory allocated from now on is not "
	         "locked (LimitMEMLOCK=infinity in the systemd unit)");
	return 0;
}

/* Switch every thread to `pw` and check there is no way back. */
static int
become(const struct passwd *pw, enum config_mlock mlock, char *err, size_t errlen)
{
	gid_t gid = pw->pw_gid;
	if (keep_locking(mlock, err, errlen) != 0)
		return -1;
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0 || r != pw->pw_uid ||
	    e != pw->pw_uid || s != pw->pw_uid || rg != gid || eg != gid || sg != gid ||
	    setuid(0) == 0 || seteuid(0) == 0) {
		snprintf(err, errlen, "privileges not dropped to %s", pw->pw_name);
		return -1;
	}
	return 0;
}

/* Dump nothing even if the process became dumpable again: the core dump
 * filter of every mapping off (the keys' pages are MADV_DONTDUMP already). */
static void
no_core_filter(void)
{
	int fd = open("/proc/self/coredump_filter", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0\n", 2) != 2)
		log_warn("cannot clear /proc/self/coredump_filter: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

int
sandbox_drop(const char *user, const char *own1, const char *own2, enum config_mlock mlock,
             char *err, size_t errlen)
{
	no_core_filter();
	if (user == NULL) {
		if (geteuid() == 0)
			log_warn("running as root: set [tipd] user to drop privileges after start-up");
		return 0;
	}
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "[tipd] user %s: no such user", user);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "[tipd] user %s: must not be root or in group root", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() != pw->pw_uid) {
			snprintf(err, errlen, "[tipd] user is %s but tipd runs as uid %u", user,
			         (unsigned)geteuid());
			return -1;
		}
		return 0;
	}
	if (owned_by(own1, pw->pw_uid, err, errlen) != 0 ||
	    owned_by(own2, pw->pw_uid, err, errlen) != 0)
		return -1;
	if (become(pw, mlock, err, errlen) != 0)
		return -1;
	/* A changed uid resets the dumpable flag to the system default. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "cannot stay undumpable: %s", strerror(errno));
		return -1;
	}
	log_info("running as %s (uid %u)", user, (unsigned)pw->pw_uid);
	return 0;
}

#ifdef TIPLINE_TEST_HOOKS
static void
on_test_signal(int sig)
{
	static const char msg[] = "tipd[test]: forbidden execve answered\n";
	char *const argv[] = { NULL };
	(void)sig;
	/* Allowed, it would fail with ENOENT; under the filter tipd dies here. */
	long r = syscall(SYS_execve, "/nonexistent/tipline-sandbox-test", argv, argv);
	(void)r;
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	(void)w;
}

int
sandbox_test_hook_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_test_signal;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR2, &sa, NULL) == 0 ? 0 : -1;
}
#endif
