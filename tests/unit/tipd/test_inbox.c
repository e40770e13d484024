/* Unit tests for the inbox's pure parts (inbox_open.h) and its pending set. */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "age.h"
#include "app.h"
#include "config.h"
#include "inbox.h"
#include "inbox_open.h"
#include "log.h"
#include "pad.h"
#include "receipt.h"
#include "spool.h"
#include "util.h"

static void
init(void)
{
	cr_assert(sodium_init() >= 0);
}

TestSuite(inbox, .init = init);

/* A valid receipt as typed. */
static void
fresh(char digits[RECEIPT_DIGITS], char typed[RECEIPT_STR_LEN])
{
	receipt_new(digits);
	receipt_format(digits, typed);
}

static enum inbox_parse
parse(const char *body, bool text, char digits[RECEIPT_DIGITS], struct buf *t)
{
	return inbox_parse_body((const uint8_t *)body, strlen(body), text, digits, t);
}

Test(inbox, parse_accepts_receipts_and_texts)
{
	char d[RECEIPT_DIGITS], typed[RECEIPT_STR_LEN], out[RECEIPT_DIGITS], body[256];
	struct buf t;
	buf_init_secure(&t, INBOX_MAX_TEXT);
	fresh(d, typed);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", typed);
	cr_assert_eq(parse(body, false, out, NULL), INBOX_PARSE_OK);
	cr_assert(memcmp(out, d, RECEIPT_DIGITS) == 0);
	snprintf(body, sizeof(body), " {\"text\":\"caf\\u00e9\", \"receipt\":\"%s\"} ", typed);
	cr_assert_eq(parse(body, true, out, &t), INBOX_PARSE_OK);
	cr_assert_eq(t.len, 5);
	cr_assert(memcmp(t.data, "caf\xc3\xa9", 5) == 0);
	buf_free(&t);
}

Test(inbox, parse_refuses_wrong_shapes)
{
	char d[RECEIPT_DIGITS], typed[RECEIPT_STR_LEN], out[RECEIPT_DIGITS], body[256];
	struct buf t;
	buf_init_secure(&t, INBOX_MAX_TEXT);
	fresh(d, typed);
	const char *const bad[] = { "", "{", "[]", "\"x\"", "{\"receipt\":1}", "{\"receipt\":null}",
		                    "{}", "{\"receipt\":\"1\",\"receipt\":\"2\"}", "{\"x\":\"1\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 'x', sizeof(out));
		cr_assert_eq(parse(bad[i], false, out, NULL), INBOX_PARSE_JSON, "%s", bad[i]);
		for (size_t k = 0; k < sizeof(out); k++)
			cr_assert_eq(out[k], 0, "digits not wiped");
	}
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"extra\":1}", typed);
	cr_assert_eq(parse(body, false, out, NULL), INBOX_PARSE_JSON);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", typed);
	cr_assert_eq(parse(body, true, out, &t), INBOX_PARSE_JSON, "text missing");
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":7}", typed);
	cr_assert_eq(parse(body, true, out, &t), INBOX_PARSE_JSON);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"\"}", typed);
	cr_assert_eq(parse(body, true, out, &t), INBOX_PARSE_TEXT);
	cr_assert_eq(parse("{\"receipt\":\"12345\"}", false, out, NULL), INBOX_PARSE_RECEIPT);
	cr_assert_eq(parse("{\"receipt\":\"hello\"}", false, out, NULL), INBOX_PARSE_RECEIPT);
	typed[0] = typed[0] == '9' ? '0' : (char)(typed[0] + 1);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", typed);
	cr_assert_eq(parse(body, false, out, NULL), INBOX_PARSE_TYPO);
	cr_assert_eq(t.len, 0, "text appended on failure");
	buf_free(&t);
}

Test(inbox, parse_limits_sizes)
{
	char d[RECEIPT_DIGITS], typed[RECEIPT_STR_LEN], out[RECEIPT_DIGITS];
	struct buf t, body;
	buf_init_secure(&t, INBOX_MAX_TEXT);
	buf_init(&body, 1 << 20);
	fresh(d, typed);
	cr_assert_eq(buf_printf(&body, "{\"receipt\":\"%s\",\"text\":\"", typed), 0);
	cr_assert_eq(buf_fill(&body, 'a', INBOX_MAX_TEXT), 0);
	cr_assert_eq(buf_adds(&body, "\"}"), 0);
	cr_assert_eq(inbox_parse_body(body.data, body.len, true, out, &t), INBOX_PARSE_OK);
	body.len -= 2;
	cr_assert_eq(buf_adds(&body, "a\"}"), 0);
	buf_reset(&t);
	cr_assert_eq(inbox_parse_body(body.data, body.len, true, out, &t), INBOX_PARSE_TEXT);
	cr_assert_eq(inbox_parse_body(body.data, INBOX_MAX_BODY + 1, false, out, NULL),
	             INBOX_PARSE_JSON);
	buf_free(&t);
	buf_free(&body);
}

/* A reply sealed to `spk`, signed by `esk` (libsodium 64-byte form). */
struct sealed {
	char id[37], report[37];
	struct buf header, payload;
	uint8_t author[32], sig[64];
};

static void
seal_reply(struct sealed *s, const uint8_t spk[32], const char *ctx_report, const char *json)
{
	uint8_t fk[AGE_FILE_KEY_LEN], esk[64], digest[32];
	char hex[65], msg[256];
	struct buf pt;
	util_uuid(s->id);
	util_uuid(s->report);
	buf_init(&s->header, AGE_MAX_HEADER);
	buf_init(&s->payload, 1 << 21);
	buf_init(&pt, 1 << 20);
	cr_assert_eq(buf_printf(&pt, "tipline/v1 reply %s %s\n%s", s->id,
	                        ctx_report != NULL ? ctx_report : s->report, json), 0);
	cr_assert_eq(pad_text(&pt), 0);
	age_file_key_new(fk);
	uint8_t k[1][32];
	memcpy(k[0], spk, 32);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[32])k, 1, &s->header), 0);
	struct age_enc *e = age_enc_new(fk);
	cr_assert_eq(age_enc_update(e, pt.data, pt.len, &s->payload), 0);
	cr_assert_eq(age_enc_final(e, &s->payload), 0);
	age_enc_free(e);
	crypto_sign_keypair(s->author, esk);
	crypto_hash_sha256(digest, s->payload.data, s->payload.len);
	util_hex(digest, 32, hex);
	int n = snprintf(msg, sizeof(msg), "tipline/v1/reply\n%s\n%s\n%s\n", s->id, s->report, hex);
	crypto_sign_detached(s->sig, NULL, (const uint8_t *)msg, (size_t)n, esk);
	buf_free(&pt);
}

static struct inbox_reply
as_reply(const struct sealed *s)
{
	struct inbox_reply r = { s->id, s->report, s->header.data, s->header.len, s->payload.data,
		                 s->payload.len, s->author, 32, s->sig, 64 };
	return r;
}

Test(inbox, open_reply_checks_everything)
{
	uint8_t spk[32], ssk[1][32], other_pk[32], other_sk[1][32];
	struct sealed s;
	struct buf text;
	buf_init_secure(&text, INBOX_MAX_REPLY_TEXT);
	cr_assert_eq(age_keygen(spk, ssk[0]), 0);
	cr_assert_eq(age_keygen(other_pk, other_sk[0]), 0);
	seal_reply(&s, spk, NULL, "{\"text\":\"hello there\",\"from\":\"alice\"}");
	uint8_t members[2][32];
	randombytes_buf(members[0], 32);
	memcpy(members[1], s.author, 32);
	struct inbox_reply r = as_reply(&s);
	const uint8_t(*m)[32] = (const uint8_t(*)[32])members;

	cr_assert_eq(inbox_open_reply(&r, (const uint8_t(*)[32])ssk, m, 2, &text), 0);
	cr_assert_eq(text.len, 11);
	cr_assert(memcmp(text.data, "hello there", 11) == 0);
	buf_reset(&text);
	cr_assert_eq(inbox_open_reply(&r, (const uint8_t(*)[32])ssk, m, 1, &text), -1,
	             "an author who is not a member");
	cr_assert_eq(inbox_open_reply(&r, (const uint8_t(*)[32])other_sk, m, 2, &text), -1,
	             "another source's key");
	s.sig[0] ^= 1;
	cr_assert_eq(inbox_open_reply(&r, (const uint8_t(*)[32])ssk, m, 2, &text), -1, "bad sig");
	s.sig[0] ^= 1;
	r.report_id = "00000000-0000-4000-8000-000000000000";
	cr_assert_eq(inbox_open_reply(&r, (const uint8_t(*)[32])ssk, m, 2, &text), -1,
	             "signed for another report");
	r = as_reply(&s);
	r.payload_len -= 1;
	cr_assert_eq(inbox_open_reply(&r, (const uint8_t(*)[32])ssk, m, 2, &text), -1, "truncated");
	r = as_reply(&s);
	r.signature_len = 63;
	cr_assert_eq(inbox_open_reply(&r, (const uint8_t(*)[32])ssk, m, 2, &text), -1);
	cr_assert_eq(text.len, 0, "text appended on failure");
	buf_free(&text);
	buf_free(&s.header);
	buf_free(&s.payload);
}

Test(inbox, open_reply_checks_context_and_json)
{
	uint8_t spk[32], ssk[1][32];
	struct buf text;
	buf_init_secure(&text, INBOX_MAX_REPLY_TEXT);
	cr_assert_eq(age_keygen(spk, ssk[0]), 0);
	const char *const cases[][2] = {
		{ "wrong-report", "{\"text\":\"x\"}" },
		{ NULL, "{\"text\":5}" },
		{ NULL, "not json" },
		{ NULL, "{\"from\":\"alice\"}" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sealed s;
		seal_reply(&s, spk, cases[i][0], cases[i][1]);
		struct inbox_reply r = as_reply(&s);
		uint8_t m[1][32];
		memcpy(m[0], s.author, 32);
		cr_assert_eq(inbox_open_reply(&r, (const uint8_t(*)[32])ssk, (const uint8_t(*)[32])m,
		                              1, &text), -1, "case %zu", i);
		buf_free(&s.header);
		buf_free(&s.payload);
	}
	buf_free(&text);
}

Test(inbox, message_json_is_padded)
{
	struct buf out;
	buf_init_secure(&out, 1 << 20);
	cr_assert_eq(inbox_message_json("hi \"there\"", 10, "2026-01-02", &out), 0);
	cr_assert_geq(out.len, 1024, "not padded");
	json_error_t e;
	json_t *doc = json_loadb((const char *)out.data, out.len, 0, &e);
	cr_assert(doc != NULL);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "text")), "hi \"there\"");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "sent_on")), "2026-01-02");
	json_decref(doc);
	buf_free(&out);
}

/* ---- the pending set ---- */

static struct inbox *
new_inbox(struct app *app, struct tipd_config *cfg)
{
	char err[256];
	memset(app, 0, sizeof(*app));
	memset(cfg, 0, sizeof(*cfg));
	cfg->state_dir = "/nonexistent/tipline-inbox-test";
	app->cfg = cfg;
	struct inbox *ib = inbox_new(app, err, sizeof(err));
	cr_assert(ib != NULL, "%s", err);
	return ib;
}

Test(inbox, pending_set_adds_and_drops)
{
	struct app app;
	struct tipd_config cfg;
	struct inbox *ib = new_inbox(&app, &cfg);
	uint8_t ids[300][32];
	for (int i = 0; i < 300; i++) {
		randombytes_buf(ids[i], 32);
		ids[i][0] = ids[i][1] = 7; /* all in one bucket */
		cr_assert_eq(inbox_pending_add(ib, ids[i], "r", "demo"), 0);
	}
	cr_assert_eq(inbox_pending_count(ib), 300);
	for (int i = 0; i < 300; i += 2)
		inbox_pending_flushed(ids[i], ib);
	cr_assert_eq(inbox_pending_count(ib), 150);
	inbox_pending_drop(ib, ids[0]); /* twice: nothing happens */
	cr_assert_eq(inbox_pending_count(ib), 150);
	inbox_pending_drop(NULL, ids[1]);
	inbox_free(ib);
}

static void
add_object(struct spool_txn *t, enum spool_kind kind, const char *uuid)
{
	static const char rec[] = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
	static const uint8_t hdr[] = "age-encryption.org/v1\n", ct[32] = { 1 };
	cr_assert_eq(spool_object(t, kind, uuid), 0);
	cr_assert_eq(spool_header(t, uuid, rec, hdr, sizeof(hdr) - 1), 0);
	cr_assert_eq(spool_payload(t, uuid, ct, sizeof(ct)), 0);
}

Test(inbox, pending_set_is_rebuilt_from_the_spool)
{
	char dir[] = "/tmp/inbox-unit-XXXXXX", sdir[64];
	cr_assert(mkdtemp(dir) != NULL);
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	struct spool *sp = spool_open(sdir, 1 << 20);
	cr_assert(sp != NULL);
	uint8_t id[32], pk[32];
	randombytes_buf(id, 32);
	randombytes_buf(pk, 32);
	char r1[37], r2[37];
	util_uuid(r1);
	util_uuid(r2);
	struct spool_txn *t = spool_begin(sp, r1, "demo", "2026-01-01");
	cr_assert(t != NULL);
	add_object(t, SPOOL_REPORT, r1);
	cr_assert_eq(spool_inbox(t, id, pk), 0);
	cr_assert_eq(spool_commit_sync(t), 0);
	t = spool_begin(sp, r2, "demo", "2026-01-01"); /* a message: no inbox record */
	cr_assert(t != NULL);
	add_object(t, SPOOL_MESSAGE, r2);
	cr_assert_eq(spool_commit_sync(t), 0);

	struct app app;
	struct tipd_config cfg;
	struct inbox *ib = new_inbox(&app, &cfg);
	atomic_bool stop = true;
	cr_assert_eq(inbox_pending_rebuild(ib, sp, &stop), -1, "a stopped rebuild must say so");
	/* Intake spooled one while the spool was read: it is not added twice. */
	cr_assert_eq(inbox_pending_add(ib, id, r1, "demo"), 0);
	cr_assert_eq(inbox_pending_rebuild(ib, sp, NULL), 0);
	cr_assert_eq(inbox_pending_count(ib), 1);
	inbox_pending_drop(ib, id);
	cr_assert_eq(inbox_pending_count(ib), 0);
	cr_assert_eq(inbox_pending_rebuild(ib, sp, NULL), 1);
	cr_assert_eq(inbox_pending_count(ib), 1);
	inbox_pending_drop(ib, id);
	cr_assert_eq(inbox_pending_count(ib), 0);
	inbox_free(ib);
	spool_free(sp);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Count the lines of `path` that contain `what`. */
static int
count_lines(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	cr_assert(f != NULL);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

Test(inbox, a_full_pending_set_is_logged_once_not_per_submission)
{
	struct app app;
	struct tipd_config cfg;
	struct inbox *ib = new_inbox(&app, &cfg);
	char logpath[] = "/tmp/tipline-inbox-log.XXXXXX";
	int fd = mkstemp(logpath);
	cr_assert(fd >= 0);
	int saved = dup(STDERR_FILENO);
	cr_assert(dup2(fd, STDERR_FILENO) >= 0);
	log_init("test", LOG_LVL_INFO);
	uint8_t id[32], first[32];
	for (uint32_t i = 0; i < INBOX_PENDING_MAX; i++) {
		memset(id, 0, sizeof(id));
		memcpy(id, &i, sizeof(i));
		id[31] = 1;
		cr_assert_eq(inbox_pending_add(ib, id, "r", "demo"), 0);
	}
	memcpy(first, id, 32);
	/* Full: each later submission is refused, and logged once only. */
	for (int i = 0; i < 50; i++) {
		randombytes_buf(id, sizeof(id));
		cr_assert_eq(inbox_pending_add(ib, id, "r", "demo"), -1);
	}
	fflush(stderr);
	cr_assert_eq(count_lines(logpath, "pending set full"), 1, "logged per submission");
	/* Once it has room again and fills up again, it says so once more. */
	inbox_pending_drop(ib, first);
	cr_assert_eq(inbox_pending_add(ib, first, "r", "demo"), 0);
	cr_assert_eq(inbox_pending_add(ib, id, "r", "demo"), -1);
	fflush(stderr);
	cr_assert_eq(count_lines(logpath, "pending set full"), 1, "a drop of one is not room");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	unlink(logpath);
	inbox_free(ib);
}
