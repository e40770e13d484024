/*
 * tests/scale/scale_seed at a tiny size against the real tipd and
 * PostgreSQL, so that the seeder cannot rot: 200 reports over two teams and
 * 1,000 audit entries. Every seeded report opens with stock `age -d` and
 * the member's identity, holds the team and day its row says, and shows in
 * `tipctl tips list` and `tipctl tips show`; a seeded receipt opens its
 * inbox; every subtree node the seeder stored is the hash of its children
 * and there are exactly as many as tipd's trigger would have made; tipd
 * accepts the seeded checkpoints (it refuses to sign over a log that does
 * not extend them) and `tipctl audit verify` passes, before and after
 * tipd appends more.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "it_common.h"
#include "note.h"
#include "util.h"

#define REPORTS 200
#define ENTRIES 1000

static struct th T;
static char home[TH_PATH + 16], receipts[TH_PATH + 16];
static struct buf out, err;

static void
setup(void)
{
	char bob[TH_PATH];
	th_setup(&T);
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	snprintf(home, sizeof(home), "%s/home", T.dir);
	snprintf(receipts, sizeof(receipts), "%s/receipts.txt", T.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	it_make_other_team(&T, bob, sizeof(bob));
	th_start(&T); /* makes the audit key and appends tipd's own entries */
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
}

TestSuite(scale_seed, .init = setup, .fini = teardown, .timeout = 240);

/* Run the seeder at the tiny size; return its exit status, its JSON line in `out`. */
static int
seed(void)
{
	char conninfo[512], pepper[TH_PATH + 16], key[TH_PATH + 32];
	const char *bin = getenv("TIPLINE_SCALE_SEED");
	cr_assert_not_null(bin, "TIPLINE_SCALE_SEED is not set");
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%s dbname=%s user=%s",
	         getenv("TIPLINE_TEST_PGHOST"), getenv("TIPLINE_TEST_PGPORT"), T.db,
	         getenv("TIPLINE_TEST_PGUSER"));
	snprintf(pepper, sizeof(pepper), "%s/pepper", T.dir);
	snprintf(key, sizeof(key), "%s/state/audit.key", T.dir);
	char *argv[] = { (char *)(uintptr_t)bin, "--conninfo", conninfo, "--pepper", pepper, "--audit-key", key,
		         "--admin-key", T.admin_pub, "--reports", "200", "--audit", "1000",
		         "--checkpoint-every", "300", "--workers", "2", "--batch", "64",
		         "--big-share", "50", "--days", "30", "--receipts", receipts,
		         "--receipts-count", "3", NULL };
	return it_exec(&T, NULL, NULL, argv, &out, &err);
}

/* The audit verifier key tipd made, as text. */
static void
audit_vkey(char *vkey, size_t n)
{
	char path[TH_PATH + 32];
	size_t len = 0;
	struct buf vt;
	snprintf(path, sizeof(path), "%s/state/audit.key", T.dir);
	char *text = util_read_file(path, 4096, &len);
	cr_assert_not_null(text);
	while (len > 0 && text[len - 1] == '\n')
		len--;
	struct note_signer *s = note_signer_parse(text, len);
	struct note_verifier *v = note_signer_verifier(s);
	buf_init(&vt, 1024);
	cr_assert_eq(note_verifier_text(v, &vt), 0);
	snprintf(vkey, n, "%s", buf_cstr(&vt));
	buf_free(&vt);
	note_verifier_free(v);
	note_signer_free(s);
	sodium_memzero(text, len);
	free(text);
}

#define tipctl(...) it_tipctl(&T, home, NULL, &out, &err, __VA_ARGS__)

static void
login(void)
{
	char pin[65], server[64], vkey[256];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	th_tls_key_hex(&T, pin);
	audit_vkey(vkey, sizeof(vkey));
	cr_assert_eq(tipctl("login", "--server", server, "--pin", pin, "--origin", TH_REVIEW_ORIGIN,
	                    "--audit-key", vkey, "--identity", T.identity, "--passphrase-file",
	                    T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
}


/* Open seeded report `id` of team `team` with stock age; check its row. */
static void
assert_report_opens(const char *id, const char *team)
{
	char sql[256];
	json_t *doc = it_open_report(&T, id);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "team")), team);
	cr_assert_not_null(json_object_get(json_object_get(doc, "answers"), "what_happened"));
	snprintf(sql, sizeof(sql), "select count(*) from reports where id = '%s' and team_id = '%s' "
	         "and received_on::text = '%.10s'", id, team,
	         json_string_value(json_object_get(doc, "received_on")));
	cr_assert_eq(th_count(&T, sql), 1, "the sealed team and day differ from the row's");
	json_decref(doc);
}

Test(scale_seed, seeded_rows_are_real)
{
	long base = th_count(&T, "select count(*) from audit_entries");
	cr_assert_eq(seed(), 0, "%s", buf_cstr(&err));
	json_error_t je;
	json_t *sum = json_loads(buf_cstr(&out), 0, &je);
	cr_assert_not_null(sum, "no summary line: %s", buf_cstr(&out));
	cr_assert_eq(json_integer_value(json_object_get(sum, "reports")), REPORTS);
	json_decref(sum);

	cr_assert_eq(th_count(&T, "select count(*) from reports"), REPORTS);
	cr_assert_eq(th_count(&T, "select count(*) from reports where team_id = 'demo'"), REPORTS / 2);
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), REPORTS);
	/* one header per member: demo and other have one member each */
	cr_assert_eq(th_count(&T, "select count(*) from object_headers"), REPORTS);
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), base + ENTRIES);
	cr_assert_eq(th_count(&T, "select count(*) from audit_checkpoints"), 1 + 3 + 1,
	             "tipd's own, one every 300 entries, the last");
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), base + ENTRIES);
	it_assert_audit_nodes(&T);

	/* every report opens with stock age, for the right team and day */
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "select id, team_id from reports where team_id = 'demo' limit 20");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++)
		assert_report_opens(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
	PQfinish(c);

	/* tipd starts on the seeded log (it checks the stored checkpoints extend
	 * its leaves), a seeded receipt opens its inbox, tipctl lists and opens */
	th_start(&T);
	char line[256], receipt[64], team[64], id[64], body[128];
	FILE *f = fopen(receipts, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	cr_assert_eq(sscanf(line, "%63s %63s %63s", receipt, team, id), 3);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	char url[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox", T.source_port);
	cr_assert_eq(th_curl(&T, (char *[]){ "-H", "Content-Type: application/json", "--data-binary",
	                                     body, url, NULL }, &out), 200, "%s", buf_cstr(&out));

	login();
	cr_assert_eq(tipctl("tips", "list", "--team", "demo", NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl("audit", "verify", NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "audit log verified") != NULL, "%s", buf_cstr(&out));
	cr_assert_str_eq(team, "demo", "the first receipts are the first team's");
	cr_assert_eq(tipctl("tips", "show", id, "--identity", T.identity, "--passphrase-file", T.passfile,
	                    NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "They took our passports") != NULL, "%s", buf_cstr(&out));
	it_assert_audit_nodes(&T);
}
