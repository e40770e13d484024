/* Tests for membership: signed team statements and their chain. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "age.h"
#include "buf.h"
#include "membership.h"
#include "note.h"

static struct note_signer *admin_s, *rogue_s;
static struct note_verifier *admin_v, *rogue_v;

static void
make_key(const char *name, struct note_signer **s, struct note_verifier **v)
{
	struct buf st, vt;
	buf_init_secure(&st, 512);
	buf_init(&vt, 512);
	cr_assert_eq(note_keygen(name, &st, &vt), 0);
	*s = note_signer_parse((const char *)st.data, st.len);
	*v = note_verifier_parse((const char *)vt.data, vt.len);
	cr_assert(*s != NULL && *v != NULL);
	buf_free(&st);
	buf_free(&vt);
}

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	make_key("admin.tipline.example", &admin_s, &admin_v);
	make_key("admin.tipline.example", &rogue_s, &rogue_v); /* same name, other key */
}

static void
teardown(void)
{
	note_signer_free(admin_s);
	note_signer_free(rogue_s);
	note_verifier_free(admin_v);
	note_verifier_free(rogue_v);
}

TestSuite(membership, .init = setup, .fini = teardown);

static struct membership_member
member_new(const char *name)
{
	struct membership_member m;
	uint8_t sk[32], esk[64];
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", name);
	cr_assert_eq(age_keygen(m.x25519_pk, sk), 0);
	cr_assert_eq(age_recipient_encode(m.x25519_pk, m.recipient, sizeof(m.recipient)), 0);
	cr_assert_eq(crypto_sign_keypair(m.ed25519_pk, esk), 0);
	return m;
}

/* Sign `text` with `s` into the caller's buffer `out`. */
static void
sign(const struct note_signer *s, const char *text, size_t len, struct buf *out)
{
	buf_init(out, NOTE_MAX_LEN);
	cr_assert_eq(note_sign(s, text, len, out), 0);
}

/* Build, sign with the admin key and open a statement; return it (must be OK). */
static struct membership *
statement(const char *team, uint64_t seq, const uint8_t *prev, const struct membership_member *ms,
          size_t n, struct buf *note)
{
	struct buf t;
	struct membership *m = NULL;
	const struct note_verifier *vs[1] = { admin_v };
	buf_init(&t, NOTE_MAX_LEN);
	cr_assert_eq(membership_build_text(team, seq, prev, ms, n, &t), 0);
	sign(admin_s, (const char *)t.data, t.len, note);
	cr_assert_eq(membership_open((const char *)note->data, note->len, vs, 1, &m), MEMBERSHIP_OK);
	buf_free(&t);
	return m;
}

/* Open `text` signed by the admin; return the result code. */
static enum membership_result
open_text(const char *text)
{
	struct buf n;
	struct membership *m = NULL;
	const struct note_verifier *vs[1] = { admin_v };
	sign(admin_s, text, strlen(text), &n);
	enum membership_result r = membership_open((const char *)n.data, n.len, vs, 1, &m);
	cr_assert_eq(r == MEMBERSHIP_OK, m != NULL);
	membership_free(m);
	buf_free(&n);
	return r;
}

Test(membership, good_chain_of_three)
{
	struct membership_member ms[3] = { member_new("alice"), member_new("bob"),
		                           member_new("carol.k") };
	struct buf n1, n2, n3;
	struct membership *s1 = statement("trafficking-nl", 1, NULL, ms, 2, &n1);
	cr_assert_eq(membership_check_next(NULL, s1), MEMBERSHIP_OK);
	cr_assert_str_eq(membership_team(s1), "trafficking-nl");
	cr_assert_eq(membership_seq(s1), 1);
	cr_assert_null(membership_prev_hash(s1));
	uint8_t h[32];
	crypto_hash_sha256(h, n1.data, n1.len);
	cr_assert_eq(memcmp(membership_hash(s1), h, 32), 0, "hash covers the whole signed note");
	cr_assert_eq(membership_count(s1), 2);
	const struct membership_member *b = membership_member_at(s1, 1);
	cr_assert_str_eq(b->name, "bob");
	cr_assert_str_eq(b->recipient, ms[1].recipient);
	cr_assert_eq(memcmp(b->x25519_pk, ms[1].x25519_pk, 32), 0);
	cr_assert_eq(memcmp(b->ed25519_pk, ms[1].ed25519_pk, 32), 0);
	cr_assert_null(membership_member_at(s1, 2));
	cr_assert_not_null(membership_find(s1, "alice"));
	cr_assert_null(membership_find(s1, "carol.k"));

	/* seq 2 adds carol; seq 3 revokes alice. */
	struct membership *s2 = statement("trafficking-nl", 2, membership_hash(s1), ms, 3, &n2);
	cr_assert_eq(membership_check_next(s1, s2), MEMBERSHIP_OK);
	cr_assert_eq(memcmp(membership_prev_hash(s2), membership_hash(s1), 32), 0);
	struct membership *s3 = statement("trafficking-nl", 3, membership_hash(s2), ms + 1, 2, &n3);
	cr_assert_eq(membership_check_next(s2, s3), MEMBERSHIP_OK);
	cr_assert_null(membership_find(s3, "alice"), "revoked member still listed");
	cr_assert_eq(membership_count(s3), 2);

	/* Replays and skips. */
	cr_assert_eq(membership_check_next(s2, s1), MEMBERSHIP_ERR_STALE);
	cr_assert_eq(membership_check_next(s3, s1), MEMBERSHIP_ERR_STALE);
	cr_assert_eq(membership_check_next(s2, s2), MEMBERSHIP_ERR_STALE);
	cr_assert_eq(membership_check_next(s1, s3), MEMBERSHIP_ERR_SEQUENCE);
	cr_assert_eq(membership_check_next(NULL, s2), MEMBERSHIP_ERR_SEQUENCE);
	membership_free(s1);
	membership_free(s2);
	membership_free(s3);
	buf_free(&n1);
	buf_free(&n2);
	buf_free(&n3);
}

Test(membership, wrong_prev_hash_and_team)
{
	struct membership_member ms[1] = { member_new("alice") };
	struct buf n1, n2, n3, n4;
	uint8_t bogus[32];
	randombytes_buf(bogus, sizeof(bogus));
	struct membership *s1 = statement("team-a", 1, NULL, ms, 1, &n1);
	struct membership *fork = statement("team-a", 2, bogus, ms, 1, &n2);
	cr_assert_eq(membership_check_next(s1, fork), MEMBERSHIP_ERR_PREV_HASH);
	struct membership *other = statement("team-b", 2, membership_hash(s1), ms, 1, &n3);
	cr_assert_eq(membership_check_next(s1, other), MEMBERSHIP_ERR_TEAM);
	/* A statement re-signed with a different signature has a different hash. */
	struct membership *s1b = statement("team-a", 1, NULL, ms, 0, &n4);
	struct buf n5;
	struct membership *s2 = statement("team-a", 2, membership_hash(s1b), ms, 1, &n5);
	cr_assert_eq(membership_check_next(s1, s2), MEMBERSHIP_ERR_PREV_HASH);
	cr_assert_eq(membership_check_next(s1b, s2), MEMBERSHIP_OK);
	membership_free(s1);
	membership_free(s1b);
	membership_free(s2);
	membership_free(fork);
	membership_free(other);
	buf_free(&n1);
	buf_free(&n2);
	buf_free(&n3);
	buf_free(&n4);
	buf_free(&n5);
}

Test(membership, signatures)
{
	struct membership_member ms[2] = { member_new("alice"), member_new("bob") };
	struct buf t, n;
	struct membership *m = NULL;
	const struct note_verifier *pinned[1] = { admin_v };
	buf_init(&t, NOTE_MAX_LEN);
	cr_assert_eq(membership_build_text("t1", 1, NULL, ms, 2, &t), 0);

	/* Tampered text: swap bob's name after signing. */
	sign(admin_s, (const char *)t.data, t.len, &n);
	cr_assert_not_null(buf_cstr(&n));
	char *bob = strstr((char *)n.data, "member bob ");
	cr_assert_not_null(bob);
	memcpy(bob + 7, "eve", 3);
	cr_assert_eq(membership_open((const char *)n.data, n.len, pinned, 1, &m),
	             MEMBERSHIP_ERR_BAD_SIGNATURE);
	cr_assert_null(m);
	buf_free(&n);

	/* Unsigned: the bare text, and a note with no pinned key. */
	cr_assert_eq(membership_open((const char *)t.data, t.len, pinned, 1, &m),
	             MEMBERSHIP_ERR_FORMAT);
	sign(rogue_s, (const char *)t.data, t.len, &n);
	cr_assert_eq(membership_open((const char *)n.data, n.len, pinned, 1, &m),
	             MEMBERSHIP_ERR_UNSIGNED, "signed by an unpinned key with the admin's name");
	cr_assert_eq(membership_open((const char *)n.data, n.len, NULL, 0, &m),
	             MEMBERSHIP_ERR_UNSIGNED);
	/* Rogue plus admin cosignature: the admin's signature is what counts. */
	struct buf n2;
	buf_init(&n2, NOTE_MAX_LEN);
	cr_assert_eq(note_cosign(admin_s, (const char *)n.data, n.len, &n2), 0);
	cr_assert_eq(membership_open((const char *)n2.data, n2.len, pinned, 1, &m), MEMBERSHIP_OK);
	membership_free(m);
	buf_free(&n2);
	buf_free(&n);
	buf_free(&t);
}

Test(membership, duplicate_members_are_refused)
{
	struct membership_member ms[3] = { member_new("alice"), member_new("bob"),
		                           member_new("carol") };
	struct buf t;
	buf_init(&t, NOTE_MAX_LEN);
	struct membership_member dup[2] = { ms[0], ms[1] };
	memcpy(dup[1].name, "alice", 6);
	cr_assert_eq(membership_build_text("t", 1, NULL, dup, 2, &t), -1, "duplicate name");
	dup[1] = ms[1];
	memcpy(dup[1].recipient, ms[0].recipient, sizeof(ms[0].recipient));
	cr_assert_eq(membership_build_text("t", 1, NULL, dup, 2, &t), -1, "duplicate recipient");
	dup[1] = ms[1];
	memcpy(dup[1].ed25519_pk, ms[0].ed25519_pk, 32);
	cr_assert_eq(membership_build_text("t", 1, NULL, dup, 2, &t), -1, "duplicate signing key");
	cr_assert_eq(t.len, 0);

	/* The same, hand-written and signed by the admin. */
	char b64a[45], b64b[45], text[1024];
	sodium_bin2base64(b64a, sizeof(b64a), ms[0].ed25519_pk, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(b64b, sizeof(b64b), ms[1].ed25519_pk, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text),
	         "tipline/v1/membership\nteam t\nseq 1\nprev -\nmember a %s %s\nmember a %s %s\n",
	         ms[0].recipient, b64a, ms[1].recipient, b64b);
	cr_assert_eq(open_text(text), MEMBERSHIP_ERR_FORMAT);
	snprintf(text, sizeof(text),
	         "tipline/v1/membership\nteam t\nseq 1\nprev -\nmember a %s %s\nmember b %s %s\n",
	         ms[0].recipient, b64a, ms[0].recipient, b64b);
	cr_assert_eq(open_text(text), MEMBERSHIP_ERR_FORMAT);
	snprintf(text, sizeof(text),
	         "tipline/v1/membership\nteam t\nseq 1\nprev -\nmember a %s %s\nmember b %s %s\n",
	         ms[0].recipient, b64a, ms[1].recipient, b64b);
	cr_assert_eq(open_text(text), MEMBERSHIP_OK);
	buf_free(&t);
}

Test(membership, malformed_statements)
{
	struct membership_member a = member_new("alice");
	char b64[45], line[256], text[4096];
	char hex[65];
	memset(hex, 'a', 64);
	hex[64] = '\0';
	sodium_bin2base64(b64, sizeof(b64), a.ed25519_pk, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "member alice %s %s\n", a.recipient, b64);
	char upper[128];
	snprintf(upper, sizeof(upper), "%s", a.recipient);
	for (char *p = upper; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	char badrec[128];
	snprintf(badrec, sizeof(badrec), "%s", a.recipient);
	badrec[10] = badrec[10] == 'q' ? 'p' : 'q'; /* breaks the Bech32 checksum */

	const char *head = "tipline/v1/membership\nteam t\nseq 1\nprev -\n";
	snprintf(text, sizeof(text), "%s%s", head, line);
	cr_assert_eq(open_text(text), MEMBERSHIP_OK, "the baseline must be valid");
	snprintf(text, sizeof(text), "%s", head);
	cr_assert_eq(open_text(text), MEMBERSHIP_OK, "zero members is valid");
	snprintf(text, sizeof(text), "tipline/v1/membership\nteam t\nseq 7\nprev %s\n%s", hex, line);
	cr_assert_eq(open_text(text), MEMBERSHIP_OK);

	const char *bad_heads[] = {
		"tipline/v1/membershi\nteam t\nseq 1\nprev -\n",
		"tipline/v1/membership \nteam t\nseq 1\nprev -\n",
		"tipline/v2/membership\nteam t\nseq 1\nprev -\n",
		"tipline/v1/membership\nteam T\nseq 1\nprev -\n",
		"tipline/v1/membership\nteam -t\nseq 1\nprev -\n",
		"tipline/v1/membership\nteam t_x\nseq 1\nprev -\n",
		"tipline/v1/membership\nteam \nseq 1\nprev -\n",
		"tipline/v1/membership\nteam  t\nseq 1\nprev -\n",
		"tipline/v1/membership\nteam t\nseq 01\nprev -\n",
		"tipline/v1/membership\nteam t\nseq 0\nprev -\n",
		"tipline/v1/membership\nteam t\nseq -1\nprev -\n",
		"tipline/v1/membership\nteam t\nseq +1\nprev -\n",
		"tipline/v1/membership\nteam t\nseq 99999999999999999999\nprev -\n",
		"tipline/v1/membership\nteam t\nseq 2\nprev -\n",
		"tipline/v1/membership\nteam t\nprev -\nseq 1\n",
		"tipline/v1/membership\nseq 1\nteam t\nprev -\n",
		"tipline/v1/membership\nteam t\nseq 1\n",
		"tipline/v1/membership\n\nteam t\nseq 1\nprev -\n",
		"team t\nseq 1\nprev -\n",
	};
	for (size_t i = 0; i < sizeof(bad_heads) / sizeof(bad_heads[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", bad_heads[i], line);
		cr_assert_eq(open_text(text), MEMBERSHIP_ERR_FORMAT, "bad head %zu accepted", i);
	}
	/* seq 1 with a prev hash; upper-case and short hashes */
	snprintf(text, sizeof(text), "tipline/v1/membership\nteam t\nseq 1\nprev %s\n", hex);
	cr_assert_eq(open_text(text), MEMBERSHIP_ERR_FORMAT);
	snprintf(text, sizeof(text), "tipline/v1/membership\nteam t\nseq 2\nprev %.63s\n", hex);
	cr_assert_eq(open_text(text), MEMBERSHIP_ERR_FORMAT);
	hex[0] = 'A';
	snprintf(text, sizeof(text), "tipline/v1/membership\nteam t\nseq 2\nprev %s\n", hex);
	cr_assert_eq(open_text(text), MEMBERSHIP_ERR_FORMAT);

	char hb64[64];
	snprintf(hb64, sizeof(hb64), "A\xcd\xb9%s", b64 + 3); /* U+0379 in place of two chars */
	char bad_lines[13][256];
	int nb = 0;
	snprintf(bad_lines[nb++], 256, "member al ice %s %s\n", a.recipient, b64);
	snprintf(bad_lines[nb++], 256, "member al/ice %s %s\n", a.recipient, b64);
	snprintf(bad_lines[nb++], 256, "member  alice %s %s\n", a.recipient, b64);
	snprintf(bad_lines[nb++], 256, "member alice %s %s \n", a.recipient, b64);
	snprintf(bad_lines[nb++], 256, "member alice %s %s x\n", a.recipient, b64);
	snprintf(bad_lines[nb++], 256, "member alice %s %.43s\n", a.recipient, b64);
	snprintf(bad_lines[nb++], 256, "member alice %s %s\n", upper, b64);
	snprintf(bad_lines[nb++], 256, "member alice %s %s\n", badrec, b64);
	snprintf(bad_lines[nb++], 256, "member alice %s\n", a.recipient);
	snprintf(bad_lines[nb++], 256, "alice %s %s\n", a.recipient, b64);
	snprintf(bad_lines[nb++], 256, "member %s %s %s\n",
	         "a234567890123456789012345678901234567890123456789012345678901234X", a.recipient,
	         b64);
	snprintf(bad_lines[nb++], 256, "\n");
	snprintf(bad_lines[nb++], 256, "member alice %s %s\n", a.recipient, hb64);
	for (int i = 0; i < nb; i++) {
		snprintf(text, sizeof(text), "%s%s", head, bad_lines[i]);
		cr_assert_eq(open_text(text), MEMBERSHIP_ERR_FORMAT, "bad member line %d accepted", i);
	}
}

Test(membership, member_line_and_fingerprint)
{
	struct membership_member a = member_new("alice"), p;
	char b64[45], line[256], fp[17], fp2[17];
	sodium_bin2base64(b64, sizeof(b64), a.ed25519_pk, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "alice %s %s", a.recipient, b64);
	cr_assert_eq(membership_member_parse(line, strlen(line), &p), 0);
	cr_assert_str_eq(p.name, "alice");
	cr_assert_eq(memcmp(p.x25519_pk, a.x25519_pk, 32), 0);
	cr_assert_eq(membership_member_parse(line, strlen(line) - 1, &p), -1);
	cr_assert_eq(membership_member_parse("", 0, &p), -1);
	membership_fingerprint(a.ed25519_pk, fp);
	cr_assert_eq(strlen(fp), 16);
	uint8_t h[32];
	crypto_hash_sha256(h, a.ed25519_pk, 32);
	for (int i = 0; i < 8; i++) {
		char two[3];
		snprintf(two, sizeof(two), "%02x", h[i]);
		cr_assert_eq(memcmp(fp + 2 * i, two, 2), 0);
	}
	a.ed25519_pk[0] ^= 1;
	membership_fingerprint(a.ed25519_pk, fp2);
	cr_assert_str_neq(fp, fp2);
	cr_assert(membership_team_valid("a"));
	cr_assert(membership_team_valid("0-x"));
	cr_assert_not(membership_team_valid("a."));
	char t64[65];
	memset(t64, 'a', 64);
	t64[64] = '\0';
	cr_assert_not(membership_team_valid(t64));
	t64[63] = '\0';
	cr_assert(membership_team_valid(t64));
}
