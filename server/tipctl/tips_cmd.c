#include "tips_cmd.h"
#include "tips_export.h"
#include "tips_refer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "api.h"
#include "report.h"
#include "cli.h"
#include "opts.h"
#include "table.h"
#include "tips_open.h"
#include "tips_reply.h"
#include "util.h"

static const char tips_usage[] =
	"usage: tipctl tips SUBCOMMAND [OPTIONS]\n"
	"\n"
	"  list   list the reports you can see (filters, --json)\n"
	"  show   decrypt a report and print it\n"
	"  get    decrypt a report's attachments into a directory\n"
	"  set    change a report's status, priority, assignee or labels\n"
	"  labels list the labels reports can have (an admin adds them)\n"
	"  reply  seal a reply to the source and the team (the source reads it)\n"
	"  note   seal an internal note to the team\n"
	"  export decrypt a report, its messages, replies, notes and files into a\n"
	"         case bundle with a SHA-256 manifest, to hand the case on\n"
	"  refer  encrypt that case bundle to a partner agency's key (one .age file)\n"
	"  hold   put a report under legal hold, or --release it\n"
	"\n"
	"ID (show, get, set, reply, note, export): a report's id as `tips list` shows it,\n"
	"or 8 or more of its first characters if no other report starts with them.\n"
	"\n"
	"Log in first with `tipctl login`. Run `tipctl tips SUBCOMMAND --help` for options.\n";

static const char list_usage[] =
	"usage: tipctl tips list [--team T] [--status S] [--priority P] [--assignee NAME]\n"
	"                        [--label L] [--since YYYY-MM-DD] [--attention] [--json]\n"
	"\n"
	"List the reports of your teams, the latest activity first (a day: the report\n"
	"arriving, a message from the source, a reply or a note). NEW says what you\n"
	"have not seen yet: a report you never opened, or the messages, replies and\n"
	"notes added since `tips show` last showed it (kept on this computer only).\n"
	"\"waiting for a grant\": the report arrived before you joined; a member who\n"
	"can read it runs `tipctl sync`.\n"
	"\n"
	"  --status S     new, triaged, investigating, referred or closed\n"
	"  --priority P   low, normal, high or urgent\n"
	"  --label L      one of the labels `tipctl tips labels` lists\n"
	"  --since DATE   received on or after DATE\n"
	"  --attention    only reports with something you have not seen\n"
	"  --json         print a JSON array: the API's summaries plus \"unread\" and\n"
	"                 \"needs_attention\"\n";

static const char set_usage[] =
	"usage: tipctl tips set ID [--status S] [--priority P] [--assign NAME | --unassign]\n"
	"                       [--label L]... [--clear-labels] [--json]\n"
	"\n"
	"Triage a report. --label replaces the report's labels with the ones given\n"
	"(repeat it for several); --clear-labels removes them all.\n"
	"\n"
	"  --status S     new, triaged, investigating, referred or closed\n"
	"  --priority P   low, normal, high or urgent\n"
	"  --label L      one of the labels an admin made (`tipctl tips labels` lists them)\n";

int
tips_cmd_status_ok(const char *s)
{
	static const char *const v[] = { "new", "triaged", "investigating", "referred", "closed" };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(s, v[i]) == 0)
			return 1;
	return 0;
}

int
tips_cmd_priority_ok(const char *s)
{
	static const char *const v[] = { "low", "normal", "high", "urgent" };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(s, v[i]) == 0)
			return 1;
	return 0;
}

int
tips_cmd_date_ok(const char *s)
{
	uint64_t m, d;
	char mm[3] = { 0 }, dd[3] = { 0 };
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strspn(s, "0123456789") != 4)
		return 0;
	memcpy(mm, s + 5, 2);
	memcpy(dd, s + 8, 2);
	if (util_parse_u64(mm, 12, &m) != 0 || util_parse_u64(dd, 31, &d) != 0)
		return 0;
	return m >= 1 && d >= 1;
}

/* Print `arr` as indented JSON, or as a table. Return 0, or -1. */
static int
print_reports(json_t *arr, int as_json)
{
	struct buf out;
	int rc = -1;
	if (as_json) {
		char *s = json_dumps(arr, JSON_INDENT(2));
		if (s == NULL)
			return -1;
		puts(s);
		free(s);
		return 0;
	}
	if (json_array_size(arr) == 0) {
		puts("no reports");
		return 0;
	}
	buf_init(&out, 64u << 20);
	if (table_reports(arr, &out) == 0 && buf_cstr(&out) != NULL) {
		fputs(buf_cstr(&out), stdout);
		rc = 0;
	}
	buf_free(&out);
	return rc;
}

/* Filters of `tips list`, in query order. */
static const char *const list_keys[] = { "team", "status", "priority", "assignee", "label", "since" };

/* Fetch every page of GET /api/v1/reports with `query` into `all`. Return 0, or -1 (printed). */
static int
list_fetch(struct api *a, const char *query, json_t *all)
{
	struct buf path;
	char *cursor = NULL;
	int rc = -1, page;
	buf_init(&path, 8192);
	for (page = 0; page < TIPS_LIST_PAGES; page++) {
		json_t *doc = NULL;
		buf_reset(&path);
		if (buf_adds(&path, query) != 0 ||
		    (cursor != NULL && api_query_add(&path, "cursor", cursor) != 0) ||
		    buf_cstr(&path) == NULL)
			goto out;
		if (api_get_json(a, buf_cstr(&path), "the report list", &doc) != 0)
			goto out;
		json_t *reps = json_object_get(doc, "reports"), *next = json_object_get(doc, "next_cursor");
		if (!json_is_array(reps) || (next != NULL && !json_is_null(next) && !json_is_string(next)) ||
		    json_array_extend(all, reps) != 0) {
			cli_error("bad answer from the server: not a report list");
			json_decref(doc);
			goto out;
		}
		free(cursor);
		cursor = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
		json_decref(doc);
		if (cursor == NULL)
			break;
	}
	if (page == TIPS_LIST_PAGES)
		cli_error("warning: stopped after %zu reports; narrow the list with filters",
		          json_array_size(all));
	rc = 0;
out:
	free(cursor);
	buf_free(&path);
	return rc;
}

int
tips_cmd_id_arg_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= TIPS_ID_PREFIX_MIN && n <= 36 && strspn(s, "0123456789abcdefABCDEF-") == n;
}

int
tips_cmd_id_operand(int argc, char **argv, const char *who, const char *usage, const char **id)
{
	const char *sep = who != NULL ? ": " : "";
	who = who != NULL ? who : "";
	if (optind + 1 != argc)
		return opts_usage_error(usage, "%s%sgive exactly one report ID", who, sep);
	if (!tips_cmd_id_arg_ok(argv[optind]))
		return opts_usage_error(usage, "%s%snot a report ID (or 8 or more of its first "
		                        "characters): %s", who, sep, argv[optind]);
	*id = argv[optind];
	return OPTS_GO;
}

/* Print the candidates of an ambiguous prefix `arg` in `all`. */
static void
resolve_ambiguous(json_t *all, const char *arg, size_t n)
{
	size_t i;
	json_t *r;
	cli_error("%s is ambiguous: it starts %zu reports' ids (give more characters):", arg, n);
	json_array_foreach(all, i, r) {
		const char *rid = json_string_value(json_object_get(r, "id"));
		if (rid == NULL || strncmp(rid, arg, strlen(arg)) != 0)
			continue;
		struct buf team;
		buf_init(&team, 256);
		const char *t = json_string_value(json_object_get(r, "team"));
		if (t == NULL || report_term_safe(t, strlen(t), 0, &team) != 0)
			buf_reset(&team);
		fprintf(stderr, "  %s  received %s  team %s  %s\n", rid,
		        json_is_string(json_object_get(r, "received_on"))
		                ? json_string_value(json_object_get(r, "received_on"))
		                : "?",
		        team.len > 0 && buf_cstr(&team) != NULL ? buf_cstr(&team) : "?",
		        json_is_string(json_object_get(r, "status"))
		                ? json_string_value(json_object_get(r, "status"))
		                : "?");
		buf_free(&team);
	}
}

int
tips_cmd_resolve_id(struct api *a, const char *arg, char id[37])
{
	char low[37], q[64];
	size_t n = strlen(arg), i, found = 0;
	json_t *all = NULL, *r;
	int rc = -1;
	if (!tips_cmd_id_arg_ok(arg))
		return -1;
	for (i = 0; i <= n; i++)
		low[i] = (char)(arg[i] >= 'A' && arg[i] <= 'F' ? arg[i] - 'A' + 'a' : arg[i]);
	if (n == 36 && util_uuid_valid(low)) {
		memcpy(id, low, 37);
		return 0;
	}
	snprintf(q, sizeof(q), "/api/v1/reports?limit=%d", TIPS_LIST_PAGE);
	if ((all = json_array()) == NULL || list_fetch(a, q, all) != 0)
		goto out;
	json_array_foreach(all, i, r) {
		const char *rid = json_string_value(json_object_get(r, "id"));
		if (rid != NULL && strlen(rid) == 36 && strncmp(rid, low, n) == 0 && found++ == 0)
			memcpy(id, rid, 37);
	}
	if (found == 1)
		rc = 0;
	else if (found == 0)
		cli_error("no report you can see has an id starting with %s (`tipctl tips list` "
		          "shows them)", low);
	else
		resolve_ambiguous(all, low, found);
out:
	json_decref(all);
	return rc;
}

/* Add what is new to the list `all` from server `server` and sort it by
 * activity; keep only what needs attention if `attention`. Return 0, or -1
 * (printed). */
static int
list_activity(const char *server, json_t *all, int attention)
{
	struct activity act;
	if (activity_load(NULL, server, &act) != 0)
		return -1;
	int rc = activity_annotate(all, &act);
	activity_free(&act);
	if (rc != 0) {
		cli_error("out of memory");
		return -1;
	}
	for (size_t i = json_array_size(all); attention && i-- > 0;)
		if (!activity_needs_attention(json_array_get(all, i)) && json_array_remove(all, i) != 0)
			return -1;
	return 0;
}

/* Run `tipctl tips list`. */
static int
tips_list(int argc, char **argv)
{
	const char *f[6] = { NULL };
	int as_json = 0, attention = 0;
	const struct opt opts[] = {
		OPT_STR("team", &f[0]),  OPT_STR("status", &f[1]), OPT_STR("priority", &f[2]),
		OPT_STR("assignee", &f[3]), OPT_STR("label", &f[4]), OPT_STR("since", &f[5]),
		OPT_JSON(&as_json),      OPT_FLAG("attention", &attention), OPT_END,
	};
	struct api a;
	struct buf q;
	json_t *all = NULL;
	int rc = opts_parse(argc, argv, opts, "list", list_usage);
	if (rc != OPTS_GO)
		return rc;
	rc = CLI_ERR;
	if (optind != argc)
		return opts_usage_error(list_usage, "list: unexpected argument: %s", argv[optind]);
	if (f[1] != NULL && !tips_cmd_status_ok(f[1]))
		return opts_usage_error(list_usage, "list: unknown --status (new, triaged, "
		                        "investigating, referred or closed): %s", f[1]);
	if (f[2] != NULL && !tips_cmd_priority_ok(f[2]))
		return opts_usage_error(list_usage,
		                        "list: unknown --priority (low, normal, high or urgent): %s", f[2]);
	if (f[5] != NULL && !tips_cmd_date_ok(f[5]))
		return opts_usage_error(list_usage, "list: --since wants a date YYYY-MM-DD: %s", f[5]);
	buf_init(&q, 8192);
	if (buf_adds(&q, "/api/v1/reports") != 0)
		goto out;
	for (int i = 0; i < 6; i++)
		if (f[i] != NULL && api_query_add(&q, list_keys[i], f[i]) != 0)
			goto out;
	if (buf_printf(&q, "%climit=%d", strchr(buf_cstr(&q), '?') ? '&' : '?', TIPS_LIST_PAGE) != 0 ||
	    buf_cstr(&q) == NULL || (all = json_array()) == NULL)
		goto out;
	if (api_open(&a) != 0) {
		api_close(&a);
		goto out;
	}
	if (list_fetch(&a, buf_cstr(&q), all) == 0 && list_activity(a.s->server, all, attention) == 0) {
		if (attention && !as_json && json_array_size(all) == 0) {
			puts("nothing new: no report needs your attention");
			rc = CLI_OK;
		} else if (print_reports(all, as_json) == 0) {
			rc = CLI_OK;
		}
	}
	api_close(&a);
out:
	json_decref(all);
	buf_free(&q);
	return rc;
}

/* Options of `tips set`. */
struct set_opts {
	const char *id, *status, *priority, *assign;
	char rid[37]; /* the id, resolved from a prefix */
	int unassign, clear_labels, as_json;
	const char *label_v[TIPS_MAX_LABELS];
	struct opt_list labels; /* --label */
};

/* Parse `tips set`; return -1 to go on, or an exit code. */
static int
set_parse(int argc, char **argv, struct set_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->labels = (struct opt_list){ o->label_v, 0, TIPS_MAX_LABELS };
	const struct opt opts[] = {
		OPT_STR("status", &o->status), OPT_STR("priority", &o->priority),
		OPT_STR("assign", &o->assign), OPT_FLAG("unassign", &o->unassign),
		OPT_LIST("label", &o->labels), OPT_FLAG("clear-labels", &o->clear_labels),
		OPT_JSON(&o->as_json),         OPT_END,
	};
	int rc = opts_parse(argc, argv, opts, "set", set_usage);
	if (rc != OPTS_GO)
		return rc;
	if (tips_cmd_id_operand(argc, argv, "set", set_usage, &o->id) != OPTS_GO)
		return CLI_USAGE;
	if (o->status != NULL && !tips_cmd_status_ok(o->status))
		return opts_usage_error(set_usage, "set: unknown --status (new, triaged, investigating, "
		                        "referred or closed): %s", o->status);
	if (o->priority != NULL && !tips_cmd_priority_ok(o->priority))
		return opts_usage_error(set_usage,
		                        "set: unknown --priority (low, normal, high or urgent): %s",
		                        o->priority);
	if ((o->assign != NULL && o->unassign) || (o->labels.n > 0 && o->clear_labels))
		return opts_usage_error(set_usage, "set: contradictory options");
	if (o->status == NULL && o->priority == NULL && o->assign == NULL && !o->unassign &&
	    o->labels.n == 0 && !o->clear_labels)
		return opts_usage_error(set_usage, "set: nothing to change");
	return -1;
}

/* Build the PATCH body of `o` (caller frees), or NULL. */
static char *
set_body(const struct set_opts *o)
{
	json_t *doc = json_object(), *labels = NULL;
	char *s = NULL;
	if (doc == NULL)
		return NULL;
	if ((o->status != NULL && json_object_set_new(doc, "status", json_string(o->status)) != 0) ||
	    (o->priority != NULL &&
	     json_object_set_new(doc, "priority", json_string(o->priority)) != 0) ||
	    (o->assign != NULL && json_object_set_new(doc, "assignee", json_string(o->assign)) != 0) ||
	    (o->unassign && json_object_set_new(doc, "assignee", json_null()) != 0))
		goto out;
	if (o->labels.n > 0 || o->clear_labels) {
		if ((labels = json_array()) == NULL)
			goto out;
		for (size_t i = 0; i < o->labels.n; i++)
			if (json_array_append_new(labels, json_string(o->labels.v[i])) != 0)
				goto out;
		if (json_object_set(doc, "labels", labels) != 0)
			goto out;
	}
	s = json_dumps(doc, JSON_COMPACT);
out:
	json_decref(labels);
	json_decref(doc);
	return s;
}

/* Check the labels of `o` against the server's vocabulary; an unknown one
 * is refused with the list. Return 0, or -1 (printed). */
static int
set_check_labels(struct api *a, const struct set_opts *o)
{
	json_t *doc = NULL, *known, *l;
	size_t i;
	int rc = 0;
	if (o->labels.n == 0)
		return 0;
	if (api_get_json(a, "/api/v1/labels", "the labels", &doc) != 0)
		return -1;
	known = json_object_get(doc, "labels");
	for (size_t k = 0; k < o->labels.n && rc == 0; k++) {
		int found = 0;
		json_array_foreach(known, i, l)
			found |= json_is_string(l) && strcmp(json_string_value(l), o->labels.v[k]) == 0;
		if (found)
			continue;
		struct buf list;
		buf_init(&list, 65536);
		json_array_foreach(known, i, l) {
			const char *n = json_string_value(l);
			if (n != NULL && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(n) &&
			    buf_printf(&list, "%s%s", list.len ? ", " : "", n) != 0)
				break;
		}
		cli_error("set: unknown label %s (labels: %s; `tipctl admin label add` makes more)",
		          o->labels.v[k], list.len > 0 && buf_cstr(&list) != NULL ? buf_cstr(&list) : "none");
		buf_free(&list);
		rc = -1;
	}
	json_decref(doc);
	return rc;
}

/* Run `tipctl tips set`. */
static int
tips_set(int argc, char **argv)
{
	struct set_opts o;
	struct api a;
	struct client_response r;
	char path[128], what[64];
	char *body = NULL;
	json_t *doc = NULL, *arr = NULL;
	json_error_t e;
	int rc = set_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	buf_init(&r.body, API_JSON_MAX);
	if ((body = set_body(&o)) == NULL) {
		cli_error("set: a value is not valid text");
		goto out;
	}
	if (api_open(&a) != 0 || tips_cmd_resolve_id(&a, o.id, o.rid) != 0 ||
	    set_check_labels(&a, &o) != 0) {
		api_close(&a);
		goto out;
	}
	snprintf(path, sizeof(path), "/api/v1/reports/%s", o.rid);
	snprintf(what, sizeof(what), "report %s", o.rid);
	int ok = api_call(&a, "PATCH", path, body, &r, what) == 0;
	api_close(&a);
	if (!ok)
		goto out;
	doc = json_loadb((const char *)r.body.data, r.body.len, 0, &e);
	if (!json_is_object(doc) || (arr = json_array()) == NULL || json_array_append(arr, doc) != 0) {
		cli_error("bad answer from the server: not a report summary");
		goto out;
	}
	if (print_reports(o.as_json ? doc : arr, o.as_json) == 0)
		rc = CLI_OK;
out:
	json_decref(arr);
	json_decref(doc);
	free(body);
	buf_free(&r.body);
	return rc;
}

/* `tips labels`: the label vocabulary, one a line. */
static int
tips_labels(int argc, char **argv)
{
	struct api a;
	json_t *doc = NULL, *l;
	size_t i;
	int rc = CLI_ERR;
	if (argc != 1) {
		if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			fputs("usage: tipctl tips labels\n\nList the labels `tipctl tips set --label` "
			      "takes (`tipctl admin label add` makes more).\n", stdout);
			return CLI_OK;
		}
		return opts_usage_error("usage: tipctl tips labels\n", "labels: takes no argument");
	}
	memset(&a, 0, sizeof(a));
	if (api_open(&a) != 0 || api_get_json(&a, "/api/v1/labels", "the labels", &doc) != 0)
		goto out;
	json_array_foreach(json_object_get(doc, "labels"), i, l) {
		const char *name = json_string_value(l);
		if (name != NULL && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(name))
			printf("%s\n", name);
	}
	rc = CLI_OK;
out:
	json_decref(doc);
	api_close(&a);
	return rc;
}

int
tips_cmd_main(int argc, char **argv)
{
	static const struct opts_cmd cmds[] = {
		{ "list", tips_list }, { "show", tips_open_show }, { "get", tips_open_get },
		{ "set", tips_set }, { "labels", tips_labels }, { "reply", tips_reply_main },
		{ "note", tips_reply_note_main }, { "export", tips_export_main },
		{ "refer", tips_refer_main }, { "hold", tips_refer_hold_main }, { NULL, NULL },
	};
	return opts_dispatch(argc, argv, cmds, "tips", tips_usage);
}
