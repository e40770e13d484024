#include "inbox_share.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "receipt.h"
#include "util.h"

#define ISHARE_BUCKETS 4096
#define ISHARE_MAGIC "TLP1"
#define ISHARE_HEAD 8 /* magic, then the entry count (u32, little-endian) */
#define ISHARE_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ISHARE_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define ISHARE_AD "tipline/v1 pending-share "
#define ISHARE_MAX_HOSTS 256

struct peer {
	struct peer *next;
	uint8_t id[32];
	char report[37];
	char team[64];
	bool forgotten;
	unsigned nmsgs; /* messages spooled here for it while it is pending there */
};

struct ishare {
	char host[33];
	uint8_t *key; /* sodium_malloc */
	unsigned cap;
	pthread_mutex_t mu;
	struct peer **buckets; /* the other hosts' entries */
	/* the thread */
	pthread_t thread;
	bool running, stop;
	pthread_cond_t cond;
	char *conninfo;
	unsigned interval_ms;
	ishare_export_fn export; /* this host's pending set (the thread's) */
	void *export_arg;
	PGconn *conn;
	bool down_logged;   /* "unreachable" logged since the last success */
	bool failed_logged; /* a failed write logged since the last success */
};

static size_t
bucket_of(const uint8_t id[32])
{
	return ((size_t)id[0] << 8 | id[1]) % ISHARE_BUCKETS;
}

void
ishare_entry_put(uint8_t *out, const uint8_t id[32], const char *report, const char *team,
                 int forgotten)
{
	size_t tl = strnlen(team, 63);
	memset(out, 0, ISHARE_ENTRY);
	memcpy(out, id, 32);
	memcpy(out + 32, report, strnlen(report, 36));
	out[68] = forgotten ? 1 : 0;
	out[69] = (uint8_t)tl;
	memcpy(out + 70, team, tl);
}

/* ---- the host id ---- */

/* Read STATE_DIR/host.id, or make it; 0, or -1 with `err` set. */
static int
host_id_load(const char *state_dir, char host[33], char *err, size_t errlen)
{
	char path[4096];
	uint8_t rnd[16];
	size_t len = 0;
	if (snprintf(path, sizeof(path), "%s/%s", state_dir, ISHARE_HOST_ID_FILE) >= (int)sizeof(path))
		goto fail;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		randombytes_buf(rnd, sizeof(rnd));
		util_hex(rnd, sizeof(rnd), host);
		int rc = util_write_all(fd, host, 32) == 0 && fsync(fd) == 0 ? 0 : -1;
		if (close(fd) != 0 || rc != 0) {
			unlink(path);
			goto fail;
		}
		return 0;
	}
	if (errno != EEXIST)
		goto fail;
	char *text = util_read_file(path, 64, &len);
	while (text != NULL && len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	bool ok = text != NULL && len == 32 && strspn(text, "0123456789abcdef") >= 32;
	if (ok) {
		memcpy(host, text, 32);
		host[32] = '\0';
	}
	free(text);
	if (ok)
		return 0;
fail:
	snprintf(err, errlen, "%s/%s: cannot make or read this host's id (32 hex digits)", state_dir,
	         ISHARE_HOST_ID_FILE);
	return -1;
}

/* ---- lifecycle ---- */

static void
table_free(struct peer **t)
{
	if (t == NULL)
		return;
	for (size_t b = 0; b < ISHARE_BUCKETS; b++)
		for (struct peer *p = t[b], *next; p != NULL; p = next) {
			next = p->next;
			sodium_memzero(p, sizeof(*p));
			free(p);
		}
	free(t);
}

struct ishare *
ishare_new(const char *state_dir, const struct receipt_pepper *pepper, unsigned capacity,
           char *err, size_t errlen)
{
	struct ishare *s = calloc(1, sizeof(*s));
	if (s == NULL || pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pthread_cond_init(&s->cond, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cap = capacity;
	s->key = sodium_malloc(32);
	s->buckets = calloc(ISHARE_BUCKETS, sizeof(*s->buckets));
	if (s->key == NULL || s->buckets == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (receipt_share_key(pepper, s->key) != 0) {
		snprintf(err, errlen, "cannot derive the pending-share key");
		goto fail;
	}
	if (host_id_load(state_dir, s->host, err, errlen) != 0)
		goto fail;
	return s;
fail:
	ishare_free(s);
	return NULL;
}

void
ishare_free(struct ishare *s)
{
	if (s == NULL)
		return;
	ishare_stop(s);
	table_free(s->buckets);
	if (s->key != NULL)
		sodium_free(s->key);
	free(s->conninfo);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *
ishare_host(const struct ishare *s)
{
	return s->host;
}

/* ---- sealing and opening a share ---- */

/* The additional data that binds a blob to host `host`. */
static void
share_ad(const char *host, char ad[64])
{
	snprintf(ad, 64, "%s%.32s", ISHARE_AD, host);
}

/* Seal this host's pending set into a new malloc'd blob of a fixed size;
 * NULL on error. */
static uint8_t *
share_seal(struct ishare *s, ishare_export_fn export, void *arg, size_t *len)
{
	size_t ptlen = ISHARE_HEAD + (size_t)s->cap * ISHARE_ENTRY;
	uint8_t *pt = sodium_malloc(ptlen), *blob = malloc(ISHARE_NONCE + ptlen + ISHARE_TAG);
	char ad[64];
	unsigned long long clen = 0;
	if (pt == NULL || blob == NULL)
		goto fail;
	memset(pt, 0, ptlen);
	size_t n = export(arg, pt + ISHARE_HEAD, s->cap);
	memcpy(pt, ISHARE_MAGIC, 4);
	for (int i = 0; i < 4; i++)
		pt[4 + i] = (uint8_t)(n >> (8 * i));
	randombytes_buf(blob, ISHARE_NONCE);
	share_ad(s->host, ad);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(blob + ISHARE_NONCE, &clen, pt, ptlen,
	                                               (const uint8_t *)ad, strlen(ad), NULL, blob,
	                                               s->key) != 0)
		goto fail;
	sodium_free(pt);
	*len = ISHARE_NONCE + (size_t)clen;
	return blob;
fail:
	if (pt != NULL)
		sodium_free(pt);
	free(blob);
	return NULL;
}

/* Add the entries of `n` bytes of another host's plaintext share to `t`;
 * 0, or -1 if it is malformed. */
static int
share_add(struct peer **t, const uint8_t *pt, size_t n)
{
	if (n < ISHARE_HEAD || memcmp(pt, ISHARE_MAGIC, 4) != 0)
		return -1;
	size_t count = (size_t)pt[4] | (size_t)pt[5] << 8 | (size_t)pt[6] << 16 | (size_t)pt[7] << 24;
	if (count > (n - ISHARE_HEAD) / ISHARE_ENTRY)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *e = pt + ISHARE_HEAD + i * ISHARE_ENTRY;
		struct peer *p = calloc(1, sizeof(*p));
		if (p == NULL || e[69] > 63) {
			free(p);
			return -1;
		}
		memcpy(p->id, e, 32);
		memcpy(p->report, e + 32, 36);
		memcpy(p->team, e + 70, e[69]);
		p->forgotten = (e[68] & 1) != 0;
		size_t b = bucket_of(p->id);
		p->next = t[b];
		t[b] = p;
	}
	return 0;
}

/* Open another host's blob and add its entries to `t`; a blob that does
 * not open is skipped (0 still: the other hosts' shares count). */
static void
share_open(struct ishare *s, struct peer **t, const char *host, const uint8_t *blob, size_t len)
{
	char ad[64];
	unsigned long long ptlen = 0;
	if (len < ISHARE_NONCE + ISHARE_TAG)
		return;
	uint8_t *pt = sodium_malloc(len);
	if (pt == NULL)
		return;
	share_ad(host, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL, blob + ISHARE_NONCE,
	                                               len - ISHARE_NONCE, (const uint8_t *)ad,
	                                               strlen(ad), blob, s->key) != 0 ||
	    share_add(t, pt, (size_t)ptlen) != 0)
		log_warn("inbox: a pending-set share in the database does not open; skipped");
	sodium_free(pt);
}

/* ---- the peers' table ---- */

static struct peer *
find_locked(struct peer **t, const uint8_t id[32])
{
	for (struct peer *p = t[bucket_of(id)]; p != NULL; p = p->next)
		if (sodium_memcmp(p->id, id, 32) == 0)
			return p;
	return NULL;
}

/* Replace the peers' table with `t`, keeping the message counts. */
static void
table_swap(struct ishare *s, struct peer **t)
{
	pthread_mutex_lock(&s->mu);
	for (size_t b = 0; b < ISHARE_BUCKETS; b++)
		for (struct peer *p = t[b]; p != NULL; p = p->next) {
			struct peer *old = find_locked(s->buckets, p->id);
			if (old != NULL)
				p->nmsgs = old->nmsgs;
		}
	struct peer **old = s->buckets;
	s->buckets = t;
	pthread_mutex_unlock(&s->mu);
	table_free(old);
}

enum ishare_state
ishare_find(struct ishare *s, const uint8_t id[32], char report[37], char team[64])
{
	enum ishare_state st = ISHARE_NONE;
	if (s == NULL)
		return st;
	pthread_mutex_lock(&s->mu);
	struct peer *p = find_locked(s->buckets, id);
	if (p != NULL) {
		memcpy(report, p->report, 37);
		memcpy(team, p->team, 64);
		st = p->forgotten ? ISHARE_FORGOTTEN : ISHARE_REPORT;
	}
	pthread_mutex_unlock(&s->mu);
	return st;
}

int
ishare_take_message(struct ishare *s, const uint8_t id[32], unsigned max)
{
	int rc = -1;
	pthread_mutex_lock(&s->mu);
	struct peer *p = find_locked(s->buckets, id);
	if (p != NULL && !p->forgotten && p->nmsgs < max) {
		p->nmsgs++;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void
ishare_return_message(struct ishare *s, const uint8_t id[32])
{
	pthread_mutex_lock(&s->mu);
	struct peer *p = find_locked(s->buckets, id);
	if (p != NULL && p->nmsgs > 0)
		p->nmsgs--;
	pthread_mutex_unlock(&s->mu);
}

/* ---- one round ---- */

static const char SQL_PUT[] =
	"insert into pending_shares (host, blob) values ($1, $2) "
	"on conflict (host) do update set blob = excluded.blob";
static const char SQL_GET[] = "select host, blob from pending_shares where host <> $1";

/* Connect if needed; 0, or -1 (logged once per outage). */
static int
round_connect(struct ishare *s, const char *conninfo)
{
	if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	PQfinish(s->conn);
	s->conn = PQconnectdb(conninfo);
	if (PQstatus(s->conn) == CONNECTION_OK) {
		s->down_logged = false;
		return 0;
	}
	if (!s->down_logged)
		log_warn("inbox: cannot share the pending set: the database is unreachable");
	s->down_logged = true;
	PQfinish(s->conn);
	s->conn = NULL;
	return -1;
}

/* Read the other hosts' shares into a new table and swap it in. */
static int
round_read(struct ishare *s)
{
	const char *v[1] = { s->host };
	PGresult *r = PQexecParams(s->conn, SQL_GET, 1, NULL, v, NULL, NULL, 1);
	struct peer **t = calloc(ISHARE_BUCKETS, sizeof(*t));
	int rc = -1;
	if (t == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		goto out;
	for (int i = 0; i < PQntuples(r) && i < ISHARE_MAX_HOSTS; i++) {
		char host[33];
		int hl = PQgetlength(r, i, 0);
		if (hl != 32)
			continue;
		memcpy(host, PQgetvalue(r, i, 0), 32);
		host[32] = '\0';
		share_open(s, t, host, (const uint8_t *)PQgetvalue(r, i, 1),
		           (size_t)PQgetlength(r, i, 1));
	}
	table_swap(s, t);
	t = NULL;
	rc = 0;
out:
	PQclear(r);
	table_free(t);
	return rc;
}

int
ishare_round(struct ishare *s, ishare_export_fn export, void *arg, const char *conninfo)
{
	size_t len = 0;
	int rc = -1;
	uint8_t *blob = NULL;
	PGresult *r = NULL;
	if (round_connect(s, conninfo) != 0)
		return -1;
	if ((blob = share_seal(s, export, arg, &len)) == NULL)
		goto out;
	const char *v[2] = { s->host, (const char *)blob };
	const int lens[2] = { 32, (int)len }, fmts[2] = { 0, 1 };
	r = PQexecParams(s->conn, SQL_PUT, 2, NULL, v, lens, fmts, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (PQstatus(s->conn) == CONNECTION_OK && !s->failed_logged)
			log_warn("inbox: cannot share the pending set (SQLSTATE %s); logged once until "
			         "it works again", state != NULL ? state : "none");
		s->failed_logged = s->failed_logged || PQstatus(s->conn) == CONNECTION_OK;
		goto out;
	}
	s->failed_logged = false;
	rc = round_read(s);
out:
	PQclear(r);
	free(blob);
	return rc;
}

/* ---- the thread ---- */

static void *
share_thread(void *arg)
{
	struct ishare *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		pthread_mutex_unlock(&s->mu);
		(void)ishare_round(s, s->export, s->export_arg, s->conninfo);
		pthread_mutex_lock(&s->mu);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += s->interval_ms / 1000;
		ts.tv_nsec += (long)(s->interval_ms % 1000) * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!s->stop && pthread_cond_timedwait(&s->cond, &s->mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&s->mu);
	PQfinish(s->conn);
	s->conn = NULL;
	return NULL;
}

int
ishare_start(struct ishare *s, ishare_export_fn export, void *arg, const char *conninfo,
             unsigned interval_ms)
{
	if ((s->conninfo = strdup(conninfo)) == NULL)
		return -1;
	s->export = export;
	s->export_arg = arg;
	s->interval_ms = interval_ms > 0 ? interval_ms : 1;
	if (pthread_create(&s->thread, NULL, share_thread, s) != 0)
		return -1;
	s->running = true;
	return 0;
}

void
ishare_stop(struct ishare *s)
{
	if (s == NULL || !s->running)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->running = false;
}
