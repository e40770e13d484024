/*
 * The source's inbox, end to end with the real tipd and PostgreSQL: a
 * receipt opens the replies investigators sealed to it (and only genuine
 * ones), an unknown or forgotten receipt gets one fixed 404, a source's
 * message is stored sealed to the team only, a report still in the spool
 * answers "pending", and failed attempts are rate limited.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "identity.h"
#include "it_common.h"
#include "pad.h"
#include "receipt.h"
#include "util.h"

#define REPLY_CANARY "CANARY-REPLY-7f3a9 we will call you"
#define MESSAGE_CANARY "CANARY-MESSAGE-51c2 I am safe now"
#define NOT_FOUND_BODY                                                                          \
	"{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,"                   \
	"\"detail\":\"nothing was found for this receipt\"}"

static struct th T;

/* Make sure the replies table exists (schema/0004 may not be merged yet). */
static void
ensure_replies(void)
{
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "select to_regclass('replies') is null");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	int missing = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (missing) {
		r = PQexec(c, "create table replies (id uuid primary key, report_id uuid not null "
		              "references reports on delete cascade, sent_on date not null, "
		              "author_ed25519 bytea not null, signature bytea not null, "
		              "payload bytea not null); grant select on replies to tipline_app");
		cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
}

static void
setup(void)
{
	th_setup(&T);
	ensure_replies();
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(inbox, .init = setup, .fini = teardown, .timeout = 120);

/* POST `body` to /api/v1/inbox`sub`; return the status. */
static int
inbox_post(const char *sub, const char *ctype, const char *body, struct buf *resp)
{
	char url[128], ct[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox%s", T.source_port, sub);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	char *args[] = { "-H", ct, "--data-binary", (char *)(uintptr_t)body, url, NULL };
	buf_reset(resp);
	return th_curl(&T, args, resp);
}

static int
inbox_receipt(const char *sub, const char *receipt, struct buf *resp)
{
	char body[512];
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	return inbox_post(sub, "application/json", body, resp);
}

/* Submit a report; write its receipt. */
static void
submit(char receipt[RECEIPT_STR_LEN])
{
	struct buf resp;
	buf_init(&resp, 1 << 16);
	const char *body = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	cr_assert_eq(it_post_json(&T, 0, body, &resp), 201, "answer: %s", buf_cstr(&resp));
	json_error_t e;
	json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
	snprintf(receipt, RECEIPT_STR_LEN, "%s", json_string_value(json_object_get(doc, "receipt")));
	json_decref(doc);
	buf_free(&resp);
}

static json_t *
parse(const struct buf *b)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)b->data, b->len, 0, &e);
	cr_assert(doc != NULL, "not JSON: %.*s", (int)b->len, (const char *)b->data);
	return doc;
}

static struct identity *
alice(void)
{
	struct identity *id = NULL;
	cr_assert_eq(identity_load(T.identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id),
	             IDENTITY_OK);
	return id;
}

enum flaw { FLAW_NONE, FLAW_SIGNATURE, FLAW_CONTEXT, FLAW_NO_SOURCE };

/* Append the sealed reply plaintext for reply `rid` of report `report`. */
static void
reply_plaintext(const char *rid, const char *report, const char *text, enum flaw flaw,
                struct buf *pt)
{
	char other[UUID_STR_LEN], today[11];
	util_uuid(other);
	util_today(today);
	cr_assert_eq(buf_printf(pt, "tipline/v1 reply %s %s\n", rid,
	                        flaw == FLAW_CONTEXT ? other : report), 0);
	json_t *doc = json_pack("{s:s, s:s, s:s}", "text", text, "from", "alice", "sent_on", today);
	char *s = json_dumps(doc, JSON_COMPACT);
	cr_assert_eq(buf_adds(pt, s), 0);
	cr_assert_eq(pad_text(pt), 0);
	free(s);
	json_decref(doc);
}

/* Seal and sign a reply to the report of `receipt` as an investigator's
 * client would, and store it directly as the superuser. */
static void
insert_reply(const char *report, const char *receipt, const char *text, enum flaw flaw)
{
	char rid[UUID_STR_LEN], path[TH_PATH + 16], digits[RECEIPT_DIGITS], src[AGE_RECIPIENT_STR_MAX];
	char hex[65], msg[256], today[11];
	uint8_t fk[AGE_FILE_KEY_LEN], spk[32], ssk[32], digest[32], sig[64];
	struct buf pt, payload, h_member, h_source;
	struct identity *id = alice();

	util_uuid(rid);
	util_today(today);
	snprintf(path, sizeof(path), "%s/pepper", T.dir);
	struct receipt_pepper *pep = receipt_pepper_load(path);
	cr_assert(pep != NULL);
	cr_assert_eq(receipt_normalize(receipt, strlen(receipt), digits), RECEIPT_OK);
	cr_assert_eq(receipt_source_key(pep, digits, spk, ssk), 0);
	cr_assert_eq(age_recipient_encode(spk, src, sizeof(src)), 0);
	buf_init(&pt, 1 << 20);
	buf_init(&payload, 1 << 21);
	buf_init(&h_member, AGE_MAX_HEADER);
	buf_init(&h_source, AGE_MAX_HEADER);
	reply_plaintext(rid, report, text, flaw, &pt);
	age_file_key_new(fk);
	uint8_t keys[2][32];
	memcpy(keys[0], identity_x25519_pk(id), 32);
	memcpy(keys[1], spk, 32);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[32])&keys[0], 1, &h_member), 0);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[32])&keys[1], 1, &h_source), 0);
	struct age_enc *enc = age_enc_new(fk);
	cr_assert(enc != NULL);
	cr_assert_eq(age_enc_update(enc, pt.data, pt.len, &payload), 0);
	cr_assert_eq(age_enc_final(enc, &payload), 0);
	age_enc_free(enc);
	crypto_hash_sha256(digest, payload.data, payload.len);
	util_hex(digest, 32, hex);
	int n = snprintf(msg, sizeof(msg), "tipline/v1/reply\n%s\n%s\n%s\n", rid, report, hex);
	crypto_sign_detached(sig, NULL, (const uint8_t *)msg, (size_t)n, identity_ed25519_sk(id));
	if (flaw == FLAW_SIGNATURE)
		sig[10] ^= 1;

	PGconn *c = th_db(&T);
	const char *v[6] = { rid, report, today, (const char *)identity_ed25519_pk(id),
		             (const char *)sig, (const char *)payload.data };
	int len[6] = { 0, 0, 0, 32, 64, (int)payload.len }, fmt[6] = { 0, 0, 0, 1, 1, 1 };
	PGresult *r = PQexecParams(c, "insert into replies (id, report_id, sent_on, author_ed25519, "
	                              "signature, payload) values ($1, $2, $3, $4, $5, $6)",
	                           6, NULL, v, len, fmt, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	for (int i = 0; i < 2; i++) {
		if (i == 1 && flaw == FLAW_NO_SOURCE)
			break;
		const struct buf *h = i == 0 ? &h_member : &h_source;
		const char *hv[3] = { rid, i == 0 ? identity_recipient(id) : src,
			              (const char *)h->data };
		int hl[3] = { 0, 0, (int)h->len }, hf[3] = { 0, 0, 1 };
		r = PQexecParams(c, "insert into object_headers (object_id, recipient, header) "
		                    "values ($1, $2, $3)", 3, NULL, hv, hl, hf, 0);
		cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
	receipt_pepper_free(pep);
	identity_free(id);
	sodium_memzero(ssk, sizeof(ssk));
	buf_free(&pt);
	buf_free(&payload);
	buf_free(&h_member);
	buf_free(&h_source);
}

/* The report id the receipt opens, found as tipd would (lookup id). */
static void
report_of(const char *receipt, char report[37])
{
	char path[TH_PATH + 16], digits[RECEIPT_DIGITS];
	uint8_t lid[32];
	snprintf(path, sizeof(path), "%s/pepper", T.dir);
	struct receipt_pepper *pep = receipt_pepper_load(path);
	cr_assert(pep != NULL);
	cr_assert_eq(receipt_normalize(receipt, strlen(receipt), digits), RECEIPT_OK);
	cr_assert_eq(receipt_lookup_id(pep, digits, lid), 0);
	receipt_pepper_free(pep);
	PGconn *c = th_db(&T);
	const char *v[1] = { (const char *)lid };
	int len[1] = { 32 }, fmt[1] = { 1 };
	PGresult *r = PQexecParams(c, "select report_id from inboxes where lookup_id = $1", 1, NULL,
	                           v, len, fmt, 0);
	cr_assert_eq(PQntuples(r), 1, "no inbox for the receipt");
	snprintf(report, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

/* Submit a report and wait for the flush; write its receipt and report id. */
static void
submit_flushed(char receipt[RECEIPT_STR_LEN], char report[37], long n)
{
	submit(receipt);
	cr_assert_eq(th_wait_reports(&T, n, 10000), n, "the report did not reach PostgreSQL");
	/* The flusher drops the pending id right after its commit. */
	usleep(100000);
	report_of(receipt, report);
}

/* Convert an ASCII receipt to Arabic-Indic digits with spaces between groups. */
static void
arabic(const char *receipt, char *out, size_t outlen)
{
	size_t o = 0;
	for (const char *p = receipt; *p != '\0' && o + 4 < outlen; p++) {
		if (*p == '-') {
			out[o++] = ' ';
		} else { /* U+0660 + d: D9 A0+d */
			out[o++] = (char)0xD9;
			out[o++] = (char)(0xA0 + (*p - '0'));
		}
	}
	out[o] = '\0';
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

Test(inbox, replies_open_only_when_genuine)
{
	char receipt[RECEIPT_STR_LEN], report[37], typed[256];
	struct buf resp;
	buf_init(&resp, 1 << 20);
	submit_flushed(receipt, report, 1);

	cr_assert_eq(inbox_receipt("", receipt, &resp), 200, "%s", buf_cstr(&resp));
	json_t *doc = parse(&resp);
	cr_assert_eq(json_array_size(json_object_get(doc, "replies")), 0);
	cr_assert_null(json_object_get(doc, "status"), "a flushed report is not pending");
	json_decref(doc);

	insert_reply(report, receipt, REPLY_CANARY, FLAW_NONE);
	insert_reply(report, receipt, "forged: bad signature", FLAW_SIGNATURE);
	insert_reply(report, receipt, "misplaced: wrong context line", FLAW_CONTEXT);
	insert_reply(report, receipt, "not for the source", FLAW_NO_SOURCE);

	cr_assert_eq(inbox_receipt("", receipt, &resp), 200, "%s", buf_cstr(&resp));
	doc = parse(&resp);
	json_t *rs = json_object_get(doc, "replies");
	cr_assert_eq(json_array_size(rs), 1, "only the genuine reply is shown: %s", buf_cstr(&resp));
	json_t *r0 = json_array_get(rs, 0);
	cr_assert_str_eq(json_string_value(json_object_get(r0, "text")), REPLY_CANARY);
	cr_assert(util_uuid_valid(json_string_value(json_object_get(r0, "id"))));
	char today[11];
	util_today(today);
	cr_assert_str_eq(json_string_value(json_object_get(r0, "sent_on")), today);
	cr_assert_null(json_object_get(doc, "answers"), "the report itself is never returned");
	json_decref(doc);

	/* The same receipt typed in Arabic-Indic digits with spaces. */
	arabic(receipt, typed, sizeof(typed));
	cr_assert_eq(inbox_receipt("", typed, &resp), 200, "%s", buf_cstr(&resp));
	doc = parse(&resp);
	cr_assert_eq(json_array_size(json_object_get(doc, "replies")), 1);
	json_decref(doc);

	/* The canary rule: neither the reply text nor the receipt reach the log. */
	size_t len;
	char *log = util_read_file(T.log, 1 << 24, &len);
	cr_assert(log != NULL);
	cr_assert_null(memmem(log, len, "CANARY-REPLY", 12), "the reply text is in tipd's log");
	cr_assert_null(memmem(log, len, receipt, strlen(receipt)), "the receipt is in tipd's log");
	free(log);
	buf_free(&resp);
}

Test(inbox, unknown_and_forgotten_receipts_look_the_same)
{
	char receipt[RECEIPT_STR_LEN], report[37], unknown[RECEIPT_STR_LEN], digits[RECEIPT_DIGITS];
	struct buf a, b;
	struct timespec t0;
	buf_init(&a, 1 << 16);
	buf_init(&b, 1 << 16);
	submit_flushed(receipt, report, 1);
	insert_reply(report, receipt, REPLY_CANARY, FLAW_NONE);

	receipt_new(digits);
	receipt_format(digits, unknown);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(inbox_receipt("", unknown, &a), 404);
	cr_assert_geq(ms_since(&t0), 240, "a 404 came back before the minimum delay");
	cr_assert_str_eq(buf_cstr(&a), NOT_FOUND_BODY);

	/* A typo: the check digit catches one changed digit. */
	char typo[RECEIPT_STR_LEN];
	memcpy(typo, receipt, sizeof(typo));
	typo[7] = typo[7] == '9' ? '0' : (char)(typo[7] + 1);
	cr_assert_eq(inbox_receipt("", typo, &b), 400);
	cr_assert(strstr(buf_cstr(&b), "this receipt number has a typo") != NULL, "%s", buf_cstr(&b));

	cr_assert_eq(inbox_receipt("/forget", receipt, &b), 204, "%s", buf_cstr(&b));
	/* Forget is spooled and flushed like a message (test_flusher checks the timing). */
	long rows = 1;
	for (int i = 0; i < 100 && rows != 0; i++, usleep(100000))
		rows = th_count(&T, "select count(*) from inboxes");
	cr_assert_eq(rows, 0, "the inbox row is still there after the flush");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(inbox_receipt("", receipt, &b), 404);
	cr_assert_geq(ms_since(&t0), 240);
	cr_assert_str_eq(buf_cstr(&b), buf_cstr(&a), "forgotten and unknown receipts differ");
	cr_assert_eq(inbox_receipt("/forget", receipt, &b), 404);
	cr_assert_str_eq(buf_cstr(&b), buf_cstr(&a));
	cr_assert_eq(inbox_receipt("/forget", unknown, &b), 404);
	cr_assert_str_eq(buf_cstr(&b), buf_cstr(&a));
	char body[256];
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"hello\"}", receipt);
	cr_assert_eq(inbox_post("/messages", "application/json", body, &b), 404);
	cr_assert_str_eq(buf_cstr(&b), buf_cstr(&a));
	buf_free(&a);
	buf_free(&b);
}

/* The stored message: one header only, the demo member's; `age -d` opens it. */
static void
check_message_sealed(const char *report)
{
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, "select m.id, h.recipient, encode(h.header, 'hex'), "
	                        "encode(m.payload, 'hex') from messages m "
	                        "join object_headers h on h.object_id = m.id");
	cr_assert_eq(PQntuples(r), 1, "the message has %d headers, not one", PQntuples(r));
	cr_assert_str_eq(PQgetvalue(r, 0, 1), T.recipient, "sealed to someone else than the team");
	char path[TH_PATH + 16];
	snprintf(path, sizeof(path), "%s/message.age", T.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (int col = 2; col <= 3; col++) {
		size_t hl = strlen(PQgetvalue(r, 0, col)) / 2, bl;
		uint8_t *bin = malloc(hl + 1);
		cr_assert_eq(sodium_hex2bin(bin, hl, PQgetvalue(r, 0, col), 2 * hl, NULL, &bl, NULL), 0);
		cr_assert_eq(util_write_all(fd, bin, bl), 0);
		free(bin);
	}
	close(fd);
	struct buf pt;
	buf_init(&pt, 1 << 20);
	char *argv[] = { "age", "-d", "-i", T.identity_plain, path, NULL };
	cr_assert_eq(th_run(argv, NULL, 0, &pt), 0, "age -d could not open the message");
	char line[128];
	int n = snprintf(line, sizeof(line), "tipline/v1 message %s %s\n", PQgetvalue(r, 0, 0),
	                 report);
	cr_assert(pt.len > (size_t)n && memcmp(pt.data, line, (size_t)n) == 0,
	          "the message does not start with its context line");
	cr_assert(memmem(pt.data, pt.len, MESSAGE_CANARY, strlen(MESSAGE_CANARY)) != NULL);
	buf_free(&pt);
	PQclear(r);
	PQfinish(c);
}

Test(inbox, messages_are_sealed_to_the_team_only)
{
	char receipt[RECEIPT_STR_LEN], report[37], body[512];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	submit_flushed(receipt, report, 1);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"" MESSAGE_CANARY "\"}", receipt);
	cr_assert_eq(inbox_post("/messages", "application/json", body, &resp), 201, "%s",
	             buf_cstr(&resp));
	cr_assert_str_eq(buf_cstr(&resp), "{\"status\":\"sent\"}");
	for (int i = 0; i < 100 && th_count(&T, "select count(*) from messages") == 0; i++)
		usleep(100000);
	check_message_sealed(report);
	cr_assert_eq(inbox_receipt("", receipt, &resp), 200);
	cr_assert_null(strstr(buf_cstr(&resp), "CANARY-MESSAGE"), "the inbox returned the message");
	json_t *doc = parse(&resp);
	cr_assert_eq(json_array_size(json_object_get(doc, "replies")), 0);
	json_decref(doc);
	size_t len;
	char *log = util_read_file(T.log, 1 << 24, &len);
	cr_assert_null(memmem(log, len, "CANARY-MESSAGE", 14), "the message is in tipd's log");
	free(log);
	buf_free(&resp);
}

Test(inbox, bad_requests_store_nothing)
{
	char receipt[RECEIPT_STR_LEN], report[37], body[1 << 13];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	submit_flushed(receipt, report, 1);
	static const char *const bad[] = {
		"", "{", "[]", "null", "{\"receipt\":12345}", "{\"receipt\":null}",
		"{\"receipt\":[\"1\"]}", "{\"Receipt\":\"1\"}", "{\"receipt\":\"abc\"}",
		"{\"receipt\":\"1\",\"receipt\":\"2\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(inbox_post("", "application/json", bad[i], &resp), 400, "%s", bad[i]);
		cr_assert_eq(inbox_post("/messages", "application/json", bad[i], &resp), 400, "%s",
		             bad[i]);
		cr_assert_eq(inbox_post("/forget", "application/json", bad[i], &resp), 400, "%s", bad[i]);
	}
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"\"}", receipt);
	cr_assert_eq(inbox_post("/messages", "application/json", body, &resp), 400);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":42}", receipt);
	cr_assert_eq(inbox_post("/messages", "application/json", body, &resp), 400);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"hi\",\"x\":1}", receipt);
	cr_assert_eq(inbox_post("/messages", "application/json", body, &resp), 400);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	cr_assert_eq(inbox_post("/messages", "application/json", body, &resp), 400);
	cr_assert_eq(inbox_post("", "text/plain", body, &resp), 415);
	/* Oversized: a receipt padded with 5000 spaces. */
	int n = snprintf(body, sizeof(body), "{\"receipt\":\"%s", receipt);
	memset(body + n, ' ', 5000);
	memcpy(body + n + 5000, "\"}", 3);
	cr_assert_eq(inbox_post("", "application/json", body, &resp), 413);
	cr_assert_eq(inbox_post("/forget", "application/json", body, &resp), 413);
	/* A message text over the limit. */
	char *big = malloc(70000);
	n = snprintf(big, 70000, "{\"receipt\":\"%s\",\"text\":\"", receipt);
	memset(big + n, 'a', 40000);
	memcpy(big + n + 40000, "\"}", 3);
	cr_assert_eq(inbox_post("/messages", "application/json", big, &resp), 400);
	free(big);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox", T.source_port);
	char *args[] = { url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 405);
	usleep((T.flush_ms + 300) * 1000);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 0, "a message was stored");
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), 1, "the inbox was touched");
	cr_assert_eq(th_spool_count(&T, ".rep"), 0);
	buf_free(&resp);
}

Test(inbox, pending_until_flushed_even_across_a_restart)
{
	char receipt[RECEIPT_STR_LEN], body[256];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	th_stop(&T, SIGTERM);
	T.flush_ms = 600000;
	th_write_conf(&T);
	th_start(&T);
	submit(receipt);
	cr_assert_eq(inbox_receipt("", receipt, &resp), 200, "%s", buf_cstr(&resp));
	json_t *doc = parse(&resp);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "pending");
	cr_assert_eq(json_array_size(json_object_get(doc, "replies")), 0);
	json_decref(doc);
	/* A message to a pending report is spooled too. */
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"" MESSAGE_CANARY "\"}", receipt);
	cr_assert_eq(inbox_post("/messages", "application/json", body, &resp), 201, "%s",
	             buf_cstr(&resp));
	cr_assert_eq(inbox_receipt("/forget", receipt, &resp), 409);
	/* Killed: the spool keeps the report; the restarted tipd knows it is pending. */
	th_stop(&T, SIGKILL);
	th_start(&T);
	cr_assert_eq(inbox_receipt("", receipt, &resp), 200, "%s", buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "\"pending\"") != NULL, "%s", buf_cstr(&resp));
	/* A clean stop flushes; afterwards the receipt opens an empty inbox. */
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 1);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 1);
	th_start(&T);
	cr_assert_eq(inbox_receipt("", receipt, &resp), 200, "%s", buf_cstr(&resp));
	doc = parse(&resp);
	cr_assert_null(json_object_get(doc, "status"), "still pending after the flush");
	cr_assert_eq(json_array_size(json_object_get(doc, "replies")), 0);
	json_decref(doc);
	buf_free(&resp);
}

Test(inbox, serves_while_the_spool_is_read_and_flushes_only_after)
{
	char first[RECEIPT_STR_LEN], second[RECEIPT_STR_LEN];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	th_stop(&T, SIGTERM);
	T.flush_ms = 600000;
	th_write_conf(&T);
	th_start(&T);
	submit(first);
	th_stop(&T, SIGKILL);
	/* The spool takes 4 s to read: tipd waits 2 s, then serves meanwhile;
	 * the flusher, due every 200 ms, must wait for it. */
	T.flush_ms = 200;
	th_write_conf(&T);
	cr_assert_eq(setenv("TIPD_TEST_SPOOL_READ_DELAY_MS", "4000", 1), 0);
	th_start(&T);
	unsetenv("TIPD_TEST_SPOOL_READ_DELAY_MS");
	cr_assert_eq(inbox_receipt("", first, &resp), 503,
	             "an inbox not yet rebuilt must not say \"not found\": %s", buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "starting up") != NULL, "%s", buf_cstr(&resp));
	submit(second); /* intake does not wait */
	usleep(600 * 1000);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 0,
	             "the flusher ran before the pending set was rebuilt");
	cr_assert_eq(th_spool_count(&T, ".rep"), 2);
	/* Then both are delivered, and both receipts open an inbox that is no
	 * longer pending: no id stayed behind in the set. */
	cr_assert_eq(th_wait_reports(&T, 2, 15000), 2);
	usleep(300 * 1000); /* the flusher drops the ids right after its commit */
	cr_assert_eq(inbox_receipt("", first, &resp), 200, "%s", buf_cstr(&resp));
	cr_assert_null(strstr(buf_cstr(&resp), "\"pending\""), "%s", buf_cstr(&resp));
	cr_assert_eq(inbox_receipt("", second, &resp), 200, "%s", buf_cstr(&resp));
	cr_assert_null(strstr(buf_cstr(&resp), "\"pending\""), "%s", buf_cstr(&resp));
	buf_free(&resp);
}

/* POST /api/v1/inbox with an unknown receipt from Tor circuit `circ`. */
static int
proxied_attempt(unsigned circ)
{
	char req[1024], body[128], digits[RECEIPT_DIGITS], r[RECEIPT_STR_LEN];
	struct buf resp;
	receipt_new(digits);
	receipt_format(digits, r);
	int bl = snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", r);
	int n = snprintf(req, sizeof(req),
	                 "PROXY TCP6 fc00:dead:beef:4dad::%x ::1 4444 80\r\n"
	                 "POST /api/v1/inbox HTTP/1.1\r\nHost: x.onion\r\nConnection: close\r\n"
	                 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
	                 circ, bl, body);
	buf_init(&resp, 1 << 16);
	int status = th_raw(T.source_port, req, (size_t)n, 5000, &resp);
	buf_free(&resp);
	return status;
}

Test(inbox, failed_attempts_are_rate_limited_per_circuit)
{
	th_stop(&T, SIGTERM);
	snprintf(T.extra_conf, sizeof(T.extra_conf), "[source]\nproxy_protocol = yes\n");
	th_write_conf(&T);
	th_start(&T);
	/* Wait until the loops' database connections are up (503 before). */
	for (int i = 0, ok = 0; ok < 4; i++) {
		cr_assert_lt(i, 100, "the inbox never came up");
		if (proxied_attempt(0x9000u + (unsigned)i) == 503)
			usleep(50000);
		else
			ok++;
	}
	for (int i = 0; i < 10; i++)
	{
		int st = proxied_attempt(0x1234);
		cr_assert_eq(st, 404, "attempt %d: %d", i + 1, st);
	}
	cr_assert_eq(proxied_attempt(0x1234), 429, "the 11th failure in a minute is not limited");
	cr_assert_eq(proxied_attempt(0x5678), 404, "another circuit is limited too");
}
