#include "editor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

static volatile sig_atomic_t editor_signalled;

static void
editor_on_signal(int sig)
{
	editor_signalled = sig;
}

int
editor_dir_ok(const char *path, bool shared)
{
	struct stat st;
	struct statfs fs;
	if (path == NULL || path[0] != '/' || lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    statfs(path, &fs) != 0 ||
	    (fs.f_type != (__typeof__(fs.f_type))TMPFS_MAGIC &&
	     fs.f_type != (__typeof__(fs.f_type))RAMFS_MAGIC))
		return 0;
	if (shared)
		return (st.st_mode & S_ISVTX) != 0 || ((st.st_mode & 022) == 0 && st.st_uid == geteuid());
	return st.st_uid == geteuid() && (st.st_mode & 022) == 0;
}

/* Make a private directory (0700) in RAM for the editor's file; store its
 * path in `dir`. Return 0, or -1 (printed). */
static int
editor_mkdir(char *dir, size_t n)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *base = editor_dir_ok(xdg, false) ? xdg
	                   : editor_dir_ok("/dev/shm", true) ? "/dev/shm" : NULL;
	if (base == NULL) {
		cli_error("no directory in RAM for the editor's file ($XDG_RUNTIME_DIR or /dev/shm): "
		          "use --file or --stdin");
		return -1;
	}
	int l = snprintf(dir, n, "%s/tipctl-XXXXXX", base);
	if (l < 0 || (size_t)l >= n || mkdtemp(dir) == NULL) {
		cli_error("cannot make a private directory in %s: %s", base, strerror(errno));
		return -1;
	}
	return 0;
}

/* Overwrite the regular file `name` in `dfd` with zeros, fsync it and unlink it.
 * Return 0, or -1. */
static int
editor_wipe_file(int dfd, const char *name)
{
	static const uint8_t zero[4096];
	struct stat st;
	int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC), bad = 0;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		for (off_t left = st.st_size; left > 0 && !bad;) {
			size_t k = left > (off_t)sizeof(zero) ? sizeof(zero) : (size_t)left;
			bad = util_write_all(fd, zero, k) != 0;
			left -= (off_t)k;
		}
		bad |= fsync(fd) != 0;
	}
	if (fd >= 0)
		close(fd);
	if (unlinkat(dfd, name, 0) != 0 && unlinkat(dfd, name, AT_REMOVEDIR) != 0)
		bad = 1;
	return bad ? -1 : 0;
}

int
editor_cleanup(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), bad = 0;
	int lfd = dfd >= 0 ? dup(dfd) : -1;
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	struct dirent *e;
	if (d == NULL) {
		bad = 1;
		if (lfd >= 0)
			close(lfd);
	}
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			bad |= editor_wipe_file(dfd, e->d_name) != 0;
	}
	if (d != NULL)
		closedir(d);
	if (dfd >= 0)
		close(dfd);
	if (rmdir(dir) != 0 || bad) {
		cli_error("could not remove %s: remove it yourself (it may hold the text)", dir);
		return -1;
	}
	return 0;
}

int
editor_make_file(bool is_reply, bool source, const char *rid, const char *dir, char *path,
                size_t n)
{
	struct buf h;
	int fd, rc = -1, l = snprintf(path, n, "%s/%s-XXXXXX.txt", dir, is_reply ? "reply" : "note");
	if (l < 0 || (size_t)l >= n || (fd = mkostemps(path, 4, O_CLOEXEC)) < 0) {
		cli_error("cannot create the editor's file in %s: %s", dir, strerror(errno));
		return -1;
	}
	buf_init(&h, EDITOR_HEADER_MAX);
	if (is_reply && !source)
		rc = buf_printf(&h, "\n# Write your reply on report %s above.\n"
		                "# The source has forgotten this report's receipt: no one outside\n"
		                "# the team will read it; every member of the team will.\n", rid);
	else if (is_reply)
		rc = buf_printf(&h, "\n# Write your reply to the source of report %s above.\n"
		                "# WARNING: whoever holds this report's receipt will read this reply,\n"
		                "# and so will every member of the team.\n", rid);
	else
		rc = buf_printf(&h, "\n# Write your internal note on report %s above.\n"
		                "# Only the members of the team will read it, never the source.\n", rid);
	if (rc == 0)
		rc = buf_adds(&h, "# Lines starting with '#' are dropped. Save and quit when done;\n"
		                  "# leave it empty (or quit with an error, :cq in vi) to send nothing.\n");
	if (rc != 0 || fchmod(fd, 0600) != 0 || util_write_all(fd, h.data, h.len) != 0 ||
	    fsync(fd) != 0) {
		cli_error("cannot write the editor's file %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (close(fd) != 0)
		rc = -1;
	buf_free(&h);
	return rc;
}

size_t
editor_split(const char *cmd, char *store, size_t storelen, char **argv, char *path)
{
	size_t n = 0;
	if (cmd == NULL || strlen(cmd) >= storelen)
		return 0;
	memcpy(store, cmd, strlen(cmd) + 1);
	for (char *p = store; *p != '\0' && n < EDITOR_ARGS_MAX;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		argv[n++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
	argv[n] = path;
	argv[n + 1] = NULL;
	return n;
}

/* Run `argv` (no shell) on our terminal and wait for it, ignoring SIGINT and
 * SIGQUIT meanwhile and noting SIGTERM and SIGHUP. Return its wait status,
 * or -1 (printed) if it could not run or we were told to stop. */
static int
editor_run(char **argv)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, note = { .sa_handler = editor_on_signal };
	struct sigaction old[4];
	static const int sigs[4] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP };
	int st = -1;
	editor_signalled = 0;
	sigemptyset(&ign.sa_mask);
	sigemptyset(&note.sa_mask);
	for (int i = 0; i < 4; i++)
		(void)sigaction(sigs[i], i < 2 ? &ign : &note, &old[i]);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 4; i++)
			(void)signal(sigs[i], SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "tipctl: cannot run the editor '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		cli_error("cannot start the editor: %s", strerror(errno));
	while (pid > 0 && waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			st = -1;
			break;
		}
	}
	for (int i = 0; i < 4; i++)
		(void)sigaction(sigs[i], &old[i], NULL);
	if (editor_signalled != 0) {
		cli_error("interrupted");
		return -1;
	}
	return st;
}

int
editor_strip(const struct buf *raw, struct buf *t)
{
	size_t i = 0, start = 0, lead;
	while (i < raw->len) {
		const uint8_t *nl = memchr(raw->data + i, '\n', raw->len - i);
		size_t end = nl != NULL ? (size_t)(nl - raw->data) + 1 : raw->len;
		if (raw->data[i] != '#' && buf_add(t, raw->data + i, end - i) != 0)
			return -1;
		i = end;
	}
	while (t->len > 0 && memchr(" \t\r\n", t->data[t->len - 1], 4) != NULL)
		t->len--;
	for (lead = 0; lead < t->len && memchr(" \t\r\n", t->data[lead], 4) != NULL; lead++)
		if (t->data[lead] == '\n')
			start = lead + 1;
	if (start > 0) {
		memmove(t->data, t->data + start, t->len - start);
		sodium_memzero(t->data + t->len - start, start);
		t->len -= start;
	}
	return 0;
}

/* Read the editor's file `path` into the secure `raw`. Return 0, or -1 (printed). */
static int
editor_read(const char *path, struct buf *raw)
{
	uint8_t chunk[4096];
	struct stat st;
	ssize_t r = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = -1;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		cli_error("cannot read the editor's file %s: %s", path,
		          fd < 0 ? strerror(errno) : "not a regular file of ours");
		goto out;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || buf_add(raw, chunk, (size_t)r) != 0) {
			cli_error(r < 0 ? "cannot read the editor's file" : "the text is too long "
			          "(at most 64 KiB): nothing was sent");
			goto out;
		}
	}
	rc = 0;
out:
	sodium_memzero(chunk, sizeof(chunk));
	if (fd >= 0)
		close(fd);
	return rc;
}

int
editor_text(bool is_reply, bool source, const char *rid, struct buf *t)
{
	char dir[4096], path[4200], store[4096], *argv[EDITOR_ARGS_MAX + 2];
	const char *cmds[3] = { getenv("VISUAL"), getenv("EDITOR"), "vi" };
	struct buf raw;
	int rc = -1;
	buf_init_secure(&raw, t->max + EDITOR_HEADER_MAX);
	if (editor_mkdir(dir, sizeof(dir)) != 0)
		goto done;
	if (editor_make_file(is_reply, source, rid, dir, path, sizeof(path)) != 0)
		goto out;
	size_t nw = 0;
	for (int i = 0; i < 3 && nw == 0; i++)
		nw = editor_split(cmds[i], store, sizeof(store), argv, path);
	int st = editor_run(argv);
	if (st == -1)
		goto out;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		cli_error("the editor '%s' %s %d: nothing was sent", argv[0],
		          WIFEXITED(st) ? "exited with status" : "was killed by signal",
		          WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		goto out;
	}
	if (editor_read(path, &raw) != 0)
		goto out;
	if (editor_strip(&raw, t) != 0) {
		cli_error("the text is too long (at most 64 KiB): nothing was sent");
		goto out;
	}
	if (t->len == 0) {
		cli_error("empty %s; nothing sent", is_reply ? "reply" : "note");
		goto out;
	}
	rc = 0;
out:
	if (editor_cleanup(dir) != 0)
		rc = -1;
done:
	buf_free(&raw);
	return rc;
}
