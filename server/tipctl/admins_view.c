#include "admins_view.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_online.h"
#include "api.h"
#include "cli.h"
#include "membership.h"
#include "seen.h"
#include "util.h"

static const char list_usage[] =
	"usage: tipctl admin list [--json]\n"
	"\n"
	"Show the admin chain: every signed admin statement, verified from the admin keys\n"
	"your invite pinned, and the admins (and quorum) in force now. Refuses a chain\n"
	"older than, or different from, one this computer has already seen.\n";

const char admins_change_usage[] =
	"usage: tipctl admin add VERIFIER-KEY [--quorum N] [OPTIONS]\n"
	"       tipctl admin remove NAME|FINGERPRINT [--quorum N] [OPTIONS]\n"
	"       tipctl admin cosign FILE [OPTIONS]\n"
	"\n"
	"Add an admin (their verifier key, as `tipctl admin keygen` printed it on their\n"
	"machine, read to you over a channel you trust), or remove one, by signing the\n"
	"next admin statement with your admin key (admin session). When your signature\n"
	"is not enough for the quorum, the statement goes to --out FILE: the other admins\n"
	"run `tipctl admin cosign FILE`, and the last one's signature uploads it. Before a\n"
	"removal, every team whose latest membership statement only the leaving admin\n"
	"signed is re-signed by you with the same members, so that no team stops getting\n"
	"reports. The question comes first, your passphrase only after a yes.\n"
	"\n"
	"  --quorum N              signatures the next change will need (default: as now)\n"
	"  --out FILE              write the statement to FILE (new) instead of uploading\n"
	"  --key FILE              your admin key (default: the one you enrolled)\n"
	"  --passphrase-file FILE  take its passphrase from the first line of FILE\n"
	"  --yes                   do not ask (only after comparing fingerprints yourself)\n";

void
admins_view_clear(struct admins_view *v)
{
	for (size_t i = 0; i < v->never; i++)
		note_verifier_free(v->ever[i]);
	admins_free(v->head);
	json_decref(v->stmts);
	memset(v, 0, sizeof(*v));
}

/* Add `key` (verifier text) to v->ever unless it is there. Return 0, or -1. */
static int
ever_add(struct admins_view *v, const char *key)
{
	struct note_verifier *nv = note_verifier_parse(key, strlen(key));
	if (nv == NULL)
		return -1;
	for (size_t i = 0; i < v->never; i++) {
		if (sodium_memcmp(note_verifier_pk(v->ever[i]), note_verifier_pk(nv), NOTE_PK_LEN) == 0) {
			note_verifier_free(nv);
			return 0;
		}
	}
	if (v->never == ADMINS_VIEW_EVER_MAX) {
		note_verifier_free(nv);
		return -1;
	}
	v->ever[v->never++] = nv;
	return 0;
}

/* Verify the statements of `arr` from the `npinned` first keys of v->ever,
 * `quorum0` of which must sign the first. */
static int
view_verify(struct admins_view *v, size_t npinned, unsigned quorum0, json_t *arr)
{
	struct admins *prev = NULL, *cur = NULL;
	json_t *s;
	size_t i;
	if (!json_is_array(arr) || json_array_size(arr) > ADMINS_CHAIN_MAX)
		return -1;
	json_array_foreach(arr, i, s) {
		const char *t = json_string_value(s);
		enum admins_result r =
			t == NULL ? ADMINS_ERR_FORMAT
			          : admins_open_next(prev, (const struct note_verifier *const *)v->ever,
			                             npinned, quorum0, t, json_string_length(s), &cur);
		admins_free(prev);
		prev = NULL;
		if (r != ADMINS_OK) {
			cli_error("admin statement %zu does not verify against the admin keys you pinned: "
			          "%s; refusing (tell your admins)", i + 1, admins_strerror(r));
			return -1;
		}
		prev = cur;
		for (size_t k = 0; k < admins_count(cur); k++)
			if (ever_add(v, admins_key_text(cur, k)) != 0) {
				admins_free(prev);
				return -1;
			}
	}
	v->head = prev;
	return 0;
}

int
admins_view_load(struct api *a, struct admins_view *v)
{
	json_t *doc = NULL;
	size_t npinned;
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < a->s->n_admin_keys; i++)
		if (ever_add(v, a->s->admin_keys[i]) != 0) {
			cli_error("a pinned admin key in your session is malformed: log in again");
			goto fail;
		}
	npinned = v->never;
	if (npinned == 0) {
		cli_error("no admin key is pinned in this session: log in again with --admin-key");
		goto fail;
	}
	if (api_get_json(a, "/api/v1/admins", "the admin chain", &doc) != 0)
		goto fail;
	/* The configured quorum for the first statement is the server's word
	 * (docs/threat-model.md §3.7): at least one pinned key, at most all. */
	json_int_t q0 = json_integer_value(json_object_get(doc, "quorum"));
	unsigned quorum0 = q0 < 1 ? 1 : q0 > (json_int_t)npinned ? (unsigned)npinned : (unsigned)q0;
	if (view_verify(v, npinned, quorum0, json_object_get(doc, "statements")) != 0)
		goto fail;
	if (seen_check_admins(a->s->server, v->head != NULL ? admins_seq(v->head) : 0,
	                      v->head != NULL ? admins_hash(v->head) : NULL) != SEEN_OK)
		goto fail;
	for (size_t i = 0; i < v->never; i++)
		if (v->head != NULL ? admins_has_key(v->head, note_verifier_pk(v->ever[i]))
		                    : i < npinned)
			v->cur[v->ncur++] = v->ever[i];
	v->stmts = json_incref(json_object_get(doc, "statements"));
	json_decref(doc);
	return 0;
fail:
	json_decref(doc);
	admins_view_clear(v);
	return -1;
}

int
admins_view_signed_by_current(const struct admins_view *v, const char *note, size_t len)
{
	size_t n = 0;
	size_t k = v->ncur > ADMINS_MAX * 2 ? ADMINS_MAX * 2 : v->ncur;
	return admins_count_signers(note, len, v->cur, k, &n) == ADMINS_OK && n > 0;
}

/* ---- list ---- */

/* Print one admin key: "name  fingerprint". */
static void
print_admin(const struct note_verifier *nv, const char *mark)
{
	char fp[17];
	membership_fingerprint(note_verifier_pk(nv), fp);
	printf("  %s%-24s %.4s %.4s %.4s %.4s\n", mark, note_verifier_name(nv), fp, fp + 4, fp + 8,
	       fp + 12);
}

/* Print the chain of `v` as a readable table. */
static void
list_print(const struct admins_view *v, size_t npinned)
{
	json_t *s;
	size_t i;
	printf("pinned at enrollment (%zu key%s):\n", npinned, npinned == 1 ? "" : "s");
	for (i = 0; i < npinned; i++)
		print_admin(v->ever[i], "");
	json_array_foreach(v->stmts, i, s) {
		struct admins *st = NULL;
		if (admins_parse(json_string_value(s), json_string_length(s), &st) != ADMINS_OK)
			continue;
		printf("admin statement %llu (quorum %u):\n", (unsigned long long)admins_seq(st),
		       admins_quorum(st));
		for (size_t k = 0; k < admins_count(st); k++)
			print_admin(admins_at(st, k), "");
		admins_free(st);
	}
	printf("current admins (%zu), %u signature%s needed for the next change:\n", v->ncur,
	       v->head != NULL ? admins_quorum(v->head) : 0u,
	       v->head != NULL && admins_quorum(v->head) == 1 ? "" : "s");
	for (i = 0; i < v->ncur; i++)
		print_admin(v->cur[i], "* ");
}

int
admins_cmd_list(int argc, char **argv)
{
	struct api a;
	struct admins_view v;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0;
	memset(&a, 0, sizeof(a));
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(list_usage, stdout);
		return CLI_OK;
	}
	if (argc != 1 && !json) {
		fputs(list_usage, stderr);
		return CLI_USAGE;
	}
	if (api_open(&a) != 0 || admins_view_load(&a, &v) != 0) {
		api_close(&a);
		return CLI_ERR;
	}
	if (json) {
		json_t *cur = json_array();
		for (size_t i = 0; i < v.ncur; i++) {
			char fp[17];
			membership_fingerprint(note_verifier_pk(v.cur[i]), fp);
			json_array_append_new(cur, json_pack("{s:s, s:s}", "name",
			                                     note_verifier_name(v.cur[i]), "fingerprint", fp));
		}
		json_t *doc = json_pack("{s:I, s:o, s:O}", "seq",
		                        (json_int_t)(v.head ? admins_seq(v.head) : 0), "current", cur,
		                        "statements", v.stmts);
		char *txt = doc != NULL ? json_dumps(doc, JSON_INDENT(2)) : NULL;
		if (txt != NULL)
			printf("%s\n", txt);
		free(txt);
		json_decref(doc);
	} else {
		list_print(&v, a.s->n_admin_keys);
	}
	admins_view_clear(&v);
	api_close(&a);
	return CLI_OK;
}
