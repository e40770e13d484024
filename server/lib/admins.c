#include "admins.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "stmt_text.h"
#include "util.h"

#define ADMINS_TEXT_MAX 8192
#define ADMINS_KEY_TEXT_MAX 256

_Static_assert(ADMINS_HASH_LEN == STMT_HASH_LEN, "stmt_prev reads the admin statement's prev");

struct admins {
	uint64_t seq;
	bool has_prev;
	uint8_t prev[ADMINS_HASH_LEN];
	uint8_t hash[ADMINS_HASH_LEN];
	unsigned quorum;
	size_t n;
	char keys[ADMINS_MAX][ADMINS_KEY_TEXT_MAX];
	struct note_verifier *v[ADMINS_MAX];
};

/* Parse one "admin KEY" value of `n` bytes as admin number a->n. */
static int
parse_admin(const char *s, size_t n, struct admins *a)
{
	if (a->n == ADMINS_MAX || n == 0 || n >= ADMINS_KEY_TEXT_MAX)
		return -1;
	struct note_verifier *v = note_verifier_parse(s, n);
	if (v == NULL)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		if (sodium_memcmp(note_verifier_pk(a->v[i]), note_verifier_pk(v), NOTE_PK_LEN) == 0) {
			note_verifier_free(v);
			return -1;
		}
	}
	memcpy(a->keys[a->n], s, n);
	a->keys[a->n][n] = '\0';
	a->v[a->n++] = v;
	return 0;
}

/* Parse the statement text (`n` bytes ending in "\n") into `a`. Return 0, or -1. */
static int
parse_text(const char *text, size_t n, struct admins *a)
{
	struct stmt_cur c = { text, n, 0 };
	const char *l;
	size_t ll;
	uint64_t q = 0;
	if (n == 0 || n > ADMINS_TEXT_MAX || text[n - 1] != '\n')
		return -1;
	if (stmt_line(&c, &l, &ll) != 0 || ll != strlen(ADMINS_ORIGIN) ||
	    memcmp(l, ADMINS_ORIGIN, ll) != 0)
		return -1;
	if (stmt_line(&c, &l, &ll) != 0 || !stmt_strip(&l, &ll, "seq ") ||
	    stmt_num(l, ll, ADMINS_SEQ_MAX, &a->seq) != 0)
		return -1;
	if (stmt_line(&c, &l, &ll) != 0 || !stmt_strip(&l, &ll, "prev ") ||
	    stmt_prev(l, ll, a->prev, &a->has_prev) != 0 ||
	    (a->seq == 1) == a->has_prev)
		return -1;
	if (stmt_line(&c, &l, &ll) != 0 || !stmt_strip(&l, &ll, "quorum ") ||
	    stmt_num(l, ll, ADMINS_MAX, &q) != 0)
		return -1;
	a->quorum = (unsigned)q;
	while (stmt_line(&c, &l, &ll) == 0)
		if (!stmt_strip(&l, &ll, "admin ") || parse_admin(l, ll, a) != 0)
			return -1;
	return a->n >= 1 && a->quorum <= a->n ? 0 : -1;
}

int
admins_build_text(uint64_t seq, const uint8_t *prev_hash, unsigned quorum,
                  const char *const *keys, size_t n, struct buf *out)
{
	struct buf t;
	struct admins *chk = calloc(1, sizeof(*chk));
	char hex[2 * ADMINS_HASH_LEN + 1];
	int rc = -1;
	buf_init(&t, ADMINS_TEXT_MAX);
	if (chk == NULL || n == 0 || n > ADMINS_MAX || (seq == 1) != (prev_hash == NULL))
		goto fail;
	if (prev_hash != NULL)
		util_hex(prev_hash, ADMINS_HASH_LEN, hex);
	if (buf_printf(&t, "%s\nseq %llu\nprev %s\nquorum %u\n", ADMINS_ORIGIN,
	               (unsigned long long)seq, prev_hash != NULL ? hex : "-", quorum) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (keys[i] == NULL || strchr(keys[i], '\n') != NULL ||
		    buf_printf(&t, "admin %s\n", keys[i]) != 0)
			goto fail;
	/* The parser is the one definition of a valid statement. */
	if (parse_text((const char *)t.data, t.len, chk) != 0 || chk->seq != seq ||
	    buf_add(out, t.data, t.len) != 0)
		goto fail;
	rc = 0;
fail:
	admins_free(chk);
	buf_free(&t);
	return rc;
}

enum admins_result
admins_parse(const char *note, size_t len, struct admins **out)
{
	struct admins *a = NULL;
	const char *sep;
	*out = NULL;
	if (note == NULL || len == 0 || len > NOTE_MAX_LEN)
		return ADMINS_ERR_FORMAT;
	/* The text ends at the first blank line (note.h); signatures follow. */
	for (sep = note; (sep = memchr(sep, '\n', len - (size_t)(sep - note))) != NULL; sep++)
		if ((size_t)(sep - note) + 1 < len && sep[1] == '\n')
			break;
	if (sep == NULL)
		return ADMINS_ERR_FORMAT;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ADMINS_ERR_SYSTEM;
	if (parse_text(note, (size_t)(sep - note) + 1, a) != 0) {
		admins_free(a);
		return ADMINS_ERR_FORMAT;
	}
	crypto_hash_sha256(a->hash, (const uint8_t *)note, len);
	*out = a;
	return ADMINS_OK;
}

enum admins_result
admins_count_signers(const char *note, size_t len, const struct note_verifier *const *vs,
                     size_t nv, size_t *count)
{
	bool signed_by[ADMINS_MAX * 2];
	size_t tl = 0;
	*count = 0;
	if (nv == 0 || nv > ADMINS_MAX * 2)
		return nv == 0 ? ADMINS_OK : ADMINS_ERR_SYSTEM;
	switch (note_open(note, len, vs, nv, &tl, signed_by)) {
	case NOTE_OK: break;
	case NOTE_ERR_UNSIGNED: return ADMINS_OK;
	case NOTE_ERR_BAD_SIGNATURE: return ADMINS_ERR_BAD_SIGNATURE;
	case NOTE_ERR_SYSTEM: return ADMINS_ERR_SYSTEM;
	default: return ADMINS_ERR_FORMAT;
	}
	for (size_t i = 0; i < nv; i++) {
		int dup = 0;
		for (size_t j = 0; j < i && !dup; j++)
			dup = signed_by[j] &&
			      sodium_memcmp(note_verifier_pk(vs[i]), note_verifier_pk(vs[j]),
			                    NOTE_PK_LEN) == 0;
		*count += signed_by[i] && !dup;
	}
	return ADMINS_OK;
}

enum admins_result
admins_open_next(const struct admins *prev, const struct note_verifier *const *pinned,
                 size_t npinned, unsigned quorum0, const char *note, size_t len,
                 struct admins **out)
{
	struct admins *a = NULL;
	size_t signers = 0;
	unsigned need;
	enum admins_result r = admins_parse(note, len, &a);
	*out = NULL;
	if (r != ADMINS_OK)
		return r;
	need = prev != NULL ? prev->quorum : quorum0 > 0 ? quorum0 : a->quorum;
	if (prev == NULL ? a->seq != 1 : a->seq <= prev->seq)
		r = prev == NULL ? ADMINS_ERR_SEQUENCE : ADMINS_ERR_STALE;
	else if (prev != NULL && a->seq != prev->seq + 1)
		r = ADMINS_ERR_SEQUENCE;
	else if (prev != NULL && memcmp(a->prev, prev->hash, ADMINS_HASH_LEN) != 0)
		r = ADMINS_ERR_PREV_HASH;
	else if ((r = admins_count_signers(note, len,
	                                   prev != NULL ? (const struct note_verifier *const *)prev->v
	                                                : pinned,
	                                   prev != NULL ? prev->n : npinned, &signers)) == ADMINS_OK &&
	         signers < need)
		r = ADMINS_ERR_QUORUM;
	if (r != ADMINS_OK) {
		admins_free(a);
		return r;
	}
	*out = a;
	return ADMINS_OK;
}

void
admins_free(struct admins *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++)
		note_verifier_free(a->v[i]);
	free(a);
}

uint64_t
admins_seq(const struct admins *a)
{
	return a->seq;
}

const uint8_t *
admins_hash(const struct admins *a)
{
	return a->hash;
}

unsigned
admins_quorum(const struct admins *a)
{
	return a->quorum;
}

size_t
admins_count(const struct admins *a)
{
	return a->n;
}

const struct note_verifier *
admins_at(const struct admins *a, size_t i)
{
	return i < a->n ? a->v[i] : NULL;
}

const char *
admins_key_text(const struct admins *a, size_t i)
{
	return i < a->n ? a->keys[i] : NULL;
}

int
admins_has_key(const struct admins *a, const uint8_t pk[NOTE_PK_LEN])
{
	for (size_t i = 0; a != NULL && i < a->n; i++)
		if (sodium_memcmp(note_verifier_pk(a->v[i]), pk, NOTE_PK_LEN) == 0)
			return 1;
	return 0;
}

const struct note_verifier *const *
admins_verifiers(const struct admins *a)
{
	return (const struct note_verifier *const *)a->v;
}

const char *
admins_strerror(enum admins_result r)
{
	switch (r) {
	case ADMINS_OK: return "ok";
	case ADMINS_ERR_FORMAT: return "malformed admin statement";
	case ADMINS_ERR_QUORUM: return "not signed by a quorum of the current admins";
	case ADMINS_ERR_BAD_SIGNATURE: return "an admin signature does not verify";
	case ADMINS_ERR_SEQUENCE: return "admin statement out of sequence";
	case ADMINS_ERR_STALE: return "admin statement older than one already seen (replay)";
	case ADMINS_ERR_PREV_HASH: return "admin statement does not follow the previous one";
	case ADMINS_ERR_FORKED: return "a different admin statement with a number already seen (fork)";
	case ADMINS_ERR_SYSTEM: return "internal error";
	}
	return "unknown error";
}
