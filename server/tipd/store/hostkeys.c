#include "hostkeys.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <string.h>

#include "log.h"

#define HOSTKEYS_DOC "docs/operations.md \"1. Several tipd hosts on one database\""

/* Log a failed statement with a hint for the causes an operator can fix. */
static void
log_db_error(PGconn *c, const PGresult *r)
{
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *hint = "";
	if (state != NULL && strcmp(state, "42P01") == 0)
		hint = " (the database lacks migration 0017: run tipd migrate)";
	else if (state != NULL && strcmp(state, "42501") == 0)
		hint = " (a role without the grants of schema/0017_host_keys.sql)";
	log_error("host keys: %s%s", PQerrorMessage(c), hint);
}

/* Run `sql` with parameters; return its result if it has status `want`,
 * else NULL (logged). */
static PGresult *
exec_want(PGconn *c, const char *sql, int n, const char *const *v, const int *lens,
          const int *fmts, ExecStatusType want)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, v, lens, fmts, 1);
	if (PQresultStatus(r) == want)
		return r;
	log_db_error(c, r);
	PQclear(r);
	return NULL;
}

/* Compare one check value with the recorded one, recording it first if there
 * is none (`recorded`: it was just recorded, by this host or another). Store
 * 1 in *differs if they differ, and the day the recorded one was set in
 * `set_on`. Return 0, or -1 on a database error (logged). */
static int
check_one(PGconn *c, const struct hostkey *k, int *differs, char set_on[11], int recorded)
{
	const char *v[2] = { k->name, (const char *)k->check };
	const int lens[2] = { 0, PROTO_KEY_CHECK_LEN }, fmts[2] = { 0, 1 };
	PGresult *r = exec_want(c, "select check_value, set_on::text from host_keys where name = $1",
	                        1, v, NULL, NULL, PGRES_TUPLES_OK);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0 && !recorded) { /* the deployment's first start with it */
		PQclear(r);
		r = exec_want(c, "insert into host_keys (name, check_value) values ($1, $2) "
		                 "on conflict (name) do nothing",
		              2, v, lens, fmts, PGRES_COMMAND_OK);
		if (r == NULL)
			return -1;
		PQclear(r);
		/* Another host may have recorded one meanwhile: compare with it. */
		return check_one(c, k, differs, set_on, 1);
	}
	if (PQntuples(r) != 1) {
		log_error("host keys: the check value of %s was recorded and is gone", k->name);
		PQclear(r);
		return -1;
	}
	*differs = PQgetlength(r, 0, 0) != PROTO_KEY_CHECK_LEN ||
	           sodium_memcmp(PQgetvalue(r, 0, 0), k->check, PROTO_KEY_CHECK_LEN) != 0;
	snprintf(set_on, 11, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	return 0;
}

/* Record every check value, replacing the deployment's, in one transaction. */
static int
adopt_all(PGconn *c, const struct hostkey *keys, size_t n)
{
	PGresult *r = exec_want(c, "begin", 0, NULL, NULL, NULL, PGRES_COMMAND_OK);
	if (r == NULL)
		return -1;
	PQclear(r);
	for (size_t i = 0; i < n; i++) {
		const char *v[2] = { keys[i].name, (const char *)keys[i].check };
		const int lens[2] = { 0, PROTO_KEY_CHECK_LEN }, fmts[2] = { 0, 1 };
		r = exec_want(c, "insert into host_keys (name, check_value) values ($1, $2) "
		                 "on conflict (name) do update set check_value = excluded.check_value, "
		                 "set_on = current_date",
		              2, v, lens, fmts, PGRES_COMMAND_OK);
		if (r == NULL) {
			PQclear(PQexec(c, "rollback"));
			return -1;
		}
		PQclear(r);
	}
	if ((r = exec_want(c, "commit", 0, NULL, NULL, NULL, PGRES_COMMAND_OK)) == NULL)
		return -1;
	PQclear(r);
	log_info("host keys: this host's %zu check values are now the deployment's", n);
	return 0;
}

/* Compare every check value (all of them, so that one start names every
 * secret that differs). Return 0, or -1 (logged). */
static int
check_all(PGconn *c, const struct hostkey *keys, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		int differs = 0;
		char set_on[11] = "";
		if (check_one(c, &keys[i], &differs, set_on, 0) != 0)
			return -1;
		if (differs) {
			log_error("%s is not the one recorded for this deployment in table host_keys "
			          "(by the first host that started with it, on %s): give every host the "
			          "same copy (" HOSTKEYS_DOC "); if this host's is the right one, or "
			          "every host was given a new one on purpose, run tipd keys adopt on it",
			          keys[i].what, set_on);
			bad++;
		}
	}
	return bad == 0 ? 0 : -1;
}

int
hostkeys_check(const char *conninfo, const struct hostkey *keys, size_t n, int adopt)
{
	PGconn *c = PQconnectdb(conninfo);
	int rc;
	if (PQstatus(c) != CONNECTION_OK) {
		if (adopt)
			log_error("host keys: cannot reach the database (%s): nothing adopted",
			          PQerrorMessage(c));
		else
			log_warn("host keys: the database is unreachable, so whether this host's "
			         "receipt pepper, nonce key and web key are the deployment's was not "
			         "checked (it is at the next start)");
		PQfinish(c);
		return adopt ? -1 : 1;
	}
	PGresult *ro = PQexec(c, "show transaction_read_only");
	int read_only = PQresultStatus(ro) == PGRES_TUPLES_OK && PQntuples(ro) == 1 &&
	                strcmp(PQgetvalue(ro, 0, 0), "on") == 0;
	PQclear(ro);
	if (read_only) { /* a standby, reached without target_session_attrs=read-write */
		log_warn("host keys: the database is read-only (a standby?): %s", adopt
		         ? "nothing adopted" : "not checked (it is at the next start)");
		PQfinish(c);
		return adopt ? -1 : 1;
	}
	rc = adopt ? adopt_all(c, keys, n) : check_all(c, keys, n);
	PQfinish(c);
	return rc;
}
