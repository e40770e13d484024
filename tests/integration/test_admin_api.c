/*
 * Enrollment, the admin routes and history sync of the review API, against
 * the real tipd and PostgreSQL (docs/api.md, "Enrollment and administration"):
 * the admin logs in with a pinned key; `tipd invite --admin` prints an invite
 * that an admin enrolls with (single use, expiry, proof of possession over
 * this server's origin and TLS key); an admin invites an investigator, who
 * enrolls and is approved with a signed statement, which tipd seals to at
 * once (no restart); stale, foreign and unpinned statements are refused;
 * revocation deletes headers and sessions at once; a statement added with
 * `tipd membership add` is picked up by the watcher; labels; history sync
 * (missing headers, header upload). Every refusal is checked to change
 * nothing in the database.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "identity.h"
#include "invite.h"
#include "it_common.h"
#include "membership.h"
#include "note.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
	/* The watcher polls fast; a checkpoint after every entry. */
	snprintf(T.extra_conf, sizeof(T.extra_conf),
	         "[tipd]\nmembership_poll_ms = 200\n[audit]\ncheckpoint_entries = 1\n");
	th_write_conf(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(admin_api, .init = setup, .fini = teardown, .timeout = 240);

/* ---- helpers ---- */

/* Call the API; parse a JSON answer into *doc (NULL if not JSON) unless doc is NULL. */
static int
call(const char *method, const char *path, const char *token, const char *body, json_t **doc)
{
	struct buf resp;
	json_error_t e;
	buf_init(&resp, 1 << 26);
	int st = th_review(&T, method, path, token, body, &resp);
	if (doc != NULL)
		*doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
	buf_free(&resp);
	return st;
}

/* Write `n` bytes of a JSON object padded with spaces to a file; return
 * "@path" for curl's --data-binary (argv strings stop at 128 KiB). */
static const char *
big_body(size_t n)
{
	static char at[TH_PATH + 16];
	char *big = malloc(n);
	cr_assert_not_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	snprintf(at, sizeof(at), "@%s/big.json", T.dir);
	int fd = open(at + 1, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, big, n), 0);
	close(fd);
	free(big);
	return at;
}

/* Assert `method path` with `body` answers `want`; return nothing. */
static void
expect(int want, const char *method, const char *path, const char *token, const char *body,
       const char *why)
{
	json_t *doc = NULL;
	int st = call(method, path, token, body, &doc);
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	cr_assert_eq(st, want, "%s: %s %s answered %d, want %d: %s", why, method, path, st, want,
	             s != NULL ? s : "(not JSON)");
	if (want >= 400)
		cr_assert(doc != NULL && json_integer_value(json_object_get(doc, "status")) == want &&
		                  json_is_string(json_object_get(doc, "detail")),
		          "%s: the answer is not problem+json: %s", why, s != NULL ? s : "(not JSON)");
	free(s);
	json_decref(doc);
}

/* A string summarising the rows of `sql` (for "nothing changed" checks). */
static char *
snapshot(const char *sql)
{
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, sql);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	struct buf b;
	buf_init(&b, 1 << 24);
	for (int i = 0; i < PQntuples(r); i++) {
		for (int j = 0; j < PQnfields(r); j++)
			cr_assert_eq(buf_printf(&b, "%s|", PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j)),
			             0);
		cr_assert_eq(buf_adds(&b, "\n"), 0);
	}
	char *s = strdup(buf_cstr(&b) != NULL ? buf_cstr(&b) : "");
	buf_free(&b);
	PQclear(r);
	PQfinish(c);
	return s;
}

/* Everything a refused admin request must leave alone. */
#define STATE_SQL                                                                              \
	"select 'i', id::text, encode(secret_sha256, 'hex'), role, name, teams::text, used_at::text " \
	"from invites union all select 'e', invite_id::text, name, status, recipient, teams::text, " \
	"'' from enrollments union all select 'm', team_id, seq::text, encode(sha256, 'hex'), '', " \
	"'', '' from membership_statements union all select 'h', object_id::text, recipient, "       \
	"encode(sha256(header), 'hex'), '', '', '' from object_headers union all select 'l', name, " \
	"'', '', '', '', '' from labels union all select 's', encode(token_sha256, 'hex'), "          \
	"encode(ed25519, 'hex'), '', '', '', '' from sessions order by 1, 2, 3"

static char *
state(void)
{
	return snapshot(STATE_SQL);
}

static void
assert_unchanged(const char *before, const char *why)
{
	char *after = state();
	cr_assert_str_eq(after, before, "%s changed the database", why);
	free(after);
}

static void
db_exec(const char *sql)
{
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, sql);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* Submit a report to demo and wait until PostgreSQL holds `total`. */
static void
submit(long total)
{
	struct buf resp;
	buf_init(&resp, 1 << 16);
	cr_assert_eq(it_post_json(&T, 0, "{\"team\":\"demo\",\"language\":\"en\",\"answers\":"
	                                 IT_ANSWERS "}", &resp), 201, "%s", buf_cstr(&resp));
	buf_free(&resp);
	cr_assert_eq(th_wait_reports(&T, total, 10000), total, "the report never reached PostgreSQL");
}

static long count_for(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* th_count of the query `fmt`, formatted. */
static long
count_for(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && (size_t)n < sizeof(sql));
	return th_count(&T, sql);
}

/* A newcomer: fresh keys, a plaintext age identity file for `age -d`. */
struct person {
	struct identity *id;
	char name[32];
	char key_file[TH_PATH];
	char line[512];
};

static void
person_new(struct person *p, const char *name)
{
	char sk[AGE_IDENTITY_STR_MAX], text[256];
	struct buf line;
	memset(p, 0, sizeof(*p));
	p->id = identity_generate();
	cr_assert_not_null(p->id);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->key_file, sizeof(p->key_file), "%s/%s.key", T.dir, name);
	cr_assert_eq(age_identity_encode(identity_x25519_sk(p->id), sk, sizeof(sk)), 0);
	snprintf(text, sizeof(text), "%s\n", sk);
	int fd = open(p->key_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, text, strlen(text)), 0);
	close(fd);
	sodium_memzero(sk, sizeof(sk));
	buf_init(&line, 512);
	cr_assert_eq(identity_member_line(p->id, name, &line), 0);
	snprintf(p->line, sizeof(p->line), "%s", buf_cstr(&line));
	buf_free(&line);
}

static void
person_free(struct person *p)
{
	identity_free(p->id);
	p->id = NULL;
}

/* The latest statement of `team` in the database: its seq and hash. */
static uint64_t
head_of(const char *team, uint8_t hash[32])
{
	PGconn *c = th_db(&T);
	const char *v[1] = { team };
	PGresult *r = PQexecParams(c, "select seq, statement from membership_statements where "
	                              "team_id = $1 order by seq desc limit 1", 1, NULL, v, NULL,
	                           NULL, 0);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "no head for %s", team);
	uint64_t seq = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	crypto_hash_sha256(hash, (const uint8_t *)PQgetvalue(r, 0, 1),
	                   (unsigned long long)PQgetlength(r, 0, 1));
	PQclear(r);
	PQfinish(c);
	return seq;
}

/* Sign a statement for `team` at `seq` after `prev` (NULL: first) listing the
 * member lines `lines` with signer `s`; append the note to `out`. */
static void
sign_lines(const struct note_signer *s, const char *team, uint64_t seq, const uint8_t *prev,
           const char *const *lines, size_t n, struct buf *out)
{
	struct membership_member ms[8];
	struct buf text;
	cr_assert(n <= 8);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(membership_member_parse(lines[i], strlen(lines[i]), &ms[i]), 0, "%s",
		             lines[i]);
	buf_init(&text, NOTE_MAX_LEN);
	cr_assert_eq(membership_build_text(team, seq, prev, ms, n, &text), 0);
	cr_assert_eq(note_sign(s, (const char *)text.data, text.len, out), 0);
	buf_free(&text);
}

/* Sign the next statement of demo (after the database's head) with the admin key. */
static void
sign_next(const char *const *lines, size_t n, struct buf *out)
{
	uint8_t sk[64], prev[32];
	struct note_signer *s = it_admin_signer(&T, sk);
	uint64_t seq = head_of("demo", prev);
	sign_lines(s, "demo", seq + 1, prev, lines, n, out);
	note_signer_free(s);
	sodium_memzero(sk, sizeof(sk));
}

/* The JSON body {"statement": note[, "enrollment": id]}; caller frees. */
static char *
statement_body(const struct buf *note, const char *enrollment)
{
	json_t *o = json_pack("{s:s%}", "statement", (const char *)note->data, note->len);
	if (enrollment != NULL)
		json_object_set_new(o, "enrollment", json_string(enrollment));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	cr_assert_not_null(s);
	return s;
}

/* POST a statement to /api/v1/admin/teams/`team`/membership; return status and answer. */
static int
post_statement(const char *token, const char *team, const struct buf *note, const char *enrollment,
               json_t **doc)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/admin/teams/%s/membership", team);
	char *body = statement_body(note, enrollment);
	int st = call("POST", path, token, body, doc);
	free(body);
	return st;
}

/* The enrollment proof of possession, signed with `sk` for `origin`. */
static void
enroll_body(const char *origin, const char *invite, const char *secret, const char *name,
            const char *recipient, const uint8_t sk[64], struct buf *out)
{
	char pin[65], pk64[64], sig64[128];
	uint8_t sig[64];
	struct buf msg;
	th_tls_key_hex(&T, pin);
	sodium_bin2base64(pk64, sizeof(pk64), sk + 32, 32, sodium_base64_VARIANT_ORIGINAL);
	buf_init(&msg, 4096);
	cr_assert_eq(invite_enroll_message(origin, pin, invite, name, recipient, pk64, &msg), 0);
	cr_assert_eq(crypto_sign_detached(sig, NULL, msg.data, msg.len, sk), 0);
	sodium_bin2base64(sig64, sizeof(sig64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	buf_free(&msg);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "invite", invite, "secret", secret, "ed25519",
	                      pk64, "signature", sig64);
	if (recipient != NULL)
		json_object_set_new(o, "recipient", json_string(recipient));
	char *s = json_dumps(o, JSON_COMPACT);
	cr_assert_eq(buf_adds(out, s), 0);
	free(s);
	json_decref(o);
}

/* Run `tipd invite --admin` and decode what it prints. */
static void
operator_invite(struct invite *iv)
{
	struct buf out;
	buf_init(&out, 1 << 16);
	char *argv[] = { T.tipd_bin, "-c", T.conf, "invite", "--admin", "--name", "root-admin", NULL };
	cr_assert_eq(th_run(argv, NULL, 0, &out), 0, "tipd invite --admin failed");
	const char *text = buf_cstr(&out);
	cr_assert(text != NULL && strncmp(text, INVITE_PREFIX, strlen(INVITE_PREFIX)) == 0,
	          "tipd invite printed no invite on stdout: %s", text != NULL ? text : "");
	cr_assert_eq(invite_decode(text, strlen(text), iv), 0, "invite_decode refused: %s", text);
	buf_free(&out);
}

/* Create an investigator invite for `name` in demo; fill id and secret. */
static void
admin_invite(const char *token, const char *name, char id[37], char secret[64])
{
	char body[256];
	json_t *doc = NULL;
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"teams\":[\"demo\"]}", name);
	cr_assert_eq(call("POST", "/api/v1/admin/invites", token, body, &doc), 201);
	snprintf(id, 37, "%s", json_string_value(json_object_get(doc, "id")));
	snprintf(secret, 64, "%s", json_string_value(json_object_get(doc, "secret")));
	json_decref(doc);
}

/* Enroll `p` with invite id/secret; assert 201. */
static void
enroll(struct person *p, const char *id, const char *secret)
{
	struct buf body;
	buf_init(&body, 8192);
	enroll_body(TH_REVIEW_ORIGIN, id, secret, p->name, identity_recipient(p->id),
	            identity_ed25519_sk(p->id), &body);
	expect(201, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "enroll");
	buf_free(&body);
}

/* Decrypt `header` (raw) + `payload` (raw) with the identity file `key`; 0 on success. */
static int
age_open(const char *key, const uint8_t *header, size_t hl, const uint8_t *payload, size_t pl,
         struct buf *pt)
{
	char path[TH_PATH + 16];
	snprintf(path, sizeof(path), "%s/open.age", T.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, header, hl), 0);
	cr_assert_eq(util_write_all(fd, payload, pl), 0);
	close(fd);
	char *argv[] = { "age", "-d", "-i", (char *)(uintptr_t)key, path, NULL };
	return th_run(argv, NULL, 0, pt);
}

/* Decode a base64 member of `o` into a new buffer. */
static uint8_t *
b64_member(json_t *o, const char *key, size_t *n)
{
	const char *s = json_string_value(json_object_get(o, key));
	cr_assert_not_null(s, "no %s", key);
	uint8_t *out = malloc(strlen(s) + 1);
	cr_assert_eq(sodium_base642bin(out, strlen(s) + 1, s, strlen(s), NULL, n, NULL,
	                               sodium_base64_VARIANT_ORIGINAL), 0);
	return out;
}

/* Fetch report `id` as `token` and decrypt it with `key`; assert its context line. */
static void
fetch_and_open(const char *token, const char *id, const char *key)
{
	json_t *doc = NULL;
	char path[128], line[128];
	struct buf pt;
	size_t hl, pl;
	snprintf(path, sizeof(path), "/api/v1/reports/%s", id);
	cr_assert_eq(call("GET", path, token, NULL, &doc), 200, "the newcomer cannot fetch %s", id);
	uint8_t *h = b64_member(doc, "header", &hl), *p = b64_member(doc, "payload", &pl);
	buf_init(&pt, 1 << 24);
	cr_assert_eq(age_open(key, h, hl, p, pl, &pt), 0, "age -d cannot open %s for the newcomer", id);
	int n = snprintf(line, sizeof(line), "tipline/v1 report %s %s\n", id, id);
	cr_assert(pt.len > (size_t)n && memcmp(pt.data, line, (size_t)n) == 0);
	buf_free(&pt);
	free(h);
	free(p);
	json_decref(doc);
}

/* The id of the report that has no header for `recipient` among the ones
 * present (or any report when all have); used after each submission. */
static void
report_without(const char *recipient, int has, char id[37])
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "select r.id from reports r where %s exists (select 1 from object_headers h "
	         "where h.object_id = r.id and h.recipient = '%s')",
	         has ? "" : "not", recipient);
	PGconn *c = th_db(&T);
	PGresult *r = PQexec(c, sql);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1, "%s", sql);
	snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

/* ---- login and the operator's admin invite ---- */

Test(admin_api, admin_logs_in_with_a_pinned_key_and_sees_no_report)
{
	char token[64];
	th_start(&T);
	submit(1);
	uint8_t sk[64];
	note_signer_free(it_admin_signer(&T, sk));
	char nonce[64], pin[65];
	struct buf body;
	buf_init(&body, 4096);
	th_review_nonce(&T, nonce);
	th_tls_key_hex(&T, pin);
	th_login_body(sk, sk + 32, TH_REVIEW_ORIGIN, pin, nonce, (long long)time(NULL), &body);
	json_t *doc = NULL;
	cr_assert_eq(call("POST", "/api/v1/login", NULL, buf_cstr(&body), &doc), 200);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "role")), "admin");
	cr_assert_eq(json_array_size(json_object_get(doc, "teams")), 0, "the admin is in no team");
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(doc, "token")));
	json_decref(doc);
	buf_free(&body);
	/* An admin who is in no team sees no report. */
	cr_assert_eq(call("GET", "/api/v1/reports", token, NULL, &doc), 200);
	cr_assert_eq(json_array_size(json_object_get(doc, "reports")), 0, "the admin sees reports");
	json_decref(doc);
	/* A member logs in as a member, and the admin routes refuse them. */
	char mt[64];
	cr_assert_eq(th_review_login(&T, T.identity, mt), 200);
	expect(403, "GET", "/api/v1/admin/enrollments", mt, NULL, "member on an admin route");
	expect(401, "GET", "/api/v1/admin/enrollments", NULL, NULL, "no session");
	expect(200, "GET", "/api/v1/admin/enrollments", token, NULL, "admin");
	sodium_memzero(sk, sizeof(sk));
}

Test(admin_api, operator_invite_pins_the_server_and_enrolls_a_pinned_admin_once)
{
	struct invite iv;
	char pin[65], sql[256];
	uint8_t sk[64];
	th_start(&T);
	operator_invite(&iv);
	th_tls_key_hex(&T, pin);
	cr_assert_str_eq(iv.pin, pin, "the invite pins another TLS key");
	cr_assert_str_eq(iv.origin, TH_REVIEW_ORIGIN);
	cr_assert_str_eq(iv.server, TH_REVIEW_ORIGIN, "default --server is the review origin");
	cr_assert_eq(iv.n_admin_keys, 1);
	cr_assert_str_eq(iv.admin_keys[0], T.admin_pub, "the invite carries another admin key");
	struct note_verifier *av = note_verifier_parse(iv.audit_key, strlen(iv.audit_key));
	cr_assert_not_null(av, "the audit key is not a verifier key: %s", iv.audit_key);
	note_verifier_free(av);
	cr_assert_str_eq(iv.role, "admin");
	cr_assert_str_eq(iv.name, "root-admin");
	long long left = (long long)iv.expires_at - (long long)time(NULL);
	cr_assert(left > 24 * 3600 - 60 && left <= 24 * 3600, "expires in %lld s, not 24 h", left);
	/* Only the secret's hash is stored. */
	uint8_t secret[32], sha[32];
	size_t sl;
	char hex[65];
	cr_assert_eq(sodium_base642bin(secret, 32, iv.secret, strlen(iv.secret), NULL, &sl, NULL,
	                               sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	crypto_hash_sha256(sha, secret, 32);
	util_hex(sha, 32, hex);
	snprintf(sql, sizeof(sql), "select count(*) from invites where id = '%s' and role = 'admin' "
	                           "and secret_sha256 = '\\x%s' and used_at is null", iv.id, hex);
	cr_assert_eq(th_count(&T, sql), 1);

	struct note_signer *s = it_admin_signer(&T, sk);
	note_signer_free(s);
	struct buf body;
	buf_init(&body, 8192);
	char *before = state();

	/* A wrong secret: 401. */
	enroll_body(TH_REVIEW_ORIGIN, iv.id, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", iv.name,
	            NULL, sk, &body);
	expect(401, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "wrong secret");
	assert_unchanged(before, "a wrong secret");
	/* An unknown invite: 401. */
	buf_reset(&body);
	enroll_body(TH_REVIEW_ORIGIN, "3f0e1c2a-0000-4000-8000-000000000001", iv.secret, iv.name, NULL,
	            sk, &body);
	expect(401, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "unknown invite");
	/* A proof of possession over another origin: 401. */
	buf_reset(&body);
	enroll_body("https://evil.example", iv.id, iv.secret, iv.name, NULL, sk, &body);
	expect(401, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "PoP over another origin");
	/* Signed by another key than the one it claims: 401. */
	{
		uint8_t osk[64], opk[32];
		crypto_sign_keypair(opk, osk);
		memcpy(osk + 32, sk + 32, 32); /* claims the admin key, signs with another seed */
		buf_reset(&body);
		enroll_body(TH_REVIEW_ORIGIN, iv.id, iv.secret, iv.name, NULL, osk, &body);
		expect(401, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "PoP by the wrong key");
	}
	/* A valid PoP by a key that is not pinned: 403, the invite stays usable. */
	{
		uint8_t rsk[64], rpk[32];
		crypto_sign_keypair(rpk, rsk);
		buf_reset(&body);
		enroll_body(TH_REVIEW_ORIGIN, iv.id, iv.secret, iv.name, NULL, rsk, &body);
		expect(403, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "unpinned admin key");
	}
	assert_unchanged(before, "the refused enrollments");
	free(before);

	/* The pinned admin key enrolls. */
	buf_reset(&body);
	enroll_body(TH_REVIEW_ORIGIN, iv.id, iv.secret, iv.name, NULL, sk, &body);
	json_t *doc = NULL;
	cr_assert_eq(call("POST", "/api/v1/enroll", NULL, buf_cstr(&body), &doc), 201);
	char fp[17];
	membership_fingerprint(sk + 32, fp);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "role")), "admin");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "fingerprint")), fp);
	json_decref(doc);
	snprintf(sql, sizeof(sql), "select count(*) from invites where id = '%s' and used_at is not null",
	         iv.id);
	cr_assert_eq(th_count(&T, sql), 1, "the invite is not marked used");
	cr_assert_eq(th_count(&T, "select count(*) from enrollments"), 0,
	             "an admin enrollment waits for no approval");
	/* Single use. */
	before = state();
	expect(410, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "second use");
	assert_unchanged(before, "a second use");
	free(before);

	/* An expired invite: 410. */
	struct invite iv2;
	operator_invite(&iv2);
	snprintf(sql, sizeof(sql), "update invites set expires_at = %lld where id = '%s'",
	         (long long)time(NULL) - 1, iv2.id);
	db_exec(sql);
	buf_reset(&body);
	enroll_body(TH_REVIEW_ORIGIN, iv2.id, iv2.secret, iv2.name, NULL, sk, &body);
	before = state();
	expect(410, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "expired invite");
	assert_unchanged(before, "an expired invite");
	free(before);
	buf_free(&body);
	sodium_memzero(sk, sizeof(sk));
}

Test(admin_api, enroll_refuses_bad_bodies)
{
	struct invite iv;
	uint8_t sk[64];
	th_start(&T);
	operator_invite(&iv);
	note_signer_free(it_admin_signer(&T, sk));
	struct buf good;
	buf_init(&good, 8192);
	enroll_body(TH_REVIEW_ORIGIN, iv.id, iv.secret, iv.name, NULL, sk, &good);
	char *before = state();
	const char *bad[] = {
		"{\"invite\":", "[]", "\"x\"", "{}",
		"{\"invite\":\"not-a-uuid\",\"secret\":\"x\",\"ed25519\":\"x\",\"signature\":\"x\"}",
		"{\"invite\":1,\"secret\":\"x\",\"ed25519\":\"x\",\"signature\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(400, "POST", "/api/v1/enroll", NULL, bad[i], bad[i]);
	/* The good body with an unknown key, a wrong type, a bad recipient. */
	json_error_t e;
	json_t *o = json_loads(buf_cstr(&good), 0, &e);
	json_object_set_new(o, "extra", json_true());
	char *s = json_dumps(o, JSON_COMPACT);
	expect(400, "POST", "/api/v1/enroll", NULL, s, "unknown key");
	free(s);
	json_object_del(o, "extra");
	json_object_set_new(o, "recipient", json_integer(5));
	s = json_dumps(o, JSON_COMPACT);
	expect(400, "POST", "/api/v1/enroll", NULL, s, "recipient of the wrong type");
	free(s);
	json_object_set_new(o, "recipient", json_string("age1notarecipient"));
	s = json_dumps(o, JSON_COMPACT);
	expect(400, "POST", "/api/v1/enroll", NULL, s, "bad recipient");
	free(s);
	json_decref(o);
	/* Over 4 KiB. */
	expect(413, "POST", "/api/v1/enroll", NULL, big_body(4097), "oversized body");
	assert_unchanged(before, "bad enrollment bodies");
	free(before);
	/* And the invite still works. */
	expect(201, "POST", "/api/v1/enroll", NULL, buf_cstr(&good), "good body after bad ones");
	buf_free(&good);
	sodium_memzero(sk, sizeof(sk));
}

/* ---- investigator enrollment, approval, revocation ---- */

Test(admin_api, invite_bad_bodies_are_refused_and_change_nothing)
{
	char token[64];
	th_start(&T);
	it_admin_login(&T, token);
	char *before = state();
	expect(400, "POST", "/api/v1/admin/invites", token, "{\"name\":", "malformed JSON");
	expect(400, "POST", "/api/v1/admin/invites", token, "[1]", "not an object");
	const char *bad[] = {
		"{\"name\":\"carol\",\"teams\":[\"demo\"],\"extra\":1}",
		"{\"name\":\"carol\"}",
		"{\"name\":\"carol\",\"teams\":[]}",
		"{\"name\":\"carol\",\"teams\":\"demo\"}",
		"{\"name\":\"carol\",\"teams\":[\"Demo!\"]}",
		"{\"name\":\"carol\",\"teams\":[\"demo\",\"demo\"]}",
		"{\"name\":\"car ol\",\"teams\":[\"demo\"]}",
		"{\"name\":5,\"teams\":[\"demo\"]}",
		"{\"teams\":[\"demo\"]}",
		"{\"name\":\"carol\",\"teams\":[\"demo\"],\"ttl_hours\":0}",
		"{\"name\":\"carol\",\"teams\":[\"demo\"],\"ttl_hours\":721}",
		"{\"name\":\"carol\",\"teams\":[\"demo\"],\"ttl_hours\":\"24\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(422, "POST", "/api/v1/admin/invites", token, bad[i], bad[i]);
	expect(413, "POST", "/api/v1/admin/invites", token, big_body(4097), "oversized body");
	assert_unchanged(before, "bad invite bodies");
	free(before);
	json_t *doc = NULL;
	cr_assert_eq(call("POST", "/api/v1/admin/invites", token,
	                  "{\"name\":\"carol\",\"teams\":[\"demo\"],\"ttl_hours\":2}", &doc), 201);
	long long left = json_integer_value(json_object_get(doc, "expires_at")) - (long long)time(NULL);
	cr_assert(left > 7200 - 60 && left <= 7200, "ttl_hours ignored: %lld s", left);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "role")), "investigator");
	json_decref(doc);
	uint8_t sk[64];
	char hex[65], sql[256];
	note_signer_free(it_admin_signer(&T, sk));
	util_hex(sk + 32, 32, hex);
	snprintf(sql, sizeof(sql), "select count(*) from invites where role = 'investigator' and "
	                           "name = 'carol' and teams = '{demo}' and created_by = '\\x%s'", hex);
	cr_assert_eq(th_count(&T, sql), 1);
}

Test(admin_api, investigator_enrolls_is_approved_and_sealed_to_at_once)
{
	char token[64], id[37], secret[64], rid[37], ctok[64], sql[512];
	struct person carol;
	th_start(&T);
	it_admin_login(&T, token);
	submit(1); /* a report from before carol */
	person_new(&carol, "carol");
	admin_invite(token, "carol", id, secret);

	/* An investigator must enroll with a recipient. */
	struct buf body;
	buf_init(&body, 8192);
	enroll_body(TH_REVIEW_ORIGIN, id, secret, "carol", NULL, identity_ed25519_sk(carol.id), &body);
	char *before = state();
	expect(422, "POST", "/api/v1/enroll", NULL, buf_cstr(&body), "investigator without recipient");
	assert_unchanged(before, "an enrollment without recipient");
	free(before);
	buf_free(&body);
	enroll(&carol, id, secret);

	/* Pending, with the right fingerprint. */
	char fp[17];
	membership_fingerprint(identity_ed25519_pk(carol.id), fp);
	json_t *doc = NULL;
	cr_assert_eq(call("GET", "/api/v1/admin/enrollments", token, NULL, &doc), 200);
	json_t *list = json_object_get(doc, "enrollments");
	cr_assert_eq(json_array_size(list), 1);
	json_t *en = json_array_get(list, 0);
	cr_assert_str_eq(json_string_value(json_object_get(en, "id")), id);
	cr_assert_str_eq(json_string_value(json_object_get(en, "name")), "carol");
	cr_assert_str_eq(json_string_value(json_object_get(en, "fingerprint")), fp);
	cr_assert_str_eq(json_string_value(json_object_get(en, "recipient")),
	                 identity_recipient(carol.id));
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(en, "teams"), 0)), "demo");
	json_decref(doc);
	/* Not a member yet: carol cannot log in. */
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(carol.id), ctok), 401);

	/* The admin signs the next statement and uploads it with the enrollment. */
	struct buf note;
	buf_init(&note, NOTE_MAX_LEN);
	const char *both[] = { T.member_line, carol.line };
	sign_next(both, 2, &note);
	cr_assert_eq(post_statement(token, "demo", &note, id, &doc), 201);
	cr_assert_eq(json_integer_value(json_object_get(doc, "seq")), 2);
	cr_assert_eq(json_integer_value(json_object_get(doc, "members")), 2);
	cr_assert_eq(json_array_size(json_object_get(doc, "removed")), 0);
	cr_assert(json_is_true(json_object_get(doc, "enrollment_approved")));
	json_decref(doc);
	cr_assert_eq(count_for("select count(*) from enrollments where invite_id = '%s' and "
	                       "status = 'approved'", id), 1);
	cr_assert_eq(call("GET", "/api/v1/admin/enrollments", token, NULL, &doc), 200);
	cr_assert_eq(json_array_size(json_object_get(doc, "enrollments")), 0);
	json_decref(doc);

	/* Without a restart: carol logs in, a new report is sealed to her and opens. */
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(carol.id), ctok), 200, "carol cannot log in");
	submit(2);
	report_without(identity_recipient(carol.id), 1, rid);
	cr_assert_eq(count_for("select count(*) from object_headers where object_id = '%s'", rid), 2,
	             "the new report is not sealed to both members");
	fetch_and_open(ctok, rid, carol.key_file);
	char old[37];
	report_without(identity_recipient(carol.id), 0, old);
	snprintf(sql, sizeof(sql), "/api/v1/reports/%s", old);
	expect(404, "GET", sql, ctok, NULL, "an older report before history sync");

	/* Stale and replayed statements: 409; unpinned signer and another team: 422. */
	before = state();
	cr_assert_eq(post_statement(token, "demo", &note, NULL, NULL), 409, "replayed statement");
	{
		size_t len;
		char path[TH_PATH + 32];
		snprintf(path, sizeof(path), "%s/membership-1.txt", T.dir);
		char *first = util_read_file(path, 1 << 16, &len);
		struct buf f;
		buf_init(&f, 1 << 16);
		cr_assert_eq(buf_add(&f, first, len), 0);
		cr_assert_eq(post_statement(token, "demo", &f, NULL, NULL), 409, "statement 1 again");
		buf_free(&f);
		free(first);
	}
	{
		struct buf sk, vk, rogue;
		uint8_t prev[32];
		buf_init_secure(&sk, 1024);
		buf_init(&vk, 1024);
		buf_init(&rogue, NOTE_MAX_LEN);
		cr_assert_eq(note_keygen("rogue-admin", &sk, &vk), 0);
		struct note_signer *rs = note_signer_parse((const char *)sk.data, sk.len);
		cr_assert_not_null(rs);
		uint64_t seq = head_of("demo", prev);
		const char *one[] = { T.member_line };
		sign_lines(rs, "demo", seq + 1, prev, one, 1, &rogue);
		cr_assert_eq(post_statement(token, "demo", &rogue, NULL, NULL), 422, "unpinned signer");
		/* A first statement for team "other", sent to demo's path. */
		uint8_t ask[64];
		struct note_signer *as = it_admin_signer(&T, ask);
		buf_reset(&rogue);
		sign_lines(as, "other", 1, NULL, one, 1, &rogue);
		cr_assert_eq(post_statement(token, "demo", &rogue, NULL, NULL), 422, "another team");
		note_signer_free(as);
		note_signer_free(rs);
		buf_free(&sk);
		buf_free(&vk);
		buf_free(&rogue);
		sodium_memzero(ask, sizeof(ask));
	}
	assert_unchanged(before, "refused statements");
	free(before);

	buf_free(&note);
	person_free(&carol);
}

Test(admin_api, revocation_deletes_headers_and_sessions_at_once)
{
	char token[64], ctok[64], atok[64];
	struct person carol;
	th_start(&T);
	it_admin_login(&T, token);
	person_new(&carol, "carol");
	struct buf note;
	buf_init(&note, NOTE_MAX_LEN);
	const char *both[] = { T.member_line, carol.line };
	sign_next(both, 2, &note);
	cr_assert_eq(post_statement(token, "demo", &note, NULL, NULL), 201);
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(carol.id), ctok), 200);
	cr_assert_eq(th_review_login(&T, T.identity, atok), 200);
	submit(1);
	const char *cr = identity_recipient(carol.id);
	cr_assert_eq(count_for("select count(*) from object_headers where recipient = '%s'", cr), 1);
	char pkhex[65];
	util_hex(identity_ed25519_pk(carol.id), 32, pkhex);
	cr_assert_eq(count_for("select count(*) from sessions where ed25519 = '\\x%s'", pkhex), 1);

	/* A statement without carol. */
	buf_reset(&note);
	const char *alice_only[] = { T.member_line };
	sign_next(alice_only, 1, &note);
	json_t *doc = NULL;
	int rst = post_statement(token, "demo", &note, NULL, &doc);
	char *dump = json_dumps(doc, JSON_COMPACT);
	cr_assert_eq(rst, 201, "revocation answered %d: %s", rst, dump != NULL ? dump : "");
	free(dump);
	cr_assert_eq(json_integer_value(json_object_get(doc, "seq")), 3);
	cr_assert_eq(json_array_size(json_object_get(doc, "removed")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(doc, "removed"), 0)),
	                 "carol");
	json_decref(doc);
	cr_assert_eq(count_for("select count(*) from object_headers where recipient = '%s'", cr), 0,
	             "carol's headers are still there");
	cr_assert_eq(count_for("select count(*) from sessions where ed25519 = '\\x%s'", pkhex), 0,
	             "carol's session is still stored");
	expect(401, "GET", "/api/v1/reports", ctok, NULL, "carol's session after revocation");
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(carol.id), ctok), 401,
	             "carol logs in after revocation");
	/* Alice's session is untouched, and new reports are sealed to her only. */
	expect(200, "GET", "/api/v1/reports", atok, NULL, "alice after carol's revocation");
	submit(2);
	cr_assert_eq(count_for("select count(*) from object_headers where recipient = '%s'", cr), 0,
	             "a new report is sealed to carol");
	cr_assert_eq(th_count(&T, "select count(*) from object_headers"), 2);
	buf_free(&note);
	person_free(&carol);
}

/* As the superuser, make every audit append of `action` fail (or, with
 * NULL, remove that trigger again): a test-only stand-in for a crash or a
 * dropped connection between an action and its audit entry. */
static void
audit_refuse(const char *action)
{
	char sql[1024];
	if (action == NULL) {
		db_exec("drop trigger if exists test_refuse_audit on audit_entries");
		return;
	}
	snprintf(sql, sizeof(sql),
	         "create or replace function test_refuse_audit() returns trigger language plpgsql "
	         "as $$ begin if position(' %s ' in convert_from(new.entry, 'UTF8')) > 0 then "
	         "raise exception 'test: audit append refused'; end if; return new; end $$", action);
	db_exec(sql);
	db_exec("drop trigger if exists test_refuse_audit on audit_entries");
	db_exec("create trigger test_refuse_audit before insert on audit_entries for each row "
	        "execute function test_refuse_audit()");
}

Test(admin_api, a_membership_change_commits_with_its_audit_entries_or_not_at_all)
{
	char token[64], id[37], secret[64], ctok[64], pkhex[65];
	uint8_t h[32];
	struct person carol;
	th_start(&T);
	it_admin_login(&T, token);
	person_new(&carol, "carol");
	admin_invite(token, "carol", id, secret);
	enroll(&carol, id, secret);
	util_hex(identity_ed25519_pk(carol.id), 32, pkhex);
	crypto_hash_sha256(h, identity_ed25519_pk(carol.id), 32);
	char subj[65];
	util_hex(h, 32, subj);

	/* Approval: the enroll_approve entry cannot be written, so nothing happens. */
	struct buf note;
	buf_init(&note, NOTE_MAX_LEN);
	const char *both[] = { T.member_line, carol.line };
	sign_next(both, 2, &note);
	audit_refuse("enroll_approve");
	uint8_t prev[32];
	cr_assert_neq(post_statement(token, "demo", &note, id, NULL), 201);
	cr_assert_eq(head_of("demo", prev), 1, "the statement committed without its audit entry");
	cr_assert_eq(count_for("select count(*) from enrollments where invite_id = '%s' and "
	                       "status = 'pending'", id), 1, "the enrollment was approved unaudited");
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(carol.id), ctok), 401,
	             "carol is a member without an audit entry");
	/* Once the log takes entries again, the same upload goes through, audited. */
	audit_refuse(NULL);
	cr_assert_eq(post_statement(token, "demo", &note, id, NULL), 201);
	cr_assert_eq(count_for("select count(*) from audit_entries where convert_from(entry, 'UTF8') "
	                       "like '%% enroll_approve %% demo %s %s'", id, subj), 1);
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(carol.id), ctok), 200);

	/* Revocation: the member_revoke entry cannot be written, so carol stays. */
	buf_reset(&note);
	const char *alice_only[] = { T.member_line };
	sign_next(alice_only, 1, &note);
	audit_refuse("member_revoke");
	cr_assert_neq(post_statement(token, "demo", &note, NULL, NULL), 201);
	cr_assert_eq(head_of("demo", prev), 2, "the revocation committed without its audit entry");
	cr_assert_eq(count_for("select count(*) from sessions where ed25519 = '\\x%s'", pkhex), 1,
	             "carol's session was deleted without an audit entry");
	audit_refuse(NULL);
	long approvals = th_count(&T, "select count(*) from audit_entries where "
	                              "convert_from(entry, 'UTF8') like '% enroll_approve %'");
	cr_assert_eq(post_statement(token, "demo", &note, NULL, NULL), 201);
	cr_assert_eq(count_for("select count(*) from audit_entries where convert_from(entry, 'UTF8') "
	                       "like '%% member_revoke %% demo - %s'", subj), 1);
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries where "
	                          "convert_from(entry, 'UTF8') like '% enroll_approve %'"),
	             approvals, "a revocation was audited as an approval too");
	cr_assert_eq(count_for("select count(*) from sessions where ed25519 = '\\x%s'", pkhex), 0);
	buf_free(&note);
	person_free(&carol);
}

Test(admin_api, statement_upload_refuses_bad_bodies_and_unknown_enrollments)
{
	char token[64];
	struct person dave;
	th_start(&T);
	it_admin_login(&T, token);
	person_new(&dave, "dave");
	struct buf note;
	buf_init(&note, NOTE_MAX_LEN);
	const char *both[] = { T.member_line, dave.line };
	sign_next(both, 2, &note);
	char *good = statement_body(&note, NULL);
	char *before = state();
	const char *p = "/api/v1/admin/teams/demo/membership";
	expect(400, "POST", p, token, "{\"statement\":", "malformed JSON");
	expect(400, "POST", p, token, "[]", "not an object");
	expect(400, "POST", p, token, "{}", "no statement");
	expect(400, "POST", p, token, "{\"statement\":5}", "statement of the wrong type");
	json_error_t e;
	json_t *o = json_loads(good, 0, &e);
	json_object_set_new(o, "extra", json_true());
	char *s = json_dumps(o, JSON_COMPACT);
	expect(400, "POST", p, token, s, "unknown key");
	free(s);
	json_object_del(o, "extra");
	json_object_set_new(o, "enrollment", json_string("not-a-uuid"));
	s = json_dumps(o, JSON_COMPACT);
	expect(400, "POST", p, token, s, "enrollment not a uuid");
	free(s);
	json_object_set_new(o, "enrollment", json_string("3f0e1c2a-0000-4000-8000-000000000001"));
	s = json_dumps(o, JSON_COMPACT);
	expect(404, "POST", p, token, s, "unknown enrollment");
	free(s);
	json_decref(o);
	expect(422, "POST", p, token, "{\"statement\":\"not a signed note\\n\"}", "not a note");
	expect(404, "POST", "/api/v1/admin/teams/Bad_Team/membership", token, good, "bad team id");
	expect(413, "POST", p, token, big_body(300 * 1024), "oversized body");
	assert_unchanged(before, "bad statement uploads");
	free(before);
	expect(201, "POST", p, token, good, "the good statement after the bad ones");
	free(good);
	buf_free(&note);
	person_free(&dave);
}

Test(admin_api, membership_added_on_the_side_is_picked_up_without_restart)
{
	struct person erin;
	char path[TH_PATH + 32], etok[64];
	th_start(&T);
	person_new(&erin, "erin");
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(erin.id), etok), 401);
	struct buf note;
	buf_init(&note, NOTE_MAX_LEN);
	const char *both[] = { T.member_line, erin.line };
	sign_next(both, 2, &note);
	snprintf(path, sizeof(path), "%s/membership-2.txt", T.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, note.data, note.len), 0);
	close(fd);
	char *add[] = { T.tipd_bin, "-c", T.conf, "membership", "add", path, NULL };
	cr_assert_eq(th_run(add, NULL, 0, NULL), 0, "tipd membership add failed");
	/* membership_poll_ms = 200: within a second erin logs in and is sealed to. */
	int st = 0;
	for (int i = 0; i < 20 && st != 200; i++) {
		usleep(100000);
		st = it_login_sk(&T, identity_ed25519_sk(erin.id), etok);
	}
	cr_assert_eq(st, 200, "the running tipd did not pick up the new statement");
	submit(1);
	cr_assert_eq(count_for("select count(*) from object_headers where recipient = '%s'",
	                       identity_recipient(erin.id)), 1, "the report is not sealed to erin");
	char rid[37];
	report_without(identity_recipient(erin.id), 1, rid);
	fetch_and_open(etok, rid, erin.key_file);
	buf_free(&note);
	person_free(&erin);
}

/* Write `note` to a new file `name` in the test directory and run `tipd membership add`. */
static void
membership_add_file(const struct buf *note, const char *name)
{
	char path[TH_PATH + 32];
	snprintf(path, sizeof(path), "%s/%s", T.dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, note->data, note->len), 0);
	close(fd);
	char *add[] = { T.tipd_bin, "-c", T.conf, "membership", "add", path, NULL };
	cr_assert_eq(th_run(add, NULL, 0, NULL), 0, "tipd membership add %s failed", name);
}

Test(admin_api, revocation_on_the_command_line_deletes_headers_and_sessions_too)
{
	struct person fay;
	char ftok[64], pkhex[65];
	th_start(&T);
	person_new(&fay, "fay");
	struct buf note;
	buf_init(&note, NOTE_MAX_LEN);
	const char *both[] = { T.member_line, fay.line };
	sign_next(both, 2, &note);
	membership_add_file(&note, "membership-2.txt");
	int st = 0;
	for (int i = 0; i < 20 && st != 200; i++) {
		usleep(100000);
		st = it_login_sk(&T, identity_ed25519_sk(fay.id), ftok);
	}
	cr_assert_eq(st, 200, "the running tipd did not pick up statement 2");
	submit(1);
	const char *fr = identity_recipient(fay.id);
	cr_assert_eq(count_for("select count(*) from object_headers where recipient = '%s'", fr), 1);
	util_hex(identity_ed25519_pk(fay.id), 32, pkhex);

	/* Statement 3 without fay, through the command line: the same effects as the API. */
	buf_reset(&note);
	const char *alice_only[] = { T.member_line };
	sign_next(alice_only, 1, &note);
	long audit_before = th_count(&T, "select count(*) from audit_entries");
	membership_add_file(&note, "membership-3.txt");
	cr_assert_eq(count_for("select count(*) from object_headers where recipient = '%s'", fr), 0,
	             "fay's headers are still there");
	cr_assert_eq(count_for("select count(*) from sessions where ed25519 = '\\x%s'", pkhex), 0,
	             "fay's session is still stored");
	expect(401, "GET", "/api/v1/reports", ftok, NULL, "fay's session after revocation");
	/* one entry, in its transaction: fay's removal (a revocation is not also an
	 * enroll_approve) */
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), audit_before + 1);
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries where convert_from(entry, 'UTF8') "
	                         "like '% member_revoke operator demo - %'"), 1);
	buf_free(&note);
	person_free(&fay);
}

/* ---- labels ---- */

Test(admin_api, labels_are_added_and_removed_by_admins_only)
{
	char token[64], mt[64];
	th_start(&T);
	it_admin_login(&T, token);
	cr_assert_eq(th_review_login(&T, T.identity, mt), 200);
	long n0 = th_count(&T, "select count(*) from labels");
	json_t *doc = NULL;
	cr_assert_eq(call("POST", "/api/v1/admin/labels", token, "{\"name\":\"trafficking.sea\"}", &doc),
	             201);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "name")), "trafficking.sea");
	json_decref(doc);
	cr_assert_eq(th_count(&T, "select count(*) from labels where name = 'trafficking.sea'"), 1);
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries where convert_from(entry, 'UTF8') "
	                         "like '% label_add % - - label:trafficking.sea'"),
	             1, "the entry does not name the label added");
	cr_assert_eq(call("GET", "/api/v1/labels", mt, NULL, &doc), 200);
	int seen = 0;
	for (size_t i = 0; i < json_array_size(json_object_get(doc, "labels")); i++)
		seen |= strcmp(json_string_value(json_array_get(json_object_get(doc, "labels"), i)),
		               "trafficking.sea") == 0;
	cr_assert(seen, "the new label is not in GET /api/v1/labels");
	json_decref(doc);

	char *before = state();
	long audited = th_count(&T, "select count(*) from audit_entries");
	expect(409, "POST", "/api/v1/admin/labels", token, "{\"name\":\"trafficking.sea\"}", "duplicate");
	const char *bad[] = {
		"{\"name\":\"Upper\"}", "{\"name\":\"\"}", "{\"name\":\"-dash-first\"}",
		"{\"name\":\"has space\"}", "{\"name\":5}", "{\"name\":\"ok\",\"extra\":1}", "{}",
		"{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(422, "POST", "/api/v1/admin/labels", token, bad[i], bad[i]);
	expect(400, "POST", "/api/v1/admin/labels", token, "{\"name\":", "malformed JSON");
	expect(403, "POST", "/api/v1/admin/labels", mt, "{\"name\":\"by-member\"}", "a member adds");
	expect(403, "DELETE", "/api/v1/admin/labels/trafficking.sea", mt, NULL, "a member deletes");
	expect(401, "DELETE", "/api/v1/admin/labels/trafficking.sea", NULL, NULL, "no session");
	expect(404, "DELETE", "/api/v1/admin/labels/never-was", token, NULL, "unknown label");
	expect(404, "DELETE", "/api/v1/admin/labels/Not_Valid", token, NULL, "invalid label name");
	assert_unchanged(before, "refused label changes");
	free(before);
	/* a change that did not happen is not in the audit log either */
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries"), audited,
	             "a refused label change was audited");

	expect(204, "DELETE", "/api/v1/admin/labels/trafficking.sea", token, NULL, "delete");
	cr_assert_eq(th_count(&T, "select count(*) from audit_entries where convert_from(entry, 'UTF8') "
	                         "like '% label_remove % - - label:trafficking.sea'"),
	             1, "the entry does not name the label removed");
	expect(404, "DELETE", "/api/v1/admin/labels/trafficking.sea", token, NULL, "delete twice");
	cr_assert_eq(th_count(&T, "select count(*) from labels"), n0);
}

/* ---- history sync ---- */

/* Make a header for `rcpt_pk` from alice's header `hdr` (raw). */
static void
rewrap(const uint8_t *hdr, size_t hl, const uint8_t *const *pks, size_t npk, struct buf *out)
{
	struct identity *alice = NULL;
	uint8_t fk[AGE_FILE_KEY_LEN], rk[AGE_MAX_STANZAS][AGE_KEY_LEN];
	size_t len = 0;
	cr_assert_eq(identity_load(T.identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &alice),
	             IDENTITY_OK);
	uint8_t sks[1][AGE_KEY_LEN];
	memcpy(sks[0], identity_x25519_sk(alice), AGE_KEY_LEN);
	struct age_unwrap_opts uo = { (const uint8_t(*)[AGE_KEY_LEN])sks, 1, NULL, 0, 0 };
	cr_assert_eq(age_header_unwrap(hdr, hl, &uo, fk, &len), AGE_OK, "alice cannot open her header");
	for (size_t i = 0; i < npk; i++)
		memcpy(rk[i], pks[i], AGE_KEY_LEN);
	cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])rk, npk, out), 0);
	sodium_memzero(fk, sizeof(fk));
	sodium_memzero(sks, sizeof(sks));
	identity_free(alice);
}

/* {"headers":[{"object","recipient","header"}]} for one header; caller frees. */
static char *
headers_body(const char *object, const char *recipient, const struct buf *hdr)
{
	size_t n = sodium_base64_ENCODED_LEN(hdr->len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(n);
	sodium_bin2base64(b64, n, hdr->data, hdr->len, sodium_base64_VARIANT_ORIGINAL);
	json_t *o = json_pack("{s:[{s:s, s:s, s:s}]}", "headers", "object", object, "recipient",
	                      recipient, "header", b64);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(b64);
	return s;
}

Test(admin_api, history_sync_adds_a_header_for_a_newcomer)
{
	char token[64], atok[64], ftok[64], rid[37], rid2[37], path[128];
	struct person frank, bob;
	th_start(&T);
	it_admin_login(&T, token);
	submit(1);
	report_without("nobody", 0, rid);
	person_new(&frank, "frank");
	person_new(&bob, "bob");
	struct buf note;
	buf_init(&note, NOTE_MAX_LEN);
	const char *both[] = { T.member_line, frank.line };
	sign_next(both, 2, &note);
	cr_assert_eq(post_statement(token, "demo", &note, NULL, NULL), 201);
	/* bob: the only member of team other. */
	{
		uint8_t ask[64];
		struct note_signer *as = it_admin_signer(&T, ask);
		const char *one[] = { bob.line };
		buf_reset(&note);
		sign_lines(as, "other", 1, NULL, one, 1, &note);
		cr_assert_eq(post_statement(token, "other", &note, NULL, NULL), 201);
		note_signer_free(as);
		sodium_memzero(ask, sizeof(ask));
	}
	/* A second report, sealed to both, whose objects are not rid's. */
	submit(2);
	report_without(identity_recipient(frank.id), 1, rid2);
	cr_assert_eq(th_review_login(&T, T.identity, atok), 200);
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(frank.id), ftok), 200);
	char btok[64];
	cr_assert_eq(it_login_sk(&T, identity_ed25519_sk(bob.id), btok), 200);

	/* Alice sees what frank lacks: the old report, with her own header. */
	json_t *doc = NULL;
	cr_assert_eq(call("GET", "/api/v1/teams/demo/missing-headers", atok, NULL, &doc), 200);
	json_t *objs = json_object_get(doc, "objects");
	cr_assert_eq(json_array_size(objs), 1, "expected one object missing a header");
	json_t *ob = json_array_get(objs, 0);
	cr_assert_str_eq(json_string_value(json_object_get(ob, "id")), rid);
	cr_assert_str_eq(json_string_value(json_object_get(ob, "report")), rid);
	cr_assert_str_eq(json_string_value(json_object_get(ob, "kind")), "report");
	cr_assert_eq(json_array_size(json_object_get(ob, "missing")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(ob, "missing"), 0)),
	                 identity_recipient(frank.id));
	size_t hl;
	uint8_t *ahdr = b64_member(ob, "header", &hl);
	json_decref(doc);
	/* Frank (no header on it) sees nothing to share; bob is not in demo; the admin neither. */
	cr_assert_eq(call("GET", "/api/v1/teams/demo/missing-headers", ftok, NULL, &doc), 200);
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 0);
	json_decref(doc);
	expect(404, "GET", "/api/v1/teams/demo/missing-headers", btok, NULL, "another team's member");
	expect(404, "GET", "/api/v1/teams/demo/missing-headers", token, NULL, "an admin in no team");
	expect(400, "GET", "/api/v1/teams/demo/missing-headers?after=x", atok, NULL, "bad cursor");
	expect(400, "GET", "/api/v1/teams/demo/missing-headers?bogus=5", atok, NULL, "unknown param");
	expect(400, "GET", "/api/v1/teams/demo/missing-headers?limit=0", atok, NULL, "limit 0");
	expect(400, "GET", "/api/v1/teams/demo/missing-headers?limit=1001", atok, NULL,
	       "limit over the page maximum");

	const uint8_t *fpk[1] = { identity_x25519_pk(frank.id) };
	struct buf good, two;
	buf_init(&good, 1 << 16);
	buf_init(&two, 1 << 16);
	rewrap(ahdr, hl, fpk, 1, &good);
	const uint8_t *two_pks[2] = { identity_x25519_pk(frank.id), identity_x25519_pk(bob.id) };
	rewrap(ahdr, hl, two_pks, 2, &two);
	snprintf(path, sizeof(path), "/api/v1/reports/%s/headers", rid);
	char *body = headers_body(rid, identity_recipient(frank.id), &good);

	char *before = state();
	/* Refusals, each changing nothing. */
	char *s = headers_body(rid, identity_recipient(bob.id), &good);
	expect(422, "POST", path, atok, s, "a recipient who is not a member of the team");
	free(s);
	s = headers_body(rid, identity_recipient(frank.id), &two);
	expect(422, "POST", path, atok, s, "a header with two stanzas");
	free(s);
	expect(404, "POST", path, btok, body, "upload by a member of another team");
	expect(404, "POST", path, token, body, "upload by an admin in no team");
	char other_path[128];
	snprintf(other_path, sizeof(other_path), "/api/v1/reports/%s/headers",
	         "3f0e1c2a-0000-4000-8000-000000000001");
	expect(404, "POST", other_path, atok, body, "unknown report");
	expect(400, "POST", path, atok, "{\"headers\":", "malformed JSON");
	expect(400, "POST", path, atok, "{\"headers\":[]}", "no header");
	expect(400, "POST", path, atok, "{\"headers\":{}}", "headers not an array");
	expect(400, "POST", path, atok, "{\"headers\":[],\"x\":1}", "unknown key");
	expect(422, "POST", path, atok, "{\"headers\":[{\"object\":5}]}", "entry of the wrong type");
	expect(422, "POST", path, atok, "{\"headers\":[1]}", "entry not an object");
	s = headers_body(rid, identity_recipient(frank.id), &good);
	{
		json_error_t e;
		json_t *o = json_loads(s, 0, &e);
		json_object_set_new(json_array_get(json_object_get(o, "headers"), 0), "extra",
		                    json_true());
		free(s);
		s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
	expect(422, "POST", path, atok, s, "entry with an unknown key");
	free(s);
	{
		struct buf junk;
		buf_init(&junk, 64);
		cr_assert_eq(buf_adds(&junk, "not an age header"), 0);
		s = headers_body(rid, identity_recipient(frank.id), &junk);
		expect(422, "POST", path, atok, s, "not an age header");
		free(s);
		buf_free(&junk);
	}
	expect(413, "POST", path, atok, big_body(200 * 1024), "oversized body");
	/* An object of another report, uploaded under rid: skipped, not stored. */
	s = headers_body(rid2, identity_recipient(frank.id), &good);
	cr_assert_eq(call("POST", path, atok, s, &doc), 200);
	cr_assert_eq(json_integer_value(json_object_get(doc, "added")), 0,
	             "a header for another report's object was stored");
	json_decref(doc);
	free(s);
	assert_unchanged(before, "refused header uploads");
	free(before);
	snprintf(other_path, sizeof(other_path), "/api/v1/reports/%s", rid);
	expect(404, "GET", other_path, ftok, NULL, "frank before the sync");

	/* The valid upload: stored, and frank opens the old report. */
	cr_assert_eq(call("POST", path, atok, body, &doc), 200);
	cr_assert_eq(json_integer_value(json_object_get(doc, "added")), 1);
	cr_assert_eq(json_integer_value(json_object_get(doc, "skipped")), 0);
	json_decref(doc);
	fetch_and_open(ftok, rid, frank.key_file);
	cr_assert_eq(call("GET", "/api/v1/teams/demo/missing-headers", atok, NULL, &doc), 200);
	cr_assert_eq(json_array_size(json_object_get(doc, "objects")), 0, "still listed as missing");
	json_decref(doc);
	/* The same upload again changes nothing. */
	before = state();
	cr_assert_eq(call("POST", path, atok, body, &doc), 200);
	cr_assert_eq(json_integer_value(json_object_get(doc, "added")), 0);
	json_decref(doc);
	assert_unchanged(before, "a repeated upload");
	free(before);
	free(body);
	free(ahdr);
	buf_free(&good);
	buf_free(&two);
	buf_free(&note);
	person_free(&frank);
	person_free(&bob);
}
