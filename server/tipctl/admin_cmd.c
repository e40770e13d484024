#include "admin_cmd.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "age.h"
#include "cli.h"
#include "names.h"
#include "identity.h"
#include "keys.h"
#include "membership.h"
#include "note.h"
#include "opts.h"
#include "util.h"

#define ADMIN_MAX_TRUST 16

static const char keygen_usage[] =
	"usage: tipctl admin keygen --name NAME --out FILE [--passphrase-file FILE]\n"
	"\n"
	"Make an Ed25519 admin key. The private key is written to FILE (mode 0600),\n"
	"encrypted with a passphrase (at least 10 characters); the public verifier key\n"
	"is printed, to pin in tipd's configuration as `admin_key = ...`.\n"
	"\n"
	"  --name NAME             key name, e.g. admin.tipline.example (no '+' or spaces)\n"
	"  --out FILE              where to write the encrypted key (must not exist)\n"
	"  --passphrase-file FILE  take the passphrase from the first line of FILE\n";

static const char membership_usage[] =
	"usage: tipctl admin membership --key ADMINKEYFILE [--passphrase-file FILE]\n"
	"           --team TEAM (--first | --prev PREVIOUS_STATEMENT)\n"
	"           [--member \"NAME age1... ED25519\"]... [--members FILE]\n"
	"           [--trust ADMIN_VERIFIER_KEY]... --out FILE\n"
	"\n"
	"Build and sign a team membership statement listing every member of TEAM.\n"
	"\n"
	"  --key FILE              the admin key made by `tipctl admin keygen`\n"
	"  --passphrase-file FILE  take its passphrase from the first line of FILE\n"
	"  --team TEAM             team id: lower-case letters, digits and '-'\n"
	"  --first                 this is the team's first statement (seq 1)\n"
	"  --prev FILE             the team's latest statement; this one follows it\n"
	"  --member LINE           a member line as printed by `tipctl init` (repeatable)\n"
	"  --members FILE          member lines, one per line ('#' comments allowed)\n"
	"  --trust KEY             another admin's verifier key that may have signed\n"
	"                          --prev (repeatable; your own key is always trusted)\n"
	"  --out FILE              where to write the signed statement (must not exist)\n";

/* Options of `admin membership`. */
struct mopts {
	const char *key, *pass_file, *team, *prev, *members_file, *out;
	int first;
	const char *member_v[MEMBERSHIP_MAX_MEMBERS], *trust_v[ADMIN_MAX_TRUST];
	struct opt_list member, trust; /* --member, --trust */
};

/* Refuse an output path that exists. Return 0, or -1 after printing why. */
static int
out_free(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		cli_error("%s already exists; choose another --out", path);
		return -1;
	}
	return 0;
}

/* Encrypt the signer text `key` with `pass` and write it to the new file `out`. */
static int
write_admin_key(const struct buf *key, const char *pass, const char *out)
{
	struct buf ct;
	int rc = -1;
	buf_init(&ct, CLI_FILE_MAX);
	if (age_encrypt_scrypt(key->data, key->len, pass, strlen(pass), identity_scrypt_logn(),
	                       &ct) != 0) {
		cli_error("cannot encrypt the admin key");
		goto out;
	}
	if (cli_write_new(out, ct.data, ct.len) != 0) {
		cli_error("cannot write %s: %s", out, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_free(&ct);
	return rc;
}

int
admin_cmd_keygen(int argc, char **argv)
{
	const char *name = NULL, *out = NULL, *pass_file = NULL;
	const struct opt opts[] = { OPT_STR("name", &name), OPT_STR("out", &out),
		                    OPT_PASS_FILE(&pass_file), OPT_END };
	struct buf sk, vk;
	char *pass = NULL;
	int rc = opts_parse(argc, argv, opts, NULL, keygen_usage);
	if (rc != OPTS_GO)
		return rc;
	rc = CLI_ERR;
	if (optind != argc)
		return opts_usage_error(keygen_usage, "unexpected argument: %s", argv[optind]);
	if (name == NULL || out == NULL)
		return opts_usage_error(keygen_usage, "--name and --out are required");
	if (!note_name_valid(name))
		return opts_usage_error(keygen_usage, "invalid --name (no '+', spaces or non-ASCII): %s",
		                        name);
	buf_init_secure(&sk, 1024);
	buf_init(&vk, 1024);
	if (out_free(out) != 0)
		goto fail;
	if ((pass = cli_pass_get(pass_file, "New passphrase for the admin key: ", true, true)) == NULL)
		goto fail;
	if (note_keygen(name, &sk, &vk) != 0 || buf_cstr(&vk) == NULL) {
		cli_error("cannot generate the key");
		goto fail;
	}
	if (write_admin_key(&sk, pass, out) != 0)
		goto fail;
	printf("admin key written to %s\n"
	       "Pin this verifier key in tipd's configuration and in every investigator's invite:\n"
	       "admin_key = %s\n",
	       out, buf_cstr(&vk));
	rc = CLI_OK;
fail:
	cli_pass_free(pass);
	buf_free(&sk);
	buf_free(&vk);
	return rc;
}

/* Parse the options of `admin membership` into `o`; return -1 to go on, or an exit code. */
static int
membership_opts(int argc, char **argv, struct mopts *o)
{
	const char *u = membership_usage;
	memset(o, 0, sizeof(*o));
	o->member = (struct opt_list){ o->member_v, 0, MEMBERSHIP_MAX_MEMBERS };
	o->trust = (struct opt_list){ o->trust_v, 0, ADMIN_MAX_TRUST };
	const struct opt opts[] = {
		OPT_KEY(&o->key),          OPT_PASS_FILE(&o->pass_file),
		OPT_STR("team", &o->team), OPT_FLAG("first", &o->first),
		OPT_STR("prev", &o->prev), OPT_LIST("member", &o->member),
		OPT_STR("members", &o->members_file), OPT_LIST("trust", &o->trust),
		OPT_STR("out", &o->out),   OPT_END,
	};
	int rc = opts_parse(argc, argv, opts, NULL, u);
	if (rc != OPTS_GO)
		return rc;
	if (optind != argc)
		return opts_usage_error(u, "unexpected argument: %s", argv[optind]);
	if (o->key == NULL || o->team == NULL || o->out == NULL)
		return opts_usage_error(u, "--key, --team and --out are required");
	if (o->first == (o->prev != NULL))
		return opts_usage_error(u, "give exactly one of --first and --prev");
	if (!membership_team_valid(o->team))
		return opts_usage_error(u, "invalid --team (a-z, 0-9 and '-', at most 63): %s", o->team);
	return OPTS_GO;
}

/* Parse one member line into ms[*n]. Return 0, or -1 after printing why. */
static int
add_member(const char *line, size_t len, const char *where, struct membership_member *ms,
           size_t *n)
{
	if (*n == MEMBERSHIP_MAX_MEMBERS) {
		cli_error("too many members (at most %d)", MEMBERSHIP_MAX_MEMBERS);
		return -1;
	}
	if (membership_member_parse(line, len, &ms[*n]) != 0) {
		cli_error("%s: not a member line \"NAME age1... ED25519_KEY\": %.*s", where,
		          (int)(len > 120 ? 120 : len), line);
		return -1;
	}
	(*n)++;
	return 0;
}

/* Collect the members from --member and --members. Return 0, or -1 after printing why. */
static int
collect_members(const struct mopts *o, struct membership_member *ms, size_t *n)
{
	struct buf f;
	int rc = -1;
	buf_init(&f, CLI_FILE_MAX);
	*n = 0;
	for (size_t i = 0; i < o->member.n; i++) {
		if (add_member(o->member.v[i], strlen(o->member.v[i]), "--member", ms, n) != 0)
			goto out;
	}
	if (o->members_file != NULL) {
		if (cli_read_file(o->members_file, &f) != 0)
			goto out;
		const char *p = (const char *)f.data;
		size_t pos = 0;
		while (pos < f.len) {
			const char *eol = memchr(p + pos, '\n', f.len - pos);
			size_t ll = eol != NULL ? (size_t)(eol - (p + pos)) : f.len - pos;
			const char *l = p + pos;
			pos += ll + 1;
			if (ll > 0 && l[ll - 1] == '\r')
				ll--;
			if (ll == 0 || l[0] == '#')
				continue;
			if (add_member(l, ll, o->members_file, ms, n) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	buf_free(&f);
	return rc;
}

/* Open the previous statement with the trusted admin keys. NULL after printing why. */
static struct membership *
load_prev(const struct mopts *o, const struct note_signer *s)
{
	struct note_verifier *vs[ADMIN_MAX_TRUST + 1] = { NULL };
	struct membership *m = NULL;
	struct buf f;
	size_t nv = 0;
	buf_init(&f, CLI_FILE_MAX);
	if ((vs[nv++] = note_signer_verifier(s)) == NULL)
		goto out;
	for (size_t i = 0; i < o->trust.n; i++) {
		if ((vs[nv++] = note_verifier_parse(o->trust.v[i], strlen(o->trust.v[i]))) == NULL) {
			cli_error("--trust: not a verifier key: %s", o->trust.v[i]);
			goto out;
		}
	}
	if (cli_read_file(o->prev, &f) != 0)
		goto out;
	enum membership_result r = membership_open((const char *)f.data, f.len,
	                                           (const struct note_verifier *const *)vs, nv, &m);
	if (r != MEMBERSHIP_OK) {
		cli_error("%s: %s", o->prev, membership_strerror(r));
		goto out;
	}
	if (strcmp(membership_team(m), o->team) != 0) {
		cli_error("%s is a statement for team %s, not %s", o->prev, membership_team(m), o->team);
		membership_free(m);
		m = NULL;
	}
out:
	for (size_t i = 0; i < nv; i++)
		note_verifier_free(vs[i]);
	buf_free(&f);
	return m;
}

/* Print the statement `m` and what changed since `prev` (may be NULL). */
static void
print_summary(const struct membership *m, const struct membership *prev, const char *out)
{
	char hex[2 * MEMBERSHIP_HASH_LEN + 1], fp[NAMES_FP_LEN + 1];
	const uint8_t *ph = membership_prev_hash(m);
	if (ph != NULL)
		util_hex(ph, MEMBERSHIP_HASH_LEN, hex);
	printf("statement:   %s\nteam:        %s\nseq:         %llu\nprev:        %s\n", out,
	       membership_team(m), (unsigned long long)membership_seq(m), ph != NULL ? hex : "-");
	util_hex(membership_hash(m), MEMBERSHIP_HASH_LEN, hex);
	printf("hash:        %s\nmembers:     %zu\n", hex, membership_count(m));
	for (size_t i = 0; i < membership_count(m); i++) {
		const struct membership_member *mm = membership_member_at(m, i);
		const char *tag = "";
		if (prev != NULL && membership_find(prev, mm->name) == NULL)
			tag = "  (added)";
		else if (prev != NULL &&
		         memcmp(membership_find(prev, mm->name)->ed25519_pk, mm->ed25519_pk, 32) != 0)
			tag = "  (new keys)";
		names_fingerprint(mm->ed25519_pk, fp);
		printf("  %-20s fingerprint %s  %s%s\n", mm->name, fp, mm->recipient, tag);
	}
	for (size_t i = 0; prev != NULL && i < membership_count(prev); i++) {
		const struct membership_member *pm = membership_member_at(prev, i);
		if (membership_find(m, pm->name) == NULL)
			printf("  %-20s removed\n", pm->name);
	}
	puts("Check every fingerprint with its owner before publishing this statement.");
}

/*
 * Build, sign and self-check the statement following `prev` (NULL for the
 * first), then write it to o->out. Return 0, or -1 after printing why.
 */
static int
sign_statement(const struct mopts *o, const struct note_signer *s, const struct membership *prev,
               const struct membership_member *ms, size_t n)
{
	struct buf text, note;
	struct membership *m = NULL;
	struct note_verifier *v = note_signer_verifier(s);
	const struct note_verifier *vs[1] = { v };
	uint64_t seq = prev != NULL ? membership_seq(prev) + 1 : 1;
	int rc = -1;
	buf_init(&text, NOTE_MAX_LEN);
	buf_init(&note, NOTE_MAX_LEN);
	if (v == NULL)
		goto out;
	if (membership_build_text(o->team, seq, prev != NULL ? membership_hash(prev) : NULL, ms, n,
	                          &text) != 0) {
		cli_error("cannot build the statement (duplicate member names or keys?)");
		goto out;
	}
	if (note_sign(s, (const char *)text.data, text.len, &note) != 0 ||
	    membership_open((const char *)note.data, note.len, vs, 1, &m) != MEMBERSHIP_OK ||
	    membership_check_next(prev, m) != MEMBERSHIP_OK) {
		cli_error("cannot sign the statement");
		goto out;
	}
	if (cli_write_new(o->out, note.data, note.len) != 0) {
		cli_error("cannot write %s: %s", o->out, strerror(errno));
		goto out;
	}
	print_summary(m, prev, o->out);
	rc = 0;
out:
	membership_free(m);
	note_verifier_free(v);
	buf_free(&text);
	buf_free(&note);
	return rc;
}

int
admin_cmd_membership(int argc, char **argv)
{
	struct mopts *o = calloc(1, sizeof(*o));
	struct membership_member *ms = calloc(MEMBERSHIP_MAX_MEMBERS, sizeof(*ms));
	struct note_signer *s = NULL;
	struct membership *prev = NULL;
	size_t n = 0;
	int rc = CLI_ERR;
	if (o == NULL || ms == NULL) {
		cli_error("out of memory");
		goto out;
	}
	if ((rc = membership_opts(argc, argv, o)) >= 0)
		goto out;
	rc = CLI_ERR;
	if (out_free(o->out) != 0 || collect_members(o, ms, &n) != 0)
		goto out;
	if ((s = keys_admin_load(o->key, o->pass_file)) == NULL)
		goto out;
	if (o->prev != NULL && (prev = load_prev(o, s)) == NULL)
		goto out;
	if (sign_statement(o, s, prev, ms, n) != 0)
		goto out;
	rc = CLI_OK;
out:
	membership_free(prev);
	note_signer_free(s);
	free(ms);
	free(o);
	return rc;
}
