/*
 * Replies and notes (docs/api.md) against the real tipd and
 * PostgreSQL. Team "demo" holds alice and bob (statement 2); carol is only
 * in team "other". A report is submitted through the source API; its
 * receipt and the deployment's pepper give the source's key.
 *
 *  - the API: a good reply is stored with a header for each member and the
 *    source, a note without the source; GET shows them with the caller's
 *    header and the author's name; `age -d` opens the reply with alice's
 *    identity; the source's key opens the reply and not the note; every bad
 *    body gets a 4xx and stores nothing;
 *  - tipctl: login --admin-key, tips reply / tips note / tips show, and a
 *    refusal when the membership does not verify against the pinned key;
 *  - the source's reply key: tipd seals it inside the report; after someone
 *    who can write the database swaps inboxes.source_pk, `tipctl tips reply`
 *    refuses and stores nothing, and the inbox shows only genuine replies; a
 *    report sealed without the key is refused too (docs/threat-model.md §5);
 *  - the source's messages: tipd seals the receipt's signing key inside the
 *    report and signs every message; `tips show` shows a message as from
 *    the source only if that signature verifies, flags one a database writer
 *    sealed to the team, and calls messages of an older report unsigned;
 *  - the team of a reply or note is the one sealed inside the report: when
 *    the server names another team (a row altered by the database owner),
 *    `tips reply`, `tips note` and `tips show` refuse and nothing is stored.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "age.h"
#include "identity.h"
#include "it_common.h"
#include "note.h"
#include "pad.h"
#include "receipt.h"
#include "util.h"

static struct th T;
static char bob_id[TH_PATH + 16], carol_id[TH_PATH + 16];
static char bob_rcpt[128], carol_line[512];
static char rid[37];
static char receipt[64];

/* `tipctl init` a new identity; return its member line in `line`. */
static void
make_identity(const char *path, const char *name, char *line, size_t n)
{
	struct buf out;
	buf_init(&out, 1 << 16);
	char *init[] = { T.tipctl_bin, "init", "--identity", (char *)(uintptr_t)path, "--name",
		         (char *)(uintptr_t)name, "--passphrase-file", T.passfile, NULL };
	cr_assert_eq(th_run(init, NULL, 0, &out), 0);
	const char *p = strstr(buf_cstr(&out), "member:");
	cr_assert_not_null(p);
	p += strlen("member:");
	p += strspn(p, " ");
	snprintf(line, n, "%.*s", (int)strcspn(p, "\n"), p);
	buf_free(&out);
}

/* Sign a statement for `team` and load it with `tipd membership add`. */
static void
add_statement(const char *team, const char *prev, const char *out, const char *m1, const char *m2)
{
	char *sign[24];
	int n = 0;
	sign[n++] = T.tipctl_bin;
	sign[n++] = "admin";
	sign[n++] = "membership";
	sign[n++] = "--key";
	sign[n++] = T.admin_key;
	sign[n++] = "--passphrase-file";
	sign[n++] = T.passfile;
	sign[n++] = "--team";
	sign[n++] = (char *)(uintptr_t)team;
	if (prev == NULL) {
		sign[n++] = "--first";
	} else {
		sign[n++] = "--prev";
		sign[n++] = (char *)(uintptr_t)prev;
	}
	sign[n++] = "--member";
	sign[n++] = (char *)(uintptr_t)m1;
	if (m2 != NULL) {
		sign[n++] = "--member";
		sign[n++] = (char *)(uintptr_t)m2;
	}
	sign[n++] = "--out";
	sign[n++] = (char *)(uintptr_t)out;
	sign[n] = NULL;
	cr_assert_eq(th_run(sign, NULL, 0, NULL), 0, "admin membership %s", team);
	char *add[] = { T.tipd_bin, "-c", T.conf, "membership", "add", (char *)(uintptr_t)out, NULL };
	cr_assert_eq(th_run(add, NULL, 0, NULL), 0, "membership add %s", out);
}

static void
setup(void)
{
	char bob_line[512], prev[TH_PATH + 32], s2[TH_PATH + 32], so[TH_PATH + 32];
	struct buf resp;
	th_setup(&T);
	snprintf(bob_id, sizeof(bob_id), "%s/bob.age", T.dir);
	snprintf(carol_id, sizeof(carol_id), "%s/carol.age", T.dir);
	make_identity(bob_id, "bob", bob_line, sizeof(bob_line));
	make_identity(carol_id, "carol", carol_line, sizeof(carol_line));
	sscanf(bob_line, "%*s %127s", bob_rcpt);
	snprintf(prev, sizeof(prev), "%s/membership-1.txt", T.dir);
	snprintf(s2, sizeof(s2), "%s/membership-2.txt", T.dir);
	snprintf(so, sizeof(so), "%s/other-1.txt", T.dir);
	add_statement("demo", prev, s2, T.member_line, bob_line);
	add_statement("other", NULL, so, carol_line, NULL);
	th_start(&T);
	buf_init(&resp, 1 << 16);
	cr_assert_eq(it_post_json(&T, 0,
	                          "{\"team\":\"demo\",\"language\":\"en\",\"answers\":" IT_ANSWERS "}",
	                          &resp),
	             201, "%s", buf_cstr(&resp));
	json_error_t e;
	json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
	snprintf(receipt, sizeof(receipt), "%s", json_string_value(json_object_get(doc, "receipt")));
	json_decref(doc);
	buf_free(&resp);
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	it_only_report(&T, rid);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(replies, .init = setup, .fini = teardown, .timeout = 240);

/* ---- helpers ---- */

static struct identity *
load_id(const char *path)
{
	struct identity *id = NULL;
	cr_assert_eq(identity_load(path, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &id), IDENTITY_OK);
	return id;
}

/* The source's key pair, derived from the receipt and the pepper. */
static void
source_key(uint8_t pk[32], uint8_t sk[32], char rcpt[128])
{
	char pp[TH_PATH + 16], digits[RECEIPT_DIGITS];
	snprintf(pp, sizeof(pp), "%s/pepper", T.dir);
	struct receipt_pepper *p = receipt_pepper_load(pp);
	cr_assert_not_null(p);
	cr_assert_eq(receipt_normalize(receipt, strlen(receipt), digits), RECEIPT_OK);
	cr_assert_eq(receipt_source_key(p, digits, pk, sk), 0);
	cr_assert_eq(age_recipient_encode(pk, rcpt, 128), 0);
	receipt_pepper_free(p);
}

enum { F_BADSIG = 1, F_TWO = 2, F_SCRYPT = 4, F_EMPTY_PAYLOAD = 8 };

/* Seal `text` as `kind` `oid` of report `rid` to `rc` (n recipients), sign with `sk`
 * (64 bytes), and return the request body (free()). */
static char *
make_body(const char *kind, const char *oid, const char *text, char rc[][128], size_t n,
          const uint8_t *sk, int flags)
{
	uint8_t fk[AGE_FILE_KEY_LEN], h[32], sig[64];
	char hex[65];
	struct buf pt, payload, msg;
	buf_init(&pt, 1 << 21);
	buf_init(&payload, 1 << 22);
	buf_init(&msg, 4096);
	cr_assert_eq(buf_printf(&pt, "tipline/v1 %s %s %s\n{\"text\":\"%s\",\"from\":\"alice\","
	                        "\"sent_on\":\"2026-01-01\"}", kind, oid, rid, text), 0);
	cr_assert_eq(pad_text(&pt), 0);
	age_file_key_new(fk);
	struct age_enc *e = age_enc_new(fk);
	cr_assert_not_null(e);
	if (!(flags & F_EMPTY_PAYLOAD)) /* else: an age payload of no plaintext at all */
		cr_assert_eq(age_enc_update(e, pt.data, pt.len, &payload), 0);
	cr_assert_eq(age_enc_final(e, &payload), 0);
	age_enc_free(e);
	json_t *hdrs = json_array();
	for (size_t i = 0; i < n; i++) {
		uint8_t pks[2][AGE_KEY_LEN];
		struct buf hb;
		buf_init(&hb, AGE_MAX_HEADER);
		cr_assert_eq(age_recipient_decode(rc[i], pks[0]), 0);
		randombytes_buf(pks[1], sizeof(pks[1]));
		if (i == 0 && (flags & F_SCRYPT))
			cr_assert_eq(age_header_scrypt(fk, "pw", 2, 10, &hb), 0);
		else
			cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pks,
			                               i == 0 && (flags & F_TWO) ? 2 : 1, &hb),
			             0);
		char *b = malloc(hb.len * 2 + 8);
		sodium_bin2base64(b, hb.len * 2 + 8, hb.data, hb.len, sodium_base64_VARIANT_ORIGINAL);
		json_array_append_new(hdrs, json_pack("{s:s, s:s}", "recipient", rc[i], "header", b));
		free(b);
		buf_free(&hb);
	}
	crypto_hash_sha256(h, payload.data, payload.len);
	util_hex(h, 32, hex);
	cr_assert_eq(buf_printf(&msg, "tipline/v1/%s\n%s\n%s\n%s\n", kind, oid, rid, hex), 0);
	crypto_sign_detached(sig, NULL, msg.data, msg.len, sk);
	if (flags & F_BADSIG)
		sig[5] ^= 1;
	char *p64 = malloc(payload.len * 2 + 8), s64[100];
	sodium_bin2base64(p64, payload.len * 2 + 8, payload.data, payload.len,
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(s64, sizeof(s64), sig, 64, sodium_base64_VARIANT_ORIGINAL);
	json_t *doc = json_pack("{s:s, s:s, s:o, s:s}", "id", oid, "payload", p64, "headers", hdrs,
	                        "signature", s64);
	char *out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	free(p64);
	buf_free(&pt);
	buf_free(&payload);
	buf_free(&msg);
	return out;
}

static void
new_uuid(char out[37])
{
	util_uuid(out);
}

/* POST `body` (through a file: it may be larger than an argument) to `what`. */
static int
post(const char *token, const char *what, const char *body, struct buf *resp)
{
	char path[TH_PATH + 32], arg[TH_PATH + 40], url[128];
	snprintf(path, sizeof(path), "%s/body.json", T.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, body, strlen(body)), 0);
	close(fd);
	snprintf(arg, sizeof(arg), "@%s", path);
	snprintf(url, sizeof(url), "/api/v1/reports/%s/%s", rid, what);
	buf_reset(resp);
	return th_review(&T, "POST", url, token, arg, resp);
}

static long
stored(void)
{
	return th_count(&T, "select (select count(*) from replies) + (select count(*) from notes) "
	                    "+ (select count(*) from object_headers)");
}

/* Decrypt `header`+`payload` (base64) with X25519 key `sk`; return the age result. */
static int
open_with(const char *h64, const char *p64, const uint8_t sk[32], struct buf *out)
{
	struct buf file;
	size_t n = 0;
	buf_init(&file, 1 << 22);
	cr_assert_eq(buf_reserve(&file, strlen(h64) + strlen(p64)), 0);
	cr_assert_eq(sodium_base642bin(file.data, file.cap, h64, strlen(h64), NULL, &n, NULL,
	                               sodium_base64_VARIANT_ORIGINAL), 0);
	file.len = n;
	cr_assert_eq(sodium_base642bin(file.data + file.len, file.cap - file.len, p64, strlen(p64),
	                               NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	file.len += n;
	uint8_t k[1][AGE_KEY_LEN];
	memcpy(k[0], sk, AGE_KEY_LEN);
	struct age_unwrap_opts o = { .sks = (const uint8_t(*)[AGE_KEY_LEN])k, .nsks = 1 };
	int rc = age_decrypt(file.data, file.len, &o, out);
	sodium_memzero(k, sizeof(k));
	buf_free(&file);
	return rc;
}

/* Fetch the object's headers from PostgreSQL for `rcpt` with the payload, base64. */
static int
db_header(const char *table, const char *oid, const char *rcpt, char **h64, char **p64)
{
	PGconn *c = th_db(&T);
	char sql[512];
	snprintf(sql, sizeof(sql), "select translate(encode(h.header, 'base64'), E'\\n', ''), "
	         "translate(encode(o.payload, 'base64'), E'\\n', '') from %s o join object_headers h "
	         "on h.object_id = o.id where o.id = $1::uuid and h.recipient = $2", table);
	const char *v[2] = { oid, rcpt };
	PGresult *res = PQexecParams(c, sql, 2, NULL, v, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	int n = PQntuples(res);
	if (n == 1) {
		*h64 = strdup(PQgetvalue(res, 0, 0));
		*p64 = strdup(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	PQfinish(c);
	return n;
}

/* ---- the API ---- */

Test(replies, api_stores_good_objects_and_refuses_bad_ones)
{
	char token[64], btoken[64], ctoken[64], oid[37], nid[37], path[160];
	char rc[4][128], src[128];
	uint8_t spk[32], ssk[32];
	struct buf resp, pt;
	buf_init(&resp, 1 << 22);
	buf_init_secure(&pt, 1 << 22);
	struct identity *alice = load_id(T.identity), *bob = load_id(bob_id);
	cr_assert_eq(th_review_login(&T, T.identity, token), 200);
	cr_assert_eq(th_review_login(&T, bob_id, btoken), 200);
	cr_assert_eq(th_review_login(&T, carol_id, ctoken), 200);
	source_key(spk, ssk, src);
	snprintf(rc[0], 128, "%s", T.recipient);
	snprintf(rc[1], 128, "%s", bob_rcpt);
	snprintf(rc[2], 128, "%s", src);
	const uint8_t *ask = identity_ed25519_sk(alice);

	/* The report shows the source's recipient, and no replies yet. */
	snprintf(path, sizeof(path), "/api/v1/reports/%s", rid);
	buf_reset(&resp);
	cr_assert_eq(th_review(&T, "GET", path, token, NULL, &resp), 200);
	json_error_t e;
	json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "source_recipient")), src);
	cr_assert_eq(json_array_size(json_object_get(doc, "replies")), 0);
	cr_assert(json_is_array(json_object_get(doc, "messages")));
	json_decref(doc);

	/* Bad bodies: 4xx, nothing stored. */
	long before = stored();
	struct { const char *what; int flags; size_t n; int rcset; const char *why; int want; } bad[] = {
		{ "replies", F_BADSIG, 3, 0, "signature does not verify", 422 },
		{ "replies", 0, 3, 0, "signature does not verify", 422 }, /* signed by bob, posted by alice */
		{ "replies", 0, 2, 1, "one header for each member", 422 }, /* bob's header missing */
		{ "replies", 0, 4, 2, "one header for each member", 422 }, /* an extra recipient */
		{ "replies", F_TWO, 3, 0, "exactly one X25519 stanza", 422 },
		{ "replies", F_SCRYPT, 3, 0, "exactly one X25519 stanza", 422 },
		{ "notes", 0, 3, 0, "none for the source", 422 },          /* a note to the source */
		{ "replies", 0, 2, 0, "one for the source", 422 },         /* a reply without the source */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char r2[4][128];
		memcpy(r2, rc, sizeof(r2));
		if (bad[i].rcset == 1)
			snprintf(r2[1], 128, "%s", src);
		if (bad[i].rcset == 2) {
			uint8_t x[32];
			randombytes_buf(x, 32);
			cr_assert_eq(age_recipient_encode(x, r2[3], 128), 0);
		}
		new_uuid(oid);
		const uint8_t *sk = i == 1 ? identity_ed25519_sk(bob) : ask;
		char *body = make_body(bad[i].what[0] == 'r' ? "reply" : "note", oid, "hello", r2,
		                       bad[i].n, sk, bad[i].flags);
		int st = post(token, bad[i].what, body, &resp);
		cr_assert_eq(st, bad[i].want, "case %zu: %d %s", i, st, buf_cstr(&resp));
		cr_assert(strstr(buf_cstr(&resp), bad[i].why) != NULL, "case %zu: %s", i,
		          buf_cstr(&resp));
		free(body);
	}
	/* Malformed JSON, a wrong id, a missing field. */
	cr_assert_eq(post(token, "replies", "{\"id\":", &resp), 400);
	cr_assert_eq(post(token, "replies", "[1,2]", &resp), 400);
	cr_assert_eq(post(token, "replies", "{\"id\":\"x\",\"payload\":\"\",\"headers\":[],"
	                                    "\"signature\":\"\"}", &resp), 400);
	/* Oversized payload: 1 MiB + 1. */
	{
		static char big[(1 << 20) * 2];
		uint8_t *raw = calloc(1, (1 << 20) + 1);
		char b64[4 * ((1 << 20) / 3 + 2) + 8];
		sodium_bin2base64(b64, sizeof(b64), raw, (1 << 20) + 1, sodium_base64_VARIANT_ORIGINAL);
		new_uuid(oid);
		snprintf(big, sizeof(big), "{\"id\":\"%s\",\"payload\":\"%s\",\"headers\":[],"
		         "\"signature\":\"\"}", oid, b64);
		cr_assert_eq(post(token, "replies", big, &resp), 413, "%s", buf_cstr(&resp));
		free(raw);
	}
	/* A non-member of the report's team: 404. */
	new_uuid(oid);
	char *body = make_body("reply", oid, "hello", rc, 3, ask, 0);
	cr_assert_eq(post(ctoken, "replies", body, &resp), 404, "%s", buf_cstr(&resp));
	/* No token: 401. */
	cr_assert_eq(post(NULL, "replies", body, &resp), 401);
	cr_assert_eq(stored(), before, "a refused request stored something");

	/* A good reply: one header per member and the source. */
	cr_assert_eq(post(token, "replies", body, &resp), 201, "%s", buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), oid) != NULL);
	free(body);
	char sql[256];
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where object_id = '%s'", oid);
	cr_assert_eq(th_count(&T, sql), 3);
	cr_assert_eq(th_count(&T, "select count(*) from replies where sent_on = current_date"), 1);
	/* Reused id: 409, as a reply or as a note. */
	body = make_body("reply", oid, "again", rc, 3, ask, 0);
	cr_assert_eq(post(token, "replies", body, &resp), 409, "%s", buf_cstr(&resp));
	free(body);
	body = make_body("note", oid, "again", rc, 2, ask, 0);
	cr_assert_eq(post(token, "notes", body, &resp), 409, "%s", buf_cstr(&resp));
	free(body);
	/* A report id as the object id: 409. */
	body = make_body("note", rid, "again", rc, 2, ask, 0);
	cr_assert_eq(post(token, "notes", body, &resp), 409, "%s", buf_cstr(&resp));
	free(body);

	/* A good note: members only. */
	new_uuid(nid);
	body = make_body("note", nid, "internal", rc, 2, identity_ed25519_sk(bob), 0);
	cr_assert_eq(post(btoken, "notes", body, &resp), 201, "%s", buf_cstr(&resp));
	free(body);
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where object_id = '%s'", nid);
	cr_assert_eq(th_count(&T, sql), 2);

	/* GET: each with the caller's header and the author's name. */
	buf_reset(&resp);
	cr_assert_eq(th_review(&T, "GET", path, token, NULL, &resp), 200);
	doc = json_loads(buf_cstr(&resp), 0, &e);
	json_t *reply = json_array_get(json_object_get(doc, "replies"), 0);
	json_t *note = json_array_get(json_object_get(doc, "notes"), 0);
	cr_assert_not_null(reply, "%s", buf_cstr(&resp));
	cr_assert_not_null(note, "%s", buf_cstr(&resp));
	cr_assert_str_eq(json_string_value(json_object_get(reply, "id")), oid);
	cr_assert_str_eq(json_string_value(json_object_get(reply, "author")), "alice");
	cr_assert_str_eq(json_string_value(json_object_get(note, "author")), "bob");
	buf_reset(&pt);
	cr_assert_eq(open_with(json_string_value(json_object_get(reply, "header")),
	                       json_string_value(json_object_get(reply, "payload")),
	                       identity_x25519_sk(alice), &pt), AGE_OK);
	char ctx[128];
	snprintf(ctx, sizeof(ctx), "tipline/v1 reply %s %s\n{\"text\":\"hello\"", oid, rid);
	cr_assert(pt.len > strlen(ctx) && memcmp(pt.data, ctx, strlen(ctx)) == 0);
	buf_reset(&pt);
	cr_assert_eq(open_with(json_string_value(json_object_get(note, "header")),
	                       json_string_value(json_object_get(note, "payload")),
	                       identity_x25519_sk(alice), &pt), AGE_OK);
	json_decref(doc);

	/* `age -d` with alice's identity opens the stored reply. */
	char *h64 = NULL, *p64 = NULL;
	cr_assert_eq(db_header("replies", oid, T.recipient, &h64, &p64), 1);
	{
		char f[TH_PATH + 16];
		struct buf file, out;
		size_t n = 0;
		buf_init(&file, 1 << 22);
		buf_init(&out, 1 << 22);
		cr_assert_eq(buf_reserve(&file, strlen(h64) + strlen(p64)), 0);
		cr_assert_eq(sodium_base642bin(file.data, file.cap, h64, strlen(h64), NULL, &n, NULL,
		                               sodium_base64_VARIANT_ORIGINAL), 0);
		file.len = n;
		cr_assert_eq(sodium_base642bin(file.data + n, file.cap - n, p64, strlen(p64), NULL, &n,
		                               NULL, sodium_base64_VARIANT_ORIGINAL), 0);
		file.len += n;
		snprintf(f, sizeof(f), "%s/reply.age", T.dir);
		int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		cr_assert_eq(util_write_all(fd, file.data, file.len), 0);
		close(fd);
		char *age[] = { "age", "-d", "-i", T.identity_plain, f, NULL };
		cr_assert_eq(th_run(age, NULL, 0, &out), 0);
		cr_assert(strstr(buf_cstr(&out), "\"text\":\"hello\"") != NULL);
		buf_free(&file);
		buf_free(&out);
	}
	free(h64);
	free(p64);
	/* The source's key opens the reply, and there is no header of the note for it. */
	cr_assert_eq(db_header("replies", oid, src, &h64, &p64), 1);
	buf_reset(&pt);
	cr_assert_eq(open_with(h64, p64, ssk, &pt), AGE_OK);
	cr_assert(memcmp(pt.data, ctx, strlen(ctx)) == 0);
	free(h64);
	free(p64);
	cr_assert_eq(db_header("notes", nid, src, &h64, &p64), 0);
	cr_assert_eq(db_header("notes", nid, T.recipient, &h64, &p64), 1);
	buf_reset(&pt);
	cr_assert_eq(open_with(h64, p64, ssk, &pt), AGE_ERR_NO_MATCH);
	free(h64);
	free(p64);

	/* The membership chain: demo's two statements for alice, 404 for carol. */
	buf_reset(&resp);
	cr_assert_eq(th_review(&T, "GET", "/api/v1/teams/demo/membership", token, NULL, &resp), 200);
	doc = json_loads(buf_cstr(&resp), 0, &e);
	cr_assert_eq(json_array_size(json_object_get(doc, "statements")), 2, "%s", buf_cstr(&resp));
	json_decref(doc);
	cr_assert_eq(th_review(&T, "GET", "/api/v1/teams/demo/membership", ctoken, NULL, &resp), 404);
	cr_assert_eq(th_review(&T, "GET", "/api/v1/teams/BAD/membership", token, NULL, &resp), 404);
	identity_free(alice);
	identity_free(bob);
	sodium_memzero(ssk, sizeof(ssk));
	buf_free(&resp);
	buf_free(&pt);
}

/* ---- tipctl ---- */

static struct buf out, err;

/* Run $TIPCTL with stdin from file `in` (NULL: /dev/null); stdout/stderr into out/err. */
#define tipctl(in, ...) it_tipctl(&T, NULL, (in), &out, &err, __VA_ARGS__)

static void
write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, s, strlen(s)), 0);
	close(fd);
}

static int
tipctl_login(const char *admin_key)
{
	char server[64], pin[65];
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", T.review_port);
	th_tls_key_hex(&T, pin);
	if (admin_key == NULL)
		return tipctl(NULL, "login", "--server", server, "--pin", pin, "--origin",
		              TH_REVIEW_ORIGIN, "--identity", T.identity, "--passphrase-file",
		              T.passfile, NULL);
	return tipctl(NULL, "login", "--server", server, "--pin", pin, "--origin", TH_REVIEW_ORIGIN,
	              "--identity", T.identity, "--passphrase-file", T.passfile, "--admin-key",
	              admin_key, NULL);
}

/* The id of the only row of `table`. */
static void
only_id(const char *table, char id[37])
{
	PGconn *c = th_db(&T);
	char sql[128];
	snprintf(sql, sizeof(sql), "select id::text from %s", table);
	PGresult *res = PQexec(c, sql);
	cr_assert_eq(PQntuples(res), 1);
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
}

Test(replies, tipctl_reply_note_and_a_wrong_admin_key)
{
	char home[TH_PATH + 16], txt[TH_PATH + 16], wkey[TH_PATH + 16], oid[37], nid[37], sql[160];
	char src[128], *h64 = NULL, *p64 = NULL;
	uint8_t spk[32], ssk[32];
	struct buf pt;
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	buf_init_secure(&pt, 1 << 22);
	snprintf(home, sizeof(home), "%s/home", T.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	snprintf(txt, sizeof(txt), "%s/reply.txt", T.dir);
	write_text(txt, "We received your report. Are you safe? \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85\n");

	/* Without a pinned admin key: refused, nothing sent. */
	cr_assert_eq(tipctl_login(NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl(NULL, "tips", "reply", rid, "--file", txt, "--yes", "--identity",
	                    T.identity, "--passphrase-file", T.passfile, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "log in again with --admin-key") != NULL, "%s",
	          buf_cstr(&err));

	/* A wrong admin key pinned: the chain does not verify; nothing sent. */
	snprintf(wkey, sizeof(wkey), "%s/other-admin.key", T.dir);
	char *keygen[] = { T.tipctl_bin, "admin", "keygen", "--name", "test-admin", "--out", wkey,
		           "--passphrase-file", T.passfile, NULL };
	struct buf kout;
	buf_init(&kout, 1 << 16);
	cr_assert_eq(th_run(keygen, NULL, 0, &kout), 0);
	const char *p = strstr(buf_cstr(&kout), "test-admin+");
	cr_assert_not_null(p);
	char wpub[256];
	snprintf(wpub, sizeof(wpub), "%.*s", (int)strcspn(p, " \n\r\t"), p);
	cr_assert_str_neq(wpub, T.admin_pub);
	/* login already shows the team's membership: it does not verify, so it says so */
	cr_assert_eq(tipctl_login(wpub), 1, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "team demo: its membership cannot be trusted") != NULL, "%s",
	          buf_cstr(&err));
	cr_assert_eq(tipctl(NULL, "tips", "reply", rid, "--file", txt, "--yes", "--identity",
	                    T.identity, "--passphrase-file", T.passfile, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "the team's membership statement does not verify against "
	                                 "your pinned admin keys") != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 0);
	/* A malformed admin key is a usage error. */
	cr_assert_eq(tipctl_login("not-a-key"), 2);

	/* The right key: the reply goes to alice, bob and the source. */
	cr_assert_eq(tipctl_login(T.admin_pub), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl(NULL, "tips", "reply", rid, "--file", txt, "--yes", "--identity",
	                    T.identity, "--passphrase-file", T.passfile, NULL), 0, "%s",
	             buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "Whoever holds this report's receipt will read this reply.")
	          != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "and the source") != NULL, "%s", buf_cstr(&out));
	only_id("replies", oid);
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where object_id = '%s'", oid);
	cr_assert_eq(th_count(&T, sql), 3);
	source_key(spk, ssk, src);
	cr_assert_eq(db_header("replies", oid, src, &h64, &p64), 1);
	cr_assert_eq(open_with(h64, p64, ssk, &pt), AGE_OK);
	char ctx[128];
	snprintf(ctx, sizeof(ctx), "tipline/v1 reply %s %s\n", oid, rid);
	cr_assert(memcmp(pt.data, ctx, strlen(ctx)) == 0);
	static const char from[] = "\"from\":\"alice\"";
	static const char said[] = "Are you safe? \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85\"";
	cr_assert(memmem(pt.data, pt.len, from, strlen(from)) != NULL);
	cr_assert(memmem(pt.data, pt.len, said, strlen(said)) != NULL);
	cr_assert_eq(pt.len, pad_text_bucket(pt.len));
	free(h64);
	free(p64);

	/* A note from standard input: the team only. */
	snprintf(txt, sizeof(txt), "%s/note.txt", T.dir);
	write_text(txt, "Called the shelter; waiting.");
	cr_assert_eq(tipctl(txt, "tips", "note", rid, "--stdin", "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "receipt") == NULL, "%s", buf_cstr(&err));
	only_id("notes", nid);
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where object_id = '%s'", nid);
	cr_assert_eq(th_count(&T, sql), 2);
	cr_assert_eq(db_header("notes", nid, src, &h64, &p64), 0);
	/* show prints both, decrypted, with their checked authors. */
	cr_assert_eq(tipctl(NULL, "tips", "show", rid, "--identity", T.identity, "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	char line[160];
	snprintf(line, sizeof(line), "Reply %s, ", oid);
	const char *o = buf_cstr(&out);
	cr_assert(strstr(o, line) != NULL && strstr(o, ", by alice\n") != NULL, "%s", o);
	cr_assert(strstr(o, "  We received your report. Are you safe?") != NULL, "%s", o);
	snprintf(line, sizeof(line), "Note %s, ", nid);
	cr_assert(strstr(o, line) != NULL, "%s", o);
	cr_assert(strstr(o, "  Called the shelter; waiting.\n") != NULL, "%s", o);
	/* A reply whose stored signature was tampered with is not shown as genuine. */
	PGconn *c = th_db(&T);
	PGresult *res = PQexec(c, "update replies set signature = "
	                          "set_byte(signature, 0, get_byte(signature, 0) # 1)");
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	cr_assert_eq(tipctl(NULL, "tips", "show", rid, "--identity", T.identity, "--passphrase-file",
	                    T.passfile, NULL), 1);
	cr_assert(strstr(buf_cstr(&err), "signature does not verify") != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "Are you safe?") == NULL, "%s", buf_cstr(&out));
	/* Usage errors. */
	cr_assert_eq(tipctl(NULL, "tips", "reply", rid, NULL), 2);
	cr_assert_eq(tipctl(NULL, "tips", "note", "not-a-uuid", "--stdin", NULL), 2);
	sodium_memzero(ssk, sizeof(ssk));
	buf_free(&kout);
	buf_free(&pt);
	buf_free(&out);
	buf_free(&err);
}

/* ---- the source's reply key is the one sealed in the report ---- */

/* Run `sql` as the superuser (someone who can write the database); assert
 * it changed exactly one row. */
static void
db_exec_one(const char *sql)
{
	PGconn *c = th_db(&T);
	PGresult *res = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	cr_assert_str_eq(PQcmdTuples(res), "1", "%s", sql);
	PQclear(res);
	PQfinish(c);
}

/* The replies the source sees in its inbox (POST /api/v1/inbox with the receipt). */
static json_t *
inbox_replies(void)
{
	char url[128], body[256];
	struct buf resp;
	json_error_t e;
	buf_init(&resp, 1 << 20);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox", T.source_port);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	char *args[] = { "-H", "Content-Type: application/json", "--data-binary", body, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 200, "%s", buf_cstr(&resp));
	json_t *doc = json_loads(buf_cstr(&resp), 0, &e);
	json_t *rs = json_incref(json_object_get(doc, "replies"));
	cr_assert(json_is_array(rs), "%s", buf_cstr(&resp));
	json_decref(doc);
	buf_free(&resp);
	return rs;
}

/* Run `tipctl tips reply RID --file txt` as alice; return its exit code. */
static int
tipctl_reply(const char *report, const char *txt)
{
	return tipctl(NULL, "tips", "reply", report, "--file", txt, "--yes", "--identity",
	              T.identity, "--passphrase-file", T.passfile, NULL);
}

static void
tipctl_home(const char *sub)
{
	char home[TH_PATH + 32];
	snprintf(home, sizeof(home), "%s/%s", T.dir, sub);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	cr_assert_eq(tipctl_login(T.admin_pub), 0, "%s", buf_cstr(&err));
}

#define SWAPPED "the server names another reply key for this source than the one sealed in " \
	"the report: nothing was sent; tell an admin"

Test(replies, tipctl_refuses_a_reply_key_swapped_in_the_database)
{
	char txt[TH_PATH + 16], src[128], evil[128], hex[65], sql[512], token[64], path[160];
	uint8_t spk[32], ssk[32], epk[32], esk[32];
	struct buf pt, resp;
	json_error_t e;
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	buf_init_secure(&pt, 1 << 22);
	buf_init(&resp, 1 << 22);
	source_key(spk, ssk, src);

	/* tipd sealed the source's recipient (the receipt's key) inside the report,
	 * and its JSON is still padded to a bucket. */
	json_t *doc = it_open_report(&T, rid);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "source_recipient")), src);
	json_decref(doc);
	cr_assert_eq(th_age_decrypt(&T, rid, 0, &pt), 0);
	size_t ctx = strlen("tipline/v1 report ") + 2 * 37; /* the JSON after it is padded */
	cr_assert(pt.len > ctx && pt.data[pt.len - 1] == ' ');
	cr_assert_eq(pt.len - ctx, pad_text_bucket(pt.len - ctx), "report plaintext of %zu bytes",
	             pt.len);

	/* A genuine reply goes through to the team and the source. */
	tipctl_home("home-swap");
	snprintf(txt, sizeof(txt), "%s/genuine.txt", T.dir);
	write_text(txt, "GENUINE-REPLY: we are here to help.");
	cr_assert_eq(tipctl_reply(rid, txt), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "and the source") != NULL, "%s", buf_cstr(&out));
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 1);

	/* Someone who can write the database names their own key for the source. */
	cr_assert_eq(age_keygen(epk, esk), 0);
	cr_assert_eq(age_recipient_encode(epk, evil, sizeof(evil)), 0);
	util_hex(epk, 32, hex);
	snprintf(sql, sizeof(sql), "update inboxes set source_pk = decode('%s', 'hex') "
	         "where report_id = '%s'", hex, rid);
	db_exec_one(sql);
	cr_assert_eq(th_review_login(&T, T.identity, token), 200);
	snprintf(path, sizeof(path), "/api/v1/reports/%s", rid);
	cr_assert_eq(th_review(&T, "GET", path, token, NULL, &resp), 200);
	doc = json_loads(buf_cstr(&resp), 0, &e);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "source_recipient")), evil,
	                 "the server should now name the swapped key");
	json_decref(doc);

	/* tipctl refuses loudly and sends nothing. */
	long before = stored();
	snprintf(txt, sizeof(txt), "%s/swapped.txt", T.dir);
	write_text(txt, "SWAPPED-REPLY: this must never be sealed.");
	cr_assert_eq(tipctl_reply(rid, txt), 1, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&err), SWAPPED) != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "sent") == NULL, "%s", buf_cstr(&out));
	cr_assert_eq(stored(), before, "a refused reply stored something");
	snprintf(sql, sizeof(sql), "select count(*) from object_headers where recipient = '%s'", evil);
	cr_assert_eq(th_count(&T, sql), 0, "something was sealed to the swapped key");

	/* A note never involves the source: it still goes. */
	cr_assert_eq(tipctl(txt, "tips", "note", rid, "--stdin", "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from notes"), 1);

	/* The source's inbox shows only the genuine reply. */
	json_t *rs = inbox_replies();
	cr_assert_eq(json_array_size(rs), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rs, 0), "text")),
	                 "GENUINE-REPLY: we are here to help.");
	json_decref(rs);

	/* With the genuine key back, replies go through again. */
	util_hex(spk, 32, hex);
	snprintf(sql, sizeof(sql), "update inboxes set source_pk = decode('%s', 'hex') "
	         "where report_id = '%s'", hex, rid);
	db_exec_one(sql);
	cr_assert_eq(tipctl_reply(rid, txt), 0, "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 2);
	rs = inbox_replies();
	cr_assert_eq(json_array_size(rs), 2);
	json_decref(rs);
	sodium_memzero(ssk, sizeof(ssk));
	sodium_memzero(esk, sizeof(esk));
	buf_free(&pt);
	buf_free(&resp);
	buf_free(&out);
	buf_free(&err);
}

/* Store report `id` sealed to alice and bob, as tipd sealed reports before
 * the source's recipient went inside: no "source_recipient" field. Give it an
 * inbox with a random source key. */
static void
insert_report_without_source_key(const char *id)
{
	uint8_t fk[AGE_FILE_KEY_LEN], lookup[32], pk[1][AGE_KEY_LEN], sk[32];
	const char *rc[2] = { T.recipient, bob_rcpt };
	struct buf pt, payload, hb;
	buf_init(&pt, 1 << 16);
	buf_init(&payload, 1 << 17);
	buf_init(&hb, AGE_MAX_HEADER);
	cr_assert_eq(buf_printf(&pt, "tipline/v1 report %s %s\n{\"team\":\"demo\",\"language\":\"en\","
	                        "\"received_on\":\"2026-01-01\",\"answers\":" IT_ANSWERS
	                        ",\"attachments\":[]}", id, id), 0);
	cr_assert_eq(pad_text(&pt), 0);
	age_file_key_new(fk);
	struct age_enc *enc = age_enc_new(fk);
	cr_assert_not_null(enc);
	cr_assert_eq(age_enc_update(enc, pt.data, pt.len, &payload), 0);
	cr_assert_eq(age_enc_final(enc, &payload), 0);
	age_enc_free(enc);
	PGconn *c = th_db(&T);
	const char *v[3] = { id, (const char *)payload.data, NULL };
	int len[3] = { 0, (int)payload.len, 0 }, fmt[3] = { 0, 1, 1 };
	PGresult *res = PQexecParams(c, "insert into reports (id, team_id, received_on, payload) "
	                                "values ($1::uuid, 'demo', current_date, $2)",
	                             2, NULL, v, len, fmt, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(res);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(age_recipient_decode(rc[i], pk[0]), 0);
		buf_reset(&hb);
		cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pk, 1, &hb), 0);
		const char *hv[3] = { id, rc[i], (const char *)hb.data };
		int hl[3] = { 0, 0, (int)hb.len }, hf[3] = { 0, 0, 1 };
		res = PQexecParams(c, "insert into object_headers (object_id, recipient, header) "
		                      "values ($1::uuid, $2, $3)", 3, NULL, hv, hl, hf, 0);
		cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
		PQclear(res);
	}
	randombytes_buf(lookup, sizeof(lookup));
	cr_assert_eq(age_keygen(pk[0], sk), 0);
	const char *iv[3] = { (const char *)lookup, id, (const char *)pk[0] };
	int il[3] = { 32, 0, 32 }, ifm[3] = { 1, 0, 1 };
	res = PQexecParams(c, "insert into inboxes (lookup_id, report_id, source_pk) "
	                      "values ($1, $2::uuid, $3)", 3, NULL, iv, il, ifm, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	sodium_memzero(fk, sizeof(fk));
	sodium_memzero(sk, sizeof(sk));
	buf_free(&pt);
	buf_free(&payload);
	buf_free(&hb);
}

Test(replies, tipctl_refuses_a_report_without_a_sealed_reply_key)
{
	char old[37], txt[TH_PATH + 16], sql[160];
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	util_uuid(old);
	insert_report_without_source_key(old);
	tipctl_home("home-old");
	snprintf(txt, sizeof(txt), "%s/old.txt", T.dir);
	write_text(txt, "A reply to an old report.");
	/* tips show still opens it (the field is not needed to read a report). */
	cr_assert_eq(tipctl(NULL, "tips", "show", old, "--identity", T.identity, "--passphrase-file",
	                    T.passfile, NULL), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "They took our passports") != NULL, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "age1") == NULL, "show prints a key: %s", buf_cstr(&out));
	/* The server names a source key that cannot be checked: refused, nothing sent. */
	long before = stored();
	cr_assert_eq(tipctl_reply(old, txt), 1, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&err), "the report has no reply key sealed in it") != NULL, "%s",
	          buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "nothing was sent; tell an admin") != NULL, "%s",
	          buf_cstr(&err));
	cr_assert_eq(stored(), before);
	/* Once the source forgot the receipt there is no key to check: the team only. */
	snprintf(sql, sizeof(sql), "delete from inboxes where report_id = '%s'", old);
	db_exec_one(sql);
	cr_assert_eq(tipctl_reply(old, txt), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "The source has forgotten this receipt") != NULL, "%s",
	          buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "and the source") == NULL, "%s", buf_cstr(&out));
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 1);
	buf_free(&out);
	buf_free(&err);
}

/* ---- the source signs its messages (docs/crypto.md §9) ---- */

/* Send `text` from the source through the inbox; wait until `n` messages are stored. */
static void
source_says(const char *text, long n)
{
	char url[128], body[512];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/inbox/messages", T.source_port);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\",\"text\":\"%s\"}", receipt, text);
	char *args[] = { "-H", "Content-Type: application/json", "--data-binary", body, url, NULL };
	cr_assert_eq(th_curl(&T, args, &resp), 201, "%s", buf_cstr(&resp));
	for (int i = 0; i < 200 && th_count(&T, "select count(*) from messages") < n; i++)
		usleep(50000);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), n, "the message was not stored");
	buf_free(&resp);
}

/* As someone who can write the database (and knows the team's public keys):
 * store message `mid` of report `report` sealed to alice and bob, with the
 * right context line and `text`, but without the source's signature. */
static void
forge_message(const char *report, const char *mid, const char *text)
{
	uint8_t fk[AGE_FILE_KEY_LEN], pk[1][AGE_KEY_LEN];
	const char *rc[2] = { T.recipient, bob_rcpt };
	struct buf pt, payload, hb;
	buf_init(&pt, 1 << 16);
	buf_init(&payload, 1 << 17);
	buf_init(&hb, AGE_MAX_HEADER);
	cr_assert_eq(buf_printf(&pt, "tipline/v1 message %s %s\n{\"text\":\"%s\",\"sent_on\":"
	                        "\"2026-01-01\"}", mid, report, text), 0);
	cr_assert_eq(pad_text(&pt), 0);
	age_file_key_new(fk);
	struct age_enc *enc = age_enc_new(fk);
	cr_assert_not_null(enc);
	cr_assert_eq(age_enc_update(enc, pt.data, pt.len, &payload), 0);
	cr_assert_eq(age_enc_final(enc, &payload), 0);
	age_enc_free(enc);
	PGconn *c = th_db(&T);
	const char *v[3] = { mid, report, (const char *)payload.data };
	int len[3] = { 0, 0, (int)payload.len }, fmt[3] = { 0, 0, 1 };
	PGresult *res = PQexecParams(c, "insert into messages (id, report_id, sent_on, payload) "
	                                "values ($1::uuid, $2::uuid, current_date, $3)",
	                             3, NULL, v, len, fmt, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(res);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(age_recipient_decode(rc[i], pk[0]), 0);
		buf_reset(&hb);
		cr_assert_eq(age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pk, 1, &hb), 0);
		const char *hv[3] = { mid, rc[i], (const char *)hb.data };
		int hl[3] = { 0, 0, (int)hb.len }, hf[3] = { 0, 0, 1 };
		res = PQexecParams(c, "insert into object_headers (object_id, recipient, header) "
		                      "values ($1::uuid, $2, $3)", 3, NULL, hv, hl, hf, 0);
		cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
		PQclear(res);
	}
	PQfinish(c);
	sodium_memzero(fk, sizeof(fk));
	buf_free(&pt);
	buf_free(&payload);
	buf_free(&hb);
}

/* Run `tipctl tips show ID` as alice; return its exit code. */
static int
tipctl_show(const char *report)
{
	return tipctl(NULL, "tips", "show", report, "--identity", T.identity, "--passphrase-file",
	              T.passfile, NULL);
}

Test(replies, source_messages_are_signed_and_a_forged_one_is_flagged)
{
	char pp[TH_PATH + 16], digits[RECEIPT_DIGITS], pk64[64], line[160], forged[37], old[37];
	uint8_t pk[32], sk[64];
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	/* tipd sealed the receipt's signing key inside the report. */
	snprintf(pp, sizeof(pp), "%s/pepper", T.dir);
	struct receipt_pepper *p = receipt_pepper_load(pp);
	cr_assert_not_null(p);
	cr_assert_eq(receipt_normalize(receipt, strlen(receipt), digits), RECEIPT_OK);
	cr_assert_eq(receipt_source_sign_key(p, digits, pk, sk), 0);
	sodium_memzero(sk, sizeof(sk));
	receipt_pepper_free(p);
	sodium_bin2base64(pk64, sizeof(pk64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	json_t *doc = it_open_report(&T, rid);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "source_signing_key")), pk64);
	json_decref(doc);

	/* A genuine message is shown as from the source. */
	source_says("GENUINE-MESSAGE: we are near the river.", 1);
	tipctl_home("home-msg");
	cr_assert_eq(tipctl_show(rid), 0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "Message from the source ") != NULL, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "  GENUINE-MESSAGE: we are near the river.") != NULL, "%s",
	          buf_cstr(&out));

	/* A database writer's message, sealed to the team with the right context
	 * line, is not: tipctl warns and fails. */
	util_uuid(forged);
	forge_message(rid, forged, "FORGED-MESSAGE: meet the driver at the station.");
	cr_assert_eq(tipctl_show(rid), 1, "%s", buf_cstr(&out));
	snprintf(line, sizeof(line), "UNVERIFIED message %s, ", forged);
	cr_assert(strstr(buf_cstr(&out), line) != NULL, "%s", buf_cstr(&out));
	snprintf(line, sizeof(line), "Message from the source %s", forged);
	cr_assert(strstr(buf_cstr(&out), line) == NULL, "%s", buf_cstr(&out));
	snprintf(line, sizeof(line), "WARNING: message %s claims to come from the source", forged);
	cr_assert(strstr(buf_cstr(&err), line) != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&err), "it may be FORGED") != NULL, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "Message from the source ") != NULL,
	          "the genuine one is still shown: %s", buf_cstr(&out));
	/* An export does not hand it on as the source's. */
	char dir[TH_PATH + 16];
	snprintf(dir, sizeof(dir), "%s/export-msg", T.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(tipctl(NULL, "tips", "export", rid, "--out", dir, "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL), 1, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&err), "it may be FORGED") != NULL, "%s", buf_cstr(&err));

	/* A report sealed before source keys existed: its messages cannot be checked. */
	util_uuid(old);
	insert_report_without_source_key(old);
	util_uuid(forged);
	forge_message(old, forged, "OLD-MESSAGE: hello.");
	cr_assert_eq(tipctl_show(old), 0, "%s", buf_cstr(&err));
	snprintf(line, sizeof(line), "Message %s, ", forged);
	cr_assert(strstr(buf_cstr(&out), line) != NULL, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "unsigned (older report): the sender cannot be checked") !=
	          NULL, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "Message from the source") == NULL, "%s", buf_cstr(&out));
	buf_free(&out);
	buf_free(&err);
}

/* ---- the team of a reply or note comes from the sealed report ---- */

#define TEAM_SWAPPED "the server names team other, but the report itself (sealed at " \
	"submission) names team demo: refusing, nothing was sent"

Test(replies, tipctl_refuses_when_the_server_names_another_team)
{
	char so[TH_PATH + 32], so2[TH_PATH + 32], txt[TH_PATH + 16], sql[256];
	buf_init(&out, 1 << 22);
	buf_init(&err, 1 << 16);
	/* alice is also in team "other", with carol (who is not in demo). */
	th_stop(&T, SIGTERM);
	snprintf(so, sizeof(so), "%s/other-1.txt", T.dir);
	snprintf(so2, sizeof(so2), "%s/other-2.txt", T.dir);
	add_statement("other", so, so2, carol_line, T.member_line);
	th_start(&T);
	tipctl_home("home-team");
	snprintf(txt, sizeof(txt), "%s/team.txt", T.dir);
	write_text(txt, "TEAM-REPLY: only demo may read this.");

	/* A compromised server (here: a database owner) moves the report to "other". */
	snprintf(sql, sizeof(sql), "update reports set team_id = 'other' where id = '%s'", rid);
	db_exec_one(sql);
	long before = stored();
	cr_assert_eq(tipctl_reply(rid, txt), 1, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&err), TEAM_SWAPPED) != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl(txt, "tips", "note", rid, "--stdin", "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL), 1, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&err), TEAM_SWAPPED) != NULL, "%s", buf_cstr(&err));
	cr_assert_eq(stored(), before, "something was sealed for the server's team");
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 0);
	cr_assert_eq(th_count(&T, "select count(*) from notes"), 0);
	/* tips show does not check authors against the server's team either. */
	cr_assert_eq(tipctl_show(rid), 1, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&err), "the server names team other") != NULL, "%s", buf_cstr(&err));

	/* Back in its own team, the reply and the note go through. */
	snprintf(sql, sizeof(sql), "update reports set team_id = 'demo' where id = '%s'", rid);
	db_exec_one(sql);
	cr_assert_eq(tipctl_reply(rid, txt), 0, "%s", buf_cstr(&err));
	cr_assert_eq(tipctl(txt, "tips", "note", rid, "--stdin", "--identity", T.identity,
	                    "--passphrase-file", T.passfile, NULL), 0, "%s", buf_cstr(&err));
	cr_assert_eq(th_count(&T, "select count(*) from replies"), 1);
	cr_assert_eq(th_count(&T, "select count(*) from notes"), 1);
	buf_free(&out);
	buf_free(&err);
}

/* ---- replies that do not open ---- */

/* Lines of tipd's log that contain `what`. */
static int
log_lines(const char *what)
{
	struct buf b;
	int n = 0;
	buf_init(&b, 1 << 22);
	it_slurp(T.log, &b);
	for (const char *p = buf_cstr(&b); p != NULL && (p = strstr(p, what)) != NULL; p++)
		n++;
	buf_free(&b);
	return n;
}

Test(replies, an_unopenable_reply_never_breaks_the_inbox_and_is_logged_once)
{
	char token[64], oid[37], sql[512], rc[3][128];
	uint8_t spk[32], ssk[32];
	struct buf resp;
	buf_init(&resp, 1 << 22);
	struct identity *alice = load_id(T.identity);
	const uint8_t *ask = identity_ed25519_sk(alice);
	cr_assert_eq(th_review_login(&T, T.identity, token), 200);
	source_key(spk, ssk, rc[2]);
	snprintf(rc[0], 128, "%s", T.recipient);
	snprintf(rc[1], 128, "%s", bob_rcpt);

	/* An age payload that holds no padded text at all is refused. */
	long before = stored();
	new_uuid(oid);
	char *body = make_body("reply", oid, "x", rc, 3, ask, F_EMPTY_PAYLOAD);
	int st = post(token, "replies", body, &resp);
	cr_assert_eq(st, 422, "an empty payload: %d %s", st, buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "too short") != NULL, "%s", buf_cstr(&resp));
	free(body);
	new_uuid(oid);
	body = make_body("note", oid, "x", rc, 2, ask, F_EMPTY_PAYLOAD);
	cr_assert_eq(post(token, "notes", body, &resp), 422, "an empty note: %s", buf_cstr(&resp));
	free(body);
	cr_assert_eq(stored(), before, "a refused payload stored something");

	/* A padded reply whose text is empty: tipd cannot see it (end to end), so it
	 * is stored; the source's inbox must still answer, without it. */
	new_uuid(oid);
	body = make_body("reply", oid, "", rc, 3, ask, 0);
	cr_assert_eq(post(token, "replies", body, &resp), 201, "%s", buf_cstr(&resp));
	free(body);
	/* and a genuine reply, then one that a database writer corrupts */
	new_uuid(oid);
	body = make_body("reply", oid, "GENUINE", rc, 3, ask, 0);
	cr_assert_eq(post(token, "replies", body, &resp), 201, "%s", buf_cstr(&resp));
	free(body);
	new_uuid(oid);
	body = make_body("reply", oid, "CORRUPTED", rc, 3, ask, 0);
	cr_assert_eq(post(token, "replies", body, &resp), 201, "%s", buf_cstr(&resp));
	free(body);
	snprintf(sql, sizeof(sql), "update replies set payload = overlay(payload placing "
	         "'\\x00'::bytea from 40) where id = '%s'", oid);
	db_exec_one(sql);

	for (int i = 0; i < 3; i++) {
		json_t *rs = inbox_replies(); /* asserts 200 */
		cr_assert_eq(json_array_size(rs), 1, "read %d: %zu replies shown", i, json_array_size(rs));
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rs, 0), "text")),
		                 "GENUINE");
		json_decref(rs);
	}
	/* Two replies do not open, each logged once however often the source looks. */
	cr_assert_eq(log_lines("does not open"), 2, "the log records each visit");
	identity_free(alice);
	buf_free(&resp);
}
