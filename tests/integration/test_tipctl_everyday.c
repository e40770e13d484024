/*
 * tipctl as people use it every day, against the real tipd and PostgreSQL
 * (issue: "what a newcomer tripped over"):
 *
 *  - a refused or failed `tipctl enroll` leaves the working profile byte-equal
 *    (a used invite; a forged invite naming another server and TLS key), and
 *    a different profile is never replaced without showing the changes and
 *    asking (refused without a terminal unless --replace);
 *  - every refusal says what is true and what to do next: a pending
 *    enrollee, a non-admin running an admin command, a revoked member's
 *    list and login;
 *  - teams are made only by `admin team create`; an unknown team is "no
 *    such team" with the list; `admin reject`; refusals exit non-zero;
 *  - on a real terminal (tmux, harness_tmux.h): questions come before the
 *    passphrase (approve, enroll); `tips reply` asks the passphrase before
 *    the editor and three times, so a typo never costs the text.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness_tmux.h"
#include "invite.h"
#include "it_common.h"
#include "util.h"

static struct th T;
static struct buf out, err;

/* The TIPLINE_HOME of `who`, made if need be (static buffer, until the next call). */
static const char *
home_of(const char *who)
{
	static char home[TH_PATH + 32];
	snprintf(home, sizeof(home), "%s/home-%s", T.dir, who);
	(void)mkdir(home, 0700);
	return home;
}

#define tipctl(who, ...) it_tipctl(&T, home_of(who), NULL, &out, &err, __VA_ARGS__)

/* The first invite printed in `out`, into `inv`. */
static void
take_invite(char *inv, size_t cap)
{
	const char *p = strstr(buf_cstr(&out), INVITE_PREFIX);
	cr_assert_not_null(p, "no invite printed: %s / %s", buf_cstr(&out), buf_cstr(&err));
	size_t n = strcspn(p, "\n");
	cr_assert(n < cap);
	memcpy(inv, p, n);
	inv[n] = '\0';
}

/* The operator's first admin: invited by tipd, enrolled, logged in. */
static void
bootstrap_admin(void)
{
	char server[64], inv[INVITE_TEXT_MAX];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	char *op[] = { T.tipd_bin, "-c", T.conf, "invite", "--admin", "--server", server, NULL };
	cr_assert_eq(it_exec(&T, home_of("admin"), NULL, op, &out, &err), 0, "%s", buf_cstr(&err));
	take_invite(inv, sizeof(inv));
	cr_assert_eq(tipctl("admin", "enroll", "--admin-key", T.admin_key, "--passphrase-file",
	                    T.passfile, inv, NULL),
	             0, "admin enroll: %s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "login", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
}

static void
setup(void)
{
	th_setup(&T);
	th_start(&T);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 16);
	bootstrap_admin();
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}

TestSuite(tipctl_everyday, .init = setup, .fini = teardown, .timeout = 240);

/* The admin invites `name` to `team`; the invite goes into `inv`. */
static void
invite(const char *name, const char *team, char *inv, size_t cap)
{
	cr_assert_eq(tipctl("admin", "admin", "invite", "--name", name, "--team", team, NULL), 0,
	             "admin invite: %s", buf_cstr(&err));
	take_invite(inv, cap);
}

/* `who` enrolls with `inv` (extra option `opt` or NULL); return the exit status. */
static int
enroll(const char *who, const char *inv, const char *opt)
{
	return tipctl(who, "enroll", "--passphrase-file", T.passfile, inv, opt, NULL);
}

/* Read `who`'s profile into `b`. */
static void
profile_of(const char *who, struct buf *b)
{
	char path[TH_PATH + 64];
	snprintf(path, sizeof(path), "%s/profile", home_of(who));
	it_slurp(path, b);
}

static void
assert_profile_unchanged(const char *who, const struct buf *before, const char *why)
{
	struct buf now;
	char pending[TH_PATH + 64];
	buf_init(&now, 1 << 16);
	profile_of(who, &now);
	cr_assert(now.len == before->len && memcmp(now.data, before->data, now.len) == 0,
	          "%s changed the profile:\n%s\nwas:\n%.*s", why, buf_cstr(&now), (int)before->len,
	          (const char *)before->data);
	snprintf(pending, sizeof(pending), "%s/profile.pending", home_of(who));
	cr_assert_neq(access(pending, F_OK), 0, "%s left %s behind", why, pending);
	buf_free(&now);
}

Test(tipctl_everyday, failed_enroll_keeps_the_profile)
{
	char inv[INVITE_TEXT_MAX], other[INVITE_TEXT_MAX], forged[INVITE_TEXT_MAX];
	struct buf before, text;
	struct invite iv;
	buf_init(&before, 1 << 16);
	buf_init(&text, INVITE_TEXT_MAX);

	invite("amira", "demo", inv, sizeof(inv));
	cr_assert_eq(enroll("amira", inv, NULL), 0, "%s", buf_cstr(&err));
	profile_of("amira", &before);

	/* The same used invite again: refused, the profile is as it was. */
	cr_assert_eq(enroll("amira", inv, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "already used") != NULL, "%s", buf_cstr(&err));
	assert_profile_unchanged("amira", &before, "a used invite");

	/* An invite for another name, already used by bob, with --replace. */
	invite("bob", "demo", other, sizeof(other));
	cr_assert_eq(enroll("bob", other, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(enroll("amira", other, "--replace"), 1);
	cr_assert(strstr(buf_cstr(&err), "already used") != NULL, "%s", buf_cstr(&err));
	assert_profile_unchanged("amira", &before, "a used invite for another name");

	/* A forged invite naming another server and TLS key. */
	cr_assert_eq(invite_decode(other, strlen(other), &iv), 0);
	snprintf(iv.server, sizeof(iv.server), "https://127.0.0.1:1");
	memset(iv.pin, 'e', 64);
	cr_assert_eq(invite_encode(&iv, &text), 0);
	snprintf(forged, sizeof(forged), "%.*s", (int)text.len, (const char *)text.data);
	/* without a terminal: every change is shown, nothing is done */
	cr_assert_eq(enroll("amira", forged, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "https://127.0.0.1:1") != NULL &&
	                  strstr(buf_cstr(&err), "TLS key pin") != NULL &&
	                  strstr(buf_cstr(&err), "was: amira") != NULL &&
	                  strstr(buf_cstr(&err), "now: bob") != NULL &&
	                  strstr(buf_cstr(&err), "not changed") != NULL,
	          "the changes were not shown: %s", buf_cstr(&err));
	assert_profile_unchanged("amira", &before, "a forged invite without --replace");
	/* with --replace: the server is unreachable, and the profile stays */
	cr_assert_eq(enroll("amira", forged, "--replace"), 1);
	cr_assert(strstr(buf_cstr(&err), "unreachable") != NULL, "%s", buf_cstr(&err));
	assert_profile_unchanged("amira", &before, "an unreachable server");

	/* whoami names her as she enrolled, with where, and the fingerprint as enroll printed it */
	cr_assert_eq(tipctl("amira", "whoami", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "member:      amira ") != NULL &&
	                  strstr(buf_cstr(&out), "Enrolled at https://127.0.0.1:") != NULL,
	          "%s", buf_cstr(&out));

	/* amira still logs in where she enrolled once approved. */
	cr_assert_eq(tipctl("admin", "admin", "approve", "amira", "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("amira", "login", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
	buf_free(&before);
	buf_free(&text);
}

Test(tipctl_everyday, refusals_say_what_is_true)
{
	char inv[INVITE_TEXT_MAX];
	invite("carol", "demo", inv, sizeof(inv));
	cr_assert_eq(enroll("carol", inv, NULL), 0, "%s", buf_cstr(&err));

	/* pending: not "the clock or a missing membership" */
	cr_assert_eq(tipctl("carol", "login", "--passphrase-file", T.passfile, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "waits for an admin's approval") != NULL, "%s",
	          buf_cstr(&err));

	cr_assert_eq(tipctl("admin", "admin", "approve", "carol", "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("carol", "login", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));

	/* an investigator running an admin command: not "not found" */
	cr_assert_eq(tipctl("carol", "admin", "invite", "--name", "x", "--team", "demo", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "needs an admin login") != NULL &&
	                  strstr(buf_cstr(&err), "tipctl login --admin") != NULL,
	          "%s", buf_cstr(&err));

	/* revoked: not "session expired: run tipctl login" */
	cr_assert_eq(tipctl("admin", "admin", "revoke", "carol", "--team", "demo", "--yes",
	                    "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("carol", "tips", "list", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "no longer a member") != NULL &&
	                  strstr(buf_cstr(&err), "session expired") == NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("carol", "login", "--passphrase-file", T.passfile, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "no longer a member") != NULL &&
	                  strstr(buf_cstr(&err), "clock") == NULL,
	          "%s", buf_cstr(&err));
}

Test(tipctl_everyday, teams_are_explicit_and_typos_say_so)
{
	char inv[INVITE_TEXT_MAX];
	long invites = th_count(&T, "select count(*) from invites");
	/* a typo in a team name is "no such team" with the list, not a forgery */
	cr_assert_eq(tipctl("admin", "admin", "revoke", "someone", "--team", "demoo", "--yes",
	                    "--passphrase-file", T.passfile, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "no such team demoo") != NULL &&
	                  strstr(buf_cstr(&err), "teams on this server: demo") != NULL &&
	                  strstr(buf_cstr(&err), "verify") == NULL,
	          "%s", buf_cstr(&err));
	/* an invite never makes a team */
	cr_assert_eq(tipctl("admin", "admin", "invite", "--name", "nia", "--team", "newteam", NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "no such team newteam") != NULL &&
	                  strstr(buf_cstr(&err), "tipctl admin team create newteam") != NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from invites"), invites, "an invite was made");
	/* creating one is asked for: no terminal, no --yes, nothing made */
	cr_assert_eq(tipctl("admin", "admin", "team", "create", "newteam", "--passphrase-file",
	                    T.passfile, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "cannot ask without a terminal") != NULL, "%s",
	          buf_cstr(&err));
	cr_assert_eq(th_count(&T,
	                      "select count(*) from membership_statements where team_id = "
	                      "'newteam'"),
	             0);
	cr_assert_eq(tipctl("admin", "admin", "team", "create", "newteam", "--yes",
	                    "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "team", "list", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "newteam") != NULL &&
	                  strstr(buf_cstr(&out), "demo") != NULL,
	          "%s", buf_cstr(&out));
	cr_assert_eq(tipctl("admin", "admin", "team", "create", "newteam", "--yes",
	                    "--passphrase-file", T.passfile, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "exists already") != NULL, "%s", buf_cstr(&err));
	/* and then it takes invites and approvals; an invite wrapped across lines
	 * (as mail programs do) still enrolls */
	invite("nia", "newteam", inv, sizeof(inv));
	char wrapped[INVITE_TEXT_MAX + 512];
	size_t w = 0;
	for (size_t i = 0; inv[i] != '\0'; i++) {
		if (i > 0 && i % 60 == 0)
			wrapped[w++] = '\n';
		wrapped[w++] = inv[i];
	}
	wrapped[w] = '\0';
	cr_assert_eq(enroll("nia", wrapped, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "approve", "nia", "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "2 signed and stored (1 members)") != NULL, "%s",
	          buf_cstr(&out));
}

Test(tipctl_everyday, refusals_exit_nonzero_and_ask_before_the_passphrase)
{
	char inv[INVITE_TEXT_MAX], nofile[TH_PATH + 32];
	snprintf(nofile, sizeof(nofile), "%s/no-such-passphrase-file", T.dir);
	invite("dan", "demo", inv, sizeof(inv));
	cr_assert_eq(enroll("dan", inv, NULL), 0, "%s", buf_cstr(&err));

	/* approve without a terminal: not done, exit 1; the question comes
	 * before the passphrase, so the passphrase file is never read */
	cr_assert_eq(tipctl("admin", "admin", "approve", "dan", "--passphrase-file", nofile, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "cannot ask without a terminal") != NULL &&
	                  strstr(buf_cstr(&err), "no-such-passphrase-file") == NULL,
	          "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "not approved: nothing changed") != NULL, "%s",
	          buf_cstr(&out));
	cr_assert_eq(th_count(&T, "select count(*) from enrollments where status = 'pending'"), 1);
	cr_assert_eq(tipctl("admin", "admin", "approve", "nobody", "--yes", NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "no pending enrollment for nobody") != NULL, "%s",
	          buf_cstr(&err));

	/* reject: asked for, then done; dan hears it at login; approve has nothing left */
	cr_assert_eq(tipctl("admin", "admin", "reject", "dan", NULL), 1);
	cr_assert_eq(th_count(&T, "select count(*) from enrollments where status = 'pending'"), 1);
	cr_assert_eq(tipctl("admin", "admin", "reject", "dan", "--yes", NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "rejected") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(th_count(&T, "select count(*) from enrollments where status = 'rejected'"), 1);
	cr_assert_eq(tipctl("dan", "login", "--passphrase-file", T.passfile, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "rejected your enrollment") != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "approve", "dan", "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             1);
	cr_assert_eq(tipctl("admin", "admin", "reject", "dan", "--yes", NULL), 1);

	/* revoke without a terminal: nothing changed is not success */
	invite("eli", "demo", inv, sizeof(inv));
	cr_assert_eq(enroll("eli", inv, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "approve", "eli", "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "revoke", "eli", "--team", "demo",
	                    "--passphrase-file", nofile, NULL),
	             1);
	cr_assert(strstr(buf_cstr(&err), "nothing changed") != NULL &&
	                  strstr(buf_cstr(&err), "no-such-passphrase-file") == NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("eli", "login", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
}

/* ---- on a real terminal (tmux) ---- */

/* Run tipctl as `who` on a terminal in `s`, with the NULL-terminated args. */
static void
tt_tipctl(struct tt *s, const char *who, const char *editor, char *const args[])
{
	char home[TH_PATH + 48], ed[TH_PATH + 48];
	char *argv[32] = { T.tipctl_bin };
	size_t n = 1;
	snprintf(home, sizeof(home), "TIPLINE_HOME=%s", home_of(who));
	snprintf(ed, sizeof(ed), "EDITOR=%s", editor != NULL ? editor : "/bin/false");
	const char *env[] = { home, ed, "VISUAL=", NULL };
	for (; args[n - 1] != NULL && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	tt_start(s, T.dir, env, argv);
}

/* A new investigator `name` in team demo, approved and logged in. */
static void
member(const char *name)
{
	char inv[INVITE_TEXT_MAX];
	invite(name, "demo", inv, sizeof(inv));
	cr_assert_eq(enroll(name, inv, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("admin", "admin", "approve", name, "--yes", "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl(name, "login", "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
}

Test(tipctl_everyday, reply_asks_the_passphrase_before_the_editor_three_times)
{
	char report[37], att[37], editor[TH_PATH + 16];
	struct tt s;
	struct buf screen;
	buf_init(&screen, 1 << 20);
	member("rita");
	it_submit_with_attachment(&T, report, att);
	/* the "editor" says when it runs and writes the reply */
	snprintf(editor, sizeof(editor), "%s/editor.sh", T.dir);
	FILE *f = fopen(editor, "w");
	cr_assert_not_null(f);
	fputs("#!/bin/sh\necho EDITOR-RAN\nprintf 'Are you safe now?\\n' >> \"$1\"\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(editor, 0700), 0);

	char *args[] = { "tips", "reply", report, NULL };
	tt_tipctl(&s, "rita", editor, args);
	cr_assert_eq(tt_wait(&s, "Passphrase:", 1, 15000), 0, "no passphrase prompt first");
	tt_screen(&s, &screen);
	cr_assert(strstr(buf_cstr(&screen), "EDITOR-RAN") == NULL,
	          "the editor ran before the passphrase: %s", buf_cstr(&screen));
	tt_type(&s, "not the passphrase");
	cr_assert_eq(tt_wait(&s, "try again (2 tries left)", 1, 15000), 0, "no second try");
	tt_type(&s, "still wrong");
	cr_assert_eq(tt_wait(&s, "try again (1 try left)", 1, 15000), 0, "no third try");
	tt_type(&s, TH_PASSPHRASE);
	cr_assert_eq(tt_wait(&s, "Send it? [y/N]", 1, 15000), 0, "no question after the editor");
	tt_screen(&s, &screen);
	cr_assert(strstr(buf_cstr(&screen), "EDITOR-RAN") != NULL, "%s", buf_cstr(&screen));
	tt_type(&s, "y");
	int rc = tt_exit(&s, 15000);
	tt_screen(&s, &screen);
	tt_stop(&s);
	cr_assert_eq(rc, 0, "%s", buf_cstr(&screen));
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 1);
	buf_free(&screen);
}

Test(tipctl_everyday, a_short_new_passphrase_is_refused_at_once_and_asked_again)
{
	char ident[TH_PATH + 16];
	struct tt s;
	struct buf screen;
	buf_init(&screen, 1 << 20);
	snprintf(ident, sizeof(ident), "%s/new.age", T.dir);
	char *args[] = { "init", "--identity", ident, "--name", "newbie", NULL };
	tt_tipctl(&s, "newbie", NULL, args);
	cr_assert_eq(tt_wait(&s, "New passphrase", 1, 15000), 0, "no prompt");
	tt_type(&s, "short");
	cr_assert_eq(tt_wait(&s, "at least 10 characters: try again", 1, 15000), 0,
	             "a short passphrase was not refused before the repeat");
	tt_screen(&s, &screen);
	cr_assert(strstr(buf_cstr(&screen), "Repeat") == NULL, "%s", buf_cstr(&screen));
	tt_type(&s, TH_PASSPHRASE);
	cr_assert_eq(tt_wait(&s, "Repeat the passphrase", 1, 15000), 0, "no repeat prompt");
	tt_type(&s, TH_PASSPHRASE);
	int rc = tt_exit(&s, 15000);
	tt_screen(&s, &screen);
	tt_stop(&s);
	cr_assert_eq(rc, 0, "%s", buf_cstr(&screen));
	cr_assert_eq(access(ident, F_OK), 0);
	buf_free(&screen);
}

Test(tipctl_everyday, approve_and_enroll_ask_before_the_passphrase)
{
	char inv[INVITE_TEXT_MAX], forged[INVITE_TEXT_MAX];
	struct tt s;
	struct buf screen, before, text;
	struct invite iv;
	buf_init(&screen, 1 << 20);
	buf_init(&before, 1 << 16);
	buf_init(&text, INVITE_TEXT_MAX);
	invite("omar", "demo", inv, sizeof(inv));
	cr_assert_eq(enroll("omar", inv, NULL), 0, "%s", buf_cstr(&err));

	/* approve: the question, then (after a yes) the passphrase */
	char *approve[] = { "admin", "approve", "omar", NULL };
	tt_tipctl(&s, "admin", NULL, approve);
	cr_assert_eq(tt_wait(&s, "[y/N]", 1, 15000), 0, "no question");
	tt_screen(&s, &screen);
	cr_assert(strstr(buf_cstr(&screen), "Passphrase") == NULL,
	          "the passphrase was asked before the question: %s", buf_cstr(&screen));
	tt_type(&s, "y");
	cr_assert_eq(tt_wait(&s, "Passphrase for the admin key:", 1, 15000), 0,
	             "no passphrase after the yes");
	tt_type(&s, TH_PASSPHRASE);
	int rc = tt_exit(&s, 15000);
	tt_screen(&s, &screen);
	tt_stop(&s);
	cr_assert_eq(rc, 0, "%s", buf_cstr(&screen));
	cr_assert(strstr(buf_cstr(&screen), "omar approved") != NULL, "%s", buf_cstr(&screen));

	/* enroll with an invite that would change omar's profile: shown, asked, "n" */
	profile_of("omar", &before);
	cr_assert_eq(invite_decode(inv, strlen(inv), &iv), 0);
	snprintf(iv.server, sizeof(iv.server), "https://127.0.0.1:2");
	cr_assert_eq(invite_encode(&iv, &text), 0);
	snprintf(forged, sizeof(forged), "%.*s", (int)text.len, (const char *)text.data);
	char *en[] = { "enroll", forged, NULL };
	tt_tipctl(&s, "omar", NULL, en);
	cr_assert_eq(tt_wait(&s, "Replace your profile? [y/N]", 1, 15000), 0, "no question");
	tt_screen(&s, &screen);
	cr_assert(strstr(buf_cstr(&screen), "now: https://127.0.0.1:2") != NULL &&
	                  strstr(buf_cstr(&screen), "Passphrase") == NULL,
	          "%s", buf_cstr(&screen));
	tt_type(&s, "n");
	rc = tt_exit(&s, 15000);
	tt_screen(&s, &screen);
	tt_stop(&s);
	cr_assert_eq(rc, 1, "%s", buf_cstr(&screen));
	assert_profile_unchanged("omar", &before, "answering no");
	buf_free(&screen);
	buf_free(&before);
	buf_free(&text);
}

Test(tipctl_everyday, values_and_labels_are_shown_where_they_are_needed)
{
	char report[37], att[37];
	member("lena");
	it_submit_with_attachment(&T, report, att);
	cr_assert_eq(tipctl("lena", "tips", "labels", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "medical\n") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(tipctl("lena", "tips", "set", report, "--status", "investigatng", NULL), 2);
	cr_assert(strstr(buf_cstr(&err),
	                 "unknown --status (new, triaged, investigating, referred or "
	                 "closed): investigatng") != NULL,
	          "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("lena", "tips", "set", "--help", NULL), 0);
	cr_assert(strstr(buf_cstr(&out), "low, normal, high or urgent") != NULL &&
	                  strstr(buf_cstr(&out), "tipctl tips labels") != NULL,
	          "%s", buf_cstr(&out));
}
