#include "it_common.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "note.h"
#include "receipt.h"
#include "util.h"

int
it_post_json(struct th *t, int tls, const char *body, struct buf *resp)
{
	char url[128], crt[TH_PATH];
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d/api/v1/reports", tls ? "https" : "http",
	         tls ? t->source_tls_port : t->source_port);
	snprintf(crt, sizeof(crt), "%s/tls.crt", t->dir);
	char *args[] = { "--cacert", crt, "-H", "Content-Type: application/json", "--data-binary",
		         (char *)(uintptr_t)body, url, NULL };
	return th_curl(t, args, resp);
}

void
it_assert_receipt(const struct buf *resp)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, &e);
	cr_assert(doc != NULL, "answer is not JSON: %.*s", (int)resp->len, (const char *)resp->data);
	const char *r = json_string_value(json_object_get(doc, "receipt"));
	cr_assert(r != NULL, "no receipt in the answer");
	cr_assert_eq(strlen(r), 35, "receipt %s is not six groups of five", r);
	for (int i = 0; i < 35; i++) {
		if (i % 6 == 5)
			cr_assert_eq(r[i], '-');
		else
			cr_assert(r[i] >= '0' && r[i] <= '9');
	}
	char digits[RECEIPT_DIGITS];
	cr_assert_eq(receipt_normalize(r, strlen(r), digits), RECEIPT_OK, "bad check digit");
	json_decref(doc);
}

void
it_only_report(struct th *t, char id[37])
{
	PGconn *c = th_db(t);
	PGresult *r = PQexec(c, "select id from reports");
	cr_assert_eq(PQntuples(r), 1, "expected one report, found %d", PQntuples(r));
	snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

json_t *
it_open_report(struct th *t, const char *id)
{
	struct buf pt;
	char line[128];
	buf_init(&pt, 1 << 24);
	cr_assert_eq(th_age_decrypt(t, id, 0, &pt), 0, "age -d failed on report %s", id);
	int n = snprintf(line, sizeof(line), "tipline/v1 report %s %s\n", id, id);
	cr_assert(pt.len > (size_t)n && memcmp(pt.data, line, (size_t)n) == 0,
	          "the report does not start with its context line");
	cr_assert(pt.len >= 1024, "the report is not padded (%zu bytes)", pt.len);
	json_error_t e;
	json_t *doc = json_loadb((const char *)pt.data + n, pt.len - (size_t)n, 0, &e);
	cr_assert(doc != NULL, "the report is not JSON after its context line: %s", e.text);
	buf_free(&pt);
	return doc;
}

void
it_assert_nothing_stored(struct th *t)
{
	cr_assert_eq(th_spool_count(t, ".rep"), 0, "a report was spooled");
	cr_assert_eq(th_spool_count(t, ".part"), 0, "an unfinished spool file was left behind");
	usleep((t->flush_ms + 300) * 1000);
	cr_assert_eq(th_count(t, "select count(*) from reports"), 0, "a report was stored");
	cr_assert_eq(th_count(t, "select count(*) from object_headers"), 0, "a header was stored");
}

struct note_signer *
it_admin_signer(struct th *t, uint8_t sk[64])
{
	struct age_unwrap_opts uo = { NULL, 0, TH_PASSPHRASE, strlen(TH_PASSPHRASE),
		                      AGE_MAX_SCRYPT_LOGN };
	struct buf pt;
	size_t len = 0, raw_len = 0;
	uint8_t raw[33];
	char *ct = util_read_file(t->admin_key, 1 << 16, &len);
	cr_assert_not_null(ct, "cannot read %s", t->admin_key);
	buf_init_secure(&pt, 1 << 16);
	cr_assert_eq(age_decrypt((const uint8_t *)ct, len, &uo, &pt), AGE_OK,
	             "cannot decrypt the admin key");
	free(ct);
	while (pt.len > 0 && pt.data[pt.len - 1] == '\n')
		pt.len--;
	struct note_signer *s = note_signer_parse((const char *)pt.data, pt.len);
	cr_assert_not_null(s, "the admin key file holds no signer key");
	/* "PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>": the seed is last. */
	const char *b64 = buf_cstr(&pt);
	for (int i = 0; i < 4 && b64 != NULL; i++) /* base64 may hold '+' too */
		if ((b64 = strchr(b64, '+')) != NULL)
			b64++;
	cr_assert_not_null(b64);
	cr_assert_eq(sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL, &raw_len, NULL,
	                               sodium_base64_VARIANT_ORIGINAL), 0);
	cr_assert(raw_len == 33 && raw[0] == 0x01, "unexpected signer key encoding");
	uint8_t pk[32];
	cr_assert_eq(crypto_sign_seed_keypair(pk, sk, raw + 1), 0);
	cr_assert_eq(memcmp(pk, note_signer_pk(s), 32), 0, "seed and signer disagree");
	sodium_memzero(raw, sizeof(raw));
	buf_free(&pt);
	return s;
}

int
it_login_sk(struct th *t, const uint8_t sk[64], char token[64])
{
	char nonce[64], pin[65];
	struct buf body, resp;
	json_error_t e;
	th_review_nonce(t, nonce);
	th_tls_key_hex(t, pin);
	buf_init(&body, 4096);
	buf_init(&resp, 1 << 16);
	th_login_body(sk, sk + 32, TH_REVIEW_ORIGIN, pin, nonce, (long long)time(NULL), &body);
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

void
it_admin_login(struct th *t, char token[64])
{
	uint8_t sk[64];
	note_signer_free(it_admin_signer(t, sk));
	cr_assert_eq(it_login_sk(t, sk, token), 200, "the pinned admin key cannot log in");
	sodium_memzero(sk, sizeof(sk));
}

void
it_slurp(const char *path, struct buf *b)
{
	size_t n = 0;
	char *p = util_read_file(path, 1 << 22, &n);
	buf_reset(b);
	cr_assert_not_null(p, "cannot read %s", path);
	cr_assert_eq(buf_add(b, p, n), 0, "%s: %zu bytes do not fit", path, n);
	free(p);
	cr_assert_not_null(buf_cstr(b));
}

/* Open `path` for it_exec(): `wr` truncates or creates it 0600. Assert. */
static int
exec_open(const char *path, int wr)
{
	int fd = wr ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
	            : open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "cannot open %s", path);
	return fd;
}

int
it_exec(struct th *t, const char *home, const char *in, char *const argv[], struct buf *out,
        struct buf *err)
{
	char po[TH_PATH + 16], pe[TH_PATH + 16];
	int st = 0;
	snprintf(po, sizeof(po), "%s/it_exec.out", t->dir);
	snprintf(pe, sizeof(pe), "%s/it_exec.err", t->dir);
	int o = exec_open(po, 1), e = exec_open(pe, 1);
	int i = exec_open(in != NULL ? in : "/dev/null", 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(i, 0) < 0 ||
		    (home != NULL && setenv("TIPLINE_HOME", home, 1) != 0) || setsid() < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o);
	close(e);
	close(i);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (out != NULL)
		it_slurp(po, out);
	if (err != NULL)
		it_slurp(pe, err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
it_tipctl(struct th *t, const char *home, const char *in, struct buf *out, struct buf *err,
          const char *first, ...)
{
	enum { MAX_ARGS = 40 };
	char *argv[MAX_ARGS];
	const char *a = first;
	int argc = 0;
	va_list ap;
	argv[argc++] = t->tipctl_bin;
	va_start(ap, first);
	while (a != NULL) {
		cr_assert(argc < MAX_ARGS - 1, "too many tipctl arguments");
		argv[argc++] = (char *)(uintptr_t)a;
		a = va_arg(ap, const char *);
	}
	va_end(ap);
	argv[argc] = NULL;
	return it_exec(t, home, in, argv, out, err);
}

void
it_submit_with_attachment(struct th *t, char report[37], char attachment[37])
{
	char preport[TH_PATH], pfile[TH_PATH], freport[TH_PATH + 32], ffile[TH_PATH + 8], url[128];
	snprintf(preport, sizeof(preport), "%s/report.json", t->dir);
	snprintf(pfile, sizeof(pfile), "%s/photo.jpg", t->dir);
	FILE *f = fopen(preport, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":%s}", IT_ANSWERS);
	fclose(f);
	f = fopen(pfile, "w");
	cr_assert_not_null(f);
	fputs("not really a photo", f);
	fclose(f);
	snprintf(freport, sizeof(freport), "report=<%s;type=application/json", preport);
	snprintf(ffile, sizeof(ffile), "file=@%s", pfile);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", t->source_port);
	char *args[] = { "-F", freport, "-F", ffile, url, NULL };
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(th_curl(t, args, &resp), 201, "submission answered: %s", buf_cstr(&resp));
	buf_free(&resp);
	cr_assert_eq(th_wait_reports(t, 1, 15000), 1, "the report never reached PostgreSQL");
	it_only_report(t, report);
	PGconn *c = th_db(t);
	PGresult *r = PQexec(c, "select id from attachments");
	cr_assert_eq(PQntuples(r), 1, "expected one attachment");
	snprintf(attachment, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

void
it_make_other_team(struct th *t, char *bob_identity, size_t n)
{
	char stmt[TH_PATH], line[512];
	struct buf out;
	snprintf(bob_identity, n, "%s/bob.age", t->dir);
	snprintf(stmt, sizeof(stmt), "%s/other-1.txt", t->dir);
	buf_init(&out, 1 << 16);
	char *init[] = { t->tipctl_bin, "init", "--identity", bob_identity, "--name", "bob",
		         "--passphrase-file", t->passfile, NULL };
	cr_assert_eq(th_run(init, NULL, 0, &out), 0);
	const char *p = strstr(buf_cstr(&out), "member:");
	cr_assert_not_null(p);
	p += strlen("member:");
	p += strspn(p, " ");
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
	char *sign[] = { t->tipctl_bin, "admin", "membership", "--key", t->admin_key,
		         "--passphrase-file", t->passfile, "--team", "other", "--first", "--member",
		         line, "--out", stmt, NULL };
	cr_assert_eq(th_run(sign, NULL, 0, NULL), 0);
	char *add[] = { t->tipd_bin, "-c", t->conf, "membership", "add", stmt, NULL };
	cr_assert_eq(th_run(add, NULL, 0, NULL), 0);
	buf_free(&out);
}

char *
it_b64(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	cr_assert_not_null(s);
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

char *
it_header_b64(const uint8_t *x25519_pk)
{
	uint8_t fk[AGE_FILE_KEY_LEN], pk[1][AGE_KEY_LEN];
	struct buf h;
	buf_init(&h, 4096);
	age_file_key_new(fk);
	memcpy(pk[0], x25519_pk, AGE_KEY_LEN);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pk, 1, &h), 0);
	sodium_memzero(fk, sizeof(fk));
	char *s = it_b64(h.data, h.len);
	buf_free(&h);
	return s;
}

char *
it_sealed_body(const char *report, const char *kind, const uint8_t *sk, const char *recipient,
               const uint8_t *x25519_pk)
{
	char id[37];
	uint8_t payload[1056], sig[64], h[32]; /* an age payload of the smallest padded text */
	char hex[65], msg[256];
	util_uuid(id);
	randombytes_buf(payload, sizeof(payload));
	randombytes_buf(sig, sizeof(sig));
	crypto_hash_sha256(h, payload, sizeof(payload));
	util_hex(h, sizeof(h), hex);
	int n = snprintf(msg, sizeof(msg), "tipline/v1/%s\n%s\n%s\n%s\n", kind, id, report, hex);
	cr_assert(n > 0 && (size_t)n < sizeof(msg));
	if (sk != NULL)
		cr_assert_eq(crypto_sign_detached(sig, NULL, (const uint8_t *)msg, (size_t)n, sk), 0);
	char *p = it_b64(payload, sizeof(payload)), *sg = it_b64(sig, sizeof(sig));
	char *hd = it_header_b64(x25519_pk);
	json_t *o = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:s}", "id", id, "payload", p, "headers",
	                      "recipient", recipient, "header", hd, "signature", sg);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(p);
	free(sg);
	free(hd);
	return s;
}

char *
it_headers_body(const char *object, const char *recipient, const uint8_t *x25519_pk)
{
	char *hd = it_header_b64(x25519_pk);
	json_t *o = json_pack("{s:[{s:s, s:s, s:s}]}", "headers", "object", object, "recipient",
	                      recipient, "header", hd);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(hd);
	return s;
}

/* One request on a fresh connection to 127.0.0.1:`port`, "Connection: close".
 * Return the HTTP status, 0 if no answer came (connection cut), or -1 if the
 * request could not be written whole. The body goes into `body` (NUL-ended).
 * Thread-safe; no Criterion assertions (they belong to the main thread). */
int
it_http_post(int port, const char *path, const char *json, char *body, size_t cap)
{
	char req[4096], resp[16384];
	size_t got = 0;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int n = snprintf(req, sizeof(req),
	                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                 path, strlen(json), json);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || n < 0 || (size_t)n >= sizeof(req))
		goto unsent;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    util_write_all(fd, req, (size_t)n) != 0)
		goto unsent;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	while (got + 1 < sizeof(resp) && poll(&pfd, 1, 10000) > 0) {
		ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	resp[got] = '\0';
	body[0] = '\0';
	if (got < 12 || memcmp(resp, "HTTP/1.1 ", 9) != 0)
		return 0;
	const char *b = strstr(resp, "\r\n\r\n");
	if (b != NULL)
		snprintf(body, cap, "%s", b + 4);
	return (int)strtol(resp + 9, NULL, 10);
unsent:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The receipt of a 201 answer, normalized to digits; 0, or -1 if none. */
int
it_receipt_of_body(const char *body, char *digits)
{
	json_error_t e;
	json_t *doc = json_loads(body, 0, &e);
	const char *r = json_string_value(json_object_get(doc, "receipt"));
	int rc = r != NULL && receipt_normalize(r, strlen(r), digits) == RECEIPT_OK ? 0 : -1;
	json_decref(doc);
	return rc;
}

void
it_tipctl_login(struct th *t, const char *home)
{
	char server[64], pin[65];
	struct buf out, err;
	buf_init(&out, 1 << 16);
	buf_init(&err, 1 << 16);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", t->review_port);
	th_tls_key_hex(t, pin);
	cr_assert_eq(it_tipctl(t, home, NULL, &out, &err, "login", "--server", server, "--pin", pin,
	                       "--origin", TH_REVIEW_ORIGIN, "--identity", t->identity,
	                       "--passphrase-file", t->passfile, "--admin-key", t->admin_pub, NULL),
	             0, "tipctl login: %s", buf_cstr(&err));
	buf_free(&out);
	buf_free(&err);
}

void
it_write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(fd >= 0, "%s", path);
	cr_assert_eq(util_write_all(fd, p, n), 0, "%s", path);
	close(fd);
}

void
it_assert_audit_nodes(struct th *t)
{
	long size = th_count(t, "select count(*) from audit_entries");
	long bad = th_count(t,
		"select count(*) from audit_nodes n, lateral (select "
		"case when n.level = 1 then (select leaf_sha256 from audit_entries where idx = 2 * n.idx) "
		"else (select hash from audit_nodes where level = n.level - 1 and idx = 2 * n.idx) end l, "
		"case when n.level = 1 then (select leaf_sha256 from audit_entries where idx = 2 * n.idx + 1) "
		"else (select hash from audit_nodes where level = n.level - 1 and idx = 2 * n.idx + 1) end r) c "
		"where c.l is null or c.r is null or n.hash <> sha256('\\x01'::bytea || c.l || c.r)");
	cr_assert_eq(bad, 0, "%ld stored subtree nodes are not the hash of their children", bad);
	long want = 0;
	for (int l = 1; l < 62; l++)
		want += size >> l;
	cr_assert_eq(th_count(t, "select count(*) from audit_nodes"), want, "%ld entries", size);
}
