/*
 * api: what the review commands share — the stored session, the pinned
 * connection, and turning HTTP answers into clear messages.
 */
#ifndef TIPCTL_API_H
#define TIPCTL_API_H

/* Passphrase tries at a terminal before a command gives up. */
#define API_PASS_TRIES 3

#include <jansson.h>

#include "buf.h"
#include "client.h"
#include "identity.h"
#include "session.h"

#define API_JSON_MAX (8u << 20) /* largest JSON answer read */

struct api {
	struct session *s;
	struct client *c;
	char path[4096]; /* session file */
};

/*
 * Print the message for a failed client_open/client_request (`r`, with
 * its reason `err`) about the server at `url`.
 */
void api_print_client_error(enum client_result r, const char *err, const char *url);

/*
 * Load the session (refusing an absent, unsafe or expired one with a
 * message that says to run `tipctl login`) and connect to its server with
 * its pin. Return 0, or -1 after printing why (api_close is still safe).
 */
int api_open(struct api *a) __attribute__((warn_unused_result));
/* Close the connection and free the session (safe on a zeroed struct). */
void api_close(struct api *a);

/*
 * Send `method` `path` with the session's token and an optional JSON body,
 * reading the answer into `r` (its body initialised by the caller). On a
 * 2xx answer return 0. Otherwise print what it means — 401 "session
 * expired: run tipctl login", 403/404 "`what` not found, or you have no
 * access to it", 400/422 the server's reason, 429/503 when to retry,
 * unreachable, pin mismatch — and return -1.
 */
int api_call(struct api *a, const char *method, const char *path, const char *json,
             struct client_response *r, const char *what) __attribute__((warn_unused_result));

/* Return `req` as the compact JSON text of a request body (caller
 * free()s), or NULL if `req` is NULL or out of memory. Takes `req`: it is
 * json_decref()'d either way. */
char *api_body(json_t *req);

/*
 * Send `method` `path` with the JSON body `req` (taken: json_decref()'d
 * either way; NULL, a document that could not be built, fails) as
 * api_call does, `what` naming the resource in its errors. If `answer`
 * is not NULL, parse the server's JSON answer into *answer (NULL if it is
 * not JSON; caller json_decref()s). Return 0, or -1 (printed).
 */
int api_send(struct api *a, const char *method, const char *path, json_t *req, const char *what,
             json_t **answer) __attribute__((warn_unused_result));

/* GET `path` and parse the JSON object or array answer into *out. Return 0, or -1 (printed). */
int api_get_json(struct api *a, const char *path, const char *what, json_t **out)
	__attribute__((warn_unused_result));

/* Decode the base64 (standard alphabet, padded) string `s` and append the
 * bytes to `out` (bounded by its maximum). Return 0, or -1 if `s` is NULL,
 * not base64 or too large. */
int api_b64_append(const char *s, struct buf *out) __attribute__((warn_unused_result));

/* Print the problem+json "detail" (or "title") of `r`, terminal-safe, after `prefix`. */
void api_print_problem(const char *prefix, const struct client_response *r);

/*
 * Append "?key=value" (or "&key=value" if `q` already has a '?') to `q`,
 * percent-encoding everything but unreserved characters. Return 0, or -1.
 */
int api_query_add(struct buf *q, const char *key, const char *value)
	__attribute__((warn_unused_result));

/*
 * Load the identity at `path` (NULL: the default one) with the passphrase
 * from `pass_file` (NULL: the identity cached by a terminal unlock a few
 * minutes ago (passcache.h), else ask at the terminal, API_PASS_TRIES times
 * if it is wrong, and cache it). Return a new identity (identity_free), or NULL after printing
 * why ("wrong passphrase", ...).
 */
struct identity *api_identity_load(const char *path, const char *pass_file);

/* Store the problem's "code" member (docs/api.md "Errors") of `r` in `code`.
 * Return 0, or -1 if there is none (code is then ""). */
int api_problem_code(const struct client_response *r, char *code, size_t cap);

/* Print the true reason and the next step for problem `code` about `what`
 * (e.g. "the invite"). Return 0, or -1 if the code is unknown (nothing printed). */
int api_explain_code(const char *code, const char *what);

#endif
