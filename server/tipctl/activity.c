#include "activity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "seen.h"
#include "util.h"

#define ACTIVITY_MAGIC "tipline-reports-seen v1\n"

/* One parsed line. */
struct act_line {
	const char *server;
	size_t server_len;
	char id[37];
	struct activity_counts c;
};

/* Parse the line [p, end) into `l`. Return 0, or -1 if malformed. */
static int
act_parse(const char *p, const char *end, struct act_line *l)
{
	char srv[SEEN_SERVER_MAX + 1], num[3][24];
	uint64_t *dst[3] = { &l->c.messages, &l->c.replies, &l->c.notes };
	l->server = p;
	if (seen_file_field(&p, end, srv, sizeof(srv)) != 0)
		return -1;
	l->server_len = strlen(srv);
	for (size_t i = 0; i < l->server_len; i++)
		if (srv[i] <= ' ' || srv[i] > '~')
			return -1;
	if (seen_file_field(&p, end, l->id, sizeof(l->id)) != 0 || !util_uuid_valid(l->id))
		return -1;
	for (int k = 0; k < 3; k++)
		if (seen_file_field(&p, end, num[k], sizeof(num[k])) != 0 ||
		    util_parse_u64(num[k], UINT32_MAX, dst[k]) != 0)
			return -1;
	return p == end ? 0 : -1;
}

/* seen_file_lines adapter of act_walk: parse the line, then call `fn`. */
struct act_walk_state {
	int (*fn)(const struct act_line *, const char *, size_t, void *);
	void *arg;
};

static int
act_walk_line(const char *p, const char *nl, void *arg)
{
	struct act_walk_state *w = arg;
	struct act_line l;
	return act_parse(p, nl, &l) != 0 ? -1 : w->fn(&l, p, (size_t)(nl - p) + 1, w->arg);
}

/* Call `fn` on every line of the file text `t` (`n` bytes; 0: no file).
 * Return 0, or -1 if the text is damaged or `fn` fails. */
static int
act_walk(const char *t, size_t n, int (*fn)(const struct act_line *, const char *, size_t, void *),
         void *arg)
{
	struct act_walk_state w = { fn, arg };
	return seen_file_lines(t, n, ACTIVITY_MAGIC, ACTIVITY_MAX_ENTRIES, act_walk_line, &w);
}

/* Return 1 if line `l` is about `server`. */
static int
act_same_server(const struct act_line *l, const char *server)
{
	return l->server_len == strlen(server) && memcmp(l->server, server, l->server_len) == 0;
}

/* act_walk callback of activity_load: keep lines of server `a->...`. */
struct act_load {
	const char *server;
	struct activity *a;
	size_t cap;
};

static int
act_load_line(const struct act_line *l, const char *raw, size_t n, void *arg)
{
	struct act_load *s = arg;
	(void)raw;
	(void)n;
	if (!act_same_server(l, s->server))
		return 0;
	if (s->a->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		void *ids = realloc(s->a->ids, cap * sizeof(*s->a->ids));
		if (ids == NULL)
			return -1;
		s->a->ids = ids;
		void *v = realloc(s->a->v, cap * sizeof(*s->a->v));
		if (v == NULL)
			return -1;
		s->a->v = v;
		s->cap = cap;
	}
	memcpy(s->a->ids[s->a->n], l->id, 37);
	s->a->v[s->a->n++] = l->c;
	return 0;
}

int
activity_load(const char *path, const char *server, struct activity *a)
{
	struct buf p, text;
	struct act_load s = { server, a, 0 };
	int rc = -1;
	memset(a, 0, sizeof(*a));
	buf_init(&p, 4096);
	buf_init(&text, ACTIVITY_FILE_MAX);
	if (seen_file_path(path, ACTIVITY_FILE_NAME, &p) != 0)
		goto out;
	if (seen_file_read(buf_cstr(&p), &text) != SEEN_OK)
		goto out;
	if (act_walk((const char *)text.data, text.len, act_load_line, &s) != 0) {
		cli_error("%s is damaged: remove it to start over (every report then shows as new)",
		          buf_cstr(&p));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		activity_free(a);
	buf_free(&p);
	buf_free(&text);
	return rc;
}

void
activity_free(struct activity *a)
{
	free(a->ids);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

int
activity_get(const struct activity *a, const char *id, struct activity_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = a->n; i-- > 0;)
		if (strcmp(a->ids[i], id) == 0) {
			*c = a->v[i];
			return 1;
		}
	return 0;
}

/* act_walk callback of act_update: copy every line but the one for
 * (server, id), which is remembered. */
struct act_upd {
	const char *server, *id;
	struct buf *rest;
	struct activity_counts had;
	int have;
	size_t lines;
};

static int
act_upd_line(const struct act_line *l, const char *raw, size_t n, void *arg)
{
	struct act_upd *u = arg;
	if (act_same_server(l, u->server) && strcmp(l->id, u->id) == 0) {
		u->had = l->c;
		u->have = 1;
		return 0;
	}
	u->lines++;
	return buf_add(u->rest, raw, n);
}

/* Set report `id`'s counts to `c`, or (c NULL) add one own object of `kind`
 * if the report has a line. Return 0, or -1 (printed). */
static int
act_update(const char *path, const char *server, const char *id, const struct activity_counts *c,
           enum activity_kind kind)
{
	struct buf p, text, rest, out;
	struct act_upd u = { server, id, &rest, { 0, 0, 0 }, 0, 0 };
	int rc = -1, lk = -1;
	buf_init(&p, 4096);
	buf_init(&text, ACTIVITY_FILE_MAX);
	buf_init(&rest, ACTIVITY_FILE_MAX);
	buf_init(&out, ACTIVITY_FILE_MAX + 1024);
	if (!util_uuid_valid(id) || seen_file_path(path, ACTIVITY_FILE_NAME, &p) != 0 || (lk = seen_file_lock(buf_cstr(&p))) < 0 ||
	    seen_file_read(buf_cstr(&p), &text) != SEEN_OK)
		goto out;
	if (act_walk((const char *)text.data, text.len, act_upd_line, &u) != 0) {
		cli_error("%s is damaged: remove it to start over (every report then shows as new)",
		          buf_cstr(&p));
		goto out;
	}
	struct activity_counts now = c != NULL ? *c : u.had;
	if (c == NULL && !u.have) {
		rc = 0; /* never shown: it stays new */
		goto out;
	}
	if (c == NULL && kind == ACTIVITY_REPLY)
		now.replies++;
	else if (c == NULL)
		now.notes++;
	const char *keep = (const char *)rest.data;
	if (u.lines >= ACTIVITY_MAX_ENTRIES) /* forget the line written longest ago */
		keep = (const char *)memchr(keep, '\n', rest.len) + 1;
	if (buf_adds(&out, ACTIVITY_MAGIC) != 0 ||
	    (rest.len > 0 && buf_add(&out, keep, rest.len - (size_t)(keep - (const char *)rest.data)) != 0) ||
	    buf_printf(&out, "%s %s %llu %llu %llu\n", server, id, (unsigned long long)now.messages,
	               (unsigned long long)now.replies, (unsigned long long)now.notes) != 0) {
		cli_error("cannot remember what you have read: %s would be too large", buf_cstr(&p));
		goto out;
	}
	rc = seen_file_replace(buf_cstr(&p), out.data, out.len) == SEEN_OK ? 0 : -1;
out:
	if (lk >= 0)
		close(lk);
	buf_free(&p);
	buf_free(&text);
	buf_free(&rest);
	buf_free(&out);
	return rc;
}

int
activity_mark(const char *path, const char *server, const char *id, const struct activity_counts *c)
{
	return act_update(path, server, id, c, ACTIVITY_REPLY);
}

int
activity_add_own(const char *path, const char *server, const char *id, enum activity_kind kind)
{
	return act_update(path, server, id, NULL, kind);
}

void
activity_counts_of_report(json_t *doc, struct activity_counts *c)
{
	c->messages = json_array_size(json_object_get(doc, "messages"));
	c->replies = json_array_size(json_object_get(doc, "replies"));
	c->notes = json_array_size(json_object_get(doc, "notes"));
}

/* The integer member `key` of `r` (0 if absent or not a non-negative integer). */
static uint64_t
act_int(json_t *r, const char *key)
{
	json_t *v = json_object_get(r, key);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* Add "unread" and "needs_attention" to the summary `r`. Return 0, or -1. */
static int
act_annotate_one(json_t *r, const struct activity *a)
{
	struct activity_counts seen;
	const char *id = json_string_value(json_object_get(r, "id"));
	int shown = id != NULL && activity_get(a, id, &seen);
	uint64_t m = act_int(r, "message_count"), p = act_int(r, "reply_count"),
	         n = act_int(r, "note_count");
	uint64_t um = shown && m > seen.messages ? m - seen.messages : 0;
	uint64_t up = shown && p > seen.replies ? p - seen.replies : 0;
	uint64_t un = shown && n > seen.notes ? n - seen.notes : 0;
	int granted = !json_is_false(json_object_get(r, "granted"));
	int attention = granted && (!shown || um + up + un > 0);
	json_t *u = json_pack("{s:b, s:I, s:I, s:I}", "report", !shown, "messages", (json_int_t)um,
	                      "replies", (json_int_t)up, "notes", (json_int_t)un);
	if (u == NULL || json_object_set_new(r, "unread", u) != 0 ||
	    json_object_set_new(r, "needs_attention", json_boolean(attention)) != 0)
		return -1;
	return 0;
}

int
activity_needs_attention(json_t *r)
{
	return json_is_true(json_object_get(r, "needs_attention"));
}

/* The string member `key` of `r`, or "". */
static const char *
act_str(json_t *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r, key));
	return s != NULL ? s : "";
}

/* qsort order of annotated summaries (see activity_annotate). */
static int
act_cmp(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	int c = strcmp(act_str(b, "last_activity_on"), act_str(a, "last_activity_on"));
	if (c == 0)
		c = activity_needs_attention(b) - activity_needs_attention(a);
	if (c == 0)
		c = strcmp(act_str(b, "received_on"), act_str(a, "received_on"));
	if (c == 0)
		c = strcmp(act_str(a, "id"), act_str(b, "id"));
	return c;
}

int
activity_annotate(json_t *reports, const struct activity *a)
{
	size_t n = json_array_size(reports), i;
	json_t **v = NULL, *r;
	int rc = -1;
	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	json_array_foreach(reports, i, r) {
		if (act_annotate_one(r, a) != 0)
			goto out;
		v[i] = json_incref(r);
	}
	qsort(v, n, sizeof(*v), act_cmp);
	if (json_array_clear(reports) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (json_array_append(reports, v[i]) != 0)
			goto out;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
	return rc;
}
