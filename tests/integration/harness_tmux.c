#include "harness_tmux.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TT_SESSION "tt"

/* Run `tmux -S SOCK -f /dev/null ARGS...` (NULL-terminated); output into `out` or dropped. */
static int
tmux(struct tt *s, struct buf *out, const char *first, ...)
{
	char *argv[24] = { "tmux", "-S", s->sock, "-f", "/dev/null" };
	int n = 5;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a != NULL && n < 23; a = va_arg(ap, const char *))
		argv[n++] = (char *)(uintptr_t)a;
	va_end(ap);
	argv[n] = NULL;
	return th_run(argv, NULL, 0, out);
}

/* Append `a` to `cmd` in single quotes, for sh. */
static void
quote(struct buf *cmd, const char *a)
{
	cr_assert_eq(buf_adds(cmd, " '"), 0);
	for (; *a; a++)
		cr_assert_eq(*a == '\'' ? buf_adds(cmd, "'\\''") : buf_add(cmd, a, 1), 0);
	cr_assert_eq(buf_adds(cmd, "'"), 0);
}

void
tt_start(struct tt *s, const char *dir, const char *const env[], char *const argv[])
{
	struct buf cmd;
	buf_init(&cmd, 1 << 16);
	memset(s, 0, sizeof(*s));
	snprintf(s->sock, sizeof(s->sock), "%s/tmux.sock", dir);
	cr_assert_eq(buf_adds(&cmd, "env"), 0);
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		quote(&cmd, env[i]);
	for (size_t i = 0; argv[i] != NULL; i++)
		quote(&cmd, argv[i]);
	/* keep the pane (and say how it ended) after the program exits */
	cr_assert_eq(buf_adds(&cmd, "; echo \"[tt-exit $?]\"; sleep 600"), 0);
	cr_assert_eq(tmux(s, NULL, "new-session", "-d", "-s", TT_SESSION, "-x", "160", "-y", "50",
	                  buf_cstr(&cmd), NULL),
	             0, "cannot start tmux");
	s->running = 1;
	buf_free(&cmd);
}

void
tt_screen(struct tt *s, struct buf *out)
{
	buf_reset(out);
	cr_assert_eq(
		tmux(s, out, "capture-pane", "-p", "-J", "-S", "-1000", "-t", TT_SESSION, NULL), 0,
		"cannot read the tmux pane");
}

/* Count the occurrences of `text` in `hay`. */
static int
count(const char *hay, const char *text)
{
	int n = 0;
	for (const char *p = hay; p != NULL && (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	return n;
}

int
tt_wait(struct tt *s, const char *text, int n, unsigned timeout_ms)
{
	struct buf b;
	int rc = -1;
	buf_init(&b, 1 << 20);
	for (unsigned waited = 0; waited <= timeout_ms; waited += 50) {
		tt_screen(s, &b);
		if (count(buf_cstr(&b), text) >= n) {
			rc = 0;
			break;
		}
		usleep(50 * 1000);
	}
	buf_free(&b);
	return rc;
}

void
tt_type(struct tt *s, const char *text)
{
	cr_assert_eq(tmux(s, NULL, "send-keys", "-t", TT_SESSION, "-l", text, NULL), 0);
	cr_assert_eq(tmux(s, NULL, "send-keys", "-t", TT_SESSION, "Enter", NULL), 0);
}

int
tt_exit(struct tt *s, unsigned timeout_ms)
{
	struct buf b;
	int status = -1;
	buf_init(&b, 1 << 20);
	if (tt_wait(s, "[tt-exit ", 1, timeout_ms) == 0) {
		tt_screen(s, &b);
		const char *p = strstr(buf_cstr(&b), "[tt-exit ");
		if (p == NULL || sscanf(p, "[tt-exit %d]", &status) != 1)
			status = -1;
	}
	buf_free(&b);
	return status;
}

void
tt_stop(struct tt *s)
{
	if (!s->running)
		return;
	(void)tmux(s, NULL, "kill-server", NULL);
	(void)unlink(s->sock);
	s->running = 0;
}
