#include "purge.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "log.h"

/* Run `sql` (no parameters) expecting a command or tuples. Return 0, or -1 (logged). */
static int
exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	int ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	                         PQresultStatus(res) == PGRES_TUPLES_OK);
	if (!ok)
		log_error("purge: %s failed: %s", sql, c != NULL ? PQerrorMessage(c) : "no connection");
	PQclear(res);
	return ok ? 0 : -1;
}

/* Purge report `id` of team `team` with its audit entry, in one transaction.
 * Return 1 if purged, 0 if it was no longer due, -1 on a database error. */
static int
purge_one(PGconn *c, const char *id, const char *team)
{
	const char *v[1] = { id };
	PGresult *res = NULL;
	int rc = -1;
	if (exec_ok(c, "BEGIN") != 0)
		return -1;
	res = PQexecParams(c, "select retention_purge($1::uuid)", 1, NULL, v, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_error("purge: report %s: %s", id, PQerrorMessage(c));
		goto fail;
	}
	if (PQgetisnull(res, 0, 0)) {
		rc = 0; /* held or changed since it was listed: nothing to do */
		goto fail;
	}
	if (strcmp(PQgetvalue(res, 0, 0), team) != 0 ||
	    audit_append_in(c, AUDIT_REPORT_PURGE, team, id, NULL) != 0 ||
	    exec_ok(c, "COMMIT") != 0)
		goto fail;
	PQclear(res);
	return 1;
fail:
	PQclear(res);
	PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

/* Purge (or count) one batch of due reports after `after` (a uuid, "" for
 * the first). Store the last id seen in `after`. Return how many were due
 * in the batch, or -1. */
static long
purge_batch(PGconn *c, int dry_run, char after[37], size_t *purged)
{
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", PURGE_BATCH);
	const char *v[2] = { after[0] ? after : NULL, lim };
	PGresult *res = PQexecParams(c, "select id::text, team_id from retention_due() "
	                                "where $1::uuid is null or id > $1::uuid order by id "
	                                "limit $2::int", 2, NULL, v, NULL, NULL, 0);
	long n = -1;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("purge: cannot list the reports due: %s", PQerrorMessage(c));
		goto out;
	}
	n = PQntuples(res);
	for (long i = 0; i < n; i++) {
		const char *id = PQgetvalue(res, (int)i, 0), *team = PQgetvalue(res, (int)i, 1);
		int r = dry_run ? 1 : purge_one(c, id, team);
		if (r < 0) {
			n = -1;
			goto out;
		}
		*purged += (size_t)r;
		snprintf(after, 37, "%s", id);
	}
out:
	PQclear(res);
	return n;
}

int
purge_run(const char *conninfo, int dry_run, size_t *purged)
{
	char after[37] = "";
	long n;
	int rc = -1;
	PGconn *c = PQconnectdb(conninfo);
	*purged = 0;
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		log_error("purge: cannot connect to PostgreSQL: %s",
		          c != NULL ? PQerrorMessage(c) : "out of memory");
		goto out;
	}
	while ((n = purge_batch(c, dry_run, after, purged)) == PURGE_BATCH)
		;
	if (n < 0)
		goto out;
	log_info("purge: %zu report(s) %s", *purged, dry_run ? "due (dry run: nothing deleted)"
	                                                      : "purged");
	rc = 0;
out:
	PQfinish(c);
	return rc;
}
