/*
 * tmpl: a small HTML template renderer with escaping on by default.
 *
 * Templates are UTF-8 files "NAME.html" in one directory, compiled once at
 * load time (an unbalanced block or a missing partial is an error then, not
 * at render time). Syntax, a subset of Mustache/Handlebars:
 *
 *   {{name}} {{a.b}} {{.}}   the value (string or integer), HTML-escaped
 *   {{_ "text"}}             "text" through the translate callback, escaped;
 *                            "{name}" in the result is replaced by the value
 *                            of name, escaped (gettext python-brace-format)
 *   {{#if name}}…{{else}}…{{/if}}   truthy: not null/false/""/0/[]/{}
 *   {{#each name}}…{{/each}}        once per array element, which becomes
 *                                   the innermost scope ({{.}} for strings)
 *   {{> other}}              the template "other" with the same scope
 *   {{! comment}}            nothing (scripts/extract-messages reads
 *                            "{{! TRANSLATORS: …}}" comments)
 *
 * A name is looked up in the innermost scope first, then outwards. There is
 * no way to output unescaped text. One trailing newline of each file is
 * dropped, so partials do not add blank lines.
 */
#ifndef TIPLINE_TMPL_H
#define TIPLINE_TMPL_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

struct tmpl_set;

/* Return the translation of `msgid` (never NULL: return msgid if none). */
typedef const char *(*tmpl_translate_fn)(const void *arg, const char *msgid);

/* Compile every *.html file of `dir` (at most 64 files of at most 256 KiB).
 * Return the set, or NULL with the file and reason in `err`. Caller frees
 * with tmpl_free. */
struct tmpl_set *tmpl_load_dir(const char *dir, char *err, size_t errlen);
/* Compile one template `name` from `len` bytes of `text` into `set` (a new
 * set if `set` is NULL); partials are checked by tmpl_check. Return the set,
 * or NULL with a reason in `err` (a set passed in is then freed). */
struct tmpl_set *tmpl_add(struct tmpl_set *set, const char *name, const char *text, size_t len,
                          char *err, size_t errlen);
/* Check that every partial named exists; return 0, or -1 with `err`. */
int tmpl_check(const struct tmpl_set *set, char *err, size_t errlen);
void tmpl_free(struct tmpl_set *set);
/* 1 if the set has a template `name`. */
int tmpl_has(const struct tmpl_set *set, const char *name);
/* Render template `name` with the scope `ctx` (a JSON object), translating
 * through `tr`, appending to `out`. Return 0, or -1 (unknown template,
 * partials nested deeper than 16, or `out` full). */
int tmpl_render(const struct tmpl_set *set, const char *name, const json_t *ctx,
                tmpl_translate_fn tr, const void *tr_arg, struct buf *out)
	__attribute__((warn_unused_result));
/* Append `n` bytes of `s` to `out`, HTML-escaped (& < > " '). Return 0 or -1. */
int tmpl_escape(struct buf *out, const char *s, size_t n) __attribute__((warn_unused_result));

#endif
