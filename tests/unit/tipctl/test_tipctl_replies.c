/*
 * Replies and notes, the parts without a network: the session's pinned
 * admin keys (round trip, limits), tipctl's membership chain check (good
 * chain; wrong admin, reordered, truncated, other team refused), and
 * tipd's strict parser for a sealed reply body (every malformed field
 * refused with the right class) agreeing with tipctl on the signed bytes;
 * a source message signed by tipd's inbox verifying in tipctl (and every
 * forgery a database writer could make refused); a report's team taken
 * from inside the sealed report, never from the server's answer; `tipctl
 * sync` accepting an object only if its payload opens under the file key it
 * is about to wrap and names that kind, object and report.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <unistd.h>

#include "api.h"
#include "chain.h"
#include "cli.h"
#include "client.h"
#include "report.h"
#include "seen.h"
#include "session.h"
#include "sync_cmd.h"
#include "table.h"
#include "tips_cmd.h"
#include "tips_open.h"
#include "tips_reply.h"
#include "proto.h"
#include "age.h"
#include "inbox_open.h"
#include "receipt.h"
#include "review_replies.h"

#define OID "11111111-2222-4333-8444-555555555555"
#define RID "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee1"

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
}

TestSuite(replies_unit, .init = setup);

/* ---- session ---- */

#define SESSION_BASE                                                                             \
	"tipline-session v1\nserver https://127.0.0.1:8443\npin "                                  \
	"0000000000000000000000000000000000000000000000000000000000000000\norigin o\n"            \
	"token abc\nexpires_at 5\nmember alice\n"

Test(replies_unit, session_keeps_admin_keys)
{
	struct session *s = session_new(), *t = session_new();
	const char *text = SESSION_BASE "admin_key a+12345678+AAAA\nadmin_key b+87654321+BBBB\n";
	char path[64] = "/tmp/replies-unit-XXXXXX";
	cr_assert_eq(session_parse(s, text, strlen(text)), SESSION_OK);
	cr_assert_eq(s->n_admin_keys, 2);
	cr_assert_str_eq(s->admin_keys[1], "b+87654321+BBBB");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert_eq(session_save(s, path), SESSION_OK);
	cr_assert_eq(session_load(t, path), SESSION_OK);
	cr_assert_eq(t->n_admin_keys, 2);
	cr_assert_str_eq(t->admin_keys[0], "a+12345678+AAAA");
	unlink(path);
	session_free(s);
	session_free(t);
	/* No admin key is fine (older sessions). */
	s = session_new();
	cr_assert_eq(session_parse(s, SESSION_BASE, strlen(SESSION_BASE)), SESSION_OK);
	cr_assert_eq(s->n_admin_keys, 0);
	session_free(s);
}

Test(replies_unit, session_refuses_bad_admin_keys)
{
	struct buf b;
	struct session *s = session_new();
	buf_init(&b, 8192);
	cr_assert_eq(buf_adds(&b, SESSION_BASE), 0);
	for (int i = 0; i <= SESSION_ADMIN_MAX; i++)
		cr_assert_eq(buf_printf(&b, "admin_key k%d+1+AA\n", i), 0);
	cr_assert_eq(session_parse(s, (const char *)b.data, b.len), SESSION_ERR_FORMAT, "too many");
	session_free(s);
	const char *bad[] = { SESSION_BASE "admin_key \n", SESSION_BASE "admin_key a b\n",
		              SESSION_BASE "admin_key a\x01\n" };
	for (size_t i = 0; i < 3; i++) {
		s = session_new();
		cr_assert_eq(session_parse(s, bad[i], strlen(bad[i])), SESSION_ERR_FORMAT, "case %zu", i);
		session_free(s);
	}
	buf_free(&b);
}

/* ---- the membership chain ---- */

static struct note_signer *
keys(struct note_verifier **v)
{
	struct buf st, vt;
	buf_init_secure(&st, 512);
	buf_init(&vt, 512);
	cr_assert_eq(note_keygen("admin.test", &st, &vt), 0);
	struct note_signer *s = note_signer_parse((const char *)st.data, st.len);
	*v = note_verifier_parse((const char *)vt.data, vt.len);
	cr_assert(s != NULL && *v != NULL);
	buf_free(&st);
	buf_free(&vt);
	return s;
}

/* Sign statement `seq` of `team` (after `prev`, NULL for seq 1) into a new string. */
static char *
stmt(const struct note_signer *s, const char *team, uint64_t seq, const char *prev)
{
	struct membership_member m;
	uint8_t sk[32], esk[64], h[32];
	struct buf t, out;
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "m%llu", (unsigned long long)seq);
	cr_assert_eq(age_keygen(m.x25519_pk, sk), 0);
	cr_assert_eq(age_recipient_encode(m.x25519_pk, m.recipient, sizeof(m.recipient)), 0);
	cr_assert_eq(crypto_sign_keypair(m.ed25519_pk, esk), 0);
	if (prev != NULL)
		crypto_hash_sha256(h, (const uint8_t *)prev, strlen(prev));
	buf_init(&t, NOTE_MAX_LEN);
	buf_init(&out, NOTE_MAX_LEN);
	cr_assert_eq(membership_build_text(team, seq, prev != NULL ? h : NULL, &m, 1, &t), 0);
	cr_assert_eq(note_sign(s, (const char *)t.data, t.len, &out), 0);
	char *r = strdup(buf_cstr(&out));
	buf_free(&t);
	buf_free(&out);
	return r;
}

Test(replies_unit, chain_verifies_only_in_order_with_the_pinned_key)
{
	struct note_verifier *v, *w;
	struct note_signer *s = keys(&v), *rogue = keys(&w);
	char *s1 = stmt(s, "demo", 1, NULL), *s2 = stmt(s, "demo", 2, s1);
	char *r2 = stmt(rogue, "demo", 2, s1), *o1 = stmt(s, "other", 1, NULL);
	const struct note_verifier *good[1] = { v }, *wrong[1] = { w };
	struct membership *m = NULL;
	const char *ok[2] = { s1, s2 };
	cr_assert_eq(chain_verify(ok, 2, "demo", good, 1, &m), 0);
	cr_assert_eq(membership_seq(m), 2);
	cr_assert_str_eq(membership_member_at(m, 0)->name, "m2");
	membership_free(m);
	cr_assert_eq(chain_verify(ok, 2, "demo", wrong, 1, &m), -1);
	cr_assert_null(m);
	const char *rev[2] = { s2, s1 }, *only2[1] = { s2 }, *forged[2] = { s1, r2 };
	cr_assert_eq(chain_verify(rev, 2, "demo", good, 1, &m), -1, "reordered");
	cr_assert_eq(chain_verify(only2, 1, "demo", good, 1, &m), -1, "no seq 1");
	cr_assert_eq(chain_verify(forged, 2, "demo", good, 1, &m), -1, "rogue signer");
	const char *other[1] = { o1 };
	cr_assert_eq(chain_verify(other, 1, "demo", good, 1, &m), -1, "other team");
	cr_assert_eq(chain_verify(ok, 0, "demo", good, 1, &m), -1, "empty");
	cr_assert_eq(chain_verify(ok, 2, "demo", good, 0, &m), -1, "no admin key");
	free(s1);
	free(s2);
	free(r2);
	free(o1);
	note_signer_free(s);
	note_signer_free(rogue);
	note_verifier_free(v);
	note_verifier_free(w);
}

/* ---- tipd's body parser ---- */

static char *
b64(const uint8_t *p, size_t n)
{
	size_t l = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(l);
	sodium_bin2base64(s, l, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* A header for `pk` with `stanzas` X25519 stanzas (0: scrypt). */
static char *
header(const uint8_t *fk, const uint8_t pk[32], int stanzas)
{
	uint8_t pks[2][32];
	struct buf h;
	buf_init(&h, AGE_MAX_HEADER);
	memcpy(pks[0], pk, 32);
	memcpy(pks[1], pk, 32);
	if (stanzas == 0)
		cr_assert_eq(age_header_scrypt(fk, "pw", 2, 4, &h), 0);
	else
		cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[32])pks, (size_t)stanzas, &h), 0);
	char *s = b64(h.data, h.len);
	buf_free(&h);
	return s;
}

Test(replies_unit, tipd_parses_strictly_and_agrees_on_the_signed_bytes)
{
	uint8_t fk[16], pk[32], sk[32], epk[32], esk[64], sig[64], payload[1056];
	char rc[AGE_RECIPIENT_STR_MAX];
	struct rv_sealed s;
	struct buf msg, body;
	age_file_key_new(fk);
	cr_assert_eq(age_keygen(pk, sk), 0);
	cr_assert_eq(age_recipient_encode(pk, rc, sizeof(rc)), 0);
	crypto_sign_keypair(epk, esk);
	randombytes_buf(payload, sizeof(payload));
	buf_init(&msg, 1024);
	cr_assert_eq(tips_reply_sig_message("reply", OID, RID, payload, sizeof(payload), &msg), 0);
	crypto_sign_detached(sig, NULL, msg.data, msg.len, esk);
	char *p64 = b64(payload, sizeof(payload)), *s64 = b64(sig, 64);
	char *h1 = header(fk, pk, 1), *h2 = header(fk, pk, 2), *hs = header(fk, pk, 0);
	char *bigp;
	uint8_t *raw = calloc(1, (1u << 20) + 1);
	bigp = b64(raw, (1u << 20) + 1);
	struct { const char *id, *payload, *hdr; int twice, extra; int want; } cases[] = {
		{ OID, p64, h1, 0, 0, RV_SEALED_OK },
		{ OID, p64, h2, 0, 0, RV_SEALED_HEADER },    /* two stanzas */
		{ OID, p64, hs, 0, 0, RV_SEALED_HEADER },    /* scrypt */
		{ OID, bigp, h1, 0, 0, RV_SEALED_TOO_BIG },  /* 1 MiB + 1 */
		{ OID, p64, h1, 0, 1, RV_SEALED_BAD },       /* an extra field */
		{ OID "X", p64, h1, 0, 0, RV_SEALED_BAD },   /* not a uuid */
		{ "x", p64, h1, 0, 0, RV_SEALED_BAD },
		{ OID, "AA!A", h1, 0, 0, RV_SEALED_BAD },    /* not base64 */
		{ OID, p64, h1, 1, 0, RV_SEALED_BAD },       /* a recipient twice */
		{ OID, "AAAA", h1, 0, 0, RV_SEALED_SHORT },  /* too short for an age payload */
		{ OID, p64, "AAAA", 0, 0, RV_SEALED_HEADER }, /* not an age header */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *hdrs = json_pack("[{s:s, s:s}]", "recipient", rc, "header", cases[i].hdr);
		if (cases[i].twice)
			json_array_append_new(hdrs, json_pack("{s:s, s:s}", "recipient", rc, "header",
			                                      cases[i].hdr));
		json_t *doc = json_pack("{s:s, s:s, s:o, s:s}", "id", cases[i].id, "payload",
		                        cases[i].payload, "headers", hdrs, "signature", s64);
		if (cases[i].extra)
			json_object_set_new(doc, "x", json_integer(1));
		char *text = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		int r = rv_sealed_parse((const uint8_t *)text, strlen(text), &s);
		free(text);
		cr_assert_eq(r, cases[i].want, "case %zu: %d", i, r);
		if (i == 0) {
			cr_assert_eq(s.nheaders, 1);
			cr_assert_str_eq(s.recipients[0], rc);
			cr_assert_eq(rv_sealed_verify(&s, "reply", RID, epk), 0);
			cr_assert_eq(rv_sealed_verify(&s, "note", RID, epk), -1, "kind is bound");
			cr_assert_eq(rv_sealed_verify(&s, "reply", OID, epk), -1, "report is bound");
			cr_assert_eq(rv_sealed_verify(&s, "reply", RID, pk), -1, "another key");
		}
		rv_sealed_free(&s);
	}
	buf_init(&body, 16);
	cr_assert_eq(rv_sealed_parse((const uint8_t *)"{\"id\":", 6, &s), RV_SEALED_BAD);
	rv_sealed_free(&s);
	free(p64);
	free(s64);
	free(h1);
	free(h2);
	free(hs);
	free(bigp);
	free(raw);
	buf_free(&msg);
	buf_free(&body);
}

/* ---- the source's signature on its messages (tipd signs, tipctl checks) ---- */

/* Parse the JSON at `p` (trailing padding spaces allowed). */
static json_t *
load_padded(const struct buf *b)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)b->data, b->len, 0, &e);
	cr_assert_not_null(doc, "%s", e.text);
	return doc;
}

Test(replies_unit, source_message_signed_by_tipd_verifies_in_tipctl)
{
	static const char digits[] = "123456789012345678901234567890";
	static const char other_digits[] = "987654321098765432109876543210";
	uint8_t key[RECEIPT_PEPPER_LEN], pk[32], sk[64], opk[32], osk[64];
	char pk64[64];
	memset(key, 7, sizeof(key));
	struct receipt_pepper *p = receipt_pepper_from_bytes(key);
	cr_assert_not_null(p);
	cr_assert_eq(receipt_source_sign_key(p, digits, pk, sk), 0);
	cr_assert_eq(receipt_source_sign_key(p, other_digits, opk, osk), 0);
	sodium_bin2base64(pk64, sizeof(pk64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	json_t *report = json_pack("{s:s, s:s}", "team", "demo", "source_signing_key", pk64);
	json_t *old = json_pack("{s:s}", "team", "demo");

	struct buf b;
	buf_init_secure(&b, 1 << 20);
	static const char text[] = "Please help, we are in the north.";
	cr_assert_eq(inbox_message_json_signed(text, strlen(text), "2026-01-02", OID, RID, sk, &b), 0);
	json_t *msg = load_padded(&b);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_VERIFIED);
	/* Moved to another message id or report: the signature covers the context line. */
	cr_assert_eq(report_message_signed(report, msg, RID, RID), REPORT_MSG_FORGED);
	cr_assert_eq(report_message_signed(report, msg, OID, OID), REPORT_MSG_FORGED);
	/* Another text under the same signature. */
	cr_assert_eq(json_object_set_new(msg, "text", json_string("Please help, we are in the south.")), 0);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED);
	json_decref(msg);

	/* What a database writer can make: sealed to the team, but unsigned or
	 * signed with some other key. */
	buf_reset(&b);
	cr_assert_eq(inbox_message_json("Forged.", 7, "2026-01-02", &b), 0);
	msg = load_padded(&b);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED, "no signature");
	cr_assert_eq(report_message_signed(old, msg, OID, RID), REPORT_MSG_UNSIGNED_OLD,
	             "a report sealed before source keys existed");
	json_decref(msg);
	buf_reset(&b);
	cr_assert_eq(inbox_message_json_signed("Forged.", 7, "2026-01-02", OID, RID, osk, &b), 0);
	msg = load_padded(&b);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED, "another key");
	cr_assert_eq(json_object_set_new(msg, "signature", json_string("AAAA")), 0);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED, "short");
	cr_assert_eq(json_object_set_new(report, "source_signing_key", json_integer(5)), 0);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED,
	             "a malformed key verifies nothing");
	json_decref(msg);
	json_decref(report);
	json_decref(old);
	buf_free(&b);
	receipt_pepper_free(p);
}

/* A follow-up's files: tipd signs each file's id, size and SHA-256 with the
 * message; tipctl refuses a message whose list of files was changed. */
Test(replies_unit, source_message_signature_covers_its_files)
{
	static const char digits[] = "123456789012345678901234567890";
	uint8_t key[RECEIPT_PEPPER_LEN], pk[32], sk[64];
	char pk64[64];
	memset(key, 7, sizeof(key));
	struct receipt_pepper *p = receipt_pepper_from_bytes(key);
	cr_assert_not_null(p);
	cr_assert_eq(receipt_source_sign_key(p, digits, pk, sk), 0);
	sodium_bin2base64(pk64, sizeof(pk64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	json_t *report = json_pack("{s:s, s:s}", "team", "demo", "source_signing_key", pk64);
	json_t *manifest = json_pack(
		"[{s:s, s:s, s:s, s:i, s:i, s:s}, {s:s, s:s, s:s, s:i, s:i, s:s}]", "uuid", OID, "name",
		"a.jpg", "content_type", "image/jpeg", "size", 3, "padded_size", 3, "sha256",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "uuid", RID, "name",
		"b.txt", "content_type", "text/plain", "size", 0, "padded_size", 0, "sha256",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	struct buf b;
	buf_init_secure(&b, 1 << 20);
	cr_assert_eq(inbox_message_json_files("", 0, "2026-01-02", OID, RID, sk, manifest, &b), 0);
	json_t *msg = load_padded(&b);
	cr_assert_eq(json_array_size(json_object_get(msg, "attachments")), 2);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_VERIFIED);
	/* a file dropped, one's digest swapped, one's size changed */
	json_t *files = json_object_get(msg, "attachments");
	json_t *second = json_incref(json_array_get(files, 1));
	cr_assert_eq(json_array_remove(files, 1), 0);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED, "dropped");
	cr_assert_eq(json_array_append_new(files, second), 0);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_VERIFIED);
	json_t *first = json_array_get(files, 0);
	cr_assert_eq(json_object_set_new(first, "sha256", json_string("e3b0c44298fc1c149afbf4c8996fb9"
	                                                              "2427ae41e4649b934ca495991b7852"
	                                                              "b855")),
	             0);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED, "swapped");
	cr_assert_eq(json_object_set_new(first, "sha256", json_string("ba7816bf8f01cfea414140de5dae22"
	                                                              "23b00361a396177a9cb410ff61f200"
	                                                              "15ad")),
	             0);
	cr_assert_eq(json_object_set_new(first, "size", json_integer(4)), 0);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED, "resized");
	/* and a file added to a text-only message */
	json_decref(msg);
	buf_reset(&b);
	cr_assert_eq(inbox_message_json_signed("hi", 2, "2026-01-02", OID, RID, sk, &b), 0);
	msg = load_padded(&b);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_VERIFIED);
	cr_assert_eq(json_object_set(msg, "attachments", manifest), 0);
	cr_assert_eq(report_message_signed(report, msg, OID, RID), REPORT_MSG_FORGED, "added");
	json_decref(msg);
	json_decref(manifest);
	json_decref(report);
	buf_free(&b);
	receipt_pepper_free(p);
}

Test(replies_unit, team_comes_from_the_sealed_report)
{
	json_t *doc = json_pack("{s:s}", "team", "demo");
	json_t *same = json_pack("{s:s}", "team", "demo"), *other = json_pack("{s:s}", "team", "other");
	json_t *none = json_object(), *bad = json_pack("{s:s}", "team", "Not A Team!");
	const char *team = NULL;
	cr_assert_eq(chain_sealed_team(same, doc, RID, &team), 0);
	cr_assert_str_eq(team, "demo");
	cr_assert_eq(chain_sealed_team(other, doc, RID, &team), -1, "the server names another team");
	cr_assert_null(team);
	cr_assert_eq(chain_sealed_team(none, doc, RID, &team), -1);
	cr_assert_eq(chain_sealed_team(same, bad, RID, &team), -1, "no valid team sealed inside");
	cr_assert_eq(chain_sealed_team(same, none, RID, &team), -1);
	json_decref(doc);
	json_decref(same);
	json_decref(other);
	json_decref(none);
	json_decref(bad);
}

/* ---- tipctl sync opens what it grants ---- */

/* Seal `pt_len` bytes: the context line of (kind, oid, rid), then 'x's, under `fk`. */
static void
seal_object(const uint8_t *fk, const char *kind, const char *oid, const char *rid, size_t pt_len,
            struct buf *payload)
{
	struct buf pt;
	char line[PROTO_CONTEXT_MAX];
	int l = proto_context_line(kind, oid, rid, line, sizeof(line));
	cr_assert_gt(l, 0);
	buf_init_secure(&pt, pt_len + 256);
	cr_assert_eq(buf_add(&pt, line, (size_t)l), 0);
	cr_assert_eq(buf_fill(&pt, 'x', pt_len - (size_t)l), 0);
	struct age_enc *e = age_enc_new(fk);
	cr_assert_not_null(e);
	cr_assert_eq(age_enc_update(e, pt.data, pt.len, payload), 0);
	cr_assert_eq(age_enc_final(e, payload), 0);
	age_enc_free(e);
	buf_free(&pt);
}

Test(replies_unit, sync_checks_each_object_under_the_key_it_wraps)
{
	uint8_t fk[AGE_FILE_KEY_LEN], other[AGE_FILE_KEY_LEN];
	static const size_t sizes[] = { 200, 65536, 65536 * 3 + 17 }; /* one, one full, several chunks */
	age_file_key_new(fk);
	age_file_key_new(other);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct buf p;
		buf_init(&p, 1 << 20);
		seal_object(fk, "message", OID, RID, sizes[i], &p);
		cr_assert_eq(sync_check_payload(fk, p.data, p.len, true, "message", OID, RID), 0, "size %zu",
		             sizes[i]);
		cr_assert_eq(sync_check_payload(fk, p.data, p.len, true, "reply", OID, RID), -1, "another kind");
		cr_assert_eq(sync_check_payload(fk, p.data, p.len, true, "message", RID, RID), -1,
		             "another object");
		cr_assert_eq(sync_check_payload(fk, p.data, p.len, true, "message", OID, OID), -1,
		             "another report");
		cr_assert_eq(sync_check_payload(other, p.data, p.len, true, "message", OID, RID), -1,
		             "not this file key");
		cr_assert_eq(sync_check_payload(fk, p.data, p.len - 1, true, "message", OID, RID), -1,
		             "truncated");
		/* The server's prefix of a longer object: the first chunk is checked
		 * as one that is not the last; without the byte after it, or for
		 * an object whose first chunk is its last, nothing is proven. */
		if (p.len > 65569) {
			cr_assert_eq(sync_check_payload(fk, p.data, 65569, false, "message", OID, RID), 0);
			cr_assert_eq(sync_check_payload(fk, p.data, 65569, false, "message", RID, RID), -1);
			cr_assert_eq(sync_check_payload(other, p.data, 65569, false, "message", OID, RID),
			             -1);
			cr_assert_eq(sync_check_payload(fk, p.data, 65568, false, "message", OID, RID), -1,
			             "no byte after the first chunk");
		} else {
			cr_assert_eq(sync_check_payload(fk, p.data, p.len, false, "message", OID, RID), -1,
			             "a last chunk passed as a first one");
			cr_assert_eq(buf_add(&p, "x", 1), 0);
			cr_assert_eq(sync_check_payload(fk, p.data, p.len, false, "message", OID, RID), -1,
			             "a last chunk followed by a byte");
			p.len--;
		}
		p.data[p.len - 1] ^= 1;
		cr_assert_eq(sync_check_payload(fk, p.data, p.len, true, "message", OID, RID), -1,
		             "corrupt last chunk");
		buf_free(&p);
	}
}
