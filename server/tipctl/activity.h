/*
 * activity: what the investigator has already looked at, kept on their
 * own computer (never on the server), so that `tipctl tips list` can show
 * what is new: a report never opened, messages the source sent, replies
 * and notes others wrote since `tips show` (or `tips export`) last showed
 * the report. The server's list gives the counts and the day of the last
 * activity (docs/api.md); this file gives what was seen.
 *
 * The file is $TIPLINE_HOME/reports-seen (or ~/.config/tipline/reports-seen),
 * text:
 *
 *   tipline-reports-seen v1
 *   <server URL> <report id> <messages> <replies> <notes>
 *   ...
 *
 * written and locked like membership-seen (seen.h: a new file, 0600,
 * O_EXCL|O_NOFOLLOW, fsync'd, renamed under flock). It holds report ids and
 * counts, no report content; a damaged or unsafe file is refused (remove
 * it to start over: every report then shows as new).
 */
#ifndef TIPCTL_ACTIVITY_H
#define TIPCTL_ACTIVITY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ACTIVITY_FILE_NAME "reports-seen"
#define ACTIVITY_FILE_MAX (16u << 20) /* largest file read */
#define ACTIVITY_MAX_ENTRIES 100000   /* most lines kept */

/* How many of each object of a report were there when it was last shown. */
struct activity_counts {
	uint64_t messages, replies, notes;
};

/* The seen counts of one server's reports, loaded from the file. */
struct activity {
	char (*ids)[37];
	struct activity_counts *v;
	size_t n;
};

/* Which own object `activity_add_own` counts. */
enum activity_kind { ACTIVITY_REPLY, ACTIVITY_NOTE };

/* Load the entries of `server` from the file at `path` (NULL: the default
 * one) into `a` (activity_free). No file is no entry. Return 0, or -1
 * (printed: unreadable, damaged or unsafe). */
int activity_load(const char *path, const char *server, struct activity *a)
	__attribute__((warn_unused_result));

/* Free what activity_load made (safe on a zeroed struct). */
void activity_free(struct activity *a);

/* Store in *c what was seen of report `id`. Return 1 if it was ever
 * shown, 0 if not. */
int activity_get(const struct activity *a, const char *id, struct activity_counts *c);

/* Remember that report `id` at `server` was shown with the counts `c`.
 * `path` NULL: the default file. Return 0, or -1 (printed). */
int activity_mark(const char *path, const char *server, const char *id,
                  const struct activity_counts *c) __attribute__((warn_unused_result));

/* Count one reply or note the investigator sent on report `id` as seen (if
 * the report was ever shown; their own text is not news to them). Return 0,
 * or -1 (printed). */
int activity_add_own(const char *path, const char *server, const char *id,
                     enum activity_kind kind) __attribute__((warn_unused_result));

/* The counts of the report document `doc` as GET /api/v1/reports/{id}
 * answers it (the lengths of its "messages", "replies", "notes" arrays). */
void activity_counts_of_report(json_t *doc, struct activity_counts *c);

/*
 * Add to each summary in the list `reports` (GET /api/v1/reports items)
 * what is new for this investigator: "unread" {"report": true if never
 * shown, "messages", "replies", "notes": how many more than were seen}
 * and "needs_attention" (granted, and something unread). Then sort the
 * array: latest activity day first; on the same day, reports that need
 * attention first, then the newest received, then by id. Return 0, or -1.
 */
int activity_annotate(json_t *reports, const struct activity *a)
	__attribute__((warn_unused_result));

/* Return 1 if the annotated summary `r` needs attention. */
int activity_needs_attention(json_t *r);

#endif
