/*
 * Several tipd hosts on a replicated PostgreSQL, and the primary's loss
 * (docs/operations.md "Replicated PostgreSQL and failover").
 *
 * tests/integration/pg-pair makes a primary and a synchronous standby
 * (initdb, pg_basebackup, deploy/postgresql/replication.conf). Two tipd
 * hosts, each with its own spool, state directory and ports, connect with
 * one multi-host conninfo (host=A,B target_session_attrs=read-write). 16
 * client threads submit to both hosts while two reviewer threads call the
 * review API on both (each call appends to the one audit log), the flusher
 * runs every 100 ms on each host; the primary is killed with SIGKILL in
 * the middle and the standby promoted. Then: every submission answered
 * during the outage was acknowledged from the spool; every acknowledged
 * receipt finds exactly one report in the promoted database and opens its
 * inbox on the other host; the audit log is one gap-free log that `tipctl
 * audit verify` accepts as extending the checkpoint it verified before the
 * kill; and a review session made on host A before the kill works on host B
 * after it.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"
#include "note.h"
#include "receipt.h"
#include "util.h"

#define CLIENTS 16
#define MAX_RECEIPTS 20000

static struct th A, B;
static char pair_dir[64];
static char saved_host[512], saved_port[64];

/* Run tests/integration/pg-pair `cmd` on the pair; assert it succeeds. */
static void
pair(const char *cmd, int pa, int pb)
{
	char script[TH_PATH], a[16], b[16];
	snprintf(script, sizeof(script), "%s/tests/integration/pg-pair", getenv("TIPLINE_SOURCE_DIR"));
	snprintf(a, sizeof(a), "%d", pa);
	snprintf(b, sizeof(b), "%d", pb);
	char *argv[] = { script, (char *)(uintptr_t)cmd, pair_dir, a, b, NULL };
	cr_assert_eq(th_run(argv, NULL, 0, NULL), 0, "pg-pair %s failed", cmd);
}

static void
setup(void)
{
	char hosts[512], ports[64];
	snprintf(saved_host, sizeof(saved_host), "%s", getenv("TIPLINE_TEST_PGHOST"));
	snprintf(saved_port, sizeof(saved_port), "%s", getenv("TIPLINE_TEST_PGPORT"));
	snprintf(pair_dir, sizeof(pair_dir), "/tmp/tipline-pair.XXXXXX");
	cr_assert(mkdtemp(pair_dir) != NULL);
	int pa = 20000 + (int)(randombytes_uniform(20000)), pb = pa + 1;
	pair("start", pa, pb);
	/* Every connection, the harness's and tipd's, names both clusters. */
	snprintf(hosts, sizeof(hosts), "%s/a/run,%s/b/run", pair_dir, pair_dir);
	snprintf(ports, sizeof(ports), "%d,%d", pa, pb);
	setenv("TIPLINE_TEST_PGHOST", hosts, 1);
	setenv("TIPLINE_TEST_PGPORT", ports, 1);
	setenv("TIPLINE_TEST_PGEXTRA", "target_session_attrs=read-write", 1);
	th_setup(&A);
	A.flush_ms = 100;
	snprintf(A.extra_conf, sizeof(A.extra_conf), "[audit]\ncheckpoint_interval_s = 1\n");
	th_write_conf(&A);
	th_start(&A);
	th_add_host(&A, &B);
	th_start(&B);
}

static void
teardown(void)
{
	th_teardown(&B);
	th_teardown(&A);
	pair("stop", 0, 0);
	char *rm[] = { "rm", "-rf", pair_dir, NULL };
	(void)th_run(rm, NULL, 0, NULL);
	setenv("TIPLINE_TEST_PGHOST", saved_host, 1);
	setenv("TIPLINE_TEST_PGPORT", saved_port, 1);
	unsetenv("TIPLINE_TEST_PGEXTRA");
}

/* ---- load ---- */

struct load {
	int port[2];
	atomic_bool stop;
	atomic_bool outage;   /* the primary is dead or not yet promoted */
	atomic_long during;   /* acknowledged while `outage` */
	atomic_long refused;  /* answers other than 201 */
	pthread_mutex_t mu;
	char (*receipts)[RECEIPT_DIGITS];
	unsigned char *host;  /* which host acknowledged each receipt */
	size_t n;
	char last_refusal[256];
};

struct client {
	struct load *L;
	int host;
};

static void *
client_run(void *arg)
{
	struct client *c = arg;
	struct load *L = c->L;
	const char *json = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	char body[4096], digits[RECEIPT_DIGITS];
	while (!atomic_load(&L->stop)) {
		int st = it_http_post(L->port[c->host], "/api/v1/reports", json, body, sizeof(body));
		pthread_mutex_lock(&L->mu);
		if (st == 201 && it_receipt_of_body(body, digits) == 0 && L->n < MAX_RECEIPTS) {
			memcpy(L->receipts[L->n], digits, RECEIPT_DIGITS);
			L->host[L->n++] = (unsigned char)c->host;
			if (atomic_load(&L->outage))
				atomic_fetch_add(&L->during, 1);
		} else if (st != 201) {
			atomic_fetch_add(&L->refused, 1);
			snprintf(L->last_refusal, sizeof(L->last_refusal), "%d %.200s", st, body);
		}
		pthread_mutex_unlock(&L->mu);
	}
	return NULL;
}

struct reviewer {
	struct th *t;
	const char *token;
	atomic_bool *stop;
	atomic_long ok;
};

/* List reports on one host again and again: each answered call is an audit
 * append from that host, concurrent with the other host's. */
static void *
reviewer_run(void *arg)
{
	struct reviewer *r = arg;
	while (!atomic_load(r->stop))
		if (th_review(r->t, "GET", "/api/v1/reports?limit=5", r->token, NULL, NULL) == 200)
			atomic_fetch_add(&r->ok, 1);
	return NULL;
}

/* ---- checks ---- */

/* Wait until neither spool holds a report and the count has settled. */
static long
wait_drained(void)
{
	long last = -1;
	int steady = 0;
	for (int i = 0; i < 600 && steady < 5; i++) {
		long n = th_count(&A, "select count(*) from reports");
		steady = n == last && th_spool_count(&A, ".rep") == 0 && th_spool_count(&B, ".rep") == 0
		                 ? steady + 1
		                 : 0;
		last = n;
		usleep(100000);
	}
	cr_assert_eq(steady, 5, "the spools did not drain (%d and %d .rep files left)",
	             th_spool_count(&A, ".rep"), th_spool_count(&B, ".rep"));
	cr_assert_eq(th_spool_count(&A, ".bad") + th_spool_count(&B, ".bad"), 0);
	return last;
}

/* Count the receipts that find no report (lost) and more than one
 * (stored twice) through their lookup ids. */
static void
count_stored(const struct load *L, long *lost, long *twice)
{
	char pepper_path[TH_PATH + 16];
	snprintf(pepper_path, sizeof(pepper_path), "%s/pepper", A.dir);
	struct receipt_pepper *pep = receipt_pepper_load(pepper_path);
	cr_assert(pep != NULL);
	PGconn *c = th_db(&A);
	*lost = *twice = 0;
	for (size_t i = 0; i < L->n; i++) {
		uint8_t id[RECEIPT_ID_LEN];
		cr_assert(receipt_lookup_id(pep, L->receipts[i], id) == 0);
		const char *params[1] = { (const char *)id };
		const int lens[1] = { RECEIPT_ID_LEN }, fmts[1] = { 1 };
		PGresult *r = PQexecParams(c,
		                           "select count(*) from inboxes i join reports r "
		                           "on r.id = i.report_id where i.lookup_id = $1",
		                           1, NULL, params, lens, fmts, 0);
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
		long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
		*lost += n == 0;
		*twice += n > 1;
		PQclear(r);
	}
	PQfinish(c);
	receipt_pepper_free(pep);
}

struct opener {
	const struct load *L;
	size_t from, step;
	long bad;
	char last[256];
};

/* Open the inbox of every `step`th receipt on the host that did NOT
 * acknowledge it. */
static void *
opener_run(void *arg)
{
	struct opener *o = arg;
	char json[128], body[4096];
	for (size_t i = o->from; i < o->L->n; i += o->step) {
		int other = o->L->host[i] ? 0 : 1;
		snprintf(json, sizeof(json), "{\"receipt\":\"%.*s\"}", RECEIPT_DIGITS,
		         o->L->receipts[i]);
		int st = it_http_post(o->L->port[other], "/api/v1/inbox", json, body, sizeof(body));
		if (st != 200 || strstr(body, "\"replies\"") == NULL || strstr(body, "pending") != NULL) {
			o->bad++;
			snprintf(o->last, sizeof(o->last), "%d %.200s", st, body);
		}
	}
	return NULL;
}

static void
assert_inboxes_open_elsewhere(const struct load *L)
{
	pthread_t th[CLIENTS];
	static struct opener op[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		op[i] = (struct opener){ .L = L, .from = (size_t)i, .step = CLIENTS };
		cr_assert_eq(pthread_create(&th[i], NULL, opener_run, &op[i]), 0);
	}
	long bad = 0;
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		bad += op[i].bad;
		if (op[i].bad > 0)
			cr_log_error("inbox: %s", op[i].last);
	}
	cr_assert_eq(bad, 0, "%ld receipts did not open their inbox on the other host", bad);
}

/* The audit key's verifier text, as an invite carries it. */
static void
audit_vkey(char *out, size_t cap)
{
	char path[TH_PATH + 32];
	size_t n = 0;
	struct buf vt;
	snprintf(path, sizeof(path), "%s/state/audit.key", A.dir);
	char *text = util_read_file(path, 4096, &n);
	cr_assert_not_null(text);
	while (n > 0 && text[n - 1] == '\n')
		n--;
	struct note_signer *s = note_signer_parse(text, n);
	struct note_verifier *v = note_signer_verifier(s);
	cr_assert(s != NULL && v != NULL);
	buf_init(&vt, 1024);
	cr_assert_eq(note_verifier_text(v, &vt), 0);
	snprintf(out, cap, "%s", buf_cstr(&vt));
	buf_free(&vt);
	note_verifier_free(v);
	note_signer_free(s);
	sodium_memzero(text, n);
	free(text);
}

/* `tipctl login` to `t` (audit key pinned) then `tipctl audit verify`;
 * return verify's exit status, its stdout in `out`. */
static int
tipctl_verify(struct th *t, const char *home, struct buf *out)
{
	char server[64], pin[65], vkey[512];
	struct buf err;
	buf_init(&err, 1 << 16);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", t->review_port);
	th_tls_key_hex(t, pin);
	audit_vkey(vkey, sizeof(vkey));
	cr_assert_eq(it_tipctl(t, home, NULL, out, &err, "login", "--server", server, "--pin", pin,
	                       "--origin", TH_REVIEW_ORIGIN, "--audit-key", vkey, "--identity",
	                       t->identity, "--passphrase-file", t->passfile, NULL),
	             0, "tipctl login: %s", buf_cstr(&err));
	/* A checkpoint that covers the login just made. */
	usleep(1500 * 1000);
	int rc = it_tipctl(t, home, NULL, out, &err, "audit", "verify", NULL);
	if (rc != 0)
		cr_log_error("tipctl audit verify: %s", buf_cstr(&err));
	buf_free(&err);
	return rc;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Kill the primary, let the clients run on the spool, promote the standby;
 * return the milliseconds from the kill until both reviewers' calls succeed
 * again, and in `after_promote` those from the promotion's end. */
static long
fail_over(struct load *L, struct reviewer *rvs, long *after_promote)
{
	struct timespec t0, t1;
	pair("kill-primary", 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&L->outage, true);
	usleep(1000 * 1000);
	long ok0 = atomic_load(&rvs[0].ok), ok1 = atomic_load(&rvs[1].ok);
	pair("promote", 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_store(&L->outage, false);
	for (int i = 0; i < 600; i++) {
		if (atomic_load(&rvs[0].ok) > ok0 + 1 && atomic_load(&rvs[1].ok) > ok1 + 1) {
			*after_promote = ms_since(&t1);
			return ms_since(&t0);
		}
		usleep(10000);
	}
	cr_assert_fail("the review API did not come back after the promotion");
	return -1;
}

/* With TIPLINE_BENCH_RESULTS set (tests/bench/failover), append the run's
 * figures there as one JSON line. */
static void
bench_record(const struct load *L, long before, long rec, long after_promote, long lost,
             long twice)
{
	const char *path = getenv("TIPLINE_BENCH_RESULTS");
	if (path == NULL || *path == '\0')
		return;
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f, "cannot write %s", path);
	fprintf(f,
	        "{\"bench\":\"failover\",\"hosts\":2,\"clients\":%d,\"acknowledged\":%zu,"
	        "\"before_kill\":%ld,\"during_outage\":%ld,\"refused\":%ld,"
	        "\"recover_ms_from_kill\":%ld,\"recover_ms_from_promotion\":%ld,\"lost\":%ld,"
	        "\"stored_twice\":%ld}\n",
	        CLIENTS, L->n, before, (long)L->during, (long)L->refused, rec, after_promote, lost,
	        twice);
	cr_assert_eq(fclose(f), 0);
}

Test(failover, two_hosts_survive_the_primarys_loss, .init = setup, .fini = teardown,
     .timeout = 240)
{
	static struct load L;
	pthread_t th[CLIENTS], rv[2];
	static struct client cl[CLIENTS];
	char home[TH_PATH + 16], token[64];
	struct buf out;
	buf_init(&out, 1 << 20);
	L = (struct load){ .port = { A.source_port, B.source_port } };
	pthread_mutex_init(&L.mu, NULL);
	L.receipts = calloc(MAX_RECEIPTS, RECEIPT_DIGITS);
	L.host = calloc(MAX_RECEIPTS, 1);
	cr_assert(L.receipts != NULL && L.host != NULL);

	/* A session made on host A, and a first verification before the kill. */
	cr_assert_eq(th_review_login(&A, A.identity, token), 200);
	snprintf(home, sizeof(home), "%s/tipctl-home", A.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(tipctl_verify(&A, home, &out), 0, "%s", buf_cstr(&out));

	atomic_bool rstop = false;
	static struct reviewer rvs[2];
	rvs[0] = (struct reviewer){ .t = &A, .token = token, .stop = &rstop };
	rvs[1] = (struct reviewer){ .t = &B, .token = token, .stop = &rstop };
	for (int i = 0; i < CLIENTS; i++) {
		cl[i] = (struct client){ &L, i % 2 };
		cr_assert_eq(pthread_create(&th[i], NULL, client_run, &cl[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&rv[i], NULL, reviewer_run, &rvs[i]), 0);
	usleep(1500 * 1000);
	long before = (long)L.n;
	long after_promote = 0, rec = fail_over(&L, rvs, &after_promote);
	usleep(1500 * 1000);
	atomic_store(&L.stop, true);
	atomic_store(&rstop, true);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(rv[i], NULL);
	cr_log_info("failover: %zu receipts (%ld before the kill, %ld during the outage), review "
	            "back %ld ms after the kill (%ld ms after the promotion), %ld + %ld review calls",
	            L.n, before, (long)L.during, rec, after_promote, (long)rvs[0].ok,
	            (long)rvs[1].ok);
	cr_assert_eq((long)L.refused, 0, "intake refused %ld submissions (last: %s)", (long)L.refused,
	             L.last_refusal);
	cr_assert(before > 0 && (long)L.during > 0 && (long)L.n > before + (long)L.during,
	          "the load did not span the failover");
	cr_assert(rvs[0].ok > 0 && rvs[1].ok > 0, "a reviewer thread got no answer");

	long stored = wait_drained(), lost = 0, twice = 0;
	count_stored(&L, &lost, &twice);
	bench_record(&L, before, rec, after_promote, lost, twice);
	cr_assert_eq(lost, 0, "%ld acknowledged receipts find no report", lost);
	cr_assert_eq(twice, 0, "%ld receipts find their report stored more than once", twice);
	cr_assert_eq(stored, (long)L.n, "%ld reports stored for %zu receipts", stored, L.n);
	cr_assert_eq(th_count(&A, "select count(*) from inboxes"), stored);
	assert_inboxes_open_elsewhere(&L);

	/* The session from host A, made before the kill, works on host B. */
	cr_assert_eq(th_review(&B, "GET", "/api/v1/reports?limit=1", token, NULL, NULL), 200);
	/* One log: indexes 0..n-1 without a gap, and tipctl accepts it as an
	 * extension of the checkpoint it verified before the kill. */
	cr_assert_eq(th_count(&A, "select count(*) - (max(idx) + 1) from audit_entries"), 0);
	cr_assert_eq(tipctl_verify(&B, home, &out), 0, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "extends the checkpoint") != NULL, "%s", buf_cstr(&out));
	free(L.receipts);
	free(L.host);
	buf_free(&out);
}
