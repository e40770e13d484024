#include "audit_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "checkpoint.h"
#include "cli.h"
#include "opts.h"
#include "merkle.h"
#include "names.h"
#include "note.h"
#include "util.h"

typedef uint8_t hash_t[MERKLE_HASH_LEN];

static const char audit_usage[] =
	"usage: tipctl audit SUBCOMMAND [OPTIONS]\n"
	"\n"
	"  log     print audit log entries (those you may read; leaf hashes otherwise)\n"
	"  verify  check the signed checkpoint, the whole tree, and that the log only grew\n"
	"          since your last verification\n";

static const char log_usage[] =
	"usage: tipctl audit log [--count N] [--start N | --oldest-first] [--json]\n"
	"\n"
	"Print the newest --count entries (default 100) of the audit log, newest first;\n"
	"with --start N, from entry N on, oldest first (--oldest-first: from entry 0).\n"
	"Entries you may not read show as hidden. Keys show as their fingerprint\n"
	"(xxxx xxxx xxxx xxxx), after the member's name where a team membership\n"
	"verified on this computer names them (admin keys pinned at login: admin:NAME).\n"
	"--json adds \"actor_name\" and \"subject_name\" where known.\n";

static const char verify_usage[] =
	"usage: tipctl audit verify\n"
	"\n"
	"Verify the audit log against the audit key pinned at login (--audit-key):\n"
	"the checkpoint's signature, every leaf, and a consistency proof from the\n"
	"checkpoint verified last time, and says how many of the log's entries the\n"
	"checkpoint covers (tipd signs newer ones within [audit] checkpoint_interval_s).\n"
	"Exit status 1 on any failure.\n";

/* The number of entries in the audit log now into *size. Return 0, or -1 (printed). */
static int
log_size(struct api *a, uint64_t *size)
{
	json_t *doc = NULL;
	json_t *n;
	int rc = -1;
	if (api_get_json(a, "/api/v1/audit/entries?start=0&end=1", "the audit log", &doc) != 0)
		return -1;
	n = json_object_get(doc, "size");
	if (json_is_integer(n) && json_integer_value(n) >= 0) {
		*size = (uint64_t)json_integer_value(n);
		rc = 0;
	} else {
		cli_error("bad answer from the server: the audit log's size is missing");
	}
	json_decref(doc);
	return rc;
}

/* Decode a base64 hash from the JSON string `v`. Return 0, or -1. */
static int
hash_of(json_t *v, uint8_t out[MERKLE_HASH_LEN])
{
	const char *s = json_string_value(v);
	size_t n = 0;
	return s != NULL &&
	       util_base64_decode(s, strlen(s), out, MERKLE_HASH_LEN, &n,
	                          sodium_base64_VARIANT_ORIGINAL) == 0 && n == MERKLE_HASH_LEN
	       ? 0 : -1;
}

static void
root_b64(const uint8_t root[MERKLE_HASH_LEN], char out[45])
{
	sodium_bin2base64(out, 45, root, MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/* ---- verify ---- */

/* Fetch and open the server's checkpoint; its note text goes into `note`
 * (initialised by the caller). Return 0, or -1 (printed). */
static int
fetch_checkpoint(struct api *a, const struct note_verifier *v, struct checkpoint *cp,
                 struct buf *note)
{
	struct client_response r;
	int rc = -1;
	r.body = *note;
	if (api_call(a, "GET", "/api/v1/audit/checkpoint", NULL, &r, "the audit checkpoint") != 0)
		goto out;
	enum note_result nr = checkpoint_open((const char *)r.body.data, r.body.len, v, NULL, cp);
	if (nr != NOTE_OK) {
		cli_error("ALERT: the server's audit checkpoint does not verify with the pinned audit "
		          "key (%s)", note_strerror(nr));
		goto out;
	}
	rc = 0;
out:
	*note = r.body;
	return rc;
}

/* Push the leaves [start, end) onto `f`, read from the binary leaves route
 * (32 bytes a leaf). Return 0, or -1 (printed). */
static int
fetch_leaves_page(struct api *a, uint64_t start, uint64_t end, struct merkle_frontier *f)
{
	char path[128];
	struct client_response r;
	int rc = -1;
	buf_init(&r.body, (size_t)(end - start) * MERKLE_HASH_LEN + 1);
	snprintf(path, sizeof(path), "/api/v1/audit/leaves/raw?start=%llu&end=%llu",
	         (unsigned long long)start, (unsigned long long)end);
	if (api_call(a, "GET", path, NULL, &r, "the audit log") != 0)
		goto out;
	if (strcmp(r.content_type, "application/octet-stream") != 0) {
		cli_error("bad answer from the server: the audit leaves are not octet-stream");
		goto out;
	}
	if (r.body.len != (size_t)(end - start) * MERKLE_HASH_LEN) {
		cli_error("ALERT: the server holds fewer audit entries than its signed checkpoint");
		goto out;
	}
	for (size_t i = 0; i < r.body.len; i += MERKLE_HASH_LEN)
		merkle_frontier_push(f, r.body.data + i, NULL, NULL);
	rc = 0;
out:
	buf_free(&r.body);
	return rc;
}

/*
 * Push the leaves from f->size up to `n` onto `f`, a page at a time, in
 * O(log n) memory whatever the log's size. When the frontier passes
 * `check_size` (a checkpoint verified before), its root there must be
 * `check_root`. Return 0, or -1 (printed).
 */
static int
fetch_leaves(struct api *a, struct merkle_frontier *f, uint64_t n, uint64_t check_size,
             const uint8_t *check_root)
{
	hash_t root;
	while (f->size < n) {
		uint64_t e = n - f->size > AUDIT_CMD_LEAF_PAGE ? f->size + AUDIT_CMD_LEAF_PAGE : n;
		if (check_root != NULL && f->size < check_size && e > check_size)
			e = check_size;
		if (fetch_leaves_page(a, f->size, e, f) != 0)
			return -1;
		if (check_root != NULL && f->size == check_size) {
			merkle_frontier_root(f, root);
			if (sodium_memcmp(root, check_root, MERKLE_HASH_LEN) != 0) {
				cli_error("ALERT: the first %llu audit entries changed since you verified "
				          "them: the audit log was forked or rewritten",
				          (unsigned long long)check_size);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Load the remembered checkpoint at `path` into `old`. Return 1 if there is
 * one, 0 if none, -1 if it is unreadable or does not verify (printed).
 */
static int
load_remembered(const char *path, struct note_verifier *const *keys, size_t nkeys,
                struct checkpoint *old)
{
	struct buf b;
	int rc = -1;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	buf_init(&b, CLI_FILE_MAX);
	if (cli_read_file(path, &b) != 0)
		goto out;
	/* Signed by the pinned key or by one it handed over to. */
	for (size_t i = 0; i < nkeys && rc < 0; i++)
		if (checkpoint_open((const char *)b.data, b.len, keys[i], NULL, old) == NOTE_OK)
			rc = 1;
	if (rc < 0)
		cli_error("the remembered checkpoint %s does not verify with the pinned audit key or "
		          "any key it handed over to; if the key was replaced without a handover, move "
		          "the file away", path);
out:
	buf_free(&b);
	return rc;
}

/* Fetch and check the consistency proof old -> cp. Return 0, or -1 (printed). */
static int
check_consistency(struct api *a, const struct checkpoint *old, const struct checkpoint *cp)
{
	char path[128];
	hash_t proof[MERKLE_PROOF_MAX];
	json_t *doc = NULL, *arr, *v;
	size_t i, n;
	int rc = -1;
	snprintf(path, sizeof(path), "/api/v1/audit/proof/consistency?old=%llu&new=%llu",
	         (unsigned long long)old->size, (unsigned long long)cp->size);
	if (api_get_json(a, path, "the consistency proof", &doc) != 0)
		return -1;
	arr = json_object_get(doc, "proof");
	n = json_array_size(arr);
	if (!json_is_array(arr) || n > MERKLE_PROOF_MAX)
		goto bad;
	json_array_foreach(arr, i, v) {
		if (hash_of(v, proof[i]) != 0)
			goto bad;
	}
	if (merkle_consistency_verify(old->size, cp->size, old->root, cp->root,
	                              (const hash_t *)proof, n) == 0)
		rc = 0;
	else
		cli_error("ALERT: the server's consistency proof from the checkpoint of %llu entries "
		          "you verified before does not verify: the audit log was forked or rewritten",
		          (unsigned long long)old->size);
	json_decref(doc);
	return rc;
bad:
	cli_error("bad answer from the server: a malformed consistency proof");
	json_decref(doc);
	return -1;
}

/* Store the verified checkpoint `note` in `path` (new file, then rename). Return 0, or -1. */
static int
remember(const char *path, const struct buf *note)
{
	struct buf tmp;
	int rc = -1;
	buf_init(&tmp, 4200);
	if (buf_printf(&tmp, "%s.new", path) != 0 || buf_cstr(&tmp) == NULL)
		goto out;
	(void)unlink(buf_cstr(&tmp)); /* a leftover from a crash; unlink never follows */
	if (cli_write_new(buf_cstr(&tmp), note->data, note->len) != 0 ||
	    rename(buf_cstr(&tmp), path) != 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		(void)unlink(buf_cstr(&tmp));
		goto out;
	}
	rc = 0;
out:
	buf_free(&tmp);
	return rc;
}

/* The audit key handovers followed from the pinned key. */
struct handovers {
	struct note_verifier *keys[AUDIT_CMD_MAX_KEYS]; /* [0] the pinned key (owned) */
	size_t nkeys;
	struct checkpoint cp[AUDIT_CMD_MAX_KEYS]; /* cp[i] handed keys[i] to keys[i + 1] */
};

/*
 * Follow every handover checkpoint the server holds, oldest first, from the
 * pinned key h->keys[0]: each must be signed by the key trusted so far and
 * by the next one it names. Return 0, or -1 (printed).
 */
static int
follow_handovers(struct api *a, struct handovers *h)
{
	json_t *doc = NULL, *n;
	size_t i;
	int rc = -1;
	if (api_get_json(a, "/api/v1/audit/handovers", "the audit key handovers", &doc) != 0)
		return -1;
	json_array_foreach(json_object_get(doc, "handovers"), i, n) {
		struct note_verifier *next = NULL;
		if (h->nkeys == AUDIT_CMD_MAX_KEYS || !json_is_string(n) ||
		    checkpoint_handover_open(json_string_value(n), json_string_length(n),
		                             h->keys[h->nkeys - 1], &next, &h->cp[h->nkeys - 1]) !=
		            NOTE_OK) {
			cli_error("ALERT: audit key handover %zu does not verify with the audit key you "
			          "trust (the pinned one, or the one it handed over to)", i + 1);
			goto out;
		}
		h->keys[h->nkeys++] = next;
	}
	if (h->nkeys > 1)
		printf("followed %zu audit key handover%s from the pinned key\n", h->nkeys - 1,
		       h->nkeys == 2 ? "" : "s");
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/* The path of the frontier file kept next to the remembered checkpoint. */
static void
frontier_path(const char *state, char *out, size_t n)
{
	snprintf(out, n, "%s%s", state, AUDIT_CMD_FRONTIER);
}

/*
 * Load the frontier remembered with checkpoint `old`: "tipline-audit-frontier
 * v1", "size N", then one "LEVEL BASE64" line per complete subtree, largest
 * first. It is unsigned, so it is used only if it has the right shape and
 * its root is the remembered (signed) checkpoint's; otherwise every leaf is
 * fetched again. Return 0 and fill `f`, or -1 if absent or unusable.
 */
static int
load_frontier(const char *state, const struct checkpoint *old, struct merkle_frontier *f)
{
	char path[4200], line[160], b64[100];
	unsigned long long size = 0;
	unsigned lvl;
	hash_t root;
	frontier_path(state, path, sizeof(path));
	FILE *fp = fopen(path, "re");
	merkle_frontier_init(f);
	if (fp == NULL)
		return -1;
	int ok = fgets(line, sizeof(line), fp) != NULL &&
	         strcmp(line, "tipline-audit-frontier v1\n") == 0 && fgets(line, sizeof(line), fp) &&
	         sscanf(line, "size %llu", &size) == 1 && size == old->size;
	uint64_t covered = 0;
	while (ok && fgets(line, sizeof(line), fp) != NULL) {
		json_t *j = NULL;
		ok = f->n < 64 && sscanf(line, "%u %99s", &lvl, b64) == 2 && lvl < 64 &&
		     (f->n == 0 || lvl < f->level[f->n - 1]) && (j = json_string(b64)) != NULL &&
		     hash_of(j, f->hash[f->n]) == 0;
		json_decref(j);
		if (ok) {
			f->level[f->n++] = (uint8_t)lvl;
			covered += (uint64_t)1 << lvl;
		}
	}
	fclose(fp);
	f->size = covered;
	if (ok && covered == size) {
		merkle_frontier_root(f, root);
		if (sodium_memcmp(root, old->root, MERKLE_HASH_LEN) == 0)
			return 0;
	}
	merkle_frontier_init(f);
	return -1;
}

/* Store frontier `f` next to the remembered checkpoint (new file, then rename). */
static int
save_frontier(const char *state, const struct merkle_frontier *f)
{
	char path[4200];
	struct buf b, tmp;
	int rc = -1;
	buf_init(&b, 8192);
	buf_init(&tmp, 4300);
	frontier_path(state, path, sizeof(path));
	if (buf_printf(&b, "tipline-audit-frontier v1\nsize %llu\n", (unsigned long long)f->size) != 0)
		goto out;
	for (unsigned i = 0; i < f->n; i++) {
		char h[45];
		root_b64(f->hash[i], h);
		if (buf_printf(&b, "%u %s\n", (unsigned)f->level[i], h) != 0)
			goto out;
	}
	if (buf_printf(&tmp, "%s.new", path) != 0 || buf_cstr(&tmp) == NULL)
		goto out;
	(void)unlink(buf_cstr(&tmp));
	if (cli_write_new(buf_cstr(&tmp), b.data, b.len) != 0 || rename(buf_cstr(&tmp), path) != 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		(void)unlink(buf_cstr(&tmp));
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	buf_free(&tmp);
	return rc;
}

/*
 * Check each handover checkpoint against the tree `cp` signs, whose root the
 * leaves have just confirmed: a handover covers no more entries than `cp`,
 * and the server's consistency proof from it to `cp` holds (so its root is
 * the root of the log's first entries, without keeping any leaf in memory).
 * Return 0, or -1 (printed).
 */
static int
check_handovers(struct api *a, const struct handovers *h, const struct checkpoint *cp)
{
	for (size_t i = 0; i + 1 < h->nkeys; i++) {
		const struct checkpoint *hc = &h->cp[i];
		if (hc->size > cp->size) {
			cli_error("ALERT: the server's newest checkpoint covers fewer entries (%llu) than "
			          "an audit key handover (%llu): the log was rolled back",
			          (unsigned long long)cp->size, (unsigned long long)hc->size);
			return -1;
		}
		if (hc->size == cp->size ? sodium_memcmp(hc->root, cp->root, MERKLE_HASH_LEN) != 0
		                         : hc->size > 0 && check_consistency(a, hc, cp) != 0) {
			cli_error("ALERT: the first %llu audit entries do not match the handover "
			          "checkpoint signed by both keys", (unsigned long long)hc->size);
			return -1;
		}
	}
	return 0;
}

/*
 * Check the tree against `cp` and the remembered checkpoint. With a usable
 * remembered frontier only the leaves since it are fetched (incremental);
 * otherwise every leaf, checking the remembered root on the way. The
 * server's consistency proof is checked too. On success `f` is the
 * frontier of cp->size leaves. Return 0, or -1 (printed).
 */
static int
verify_tree(struct api *a, const struct handovers *h, const struct checkpoint *cp,
            const char *state, uint64_t *old_size, int *had_old, int *incremental,
            struct merkle_frontier *f)
{
	struct checkpoint old;
	hash_t root;
	merkle_frontier_init(f);
	*incremental = 0;
	if ((*had_old = load_remembered(state, h->keys, h->nkeys, &old)) < 0)
		return -1;
	if (*had_old && old.size > cp->size) {
		cli_error("ALERT: the audit log was rolled back: you verified %llu entries before, "
		          "the server's signed checkpoint now covers only %llu",
		          (unsigned long long)old.size, (unsigned long long)cp->size);
		return -1;
	}
	if (*had_old)
		*incremental = load_frontier(state, &old, f) == 0;
	if (fetch_leaves(a, f, cp->size, *had_old ? old.size : 0, *had_old ? old.root : NULL) != 0)
		return -1;
	merkle_frontier_root(f, root);
	if (sodium_memcmp(root, cp->root, MERKLE_HASH_LEN) != 0) {
		if (*incremental)
			cli_error("ALERT: the audit entries since the checkpoint of %llu you verified "
			          "before do not lead to the signed checkpoint of %llu: the audit log was "
			          "forked or rewritten", (unsigned long long)old.size,
			          (unsigned long long)cp->size);
		else
			cli_error("ALERT: the audit log's leaves do not match its signed checkpoint of %llu "
			          "entries", (unsigned long long)cp->size);
		return -1;
	}
	if (*had_old && check_consistency(a, &old, cp) != 0)
		return -1;
	if (check_handovers(a, h, cp) != 0)
		return -1;
	*old_size = *had_old ? old.size : 0;
	return 0;
}

static int
audit_verify(int argc, char **argv)
{
	struct api a;
	struct checkpoint cp;
	struct handovers h;
	struct buf state, note;
	uint64_t old_size = 0;
	struct merkle_frontier fr;
	int rc = CLI_ERR, had_old = 0, incremental = 0;
	char root[45];
	if (argc > 1) {
		int help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
		fputs(verify_usage, help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	memset(&h, 0, sizeof(h));
	buf_init(&state, 4096);
	buf_init(&note, NOTE_MAX_LEN);
	if (api_open(&a) != 0)
		goto out;
	if (a.s->audit_key[0] == '\0') {
		cli_error("no audit key pinned: log in with --audit-key (it is in your invite)");
		goto out;
	}
	h.keys[0] = note_verifier_parse(a.s->audit_key, strlen(a.s->audit_key));
	if ((h.nkeys = h.keys[0] != NULL) == 0) {
		cli_error("the pinned audit key is malformed: log in again with --audit-key");
		goto out;
	}
	if (cli_default_file(AUDIT_CMD_STATE, &state, true) != 0 || buf_cstr(&state) == NULL ||
	    follow_handovers(&a, &h) != 0 ||
	    fetch_checkpoint(&a, h.keys[h.nkeys - 1], &cp, &note) != 0 ||
	    verify_tree(&a, &h, &cp, buf_cstr(&state), &old_size, &had_old, &incremental, &fr) != 0 ||
	    remember(buf_cstr(&state), &note) != 0 || save_frontier(buf_cstr(&state), &fr) != 0)
		goto out;
	uint64_t total = 0;
	if (log_size(&a, &total) != 0)
		goto out;
	root_b64(cp.root, root);
	printf("audit log verified: %llu of its %llu entries (the signed checkpoint), root %s (%s)\n",
	       (unsigned long long)cp.size, (unsigned long long)(total > cp.size ? total : cp.size),
	       root, cp.origin);
	if (total > cp.size)
		printf("the newest %llu entries are not in a signed checkpoint yet: run it again in a "
		       "minute to check them\n", (unsigned long long)(total - cp.size));
	if (had_old)
		printf("it extends the checkpoint of %llu entries you verified before (%s)\n",
		       (unsigned long long)old_size,
		       incremental ? "only the entries since then were fetched" : "every leaf was fetched");
	else
		printf("first verification: this checkpoint is remembered in %s\n", buf_cstr(&state));
	rc = CLI_OK;
out:
	for (size_t i = 0; i < h.nkeys; i++)
		note_verifier_free(h.keys[i]);
	api_close(&a);
	buf_free(&state);
	buf_free(&note);
	return rc;
}

/* ---- log ---- */

#define ENTRY_FIELDS 7

/* Split an entry into its 7 fields (each printable, at most 79 characters:
 * a subject may be "label:" and a label of up to 64). */
static int
entry_split(const char *s, char f[ENTRY_FIELDS][80])
{
	for (int i = 0; i < ENTRY_FIELDS; i++) {
		size_t n = strcspn(s, " ");
		if (n == 0 || n > 79 || (i < ENTRY_FIELDS - 1 ? s[n] != ' ' : s[n] != '\0'))
			return -1;
		for (size_t k = 0; k < n; k++)
			if (s[k] < 0x21 || s[k] > 0x7e)
				return -1;
		memcpy(f[i], s, n);
		f[i][n] = '\0';
		s += n + (i < ENTRY_FIELDS - 1);
	}
	return strcmp(f[0], "tipline/v1/audit") == 0 ? 0 : -1;
}

/* A key column into `out`: "NAME xxxx xxxx xxxx xxxx" for a key hash the
 * verified memberships name, the fingerprint alone otherwise; anything else
 * ("operator", "label:NAME") as it is. */
static void
key_cell(const char *k, const struct names *nm, char *out, size_t cap)
{
	char fp[NAMES_FP_LEN + 1];
	const char *name = strlen(k) == 64 ? names_lookup(nm, k) : NULL;
	if (strlen(k) != 64 || names_fingerprint_of_hash(k, fp) != 0)
		snprintf(out, cap, "%s", k);
	else if (name != NULL)
		snprintf(out, cap, "%s %s", name, fp);
	else
		snprintf(out, cap, "%s", fp);
}

/* Add "actor_name" and "subject_name" to entry `e` (fields `f`) where known. */
static void
name_entry(json_t *e, char f[ENTRY_FIELDS][80], const struct names *nm)
{
	const char *an = names_lookup(nm, f[3]), *sn = names_lookup(nm, f[6]);
	if (an != NULL)
		(void)json_object_set_new(e, "actor_name", json_string(an));
	if (sn != NULL)
		(void)json_object_set_new(e, "subject_name", json_string(sn));
}

/* Check entry `e` and split it into `f`. Return 1 if it is readable and
 * matches its leaf, 0 if hidden, -1 if bad (printed as such if `print`). */
static int
entry_check(json_t *e, char f[ENTRY_FIELDS][80], int print)
{
	uint8_t leaf[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];
	json_int_t idx = json_integer_value(json_object_get(e, "index"));
	const char *text = json_string_value(json_object_get(e, "entry"));
	if (hash_of(json_object_get(e, "leaf"), leaf) != 0) {
		if (print)
			printf("%-7lld (malformed answer)\n", (long long)idx);
		return -1;
	}
	if (text == NULL) {
		if (print)
			printf("%-7lld (hidden: not one of your teams)\n", (long long)idx);
		return 0;
	}
	merkle_leaf_hash(text, strlen(text), want);
	if (sodium_memcmp(leaf, want, MERKLE_HASH_LEN) != 0 || entry_split(text, f) != 0) {
		if (print)
			printf("%-7lld (ALERT: entry does not match its leaf hash or is malformed)\n",
			       (long long)idx);
		return -1;
	}
	return 1;
}

/* Print one entry object; return 1 if its leaf does not match its entry, else 0. */
static int
print_entry(json_t *e, const struct names *nm)
{
	char f[ENTRY_FIELDS][80], when[32] = "?", actor[112], subject[112];
	int r = entry_check(e, f, 1);
	if (r <= 0)
		return r < 0;
	uint64_t t;
	struct tm tm;
	if (util_parse_u64(f[1], INT64_MAX, &t) == 0) {
		time_t tt = (time_t)t;
		if (gmtime_r(&tt, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	}
	key_cell(f[3], nm, actor, sizeof(actor));
	key_cell(f[6], nm, subject, sizeof(subject));
	printf("%-7lld %-20s %-16s %-32s %-12s %-36s %s\n",
	       (long long)json_integer_value(json_object_get(e, "index")), when, f[2], actor, f[4],
	       f[5], subject);
	return 0;
}

/* Load the names this computer verified for the session's server, and the
 * admin keys pinned at login. Failures only leave keys unnamed. */
static void
load_names(const struct api *a, struct names *nm)
{
	if (names_load(NULL, a->s->server, nm) != 0)
		memset(nm, 0, sizeof(*nm));
	for (size_t i = 0; i < a->s->n_admin_keys; i++) {
		struct note_verifier *v =
		        note_verifier_parse(a->s->admin_keys[i], strlen(a->s->admin_keys[i]));
		char name[MEMBERSHIP_NAME_MAX + 1];
		if (v == NULL)
			continue;
		snprintf(name, sizeof(name), "admin:%s", note_verifier_name(v));
		if (names_add_key(nm, note_verifier_pk(v), name) != 0)
			cli_error("warning: out of memory naming the admin keys");
		note_verifier_free(v);
	}
}

/* Reverse the array `all` in place (newest first). */
static void
reverse(json_t *all)
{
	size_t n = json_array_size(all);
	for (size_t i = 0; i < n / 2; i++) {
		json_t *x = json_incref(json_array_get(all, i));
		json_array_set(all, i, json_array_get(all, n - 1 - i));
		json_array_set_new(all, n - 1 - i, x);
	}
}

/* Fetch entries [start, start + count) into `all`. Return 0, or -1 (printed). */
static int
fetch_entries(struct api *a, uint64_t start, uint64_t count, json_t *all)
{
	for (uint64_t s = start; s < start + count; s += AUDIT_CMD_PAGE) {
		char path[128];
		json_t *doc = NULL;
		uint64_t e = start + count - s > AUDIT_CMD_PAGE ? s + AUDIT_CMD_PAGE : start + count;
		snprintf(path, sizeof(path), "/api/v1/audit/entries?start=%llu&end=%llu",
		         (unsigned long long)s, (unsigned long long)e);
		if (api_get_json(a, path, "the audit log", &doc) != 0)
			return -1;
		json_t *arr = json_object_get(doc, "entries");
		size_t got = json_array_size(arr);
		if (!json_is_array(arr) || json_array_extend(all, arr) != 0) {
			cli_error("bad answer from the server: not a list of audit entries");
			json_decref(doc);
			return -1;
		}
		json_decref(doc);
		if (got < e - s)
			break; /* the end of the log */
	}
	return 0;
}

/* Print `all` as a table; return the number of entries that failed their leaf check. */
static int
print_table(json_t *all, const struct names *nm)
{
	size_t i;
	json_t *e;
	int bad = 0;
	if (json_array_size(all) == 0) {
		puts("no audit entries");
		return 0;
	}
	printf("%-7s %-20s %-16s %-32s %-12s %-36s %s\n", "INDEX", "TIME (UTC)", "ACTION", "ACTOR",
	       "TEAM", "OBJECT", "SUBJECT");
	json_array_foreach(all, i, e)
		bad += print_entry(e, nm);
	return bad;
}

/* Print the entries `all` as JSON (with the names known) or as a table.
 * Return an exit code: CLI_ERR if an entry fails its leaf check. */
static int
log_print(json_t *all, int as_json, const struct names *nm)
{
	if (as_json) {
		size_t i;
		json_t *e;
		char f[ENTRY_FIELDS][80];
		json_array_foreach(all, i, e)
			if (entry_check(e, f, 0) == 1)
				name_entry(e, f, nm);
		char *s = json_dumps(all, JSON_INDENT(2));
		int rc = s != NULL ? CLI_OK : CLI_ERR;
		if (s != NULL)
			puts(s);
		free(s);
		return rc;
	}
	int bad = print_table(all, nm);
	if (bad > 0)
		cli_error("ALERT: %d audit entries do not match their leaf hashes", bad);
	return bad > 0 ? CLI_ERR : CLI_OK;
}

static int
audit_log(int argc, char **argv)
{
	uint64_t start = 0, count = 100, size = 0;
	const char *start_s = NULL, *count_s = NULL;
	int as_json = 0, oldest = 0;
	const struct opt opts[] = { OPT_STR("start", &start_s), OPT_STR("count", &count_s),
		                    OPT_JSON(&as_json), OPT_FLAG("oldest-first", &oldest), OPT_END };
	struct api a;
	struct names nm;
	json_t *all = NULL;
	int rc = opts_parse(argc, argv, opts, "log", log_usage);
	if (rc != OPTS_GO)
		return rc;
	if (start_s != NULL && util_parse_u64(start_s, INT64_MAX, &start) != 0)
		return opts_usage_error(log_usage, "log: bad --start %s", start_s);
	if (count_s != NULL && (util_parse_u64(count_s, 100000, &count) != 0 || count == 0))
		return opts_usage_error(log_usage, "log: bad --count %s (1 to 100000)", count_s);
	if (optind != argc)
		return opts_usage_error(log_usage, "log: unexpected argument %s", argv[optind]);
	rc = CLI_ERR;
	memset(&nm, 0, sizeof(nm));
	if (api_open(&a) != 0 || (all = json_array()) == NULL)
		goto out;
	int newest_first = start_s == NULL && !oldest;
	if (newest_first) {
		if (log_size(&a, &size) != 0)
			goto out;
		start = size > count ? size - count : 0;
	}
	if (fetch_entries(&a, start, count, all) != 0)
		goto out;
	if (newest_first)
		reverse(all);
	load_names(&a, &nm);
	rc = log_print(all, as_json, &nm);
out:
	names_free(&nm);
	json_decref(all);
	api_close(&a);
	return rc;
}

int
audit_cmd_main(int argc, char **argv)
{
	static const struct opts_cmd cmds[] = {
		{ "log", audit_log }, { "verify", audit_verify }, { NULL, NULL },
	};
	return opts_dispatch(argc, argv, cmds, "audit", audit_usage);
}
