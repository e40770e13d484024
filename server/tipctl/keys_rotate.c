/*
 * keys_rotate: `tipctl keys rotate` (see keys_rotate.h).
 */
#include "keys_rotate.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "api.h"
#include "buf.h"
#include "cli.h"
#include "opts.h"
#include "identity.h"
#include "login_cmd.h"
#include "membership.h"
#include "proto.h"
#include "util.h"

#define KR_BATCH 500 /* headers per upload: the server's ROT_HEADERS_MAX */

static const char usage[] =
	"usage: tipctl keys rotate [--identity FILE] [--passphrase-file FILE]\n"
	"                          [--new-passphrase-file FILE] [--out REQUEST]\n"
	"       tipctl keys rotate --finish [--identity FILE] [--passphrase-file FILE]\n"
	"                          [--new-passphrase-file FILE] [--force]\n"
	"\n"
	"Replace your keys with new ones, keeping access to every report.\n"
	"\n"
	"Step 1 (logged in with your current key): make a new identity (next to\n"
	"your identity file, as identity-next.age) and a rotation request signed by\n"
	"both keys, written to REQUEST (default rotation-request.txt in your tipline\n"
	"directory). Send it to an admin; they run `tipctl admin rotate REQUEST`.\n"
	"\n"
	"Step 2, once the admin approved: `tipctl keys rotate --finish` logs in with\n"
	"the new key, re-makes every header your old key can open for the new one\n"
	"(with a progress bar; run it again if it is interrupted), has the server\n"
	"delete the old key's headers, and makes the new identity your identity\n"
	"(the old file is kept as identity-retired.age: delete it).\n"
	"\n"
	"  --identity FILE             your current identity (default: the usual one)\n"
	"  --passphrase-file FILE      its passphrase, from the first line of FILE\n"
	"  --new-passphrase-file FILE  the new identity's passphrase (default: the same file)\n"
	"  --force                     finish even if some headers could not be re-made\n";

struct kr_opts {
	const char *identity, *pass_file, *new_pass_file, *out;
	int finish, force;
	char id_path[4096], next_path[4096], retired_path[4096];
};

/* Parse the options into `o` and find the identity files; return OPTS_GO
 * (-1) to go on, else an exit code. */
static int
kr_parse(int argc, char **argv, struct kr_opts *o)
{
	struct buf p;
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = {
		OPT_IDENTITY(&o->identity),
		OPT_PASS_FILE(&o->pass_file),
		OPT_STR("new-passphrase-file", &o->new_pass_file),
		OPT_STR("out", &o->out),
		OPT_FLAG("finish", &o->finish),
		OPT_FLAG("force", &o->force),
		OPT_END,
	};
	int rc = opts_parse(argc, argv, opts, NULL, usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc || (o->force && !o->finish) || (o->out && o->finish))
		return opts_usage_error(usage, "no arguments; --force only with --finish, --out "
		                               "only without it");
	if (o->new_pass_file == NULL)
		o->new_pass_file = o->pass_file;
	buf_init(&p, sizeof(o->id_path));
	if (o->identity == NULL) {
		if (cli_default_identity(&p, true) != 0) {
			buf_free(&p);
			return CLI_ERR;
		}
		snprintf(o->id_path, sizeof(o->id_path), "%s", buf_cstr(&p));
	} else {
		snprintf(o->id_path, sizeof(o->id_path), "%s", o->identity);
	}
	buf_free(&p);
	/* identity-next.age and identity-retired.age next to the identity file */
	const char *slash = strrchr(o->id_path, '/');
	int dl = slash ? (int)(slash - o->id_path + 1) : 0;
	snprintf(o->next_path, sizeof(o->next_path), "%.*sidentity-next.age", dl, o->id_path);
	snprintf(o->retired_path, sizeof(o->retired_path), "%.*sidentity-retired.age", dl,
	         o->id_path);
	return OPTS_GO;
}

int
keys_rotate_rewrap(const uint8_t *hdr, size_t n, const uint8_t old_sk[32], const uint8_t new_pk[32],
                   struct buf *out)
{
	uint8_t fk[AGE_FILE_KEY_LEN], sks[1][AGE_KEY_LEN], pks[1][AGE_KEY_LEN];
	size_t hl = 0;
	memcpy(sks[0], old_sk, AGE_KEY_LEN);
	memcpy(pks[0], new_pk, AGE_KEY_LEN);
	struct age_unwrap_opts uo = { .sks = (const uint8_t(*)[AGE_KEY_LEN])sks, .nsks = 1 };
	int rc = -1;
	if (age_header_unwrap(hdr, n, &uo, fk, &hl) == AGE_OK && hl == n &&
	    age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])pks, 1, out) == 0)
		rc = 0;
	sodium_memzero(sks, sizeof(sks));
	sodium_memzero(fk, sizeof(fk));
	return rc;
}

/* Append "<label> <base64 signature by sk over msg>\n" to `out`. */
static int
sign_line(struct buf *out, const char *label, const struct identity *id, const struct buf *msg)
{
	uint8_t sig[crypto_sign_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	if (crypto_sign_detached(sig, NULL, msg->data, msg->len, identity_ed25519_sk(id)) != 0)
		return -1;
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	return buf_printf(out, "%s %s\n", label, b64);
}

/* Step 1: the new identity and the signed request. */
static int
rotate_request(struct kr_opts *o)
{
	struct api a;
	struct identity *old = NULL, *new = NULL;
	struct buf msg, req, path;
	char *pass = NULL, fp[17];
	int rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	buf_init(&msg, 4096);
	buf_init(&req, 8192);
	buf_init(&path, 4096);
	if (access(o->next_path, F_OK) == 0) {
		cli_error("a rotation is already under way (%s exists): once an admin approved it, "
		          "run `tipctl keys rotate --finish`; to start over, delete that file", o->next_path);
		goto out;
	}
	if (api_open(&a) != 0 || (old = api_identity_load(o->id_path, o->pass_file)) == NULL)
		goto out;
	if ((new = identity_generate()) == NULL ||
	    (pass = cli_pass_get(o->new_pass_file, "Passphrase for your NEW identity: ", true,
	                         true)) == NULL)
		goto out;
	if (identity_save(new, o->next_path, pass, strlen(pass)) != 0) {
		cli_error("cannot write %s: %s", o->next_path, strerror(errno));
		goto out;
	}
	if (proto_rotate_message(a.s->origin, a.s->pin, a.s->member, identity_ed25519_pk(old),
	                         identity_recipient(new), identity_ed25519_pk(new), &msg) != 0 ||
	    buf_add(&req, msg.data, msg.len) != 0 || sign_line(&req, "old-signature", old, &msg) != 0 ||
	    sign_line(&req, "new-signature", new, &msg) != 0)
		goto out;
	if (o->out == NULL && cli_default_file("rotation-request.txt", &path, true) != 0)
		goto out;
	const char *rp = o->out != NULL ? o->out : buf_cstr(&path);
	if (cli_write_new(rp, req.data, req.len) != 0) {
		cli_error("cannot write %s: %s", rp, strerror(errno));
		goto out;
	}
	membership_fingerprint(identity_ed25519_pk(new), fp);
	printf("new identity: %s\nrotation request: %s\n\n%s\n"
	       "your NEW fingerprint: %.4s %.4s %.4s %.4s\n"
	       "Send the request to an admin (it holds no secret) and read them the new "
	       "fingerprint;\nthey run `tipctl admin rotate REQUEST`. Then run "
	       "`tipctl keys rotate --finish`.\nUntil then keep working with your current key.\n",
	       o->next_path, rp, buf_cstr(&req), fp, fp + 4, fp + 8, fp + 12);
	rc = CLI_OK;
out:
	cli_pass_free(pass);
	identity_free(old);
	identity_free(new);
	buf_free(&msg);
	buf_free(&req);
	buf_free(&path);
	api_close(&a);
	return rc;
}

/* Draw the progress bar (only on a terminal). */
static void
progress(long done, long total)
{
	if (!isatty(STDERR_FILENO) || total <= 0)
		return;
	int w = 40, fill = (int)(done * w / (total > 0 ? total : 1));
	fprintf(stderr, "\r[%.*s%*s] %ld/%ld headers", fill,
	        "########################################", w - fill, "", done, total);
	if (done >= total)
		fputc('\n', stderr);
}

/* Upload the batch `arr` (emptied afterwards). Return added, or -1. */
static long
upload(struct api *a, json_t *arr)
{
	json_t *ans = NULL;
	long added = -1;
	if (api_send(a, "POST", "/api/v1/keys/rotation/headers", json_pack("{s:O}", "headers", arr),
	             "the key rotation", &ans) == 0)
		added = (long)json_integer_value(json_object_get(ans, "added"));
	json_decref(ans);
	json_array_clear(arr);
	return added;
}

/* Re-make one listed object's header into `batch`; count a failure. */
static int
rewrap_one(json_t *obj, const struct identity *old, const struct identity *new, json_t *batch,
           long *failed)
{
	struct buf raw, hdr;
	int rc = -1;
	buf_init(&raw, AGE_MAX_HEADER);
	buf_init(&hdr, 4096);
	const char *id = json_string_value(json_object_get(obj, "id"));
	if (id == NULL || api_b64_append(json_string_value(json_object_get(obj, "header")), &raw) != 0)
		goto out;
	if (keys_rotate_rewrap(raw.data, raw.len, identity_x25519_sk(old), identity_x25519_pk(new),
	                       &hdr) != 0) {
		(*failed)++;
		rc = 0;
		goto out;
	}
	char *b64 = malloc(sodium_base64_ENCODED_LEN(hdr.len, sodium_base64_VARIANT_ORIGINAL));
	if (b64 == NULL)
		goto out;
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(hdr.len, sodium_base64_VARIANT_ORIGINAL),
	                  hdr.data, hdr.len, sodium_base64_VARIANT_ORIGINAL);
	rc = json_array_append_new(batch, json_pack("{s:s, s:s}", "object", id, "header", b64));
	free(b64);
out:
	buf_free(&raw);
	buf_free(&hdr);
	return rc;
}

/* Page through the old headers, re-make and upload them. Return 0, or -1. */
static int
rewrap_all(struct api *a, const struct identity *old, const struct identity *new, long *done,
           long *failed)
{
	char path[128], after[37] = "";
	long total = -1;
	json_t *batch = json_array();
	int rc = -1;
	for (;;) {
		json_t *page = NULL, *obj;
		size_t i;
		snprintf(path, sizeof(path), "/api/v1/keys/rotation%s%s", after[0] ? "?after=" : "",
		         after);
		if (batch == NULL || api_get_json(a, path, "the key rotation", &page) != 0)
			goto out;
		json_t *objs = json_object_get(page, "objects");
		if (total < 0)
			total = (long)json_integer_value(json_object_get(page, "remaining"));
		json_array_foreach(objs, i, obj) {
			if (rewrap_one(obj, old, new, batch, failed) != 0) {
				json_decref(page);
				goto out;
			}
			snprintf(after, sizeof(after), "%s", json_string_value(json_object_get(obj, "id")));
		}
		size_t n = json_array_size(objs);
		json_decref(page);
		if (json_array_size(batch) > 0) {
			long added = upload(a, batch);
			if (added < 0)
				goto out;
			*done += added;
		}
		progress(*done + *failed, total);
		if (n == 0)
			break;
	}
	rc = 0;
out:
	json_decref(batch);
	return rc;
}

/* Log in with the new identity (as `tipctl login --identity NEXT`). */
static int
login_new(const struct kr_opts *o)
{
	char *argv[6] = { "login", "--identity", (char *)(uintptr_t)o->next_path, NULL, NULL, NULL };
	int argc = 3;
	if (o->new_pass_file != NULL) {
		argv[argc++] = "--passphrase-file";
		argv[argc++] = (char *)(uintptr_t)o->new_pass_file;
	}
	return login_cmd_login(argc, argv);
}

/* Step 2: re-wrap, finish on the server, swap the identity files. */
static int
rotate_finish(struct kr_opts *o)
{
	struct api a;
	struct identity *old = NULL, *new = NULL;
	struct client_response r;
	long done = 0, failed = 0;
	int rc = CLI_ERR;
	memset(&a, 0, sizeof(a));
	buf_init(&r.body, 65536);
	if (access(o->next_path, F_OK) != 0) {
		cli_error("no rotation under way (%s does not exist): run `tipctl keys rotate` first",
		          o->next_path);
		goto out;
	}
	if ((old = api_identity_load(o->id_path, o->pass_file)) == NULL ||
	    (new = api_identity_load(o->next_path, o->new_pass_file)) == NULL)
		goto out;
	if (login_new(o) != CLI_OK) {
		cli_error("cannot log in with the new key: has an admin run `tipctl admin rotate` "
		          "with your request yet?");
		goto out;
	}
	time_t t0 = time(NULL);
	struct timespec ts0, ts1;
	clock_gettime(CLOCK_MONOTONIC, &ts0);
	if (api_open(&a) != 0 || rewrap_all(&a, old, new, &done, &failed) != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &ts1);
	double secs = (double)(ts1.tv_sec - ts0.tv_sec) + (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e9;
	(void)t0;
	printf("re-made %ld headers for your new key in %.2f s (%.0f headers/s)\n", done, secs,
	       secs > 0 ? (double)done / secs : 0.0);
	if (failed > 0 && !o->force) {
		cli_error("%ld headers did not open with your old key: nothing deleted; run it again, "
		          "or finish with --force to give those objects up (a peer's tipctl sync can "
		          "still give them back)", failed);
		goto out;
	}
	if (api_call(&a, "POST", "/api/v1/keys/rotation/finish",
	             failed > 0 ? "{\"force\":true}" : "{}", &r, "the key rotation") != 0)
		goto out;
	if (rename(o->id_path, o->retired_path) != 0 || rename(o->next_path, o->id_path) != 0) {
		cli_error("the server finished the rotation, but renaming the identity files failed "
		          "(%s): your new identity is %s", strerror(errno), o->next_path);
		goto out;
	}
	printf("rotation finished: the old key's headers are deleted and it cannot log in.\n"
	       "%s is now your new identity; the old one is %s: it opens nothing new, delete it.\n",
	       o->id_path, o->retired_path);
	rc = CLI_OK;
out:
	identity_free(old);
	identity_free(new);
	buf_free(&r.body);
	api_close(&a);
	return rc;
}

int
keys_rotate_main(int argc, char **argv)
{
	struct kr_opts o;
	int rc = kr_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	return o.finish ? rotate_finish(&o) : rotate_request(&o);
}
