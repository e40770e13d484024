#include "table.h"

#include <string.h>

#include "cli.h"
#include "report.h"

enum { COL_ID, COL_RECEIVED, COL_ACTIVITY, COL_NEW, COL_TEAM, COL_STATUS, COL_PRIORITY,
       COL_ASSIGNEE, COL_FILES, COL_LABELS, NCOLS };

static const char *const col_title[NCOLS] = { "ID",     "RECEIVED", "ACTIVITY", "NEW",
	                                      "TEAM",   "STATUS",   "PRIORITY", "ASSIGNEE",
	                                      "FILES",  "LABELS" };
static const char *const col_key[NCOLS] = { "id",     "received_on",      "last_activity_on",
	                                    "unread", "team",             "status",
	                                    "priority", "assignee",       "attachments",
	                                    "labels" };

/* Append "N thing(s)" to `raw`, after ", " unless it is the first. */
static int
count_word(struct buf *raw, json_int_t n, const char *one, const char *many)
{
	if (n <= 0)
		return 0;
	return buf_printf(raw, "%s%lld %s", raw->len > 0 ? ", " : "", (long long)n,
	                  n == 1 ? one : many);
}

/* Append the NEW cell of `r`: what the investigator has not seen. */
static int
cell_new(json_t *r, struct buf *raw)
{
	json_t *u = json_object_get(r, "unread");
	if (json_is_false(json_object_get(r, "granted")))
		return buf_adds(raw, "waiting for a grant");
	if (!json_is_object(u))
		return buf_adds(raw, "-"); /* not a list (tips set) */
	if (json_is_true(json_object_get(u, "report")))
		return buf_adds(raw, "new report");
	if (count_word(raw, json_integer_value(json_object_get(u, "messages")), "message",
	               "messages") != 0 ||
	    count_word(raw, json_integer_value(json_object_get(u, "replies")), "reply", "replies") !=
	            0 ||
	    count_word(raw, json_integer_value(json_object_get(u, "notes")), "note", "notes") != 0)
		return -1;
	return raw->len > 0 ? 0 : buf_adds(raw, "-");
}

/* Append the raw text of cell `col` of report `r` to `raw`. Return 0, or -1. */
static int
cell_raw(json_t *r, int col, struct buf *raw)
{
	json_t *v = json_object_get(r, col_key[col]);
	if (col == COL_NEW)
		return cell_new(r, raw);
	if (col == COL_ACTIVITY && v == NULL)
		return buf_adds(raw, "-");
	if (col == COL_ASSIGNEE && json_is_null(v))
		return buf_adds(raw, "-");
	if (col == COL_FILES && json_is_integer(v))
		return buf_printf(raw, "%lld", (long long)json_integer_value(v));
	if (col == COL_LABELS && json_is_array(v)) {
		size_t i;
		json_t *l;
		if (json_array_size(v) == 0)
			return buf_adds(raw, "-");
		json_array_foreach(v, i, l) {
			const char *s = json_string_value(l);
			if (buf_printf(raw, "%s%s", i > 0 ? "," : "", s != NULL ? s : "?") != 0)
				return -1;
		}
		return 0;
	}
	const char *s = json_string_value(v);
	return buf_adds(raw, s != NULL && s[0] != '\0' ? s : "?");
}

/* Append the safe, possibly shortened text of a cell to `out`. Return 0, or -1. */
static int
cell(json_t *r, int col, struct buf *out)
{
	struct buf raw, safe;
	int rc = -1;
	buf_init(&raw, 65536);
	buf_init(&safe, 4 * 65536);
	if (cell_raw(r, col, &raw) != 0 || report_term_safe((const char *)raw.data, raw.len, 0,
	                                                   &safe) != 0 || buf_cstr(&safe) == NULL)
		goto out;
	size_t max = col == COL_ID || col == COL_LABELS ? 4 * TABLE_CELL_MAX : TABLE_CELL_MAX;
	const char *s = buf_cstr(&safe);
	if (cli_utf8_chars(s) <= max) {
		rc = buf_adds(out, s);
		goto out;
	}
	size_t i = 0, chars = 0;
	for (; s[i] && chars < max - 1; i++) /* keep max - 1 characters, then "…" */
		if (((unsigned char)s[i + 1] & 0xc0) != 0x80)
			chars++;
	rc = buf_add(out, s, i) != 0 || buf_adds(out, "\xe2\x80\xa6") != 0 ? -1 : 0;
out:
	buf_free(&raw);
	buf_free(&safe);
	return rc;
}

/* Append `s` padded with spaces to `w` characters (no padding in the last column). */
static int
put_padded(struct buf *out, const char *s, size_t w, int last)
{
	size_t n = cli_utf8_chars(s);
	if (buf_adds(out, s) != 0)
		return -1;
	if (last)
		return buf_adds(out, "\n");
	return buf_fill(out, ' ', (w > n ? w - n : 0) + 2);
}

int
table_reports(json_t *reports, struct buf *out)
{
	size_t w[NCOLS], i;
	json_t *r;
	struct buf c;
	int rc = -1;
	buf_init(&c, 4096);
	for (int k = 0; k < NCOLS; k++)
		w[k] = strlen(col_title[k]);
	json_array_foreach(reports, i, r) {
		for (int k = 0; k < NCOLS; k++) {
			buf_reset(&c);
			if (cell(r, k, &c) != 0 || buf_cstr(&c) == NULL)
				goto out;
			size_t n = cli_utf8_chars(buf_cstr(&c));
			if (n > w[k])
				w[k] = n;
		}
	}
	for (int k = 0; k < NCOLS; k++)
		if (put_padded(out, col_title[k], w[k], k == NCOLS - 1) != 0)
			goto out;
	json_array_foreach(reports, i, r) {
		for (int k = 0; k < NCOLS; k++) {
			buf_reset(&c);
			if (cell(r, k, &c) != 0 || buf_cstr(&c) == NULL ||
			    put_padded(out, buf_cstr(&c), w[k], k == NCOLS - 1) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	buf_free(&c);
	return rc;
}
