/*
 * The browser suite's driver: starts the real tipd and PostgreSQL (the
 * integration harness), logs the demo investigator's tipctl in, runs
 * tests/browser/suite.mjs (Debian's Chromium, JavaScript off, through npm
 * playwright-core), then checks in PostgreSQL that exactly what the suite
 * meant to store was stored: two reports with one attachment each, two
 * more (the layout check's and the one sent with the keyboard alone), one
 * follow-up message with one file, one inbox forgotten, and nothing from
 * the bad inputs.
 * Screenshots, page weights and axe findings: build/…/browser-artifacts/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "it_common.h"

#define FORM_TTL_S 4
#define MAX_BODY_MB 2

static struct th T;

Test(browser, source_pages_with_javascript_off, .timeout = 600)
{
	char home[TH_PATH + 16], url[64], tls_url[64], artifacts[TH_PATH];
	char ttl[16], maxb[16], suite[TH_PATH];
	struct buf out, err;
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 20);
	th_setup(&T);
	T.flush_ms = 200;
	snprintf(T.web_conf, sizeof(T.web_conf), "form_ttl_s = %d\n", FORM_TTL_S);
	snprintf(T.extra_conf, sizeof(T.extra_conf), "max_body_mb = %d\n", MAX_BODY_MB);
	th_write_conf(&T);
	th_start(&T);

	snprintf(home, sizeof(home), "%s/tipctl-home", T.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	it_tipctl_login(&T, home);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", T.source_port);
	snprintf(tls_url, sizeof(tls_url), "https://127.0.0.1:%d", T.source_tls_port);
	snprintf(artifacts, sizeof(artifacts), "%s/browser-artifacts", getenv("TIPLINE_BUILD_DIR"));
	snprintf(ttl, sizeof(ttl), "%d", FORM_TTL_S);
	snprintf(maxb, sizeof(maxb), "%d", MAX_BODY_MB);
	snprintf(suite, sizeof(suite), "%s/tests/browser/suite.mjs", getenv("TIPLINE_SOURCE_DIR"));
	cr_assert_eq(setenv("TIPLINE_URL", url, 1), 0);
	cr_assert_eq(setenv("TIPLINE_TLS_URL", tls_url, 1), 0);
	cr_assert_eq(setenv("TIPLINE_ARTIFACTS", artifacts, 1), 0);
	cr_assert_eq(setenv("TIPLINE_WORK", T.dir, 1), 0);
	cr_assert_eq(setenv("TIPLINE_FORM_TTL_S", ttl, 1), 0);
	cr_assert_eq(setenv("TIPLINE_MAX_BODY_MB", maxb, 1), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	cr_assert_eq(setenv("TIPLINE_PASSFILE", T.passfile, 1), 0);
	cr_assert_eq(setenv("TIPLINE_IDENTITY", T.identity, 1), 0);
	cr_assert_eq(setenv("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1", 1), 0);
	const char *node = getenv("TIPLINE_NODE") != NULL ? getenv("TIPLINE_NODE") : "node";
	char *argv[] = { (char *)(uintptr_t)node, suite, NULL };
	int rc = th_run(argv, NULL, 0, &out);
	cr_assert_eq(rc, 0, "the browser suite failed (exit %d); its output:\n%s", rc,
	             buf_cstr(&out));
	cr_log_info("%s", buf_cstr(&out));

	/* Exactly what the suite meant to store, nothing from the bad inputs:
	 * the reports in en and ar (with a file each), one sent for the layout
	 * check and one typed with the keyboard alone; the follow-up's file. */
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 4);
	cr_assert_eq(th_count(&T, "select count(*) from attachments"), 3);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 1);
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), 3,
	             "the forgotten inbox remains");
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}
