/*
 * review_reports: the authenticated report routes of the review API
 * (docs/api.md): list with filters and a cursor, fetch
 * one with the caller's age headers, download an attachment as a complete
 * age file, triage with PATCH, and the label vocabulary. A caller sees only
 * reports of teams whose latest membership lists their key; anything else
 * is 404, the same as a report that does not exist.
 */
#ifndef TIPD_REVIEW_REPORTS_H
#define TIPD_REVIEW_REPORTS_H

#include <stddef.h>
#include <stdint.h>

struct rv_ops;

#define RV_LIST_DEFAULT 50
#define RV_LIST_MAX 200
#define RV_LABELS_MAX 32
#define RV_PATCH_MAX_BODY 16384

/* The handler ops of the table's rows (review.c). */
extern const struct rv_ops rv_list_ops;
extern const struct rv_ops rv_fetch_ops;
extern const struct rv_ops rv_attachment_ops;
extern const struct rv_ops rv_patch_ops;
extern const struct rv_ops rv_labels_ops;

/* Filters of GET /api/v1/reports, parsed from the query string. Pointers
 * point into `buf`. */
struct rv_filter {
	const char *team, *status, *priority, *assignee, *label, *since;
	char cursor_date[11];
	char cursor_id[37];
	int has_cursor;
	unsigned limit;
	char buf[1024];
};

/* Parse the query string `q` (no leading '?'); return 0, or -1 on an unknown
 * or repeated key or a bad value. */
int rv_filter_parse(const char *q, struct rv_filter *f) __attribute__((warn_unused_result));
/* Write the opaque cursor for (received_on `date`, report `id`) into `out`
 * (at least 96 bytes). Return 0, or -1. */
int rv_cursor_make(const char *date, const char *id, char *out, size_t outlen)
	__attribute__((warn_unused_result));
/* Return 1 if `s` is a date YYYY-MM-DD that exists, else 0. */
int rv_date_valid(const char *s);
/* Return 1 if `s` is a valid label name ([a-z0-9][a-z0-9._-]{0,63}), else 0. */
int rv_label_valid(const char *s);
/* Return 1 if `s` is a valid member name ([A-Za-z0-9._-]{1,64}), else 0. */
int rv_name_valid(const char *s);

/* A parsed PATCH body. */
struct rv_patch {
	const char *status;      /* NULL: unchanged (static strings) */
	const char *priority;
	int set_assignee;        /* 1: assignee changes (to NULL if assignee[0] == 0) */
	char assignee[65];
	int set_labels;
	char labels[RV_LABELS_MAX * 66 + 3]; /* PostgreSQL array literal "{a,b}" */
};

enum rv_patch_result { RV_PATCH_OK = 0, RV_PATCH_BAD = -1, RV_PATCH_INVALID = -2 };

/* Parse a PATCH body: RV_PATCH_OK; RV_PATCH_BAD (400: not JSON, not an
 * object, nothing to change, an unknown field or a wrong type); or
 * RV_PATCH_INVALID (422: a status, priority, assignee or label value that
 * cannot be). */
enum rv_patch_result rv_patch_parse(const uint8_t *body, size_t len, struct rv_patch *p)
	__attribute__((warn_unused_result));

#endif
