#include "l10n.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo.h"

struct l10n {
	struct l10n_lang lang[L10N_MAX_LANGS];
	size_t n;
};

static int
lang_cmp(const void *a, const void *b)
{
	return strcmp(((const struct l10n_lang *)a)->code, ((const struct l10n_lang *)b)->code);
}

/* A code is 2-3 lowercase letters, then "-" subtags of 1-8 letters or digits. */
static int
code_from_file(const char *fname, char out[L10N_CODE_MAX])
{
	size_t n = strlen(fname);
	if (n <= 3 || strcmp(fname + n - 3, ".mo") != 0 || n - 3 >= L10N_CODE_MAX)
		return -1;
	n -= 3;
	for (size_t i = 0; i < n; i++) {
		char c = fname[i] == '_' ? '-' : fname[i];
		int alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-')
			return -1;
		out[i] = c;
	}
	out[n] = '\0';
	size_t first = strcspn(out, "-");
	for (size_t i = 0; i < first; i++)
		if (out[i] < 'a' || out[i] > 'z')
			return -1;
	return first >= 2 && first <= 3 && out[n - 1] != '-' ? 0 : -1;
}

static int
load_one(struct l10n *l, const char *dir, const char *fname, char *err, size_t errlen)
{
	char path[1024];
	struct l10n_lang *g = &l->lang[l->n];
	if (code_from_file(fname, g->code) != 0)
		return 0; /* not a catalogue of ours */
	if (l->n == L10N_MAX_LANGS) {
		snprintf(err, errlen, "%s: more than %d catalogues", dir, L10N_MAX_LANGS);
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s", dir, fname) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", fname);
		return -1;
	}
	if ((g->mo = mo_load(path, err, errlen)) == NULL)
		return -1;
	const char *name = mo_get(g->mo, "language name", "English");
	const char *dirn = mo_get(g->mo, "language direction", "ltr");
	if (name == NULL && strcmp(g->code, "en") != 0) {
		snprintf(err, errlen,
		         "%s: no translation of the language's own name "
		         "(msgctxt \"language name\")",
		         path);
		mo_free(g->mo);
		g->mo = NULL;
		return -1;
	}
	g->name = name != NULL ? name : "English";
	g->rtl = dirn != NULL && strcmp(dirn, "rtl") == 0;
	l->n++;
	return 0;
}

struct l10n *
l10n_load(const char *dir, char *err, size_t errlen)
{
	struct l10n *l = calloc(1, sizeof(*l));
	DIR *d = opendir(dir);
	struct dirent *e;
	if (l == NULL || d == NULL) {
		snprintf(err, errlen, "%s: cannot open the catalogue directory", dir);
		goto fail;
	}
	while ((e = readdir(d)) != NULL)
		if (load_one(l, dir, e->d_name, err, errlen) != 0)
			goto fail;
	closedir(d);
	d = NULL;
	qsort(l->lang, l->n, sizeof(l->lang[0]), lang_cmp);
	if (l10n_find(l, "en", 2) == NULL) {
		snprintf(err, errlen, "%s: no en.mo (English is every page's fallback)", dir);
		goto fail;
	}
	return l;
fail:
	if (d != NULL)
		closedir(d);
	l10n_free(l);
	return NULL;
}

void
l10n_free(struct l10n *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		mo_free(l->lang[i].mo);
	free(l);
}

const struct l10n_lang *
l10n_find(const struct l10n *l, const char *code, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->lang[i].code) == len && memcmp(l->lang[i].code, code, len) == 0)
			return &l->lang[i];
	return NULL;
}

size_t
l10n_count(const struct l10n *l)
{
	return l->n;
}

const struct l10n_lang *
l10n_at(const struct l10n *l, size_t i)
{
	return i < l->n ? &l->lang[i] : NULL;
}

const char *
l10n_lookup(const struct l10n_lang *lang, const char *msgid)
{
	return lang != NULL ? mo_get(lang->mo, NULL, msgid) : NULL;
}

const char *
l10n_get(const struct l10n_lang *lang, const char *msgid)
{
	const char *t = l10n_lookup(lang, msgid);
	return t != NULL ? t : msgid;
}
