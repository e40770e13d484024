/* The pending set (inbox_pending.h): lookup ids of receipts whose report or
 * "forget" is still in this host's spool, in a hash table under one mutex. */
#include "inbox_pending.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbox_share.h"
#include "log.h"
#include "spool.h"

#define INBOX_BUCKETS 4096

struct pending {
	struct pending *next;
	uint8_t id[32];
	char report[37];
	char team[64];
	bool forgotten;  /* a spooled "forget" for this receipt, not a report */
	unsigned nmsgs;  /* messages spooled for the report while it is pending */
};

struct pending_set {
	pthread_mutex_t mu;
	struct pending *buckets[INBOX_BUCKETS];
	size_t npending;
	size_t max;
	bool full_warned;    /* "pending set full" logged since it last had room */
	atomic_bool ready;   /* rebuilt from the spool: a miss means "not pending" */
};

struct pending_set *
pending_new(size_t max)
{
	struct pending_set *ps = calloc(1, sizeof(*ps));
	if (ps == NULL || pthread_mutex_init(&ps->mu, NULL) != 0) {
		free(ps);
		return NULL;
	}
	ps->max = max;
	atomic_init(&ps->ready, false);
	return ps;
}

bool
pending_ready(struct pending_set *ps)
{
	return atomic_load(&ps->ready);
}

void
pending_free(struct pending_set *ps)
{
	if (ps == NULL)
		return;
	for (size_t b = 0; b < INBOX_BUCKETS; b++) {
		struct pending *p = ps->buckets[b];
		while (p != NULL) {
			struct pending *next = p->next;
			sodium_memzero(p, sizeof(*p));
			free(p);
			p = next;
		}
	}
	pthread_mutex_destroy(&ps->mu);
	free(ps);
}

static size_t
bucket_of(const uint8_t id[32])
{
	/* Lookup ids are keyed hashes: their bytes are uniform already. */
	return ((size_t)id[0] << 8 | id[1]) % INBOX_BUCKETS;
}

static struct pending *
pending_find_locked(struct pending_set *ps, const uint8_t id[32])
{
	for (struct pending *p = ps->buckets[bucket_of(id)]; p != NULL; p = p->next)
		if (sodium_memcmp(p->id, id, 32) == 0)
			return p;
	return NULL;
}

int
pending_put(struct pending_set *ps, const uint8_t lookup_id[32], const char *report_uuid,
            const char *team, bool forgotten, bool unique)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	memcpy(p->id, lookup_id, 32);
	snprintf(p->report, sizeof(p->report), "%s", report_uuid);
	snprintf(p->team, sizeof(p->team), "%s", team);
	p->forgotten = forgotten;
	pthread_mutex_lock(&ps->mu);
	bool full = ps->npending >= ps->max;
	if (full || (unique && pending_find_locked(ps, lookup_id) != NULL)) {
		/* Once per time it fills, not per submission: a line per refused
		 * id would record when each source acted. */
		bool warn = full && !ps->full_warned;
		ps->full_warned = ps->full_warned || full;
		pthread_mutex_unlock(&ps->mu);
		free(p);
		if (warn)
			log_warn("inbox: pending set full (%zu); new receipts may show nothing until "
			         "delivered", ps->max);
		return -1;
	}
	size_t b = bucket_of(lookup_id);
	p->next = ps->buckets[b];
	ps->buckets[b] = p;
	ps->npending++;
	pthread_mutex_unlock(&ps->mu);
	return 0;
}

int
pending_take_message(struct pending_set *ps, const uint8_t id[32], unsigned max)
{
	int rc = -1;
	pthread_mutex_lock(&ps->mu);
	struct pending *p = pending_find_locked(ps, id);
	if (p != NULL && !p->forgotten && p->nmsgs < max) {
		p->nmsgs++;
		rc = 0;
	}
	pthread_mutex_unlock(&ps->mu);
	return rc;
}

void
pending_return_message(struct pending_set *ps, const uint8_t id[32])
{
	pthread_mutex_lock(&ps->mu);
	struct pending *p = pending_find_locked(ps, id);
	if (p != NULL && p->nmsgs > 0)
		p->nmsgs--;
	pthread_mutex_unlock(&ps->mu);
}

void
pending_drop(struct pending_set *ps, const uint8_t lookup_id[32])
{
	pthread_mutex_lock(&ps->mu);
	for (struct pending **pp = &ps->buckets[bucket_of(lookup_id)]; *pp != NULL;
	     pp = &(*pp)->next) {
		if (sodium_memcmp((*pp)->id, lookup_id, 32) == 0) {
			struct pending *p = *pp;
			*pp = p->next;
			ps->npending--;
			if (ps->npending < ps->max / 10 * 9)
				ps->full_warned = false;
			sodium_memzero(p, sizeof(*p));
			free(p);
			break;
		}
	}
	pthread_mutex_unlock(&ps->mu);
}

enum pending_state
pending_get(struct pending_set *ps, const uint8_t id[32], char report[37], char team[64])
{
	enum pending_state st = PENDING_NONE;
	pthread_mutex_lock(&ps->mu);
	struct pending *p = pending_find_locked(ps, id);
	if (p != NULL) {
		memcpy(report, p->report, 37);
		memcpy(team, p->team, 64);
		st = p->forgotten ? PENDING_FORGOTTEN : PENDING_REPORT;
	}
	pthread_mutex_unlock(&ps->mu);
	return st;
}

size_t
pending_export(struct pending_set *ps, uint8_t *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&ps->mu);
	for (size_t b = 0; b < INBOX_BUCKETS && n < max; b++)
		for (struct pending *p = ps->buckets[b]; p != NULL && n < max; p = p->next)
			ishare_entry_put(out + n++ * ISHARE_ENTRY, p->id, p->report, p->team, p->forgotten);
	pthread_mutex_unlock(&ps->mu);
	return n;
}

size_t
pending_count(struct pending_set *ps)
{
	pthread_mutex_lock(&ps->mu);
	size_t n = ps->npending;
	pthread_mutex_unlock(&ps->mu);
	return n;
}

static int
uuid_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Count, for every pending report, the messages spooled for it (`uuids`:
 * the report uuid of every spooled message, `n` of them; sorted here). */
static void
pending_count_messages(struct pending_set *ps, char (*uuids)[37], size_t n)
{
	if (n == 0)
		return;
	qsort(uuids, n, sizeof(*uuids), uuid_cmp);
	pthread_mutex_lock(&ps->mu);
	for (size_t b = 0; b < INBOX_BUCKETS; b++)
		for (struct pending *p = ps->buckets[b]; p != NULL; p = p->next) {
			char (*hit)[37] = p->forgotten ? NULL
			                               : bsearch(p->report, uuids, n, sizeof(*uuids), uuid_cmp);
			if (hit == NULL)
				continue;
			while (hit > uuids && strcmp(hit[-1], p->report) == 0)
				hit--;
			for (; hit < uuids + n && strcmp(*hit, p->report) == 0; hit++)
				p->nmsgs++;
		}
	pthread_mutex_unlock(&ps->mu);
}

/* Remember one spooled entry read at start-up; a message's report uuid goes
 * into `msgs` (room for `max`). Return 1 if a receipt was added, else 0.
 * Unique: intake runs meanwhile, and a report it spooled after the listing
 * began may be in the set already. */
static int
rebuild_entry(struct pending_set *ps, const struct spool_entry *e, char (*msgs)[37], size_t *nmsgs,
              size_t max)
{
	if (e->has_inbox)
		return pending_put(ps, e->lookup_id, e->report_uuid, e->team, false, true) == 0;
	if (e->has_forget)
		return pending_put(ps, e->forget_id, e->report_uuid, e->team, true, true) == 0;
	for (size_t k = 0; k < e->nobjects && *nmsgs < max; k++)
		if (e->objects[k].kind == SPOOL_MESSAGE)
			memcpy(msgs[(*nmsgs)++], e->report_uuid, 37);
	return 0;
}

int
pending_rebuild(struct pending_set *ps, struct spool *spool, const atomic_bool *stop)
{
	char **paths = NULL;
	int n = spool_list(spool, &paths, ps->max), added = 0;
	if (n < 0)
		return -1;
	size_t nmsgs = 0;
	char (*msgs)[37] = calloc((size_t)n + 1, sizeof(*msgs));
	if (msgs == NULL) {
		spool_list_free(paths, n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (stop != NULL && atomic_load(stop)) {
			added = -1;
			goto out;
		}
		struct spool_entry *e = spool_entry_read(paths[i]);
		if (e == NULL)
			continue; /* the flusher decides what to do with it */
		added += rebuild_entry(ps, e, msgs, &nmsgs, (size_t)n);
		spool_entry_free(e);
	}
	pending_count_messages(ps, msgs, nmsgs);
	atomic_store(&ps->ready, true);
out:
	free(msgs);
	spool_list_free(paths, n);
	return added;
}
