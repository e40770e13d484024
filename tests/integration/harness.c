#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "identity.h"
#include "util.h"


static const char *
env_or_die(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v != NULL && *v, "%s is not set: run the suite with scripts/test", name);
	return v;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(fd >= 0, "cannot write %s: %s", path, strerror(errno));
	cr_assert(util_write_all(fd, text, strlen(text)) == 0);
	close(fd);
}

int
th_run(char *const argv[], const char *in, size_t inlen, struct buf *out)
{
	int pin[2], pout[2], status;
	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	if (in != NULL)
		(void)util_write_all(pin[1], in, inlen);
	close(pin[1]);
	char tmp[65536];
	ssize_t r;
	while ((r = read(pout[0], tmp, sizeof(tmp))) > 0)
		if (out != NULL && buf_add(out, tmp, (size_t)r) != 0)
			break;
	close(pout[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void
run_ok(char *const argv[], struct buf *out)
{
	int rc = th_run(argv, NULL, 0, out);
	cr_assert(rc == 0, "%s %s exited with %d", argv[0], argv[1] ? argv[1] : "", rc);
}

/* TIPLINE_TEST_PGEXTRA, or "". */
static const char *
pg_extra(void)
{
	const char *v = getenv("TIPLINE_TEST_PGEXTRA");
	return v != NULL ? v : "";
}

PGconn *
th_db(struct th *t)
{
	char ci[1024];
	snprintf(ci, sizeof(ci), "host=%s port=%s user=%s dbname=%s %s",
	         env_or_die("TIPLINE_TEST_PGHOST"), env_or_die("TIPLINE_TEST_PGPORT"),
	         env_or_die("TIPLINE_TEST_PGUSER"), t->db[0] ? t->db : "postgres", pg_extra());
	PGconn *c = PQconnectdb(ci);
	cr_assert(PQstatus(c) == CONNECTION_OK, "cannot connect to PostgreSQL: %s",
	          PQerrorMessage(c));
	return c;
}

static void
db_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

long
th_count(struct th *t, const char *sql)
{
	PGconn *c = th_db(t);
	PGresult *r = PQexec(c, sql);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return n;
}

void
th_write_conf(struct th *t)
{
	char text[8192];
	snprintf(text, sizeof(text),
	         "[tipd]\nlog_level = debug\nmlock = auto\nspool_dir = %s\nstate_dir = %s/state\n"
	         "flush_interval_ms = %u\n"
	         "questionnaire = %s/server/web/questionnaire.json\n"
	         "receipt_pepper = %s/pepper\nschema_dir = %s/schema\n%s\n"
	         "[database]\nconninfo = host=%s port=%s dbname=%s user=tipline_app %s\n"
	         "migrate_conninfo = host=%s port=%s dbname=%s user=%s %s\n"
	         "[source]\nlisten = %s\n"
	         "[source_tls]\nlisten = 127.0.0.1:0\ntls_cert = %s/tls.crt\ntls_key = %s/tls.key\n"
	         "submissions = yes\n%s\n"
	         "[review]\nlisten = %s\ntls_cert = %s/tls.crt\ntls_key = %s/tls.key\n"
	         "origin = %s\n%s\n"
	         "[web]\ndir = %s/server/web\nlocales = %s/web/locales\nteam = demo\n"
	         "quick_exit_url = https://www.wikipedia.org/\n"
	         "contact = Everywhere | Emergency | 112\n"
	         "contact = Everywhere | Anti-trafficking help line | +00 800 000 000\n%s\n"
	         "[admins]\nadmin_key = %s\n[limits]\n%s\n",
	         t->spool, t->dir, t->flush_ms, getenv("TIPLINE_SOURCE_DIR"), t->dir,
	         getenv("TIPLINE_SOURCE_DIR"), t->tipd_conf, getenv("TIPLINE_TEST_PGHOST"),
	         getenv("TIPLINE_TEST_PGPORT"), t->db, pg_extra(), getenv("TIPLINE_TEST_PGHOST"),
	         getenv("TIPLINE_TEST_PGPORT"), t->db, getenv("TIPLINE_TEST_PGUSER"), pg_extra(),
	         t->source_listen[0] ? t->source_listen : "127.0.0.1:0", t->dir, t->dir,
	         t->source_tls_conf, t->review_listen[0] ? t->review_listen : "127.0.0.1:0", t->dir, t->dir,
	         t->review_origin[0] ? t->review_origin : TH_REVIEW_ORIGIN, t->review_conf,
	         getenv("TIPLINE_SOURCE_DIR"), getenv("TIPLINE_BUILD_DIR"), t->web_conf, t->admin_pub,
	         t->extra_conf);
	write_file(t->conf, text, 0600);
}

static void
make_keys(struct th *t)
{
	char crt[TH_PATH + 16], key[TH_PATH + 16], pepper[TH_PATH + 16];
	uint8_t pep[32];
	char hex[65];
	snprintf(crt, sizeof(crt), "%s/tls.crt", t->dir);
	snprintf(key, sizeof(key), "%s/tls.key", t->dir);
	char *ossl[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
		         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key,
		         "-out", crt, NULL };
	run_ok(ossl, NULL);
	randombytes_buf(pep, sizeof(pep));
	util_hex(pep, sizeof(pep), hex);
	snprintf(pepper, sizeof(pepper), "%s/pepper", t->dir);
	write_file(pepper, hex, 0600);
	write_file(t->passfile, TH_PASSPHRASE "\n", 0600);
}

/* Make the admin key, the investigator identity, and sign team "demo". */
static void
make_people(struct th *t)
{
	char *tipctl = t->tipctl_bin;
	char stmt[TH_PATH + 32];
	struct buf out;
	buf_init(&out, 65536);
	char *keygen[] = { tipctl, "admin", "keygen", "--name", "test-admin", "--out",
		           t->admin_key, "--passphrase-file", t->passfile, NULL };
	run_ok(keygen, &out);
	const char *p = strstr(buf_cstr(&out), "test-admin+");
	cr_assert(p != NULL, "tipctl admin keygen printed no verifier key: %s", buf_cstr(&out));
	size_t n = strcspn(p, " \n\r\t");
	cr_assert(n < sizeof(t->admin_pub));
	memcpy(t->admin_pub, p, n);
	t->admin_pub[n] = '\0';

	char *init[] = { tipctl, "init", "--identity", t->identity, "--name", "alice",
		         "--passphrase-file", t->passfile, NULL };
	buf_reset(&out);
	run_ok(init, &out);
	p = strstr(buf_cstr(&out), "member:");
	cr_assert(p != NULL, "tipctl init printed no member line: %s", buf_cstr(&out));
	p += strlen("member:");
	p += strspn(p, " ");
	n = strcspn(p, "\n");
	cr_assert(n < sizeof(t->member_line));
	memcpy(t->member_line, p, n);
	t->member_line[n] = '\0';
	sscanf(t->member_line, "%*s %127s", t->recipient);

	snprintf(stmt, sizeof(stmt), "%s/membership-1.txt", t->dir);
	char *sign[] = { tipctl, "admin", "membership", "--key", t->admin_key,
		         "--passphrase-file", t->passfile, "--team", "demo", "--first", "--member",
		         t->member_line, "--out", stmt, NULL };
	run_ok(sign, NULL);
	buf_free(&out);
}

static void
make_plain_identity(struct th *t)
{
	struct identity *id = NULL;
	cr_assert(identity_load(t->identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id) ==
	          IDENTITY_OK);
	char sk[AGE_IDENTITY_STR_MAX];
	cr_assert(age_identity_encode(identity_x25519_sk(id), sk, sizeof(sk)) == 0);
	char text[256];
	snprintf(text, sizeof(text), "%s\n", sk);
	write_file(t->identity_plain, text, 0600);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	identity_free(id);
}

void
th_setup(struct th *t)
{
	char *tipd = t->tipd_bin;
	uint8_t rnd[6];
	char hex[13], sql[256], stmt[TH_PATH + 32];
	memset(t, 0, sizeof(*t));
	t->flush_ms = 200;
	snprintf(t->tipd_bin, sizeof(t->tipd_bin), "%s", env_or_die("TIPD"));
	snprintf(t->tipctl_bin, sizeof(t->tipctl_bin), "%s", env_or_die("TIPCTL"));
	snprintf(t->dir, sizeof(t->dir), "/tmp/tipline-it.XXXXXX");
	cr_assert(mkdtemp(t->dir) != NULL);
	snprintf(t->conf, sizeof(t->conf), "%s/tipd.conf", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/tipd.log", t->dir);
	snprintf(t->spool, sizeof(t->spool), "%s/spool", t->dir);
	snprintf(t->passfile, sizeof(t->passfile), "%s/passphrase", t->dir);
	snprintf(t->identity, sizeof(t->identity), "%s/alice.age", t->dir);
	snprintf(t->identity_plain, sizeof(t->identity_plain), "%s/alice.key", t->dir);
	snprintf(t->admin_key, sizeof(t->admin_key), "%s/admin.key", t->dir);
	randombytes_buf(rnd, sizeof(rnd));
	util_hex(rnd, sizeof(rnd), hex);
	snprintf(t->db, sizeof(t->db), "tl_it_%s", hex);

	PGconn *c = th_db(&(struct th){ .db = "postgres" });
	snprintf(sql, sizeof(sql), "create database %s owner tipline_owner", t->db);
	db_exec(c, sql);
	PQfinish(c);

	make_keys(t);
	make_people(t);
	make_plain_identity(t);
	th_write_conf(t);
	char *migrate[] = { tipd, "-c", t->conf, "migrate", NULL };
	run_ok(migrate, NULL);
	snprintf(stmt, sizeof(stmt), "%s/membership-1.txt", t->dir);
	char *add[] = { tipd, "-c", t->conf, "membership", "add", stmt, NULL };
	run_ok(add, NULL);
}

void
th_add_host(const struct th *a, struct th *b)
{
	static const char *const shared[] = { "pepper", "tls.crt", "tls.key", "passphrase" };
	*b = *a;
	b->tipd = 0;
	b->source_port = b->source_tls_port = b->review_port = 0;
	b->tls_pin[0] = '\0';
	b->shares_db = 1;
	snprintf(b->dir, sizeof(b->dir), "/tmp/tipline-it.XXXXXX");
	cr_assert(mkdtemp(b->dir) != NULL);
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		char from[TH_PATH + 32], to[TH_PATH + 32];
		snprintf(from, sizeof(from), "%s/%s", a->dir, shared[i]);
		snprintf(to, sizeof(to), "%s/%s", b->dir, shared[i]);
		char *cp[] = { "cp", "-p", from, to, NULL };
		run_ok(cp, NULL);
	}
	/* The deployment's keys from a's state directory (made at its first
	 * start): one audit log is signed with one key, and a login nonce from
	 * one host is checked by another. */
	char state[TH_PATH + 16];
	snprintf(state, sizeof(state), "%s/state", b->dir);
	cr_assert_eq(mkdir(state, 0700), 0);
	static const char *const keys[] = { "audit.key", "nonce.key" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char from[TH_PATH + 32], to[TH_PATH + 32];
		struct stat st;
		snprintf(from, sizeof(from), "%s/state/%s", a->dir, keys[i]);
		snprintf(to, sizeof(to), "%s/%s", state, keys[i]);
		char *cp[] = { "cp", "-p", from, to, NULL };
		/* tipd refuses to start with a nonce key of its own (hostkeys). */
		cr_assert_eq(stat(from, &st), 0, "%s: start the first host before adding another",
		             from);
		run_ok(cp, NULL);
	}
	snprintf(b->conf, sizeof(b->conf), "%s/tipd.conf", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/tipd.log", b->dir);
	snprintf(b->spool, sizeof(b->spool), "%s/spool", b->dir);
	snprintf(b->passfile, sizeof(b->passfile), "%s/passphrase", b->dir);
	th_write_conf(b);
}

static int
log_port(const char *text, const char *what)
{
	/* tipd logs "listening on 127.0.0.1:PORT (what…)" */
	const char *p = text;
	while ((p = strstr(p, "listening on 127.0.0.1:")) != NULL) {
		p += strlen("listening on 127.0.0.1:");
		int port = (int)strtol(p, NULL, 10);
		const char *eol = strchr(p, '\n');
		const char *w = strstr(p, what);
		if (w != NULL && (eol == NULL || w < eol))
			return port;
	}
	return 0;
}

void
th_start(struct th *t)
{
	const char *tipd = t->tipd_bin;
	struct stat st;
	/* The log keeps earlier runs (tests grep all of it): read only this run. */
	size_t from = stat(t->log, &st) == 0 ? (size_t)st.st_size : 0;
	pid_t parent = getpid(), pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		/* A test that crashes before its teardown must not leave tipd running. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127);
		int fd = open(t->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		dup2(fd, 1);
		execl(tipd, tipd, "-c", t->conf, (char *)NULL);
		_exit(127);
	}
	t->tipd = pid;
	for (int i = 0; i < 200; i++) {
		size_t len;
		char *text = util_read_file(t->log, 1 << 24, &len);
		const char *run = text != NULL && len >= from ? text + from : NULL;
		if (run != NULL && strstr(run, "tipd[info]: ready") != NULL) {
			t->source_port = log_port(run, "(source)");
			t->source_tls_port = log_port(run, "(source, TLS)");
			t->review_port = log_port(run, "(review, TLS)");
			free(text);
			/* A unix-socket source listener has no port. */
			cr_assert((t->source_port > 0 || t->source_listen[0] != '\0') &&
			                  t->source_tls_port > 0 && t->review_port > 0,
			          "could not read tipd's ports from its log");
			return;
		}
		free(text);
		int status;
		cr_assert(waitpid(pid, &status, WNOHANG) == 0, "tipd exited during start-up; see %s",
		          t->log);
		usleep(50000);
	}
	cr_assert_fail("tipd did not become ready in 10 s");
}

int
th_stop(struct th *t, int sig)
{
	int status;
	if (t->tipd <= 0)
		return -1;
	kill(t->tipd, sig);
	for (int i = 0; i < 800; i++) {
		pid_t r = waitpid(t->tipd, &status, WNOHANG);
		if (r == t->tipd) {
			t->tipd = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(50000);
	}
	kill(t->tipd, SIGKILL);
	waitpid(t->tipd, &status, 0);
	t->tipd = 0;
	return -1;
}

static void
rm_rf(char *path)
{
	char *argv[] = { "rm", "-rf", path, NULL };
	(void)th_run(argv, NULL, 0, NULL);
}

void
th_teardown(struct th *t)
{
	char sql[128];
	if (t->tipd > 0)
		th_stop(t, SIGKILL);
	if (t->db[0] && !t->shares_db) {
		PGconn *c = th_db(&(struct th){ .db = "postgres" });
		snprintf(sql, sizeof(sql), "drop database if exists %s with (force)", t->db);
		PQclear(PQexec(c, sql));
		PQfinish(c);
	}
	if (t->dir[0] && getenv("TIPLINE_KEEP_TEST_DIR") == NULL)
		rm_rf(t->dir);
}

int
th_curl(struct th *t, char *const args[], struct buf *body)
{
	char bodyfile[TH_PATH + 16];
	char *argv[64];
	int n = 0;
	snprintf(bodyfile, sizeof(bodyfile), "%s/curl-body", t->dir);
	unlink(bodyfile);
	argv[n++] = "curl";
	argv[n++] = "-s";
	argv[n++] = "--max-time";
	argv[n++] = "60";
	argv[n++] = "-o";
	argv[n++] = bodyfile;
	argv[n++] = "-w";
	argv[n++] = "%{http_code}";
	for (int i = 0; args[i] != NULL && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct buf out;
	buf_init(&out, 64);
	int rc = th_run(argv, NULL, 0, &out);
	int status = rc == 0 ? (int)strtol(buf_cstr(&out), NULL, 10) : 0;
	buf_free(&out);
	if (body != NULL) {
		size_t len;
		char *text = util_read_file(bodyfile, 1 << 24, &len);
		if (text != NULL && buf_add(body, text, len) != 0)
			status = 0;
		free(text);
	}
	return status;
}

int
th_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "connect: %s",
	          strerror(errno));
	return fd;
}

int
th_raw(int port, const char *req, size_t len, unsigned timeout_ms, struct buf *resp)
{
	int fd = th_connect(port);
	char tmp[8192];
	(void)util_write_all(fd, req, len);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	for (;;) {
		if (poll(&pfd, 1, (int)timeout_ms) <= 0)
			break;
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r <= 0)
			break;
		if (resp != NULL && buf_add(resp, tmp, (size_t)r) != 0)
			break;
	}
	close(fd);
	if (resp == NULL || resp->len < 12 || memcmp(resp->data, "HTTP/1.1 ", 9) != 0)
		return 0;
	return (int)strtol((const char *)resp->data + 9, NULL, 10);
}

long
th_wait_reports(struct th *t, long n, unsigned timeout_ms)
{
	long seen = -1;
	for (unsigned waited = 0; waited <= timeout_ms; waited += 100) {
		seen = th_count(t, "select count(*) from reports");
		if (seen >= n)
			break;
		usleep(100000);
	}
	return seen;
}

int
th_age_decrypt(struct th *t, const char *object_id, int attachment, struct buf *out)
{
	char sql[512], path[TH_PATH + 32];
	snprintf(sql, sizeof(sql),
	         "select h.header, o.payload from object_headers h join %s o on o.id = h.object_id "
	         "where h.object_id = $1 and h.recipient = $2",
	         attachment ? "attachments" : "reports");
	PGconn *c = th_db(t);
	const char *params[2] = { object_id, t->recipient };
	PGresult *r = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 1);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1,
	          "no header for the demo investigator on %s: %s", object_id, PQerrorMessage(c));
	snprintf(path, sizeof(path), "%s/object.age", t->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert(util_write_all(fd, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)) == 0);
	cr_assert(util_write_all(fd, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1)) == 0);
	close(fd);
	PQclear(r);
	PQfinish(c);
	char *argv[] = { "age", "-d", "-i", t->identity_plain, path, NULL };
	return th_run(argv, NULL, 0, out);
}

int
th_spool_count(struct th *t, const char *sfx)
{
	DIR *d = opendir(t->spool);
	int n = 0;
	struct dirent *e;
	if (d == NULL)
		return 0;
	size_t sl = strlen(sfx);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l >= sl && strcmp(e->d_name + l - sl, sfx) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Wait up to `timeout_ms` for the spool to hold exactly `n` files ending in
 * `sfx`: a flush commits before it unlinks, so the database can show a report
 * a moment before its spool file is gone. Returns the last count seen. */
int
th_wait_spool(struct th *t, const char *sfx, int n, unsigned timeout_ms)
{
	int seen = -1;
	for (unsigned waited = 0; waited <= timeout_ms; waited += 50) {
		seen = th_spool_count(t, sfx);
		if (seen == n)
			break;
		usleep(50000);
	}
	return seen;
}

int
th_review(struct th *t, const char *method, const char *path, const char *token,
          const char *body, struct buf *resp)
{
	char url[1024], crt[TH_PATH], auth[256];
	char *args[16];
	int n = 0;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", t->review_port, path);
	snprintf(crt, sizeof(crt), "%s/tls.crt", t->dir);
	args[n++] = "--cacert";
	args[n++] = crt;
	args[n++] = "-X";
	args[n++] = (char *)(uintptr_t)method;
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		args[n++] = "-H";
		args[n++] = auth;
	}
	if (body != NULL) {
		args[n++] = "-H";
		args[n++] = "Content-Type: application/json";
		args[n++] = "--data-binary";
		args[n++] = (char *)(uintptr_t)body;
	}
	args[n++] = url;
	args[n] = NULL;
	return th_curl(t, args, resp);
}

void
th_tls_key_hex(struct th *t, char out[65])
{
	char cmd[TH_PATH * 2];
	struct buf o;
	if (t->tls_pin[0] != '\0') {
		memcpy(out, t->tls_pin, sizeof(t->tls_pin));
		return;
	}
	snprintf(cmd, sizeof(cmd),
	         "openssl x509 -in %s/tls.crt -pubkey -noout | openssl pkey -pubin -outform DER "
	         "| sha256sum",
	         t->dir);
	char *argv[] = { "sh", "-c", cmd, NULL };
	buf_init(&o, 4096);
	cr_assert_eq(th_run(argv, NULL, 0, &o), 0);
	cr_assert(o.len >= 64);
	memcpy(out, o.data, 64);
	out[64] = '\0';
	memcpy(t->tls_pin, out, sizeof(t->tls_pin));
	buf_free(&o);
}

void
th_review_nonce(struct th *t, char nonce[64])
{
	struct buf resp;
	char pin[65];
	json_error_t e;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(th_review(t, "POST", "/api/v1/login/nonce", NULL, NULL, &resp), 200,
	             "nonce: %s", buf_cstr(&resp));
	json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
	cr_assert(doc != NULL);
	th_tls_key_hex(t, pin);
	/* The client checks what it signs against its own pins. */
	cr_assert_str_eq(json_string_value(json_object_get(doc, "origin")), TH_REVIEW_ORIGIN);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "tls_key_sha256")), pin);
	const char *s = json_string_value(json_object_get(doc, "nonce"));
	cr_assert(s != NULL && strlen(s) == 43, "the nonce is not base64url of 32 bytes");
	snprintf(nonce, 64, "%s", s);
	json_decref(doc);
	buf_free(&resp);
}

void
th_login_body(const uint8_t *sk, const uint8_t *pk, const char *origin, const char *tls_hex,
              const char *nonce, long long time, struct buf *out)
{
	char msg[1024], pk64[64], sig64[128];
	uint8_t sig[64];
	int n = snprintf(msg, sizeof(msg), "tipline/v1/login\n%s\n%s\n%s\n%lld\n", origin, tls_hex,
	                 nonce, time);
	cr_assert(n > 0 && (size_t)n < sizeof(msg));
	cr_assert_eq(crypto_sign_detached(sig, NULL, (const uint8_t *)msg, (size_t)n, sk), 0);
	sodium_bin2base64(pk64, sizeof(pk64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sig64, sizeof(sig64), sig, 64, sodium_base64_VARIANT_ORIGINAL);
	cr_assert_eq(buf_printf(out, "{\"ed25519\":\"%s\",\"nonce\":\"%s\",\"time\":%lld,"
	                             "\"signature\":\"%s\"}",
	                        pk64, nonce, time, sig64),
	             0);
}

int
th_review_login(struct th *t, const char *identity, char token[64])
{
	struct identity *id = NULL;
	char nonce[64], pin[65];
	struct buf body, resp;
	json_error_t e;
	cr_assert_eq(identity_load(identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id), IDENTITY_OK);
	th_review_nonce(t, nonce);
	th_tls_key_hex(t, pin);
	buf_init(&body, 4096);
	buf_init(&resp, 1 << 16);
	th_login_body(identity_ed25519_sk(id), identity_ed25519_pk(id), TH_REVIEW_ORIGIN, pin, nonce,
	              (long long)time(NULL), &body);
	identity_free(id);
	int status = th_review(t, "POST", "/api/v1/login", NULL, buf_cstr(&body), &resp);
	if (status == 200) {
		json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
		const char *tok = json_string_value(json_object_get(doc, "token"));
		cr_assert(tok != NULL && strlen(tok) < 64, "login answered no token");
		snprintf(token, 64, "%s", tok);
		json_decref(doc);
	}
	buf_free(&body);
	buf_free(&resp);
	return status;
}
