/*
 * Interoperability of the age module with Debian's age 1.1.1: files we write
 * decrypt with `age -d`, files `age -r`/`age -R` write decrypt with ours, and
 * keys made by age-keygen read back the same. The binaries must be present.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "age.h"
#include "util.h"

#define AGE_BIN "/usr/bin/age"
#define AGE_KEYGEN_BIN "/usr/bin/age-keygen"
#define MAXF (4u << 20)

static char dir[64];
static uint8_t sks[3][AGE_KEY_LEN], pks[3][AGE_KEY_LEN];
static char recips[3][AGE_RECIPIENT_STR_MAX];
static const size_t sizes[] = { 0, 1, 65536, 65537, 200000 };

static void
path_of(char *out, size_t max, const char *name)
{
	cr_assert_lt((size_t)snprintf(out, max, "%s/%s", dir, name), max);
}

/* Run argv with stdout/stderr to a log file; return the exit status (or -1). */
static int
run(char *const argv[])
{
	char log[128];
	path_of(log, sizeof(log), "child.log");
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
write_file(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	path_of(path, sizeof(path), name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(util_write_all(fd, p, n), 0);
	close(fd);
}

static char *
read_file(const char *name, size_t *len)
{
	char path[128];
	path_of(path, sizeof(path), name);
	char *p = util_read_file(path, MAXF, len);
	cr_assert_not_null(p, "cannot read %s", path);
	return p;
}

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (uint8_t)(seed >> 24);
	}
}

/* Make key i with age-keygen and read back both halves. */
static void
keygen(int i)
{
	char name[16], path[128], *key, *pub, *sec;
	size_t len;
	snprintf(name, sizeof(name), "key%d", i);
	path_of(path, sizeof(path), name);
	char *argv[] = { AGE_KEYGEN_BIN, "-o", path, NULL };
	cr_assert_eq(run(argv), 0, "age-keygen failed");
	key = read_file(name, &len);
	pub = strstr(key, "# public key: ");
	sec = strstr(key, "AGE-SECRET-KEY-1");
	cr_assert(pub != NULL && sec != NULL);
	pub += strlen("# public key: ");
	*strchr(pub, '\n') = '\0';
	*strchr(sec, '\n') = '\0';
	cr_assert_eq(age_identity_decode(sec, sks[i]), 0);
	cr_assert_eq(age_recipient_decode(pub, pks[i]), 0);
	uint8_t derived[AGE_KEY_LEN];
	cr_assert_eq(age_public_of(sks[i], derived), 0);
	cr_assert_eq(memcmp(derived, pks[i], AGE_KEY_LEN), 0, "public key as age-keygen says");
	cr_assert_eq(age_recipient_encode(pks[i], recips[i], sizeof(recips[i])), 0);
	cr_assert_str_eq(recips[i], pub);
	sodium_memzero(key, len);
	free(key);
}

static void
setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(access(AGE_BIN, X_OK), 0, AGE_BIN " is required (Debian package age)");
	cr_assert_eq(access(AGE_KEYGEN_BIN, X_OK), 0, AGE_KEYGEN_BIN " is required");
	snprintf(dir, sizeof(dir), "/tmp/tipline-age-interop-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	for (int i = 0; i < 3; i++)
		keygen(i);
}

static void
teardown(void)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char path[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

TestSuite(age_interop, .init = setup, .fini = teardown);

/* `age -d -i key<who> file` must give back exactly `pt`. */
static void
expect_age_decrypts(const char *file, int who, const uint8_t *pt, size_t n)
{
	char in[128], out[128], key[128], kname[16];
	size_t len;
	snprintf(kname, sizeof(kname), "key%d", who);
	path_of(in, sizeof(in), file);
	path_of(out, sizeof(out), "plain.out");
	path_of(key, sizeof(key), kname);
	unlink(out);
	char *argv[] = { AGE_BIN, "-d", "-i", key, "-o", out, in, NULL };
	cr_assert_eq(run(argv), 0, "age -d failed on %s with key%d", file, who);
	if (n == 0 && access(out, F_OK) != 0)
		return; /* age creates the output file on its first write */
	char *got = read_file("plain.out", &len);
	cr_assert_eq(len, n, "age -d gave %zu bytes, want %zu", len, n);
	cr_assert(n == 0 || memcmp(got, pt, n) == 0);
	free(got);
}

Test(age_interop, age_decrypts_our_files)
{
	static uint8_t pt[200000];
	fill(pt, sizeof(pt), 7);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t npk = 1; npk <= 3; npk += 2) {
			struct buf ct;
			buf_init(&ct, MAXF);
			cr_assert_eq(age_encrypt(pt, sizes[s], (const uint8_t(*)[AGE_KEY_LEN])pks, npk,
			                         &ct), 0);
			write_file("ours.age", ct.data, ct.len);
			for (size_t r = 0; r < npk; r++)
				expect_age_decrypts("ours.age", (int)r, pt, sizes[s]);
			buf_free(&ct);
		}
	}
}

Test(age_interop, age_refuses_our_truncated_and_wrong_key_files)
{
	static uint8_t pt[65537];
	char in[128], out[128], key[128];
	struct buf ct;
	buf_init(&ct, MAXF);
	cr_assert_eq(age_encrypt(pt, sizeof(pt), (const uint8_t(*)[AGE_KEY_LEN])pks, 1, &ct), 0);
	write_file("trunc.age", ct.data, ct.len - 1);
	path_of(in, sizeof(in), "trunc.age");
	path_of(out, sizeof(out), "plain.out");
	path_of(key, sizeof(key), "key0");
	char *argv[] = { AGE_BIN, "-d", "-i", key, "-o", out, in, NULL };
	cr_assert_neq(run(argv), 0, "age -d accepted a truncated file");
	write_file("trunc.age", ct.data, ct.len);
	path_of(key, sizeof(key), "key1");
	cr_assert_neq(run(argv), 0, "age -d accepted the wrong key");
	buf_free(&ct);
}

/* Decrypt file `name` with our code and identity sks[who]. */
static void
expect_we_decrypt(const char *name, int who, const uint8_t *pt, size_t n)
{
	size_t len;
	struct buf out;
	buf_init_secure(&out, MAXF);
	char *ct = read_file(name, &len);
	struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks[who], .nsks = 1 };
	cr_assert_eq(age_decrypt((const uint8_t *)ct, len, &o, &out), AGE_OK, "%s key%d", name, who);
	cr_assert_eq(out.len, n);
	cr_assert(n == 0 || memcmp(out.data, pt, n) == 0);
	buf_free(&out);
	free(ct);
}

/* File `name` must not open with identity sks[who]. */
static void
expect_no_match(const char *name, int who)
{
	size_t len;
	struct buf out;
	buf_init_secure(&out, MAXF);
	char *ct = read_file(name, &len);
	struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks[who], .nsks = 1 };
	cr_assert_eq(age_decrypt((const uint8_t *)ct, len, &o, &out), AGE_ERR_NO_MATCH);
	cr_assert_eq(out.len, 0);
	buf_free(&out);
	free(ct);
}

Test(age_interop, we_decrypt_age_files)
{
	static uint8_t pt[200000];
	char in[128], out[128], rfile[128];
	fill(pt, sizeof(pt), 9);
	path_of(in, sizeof(in), "plain.in");
	path_of(out, sizeof(out), "theirs.age");
	path_of(rfile, sizeof(rfile), "recipients.txt");
	struct buf r;
	buf_init(&r, 4096);
	cr_assert_eq(buf_printf(&r, "# team\n%s\n%s\n%s\n", recips[0], recips[1], recips[2]), 0);
	write_file("recipients.txt", r.data, r.len);
	buf_free(&r);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		write_file("plain.in", pt, sizes[s]);
		char *one[] = { AGE_BIN, "-r", recips[1], "-o", out, in, NULL };
		cr_assert_eq(run(one), 0, "age -r failed");
		expect_we_decrypt("theirs.age", 1, pt, sizes[s]);
		expect_no_match("theirs.age", 0);
		expect_no_match("theirs.age", 2);
		unlink(out);
		char *many[] = { AGE_BIN, "-R", rfile, "-o", out, in, NULL };
		cr_assert_eq(run(many), 0, "age -R failed");
		for (int w = 0; w < 3; w++)
			expect_we_decrypt("theirs.age", w, pt, sizes[s]);
		unlink(out);
	}
}

Test(age_interop, per_recipient_header_with_shared_payload)
{
	static uint8_t pt[200000];
	uint8_t fk[AGE_FILE_KEY_LEN];
	struct buf payload, file;
	fill(pt, sizeof(pt), 11);
	buf_init(&payload, MAXF);
	buf_init(&file, MAXF);
	age_file_key_new(fk);
	struct age_enc *e = age_enc_new(fk);
	cr_assert_not_null(e);
	cr_assert(age_enc_update(e, pt, sizeof(pt), &payload) == 0 && age_enc_final(e, &payload) == 0);
	age_enc_free(e);
	for (int r = 0; r < 3; r++) {
		buf_reset(&file);
		cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pks[r], 1, &file), 0);
		cr_assert_eq(buf_add(&file, payload.data, payload.len), 0);
		write_file("split.age", file.data, file.len);
		expect_age_decrypts("split.age", r, pt, sizeof(pt));
	}
	buf_free(&payload);
	buf_free(&file);
}
