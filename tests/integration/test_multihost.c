/*
 * Two tipd hosts on one database (docs/architecture.md "Several hosts"):
 * each has its own spool, state directory and ports; they share the
 * database, the pepper, the TLS key and the state directory's audit and
 * nonce keys.
 *
 * - A receipt whose report still sits in host A's spool answers "pending"
 *   on host B too (the shared pending set, inbox_share.h), takes a message
 *   there, refuses "forget" with 409 as on its own host; a well-formed
 *   receipt nobody holds is still the one 404. The database holds nothing
 *   but one fixed-size sealed blob per host: no lookup id in the clear.
 * - A host killed with reports in its spool: its spool files moved into a
 *   live host's spool directory (docs/operations.md) are delivered exactly
 *   once, and the message B spooled for a report that was in A's spool
 *   arrives once its report does. A receipt forgotten on one host answers
 *   404 on the other before the forget is flushed.
 * - A login nonce from host A is accepted by host B, and a membership
 *   statement stored while both run is used by both within their poll.
 * - A host started with another copy of a shared secret (nonce key, pepper)
 *   refuses to start and says which; `tipd keys adopt` makes its copy the
 *   deployment's.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "identity.h"
#include "it_common.h"
#include "receipt.h"
#include "util.h"

static struct th A, B;

static void
setup(void)
{
	th_setup(&A);
	A.flush_ms = 3600 * 1000; /* reports stay in A's spool */
	snprintf(A.extra_conf, sizeof(A.extra_conf), "[tipd]\npending_share_ms = 100\n"
	                                              "membership_poll_ms = 200\n");
	th_write_conf(&A);
	th_start(&A);
	th_add_host(&A, &B);
	B.flush_ms = 100;
	th_write_conf(&B);
	th_start(&B);
}

static void
teardown(void)
{
	th_teardown(&B);
	th_teardown(&A);
}

static int
post(struct th *t, const char *path, const char *json, char *body, size_t cap)
{
	return it_http_post(t->source_port, path, json, body, cap);
}

/* Submit a report to `t`; its receipt (digits) into `digits`. */
static void
submit(struct th *t, char digits[RECEIPT_DIGITS])
{
	char body[4096];
	const char *json = "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	cr_assert_eq(post(t, "/api/v1/reports", json, body, sizeof(body)), 201, "%s", body);
	cr_assert_eq(it_receipt_of_body(body, digits), 0);
}

/* POST {"receipt"} (plus `extra` JSON members) to `path` on `t`; return the
 * status, the body in `body`. */
static int
ask(struct th *t, const char *path, const char digits[RECEIPT_DIGITS], const char *extra,
    char *body, size_t cap)
{
	char json[512];
	snprintf(json, sizeof(json), "{\"receipt\":\"%.*s\"%s}", RECEIPT_DIGITS, digits, extra);
	return post(t, path, json, body, cap);
}

/* Wait (up to 5 s) until `t` answers the inbox of `digits` with `want`. */
static void
wait_inbox(struct th *t, const char digits[RECEIPT_DIGITS], const char *want)
{
	char body[8192];
	int st = 0;
	for (int i = 0; i < 50; i++) {
		st = ask(t, "/api/v1/inbox", digits, "", body, sizeof(body));
		if (st == 200 && strstr(body, want) != NULL)
			return;
		usleep(100000);
	}
	cr_assert_fail("inbox: %d %s (waited for %s)", st, body, want);
}

Test(multihost, a_receipt_pending_on_one_host_is_pending_on_the_other, .init = setup,
     .fini = teardown, .timeout = 120)
{
	char d[RECEIPT_DIGITS], unknown[RECEIPT_DIGITS], body[8192];
	submit(&A, d);
	cr_assert_eq(th_spool_count(&A, ".rep"), 1);
	wait_inbox(&A, d, "\"pending\"");
	/* Host B has never seen it; A's share tells it. */
	wait_inbox(&B, d, "\"pending\"");
	cr_assert_eq(ask(&B, "/api/v1/inbox/forget", d, "", body, sizeof(body)), 409, "%s", body);
	cr_assert_eq(ask(&B, "/api/v1/inbox/messages", d, ",\"text\":\"one more thing\"", body,
	                 sizeof(body)),
	             201, "%s", body);
	/* A well-formed receipt that no host holds is the one 404 on both. */
	receipt_new(unknown);
	cr_assert_eq(ask(&B, "/api/v1/inbox", unknown, "", body, sizeof(body)), 404, "%s", body);
	cr_assert_eq(ask(&A, "/api/v1/inbox", unknown, "", body, sizeof(body)), 404, "%s", body);

	/* The database holds one sealed blob per host, of one size, whatever the
	 * spools hold, and no lookup id in the clear. */
	cr_assert_eq(th_count(&A, "select count(*) from pending_shares"), 2);
	cr_assert_eq(th_count(&A, "select count(distinct length(blob)) from pending_shares"), 1);
	char pepper_path[TH_PATH + 16], sql[512], hex[2 * RECEIPT_ID_LEN + 1];
	uint8_t id[RECEIPT_ID_LEN];
	snprintf(pepper_path, sizeof(pepper_path), "%s/pepper", A.dir);
	struct receipt_pepper *pep = receipt_pepper_load(pepper_path);
	cr_assert(pep != NULL && receipt_lookup_id(pep, d, id) == 0);
	receipt_pepper_free(pep);
	util_hex(id, sizeof(id), hex);
	snprintf(sql, sizeof(sql),
	         "select count(*) from pending_shares where position('\\x%s'::bytea in blob) > 0",
	         hex);
	cr_assert_eq(th_count(&A, sql), 0, "a lookup id is in the clear in pending_shares");

	/* Host A dies with the report in its spool; the operator moves A's
	 * spool files into B's spool directory; B delivers the report, then the
	 * message it kept back for it. */
	cr_assert_eq(th_stop(&A, SIGKILL), 128 + SIGKILL);
	char mv[3 * TH_PATH];
	snprintf(mv, sizeof(mv), "mv %s/*.rep %s/", A.spool, B.spool);
	char *argv[] = { "sh", "-c", mv, NULL };
	cr_assert_eq(th_run(argv, NULL, 0, NULL), 0);
	cr_assert_eq(th_wait_reports(&A, 1, 10000), 1);
	for (int i = 0; i < 50 && th_count(&A, "select count(*) from messages") < 1; i++)
		usleep(100000);
	cr_assert_eq(th_count(&A, "select count(*) from messages"), 1);
	cr_assert_eq(th_count(&A, "select count(*) from inboxes"), 1);
	wait_inbox(&B, d, "\"replies\":[]");
	/* Positive control of the search above: once flushed, the same query
	 * finds the lookup id where it is stored in the clear. */
	snprintf(sql, sizeof(sql),
	         "select count(*) from inboxes where position('\\x%s'::bytea in lookup_id) > 0", hex);
	cr_assert_eq(th_count(&A, sql), 1);
	usleep(500 * 1000); /* more flushes: nothing twice */
	cr_assert_eq(th_count(&A, "select count(*) from reports"), 1);
	cr_assert_eq(th_spool_count(&B, ".rep") + th_spool_count(&B, ".bad"), 0);

	/* Host A comes back (its flush an hour away): a receipt forgotten there
	 * answers the one 404 on host B too, while the row is still stored. */
	th_start(&A);
	/* "ready" comes before every loop's database connection is up: wait
	 * until A reads the inbox (a 503 until then). */
	wait_inbox(&A, d, "\"replies\":[]");
	cr_assert_eq(ask(&A, "/api/v1/inbox/forget", d, "", body, sizeof(body)), 204, "%s", body);
	int st = 0;
	for (int i = 0; i < 50 && st != 404; i++) {
		usleep(100000);
		st = ask(&B, "/api/v1/inbox", d, "", body, sizeof(body));
	}
	cr_assert_eq(st, 404, "%s", body);
	cr_assert_eq(th_count(&A, "select count(*) from inboxes"), 1);
}

Test(multihost, a_nonce_from_one_host_logs_in_on_the_other, .init = setup, .fini = teardown,
     .timeout = 120)
{
	struct identity *id = NULL;
	char nonce[64], pin[65];
	struct buf body;
	cr_assert_eq(identity_load(A.identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id),
	             IDENTITY_OK);
	th_review_nonce(&A, nonce);
	th_tls_key_hex(&A, pin);
	buf_init(&body, 4096);
	th_login_body(identity_ed25519_sk(id), identity_ed25519_pk(id), TH_REVIEW_ORIGIN, pin, nonce,
	              (long long)time(NULL), &body);
	identity_free(id);
	cr_assert_eq(th_review(&B, "POST", "/api/v1/login", NULL, buf_cstr(&body), NULL), 200);
	/* Single use across hosts: A refuses it now. */
	cr_assert_neq(th_review(&A, "POST", "/api/v1/login", NULL, buf_cstr(&body), NULL), 200);
	buf_free(&body);
}

Test(multihost, a_new_membership_reaches_every_host, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char bob[TH_PATH], body[4096];
	const char *json = "{\"team\":\"other\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}";
	cr_assert_eq(post(&B, "/api/v1/reports", json, body, sizeof(body)), 422, "%s", body);
	it_make_other_team(&A, bob, sizeof(bob)); /* `tipd membership add`, both hosts running */
	int sa = 0, sb = 0;
	for (int i = 0; i < 30 && (sa != 201 || sb != 201); i++) {
		usleep(100000);
		sa = sa == 201 ? sa : post(&A, "/api/v1/reports", json, body, sizeof(body));
		sb = sb == 201 ? sb : post(&B, "/api/v1/reports", json, body, sizeof(body));
	}
	cr_assert(sa == 201 && sb == 201, "host A %d, host B %d within 3 s of the statement", sa, sb);
}

/* Replace `t`'s STATE_DIR/nonce.key with a fresh random key. */
static void
new_nonce_key(struct th *t)
{
	uint8_t k[32];
	char hex[65], path[TH_PATH + 32];
	randombytes_buf(k, sizeof(k));
	sodium_bin2hex(hex, sizeof(hex), k, sizeof(k));
	hex[64] = '\n';
	snprintf(path, sizeof(path), "%s/state/nonce.key", t->dir);
	it_write_file(path, hex, sizeof(hex));
}

/* Run `t`'s tipd, or with `adopt` its `keys adopt`, bounded to 30 s; stderr
 * into `err`. */
static int
run_tipd(struct th *t, int adopt, struct buf *err)
{
	char keys[] = "keys", sub[] = "adopt";
	char *argv[] = { "/usr/bin/timeout", "30", t->tipd_bin, "-c", t->conf,
		         adopt ? keys : NULL, sub, NULL };
	return it_exec(t, NULL, NULL, argv, NULL, err);
}

/* A host whose nonce key (or pepper) is not the deployment's refuses to
 * start, naming the secret; `tipd keys adopt` makes its copy the
 * deployment's, after which the other host's old copy is the one refused. */
Test(multihost, a_host_with_another_copy_of_a_shared_secret_refuses_to_start, .init = setup,
     .fini = teardown, .timeout = 120)
{
	struct buf err;
	buf_init(&err, 1 << 16);
	cr_assert_eq(th_count(&A, "select count(*) from host_keys where name in "
	                          "('receipt-pepper', 'nonce')"),
	             2, "the first host recorded no check values");
	cr_assert_eq(th_stop(&B, SIGTERM), 0);
	new_nonce_key(&B);
	cr_assert_eq(run_tipd(&B, 0, &err), 1, "tipd started with another nonce key: %s",
	             buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&err), "the login nonce key (STATE_DIR/nonce.key) is not "
	                                          "the one recorded for this deployment"),
	                   "%s", buf_cstr(&err));

	cr_assert_eq(run_tipd(&B, 1, &err), 0, "%s", buf_cstr(&err));
	th_start(&B);
	cr_assert_eq(th_stop(&A, SIGTERM), 0);
	cr_assert_eq(run_tipd(&A, 0, &err), 1, "tipd started with the old nonce key: %s",
	             buf_cstr(&err));

	/* The pepper too: A with B's nonce key but a pepper of its own. */
	char from[TH_PATH + 32], to[TH_PATH + 32];
	snprintf(from, sizeof(from), "%s/state/nonce.key", B.dir);
	snprintf(to, sizeof(to), "%s/state/nonce.key", A.dir);
	char *cp[] = { "cp", "-p", from, to, NULL };
	cr_assert_eq(th_run(cp, NULL, 0, NULL), 0);
	snprintf(to, sizeof(to), "%s/pepper", A.dir);
	uint8_t k[32];
	char hex[65];
	randombytes_buf(k, sizeof(k));
	sodium_bin2hex(hex, sizeof(hex), k, sizeof(k));
	it_write_file(to, hex, 64);
	cr_assert_eq(run_tipd(&A, 0, &err), 1, "tipd started with another pepper: %s",
	             buf_cstr(&err));
	cr_assert_not_null(strstr(buf_cstr(&err), "the receipt pepper ([tipd] receipt_pepper) is "
	                                          "not the one recorded"),
	                   "%s", buf_cstr(&err));
	buf_free(&err);
}
