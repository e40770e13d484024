/*
 * admin_recovery: `tipctl admin recovery` (see admin_recovery.h).
 */
#include "admin_recovery.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "admin_online.h"
#include "age.h"
#include "api.h"
#include "cli.h"
#include "membership.h"
#include "note.h"
#include "opts.h"

static const char usage[] =
	"usage: tipctl admin recovery --team TEAM (--recipient age1... | --remove)\n"
	"                             [--name NAME] [--key FILE] [--passphrase-file FILE] [--yes]\n"
	"\n"
	"Make age1... TEAM's offline recovery recipient (made with `tipctl recovery\n"
	"keygen`): sign and upload the next membership statement with a member line\n"
	"NAME (default `recovery`) whose Ed25519 key is all zero, so every new report\n"
	"is sealed to it and it can never log in. A recovery recipient already there\n"
	"is replaced; --remove takes it out (its headers are deleted). Older reports\n"
	"reach it once a member runs `tipctl sync`.\n"
	"\n"
	"  --key FILE              your admin key (default: the one you enrolled)\n"
	"  --passphrase-file FILE  take its passphrase from the first line of FILE\n"
	"  --yes                   do not ask\n";

struct rec_opts {
	const char *team, *recipient, *name, *key, *pass_file;
	int remove, yes;
};

/* Parse the options into `o`; return OPTS_GO (-1) to go on, else an exit code. */
static int
rec_parse(int argc, char **argv, struct rec_opts *o)
{
	uint8_t pk[AGE_KEY_LEN];
	memset(o, 0, sizeof(*o));
	o->name = "recovery";
	const struct opt opts[] = {
		OPT_STR("team", &o->team), OPT_STR("recipient", &o->recipient),
		OPT_STR("name", &o->name), OPT_KEY(&o->key),
		OPT_PASS_FILE(&o->pass_file), OPT_FLAG("remove", &o->remove),
		OPT_YES(&o->yes),          OPT_END,
	};
	int rc = opts_parse(argc, argv, opts, NULL, usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc || o->team == NULL || !membership_team_valid(o->team) ||
	    (o->recipient == NULL) == !o->remove)
		return opts_usage_error(usage, "give --team TEAM and either --recipient age1... or "
		                               "--remove");
	if (o->recipient != NULL && age_recipient_decode(o->recipient, pk) != 0)
		return opts_usage_error(usage, "--recipient wants an age1... recipient (from `tipctl "
		                               "recovery keygen`)");
	return OPTS_GO;
}

/* Build the next member list from `head`: everyone but the recovery line,
 * plus the new one unless removing. Return the count, or -1 (printed). */
static int
next_members(const struct membership *head, const struct rec_opts *o,
             struct membership_member *ms, int *had)
{
	size_t n = 0;
	*had = 0;
	for (size_t i = 0; i < membership_count(head); i++) {
		const struct membership_member *m = membership_member_at(head, i);
		if (membership_member_is_recovery(m)) {
			*had = 1;
			continue;
		}
		if (o->recipient != NULL && strcmp(m->name, o->name) == 0) {
			cli_error("team %s already has a member named %s: pick another --name",
			          o->team, o->name);
			return -1;
		}
		ms[n++] = *m;
	}
	if (o->recipient != NULL) {
		struct membership_member *r = &ms[n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", o->name);
		snprintf(r->recipient, sizeof(r->recipient), "%s", o->recipient);
		if (age_recipient_decode(o->recipient, r->x25519_pk) != 0)
			return -1;
	}
	return (int)n;
}

int
admin_recovery_main(int argc, char **argv)
{
	struct rec_opts o;
	struct api a;
	struct membership *head = NULL;
	static struct membership_member ms[MEMBERSHIP_MAX_MEMBERS + 1];
	json_t *ans = NULL;
	char q[512];
	int had = 0, n;
	int rc = rec_parse(argc, argv, &o);
	memset(&a, 0, sizeof(a));
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	if (admin_team_open(&a, o.team, 1, &head) != 0 ||
	    (n = next_members(head, &o, ms, &had)) < 0)
		goto out;
	if (o.remove && !had) {
		cli_error("team %s has no recovery recipient: nothing changed", o.team);
		goto out;
	}
	if (o.remove)
		snprintf(q, sizeof(q), "Remove team %s's recovery recipient? Its headers are deleted.",
		         o.team);
	else
		snprintf(q, sizeof(q), "Make %s team %s's recovery recipient%s? Every new report is "
		         "sealed to it.", o.recipient, o.team, had ? " (replacing the one it has)" : "");
	if (!o.yes && cli_ask(q, "--yes") != 1) {
		cli_error("nothing changed");
		goto out;
	}
	if (admin_stmt_submit(&a, o.key, o.pass_file, o.team, head, ms, (size_t)n, &ans) != 0)
		goto out;
	printf("team %s: statement %lld stored; %s\n", o.team,
	       (long long)json_integer_value(json_object_get(ans, "seq")),
	       o.remove ? "no recovery recipient"
	                : "new reports are sealed to the recovery recipient; run `tipctl sync` "
	                  "as a member to give it the older ones");
	rc = CLI_OK;
out:
	json_decref(ans);
	membership_free(head);
	api_close(&a);
	return rc;
}
