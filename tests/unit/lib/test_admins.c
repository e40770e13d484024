/* Tests for admins: the signed chain of admin sets, its quorum and its links. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "admins.h"
#include "buf.h"
#include "note.h"

#define NK 4
static struct note_signer *s[NK];
static struct note_verifier *v[NK];
static char vt[NK][256];

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	for (int i = 0; i < NK; i++) {
		struct buf st, vb;
		char name[32];
		snprintf(name, sizeof(name), "admin%d", i);
		buf_init_secure(&st, 512);
		buf_init(&vb, 512);
		cr_assert_eq(note_keygen(name, &st, &vb), 0);
		s[i] = note_signer_parse((const char *)st.data, st.len);
		v[i] = note_verifier_parse((const char *)vb.data, vb.len);
		cr_assert(s[i] != NULL && v[i] != NULL && vb.len < sizeof(vt[i]));
		memcpy(vt[i], vb.data, vb.len);
		vt[i][vb.len] = '\0';
		buf_free(&st);
		buf_free(&vb);
	}
}

static void
teardown(void)
{
	for (int i = 0; i < NK; i++) {
		note_signer_free(s[i]);
		note_verifier_free(v[i]);
	}
}

TestSuite(admins, .init = setup, .fini = teardown);

/* Build and sign (by signers `by`, `nby` of them) statement `seq` after `prev`. */
static void
make(uint64_t seq, const struct admins *prev, unsigned q, const int *keys, size_t n,
     const int *by, size_t nby, struct buf *note)
{
	struct buf text, tmp;
	const char *kt[NK];
	buf_init(&text, 8192);
	buf_init(&tmp, 65536);
	for (size_t i = 0; i < n; i++)
		kt[i] = vt[keys[i]];
	cr_assert_eq(admins_build_text(seq, prev ? admins_hash(prev) : NULL, q, kt, n, &text), 0);
	cr_assert_eq(note_sign(s[by[0]], (const char *)text.data, text.len, note), 0);
	for (size_t i = 1; i < nby; i++) {
		buf_reset(&tmp);
		cr_assert_eq(note_cosign(s[by[i]], (const char *)note->data, note->len, &tmp), 0);
		buf_reset(note);
		cr_assert_eq(buf_add(note, tmp.data, tmp.len), 0);
	}
	buf_free(&text);
	buf_free(&tmp);
}

static const struct note_verifier *const *
pinned(void)
{
	return (const struct note_verifier *const *)v;
}

Test(admins, exact_text)
{
	struct buf text;
	const char *kt[1] = { vt[0] };
	char want[512];
	buf_init(&text, 8192);
	cr_assert_eq(admins_build_text(1, NULL, 1, kt, 1, &text), 0);
	snprintf(want, sizeof(want), "tipline/v1/admins\nseq 1\nprev -\nquorum 1\nadmin %s\n", vt[0]);
	cr_assert_eq(text.len, strlen(want));
	cr_assert_eq(memcmp(text.data, want, text.len), 0);
	/* quorum above the admins, zero, a repeated key, no admin: refused */
	const char *twice[2] = { vt[0], vt[0] };
	cr_assert_eq(admins_build_text(1, NULL, 2, kt, 1, &text), -1);
	cr_assert_eq(admins_build_text(1, NULL, 0, kt, 1, &text), -1);
	cr_assert_eq(admins_build_text(1, NULL, 1, twice, 2, &text), -1);
	cr_assert_eq(admins_build_text(1, NULL, 1, kt, 0, &text), -1);
	buf_free(&text);
}

Test(admins, chain_add_remove_and_replay)
{
	struct buf n1, n2, n3;
	struct admins *a1 = NULL, *a2 = NULL, *a3 = NULL, *x = NULL;
	buf_init(&n1, 65536);
	buf_init(&n2, 65536);
	buf_init(&n3, 65536);
	int k01[2] = { 0, 1 }, k0[1] = { 0 }, by0[1] = { 0 }, by1[1] = { 1 };
	/* 1: pinned admin0 adds admin1 */
	make(1, NULL, 1, k01, 2, by0, 1, &n1);
	cr_assert_eq(admins_open_next(NULL, pinned(), 1, 1, (char *)n1.data, n1.len, &a1), ADMINS_OK);
	cr_assert_eq(admins_count(a1), 2);
	cr_assert(admins_has_key(a1, note_verifier_pk(v[1])));
	/* a statement signed by a key not pinned is refused */
	cr_assert_eq(admins_open_next(NULL, pinned() + 2, 1, 1, (char *)n1.data, n1.len, &x),
	             ADMINS_ERR_QUORUM);
	/* 2: admin1 (added) signs the set of admin0 alone: admin1 is removed */
	make(2, a1, 1, k0 + 0, 1, by1, 1, &n2);
	cr_assert_eq(admins_open_next(a1, pinned(), 1, 1, (char *)n2.data, n2.len, &a2), ADMINS_OK);
	cr_assert(!admins_has_key(a2, note_verifier_pk(v[1])));
	/* replaying statement 1 after 2 is stale; skipping is out of sequence */
	cr_assert_eq(admins_open_next(a2, pinned(), 1, 1, (char *)n1.data, n1.len, &x),
	             ADMINS_ERR_STALE);
	make(3, a1, 1, k01, 2, by0, 1, &n3); /* seq 3 naming 1 as prev */
	cr_assert_eq(admins_open_next(a1, pinned(), 1, 1, (char *)n3.data, n3.len, &x),
	             ADMINS_ERR_SEQUENCE);
	buf_reset(&n3);
	/* 3: admin1, removed by 2, can no longer sign the next one */
	make(3, a2, 1, k01, 2, by1, 1, &n3);
	cr_assert_eq(admins_open_next(a2, pinned(), 1, 1, (char *)n3.data, n3.len, &a3),
	             ADMINS_ERR_QUORUM);
	cr_assert_null(a3);
	admins_free(a1);
	admins_free(a2);
	buf_free(&n1);
	buf_free(&n2);
	buf_free(&n3);
}

Test(admins, quorum_two_needs_two_distinct_signers)
{
	struct buf n1, n2;
	struct admins *a1 = NULL, *a2 = NULL;
	int k012[3] = { 0, 1, 2 }, k0123[4] = { 0, 1, 2, 3 }, by0[1] = { 0 }, by01[2] = { 0, 1 };
	buf_init(&n1, 65536);
	buf_init(&n2, 65536);
	make(1, NULL, 2, k012, 3, by01, 2, &n1);
	/* the pinned quorum of 2: one signature is not enough, two are */
	cr_assert_eq(admins_open_next(NULL, pinned(), 3, 2, (char *)n1.data, n1.len, &a1), ADMINS_OK);
	admins_free(a1);
	a1 = NULL;
	buf_reset(&n1);
	make(1, NULL, 2, k012, 3, by0, 1, &n1);
	cr_assert_eq(admins_open_next(NULL, pinned(), 3, 2, (char *)n1.data, n1.len, &a1),
	             ADMINS_ERR_QUORUM);
	/* quorum0 = 0: the statement's own quorum (2) */
	cr_assert_eq(admins_open_next(NULL, pinned(), 3, 0, (char *)n1.data, n1.len, &a1),
	             ADMINS_ERR_QUORUM);
	buf_reset(&n1);
	make(1, NULL, 2, k012, 3, by01, 2, &n1);
	cr_assert_eq(admins_open_next(NULL, pinned(), 3, 0, (char *)n1.data, n1.len, &a1), ADMINS_OK);
	cr_assert_eq(admins_quorum(a1), 2);
	/* statement 2 after a quorum-2 set: one signer refused, two accepted */
	make(2, a1, 2, k0123, 4, by0, 1, &n2);
	cr_assert_eq(admins_open_next(a1, pinned(), 3, 2, (char *)n2.data, n2.len, &a2),
	             ADMINS_ERR_QUORUM);
	buf_reset(&n2);
	make(2, a1, 2, k0123, 4, by01, 2, &n2);
	cr_assert_eq(admins_open_next(a1, pinned(), 3, 2, (char *)n2.data, n2.len, &a2), ADMINS_OK);
	cr_assert_eq(admins_count(a2), 4);
	admins_free(a1);
	admins_free(a2);
	buf_free(&n1);
	buf_free(&n2);
}

Test(admins, tampered_or_malformed)
{
	struct buf n1;
	struct admins *a = NULL;
	int k0[1] = { 0 }, by0[1] = { 0 };
	buf_init(&n1, 65536);
	make(1, NULL, 1, k0, 1, by0, 1, &n1);
	char *p = (char *)n1.data;
	p[strlen("tipline/v1/admins\nseq 1\nprev -\nquorum ")] = '2'; /* quorum 2 of 1 admin */
	cr_assert_eq(admins_open_next(NULL, pinned(), 1, 1, p, n1.len, &a), ADMINS_ERR_FORMAT);
	cr_assert_eq(admins_parse("tipline/v1/admins\n", 18, &a), ADMINS_ERR_FORMAT);
	cr_assert_eq(admins_parse("", 0, &a), ADMINS_ERR_FORMAT);
	buf_free(&n1);
}
