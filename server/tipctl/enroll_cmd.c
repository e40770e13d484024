#include "enroll_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "opts.h"
#include "names.h"
#include "client.h"
#include "identity.h"
#include "invite.h"
#include "keys.h"
#include "membership.h"
#include "note.h"
#include "profile.h"
#include "util.h"

static const char enroll_usage[] =
	"usage: tipctl enroll [--identity PATH] [--passphrase-file FILE] [--replace] INVITE\n"
	"       tipctl enroll --admin-key FILE [--passphrase-file FILE] [--replace] INVITE\n"
	"\n"
	"Join a Tipline server with the invite an admin gave you. INVITE is the invite\n"
	"text (tipline-invite-1:...), a file holding it, or - to read it from standard input.\n"
	"\n"
	"tipctl pins what the invite names — the server's TLS key, its origin, the admin\n"
	"keys and the audit key — in $TIPLINE_HOME/profile (or ~/.config/tipline/profile),\n"
	"and never takes them from the server. It then sends your public keys, signed to\n"
	"prove you hold them. Read the fingerprint it prints to your admin over a channel\n"
	"you trust (in person, or a call): they compare it before approving you.\n"
	"\n"
	"Nothing is written until the server has accepted the enrollment. If a profile\n"
	"is already there and the invite would change it (another server, TLS key,\n"
	"admin keys or name), tipctl shows every change and asks first; a refused or\n"
	"failed enrollment leaves it as it was.\n"
	"\n"
	"  --identity PATH         your identity (default $TIPLINE_HOME/identity.age); made\n"
	"                          now, with a new passphrase, if there is none\n"
	"  --admin-key FILE        an admin invite: enroll this admin key (made with\n"
	"                          `tipctl admin keygen` and pinned in tipd's configuration)\n"
	"  --passphrase-file FILE  take the passphrase from the first line of FILE\n"
	"  --replace               replace a different profile without asking (only after\n"
	"                          checking the changes tipctl lists without it)\n";

struct enroll_opts {
	const char *identity, *admin_key, *pass_file, *invite;
	int replace;
};

/* Parse the options and the INVITE of `enroll` into `o`; return OPTS_GO (-1)
 * to go on, else an exit code. */
static int
enroll_opts_parse(int argc, char **argv, struct enroll_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_IDENTITY(&o->identity), OPT_STR("admin-key", &o->admin_key),
		                    OPT_PASS_FILE(&o->pass_file), OPT_FLAG("replace", &o->replace),
		                    OPT_END };
	int rc = opts_parse(argc, argv, opts, "enroll", enroll_usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc - 1)
		return opts_usage_error(enroll_usage, "enroll: give exactly one INVITE");
	if (o->identity != NULL && o->admin_key != NULL)
		return opts_usage_error(enroll_usage,
		                        "enroll: --identity and --admin-key do not go together");
	o->invite = argv[optind];
	return OPTS_GO;
}

/* Read the invite from the argument, a file or standard input. Return 0, or -1 (printed). */
static int
invite_read(const char *arg, struct invite *iv)
{
	struct buf text;
	int rc = -1;
	buf_init_secure(&text, INVITE_TEXT_MAX + 2);
	if (strncmp(arg + strspn(arg, " \t\r\n"), INVITE_PREFIX, strlen(INVITE_PREFIX)) == 0) {
		if (buf_adds(&text, arg) != 0)
			goto bad;
	} else if (strcmp(arg, "-") == 0) {
		size_t n;
		while (buf_reserve(&text, 1024) == 0 &&
		       (n = fread(text.data + text.len, 1, text.cap - text.len, stdin)) > 0)
			text.len += n;
	} else if (cli_read_file(arg, &text) != 0) {
		goto out;
	}
	/* An invite wrapped across lines (by a mail or chat program) is still the invite. */
	size_t w = 0;
	for (size_t r = 0; r < text.len; r++)
		if (text.data[r] != ' ' && text.data[r] != '\t' && text.data[r] != '\n' &&
		    text.data[r] != '\r')
			text.data[w++] = text.data[r];
	text.len = w;
	if (invite_decode((const char *)text.data, text.len, iv) == 0) {
		rc = 0;
		goto out;
	}
bad:
	cli_error("this is not a valid Tipline invite: copy all of it, from %s to its last "
	          "character (line breaks do not matter); if it is whole, ask your admin for a new "
	          "one", INVITE_PREFIX);
out:
	buf_free(&text);
	return rc;
}

/* Load the identity at `path`, or make one (asking a new passphrase) if
 * there is none. Return it, or NULL (printed). */
static struct identity *
identity_get(const char *path, const char *pass_file)
{
	struct buf p;
	struct identity *id = NULL;
	char *pass = NULL;
	buf_init(&p, 4096);
	if ((path != NULL ? buf_adds(&p, path) != 0 : cli_default_identity(&p, true) != 0) ||
	    buf_cstr(&p) == NULL)
		goto out;
	if (access(buf_cstr(&p), F_OK) == 0) {
		id = api_identity_load(buf_cstr(&p), pass_file);
		goto out;
	}
	printf("no identity at %s: making one now\n", buf_cstr(&p));
	if ((pass = cli_pass_get(pass_file, "New passphrase for your identity: ", true, true)) == NULL)
		goto out;
	if ((id = identity_generate()) == NULL ||
	    identity_save(id, buf_cstr(&p), pass, strlen(pass)) != 0) {
		cli_error("cannot write %s: %s", buf_cstr(&p), strerror(errno));
		identity_free(id);
		id = NULL;
	}
out:
	cli_pass_free(pass);
	buf_free(&p);
	return id;
}

/* Build the enrollment request body for `iv` signed by `k` into *json. */
static int
enroll_body(const struct invite *iv, const struct keys_signer *k, const char *recipient,
            char **json)
{
	char pk64[KEYS_PK64_LEN], sig64[KEYS_SIG64_LEN];
	struct buf msg;
	int rc = -1;
	buf_init(&msg, 4096);
	*json = NULL;
	/* the message names the key itself: encode it before signing */
	sodium_bin2base64(pk64, sizeof(pk64), keys_signer_pk(k), 32, sodium_base64_VARIANT_ORIGINAL);
	if (invite_enroll_message(iv->origin, iv->pin, iv->id, iv->name, recipient, pk64, &msg) != 0 ||
	    keys_sign_b64(k, msg.data, msg.len, pk64, sig64) != 0)
		goto out;
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "invite", iv->id, "secret", iv->secret,
	                        "ed25519", pk64, "signature", sig64);
	if (doc != NULL && recipient != NULL)
		json_object_set_new(doc, "recipient", json_string(recipient));
	*json = api_body(doc);
	rc = *json != NULL ? 0 : -1;
out:
	buf_free(&msg);
	return rc;
}

/* Explain a refused enrollment. */
static void
enroll_refused(const struct client_response *r)
{
	if (r->status == 410 || r->status == 401)
		api_print_problem("enrollment refused (ask your admin for a new invite)", r);
	else if (r->status == 429)
		cli_error("too many failed enrollments: try again in %ld seconds",
		          r->retry_after > 0 ? r->retry_after : 60);
	else
		api_print_problem("enrollment refused", r);
}

/* POST the enrollment. Return 0 on 201, else -1 (printed). */
static int
enroll_post(const struct invite *iv, const char *json)
{
	uint8_t pin[CLIENT_PIN_LEN];
	struct client *c = NULL;
	struct client_response r;
	char err[512];
	int rc = -1;
	buf_init(&r.body, 65536);
	if (client_parse_pin(iv->pin, pin) != 0)
		goto out;
	enum client_result cr = client_open(iv->server, pin, &c, err, sizeof(err));
	if (cr == CLIENT_OK)
		cr = client_request(c, "POST", "/api/v1/enroll", NULL, "application/json", json,
		                    strlen(json), &r, err, sizeof(err));
	if (cr != CLIENT_OK) {
		api_print_client_error(cr, err, iv->server);
		goto out;
	}
	if (r.status != 201) {
		enroll_refused(&r);
		goto out;
	}
	rc = 0;
out:
	client_free(c);
	buf_free(&r.body);
	return rc;
}

/* The profile the invite would pin (with the admin key file, if any). */
static void
enroll_profile(const struct invite *iv, const char *admin_key_file, struct profile *p)
{
	profile_from_invite(p, iv);
	if (admin_key_file != NULL) {
		char *abs = realpath(admin_key_file, NULL);
		snprintf(p->key_file, sizeof(p->key_file), "%s", abs != NULL ? abs : admin_key_file);
		free(abs);
	}
}

/*
 * Compare `p` with the profile at `path`, if there is one: show what would
 * change and ask (unless `replace`). Return 0 to go on, or -1 (printed:
 * nothing was changed).
 */
static int
enroll_check_existing(const struct profile *p, const char *path, int replace)
{
	struct profile old;
	struct buf diff;
	int rc = -1, n;
	buf_init(&diff, 1 << 16);
	int have = profile_load(&old, path);
	if (have < 0) {
		cli_error("enroll: the profile %s cannot be read (see above): nothing was changed", path);
		goto out;
	}
	if (have == 0 || (n = profile_diff(&old, p, &diff)) == 0) {
		rc = 0;
		goto out;
	}
	if (n < 0 || buf_cstr(&diff) == NULL)
		goto out;
	fprintf(stderr, "This invite would replace your profile %s:\n%s", path, buf_cstr(&diff));
	if (strcmp(old.server, p->server) != 0 || strcmp(old.pin, p->pin) != 0)
		fprintf(stderr, "If you did not expect another server or TLS key, do not go on: ask your "
		                "admin, over a channel you trust, whether this invite is theirs.\n");
	if (!replace && cli_ask("Replace your profile?", "--replace") != 1) {
		cli_error("enroll: your profile was not changed");
		goto out;
	}
	rc = 0;
out:
	buf_free(&diff);
	return rc;
}

/*
 * Write `p` beside `path` (as PATH.pending), so that nothing the invite
 * pinned is lost if the rename after a 201 fails. Return 0, or -1 (printed).
 */
static int
enroll_stage(const struct profile *p, const char *path, struct buf *pending)
{
	buf_reset(pending);
	if (buf_printf(pending, "%s.pending", path) != 0 || buf_cstr(pending) == NULL)
		return -1;
	(void)unlink(buf_cstr(pending));
	return profile_save(p, buf_cstr(pending));
}

/*
 * Stage `p` beside `path`, post the enrollment `json`, and only after tipd
 * accepted it rename the staged profile over the working one. Staged first:
 * once tipd takes the enrollment the invite is used up, and the pins must
 * not be lost to a failed write after that. Return 0, or -1 (printed; the
 * working profile is as it was, and nothing staged is left behind).
 */
static int
enroll_commit(const struct invite *iv, const struct profile *p, const char *json,
              const char *path)
{
	struct buf pending;
	int rc = -1;
	buf_init(&pending, 4200);
	if (enroll_stage(p, path, &pending) != 0)
		goto out;
	if (enroll_post(iv, json) != 0) {
		fprintf(stderr, "your profile was not changed\n");
		(void)unlink(buf_cstr(&pending));
		goto out;
	}
	if (rename(buf_cstr(&pending), path) != 0) {
		cli_error("enrolled, but cannot rename %s to %s (%s): rename it yourself",
		          buf_cstr(&pending), path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_free(&pending);
	return rc;
}

/* Tell the invitee what happened and what comes next. */
static void
enroll_print(const struct invite *iv, const uint8_t *pk, int admin)
{
	char fp[NAMES_FP_LEN + 1];
	names_fingerprint(pk, fp);
	printf("enrolled at %s as %s%s\n", iv->server, admin ? "an admin" : iv->name,
	       admin ? "" : " (waiting for an admin's approval)");
	printf("your fingerprint: %s\n", fp);
	if (admin)
		printf("next: tipctl login --admin\n");
	else
		printf("read this fingerprint to your admin over a channel you trust; once they "
		       "approve you, run: tipctl login\n");
}

int
enroll_cmd_main(int argc, char **argv)
{
	struct enroll_opts o;
	struct invite iv;
	struct identity *id = NULL;
	struct note_signer *adm = NULL;
	char *json = NULL;
	struct profile prof;
	struct buf path;
	int rc = enroll_opts_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	buf_init(&path, 4096);
	if (invite_read(o.invite, &iv) != 0)
		goto out;
	int admin = strcmp(iv.role, "admin") == 0;
	if (iv.expires_at <= (int64_t)time(NULL)) {
		cli_error("this invite has expired: ask your admin for a new one");
		goto out;
	}
	if (admin != (o.admin_key != NULL)) {
		cli_error(admin ? "this is an admin invite: give your admin key with --admin-key FILE"
		                : "this invite is for an investigator: do not give --admin-key");
		rc = CLI_USAGE;
		goto out;
	}
	/* Confirm first, then the passphrase. */
	enroll_profile(&iv, o.admin_key, &prof);
	if (profile_path(&path, 1) != 0 || buf_cstr(&path) == NULL ||
	    enroll_check_existing(&prof, buf_cstr(&path), o.replace) != 0)
		goto out;
	if (admin ? (adm = keys_admin_load(o.admin_key, o.pass_file)) == NULL
	          : (id = identity_get(o.identity, o.pass_file)) == NULL)
		goto out;
	struct keys_signer k = { id, adm };
	if (enroll_body(&iv, &k, admin ? NULL : identity_recipient(id), &json) != 0) {
		cli_error("cannot sign the enrollment");
		goto out;
	}
	if (enroll_commit(&iv, &prof, json, buf_cstr(&path)) != 0)
		goto out;
	enroll_print(&iv, keys_signer_pk(&k), admin);
	rc = CLI_OK;
out:
	buf_free(&path);
	free(json);
	identity_free(id);
	note_signer_free(adm);
	sodium_memzero(&iv, sizeof(iv));
	return rc;
}
