#include "checkpoint.h"

#include <sodium.h>
#include <string.h>

#include "util.h"

#define CHECKPOINT_ROOT_B64 44 /* padded base64 of 32 bytes */
#define CHECKPOINT_SIZE_DIGITS 19

/* Return 1 if the `n` bytes at `p` may be an origin (printable ASCII, no space). */
static int
origin_ok(const char *p, size_t n)
{
	if (n == 0 || n > CHECKPOINT_ORIGIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

int
checkpoint_format(const struct checkpoint *c, struct buf *out)
{
	char b64[CHECKPOINT_ROOT_B64 + 1];
	size_t n = strnlen(c->origin, sizeof(c->origin));
	if (!origin_ok(c->origin, n) || c->size > (uint64_t)INT64_MAX)
		return -1;
	sodium_bin2base64(b64, sizeof(b64), c->root, MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
	return buf_printf(out, "%s\n%llu\n%s\n", c->origin, (unsigned long long)c->size, b64);
}

/* Take the next line from *p (without its newline) into line and n; -1 if there is none. */
static int
next_line(const char **p, const char *end, const char **line, size_t *n)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		return -1;
	*line = *p;
	*n = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

static int
parse_size(const char *p, size_t n, uint64_t *out)
{
	char d[CHECKPOINT_SIZE_DIGITS + 1];
	if (n == 0 || n > CHECKPOINT_SIZE_DIGITS || (n > 1 && p[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return -1; /* util_parse_u64 would stop at an embedded NUL */
	memcpy(d, p, n);
	d[n] = '\0';
	return util_parse_u64(d, (uint64_t)INT64_MAX, out);
}

static int
parse_root(const char *p, size_t n, uint8_t root[MERKLE_HASH_LEN])
{
	char again[CHECKPOINT_ROOT_B64 + 1];
	size_t len = 0;
	if (n != CHECKPOINT_ROOT_B64 ||
	    util_base64_decode(p, n, root, MERKLE_HASH_LEN, &len, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != MERKLE_HASH_LEN)
		return -1;
	/* Canonical only: the unused bits of the last character are zero. */
	sodium_bin2base64(again, sizeof(again), root, MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
	return memcmp(again, p, n) == 0 ? 0 : -1;
}

int
checkpoint_parse(const char *text, size_t len, struct checkpoint *c)
{
	const char *p = text, *end = text + len, *line;
	size_t n;
	memset(c, 0, sizeof(*c));
	if (text == NULL || len == 0 || text[len - 1] != '\n')
		return -1;
	if (next_line(&p, end, &line, &n) != 0 || !origin_ok(line, n))
		return -1;
	memcpy(c->origin, line, n);
	c->origin[n] = '\0';
	if (next_line(&p, end, &line, &n) != 0 || parse_size(line, n, &c->size) != 0)
		goto fail;
	if (next_line(&p, end, &line, &n) != 0 || parse_root(line, n, c->root) != 0)
		goto fail;
	for (int ext = 0; p < end; ext++) {
		if (ext == CHECKPOINT_MAX_EXT || next_line(&p, end, &line, &n) != 0 || n == 0)
			goto fail;
	}
	return 0;
fail:
	memset(c, 0, sizeof(*c));
	return -1;
}

int
checkpoint_sign(const struct note_signer *s, const struct checkpoint *c, struct buf *out)
{
	struct buf body;
	int rc = -1;
	buf_init(&body, CHECKPOINT_ORIGIN_MAX + 128);
	if (checkpoint_format(c, &body) == 0 &&
	    note_sign(s, (const char *)body.data, body.len, out) == 0)
		rc = 0;
	buf_free(&body);
	return rc;
}

enum note_result
checkpoint_open(const char *note, size_t len, const struct note_verifier *v, const char *origin,
                struct checkpoint *c)
{
	size_t text_len = 0;
	const struct note_verifier *vs[1] = { v };
	memset(c, 0, sizeof(*c));
	enum note_result r = note_open(note, len, vs, 1, &text_len, NULL);
	if (r != NOTE_OK)
		return r;
	if (checkpoint_parse(note, text_len, c) != 0)
		return NOTE_ERR_FORMAT;
	if (strcmp(c->origin, origin != NULL ? origin : note_verifier_name(v)) != 0) {
		memset(c, 0, sizeof(*c));
		return NOTE_ERR_FORMAT;
	}
	return NOTE_OK;
}

int
checkpoint_handover_sign(const struct note_signer *old, const struct note_signer *next,
                         const struct checkpoint *c, struct buf *out)
{
	struct buf body, once, vt;
	struct note_verifier *nv = note_signer_verifier(next);
	int rc = -1;
	buf_init(&body, CHECKPOINT_ORIGIN_MAX + 1024);
	buf_init(&once, NOTE_MAX_LEN);
	buf_init(&vt, 1024);
	if (nv == NULL || checkpoint_format(c, &body) != 0 || note_verifier_text(nv, &vt) != 0 ||
	    buf_printf(&body, "%s%.*s\n", CHECKPOINT_HANDOVER_PREFIX, (int)vt.len,
	               (const char *)vt.data) != 0 ||
	    note_sign(old, (const char *)body.data, body.len, &once) != 0 ||
	    note_cosign(next, (const char *)once.data, once.len, out) != 0)
		goto out;
	rc = 0;
out:
	note_verifier_free(nv);
	buf_free(&body);
	buf_free(&once);
	buf_free(&vt);
	return rc;
}

/* Find the one handover line in the checkpoint body [text, text + n): its
 * key text into `key`/`klen`. Return 0, or -1 if there is none or several. */
static int
handover_line(const char *text, size_t n, const char **key, size_t *klen)
{
	size_t pl = strlen(CHECKPOINT_HANDOVER_PREFIX), found = 0;
	for (size_t pos = 0, line = 0; pos < n; line++) {
		const char *eol = memchr(text + pos, '\n', n - pos);
		size_t ll = eol != NULL ? (size_t)(eol - (text + pos)) : n - pos;
		if (line >= 3 && ll > pl && memcmp(text + pos, CHECKPOINT_HANDOVER_PREFIX, pl) == 0) {
			*key = text + pos + pl;
			*klen = ll - pl;
			found++;
		}
		pos += ll + 1;
	}
	return found == 1 ? 0 : -1;
}

enum note_result
checkpoint_handover_open(const char *note, size_t len, const struct note_verifier *old,
                         struct note_verifier **next, struct checkpoint *c)
{
	const struct note_verifier *vs[1] = { old };
	struct checkpoint again;
	const char *key = NULL;
	size_t tl = 0, kl = 0;
	*next = NULL;
	enum note_result r = checkpoint_open(note, len, old, NULL, c);
	if (r != NOTE_OK)
		return r;
	if ((r = note_open(note, len, vs, 1, &tl, NULL)) != NOTE_OK)
		return r;
	if (handover_line(note, tl, &key, &kl) != 0 ||
	    (*next = note_verifier_parse(key, kl)) == NULL ||
	    strcmp(note_verifier_name(*next), note_verifier_name(old)) != 0 ||
	    sodium_memcmp(note_verifier_pk(*next), note_verifier_pk(old), NOTE_PK_LEN) == 0)
		r = NOTE_ERR_FORMAT;
	else
		r = checkpoint_open(note, len, *next, NULL, &again);
	if (r == NOTE_OK && (again.size != c->size || memcmp(again.root, c->root, 32) != 0))
		r = NOTE_ERR_FORMAT;
	if (r != NOTE_OK) {
		note_verifier_free(*next);
		*next = NULL;
		memset(c, 0, sizeof(*c));
	}
	return r;
}
