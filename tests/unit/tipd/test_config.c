/* config: the INI file, its defaults, and clear refusals of bad files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char path[64];

static void
write_conf(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/tipd-conf-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
cleanup(void)
{
	unlink(path);
}

/* Two valid signed-note verifier keys (tipd checks each admin_key as it reads it). */
#define KEY_A "a+f1c3841c+AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
#define KEY_B "b+1bef5487+AQICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC"

#define MINIMAL                                                                   \
	"[tipd]\nspool_dir = /tmp/s\nstate_dir = /tmp/st\nquestionnaire = /q.json\nreceipt_pepper = /p\n" \
	"[database]\nconninfo = host=/run/pg dbname=t\n"                             \
	"[source]\nlisten = unix:/run/t.sock\n"                                       \
	"[admins]\nadmin_key = " KEY_A "\nadmin_key = " KEY_B "\n"

TestSuite(config, .fini = cleanup);

Test(config, minimal_file_gets_defaults)
{
	char err[256];
	write_conf(MINIMAL);
	struct tipd_config *c = config_load(path, err, sizeof(err));
	cr_assert(c != NULL, "%s", err);
	cr_assert_str_eq(c->spool_dir, "/tmp/s");
	cr_assert_eq(c->n_admin_keys, 2);
	cr_assert_str_eq(c->admin_keys[1], KEY_B);
	cr_assert_eq(c->flush_interval_ms, 300000);
	cr_assert_eq(c->spool_quota_bytes, (uint64_t)1024 << 20);
	cr_assert_eq(c->mlock, CONFIG_MLOCK_AUTO);
	cr_assert(c->limits.max_body_bytes > 0 && c->limits.max_headers > 0);
	cr_assert_null(c->review.listen);
	config_free(c);
}

Test(config, limits_and_listeners_are_read)
{
	char err[256];
	write_conf(MINIMAL "[limits]\nmax_body_mb = 3\nmax_headers = 7\nhead_timeout_ms = 1500\n"
	                   "[review]\nlisten = 127.0.0.1:0\ntls_cert = /c\ntls_key = /k\n"
	                   "origin = https://review.example.onion\n"
	                   "[tipd]\nmlock = no\nflush_interval_ms = 250\n");
	struct tipd_config *c = config_load(path, err, sizeof(err));
	cr_assert(c != NULL, "%s", err);
	cr_assert_eq(c->limits.max_body_bytes, 3u << 20);
	cr_assert_eq(c->limits.max_headers, 7);
	cr_assert_eq(c->limits.head_ms, 1500);
	cr_assert_str_eq(c->review.tls_key, "/k");
	cr_assert_eq(c->mlock, CONFIG_MLOCK_NO);
	cr_assert_eq(c->flush_interval_ms, 250);
	config_free(c);
}

static void
expect_error(const char *text, const char *needle)
{
	char err[512] = "";
	write_conf(text);
	struct tipd_config *c = config_load(path, err, sizeof(err));
	cr_assert_null(c, "accepted a bad file");
	cr_assert(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
}

Test(config, bad_files_are_refused_with_the_reason)
{
	expect_error(MINIMAL "[tipd]\nspool_quota_mb = lots\n", "bad value for [tipd] spool_quota_mb");
	expect_error(MINIMAL "[tipd]\nflush_interval_ms = -1\n", "flush_interval_ms");
	expect_error(MINIMAL "[tipd]\nspool_dri = /x\n", "unknown key 'spool_dri' in [tipd] (its keys: "
	                                             "log_level mlock spool_dir");
	expect_error(MINIMAL "[tipd]\nspool_dri = /x\n", ":14: ");
	expect_error(MINIMAL "[nosuch]\na = b\n", "unknown section [nosuch] (the sections are [tipd]");
	expect_error(MINIMAL "[tipd]\nmlock = maybe\n", "mlock");
	expect_error(MINIMAL "[limits]\nmax_header_bytes = 10\n", "max_header_bytes");
	expect_error(MINIMAL "[source]\nproxy_protocol = perhaps\n", "proxy_protocol");
	expect_error(MINIMAL "[review]\nlisten = 127.0.0.1:1\n", "TLS only");
	expect_error(MINIMAL "[review]\nlisten = 127.0.0.1:1\ntls_cert = /c\ntls_key = /k\n", "origin");
	expect_error(MINIMAL "[source_tls]\nlisten = 127.0.0.1:1\n", "tls_cert");
	expect_error(MINIMAL "[source]\ntls_cert = /c\n", "plain HTTP");
	expect_error("[tipd]\nspool_dir = /s\n", "missing");
	expect_error(MINIMAL "garbage line without equals\n", ":");
	expect_error(MINIMAL "[limits]\nhead_timeout_ms = 0\n", "head_timeout_ms");
	expect_error(MINIMAL "[limits]\nkeepalive_timeout_ms = 0\n", "keepalive_timeout_ms");
	expect_error(MINIMAL "[tipd]\nonion_location = http://x onion/\n", "onion_location");
	expect_error(MINIMAL "[tipd]\nonion_location = not a url\n", "onion_location");
}

Test(config, refusals_name_the_line_and_the_fix)
{
	/* a port out of range, or no port: at the line, with the form wanted */
	expect_error(MINIMAL "[review]\nlisten = 127.0.0.1:99999\n", ":14: bad value for [review] "
	                                                             "listen = 127.0.0.1:99999: want HOST:PORT");
	expect_error(MINIMAL "[source]\nlisten = localhost\n", ":14: bad value for [source] listen");
	expect_error(MINIMAL "[source]\nlisten = localhost:80\n", "with an IP address");
	/* a bad admin key, at its line */
	expect_error(MINIMAL "[admins]\nadmin_key = a+01020304+AQ\n",
	             ":14: bad value for [admins] admin_key = a+01020304+AQ: want a verifier key");
}

Test(config, a_config_others_may_read_is_refused_with_the_fix)
{
	char err[512] = "";
	write_conf(MINIMAL);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_null(config_load(path, err, sizeof(err)), "accepted a world-readable file");
	cr_assert(strstr(err, "mode 0644") != NULL && strstr(err, "chmod 0640") != NULL, "%s", err);
	cr_assert_eq(chmod(path, 0620), 0);
	cr_assert_null(config_load(path, err, sizeof(err)), "accepted a group-writable file");
	cr_assert_eq(chmod(path, 0640), 0);
	struct tipd_config *c = config_load(path, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	config_free(c);
}

Test(config, missing_file_is_reported)
{
	char err[256] = "";
	cr_assert_null(config_load("/nonexistent/tipd.conf", err, sizeof(err)));
	cr_assert(strstr(err, "cannot open") != NULL, "%s", err);
}

Test(config, each_required_key_is_named_when_missing)
{
	static const char *keys[] = { "spool_dir", "state_dir", "questionnaire", "receipt_pepper", "conninfo",
		                      "listen", "admin_key" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char text[1024] = "", err[256] = "";
		size_t len = 0;
		const char *p = MINIMAL;
		/* Drop every line that sets this key. */
		while (*p) {
			const char *eol = strchr(p, '\n');
			size_t n = (size_t)(eol - p) + 1;
			if (strncmp(p, keys[i], strlen(keys[i])) != 0) {
				memcpy(text + len, p, n);
				len += n;
			}
			p += n;
		}
		write_conf(text);
		cr_assert_null(config_load(path, err, sizeof(err)), "accepted without %s", keys[i]);
		cr_assert(strstr(err, keys[i]) != NULL, "error \"%s\" does not name %s", err, keys[i]);
		unlink(path);
	}
}

Test(config, audit_section_defaults_values_and_refusals)
{
	char err[256];
	write_conf(MINIMAL);
	struct tipd_config *c = config_load(path, err, sizeof(err));
	cr_assert(c != NULL, "%s", err);
	cr_assert_eq(c->audit_checkpoint_entries, 64);
	cr_assert_eq(c->audit_checkpoint_interval_s, 60);
	config_free(c);
	write_conf(MINIMAL "[audit]\ncheckpoint_entries = 5\ncheckpoint_interval_s = 2\n");
	c = config_load(path, err, sizeof(err));
	cr_assert(c != NULL, "%s", err);
	cr_assert_eq(c->audit_checkpoint_entries, 5);
	cr_assert_eq(c->audit_checkpoint_interval_s, 2);
	config_free(c);
	expect_error(MINIMAL "[audit]\ncheckpoint_entries = 0\n", "bad value for [audit] checkpoint_entries");
	expect_error(MINIMAL "[audit]\ncheckpoint_interval_s = 0\n", "checkpoint_interval_s");
	expect_error(MINIMAL "[audit]\ncheckpoint_interval_s = 86401\n", "checkpoint_interval_s");
	expect_error(MINIMAL "[audit]\ncheckpoint_entries = many\n", "checkpoint_entries");
	expect_error(MINIMAL "[audit]\nkey = /x\n", "unknown key 'key' in [audit]");
}

Test(config, web_section_contacts_and_checks)
{
	char err[256] = "";
	write_conf(MINIMAL "[web]\ndir = /w\nlocales = /l\nteam = demo\n"
	                   "quick_exit_url = https://example.org/\n"
	                   "contact = Everywhere | Emergency | 112\n"
	                   "contact =  Greece |Anti-trafficking hotline|  1109 \n"
	                   "form_ttl_s = 60\nsession_s = 120\n");
	struct tipd_config *c = config_load(path, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->n_contacts, 2);
	cr_assert_str_eq(c->contacts[1].region, "Greece");
	cr_assert_str_eq(c->contacts[1].name, "Anti-trafficking hotline");
	cr_assert_str_eq(c->contacts[1].how, "1109");
	cr_assert_str_eq(c->web_exit_url, "https://example.org/");
	cr_assert_eq(c->web_form_ttl_s, 60);
	cr_assert_eq(c->web_session_s, 120);
	config_free(c);
	expect_error(MINIMAL "[web]\ndir = /w\n", "[web] dir needs locales");
	expect_error(MINIMAL "[web]\ndir = /w\nlocales = /l\n", "team");
	expect_error(MINIMAL "[web]\ncontact = only | two\n", "[web] contact");
	expect_error(MINIMAL "[web]\ncontact = a | | c\n", "[web] contact");
	expect_error(MINIMAL "[web]\nquick_exit_url = javascript:alert(1)\n", "quick_exit_url");
	expect_error(MINIMAL "[web]\nquick_exit_url = https://x/\"><b>\n", "quick_exit_url");
	expect_error(MINIMAL "[web]\nteam = Not A Team\n", "[web] team");
	expect_error(MINIMAL "[web]\nform_ttl_s = 0\n", "form_ttl_s");
}
