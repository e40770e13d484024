/* Tests for identity: passphrase-protected identity files, and interop with Debian's age. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "buf.h"
#include "identity.h"
#include "membership.h"

static char dir[64];
static const char pass[] = "correct horse battery staple";

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	cr_assert_eq(setenv("TIPLINE_SCRYPT_LOGN", "10", 1), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_identity.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(identity, .init = setup, .fini = teardown);

static char *
path_in(const char *name)
{
	static char p[16][128];
	static int i;
	i = (i + 1) % 16;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static char *
read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	char *p = calloc(1, 65536);
	*n = fread(p, 1, 65535, f);
	fclose(f);
	return p;
}

Test(identity, save_load_round_trip)
{
	struct identity *id = identity_generate(), *back = NULL;
	cr_assert_not_null(id);
	const char *p = path_in("identity.age");
	cr_assert_eq(identity_save(id, p, pass, strlen(pass)), 0);
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode is %o", st.st_mode & 0777);
	size_t n;
	char *raw = read_all(p, &n);
	cr_assert(strncmp(raw, "age-encryption.org/v1\n-> scrypt ", 32) == 0, "not an age scrypt file");
	cr_assert_not_null(strstr(raw, " 10\n"), "TIPLINE_SCRYPT_LOGN not honoured");
	cr_assert_null(memmem(raw, n, "AGE-SECRET-KEY", 14), "secret key in the clear");
	free(raw);
	cr_assert_eq(identity_load(p, pass, strlen(pass), &back), IDENTITY_OK);
	cr_assert_str_eq(identity_recipient(back), identity_recipient(id));
	cr_assert_eq(memcmp(identity_x25519_sk(back), identity_x25519_sk(id), 32), 0);
	cr_assert_eq(memcmp(identity_ed25519_sk(back), identity_ed25519_sk(id), 64), 0);
	cr_assert_eq(memcmp(identity_ed25519_pk(back), identity_ed25519_pk(id), 32), 0);
	uint8_t pk[32];
	cr_assert_eq(crypto_scalarmult_base(pk, identity_x25519_sk(back)), 0);
	cr_assert_eq(memcmp(pk, identity_x25519_pk(back), 32), 0);
	/* The Ed25519 key signs and verifies. */
	uint8_t sig[64];
	cr_assert_eq(crypto_sign_detached(sig, NULL, (const uint8_t *)"m", 1, identity_ed25519_sk(back)), 0);
	cr_assert_eq(crypto_sign_verify_detached(sig, (const uint8_t *)"m", 1, identity_ed25519_pk(id)), 0);
	identity_free(back);
	identity_free(id);
}

Test(identity, wrong_passphrase)
{
	struct identity *id = identity_generate(), *back = NULL;
	const char *p = path_in("identity.age");
	cr_assert_eq(identity_save(id, p, pass, strlen(pass)), 0);
	cr_assert_eq(identity_load(p, "correct horse battery stapler", 29, &back),
	             IDENTITY_ERR_PASSPHRASE);
	cr_assert_null(back);
	cr_assert_eq(identity_load(p, pass, strlen(pass) - 1, &back), IDENTITY_ERR_PASSPHRASE);
	cr_assert_null(back);
	identity_free(id);
}

Test(identity, save_never_overwrites)
{
	struct identity *id = identity_generate();
	const char *p = path_in("exists.age");
	write_file(p, "precious", 8);
	errno = 0;
	cr_assert_eq(identity_save(id, p, pass, strlen(pass)), -1);
	cr_assert_eq(errno, EEXIST);
	size_t n;
	char *c = read_all(p, &n);
	cr_assert(n == 8 && memcmp(c, "precious", 8) == 0, "existing file clobbered");
	free(c);
	/* a symlink to a new place is not followed */
	const char *l = path_in("link.age");
	cr_assert_eq(symlink(path_in("target.age"), l), 0);
	cr_assert_eq(identity_save(id, l, pass, strlen(pass)), -1);
	cr_assert_neq(access(path_in("target.age"), F_OK), 0, "symlink followed");
	cr_assert_eq(identity_save(id, path_in("nodir/x.age"), pass, strlen(pass)), -1);
	cr_assert_eq(identity_save(id, path_in("empty.age"), "", 0), -1);
	cr_assert_neq(access(path_in("empty.age"), F_OK), 0, "file left behind");
	identity_free(id);
}

Test(identity, load_rejects_other_files)
{
	struct identity *back = NULL;
	cr_assert_eq(identity_load(path_in("missing.age"), pass, strlen(pass), &back), IDENTITY_ERR_IO);
	const char *g = path_in("garbage");
	write_file(g, "hello\n", 6);
	cr_assert_eq(identity_load(g, pass, strlen(pass), &back), IDENTITY_ERR_FORMAT);

	/* An age file for an X25519 recipient is not a passphrase file. */
	struct buf ct;
	uint8_t pk[32], sk[32];
	buf_init(&ct, 65536);
	cr_assert_eq(age_keygen(pk, sk), 0);
	cr_assert_eq(age_encrypt((const uint8_t *)"x", 1, (const uint8_t(*)[32])pk, 1, &ct), 0);
	write_file(path_in("x25519.age"), ct.data, ct.len);
	cr_assert_eq(identity_load(path_in("x25519.age"), pass, strlen(pass), &back),
	             IDENTITY_ERR_FORMAT);

	/* Passphrase files whose content is not a complete identity. */
	struct identity *id = identity_generate();
	struct buf text;
	buf_init_secure(&text, 4096);
	cr_assert_eq(identity_text(id, &text), 0);
	const char *t = buf_cstr(&text);
	const char *ed = strstr(t, "# tipline-ed25519: ");
	cr_assert_not_null(ed);
	char bad[5][1024];
	snprintf(bad[0], 1024, "%.*s", (int)(ed - t), t);                 /* no ed25519 line */
	snprintf(bad[1], 1024, "%s%s", t, strstr(t, "AGE-SECRET-KEY-1")); /* two secret keys */
	snprintf(bad[2], 1024, "# public key: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n%s",
	         strstr(t, "AGE-SECRET-KEY-1"));                         /* key mismatch */
	snprintf(bad[3], 1024, "%s%s", t, "junk line\n");
	snprintf(bad[4], 1024, "%.*s# tipline-ed25519: AAAA\n", (int)(ed - t), t);
	for (int i = 0; i < 5; i++) {
		cr_assert_null(identity_parse(bad[i], strlen(bad[i])), "bad identity %d parsed", i);
		buf_reset(&ct);
		cr_assert_eq(age_encrypt_scrypt((const uint8_t *)bad[i], strlen(bad[i]), pass,
		                                strlen(pass), 10, &ct), 0);
		char name[16];
		snprintf(name, sizeof(name), "bad%d.age", i);
		write_file(path_in(name), ct.data, ct.len);
		cr_assert_eq(identity_load(path_in(name), pass, strlen(pass), &back),
		             IDENTITY_ERR_FORMAT, "bad identity %d loaded", i);
	}
	/* The good text parses (also without the public key comment). */
	struct identity *ok = identity_parse(t, strlen(t));
	cr_assert_not_null(ok);
	cr_assert_str_eq(identity_recipient(ok), identity_recipient(id));
	identity_free(ok);
	const char *nopk = strstr(t, "AGE-SECRET-KEY-1");
	ok = identity_parse(nopk, strlen(nopk));
	cr_assert_not_null(ok);
	identity_free(ok);
	buf_free(&text);
	buf_free(&ct);
	identity_free(id);
}

Test(identity, scrypt_work_factor_from_env)
{
	cr_assert_eq(identity_scrypt_logn(), 10);
	setenv("TIPLINE_SCRYPT_LOGN", "4", 1);
	cr_assert_eq(identity_scrypt_logn(), 10);
	setenv("TIPLINE_SCRYPT_LOGN", "30", 1);
	cr_assert_eq(identity_scrypt_logn(), 22);
	setenv("TIPLINE_SCRYPT_LOGN", "15", 1);
	cr_assert_eq(identity_scrypt_logn(), 15);
	setenv("TIPLINE_SCRYPT_LOGN", "15x", 1);
	cr_assert_eq(identity_scrypt_logn(), 18);
	unsetenv("TIPLINE_SCRYPT_LOGN");
	cr_assert_eq(identity_scrypt_logn(), 18);
}

Test(identity, member_line)
{
	struct identity *id = identity_generate();
	struct buf b;
	buf_init(&b, 512);
	cr_assert_eq(identity_member_line(id, "alice.k", &b), 0);
	struct membership_member m;
	cr_assert_eq(membership_member_parse((const char *)b.data, b.len, &m), 0);
	cr_assert_str_eq(m.name, "alice.k");
	cr_assert_str_eq(m.recipient, identity_recipient(id));
	cr_assert_eq(memcmp(m.ed25519_pk, identity_ed25519_pk(id), 32), 0);
	buf_reset(&b);
	cr_assert_eq(identity_member_line(id, "alice k", &b), -1);
	cr_assert_eq(identity_member_line(id, "", &b), -1);
	cr_assert_eq(b.len, 0);
	buf_free(&b);
	identity_free(id);
}

/*
 * Run `argv` on a pseudo-terminal; once it prompts for a passphrase, type
 * `pw`. Return its exit status (-1 if it timed out or died by a signal).
 */
static char pty_out[8192];

static int
run_on_pty(char *const argv[], const char *pw)
{
	int master = -1;
	char *out = pty_out;
	size_t got = 0;
	int typed = 0;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert(pid >= 0, "forkpty failed");
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		struct pollfd pfd = { master, POLLIN, 0 };
		if (poll(&pfd, 1, 20000) <= 0)
			break;
		ssize_t r = read(master, out + got, sizeof(pty_out) - 1 - got);
		if (r <= 0)
			break; /* EIO once the child has gone */
		got += (size_t)r;
		out[got] = '\0';
		if (!typed && strstr(out, "passphrase") != NULL) {
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			nanosleep(&ts, NULL); /* let age turn off echo and start reading */
			cr_assert_eq(write(master, pw, strlen(pw)), (ssize_t)strlen(pw));
			cr_assert_eq(write(master, "\r", 1), 1);
			typed = 1;
		}
		if (got == sizeof(pty_out) - 1)
			got = 0;
	}
	close(master);
	/* The pty closes a moment before the child can be reaped: wait up to 10 s. */
	int st = 0;
	pid_t w = 0;
	for (int i = 0; i < 1000 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (w != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	cr_assert(typed, "age never asked for the passphrase: %s", out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(identity, stock_age_decrypts_with_the_identity_file)
{
	struct identity *id = identity_generate();
	char *idp = path_in("identity.age");
	cr_assert_eq(identity_save(id, idp, pass, strlen(pass)), 0);
	const char *msg = "tipline interop: a file for the investigator\n";
	write_file(path_in("msg.txt"), msg, strlen(msg));
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "age -r %s -o %s %s", identity_recipient(id), path_in("msg.age"),
	         path_in("msg.txt"));
	cr_assert_eq(system(cmd), 0, "age -r failed");
	char *const argv[] = { "age",       "-d",       "-i", idp, "-o", path_in("out.txt"),
		               path_in("msg.age"), NULL };
	cr_assert_eq(run_on_pty(argv, pass), 0, "age -d -i identity.age failed: %s", pty_out);
	size_t n;
	char *got = read_all(path_in("out.txt"), &n);
	cr_assert(n == strlen(msg) && memcmp(got, msg, n) == 0, "age decrypted the wrong bytes");
	free(got);
	/* The wrong passphrase makes age fail. */
	char *const argv2[] = { "age",       "-d",       "-i", idp, "-o", path_in("out2.txt"),
		                path_in("msg.age"), NULL };
	cr_assert_neq(run_on_pty(argv2, "not the passphrase"), 0);
	identity_free(id);
}

Test(identity, stock_age_decrypts_the_identity_file_itself)
{
	struct identity *id = identity_generate();
	char *idp = path_in("identity.age");
	cr_assert_eq(identity_save(id, idp, pass, strlen(pass)), 0);
	char *const argv[] = { "age", "-d", "-o", path_in("plain.txt"), idp, NULL };
	cr_assert_eq(run_on_pty(argv, pass), 0, "age -d identity.age failed: %s", pty_out);
	size_t n;
	char *text = read_all(path_in("plain.txt"), &n);
	char want[256];
	snprintf(want, sizeof(want), "# created by tipctl\n# public key: %s\nAGE-SECRET-KEY-1",
	         identity_recipient(id));
	cr_assert(strncmp(text, want, strlen(want)) == 0, "unexpected identity text");
	cr_assert_not_null(strstr(text, "\n# tipline-ed25519: "));
	cr_assert_eq(text[n - 1], '\n');
	struct identity *back = identity_parse(text, n);
	cr_assert_not_null(back);
	cr_assert_eq(memcmp(identity_ed25519_sk(back), identity_ed25519_sk(id), 64), 0);
	sodium_memzero(text, n);
	free(text);
	identity_free(back);
	identity_free(id);
}
