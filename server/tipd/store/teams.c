/*
 * teams: every team's verified membership chain, published as immutable,
 * reference-counted views (see teams.h). Loading and refreshing read the
 * chains from PostgreSQL (teams_chain.c verifies them) and keep
 * STATE_DIR/membership-seen and STATE_DIR/membership-heads; a watcher thread
 * refreshes every membership_poll_ms. Storing a new statement from the
 * command line is teams_store.c.
 */
#include "teams.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adminchain.h"
#include "buf.h"
#include "log.h"
#include "membership.h"
#include "note.h"
#include "state_file.h"
#include "teams_chain.h"
#include "util.h"

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

/* Every team's latest verified statement at one moment. Never changed once
 * published: an update builds a new view and swaps it in. */
struct teams_view {
	atomic_uint refs;
	struct team_entry *v;
	size_t n;
};

#define TEAMS_MAX_REFUSED 256

struct teams {
	struct adminchain *ac; /* the admins whose statements count (owned) */
	pthread_mutex_t mu;    /* guards cur, refused and the state files */
	struct teams_view *cur;
	char *refused[TEAMS_MAX_REFUSED]; /* teams whose chain was refused */
	size_t nrefused;
	char *state_dir; /* NULL: remember nothing outside the database */
	/* the watcher thread (teams_watch_start) */
	pthread_t watcher;
	bool watching, stop;
	pthread_cond_t wake;
	char *conninfo;
	unsigned interval_ms;
};

static void keys_unref(struct team_keys_ref *r);
static void entry_clear(struct team_entry *e);

static struct teams_view *
view_new(void)
{
	struct teams_view *v = calloc(1, sizeof(*v));
	if (v != NULL)
		v->refs = 1;
	return v;
}

static void
view_unref(struct teams_view *v)
{
	if (v == NULL || atomic_fetch_sub(&v->refs, 1) > 1)
		return;
	for (size_t i = 0; i < v->n; i++)
		entry_clear(&v->v[i]);
	free(v->v);
	free(v);
}

void
teams_view_release(const struct teams_view *v)
{
	view_unref((struct teams_view *)(uintptr_t)v);
}

const struct teams_view *
teams_view_get(struct teams *t)
{
	pthread_mutex_lock(&t->mu);
	struct teams_view *v = t->cur;
	atomic_fetch_add(&v->refs, 1);
	pthread_mutex_unlock(&t->mu);
	return v;
}

size_t
teams_view_count(const struct teams_view *v)
{
	return v->n;
}

const struct membership *
teams_view_at(const struct teams_view *v, size_t i)
{
	return i < v->n ? v->v[i].latest : NULL;
}

const struct membership *
teams_view_team(const struct teams_view *v, const char *id)
{
	for (size_t i = 0; id != NULL && i < v->n; i++)
		if (strcmp(membership_team(v->v[i].latest), id) == 0)
			return v->v[i].latest;
	return NULL;
}

/* Publish `v` (taken) as the current view. Call with t->mu held. */
static void
view_swap(struct teams *t, struct teams_view *v)
{
	struct teams_view *old = t->cur;
	t->cur = v;
	view_unref(old);
}

struct teams *
teams_new(char *const *admin_keys, size_t n, unsigned quorum, char *err, size_t errlen)
{
	struct teams *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->cur = view_new()) == NULL || pthread_mutex_init(&t->mu, NULL) != 0 ||
	    pthread_cond_init(&t->wake, NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		if (t != NULL)
			free(t->cur);
		free(t);
		return NULL;
	}
	if ((t->ac = adminchain_new(admin_keys, n, quorum, err, errlen)) == NULL) {
		teams_free(t);
		return NULL;
	}
	return t;
}

int
teams_is_admin(const struct teams *t, const uint8_t pk[32])
{
	return adminchain_is_current(t->ac, pk);
}

struct adminchain *
teams_admins(struct teams *t)
{
	return t->ac;
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

/* Forget every refusal. Call with t->mu held. */
static void
refused_clear(struct teams *t)
{
	for (size_t i = 0; i < t->nrefused; i++)
		free(t->refused[i]);
	t->nrefused = 0;
}

/* Refuse team `id` until the next load. Call with t->mu held. */
static void
refuse_locked(struct teams *t, const char *id)
{
	for (size_t i = 0; i < t->nrefused; i++)
		if (strcmp(t->refused[i], id) == 0)
			return;
	if (t->nrefused < TEAMS_MAX_REFUSED && (t->refused[t->nrefused] = strdup(id)) != NULL)
		t->nrefused++;
}

static void
teams_refuse(struct teams *t, const char *id)
{
	pthread_mutex_lock(&t->mu);
	refuse_locked(t, id);
	pthread_mutex_unlock(&t->mu);
}

int
teams_refused(const struct teams *t, const char *id)
{
	struct teams *mt = (struct teams *)(uintptr_t)t; /* the lock only */
	int found = 0;
	pthread_mutex_lock(&mt->mu);
	for (size_t i = 0; id != NULL && i < t->nrefused && !found; i++)
		found = strcmp(t->refused[i], id) == 0;
	pthread_mutex_unlock(&mt->mu);
	return found;
}

void
teams_free(struct teams *t)
{
	if (t == NULL)
		return;
	teams_watch_stop(t);
	view_unref(t->cur);
	refused_clear(t);
	adminchain_free(t->ac);
	free(t->state_dir);
	free(t->conninfo);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->mu);
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

/* Open the statement of entry `e` again (a copy the caller frees). */
static struct membership *
entry_copy(const struct teams *t, const struct team_entry *e)
{
	struct membership *m = NULL;
	if (teams_chain_open(t->ac, e->text, e->len, &m) != MEMBERSHIP_OK)
		return NULL;
	return m;
}

/* Fill `e` for `m` (taken; signed text `text`). Return 0, or -1 (`m` freed). */
static int
entry_make(struct membership *m, const char *text, size_t len, struct team_entry *e)
{
	struct team_keys_ref *keys = keys_of(m);
	char *copy = malloc(len + 1);
	if (keys == NULL || copy == NULL) {
		keys_unref(keys);
		free(copy);
		membership_free(m);
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	*e = (struct team_entry){ .latest = m, .keys = keys, .text = copy, .len = len };
	return 0;
}

/* Release what entry `e` holds. */
static void
entry_clear(struct team_entry *e)
{
	membership_free(e->latest);
	keys_unref(e->keys);
	free(e->text);
}

/* Add `m` (taken; signed text `text`) to `v` as its team's latest statement. */
static int
view_put(struct teams_view *v, struct membership *m, const char *text, size_t len)
{
	struct team_entry *e = realloc(v->v, (v->n + 1) * sizeof(*e));
	if (e == NULL) {
		membership_free(m);
		return -1;
	}
	v->v = e;
	if (entry_make(m, text, len, &v->v[v->n]) != 0)
		return -1;
	v->n++;
	return 0;
}

/*
 * Keep in `v` (just read from the database) every team whose current head
 * is newer than what `v` holds: a statement adopted while `v` was being
 * read must never be undone (it may have revoked someone). Call with t->mu
 * held. Return 0, or -1 if out of memory.
 */
static int
view_keep_newer(struct teams *t, struct teams_view *v)
{
	for (size_t i = 0; i < t->cur->n; i++) {
		const struct team_entry *cur = &t->cur->v[i];
		size_t j = 0;
		while (j < v->n &&
		       strcmp(membership_team(v->v[j].latest), membership_team(cur->latest)) != 0)
			j++;
		if (j < v->n && membership_seq(v->v[j].latest) >= membership_seq(cur->latest))
			continue;
		struct membership *m = entry_copy(t, cur);
		if (m == NULL)
			return -1;
		if (j == v->n) {
			if (view_put(v, m, cur->text, cur->len) != 0)
				return -1;
			continue;
		}
		struct team_entry fresh;
		if (entry_make(m, cur->text, cur->len, &fresh) != 0)
			return -1;
		entry_clear(&v->v[j]);
		v->v[j] = fresh;
	}
	return 0;
}

/* Copy every team of `from` except `skip` into a new view (entries shared
 * by reference: their keys are ref-counted, their statements copied). */
static struct teams_view *
view_copy_except(const struct teams *t, const struct teams_view *from, const char *skip)
{
	struct teams_view *v = view_new();
	for (size_t i = 0; v != NULL && i < from->n; i++) {
		const struct team_entry *e = &from->v[i];
		struct membership *m = NULL;
		if (strcmp(membership_team(e->latest), skip) == 0)
			continue;
		/* Open it again rather than share a pointer between views. */
		if ((m = entry_copy(t, e)) == NULL || view_put(v, m, e->text, e->len) != 0) {
			view_unref(v);
			return NULL;
		}
	}
	return v;
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

/* Write the heads of every team of `v` (and keep the others as they were). */
static int
seen_write(const struct teams_view *v, const char *state_dir, const struct seen *old, int nold)
{
	struct buf b;
	int rc = -1;
	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < v->n; i++) {
		char hex[65];
		util_hex(membership_hash(v->v[i].latest), 32, hex);
		if (buf_printf(&b, "%s %llu %s\n", membership_team(v->v[i].latest),
		               (unsigned long long)membership_seq(v->v[i].latest), hex) != 0)
			goto fail;
	}
	for (int j = 0; j < nold; j++) {
		int kept = 0;
		for (size_t i = 0; i < v->n; i++)
			kept |= strcmp(old[j].team, membership_team(v->v[i].latest)) == 0;
		if (!kept &&
		    buf_printf(&b, "%s %llu %s\n", old[j].team, old[j].seq, old[j].hash) != 0)
			goto fail;
	}
	rc = state_file_write(state_dir, "membership-seen", b.data, b.len);
fail:
	buf_free(&b);
	return rc;
}

/* Refuse the teams of `v` whose head is behind, or beside, the remembered
 * one. Call with t->mu held. */
static void
seen_check(struct teams *t, struct teams_view *v, const struct seen *sv, int n)
{
	for (size_t i = 0; i < v->n;) {
		const struct membership *m = v->v[i].latest;
		char hex[65];
		int bad = 0;
		util_hex(membership_hash(m), 32, hex);
		for (int j = 0; j < n && !bad; j++) {
			if (strcmp(sv[j].team, membership_team(m)) != 0)
				continue;
			if (membership_seq(m) < sv[j].seq)
				bad = 1;
			else if (membership_seq(m) == sv[j].seq && strcmp(hex, sv[j].hash) != 0)
				bad = 2;
		}
		if (!bad) {
			i++;
			continue;
		}
		log_error("team %s: the database's membership chain %s the statement this "
		          "server has already seen; refusing the team (was the database "
		          "restored or tampered with?)",
		          membership_team(m), bad == 1 ? "ends before" : "forks from");
		refuse_locked(t, membership_team(m));
		entry_clear(&v->v[i]);
		v->v[i] = v->v[--v->n];
	}
}

/* Read every team's chain from the database into `v` and verify it. Return
 * 0, or -1 if the database could not be read. */
static int
teams_from_db(struct teams *t, struct teams_view *v, const char *conninfo)
{
	PGconn *c = teams_chain_connect(conninfo);
	if (c == NULL)
		return -1;
	PGresult *r = PQexec(c,
	                     "select team_id, statement, seq from membership_statements "
	                     "order by team_id, seq");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("cannot read membership statements: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return -1;
	}
	int rows = PQntuples(r), rc = 0;
	for (int i = 0, j; i < rows; i = j) {
		for (j = i + 1; j < rows && strcmp(PQgetvalue(r, j, 0), PQgetvalue(r, i, 0)) == 0;
		     j++)
			;
		struct membership *m = teams_chain_verify(t->ac, r, i, j, 1);
		if (m == NULL) {
			teams_refuse(t, PQgetvalue(r, i, 0));
			continue;
		}
		if (view_put(v, m, PQgetvalue(r, j - 1, 1), (size_t)PQgetlength(r, j - 1, 1)) !=
		    0) {
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
heads_write(const struct teams_view *v, const char *state_dir)
{
	char dir[4096], name[80];
	snprintf(dir, sizeof(dir), "%s/membership-heads", state_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		snprintf(name, sizeof(name), "%s.note", membership_team(v->v[i].latest));
		if (state_file_write(dir, name, v->v[i].text, v->v[i].len) != 0)
			return -1;
	}
	return 0;
}

/* Load the cached heads into `v`; each is verified against the pinned admin keys. */
static int
heads_load(struct teams *t, struct teams_view *v, const char *state_dir)
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
		if (text == NULL || teams_chain_open_head(t->ac, text, len, &m) != MEMBERSHIP_OK ||
		    strncmp(membership_team(m), e->d_name, nl - 5) != 0 ||
		    strlen(membership_team(m)) != nl - 5) {
			log_error("%s: not a valid membership statement; ignored", path);
			membership_free(m);
		} else if (view_put(v, m, text, len) != 0) {
			log_error("%s: out of memory; ignored", path);
		}
		free(text);
	}
	closedir(d);
	return 0;
}

/* Check `v` against the remembered heads, then remember it (both only with
 * a state directory). Return 0, or -1 if the state files cannot be used. */
static int
state_sync(struct teams *t, struct teams_view *v, int write)
{
	char seen_path[4096];
	struct seen *seen = NULL;
	int n, rc = 0;
	if (t->state_dir == NULL)
		return 0;
	snprintf(seen_path, sizeof(seen_path), "%s/membership-seen", t->state_dir);
	if ((n = seen_read(seen_path, &seen)) < 0) {
		log_error("cannot read %s: %s", seen_path, strerror(errno));
		return -1;
	}
	seen_check(t, v, seen, n);
	if (write)
		rc = seen_write(v, t->state_dir, seen, n) != 0 || heads_write(v, t->state_dir) != 0
			? -1
			: 0;
	free(seen);
	return rc;
}

int
teams_load(struct teams *t, const char *conninfo, const char *state_dir)
{
	struct teams_view *v = view_new();
	int from_db, n;
	if (v == NULL)
		return -1;
	free(t->state_dir);
	t->state_dir = state_dir != NULL ? strdup(state_dir) : NULL;
	if (state_dir != NULL && t->state_dir == NULL)
		goto fail;
	if (adminchain_load(t->ac, conninfo, state_dir) != 0)
		goto fail;
	pthread_mutex_lock(&t->mu);
	refused_clear(t);
	pthread_mutex_unlock(&t->mu);
	from_db = teams_from_db(t, v, conninfo) == 0;
	if (!from_db) {
		view_unref(v);
		if ((v = view_new()) == NULL || state_dir == NULL ||
		    heads_load(t, v, state_dir) != 0 || v->n == 0) {
			log_error("PostgreSQL is unreachable and no verified membership is cached "
			          "in the state directory: cannot start");
			goto fail;
		}
		log_warn("PostgreSQL is unreachable: sealing to the %zu cached membership "
		         "statements until it is back",
		         v->n);
	}
	pthread_mutex_lock(&t->mu);
	int rc = state_sync(t, v, from_db);
	n = (int)v->n;
	view_swap(t, v);
	pthread_mutex_unlock(&t->mu);
	return rc == 0 ? n : -1;
fail:
	view_unref(v);
	return -1;
}

/* Return 1 if `a` and `b` hold the same statements, else 0. */
static int
view_same(const struct teams_view *a, const struct teams_view *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct membership *m = teams_view_team(b, membership_team(a->v[i].latest));
		if (m == NULL ||
		    memcmp(membership_hash(m), membership_hash(a->v[i].latest), 32) != 0)
			return 0;
	}
	return 1;
}

int
teams_refresh(struct teams *t, const char *conninfo)
{
	struct teams_view *v = view_new();
	if (v == NULL || teams_from_db(t, v, conninfo) != 0) {
		view_unref(v);
		return -1;
	}
	pthread_mutex_lock(&t->mu);
	if (view_keep_newer(t, v) != 0) {
		pthread_mutex_unlock(&t->mu);
		view_unref(v);
		return -1;
	}
	int changed = !view_same(v, t->cur), rc = 0;
	if (changed) {
		rc = state_sync(t, v, 1);
		log_info("membership changed in the database: %zu teams now", v->n);
		view_swap(t, v);
		v = NULL;
	}
	pthread_mutex_unlock(&t->mu);
	view_unref(v);
	return rc == 0 ? changed : -1;
}

enum membership_result
teams_check_next(struct teams *t, const char *text, size_t len, struct membership **out,
                 struct membership **prev)
{
	struct membership *m = NULL, *head = NULL;
	enum membership_result mr = teams_chain_open_head(t->ac, text, len, &m);
	if (mr == MEMBERSHIP_OK && teams_refused(t, membership_team(m)))
		mr = MEMBERSHIP_ERR_SEQUENCE; /* its chain is in doubt: the operator must look */
	if (mr == MEMBERSHIP_OK) {
		pthread_mutex_lock(&t->mu);
		const struct team_entry *e = NULL;
		for (size_t i = 0; i < t->cur->n && e == NULL; i++)
			if (strcmp(membership_team(t->cur->v[i].latest), membership_team(m)) == 0)
				e = &t->cur->v[i];
		mr = membership_check_next(e != NULL ? e->latest : NULL, m);
		if (mr == MEMBERSHIP_OK && prev != NULL && e != NULL &&
		    (head = entry_copy(t, e)) == NULL)
			mr = MEMBERSHIP_ERR_SYSTEM;
		pthread_mutex_unlock(&t->mu);
	}
	if (mr != MEMBERSHIP_OK) {
		membership_free(m);
		membership_free(head);
		m = head = NULL;
	}
	*out = m;
	if (prev != NULL)
		*prev = head;
	return mr;
}

int
teams_adopt(struct teams *t, struct membership *m, const char *text, size_t len)
{
	int rc = -1;
	pthread_mutex_lock(&t->mu);
	const struct membership *head = teams_view_team(t->cur, membership_team(m));
	if (head != NULL && membership_seq(head) >= membership_seq(m)) {
		pthread_mutex_unlock(&t->mu);
		membership_free(m);
		return 0; /* the watcher got there first */
	}
	struct teams_view *v = view_copy_except(t, t->cur, membership_team(m));
	if (v != NULL && view_put(v, m, text, len) == 0) {
		m = NULL;
		rc = state_sync(t, v, 1);
		view_swap(t, v);
		v = NULL;
	}
	pthread_mutex_unlock(&t->mu);
	membership_free(m);
	view_unref(v);
	return rc;
}

void
teams_admins_changed(struct teams *t)
{
	pthread_mutex_lock(&t->mu);
	struct teams_view *v = view_new();
	for (size_t i = 0; v != NULL && i < t->cur->n; i++) {
		const struct team_entry *e = &t->cur->v[i];
		struct membership *m = NULL;
		if (!adminchain_signed_by_current(t->ac, e->text, e->len)) {
			log_error(
				"team %s: its latest membership statement was signed by an admin who "
				"is no longer one: the team gets no reports until a current admin "
				"signs the next statement",
				membership_team(e->latest));
			refuse_locked(t, membership_team(e->latest));
			continue;
		}
		if ((m = entry_copy(t, e)) == NULL || view_put(v, m, e->text, e->len) != 0) {
			view_unref(v);
			v = NULL;
		}
	}
	if (v != NULL)
		view_swap(t, v);
	pthread_mutex_unlock(&t->mu);
}

const struct team_keys *
teams_find(struct teams *t, const char *id)
{
	const struct team_keys *k = NULL;
	if (id == NULL)
		return NULL;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->cur->n && k == NULL; i++) {
		struct team_keys_ref *r = t->cur->v[i].keys;
		if (strcmp(r->k.id, id) == 0 && r->k.recipients.n > 0) {
			atomic_fetch_add(&r->refs, 1);
			k = &r->k;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return k;
}

/* ---- the watcher ---- */

static void *
watch_main(void *arg)
{
	struct teams *t = arg;
	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += t->interval_ms / 1000;
		until.tv_nsec += (long)(t->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->wake, &t->mu, &until);
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->mu);
		if (adminchain_refresh(t->ac, t->conninfo) == 1)
			teams_admins_changed(t);
		if (teams_refresh(t, t->conninfo) < 0)
			log_debug("membership: cannot check the database now; will retry");
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int
teams_watch_start(struct teams *t, const char *conninfo, unsigned interval_ms)
{
	if ((t->conninfo = strdup(conninfo)) == NULL)
		return -1;
	t->interval_ms = interval_ms ? interval_ms : 1000;
	t->stop = false;
	if (pthread_create(&t->watcher, NULL, watch_main, t) != 0) {
		log_error("cannot start the membership watcher");
		return -1;
	}
	t->watching = true;
	return 0;
}

void
teams_watch_stop(struct teams *t)
{
	if (!t->watching)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->watcher, NULL);
	t->watching = false;
}
