#include "tmpl.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TMPL_MAX_FILES 64
#define TMPL_MAX_FILE (256 * 1024)
#define TMPL_MAX_DEPTH 16
#define TMPL_MAX_NAME 64

enum node_kind { N_TEXT, N_VAR, N_TRANS, N_IF, N_EACH, N_PARTIAL };

struct node {
	enum node_kind kind;
	char *s; /* text, name, msgid or partial name */
	size_t len;
	struct node *body; /* if/each */
	struct node *alt;  /* else */
	struct node *next;
};

struct tmpl {
	char name[TMPL_MAX_NAME];
	struct node *root;
};

struct tmpl_set {
	struct tmpl t[TMPL_MAX_FILES];
	size_t n;
};

struct parser {
	const char *p, *end;
	char *err;
	size_t errlen;
	const char *name;
	unsigned line;
};

static void
node_free(struct node *n)
{
	while (n != NULL) {
		struct node *next = n->next;
		node_free(n->body);
		node_free(n->alt);
		free(n->s);
		free(n);
		n = next;
	}
}

/* Append a node of `kind` holding a copy of `len` bytes of `s` at *tail. */
static struct node *
node_add(struct node ***tail, enum node_kind kind, const char *s, size_t len)
{
	struct node *n = calloc(1, sizeof(*n));
	if (n == NULL || (n->s = malloc(len + 1)) == NULL) {
		free(n);
		return NULL;
	}
	memcpy(n->s, s, len);
	n->s[len] = '\0';
	n->len = len;
	n->kind = kind;
	**tail = n;
	*tail = &n->next;
	return n;
}

static int
perr(struct parser *ps, const char *why)
{
	snprintf(ps->err, ps->errlen, "%s.html line %u: %s", ps->name, ps->line, why);
	return -1;
}

static bool
name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= TMPL_MAX_NAME)
		return false;
	if (n == 1 && s[0] == '.')
		return true;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* Parse a quoted string (\" and \\ escapes) at `s` .. `e` into a node. */
static int
parse_quoted(struct parser *ps, struct node ***tail, const char *s, const char *e)
{
	char tmp[4096];
	size_t n = 0;
	if (s >= e || *s != '"' || e[-1] != '"' || e - s < 3)
		return perr(ps, "{{_ needs one quoted, non-empty string");
	for (const char *c = s + 1; c < e - 1; c++) {
		if (*c == '\\' && c + 1 < e - 1)
			c++;
		else if (*c == '"')
			return perr(ps, "unescaped quote in {{_ \"…\"}}");
		if (n + 1 >= sizeof(tmp))
			return perr(ps, "message too long");
		tmp[n++] = *c;
	}
	return node_add(tail, N_TRANS, tmp, n) != NULL ? 0 : perr(ps, "out of memory");
}

static int parse_seq(struct parser *ps, struct node **out, const char **stop);

/* Parse "{{#if x}}…{{else}}…{{/if}}" or "{{#each x}}…{{/each}}" after the
 * opening tag; `kind` and the name are known. */
static int
parse_block(struct parser *ps, struct node ***tail, enum node_kind kind, const char *name,
            size_t nlen)
{
	const char *stop = NULL;
	struct node *n = node_add(tail, kind, name, nlen);
	if (n == NULL)
		return perr(ps, "out of memory");
	if (parse_seq(ps, &n->body, &stop) != 0)
		return -1;
	if (stop != NULL && strcmp(stop, "else") == 0) {
		if (kind != N_IF)
			return perr(ps, "{{else}} outside {{#if}}");
		if (parse_seq(ps, &n->alt, &stop) != 0)
			return -1;
	}
	if (stop == NULL || strcmp(stop, kind == N_IF ? "/if" : "/each") != 0)
		return perr(ps,
		            kind == N_IF ? "{{#if}} without {{/if}}"
		                         : "{{#each}} without {{/each}}");
	return 0;
}

/* Parse one tag whose inside is `s` .. `e`; set *stop for else / end tags. */
static int
parse_tag(struct parser *ps, struct node ***tail, const char *s, const char *e, const char **stop)
{
	while (s < e && *s == ' ')
		s++;
	while (e > s && e[-1] == ' ')
		e--;
	size_t n = (size_t)(e - s);
	if (n >= 1 && s[0] == '!')
		return 0;
	if (n == 4 && memcmp(s, "else", 4) == 0) {
		*stop = "else";
		return 0;
	}
	if (n == 3 && memcmp(s, "/if", 3) == 0) {
		*stop = "/if";
		return 0;
	}
	if (n == 5 && memcmp(s, "/each", 5) == 0) {
		*stop = "/each";
		return 0;
	}
	if (n > 2 && s[0] == '_' && s[1] == ' ')
		return parse_quoted(ps, tail, s + 2, e);
	if (n > 4 && memcmp(s, "#if ", 4) == 0 && name_ok(s + 4, n - 4))
		return parse_block(ps, tail, N_IF, s + 4, n - 4);
	if (n > 6 && memcmp(s, "#each ", 6) == 0 && name_ok(s + 6, n - 6))
		return parse_block(ps, tail, N_EACH, s + 6, n - 6);
	if (n > 2 && s[0] == '>' && s[1] == ' ' && name_ok(s + 2, n - 2))
		return node_add(tail, N_PARTIAL, s + 2, n - 2) ? 0 : perr(ps, "out of memory");
	if (name_ok(s, n))
		return node_add(tail, N_VAR, s, n) ? 0 : perr(ps, "out of memory");
	return perr(ps, "unknown tag");
}

/* Parse nodes until the end or a stop tag (else, /if, /each) into *out. */
static int
parse_seq(struct parser *ps, struct node **out, const char **stop)
{
	struct node **tail = out;
	*stop = NULL;
	while (ps->p < ps->end) {
		const char *open = memmem(ps->p, (size_t)(ps->end - ps->p), "{{", 2);
		const char *tend = open != NULL ? open : ps->end;
		if (tend > ps->p && node_add(&tail, N_TEXT, ps->p, (size_t)(tend - ps->p)) == NULL)
			return perr(ps, "out of memory");
		for (const char *c = ps->p; c < tend; c++)
			ps->line += *c == '\n';
		ps->p = tend;
		if (open == NULL)
			break;
		const char *close = memmem(open + 2, (size_t)(ps->end - open - 2), "}}", 2);
		if (close == NULL)
			return perr(ps, "{{ without }}");
		for (const char *c = open; c < close; c++)
			ps->line += *c == '\n';
		ps->p = close + 2;
		if (parse_tag(ps, &tail, open + 2, close, stop) != 0)
			return -1;
		if (*stop != NULL)
			return 0;
	}
	return 0;
}

struct tmpl_set *
tmpl_add(struct tmpl_set *set, const char *name, const char *text, size_t len, char *err,
         size_t errlen)
{
	struct parser ps = { text, text + len, err, errlen, name, 1 };
	const char *stop = NULL;
	if (set == NULL && (set = calloc(1, sizeof(*set))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (set->n >= TMPL_MAX_FILES || strlen(name) >= TMPL_MAX_NAME ||
	    !name_ok(name, strlen(name))) {
		snprintf(err, errlen, "%s: too many templates or a bad name", name);
		goto fail;
	}
	if (len > 0 && text[len - 1] == '\n')
		ps.end--;
	struct tmpl *t = &set->t[set->n];
	memcpy(t->name, name, strlen(name) + 1);
	if (parse_seq(&ps, &t->root, &stop) != 0) {
		node_free(t->root);
		t->root = NULL;
		goto fail;
	}
	if (stop != NULL) {
		node_free(t->root);
		t->root = NULL;
		perr(&ps, "{{else}}, {{/if}} or {{/each}} without its opening tag");
		goto fail;
	}
	set->n++;
	return set;
fail:
	tmpl_free(set);
	return NULL;
}

static const struct tmpl *
find(const struct tmpl_set *set, const char *name)
{
	for (size_t i = 0; set != NULL && i < set->n; i++)
		if (strcmp(set->t[i].name, name) == 0)
			return &set->t[i];
	return NULL;
}

int
tmpl_has(const struct tmpl_set *set, const char *name)
{
	return find(set, name) != NULL;
}

static int
check_nodes(const struct tmpl_set *set, const struct node *n, const char *in, char *err,
            size_t errlen)
{
	for (; n != NULL; n = n->next) {
		if (n->kind == N_PARTIAL && find(set, n->s) == NULL) {
			snprintf(err, errlen, "%s.html: no template \"%s\" for {{> %s}}", in, n->s,
			         n->s);
			return -1;
		}
		if (check_nodes(set, n->body, in, err, errlen) != 0 ||
		    check_nodes(set, n->alt, in, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int
tmpl_check(const struct tmpl_set *set, char *err, size_t errlen)
{
	for (size_t i = 0; i < set->n; i++)
		if (check_nodes(set, set->t[i].root, set->t[i].name, err, errlen) != 0)
			return -1;
	return 0;
}

void
tmpl_free(struct tmpl_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		node_free(set->t[i].root);
	free(set);
}

/* Load one file `dir`/`fname` (NAME.html) into the set. */
static struct tmpl_set *
load_file(struct tmpl_set *set, const char *dir, const char *fname, char *err, size_t errlen)
{
	char path[1024], name[TMPL_MAX_NAME];
	size_t flen = strlen(fname), len = 0;
	if (flen - 5 >= sizeof(name) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, fname) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s: name too long", fname);
		tmpl_free(set);
		return NULL;
	}
	memcpy(name, fname, flen - 5);
	name[flen - 5] = '\0';
	char *text = util_read_file(path, TMPL_MAX_FILE, &len);
	if (text == NULL) {
		snprintf(err, errlen, "%s: cannot read (or larger than 256 KiB)", path);
		tmpl_free(set);
		return NULL;
	}
	set = tmpl_add(set, name, text, len, err, errlen);
	free(text);
	return set;
}

struct tmpl_set *
tmpl_load_dir(const char *dir, char *err, size_t errlen)
{
	struct tmpl_set *set = calloc(1, sizeof(*set));
	DIR *d = opendir(dir);
	struct dirent *e;
	if (set == NULL || d == NULL) {
		snprintf(err, errlen, "%s: cannot open the template directory", dir);
		goto fail;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n <= 5 || strcmp(e->d_name + n - 5, ".html") != 0)
			continue;
		if ((set = load_file(set, dir, e->d_name, err, errlen)) == NULL)
			goto fail;
	}
	closedir(d);
	d = NULL;
	if (tmpl_check(set, err, errlen) != 0)
		goto fail;
	return set;
fail:
	if (d != NULL)
		closedir(d);
	tmpl_free(set);
	return NULL;
}

int
tmpl_escape(struct buf *out, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		if (buf_add(out, s + run, i - run) != 0 || buf_adds(out, rep) != 0)
			return -1;
		run = i + 1;
	}
	return buf_add(out, s + run, n - run);
}

struct render {
	const struct tmpl_set *set;
	const json_t *scope[TMPL_MAX_DEPTH * 2];
	size_t depth;
	unsigned partials;
	tmpl_translate_fn tr;
	const void *tr_arg;
	struct buf *out;
};

/* Walk the dotted `path` inside `v`; NULL if a step is missing. */
static const json_t *
lookup_rest(const json_t *v, const char *path, size_t len)
{
	char key[TMPL_MAX_NAME];
	while (v != NULL && len > 0) {
		const char *dot = memchr(path, '.', len);
		size_t n = dot != NULL ? (size_t)(dot - path) : len;
		if (n == 0 || n >= sizeof(key) || !json_is_object(v))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		path += n;
		len -= n;
		if (dot != NULL) {
			path++;
			len--;
		}
	}
	return v;
}

/* Look `name` (dotted) up from the innermost scope outwards; NULL if absent. */
static const json_t *
lookup(const struct render *r, const char *name, size_t len)
{
	if (len == 1 && name[0] == '.')
		return r->depth > 0 ? r->scope[r->depth - 1] : NULL;
	const char *dot = memchr(name, '.', len);
	size_t first = dot != NULL ? (size_t)(dot - name) : len;
	char key[TMPL_MAX_NAME];
	if (first == 0 || first >= sizeof(key))
		return NULL;
	memcpy(key, name, first);
	key[first] = '\0';
	const json_t *v = NULL;
	for (size_t i = r->depth; i > 0 && v == NULL; i--)
		if (json_is_object(r->scope[i - 1]))
			v = json_object_get(r->scope[i - 1], key);
	if (v == NULL || dot == NULL)
		return v;
	return lookup_rest(v, dot + 1, len - first - 1);
}

static bool
truthy(const json_t *v)
{
	if (v == NULL)
		return false;
	switch (json_typeof(v)) {
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_TRUE: return true;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return json_object_size(v) > 0;
	default: return false;
	}
}

/* Append the value of `v` (string or integer; other types print nothing), escaped. */
static int
emit_value(struct buf *out, const json_t *v)
{
	char num[32];
	if (json_is_string(v))
		return tmpl_escape(out, json_string_value(v), json_string_length(v));
	if (json_is_integer(v)) {
		int n = snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return buf_add(out, num, (size_t)n);
	}
	return 0;
}

/* Append translated text `s`, escaped, with {name} placeholders filled. */
static int
emit_trans(const struct render *r, const char *s)
{
	const char *p = s;
	while (*p != '\0') {
		const char *open = strchr(p, '{');
		const char *close = open != NULL ? strchr(open, '}') : NULL;
		if (open == NULL || close == NULL) {
			return tmpl_escape(r->out, p, strlen(p));
		}
		size_t n = (size_t)(close - open - 1);
		const json_t *v = NULL;
		if (n > 0 && name_ok(open + 1, n) && memchr(open + 1, '.', n) == NULL)
			v = lookup(r, open + 1, n);
		if (v == NULL) { /* not a placeholder: print the brace as text */
			if (tmpl_escape(r->out, p, (size_t)(open - p) + 1) != 0)
				return -1;
			p = open + 1;
			continue;
		}
		if (tmpl_escape(r->out, p, (size_t)(open - p)) != 0 || emit_value(r->out, v) != 0)
			return -1;
		p = close + 1;
	}
	return 0;
}

static int render_nodes(struct render *r, const struct node *n);

static int
render_each(struct render *r, const struct node *n)
{
	const json_t *arr = lookup(r, n->s, n->len), *el;
	size_t i;
	if (!json_is_array(arr))
		return 0;
	if (r->depth >= sizeof(r->scope) / sizeof(r->scope[0]))
		return -1;
	json_array_foreach(arr, i, el)
	{
		r->scope[r->depth++] = el;
		int rc = render_nodes(r, n->body);
		r->depth--;
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int
render_nodes(struct render *r, const struct node *n)
{
	for (; n != NULL; n = n->next) {
		int rc = 0;
		switch (n->kind) {
		case N_TEXT: rc = buf_add(r->out, n->s, n->len); break;
		case N_VAR: rc = emit_value(r->out, lookup(r, n->s, n->len)); break;
		case N_TRANS:
			rc = emit_trans(r, r->tr != NULL ? r->tr(r->tr_arg, n->s) : n->s);
			break;
		case N_IF:
			rc = render_nodes(r, truthy(lookup(r, n->s, n->len)) ? n->body : n->alt);
			break;
		case N_EACH: rc = render_each(r, n); break;
		case N_PARTIAL: {
			const struct tmpl *t = find(r->set, n->s);
			if (t == NULL || r->partials >= TMPL_MAX_DEPTH)
				return -1;
			r->partials++;
			rc = render_nodes(r, t->root);
			r->partials--;
			break;
		}
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

int
tmpl_render(const struct tmpl_set *set, const char *name, const json_t *ctx, tmpl_translate_fn tr,
            const void *tr_arg, struct buf *out)
{
	const struct tmpl *t = find(set, name);
	struct render r = { .set = set, .tr = tr, .tr_arg = tr_arg, .out = out };
	if (t == NULL)
		return -1;
	r.scope[r.depth++] = ctx;
	return render_nodes(&r, t->root);
}
