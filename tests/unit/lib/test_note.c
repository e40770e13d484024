/* Tests for note: C2SP signed notes with Ed25519 keys. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "note.h"

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
}

TestSuite(note, .init = setup);

/* The example from the Go sumdb/note package and the C2SP spec. */
static const char go_skey[] =
	"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_text[] = "If you think cryptography is the answer to your problem,\n"
                              "then you don't know what your problem is.\n";
static const char go_note[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n"
	"\n"
	"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

/* A fresh key pair named `name`. */
struct kp {
	struct note_signer *s;
	struct note_verifier *v;
};

static struct kp
kp_new(const char *name)
{
	struct buf st, vt;
	struct kp k;
	buf_init_secure(&st, 512);
	buf_init(&vt, 512);
	cr_assert_eq(note_keygen(name, &st, &vt), 0);
	k.s = note_signer_parse((const char *)st.data, st.len);
	k.v = note_verifier_parse((const char *)vt.data, vt.len);
	cr_assert_not_null(k.s);
	cr_assert_not_null(k.v);
	buf_free(&st);
	buf_free(&vt);
	return k;
}

static void
kp_free(struct kp k)
{
	note_signer_free(k.s);
	note_verifier_free(k.v);
}

static enum note_result
open_with(const char *n, size_t len, const struct note_verifier *v, size_t *tl)
{
	const struct note_verifier *vs[1] = { v };
	return note_open(n, len, vs, 1, tl, NULL);
}

Test(note, go_reference_vector)
{
	struct note_signer *s = note_signer_parse(go_skey, strlen(go_skey));
	cr_assert_not_null(s);
	struct note_verifier *v = note_signer_verifier(s);
	struct buf b;
	buf_init(&b, NOTE_MAX_LEN);
	cr_assert_eq(note_verifier_text(v, &b), 0);
	cr_assert_str_eq(buf_cstr(&b), go_vkey);
	cr_assert_eq(note_verifier_hash(v), 0xc74f20a3);
	buf_reset(&b);
	cr_assert_eq(note_sign(s, go_text, strlen(go_text), &b), 0);
	cr_assert_str_eq(buf_cstr(&b), go_note, "Ed25519 is deterministic: must match Go");
	struct note_verifier *pv = note_verifier_parse(go_vkey, strlen(go_vkey));
	cr_assert_not_null(pv);
	size_t tl = 0;
	cr_assert_eq(open_with(go_note, strlen(go_note), pv, &tl), NOTE_OK);
	cr_assert_eq(tl, strlen(go_text));
	cr_assert_eq(memcmp(go_note, go_text, tl), 0);
	buf_free(&b);
	note_verifier_free(v);
	note_verifier_free(pv);
	note_signer_free(s);
}

Test(note, keygen_sign_open_round_trip)
{
	struct kp a = kp_new("tipline.example/admin-1");
	const char *text = "tipline/v1/test\nhello \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85\n\nwith a blank line\n";
	struct buf b;
	buf_init(&b, NOTE_MAX_LEN);
	cr_assert_eq(note_sign(a.s, text, strlen(text), &b), 0);
	size_t tl = 0;
	bool by[1] = { false };
	const struct note_verifier *vs[1] = { a.v };
	cr_assert_eq(note_open((const char *)b.data, b.len, vs, 1, &tl, by), NOTE_OK);
	cr_assert_eq(tl, strlen(text));
	cr_assert(by[0]);
	cr_assert_str_eq(note_verifier_name(a.v), "tipline.example/admin-1");
	buf_free(&b);
	kp_free(a);
}

Test(note, unknown_keys_are_ignored_but_needed_one_is_required)
{
	struct kp a = kp_new("alice"), b = kp_new("bob"), c = kp_new("carol");
	const char *text = "statement\n";
	struct buf n1, n2;
	buf_init(&n1, NOTE_MAX_LEN);
	buf_init(&n2, NOTE_MAX_LEN);
	cr_assert_eq(note_sign(b.s, text, strlen(text), &n1), 0);
	cr_assert_eq(note_cosign(a.s, (const char *)n1.data, n1.len, &n2), 0);
	/* Trusting only alice: bob's line is ignored, alice's verifies. */
	const struct note_verifier *va[1] = { a.v };
	bool by[2];
	size_t tl;
	cr_assert_eq(note_open((const char *)n2.data, n2.len, va, 1, &tl, by), NOTE_OK);
	cr_assert(by[0]);
	/* Trusting both: both reported. */
	const struct note_verifier *vab[2] = { a.v, b.v };
	cr_assert_eq(note_open((const char *)n2.data, n2.len, vab, 2, &tl, by), NOTE_OK);
	cr_assert(by[0] && by[1]);
	/* Trusting alice and carol on bob's note alone: alice did not sign it. */
	const struct note_verifier *vac[2] = { a.v, c.v };
	cr_assert_eq(note_open((const char *)n1.data, n1.len, vac, 2, &tl, by),
	             NOTE_ERR_UNSIGNED);
	cr_assert_eq(note_open((const char *)n1.data, n1.len, NULL, 0, &tl, NULL),
	             NOTE_ERR_UNSIGNED);
	/* Cosigning twice with the same key is refused. */
	buf_reset(&n1);
	cr_assert_eq(note_cosign(a.s, (const char *)n2.data, n2.len, &n1), -1);
	cr_assert_eq(n1.len, 0);
	buf_free(&n1);
	buf_free(&n2);
	kp_free(a);
	kp_free(b);
	kp_free(c);
}

Test(note, a_known_key_that_does_not_verify_rejects_the_note)
{
	struct kp a = kp_new("alice"), b = kp_new("bob");
	const char *text = "seq 1\n";
	struct buf n;
	buf_init(&n, NOTE_MAX_LEN);
	cr_assert_eq(note_sign(a.s, text, strlen(text), &n), 0);
	char *m = (char *)n.data;
	/* tampered text */
	m[4] = '2';
	cr_assert_eq(open_with(m, n.len, a.v, NULL), NOTE_ERR_BAD_SIGNATURE);
	m[4] = '1';
	cr_assert_eq(open_with(m, n.len, a.v, NULL), NOTE_OK);
	/* tampered signature byte (within the last base64 chars, not the hash) */
	char save = m[n.len - 6];
	m[n.len - 6] = save == 'A' ? 'B' : 'A';
	cr_assert_eq(open_with(m, n.len, a.v, NULL), NOTE_ERR_BAD_SIGNATURE);
	m[n.len - 6] = save;
	/* a good signature by alice followed by a forged line claiming to be alice */
	struct buf f;
	buf_init(&f, NOTE_MAX_LEN);
	cr_assert_eq(buf_add(&f, n.data, n.len), 0);
	const char *sl = strstr(m, "\xe2\x80\x94 alice ");
	cr_assert_not_null(sl);
	char hash_b64[8];
	memcpy(hash_b64, sl + strlen("\xe2\x80\x94 alice "), 5); /* first 5 chars = 30 bits of hash */
	/* Build a forged line with alice's key hash and a random signature. */
	uint8_t raw[68];
	char b64[100];
	uint32_t h = note_verifier_hash(a.v);
	raw[0] = (uint8_t)(h >> 24), raw[1] = (uint8_t)(h >> 16), raw[2] = (uint8_t)(h >> 8),
	raw[3] = (uint8_t)h;
	randombytes_buf(raw + 4, 64);
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	cr_assert_eq(buf_printf(&f, "\xe2\x80\x94 alice %s\n", b64), 0);
	cr_assert_eq(open_with((const char *)f.data, f.len, a.v, NULL), NOTE_ERR_BAD_SIGNATURE);
	/* same forged line but only bob trusted: unknown to him, and bob did not sign */
	cr_assert_eq(open_with((const char *)f.data, f.len, b.v, NULL), NOTE_ERR_UNSIGNED);
	/* a short "signature" carrying alice's hash */
	buf_reset(&f);
	cr_assert_eq(buf_add(&f, text, strlen(text)), 0);
	sodium_bin2base64(b64, sizeof(b64), raw, 10, sodium_base64_VARIANT_ORIGINAL);
	cr_assert_eq(buf_printf(&f, "\n\xe2\x80\x94 alice %s\n", b64), 0);
	cr_assert_eq(open_with((const char *)f.data, f.len, a.v, NULL), NOTE_ERR_BAD_SIGNATURE);
	buf_free(&f);
	buf_free(&n);
	kp_free(a);
	kp_free(b);
}

Test(note, signature_count_limit)
{
	struct kp k[NOTE_MAX_SIGS + 1];
	char name[16];
	for (int i = 0; i <= NOTE_MAX_SIGS; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		k[i] = kp_new(name);
	}
	struct buf cur, next;
	buf_init(&cur, NOTE_MAX_LEN);
	buf_init(&next, NOTE_MAX_LEN);
	cr_assert_eq(note_sign(k[0].s, "x\n", 2, &cur), 0);
	for (int i = 1; i < NOTE_MAX_SIGS; i++) {
		buf_reset(&next);
		cr_assert_eq(note_cosign(k[i].s, (const char *)cur.data, cur.len, &next), 0, "sig %d", i);
		buf_reset(&cur);
		cr_assert_eq(buf_add(&cur, next.data, next.len), 0);
	}
	cr_assert_eq(open_with((const char *)cur.data, cur.len, k[NOTE_MAX_SIGS - 1].v, NULL),
	             NOTE_OK);
	buf_reset(&next);
	cr_assert_eq(note_cosign(k[NOTE_MAX_SIGS].s, (const char *)cur.data, cur.len, &next), -1);
	/* Hand-append a 17th line: refused as malformed. */
	const char *first = strstr((const char *)buf_cstr(&cur), "\xe2\x80\x94");
	cr_assert_not_null(first);
	const char *eol = strchr(first, '\n');
	cr_assert_eq(buf_add(&cur, first, (size_t)(eol - first + 1)), 0);
	cr_assert_eq(open_with((const char *)cur.data, cur.len, k[0].v, NULL), NOTE_ERR_FORMAT);
	buf_free(&cur);
	buf_free(&next);
	for (int i = 0; i <= NOTE_MAX_SIGS; i++)
		kp_free(k[i]);
}

Test(note, malformed_notes)
{
	struct note_verifier *v = note_verifier_parse(go_vkey, strlen(go_vkey));
	char m[1024];
	const char *sig = strstr(go_note, "\xe2\x80\x94");
	size_t tl = strlen(go_text);
	cr_assert_eq(open_with(go_note, strlen(go_note), v, NULL), NOTE_OK);
	/* no blank line */
	snprintf(m, sizeof(m), "%s%s", go_text, sig);
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	/* no final newline */
	cr_assert_eq(open_with(go_note, strlen(go_note) - 1, v, NULL), NOTE_ERR_FORMAT);
	/* ASCII dashes instead of the em dash */
	snprintf(m, sizeof(m), "%s\n-- %s", go_text, sig + 4);
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	/* em dash with no space */
	snprintf(m, sizeof(m), "%s\n\xe2\x80\x94%s", go_text, sig + 4);
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	/* bad base64 */
	snprintf(m, sizeof(m), "%s\n\xe2\x80\x94 PeterNeumann x08go*ZJ\n", go_text);
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	/* missing padding */
	snprintf(m, sizeof(m), "%s", go_note);
	m[strlen(m) - 2] = '\n';
	m[strlen(m) - 1] = '\0';
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	/* empty signature block, and an extra blank line after the signatures */
	snprintf(m, sizeof(m), "%s\n", go_text);
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	snprintf(m, sizeof(m), "%s\n", go_note);
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	/* control characters and invalid UTF-8 in the text */
	static const char *bad[] = { "\t", "\r", "\x7f\x01", "\xc0\xaf", "\xed\xa0\x80", "\x00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t bl = i == 5 ? 1 : strlen(bad[i]);
		memcpy(m, go_note, 5);
		memcpy(m + 5, bad[i], bl);
		memcpy(m + 5 + bl, go_note + 5, strlen(go_note) - 5);
		cr_assert_eq(open_with(m, strlen(go_note) + bl, v, NULL), NOTE_ERR_FORMAT, "bad %zu",
		             i);
	}
	/* a non-ASCII byte inside the base64 (libsodium alone would accept it) */
	snprintf(m, sizeof(m), "%s\n\xe2\x80\x94 PeterNeumann x0\xc3\xa9o/%s", go_text, sig + 23);
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	/* a name with '+' */
	snprintf(m, sizeof(m), "%s\n\xe2\x80\x94 Peter+Neumann %s", go_text, sig + 17);
	cr_assert_eq(open_with(m, strlen(m), v, NULL), NOTE_ERR_FORMAT);
	/* too large, and empty */
	static char big[NOTE_MAX_LEN + 200];
	memset(big, 'a', sizeof(big));
	big[NOTE_MAX_LEN] = '\n';
	memcpy(big + NOTE_MAX_LEN + 1, sig - 1, strlen(sig) + 2); /* "\n", line, NUL */
	cr_assert_eq(open_with(big, strlen(big), v, NULL), NOTE_ERR_FORMAT);
	cr_assert_eq(open_with("", 0, v, NULL), NOTE_ERR_FORMAT);
	cr_assert_eq(open_with("\n\n", 2, v, NULL), NOTE_ERR_FORMAT);
	(void)tl;
	note_verifier_free(v);
}

Test(note, sign_refuses_invalid_text)
{
	struct kp a = kp_new("a");
	struct buf b;
	buf_init(&b, NOTE_MAX_LEN);
	cr_assert_eq(note_sign(a.s, "", 0, &b), -1);
	cr_assert_eq(note_sign(a.s, "no newline", 10, &b), -1);
	cr_assert_eq(note_sign(a.s, "tab\there\n", 9, &b), -1);
	cr_assert_eq(note_sign(a.s, "cr\r\n", 4, &b), -1);
	cr_assert_eq(note_sign(a.s, "bad \xff\n", 6, &b), -1);
	cr_assert_eq(note_sign(a.s, "nul\0\n", 5, &b), -1);
	cr_assert_eq(b.len, 0, "nothing appended on failure");
	static char big[NOTE_MAX_LEN];
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	cr_assert_eq(note_sign(a.s, big, sizeof(big), &b), -1, "note over the limit");
	cr_assert_eq(b.len, 0);
	/* The text may itself end in a blank line or contain signature-looking lines. */
	const char *tricky = "a\n\n\xe2\x80\x94 a AAAAAAA=\n\n";
	cr_assert_eq(note_sign(a.s, tricky, strlen(tricky), &b), 0);
	size_t tl = 0;
	cr_assert_eq(open_with((const char *)b.data, b.len, a.v, &tl), NOTE_OK);
	cr_assert_eq(tl, strlen(tricky));
	buf_free(&b);
	kp_free(a);
}

Test(note, key_texts)
{
	struct note_verifier *ok = note_verifier_parse(go_vkey, strlen(go_vkey));
	cr_assert_not_null(ok);
	note_verifier_free(ok);
	char t[256];
	/* wrong hash */
	snprintf(t, sizeof(t), "PeterNeumann+c74f20a4+%s", go_vkey + 22);
	cr_assert_null(note_verifier_parse(t, strlen(t)));
	/* upper-case hex, other name (hash mismatch), trailing newline, wrong algorithm */
	snprintf(t, sizeof(t), "PeterNeumann+C74F20A3+%s", go_vkey + 22);
	cr_assert_null(note_verifier_parse(t, strlen(t)));
	snprintf(t, sizeof(t), "PeterNeumanm+c74f20a3+%s", go_vkey + 22);
	cr_assert_null(note_verifier_parse(t, strlen(t)));
	snprintf(t, sizeof(t), "%s\n", go_vkey);
	cr_assert_null(note_verifier_parse(t, strlen(t)));
	snprintf(t, sizeof(t), "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	cr_assert_null(note_verifier_parse(t, strlen(t)));
	cr_assert_null(note_verifier_parse("", 0));
	snprintf(t, sizeof(t), "PeterNeumann+c74f20a3+A\xc3\xa9" "c2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	cr_assert_null(note_verifier_parse(t, strlen(t)));
	cr_assert_null(note_verifier_parse("+c74f20a3+", 10));
	/* a signer text is not a verifier and vice versa */
	cr_assert_null(note_verifier_parse(go_skey, strlen(go_skey)));
	cr_assert_null(note_signer_parse(go_vkey, strlen(go_vkey)));
	snprintf(t, sizeof(t), "PRIVATE+KEY+PeterNeumann+c74f20a4+%s", go_skey + 34);
	cr_assert_null(note_signer_parse(t, strlen(t)));
	cr_assert_null(note_signer_parse(go_skey, strlen(go_skey) - 1));

	cr_assert(note_name_valid("tipline.example/admin"));
	cr_assert_not(note_name_valid(""));
	cr_assert_not(note_name_valid("a+b"));
	cr_assert_not(note_name_valid("a b"));
	cr_assert_not(note_name_valid("a\tb"));
	cr_assert_not(note_name_valid("caf\xc3\xa9"));
	memset(t, 'n', sizeof(t));
	t[NOTE_NAME_MAX] = '\0';
	cr_assert(note_name_valid(t));
	t[NOTE_NAME_MAX] = 'n';
	t[NOTE_NAME_MAX + 1] = '\0';
	cr_assert_not(note_name_valid(t));
	struct buf s, v;
	buf_init_secure(&s, 512);
	buf_init(&v, 512);
	cr_assert_eq(note_keygen("bad name", &s, &v), -1);
	cr_assert_eq(note_keygen("a+b", &s, &v), -1);
	buf_free(&s);
	buf_free(&v);
}
