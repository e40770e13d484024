/*
 * l10n: the languages of the source pages, one compiled gettext catalogue
 * (LANG.mo, from server/web/locales/LANG.po) each, loaded at start-up.
 *
 * A language's code is its file name without ".mo" ('_' read as '-'), and
 * is what the URL path carries (/fa/report). Its own name for the language
 * menu and its writing direction come from its catalogue (msgctxt
 * "language name" / "language direction"), never from C code.
 */
#ifndef TIPD_L10N_H
#define TIPD_L10N_H

#include <stdbool.h>
#include <stddef.h>

#define L10N_MAX_LANGS 64
#define L10N_CODE_MAX 16

struct l10n;
struct mo;

struct l10n_lang {
	char code[L10N_CODE_MAX];
	const char *name; /* the language's own name */
	bool rtl;
	struct mo *mo;
};

/* Load every *.mo in `dir`; "en" must be among them. Return the set, or
 * NULL with the file and reason in `err`. Caller frees with l10n_free. */
struct l10n *l10n_load(const char *dir, char *err, size_t errlen);
void l10n_free(struct l10n *l);
/* The language whose code is the `len` bytes at `code`, or NULL. */
const struct l10n_lang *l10n_find(const struct l10n *l, const char *code, size_t len);
/* Number of languages, and the i-th (sorted by code). */
size_t l10n_count(const struct l10n *l);
const struct l10n_lang *l10n_at(const struct l10n *l, size_t i);
/* The translation of `msgid` in `lang`, or NULL if it has none. */
const char *l10n_lookup(const struct l10n_lang *lang, const char *msgid);
/* The translation of `msgid` in `lang`, else `msgid` itself. */
const char *l10n_get(const struct l10n_lang *lang, const char *msgid);

#endif
