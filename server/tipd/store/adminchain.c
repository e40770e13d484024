#include "adminchain.h"

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
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "state_file.h"
#include "util.h"

#define AC_CACHE_MAX (4u << 20)

struct adminchain {
	pthread_mutex_t mu; /* guards head, texts and the state files */
	struct note_verifier *pinned[ADMINS_MAX * 2];
	size_t npinned;
	unsigned quorum0;
	struct note_verifier *ever[ADMINCHAIN_EVER_MAX]; /* append-only */
	atomic_size_t never;
	atomic_bool current[ADMINCHAIN_EVER_MAX];
	struct admins *head; /* NULL: the pinned keys */
	struct buf chain;    /* the verified statements, one base64 line each (the cache) */
	char *state_dir;
};

/* The chain as read: statements in order. */
struct ac_list {
	char **texts;
	size_t *lens;
	size_t n;
};

static void
list_free(struct ac_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->texts[i]);
	free(l->texts);
	free(l->lens);
	memset(l, 0, sizeof(*l));
}

/* Append a copy of `n` bytes at `p` to `l`. Return 0, or -1. */
static int
list_add(struct ac_list *l, const char *p, size_t n)
{
	char **t = realloc(l->texts, (l->n + 1) * sizeof(*t));
	if (t == NULL)
		return -1;
	l->texts = t;
	size_t *ls = realloc(l->lens, (l->n + 1) * sizeof(*ls));
	if (ls == NULL)
		return -1;
	l->lens = ls;
	if ((l->texts[l->n] = malloc(n + 1)) == NULL)
		return -1;
	memcpy(l->texts[l->n], p, n);
	l->texts[l->n][n] = '\0';
	l->lens[l->n++] = n;
	return 0;
}

struct adminchain *
adminchain_new(char *const *keys, size_t n, unsigned quorum, char *err, size_t errlen)
{
	struct adminchain *ac = calloc(1, sizeof(*ac));
	if (ac == NULL || pthread_mutex_init(&ac->mu, NULL) != 0) {
		free(ac);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	buf_init(&ac->chain, AC_CACHE_MAX);
	if (n == 0 || n > sizeof(ac->pinned) / sizeof(ac->pinned[0])) {
		snprintf(err, errlen, "[admins] must pin 1 to %zu admin keys",
		         sizeof(ac->pinned) / sizeof(ac->pinned[0]));
		goto fail;
	}
	if (quorum == 0 || quorum > n) {
		snprintf(err, errlen, "[admins] quorum must be 1 to the number of admin keys (%zu)", n);
		goto fail;
	}
	ac->quorum0 = quorum;
	for (size_t i = 0; i < n; i++) {
		if ((ac->pinned[i] = note_verifier_parse(keys[i], strlen(keys[i]))) == NULL ||
		    (ac->ever[i] = note_verifier_parse(keys[i], strlen(keys[i]))) == NULL) {
			snprintf(err, errlen, "[admins] admin_key #%zu is not a valid verifier key "
			         "(NAME+HASH+BASE64, as printed by tipctl admin keygen)", i + 1);
			ac->npinned = i + 1;
			atomic_store(&ac->never, i + 1);
			goto fail;
		}
		atomic_store(&ac->current[i], true);
		ac->npinned = i + 1;
		atomic_store(&ac->never, i + 1);
	}
	return ac;
fail:
	adminchain_free(ac);
	return NULL;
}

void
adminchain_free(struct adminchain *ac)
{
	if (ac == NULL)
		return;
	for (size_t i = 0; i < ac->npinned; i++)
		note_verifier_free(ac->pinned[i]);
	for (size_t i = 0; i < atomic_load(&ac->never); i++)
		note_verifier_free(ac->ever[i]);
	admins_free(ac->head);
	buf_free(&ac->chain);
	free(ac->state_dir);
	pthread_mutex_destroy(&ac->mu);
	free(ac);
}

/* Verify the statements of `l` from the pinned keys. Return the head (NULL
 * and ADMINS_OK for an empty chain) in *out, or an error (logged). */
static enum admins_result
verify_list(struct adminchain *ac, const struct ac_list *l, struct admins **out)
{
	struct admins *prev = NULL, *cur = NULL;
	*out = NULL;
	for (size_t i = 0; i < l->n; i++) {
		enum admins_result r = admins_open_next(prev, (const struct note_verifier *const *)ac->pinned,
		                                        ac->npinned, ac->quorum0, l->texts[i],
		                                        l->lens[i], &cur);
		if (r != ADMINS_OK) {
			log_error("admin statement %zu does not verify: %s", i + 1, admins_strerror(r));
			admins_free(prev);
			return r;
		}
		admins_free(prev);
		prev = cur;
	}
	*out = prev;
	return ADMINS_OK;
}

/* Publish `head` (taken; may be NULL) as the current set: mark each known
 * key current or not, append new ones. Call with ac->mu held. */
static void
publish(struct adminchain *ac, struct admins *head)
{
	size_t n = atomic_load(&ac->never);
	for (size_t j = 0; head != NULL && j < admins_count(head); j++) {
		const uint8_t *pk = note_verifier_pk(admins_at(head, j));
		int known = 0;
		for (size_t i = 0; i < n && !known; i++)
			known = sodium_memcmp(note_verifier_pk(ac->ever[i]), pk, NOTE_PK_LEN) == 0;
		if (known || n == ADMINCHAIN_EVER_MAX)
			continue;
		const char *t = admins_key_text(head, j);
		if ((ac->ever[n] = note_verifier_parse(t, strlen(t))) == NULL)
			continue;
		atomic_store(&ac->current[n], false);
		atomic_store(&ac->never, ++n);
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *pk = note_verifier_pk(ac->ever[i]);
		bool cur = head != NULL ? admins_has_key(head, pk) : i < ac->npinned;
		atomic_store(&ac->current[i], cur);
	}
	admins_free(ac->head);
	ac->head = head;
}

/* Add the keys of every statement of `l` (verified) to the keys ever named:
 * a link of a team's chain signed by an admin since removed stays valid
 * after a restart too. Call with ac->mu held. */
static void
ever_add_list(struct adminchain *ac, const struct ac_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct admins *a = NULL;
		if (admins_parse(l->texts[i], l->lens[i], &a) != ADMINS_OK)
			continue;
		size_t n = atomic_load(&ac->never);
		for (size_t j = 0; j < admins_count(a) && n < ADMINCHAIN_EVER_MAX; j++) {
			const uint8_t *pk = note_verifier_pk(admins_at(a, j));
			int known = 0;
			for (size_t k = 0; k < n && !known; k++)
				known = sodium_memcmp(note_verifier_pk(ac->ever[k]), pk, NOTE_PK_LEN) == 0;
			const char *t = admins_key_text(a, j);
			if (known || (ac->ever[n] = note_verifier_parse(t, strlen(t))) == NULL)
				continue;
			atomic_store(&ac->current[n], false);
			atomic_store(&ac->never, ++n);
		}
		admins_free(a);
	}
}

/* Read every statement from PostgreSQL into `l`. Return 0, or -1 (logged). */
static int
read_db(const char *conninfo, struct ac_list *l)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r = NULL;
	int rc = -1;
	if (PQstatus(c) != CONNECTION_OK) {
		log_error("cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		goto out;
	}
	r = PQexec(c, "select seq, statement from admin_statements order by seq");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("cannot read admin statements: %s", PQerrorMessage(c));
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++)
		if (list_add(l, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1)) != 0)
			goto out;
	rc = 0;
out:
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* Check `head` (NULL: no statement) against STATE_DIR/admins-seen. Return
 * ADMINS_OK, ADMINS_ERR_STALE (rolled back) or ADMINS_ERR_FORKED. */
static enum admins_result
seen_check(const struct adminchain *ac, const struct admins *head)
{
	char path[4096], hex[65], shex[65];
	unsigned long long seq = 0;
	size_t len;
	if (ac->state_dir == NULL)
		return ADMINS_OK;
	snprintf(path, sizeof(path), "%s/admins-seen", ac->state_dir);
	char *text = util_read_file(path, 4096, &len);
	if (text == NULL)
		return ADMINS_OK; /* nothing seen yet */
	int ok = sscanf(text, "%llu %64s", &seq, shex) == 2;
	free(text);
	if (!ok)
		return ADMINS_ERR_FORKED; /* damaged: the operator must look */
	uint64_t have = head != NULL ? admins_seq(head) : 0;
	if (have < seq)
		return ADMINS_ERR_STALE;
	if (head != NULL && have == seq) {
		util_hex(admins_hash(head), ADMINS_HASH_LEN, hex);
		if (strcmp(hex, shex) != 0)
			return ADMINS_ERR_FORKED;
	}
	return ADMINS_OK;
}

/* Remember the current head and chain in the state directory. Call with ac->mu held. */
static int
state_write(struct adminchain *ac)
{
	char line[128], hex[65];
	if (ac->state_dir == NULL || ac->head == NULL)
		return 0;
	util_hex(admins_hash(ac->head), ADMINS_HASH_LEN, hex);
	snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)admins_seq(ac->head), hex);
	if (state_file_write(ac->state_dir, "admin-chain", ac->chain.data, ac->chain.len) != 0 ||
	    state_file_write(ac->state_dir, "admins-seen", line, strlen(line)) != 0)
		return -1;
	return 0;
}

/* Replace the cache text with the statements of `l`. Return 0, or -1. */
static int
chain_set(struct adminchain *ac, const struct ac_list *l)
{
	buf_reset(&ac->chain);
	for (size_t i = 0; i < l->n; i++) {
		size_t bl = sodium_base64_ENCODED_LEN(l->lens[i], sodium_base64_VARIANT_ORIGINAL);
		char *b = malloc(bl);
		if (b == NULL)
			return -1;
		sodium_bin2base64(b, bl, (const unsigned char *)l->texts[i], l->lens[i],
		                  sodium_base64_VARIANT_ORIGINAL);
		int rc = buf_printf(&ac->chain, "%s\n", b);
		free(b);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Read the cached chain from the state directory into `l`. Return 0, or -1. */
static int
read_cache(const char *state_dir, struct ac_list *l)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/admin-chain", state_dir);
	char *text = util_read_file(path, AC_CACHE_MAX, &len);
	if (text == NULL)
		return errno == ENOENT ? 0 : -1;
	int rc = 0;
	for (char *p = text, *eol; rc == 0 && *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			break;
		size_t bl = (size_t)(eol - p), got = 0;
		uint8_t *bin = malloc(bl + 1);
		rc = bin == NULL || util_base64_decode(p, bl, bin, bl, &got,
		                                       sodium_base64_VARIANT_ORIGINAL) != 0 ||
		     list_add(l, (const char *)bin, got) != 0 ? -1 : 0;
		free(bin);
	}
	free(text);
	return rc;
}

int
adminchain_load(struct adminchain *ac, const char *conninfo, const char *state_dir)
{
	struct ac_list l = { 0 };
	struct admins *head = NULL;
	int rc = -1, from_db;
	free(ac->state_dir);
	ac->state_dir = state_dir != NULL ? strdup(state_dir) : NULL;
	from_db = read_db(conninfo, &l) == 0;
	if (!from_db) {
		list_free(&l);
		if (state_dir == NULL || read_cache(state_dir, &l) != 0) {
			log_error("cannot read the admin chain from PostgreSQL or the state directory");
			goto out;
		}
		log_warn("PostgreSQL is unreachable: using the %zu cached admin statements", l.n);
	}
	if (verify_list(ac, &l, &head) != ADMINS_OK) {
		log_error("the admin chain in the database does not verify from the pinned "
		          "[admins] keys: refusing to start (was the database tampered with?)");
		goto out;
	}
	enum admins_result sr = seen_check(ac, head);
	if (sr != ADMINS_OK) {
		log_error("the admin chain in the database %s the admin statement this server has "
		          "already seen: refusing to start (was the database restored or tampered "
		          "with?)", sr == ADMINS_ERR_STALE ? "ends before" : "forks from");
		goto out;
	}
	pthread_mutex_lock(&ac->mu);
	rc = chain_set(ac, &l);
	ever_add_list(ac, &l);
	publish(ac, head);
	head = NULL;
	if (rc == 0 && from_db)
		rc = state_write(ac);
	pthread_mutex_unlock(&ac->mu);
out:
	admins_free(head);
	list_free(&l);
	return rc;
}

int
adminchain_refresh(struct adminchain *ac, const char *conninfo)
{
	struct ac_list l = { 0 };
	struct admins *head = NULL;
	int rc = -1;
	if (read_db(conninfo, &l) != 0 || verify_list(ac, &l, &head) != ADMINS_OK)
		goto out;
	pthread_mutex_lock(&ac->mu);
	uint64_t have = ac->head != NULL ? admins_seq(ac->head) : 0;
	uint64_t got = head != NULL ? admins_seq(head) : 0;
	if (got < have) {
		log_error("the admin chain in the database ends before the one in use: ignored");
	} else if (got == have) {
		rc = have == 0 || memcmp(admins_hash(head), admins_hash(ac->head), 32) == 0 ? 0 : -1;
		if (rc != 0)
			log_error("the admin chain in the database forks from the one in use: ignored");
	} else {
		/* A longer chain that verifies from the pinned keys extends ours
		 * only if it holds our head at our seq. */
		uint8_t h[32];
		if (have > 0)
			crypto_hash_sha256(h, (const uint8_t *)l.texts[have - 1], l.lens[have - 1]);
		if (have > 0 && memcmp(h, admins_hash(ac->head), 32) != 0) {
			log_error("the admin chain in the database forks from the one in use: ignored");
		} else if (chain_set(ac, &l) == 0) {
			ever_add_list(ac, &l);
			publish(ac, head);
			head = NULL;
			(void)state_write(ac);
			log_info("admins changed in the database: admin statement %llu",
			         (unsigned long long)got);
			rc = 1;
		}
	}
	pthread_mutex_unlock(&ac->mu);
out:
	admins_free(head);
	list_free(&l);
	return rc;
}

int
adminchain_is_current(const struct adminchain *ac, const uint8_t pk[NOTE_PK_LEN])
{
	size_t n = atomic_load(&ac->never);
	for (size_t i = 0; i < n; i++)
		if (atomic_load(&ac->current[i]) &&
		    sodium_memcmp(note_verifier_pk(ac->ever[i]), pk, NOTE_PK_LEN) == 0)
			return 1;
	return 0;
}

const struct note_verifier *const *
adminchain_ever(const struct adminchain *ac, size_t *n)
{
	*n = atomic_load(&ac->never);
	return (const struct note_verifier *const *)ac->ever;
}

int
adminchain_signed_by_current(const struct adminchain *ac, const char *note, size_t len)
{
	const struct note_verifier *cur[ADMINCHAIN_EVER_MAX];
	size_t n = atomic_load(&ac->never), k = 0, count = 0;
	for (size_t i = 0; i < n; i++)
		if (atomic_load(&ac->current[i]))
			cur[k++] = ac->ever[i];
	if (k > ADMINS_MAX * 2)
		k = ADMINS_MAX * 2;
	return admins_count_signers(note, len, cur, k, &count) == ADMINS_OK && count > 0;
}

/* The one key in which `a` and `b` (NULL: the pinned keys) differ, into
 * `pk`; *added is 1 if `b` has it. Return 0, or -1 if they do not differ by
 * exactly one key. */
static int
one_change(const struct adminchain *ac, const struct admins *a, const struct admins *b,
           uint8_t pk[NOTE_PK_LEN], int *added)
{
	size_t changes = 0;
	size_t na = a != NULL ? admins_count(a) : ac->npinned;
	for (size_t i = 0; i < na; i++) {
		const uint8_t *k = note_verifier_pk(a != NULL ? admins_at(a, i) : ac->pinned[i]);
		if (!admins_has_key(b, k) && changes++ == 0) {
			memcpy(pk, k, NOTE_PK_LEN);
			*added = 0;
		}
	}
	for (size_t i = 0; i < admins_count(b); i++) {
		const uint8_t *k = note_verifier_pk(admins_at(b, i));
		int had = 0;
		for (size_t j = 0; j < na && !had; j++)
			had = sodium_memcmp(note_verifier_pk(a != NULL ? admins_at(a, j) : ac->pinned[j]),
			                    k, NOTE_PK_LEN) == 0;
		if (!had && changes++ == 0) {
			memcpy(pk, k, NOTE_PK_LEN);
			*added = 1;
		}
	}
	return changes == 1 ? 0 : -1;
}

enum admins_result
adminchain_check_next(struct adminchain *ac, const char *note, size_t len, struct admins **out,
                      uint8_t changed[NOTE_PK_LEN], int *added)
{
	struct admins *a = NULL;
	pthread_mutex_lock(&ac->mu);
	enum admins_result r = admins_open_next(ac->head, (const struct note_verifier *const *)ac->pinned,
	                                        ac->npinned, ac->quorum0, note, len, &a);
	if (r == ADMINS_OK && (admins_quorum(a) < ac->quorum0 ||
	                       one_change(ac, ac->head, a, changed, added) != 0))
		r = ADMINS_ERR_FORMAT;
	pthread_mutex_unlock(&ac->mu);
	if (r != ADMINS_OK) {
		admins_free(a);
		a = NULL;
	}
	*out = a;
	return r;
}

int
adminchain_adopt(struct adminchain *ac, struct admins *a, const char *note, size_t len)
{
	int rc = 0;
	pthread_mutex_lock(&ac->mu);
	uint64_t have = ac->head != NULL ? admins_seq(ac->head) : 0;
	if (admins_seq(a) != have + 1) {
		pthread_mutex_unlock(&ac->mu);
		admins_free(a);
		return 0; /* the watcher got there first */
	}
	size_t bl = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(bl);
	if (b != NULL) {
		sodium_bin2base64(b, bl, (const unsigned char *)note, len, sodium_base64_VARIANT_ORIGINAL);
		rc = buf_printf(&ac->chain, "%s\n", b);
		free(b);
	}
	publish(ac, a);
	if (b == NULL || rc != 0 || state_write(ac) != 0)
		rc = -1;
	pthread_mutex_unlock(&ac->mu);
	return rc;
}

uint64_t
adminchain_seq(const struct adminchain *ac)
{
	struct adminchain *m = (struct adminchain *)(uintptr_t)ac; /* the lock only */
	pthread_mutex_lock(&m->mu);
	uint64_t s = ac->head != NULL ? admins_seq(ac->head) : 0;
	pthread_mutex_unlock(&m->mu);
	return s;
}
