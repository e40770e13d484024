#include "teams.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "membership.h"
#include "note.h"
#include "util.h"

#define TEAMS_MAX_STATEMENT (64 * 1024)

struct team_keys_ref {
	struct team_keys k; /* first: callers see only this part */
	atomic_uint refs;   /* taken and dropped from every event loop */
	char **strs;
	uint8_t (*pks)[32];
};

struct team_entry {
	struct membership *latest;
	struct team_keys_ref *keys;
	char *text; /* the latest statement as signed, for the heads cache */
	size_t len;
};

#define TEAMS_MAX_REFUSED 256

struct teams {
	struct note_verifier **admins;
	size_t nadmins;
	struct team_entry *v;
	size_t n;
	char *refused[TEAMS_MAX_REFUSED]; /* teams whose chain was refused */
	size_t nrefused;
};

struct teams *
teams_new(char *const *admin_keys, size_t n, char *err, size_t errlen)
{
	struct teams *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->admins = calloc(n ? n : 1, sizeof(*t->admins))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		t->admins[i] = note_verifier_parse(admin_keys[i], strlen(admin_keys[i]));
		if (t->admins[i] == NULL) {
			snprintf(err, errlen, "[admins] admin_key #%zu is not a valid verifier key "
			         "(NAME+HASH+BASE64, as printed by tipctl admin keygen)", i + 1);
			t->nadmins = i;
			teams_free(t);
			return NULL;
		}
	}
	t->nadmins = n;
	return t;
}

static void
keys_unref(struct team_keys_ref *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) > 1)
		return;
	for (size_t i = 0; i < r->k.recipients.n; i++)
		free(r->strs[i]);
	free(r->strs);
	free(r->pks);
	free(r);
}

void
team_keys_release(const struct team_keys *k)
{
	keys_unref((struct team_keys_ref *)(uintptr_t)k);
}

static void
teams_clear(struct teams *t)
{
	for (size_t i = 0; i < t->n; i++) {
		membership_free(t->v[i].latest);
		keys_unref(t->v[i].keys);
		free(t->v[i].text);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
	for (size_t i = 0; i < t->nrefused; i++)
		free(t->refused[i]);
	t->nrefused = 0;
}

static void
teams_refuse(struct teams *t, const char *id)
{
	if (t->nrefused < TEAMS_MAX_REFUSED && (t->refused[t->nrefused] = strdup(id)) != NULL)
		t->nrefused++;
}

int
teams_refused(const struct teams *t, const char *id)
{
	for (size_t i = 0; id != NULL && i < t->nrefused; i++)
		if (strcmp(t->refused[i], id) == 0)
			return 1;
	return 0;
}

void
teams_free(struct teams *t)
{
	if (t == NULL)
		return;
	teams_clear(t);
	for (size_t i = 0; i < t->nadmins; i++)
		note_verifier_free(t->admins[i]);
	free(t->admins);
	free(t);
}

static struct team_keys_ref *
keys_of(const struct membership *m)
{
	size_t n = membership_count(m);
	struct team_keys_ref *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->refs = 1;
	snprintf(r->k.id, sizeof(r->k.id), "%s", membership_team(m));
	r->k.seq = membership_seq(m);
	r->strs = calloc(n ? n : 1, sizeof(*r->strs));
	r->pks = calloc(n ? n : 1, sizeof(*r->pks));
	if (r->strs == NULL || r->pks == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const struct membership_member *mm = membership_member_at(m, i);
		if ((r->strs[i] = strdup(mm->recipient)) == NULL)
			goto fail;
		memcpy(r->pks[i], mm->x25519_pk, 32);
		r->k.recipients.n = i + 1;
	}
	r->k.recipients.strs = (const char *const *)r->strs;
	r->k.recipients.pks = (const uint8_t(*)[32])r->pks;
	return r;
fail:
	keys_unref(r);
	return NULL;
}

/* Adopt `m` (signed text `text`) as the latest verified statement of its team. */
static int
teams_put(struct teams *t, struct membership *m, const char *text, size_t len)
{
	struct team_keys_ref *keys = keys_of(m);
	struct team_entry *v = realloc(t->v, (t->n + 1) * sizeof(*v));
	char *copy = malloc(len + 1);
	if (keys == NULL || v == NULL || copy == NULL) {
		keys_unref(keys);
		free(copy);
		if (v != NULL)
			t->v = v;
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	t->v = v;
	t->v[t->n].latest = m;
	t->v[t->n].keys = keys;
	t->v[t->n].text = copy;
	t->v[t->n].len = len;
	t->n++;
	return 0;
}

static PGconn *
db_connect(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		log_error("cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Verify one team's chain (rows [from, to) of `r`, ordered by seq). Return
 * the latest statement, or NULL if any link fails (logged). */
static struct membership *
verify_chain(struct teams *t, PGresult *r, int from, int to)
{
	struct membership *prev = NULL, *cur = NULL;
	for (int i = from; i < to; i++) {
		const char *text = PQgetvalue(r, i, 1);
		enum membership_result mr = membership_open(text, (size_t)PQgetlength(r, i, 1),
		                                            (const struct note_verifier *const *)t->admins,
		                                            t->nadmins, &cur);
		if (mr == MEMBERSHIP_OK)
			mr = membership_check_next(prev, cur);
		if (mr == MEMBERSHIP_OK && strcmp(membership_team(cur), PQgetvalue(r, i, 0)) != 0)
			mr = MEMBERSHIP_ERR_TEAM;
		if (mr != MEMBERSHIP_OK) {
			log_error("team %s: membership statement %s does not verify (%s); "
			          "the team gets no reports until this is fixed",
			          PQgetvalue(r, i, 0), PQgetvalue(r, i, 2), membership_strerror(mr));
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

/* The remembered head of a team's chain, from the state file. */
struct seen {
	char team[64];
	unsigned long long seq;
	char hash[65];
};

/* Read the state file into a malloc'd array; return the count, or -1. A
 * missing file is an empty state. */
static int
seen_read(const char *path, struct seen **out)
{
	size_t len;
	*out = NULL;
	char *text = util_read_file(path, 1 << 20, &len);
	if (text == NULL)
		return errno == ENOENT ? 0 : -1;
	int n = 0;
	struct seen *v = NULL;
	for (char *line = text, *eol; *line; line = eol + 1) {
		if ((eol = strchr(line, '\n')) == NULL)
			break;
		*eol = '\0';
		struct seen sn;
		if (sscanf(line, "%63s %llu %64s", sn.team, &sn.seq, sn.hash) != 3)
			continue;
		struct seen *nv = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (nv == NULL)
			break;
		v = nv;
		v[n++] = sn;
	}
	free(text);
	*out = v;
	return n;
}

/* Write `text` to `dir`/`name` atomically and durably. Return 0 or -1. */
static int
write_durably(const char *dir, const char *name, const void *text, size_t len)
{
	char tmp[4096], path[4096];
	int fd, dfd, rc = -1;
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (util_write_all(fd, text, len) == 0 && fsync(fd) == 0 && rename(tmp, path) == 0)
		rc = 0;
	close(fd);
	if (rc == 0 && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(dfd);
		close(dfd);
	}
	if (rc != 0)
		log_error("cannot write %s: %s", path, strerror(errno));
	return rc;
}

/* Write the heads of every loaded team (and keep refused ones as they were). */
static int
seen_write(const struct teams *t, const char *state_dir, const struct seen *old, int nold)
{
	struct buf b;
	int rc = -1;
	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < t->n; i++) {
		char hex[65];
		util_hex(membership_hash(t->v[i].latest), 32, hex);
		if (buf_printf(&b, "%s %llu %s\n", membership_team(t->v[i].latest),
		               (unsigned long long)membership_seq(t->v[i].latest), hex) != 0)
			goto fail;
	}
	for (int j = 0; j < nold; j++) {
		int kept = 0;
		for (size_t i = 0; i < t->n; i++)
			kept |= strcmp(old[j].team, membership_team(t->v[i].latest)) == 0;
		if (!kept && buf_printf(&b, "%s %llu %s\n", old[j].team, old[j].seq, old[j].hash) != 0)
			goto fail;
	}
	rc = write_durably(state_dir, "membership-seen", b.data, b.len);
fail:
	buf_free(&b);
	return rc;
}

/* Refuse loaded teams whose head is behind, or beside, the remembered one. */
static void
seen_check(struct teams *t, const struct seen *v, int n)
{
	for (size_t i = 0; i < t->n;) {
		const struct membership *m = t->v[i].latest;
		char hex[65];
		int bad = 0;
		util_hex(membership_hash(m), 32, hex);
		for (int j = 0; j < n && !bad; j++) {
			if (strcmp(v[j].team, membership_team(m)) != 0)
				continue;
			if (membership_seq(m) < v[j].seq)
				bad = 1;
			else if (membership_seq(m) == v[j].seq && strcmp(hex, v[j].hash) != 0)
				bad = 2;
		}
		if (!bad) {
			i++;
			continue;
		}
		log_error("team %s: the database's membership chain %s the statement this "
		          "server has already seen; refusing the team (was the database "
		          "restored or tampered with?)", membership_team(m),
		          bad == 1 ? "ends before" : "forks from");
		teams_refuse(t, membership_team(m));
		membership_free(t->v[i].latest);
		keys_unref(t->v[i].keys);
		free(t->v[i].text);
		t->v[i] = t->v[--t->n];
	}
}

/* Read every team's chain from the database and verify it. Return 0, or -1
 * if the database could not be read. */
static int
teams_from_db(struct teams *t, const char *conninfo)
{
	PGconn *c = db_connect(conninfo);
	if (c == NULL)
		return -1;
	PGresult *r = PQexec(c, "select team_id, statement, seq from membership_statements "
	                        "order by team_id, seq");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("cannot read membership statements: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return -1;
	}
	int rows = PQntuples(r), rc = 0;
	for (int i = 0, j; i < rows; i = j) {
		for (j = i + 1; j < rows && strcmp(PQgetvalue(r, j, 0), PQgetvalue(r, i, 0)) == 0; j++)
			;
		struct membership *m = verify_chain(t, r, i, j);
		if (m == NULL) {
			teams_refuse(t, PQgetvalue(r, i, 0));
			continue;
		}
		if (teams_put(t, m, PQgetvalue(r, j - 1, 1), (size_t)PQgetlength(r, j - 1, 1)) != 0) {
			membership_free(m);
			rc = -1;
			break;
		}
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* Keep each team's latest verified statement, so that tipd can start and
 * seal while PostgreSQL is unreachable. */
static int
heads_write(const struct teams *t, const char *state_dir)
{
	char dir[4096], name[80];
	snprintf(dir, sizeof(dir), "%s/membership-heads", state_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		snprintf(name, sizeof(name), "%s.note", membership_team(t->v[i].latest));
		if (write_durably(dir, name, t->v[i].text, t->v[i].len) != 0)
			return -1;
	}
	return 0;
}

/* Load the cached heads; each is verified against the pinned admin keys. */
static int
heads_load(struct teams *t, const char *state_dir)
{
	char dir[4096], path[4400];
	snprintf(dir, sizeof(dir), "%s/membership-heads", state_dir);
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name), len;
		if (e->d_name[0] == '.' || nl < 6 || strcmp(e->d_name + nl - 5, ".note") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *text = util_read_file(path, TEAMS_MAX_STATEMENT, &len);
		struct membership *m = NULL;
		if (text == NULL ||
		    membership_open(text, len, (const struct note_verifier *const *)t->admins,
		                    t->nadmins, &m) != MEMBERSHIP_OK ||
		    strncmp(membership_team(m), e->d_name, nl - 5) != 0 ||
		    strlen(membership_team(m)) != nl - 5 || teams_put(t, m, text, len) != 0) {
			log_error("%s: not a valid membership statement; ignored", path);
			membership_free(m);
		}
		free(text);
	}
	closedir(d);
	return 0;
}

int
teams_load(struct teams *t, const char *conninfo, const char *state_dir)
{
	char seen_path[4096];
	struct seen *seen = NULL;
	int n, from_db;

	teams_clear(t);
	from_db = teams_from_db(t, conninfo) == 0;
	if (!from_db) {
		teams_clear(t);
		if (state_dir == NULL || heads_load(t, state_dir) != 0 || t->n == 0) {
			log_error("PostgreSQL is unreachable and no verified membership is cached "
			          "in the state directory: cannot start");
			return -1;
		}
		log_warn("PostgreSQL is unreachable: sealing to the %zu cached membership "
		         "statements until it is back", t->n);
	}
	if (state_dir == NULL)
		return (int)t->n;
	snprintf(seen_path, sizeof(seen_path), "%s/membership-seen", state_dir);
	if ((n = seen_read(seen_path, &seen)) < 0) {
		log_error("cannot read %s: %s", seen_path, strerror(errno));
		return -1;
	}
	seen_check(t, seen, n);
	int rc = 0;
	if (from_db)
		rc = seen_write(t, state_dir, seen, n) != 0 || heads_write(t, state_dir) != 0 ? -1 : 0;
	free(seen);
	return rc == 0 ? (int)t->n : -1;
}

const struct team_keys *
teams_find(struct teams *t, const char *id)
{
	if (id == NULL)
		return NULL;
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].keys->k.id, id) == 0 && t->v[i].keys->k.recipients.n > 0) {
			atomic_fetch_add(&t->v[i].keys->refs, 1);
			return &t->v[i].keys->k;
		}
	}
	return NULL;
}

size_t
teams_count(const struct teams *t)
{
	return t->n;
}

const struct membership *
teams_membership_at(const struct teams *t, size_t i)
{
	return i < t->n ? t->v[i].latest : NULL;
}

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

	PGresult *r = PQexecParams(c, "select team_id, statement, seq from membership_statements "
	                              "where team_id = $1 order by seq", 1, NULL, p1, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "tipd: database error: %s", PQerrorMessage(c));
		goto fail;
	}
	if (PQntuples(r) > 0 && (prev = verify_chain(t, r, 0, PQntuples(r))) == NULL) {
		fprintf(stderr, "tipd: team %s: the stored chain does not verify; refusing\n", team);
		goto fail;
	}
	enum membership_result mr = membership_check_next(prev, m);
	if (mr != MEMBERSHIP_OK) {
		fprintf(stderr, "tipd: refused: %s (team %s, statement seq %llu, latest seq %llu)\n",
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
	    exec_ok(c, "insert into membership_statements (team_id, seq, sha256, statement) "
	               "values ($1, $2, $3, $4)", 4, p4, lens, fmts) != 0)
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
		fprintf(stderr, "tipd: %s: cannot read (missing, not a file, or over 64 KiB)\n", path);
		return -1;
	}
	enum membership_result mr = membership_open(text, len,
	                                            (const struct note_verifier *const *)t->admins,
	                                            t->nadmins, &m);
	if (mr != MEMBERSHIP_OK) {
		fprintf(stderr, "tipd: %s: refused: %s\n", path, membership_strerror(mr));
		goto fail;
	}
	if ((c = db_connect(conninfo)) == NULL || exec_ok(c, "begin", 0, NULL, NULL, NULL) != 0)
		goto fail;
	if (store_statement(t, c, m, text, len) != 0 || exec_ok(c, "commit", 0, NULL, NULL, NULL) != 0)
		goto fail;
	printf("team %s: membership statement %llu stored (%zu members); restart tipd to seal to it\n",
	       membership_team(m), (unsigned long long)membership_seq(m), membership_count(m));
	rc = 0;
fail:
	PQfinish(c);
	membership_free(m);
	free(text);
	return rc;
}
