/*
 * invite: the invite text round-trips, every field is checked on the way in,
 * and the enrollment message has the documented layout.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "invite.h"

static const char vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

static void
init(void)
{
	cr_assert(sodium_init() >= 0);
}

TestSuite(invite, .init = init);

static void
sample(struct invite *iv)
{
	memset(iv, 0, sizeof(*iv));
	snprintf(iv->server, sizeof(iv->server), "https://127.0.0.1:9443");
	memset(iv->pin, 'a', 64);
	snprintf(iv->origin, sizeof(iv->origin), "https://review.example");
	snprintf(iv->admin_keys[0], sizeof(iv->admin_keys[0]), "%s", vkey);
	iv->n_admin_keys = 1;
	snprintf(iv->id, sizeof(iv->id), "0b7e1f52-8c1d-4c6e-9a57-3d2f1e0c9b88");
	snprintf(iv->secret, sizeof(iv->secret), "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	snprintf(iv->role, sizeof(iv->role), "investigator");
	snprintf(iv->name, sizeof(iv->name), "alice");
	snprintf(iv->teams[0], sizeof(iv->teams[0]), "alpha");
	snprintf(iv->teams[1], sizeof(iv->teams[1]), "bravo");
	iv->n_teams = 2;
	iv->expires_at = 1900000000;
}

static int
roundtrip(const struct invite *iv, struct invite *back)
{
	struct buf b;
	buf_init(&b, INVITE_TEXT_MAX);
	int rc = invite_encode(iv, &b);
	if (rc == 0)
		rc = invite_decode((const char *)b.data, b.len, back);
	buf_free(&b);
	return rc;
}

Test(invite, round_trips)
{
	struct invite iv, back;
	sample(&iv);
	cr_assert_eq(roundtrip(&iv, &back), 0);
	cr_assert_eq(memcmp(&iv, &back, sizeof(iv)), 0);
	/* an admin invite: no name, no team */
	iv.name[0] = '\0';
	iv.n_teams = 0;
	memset(iv.teams, 0, sizeof(iv.teams));
	snprintf(iv.role, sizeof(iv.role), "admin");
	cr_assert_eq(roundtrip(&iv, &back), 0);
	cr_assert_str_eq(back.role, "admin");
}

Test(invite, surrounding_whitespace_is_ignored_but_nothing_else)
{
	struct invite iv, back;
	struct buf b;
	sample(&iv);
	buf_init(&b, INVITE_TEXT_MAX);
	cr_assert_eq(buf_adds(&b, "  \n"), 0);
	cr_assert_eq(invite_encode(&iv, &b), 0);
	cr_assert_eq(buf_adds(&b, "\r\n"), 0);
	cr_assert_eq(invite_decode((const char *)b.data, b.len, &back), 0);
	b.data[10] ^= 1; /* inside the prefix */
	cr_assert_eq(invite_decode((const char *)b.data, b.len, &back), -1);
	b.data[10] ^= 1;
	b.data[b.len - 4] = '*'; /* not base64url */
	cr_assert_eq(invite_decode((const char *)b.data, b.len, &back), -1);
	buf_free(&b);
}

Test(invite, every_field_is_checked)
{
	struct invite iv, back;
	static const char *const cases[] = {
		"http server", "short pin", "upper-case pin", "no admin key", "bad admin key",
		"bad uuid", "short secret", "unknown role", "investigator without name",
		"investigator without team", "bad team", "repeated team", "bad name", "no expiry",
		"bad audit key",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sample(&iv);
		switch (i) {
		case 0: memcpy(iv.server, "http://", 7); break;
		case 1: iv.pin[63] = '\0'; break;
		case 2: iv.pin[0] = 'A'; break;
		case 3: iv.n_admin_keys = 0; break;
		case 4: iv.admin_keys[0][5] = '#'; break;
		case 5: iv.id[8] = 'x'; break;
		case 6: iv.secret[40] = '\0'; break;
		case 7: snprintf(iv.role, sizeof(iv.role), "root"); break;
		case 8: iv.name[0] = '\0'; break;
		case 9: iv.n_teams = 0; break;
		case 10: snprintf(iv.teams[0], sizeof(iv.teams[0]), "Alpha"); break;
		case 11: snprintf(iv.teams[1], sizeof(iv.teams[1]), "alpha"); break;
		case 12: snprintf(iv.name, sizeof(iv.name), "al ice"); break;
		case 13: iv.expires_at = 0; break;
		case 14: snprintf(iv.audit_key, sizeof(iv.audit_key), "nonsense"); break;
		}
		cr_assert_eq(invite_valid(&iv), 0, "%s was accepted", cases[i]);
		cr_assert_eq(roundtrip(&iv, &back), -1, "%s was encoded", cases[i]);
	}
}

Test(invite, json_with_extra_or_mistyped_fields_is_refused)
{
	struct invite back;
	const char *bad[] = {
		"{}", "[]", "null",
		"{\"server\":1}",
		"{\"server\":\"https://a:1\",\"server\":\"https://b:1\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		size_t n = strlen(INVITE_PREFIX);
		memcpy(text, INVITE_PREFIX, n);
		sodium_bin2base64(text + n, sizeof(text) - n, (const unsigned char *)bad[i],
		                  strlen(bad[i]), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		cr_assert_eq(invite_decode(text, strlen(text), &back), -1, "%s", bad[i]);
	}
}

Test(invite, enroll_message_layout)
{
	struct buf m;
	char pin[65];
	memset(pin, 'b', 64);
	pin[64] = '\0';
	buf_init(&m, 4096);
	cr_assert_eq(invite_enroll_message("https://o", pin, "0b7e1f52-8c1d-4c6e-9a57-3d2f1e0c9b88",
	                                   "alice", "age1xyz", "QUJD", &m), 0);
	cr_assert_eq(buf_adds(&m, ""), 0);
	char want[512];
	snprintf(want, sizeof(want), "tipline/v1/enroll\nhttps://o\n%s\n"
	         "0b7e1f52-8c1d-4c6e-9a57-3d2f1e0c9b88\nalice\nage1xyz\nQUJD\n", pin);
	cr_assert_eq(m.len, strlen(want));
	cr_assert(memcmp(m.data, want, m.len) == 0);
	buf_reset(&m);
	/* an admin: no name, no recipient */
	cr_assert_eq(invite_enroll_message("https://o", pin, "0b7e1f52-8c1d-4c6e-9a57-3d2f1e0c9b88",
	                                   "", NULL, "QUJD", &m), 0);
	cr_assert(memmem(m.data, m.len, "\n-\n-\nQUJD\n", 10) != NULL);
	buf_reset(&m);
	/* a newline in a field cannot add lines */
	cr_assert_eq(invite_enroll_message("https://o\nx", pin, "0b7e1f52-8c1d-4c6e-9a57-3d2f1e0c9b88",
	                                   "alice", "age1xyz", "QUJD", &m), -1);
	cr_assert_eq(invite_enroll_message("https://o", pin, "0b7e1f52-8c1d-4c6e-9a57-3d2f1e0c9b88",
	                                   "al\nice", "age1xyz", "QUJD", &m), -1);
	buf_free(&m);
}
