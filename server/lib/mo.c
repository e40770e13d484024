#include "mo.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MO_MAGIC 0x950412deU
#define MO_MAGIC_SWAPPED 0xde120495U

struct mo_entry {
	const char *key; /* msgid, or ctxt "\x04" msgid */
	const char *value;
};

struct mo {
	uint8_t *data;
	size_t len;
	struct mo_entry *e;
	size_t n;
};

static uint32_t
rd32(const uint8_t *p, bool swap)
{
	uint32_t v =
		(uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00U) | ((v << 8) & 0xff0000U) | (v << 24);
	return v;
}

/* 1 if the `n` bytes at `s` are valid UTF-8 (no overlongs, no surrogates). */
static bool
utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* The string of table entry `i` at table offset `tab`: check it lies in the
 * file, ends with a NUL and is UTF-8 without other NULs but plural ones. */
static const char *
string_at(const struct mo *m, uint32_t tab, uint32_t i, bool swap)
{
	uint64_t at = (uint64_t)tab + (uint64_t)i * 8;
	if (at + 8 > m->len)
		return NULL;
	uint32_t len = rd32(m->data + at, swap), off = rd32(m->data + at + 4, swap);
	if ((uint64_t)off + len + 1 > m->len || m->data[off + len] != '\0')
		return NULL;
	if (!utf8_ok(m->data + off, len))
		return NULL;
	return (const char *)m->data + off;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mo_entry *)a)->key, ((const struct mo_entry *)b)->key);
}

struct mo *
mo_parse(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	struct mo *m = calloc(1, sizeof(*m));
	const char *why = "out of memory";
	if (m == NULL || len > MO_MAX_FILE || (m->data = malloc(len + 1)) == NULL)
		goto fail;
	memcpy(m->data, data, len);
	m->data[len] = '\0';
	m->len = len;
	why = "not a .mo file";
	if (len < 20)
		goto fail;
	uint32_t magic = rd32(m->data, false);
	bool swap = magic == MO_MAGIC_SWAPPED;
	if (magic != MO_MAGIC && !swap)
		goto fail;
	why = "unsupported .mo revision";
	if ((rd32(m->data + 4, swap) >> 16) != 0)
		goto fail;
	uint32_t n = rd32(m->data + 8, swap), orig = rd32(m->data + 12, swap),
		 trans = rd32(m->data + 16, swap);
	why = "too many entries";
	if (n > MO_MAX_ENTRIES)
		goto fail;
	why = "out of memory";
	if (n > 0 && (m->e = calloc(n, sizeof(*m->e))) == NULL)
		goto fail;
	why = "a string lies outside the file, lacks its NUL or is not UTF-8";
	for (uint32_t i = 0; i < n; i++) {
		const char *k = string_at(m, orig, i, swap), *v = string_at(m, trans, i, swap);
		if (k == NULL || v == NULL)
			goto fail;
		if (k[0] == '\0' || v[0] == '\0')
			continue; /* the header, or an untranslated entry */
		m->e[m->n].key = k;
		m->e[m->n].value = v;
		m->n++;
	}
	if (m->n > 0)
		qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
	why = "the same message twice";
	for (size_t i = 1; i < m->n; i++)
		if (strcmp(m->e[i - 1].key, m->e[i].key) == 0)
			goto fail;
	return m;
fail:
	snprintf(err, errlen, "%s", why);
	mo_free(m);
	return NULL;
}

struct mo *
mo_load(const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	char *data = util_read_file(path, MO_MAX_FILE, &len);
	char why[128];
	if (data == NULL) {
		snprintf(err, errlen, "%s: cannot read (or larger than %d bytes)", path,
		         MO_MAX_FILE);
		return NULL;
	}
	struct mo *m = mo_parse((const uint8_t *)data, len, why, sizeof(why));
	free(data);
	if (m == NULL)
		snprintf(err, errlen, "%s: %s", path, why);
	return m;
}

void
mo_free(struct mo *m)
{
	if (m == NULL)
		return;
	free(m->e);
	free(m->data);
	free(m);
}

const char *
mo_get(const struct mo *m, const char *ctxt, const char *msgid)
{
	char key[8192];
	struct mo_entry probe = { key, NULL }, *hit;
	if (m == NULL || m->n == 0)
		return NULL;
	if (ctxt != NULL) {
		int k = snprintf(key, sizeof(key), "%s\x04%s", ctxt, msgid);
		if (k < 0 || (size_t)k >= sizeof(key))
			return NULL;
	} else {
		probe.key = msgid;
	}
	hit = bsearch(&probe, m->e, m->n, sizeof(*m->e), entry_cmp);
	return hit != NULL ? hit->value : NULL;
}

size_t
mo_count(const struct mo *m)
{
	return m != NULL ? m->n : 0;
}
