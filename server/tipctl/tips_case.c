#include "tips_case.h"

#include <string.h>

#include "api.h"
#include "chain.h"
#include "cli.h"
#include "identity.h"
#include "membership.h"
#include "report.h"
#include "tips_open.h"
#include "tips_thread.h"

void
tips_case_init(struct tips_case *c, const char *rid)
{
	memset(c, 0, sizeof(*c));
	c->rid = rid;
	buf_init_secure(&c->json, TIPS_REPORT_MAX + 1);
}

int
tips_case_open(struct tips_case *c, struct api *a, const char *identity, const char *pass_file)
{
	if ((c->id = api_identity_load(identity, pass_file)) == NULL ||
	    tips_open_fetch_report(a, c->id, c->rid, &c->meta, &c->doc, &c->json) != 0)
		return -1;
	if ((c->files = report_files_new(c->doc)) == NULL) {
		cli_error("out of memory");
		return -1;
	}
	return 0;
}

int
tips_case_context(struct tips_case *c, struct api *a)
{
	if (api_get_json(a, "/api/v1/questionnaire", "the questionnaire", &c->quest) != 0)
		c->quest = NULL;
	return chain_team_membership(a, c->meta, c->doc, &c->m);
}

int
tips_case_object(struct tips_case *c, json_t *o, const char *kind, json_t **out)
{
	*out = NULL;
	if (tips_thread_open_checked(o, kind, c->rid, c->id, c->m, c->doc, out) != 0)
		return -1;
	if (report_files_add(c->files, *out) != 0) {
		cli_error("out of memory");
		return -1;
	}
	return 0;
}

void
tips_case_free(struct tips_case *c)
{
	membership_free(c->m);
	json_decref(c->quest);
	json_decref(c->files);
	json_decref(c->doc);
	json_decref(c->meta);
	identity_free(c->id);
	buf_free(&c->json);
	memset(c, 0, sizeof(*c));
}
