/*
 * The spool and the flusher, end to end with the real tipd and PostgreSQL:
 * entries the flusher must keep back (a team missing from the database, a
 * message whose report is not there) never stop deliverable ones from being
 * flushed, and are logged as one count per flush, never by file or report;
 * a report still in the spool can queue only so many messages; a source's
 * "forget this receipt" goes through the spool and the shuffled flush like
 * everything else it sends, and survives a crash before the flush; a second
 * tipd on the same configuration refuses to start.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "it_common.h"
#include "receipt.h"
#include "seal.h"
#include "spool.h"
#include "util.h"

#define LIST_MAX 16    /* [limits] flush_list_max in the kept-back test */
#define KEPT_GHOST 48  /* reports for a team the database does not have */
#define KEPT_ORPHAN 48 /* messages for a report the database does not have */
#define HONEST 8

static struct th T;

static void
setup(void)
{
	th_setup(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(flusher, .init = setup, .fini = teardown, .timeout = 180);

/* POST {"receipt": receipt[, "text": text]} to /api/v1/inbox`sub`. */
static int
inbox_call(const char *sub, const char *receipt, const char *text, struct buf *resp)
{
	char url[128], body[512];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox%s", T.source_port, sub);
	if (text != NULL)
		snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"%s\"}", receipt, text);
	else
		snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	char *args[] = { "-H", "Content-Type: application/json", "--data-binary", body, url, NULL };
	buf_reset(resp);
	return th_curl(&T, args, resp);
}

/* Submit a report to team demo; write its receipt. */
static void
submit(char receipt[RECEIPT_STR_LEN])
{
	struct buf resp;
	buf_init(&resp, 1 << 16);
	const char *body = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	cr_assert_eq(it_post_json(&T, 0, body, &resp), 201, "answer: %s", buf_cstr(&resp));
	json_error_t e;
	json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
	cr_assert(doc != NULL);
	snprintf(receipt, RECEIPT_STR_LEN, "%s",
	         json_string_value(json_object_get(doc, "receipt")));
	json_decref(doc);
	buf_free(&resp);
}

/* Write one committed spool entry, with the spool's own writer and sealer:
 * a report (kind SPOOL_REPORT) or a message of report `report` for `team`,
 * sealed to the demo investigator. */
static void
spool_write(struct spool *s, enum spool_kind kind, const char *report, const char *team)
{
	char obj[UUID_STR_LEN], date[11];
	uint8_t pk[AGE_KEY_LEN];
	cr_assert_eq(age_recipient_decode(T.recipient, pk), 0);
	const char *strs[1] = { T.recipient };
	const uint8_t(*pks)[32] = (const uint8_t(*)[32]) & pk;
	struct seal_recipients r = { 1, strs, pks };
	if (kind == SPOOL_REPORT)
		memcpy(obj, report, UUID_STR_LEN);
	else
		util_uuid(obj);
	util_today(date);
	struct spool_txn *t = spool_begin(s, report, team, date);
	cr_assert(t != NULL);
	struct seal_object *o = seal_begin(t, kind, obj, report, &r);
	cr_assert(o != NULL);
	static const char body[] = "{\"text\":\"x\"}";
	cr_assert_eq(seal_write(o, (const uint8_t *)body, sizeof(body) - 1), 0);
	cr_assert_eq(seal_finish(o), 0);
	cr_assert_eq(spool_commit_sync(t), 0);
}

/* Occurrences of `needle` in tipd's log. */
static int
log_count(const char *needle)
{
	size_t len;
	char *text = util_read_file(T.log, 1 << 26, &len);
	cr_assert(text != NULL);
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(text);
	return n;
}

/* Issue 14 item 1: with many more kept-back files than the flusher lists at
 * a time, every honest report sent afterwards still reaches PostgreSQL
 * within a few flush rounds. */
Test(flusher, kept_back_entries_never_crowd_out_deliverable_ones)
{
	static char ghosts[KEPT_GHOST + KEPT_ORPHAN][UUID_STR_LEN];
	char receipt[RECEIPT_STR_LEN], ref[64];
	snprintf(T.extra_conf, sizeof(T.extra_conf), "flush_list_max = %d", LIST_MAX);
	th_write_conf(&T);
	struct spool *s = spool_open(T.spool, (uint64_t)1 << 30);
	cr_assert(s != NULL);
	for (int i = 0; i < KEPT_GHOST + KEPT_ORPHAN; i++) {
		util_uuid(ghosts[i]);
		if (i < KEPT_GHOST)
			spool_write(s, SPOOL_REPORT, ghosts[i], "ghost");
		else
			spool_write(s, SPOOL_MESSAGE, ghosts[i], "demo");
	}
	spool_free(s);
	cr_assert_eq(th_spool_count(&T, ".rep"), KEPT_GHOST + KEPT_ORPHAN);

	th_start(&T);
	for (int i = 0; i < HONEST; i++)
		submit(receipt);
	/* 200 ms flush interval: 25 rounds. */
	long seen = th_wait_reports(&T, HONEST, 5000);
	cr_assert_eq(seen, HONEST, "only %ld of %d honest reports were flushed", seen, HONEST);
	cr_assert_eq(th_spool_count(&T, ".rep"), KEPT_GHOST + KEPT_ORPHAN,
	             "the kept-back entries should stay in the spool");
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 0);
	usleep(500000); /* a few more rounds that find only kept-back files */
	th_stop(&T, SIGTERM);

	/* Logged as one count per round: never a file, never a report. */
	cr_assert_eq(log_count(".rep"), 0, "the log names spool files");
	for (int i = 0; i < KEPT_GHOST + KEPT_ORPHAN; i++)
		cr_assert_eq(log_count(ghosts[i]), 0, "the log names report %s", ghosts[i]);
	snprintf(ref, sizeof(ref), "flusher: %d spooled entries kept back",
	         KEPT_GHOST + KEPT_ORPHAN);
	int rounds = log_count(ref);
	cr_assert_geq(rounds, 1, "no per-round count of kept-back entries in the log");
	cr_assert_lt(log_count("kept"), 2 * rounds + 4, "kept-back entries logged per file");
}

/* Issue 14 item 1: a report still in the spool queues at most
 * [limits] pending_messages_max messages, also after a crash; once it is
 * flushed the source can write again. */
Test(flusher, a_pending_report_queues_a_bounded_number_of_messages)
{
	char receipt[RECEIPT_STR_LEN];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	T.flush_ms = 600000;
	snprintf(T.extra_conf, sizeof(T.extra_conf), "pending_messages_max = 3");
	th_write_conf(&T);
	th_start(&T);
	submit(receipt);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(inbox_call("/messages", receipt, "one more thing", &resp), 201, "%s",
		             buf_cstr(&resp));
	cr_assert_eq(inbox_call("/messages", receipt, "and another", &resp), 429, "%s",
	             buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "\"status\":429") != NULL, "%s", buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "still on its way") != NULL, "%s", buf_cstr(&resp));
	cr_assert_eq(th_spool_count(&T, ".rep"), 4, "the refused message changed the spool");
	/* The answer says when to try again: the flush interval. */
	char req[1024], body[256];
	struct buf raw;
	buf_init(&raw, 1 << 16);
	int bl = snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"again\"}", receipt);
	int rl = snprintf(req, sizeof(req),
	                  "POST /api/v1/inbox/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	                  "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
	                  bl, body);
	cr_assert_eq(th_raw(T.source_port, req, (size_t)rl, 5000, &raw), 429, "%s", buf_cstr(&raw));
	cr_assert(strstr(buf_cstr(&raw), "Retry-After: 600\r\n") != NULL, "%s", buf_cstr(&raw));
	cr_assert(strstr(buf_cstr(&raw), "application/problem+json") != NULL, "%s", buf_cstr(&raw));
	buf_free(&raw);
	/* Killed: the restarted tipd counts the queued messages again. */
	th_stop(&T, SIGKILL);
	th_start(&T);
	cr_assert_eq(inbox_call("/messages", receipt, "and another", &resp), 429, "%s",
	             buf_cstr(&resp));
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 3);
	th_start(&T);
	cr_assert_eq(inbox_call("/messages", receipt, "now it has arrived", &resp), 201, "%s",
	             buf_cstr(&resp));
	buf_free(&resp);
}

/* Issue 14 item 6: forget is acknowledged at once and the receipt no longer
 * opens, but the inbox row is deleted by the flusher's shuffled batch, not
 * when the source acted; a crash in between loses nothing. */
Test(flusher, forget_goes_through_the_spool_and_survives_a_crash)
{
	char receipt[RECEIPT_STR_LEN];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	th_start(&T);
	submit(receipt);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	cr_assert_eq(inbox_call("", receipt, NULL, &resp), 200, "%s", buf_cstr(&resp));
	cr_assert_null(strstr(buf_cstr(&resp), "pending"), "%s", buf_cstr(&resp));
	th_stop(&T, SIGTERM);
	T.flush_ms = 600000;
	th_write_conf(&T);
	th_start(&T);

	cr_assert_eq(inbox_call("/forget", receipt, NULL, &resp), 204, "%s", buf_cstr(&resp));
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), 1,
	             "forget reached the database when the source acted");
	cr_assert_eq(th_spool_count(&T, ".rep"), 1);
	cr_assert_eq(inbox_call("", receipt, NULL, &resp), 404, "%s", buf_cstr(&resp));
	cr_assert_eq(inbox_call("/messages", receipt, "hello", &resp), 404, "%s", buf_cstr(&resp));
	cr_assert_eq(inbox_call("/forget", receipt, NULL, &resp), 404, "%s", buf_cstr(&resp));
	cr_assert_eq(th_spool_count(&T, ".rep"), 1, "a second forget was spooled");

	/* Killed before any flush: the restarted tipd still knows. */
	th_stop(&T, SIGKILL);
	th_start(&T);
	cr_assert_eq(inbox_call("", receipt, NULL, &resp), 404, "%s", buf_cstr(&resp));
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), 1);
	cr_assert_eq(th_stop(&T, SIGTERM), 0, "the final flush left files behind");
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), 0, "forget was not flushed");
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 1);
	cr_assert_eq(th_spool_count(&T, ".rep"), 0);
	th_start(&T);
	cr_assert_eq(inbox_call("", receipt, NULL, &resp), 404, "%s", buf_cstr(&resp));
	buf_free(&resp);
}

/* Run a second tipd on `conf` (killed after 20 s if it does not exit);
 * return its exit status and its log in `err`. */
static int
second_tipd(const char *conf, struct buf *err)
{
	char *argv[] = {
		"/usr/bin/timeout", "20", T.tipd_bin, "-c", (char *)(uintptr_t)conf, NULL
	};
	return it_exec(&T, NULL, NULL, argv, NULL, err);
}

/* Issue 14 item 8: a second tipd on the same spool or state directory
 * refuses to start, and the first keeps serving. */
Test(flusher, a_second_tipd_on_the_same_directories_refuses)
{
	char receipt[RECEIPT_STR_LEN], conf2[TH_PATH + 8];
	struct buf err, text;
	buf_init(&err, 1 << 20);
	buf_init(&text, 1 << 16);
	th_start(&T);
	int st = second_tipd(T.conf, &err);
	cr_assert(st != 0 && st != 124, "the second tipd ran (status %d): %s", st, buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "another tipd") != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), T.spool) != NULL, "%s", buf_cstr(&err));

	/* Its own spool, the same state directory: refused as well. */
	it_slurp(T.conf, &text);
	const char *line = strstr(buf_cstr(&text), "spool_dir = ");
	cr_assert(line != NULL);
	const char *eol = strchr(line, '\n');
	snprintf(conf2, sizeof(conf2), "%s.2", T.conf);
	FILE *f = fopen(conf2, "w");
	cr_assert(f != NULL);
	fprintf(f, "%.*sspool_dir = %s/spool2%s", (int)(line - buf_cstr(&text)), buf_cstr(&text),
	        T.dir, eol);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(conf2, 0600), 0); /* tipd refuses a config others can read */
	st = second_tipd(conf2, &err);
	cr_assert(st != 0 && st != 124, "the second tipd ran (status %d): %s", st, buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "another tipd") != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "/state") != NULL, "%s", buf_cstr(&err));

	/* The first one still takes and flushes reports. */
	submit(receipt);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	buf_free(&err);
	buf_free(&text);
}
