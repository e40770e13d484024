#include "admin_teams.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "admin_online.h"
#include "api.h"
#include "cli.h"
#include "opts.h"
#include "names.h"
#include "invite.h"
#include "membership.h"
#include "note.h"
#include "util.h"

static const char team_usage[] =
	"usage: tipctl admin team list\n"
	"       tipctl admin team create TEAM [--key FILE] [--passphrase-file FILE] [--yes]\n"
	"\n"
	"list: the teams on this server, with their statement number and member count.\n"
	"\n"
	"create: make TEAM (1-63 of a-z 0-9 -, starting with a letter or digit) by\n"
	"signing its first membership statement, with no member yet. Then invite\n"
	"people to it (`tipctl admin invite --team TEAM`) and approve them. Nothing\n"
	"else makes a team: `admin invite` and `admin approve` refuse a team that does\n"
	"not exist. tipctl asks first, then your admin key's passphrase.\n"
	"\n"
	"  --key FILE              your admin key (default: the one you enrolled)\n"
	"  --passphrase-file FILE  take its passphrase from the first line of FILE\n"
	"  --yes                   do not ask\n";

static const char reject_usage[] =
	"usage: tipctl admin reject [--yes] NAME\n"
	"\n"
	"Reject NAME's pending enrollment: an enrollment nobody should approve (a\n"
	"fingerprint that does not match what NAME read to you, or someone you did not\n"
	"invite). tipd marks it rejected: it can never be approved, and its key hears\n"
	"\"rejected\" at login. NAME needs a new invite to try again. tipctl shows the\n"
	"fingerprint and asks first (without a terminal: refuses unless --yes). No\n"
	"admin key is needed.\n"
	"\n"
	"  --yes   do not ask\n";

/* GET the server's teams; the array of {"team","seq","members"} in *doc. */
static int
teams_fetch(struct api *a, json_t **doc)
{
	if (api_get_json(a, "/api/v1/admin/teams", "the team list", doc) != 0)
		return -1;
	if (!json_is_array(json_object_get(*doc, "teams"))) {
		cli_error("bad answer from the server: no team list");
		return -1;
	}
	return 0;
}

/* Return 1 if `team` is in `list` (the "teams" array), else 0. */
static int
teams_has(json_t *list, const char *team)
{
	json_t *t;
	size_t i;
	json_array_foreach(list, i, t)
	{
		const char *name = json_string_value(json_object_get(t, "team"));
		if (name != NULL && strcmp(name, team) == 0)
			return 1;
	}
	return 0;
}

/* Append "a, b, c" (or "none yet") of the teams in `list` to `out`. */
static int
teams_join(json_t *list, struct buf *out)
{
	json_t *t;
	size_t i;
	if (json_array_size(list) == 0)
		return buf_adds(out, "none yet");
	json_array_foreach(list, i, t)
	{
		const char *name = json_string_value(json_object_get(t, "team"));
		if (name == NULL || !membership_team_valid(name) ||
		    buf_printf(out, "%s%s", i ? ", " : "", name) != 0)
			return -1;
	}
	return buf_cstr(out) != NULL ? 0 : -1;
}

int
admin_teams_require(struct api *a, const char *const *teams, size_t n)
{
	json_t *doc = NULL;
	struct buf names;
	int rc = -1;
	buf_init(&names, 8192);
	if (teams_fetch(a, &doc) != 0)
		goto out;
	json_t *list = json_object_get(doc, "teams");
	for (size_t i = 0; i < n; i++) {
		if (teams_has(list, teams[i]))
			continue;
		buf_reset(&names);
		if (teams_join(list, &names) != 0)
			goto out;
		cli_error("no such team %s (teams on this server: %s); an admin makes a team with "
		          "`tipctl admin team create %s`",
		          teams[i], buf_cstr(&names), teams[i]);
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	buf_free(&names);
	return rc;
}

void
admin_teams_print_members(const struct membership *m)
{
	size_t n = membership_count(m);
	fprintf(stderr, "members of team %s:", membership_team(m));
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s %s", i ? "," : "", membership_member_at(m, i)->name);
	fprintf(stderr, "%s\n", n == 0 ? " none" : "");
}

/* `admin team list`: one line per team. */
static int
team_list(void)
{
	struct api a;
	json_t *doc = NULL, *t;
	size_t i;
	int rc = CLI_ERR;
	if (admin_open(&a) != 0 || teams_fetch(&a, &doc) != 0)
		goto out;
	json_t *list = json_object_get(doc, "teams");
	if (json_array_size(list) == 0)
		printf("no team yet: make one with `tipctl admin team create TEAM`\n");
	json_array_foreach(list, i, t)
	{
		const char *name = json_string_value(json_object_get(t, "team"));
		if (name == NULL || !membership_team_valid(name))
			continue;
		printf("%-24s statement %-4lld %lld member%s\n", name,
		       (long long)json_integer_value(json_object_get(t, "seq")),
		       (long long)json_integer_value(json_object_get(t, "members")),
		       json_integer_value(json_object_get(t, "members")) == 1 ? "" : "s");
	}
	rc = CLI_OK;
out:
	json_decref(doc);
	api_close(&a);
	return rc;
}

struct team_opts {
	const char *key, *pass_file, *team;
	int yes;
};

/* Parse `admin team create` (argv[0] is "create"). Return -1 to go on, else the exit code. */
static int
team_opts_parse(int argc, char **argv, struct team_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_KEY(&o->key), OPT_PASS_FILE(&o->pass_file), OPT_YES(&o->yes),
		                    OPT_END };
	int rc = opts_parse(argc, argv, opts, "admin team create", team_usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc - 1 || !membership_team_valid(argv[optind]))
		return opts_usage_error(team_usage,
		                        "admin team create: give one TEAM (1-63 of a-z 0-9 -)");
	o->team = argv[optind];
	return OPTS_GO;
}

/* `admin team create TEAM`: ask, then sign and upload its first, empty statement. */
static int
team_create(int argc, char **argv)
{
	struct team_opts o;
	struct api a;
	json_t *doc = NULL, *ans = NULL;
	char q[160];
	int rc = team_opts_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	if (admin_open(&a) != 0 || teams_fetch(&a, &doc) != 0)
		goto out;
	if (teams_has(json_object_get(doc, "teams"), o.team)) {
		cli_error("team %s exists already: nothing changed", o.team);
		goto out;
	}
	snprintf(q, sizeof(q), "Create the new team %s?", o.team);
	if (!o.yes && cli_ask(q, "--yes") != 1) {
		cli_error("team %s was not created", o.team);
		goto out;
	}
	if (admin_stmt_submit(&a, o.key, o.pass_file, o.team, NULL, NULL, 0, &ans) != 0)
		goto out;
	printf("team %s created (statement 1, no member yet): invite people with "
	       "`tipctl admin invite --team %s`\n",
	       o.team, o.team);
	rc = CLI_OK;
out:
	json_decref(doc);
	json_decref(ans);
	api_close(&a);
	return rc;
}

int
admin_teams_main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(team_usage, stdout);
		return CLI_OK;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return team_list();
	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return team_create(argc - 1, argv + 1);
	cli_error("admin team: give list, or create TEAM");
	fputs(team_usage, stderr);
	return CLI_USAGE;
}

/* Reject enrollment `en` after showing it and asking. Return 0, 1 (not done), -1. */
static int
reject_one(struct api *a, json_t *en, int yes)
{
	struct client_response r;
	char path[96], q[160];
	const char *id = json_string_value(json_object_get(en, "id"));
	const char *name = json_string_value(json_object_get(en, "name"));
	const char *fp = json_string_value(json_object_get(en, "fingerprint"));
	int rc = -1;
	if (id == NULL || !util_uuid_valid(id) || name == NULL || !invite_name_valid(name) ||
	    fp == NULL || strlen(fp) != 16 || strspn(fp, "0123456789abcdef") != 16) {
		cli_error("bad answer from the server: a malformed enrollment");
		return -1;
	}
	char shown[NAMES_FP_LEN + 1];
	if (names_fingerprint_of_hash(fp, shown) != 0)
		return -1;
	printf("%s's enrollment\n  fingerprint: %s\n", name, shown);
	fflush(stdout);
	snprintf(q, sizeof(q), "Reject %s's enrollment? They will need a new invite.", name);
	if (!yes && cli_ask(q, "--yes") != 1) {
		cli_error("%s's enrollment was not rejected: nothing changed", name);
		return 1;
	}
	buf_init(&r.body, 65536);
	snprintf(path, sizeof(path), "/api/v1/admin/enrollments/%s/reject", id);
	if (api_call(a, "POST", path, NULL, &r, "the enrollment") == 0) {
		printf("  %s's enrollment rejected\n", name);
		rc = 0;
	}
	buf_free(&r.body);
	return rc;
}

int
admin_teams_reject(int argc, char **argv)
{
	struct api a;
	json_t *doc = NULL, *en;
	const char *name = NULL;
	size_t i, seen = 0;
	int yes = 0, rc = CLI_USAGE, not_done = 0;
	memset(&a, 0, sizeof(a));
	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
			fputs(reject_usage, stdout);
			return CLI_OK;
		}
		if (strcmp(argv[k], "--yes") == 0)
			yes = 1;
		else if (name == NULL && invite_name_valid(argv[k]))
			name = argv[k];
		else
			goto usage;
	}
	if (name == NULL)
		goto usage;
	rc = CLI_ERR;
	if (admin_open(&a) != 0 ||
	    api_get_json(&a, "/api/v1/admin/enrollments", "the enrollments", &doc) != 0)
		goto out;
	json_array_foreach(json_object_get(doc, "enrollments"), i, en)
	{
		const char *n = json_string_value(json_object_get(en, "name"));
		if (n == NULL || strcmp(n, name) != 0)
			continue;
		seen++;
		not_done |= reject_one(&a, en, yes) != 0;
	}
	if (seen == 0)
		cli_error("no pending enrollment for %s", name);
	rc = seen > 0 && !not_done ? CLI_OK : CLI_ERR;
	goto out;
usage:
	cli_error("admin reject: give one NAME (and --yes to skip the question)");
	fputs(reject_usage, stderr);
out:
	json_decref(doc);
	api_close(&a);
	return rc;
}
