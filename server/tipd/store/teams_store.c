/*
 * teams_store: `tipd membership add STATEMENT` (teams_add_statement in
 * teams.h): verify a signed membership statement against the pinned admin
 * keys and the team's stored chain, then store it in one transaction that
 * also deletes the headers and sessions of members it removes and audits
 * each change. Blocking libpq, for the command line only; a running tipd
 * picks the statement up with its watcher (teams.c).
 */
#include "teams.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "adminchain.h"
#include "audit.h"
#include "buf.h"
#include "membership.h"
#include "teams_chain.h"
#include "util.h"

static int
exec_ok(PGconn *c, const char *sql, int nparams, const char *const *params, const int *lens,
        const int *fmts)
{
	PGresult *r = PQexecParams(c, sql, nparams, NULL, params, lens, fmts, 0);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "tipd: database error: %s", PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

/* Append "{a,b,...}" items to `b`: the recipients (keys, in hex) of members
 * of `prev` that `next` no longer has. Return the count, or -1. */
static int
removed_literal(const struct membership *prev, const struct membership *next, int keys,
                struct buf *b)
{
	int n = 0;
	if (buf_adds(b, "{") != 0)
		return -1;
	for (size_t i = 0; prev != NULL && i < membership_count(prev); i++) {
		const struct membership_member *mm = membership_member_at(prev, i);
		char hex[65];
		if (keys ? membership_has_key(next, mm->ed25519_pk)
		         : membership_has_recipient(next, mm->recipient))
			continue;
		util_hex(mm->ed25519_pk, 32, hex);
		if (buf_printf(b, "%s%s", n++ ? "," : "", keys ? hex : mm->recipient) != 0)
			return -1;
	}
	return buf_adds(b, "}") == 0 ? n : -1;
}

/* In the open transaction on `c`: delete the headers (on the team's objects)
 * and the sessions of the members `prev` has and `next` has not, and audit
 * each removal. Return 0, or -1 (printed). */
static int
revoke_removed(PGconn *c, const struct membership *prev, const struct membership *next)
{
	struct buf rc, keys;
	int nr, nk, rv = -1;
	buf_init(&rc, 1 << 16);
	buf_init(&keys, 1 << 16);
	nr = removed_literal(prev, next, 0, &rc);
	nk = removed_literal(prev, next, 1, &keys);
	const char *team = membership_team(next);
	const char *v[2] = { team, buf_cstr(&rc) }, *k[1] = { buf_cstr(&keys) };
	if (nr < 0 || nk < 0 || v[1] == NULL || k[0] == NULL)
		goto out;
	if (nr > 0 &&
	    exec_ok(c,
	            "delete from object_headers where recipient = any($2::text[]) "
	            "and object_id in (select oid from (" TEAMS_OBJECTS_SQL ") o)",
	            2, v, NULL, NULL) != 0)
		goto out;
	if (nk > 0 &&
	    exec_ok(c,
	            "with d as (delete from sessions where encode(ed25519, 'hex') = "
	            "any($1::text[]) returning token_sha256, expires_at) "
	            "insert into ended_sessions (token_sha256, reason, expires_at) "
	            "select token_sha256, 'revoked', expires_at from d "
	            "on conflict do nothing",
	            1, k, NULL, NULL) != 0)
		goto out;
	for (size_t i = 0; prev != NULL && i < membership_count(prev); i++) {
		const struct membership_member *mm = membership_member_at(prev, i);
		if (!membership_has_key(next, mm->ed25519_pk) &&
		    audit_append_in(c, AUDIT_MEMBER_REVOKE, team, NULL, mm->ed25519_pk) != 0)
			goto out;
	}
	if (nr > 0 || nk > 0)
		printf("team %s: %d removed recipient(s): their headers and sessions are deleted\n",
		       team, nr > nk ? nr : nk);
	rv = 0;
out:
	buf_free(&rc);
	buf_free(&keys);
	return rv;
}

/* Return 1 if statement `next` (after `prev`, which may be NULL) is audited
 * as enroll_approve: it adds someone, or removes no one. A pure removal is
 * audited as member_revoke alone (one entry per removed member). */
static int
audited_as_approval(const struct membership *prev, const struct membership *next)
{
	int removed = 0;
	for (size_t i = 0; i < membership_count(next); i++)
		if (prev == NULL ||
		    !membership_has_key(prev, membership_member_at(next, i)->ed25519_pk))
			return 1;
	for (size_t i = 0; prev != NULL && i < membership_count(prev); i++)
		if (!membership_has_key(next, membership_member_at(prev, i)->ed25519_pk))
			removed = 1;
	return !removed;
}

/* Store `m` (whose signed text is `text`) after the team's verified chain. */
static int
store_statement(struct teams *t, PGconn *c, const struct membership *m, const char *text,
                size_t len)
{
	const char *team = membership_team(m);
	const char *p1[1] = { team };
	char seq[24];
	struct membership *prev = NULL;
	int rc = -1;

	PGresult *r = PQexecParams(c,
	                           "select team_id, statement, seq from membership_statements "
	                           "where team_id = $1 order by seq",
	                           1, NULL, p1, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "tipd: database error: %s", PQerrorMessage(c));
		goto fail;
	}
	if (PQntuples(r) > 0 &&
	    (prev = teams_chain_verify(teams_admins(t), r, 0, PQntuples(r), 0)) == NULL) {
		fprintf(stderr, "tipd: team %s: the stored chain does not verify; refusing\n",
		        team);
		goto fail;
	}
	enum membership_result mr = membership_check_next(prev, m);
	if (mr != MEMBERSHIP_OK) {
		fprintf(stderr,
		        "tipd: refused: %s (team %s, statement seq %llu, latest seq %llu)\n",
		        membership_strerror(mr), team, (unsigned long long)membership_seq(m),
		        prev ? (unsigned long long)membership_seq(prev) : 0ULL);
		goto fail;
	}
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)membership_seq(m));
	const char *p4[4] = { team, seq, (const char *)membership_hash(m), text };
	const int lens[4] = { 0, 0, 32, (int)len };
	const int fmts[4] = { 0, 0, 1, 0 };
	if (exec_ok(c, "insert into teams (id) values ($1) on conflict do nothing", 1, p1, NULL,
	            NULL) != 0 ||
	    exec_ok(c,
	            "insert into membership_statements (team_id, seq, sha256, statement) "
	            "values ($1, $2, $3, $4)",
	            4, p4, lens, fmts) != 0 ||
	    revoke_removed(c, prev, m) != 0 ||
	    (audited_as_approval(prev, m) &&
	     audit_append_in(c, AUDIT_ENROLL_APPROVE, team, NULL, NULL) != 0))
		goto fail;
	rc = 0;
fail:
	PQclear(r);
	membership_free(prev);
	return rc;
}

int
teams_add_statement(struct teams *t, const char *conninfo, const char *path)
{
	size_t len;
	struct membership *m = NULL;
	PGconn *c = NULL;
	int rc = -1;
	char *text = util_read_file(path, TEAMS_MAX_STATEMENT, &len);
	if (text == NULL) {
		fprintf(stderr, "tipd: %s: cannot read (missing, not a file, or over 64 KiB)\n",
		        path);
		return -1;
	}
	if (adminchain_load(teams_admins(t), conninfo, NULL) != 0) {
		fprintf(stderr, "tipd: the admin chain does not verify: refusing\n");
		free(text);
		return -1;
	}
	enum membership_result mr = teams_chain_open(teams_admins(t), text, len, &m);
	if (mr == MEMBERSHIP_OK && !adminchain_signed_by_current(teams_admins(t), text, len)) {
		fprintf(stderr, "tipd: %s: refused: signed only by an admin who is no longer one\n",
		        path);
		goto fail;
	}
	if (mr != MEMBERSHIP_OK) {
		fprintf(stderr, "tipd: %s: refused: %s\n", path, membership_strerror(mr));
		goto fail;
	}
	if ((c = teams_chain_connect(conninfo)) == NULL ||
	    exec_ok(c, "begin", 0, NULL, NULL, NULL) != 0)
		goto fail;
	if (store_statement(t, c, m, text, len) != 0 ||
	    exec_ok(c, "commit", 0, NULL, NULL, NULL) != 0)
		goto fail;
	printf("team %s: membership statement %llu stored (%zu members); a running tipd "
	       "seals to it within [tipd] membership_poll_ms\n",
	       membership_team(m), (unsigned long long)membership_seq(m), membership_count(m));
	rc = 0;
fail:
	PQfinish(c);
	membership_free(m);
	free(text);
	return rc;
}
