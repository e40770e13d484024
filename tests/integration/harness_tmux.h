/*
 * harness_tmux: drive a program on a real terminal (a private tmux server),
 * for prompts, passphrases typed without echo, questions and editors.
 *
 *   struct tt s;
 *   tt_start(&s, dir, env, argv);     // runs argv in a 160x50 pane
 *   cr_assert(tt_wait(&s, "Passphrase:", 1, 10000) == 0);
 *   tt_type(&s, "secret");            // literal keys, then Enter
 *   int rc = tt_exit(&s, 10000);      // the program's exit status
 *   tt_stop(&s);                      // always (kills the tmux server)
 *
 * The pane keeps its contents after the program ends (tt_screen), and the
 * exit status is printed by the wrapper shell as "[tt-exit N]".
 */
#ifndef TIPLINE_HARNESS_TMUX_H
#define TIPLINE_HARNESS_TMUX_H

#include "buf.h"
#include "harness.h"

struct tt {
	char sock[TH_PATH + 32];
	int running;
};

/* Start argv (NULL-terminated, argv[0] a path) with the extra NULL-terminated
 * "K=V" settings `env` (or NULL) in a new tmux server whose socket is in
 * `dir`. Asserts on failure. */
void tt_start(struct tt *s, const char *dir, const char *const env[], char *const argv[]);
/* Wait until `text` shows at least `n` times on the screen (scrollback
 * included). Return 0, or -1 after `timeout_ms`. */
int tt_wait(struct tt *s, const char *text, int n, unsigned timeout_ms);
/* Type `text` literally, then Enter. */
void tt_type(struct tt *s, const char *text);
/* The screen and scrollback, as text, into `out` (reset first). */
void tt_screen(struct tt *s, struct buf *out);
/* Wait for the program to end; return its exit status, or -1 on timeout. */
int tt_exit(struct tt *s, unsigned timeout_ms);
/* Kill the tmux server (and the program, if it still runs). */
void tt_stop(struct tt *s);

#endif
