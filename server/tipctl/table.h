/*
 * table: the readable report list `tipctl tips list` prints.
 */
#ifndef TIPCTL_TABLE_H
#define TIPCTL_TABLE_H

#include <jansson.h>

#include "buf.h"

#define TABLE_CELL_MAX 32 /* widest cell, in characters, before it is cut with "…" */

/*
 * Append to `out` a table of the report summaries in the JSON array
 * `reports` (objects as GET /api/v1/reports returns them, annotated by
 * activity_annotate): a header line ID RECEIVED ACTIVITY NEW TEAM STATUS
 * PRIORITY ASSIGNEE FILES LABELS, then one line per report, columns padded
 * with spaces. NEW is "waiting for a grant" (granted false), "new report"
 * (never shown), "2 messages, 1 reply" (unread counts) or "-". Server text
 * is made terminal-safe; a missing or mistyped field shows as "?", a null
 * assignee as "-". Return 0, or -1 if `out` is full.
 */
int table_reports(json_t *reports, struct buf *out) __attribute__((warn_unused_result));

#endif
