/*
 * migrate: forward-only schema migrations (see migrate.h). Blocking libpq.
 */
#include "migrate.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "util.h"

#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_BYTES (1u << 20)
#define MIGRATE_LOCK_KEY "7591275936264467813" /* pg_advisory_lock key */

struct mig {
	int version;
	char name[64];     /* between "NNNN_" and ".sql" */
	char file[80];
	char checksum[65]; /* SHA-256 hex of the file */
	char *sql;
	bool applied;
};

static int
mig_cmp(const void *a, const void *b)
{
	const struct mig *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* Parse "NNNN_name.sql"; return 0 and fill version/name/file, or -1. */
static int
mig_parse_name(const char *fn, struct mig *m)
{
	size_t n = strlen(fn);
	char digits[5];
	uint64_t v;
	if (n < 10 || n >= sizeof(m->file) || fn[4] != '_' || strcmp(fn + n - 4, ".sql") != 0)
		return -1;
	memcpy(digits, fn, 4);
	digits[4] = '\0';
	if (util_parse_u64(digits, 9999, &v) != 0)
		return -1;
	for (size_t i = 5; i < n - 4; i++) {
		char c = fn[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return -1;
	}
	m->version = (int)v;
	memcpy(m->name, fn + 5, n - 9);
	m->name[n - 9] = '\0';
	memcpy(m->file, fn, n + 1);
	return 0;
}

static int
mig_load(const char *dir, struct mig *m)
{
	char path[4096];
	size_t len = 0;
	uint8_t sum[crypto_hash_sha256_BYTES];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, m->file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	m->sql = util_read_file(path, MIGRATE_MAX_BYTES, &len);
	if (m->sql == NULL) {
		fprintf(stderr, "migrate: cannot read %s\n", path);
		return -1;
	}
	crypto_hash_sha256(sum, (const uint8_t *)m->sql, len);
	util_hex(sum, sizeof(sum), m->checksum);
	return 0;
}

static void
mig_free(struct mig *ms, int n)
{
	for (int i = 0; i < n; i++)
		free(ms[i].sql);
	free(ms);
}

/* Read every migration file of `dir`, sorted by version; return the count or -1. */
static int
mig_scan(const char *dir, struct mig **out)
{
	DIR *d = opendir(dir);
	struct mig *ms = NULL;
	int n = 0;
	if (d == NULL) {
		fprintf(stderr, "migrate: cannot open schema directory %s\n", dir);
		return -1;
	}
	if ((ms = calloc(MIGRATE_MAX_FILES, sizeof(*ms))) == NULL)
		goto fail;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) < 4 ||
		    strcmp(de->d_name + strlen(de->d_name) - 4, ".sql") != 0)
			continue;
		if (n >= MIGRATE_MAX_FILES || mig_parse_name(de->d_name, &ms[n]) != 0) {
			fprintf(stderr, "migrate: %s: expected NNNN_name.sql\n", de->d_name);
			goto fail;
		}
		if (mig_load(dir, &ms[n++]) != 0)
			goto fail;
	}
	closedir(d);
	d = NULL;
	qsort(ms, (size_t)n, sizeof(*ms), mig_cmp);
	for (int i = 1; i < n; i++)
		if (ms[i].version == ms[i - 1].version) {
			fprintf(stderr, "migrate: two files for version %04d\n", ms[i].version);
			goto fail;
		}
	*out = ms;
	return n;
fail:
	if (d != NULL)
		closedir(d);
	if (ms != NULL)
		mig_free(ms, n);
	return -1;
}

static PGresult *
exec_ok(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "migrate: %s: %s", what, PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

static struct mig *
mig_find(struct mig *ms, int n, int version)
{
	for (int i = 0; i < n; i++)
		if (ms[i].version == version)
			return &ms[i];
	return NULL;
}

/* Mark the applied migrations; fail on a changed file. Return the highest
 * applied version (0 if none) or -1. */
static int
mig_check_applied(PGconn *c, struct mig *ms, int n)
{
	PGresult *r = exec_ok(c, "SELECT to_regclass('schema_migrations') IS NOT NULL",
	                      "reading the migration ledger");
	if (r == NULL)
		return -1;
	bool exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!exists)
		return 0;
	r = exec_ok(c, "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
	            "reading the migration ledger");
	if (r == NULL)
		return -1;
	int top = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		uint64_t v;
		if (util_parse_u64(PQgetvalue(r, i, 0), 9999, &v) != 0)
			goto bad;
		struct mig *m = mig_find(ms, n, (int)v);
		top = (int)v;
		if (m == NULL) {
			fprintf(stderr, "migrate: warning: the database has migration %04d, "
			                "which this schema directory lacks (a newer tipd?)\n", top);
			continue;
		}
		if (strcmp(PQgetvalue(r, i, 1), m->name) != 0 ||
		    strcmp(PQgetvalue(r, i, 2), m->checksum) != 0) {
			fprintf(stderr, "migrate: %s differs from migration %04d as applied "
			                "(name '%s', sha256 %s); migrations are forward-only: "
			                "restore the file and add a new migration instead\n",
			        m->file, top, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
			goto bad;
		}
		m->applied = true;
	}
	PQclear(r);
	return top;
bad:
	PQclear(r);
	return -1;
}

/* Return 1 if we should SET ROLE tipline_owner, 0 if not, -1 if we should
 * but tipline_owner cannot create tables here. */
static int
mig_owner_role(PGconn *c)
{
	PGresult *r = exec_ok(c,
	                      "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_roles "
	                      "WHERE rolname = 'tipline_owner') THEN 'none' "
	                      "WHEN NOT pg_has_role(current_user, 'tipline_owner', 'MEMBER') "
	                      "THEN 'none' WHEN has_schema_privilege('tipline_owner', "
	                      "'public', 'CREATE') THEN 'owner' ELSE 'nocreate' END",
	                      "checking roles");
	if (r == NULL)
		return -1;
	const char *v = PQgetvalue(r, 0, 0);
	int rc = strcmp(v, "owner") == 0 ? 1 : strcmp(v, "none") == 0 ? 0 : -1;
	PQclear(r);
	if (rc < 0)
		fprintf(stderr, "migrate: tipline_owner cannot create tables in schema public: "
		                "create the database with OWNER tipline_owner "
		                "(deploy/postgresql/database.sql)\n");
	if (rc == 0)
		fprintf(stderr, "migrate: warning: not running as tipline_owner; objects "
		                "will be owned by the connecting user\n");
	return rc;
}

/* Apply one migration in its own transaction. Return 0 or -1 (rolled back). */
static int
mig_apply(PGconn *c, const struct mig *m, bool as_owner)
{
	PGresult *r = NULL;
	char version[8];
	snprintf(version, sizeof(version), "%d", m->version);
	const char *params[3] = { version, m->name, m->checksum };
	if ((r = exec_ok(c, "BEGIN", "BEGIN")) == NULL)
		return -1;
	PQclear(r);
	if (as_owner) {
		if ((r = exec_ok(c, "SET LOCAL ROLE tipline_owner", m->file)) == NULL)
			goto fail;
		PQclear(r);
	}
	if ((r = exec_ok(c, m->sql, m->file)) == NULL)
		goto fail;
	PQclear(r);
	r = PQexecParams(c, "INSERT INTO schema_migrations (version, name, checksum) "
	                    "VALUES ($1::int, $2, $3)",
	                 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "migrate: recording %s: %s", m->file, PQerrorMessage(c));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if ((r = exec_ok(c, "COMMIT", m->file)) == NULL)
		goto fail;
	PQclear(r);
	printf("applied %s\n", m->file);
	return 0;
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	fprintf(stderr, "migrate: %s rolled back; nothing recorded\n", m->file);
	return -1;
}

static int
mig_apply_missing(PGconn *c, struct mig *ms, int n, int top)
{
	int owner = -2, applied = 0;
	for (int i = 0; i < n; i++) {
		if (ms[i].applied)
			continue;
		if (ms[i].version < top) {
			fprintf(stderr, "migrate: %s is older than applied version %04d but was "
			                "never applied; refusing to apply out of order\n",
			        ms[i].file, top);
			return -1;
		}
		if (owner == -2 && (owner = mig_owner_role(c)) < 0)
			return -1;
		if (mig_apply(c, &ms[i], owner == 1) != 0)
			return -1;
		applied++;
	}
	if (applied == 0)
		printf("schema is up to date (version %04d)\n", n > 0 ? ms[n - 1].version : 0);
	return 0;
}

int
migrate_run(const char *conninfo, const char *schema_dir)
{
	struct mig *ms = NULL;
	int rc = -1, n = -1;
	PGresult *r = NULL;
	if (sodium_init() < 0)
		return -1;
	PGconn *c = PQconnectdb(conninfo);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "migrate: cannot connect: %s",
		        c != NULL ? PQerrorMessage(c) : "out of memory\n");
		goto fail;
	}
	if ((n = mig_scan(schema_dir, &ms)) < 0)
		goto fail;
	if (n == 0) {
		fprintf(stderr, "migrate: no migrations in %s\n", schema_dir);
		goto fail;
	}
	/* One migrator at a time, across every tipd host. */
	if ((r = exec_ok(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "locking")) == NULL)
		goto fail;
	PQclear(r);
	int top = mig_check_applied(c, ms, n);
	if (top >= 0 && mig_apply_missing(c, ms, n, top) == 0)
		rc = 0;
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
fail:
	if (ms != NULL)
		mig_free(ms, n);
	PQfinish(c);
	fflush(stdout);
	return rc;
}
