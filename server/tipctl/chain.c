#include "chain.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "admins_view.h"
#include "api.h"
#include "cli.h"
#include "seen.h"
#include "util.h"

#define CHAIN_ERROR \
	"team %s: the team's membership statement does not verify against your pinned admin keys"
#define TEAM_MISMATCH \
	"report %s: the server names team %s, but the report itself (sealed at submission) " \
	"names team %s: refusing, nothing was sent; tell an admin (the server's data was altered)"

int
chain_verify(const char *const *stmts, size_t n, const char *team,
                        const struct note_verifier *const *admins, size_t nadmins,
                        struct membership **out)
{
	struct membership *prev = NULL;
	*out = NULL;
	if (n == 0 || nadmins == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct membership *m = NULL;
		if (membership_open(stmts[i], strlen(stmts[i]), admins, nadmins, &m) != MEMBERSHIP_OK ||
		    membership_check_next(prev, m) != MEMBERSHIP_OK ||
		    strcmp(membership_team(m), team) != 0) {
			membership_free(m);
			membership_free(prev);
			return -1;
		}
		membership_free(prev);
		prev = m;
	}
	*out = prev;
	return 0;
}

/* A team without a statement on the server: fine (return 0) unless this
 * computer already verified one (return -1, printed). */
static int
chain_empty_ok(struct api *a, const char *team)
{
	uint64_t seen = 0;
	if (seen_lookup(a->s->server, team, &seen) != SEEN_OK)
		return -1;
	if (seen != 0) {
		cli_error("the server shows no membership for team %s, but this computer has "
		          "seen its statement %llu: refusing; tell an admin", team,
		          (unsigned long long)seen);
		return -1;
	}
	return 0;
}

/* Write the names and key hashes of the admin keys among the `n` `admins`
 * that signed `stmt` into `out` (`outlen` bytes). */
static void
chain_signers(const char *stmt, struct note_verifier *const *admins, size_t n, char *out,
              size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct note_verifier *one = admins[i];
		struct membership *m = NULL;
		if (membership_open(stmt, strlen(stmt), &one, 1, &m) != MEMBERSHIP_OK)
			continue;
		membership_free(m);
		int w = snprintf(out + o, outlen - o, "%s%s (key %08x)", o != 0 ? ", " : "",
		                 note_verifier_name(one), (unsigned)note_verifier_hash(one));
		if (w < 0 || (size_t)w >= outlen - o)
			break;
		o += (size_t)w;
	}
}

/* Verify the `n` statements `stmts` of `team` (links by any admin the admin
 * chain ever named, the head by a current one) into *m, and write who
 * signed the head into `signers` (if not NULL). Return 0, 1 if they do not
 * verify, or -1 (printed). */
static int
chain_check(struct api *a, const char *team, const char *const *stmts, size_t n,
            struct membership **m, char *signers, size_t signers_len)
{
	struct admins_view av;
	int rc = 1;
	memset(&av, 0, sizeof(av));
	if (admins_view_load(a, &av) != 0)
		return -1;
	if (chain_verify(stmts, n, team, (const struct note_verifier *const *)av.ever, av.never,
	                 m) != 0)
		goto out;
	if (!admins_view_signed_by_current(&av, stmts[n - 1], strlen(stmts[n - 1]))) {
		membership_free(*m);
		*m = NULL;
		goto out;
	}
	if (signers != NULL)
		chain_signers(stmts[n - 1], av.ever, av.never, signers, signers_len);
	rc = 0;
out:
	admins_view_clear(&av);
	return rc;
}

int
chain_fetch_signed(struct api *a, const char *team, int allow_empty, struct membership **m,
                   char *signers, size_t signers_len)
{
	const char *stmts[CHAIN_MAX];
	json_t *chain = NULL, *v;
	char path[160];
	size_t i;
	int rc = -1;
	*m = NULL;
	snprintf(path, sizeof(path), "/api/v1/teams/%s/membership", team);
	if (api_get_json(a, path, "the team's membership", &chain) != 0)
		goto out;
	json_t *arr = json_object_get(chain, "statements");
	if (!json_is_array(arr) || json_array_size(arr) > CHAIN_MAX) {
		rc = 1;
		goto out;
	}
	if (allow_empty && json_array_size(arr) == 0) {
		rc = chain_empty_ok(a, team);
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if ((stmts[i] = json_string_value(v)) == NULL) {
			rc = 1;
			goto out;
		}
	}
	rc = json_array_size(arr) == 0 ? 1
	                               : chain_check(a, team, stmts, json_array_size(arr), m, signers,
	                                             signers_len);
	/* Never older than (or beside) what this computer already verified: seen.h. */
	if (rc == 0 && seen_check_and_update(a->s->server, *m) != SEEN_OK) {
		membership_free(*m);
		*m = NULL;
		rc = -1;
	}
out:
	if (rc == 1)
		cli_error(CHAIN_ERROR, team);
	json_decref(chain);
	return rc == 0 ? 0 : -1;
}

int
chain_fetch(struct api *a, const char *team, int allow_empty, struct membership **m)
{
	return chain_fetch_signed(a, team, allow_empty, m, NULL, 0);
}

int
chain_sealed_team(json_t *meta, json_t *doc, const char *rid, const char **team)
{
	const char *sealed = json_string_value(json_object_get(doc, "team"));
	const char *named = json_string_value(json_object_get(meta, "team"));
	*team = NULL;
	if (sealed == NULL || !membership_team_valid(sealed)) {
		cli_error("report %s names no valid team inside it: refusing", rid);
		return -1;
	}
	if (named == NULL || strcmp(named, sealed) != 0) {
		cli_error(TEAM_MISMATCH, rid,
		          named != NULL && membership_team_valid(named) ? named : "(none or invalid)",
		          sealed);
		return -1;
	}
	*team = sealed;
	return 0;
}

int
chain_team_membership(struct api *a, json_t *meta, json_t *doc, struct membership **m)
{
	const char *team = NULL, *rid = json_string_value(json_object_get(meta, "id"));
	*m = NULL;
	if (chain_sealed_team(meta, doc, rid != NULL && util_uuid_valid(rid) ? rid : "?",
	                           &team) != 0)
		return -1;
	if (a->s->n_admin_keys == 0) {
		fprintf(stderr, "no admin key is pinned: reply authors are not checked against the "
		                "membership (log in with --admin-key)\n");
		return 0;
	}
	return chain_fetch(a, team, 0, m);
}
