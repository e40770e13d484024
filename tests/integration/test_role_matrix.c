/*
 * The role matrix of the review API: every route (review.c, parse_route),
 * called by each role, answers exactly the status this table says. Roles:
 * anonymous (no token), a member of another team, a member of the report's
 * team, and an admin who is in no team. Bodies are valid where the route
 * takes one, so a refusal shows the role, not the body. Every mismatching
 * row is printed before the test fails.
 *
 * The table is checked against the routes tests/openapi/check_openapi.py
 * extracts from tipd's code (its `routes` command, the same extractor the
 * OpenAPI coverage test uses): every route served on the review listener
 * must have a row with its method, and every row that expects an answer
 * other than 404 must be a route. So a new route cannot go untested, and a
 * route that disappears fails its row instead of being skipped.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "identity.h"
#include "it_common.h"
#include "membership.h"
#include "note.h"
#include "util.h"

static struct th T;

static void
setup(void)
{
	th_setup(&T);
}

static void
teardown(void)
{
	th_teardown(&T);
}

TestSuite(role_matrix, .init = setup, .fini = teardown, .timeout = 240);

enum role { ANON, OTHER, MEMBER, ADMIN, N_ROLES };
static const char *const role_names[N_ROLES] = { "anonymous", "member of another team",
	                                         "member of the report's team",
	                                         "admin in no team" };

enum body {
	B_NONE,
	B_JSON,     /* the row's literal (with {role} replaced by the role's name) */
	B_LOGIN,    /* a login signed by the role's key */
	B_NOTE,     /* a note sealed to demo and signed by the role's key */
	B_REPLY,    /* a well-formed reply with a signature that does not verify */
	B_HEADERS,  /* a header upload for alice on the report (already has one) */
	B_STATEMENT /* demo's first statement again */
};

struct row {
	const char *method;
	const char *path; /* {id}: the report, {aid}: its attachment */
	enum body body;
	const char *json;
	int want[N_ROLES];
};

static const struct row rows[] = {
	{ "GET", "/healthz", B_NONE, NULL, { 200, 200, 200, 200 } },
	{ "POST", "/api/v1/login/nonce", B_NONE, NULL, { 200, 200, 200, 200 } },
	{ "POST", "/api/v1/login", B_LOGIN, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/reports", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/labels", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/questionnaire", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/audit/checkpoint", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/audit/leaves?start=0&end=1", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/audit/leaves/raw?start=0&end=1", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/audit/entries?start=0&end=1", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/audit/proof/inclusion?index=0&size=1", B_NONE, NULL,
	  { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/audit/proof/consistency?old=1&new=1", B_NONE, NULL,
	  { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/teams/demo/membership", B_NONE, NULL, { 401, 404, 200, 200 } },
	{ "GET", "/api/v1/teams/demo/missing-headers", B_NONE, NULL, { 401, 404, 200, 404 } },
	/* History sync in batches: for members of the team only. */
	{ "POST", "/api/v1/teams/demo/objects", B_JSON,
	  "{\"ids\":[\"00000000-0000-4000-8000-000000000001\"]}", { 401, 404, 200, 404 } },
	{ "POST", "/api/v1/teams/demo/headers", B_HEADERS, NULL, { 401, 404, 200, 404 } },
	{ "GET", "/api/v1/reports/{id}", B_NONE, NULL, { 401, 404, 200, 404 } },
	{ "PATCH", "/api/v1/reports/{id}", B_JSON, "{\"priority\":\"high\"}",
	  { 401, 404, 200, 404 } },
	{ "GET", "/api/v1/reports/{id}/attachments/{aid}", B_NONE, NULL, { 401, 404, 200, 404 } },
	{ "POST", "/api/v1/reports/{id}/notes", B_NOTE, NULL, { 401, 404, 201, 404 } },
	{ "POST", "/api/v1/reports/{id}/replies", B_REPLY, NULL, { 401, 404, 422, 404 } },
	{ "POST", "/api/v1/reports/{id}/headers", B_HEADERS, NULL, { 401, 404, 200, 404 } },
	/* Key rotation: only the new key of a rotation in progress has one. */
	{ "GET", "/api/v1/keys/rotation", B_NONE, NULL, { 401, 404, 404, 404 } },
	{ "POST", "/api/v1/keys/rotation/headers", B_JSON, "{}", { 401, 400, 400, 400 } },
	{ "POST", "/api/v1/keys/rotation/finish", B_JSON, "{}", { 401, 404, 404, 404 } },
	{ "POST", "/api/v1/enroll", B_JSON, "{}", { 400, 400, 400, 400 } },
	{ "POST", "/api/v1/admin/invites", B_JSON, "{\"name\":\"for-{role}\",\"teams\":[\"demo\"]}",
	  { 401, 403, 403, 201 } },
	{ "GET", "/api/v1/admin/enrollments", B_NONE, NULL, { 401, 403, 403, 200 } },
	/* {id} is the report's id here: no such enrollment, for the admin. */
	{ "POST", "/api/v1/admin/enrollments/{id}/reject", B_NONE, NULL, { 401, 403, 403, 404 } },
	{ "GET", "/api/v1/admin/teams", B_NONE, NULL, { 401, 403, 403, 200 } },
	{ "POST", "/api/v1/admin/teams/demo/membership", B_STATEMENT, NULL, { 401, 403, 403, 409 } },
	{ "POST", "/api/v1/admin/labels", B_JSON, "{\"name\":\"by-{role}\"}", { 401, 403, 403, 201 } },
	{ "DELETE", "/api/v1/admin/labels/minor", B_NONE, NULL, { 401, 403, 403, 204 } },
	{ "GET", "/api/v1/admins", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "GET", "/api/v1/audit/handovers", B_NONE, NULL, { 401, 200, 200, 200 } },
	/* Not an admin statement: 422 for the admin, refused by role for the others. */
	{ "POST", "/api/v1/admin/admins", B_JSON, "{\"statement\":\"x\\n\"}",
	  { 401, 403, 403, 422 } },
	/* Key inventory: statements and header recipients, never a payload. */
	{ "GET", "/api/v1/admin/keys", B_NONE, NULL, { 401, 403, 403, 200 } },
	/* Partners and retention. A referral is a member's act: no such partner
	 * for the member, no such report for anyone else. A legal hold may come
	 * from an admin too, who cannot read the report either way. */
	{ "GET", "/api/v1/partners", B_NONE, NULL, { 401, 200, 200, 200 } },
	{ "POST", "/api/v1/reports/{id}/referral", B_JSON, "{\"partner\":\"nobody\"}",
	  { 401, 404, 422, 404 } },
	{ "POST", "/api/v1/reports/{id}/hold", B_JSON, "{\"hold\":true}", { 401, 404, 200, 200 } },
	/* Not a partner statement: 422 for the admin. */
	{ "POST", "/api/v1/admin/partners", B_JSON, "{\"statement\":\"x\\n\"}",
	  { 401, 403, 403, 422 } },
	{ "DELETE", "/api/v1/admin/partners/nobody", B_NONE, NULL, { 401, 403, 403, 404 } },
	{ "GET", "/api/v1/admin/retention", B_NONE, NULL, { 401, 403, 403, 200 } },
	{ "PUT", "/api/v1/admin/teams/demo/retention", B_JSON,
	  "{\"closed_days\":30,\"open_days\":null}", { 401, 403, 403, 200 } },
	/* A method a path does not take is no route, for everyone. */
	{ "GET", "/api/v1/admin/invites", B_NONE, NULL, { 404, 404, 404, 404 } },
	{ "DELETE", "/api/v1/reports/{id}", B_NONE, NULL, { 404, 404, 404, 404 } },
	/* Logout last: it ends the role's session (each role logs in afresh for it). */
	{ "POST", "/api/v1/logout", B_NONE, NULL, { 401, 204, 204, 204 } },
};

struct world {
	char report[37];
	char attachment[37];
	uint8_t sk[N_ROLES][64]; /* Ed25519, libsodium form; ANON: unused */
	char token[N_ROLES][64];
	char alice_rcpt[AGE_RECIPIENT_STR_MAX];
	uint8_t alice_x[AGE_KEY_LEN];
};

/* Make bob, the only member of team "other", and load it with `tipd membership add`. */
static struct identity *
make_other_team(void)
{
	uint8_t sk[64];
	struct buf line, text, note;
	struct membership_member m;
	char path[TH_PATH + 16];
	struct identity *bob = identity_generate();
	cr_assert_not_null(bob);
	buf_init(&line, 512);
	buf_init(&text, NOTE_MAX_LEN);
	buf_init(&note, NOTE_MAX_LEN);
	cr_assert_eq(identity_member_line(bob, "bob", &line), 0);
	cr_assert_eq(membership_member_parse((const char *)line.data, line.len, &m), 0);
	cr_assert_eq(membership_build_text("other", 1, NULL, &m, 1, &text), 0);
	struct note_signer *s = it_admin_signer(&T, sk);
	cr_assert_eq(note_sign(s, (const char *)text.data, text.len, &note), 0);
	note_signer_free(s);
	snprintf(path, sizeof(path), "%s/other-1.txt", T.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, note.data, note.len), 0);
	close(fd);
	char *add[] = { T.tipd_bin, "-c", T.conf, "membership", "add", path, NULL };
	cr_assert_eq(th_run(add, NULL, 0, NULL), 0);
	buf_free(&line);
	buf_free(&text);
	buf_free(&note);
	sodium_memzero(sk, sizeof(sk));
	return bob;
}


/* The body of `row` for role `ro`; caller frees (NULL: no body). */
static char *
body_for(const struct row *row, enum role ro, const struct world *w)
{
	switch (row->body) {
	case B_NONE: return NULL;
	case B_JSON: {
		char tmp[512];
		const char *at = strstr(row->json, "{role}");
		static const char *const tag[N_ROLES] = { "anon", "other", "member", "admin" };
		if (at == NULL)
			return strdup(row->json);
		snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(at - row->json), row->json, tag[ro],
		         at + strlen("{role}"));
		return strdup(tmp);
	}
	case B_LOGIN: {
		char nonce[64], pin[65];
		struct buf b;
		if (ro == ANON)
			return strdup("{\"ed25519\":\"AAAA\",\"nonce\":\"x\",\"time\":0,\"signature\":\"AAAA\"}");
		buf_init(&b, 4096);
		th_review_nonce(&T, nonce);
		th_tls_key_hex(&T, pin);
		th_login_body(w->sk[ro], w->sk[ro] + 32, TH_REVIEW_ORIGIN, pin, nonce,
		              (long long)time(NULL), &b);
		char *s = strdup(buf_cstr(&b));
		buf_free(&b);
		return s;
	}
	case B_NOTE:
		return it_sealed_body(w->report, "note", ro == ANON ? NULL : w->sk[ro], w->alice_rcpt,
		                      w->alice_x);
	case B_REPLY: return it_sealed_body(w->report, "reply", NULL, w->alice_rcpt, w->alice_x);
	case B_HEADERS: return it_headers_body(w->report, w->alice_rcpt, w->alice_x);
	case B_STATEMENT: {
		char path[TH_PATH + 32];
		size_t len;
		snprintf(path, sizeof(path), "%s/membership-1.txt", T.dir);
		char *text = util_read_file(path, 1 << 16, &len);
		cr_assert_not_null(text);
		json_t *o = json_pack("{s:s%}", "statement", text, len);
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		free(text);
		return s;
	}
	}
	return NULL;
}

/* Replace {id} and {aid} in `tmpl`. */
static void
fill(const char *tmpl, const struct world *w, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = tmpl; *p != '\0' && o + 40 < cap;) {
		if (strncmp(p, "{id}", 4) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", w->report);
			p += 4;
		} else if (strncmp(p, "{aid}", 5) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", w->attachment);
			p += 5;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
}

/* Does row path `row` (query string ignored; {id}, {aid} or a literal
 * segment) match route `route` (check_openapi.py's form: "{}" stands for
 * one segment)? */
static int
path_matches(const char *row, const char *route)
{
	for (;;) {
		size_t rl = strcspn(row, "/?"), ol = strcspn(route, "/");
		int wild = ol == 2 && strncmp(route, "{}", 2) == 0;
		if (!(wild ? rl > 0 : rl == ol && strncmp(row, route, rl) == 0))
			return 0;
		row += rl;
		route += ol;
		int row_end = *row == '\0' || *row == '?';
		if (row_end || *route == '\0')
			return row_end && *route == '\0';
		row++;
		route++;
	}
}

/* A row no route serves on purpose: every role gets 404. */
static int
row_is_no_route(const struct row *row)
{
	for (int ro = 0; ro < N_ROLES; ro++)
		if (row->want[ro] != 404)
			return 0;
	return 1;
}

/* Check the table against the routes tipd's code serves on the review
 * listener (check_openapi.py routes): each route has a row with its method,
 * each row that expects a route is one. Return how many mismatches were
 * logged. */
static int
check_rows_against_code(void)
{
	const char *src = getenv("TIPLINE_SOURCE_DIR");
	const char *py = getenv("TIPLINE_PYTHON");
	char script[TH_PATH], method[16], path[256], surf[64];
	static int row_routed[sizeof(rows) / sizeof(rows[0])];
	cr_assert_not_null(src, "TIPLINE_SOURCE_DIR is not set");
	snprintf(script, sizeof(script), "%s/tests/openapi/check_openapi.py", src);
	char *argv[] = { (char *)(uintptr_t)(py != NULL && py[0] ? py : "python3"), script, "routes",
		         (char *)(uintptr_t)src, NULL };
	struct buf out;
	buf_init(&out, 1 << 20);
	cr_assert_eq(th_run(argv, NULL, 0, &out), 0, "check_openapi.py routes failed: %s",
	             buf_cstr(&out));
	int bad = 0, routes = 0;
	for (char *line = (char *)(uintptr_t)buf_cstr(&out), *nl; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		*nl = '\0';
		if (sscanf(line, "%15s %255s %63s", method, path, surf) != 3 || path[0] != '/')
			continue; /* the summary line */
		if (strstr(surf, "review") == NULL)
			continue;
		routes++;
		int found = 0;
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			if (row_is_no_route(&rows[i]) || !path_matches(rows[i].path, path) ||
			    (strcmp(method, "*") != 0 && strcmp(method, rows[i].method) != 0))
				continue;
			found = 1;
			row_routed[i] = 1;
		}
		if (!found) {
			bad++;
			cr_log_error("the code routes %s %s on the review listener but the role matrix "
			             "has no row for it", method, path);
		}
	}
	cr_assert(routes >= 10, "only %d review routes extracted from the code", routes);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!row_is_no_route(&rows[i]) && !row_routed[i]) {
			bad++;
			cr_log_error("row %zu (%s %s) is no route the code serves on the review listener",
			             i, rows[i].method, rows[i].path);
		}
	}
	cr_log_info("role matrix: %d review routes in the code, all with rows", routes - bad);
	buf_free(&out);
	return bad;
}

/* Negative controls for path_matches: it must not accept near misses. */
static void
path_matches_selftest(void)
{
	cr_assert(path_matches("/api/v1/reports/{id}", "/api/v1/reports/{}"));
	cr_assert(path_matches("/api/v1/audit/leaves?start=0", "/api/v1/audit/leaves"));
	cr_assert(!path_matches("/api/v1/reports", "/api/v1/reports/{}"));
	cr_assert(!path_matches("/api/v1/reports/{id}/notes", "/api/v1/reports/{}"));
	cr_assert(!path_matches("/api/v1/labels", "/api/v1/label"));
	cr_assert(!path_matches("/api/v1/reports/{id}", "/api/v1/reports/{}/headers"));
}

/* Log role `ro` in afresh (its token is ended by the logout row). */
static void
login(struct world *w, enum role ro)
{
	if (ro != ANON)
		cr_assert_eq(it_login_sk(&T, w->sk[ro], w->token[ro]), 200, "%s cannot log in",
		             role_names[ro]);
}

Test(role_matrix, every_route_answers_each_role_exactly)
{
	struct world w;
	struct identity *alice = NULL;
	memset(&w, 0, sizeof(w));
	path_matches_selftest();
	int unmatched = check_rows_against_code();
	struct identity *bob = make_other_team();
	th_start(&T);
	it_submit_with_attachment(&T, w.report, w.attachment);
	cr_assert_eq(identity_load(T.identity, TH_PASSPHRASE, strlen(TH_PASSPHRASE), &alice),
	             IDENTITY_OK);
	memcpy(w.sk[MEMBER], identity_ed25519_sk(alice), 64);
	memcpy(w.alice_x, identity_x25519_pk(alice), AGE_KEY_LEN);
	snprintf(w.alice_rcpt, sizeof(w.alice_rcpt), "%s", identity_recipient(alice));
	memcpy(w.sk[OTHER], identity_ed25519_sk(bob), 64);
	note_signer_free(it_admin_signer(&T, w.sk[ADMIN]));
	for (int ro = OTHER; ro < N_ROLES; ro++)
		login(&w, (enum role)ro);

	struct buf resp;
	buf_init(&resp, 1 << 24);
	int bad = 0, checked = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		char path[512];
		fill(row->path, &w, path, sizeof(path));
		for (int ro = 0; ro < N_ROLES; ro++) {
			int is_logout = strcmp(row->path, "/api/v1/logout") == 0;
			char *body = body_for(row, (enum role)ro, &w);
			buf_reset(&resp);
			int st = th_review(&T, row->method, path, ro == ANON ? NULL : w.token[ro], body,
			                   &resp);
			checked++;
			if (st != row->want[ro]) {
				bad++;
				cr_log_error("row %zu: %s %s as %s: answered %d, want %d: %.200s", i,
				             row->method, row->path, role_names[ro], st, row->want[ro],
				             buf_cstr(&resp) != NULL ? buf_cstr(&resp) : "");
			}
			free(body);
			if (is_logout && ro != ANON) {
				/* The token is gone: it opens nothing any more. */
				buf_reset(&resp);
				int again = th_review(&T, "GET", "/api/v1/labels", w.token[ro], NULL, &resp);
				if (again != 401) {
					bad++;
					cr_log_error("after logout, %s's token answered %d", role_names[ro],
					             again);
				}
			}
		}
	}
	cr_log_info("role matrix: %d (route, role) pairs checked", checked);
	cr_assert_eq(unmatched, 0, "the role matrix and the routes in the code disagree (see above)");
	cr_assert_eq(bad, 0, "%d of %d (route, role) pairs answered another status (see above)", bad,
	             checked);

	/* What each role sees in the list: only the report's team sees the report. */
	for (int ro = OTHER; ro < N_ROLES; ro++) {
		login(&w, (enum role)ro);
		json_error_t e;
		buf_reset(&resp);
		cr_assert_eq(th_review(&T, "GET", "/api/v1/reports", w.token[ro], NULL, &resp), 200);
		json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, &e);
		size_t n = json_array_size(json_object_get(doc, "reports"));
		cr_assert_eq(n, ro == MEMBER ? 1u : 0u, "%s sees %zu reports", role_names[ro], n);
		json_decref(doc);
	}
	buf_free(&resp);
	sodium_memzero(&w, sizeof(w));
	identity_free(alice);
	identity_free(bob);
}
