#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

void
cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("tipctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_ask(const char *question, const char *flag)
{
	char line[16];
	if (!isatty(0)) {
		cli_error("cannot ask without a terminal: %s (nothing was done; add %s once you "
		          "have checked)", question, flag);
		return -1;
	}
	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) != NULL && (line[0] == 'y' || line[0] == 'Y'))
		return 1;
	return 0;
}

size_t
cli_utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void
cli_pass_free(char *pass)
{
	if (pass != NULL)
		sodium_free(pass); /* wipes */
}

/* Read up to the first newline of `fd` into `p` (CLI_PASS_MAX + 1 bytes). Return 0, or -1. */
static int
read_line(int fd, char *p)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || c == '\n')
			break;
		if (n == CLI_PASS_MAX)
			return -1;
		p[n++] = c;
	}
	if (n > 0 && p[n - 1] == '\r')
		n--;
	p[n] = '\0';
	return 0;
}

static int tty_fd = -1;
static struct termios tty_saved;

/* Restore the terminal's echo if a signal arrives while it is off, then die of it. */
static void
tty_restore_and_die(int sig)
{
	if (tty_fd >= 0)
		(void)tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Prompt on the terminal `fd` and read a line without echo into `p`. Return 0, or -1. */
static int
tty_ask(int fd, const char *prompt, char *p)
{
	struct termios t;
	int rc;
	if (tcgetattr(fd, &tty_saved) != 0)
		return -1;
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tty_fd = fd;
	signal(SIGINT, tty_restore_and_die);
	signal(SIGTERM, tty_restore_and_die);
	signal(SIGHUP, tty_restore_and_die);
	/* Echo off (and input typed before it dropped) before the prompt shows,
	 * so nothing typed after the prompt is lost or echoed. */
	if (tcsetattr(fd, TCSAFLUSH, &t) != 0 || util_write_all(fd, prompt, strlen(prompt)) != 0) {
		(void)tcsetattr(fd, TCSAFLUSH, &tty_saved);
		return -1;
	}
	rc = read_line(fd, p);
	(void)tcsetattr(fd, TCSAFLUSH, &tty_saved);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	tty_fd = -1;
	(void)util_write_all(fd, "\n", 1);
	return rc;
}

/* Ask at the terminal (twice if `confirm`) into `p`. Return 0, or -1 after printing why. */
static int
pass_from_tty(const char *prompt, bool confirm, size_t min_chars, char *p)
{
	char *again = NULL;
	int rc = -1;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		cli_error("no terminal to ask for a passphrase: use --passphrase-file");
		return -1;
	}
	if (confirm && (again = sodium_malloc(CLI_PASS_MAX + 1)) == NULL) {
		cli_error("out of locked memory");
		goto fail;
	}
	/* A new passphrase: too short or mistyped is said at once, and asked again. */
	for (int tries = CLI_PASS_TRIES; tries > 0; tries--) {
		if (tty_ask(fd, prompt, p) != 0) {
			cli_error("cannot read the passphrase (too long, or the terminal failed)");
			goto fail;
		}
		if (min_chars > 0 && cli_utf8_chars(p) < min_chars) {
			cli_error("the passphrase must have at least %zu characters%s", min_chars,
			          tries > 1 ? ": try again" : "");
			continue;
		}
		if (!confirm) {
			rc = 0;
			break;
		}
		if (tty_ask(fd, "Repeat the passphrase: ", again) != 0) {
			cli_error("cannot read the passphrase");
			goto fail;
		}
		size_t l1 = strlen(p), l2 = strlen(again);
		if (l1 == l2 && sodium_memcmp(p, again, l1) == 0) {
			rc = 0;
			break;
		}
		cli_error("the passphrases do not match%s", tries > 1 ? ": try again" : "");
	}
fail:
	if (again != NULL)
		sodium_free(again);
	close(fd);
	return rc;
}

/* Read the first line of `file` into `p`. Return 0, or -1 after printing why. */
static int
pass_from_file(const char *file, char *p)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("cannot open passphrase file %s: %s", file, strerror(errno));
		return -1;
	}
	int rc = read_line(fd, p);
	close(fd);
	if (rc != 0) {
		cli_error("cannot read passphrase file %s (longer than %d bytes?)", file, CLI_PASS_MAX);
		return -1;
	}
	return 0;
}

char *
cli_pass_get(const char *file, const char *prompt, bool confirm, bool is_new)
{
	char *p = sodium_malloc(CLI_PASS_MAX + 1);
	if (p == NULL) {
		cli_error("out of locked memory");
		return NULL;
	}
	if ((file != NULL ? pass_from_file(file, p)
	                  : pass_from_tty(prompt, confirm, is_new ? CLI_PASS_MIN_CHARS : 0, p)) != 0)
		goto fail;
	if (p[0] == '\0') {
		cli_error("the passphrase is empty");
		goto fail;
	}
	if (is_new && cli_utf8_chars(p) < CLI_PASS_MIN_CHARS) {
		cli_error("the passphrase must have at least %d characters", CLI_PASS_MIN_CHARS);
		goto fail;
	}
	return p;
fail:
	sodium_free(p);
	return NULL;
}

int
cli_read_file(const char *path, struct buf *out)
{
	size_t n = 0;
	char *p = util_read_file(path, CLI_FILE_MAX, &n);
	if (p == NULL) {
		cli_error("cannot read %s: %s", path,
		          errno == EFBIG ? "not a regular file, or too large" : strerror(errno));
		return -1;
	}
	int rc = buf_add(out, p, n);
	free(p);
	if (rc != 0)
		cli_error("%s is too large", path);
	return rc;
}

int
cli_write_new(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int bad = fchmod(fd, 0600) != 0 || util_write_all(fd, p, n) != 0 || fsync(fd) != 0;
	int e = errno;
	if (close(fd) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(path);
		errno = e;
		return -1;
	}
	return 0;
}

int
cli_replace(const char *path, const void *p, size_t n)
{
	char tmp[4200], *slash;
	int l = snprintf(tmp, sizeof(tmp), "%s.new", path), dfd;
	if (l < 0 || (size_t)l >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)unlink(tmp); /* a leftover from a crash; unlink never follows */
	if (cli_write_new(tmp, p, n) != 0)
		return -1;
	if (rename(tmp, path) != 0) {
		int e = errno;
		(void)unlink(tmp);
		errno = e;
		return -1;
	}
	if ((slash = strrchr(tmp, '/')) != NULL) {
		*slash = '\0';
		if ((dfd = open(slash == tmp ? "/" : tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

enum cli_private
cli_read_private(const char *path, struct buf *out)
{
	struct stat st;
	enum cli_private rc = CLI_PRIVATE_IO;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CLI_PRIVATE_ABSENT : errno == ELOOP ? CLI_PRIVATE_UNSAFE
		                                                              : CLI_PRIVATE_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		rc = CLI_PRIVATE_UNSAFE;
		goto out;
	}
	if (buf_reserve(out, (size_t)st.st_size + 1) != 0) {
		rc = CLI_PRIVATE_TOO_BIG;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, out->data + out->len, out->cap - out->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		out->len += (size_t)r;
		if (out->len == out->cap) {
			rc = CLI_PRIVATE_TOO_BIG;
			goto out;
		}
	}
	rc = CLI_PRIVATE_OK;
out:
	close(fd);
	return rc;
}

/* Create directory `d` with `mode` unless it exists. Return 0, or -1 after printing why. */
static int
ensure_dir(const char *d, mode_t mode)
{
	if (mkdir(d, mode) == 0 || errno == EEXIST)
		return 0;
	cli_error("cannot create %s: %s", d, strerror(errno));
	return -1;
}

int
cli_default_identity(struct buf *out, bool create_dir)
{
	return cli_default_file("identity.age", out, create_dir);
}

int
cli_default_file(const char *name, struct buf *out, bool create_dir)
{
	const char *th = getenv("TIPLINE_HOME");
	const char *home = getenv("HOME");
	struct buf d;
	int rc = -1;
	buf_init(&d, 4096);
	if (th != NULL && th[0] != '\0') {
		if (buf_adds(&d, th) != 0 || (create_dir && ensure_dir(buf_cstr(&d), 0700) != 0))
			goto fail;
	} else if (home != NULL && home[0] != '\0') {
		if (buf_printf(&d, "%s/.config", home) != 0 ||
		    (create_dir && ensure_dir(buf_cstr(&d), 0700) != 0) ||
		    buf_adds(&d, "/tipline") != 0 ||
		    (create_dir && ensure_dir(buf_cstr(&d), 0700) != 0))
			goto fail;
	} else {
		cli_error("neither TIPLINE_HOME nor HOME is set: use --identity");
		goto fail;
	}
	if (buf_printf(out, "%s/%s", buf_cstr(&d), name) != 0)
		goto fail;
	rc = 0;
fail:
	buf_free(&d);
	return rc;
}
