/*
 * seen: tipctl remembers the highest membership statement it verified per
 * server and team — newer ones are remembered, the same one is fine, an
 * older one (rolled back) or a different one with the same number (forked)
 * is refused with a loud message, other servers and teams are separate,
 * and a damaged, unsafe or symlinked file is refused, never reset.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "seen.h"
#include "age.h"
#include "note.h"
#include "util.h"

static char dir[64], path[128];
static struct note_signer *signer;

static void
setup(void)
{
	struct buf st, vt;
	cr_assert(sodium_init() >= 0);
	snprintf(dir, sizeof(dir), "/tmp/tipctl-seen.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/membership-seen", dir);
	buf_init_secure(&st, 512);
	buf_init(&vt, 512);
	cr_assert_eq(note_keygen("admin.test", &st, &vt), 0);
	signer = note_signer_parse((const char *)st.data, st.len);
	cr_assert_not_null(signer);
	buf_free(&st);
	buf_free(&vt);
}

static void
teardown(void)
{
	char p[160];
	const char *names[] = { "membership-seen", "membership-seen.lock", "membership-seen.new",
		                "target", NULL };
	for (int i = 0; names[i] != NULL; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		(void)unlink(p);
	}
	rmdir(dir);
	note_signer_free(signer);
}

TestSuite(seen, .init = setup, .fini = teardown);

/* A statement `seq` of `team` with one member named `who` (not chained:
 * seen only looks at the team, the number and the hash). */
static struct membership *
head(const char *team, uint64_t seq, const char *who)
{
	struct membership_member m;
	uint8_t sk[32], esk[64], prev[32];
	struct buf t, out;
	struct note_verifier *v = note_signer_verifier(signer);
	struct membership *r = NULL;
	memset(&m, 0, sizeof(m));
	memset(prev, 0x5a, sizeof(prev));
	snprintf(m.name, sizeof(m.name), "%s", who);
	cr_assert_eq(age_keygen(m.x25519_pk, sk), 0);
	cr_assert_eq(age_recipient_encode(m.x25519_pk, m.recipient, sizeof(m.recipient)), 0);
	cr_assert_eq(crypto_sign_keypair(m.ed25519_pk, esk), 0);
	buf_init(&t, NOTE_MAX_LEN);
	buf_init(&out, NOTE_MAX_LEN);
	cr_assert_eq(membership_build_text(team, seq, seq > 1 ? prev : NULL, &m, 1, &t), 0);
	cr_assert_eq(note_sign(signer, (const char *)t.data, t.len, &out), 0);
	cr_assert_eq(membership_open((const char *)out.data, out.len,
	                             (const struct note_verifier *const *)&v, 1, &r),
	             MEMBERSHIP_OK);
	note_verifier_free(v);
	buf_free(&t);
	buf_free(&out);
	return r;
}

static char *
slurp(void)
{
	size_t n;
	char *p = util_read_file(path, 1 << 20, &n);
	cr_assert_not_null(p, "%s was not written", path);
	return p;
}

static void
write_text(const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, text, strlen(text)), 0);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

#define SRV "https://review.example:8443"

Test(seen, newer_is_remembered_older_is_refused)
{
	struct membership *h1 = head("demo", 1, "alice"), *h3 = head("demo", 3, "carol"),
	                  *h2 = head("demo", 2, "bob");
	struct stat st;
	cr_assert_eq(seen_check_file(path, SRV, h1), SEEN_OK);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(seen_check_file(path, SRV, h3), SEEN_OK);
	char hex[65], want[256];
	util_hex(membership_hash(h3), 32, hex);
	snprintf(want, sizeof(want), "tipline-membership-seen v1\n" SRV " demo 3 %s\n", hex);
	char *text = slurp();
	cr_assert_str_eq(text, want);
	free(text);
	/* The same statement again: fine, nothing changes. */
	cr_assert_eq(seen_check_file(path, SRV, h3), SEEN_OK);
	/* An older one: refused, and the file still remembers 3. */
	cr_assert_eq(seen_check_file(path, SRV, h2), SEEN_ERR_ROLLED_BACK);
	cr_assert_eq(seen_check_file(path, SRV, h1), SEEN_ERR_ROLLED_BACK);
	text = slurp();
	cr_assert_str_eq(text, want);
	free(text);
	membership_free(h1);
	membership_free(h2);
	membership_free(h3);
}

Test(seen, rollback_message_is_loud)
{
	struct membership *h5 = head("demo", 5, "alice"), *h4 = head("demo", 4, "alice");
	cr_assert_eq(seen_check_file(path, SRV, h5), SEEN_OK);
	cr_redirect_stderr();
	cr_assert_eq(seen_check_file(path, SRV, h4), SEEN_ERR_ROLLED_BACK);
	fflush(stderr);
	cr_assert_stderr_eq_str("tipctl: the server showed an older membership of team demo "
	                        "(statement 4) than this computer has already seen (5): refusing; "
	                        "tell an admin\n");
	membership_free(h4);
	membership_free(h5);
}

Test(seen, same_number_different_statement_is_a_fork)
{
	struct membership *a = head("demo", 2, "alice"), *b = head("demo", 2, "mallory");
	cr_assert_eq(seen_check_file(path, SRV, a), SEEN_OK);
	cr_assert_eq(seen_check_file(path, SRV, b), SEEN_ERR_FORKED);
	/* The fork is not remembered: the first one still passes. */
	cr_assert_eq(seen_check_file(path, SRV, a), SEEN_OK);
	cr_assert_eq(seen_check_file(path, SRV, b), SEEN_ERR_FORKED);
	membership_free(a);
	membership_free(b);
}

Test(seen, servers_and_teams_are_separate)
{
	struct membership *d7 = head("demo", 7, "alice"), *d1 = head("demo", 1, "alice"),
	                  *o2 = head("other", 2, "alice"), *o1 = head("other", 1, "alice");
	cr_assert_eq(seen_check_file(path, SRV, d7), SEEN_OK);
	cr_assert_eq(seen_check_file(path, SRV, o2), SEEN_OK);
	/* A new server has its own history; a different team too. */
	cr_assert_eq(seen_check_file(path, "https://127.0.0.1:9", d1), SEEN_OK);
	cr_assert_eq(seen_check_file(path, SRV, d1), SEEN_ERR_ROLLED_BACK);
	cr_assert_eq(seen_check_file(path, SRV, o1), SEEN_ERR_ROLLED_BACK);
	cr_assert_eq(seen_check_file(path, "https://127.0.0.1:9", d7), SEEN_OK);
	cr_assert_eq(seen_check_file(path, "https://127.0.0.1:9", d1), SEEN_ERR_ROLLED_BACK);
	/* Three entries, every one kept across rewrites. */
	char *text = slurp();
	int lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 4, "%s", text);
	cr_assert(strstr(text, SRV " other 2 ") != NULL, "%s", text);
	cr_assert(strstr(text, SRV " demo 7 ") != NULL, "%s", text);
	cr_assert(strstr(text, "https://127.0.0.1:9 demo 7 ") != NULL, "%s", text);
	free(text);
	/* A server name with a space cannot be stored. */
	cr_assert_eq(seen_check_file(path, "https://a b", d7), SEEN_ERR_IO);
	cr_assert_eq(seen_check_file(path, "", d7), SEEN_ERR_IO);
	membership_free(d7);
	membership_free(d1);
	membership_free(o2);
	membership_free(o1);
}

Test(seen, damaged_file_is_refused_not_reset)
{
	struct membership *h = head("demo", 1, "alice");
	char hex[65], ok[256];
	util_hex(membership_hash(h), 32, hex);
	const char *bad[] = {
		"garbage\n",
		"tipline-membership-seen v2\n",
		"tipline-membership-seen v1\n" SRV " demo 3\n",
		"tipline-membership-seen v1\n" SRV " demo 03 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		"tipline-membership-seen v1\n" SRV " demo 0 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		"tipline-membership-seen v1\n" SRV " Demo 3 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		"tipline-membership-seen v1\n" SRV " demo 3 "
		"000000000000000000000000000000000000000000000000000000000000000G\n",
		"tipline-membership-seen v1\n" SRV " demo 3 "
		"0000000000000000000000000000000000000000000000000000000000000000",
		"tipline-membership-seen v1\n" SRV "  demo 3 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		"tipline-membership-seen v1\n" SRV " demo 3 "
		"0000000000000000000000000000000000000000000000000000000000000000 x\n",
		"tipline-membership-seen v1\n" SRV " demo 99999999999999999999 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		/* the same pair twice: which one is true? */
		"tipline-membership-seen v1\n" SRV " demo 1 "
		"0000000000000000000000000000000000000000000000000000000000000000\n" SRV " demo 2 "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		NULL
	};
	for (int i = 0; bad[i] != NULL; i++) {
		write_text(bad[i], 0600);
		cr_assert_eq(seen_check_file(path, SRV, h), SEEN_ERR_CORRUPT, "case %d", i);
		char *text = slurp();
		cr_assert_str_eq(text, bad[i], "case %d: the damaged file was changed", i);
		free(text);
	}
	/* A well-formed file for other pairs is kept and extended. */
	snprintf(ok, sizeof(ok), "tipline-membership-seen v1\nhttps://x other 4 %s\n", hex);
	write_text(ok, 0600);
	cr_assert_eq(seen_check_file(path, SRV, h), SEEN_OK);
	char *text = slurp();
	cr_assert(strncmp(text, ok, strlen(ok)) == 0, "%s", text);
	free(text);
	membership_free(h);
}

Test(seen, unsafe_file_is_refused)
{
	struct membership *h = head("demo", 1, "alice");
	char target[160];
	write_text("tipline-membership-seen v1\n", 0620);
	cr_assert_eq(seen_check_file(path, SRV, h), SEEN_ERR_CORRUPT);
	write_text("tipline-membership-seen v1\n", 0602);
	cr_assert_eq(seen_check_file(path, SRV, h), SEEN_ERR_CORRUPT);
	/* A symlink is never followed, for reading or writing. */
	unlink(path);
	snprintf(target, sizeof(target), "%s/target", dir);
	int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(seen_check_file(path, SRV, h), SEEN_ERR_CORRUPT);
	struct stat st;
	cr_assert_eq(stat(target, &st), 0);
	cr_assert_eq(st.st_size, 0, "the symlink's target was written");
	/* A directory in its place. */
	unlink(path);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_neq(seen_check_file(path, SRV, h), SEEN_OK);
	rmdir(path);
	/* Once it is gone, the first statement is taken again (a new computer). */
	cr_assert_eq(seen_check_file(path, SRV, h), SEEN_OK);
	membership_free(h);
}

Test(seen, default_file_follows_tipline_home)
{
	struct membership *h2 = head("demo", 2, "alice"), *h1 = head("demo", 1, "alice");
	cr_assert_eq(setenv("TIPLINE_HOME", dir, 1), 0);
	cr_assert_eq(seen_check_and_update(SRV, h2), SEEN_OK);
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert_eq(seen_check_and_update(SRV, h1), SEEN_ERR_ROLLED_BACK);
	cr_assert_eq(seen_check_file(path, SRV, h1), SEEN_ERR_ROLLED_BACK);
	membership_free(h1);
	membership_free(h2);
}

Test(seen, a_nul_inside_a_field_is_damage)
{
	struct membership *h = head("demo", 1, "alice");
	/* "de\0mo" would read as team "de" if a field were used as a C string */
	static const char text[] = "tipline-membership-seen v1\n" SRV " de\0mo 3 "
	                           "0000000000000000000000000000000000000000000000000000000000000000\n"
	                           SRV " demo 1\0 "
	                           "0000000000000000000000000000000000000000000000000000000000000000\n";
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(seen_check_file(path, SRV, h), SEEN_ERR_CORRUPT);
	membership_free(h);
}
