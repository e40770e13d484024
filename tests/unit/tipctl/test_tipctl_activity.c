/*
 * activity: what `tipctl tips list` shows as new. The counts seen when a
 * report was last shown are kept per server in a file of the
 * investigator's; a report never shown is "new report", more messages,
 * replies or notes than seen are unread, one's own reply is not; the list
 * is ordered by the day of the last activity, then what needs attention,
 * then the newest received (never by id alone within a day); a report
 * without a grant shows "waiting for a grant" and needs no attention; a
 * damaged file is refused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activity.h"
#include "buf.h"
#include "table.h"

#define R1 "11111111-1111-4111-8111-111111111111"
#define R2 "22222222-2222-4222-8222-222222222222"
#define R3 "33333333-3333-4333-8333-333333333333"
#define R4 "44444444-4444-4444-8444-444444444444"
#define SRV "https://review.example:8443"

static char dir[64], path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tipctl-activity.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/reports-seen", dir);
}

static void
teardown(void)
{
	char p[160];
	const char *names[] = { "reports-seen", "reports-seen.lock", "reports-seen.new", NULL };
	for (int i = 0; names[i] != NULL; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		(void)unlink(p);
	}
	rmdir(dir);
}

TestSuite(activity, .init = setup, .fini = teardown);

/* A list item as GET /api/v1/reports answers it. */
static json_t *
item(const char *id, const char *received, const char *last, int m, int r, int n, int granted)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:[], s:i, s:i, s:i, s:i, s:s, s:b}",
	                      "id", id, "team", "demo", "received_on", received, "status", "new",
	                      "priority", "normal", "assignee", "labels", "attachments", 0,
	                      "message_count", m, "reply_count", r, "note_count", n,
	                      "last_activity_on", last, "granted", granted);
	cr_assert_not_null(o);
	return o;
}

Test(activity, marks_are_kept_per_server_and_own_replies_are_not_news)
{
	struct activity a;
	struct activity_counts c = { 2, 1, 0 }, got;
	cr_assert_eq(activity_load(path, SRV, &a), 0, "no file is no entry");
	cr_assert_eq(a.n, 0);
	activity_free(&a);
	cr_assert_eq(activity_mark(path, SRV, R1, &c), 0);
	cr_assert_eq(activity_add_own(path, SRV, R1, ACTIVITY_REPLY), 0);
	cr_assert_eq(activity_add_own(path, SRV, R2, ACTIVITY_NOTE), 0); /* never shown: no line */
	cr_assert_eq(activity_load(path, SRV, &a), 0);
	cr_assert_eq(activity_get(&a, R1, &got), 1);
	cr_assert(got.messages == 2 && got.replies == 2 && got.notes == 0);
	cr_assert_eq(activity_get(&a, R2, &got), 0, "a note on a report never shown marked it");
	activity_free(&a);
	cr_assert_eq(activity_load(path, "https://other.example", &a), 0);
	cr_assert_eq(a.n, 0, "another server's reports leaked in");
	activity_free(&a);
	/* marking again replaces the line (one line per report) */
	c.messages = 3;
	cr_assert_eq(activity_mark(path, SRV, R1, &c), 0);
	cr_assert_eq(activity_load(path, SRV, &a), 0);
	cr_assert_eq(a.n, 1);
	cr_assert_eq(activity_get(&a, R1, &got), 1);
	cr_assert_eq(got.messages, 3);
	activity_free(&a);
}

Test(activity, a_damaged_file_is_refused)
{
	struct activity a;
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("tipline-reports-seen v1\n" SRV " " R1 " 1 x 0\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(activity_load(path, SRV, &a), -1);
}

Test(activity, unread_attention_and_order)
{
	struct activity a;
	struct activity_counts seen1 = { 1, 0, 0 }, seen3 = { 0, 1, 1 };
	json_t *list = json_array();
	/* R1: shown with 1 message, the source wrote again on 05-03 */
	json_array_append_new(list, item(R1, "2024-05-01", "2024-05-03", 2, 0, 0, 1));
	/* R2: received 05-03, never shown */
	json_array_append_new(list, item(R2, "2024-05-03", "2024-05-03", 0, 0, 0, 1));
	/* R3: all seen, last activity 05-03, received earliest */
	json_array_append_new(list, item(R3, "2024-04-20", "2024-05-03", 0, 1, 1, 1));
	/* R4: arrived before this investigator joined */
	json_array_append_new(list, item(R4, "2024-05-04", "2024-05-04", 0, 0, 0, 0));
	cr_assert_eq(activity_mark(path, SRV, R1, &seen1), 0);
	cr_assert_eq(activity_mark(path, SRV, R3, &seen3), 0);
	cr_assert_eq(activity_load(path, SRV, &a), 0);
	cr_assert_eq(activity_annotate(list, &a), 0);
	activity_free(&a);
	const char *want[] = { R4, R2, R1, R3 };
	for (size_t i = 0; i < 4; i++)
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, i), "id")),
		                 want[i], "position %zu", i);
	json_t *r1 = json_array_get(list, 2), *r3 = json_array_get(list, 3);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(r1, "unread"), "messages")), 1);
	cr_assert(activity_needs_attention(r1));
	cr_assert(activity_needs_attention(json_array_get(list, 1)), "a report never shown");
	cr_assert(!activity_needs_attention(r3));
	cr_assert(!activity_needs_attention(json_array_get(list, 0)), "no grant: nothing to open");

	struct buf out;
	buf_init(&out, 1 << 16);
	cr_assert_eq(table_reports(list, &out), 0);
	const char *t = buf_cstr(&out);
	cr_assert(strstr(t, "ACTIVITY") != NULL && strstr(t, "NEW") != NULL, "%s", t);
	cr_assert(strstr(t, "waiting for a grant") != NULL, "%s", t);
	cr_assert(strstr(t, "new report") != NULL, "%s", t);
	cr_assert(strstr(t, "2024-05-03  1 message ") != NULL, "%s", t);
	buf_free(&out);
	json_decref(list);
}
