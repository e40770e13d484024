#include "tips_refer.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_partners.h"
#include "age.h"
#include "api.h"
#include "cli.h"
#include "opts.h"
#include "partner.h"
#include "report.h"
#include "secmem.h"
#include "tips_case.h"
#include "tips_export.h"
#include "tips_open.h"
#include "util.h"

#define RF_STDIO_BUF 65536
#define RF_TEXT_MAX (64u << 20) /* largest report.txt */
#define RF_PATH_MAX 4096
#define RF_NAMES_MAX 4096       /* attachments of one report */

static const char refer_usage[] =
	"usage: tipctl tips refer ID --to PARTNER --out FILE [--identity PATH]\n"
	"                            [--passphrase-file FILE] [--yes]\n"
	"\n"
	"Hand report ID to partner agency PARTNER (tipctl admin partner list): the case\n"
	"bundle `tipctl tips export` makes (report.txt, report.json, messages/, replies/,\n"
	"notes/, attachments/, MANIFEST.txt, under ID/) is written as one tar archive\n"
	"encrypted with age to the partner's key only, into the new file FILE (mode\n"
	"0600). Nothing decrypted touches this computer's disk. The partner opens it with\n"
	"stock age:  age -d -i THEIR-KEY FILE | tar -x   then  cd ID && sha256sum -c MANIFEST.txt\n"
	"You cannot open FILE yourself.\n"
	"\n"
	"The partner's key comes from a statement an admin signed; it is checked against\n"
	"the admin keys pinned at login. The report is referred only if the source agreed\n"
	"(the questionnaire's referral question answered yes). Afterwards the report's\n"
	"status is `referred`, and the referral is in the audit log.\n"
	"\n"
	"  --to PARTNER           the partner's name\n"
	"  --out FILE             the encrypted bundle to create (must not exist)\n"
	"  --identity PATH        identity file (default $TIPLINE_HOME/identity.age)\n"
	"  --passphrase-file FILE take the passphrase from the first line of FILE\n"
	"  --yes                  do not ask for confirmation\n";

static const char hold_usage[] =
	"usage: tipctl tips hold ID [--release]\n"
	"\n"
	"Put report ID under legal hold: `tipd purge` never deletes it, whatever its team's\n"
	"retention policy says, until the hold is released with --release. Audited.\n";

/* Options of refer. */
struct rf_opts {
	const char *id, *to, *out, *identity, *pass_file;
	int yes;
};

/* What a referral holds while it runs. */
struct rf_run {
	struct api a;
	struct tips_case c;  /* the report, its questionnaire, membership and files */
	struct partner p;
	struct buf manifest; /* MANIFEST.txt so far (file names are a source's words: secure) */
	struct buf ct;       /* ciphertext waiting to be written */
	struct age_enc *enc;
	int fd;              /* FILE */
	uint64_t written;
	size_t nfiles;
	char *names[RF_NAMES_MAX]; /* attachment names used */
	size_t nnames;
};

/* Parse refer's options; return -1 to go on, or an exit code. */
static int
rf_parse(int argc, char **argv, struct rf_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_STR("to", &o->to), OPT_STR("out", &o->out),
		                    OPT_IDENTITY(&o->identity), OPT_PASS_FILE(&o->pass_file),
		                    OPT_YES(&o->yes), OPT_END };
	int rc = opts_parse(argc, argv, opts, "refer", refer_usage);
	if (rc != OPTS_GO)
		return rc;
	if (optind + 1 != argc || strlen(argv[optind]) != 36 || !util_uuid_valid(argv[optind]))
		return opts_usage_error(refer_usage, "refer: give exactly one report ID");
	o->id = argv[optind];
	if (o->to == NULL || !partner_name_valid(o->to))
		return opts_usage_error(refer_usage, "refer: --to PARTNER is required (a partner's name)");
	if (o->out == NULL || o->out[0] == '\0')
		return opts_usage_error(refer_usage, "refer: --out FILE is required");
	return OPTS_GO;
}

/* ---- the tar stream ---- */

/* Write `v` as `width - 1` octal digits and a NUL into `f`. */
static void
octal(char *f, size_t width, uint64_t v)
{
	f[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		f[i] = (char)('0' + (v & 7));
}

/* One ustar header block for `name` (at most 100 bytes), `type` and `size`. */
static void
ustar_block(uint8_t b[TAR_BLOCK], const char *name, char type, uint64_t size, unsigned mode)
{
	char *h = (char *)b;
	unsigned sum = 0;
	memset(b, 0, TAR_BLOCK);
	memcpy(h, name, strlen(name));
	octal(h + 100, 8, mode);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, 0); /* no time: the bundle names no moment */
	memset(h + 148, ' ', 8);
	h[156] = type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += b[i];
	octal(h + 148, 7, sum);
	h[155] = ' ';
}

int
tips_refer_tar_header(const char *path, uint64_t size, int dir, struct buf *out)
{
	uint8_t b[TAR_BLOCK];
	size_t pl = strlen(path), start = out->len;
	if (pl == 0 || pl > RF_PATH_MAX || size > 077777777777ull)
		return -1;
	if (pl > 100) {
		/* pax record "LEN path=PATH\n", LEN counting itself */
		size_t base = pl + 7, len = base + 1;
		while (len != base + (size_t)snprintf(NULL, 0, "%zu", len))
			len = base + (size_t)snprintf(NULL, 0, "%zu", len);
		ustar_block(b, "PaxHeader", 'x', len, 0600);
		if (buf_add(out, b, TAR_BLOCK) != 0 || buf_printf(out, "%zu path=%s\n", len, path) != 0 ||
		    buf_fill(out, 0, (TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK) != 0)
			goto fail;
	}
	char shortname[101];
	snprintf(shortname, sizeof(shortname), "%.100s", path);
	ustar_block(b, shortname, dir ? '5' : '0', dir ? 0 : size, dir ? 0700 : 0600);
	if (buf_add(out, b, TAR_BLOCK) != 0)
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}

/* Write the ciphertext waiting in x->ct to FILE. Return 0, or -1 (printed). */
static int
rf_flush(struct rf_run *x)
{
	if (x->ct.len == 0)
		return 0;
	if (util_write_all(x->fd, x->ct.data, x->ct.len) != 0) {
		cli_error("cannot write the encrypted bundle: %s", strerror(errno));
		return -1;
	}
	x->written += x->ct.len;
	buf_reset(&x->ct);
	return 0;
}

/* Encrypt `n` plaintext bytes into FILE. Return 0, or -1 (printed). */
static int
rf_feed(struct rf_run *x, const void *p, size_t n)
{
	const uint8_t *c = p;
	while (n > 0) {
		size_t k = n < AGE_CHUNK_SIZE ? n : AGE_CHUNK_SIZE;
		if (age_enc_update(x->enc, c, k, &x->ct) != 0) {
			cli_error("cannot encrypt the bundle");
			return -1;
		}
		if (rf_flush(x) != 0)
			return -1;
		c += k;
		n -= k;
	}
	return 0;
}

/* Add member `rel` (inside ID/) of `n` bytes, or a directory if `p` is NULL,
 * and list a file in the manifest. Return 0, or -1 (printed). */
static int
rf_member(struct rf_run *x, const char *rel, const void *p, size_t n)
{
	struct buf h;
	char path[RF_PATH_MAX + 64];
	uint8_t digest[32], zero[TAR_BLOCK] = { 0 };
	char hex[65];
	int rc = -1;
	buf_init_secure(&h, 4 * TAR_BLOCK + RF_PATH_MAX + 64);
	snprintf(path, sizeof(path), "%s/%s", x->c.rid, rel);
	if (tips_refer_tar_header(path, n, p == NULL, &h) != 0 || rf_feed(x, h.data, h.len) != 0) {
		cli_error("cannot add %s to the bundle", rel);
		goto out;
	}
	if (p != NULL) {
		if (strpbrk(rel, "\n\\") != NULL) {
			cli_error("cannot list %s in the manifest (a newline or backslash)", rel);
			goto out;
		}
		if (rf_feed(x, p, n) != 0 || rf_feed(x, zero, (TAR_BLOCK - n % TAR_BLOCK) % TAR_BLOCK) != 0)
			goto out;
		crypto_hash_sha256(digest, p, n);
		util_hex(digest, sizeof(digest), hex);
		if (strcmp(rel, "MANIFEST.txt") != 0 &&
		    buf_printf(&x->manifest, "%s  %s\n", hex, rel) != 0) {
			cli_error("the manifest is too large");
			goto out;
		}
		x->nfiles++;
	}
	rc = 0;
out:
	buf_free(&h);
	return rc;
}

/* fopencookie write: append to the secure buffer behind `c`. */
static ssize_t
mem_write(void *c, const char *p, size_t n)
{
	return buf_add(c, p, n) == 0 ? (ssize_t)n : -1;
}

/* Add report.txt, printed as `tips show` prints it into locked memory. Return 0, or -1. */
static int
rf_report_txt(struct rf_run *x)
{
	struct buf t;
	cookie_io_functions_t io = { .write = mem_write };
	char *vb = sodium_malloc(RF_STDIO_BUF);
	FILE *f = NULL;
	int bad = 1;
	buf_init_secure(&t, RF_TEXT_MAX);
	if (vb == NULL || (f = fopencookie(&t, "w", io)) == NULL ||
	    setvbuf(f, vb, _IOFBF, RF_STDIO_BUF) != 0)
		goto out;
	tips_open_print_report(f, x->c.meta, x->c.doc, x->c.quest);
	bad = fflush(f) != 0 || ferror(f);
out:
	if (f != NULL && fclose(f) != 0)
		bad = 1;
	if (vb != NULL)
		sodium_free(vb);
	if (bad)
		cli_error("cannot render report.txt");
	else
		bad = rf_member(x, "report.txt", t.data, t.len) != 0;
	buf_free(&t);
	return bad ? -1 : 0;
}

/* Add every reply, note or message (`key`, `kind`) under `key`/. Return 0, or -1. */
static int
rf_objects(struct rf_run *x, const char *key, const char *kind)
{
	json_t *arr = json_object_get(x->c.meta, key), *o, *out = NULL;
	char rel[160];
	size_t i;
	if (arr != NULL && !json_is_array(arr)) {
		cli_error("bad answer from the server: report %s has malformed %s", x->c.rid, key);
		return -1;
	}
	if (rf_member(x, key, NULL, 0) != 0)
		return -1;
	json_array_foreach(arr, i, o) {
		if (tips_case_object(&x->c, o, kind, &out) != 0) {
			cli_error("referral stopped at %s number %zu of report %s", kind, i + 1, x->c.rid);
			json_decref(out);
			return -1;
		}
		const char *oid = json_string_value(json_object_get(out, "id"));
		const char *on = json_string_value(json_object_get(out, "sent_on"));
		char *s = json_dumps(out, JSON_INDENT(2));
		snprintf(rel, sizeof(rel), "%s/%s_%s.json", key, on != NULL ? on : "undated", oid);
		int rc = s == NULL ? -1 : rf_member(x, rel, s, strlen(s));
		secmem_free(s);
		json_decref(out);
		out = NULL;
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Choose a name for an attachment not used before in this bundle (`name`
 * sanitized), into `out`. Return 0, or -1. */
static int
rf_unique(struct rf_run *x, const char *name, struct buf *out)
{
	for (unsigned k = 0; k <= REPORT_SUFFIX_MAX; k++) {
		int taken = 0;
		buf_reset(out);
		if ((k == 0 ? buf_adds(out, name) : buf_printf(out, "%u-%s", k, name)) != 0 ||
		    buf_cstr(out) == NULL)
			return -1;
		for (size_t i = 0; i < x->nnames && !taken; i++)
			taken = strcmp(x->names[i], buf_cstr(out)) == 0;
		if (taken)
			continue;
		if (x->nnames == RF_NAMES_MAX || (x->names[x->nnames] = strdup(buf_cstr(out))) == NULL)
			return -1;
		x->nnames++;
		return 0;
	}
	return -1;
}

/* Add every attachment under attachments/: the report's, then those the
 * source sent with its messages (listed by rf_objects from the signed
 * messages). Return 0, or -1 (printed). */
static int
rf_attachments(struct rf_run *x)
{
	struct buf pt, name, chosen, rel;
	size_t n = report_manifest_count(x->c.files), off = 0;
	int rc = rf_member(x, "attachments", NULL, 0);
	buf_init_secure(&pt, TIPS_ATTACH_MAX);
	buf_init_secure(&name, 4096);
	buf_init_secure(&chosen, 4096);
	buf_init_secure(&rel, 4200);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct report_att att;
		rc = -1;
		buf_reset(&pt);
		buf_reset(&name);
		buf_reset(&rel);
		if (report_manifest_get(x->c.files, i, &att) != REPORT_OK) {
			cli_error("refusing attachment %zu of report %s: malformed manifest entry", i + 1,
			          x->c.rid);
			break;
		}
		if (tips_open_fetch_attachment(&x->a, x->c.id, x->c.rid, &att, &pt, &off) != 0)
			break;
		if (report_sanitize_name(att.name, &name) != 0 || buf_cstr(&name) == NULL ||
		    rf_unique(x, buf_cstr(&name), &chosen) != 0 ||
		    buf_printf(&rel, "attachments/%s", buf_cstr(&chosen)) != 0 ||
		    buf_cstr(&rel) == NULL) {
			cli_error("cannot name attachment %zu of report %s", i + 1, x->c.rid);
			break;
		}
		rc = rf_member(x, buf_cstr(&rel), pt.data + off, (size_t)att.size);
	}
	buf_free(&pt);
	buf_free(&name);
	buf_free(&chosen);
	buf_free(&rel);
	return rc;
}

/* Stream the whole bundle into the encryptor and finish the age file. Return 0, or -1. */
static int
rf_bundle(struct rf_run *x)
{
	uint8_t zero[2 * TAR_BLOCK] = { 0 };
	if (rf_member(x, "", NULL, 0) != 0 || rf_report_txt(x) != 0 ||
	    buf_add(&x->c.json, "\n", 1) != 0 ||
	    rf_member(x, "report.json", x->c.json.data, x->c.json.len) != 0 ||
	    rf_objects(x, "messages", "message") != 0 || rf_objects(x, "replies", "reply") != 0 ||
	    rf_objects(x, "notes", "note") != 0 || rf_attachments(x) != 0 ||
	    rf_member(x, "MANIFEST.txt", x->manifest.data, x->manifest.len) != 0 ||
	    rf_feed(x, zero, sizeof(zero)) != 0)
		return -1;
	if (age_enc_final(x->enc, &x->ct) != 0 || rf_flush(x) != 0 || fsync(x->fd) != 0) {
		cli_error("cannot finish the encrypted bundle: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Create FILE and write the age header for the partner's key alone. Return 0, or -1. */
static int
rf_start_file(struct rf_run *x, const char *out)
{
	uint8_t *fk = sodium_malloc(AGE_FILE_KEY_LEN);
	int rc = -1;
	x->fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (x->fd < 0) {
		cli_error("cannot create %s: %s", out,
		          errno == EEXIST ? "it exists (refer into a new file)" : strerror(errno));
		goto out;
	}
	if (fk == NULL || fchmod(x->fd, 0600) != 0)
		goto out;
	age_file_key_new(fk);
	if (age_header_x25519(fk, (const uint8_t(*)[AGE_KEY_LEN])x->p.x25519_pk, 1, &x->ct) != 0 ||
	    (x->enc = age_enc_new(fk)) == NULL || rf_flush(x) != 0) {
		cli_error("cannot start the encrypted bundle");
		goto out;
	}
	rc = 0;
out:
	if (fk != NULL)
		sodium_free(fk);
	return rc;
}

/* Return 1 if the source agreed to referral in the decrypted report, else 0. */
static int
rf_consented(json_t *doc)
{
	json_t *a = json_object_get(json_object_get(doc, "answers"), TIPS_REFER_CONSENT_Q);
	return json_is_string(a) && strcmp(json_string_value(a), "yes") == 0;
}

/* Verify the partner and ask the investigator. Return 0 to go on, or an exit code. */
static int
rf_confirm(struct rf_run *x, const struct rf_opts *o)
{
	char q[512], signer[256];
	if (admin_partners_fetch(&x->a, o->to, &x->p, signer, sizeof(signer)) != 0)
		return CLI_ERR;
	printf("partner %s: age key %s\n", x->p.name, x->p.recipient);
	printf("pinned by the admin key %s\n", signer);
	snprintf(q, sizeof(q), "Refer report %s to %s? Whoever holds its key reads the whole case.",
	         o->id, x->p.name);
	int yes = o->yes ? 1 : cli_ask(q, "--yes");
	if (yes == 0)
		printf("nothing was written or sent\n");
	return yes == 1 ? 0 : CLI_ERR;
}

/* Record the referral on the server. Return 0, or -1 (printed). */
static int
rf_record(struct rf_run *x)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/reports/%s/referral", x->c.rid);
	return api_send(&x->a, "POST", path, json_pack("{s:s}", "partner", x->p.name), "the report",
	                NULL);
}

/* Fetch, check consent, build the file and record it. Return an exit code. */
static int
rf_run_all(struct rf_run *x, const struct rf_opts *o)
{
	int rc;
	if (api_open(&x->a) != 0)
		return CLI_ERR;
	if ((rc = rf_confirm(x, o)) != 0)
		return rc;
	if (tips_case_open(&x->c, &x->a, o->identity, o->pass_file) != 0)
		return CLI_ERR;
	if (!rf_consented(x->c.doc)) {
		cli_error("report %s: the source did not agree to a referral (question %s): refusing; "
		          "nothing was written or sent", o->id, TIPS_REFER_CONSENT_Q);
		return CLI_ERR;
	}
	if (tips_case_context(&x->c, &x->a) != 0 || rf_start_file(x, o->out) != 0)
		return CLI_ERR;
	if (rf_bundle(x) != 0 || close(x->fd) != 0) {
		x->fd = -1;
		(void)unlink(o->out);
		cli_error("referral of report %s stopped: %s was removed; nothing was sent", o->id,
		          o->out);
		return CLI_ERR;
	}
	x->fd = -1;
	if (rf_record(x) != 0) {
		(void)unlink(o->out);
		cli_error("the server did not record the referral: %s was removed; report %s is not "
		          "referred", o->out, o->id);
		return CLI_ERR;
	}
	printf("referred report %s to %s: %s (%llu bytes, %zu files), encrypted to %s only\n", o->id,
	       x->p.name, o->out, (unsigned long long)x->written, x->nfiles, x->p.recipient);
	printf("the partner opens it with: age -d -i THEIR-KEY %s | tar -x\n", o->out);
	return CLI_OK;
}

int
tips_refer_main(int argc, char **argv)
{
	struct rf_opts o;
	struct rf_run x;
	int rc = rf_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	memset(&x, 0, sizeof(x));
	x.fd = -1;
	tips_case_init(&x.c, o.id);
	buf_init_secure(&x.manifest, TIPS_EXPORT_MANIFEST_MAX);
	buf_init(&x.ct, 2 * AGE_CHUNK_SIZE + AGE_MAX_HEADER);
	rc = rf_run_all(&x, &o);
	if (x.fd >= 0) {
		close(x.fd);
		(void)unlink(o.out);
	}
	for (size_t i = 0; i < x.nnames; i++) {
		sodium_memzero(x.names[i], strlen(x.names[i]));
		free(x.names[i]);
	}
	age_enc_free(x.enc);
	tips_case_free(&x.c);
	api_close(&x.a);
	buf_free(&x.manifest);
	buf_free(&x.ct);
	return rc;
}

int
tips_refer_hold_main(int argc, char **argv)
{
	struct api a;
	char path[128];
	int release = 0, rc = CLI_USAGE;
	const char *id = NULL;
	memset(&a, 0, sizeof(a));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(hold_usage, stdout);
			rc = CLI_OK;
			goto out;
		}
		if (strcmp(argv[i], "--release") == 0)
			release = 1;
		else if (id == NULL && strlen(argv[i]) == 36 && util_uuid_valid(argv[i]))
			id = argv[i];
		else
			id = "";
	}
	if (id == NULL || id[0] == '\0') {
		cli_error("hold: give exactly one report ID (and --release to end the hold)");
		fputs(hold_usage, stderr);
		goto out;
	}
	rc = CLI_ERR;
	snprintf(path, sizeof(path), "/api/v1/reports/%s/hold", id);
	if (api_open(&a) != 0 ||
	    api_send(&a, "POST", path, json_pack("{s:b}", "hold", !release), "the report", NULL) != 0)
		goto out;
	printf(release ? "report %s: legal hold released; retention applies again\n"
	               : "report %s: under legal hold; tipd purge will not delete it\n", id);
	rc = CLI_OK;
out:
	api_close(&a);
	return rc;
}
