#include "it_common.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "receipt.h"

int
it_post_json(struct th *t, int tls, const char *body, struct buf *resp)
{
	char url[128], crt[TH_PATH];
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d/api/v1/reports", tls ? "https" : "http",
	         tls ? t->source_tls_port : t->source_port);
	snprintf(crt, sizeof(crt), "%s/tls.crt", t->dir);
	char *args[] = { "--cacert", crt, "-H", "Content-Type: application/json", "--data-binary",
		         (char *)(uintptr_t)body, url, NULL };
	return th_curl(t, args, resp);
}

void
it_assert_receipt(const struct buf *resp)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, &e);
	cr_assert(doc != NULL, "answer is not JSON: %.*s", (int)resp->len, (const char *)resp->data);
	const char *r = json_string_value(json_object_get(doc, "receipt"));
	cr_assert(r != NULL, "no receipt in the answer");
	cr_assert_eq(strlen(r), 35, "receipt %s is not six groups of five", r);
	for (int i = 0; i < 35; i++) {
		if (i % 6 == 5)
			cr_assert_eq(r[i], '-');
		else
			cr_assert(r[i] >= '0' && r[i] <= '9');
	}
	char digits[RECEIPT_DIGITS];
	cr_assert_eq(receipt_normalize(r, strlen(r), digits), RECEIPT_OK, "bad check digit");
	json_decref(doc);
}

void
it_only_report(struct th *t, char id[37])
{
	PGconn *c = th_db(t);
	PGresult *r = PQexec(c, "select id from reports");
	cr_assert_eq(PQntuples(r), 1, "expected one report, found %d", PQntuples(r));
	snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

json_t *
it_open_report(struct th *t, const char *id)
{
	struct buf pt;
	char line[128];
	buf_init(&pt, 1 << 24);
	cr_assert_eq(th_age_decrypt(t, id, 0, &pt), 0, "age -d failed on report %s", id);
	int n = snprintf(line, sizeof(line), "tipline/v1 report %s %s\n", id, id);
	cr_assert(pt.len > (size_t)n && memcmp(pt.data, line, (size_t)n) == 0,
	          "the report does not start with its context line");
	cr_assert(pt.len >= 1024, "the report is not padded (%zu bytes)", pt.len);
	json_error_t e;
	json_t *doc = json_loadb((const char *)pt.data + n, pt.len - (size_t)n, 0, &e);
	cr_assert(doc != NULL, "the report is not JSON after its context line: %s", e.text);
	buf_free(&pt);
	return doc;
}

void
it_assert_nothing_stored(struct th *t)
{
	cr_assert_eq(th_spool_count(t, ".rep"), 0, "a report was spooled");
	cr_assert_eq(th_spool_count(t, ".part"), 0, "an unfinished spool file was left behind");
	usleep((t->flush_ms + 300) * 1000);
	cr_assert_eq(th_count(t, "select count(*) from reports"), 0, "a report was stored");
	cr_assert_eq(th_count(t, "select count(*) from object_headers"), 0, "a header was stored");
}
