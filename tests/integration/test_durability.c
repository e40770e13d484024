/*
 * Property 4 (docs/architecture.md), checked at the system-call level: a
 * receipt leaves tipd only after the spool file is fsync'd, renamed to
 * ".rep" and its directory fsync'd. (A kill -9 test alone cannot show this:
 * the page cache survives the process.) tipd is traced with strace while one report is submitted,
 * and the order of the calls that completed is read back from the trace.
 * strace -y prints the path behind every descriptor, so the directory fsync
 * is matched to the spool directory itself and the rename to that directory,
 * not to any fsync that happens to follow.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_common.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

#define MAX_LINES 20000
#define MAX_PIDS 64

/* A completed system call: its whole text (args and result) and the order
 * in which it completed. */
struct call {
	char text[1024];
};

static struct call calls[MAX_LINES];
static int ncalls;

/* Rebuild completed calls from strace -f output, joining "<unfinished ...>"
 * lines with their "<... resumed>" continuations by thread id. */
static void
parse_trace(const char *path)
{
	static char pending[MAX_PIDS][1024];
	static long pids[MAX_PIDS];
	char line[4096];
	FILE *f = fopen(path, "r");
	cr_assert(f != NULL, "no trace file");
	ncalls = 0;
	memset(pids, 0, sizeof(pids));
	while (fgets(line, sizeof(line), f) != NULL && ncalls < MAX_LINES) {
		char *rest;
		long pid = strtol(line, &rest, 10);
		while (*rest == ' ')
			rest++;
		int slot = -1;
		for (int i = 0; i < MAX_PIDS; i++)
			if (pids[i] == pid || (slot < 0 && pids[i] == 0))
				slot = i;
		cr_assert(slot >= 0);
		char *unf = strstr(rest, " <unfinished ...>");
		if (unf != NULL) {
			*unf = '\0';
			pids[slot] = pid;
			snprintf(pending[slot], sizeof(pending[slot]), "%s", rest);
			continue;
		}
		char *res = strstr(rest, "resumed>");
		if (res != NULL && pids[slot] == pid) {
			snprintf(calls[ncalls++].text, sizeof(calls[0].text), "%s%s", pending[slot],
			         res + strlen("resumed>"));
			pids[slot] = 0;
			continue;
		}
		snprintf(calls[ncalls++].text, sizeof(calls[0].text), "%s", rest);
	}
	fclose(f);
}

/* Index of the first completed call at or after `from` that starts with
 * `prefix`, contains `needle` (may be NULL) and succeeded; -1 if none. */
static int
find(int from, const char *prefix, const char *needle)
{
	for (int i = from; i < ncalls; i++) {
		const char *t = calls[i].text;
		if (strncmp(t, prefix, strlen(prefix)) != 0)
			continue;
		if (needle != NULL && strstr(t, needle) == NULL)
			continue;
		const char *eq = strrchr(t, '=');
		if (eq != NULL && eq[1] == ' ' && eq[2] == '-')
			continue; /* failed */
		return i;
	}
	return -1;
}

Test(durability, receipt_only_after_file_and_directory_fsync, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char trace[TH_PATH + 16], pid[16];
	snprintf(trace, sizeof(trace), "%s/strace.txt", T.dir);
	snprintf(pid, sizeof(pid), "%d", (int)T.tipd);
	pid_t st = fork();
	cr_assert(st >= 0);
	if (st == 0) {
		execlp("strace", "strace", "-f", "-qq", "-y", "-s", "48", "-e",
		       "trace=openat,fsync,fdatasync,rename,renameat,renameat2,write,writev,sendto,"
		       "sendmsg",
		       "-o", trace, "-p", pid, (char *)NULL);
		_exit(127);
	}
	usleep(1500 * 1000); /* strace attaches to every thread */
	cr_assert_eq(waitpid(st, NULL, WNOHANG), 0, "strace did not start (is it installed?)");
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":"
	                                 IT_ANSWERS "}", NULL), 201);
	usleep(300 * 1000);
	kill(st, SIGINT);
	waitpid(st, NULL, 0);
	parse_trace(trace);

	/* strace -y shows a descriptor as N</real/path>. */
	char spool[PATH_MAX], dir_fd[PATH_MAX + 8], file_fd[PATH_MAX + 64];
	cr_assert_not_null(realpath(T.spool, spool));
	snprintf(dir_fd, sizeof(dir_fd), "<%s>", spool);
	int open_part = find(0, "openat(", ".part\"");
	cr_assert(open_part >= 0, "the spool file was not opened in the trace");
	const char *eq = strrchr(calls[open_part].text, '=');
	char *end;
	long fd = strtol(eq + 1, &end, 10);
	cr_assert(fd >= 0 && *end == '<', "no descriptor path in %s (strace -y)",
	          calls[open_part].text);
	char fsync_fd[PATH_MAX + 80];
	snprintf(fsync_fd, sizeof(fsync_fd), "fsync(%ld<", fd);
	int file_sync = find(open_part, fsync_fd, ".part>");
	if (file_sync < 0) {
		snprintf(fsync_fd, sizeof(fsync_fd), "fdatasync(%ld<", fd);
		file_sync = find(open_part, fsync_fd, ".part>");
	}
	snprintf(file_fd, sizeof(file_fd), "%s/", spool);
	cr_assert(strstr(calls[open_part].text, file_fd) != NULL,
	          "the spool file was not opened in the spool directory: %s", calls[open_part].text);
	int ren = find(open_part, "rename", ".rep\"");
	cr_assert(file_sync >= 0, "the spool file was never fsync'd");
	cr_assert(ren >= 0, "the spool file was never renamed to .rep");
	cr_assert(strstr(calls[ren].text, dir_fd) != NULL || strstr(calls[ren].text, file_fd) != NULL,
	          "the rename is not in the spool directory: %s", calls[ren].text);
	/* The directory fsync: an fsync whose descriptor is the spool directory. */
	int dir_sync = find(ren, "fsync(", dir_fd);
	int answer = -1;
	for (int i = 0; i < ncalls && answer < 0; i++)
		if ((strncmp(calls[i].text, "write", 5) == 0 || strncmp(calls[i].text, "send", 4) == 0) &&
		    strstr(calls[i].text, "HTTP/1.1 201") != NULL)
			answer = i;
	cr_assert(dir_sync >= 0, "the spool directory %s was not fsync'd after the rename", spool);
	cr_assert(answer >= 0, "the 201 answer is not in the trace");
	cr_assert(file_sync < ren, "renamed before the file was fsync'd");
	cr_assert(dir_sync < answer, "the receipt left before the directory fsync");
	cr_assert(ren < answer, "the receipt left before the rename");
}
