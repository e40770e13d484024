#include "admin_partners.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_online.h"
#include "admins_view.h"
#include "api.h"
#include "buf.h"
#include "cli.h"
#include "note.h"
#include "opts.h"
#include "partner.h"
#include "secmem.h"
#include "util.h"

#define RETENTION_DAYS_MAX 36500

static const char partner_usage[] =
	"usage: tipctl admin partner add NAME RECIPIENT [--key FILE] [--passphrase-file FILE] [--yes]\n"
	"       tipctl admin partner list\n"
	"       tipctl admin partner remove NAME [--yes]\n"
	"\n"
	"Pin a partner agency's age recipient (age1...) under NAME (1-63 of a-z 0-9 . _ -)\n"
	"in a statement signed with your admin key (origin line tipline/v1/partner, bound\n"
	"to this server's review origin). Investigators can then refer a case to it with\n"
	"`tipctl tips refer ID --to NAME`: the case is encrypted to that key only, after\n"
	"their tipctl verified the statement against the admin keys it pinned. Compare\n"
	"the recipient with the partner over a channel you trust before adding it.\n"
	"`list` shows each partner and whether its statement verifies; `remove` deletes\n"
	"it (audited). To change a partner's key, remove it and add it again.\n"
	"\n"
	"  --key FILE             your admin key file (default: the one your profile names)\n"
	"  --passphrase-file FILE take the admin key's passphrase from the first line of FILE\n"
	"  --yes                  do not ask for confirmation\n";

static const char retention_usage[] =
	"usage: tipctl admin retention set TEAM [--closed-days N | --keep-closed]\n"
	"                                       [--open-days M | --keep-open] [--yes]\n"
	"       tipctl admin retention list\n"
	"\n"
	"Set team TEAM's retention policy: `tipd purge` (daily, tipd-purge.timer)\n"
	"deletes closed reports N days after they were closed and every other report\n"
	"M days after it arrived, with everything that belongs to them, except reports\n"
	"under legal hold (`tipctl tips hold ID`). --keep-closed / --keep-open (the\n"
	"default for an option not given) keep them. `list` shows every team's policy\n"
	"and the reports under legal hold. Backups keep sealed copies until they expire.\n";

/* Options of the partner and retention commands. */
struct ap_opts {
	const char *key, *pass_file;
	int yes, keep_closed, keep_open;
	long closed, open; /* -1: not given */
};

/* Store in the long `dst` the number of days `arg` (1 to RETENTION_DAYS_MAX)
 * given to option `name`. Return 0, or -1 (printed). */
static int
ap_days(const char *arg, void *dst, const char *name)
{
	uint64_t v;
	if (util_parse_u64(arg, RETENTION_DAYS_MAX, &v) != 0 || v == 0) {
		cli_error("%s wants a number of days from 1 to %d, not '%s'", name, RETENTION_DAYS_MAX,
		          arg);
		return -1;
	}
	*(long *)dst = (long)v;
	return 0;
}

/* --closed-days (opt_fn). */
static int
ap_closed_days(const char *arg, void *dst)
{
	return ap_days(arg, dst, "--closed-days");
}

/* --open-days (opt_fn). */
static int
ap_open_days(const char *arg, void *dst)
{
	return ap_days(arg, dst, "--open-days");
}

/* Parse the options after the subcommand; positional arguments stay in
 * argv[optind..]. Return OPTS_GO (-1) to go on, or an exit code. */
static int
ap_parse(int argc, char **argv, const char *usage, struct ap_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->closed = o->open = -1;
	const struct opt opts[] = {
		OPT_KEY(&o->key),
		OPT_PASS_FILE(&o->pass_file),
		OPT_YES(&o->yes),
		OPT_FN("closed-days", ap_closed_days, &o->closed),
		OPT_FN("open-days", ap_open_days, &o->open),
		OPT_FLAG("keep-closed", &o->keep_closed),
		OPT_FLAG("keep-open", &o->keep_open),
		OPT_END,
	};
	int rc = opts_parse(argc, argv, opts, NULL, usage);
	if (rc != OPTS_GO)
		return rc;
	if ((o->keep_closed && o->closed > 0) || (o->keep_open && o->open > 0))
		return opts_usage_error(usage, "give either --closed-days or --keep-closed (and "
		                               "--open-days or --keep-open)");
	return OPTS_GO;
}

int
admin_partners_verify(const struct admins_view *v, const char *origin, const char *statement,
                      struct partner *p)
{
	return (int)partner_open(statement, strlen(statement), v->cur, v->ncur, origin, p);
}

void
admin_partners_warn_retired(struct api *a)
{
	struct admins_view v;
	json_t *doc = NULL, *o;
	size_t i;
	if (admins_view_load(a, &v) != 0)
		return;
	if (api_get_json(a, "/api/v1/partners", "the partners", &doc) == 0) {
		json_array_foreach(json_object_get(doc, "partners"), i, o) {
			const char *n = json_string_value(json_object_get(o, "name"));
			const char *st = json_string_value(json_object_get(o, "statement"));
			struct partner p;
			if (n == NULL || st == NULL ||
			    admin_partners_verify(&v, a->s->origin, st, &p) == 0)
				continue;
			/* No recipient is shown: the server's word is not a pin. */
			printf("warning: partner %s is no longer pinned by a current admin: no case is "
			       "referred to it until one pins it again (tipctl admin partner remove %s, "
			       "then tipctl admin partner add %s RECIPIENT, the recipient compared with "
			       "the partner again)\n", n, n, n);
		}
	}
	json_decref(doc);
	admins_view_clear(&v);
}

int
admin_partners_fetch(struct api *a, const char *name, struct partner *p, char *signer,
                     size_t signer_len)
{
	struct admins_view v;
	json_t *doc = NULL, *o;
	size_t i;
	int rc = -1, found = 0;
	if (admins_view_load(a, &v) != 0)
		return -1;
	if (api_get_json(a, "/api/v1/partners", "the partners", &doc) != 0)
		goto out;
	json_array_foreach(json_object_get(doc, "partners"), i, o) {
		const char *n = json_string_value(json_object_get(o, "name"));
		const char *st = json_string_value(json_object_get(o, "statement"));
		if (n == NULL || strcmp(n, name) != 0)
			continue;
		found = 1;
		int vr = st != NULL ? admin_partners_verify(&v, a->s->origin, st, p)
		                    : PARTNER_ERR_FORMAT;
		if (vr != 0 || strcmp(p->name, name) != 0) {
			cli_error("the statement the server shows for partner %s does not verify "
			          "against the current admins you trust (%s): refusing; nothing was "
			          "written or sent; tell an admin", name,
			          vr != 0 ? partner_strerror((enum partner_result)vr) : "it names another partner");
			goto out;
		}
		struct buf t;
		buf_init(&t, signer_len);
		rc = note_verifier_text(v.cur[p->signer], &t) == 0 ? 0 : -1;
		if (rc == 0)
			snprintf(signer, signer_len, "%s", buf_cstr(&t));
		else
			cli_error("the key of the admin who pinned %s does not fit in %zu bytes", name,
			          signer_len);
		buf_free(&t);
		break;
	}
	if (!found)
		cli_error("no partner named %s on this server (tipctl admin partner list)", name);
out:
	json_decref(doc);
	admins_view_clear(&v);
	return rc;
}

/* `admin partner add NAME RECIPIENT`. */
static int
partner_add(const struct ap_opts *o, const char *name, const char *recipient)
{
	struct api a;
	struct buf text, note;
	struct note_signer *key = NULL;
	char q[1024];
	int rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	buf_init(&text, 1024);
	buf_init(&note, PARTNER_STATEMENT_MAX);
	if (admin_open(&a) != 0)
		goto out;
	if (partner_build_text(a.s->origin, name, recipient, &text) != 0) {
		cli_error("partner add: NAME is 1-63 of a-z 0-9 . _ - and RECIPIENT an age1... key");
		rc = CLI_USAGE;
		goto out;
	}
	snprintf(q, sizeof(q), "Pin %.130s as partner %.63s on %.512s? Cases referred to it are "
	         "readable by whoever holds its key.", recipient, name, a.s->origin);
	int yes = o->yes ? 1 : cli_ask(q, "--yes");
	if (yes != 1) {
		if (yes == 0)
			printf("nothing was changed\n");
		goto out;
	}
	if ((key = admin_key_load(o->key, o->pass_file)) == NULL)
		goto out;
	if (note_sign(key, (const char *)text.data, text.len, &note) != 0 ||
	    buf_cstr(&note) == NULL) {
		cli_error("cannot sign the partner statement");
		goto out;
	}
	if (api_send(&a, "POST", "/api/v1/admin/partners",
	             json_pack("{s:s}", "statement", buf_cstr(&note)), "the partner", NULL) != 0)
		goto out;
	printf("partner %s added: cases referred to it are encrypted to %s only\n", name, recipient);
	rc = CLI_OK;
out:
	note_signer_free(key);
	api_close(&a);
	buf_free(&text);
	buf_free(&note);
	return rc;
}

/* `admin partner list`. Exit 1 if any statement does not verify. */
static int
partner_list(void)
{
	struct api a;
	struct admins_view v;
	json_t *doc = NULL, *o;
	size_t i;
	int rc = CLI_ERR, bad = 0;
	memset(&a, 0, sizeof(a));
	memset(&v, 0, sizeof(v));
	if (api_open(&a) != 0 || admins_view_load(&a, &v) != 0 ||
	    api_get_json(&a, "/api/v1/partners", "the partners", &doc) != 0)
		goto out;
	json_array_foreach(json_object_get(doc, "partners"), i, o) {
		const char *st = json_string_value(json_object_get(o, "statement"));
		const char *n = json_string_value(json_object_get(o, "name"));
		struct partner p;
		int vr = st != NULL ? admin_partners_verify(&v, a.s->origin, st, &p)
		                    : PARTNER_ERR_FORMAT;
		if (vr == 0 && n != NULL && strcmp(n, p.name) == 0) {
			printf("%-24s %s  added %s\n", p.name, p.recipient,
			       json_string_value(json_object_get(o, "added_on")) ? json_string_value(
			               json_object_get(o, "added_on")) : "?");
		} else {
			bad++;
			printf("%-24s DOES NOT VERIFY (%s): never referred to\n", n != NULL ? n : "?",
			       vr != 0 ? partner_strerror((enum partner_result)vr) : "another name");
		}
	}
	if (i == 0)
		printf("no partners (tipctl admin partner add NAME RECIPIENT)\n");
	rc = bad == 0 ? CLI_OK : CLI_ERR;
out:
	json_decref(doc);
	admins_view_clear(&v);
	api_close(&a);
	return rc;
}

/* `admin partner remove NAME`. */
static int
partner_remove(const struct ap_opts *o, const char *name)
{
	struct api a;
	struct client_response r;
	char path[128], q[160];
	int rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	buf_init(&r.body, 65536);
	if (!partner_name_valid(name)) {
		cli_error("partner remove: not a partner name: %s", name);
		rc = CLI_USAGE;
		goto out;
	}
	snprintf(q, sizeof(q), "Remove partner %s? Nobody can refer a case to it afterwards.", name);
	int yes = o->yes ? 1 : cli_ask(q, "--yes");
	if (yes != 1)
		goto out;
	snprintf(path, sizeof(path), "/api/v1/admin/partners/%s", name);
	if (admin_open(&a) != 0 || api_call(&a, "DELETE", path, NULL, &r, "the partner") != 0)
		goto out;
	printf("partner %s removed\n", name);
	rc = CLI_OK;
out:
	api_close(&a);
	buf_free(&r.body);
	return rc;
}

/* Parse `admin partner|retention SUB [OPTIONS] [ARGS]` (argv[0] is
 * "partner" or "retention") into `o`; store the operands after SUB in *pos
 * and their number in *npos. Return OPTS_GO (-1) to go on, or an exit code. */
static int
ap_begin(int argc, char **argv, const char *usage, struct ap_opts *o, char ***pos, int *npos)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	int rc = ap_parse(argc - 1, argv + 1, usage, o);
	*npos = argc - 1 - optind;
	*pos = argv + 1 + optind;
	return rc;
}

int
admin_partners_main(int argc, char **argv)
{
	struct ap_opts o;
	char **pos;
	int npos, rc = ap_begin(argc, argv, partner_usage, &o, &pos, &npos);
	if (rc != OPTS_GO)
		return rc;
	const char *sub = argv[1];
	if (strcmp(sub, "add") == 0 && npos == 2)
		return partner_add(&o, pos[0], pos[1]);
	if (strcmp(sub, "list") == 0 && npos == 0)
		return partner_list();
	if (strcmp(sub, "remove") == 0 && npos == 1)
		return partner_remove(&o, pos[0]);
	return opts_usage_error(partner_usage,
	                        "admin partner: give add NAME RECIPIENT, list, or remove NAME");
}

/* ---- retention ---- */

/* Print "N days" or "kept" for the JSON days `v`. */
static void
print_days(const char *what, json_t *v)
{
	if (json_is_integer(v))
		printf("  %s after %lld days", what, (long long)json_integer_value(v));
	else
		printf("  %s kept", what);
}

static int
retention_list(void)
{
	struct api a;
	json_t *doc = NULL, *o;
	size_t i;
	int rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	if (admin_open(&a) != 0 ||
	    api_get_json(&a, "/api/v1/admin/retention", "the retention policies", &doc) != 0)
		goto out;
	json_array_foreach(json_object_get(doc, "policies"), i, o) {
		printf("%-24s", json_string_value(json_object_get(o, "team")) ?: "?");
		print_days("closed: purged", json_object_get(o, "closed_days"));
		print_days("others: purged", json_object_get(o, "open_days"));
		printf("\n");
	}
	if (i == 0)
		printf("no retention policy: every report is kept\n");
	json_array_foreach(json_object_get(doc, "held"), i, o)
		printf("legal hold: report %s (team %s)\n",
		       json_string_value(json_object_get(o, "id")) ?: "?",
		       json_string_value(json_object_get(o, "team")) ?: "?");
	rc = CLI_OK;
out:
	json_decref(doc);
	api_close(&a);
	return rc;
}

static int
retention_set(const struct ap_opts *o, const char *team)
{
	struct api a;
	char path[160], q[256];
	int rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	snprintf(q, sizeof(q), "Set team %s's retention: closed reports %s%ld%s, others %s%ld%s? "
	         "tipd purge deletes what is due, for good.", team,
	         o->closed > 0 ? "purged after " : "kept", o->closed > 0 ? o->closed : 0L,
	         o->closed > 0 ? " days" : "", o->open > 0 ? "purged after " : "kept",
	         o->open > 0 ? o->open : 0L, o->open > 0 ? " days" : "");
	int yes = o->yes ? 1 : cli_ask(q, "--yes");
	if (yes != 1)
		goto out;
	snprintf(path, sizeof(path), "/api/v1/admin/teams/%s/retention", team);
	if (admin_open(&a) != 0 ||
	    api_send(&a, "PUT", path,
	             json_pack("{s:o, s:o}", "closed_days",
	                       o->closed > 0 ? json_integer(o->closed) : json_null(), "open_days",
	                       o->open > 0 ? json_integer(o->open) : json_null()),
	             "the team", NULL) != 0)
		goto out;
	printf("team %s: retention policy set\n", team);
	rc = CLI_OK;
out:
	api_close(&a);
	return rc;
}

int
admin_retention_main(int argc, char **argv)
{
	struct ap_opts o;
	char **pos;
	int npos, rc = ap_begin(argc, argv, retention_usage, &o, &pos, &npos);
	if (rc != OPTS_GO)
		return rc;
	const char *sub = argv[1];
	if (strcmp(sub, "list") == 0 && npos == 0)
		return retention_list();
	if (strcmp(sub, "set") == 0 && npos == 1) {
		if (o.closed < 0 && o.open < 0 && !o.keep_closed && !o.keep_open) {
			return opts_usage_error(retention_usage, "admin retention set: give "
			                        "--closed-days/--keep-closed and/or --open-days/--keep-open");
		}
		return retention_set(&o, pos[0]);
	}
	return opts_usage_error(retention_usage, "admin retention: give set TEAM ..., or list");
}
