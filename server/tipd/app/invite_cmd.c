#include "invite_cmd.h"

#include <getopt.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "invite.h"
#include "tls.h"
#include "util.h"

#define INVITE_CMD_TTL_H 24
#define INVITE_CMD_TTL_MAX_H 720

static const char invite_usage[] =
	"usage: tipd [-c FILE] invite --admin [--name NAME] [--ttl-hours N] [--server URL]\n"
	"\n"
	"Make a single-use invite for an admin and print it. Give it to the admin over a\n"
	"channel you trust; they run `tipctl enroll --admin-key KEY INVITE` with an admin\n"
	"key that this server's configuration already pins ([admins] admin_key).\n"
	"\n"
	"  --admin          the invite is for an admin (the only kind tipd makes; admins\n"
	"                   invite investigators with `tipctl admin invite`)\n"
	"  --name NAME      who it is for (shown in the audit trail as the invite's uuid only)\n"
	"  --ttl-hours N    hours until it expires (default 24, at most 720)\n"
	"  --server URL     the review URL tipctl connects to (default: [review] origin)\n";

/* Fill the pins of `iv` from the configuration and the server's files. */
static int
invite_pins(const struct tipd_config *cfg, const char *server, struct invite *iv)
{
	uint8_t h[32];
	char err[256];
	struct tls_ctx *t = tls_ctx_new(cfg->review.tls_cert, cfg->review.tls_key, HTTP_SURFACE_REVIEW);
	if (t == NULL || tls_ctx_pubkey_sha256(t, h) != 0) {
		fprintf(stderr, "tipd: cannot read the [review] certificate and key\n");
		tls_ctx_free(t);
		return -1;
	}
	tls_ctx_free(t);
	util_hex(h, sizeof(h), iv->pin);
	snprintf(iv->server, sizeof(iv->server), "%s", server);
	snprintf(iv->origin, sizeof(iv->origin), "%s", cfg->review_origin);
	if (cfg->n_admin_keys == 0 || cfg->n_admin_keys > INVITE_ADMINS_MAX) {
		fprintf(stderr, "tipd: [admins] must pin 1 to %d admin keys\n", INVITE_ADMINS_MAX);
		return -1;
	}
	for (size_t i = 0; i < cfg->n_admin_keys; i++)
		snprintf(iv->admin_keys[i], sizeof(iv->admin_keys[i]), "%s", cfg->admin_keys[i]);
	iv->n_admin_keys = cfg->n_admin_keys;
	struct audit *a = audit_new(cfg, err, sizeof(err));
	if (a == NULL) {
		fprintf(stderr, "tipd: audit key: %s\n", err);
		return -1;
	}
	snprintf(iv->audit_key, sizeof(iv->audit_key), "%s", audit_verifier_key(a));
	audit_free(a);
	return 0;
}

/* Store the invite (the secret's hash only) and audit it, in one transaction. */
static int
invite_store(const struct tipd_config *cfg, const struct invite *iv, const uint8_t sha[32])
{
	char now[24], exp[24];
	int rc = -1;
	PGconn *c = PQconnectdb(cfg->db_conninfo);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(exp, sizeof(exp), "%lld", (long long)iv->expires_at);
	const char *v[5] = { iv->id, (const char *)sha, iv->name[0] ? iv->name : NULL, now, exp };
	const int lens[5] = { 0, 32, 0, 0, 0 }, fmts[5] = { 0, 1, 0, 0, 0 };
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "tipd: cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		goto out;
	}
	PQclear(PQexec(c, "begin"));
	PGresult *r = PQexecParams(c, "insert into invites (id, secret_sha256, role, name, created_at, "
	                              "expires_at) values ($1::uuid, $2, 'admin', $3, $4::bigint, "
	                              "$5::bigint)", 5, NULL, v, lens, fmts, 0);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		fprintf(stderr, "tipd: cannot store the invite: %s", PQerrorMessage(c));
		goto out;
	}
	if (audit_append_in(c, AUDIT_OPERATOR_INVITE, NULL, iv->id, NULL) != 0) {
		fprintf(stderr, "tipd: cannot audit the invite; it was not stored\n");
		goto out;
	}
	r = PQexec(c, "commit");
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		fprintf(stderr, "tipd: cannot store the invite: %s", PQerrorMessage(c));
		goto out;
	}
	rc = 0;
out:
	PQfinish(c);
	return rc;
}

int
invite_cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int
invite_cmd(const struct tipd_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "admin", no_argument, NULL, 'a' },       { "name", required_argument, NULL, 'N' },
		{ "ttl-hours", required_argument, NULL, 't' }, { "server", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
	};
	struct invite iv;
	const char *server = cfg != NULL ? cfg->review_origin : NULL;
	uint64_t hours = INVITE_CMD_TTL_H;
	uint8_t secret[INVITE_SECRET_LEN], sha[32];
	int admin = 0, ch, rc = 1;
	struct buf out;
	memset(&iv, 0, sizeof(iv));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': admin = 1; break;
		case 'N':
			if (!invite_name_valid(optarg)) {
				fprintf(stderr, "tipd invite: --name: 1 to 64 of A-Z a-z 0-9 . _ -\n");
				return 2;
			}
			snprintf(iv.name, sizeof(iv.name), "%s", optarg);
			break;
		case 't':
			if (util_parse_u64(optarg, INVITE_CMD_TTL_MAX_H, &hours) != 0 || hours == 0) {
				fprintf(stderr, "tipd invite: --ttl-hours: 1 to %d\n", INVITE_CMD_TTL_MAX_H);
				return 2;
			}
			break;
		case 's': server = optarg; break;
		case 'h': fputs(invite_usage, stdout); return 0;
		default: fputs(invite_usage, stderr); return 2;
		}
	}
	if (cfg == NULL) {
		fputs(invite_usage, stderr);
		return 2;
	}
	if (!admin || optind != argc) {
		fprintf(stderr, "tipd invite: only admin invites are made here (--admin); admins "
		                "invite investigators with `tipctl admin invite`\n\n%s", invite_usage);
		return 2;
	}
	if (cfg->review.listen == NULL || cfg->review_origin == NULL) {
		fprintf(stderr, "tipd invite: the configuration has no [review] listener\n");
		return 1;
	}
	buf_init_secure(&out, INVITE_TEXT_MAX);
	if (invite_pins(cfg, server, &iv) != 0)
		goto out;
	util_uuid(iv.id);
	snprintf(iv.role, sizeof(iv.role), "admin");
	iv.expires_at = (int64_t)time(NULL) + (int64_t)hours * 3600;
	randombytes_buf(secret, sizeof(secret));
	crypto_hash_sha256(sha, secret, sizeof(secret));
	sodium_bin2base64(iv.secret, sizeof(iv.secret), secret, sizeof(secret),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (invite_encode(&iv, &out) != 0) {
		fprintf(stderr, "tipd invite: --server must be https://HOST:PORT, and the [admins] "
		                "keys and [review] origin well formed\n");
		goto out;
	}
	if (invite_store(cfg, &iv, sha) != 0)
		goto out;
	fprintf(stderr, "Admin invite %s, single use, expires in %llu hours. Give it to the admin "
	                "over a channel you trust:\n", iv.id, (unsigned long long)hours);
	printf("%.*s\n", (int)out.len, (const char *)out.data);
	fflush(stdout);
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(&iv, sizeof(iv));
	buf_free(&out);
	return rc;
}
