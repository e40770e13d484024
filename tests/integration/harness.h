/*
 * harness: what every integration test needs to drive the real system.
 *
 * th_setup() makes a private world in a temp dir: its own database in the
 * PostgreSQL cluster named by TIPLINE_TEST_PGHOST/PGPORT/PGUSER (created by
 * scripts/test), migrated with `tipd migrate`; a throwaway TLS certificate;
 * a receipt pepper; an admin key and an investigator identity made with
 * tipctl; a team "demo" whose signed membership holds that investigator,
 * loaded with `tipd membership add`. th_start() runs the real tipd on
 * 127.0.0.1 port 0 and reads the bound ports from its log.
 */
#ifndef TIPLINE_HARNESS_H
#define TIPLINE_HARNESS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define TH_PATH 512

struct th {
	char dir[128];
	char tipd_bin[TH_PATH];
	char tipctl_bin[TH_PATH];
	char db[64];
	char conf[TH_PATH];
	char log[TH_PATH];
	char spool[TH_PATH];
	char passfile[TH_PATH];
	char identity[TH_PATH];     /* passphrase-protected, as tipctl writes it */
	char identity_plain[TH_PATH]; /* decrypted copy for `age -d -i` in tests */
	char admin_key[TH_PATH];
	char admin_pub[256];
	char member_line[512];
	char recipient[128];
	pid_t tipd;
	int source_port;
	int source_tls_port;
	int review_port;
	unsigned flush_ms;
	char extra_conf[1024];      /* appended to [limits] */
	char review_conf[256];      /* appended to [review] (e.g. session_idle_s = 2) */
	char web_conf[256];         /* appended to [web] (e.g. form_ttl_s = 5) */
	char tipd_conf[256];        /* appended to [tipd] (e.g. onion_location = …) */
	char source_tls_conf[128];  /* appended to [source_tls] (e.g. submissions = no) */
	char tls_pin[65];           /* th_tls_key_hex's answer, once computed */
	/* Set before th_write_conf to override the defaults ("" keeps them):
	 * [source] listen (e.g. "unix:/path"), [review] listen and origin. */
	char source_listen[TH_PATH];
	char review_listen[64];
	char review_origin[128];
	int shares_db;              /* a second host (th_add_host): teardown keeps the database */
};

/* The [review] origin the harness configures (what logins are signed for). */
#define TH_REVIEW_ORIGIN "https://tipline-review.test"
#define TH_PASSPHRASE "correct horse battery staple"


/* Build the world described above. Aborts the test (cr_assert) on failure. */
void th_setup(struct th *t);
/* Make `b` a second tipd host of `a`'s deployment: the same database, pepper,
 * TLS certificate and admin key, its own directory, spool, state directory,
 * log and ports (th_start(b) runs it), and copies of the keys a's state
 * directory holds (audit.key, nonce.key: start a once first). */
void th_add_host(const struct th *a, struct th *b);
/* Stop tipd, drop the database (unless shares_db), remove the temp dir. */
void th_teardown(struct th *t);
/* Write the config (th_setup does it once; call again after changing fields). */
void th_write_conf(struct th *t);
/* Start tipd and wait until it is ready; fills the ports. */
void th_start(struct th *t);
/* Send `sig` to tipd and wait for it to exit; return its exit status or -1. */
int th_stop(struct th *t, int sig);

/* Run a command (argv, NULL-terminated) with stdin from `in` (may be NULL)
 * and capture stdout into `out` (may be NULL). Return its exit status. */
int th_run(char *const argv[], const char *in, size_t inlen, struct buf *out);
/* Run curl with `args` against tipd, `-s -o BODY -w '%{http_code}'`; return the
 * HTTP status (0 if curl failed) and the body in `body`. */
int th_curl(struct th *t, char *const args[], struct buf *body);
/* Open a TCP connection to 127.0.0.1:port. Return the fd. */
int th_connect(int port);
/* Send `req` raw on a new connection to `port` and read the whole answer until
 * the server closes (or `timeout_ms`). Return the status code, 0 if none. */
int th_raw(int port, const char *req, size_t len, unsigned timeout_ms, struct buf *resp);

/* Call the review API: `method` `path` (with its query) on the review
 * listener over TLS, with "Authorization: Bearer `token`" unless token is
 * NULL, and `body` as application/json unless NULL. Return the HTTP status
 * (0 if curl failed); the answer body goes into `resp` (may be NULL). */
int th_review(struct th *t, const char *method, const char *path, const char *token,
              const char *body, struct buf *resp);
/* Hex SHA-256 of the review certificate's SubjectPublicKeyInfo, computed with
 * the openssl tool (the client's pin). */
void th_tls_key_hex(struct th *t, char out[65]);
/* Ask for a login nonce; assert the answer names TH_REVIEW_ORIGIN and the
 * pinned TLS key hash. Writes the nonce (at most 63 characters). */
void th_review_nonce(struct th *t, char nonce[64]);
/* Append a login body claiming Ed25519 key `pk` and signed with `sk` (64
 * bytes, libsodium form) over the login message for `origin`, `tls_hex`,
 * `nonce` and `time`. */
void th_login_body(const uint8_t *sk, const uint8_t *pk, const char *origin, const char *tls_hex,
                   const char *nonce, long long time, struct buf *out);
/* Log in as the investigator whose passphrase-protected identity file is
 * `identity` (TH_PASSPHRASE), the way tipctl does. Return the HTTP status;
 * on 200 the token goes into `token`. */
int th_review_login(struct th *t, const char *identity, char token[64]);

/* A superuser connection to the test database. TIPLINE_TEST_PGEXTRA, if
 * set, is appended to this conninfo and to tipd's (e.g.
 * "target_session_attrs=read-write" with a list of hosts). */
PGconn *th_db(struct th *t);
/* Number of rows `sql` counts (a "select count(*) …"). */
long th_count(struct th *t, const char *sql);
/* Wait until `select count(*) from reports` reaches n; return the count seen. */
long th_wait_reports(struct th *t, long n, unsigned timeout_ms);
/* Decrypt report/attachment `object_id` as stored in PostgreSQL (the demo
 * investigator's header followed by the payload) with Debian's `age -d`.
 * Return age's exit status; the plaintext goes into `out`. */
int th_age_decrypt(struct th *t, const char *object_id, int attachment, struct buf *out);
/* Count files in the spool directory with suffix `sfx`. */
int th_spool_count(struct th *t, const char *sfx);
int th_wait_spool(struct th *t, const char *sfx, int n, unsigned timeout_ms);

#endif
