#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "config.h"
#include "log.h"
#include "membership.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

#define AUDIT_MAGIC "tipline/v1/audit"
#define AUDIT_KEY_MAX 1024
#define AUDIT_SYNC_PAGE 100000 /* leaf hashes the signer reads per query */

static const char *const action_codes[AUDIT_ACTION_COUNT] = {
	[AUDIT_LOGIN] = "login",
	[AUDIT_LOGOUT] = "logout",
	[AUDIT_REPORT_LIST] = "report_list",
	[AUDIT_REPORT_FETCH] = "report_fetch",
	[AUDIT_ATTACHMENT_FETCH] = "attachment_fetch",
	[AUDIT_REPORT_PATCH] = "report_patch",
	[AUDIT_REPLY_POST] = "reply_post",
	[AUDIT_NOTE_POST] = "note_post",
	[AUDIT_INVITE_CREATE] = "invite_create",
	[AUDIT_ENROLL] = "enroll",
	[AUDIT_ENROLL_APPROVE] = "enroll_approve",
	[AUDIT_MEMBER_REVOKE] = "member_revoke",
	[AUDIT_HEADERS_ADD] = "headers_add",
	[AUDIT_LABEL_ADD] = "label_add",
	[AUDIT_LABEL_REMOVE] = "label_remove",
	[AUDIT_OPERATOR_INVITE] = "operator_invite",
	[AUDIT_MEMBERSHIP_FETCH] = "membership_fetch",
	[AUDIT_ENROLL_REJECT] = "enroll_reject",
	[AUDIT_ADMIN_ADD] = "admin_add",
	[AUDIT_ADMIN_REMOVE] = "admin_remove",
	[AUDIT_ADMINS_FETCH] = "admins_fetch",
	[AUDIT_KEYS_CHECK] = "keys_check",
	[AUDIT_KEY_ROTATE] = "audit_key_rotate",
	[AUDIT_PARTNER_ADD] = "partner_add",
	[AUDIT_PARTNER_REMOVE] = "partner_remove",
	[AUDIT_REPORT_REFER] = "report_refer",
	[AUDIT_REPORT_HOLD] = "report_hold",
	[AUDIT_REPORT_RELEASE] = "report_release",
	[AUDIT_RETENTION_SET] = "retention_set",
	[AUDIT_REPORT_PURGE] = "report_purge",
	[AUDIT_MEMBER_ROTATE] = "member_rotate",
	[AUDIT_MEMBER_ROTATE_DONE] = "member_rotate_done",
};

struct audit {
	char *conninfo;
	char *key_path;
	struct note_signer *signer;
	struct note_verifier *verifier;
	char *vkey;
	unsigned every;       /* sign after this many new entries */
	unsigned interval_s;  /* or after this long, if the log grew */
	/* the signer thread's view of the log: the frontier of the leaves read
	 * so far (O(log n) memory), and the newest checkpoint checked against
	 * them (signed by us, or by another host and found to match) */
	struct merkle_frontier f;
	uint64_t checked_size;
	uint8_t checked_root[MERKLE_HASH_LEN];
	bool have_checked;
	uint64_t signed_size;
	bool have_signed;
	time_t signed_at;
	/* the thread */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool locks, started, stop;
};

const char *
audit_action_code(enum audit_action a)
{
	return (unsigned)a < AUDIT_ACTION_COUNT ? action_codes[a] : NULL;
}

int
audit_action_parse(const char *code)
{
	for (int i = 0; i < AUDIT_ACTION_COUNT; i++)
		if (strcmp(code, action_codes[i]) == 0)
			return i;
	return -1;
}

/* The hex SHA-256 of a 32-byte Ed25519 key. */
static void
key_hex(const uint8_t *pk, char out[65])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, pk, 32);
	util_hex(h, sizeof(h), out);
}

/* Return 1 if `s` is a label name (as the labels table allows). */
static int
label_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n &&
	       s[0] != '.' && s[0] != '_' && s[0] != '-';
}

/* Return 1 if `subject` (not "-") is valid for action `a`. */
static int
subject_ok(enum audit_action a, const char *subject)
{
	size_t pl = strlen(AUDIT_LABEL_PREFIX);
	if (a == AUDIT_LABEL_ADD || a == AUDIT_LABEL_REMOVE)
		return strncmp(subject, AUDIT_LABEL_PREFIX, pl) == 0 && label_ok(subject + pl);
	return strlen(subject) == 64 && strspn(subject, "0123456789abcdef") == 64;
}

/* audit_entry_format with the subject as text ("-" if NULL). */
static int
entry_format(struct buf *out, int64_t when, enum audit_action a, const uint8_t *actor_pk,
             const char *team, const char *object, const char *subject)
{
	char actor[65] = "operator";
	const char *code = audit_action_code(a);
	if (code == NULL || when < 0 || (team != NULL && !membership_team_valid(team)) ||
	    (object != NULL && !util_uuid_valid(object)) ||
	    (subject != NULL && !subject_ok(a, subject)))
		return -1;
	if (actor_pk != NULL)
		key_hex(actor_pk, actor);
	return buf_printf(out, AUDIT_MAGIC " %lld %s %s %s %s %s", (long long)when, code, actor,
	                  team != NULL ? team : "-", object != NULL ? object : "-",
	                  subject != NULL ? subject : "-");
}

int
audit_entry_format(struct buf *out, int64_t when, enum audit_action a, const uint8_t *actor_pk,
                   const char *team, const char *object, const uint8_t *subject_pk)
{
	char subject[65];
	if (subject_pk != NULL)
		key_hex(subject_pk, subject);
	return entry_format(out, when, a, actor_pk, team, object, subject_pk != NULL ? subject : NULL);
}

int
audit_entry_format_label(struct buf *out, int64_t when, enum audit_action a,
                         const uint8_t *actor_pk, const char *label)
{
	char subject[80];
	int n = snprintf(subject, sizeof(subject), AUDIT_LABEL_PREFIX "%s", label);
	if ((a != AUDIT_LABEL_ADD && a != AUDIT_LABEL_REMOVE) || n < 0 || (size_t)n >= sizeof(subject))
		return -1;
	return entry_format(out, when, a, actor_pk, NULL, NULL, subject);
}

/* Copy the next space-separated field of [*p, end) into `out` (at most max - 1 bytes). */
static int
field(const char **p, const char *end, char *out, size_t max, bool last)
{
	const char *s = *p, *e = s;
	while (e < end && *e != ' ')
		e++;
	size_t n = (size_t)(e - s);
	if (n == 0 || n >= max || (last ? e != end : e == end))
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = last ? e : e + 1;
	return 0;
}

static int
hex64_ok(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int
audit_entry_parse(const char *p, size_t len, struct audit_fields *f)
{
	const char *end = p + len;
	char magic[sizeof(AUDIT_MAGIC)], when[24];
	uint64_t t;
	memset(f, 0, sizeof(*f));
	if (len > AUDIT_ENTRY_MAX || field(&p, end, magic, sizeof(magic), false) != 0 ||
	    strcmp(magic, AUDIT_MAGIC) != 0 || field(&p, end, when, sizeof(when), false) != 0 ||
	    util_parse_u64(when, INT64_MAX, &t) != 0 ||
	    field(&p, end, f->action, sizeof(f->action), false) != 0 ||
	    field(&p, end, f->actor, sizeof(f->actor), false) != 0 ||
	    field(&p, end, f->team, sizeof(f->team), false) != 0 ||
	    field(&p, end, f->object, sizeof(f->object), false) != 0 ||
	    field(&p, end, f->subject, sizeof(f->subject), true) != 0)
		goto fail;
	f->when = (int64_t)t;
	if (audit_action_parse(f->action) < 0 ||
	    (strcmp(f->actor, "operator") != 0 && !hex64_ok(f->actor)))
		goto fail;
	if (strcmp(f->team, "-") == 0)
		f->team[0] = '\0';
	else if (!membership_team_valid(f->team))
		goto fail;
	if (strcmp(f->object, "-") == 0)
		f->object[0] = '\0';
	else if (!util_uuid_valid(f->object))
		goto fail;
	if (strcmp(f->subject, "-") == 0)
		f->subject[0] = '\0';
	else if (!subject_ok((enum audit_action)audit_action_parse(f->action), f->subject))
		goto fail;
	return 0;
fail:
	memset(f, 0, sizeof(*f));
	return -1;
}

/* ---- appends ---- */

/*
 * Write the entry of action `a` split around the one field SQL fills in
 * (audit.h).
 */
int
audit_entry_parts(enum audit_action a, const uint8_t *actor, bool lookup_actor, const char *object,
                  const uint8_t *subject, struct buf *pre, struct buf *post)
{
	char ahex[65], shex[65] = "-";
	const char *code = audit_action_code(a);
	if (code == NULL || (object != NULL && !util_uuid_valid(object)))
		return -1;
	if (lookup_actor)
		return buf_printf(pre, AUDIT_MAGIC " %lld %s ", (long long)time(NULL), code) == 0 &&
		       buf_adds(post, " - - -") == 0 && buf_cstr(pre) != NULL && buf_cstr(post) != NULL
		       ? 0 : -1;
	key_hex(actor, ahex);
	if (subject != NULL)
		key_hex(subject, shex);
	return buf_printf(pre, AUDIT_MAGIC " %lld %s %s ", (long long)time(NULL), code, ahex) == 0 &&
	       buf_printf(post, " %s %s", object != NULL ? object : "-", shex) == 0 &&
	       buf_cstr(pre) != NULL && buf_cstr(post) != NULL ? 0 : -1;
}

int
audit_entry_prefix(struct buf *out, int64_t when, enum audit_action a, const uint8_t *actor_pk,
                   const char *team)
{
	char actor[65];
	const char *code = audit_action_code(a);
	if (code == NULL || when < 0 || actor_pk == NULL || team == NULL ||
	    !membership_team_valid(team))
		return -1;
	key_hex(actor_pk, actor);
	return buf_printf(out, AUDIT_MAGIC " %lld %s %s %s ", (long long)when, code, actor, team) ==
	               0 && buf_cstr(out) != NULL
	       ? 0
	       : -1;
}

static int
exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	int ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	                         PQresultStatus(res) == PGRES_TUPLES_OK);
	if (!ok)
		log_error("audit: %s", res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "no result");
	PQclear(res);
	return ok ? 0 : -1;
}

int
audit_append_in(PGconn *c, enum audit_action a, const char *team, const char *object,
                const uint8_t *subject)
{
	struct buf e;
	uint8_t leaf[MERKLE_HASH_LEN];
	int rc = -1;
	buf_init(&e, AUDIT_ENTRY_MAX);
	if (audit_entry_format(&e, time(NULL), a, NULL, team, object, subject) != 0)
		goto out;
	merkle_leaf_hash(e.data, e.len, leaf);
	const char *v[2] = { (const char *)e.data, (const char *)leaf };
	const int lens[2] = { (int)e.len, MERKLE_HASH_LEN }, fmts[2] = { 1, 1 };
	if (exec_ok(c, AUDIT_SQL_LOCK) != 0)
		goto out;
	PGresult *res = PQexecParams(c, AUDIT_SQL_APPEND, 2, NULL, v, lens, fmts, 0);
	rc = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		log_error("audit: append failed (%s)",
		          res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "no result");
	PQclear(res);
out:
	buf_free(&e);
	return rc;
}

int
audit_append_blocking(PGconn *c, enum audit_action a, const char *team, const char *object,
                      const uint8_t *subject)
{
	if (exec_ok(c, "BEGIN") != 0)
		return -1;
	if (audit_append_in(c, a, team, object, subject) == 0 && exec_ok(c, "COMMIT") == 0)
		return 0;
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

/* ---- the signing key ---- */

/* The key name for `origin` ("https://host[:port][/...]"): "<host[:port]>/audit". */
static void
key_name(const char *origin, char *out, size_t n)
{
	const char *h = origin != NULL && strncmp(origin, "https://", 8) == 0 ? origin + 8 : NULL;
	size_t hl = h != NULL ? strcspn(h, "/") : 0;
	if (hl == 0 || hl > 100) {
		snprintf(out, n, "tipline/audit");
		return;
	}
	snprintf(out, n, "%.*s/audit", (int)hl, h);
	if (!note_name_valid(out))
		snprintf(out, n, "tipline/audit");
}

/* Create the key file `path` with a new key. Return 0, -1 (EEXIST: someone else did). */
static int
key_create(const char *path, const char *name)
{
	struct buf st, vt;
	int fd = -1, rc = -1;
	buf_init_secure(&st, AUDIT_KEY_MAX);
	buf_init(&vt, AUDIT_KEY_MAX);
	if (note_keygen(name, &st, &vt) != 0 || buf_adds(&st, "\n") != 0) {
		errno = EINVAL;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (util_write_all(fd, st.data, st.len) != 0 || fsync(fd) != 0) {
		(void)unlink(path);
		goto out;
	}
	rc = 0;
	log_info("audit: made a new checkpoint key %s", path);
out:
	if (fd >= 0)
		close(fd);
	buf_free(&st);
	buf_free(&vt);
	return rc;
}

/* Read the signer key at `path` (regular file, ours, not readable by others). */
static struct note_signer *
key_load(const char *path, char *err, size_t errlen)
{
	struct buf b;
	struct stat sb;
	struct note_signer *s = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	buf_init_secure(&b, AUDIT_KEY_MAX);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0 || sb.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: must be a regular file of ours with mode 0600", path);
		goto out;
	}
	if (buf_reserve(&b, AUDIT_KEY_MAX) != 0)
		goto bad;
	while ((n = read(fd, b.data + b.len, AUDIT_KEY_MAX - b.len)) > 0)
		b.len += (size_t)n;
	if (n < 0 || b.len == AUDIT_KEY_MAX)
		goto bad;
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.len--;
	if ((s = note_signer_parse((const char *)b.data, b.len)) != NULL)
		goto out;
bad:
	snprintf(err, errlen, "%s: not a signed-note private key", path);
out:
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	return s;
}

static int
audit_key_setup(struct audit *a, const struct tipd_config *cfg, char *err, size_t errlen)
{
	char name[NOTE_NAME_MAX + 1];
	struct buf path, vt;
	int rc = -1;
	buf_init(&path, 4096);
	buf_init(&vt, AUDIT_KEY_MAX);
	if (buf_printf(&path, "%s/%s", cfg->state_dir, AUDIT_KEY_FILE) != 0 ||
	    (a->key_path = strdup(buf_cstr(&path))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	key_name(cfg->review_origin, name, sizeof(name));
	if (key_create(a->key_path, name) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", a->key_path, strerror(errno));
		goto out;
	}
	if ((a->signer = key_load(a->key_path, err, errlen)) == NULL)
		goto out;
	if ((a->verifier = note_signer_verifier(a->signer)) == NULL ||
	    note_verifier_text(a->verifier, &vt) != 0 || buf_cstr(&vt) == NULL ||
	    (a->vkey = strdup(buf_cstr(&vt))) == NULL) {
		snprintf(err, errlen, "cannot derive the audit verifier key");
		goto out;
	}
	rc = 0;
out:
	buf_free(&path);
	buf_free(&vt);
	return rc;
}

struct audit *
audit_new(const struct tipd_config *cfg, char *err, size_t errlen)
{
	struct audit *a = calloc(1, sizeof(*a));
	if (a == NULL || (a->conninfo = strdup(cfg->db_conninfo)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	a->every = cfg->audit_checkpoint_entries ? cfg->audit_checkpoint_entries : AUDIT_DEFAULT_ENTRIES;
	a->interval_s = cfg->audit_checkpoint_interval_s ? cfg->audit_checkpoint_interval_s
	                                                 : AUDIT_DEFAULT_INTERVAL_S;
	if (pthread_mutex_init(&a->mu, NULL) != 0)
		goto nolock;
	if (pthread_cond_init(&a->cv, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		goto nolock;
	}
	a->locks = true;
	if (audit_key_setup(a, cfg, err, errlen) != 0)
		goto fail;
	log_info("audit: checkpoint key %s", a->vkey);
	return a;
nolock:
	snprintf(err, errlen, "cannot make the signer's lock");
fail:
	audit_free(a);
	return NULL;
}

const char *
audit_verifier_key(const struct audit *a)
{
	return a->vkey;
}

const char *
audit_origin(const struct audit *a)
{
	return note_verifier_name(a->verifier);
}

/* ---- checkpoints ---- */

static void
log_sqlstate(const char *what, const PGresult *res)
{
	log_error("audit: %s failed (%s)", what,
	          res != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL
	          ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "no result");
}

/* Check the root of the leaves held against checkpoint `last` (whose size
 * they reach now). Return 0, or -1 (logged loudly). */
static int
check_at(struct audit *a, const struct checkpoint *last)
{
	uint8_t root[MERKLE_HASH_LEN];
	merkle_frontier_root(&a->f, root);
	if (sodium_memcmp(root, last->root, MERKLE_HASH_LEN) != 0) {
		log_error("audit: ALERT: the log's first %llu entries do not match the stored "
		          "checkpoint: entries were changed; refusing to sign",
		          (unsigned long long)last->size);
		return -1;
	}
	return 0;
}

/* Read one page of leaves from a->f.size on into the frontier, checking
 * `last` (may be NULL) when its size is passed; *n is the rows read.
 * Return 0, or -1 (logged). */
static int
leaves_page(struct audit *a, PGconn *c, const struct checkpoint *last, int *n)
{
	char from[24], lim[24];
	int rc = -1;
	snprintf(from, sizeof(from), "%llu", (unsigned long long)a->f.size);
	snprintf(lim, sizeof(lim), "%d", AUDIT_SYNC_PAGE);
	const char *v[2] = { from, lim };
	/* Ordered by the column, not by the text of the same name: "10" < "2". */
	PGresult *res = PQexecParams(c, "select idx::text, leaf_sha256 from audit_entries "
	                                "where idx >= $1::bigint order by audit_entries.idx "
	                                "limit $2::int",
	                             2, NULL, v, NULL, NULL, 1);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_sqlstate("reading the leaves", res);
		goto out;
	}
	*n = PQntuples(res);
	for (int i = 0; i < *n; i++) {
		uint64_t idx;
		char t[24];
		int len = PQgetlength(res, i, 0);
		if (len <= 0 || len >= (int)sizeof(t))
			goto gap;
		memcpy(t, PQgetvalue(res, i, 0), (size_t)len);
		t[len] = '\0';
		if (util_parse_u64(t, INT64_MAX, &idx) != 0 || idx != a->f.size ||
		    PQgetlength(res, i, 1) != MERKLE_HASH_LEN)
			goto gap;
		merkle_frontier_push(&a->f, (const uint8_t *)PQgetvalue(res, i, 1), NULL, NULL);
		if (last != NULL && a->f.size == last->size && check_at(a, last) != 0)
			goto out;
	}
	rc = 0;
	goto out;
gap:
	log_error("audit: the log has a gap or a bad leaf at index %llu; not signing",
	          (unsigned long long)a->f.size);
out:
	PQclear(res);
	return rc;
}

/* Read the leaves past the ones already held, a page at a time, checking
 * `last` (may be NULL) when its size is passed. Return 0, or -1 (logged). */
static int
leaves_sync(struct audit *a, PGconn *c, const struct checkpoint *last)
{
	int n = AUDIT_SYNC_PAGE;
	while (n == AUDIT_SYNC_PAGE)
		if (leaves_page(a, c, last, &n) != 0)
			return -1;
	return 0;
}

/* Read the newest stored checkpoint into `last` (*have = 0 if none). Return 0, or -1. */
static int
last_checkpoint(struct audit *a, PGconn *c, struct checkpoint *last, int *have)
{
	int rc = -1;
	*have = 0;
	PGresult *res = PQexec(c, "select note from audit_checkpoints order by size desc limit 1");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_sqlstate("reading the last checkpoint", res);
	} else if (PQntuples(res) == 0) {
		rc = 0;
	} else if (checkpoint_open(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), a->verifier,
	                           NULL, last) != NOTE_OK) {
		log_error("audit: the newest stored checkpoint does not verify with our key; not signing");
	} else {
		*have = 1;
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* Fill in the origin and, for the cp->size leaves held, the root of
 * checkpoint `cp`, and write cp->size in decimal into `size`. */
static void
fill_checkpoint(struct audit *a, struct checkpoint *cp, char size[24])
{
	snprintf(cp->origin, sizeof(cp->origin), "%s", note_verifier_name(a->verifier));
	merkle_frontier_root(&a->f, cp->root);
	snprintf(size, 24, "%llu", (unsigned long long)cp->size);
}

/* Sign and store the checkpoint of the `n` leaves held. Return 0, or -1. */
static int
store_checkpoint(struct audit *a, PGconn *c, uint64_t n)
{
	struct checkpoint cp = { .size = n };
	struct buf note;
	char size[24];
	int rc = -1;
	buf_init(&note, NOTE_MAX_LEN);
	fill_checkpoint(a, &cp, size);
	if (checkpoint_sign(a->signer, &cp, &note) != 0 || buf_cstr(&note) == NULL) {
		log_error("audit: cannot sign a checkpoint");
		goto out;
	}
	const char *v[3] = { size, (const char *)cp.root, buf_cstr(&note) };
	const int lens[3] = { 0, MERKLE_HASH_LEN, 0 }, fmts[3] = { 0, 1, 0 };
	PGresult *res = PQexecParams(c, "insert into audit_checkpoints (size, root, note) "
	                                "values ($1::bigint, $2, $3) on conflict (size) do nothing",
	                             3, NULL, v, lens, fmts, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		log_sqlstate("storing a checkpoint", res);
	else
		rc = 0;
	PQclear(res);
out:
	buf_free(&note);
	return rc;
}

/*
 * Bring the leaves held up to the log's end, checking that they extend
 * `last` (the newest stored checkpoint): at its size their root must be its
 * root. A checkpoint older than the leaves held must be the one checked
 * last (the newest checkpoint never goes back: every signer signs the whole
 * log under the lock). Return 0, or -1 (logged loudly).
 */
static int
sync_and_check(struct audit *a, PGconn *c, const struct checkpoint *last)
{
	if (last != NULL && last->size < a->f.size) {
		if (a->have_checked && last->size == a->checked_size &&
		    sodium_memcmp(last->root, a->checked_root, MERKLE_HASH_LEN) == 0)
			return leaves_sync(a, c, NULL);
		log_error("audit: ALERT: the newest stored checkpoint (%llu entries) is older than the "
		          "%llu entries already checked, or differs: checkpoints were removed or "
		          "changed; refusing to sign",
		          (unsigned long long)last->size, (unsigned long long)a->f.size);
		return -1;
	}
	if (last != NULL && last->size == a->f.size && check_at(a, last) != 0)
		return -1;
	if (leaves_sync(a, c, last) != 0)
		return -1;
	if (last != NULL && last->size > a->f.size) {
		log_error("audit: ALERT: a stored checkpoint covers %llu entries but the log has %llu: "
		          "entries were removed; refusing to sign",
		          (unsigned long long)last->size, (unsigned long long)a->f.size);
		return -1;
	}
	return 0;
}

int
audit_checkpoint_now(struct audit *a, PGconn *c)
{
	struct checkpoint last;
	int have = 0, rc = -1;
	if (exec_ok(c, "BEGIN") != 0)
		return -1;
	if (exec_ok(c, AUDIT_SQL_LOCK) != 0 || last_checkpoint(a, c, &last, &have) != 0 ||
	    sync_and_check(a, c, have ? &last : NULL) != 0)
		goto out;
	if (have && last.size == a->f.size) {
		rc = 0;
	} else if (store_checkpoint(a, c, a->f.size) == 0) {
		rc = 1;
	}
	if (rc >= 0 && exec_ok(c, "COMMIT") != 0)
		rc = -1;
out:
	if (rc < 0)
		PQclear(PQexec(c, "ROLLBACK"));
	if (rc >= 0) {
		a->signed_size = a->f.size;
		a->have_signed = true;
		a->signed_at = time(NULL);
		a->checked_size = a->f.size;
		merkle_frontier_root(&a->f, a->checked_root);
		a->have_checked = true;
	}
	if (rc == 1)
		log_info("audit: signed the checkpoint of %llu entries", (unsigned long long)a->f.size);
	return rc;
}

/* Sign the handover checkpoint to `next` (after the key_rotate entry) and
 * store it as a checkpoint and a handover. Call inside the transaction,
 * holding the lock. Return 0, or -1 (logged). */
static int
store_handover(struct audit *a, PGconn *c, const struct note_signer *next)
{
	struct checkpoint cp = { .size = a->f.size };
	struct buf note;
	char size[24];
	int rc = -1;
	buf_init(&note, NOTE_MAX_LEN);
	fill_checkpoint(a, &cp, size);
	if (checkpoint_handover_sign(a->signer, next, &cp, &note) != 0 || buf_cstr(&note) == NULL) {
		log_error("audit: cannot sign the handover checkpoint");
		goto out;
	}
	const char *v[3] = { size, (const char *)cp.root, buf_cstr(&note) };
	const int lens[3] = { 0, MERKLE_HASH_LEN, 0 }, fmts[3] = { 0, 1, 0 };
	PGresult *res = PQexecParams(c, "insert into audit_checkpoints (size, root, note) "
	                                "values ($1::bigint, $2, $3)", 3, NULL, v, lens, fmts, 0);
	rc = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(res);
	if (rc == 0) {
		const char *hv[2] = { size, buf_cstr(&note) };
		res = PQexecParams(c, "insert into audit_key_handovers (size, note) "
		                      "values ($1::bigint, $2)", 2, NULL, hv, NULL, NULL, 0);
		rc = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
		PQclear(res);
	}
	if (rc != 0)
		log_error("audit: cannot store the handover checkpoint: %s", PQerrorMessage(c));
out:
	buf_free(&note);
	return rc;
}

int
audit_handover(struct audit *a, PGconn *c, const struct note_signer *next)
{
	struct checkpoint last;
	int have = 0;
	if (exec_ok(c, "BEGIN") != 0)
		return -1;
	if (audit_append_in(c, AUDIT_KEY_ROTATE, NULL, NULL, note_signer_pk(next)) != 0 ||
	    last_checkpoint(a, c, &last, &have) != 0 ||
	    sync_and_check(a, c, have ? &last : NULL) != 0 || store_handover(a, c, next) != 0 ||
	    exec_ok(c, "COMMIT") != 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	return 0;
}

const char *
audit_key_path(const struct audit *a)
{
	return a->key_path;
}

/* The log's size now, or -1. */
static int64_t
log_size(PGconn *c)
{
	uint64_t n;
	int64_t rc = -1;
	PGresult *res = PQexec(c, "select coalesce(max(idx) + 1, 0) from audit_entries");
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    util_parse_u64(PQgetvalue(res, 0, 0), INT64_MAX, &n) == 0)
		rc = (int64_t)n;
	PQclear(res);
	return rc;
}

/* One round of the signer: return how many seconds to sleep. */
static unsigned
signer_round(struct audit *a, PGconn **cp, bool *down_logged)
{
	if (*cp == NULL || PQstatus(*cp) != CONNECTION_OK) {
		PQfinish(*cp);
		*cp = PQconnectdb(a->conninfo);
		if (PQstatus(*cp) != CONNECTION_OK) {
			if (!*down_logged)
				log_warn("audit: the checkpoint signer cannot reach the database; retrying");
			*down_logged = true;
			return 5;
		}
		*down_logged = false;
	}
	int64_t size = log_size(*cp);
	if (size < 0)
		return 5;
	if ((uint64_t)size < a->f.size) {
		log_error("audit: ALERT: the log has %lld entries but %llu were seen before: entries "
		          "were removed; not signing", (long long)size, (unsigned long long)a->f.size);
		return a->interval_s < 60 ? 60 : a->interval_s;
	}
	time_t now = time(NULL);
	bool grew = !a->have_signed || (uint64_t)size > a->signed_size;
	bool due = !a->have_signed || (uint64_t)size >= a->signed_size + a->every ||
	           now - a->signed_at >= (time_t)a->interval_s;
	if (grew && due && audit_checkpoint_now(a, *cp) < 0)
		return a->interval_s < 60 ? a->interval_s : 60;
	return 1;
}

static void *
signer_main(void *arg)
{
	struct audit *a = arg;
	PGconn *c = NULL;
	bool down_logged = false;
	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		pthread_mutex_unlock(&a->mu);
		unsigned wait = signer_round(a, &c, &down_logged);
		pthread_mutex_lock(&a->mu);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait;
		while (!a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&a->mu);
	PQfinish(c);
	return NULL;
}

int
audit_start(struct audit *a)
{
	if (pthread_create(&a->thread, NULL, signer_main, a) != 0) {
		log_error("audit: cannot start the checkpoint signer");
		return -1;
	}
	a->started = true;
	return 0;
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	note_signer_free(a->signer);
	note_verifier_free(a->verifier);
	free(a->vkey);
	free(a->key_path);
	free(a->conninfo);
	if (a->locks) {
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->cv);
	}
	free(a);
}
