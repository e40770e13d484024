/*
 * `tipd -n` (check the configuration and its files) and subcommand help, run
 * as the real binary: each refusal names the file, the line or key, and the
 * fix; `tipd migrate --help` and `tipd membership --help` answer without a
 * configuration. No database is needed.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char dir[64] = "/tmp/tipd-check-XXXXXX", conf[128], tipd[TH_PATH], src[TH_PATH];
static struct buf out;

static void
put(const char *name, const char *text, mode_t mode, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(tipd, sizeof(tipd), "%s", getenv("TIPD"));
	snprintf(src, sizeof(src), "%s", getenv("TIPLINE_SOURCE_DIR"));
	buf_init(&out, 1 << 16);
	char crt[128], key[128];
	snprintf(crt, sizeof(crt), "%s/tls.crt", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	char *ossl[] = { "openssl",
		         "req",
		         "-x509",
		         "-newkey",
		         "ec",
		         "-pkeyopt",
		         "ec_paramgen_curve:P-256",
		         "-nodes",
		         "-keyout",
		         key,
		         "-out",
		         crt,
		         "-subj",
		         "/CN=check",
		         "-days",
		         "1",
		         NULL };
	cr_assert_eq(th_run(ossl, NULL, 0, NULL), 0, "openssl req failed");
}

static void
teardown(void)
{
	char *rm[] = { "rm", "-rf", dir, NULL };
	(void)th_run(rm, NULL, 0, NULL);
	buf_free(&out);
}

TestSuite(tipd_check, .init = setup, .fini = teardown, .timeout = 60);

/* Write a configuration with `questionnaire`, `tls_key` and the extra text; run
 * `tipd -c CONF -n` (stderr into `out`); return its exit status. */
static int
check(const char *questionnaire, const char *tls_key, const char *extra)
{
	char pepper[128], text[4096];
	put("pepper", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 0600,
	    pepper, sizeof(pepper));
	snprintf(
		text, sizeof(text),
		"[tipd]\nspool_dir = %s/spool\nstate_dir = %s/state\nquestionnaire = %s\n"
		"receipt_pepper = %s\n[database]\nconninfo = host=/nonexistent dbname=x\n"
		"[source]\nlisten = 127.0.0.1:0\n"
		"[source_tls]\nlisten = 127.0.0.1:0\ntls_cert = %s/tls.crt\ntls_key = %s\n"
		"[admins]\nadmin_key = a+f1c3841c+AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n%s",
		dir, dir, questionnaire, pepper, dir, tls_key, extra);
	put("tipd.conf", text, 0600, conf, sizeof(conf));
	char *argv[] = { "sh", "-c", "\"$0\" -c \"$1\" -n 2>&1", tipd, conf, NULL };
	buf_reset(&out);
	return th_run(argv, NULL, 0, &out);
}

Test(tipd_check, refusals_name_the_file_and_the_fix)
{
	char q[TH_PATH + 64], bad[128], key[128];
	snprintf(q, sizeof(q), "%s/server/web/questionnaire.json", src);
	put("broken.json", "{\"version\": 1, \"questions\": [", 0644, bad, sizeof(bad));
	snprintf(key, sizeof(key), "%s/no-such.key", dir);

	/* a broken questionnaire: its path and the key that names it */
	cr_assert_eq(check(bad, key, ""), 1);
	cr_assert(strstr(buf_cstr(&out), bad) != NULL &&
	                  strstr(buf_cstr(&out), "[tipd] questionnaire") != NULL,
	          "%s", buf_cstr(&out));
	/* a missing TLS key: the key, its path and why, not only OpenSSL's words */
	cr_assert_eq(check(q, key, ""), 1);
	cr_assert(strstr(buf_cstr(&out), "[source_tls] tls_key = ") != NULL &&
	                  strstr(buf_cstr(&out), key) != NULL &&
	                  strstr(buf_cstr(&out), "No such file or directory") != NULL,
	          "%s", buf_cstr(&out));
	/* a port out of range, at its line */
	cr_assert_eq(check(q, key, "[review]\nlisten = 127.0.0.1:99999\n"), 1);
	cr_assert(strstr(buf_cstr(&out), "tipd.conf:17: bad value for [review] listen") != NULL,
	          "%s", buf_cstr(&out));
	/* a misspelled section is a section */
	cr_assert_eq(check(q, key, "[reveiw]\norigin = https://x\n"), 1);
	cr_assert(strstr(buf_cstr(&out), "unknown section [reveiw]") != NULL, "%s", buf_cstr(&out));
	/* readable by everyone */
	cr_assert_eq(check(q, key, ""), 1);
	cr_assert_eq(chmod(conf, 0644), 0);
	char *argv[] = { "sh", "-c", "\"$0\" -c \"$1\" -n 2>&1", tipd, conf, NULL };
	buf_reset(&out);
	cr_assert_eq(th_run(argv, NULL, 0, &out), 1);
	cr_assert(strstr(buf_cstr(&out), "chmod 0640") != NULL, "%s", buf_cstr(&out));
}

Test(tipd_check, subcommand_help_needs_no_configuration)
{
	const char *subs[][3] = { { "migrate", "--help", "usage: tipd [-c FILE] migrate" },
		                  { "membership", "--help",
		                    "usage: tipd [-c FILE] membership add" } };
	for (size_t i = 0; i < 2; i++) {
		char *argv[] = { tipd,
			         "-c",
			         "/nonexistent/tipd.conf",
			         (char *)(uintptr_t)subs[i][0],
			         (char *)(uintptr_t)subs[i][1],
			         NULL };
		buf_reset(&out);
		cr_assert_eq(th_run(argv, NULL, 0, &out), 0, "tipd %s --help", subs[i][0]);
		cr_assert(strstr(buf_cstr(&out), subs[i][2]) != NULL, "%s", buf_cstr(&out));
	}
}
