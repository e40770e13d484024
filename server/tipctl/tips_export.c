#include "tips_export.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "opts.h"
#include "report.h"
#include "secmem.h"
#include "tips_case.h"
#include "tips_cmd.h"
#include "tips_open.h"
#include "util.h"

#define EX_STDIO_BUF 65536 /* locked stdio buffer for report.txt */
#define EX_PATH_MAX 4096

static const char ex_usage[] =
	"usage: tipctl tips export ID --out DIR [--identity PATH] [--passphrase-file FILE]\n"
	"\n"
	"Decrypt report ID and everything that belongs to it into a new directory\n"
	"DIR/ID/ (mode 0700), to hand the case on:\n"
	"\n"
	"  report.txt     the report as `tipctl tips show` prints it\n"
	"  report.json    the decrypted report document\n"
	"  messages/      the source's messages, one JSON file each (DATE_ID.json)\n"
	"  replies/       the team's replies to the source, signatures checked\n"
	"  notes/         the team's internal notes, signatures checked\n"
	"  attachments/   the source's files, checked against the report's manifest,\n"
	"                 and those it sent with its messages, against each signed message\n"
	"                 (size, padding, SHA-256), with sanitized names\n"
	"  MANIFEST.txt   the SHA-256 of every file; the recipient checks the bundle\n"
	"                 with `cd DIR/ID && sha256sum -c MANIFEST.txt`\n"
	"\n"
	"DIR must exist and DIR/ID must not. Every file is new, mode 0600; symbolic\n"
	"links are never followed (DIR itself may not be one). Reply and note\n"
	"authors are checked against the team's membership when an admin key is\n"
	"pinned (tipctl login --admin-key).\n"
	"\n"
	"If anything fails to decrypt or verify, the export stops and says what and\n"
	"where; the files already written stay, MANIFEST.txt is not written and the\n"
	"exit code is 1: do not hand on a bundle without MANIFEST.txt.\n"
	"\n"
	"The bundle is plaintext: keep it on an encrypted disk and delete it when the\n"
	"case is handed on.\n"
	"\n"
	"  --out DIR              where to create the bundle directory\n"
	"  --identity PATH        identity file (default $TIPLINE_HOME/identity.age)\n"
	"  --passphrase-file FILE take the passphrase from the first line of FILE\n";

/* Options of export. */
struct ex_opts {
	const char *id, *out, *identity, *pass_file;
	char rid[37]; /* the id, resolved from a prefix */
};

/* What an export holds while it runs. */
struct ex_run {
	struct api a;
	struct tips_case c;  /* the report, its questionnaire, membership and files */
	struct buf manifest; /* MANIFEST.txt so far */
	char where[EX_PATH_MAX]; /* DIR/ID, for messages */
	int outfd, bfd;      /* DIR and DIR/ID */
	size_t nfiles;
};

/* Parse export's options; return -1 to go on, or an exit code. */
static int
ex_parse(int argc, char **argv, struct ex_opts *o)
{
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_STR("out", &o->out), OPT_IDENTITY(&o->identity),
		                    OPT_PASS_FILE(&o->pass_file), OPT_END };
	int rc = opts_parse(argc, argv, opts, "export", ex_usage);
	if (rc != OPTS_GO || (rc = tips_cmd_id_operand(argc, argv, "export", ex_usage, &o->id)) !=
	                             OPTS_GO)
		return rc;
	if (o->out == NULL || o->out[0] == '\0')
		return opts_usage_error(ex_usage, "export: --out DIR is required");
	return OPTS_GO;
}

int
tips_export_manifest_add(int dirfd, const char *name, const char *rel, struct buf *manifest)
{
	crypto_hash_sha256_state st;
	uint8_t h[32], *chunk = NULL;
	char hex[65];
	struct stat sb;
	ssize_t r;
	int fd = -1, rc = -1, e = EIO;
	if (strpbrk(rel, "\n\\") != NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((chunk = sodium_malloc(65536)) == NULL ||
	    (fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
		e = errno;
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		e = EINVAL;
		goto fail;
	}
	crypto_hash_sha256_init(&st);
	while ((r = read(fd, chunk, 65536)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto fail;
		}
		crypto_hash_sha256_update(&st, chunk, (unsigned long long)r);
	}
	crypto_hash_sha256_final(&st, h);
	util_hex(h, sizeof(h), hex);
	if (buf_printf(manifest, "%s  %s\n", hex, rel) != 0) {
		e = ENOSPC;
		goto fail;
	}
	rc = 0;
fail:
	if (fd >= 0)
		close(fd);
	if (chunk != NULL)
		sodium_free(chunk);
	sodium_memzero(&st, sizeof(st));
	errno = e;
	return rc;
}

/* Open a new file `name` in `dfd` (O_EXCL, O_NOFOLLOW, exactly 0600). Return the fd, or -1. */
static int
ex_create(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		(void)unlinkat(dfd, name, 0);
		errno = e;
		return -1;
	}
	return fd;
}

/* Write `n` bytes to the new file `name` in `dfd` and fsync it (removed again
 * if that fails). Return 0, or -1 with errno set. */
static int
ex_write_new(int dfd, const char *name, const void *p, size_t n)
{
	int fd = ex_create(dfd, name);
	return fd < 0 ? -1 : report_fill_new(dfd, name, fd, p, n);
}

/* Add file `name` of `dfd`, called `rel` in the bundle, to the manifest. Return 0, or -1 (printed). */
static int
ex_list(struct ex_run *x, int dfd, const char *name, const char *rel)
{
	if (tips_export_manifest_add(dfd, name, rel, &x->manifest) != 0) {
		cli_error("cannot hash %s/%s for the manifest: %s", x->where, rel, strerror(errno));
		return -1;
	}
	x->nfiles++;
	return 0;
}

/* Make the new directory `name` (0700) in `dfd` and open it. Return its fd, or -1 (printed). */
static int
ex_mkdir(struct ex_run *x, int dfd, const char *name, const char *shown)
{
	int fd = -1;
	if (mkdirat(dfd, name, 0700) != 0 ||
	    (fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchmod(fd, 0700) != 0) {
		cli_error("cannot create the directory %s%s%s: %s", x->where, shown[0] ? "/" : "",
		          shown, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Write report.txt as `tips show` prints it, through a locked stdio buffer. Return 0, or -1. */
static int
ex_report_txt(struct ex_run *x)
{
	char *vb = sodium_malloc(EX_STDIO_BUF);
	FILE *f = NULL;
	int fd = -1, bad = 1;
	if (vb == NULL || (fd = ex_create(x->bfd, "report.txt")) < 0 || (f = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	if (setvbuf(f, vb, _IOFBF, EX_STDIO_BUF) != 0)
		goto out;
	tips_open_print_report(f, x->c.meta, x->c.doc, x->c.quest);
	bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
out:;
	int e = errno;
	if (f != NULL && fclose(f) != 0)
		bad = 1;
	if (fd >= 0)
		close(fd);
	if (vb != NULL)
		sodium_free(vb);
	if (bad) {
		cli_error("cannot write %s/report.txt: %s", x->where, strerror(e));
		return -1;
	}
	return ex_list(x, x->bfd, "report.txt", "report.txt");
}

/* Write report.json. Return 0, or -1 (printed). */
static int
ex_report_json(struct ex_run *x)
{
	if (buf_add(&x->c.json, "\n", 1) != 0 ||
	    ex_write_new(x->bfd, "report.json", x->c.json.data, x->c.json.len) != 0) {
		cli_error("cannot write %s/report.json: %s", x->where, strerror(errno));
		return -1;
	}
	return ex_list(x, x->bfd, "report.json", "report.json");
}

/* Return `o` as indented JSON ending in a newline (secmem_free), or NULL. */
static char *
ex_dumps(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2)), *t = NULL;
	size_t n = s != NULL ? strlen(s) : 0;
	if (s != NULL && (t = malloc(n + 2)) != NULL) {
		memcpy(t, s, n);
		memcpy(t + n, "\n", 2);
	}
	secmem_free(s);
	return t;
}

/* Decrypt, check and write one object `o` of `kind` into `dfd` (`sub`). Return 0, or -1 (printed). */
static int
ex_object(struct ex_run *x, json_t *o, const char *kind, int dfd, const char *sub, size_t i)
{
	json_t *out = NULL;
	char *s = NULL, name[96], rel[160];
	int rc = -1;
	if (tips_case_object(&x->c, o, kind, &out) != 0)
		goto fail;
	/* open_checked vouched for "id" (a uuid) and "sent_on" (a date or null). */
	const char *oid = json_string_value(json_object_get(out, "id"));
	const char *on = json_string_value(json_object_get(out, "sent_on"));
	snprintf(name, sizeof(name), "%s_%s.json", on != NULL ? on : "undated", oid);
	snprintf(rel, sizeof(rel), "%s/%s", sub, name);
	if ((s = ex_dumps(out)) == NULL || ex_write_new(dfd, name, s, strlen(s)) != 0) {
		cli_error("cannot write %s/%s: %s", x->where, rel, s == NULL ? "out of memory"
		          : errno == EEXIST ? "the server listed it twice" : strerror(errno));
		goto fail;
	}
	rc = ex_list(x, dfd, name, rel);
fail:
	if (rc != 0)
		cli_error("export stopped at %s number %zu of report %s (for %s/%s)", kind, i + 1,
		          x->c.rid, x->where, sub);
	secmem_free(s);
	json_decref(out);
	return rc;
}

/* Export every object of `key` ("replies", ...) into the new directory `key`. Return 0, or -1. */
static int
ex_objects(struct ex_run *x, const char *key, const char *kind)
{
	json_t *arr = json_object_get(x->c.meta, key), *o;
	size_t i;
	int dfd, rc = 0;
	if (arr != NULL && !json_is_array(arr)) {
		cli_error("bad answer from the server: report %s has malformed %s", x->c.rid, key);
		return -1;
	}
	if ((dfd = ex_mkdir(x, x->bfd, key, key)) < 0)
		return -1;
	json_array_foreach(arr, i, o) {
		if ((rc = ex_object(x, o, kind, dfd, key, i)) != 0)
			break;
	}
	if (rc == 0 && fsync(dfd) != 0)
		rc = -1;
	close(dfd);
	return rc;
}

/* Download, check and write every attachment: the report's, then those the
 * source sent with its messages (listed by ex_object from the signed
 * messages). Return 0, or -1 (printed). */
static int
ex_attachments(struct ex_run *x, const char *rid)
{
	char shown[EX_PATH_MAX + 16], rel[EX_PATH_MAX];
	struct buf chosen;
	size_t n = report_manifest_count(x->c.files);
	int dfd, rc = 0;
	if ((dfd = ex_mkdir(x, x->bfd, "attachments", "attachments")) < 0)
		return -1;
	snprintf(shown, sizeof(shown), "%s/attachments", x->where);
	buf_init(&chosen, 4096);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct report_att att;
		rc = -1;
		buf_reset(&chosen);
		if (report_manifest_get(x->c.files, i, &att) != REPORT_OK) {
			cli_error("refusing attachment %zu of report %s: malformed manifest entry", i + 1,
			          rid);
			break;
		}
		if (tips_open_get_one(&x->a, x->c.id, rid, &att, dfd, shown, &chosen) != 0 ||
		    buf_cstr(&chosen) == NULL)
			break;
		snprintf(rel, sizeof(rel), "attachments/%s", buf_cstr(&chosen));
		rc = ex_list(x, dfd, buf_cstr(&chosen), rel);
	}
	if (rc == 0 && fsync(dfd) != 0)
		rc = -1;
	buf_free(&chosen);
	close(dfd);
	return rc;
}

/* Open DIR and check that DIR/ID does not exist yet. Return 0, or -1 (printed). */
static int
ex_open_out(struct ex_run *x, const struct ex_opts *o)
{
	struct stat st;
	int l = snprintf(x->where, sizeof(x->where), "%s/%s", o->out, o->id);
	if (l < 0 || (size_t)l >= sizeof(x->where)) {
		cli_error("export: --out is too long");
		return -1;
	}
	if ((x->outfd = open(o->out, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		int e = errno;
		cli_error("cannot open directory %s: %s", o->out,
		          lstat(o->out, &st) == 0 && S_ISLNK(st.st_mode)
		                  ? "it is a symbolic link (give the directory it points to)"
		                  : strerror(e));
		return -1;
	}
	if (fstatat(x->outfd, o->id, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
		cli_error("%s already exists: refusing to export into it", x->where);
		return -1;
	}
	return 0;
}

/* Fetch and decrypt what the bundle needs before anything is written. Return 0, or -1. */
static int
ex_fetch(struct ex_run *x, const struct ex_opts *o)
{
	if (tips_case_open(&x->c, &x->a, o->identity, o->pass_file) != 0)
		return -1;
	return tips_case_context(&x->c, &x->a);
}

/* Write the bundle into the new DIR/ID. Return 0, or -1 (printed). */
static int
ex_write(struct ex_run *x, const char *rid)
{
	if (mkdirat(x->outfd, rid, 0700) != 0) {
		if (errno == EEXIST)
			cli_error("%s already exists: refusing to export into it", x->where);
		else
			cli_error("cannot create %s: %s", x->where, strerror(errno));
		return -1;
	}
	if ((x->bfd = openat(x->outfd, rid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchmod(x->bfd, 0700) != 0) {
		cli_error("cannot open %s: %s", x->where, strerror(errno));
		return -1;
	}
	if (ex_report_txt(x) != 0 || ex_report_json(x) != 0 ||
	    ex_objects(x, "messages", "message") != 0 || ex_objects(x, "replies", "reply") != 0 ||
	    ex_objects(x, "notes", "note") != 0 || ex_attachments(x, rid) != 0)
		return -1;
	if (ex_write_new(x->bfd, "MANIFEST.txt", x->manifest.data, x->manifest.len) != 0 ||
	    fsync(x->bfd) != 0 || fsync(x->outfd) != 0) {
		cli_error("cannot write %s/MANIFEST.txt: %s", x->where, strerror(errno));
		return -1;
	}
	return 0;
}

int
tips_export_main(int argc, char **argv)
{
	struct ex_opts o;
	struct ex_run x;
	int rc = ex_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = CLI_ERR;
	memset(&x, 0, sizeof(x));
	x.outfd = x.bfd = -1;
	tips_case_init(&x.c, o.id);
	buf_init(&x.manifest, TIPS_EXPORT_MANIFEST_MAX);
	if (api_open(&x.a) != 0 || tips_cmd_resolve_id(&x.a, o.id, o.rid) != 0)
		goto out;
	o.id = x.c.rid = o.rid;
	if (ex_open_out(&x, &o) != 0 || ex_fetch(&x, &o) != 0)
		goto out;
	if (ex_write(&x, o.id) != 0) {
		if (x.bfd >= 0)
			cli_error("export of report %s stopped: %s is incomplete and has no MANIFEST.txt; "
			          "do not hand it on", o.id, x.where);
		goto out;
	}
	tips_open_mark_seen(&x.a, o.id, x.c.meta);
	printf("exported report %s: %zu files and MANIFEST.txt in %s\n", o.id, x.nfiles, x.where);
	printf("the recipient checks it with: cd %s && sha256sum -c MANIFEST.txt\n", x.where);
	printf("these files are plaintext: keep them on an encrypted disk\n");
	rc = CLI_OK;
out:
	if (x.bfd >= 0)
		close(x.bfd);
	if (x.outfd >= 0)
		close(x.outfd);
	tips_case_free(&x.c);
	api_close(&x.a);
	buf_free(&x.manifest);
	return rc;
}
