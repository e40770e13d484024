/* Tests for partner: the admin-signed statement pinning a partner agency's key. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "age.h"
#include "buf.h"
#include "note.h"
#include "partner.h"

#define ORIGIN "https://review.tipline.example"

static struct note_signer *admin_s, *rogue_s;
static struct note_verifier *admin_v, *other_v;
static char recipient[AGE_RECIPIENT_STR_MAX];
static uint8_t pk[AGE_KEY_LEN];

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
	struct note_verifier *rv = NULL;
	struct note_signer *os = NULL;
	uint8_t sk[AGE_KEY_LEN];
	cr_assert(sodium_init() >= 0);
	make_key("admin.tipline.example", &admin_s, &admin_v);
	make_key("admin.tipline.example", &rogue_s, &rv); /* same name, other key */
	make_key("other.tipline.example", &os, &other_v);
	note_verifier_free(rv);
	note_signer_free(os);
	cr_assert_eq(age_keygen(pk, sk), 0);
	cr_assert_eq(age_recipient_encode(pk, recipient, sizeof(recipient)), 0);
}

static void
teardown(void)
{
	note_signer_free(admin_s);
	note_signer_free(rogue_s);
	note_verifier_free(admin_v);
	note_verifier_free(other_v);
}

TestSuite(partner, .init = setup, .fini = teardown);

/* Sign `text` with `s` into `out`. */
static void
sign(const struct note_signer *s, const char *text, struct buf *out)
{
	buf_init(out, PARTNER_STATEMENT_MAX);
	cr_assert_eq(note_sign(s, text, strlen(text), out), 0);
}

Test(partner, exact_text)
{
	struct buf t;
	char want[512];
	buf_init(&t, 1024);
	cr_assert_eq(partner_build_text(ORIGIN, "iom-vienna", recipient, &t), 0);
	snprintf(want, sizeof(want),
	         "tipline/v1/partner\norigin " ORIGIN "\nname iom-vienna\nrecipient %s\n", recipient);
	cr_assert_str_eq(buf_cstr(&t), want);
	buf_reset(&t);
	cr_assert_eq(partner_build_text(ORIGIN, "Bad Name", recipient, &t), -1);
	cr_assert_eq(partner_build_text(ORIGIN, "ok", "age1notakey", &t), -1);
	cr_assert_eq(partner_build_text("has space", "ok", recipient, &t), -1);
	cr_assert_eq(partner_build_text("", "ok", recipient, &t), -1);
	cr_assert_eq(t.len, 0);
	buf_free(&t);
}

Test(partner, opens_signed_by_a_pinned_admin)
{
	struct buf t, n;
	struct partner p;
	const struct note_verifier *vs[2] = { other_v, admin_v };
	buf_init(&t, 1024);
	cr_assert_eq(partner_build_text(ORIGIN, "police-ro.dicct", recipient, &t), 0);
	sign(admin_s, buf_cstr(&t), &n);
	cr_assert_eq(partner_open((const char *)n.data, n.len, vs, 2, ORIGIN, &p), PARTNER_OK);
	cr_assert_str_eq(p.name, "police-ro.dicct");
	cr_assert_str_eq(p.recipient, recipient);
	cr_assert_str_eq(p.origin, ORIGIN);
	cr_assert_eq(memcmp(p.x25519_pk, pk, AGE_KEY_LEN), 0);
	cr_assert_eq(p.signer, 1);
	/* without an origin to compare, the statement still opens */
	cr_assert_eq(partner_open((const char *)n.data, n.len, vs, 2, NULL, &p), PARTNER_OK);
	buf_free(&t);
	buf_free(&n);
}

Test(partner, refuses_other_origin_other_key_tampering_and_junk)
{
	struct buf t, n;
	struct partner p;
	const struct note_verifier *vs[1] = { admin_v };
	const struct note_verifier *others[1] = { other_v };
	buf_init(&t, 1024);
	cr_assert_eq(partner_build_text(ORIGIN, "ngo", recipient, &t), 0);
	sign(admin_s, buf_cstr(&t), &n);
	cr_assert_eq(partner_open((const char *)n.data, n.len, vs, 1, "https://elsewhere.example", &p),
	             PARTNER_ERR_ORIGIN);
	cr_assert_eq(p.name[0], '\0');
	cr_assert_eq(partner_open((const char *)n.data, n.len, others, 1, ORIGIN, &p),
	             PARTNER_ERR_UNSIGNED);
	cr_assert_eq(partner_open((const char *)n.data, n.len, vs, 0, ORIGIN, &p),
	             PARTNER_ERR_UNSIGNED);
	/* the same name with another key (another key hash): not a pinned key's signature */
	buf_free(&n);
	sign(rogue_s, buf_cstr(&t), &n);
	cr_assert_eq(partner_open((const char *)n.data, n.len, vs, 1, ORIGIN, &p),
	             PARTNER_ERR_UNSIGNED);
	/* a changed name after signing */
	buf_free(&n);
	sign(admin_s, buf_cstr(&t), &n);
	char *s = strstr((char *)n.data, "name ngo");
	cr_assert_not_null(s);
	s[5] = 'm';
	enum partner_result pr = partner_open((const char *)n.data, n.len, vs, 1, ORIGIN, &p);
	cr_assert_eq(pr, PARTNER_ERR_BAD_SIGNATURE, "%d", pr);
	/* a membership statement signed by the admin is not a partner statement */
	static const char *bad[] = {
		"tipline/v1/membership\nteam demo\nseq 1\nprev -\n",
		"tipline/v1/partner\norigin " ORIGIN "\nname ngo\n",
		"tipline/v1/partner\nname ngo\norigin " ORIGIN "\nrecipient x\n",
		"tipline/v1/partner\norigin " ORIGIN "\nname NGO\nrecipient age1x\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_free(&n);
		sign(admin_s, bad[i], &n);
		cr_assert_eq(partner_open((const char *)n.data, n.len, vs, 1, ORIGIN, &p),
		             PARTNER_ERR_FORMAT, "%s", bad[i]);
	}
	/* extra lines after the recipient */
	buf_free(&n);
	buf_reset(&t);
	cr_assert_eq(partner_build_text(ORIGIN, "ngo", recipient, &t), 0);
	cr_assert_eq(buf_adds(&t, "extra line\n"), 0);
	sign(admin_s, buf_cstr(&t), &n);
	cr_assert_eq(partner_open((const char *)n.data, n.len, vs, 1, ORIGIN, &p), PARTNER_ERR_FORMAT);
	buf_free(&t);
	buf_free(&n);
}

Test(partner, names)
{
	cr_assert(partner_name_valid("iom"));
	cr_assert(partner_name_valid("0-ngo.x_y"));
	cr_assert_not(partner_name_valid(""));
	cr_assert_not(partner_name_valid("-ngo"));
	cr_assert_not(partner_name_valid("Ngo"));
	cr_assert_not(partner_name_valid("ngo/../x"));
	cr_assert_not(partner_name_valid("a234567890123456789012345678901234567890123456789012345678901234"));
}
