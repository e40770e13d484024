#include "ident_cmd.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "opts.h"
#include "names.h"
#include "session.h"
#include "identity.h"
#include "invite.h"
#include "profile.h"

static const char init_usage[] =
	"usage: tipctl init [--identity PATH] [--name NAME] [--passphrase-file FILE] [--force]\n"
	"\n"
	"Make your investigator keys: an age encryption key and an Ed25519 signing key,\n"
	"stored in one file protected by a passphrase (at least 10 characters).\n"
	"\n"
	"  --identity PATH         where to write it (default $TIPLINE_HOME/identity.age,\n"
	"                          or ~/.config/tipline/identity.age)\n"
	"  --name NAME             your name in the team's membership (letters, digits, . _ -)\n"
	"  --passphrase-file FILE  take the passphrase from the first line of FILE\n"
	"                          instead of asking at the terminal\n"
	"  --force                 replace an existing identity (its keys are lost!)\n"
	"\n"
	"Prints the member line to give to your team admin.\n";

static const char whoami_usage[] =
	"usage: tipctl whoami [--identity PATH] [--name NAME] [--passphrase-file FILE]\n"
	"\n"
	"Show the public keys, fingerprint and member line of your identity.\n"
	"\n"
	"  --identity PATH         identity file (default as for `tipctl init`)\n"
	"  --name NAME             name to put in the member line\n"
	"  --passphrase-file FILE  take the passphrase from the first line of FILE\n";

/* Options common to both commands. */
struct ident_opts {
	const char *path;
	const char *name;
	const char *pass_file;
	int force;
	struct buf file; /* the identity file: --identity, or the default */
};

/* Parse the options of `cmd` (`is_init`: tipctl init, which takes --force
 * and creates the default directory) and find the identity file into
 * o->file. Return -1 to go on (the caller then buf_free()s o->file), or an
 * exit code. */
static int
parse_opts(int argc, char **argv, const char *usage, int is_init, struct ident_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_IDENTITY(&o->path), OPT_STR("name", &o->name),
		                    OPT_PASS_FILE(&o->pass_file),
		                    OPT_FLAG("force", is_init ? &o->force : NULL), OPT_END };
	int rc = opts_parse(argc, argv, opts, argv[0], usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc)
		return opts_usage_error(usage, "%s: unexpected argument '%s'", argv[0], argv[optind]);
	if (o->name != NULL && !invite_name_valid(o->name))
		return opts_usage_error(usage, "%s: invalid --name: use 1-64 letters, digits, '.', "
		                               "'_' or '-'", argv[0]);
	buf_init(&o->file, 4096);
	if ((o->path != NULL ? buf_adds(&o->file, o->path)
	                     : cli_default_identity(&o->file, is_init != 0)) != 0 ||
	    buf_cstr(&o->file) == NULL) {
		buf_free(&o->file);
		return CLI_ERR;
	}
	return OPTS_GO;
}

/* Pick the member name: --name, else $USER if valid, else "investigator". */
static const char *
member_name(const struct ident_opts *o, const struct profile *pr)
{
	const char *u = getenv("USER");
	if (o->name != NULL)
		return o->name;
	if (pr != NULL && invite_name_valid(pr->name))
		return pr->name; /* the name this computer enrolled with */
	return (u != NULL && invite_name_valid(u)) ? u : "investigator";
}

/* Load this computer's investigator profile into `p`; return it, or NULL if none. */
static const struct profile *
enrolled_profile(struct profile *p)
{
	struct buf path;
	buf_init(&path, 4096);
	int have = profile_path(&path, 0) == 0 && buf_cstr(&path) != NULL &&
	           access(buf_cstr(&path), F_OK) == 0 && profile_load(p, buf_cstr(&path)) == 1 &&
	           strcmp(p->role, "investigator") == 0;
	buf_free(&path);
	return have ? p : NULL;
}

/* Return 1 if this computer holds a session (even an expired one) for
 * `server`: then an admin has approved its owner. */
static int
logged_in_at(const char *server)
{
	struct buf path;
	struct session *s = session_new();
	int yes = 0;
	buf_init(&path, 4096);
	if (s != NULL && session_path(&path, 0) == 0 && buf_cstr(&path) != NULL &&
	    session_load(s, buf_cstr(&path)) == SESSION_OK)
		yes = strcmp(s->server, server) == 0;
	session_free(s);
	buf_free(&path);
	return yes;
}

/* Print what an investigator gives their admin: the identity at `path`,
 * its member line under the name `o` and this computer's profile give,
 * and where its enrollment stands. Return 0, or -1. */
static int
print_identity(const struct identity *id, const char *path, const struct ident_opts *o)
{
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char fp[NAMES_FP_LEN + 1];
	struct profile prof;
	const struct profile *pr = enrolled_profile(&prof);
	struct buf line;
	buf_init(&line, 512);
	if (identity_member_line(id, member_name(o, pr), &line) != 0 || buf_cstr(&line) == NULL) {
		buf_free(&line);
		return -1;
	}
	sodium_bin2base64(b64, sizeof(b64), identity_ed25519_pk(id), 32,
	                  sodium_base64_VARIANT_ORIGINAL);
	names_fingerprint(identity_ed25519_pk(id), fp);
	printf("identity:    %s\n"
	       "recipient:   %s\n"
	       "ed25519:     %s\n"
	       "fingerprint: %s\n"
	       "member:      %s\n"
	       "\n",
	       path, identity_recipient(id), b64, fp, buf_cstr(&line));
	if (pr != NULL && logged_in_at(pr->server))
		printf("Enrolled at %s as %s, and logged in there: an admin approved you.\n"
		       "`tipctl tips list` shows your teams' reports.\n",
		       pr->server, pr->name);
	else if (pr != NULL)
		printf("Enrolled at %s as %s. Until your admin approves you, read them the\n"
		       "fingerprint over a channel you trust (in person or by phone); once they\n"
		       "have, run `tipctl login`.\n",
		       pr->server, pr->name);
	else
		printf("To join a server, run `tipctl enroll INVITE` with the invite your admin\n"
		       "gives you, and read them the fingerprint over a channel you trust. (An\n"
		       "admin who signs statements offline takes the member line instead.)\n");
	buf_free(&line);
	return 0;
}

/* Save `id` to `path`, replacing an existing file only if `force`. Return 0, or -1. */
static int
save_identity(const struct identity *id, const char *path, const char *pass, int force)
{
	struct buf tmp;
	int rc = -1;
	buf_init(&tmp, 4096);
	if (!force) {
		rc = identity_save(id, path, pass, strlen(pass));
		goto out;
	}
	/* Write the new file next to the old one, then swap it in atomically. */
	if (buf_printf(&tmp, "%s.new", path) != 0)
		goto out;
	(void)unlink(buf_cstr(&tmp));
	if (identity_save(id, buf_cstr(&tmp), pass, strlen(pass)) != 0)
		goto out;
	if (rename(buf_cstr(&tmp), path) != 0) {
		int e = errno;
		unlink(buf_cstr(&tmp));
		errno = e;
		goto out;
	}
	rc = 0;
out:
	buf_free(&tmp);
	return rc;
}

/* Make a new identity at o->file (tipctl init), asking for its passphrase.
 * Return it, or NULL (printed). */
static struct identity *
init_identity(struct ident_opts *o)
{
	const char *path = buf_cstr(&o->file);
	struct identity *id = NULL;
	struct stat st;
	char *pass;
	if (!o->force && lstat(path, &st) == 0) {
		cli_error("an identity already exists at %s (use --force to replace it; "
		          "its keys would be lost)", path);
		return NULL;
	}
	if ((pass = cli_pass_get(o->pass_file, "New passphrase for your identity: ", true, true)) ==
	    NULL)
		return NULL;
	if ((id = identity_generate()) == NULL) {
		cli_error("cannot generate keys");
	} else if (save_identity(id, path, pass, o->force) != 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		identity_free(id);
		id = NULL;
	}
	cli_pass_free(pass);
	return id;
}

/* Load the identity at o->file (tipctl whoami). Return it, or NULL (printed). */
static struct identity *
load_identity(struct ident_opts *o)
{
	const char *path = buf_cstr(&o->file);
	if (access(path, F_OK) != 0) {
		cli_error("no identity at %s (run `tipctl init` first)", path);
		return NULL;
	}
	/* three tries at a terminal, and the passphrase cache, as everywhere */
	return api_identity_load(path, o->pass_file);
}

/* Run tipctl init (`is_init`) or whoami: make or load the identity, then
 * print it. Return an exit code. */
static int
ident_run(int argc, char **argv, const char *usage, int is_init)
{
	struct ident_opts o;
	int rc = parse_opts(argc, argv, usage, is_init, &o);
	if (rc >= 0)
		return rc;
	struct identity *id = is_init ? init_identity(&o) : load_identity(&o);
	rc = id != NULL && print_identity(id, buf_cstr(&o.file), &o) == 0 ? CLI_OK : CLI_ERR;
	identity_free(id);
	buf_free(&o.file);
	return rc;
}

int
ident_cmd_init(int argc, char **argv)
{
	return ident_run(argc, argv, init_usage, 1);
}

int
ident_cmd_whoami(int argc, char **argv)
{
	return ident_run(argc, argv, whoami_usage, 0);
}
