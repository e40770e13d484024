#include "hostkeys.h"

#include <libpq-fe.h>
#include <sodium.h>

#include "log.h"

/* Record (or with `adopt`, overwrite) one check value, then compare it with
 * the stored one. Return 0 if they match, 1 if they differ, -1 on a
 * database error (logged). */
static int
check_one(PGconn *c, const struct hostkey *k, int adopt)
{
	const char *v[2] = { k->name, (const char *)k->check };
	const int lens[2] = { 0, PROTO_KEY_CHECK_LEN }, fmts[2] = { 0, 1 };
	const char *put = adopt ? "insert into host_keys (name, check_value) values ($1, $2) "
	                          "on conflict (name) do update set "
	                          "check_value = excluded.check_value, set_on = current_date"
	                        : "insert into host_keys (name, check_value) values ($1, $2) "
	                          "on conflict (name) do nothing";
	PGresult *r = PQexecParams(c, put, 2, NULL, v, lens, fmts, 0);
	int rc = -1;
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		r = PQexecParams(c, "select check_value from host_keys where name = $1", 1, NULL, v,
		                 NULL, NULL, 1);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		    PQgetlength(r, 0, 0) == PROTO_KEY_CHECK_LEN)
			rc = sodium_memcmp(PQgetvalue(r, 0, 0), k->check, PROTO_KEY_CHECK_LEN) == 0 ? 0
			                                                                             : 1;
	}
	if (rc < 0)
		log_error("host keys: %s", PQerrorMessage(c));
	PQclear(r);
	return rc;
}

int
hostkeys_check(const char *conninfo, const struct hostkey *keys, size_t n, int adopt)
{
	PGconn *c = PQconnectdb(conninfo);
	int rc = 0;
	if (PQstatus(c) != CONNECTION_OK) {
		log_warn("host keys: the database is unreachable, so whether this host's receipt "
		         "pepper, nonce key and web key are the deployment's was not checked (it is "
		         "at the next start)");
		PQfinish(c);
		return adopt ? -1 : 1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		int d = check_one(c, &keys[i], adopt);
		if (d == 1)
			log_error("%s is not the one the other hosts of this deployment use (its check "
			          "value differs from the one recorded in table host_keys): copy it from "
			          "a running host (docs/operations.md \"Several hosts\"); if every host "
			          "was given this new one on purpose, run tipd keys adopt once",
			          keys[i].what);
		rc = d == 0 ? 0 : -1;
	}
	if (rc == 0 && adopt)
		log_info("host keys: this host's %zu check values are now the deployment's", n);
	PQfinish(c);
	return rc;
}
