/*
 * teams_chain: one team's chain of membership statements, opened and
 * verified against the admin chain (see teams_chain.h).
 */
#include "teams_chain.h"

#include <string.h>

#include "adminchain.h"
#include "log.h"
#include "note.h"

/* Open `text` against every admin the admin chain has ever named: a link of
 * a team's chain made by an admin since removed stays valid. */
enum membership_result
teams_chain_open(const struct adminchain *ac, const char *text, size_t len, struct membership **m)
{
	size_t n;
	const struct note_verifier *const *ever = adminchain_ever(ac, &n);
	return membership_open(text, len, ever, n, m);
}

/* Open `text` as a team's head: it must also carry a current admin's
 * signature, so that a removed admin cannot make the next statement. */
enum membership_result
teams_chain_open_head(const struct adminchain *ac, const char *text, size_t len,
                      struct membership **m)
{
	enum membership_result mr = teams_chain_open(ac, text, len, m);
	if (mr == MEMBERSHIP_OK && !adminchain_signed_by_current(ac, text, len)) {
		membership_free(*m);
		*m = NULL;
		mr = MEMBERSHIP_ERR_UNSIGNED;
	}
	return mr;
}

PGconn *
teams_chain_connect(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		log_error("cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Verify one team's chain (rows [from, to) of `r`, ordered by seq), its
 * head by a current admin if `head_current`. Return the latest statement,
 * or NULL if any link fails (logged). */
struct membership *
teams_chain_verify(const struct adminchain *ac, PGresult *r, int from, int to, int head_current)
{
	struct membership *prev = NULL, *cur = NULL;
	for (int i = from; i < to; i++) {
		const char *text = PQgetvalue(r, i, 1);
		size_t len = (size_t)PQgetlength(r, i, 1);
		enum membership_result mr = i + 1 < to || !head_current
			? teams_chain_open(ac, text, len, &cur)
			: teams_chain_open_head(ac, text, len, &cur);
		if (mr == MEMBERSHIP_OK)
			mr = membership_check_next(prev, cur);
		if (mr == MEMBERSHIP_OK && strcmp(membership_team(cur), PQgetvalue(r, i, 0)) != 0)
			mr = MEMBERSHIP_ERR_TEAM;
		if (mr != MEMBERSHIP_OK) {
			log_error("team %s: membership statement %s does not verify (%s); "
			          "the team gets no reports until this is fixed",
			          PQgetvalue(r, i, 0), PQgetvalue(r, i, 2),
			          membership_strerror(mr));
			membership_free(prev);
			membership_free(cur);
			return NULL;
		}
		membership_free(prev);
		prev = cur;
		cur = NULL;
	}
	return prev;
}
