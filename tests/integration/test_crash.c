/*
 * Property 4 (docs/architecture.md): acknowledged means durable. Receipts
 * are returned, tipd is killed with SIGKILL before it flushes, and after a
 * restart every receipt's
 * report is in PostgreSQL exactly once (checked through the receipt's
 * lookup id, derived with the deployment's pepper).
 *
 * The second test does the same under load: client threads submit without
 * pause while tipd is killed with SIGKILL again and again, with the flusher
 * running every few milliseconds, so kills land during uploads, sealing,
 * spool commits and between a flush's COMMIT and the removal of its files.
 * The test requires that some kill did land between a COMMIT and the unlink
 * (counted as spooled files whose report was already in PostgreSQL).
 * Afterwards every acknowledged receipt finds exactly one report in
 * PostgreSQL, those acknowledged around each kill open their inbox through
 * the API, and nothing is stored twice.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_common.h"
#include "receipt.h"
#include "util.h"

#define N_REPORTS 25

static struct th T;

static void
setup(void)
{
	th_setup(&T);
	T.flush_ms = 3600 * 1000; /* nothing reaches PostgreSQL before the kill */
	th_write_conf(&T);
	th_start(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

static void
receipt_of(const struct buf *resp, char digits[RECEIPT_DIGITS])
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, &e);
	cr_assert(doc != NULL);
	const char *r = json_string_value(json_object_get(doc, "receipt"));
	cr_assert(r != NULL);
	cr_assert_eq(receipt_normalize(r, strlen(r), digits), RECEIPT_OK);
	json_decref(doc);
}

Test(crash, kill9_after_receipts_loses_nothing, .init = setup, .fini = teardown, .timeout = 180)
{
	static char digits[N_REPORTS][RECEIPT_DIGITS];
	const char *body = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	for (int i = 0; i < N_REPORTS; i++) {
		struct buf resp;
		buf_init(&resp, 4096);
		cr_assert_eq(it_post_json(&T, i % 2, body, &resp), 201);
		receipt_of(&resp, digits[i]);
		buf_free(&resp);
	}
	cr_assert_eq(th_stop(&T, SIGKILL), 128 + SIGKILL);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 0,
	             "reports were flushed before the kill: the test proves nothing");
	cr_assert_eq(th_spool_count(&T, ".rep"), N_REPORTS, "acknowledged reports are not in the spool");

	T.flush_ms = 200;
	th_write_conf(&T);
	th_start(&T);
	cr_assert_eq(th_wait_reports(&T, N_REPORTS, 20000), N_REPORTS);
	usleep(1000 * 1000); /* several more flush rounds: nothing is inserted twice */
	cr_assert_eq(th_count(&T, "select count(*) from reports"), N_REPORTS);
	cr_assert_eq(th_spool_count(&T, ".rep"), 0);

	char pepper_path[TH_PATH + 16];
	snprintf(pepper_path, sizeof(pepper_path), "%s/pepper", T.dir);
	struct receipt_pepper *pep = receipt_pepper_load(pepper_path);
	cr_assert(pep != NULL);
	PGconn *c = th_db(&T);
	for (int i = 0; i < N_REPORTS; i++) {
		uint8_t id[RECEIPT_ID_LEN];
		cr_assert(receipt_lookup_id(pep, digits[i], id) == 0);
		const char *params[1] = { (const char *)id };
		const int lens[1] = { RECEIPT_ID_LEN };
		const int fmts[1] = { 1 };
		PGresult *r = PQexecParams(c,
		                           "select count(*) from inboxes i join reports r "
		                           "on r.id = i.report_id where i.lookup_id = $1",
		                           1, NULL, params, lens, fmts, 0);
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
		cr_assert_str_eq(PQgetvalue(r, 0, 0), "1", "receipt %d opens %s reports", i,
		                 PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	PQfinish(c);
	receipt_pepper_free(pep);
}

/* ------------------------------------------------------------------ */
/* Repeated SIGKILL under concurrent load.                            */

#define LOAD_THREADS 4
#define LOAD_ROUNDS 8
#define LOAD_MAX 20000

struct load {
	atomic_int port;      /* the plain source port; 0 while tipd is down */
	atomic_bool stop;
	atomic_long sent;     /* requests written whole (tipd may have stored them) */
	atomic_long refused;  /* answers other than 201 while tipd was up */
	pthread_mutex_t mu;
	char (*receipts)[RECEIPT_DIGITS];
	size_t n;
	char last_refusal[256];
};

static void *
load_client(void *arg)
{
	struct load *L = arg;
	const char *json = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	char body[4096], digits[RECEIPT_DIGITS];
	while (!atomic_load(&L->stop)) {
		int port = atomic_load(&L->port);
		if (port == 0) {
			usleep(2000);
			continue;
		}
		int st = it_http_post(port, "/api/v1/reports", json, body, sizeof(body));
		if (st < 0) {
			usleep(2000); /* tipd is down: wait for the restart */
			continue;
		}
		atomic_fetch_add(&L->sent, 1);
		if (st == 0)
			continue; /* cut by the kill: not acknowledged */
		pthread_mutex_lock(&L->mu);
		if (st == 201) {
			/* No receipt in it: an answer cut by the kill, never seen. */
			if (it_receipt_of_body(body, digits) == 0 && L->n < LOAD_MAX)
				memcpy(L->receipts[L->n++], digits, RECEIPT_DIGITS);
		} else if (atomic_load(&L->port) == port) {
			atomic_fetch_add(&L->refused, 1);
			snprintf(L->last_refusal, sizeof(L->last_refusal), "%d %.200s", st, body);
		}
		pthread_mutex_unlock(&L->mu);
	}
	return NULL;
}

/* Wait until the spool is empty and the report count has not moved for a
 * few flush rounds; return the count. */
static long
wait_settled(struct th *t, unsigned timeout_ms)
{
	long last = -1;
	int steady = 0;
	for (unsigned waited = 0; waited < timeout_ms && steady < 5; waited += 100) {
		long n = th_count(t, "select count(*) from reports");
		steady = n == last && th_spool_count(t, ".rep") == 0 ? steady + 1 : 0;
		last = n;
		usleep(100000);
	}
	cr_assert_eq(steady, 5, "the spool did not drain (%d .rep files left)",
	             th_spool_count(t, ".rep"));
	return last;
}

/* Every acknowledged receipt finds exactly one report through its lookup id. */
static void
assert_each_receipt_in_db(struct th *t, const struct load *L)
{
	char pepper_path[TH_PATH + 16];
	snprintf(pepper_path, sizeof(pepper_path), "%s/pepper", t->dir);
	struct receipt_pepper *pep = receipt_pepper_load(pepper_path);
	cr_assert(pep != NULL);
	PGconn *c = th_db(t);
	for (size_t i = 0; i < L->n; i++) {
		uint8_t id[RECEIPT_ID_LEN];
		cr_assert(receipt_lookup_id(pep, L->receipts[i], id) == 0);
		const char *params[1] = { (const char *)id };
		const int lens[1] = { RECEIPT_ID_LEN };
		const int fmts[1] = { 1 };
		PGresult *r = PQexecParams(c,
		                           "select count(*) from inboxes i join reports r "
		                           "on r.id = i.report_id where i.lookup_id = $1",
		                           1, NULL, params, lens, fmts, 0);
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
		cr_assert_str_eq(PQgetvalue(r, 0, 0), "1", "acknowledged receipt %zu of %zu opens %s "
		                 "reports in PostgreSQL", i, L->n, PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	PQfinish(c);
	receipt_pepper_free(pep);
}

/* Inbox opens through the source API, in parallel (tipd holds every inbox
 * answer until a fixed deadline, so one at a time would take minutes). */
#define OPEN_THREADS 8
#define OPEN_MAX 1024

struct opens {
	const struct load *L;
	int port;
	size_t idx[OPEN_MAX];
	size_t n;
	atomic_size_t next;
	atomic_int bad;
	pthread_mutex_t mu;
	char first_bad[512];
};

static void *
open_client(void *arg)
{
	struct opens *o = arg;
	char json[128], body[4096];
	size_t k;
	while ((k = atomic_fetch_add(&o->next, 1)) < o->n) {
		size_t i = o->idx[k];
		snprintf(json, sizeof(json), "{\"receipt\":\"%.*s\"}", RECEIPT_DIGITS,
		         o->L->receipts[i]);
		int st = it_http_post(o->port, "/api/v1/inbox", json, body, sizeof(body));
		if (st == 200 && strstr(body, "pending") == NULL)
			continue;
		if (atomic_fetch_add(&o->bad, 1) == 0) {
			pthread_mutex_lock(&o->mu);
			snprintf(o->first_bad, sizeof(o->first_bad), "receipt %zu: %d %.300s", i, st,
			         body);
			pthread_mutex_unlock(&o->mu);
		}
	}
	return NULL;
}

/* The acknowledged receipts [from[r], to[r]) for every round r open their
 * inbox through the API, and it is no longer "pending" (the report reached
 * PostgreSQL). */
static void
assert_inboxes_open(struct th *t, const struct load *L, const size_t *from, const size_t *to,
                    int rounds)
{
	static struct opens o;
	pthread_t th[OPEN_THREADS];
	memset(&o, 0, sizeof(o));
	o.L = L;
	o.port = t->source_port;
	cr_assert_eq(pthread_mutex_init(&o.mu, NULL), 0);
	for (int r = 0; r < rounds; r++)
		for (size_t i = from[r]; i < to[r] && i < L->n && o.n < OPEN_MAX; i++)
			o.idx[o.n++] = i;
	for (int i = 0; i < OPEN_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, open_client, &o), 0);
	for (int i = 0; i < OPEN_THREADS; i++)
		pthread_join(th[i], NULL);
	cr_log_info("%zu acknowledged receipts opened their inbox through the API", o.n);
	cr_assert_eq(atomic_load(&o.bad), 0, "%d of %zu acknowledged receipts do not open their "
	             "inbox (first: %s)", atomic_load(&o.bad), o.n, o.first_bad);
	pthread_mutex_destroy(&o.mu);
}

static void
setup_load(void)
{
	th_setup(&T);
	T.flush_ms = 20; /* flushes run all the time, so kills land inside them too */
	th_write_conf(&T);
}

/* Start the client threads on `L`, then LOAD_ROUNDS times: start tipd, let
 * it drain what the last kill left before the clients see it (counting in
 * `replays` the spooled files whose report was already committed: killed
 * between COMMIT and unlink), let them submit for 0.3–0.8 s, kill tipd with
 * SIGKILL. The receipts counted just before and just after each kill go
 * into `before` and `after`. Return how many spooled files the kills left,
 * summed over the rounds. */
static int
run_kill_rounds(struct load *L, size_t *before, size_t *after, long *replays)
{
	pthread_t th[LOAD_THREADS];
	int left = 0, spooled = 0;
	long committed = 0;
	*replays = 0;
	cr_assert_eq(pthread_mutex_init(&L->mu, NULL), 0);
	for (int i = 0; i < LOAD_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, load_client, L), 0);
	for (int round = 0; round < LOAD_ROUNDS; round++) {
		th_start(&T);
		if (round > 0)
			*replays += committed + spooled - wait_settled(&T, 20000);
		atomic_store(&L->port, T.source_port);
		usleep(300000 + randombytes_uniform(500000));
		pthread_mutex_lock(&L->mu);
		before[round] = L->n;
		pthread_mutex_unlock(&L->mu);
		cr_assert_eq(th_stop(&T, SIGKILL), 128 + SIGKILL);
		atomic_store(&L->port, 0);
		pthread_mutex_lock(&L->mu);
		after[round] = L->n;
		pthread_mutex_unlock(&L->mu);
		spooled = th_spool_count(&T, ".rep");
		committed = th_count(&T, "select count(*) from reports");
		left += spooled;
	}
	atomic_store(&L->stop, true);
	for (int i = 0; i < LOAD_THREADS; i++)
		pthread_join(th[i], NULL);
	return left;
}

Test(crash, repeated_kill9_under_load_loses_and_duplicates_nothing, .init = setup_load,
     .fini = teardown, .timeout = 120)
{
	static struct load L;
	size_t before[LOAD_ROUNDS], after[LOAD_ROUNDS];
	memset(&L, 0, sizeof(L));
	L.receipts = calloc(LOAD_MAX, RECEIPT_DIGITS);
	cr_assert_not_null(L.receipts);
	long replays;
	int left = run_kill_rounds(&L, before, after, &replays);
	cr_assert_eq(atomic_load(&L.refused), 0, "%ld submissions were refused while tipd was up "
	             "(last: %s)", atomic_load(&L.refused), L.last_refusal);
	for (int round = 1; round < LOAD_ROUNDS; round++)
		cr_assert(before[round] > before[round - 1], "round %d acknowledged nothing: no load "
		          "when tipd was killed", round);
	long flushed_before = th_count(&T, "select count(*) from reports");
	cr_log_info("under load: %d kills, %ld requests sent, %zu acknowledged, %ld reports in "
	            "PostgreSQL and %d spooled before the last restart, %d spooled after all kills",
	            LOAD_ROUNDS, atomic_load(&L.sent), L.n, flushed_before,
	            th_spool_count(&T, ".rep"), left);
	cr_assert(flushed_before > 0, "nothing was flushed under load: kills never met the flusher");
	cr_assert(left > 0, "no kill left anything in the spool: the restarts replayed nothing");

	int spooled = th_spool_count(&T, ".rep");
	time_t t0 = time(NULL);
	th_start(&T);
	long stored = wait_settled(&T, 20000);
	/* Spooled files whose report was already committed (killed between
	 * COMMIT and unlink) add nothing when replayed. */
	replays += flushed_before + spooled - stored;
	cr_log_info("drained %ld reports in %lds after the last restart; over all restarts, %ld "
	            "of %d spooled files were replays of committed reports", stored,
	            (long)(time(NULL) - t0), replays, left);
	/* Nothing stored twice: one inbox per report, one report per inbox. */
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), stored);
	cr_assert_eq(th_count(&T, "select count(distinct lookup_id) from inboxes"), stored);
	cr_assert_eq(th_count(&T, "select count(distinct report_id) from inboxes"), stored);
	cr_assert(stored >= (long)L.n, "%ld reports stored for %zu acknowledged receipts", stored,
	          L.n);
	cr_assert(stored <= atomic_load(&L.sent), "%ld reports stored for %ld requests sent", stored,
	          atomic_load(&L.sent));
	cr_assert_eq(th_spool_count(&T, ".bad"), 0, "spool files were quarantined");
	assert_each_receipt_in_db(&T, &L);
	/* Through the API (each open derives keys and queries PostgreSQL: too
	 * slow for thousands): the receipts acknowledged just before and while
	 * each kill happened, the ones most at risk. */
	size_t from[LOAD_ROUNDS];
	for (int round = 0; round < LOAD_ROUNDS; round++)
		from[round] = before[round] > 10 ? before[round] - 10 : 0;
	assert_inboxes_open(&T, &L, from, after, LOAD_ROUNDS);
	cr_assert(replays > 0, "no kill landed between a flush's COMMIT and its unlink: the replay "
	          "of committed files was not exercised");
	free(L.receipts);
}
