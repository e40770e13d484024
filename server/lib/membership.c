#include "membership.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stmt_text.h"
#include "util.h"

#define MEMBERSHIP_TEXT_MAX (NOTE_MAX_LEN - 4096) /* leave room for signature lines */
#define MEMBERSHIP_B64_KEY_LEN 44

_Static_assert(MEMBERSHIP_HASH_LEN == STMT_HASH_LEN, "stmt_prev reads the statement's prev");

struct membership {
	char team[MEMBERSHIP_TEAM_MAX + 1];
	uint64_t seq;
	bool has_prev;
	uint8_t prev[MEMBERSHIP_HASH_LEN];
	uint8_t hash[MEMBERSHIP_HASH_LEN];
	size_t n;
	struct membership_member *members;
};

static int
team_valid_n(const char *s, size_t n)
{
	if (n == 0 || n > MEMBERSHIP_TEAM_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
		if (!ok)
			return 0;
	}
	return 1;
}

int
membership_team_valid(const char *team)
{
	return team != NULL && team_valid_n(team, strnlen(team, MEMBERSHIP_TEAM_MAX + 1));
}

static int
name_valid_n(const char *s, size_t n)
{
	if (n == 0 || n > MEMBERSHIP_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Decode a canonical "age1…" recipient of `n` bytes into `m`. Return 0, or -1. */
static int
parse_recipient(const char *s, size_t n, struct membership_member *m)
{
	char again[AGE_RECIPIENT_STR_MAX];
	if (n == 0 || n >= sizeof(m->recipient))
		return -1;
	memcpy(m->recipient, s, n);
	m->recipient[n] = '\0';
	if (age_recipient_decode(m->recipient, m->x25519_pk) != 0)
		return -1;
	/* Only the canonical spelling, so that equal keys are equal strings. */
	if (age_recipient_encode(m->x25519_pk, again, sizeof(again)) != 0 ||
	    strcmp(again, m->recipient) != 0)
		return -1;
	return 0;
}

int
membership_member_parse(const char *line, size_t len, struct membership_member *m)
{
	const char *sp1 = memchr(line, ' ', len);
	if (sp1 == NULL)
		goto fail;
	size_t nl = (size_t)(sp1 - line);
	const char *rec = sp1 + 1;
	const char *sp2 = memchr(rec, ' ', len - nl - 1);
	if (sp2 == NULL)
		goto fail;
	size_t rl = (size_t)(sp2 - rec);
	const char *b64 = sp2 + 1;
	size_t bl = len - nl - rl - 2;
	size_t klen = 0;
	const char *end = NULL;
	if (!name_valid_n(line, nl) || parse_recipient(rec, rl, m) != 0)
		goto fail;
	if (bl != MEMBERSHIP_B64_KEY_LEN || !util_base64_chars_ok(b64, bl) ||
	    sodium_base642bin(m->ed25519_pk, sizeof(m->ed25519_pk), b64, bl, NULL, &klen, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    klen != MEMBERSHIP_KEY_LEN || end != b64 + bl)
		goto fail;
	memcpy(m->name, line, nl);
	m->name[nl] = '\0';
	return 0;
fail:
	memset(m, 0, sizeof(*m));
	return -1;
}

/* Return 1 if member `k` repeats a name, recipient or key of members 0..k-1. */
static int
member_repeats(const struct membership_member *ms, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		if (strcmp(ms[i].name, ms[k].name) == 0 ||
		    memcmp(ms[i].x25519_pk, ms[k].x25519_pk, MEMBERSHIP_KEY_LEN) == 0 ||
		    memcmp(ms[i].ed25519_pk, ms[k].ed25519_pk, MEMBERSHIP_KEY_LEN) == 0)
			return 1;
	}
	return 0;
}

/* Parse the four header lines of the statement into `m`. Return 0, or -1. */
static int
parse_head(struct stmt_cur *c, struct membership *m)
{
	const char *l;
	size_t ll;
	if (stmt_line(c, &l, &ll) != 0 || ll != strlen(MEMBERSHIP_ORIGIN) ||
	    memcmp(l, MEMBERSHIP_ORIGIN, ll) != 0)
		return -1;
	if (stmt_line(c, &l, &ll) != 0 || !stmt_strip(&l, &ll, "team ") || !team_valid_n(l, ll))
		return -1;
	memcpy(m->team, l, ll);
	m->team[ll] = '\0';
	if (stmt_line(c, &l, &ll) != 0 || !stmt_strip(&l, &ll, "seq ") ||
	    stmt_num(l, ll, MEMBERSHIP_SEQ_MAX, &m->seq) != 0)
		return -1;
	if (stmt_line(c, &l, &ll) != 0 || !stmt_strip(&l, &ll, "prev ") ||
	    stmt_prev(l, ll, m->prev, &m->has_prev) != 0)
		return -1;
	if ((m->seq == 1) == m->has_prev)
		return -1; /* "-" exactly when seq is 1 */
	return 0;
}

/* Parse the statement text (`n` bytes, ending in "\n") into `m`. Return an enum. */
static enum membership_result
parse_text(const char *text, size_t n, struct membership *m)
{
	struct stmt_cur c = { text, n, 0 };
	const char *l;
	size_t ll, lines = 0;
	if (n == 0 || text[n - 1] != '\n' || parse_head(&c, m) != 0)
		return MEMBERSHIP_ERR_FORMAT;
	for (size_t i = c.pos; i < n; i++)
		lines += text[i] == '\n';
	if (lines > MEMBERSHIP_MAX_MEMBERS)
		return MEMBERSHIP_ERR_FORMAT;
	if (lines > 0 && (m->members = calloc(lines, sizeof(*m->members))) == NULL)
		return MEMBERSHIP_ERR_SYSTEM;
	while (stmt_line(&c, &l, &ll) == 0) {
		struct membership_member *mm = &m->members[m->n];
		if (!stmt_strip(&l, &ll, "member ") || membership_member_parse(l, ll, mm) != 0 ||
		    member_repeats(m->members, m->n))
			return MEMBERSHIP_ERR_FORMAT;
		m->n++;
	}
	return MEMBERSHIP_OK;
}

int
membership_build_text(const char *team, uint64_t seq, const uint8_t *prev_hash,
                      const struct membership_member *ms, size_t n, struct buf *out)
{
	struct buf t;
	struct membership chk;
	char hex[2 * MEMBERSHIP_HASH_LEN + 1];
	int rc = -1;
	memset(&chk, 0, sizeof(chk));
	buf_init(&t, MEMBERSHIP_TEXT_MAX);
	if (!membership_team_valid(team) || n > MEMBERSHIP_MAX_MEMBERS)
		goto fail;
	if (prev_hash != NULL)
		util_hex(prev_hash, MEMBERSHIP_HASH_LEN, hex);
	if (buf_printf(&t, "%s\nteam %s\nseq %llu\nprev %s\n", MEMBERSHIP_ORIGIN, team,
	               (unsigned long long)seq, prev_hash != NULL ? hex : "-") != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		char b64[MEMBERSHIP_B64_KEY_LEN + 1];
		sodium_bin2base64(b64, sizeof(b64), ms[i].ed25519_pk, MEMBERSHIP_KEY_LEN,
		                  sodium_base64_VARIANT_ORIGINAL);
		if (memchr(ms[i].name, '\0', sizeof(ms[i].name)) == NULL ||
		    memchr(ms[i].recipient, '\0', sizeof(ms[i].recipient)) == NULL ||
		    buf_printf(&t, "member %s %s %s\n", ms[i].name, ms[i].recipient, b64) != 0)
			goto fail;
	}
	/* The parser is the one definition of a valid statement. */
	if (parse_text((const char *)t.data, t.len, &chk) != MEMBERSHIP_OK || chk.seq != seq)
		goto fail;
	if (buf_add(out, t.data, t.len) != 0)
		goto fail;
	rc = 0;
fail:
	free(chk.members);
	buf_free(&t);
	return rc;
}

enum membership_result
membership_open(const char *note, size_t len, const struct note_verifier *const *admins,
                size_t nadmins, struct membership **out)
{
	size_t tl = 0;
	enum membership_result r;
	struct membership *m = NULL;
	*out = NULL;
	switch (note_open(note, len, admins, nadmins, &tl, NULL)) {
	case NOTE_OK:
		break;
	case NOTE_ERR_UNSIGNED:
		return MEMBERSHIP_ERR_UNSIGNED;
	case NOTE_ERR_BAD_SIGNATURE:
		return MEMBERSHIP_ERR_BAD_SIGNATURE;
	case NOTE_ERR_SYSTEM:
		return MEMBERSHIP_ERR_SYSTEM;
	default:
		return MEMBERSHIP_ERR_FORMAT;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return MEMBERSHIP_ERR_SYSTEM;
	if ((r = parse_text(note, tl, m)) != MEMBERSHIP_OK)
		goto fail;
	crypto_hash_sha256(m->hash, (const uint8_t *)note, len);
	*out = m;
	return MEMBERSHIP_OK;
fail:
	membership_free(m);
	return r;
}

enum membership_result
membership_check_next(const struct membership *prev, const struct membership *next)
{
	if (prev == NULL)
		return next->seq == 1 ? MEMBERSHIP_OK : MEMBERSHIP_ERR_SEQUENCE;
	if (strcmp(prev->team, next->team) != 0)
		return MEMBERSHIP_ERR_TEAM;
	if (next->seq <= prev->seq)
		return MEMBERSHIP_ERR_STALE;
	if (next->seq != prev->seq + 1)
		return MEMBERSHIP_ERR_SEQUENCE;
	if (!next->has_prev || memcmp(next->prev, prev->hash, MEMBERSHIP_HASH_LEN) != 0)
		return MEMBERSHIP_ERR_PREV_HASH;
	return MEMBERSHIP_OK;
}

void
membership_free(struct membership *m)
{
	if (m == NULL)
		return;
	free(m->members);
	free(m);
}

const char *
membership_team(const struct membership *m)
{
	return m->team;
}

uint64_t
membership_seq(const struct membership *m)
{
	return m->seq;
}

const uint8_t *
membership_hash(const struct membership *m)
{
	return m->hash;
}

const uint8_t *
membership_prev_hash(const struct membership *m)
{
	return m->has_prev ? m->prev : NULL;
}

size_t
membership_count(const struct membership *m)
{
	return m->n;
}

const struct membership_member *
membership_member_at(const struct membership *m, size_t i)
{
	return i < m->n ? &m->members[i] : NULL;
}

const struct membership_member *
membership_find(const struct membership *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->members[i].name, name) == 0)
			return &m->members[i];
	}
	return NULL;
}

int
membership_has_recipient(const struct membership *m, const char *recipient)
{
	for (size_t i = 0; m != NULL && i < m->n; i++)
		if (strcmp(m->members[i].recipient, recipient) == 0)
			return 1;
	return 0;
}

int
membership_has_key(const struct membership *m, const uint8_t ed25519_pk[MEMBERSHIP_KEY_LEN])
{
	for (size_t i = 0; m != NULL && i < m->n; i++)
		if (sodium_memcmp(m->members[i].ed25519_pk, ed25519_pk, MEMBERSHIP_KEY_LEN) == 0)
			return 1;
	return 0;
}

void
membership_fingerprint(const uint8_t ed25519_pk[MEMBERSHIP_KEY_LEN], char out[17])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, ed25519_pk, MEMBERSHIP_KEY_LEN);
	util_hex(h, 8, out);
}

const char *
membership_strerror(enum membership_result r)
{
	switch (r) {
	case MEMBERSHIP_OK:
		return "ok";
	case MEMBERSHIP_ERR_FORMAT:
		return "malformed membership statement";
	case MEMBERSHIP_ERR_UNSIGNED:
		return "not signed by a pinned admin key";
	case MEMBERSHIP_ERR_BAD_SIGNATURE:
		return "an admin signature does not verify";
	case MEMBERSHIP_ERR_SEQUENCE:
		return "statement out of sequence";
	case MEMBERSHIP_ERR_STALE:
		return "statement older than one already seen (replay)";
	case MEMBERSHIP_ERR_PREV_HASH:
		return "statement does not follow the previous one (hash mismatch)";
	case MEMBERSHIP_ERR_TEAM:
		return "statement is for a different team";
	case MEMBERSHIP_ERR_SYSTEM:
		return "internal error";
	}
	return "unknown error";
}

int
membership_member_is_recovery(const struct membership_member *m)
{
	static const uint8_t zero[MEMBERSHIP_KEY_LEN];
	return m != NULL && sodium_memcmp(m->ed25519_pk, zero, MEMBERSHIP_KEY_LEN) == 0;
}
