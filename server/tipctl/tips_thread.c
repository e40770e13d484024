#include "tips_thread.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "age.h"
#include "api.h"
#include "chain.h"
#include "cli.h"
#include "identity.h"
#include "membership.h"
#include "report.h"
#include "tips_cmd.h"
#include "tips_open.h"
#include "tips_reply.h"
#include "util.h"

#define MESSAGE_FORGED \
	"WARNING: message %s claims to come from the source, but it does not carry a valid " \
	"signature of the source's key sealed in the report: it may be FORGED by whoever can " \
	"write to the server's database"

/* Print untrusted `s` terminal-safe, indented. */
static void
th_print_safe(const char *s)
{
	struct buf b;
	buf_init_secure(&b, 4 * strlen(s) + 16);
	if (report_term_safe(s, strlen(s), 1, &b) == 0 && buf_cstr(&b) != NULL) {
		fputs("  ", stdout);
		for (const char *p = buf_cstr(&b); *p; p++) {
			putchar(*p);
			if (*p == '\n' && p[1] != '\0')
				fputs("  ", stdout);
		}
	}
	putchar('\n');
	buf_free(&b);
}

/* Decrypt header+payload of `o` with `id` into `pt`; keep the payload in
 * `payload`; check the context line and parse the JSON into *doc. Return 0, or -1. */
static int
th_open_object(json_t *o, const char *kind, const char *rid, const struct identity *id,
            struct buf *payload, struct buf *pt, json_t **doc)
{
	struct buf ct;
	size_t skip = 0;
	json_error_t e;
	const char *oid = json_string_value(json_object_get(o, "id"));
	int rc = -1;
	*doc = NULL;
	buf_init(&ct, API_JSON_MAX);
	uint8_t (*sk)[AGE_KEY_LEN] = sodium_malloc(sizeof(*sk));
	if (sk == NULL || oid == NULL ||
	    api_b64_append(json_string_value(json_object_get(o, "header")), &ct) != 0 ||
	    api_b64_append(json_string_value(json_object_get(o, "payload")), payload) != 0 ||
	    buf_add(&ct, payload->data, payload->len) != 0)
		goto out;
	memcpy(sk, identity_x25519_sk(id), AGE_KEY_LEN);
	struct age_unwrap_opts uo = { .sks = (const uint8_t (*)[AGE_KEY_LEN])sk, .nsks = 1 };
	if (age_decrypt(ct.data, ct.len, &uo, pt) != AGE_OK ||
	    report_check_context(pt->data, pt->len, kind, oid, rid, &skip) != REPORT_OK)
		goto out;
	*doc = json_loadb((const char *)pt->data + skip, pt->len - skip, JSON_REJECT_DUPLICATES, &e);
	rc = json_is_object(*doc) ? 0 : -1;
out:
	if (sk != NULL)
		sodium_free(sk);
	buf_free(&ct);
	return rc;
}

/* Check the signature of `o` (over `payload`) and that its author is in `m`
 * (if not NULL). Return the author's name ("" if m is NULL), or NULL. */
static const char *
th_check_author(json_t *o, const char *kind, const char *rid, const struct buf *payload,
             const struct membership *m)
{
	uint8_t pk[32], sig[64];
	struct buf msg, raw;
	const char *name = NULL, *oid = json_string_value(json_object_get(o, "id"));
	buf_init(&msg, 1024);
	buf_init(&raw, 256);
	if (oid == NULL || api_b64_append(json_string_value(json_object_get(o, "author_ed25519")), &raw) != 0 ||
	    raw.len != 32)
		goto out;
	memcpy(pk, raw.data, 32);
	buf_reset(&raw);
	if (api_b64_append(json_string_value(json_object_get(o, "signature")), &raw) != 0 || raw.len != 64)
		goto out;
	memcpy(sig, raw.data, 64);
	if (tips_reply_sig_message(kind, oid, rid, payload->data, payload->len, &msg) != 0 ||
	    crypto_sign_verify_detached(sig, msg.data, msg.len, pk) != 0)
		goto out;
	name = "";
	for (size_t i = 0; m != NULL && i < membership_count(m); i++) {
		const struct membership_member *mm = membership_member_at(m, i);
		if (sodium_memcmp(mm->ed25519_pk, pk, 32) == 0)
			name = mm->name;
	}
	if (m != NULL && name[0] == '\0')
		name = NULL;
out:
	buf_free(&msg);
	buf_free(&raw);
	return name;
}

/* Print the header line of the source's message `oid` (sent on `on`) by
 * what report_message_signed found (`sig`). Return 1 if it must count as a
 * failure (a possible forgery), else 0. */
static int
th_show_message_head(int sig, const char *oid, const char *on)
{
	const char *day = on != NULL && tips_cmd_date_ok(on) ? on : "?";
	if (sig == REPORT_MSG_VERIFIED) {
		printf("\nMessage from the source %s, %s\n", oid, day);
		return 0;
	}
	if (sig == REPORT_MSG_UNSIGNED_OLD) {
		printf("\nMessage %s, %s, unsigned (older report): the sender cannot be checked\n", oid,
		       day);
		return 0;
	}
	cli_error(MESSAGE_FORGED, oid);
	printf("\nUNVERIFIED message %s, %s: NOT from the source as far as tipctl can tell "
	       "(possibly forged)\n", oid, day);
	return 1;
}

/* Print the objects of `key` ("replies", "notes", "messages") of the report
 * whose decrypted document is `report`. Return the number that failed. */
static int
th_show_kind(json_t *meta, json_t *report, const char *key, const char *kind, const char *rid,
          const struct identity *id, const struct membership *m)
{
	json_t *arr = json_object_get(meta, key), *o;
	size_t i;
	int bad = 0;
	json_array_foreach(arr, i, o) {
		struct buf payload, pt;
		json_t *doc = NULL;
		const char *oid = json_string_value(json_object_get(o, "id"));
		const char *on = json_string_value(json_object_get(o, "sent_on"));
		buf_init(&payload, API_JSON_MAX);
		buf_init_secure(&pt, API_JSON_MAX);
		const char *who = NULL;
		if (th_open_object(o, kind, rid, id, &payload, &pt, &doc) != 0) {
			cli_error("%s %s does not open or names another object: not shown", kind,
			          oid != NULL && util_uuid_valid(oid) ? oid : "?");
			bad++;
		} else if (strcmp(kind, "message") != 0 &&
		           (who = th_check_author(o, kind, rid, &payload, m)) == NULL) {
			cli_error("%s %s: its signature does not verify against the team's membership: "
			          "not shown", kind, oid);
			bad++;
		} else {
			const char *text = json_string_value(json_object_get(doc, "text"));
			if (strcmp(kind, "message") == 0)
				bad += th_show_message_head(report_message_signed(report, doc, oid, rid), oid, on);
			else
				printf("\n%s %s, %s%s%s%s\n", kind[0] == 'r' ? "Reply" : "Note", oid,
				       on != NULL && tips_cmd_date_ok(on) ? on : "?",
				       who != NULL ? ", by " : "", who != NULL && who[0] ? who : "",
				       who != NULL && who[0] == '\0' ? "(membership not checked)" : "");
			th_print_safe(text != NULL ? text : "");
			if (strcmp(kind, "message") == 0 && report_manifest_count(doc) > 0)
				tips_open_print_files(stdout, "Files sent with this message", doc, rid);
		}
		json_decref(doc);
		buf_free(&payload);
		buf_free(&pt);
	}
	return bad;
}

int
tips_thread_open_checked(json_t *o, const char *kind, const char *rid, const struct identity *id,
                        const struct membership *m, json_t *report, json_t **out)
{
	struct buf payload, pt;
	json_t *doc = NULL;
	const char *oid = json_string_value(json_object_get(o, "id"));
	const char *on = json_string_value(json_object_get(o, "sent_on"));
	const char *who = NULL, *text;
	bool is_msg = strcmp(kind, "message") == 0;
	int rc = -1;
	*out = NULL;
	buf_init(&payload, API_JSON_MAX);
	buf_init_secure(&pt, API_JSON_MAX);
	if (oid == NULL || !util_uuid_valid(oid) ||
	    th_open_object(o, kind, rid, id, &payload, &pt, &doc) != 0) {
		cli_error("%s %s does not open or names another object", kind,
		          oid != NULL && util_uuid_valid(oid) ? oid : "?");
		goto out;
	}
	if (!is_msg && (who = th_check_author(o, kind, rid, &payload, m)) == NULL) {
		cli_error("%s %s: its signature does not verify against the team's membership", kind,
		          oid);
		goto out;
	}
	if ((text = json_string_value(json_object_get(doc, "text"))) == NULL) {
		cli_error("%s %s has no text", kind, oid);
		goto out;
	}
	int msig = is_msg ? report_message_signed(report, doc, oid, rid) : REPORT_MSG_VERIFIED;
	if (msig == REPORT_MSG_FORGED) {
		cli_error(MESSAGE_FORGED, oid);
		goto out;
	}
	*out = json_pack("{s:s, s:s, s:o, s:o, s:s}", "id", oid, "kind", kind, "sent_on",
	                 on != NULL && tips_cmd_date_ok(on) ? json_string(on) : json_null(),
	                 "author", is_msg ? (msig == REPORT_MSG_VERIFIED ? json_string("source")
	                                                                 : json_null())
	                           : who[0] != '\0' ? json_string(who) : json_null(),
	                 "text", text);
	const char *how = is_msg ? (msig == REPORT_MSG_VERIFIED
	                                ? "verified against the source key sealed in the report"
	                                : "unsigned (older report): the sender cannot be checked")
	                  : m != NULL ? "verified against the team's membership"
	                              : "verified; the author's membership was not checked (no admin "
	                                "key pinned)";
	/* a message's files: its signature covers them (report_message_signed) */
	json_t *files = is_msg ? json_object_get(doc, "attachments") : NULL;
	if (*out != NULL && ((files != NULL && json_object_set(*out, "attachments", files) != 0) ||
	                     json_object_set_new(*out, "signature", json_string(how)) != 0)) {
		json_decref(*out);
		*out = NULL;
	}
	if (*out == NULL)
		cli_error("out of memory");
	rc = *out != NULL ? 0 : -1;
out:
	json_decref(doc);
	buf_free(&payload);
	buf_free(&pt);
	return rc;
}

int
tips_thread_show(struct api *a, const struct identity *id, const char *rid, json_t *meta,
                json_t *doc)
{
	struct membership *m = NULL;
	if (chain_team_membership(a, meta, doc, &m) != 0)
		return 1;
	int bad = th_show_kind(meta, doc, "replies", "reply", rid, id, m) +
	          th_show_kind(meta, doc, "notes", "note", rid, id, m) +
	          th_show_kind(meta, doc, "messages", "message", rid, id, m);
	membership_free(m);
	return bad;
}
