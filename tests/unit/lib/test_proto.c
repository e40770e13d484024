/*
 * proto: the exact bytes of every message tipd and tipctl build alike (the
 * context line, the login message, the reply/note signature message, the
 * source message signature message), what each refuses, and the one strict
 * UTF-8 decoder. The expected strings are written out in full here: if a
 * byte changes, signatures made by deployed clients stop verifying.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "buf.h"
#include "proto.h"

#define OID "11111111-2222-4333-8444-555555555555"
#define RID "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee1"
/* SHA-256 of "" and of "abc" (FIPS 180-2 test vectors). */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void
init(void)
{
	cr_assert(sodium_init() >= 0);
}

TestSuite(proto, .init = init);

/* Assert that `b` holds exactly the NUL-terminated `want`. */
static void
assert_bytes(const struct buf *b, const char *want)
{
	cr_assert_eq(b->len, strlen(want), "length %zu, want %zu", b->len, strlen(want));
	cr_assert(memcmp(b->data, want, b->len) == 0, "got %.*s", (int)b->len,
	          (const char *)b->data);
}

Test(proto, context_line_bytes)
{
	char line[PROTO_CONTEXT_MAX];
	static const char *const kinds[] = { "report", "attachment", "message", "reply", "note" };
	cr_assert_eq(proto_context_line("report", RID, RID, line, sizeof(line)), 92);
	cr_assert_str_eq(line, "tipline/v1 report " RID " " RID "\n");
	cr_assert_eq(proto_context_line("attachment", OID, RID, line, sizeof(line)), 96);
	cr_assert_str_eq(line, "tipline/v1 attachment " OID " " RID "\n");
	for (size_t i = 0; i < 5; i++)
		cr_assert_gt(proto_context_line(kinds[i], OID, RID, line, sizeof(line)), 0, "%s",
		             kinds[i]);
	cr_assert_eq(proto_context_line("reply", OID, RID, line, sizeof(line)), 91);
	cr_assert_str_eq(line, "tipline/v1 reply " OID " " RID "\n");
}

Test(proto, context_line_refuses)
{
	char line[PROTO_CONTEXT_MAX];
	cr_assert_eq(proto_context_line("audit", OID, RID, line, sizeof(line)), -1, "unknown kind");
	cr_assert_eq(proto_context_line(NULL, OID, RID, line, sizeof(line)), -1);
	cr_assert_eq(proto_context_line("report", "11111111-2222-4333-8444-55555555555", RID, line,
	                                sizeof(line)),
	             -1, "short id");
	cr_assert_eq(proto_context_line("report", "11111111-2222-4333-8444-55555555555A", RID, line,
	                                sizeof(line)),
	             -1, "upper case");
	cr_assert_eq(proto_context_line("report", OID, RID " x", line, sizeof(line)), -1);
	cr_assert_eq(proto_context_line("report", OID, NULL, line, sizeof(line)), -1);
	cr_assert_eq(proto_context_line("report", OID, RID, line, 92), -1, "no room for the NUL");
	cr_assert_eq(proto_context_line("report", OID, RID, line, 93), 92);
}

Test(proto, context_check)
{
	const char *pt = "tipline/v1 message " OID " " RID "\n{\"text\":\"x\"}";
	size_t skip = 0;
	cr_assert_eq(
		proto_context_check((const uint8_t *)pt, strlen(pt), "message", OID, RID, &skip),
		0);
	cr_assert_eq(skip, 93);
	cr_assert_eq(proto_context_check((const uint8_t *)pt, strlen(pt), "reply", OID, RID, &skip),
	             -1);
	cr_assert_eq(
		proto_context_check((const uint8_t *)pt, strlen(pt), "message", RID, OID, &skip),
		-1, "ids swapped");
	cr_assert_eq(proto_context_check((const uint8_t *)pt, 92, "message", OID, RID, &skip), -1,
	             "no newline");
}

Test(proto, login_message_bytes)
{
	struct buf b;
	buf_init(&b, 4096);
	cr_assert_eq(
		proto_login_message("https://review.example", "ab01", "bm9uY2U", 1700000000, &b),
		0);
	assert_bytes(&b, "tipline/v1/login\nhttps://review.example\nab01\nbm9uY2U\n1700000000\n");
	buf_reset(&b);
	cr_assert_eq(proto_login_message("o", "k", "n", 0, &b), 0);
	assert_bytes(&b, "tipline/v1/login\no\nk\nn\n0\n");
	buf_reset(&b);
	cr_assert_eq(proto_login_message("a\nb", "k", "n", 1, &b), -1);
	cr_assert_eq(proto_login_message("a", "k\r", "n", 1, &b), -1);
	cr_assert_eq(proto_login_message("a", "k", "n\x7f", 1, &b), -1);
	cr_assert_eq(proto_login_message("", "k", "n", 1, &b), -1);
	cr_assert_eq(proto_login_message("a", "k", NULL, 1, &b), -1);
	cr_assert_eq(proto_login_message("a", "k", "n", -1, &b), -1);
	cr_assert_eq(b.len, 0, "nothing appended on refusal");
	buf_free(&b);
}

Test(proto, sealed_sig_message_bytes)
{
	struct buf b;
	buf_init(&b, 1024);
	cr_assert_eq(proto_sealed_sig_message("reply", OID, RID, (const uint8_t *)"abc", 3, &b), 0);
	assert_bytes(&b, "tipline/v1/reply\n" OID "\n" RID "\n" SHA_ABC "\n");
	buf_reset(&b);
	cr_assert_eq(proto_sealed_sig_message("note", OID, RID, (const uint8_t *)"", 0, &b), 0);
	assert_bytes(&b, "tipline/v1/note\n" OID "\n" RID "\n" SHA_EMPTY "\n");
	buf_reset(&b);
	cr_assert_eq(proto_sealed_sig_message("message", OID, RID, (const uint8_t *)"abc", 3, &b),
	             -1, "only replies and notes carry an investigator's signature");
	cr_assert_eq(proto_sealed_sig_message("login", OID, RID, (const uint8_t *)"abc", 3, &b),
	             -1);
	cr_assert_eq(proto_sealed_sig_message("reply", "x", RID, (const uint8_t *)"abc", 3, &b),
	             -1);
	cr_assert_eq(b.len, 0);
	buf_free(&b);
}

Test(proto, source_message_bytes)
{
	struct buf b;
	buf_init(&b, 1024);
	cr_assert_eq(proto_source_message(OID, RID, (const uint8_t *)"abc", 3, NULL, 0, &b), 0);
	assert_bytes(
		&b, "tipline/v1/source-message\ntipline/v1 message " OID " " RID "\n" SHA_ABC "\n");
	buf_reset(&b);
	cr_assert_eq(proto_source_message(OID, "not-a-uuid", (const uint8_t *)"abc", 3, NULL, 0, &b), -1);
	cr_assert_eq(b.len, 0);
	buf_free(&b);
}

Test(proto, source_message_with_files_bytes)
{
	/* Each file adds one line; its digest is of the file, not of the text. */
	struct proto_file f[2] = { { RID, 3, { 0 } }, { OID, 0, { 0 } } };
	struct buf b;
	crypto_hash_sha256(f[0].sha256, (const uint8_t *)"abc", 3);
	crypto_hash_sha256(f[1].sha256, (const uint8_t *)"", 0);
	buf_init(&b, 1024);
	cr_assert_eq(proto_source_message(OID, RID, (const uint8_t *)"", 0, f, 2, &b), 0);
	assert_bytes(&b, "tipline/v1/source-message\ntipline/v1 message " OID " " RID "\n" SHA_EMPTY
	                 "\nattachment " RID " 3 " SHA_ABC "\nattachment " OID " 0 " SHA_EMPTY "\n");
	buf_reset(&b);
	f[1].uuid = "../etc/passwd";
	cr_assert_eq(proto_source_message(OID, RID, (const uint8_t *)"", 0, f, 2, &b), -1,
	             "a file's id is a uuid, or the line could be forged");
	cr_assert_eq(b.len, 0);
	buf_free(&b);
}

Test(proto, purposes_never_collide)
{
	/* A signature over one layout can never verify as another: the first
	 * lines differ. */
	struct buf r, s, l;
	buf_init(&r, 1024);
	buf_init(&s, 1024);
	buf_init(&l, 1024);
	cr_assert_eq(proto_sealed_sig_message("reply", OID, RID, (const uint8_t *)"abc", 3, &r), 0);
	cr_assert_eq(proto_source_message(OID, RID, (const uint8_t *)"abc", 3, NULL, 0, &s), 0);
	cr_assert_eq(proto_login_message("o", "k", "n", 1, &l), 0);
	const uint8_t *nl_r = memchr(r.data, '\n', r.len), *nl_s = memchr(s.data, '\n', s.len);
	const uint8_t *nl_l = memchr(l.data, '\n', l.len);
	size_t lr = (size_t)(nl_r - r.data), ls = (size_t)(nl_s - s.data),
	       ll = (size_t)(nl_l - l.data);
	cr_assert(lr != ls || memcmp(r.data, s.data, lr) != 0);
	cr_assert(ll != ls || memcmp(l.data, s.data, ll) != 0);
	cr_assert(ll != lr || memcmp(l.data, r.data, ll) != 0);
	buf_free(&r);
	buf_free(&s);
	buf_free(&l);
}

Test(proto, utf8_decoder)
{
	uint32_t cp = 0;
	cr_assert_eq(proto_utf8_next((const uint8_t *)"A", 1, &cp), 1);
	cr_assert_eq(cp, 'A');
	cr_assert_eq(proto_utf8_next((const uint8_t *)"\xc3\xa9", 2, &cp), 2);
	cr_assert_eq(cp, 0xe9);
	cr_assert_eq(proto_utf8_next((const uint8_t *)"\xe1\x88\x80", 3, &cp), 3); /* Ethiopic */
	cr_assert_eq(cp, 0x1200);
	cr_assert_eq(proto_utf8_next((const uint8_t *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
	cr_assert_eq(cp, 0x10ffff);
	static const char *const bad[] = {
		"\xc0\x80",         /* overlong NUL */
		"\xc1\xbf",         /* overlong */
		"\xe0\x80\xaf",     /* overlong '/' */
		"\xf0\x80\x80\xaf", /* overlong */
		"\xed\xa0\x80",     /* surrogate U+D800 */
		"\xed\xbf\xbf",     /* surrogate U+DFFF */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf8\x88\x80\x80", /* five-byte lead */
		"\xff",             /* never in UTF-8 */
		"\x80",             /* lone continuation */
		"\xc3\x28",         /* bad continuation */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(proto_utf8_next((const uint8_t *)bad[i], strlen(bad[i]), &cp), 0,
		             "case %zu", i);
	cr_assert_eq(proto_utf8_next((const uint8_t *)"\xe1\x88\x80", 2, &cp), 0, "truncated");
	cr_assert_eq(proto_utf8_valid((const uint8_t *)"caf\xc3\xa9 \xe1\x88\x80", 9), 1);
}

Test(proto, utf8_valid)
{
	cr_assert_eq(proto_utf8_valid((const uint8_t *)"", 0), 1);
	cr_assert_eq(proto_utf8_valid((const uint8_t *)"caf\xc3\xa9\n\x01", 7), 1,
	             "control characters are the caller's business");
	cr_assert_eq(proto_utf8_valid((const uint8_t *)"caf\xc3", 4), 0, "cut in a sequence");
	cr_assert_eq(proto_utf8_valid((const uint8_t *)"a\xed\xa0\x80z", 5), 0);
}

Test(proto, rotate_message_bytes)
{
	struct buf b;
	uint8_t old[32], new[32];
	memset(old, 0, sizeof(old));
	memset(new, 0xff, sizeof(new));
	buf_init(&b, 4096);
	cr_assert_eq(proto_rotate_message("https://review.example", "ab01", "bob", old,
	                                  "age1zzz", new, &b), 0);
	assert_bytes(&b, "tipline/v1/rotate\nhttps://review.example\nab01\nbob\n"
	                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nage1zzz\n"
	                 "//////////////////////////////////////////8=\n");
	buf_reset(&b);
	cr_assert_eq(proto_rotate_message("o", "k", "bo\nb", old, "age1zzz", new, &b), -1);
	cr_assert_eq(proto_rotate_message("o", "k", "bob", old, "", new, &b), -1);
	cr_assert_eq(proto_rotate_message("o\n", "k", "bob", old, "age1zzz", new, &b), -1);
	cr_assert_eq(b.len, 0, "nothing appended on refusal");
	buf_free(&b);
}

/* The check value of a shared secret: BLAKE2b-256 keyed with the secret of
 * "tipline/v1/key-check <name>" (Python's hashlib.blake2b gives the same);
 * another name or key gives another value; keys outside 16..64 bytes are
 * refused. */
Test(proto, key_check_bytes)
{
	uint8_t key[65], out[PROTO_KEY_CHECK_LEN], other[PROTO_KEY_CHECK_LEN];
	char hex[2 * PROTO_KEY_CHECK_LEN + 1];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	cr_assert_eq(proto_key_check(key, 32, "nonce", out), 0);
	sodium_bin2hex(hex, sizeof(hex), out, sizeof(out));
	cr_assert_str_eq(hex, "0ab98fda19bbe5b3c1e5324e220b45059c09e0c643d59659ddaef792486916af");
	cr_assert_eq(proto_key_check(key, 32, "web", other), 0);
	cr_assert_neq(memcmp(out, other, sizeof(out)), 0);
	cr_assert_eq(proto_key_check(key + 1, 32, "nonce", other), 0);
	cr_assert_neq(memcmp(out, other, sizeof(out)), 0);
	cr_assert_eq(proto_key_check(key, 15, "nonce", other), -1);
	cr_assert_eq(proto_key_check(key, 65, "nonce", other), -1);
}
