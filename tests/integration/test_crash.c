/*
 * DESIGN §1.4: acknowledged means durable. Receipts are returned, tipd is
 * killed with SIGKILL before it flushes, and after a restart every receipt's
 * report is in PostgreSQL exactly once (checked through the receipt's
 * lookup id, derived with the deployment's pepper).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "it_common.h"
#include "receipt.h"

#define N_REPORTS 25

static struct th T;

static void
setup(void)
{
	th_setup(&T);
	T.flush_ms = 3600 * 1000; /* nothing reaches PostgreSQL before the kill */
	th_write_conf(&T);
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

static void
receipt_of(const struct buf *resp, char digits[RECEIPT_DIGITS])
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, &e);
	cr_assert(doc != NULL);
	const char *r = json_string_value(json_object_get(doc, "receipt"));
	cr_assert(r != NULL);
	cr_assert_eq(receipt_normalize(r, strlen(r), digits), RECEIPT_OK);
	json_decref(doc);
}

Test(crash, kill9_after_receipts_loses_nothing, .init = setup, .fini = teardown, .timeout = 180)
{
	static char digits[N_REPORTS][RECEIPT_DIGITS];
	const char *body = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	for (int i = 0; i < N_REPORTS; i++) {
		struct buf resp;
		buf_init(&resp, 4096);
		cr_assert_eq(it_post_json(&T, i % 2, body, &resp), 201);
		receipt_of(&resp, digits[i]);
		buf_free(&resp);
	}
	cr_assert_eq(th_stop(&T, SIGKILL), 128 + SIGKILL);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 0,
	             "reports were flushed before the kill: the test proves nothing");
	cr_assert_eq(th_spool_count(&T, ".rep"), N_REPORTS, "acknowledged reports are not in the spool");

	T.flush_ms = 200;
	th_write_conf(&T);
	th_start(&T);
	cr_assert_eq(th_wait_reports(&T, N_REPORTS, 20000), N_REPORTS);
	usleep(1000 * 1000); /* several more flush rounds: nothing is inserted twice */
	cr_assert_eq(th_count(&T, "select count(*) from reports"), N_REPORTS);
	cr_assert_eq(th_spool_count(&T, ".rep"), 0);

	char pepper_path[TH_PATH + 16];
	snprintf(pepper_path, sizeof(pepper_path), "%s/pepper", T.dir);
	struct receipt_pepper *pep = receipt_pepper_load(pepper_path);
	cr_assert(pep != NULL);
	PGconn *c = th_db(&T);
	for (int i = 0; i < N_REPORTS; i++) {
		uint8_t id[RECEIPT_ID_LEN];
		cr_assert(receipt_lookup_id(pep, digits[i], id) == 0);
		const char *params[1] = { (const char *)id };
		const int lens[1] = { RECEIPT_ID_LEN };
		const int fmts[1] = { 1 };
		PGresult *r = PQexecParams(c,
		                           "select count(*) from inboxes i join reports r "
		                           "on r.id = i.report_id where i.lookup_id = $1",
		                           1, NULL, params, lens, fmts, 0);
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
		cr_assert_str_eq(PQgetvalue(r, 0, 0), "1", "receipt %d opens %s reports", i,
		                 PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	PQfinish(c);
	receipt_pepper_free(pep);
}
