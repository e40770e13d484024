/*
 * Replies and notes, the parts without a network: the session's pinned
 * admin keys (round trip, limits), tipctl's membership chain check (good
 * chain; wrong admin, reordered, truncated, other team refused), and
 * tipd's strict parser for a sealed reply body (every malformed field
 * refused with the right class) agreeing with tipctl on the signed bytes.
 */
#include <criterion/criterion.h>
#include <sodium.h>

#include "../../../server/tipctl/api.c"
#include "../../../server/tipctl/cli.c"
#include "../../../server/tipctl/client.c"
#include "../../../server/tipctl/report.c"
#include "../../../server/tipctl/session.c"
#include "../../../server/tipctl/table.c"
#include "../../../server/tipctl/tips_cmd.c"
#include "../../../server/tipctl/tips_open.c"
#include "../../../server/tipctl/tips_reply.c"
#include "age.h"
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
	cr_assert_eq(tips_reply_verify_chain(ok, 2, "demo", good, 1, &m), 0);
	cr_assert_eq(membership_seq(m), 2);
	cr_assert_str_eq(membership_member_at(m, 0)->name, "m2");
	membership_free(m);
	cr_assert_eq(tips_reply_verify_chain(ok, 2, "demo", wrong, 1, &m), -1);
	cr_assert_null(m);
	const char *rev[2] = { s2, s1 }, *only2[1] = { s2 }, *forged[2] = { s1, r2 };
	cr_assert_eq(tips_reply_verify_chain(rev, 2, "demo", good, 1, &m), -1, "reordered");
	cr_assert_eq(tips_reply_verify_chain(only2, 1, "demo", good, 1, &m), -1, "no seq 1");
	cr_assert_eq(tips_reply_verify_chain(forged, 2, "demo", good, 1, &m), -1, "rogue signer");
	const char *other[1] = { o1 };
	cr_assert_eq(tips_reply_verify_chain(other, 1, "demo", good, 1, &m), -1, "other team");
	cr_assert_eq(tips_reply_verify_chain(ok, 0, "demo", good, 1, &m), -1, "empty");
	cr_assert_eq(tips_reply_verify_chain(ok, 2, "demo", good, 0, &m), -1, "no admin key");
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
