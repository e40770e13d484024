/*
 * sandbox: what tipd gives up once it has started (docs/threat-model.md,
 * "Least privilege"). After the listeners are bound, the keys read and the
 * threads started, main calls sandbox_drop() and then sandbox_enter():
 *
 *   - [tipd] user: when started as root, become that user (setgroups,
 *     setgid, setuid, each checked, and checked that root cannot come back);
 *   - no new privileges (PR_SET_NO_NEW_PRIVS), for every thread;
 *   - a seccomp filter (libseccomp) on every thread that allows only the
 *     system calls tipd makes after start-up; any other kills the whole
 *     process (SIGSYS). [tipd] sandbox = no leaves it out, for debugging.
 */
#ifndef TIPD_SANDBOX_H
#define TIPD_SANDBOX_H

#include <stddef.h>

#include "config.h"

/* Sanitizer builds: LeakSanitizer's exit check stops the world with ptrace,
 * which hangs under the filter, and ASan makes mlock a no-op. There the
 * filter is off unless [tipd] sandbox = yes is written out (config.h's
 * CONFIG_SANDBOX_DEFAULT), and with it on the exit leak check is skipped
 * (the gcc suite runs everything filtered). */
#ifdef CONFIG_SANITIZER_BUILD
#define SANDBOX_SANITIZER 1
#endif

/* Become `user` if we are root and `user` is not NULL: refuse (-1, with the
 * reason in `err`) if it does not exist, is root, does not own `own1` or
 * `own2` (the spool and state directories, which it must write), or if any
 * step fails. Memory locked with MCL_FUTURE must stay lockable without
 * CAP_IPC_LOCK: RLIMIT_MEMLOCK is made unlimited first unless `mlock` is no;
 * if the hard limit forbids it, yes refuses and auto keeps only what is
 * locked now. Not root and `user` set: only checks that we already are
 * `user`. Always clears /proc/self/coredump_filter. Return 0 or -1. */
int sandbox_drop(const char *user, const char *own1, const char *own2, enum config_mlock mlock,
                 char *err, size_t errlen) __attribute__((warn_unused_result));

/* Set no-new-privileges and install the system call filter on every thread
 * of the process. Return 0, or -1 with the reason in `err`. */
int sandbox_enter(char *err, size_t errlen) __attribute__((warn_unused_result));

#ifdef TIPLINE_TEST_HOOKS
/* Test builds only: on SIGUSR2, tipd makes a system call the filter forbids
 * (execve of a path that does not exist) and logs what it answered if it
 * survives. Return 0 or -1. */
int sandbox_test_hook_install(void);
#endif

#endif
