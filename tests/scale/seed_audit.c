/* seed_audit: audit entries, their subtree nodes and signed checkpoints. */
#include "seed.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "checkpoint.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

#define SEED_AUDIT_BATCH 200000

struct audit_run {
	struct seed *s;
	PGconn *c;
	struct note_signer *signer;
	struct merkle_frontier f;
	struct buf ent, nodes, e;
	uint64_t size, rng, nnodes;
	int bad;
	int64_t t0, span;
};

/* The frontier's callback: COPY each subtree node a new leaf completes. */
static void
node_done(void *arg, unsigned level, uint64_t idx, const uint8_t hash[MERKLE_HASH_LEN])
{
	struct audit_run *a = arg;
	if (seed_copy_tuple(&a->nodes, 3) != 0 || seed_copy_i16(&a->nodes, (int16_t)level) != 0 ||
	    seed_copy_i64(&a->nodes, (int64_t)idx) != 0 ||
	    seed_copy_field(&a->nodes, hash, MERKLE_HASH_LEN) != 0)
		a->bad = 1;
	a->nnodes++;
}

/* Read the stored root of subtree (lvl, idx) into `out`. Return 0, or -1. */
static int
stored_node(void *arg, unsigned lvl, uint64_t idx, uint8_t out[MERKLE_HASH_LEN])
{
	PGconn *c = arg;
	char l[8], i[24];
	snprintf(l, sizeof(l), "%u", lvl);
	snprintf(i, sizeof(i), "%" PRIu64, idx);
	const char *v[2] = { l, i };
	PGresult *res = PQexecParams(c, lvl == 0
	                                ? "select leaf_sha256 from audit_entries where idx = $2::bigint "
	                                  "and $1::int = 0"
	                                : "select hash from audit_nodes where level = $1::smallint "
	                                  "and idx = $2::bigint",
	                             2, NULL, v, NULL, NULL, 1);
	int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	         PQgetlength(res, 0, 0) == MERKLE_HASH_LEN;
	if (ok)
		memcpy(out, PQgetvalue(res, 0, 0), MERKLE_HASH_LEN);
	else
		fprintf(stderr, "seed: the audit log lacks subtree (%u, %" PRIu64 ")\n", lvl, idx);
	PQclear(res);
	return ok ? 0 : -1;
}

/* The log's size now (call under the audit lock). Return 0, or -1. */
static int
log_size(PGconn *c, uint64_t *n)
{
	PGresult *res = PQexec(c, "select coalesce(max(idx) + 1, 0) from audit_entries");
	int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	         util_parse_u64(PQgetvalue(res, 0, 0), INT64_MAX, n) == 0;
	if (!ok)
		fprintf(stderr, "seed: reading the audit log's size: %s", PQerrorMessage(c));
	PQclear(res);
	return ok ? 0 : -1;
}

/* One entry as tipd would write it: mostly fetches and lists by members. */
static int
one_entry(struct audit_run *a, uint64_t j)
{
	const struct seed *s = a->s;
	uint64_t r = seed_rand(&a->rng);
	const struct seed_team *t = &s->teams[r % s->nteams];
	const uint8_t *actor = t->ed25519[(r >> 16) % t->n];
	int64_t when = a->t0 + (int64_t)((double)j / (double)s->audit * (double)a->span);
	unsigned kind = (unsigned)(r >> 40) % 10;
	uint8_t raw[16], leaf[MERKLE_HASH_LEN];
	char uuid[37];
	int rc;
	buf_reset(&a->e);
	if (kind < 6) {
		seed_uuid(raw, uuid);
		rc = audit_entry_format(&a->e, when, AUDIT_REPORT_FETCH, actor, t->id, uuid, NULL);
	} else if (kind < 9) {
		rc = audit_entry_format(&a->e, when, AUDIT_REPORT_LIST, actor, t->id, NULL, NULL);
	} else {
		rc = audit_entry_format(&a->e, when, kind == 9 && (r & 1) ? AUDIT_LOGIN : AUDIT_LOGOUT,
		                        actor, NULL, NULL, NULL);
	}
	if (rc != 0)
		return -1;
	merkle_leaf_hash(a->e.data, a->e.len, leaf);
	if (seed_copy_tuple(&a->ent, 3) != 0 || seed_copy_i64(&a->ent, (int64_t)a->size) != 0 ||
	    seed_copy_field(&a->ent, a->e.data, a->e.len) != 0 ||
	    seed_copy_field(&a->ent, leaf, MERKLE_HASH_LEN) != 0)
		return -1;
	merkle_frontier_push(&a->f, leaf, node_done, a);
	return a->bad ? -1 : 0;
}

/* Sign the checkpoint of the log as it stands and insert it. Return 0, or -1. */
static int
sign_checkpoint(struct audit_run *a)
{
	struct checkpoint cp = { .size = a->size };
	struct note_verifier *v = note_signer_verifier(a->signer);
	struct buf note;
	char size[24];
	int rc = -1;
	buf_init(&note, NOTE_MAX_LEN);
	if (v == NULL)
		goto out;
	snprintf(cp.origin, sizeof(cp.origin), "%s", note_verifier_name(v));
	merkle_frontier_root(&a->f, cp.root);
	snprintf(size, sizeof(size), "%" PRIu64, a->size);
	if (checkpoint_sign(a->signer, &cp, &note) != 0 || buf_cstr(&note) == NULL)
		goto out;
	const char *vals[3] = { size, (const char *)cp.root, buf_cstr(&note) };
	const int lens[3] = { 0, MERKLE_HASH_LEN, 0 }, fmts[3] = { 0, 1, 0 };
	PGresult *res = PQexecParams(a->c, "insert into audit_checkpoints (size, root, note) "
	                                   "values ($1::bigint, $2, $3) on conflict (size) do nothing",
	                             3, NULL, vals, lens, fmts, 0);
	rc = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "seed: storing a checkpoint: %s", PQerrorMessage(a->c));
	PQclear(res);
out:
	if (rc != 0 && v == NULL)
		fprintf(stderr, "seed: cannot sign a checkpoint\n");
	note_verifier_free(v);
	buf_free(&note);
	return rc;
}

/* Entries [a->size, end) in one transaction, under the audit lock; the
 * per-row node trigger is skipped (session_replication_role = replica) because
 * the nodes it would store come in the same transaction. Return 0, or -1. */
static int
audit_batch(struct audit_run *a, uint64_t base, uint64_t end, bool checkpoint)
{
	uint64_t n;
	buf_reset(&a->ent);
	buf_reset(&a->nodes);
	if (seed_exec(a->c, "BEGIN", "begin") != 0)
		return -1;
	if (seed_exec(a->c, "set local session_replication_role = replica",
	              "session_replication_role (the seeder must connect as a superuser)") != 0 ||
	    seed_exec(a->c, "select pg_advisory_xact_lock(" AUDIT_LOCK ")", "audit lock") != 0 ||
	    log_size(a->c, &n) != 0)
		goto fail;
	if (n != a->size) {
		fprintf(stderr, "seed: the audit log grew while seeding (tipd is running?): stop tipd "
		                "and run the seeder again\n");
		goto fail;
	}
	if (seed_copy_begin(&a->ent) != 0 || seed_copy_begin(&a->nodes) != 0)
		goto fail;
	for (; a->size < end; a->size++)
		if (one_entry(a, a->size - base) != 0)
			goto fail;
	if (seed_copy_end(&a->ent) != 0 || seed_copy_end(&a->nodes) != 0 ||
	    seed_copy_send(a->c, "copy audit_entries (idx, entry, leaf_sha256) from stdin "
	                         "(format binary)", &a->ent) != 0 ||
	    seed_copy_send(a->c, "copy audit_nodes (level, idx, hash) from stdin (format binary)",
	                   &a->nodes) != 0 ||
	    (checkpoint && sign_checkpoint(a) != 0) || seed_exec(a->c, "COMMIT", "commit") != 0)
		goto fail;
	return 0;
fail:
	PQclear(PQexec(a->c, "ROLLBACK"));
	return -1;
}

/* Read tipd's audit signing key. NULL on error (printed). */
static struct note_signer *
load_signer(const char *path)
{
	size_t len = 0;
	char *text = util_read_file(path, 4096, &len);
	struct note_signer *sg = NULL;
	if (text != NULL) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			len--;
		sg = note_signer_parse(text, len);
		sodium_memzero(text, len);
		free(text);
	}
	if (sg == NULL)
		fprintf(stderr, "seed: %s is not tipd's audit key (start tipd once to make it)\n", path);
	return sg;
}

/* Append every entry, batch by batch, with a checkpoint every checkpoint_every. */
static int
audit_all(struct audit_run *a)
{
	struct seed *s = a->s;
	uint64_t base = a->size, end = base + s->audit;
	while (a->size < end) {
		uint64_t stop = a->size + SEED_AUDIT_BATCH < end ? a->size + SEED_AUDIT_BATCH : end;
		uint64_t next_cp = (a->size / s->checkpoint_every + 1) * s->checkpoint_every;
		if (next_cp < stop)
			stop = next_cp;
		if (audit_batch(a, base, stop, stop == end || stop == next_cp) != 0)
			return -1;
	}
	return 0;
}

int
seed_audit(struct seed *s)
{
	struct audit_run a = { .s = s };
	int rc = -1;
	buf_init(&a.ent, (size_t)1 << 30);
	buf_init(&a.nodes, (size_t)1 << 28);
	buf_init(&a.e, AUDIT_ENTRY_MAX);
	randombytes_buf(&a.rng, sizeof(a.rng));
	a.rng |= 1;
	a.span = (int64_t)s->days * 86400;
	a.t0 = ((int64_t)s->today + 10957 + 1) * 86400 - a.span;
	a.c = PQconnectdb(s->conninfo);
	if (PQstatus(a.c) != CONNECTION_OK) {
		fprintf(stderr, "seed: connecting: %s", PQerrorMessage(a.c));
		goto out;
	}
	if ((a.signer = load_signer(s->audit_key_path)) == NULL ||
	    seed_exec(a.c, "set synchronous_commit = off", "synchronous_commit") != 0 ||
	    seed_exec(a.c, "BEGIN", "begin") != 0)
		goto out;
	int bad = seed_exec(a.c, "select pg_advisory_xact_lock(" AUDIT_LOCK ")", "audit lock") != 0 ||
	          log_size(a.c, &a.size) != 0 ||
	          merkle_frontier_from_nodes(&a.f, a.size, stored_node, a.c) != 0;
	PQclear(PQexec(a.c, "ROLLBACK"));
	if (!bad && audit_all(&a) == 0)
		rc = 0;
out:
	note_signer_free(a.signer);
	PQfinish(a.c);
	buf_free(&a.ent);
	buf_free(&a.nodes);
	buf_free(&a.e);
	return rc;
}
