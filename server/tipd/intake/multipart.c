#include "multipart.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MP_DEFAULT_PARTS 64
#define MP_DEFAULT_HEADER 4096
#define MP_MAX_HEADER 65536
#define MP_MAX_PADDING 64 /* transport padding after a delimiter */

enum mp_state {
	ST_PREAMBLE,   /* looking for the first delimiter */
	ST_DELIM_TAIL, /* after a delimiter: "--", padding or CRLF */
	ST_DELIM_DASH, /* seen "-" of the closing "--" */
	ST_DELIM_PAD,  /* transport padding */
	ST_DELIM_LF,   /* seen CR after a delimiter */
	ST_HEADER,     /* in a part header line */
	ST_HEADER_LF,  /* seen CR in the part headers */
	ST_DATA,       /* in a part body */
	ST_DONE,       /* closing delimiter seen: ignore the epilogue */
	ST_ERROR,
};

struct multipart {
	const struct multipart_callbacks *cb;
	void *arg;
	unsigned max_parts;
	size_t max_header;
	size_t alloc;
	enum mp_state state;
	enum multipart_result err;
	uint8_t delim[4 + MULTIPART_BOUNDARY_MAX]; /* CRLF "--" boundary */
	size_t dlen;
	size_t held;       /* bytes of delim matched and held back */
	unsigned parts;
	size_t padding;
	size_t hdr_total;  /* header bytes of the current part */
	size_t line_len;
	bool have_cd, have_ct, have_name, have_filename;
	char name[MULTIPART_NAME_MAX];
	char filename[MULTIPART_FILENAME_MAX];
	char ctype[MULTIPART_CTYPE_MAX];
	uint8_t line[]; /* max_header bytes */
};

/* A read cursor over bytes with an explicit end. */
struct cur {
	const uint8_t *p;
	size_t n;
	size_t i;
};

static bool
is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_bchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

static bool
is_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

static bool
cur_end(const struct cur *c)
{
	return c->i >= c->n;
}

static void
cur_ows(struct cur *c)
{
	while (!cur_end(c) && (c->p[c->i] == ' ' || c->p[c->i] == '\t'))
		c->i++;
}

static bool
cur_eat(struct cur *c, uint8_t ch)
{
	if (cur_end(c) || c->p[c->i] != ch)
		return false;
	c->i++;
	return true;
}

/* Consume a token; return its length (0 if none) and start in *tok. */
static size_t
cur_token(struct cur *c, const uint8_t **tok)
{
	size_t start = c->i;
	while (!cur_end(c) && is_tchar(c->p[c->i]))
		c->i++;
	*tok = c->p + start;
	return c->i - start;
}

static bool
tok_is(const uint8_t *tok, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp((const char *)tok, lit, len) == 0;
}

/* Store byte `ch` at out[*len] if there is room for it and a NUL. */
static enum multipart_result
out_put(char *out, size_t cap, size_t *len, uint8_t ch)
{
	if (out == NULL)
		return MULTIPART_OK;
	if (*len + 1 >= cap)
		return MULTIPART_ERR_LIMIT;
	out[(*len)++] = (char)ch;
	out[*len] = '\0';
	return MULTIPART_OK;
}

/*
 * Decode a quoted-string at the cursor into `out` (NULL: discard). Control
 * characters are rejected. A backslash escapes only '"' and '\'; before any
 * other byte it is kept literally, as browsers send it in file names.
 */
static enum multipart_result
cur_quoted(struct cur *c, char *out, size_t cap, size_t *len)
{
	enum multipart_result r;

	if (!cur_eat(c, '"'))
		return MULTIPART_ERR_FORMAT;
	while (!cur_end(c)) {
		uint8_t ch = c->p[c->i++];
		if (ch == '"')
			return MULTIPART_OK;
		if (is_ctl(ch))
			return MULTIPART_ERR_FORMAT;
		if (ch == '\\' && !cur_end(c) && (c->p[c->i] == '"' || c->p[c->i] == '\\'))
			ch = c->p[c->i++];
		if ((r = out_put(out, cap, len, ch)) != MULTIPART_OK)
			return r;
	}
	return MULTIPART_ERR_FORMAT;
}

/* Decode a parameter value (token or quoted-string) into `out`. */
static enum multipart_result
cur_value(struct cur *c, char *out, size_t cap, size_t *len)
{
	const uint8_t *tok;
	size_t tlen;
	enum multipart_result r;

	*len = 0;
	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (!cur_end(c) && c->p[c->i] == '"')
		return cur_quoted(c, out, cap, len);
	if ((tlen = cur_token(c, &tok)) == 0)
		return MULTIPART_ERR_FORMAT;
	for (size_t k = 0; k < tlen; k++)
		if ((r = out_put(out, cap, len, tok[k])) != MULTIPART_OK)
			return r;
	return MULTIPART_OK;
}

/*
 * Parse `;`-separated parameters after a media or disposition type, calling
 * pick() for each name to choose where its value goes. Empty parameters are
 * allowed (RFC 9110 section 5.6.6).
 */
typedef enum multipart_result (*param_pick)(void *ctx, const uint8_t *name, size_t nlen,
					   char **out, size_t *cap);

static enum multipart_result
cur_params(struct cur *c, param_pick pick, void *ctx)
{
	for (;;) {
		const uint8_t *name;
		size_t nlen, cap = 0, vlen;
		char *out = NULL;
		enum multipart_result r;

		cur_ows(c);
		if (cur_end(c))
			return MULTIPART_OK;
		if (!cur_eat(c, ';'))
			return MULTIPART_ERR_FORMAT;
		cur_ows(c);
		if (cur_end(c) || c->p[c->i] == ';')
			continue;
		if ((nlen = cur_token(c, &name)) == 0 || !cur_eat(c, '='))
			return MULTIPART_ERR_FORMAT;
		if ((r = pick(ctx, name, nlen, &out, &cap)) != MULTIPART_OK)
			return r;
		if ((r = cur_value(c, out, cap, &vlen)) != MULTIPART_OK)
			return r;
	}
}

struct boundary_ctx {
	char *out;
	size_t outlen;
	bool seen;
};

static enum multipart_result
boundary_pick(void *ctx, const uint8_t *name, size_t nlen, char **out, size_t *cap)
{
	struct boundary_ctx *b = ctx;

	if (!tok_is(name, nlen, "boundary"))
		return MULTIPART_OK;
	if (b->seen)
		return MULTIPART_ERR_FORMAT;
	b->seen = true;
	*out = b->out;
	*cap = b->outlen;
	return MULTIPART_OK;
}

/* Return true if `s` is 1-70 bchars not ending in a space. */
static bool
boundary_valid(const char *s)
{
	size_t len = strnlen(s, MULTIPART_BOUNDARY_MAX + 1);

	if (len == 0 || len > MULTIPART_BOUNDARY_MAX || s[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_bchar((uint8_t)s[i]))
			return false;
	return true;
}

int
multipart_boundary(const char *content_type, char *out, size_t outlen)
{
	struct cur c = {(const uint8_t *)content_type, 0, 0};
	struct boundary_ctx b = {out, outlen, false};
	const uint8_t *type, *sub;
	size_t tlen, slen;

	if (content_type == NULL || out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	c.n = strnlen(content_type, 4096);
	if (content_type[c.n] != '\0')
		return -1;
	tlen = cur_token(&c, &type);
	if (!cur_eat(&c, '/'))
		return -1;
	slen = cur_token(&c, &sub);
	if (!tok_is(type, tlen, "multipart") || !tok_is(sub, slen, "form-data"))
		goto fail;
	if (cur_params(&c, boundary_pick, &b) != MULTIPART_OK || !b.seen)
		goto fail;
	if (!boundary_valid(out))
		goto fail;
	return 0;
fail:
	out[0] = '\0';
	return -1;
}

static enum multipart_result
disposition_pick(void *ctx, const uint8_t *name, size_t nlen, char **out, size_t *cap)
{
	struct multipart *mp = ctx;

	if (tok_is(name, nlen, "name")) {
		if (mp->have_name)
			return MULTIPART_ERR_FORMAT;
		mp->have_name = true;
		*out = mp->name;
		*cap = sizeof(mp->name);
	} else if (tok_is(name, nlen, "filename")) {
		if (mp->have_filename)
			return MULTIPART_ERR_FORMAT;
		mp->have_filename = true;
		*out = mp->filename;
		*cap = sizeof(mp->filename);
	}
	/* Anything else, filename* included, is parsed and dropped. */
	return MULTIPART_OK;
}

static enum multipart_result
header_disposition(struct multipart *mp, struct cur *c)
{
	const uint8_t *type;
	size_t tlen = cur_token(c, &type);
	enum multipart_result r;

	if (mp->have_cd)
		return MULTIPART_ERR_FORMAT;
	mp->have_cd = true;
	if (!tok_is(type, tlen, "form-data"))
		return MULTIPART_ERR_FORMAT;
	if ((r = cur_params(c, disposition_pick, mp)) != MULTIPART_OK)
		return r;
	if (!mp->have_name || mp->name[0] == '\0')
		return MULTIPART_ERR_FORMAT;
	return MULTIPART_OK;
}

static enum multipart_result
header_ctype(struct multipart *mp, const uint8_t *v, size_t len)
{
	if (mp->have_ct || len == 0)
		return MULTIPART_ERR_FORMAT;
	mp->have_ct = true;
	if (len >= sizeof(mp->ctype))
		return MULTIPART_ERR_LIMIT;
	memcpy(mp->ctype, v, len);
	mp->ctype[len] = '\0';
	return MULTIPART_OK;
}

/* Parse one complete part header line (without its CRLF). */
static enum multipart_result
header_line(struct multipart *mp, const uint8_t *line, size_t len)
{
	struct cur c = {line, len, 0};
	const uint8_t *name;
	size_t nlen, vend;

	if ((nlen = cur_token(&c, &name)) == 0 || !cur_eat(&c, ':'))
		return MULTIPART_ERR_FORMAT; /* also rejects obs-fold */
	cur_ows(&c);
	vend = len;
	while (vend > c.i && (line[vend - 1] == ' ' || line[vend - 1] == '\t'))
		vend--;
	for (size_t k = c.i; k < vend; k++)
		if (is_ctl(line[k]) && line[k] != '\t')
			return MULTIPART_ERR_FORMAT;
	c.n = vend;
	if (tok_is(name, nlen, "content-disposition"))
		return header_disposition(mp, &c);
	if (tok_is(name, nlen, "content-type")) {
		for (size_t k = c.i; k < vend; k++)
			if (line[k] >= 0x80)
				return MULTIPART_ERR_FORMAT;
		return header_ctype(mp, line + c.i, vend - c.i);
	}
	return MULTIPART_OK;
}

static enum multipart_result
headers_done(struct multipart *mp)
{
	const struct multipart_callbacks *cb = mp->cb;

	if (!mp->have_cd)
		return MULTIPART_ERR_FORMAT;
	if (cb->on_part_begin != NULL &&
	    cb->on_part_begin(mp->arg, mp->name, mp->have_filename ? mp->filename : NULL,
			      mp->have_ct ? mp->ctype : NULL) != 0)
		return MULTIPART_ERR_CALLBACK;
	mp->state = ST_DATA;
	mp->held = 0;
	return MULTIPART_OK;
}

static enum multipart_result
part_start(struct multipart *mp)
{
	if (mp->parts >= mp->max_parts)
		return MULTIPART_ERR_LIMIT;
	mp->parts++;
	mp->hdr_total = 0;
	mp->line_len = 0;
	mp->have_cd = mp->have_ct = mp->have_name = mp->have_filename = false;
	sodium_memzero(mp->name, sizeof(mp->name));
	sodium_memzero(mp->filename, sizeof(mp->filename));
	mp->ctype[0] = '\0';
	mp->state = ST_HEADER;
	return MULTIPART_OK;
}

/* Consume one byte of part headers. */
static enum multipart_result
header_byte(struct multipart *mp, uint8_t ch)
{
	enum multipart_result r;

	if (++mp->hdr_total > mp->max_header)
		return MULTIPART_ERR_LIMIT;
	if (mp->state == ST_HEADER_LF) {
		if (ch != '\n')
			return MULTIPART_ERR_FORMAT;
		if (mp->line_len == 0)
			return headers_done(mp);
		r = header_line(mp, mp->line, mp->line_len);
		sodium_memzero(mp->line, mp->line_len);
		mp->line_len = 0;
		mp->state = ST_HEADER;
		return r;
	}
	if (ch == '\r') {
		mp->state = ST_HEADER_LF;
		return MULTIPART_OK;
	}
	if (ch == '\n')
		return MULTIPART_ERR_FORMAT;
	mp->line[mp->line_len++] = ch; /* line_len < hdr_total <= max_header */
	return MULTIPART_OK;
}

/* Consume one byte after a delimiter or inside part headers. */
static enum multipart_result
step_byte(struct multipart *mp, uint8_t ch)
{
	switch (mp->state) {
	case ST_DELIM_TAIL:
		if (ch == '-') {
			mp->state = ST_DELIM_DASH;
			return MULTIPART_OK;
		}
		mp->padding = 0;
		mp->state = ST_DELIM_PAD;
		/* FALLTHROUGH */
	case ST_DELIM_PAD:
		if (ch == '\r') {
			mp->state = ST_DELIM_LF;
			return MULTIPART_OK;
		}
		if ((ch != ' ' && ch != '\t') || ++mp->padding > MP_MAX_PADDING)
			return MULTIPART_ERR_FORMAT;
		return MULTIPART_OK;
	case ST_DELIM_DASH:
		/* RFC 2046 requires at least one part before the close. */
		if (ch != '-' || mp->parts == 0)
			return MULTIPART_ERR_FORMAT;
		mp->state = ST_DONE;
		return MULTIPART_OK;
	case ST_DELIM_LF:
		if (ch != '\n')
			return MULTIPART_ERR_FORMAT;
		return part_start(mp);
	case ST_HEADER:
	case ST_HEADER_LF:
		return header_byte(mp, ch);
	default:
		return MULTIPART_ERR_FORMAT; /* not reached */
	}
}

static int
emit(struct multipart *mp, const uint8_t *p, size_t n)
{
	if (n == 0 || mp->cb->on_part_data == NULL)
		return 0;
	return mp->cb->on_part_data(mp->arg, p, n) == 0 ? 0 : -1;
}

/*
 * Scan `p` for the delimiter, delivering data bytes if `deliver`. A possible
 * delimiter prefix at the end is held back (it is a prefix of mp->delim, so
 * it needs no storage) until the next bytes confirm or refute it. Since the
 * delimiter has its only CR at offset 0, a mismatch releases all held bytes.
 * Set *used to the bytes consumed; return 1 if the delimiter ended there, 0
 * if not, or -1 if a callback failed.
 */
static int
scan(struct multipart *mp, const uint8_t *p, size_t n, bool deliver, size_t *used)
{
	size_t i = 0, run = 0; /* p[run..i) is data not yet delivered */

	while (i < n) {
		if (mp->held == 0) {
			const uint8_t *cr = memchr(p + i, '\r', n - i);
			if (cr == NULL) {
				i = n;
				break;
			}
			i = (size_t)(cr - p);
			if (deliver && emit(mp, p + run, i - run) != 0)
				return -1;
			mp->held = 1;
			run = ++i;
			continue;
		}
		if (p[i] == mp->delim[mp->held]) {
			mp->held++;
			run = ++i;
			if (mp->held == mp->dlen) {
				mp->held = 0;
				*used = i;
				return 1;
			}
			continue;
		}
		/* Mismatch: the held bytes were data; look at p[i] afresh. */
		if (deliver && emit(mp, mp->delim, mp->held) != 0)
			return -1;
		mp->held = 0;
		run = i;
	}
	if (deliver && emit(mp, p + run, n - run) != 0)
		return -1;
	*used = n;
	return 0;
}

static enum multipart_result
mp_fail(struct multipart *mp, enum multipart_result r)
{
	mp->state = ST_ERROR;
	mp->err = r;
	return r;
}

enum multipart_result
multipart_feed(struct multipart *mp, const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (mp->state == ST_ERROR)
		return mp->err;
	while (i < n && mp->state != ST_DONE) {
		if (mp->state == ST_PREAMBLE || mp->state == ST_DATA) {
			bool in_part = mp->state == ST_DATA;
			size_t used;
			int found = scan(mp, p + i, n - i, in_part, &used);
			if (found < 0)
				return mp_fail(mp, MULTIPART_ERR_CALLBACK);
			i += used;
			if (found == 0)
				continue;
			if (in_part && mp->cb->on_part_end != NULL && mp->cb->on_part_end(mp->arg) != 0)
				return mp_fail(mp, MULTIPART_ERR_CALLBACK);
			mp->state = ST_DELIM_TAIL;
			continue;
		}
		enum multipart_result r = step_byte(mp, p[i++]);
		if (r != MULTIPART_OK)
			return mp_fail(mp, r);
	}
	return MULTIPART_OK;
}

enum multipart_result
multipart_finish(struct multipart *mp)
{
	if (mp->state == ST_ERROR)
		return mp->err;
	if (mp->state != ST_DONE)
		return mp_fail(mp, MULTIPART_ERR_FORMAT);
	return MULTIPART_OK;
}

unsigned
multipart_parts(const struct multipart *mp)
{
	return mp->parts;
}

struct multipart *
multipart_new(const char *boundary, const struct multipart_limits *lim,
	      const struct multipart_callbacks *cb, void *arg)
{
	struct multipart *mp = NULL;
	size_t max_header = MP_DEFAULT_HEADER, blen;
	unsigned max_parts = MP_DEFAULT_PARTS;

	if (boundary == NULL || cb == NULL || !boundary_valid(boundary))
		return NULL;
	if (lim != NULL && lim->max_parts != 0)
		max_parts = lim->max_parts;
	if (lim != NULL && lim->max_header_bytes != 0)
		max_header = lim->max_header_bytes;
	if (max_header > MP_MAX_HEADER)
		return NULL;
	if ((mp = calloc(1, sizeof(*mp) + max_header)) == NULL)
		return NULL;
	mp->alloc = sizeof(*mp) + max_header;
	mp->cb = cb;
	mp->arg = arg;
	mp->max_parts = max_parts;
	mp->max_header = max_header;
	blen = strlen(boundary);
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, blen);
	mp->dlen = 4 + blen;
	mp->state = ST_PREAMBLE;
	mp->held = 2; /* the body starts as if after a CRLF */
	return mp;
}

void
multipart_free(struct multipart *mp)
{
	if (mp == NULL)
		return;
	sodium_memzero(mp, mp->alloc);
	free(mp);
}
