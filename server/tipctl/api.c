#include "api.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "passcache.h"
#include "report.h"
#include "util.h"

void
api_print_client_error(enum client_result r, const char *err, const char *url)
{
	switch (r) {
	case CLIENT_ERR_PIN:
		cli_error("the server's TLS key does not match the pinned one: do not continue; "
		          "ask your admin (%s)", url);
		break;
	case CLIENT_ERR_CONNECT:
		cli_error("server unreachable: %s", err);
		break;
	case CLIENT_ERR_TLS:
		cli_error("cannot talk TLS with the server: %s", err);
		break;
	case CLIENT_ERR_PROTO:
		cli_error("bad answer from the server: %s", err);
		break;
	default:
		cli_error("%s", err);
		break;
	}
}

/* Print why the session could not be loaded. */
static void
session_error(enum session_result r, const char *path)
{
	switch (r) {
	case SESSION_ERR_ABSENT:
		cli_error("not logged in: run tipctl login");
		break;
	case SESSION_ERR_UNSAFE:
		cli_error("refusing the session file %s: it must be a regular file of yours with "
		          "mode 0600 (delete it and run tipctl login)", path);
		break;
	case SESSION_ERR_FORMAT:
		cli_error("the session file %s is damaged: run tipctl login", path);
		break;
	default:
		cli_error("cannot read the session file %s: %s", path, strerror(errno));
		break;
	}
}

int
api_open(struct api *a)
{
	struct buf p;
	uint8_t pin[CLIENT_PIN_LEN];
	char err[512];
	int rc = -1;
	memset(a, 0, sizeof(*a));
	buf_init(&p, sizeof(a->path) - 1);
	if (session_path(&p, 0) != 0 || buf_cstr(&p) == NULL)
		goto out;
	memcpy(a->path, p.data, p.len + 1);
	if ((a->s = session_new()) == NULL) {
		cli_error("out of locked memory");
		goto out;
	}
	enum session_result sr = session_load(a->s, a->path);
	if (sr != SESSION_OK) {
		session_error(sr, a->path);
		goto out;
	}
	if ((int64_t)time(NULL) >= a->s->expires_at) {
		cli_error("session expired: run tipctl login");
		goto out;
	}
	if (client_parse_pin(a->s->pin, pin) != 0) {
		session_error(SESSION_ERR_FORMAT, a->path);
		goto out;
	}
	enum client_result cr = client_open(a->s->server, pin, &a->c, err, sizeof(err));
	if (cr != CLIENT_OK) {
		api_print_client_error(cr, err, a->s->server);
		goto out;
	}
	rc = 0;
out:
	buf_free(&p);
	return rc;
}

void
api_close(struct api *a)
{
	client_free(a->c);
	session_free(a->s);
	a->c = NULL;
	a->s = NULL;
}

void
api_print_problem(const char *prefix, const struct client_response *r)
{
	json_error_t e;
	struct buf safe;
	json_t *doc = json_loadb((const char *)r->body.data, r->body.len, 0, &e);
	const char *d = json_string_value(json_object_get(doc, "detail"));
	if (d == NULL)
		d = json_string_value(json_object_get(doc, "title"));
	buf_init(&safe, 4096);
	if (d != NULL && report_term_safe(d, strlen(d), 0, &safe) == 0 && buf_cstr(&safe) != NULL)
		cli_error("%s: %s", prefix, buf_cstr(&safe));
	else
		cli_error("%s (HTTP %d)", prefix, r->status);
	buf_free(&safe);
	json_decref(doc);
}

int
api_problem_code(const struct client_response *r, char *code, size_t cap)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)r->body.data, r->body.len, 0, &e);
	const char *c = json_string_value(json_object_get(doc, "code"));
	int rc = -1;
	code[0] = '\0';
	if (c != NULL && strlen(c) < cap && strspn(c, "abcdefghijklmnopqrstuvwxyz_") == strlen(c)) {
		snprintf(code, cap, "%s", c);
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

int
api_explain_code(const char *code, const char *what)
{
	if (strcmp(code, "session_expired") == 0)
		cli_error("session expired: run tipctl login (it ran out, went idle, or you logged out)");
	else if (strcmp(code, "membership_ended") == 0)
		cli_error("you are no longer a member of any team: an admin removed you, and your "
		          "session has ended; ask your admin if this is a mistake");
	else if (strcmp(code, "enrollment_pending") == 0)
		cli_error("your enrollment waits for an admin's approval: read them the fingerprint "
		          "`tipctl enroll` printed (tipctl whoami shows it), then run tipctl login again");
	else if (strcmp(code, "enrollment_rejected") == 0)
		cli_error("an admin rejected your enrollment: ask them for a new invite");
	else if (strcmp(code, "not_a_member") == 0)
		cli_error("this key is not a member of any team on this server: enroll with an invite "
		          "from your admin (tipctl enroll INVITE)");
	else if (strcmp(code, "no_grant") == 0)
		cli_error("%s arrived before you joined its team: you cannot open it until a member "
		          "who can grants you access with `tipctl sync` (ask one of your team)", what);
	else if (strcmp(code, "admin_required") == 0)
		cli_error("%s needs an admin login: run tipctl login --admin", what);
	else
		return -1;
	return 0;
}

/* Print what a non-2xx answer means. */
static void
status_error(const struct client_response *r, const char *what)
{
	char code[40];
	if ((r->status == 401 || r->status == 403 || r->status == 404) &&
	    api_problem_code(r, code, sizeof(code)) == 0 && api_explain_code(code, what) == 0)
		return;
	switch (r->status) {
	case 401:
		cli_error("session expired: run tipctl login");
		break;
	case 403:
		api_print_problem("the server refused", r);
		break;
	case 404:
		cli_error("%s not found, or you have no access to it", what);
		break;
	case 400:
	case 409:
	case 413:
	case 422:
		api_print_problem("the server refused the request", r);
		break;
	case 429:
		cli_error("too many requests: try again in %ld seconds", r->retry_after > 0 ? r->retry_after : 60);
		break;
	case 503:
		cli_error("the server is temporarily unavailable: try again in %ld seconds",
		          r->retry_after > 0 ? r->retry_after : 60);
		break;
	default:
		api_print_problem("unexpected answer from the server", r);
		break;
	}
}

int
api_call(struct api *a, const char *method, const char *path, const char *json,
         struct client_response *r, const char *what)
{
	char err[512];
	enum client_result cr = client_request(a->c, method, path, a->s->token,
	                                       json != NULL ? "application/json" : NULL, json,
	                                       json != NULL ? strlen(json) : 0, r, err, sizeof(err));
	if (cr != CLIENT_OK) {
		api_print_client_error(cr, err, a->s->server);
		return -1;
	}
	if (r->status < 200 || r->status > 299) {
		status_error(r, what);
		return -1;
	}
	return 0;
}

char *
api_body(json_t *req)
{
	char *s = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	return s;
}

int
api_send(struct api *a, const char *method, const char *path, json_t *req, const char *what,
         json_t **answer)
{
	struct client_response r;
	json_error_t e;
	char *body = api_body(req);
	int rc = -1;
	if (answer != NULL)
		*answer = NULL;
	if (body == NULL) {
		cli_error("cannot build the request: out of memory");
		return -1;
	}
	buf_init(&r.body, API_JSON_MAX);
	if (api_call(a, method, path, body, &r, what) == 0) {
		if (answer != NULL)
			*answer = json_loadb((const char *)r.body.data, r.body.len, 0, &e);
		rc = 0;
	}
	free(body);
	buf_free(&r.body);
	return rc;
}

int
api_get_json(struct api *a, const char *path, const char *what, json_t **out)
{
	struct client_response r;
	json_error_t e;
	int rc = -1;
	*out = NULL;
	buf_init(&r.body, API_JSON_MAX);
	if (api_call(a, "GET", path, NULL, &r, what) != 0)
		goto done;
	*out = json_loadb((const char *)r.body.data, r.body.len, JSON_REJECT_DUPLICATES, &e);
	if (*out == NULL || (!json_is_object(*out) && !json_is_array(*out))) {
		cli_error("bad answer from the server: %s is not JSON", what);
		json_decref(*out);
		*out = NULL;
		goto done;
	}
	rc = 0;
done:
	buf_free(&r.body);
	return rc;
}

int
api_query_add(struct buf *q, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *cur = buf_cstr(q);
	if (cur == NULL || buf_printf(q, "%c%s=", strchr(cur, '?') ? '&' : '?', key) != 0)
		return -1;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		int unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		                 (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		                 *p == '~';
		int rc = unreserved ? buf_add(q, p, 1)
		                    : buf_printf(q, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
		if (rc != 0)
			return -1;
	}
	return 0;
}

struct identity *
api_identity_load(const char *path, const char *pass_file)
{
	struct buf p;
	struct identity *id = NULL;
	char *pass = NULL;
	buf_init(&p, 4096);
	if (path != NULL ? buf_adds(&p, path) != 0 : cli_default_identity(&p, false) != 0)
		goto out;
	if (buf_cstr(&p) == NULL)
		goto out;
	if (access(buf_cstr(&p), F_OK) != 0) {
		cli_error("no identity at %s (run `tipctl init` first, or use --identity)", buf_cstr(&p));
		goto out;
	}
	/* Unlocked at a terminal a few minutes ago (passcache.h): no scrypt again. */
	if (pass_file == NULL && (id = passcache_get(buf_cstr(&p))) != NULL)
		goto out;
	/* Typed at a terminal: three tries; from a file: one. */
	for (int tries = pass_file != NULL ? 1 : API_PASS_TRIES; tries > 0; tries--) {
		if ((pass = cli_pass_get(pass_file, "Passphrase: ", false, false)) == NULL)
			goto out;
		enum identity_result ir = identity_load(buf_cstr(&p), pass, strlen(pass), &id);
		cli_pass_free(pass);
		pass = NULL;
		if (ir == IDENTITY_OK) {
			if (pass_file == NULL)
				passcache_put(buf_cstr(&p), id);
			break;
		}
		if (ir == IDENTITY_ERR_PASSPHRASE && tries > 1) {
			cli_error("wrong passphrase for %s: try again (%d tr%s left)", buf_cstr(&p),
			          tries - 1, tries - 1 == 1 ? "y" : "ies");
			continue;
		}
		if (ir == IDENTITY_ERR_PASSPHRASE)
			cli_error("wrong passphrase for %s", buf_cstr(&p));
		else if (ir == IDENTITY_ERR_FORMAT)
			cli_error("%s is not a tipctl identity file", buf_cstr(&p));
		else
			cli_error("cannot read %s: %s", buf_cstr(&p), strerror(errno));
		break;
	}
out:
	cli_pass_free(pass);
	buf_free(&p);
	return id;
}

int
api_b64_append(const char *s, struct buf *out)
{
	size_t sl, bl = 0;
	if (s == NULL)
		return -1;
	sl = strlen(s);
	if (buf_reserve(out, sl / 4 * 3 + 3) != 0 ||
	    util_base64_decode(s, sl, out->data + out->len, out->cap - out->len - 1, &bl,
	                       sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	out->len += bl;
	return 0;
}
