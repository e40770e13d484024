/*
 * seal: an object sealed into a spool submission is, per recipient, a
 * complete age file (that recipient's header followed by the shared payload)
 * whose plaintext starts with the context line.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "age.h"
#include "seal.h"
#include "spool.h"
#include "util.h"

static char dir[64];
static struct spool *sp;
static uint8_t pks[3][32], sks[3][32];
static char strs[3][AGE_RECIPIENT_STR_MAX];
static const char *strp[3];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tipd-seal-XXXXXX");
	cr_assert(mkdtemp(dir) != NULL);
	sp = spool_open(dir, 1 << 28);
	cr_assert(sp != NULL);
	for (int i = 0; i < 3; i++) {
		cr_assert(age_keygen(pks[i], sks[i]) == 0);
		cr_assert(age_recipient_encode(pks[i], strs[i], sizeof(strs[i])) == 0);
		strp[i] = strs[i];
	}
}

static void
teardown(void)
{
	char cmd[128];
	spool_free(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert(system(cmd) == 0);
}

TestSuite(seal, .init = setup, .fini = teardown);

/* Seal `n` bytes of `pt` for 3 recipients in `pieces`-byte writes, commit,
 * read the spool entry back and return it. */
static struct spool_entry *
seal_and_read(const uint8_t *pt, size_t n, size_t pieces, char rid[37])
{
	struct seal_recipients r = { 3, strp, (const uint8_t(*)[32])pks };
	char **paths;
	util_uuid(rid);
	struct spool_txn *t = spool_begin(sp, rid, "demo", "2026-01-02");
	cr_assert(t != NULL);
	struct seal_object *o = seal_begin(t, SPOOL_REPORT, rid, rid, &r);
	cr_assert(o != NULL);
	for (size_t off = 0; off < n; off += pieces)
		cr_assert(seal_write(o, pt + off, n - off < pieces ? n - off : pieces) == 0);
	cr_assert(seal_zeros(o, 100) == 0);
	cr_assert_eq(seal_written(o), strlen("tipline/v1 report ") + 2 * 36 + 2 + n + 100);
	cr_assert(seal_finish(o) == 0);
	cr_assert(spool_commit_sync(t) == 0);
	int k = spool_list(sp, &paths, 10);
	cr_assert_eq(k, 1);
	struct spool_entry *e = spool_entry_read(paths[0]);
	spool_list_free(paths, k);
	cr_assert(e != NULL);
	return e;
}

static void
check(size_t n, size_t pieces)
{
	uint8_t *pt = malloc(n ? n : 1);
	char rid[37], line[128];
	randombytes_buf(pt, n);
	struct spool_entry *e = seal_and_read(pt, n, pieces, rid);
	cr_assert_eq(e->nobjects, 1);
	struct spool_object *o = &e->objects[0];
	cr_assert_eq(o->kind, SPOOL_REPORT);
	cr_assert_eq(o->nheaders, 3);
	int ln = snprintf(line, sizeof(line), "tipline/v1 report %s %s\n", rid, rid);
	for (size_t i = 0; i < 3; i++) {
		/* Header i opens only with key i; header ‖ payload is an age file. */
		struct buf file, out;
		buf_init(&file, 1 << 26);
		buf_init_secure(&out, 1 << 26);
		size_t who = 3;
		for (size_t j = 0; j < 3; j++)
			if (strcmp(o->recipients[i], strs[j]) == 0)
				who = j;
		cr_assert(who < 3, "header for an unknown recipient");
		cr_assert(buf_add(&file, o->headers[i], o->header_lens[i]) == 0);
		cr_assert(buf_add(&file, o->payload, o->payload_len) == 0);
		struct age_unwrap_opts wrong = { .sks = (const uint8_t(*)[32])sks[(who + 1) % 3],
			                         .nsks = 1 };
		cr_assert_eq(age_decrypt(file.data, file.len, &wrong, &out), AGE_ERR_NO_MATCH);
		struct age_unwrap_opts right = { .sks = (const uint8_t(*)[32])sks[who], .nsks = 1 };
		cr_assert_eq(age_decrypt(file.data, file.len, &right, &out), AGE_OK);
		cr_assert_eq(out.len, (size_t)ln + n + 100);
		cr_assert(memcmp(out.data, line, (size_t)ln) == 0, "context line");
		cr_assert(memcmp(out.data + ln, pt, n) == 0, "plaintext");
		for (size_t k = (size_t)ln + n; k < out.len; k++)
			cr_assert_eq(out.data[k], 0);
		buf_free(&file);
		buf_free(&out);
	}
	cr_assert(spool_entry_remove(sp, e) == 0);
	spool_entry_free(e);
	free(pt);
}

Test(seal, small_object_in_one_write)
{
	check(10, 10);
}

Test(seal, empty_object)
{
	check(0, 1);
}

Test(seal, multi_chunk_object_in_odd_pieces)
{
	check(3 * 65536 + 77, 10007);
}

Test(seal, exact_chunk_multiple_in_chunk_pieces)
{
	/* context line (92 bytes) + n + 100 zeros = exactly two chunks */
	check(2 * 65536 - 92 - 100, 65536);
}

Test(seal, no_recipients_is_refused)
{
	struct seal_recipients r = { 0, strp, (const uint8_t(*)[32])pks };
	char rid[37];
	util_uuid(rid);
	struct spool_txn *t = spool_begin(sp, rid, "demo", "2026-01-02");
	cr_assert(t != NULL);
	cr_assert_null(seal_begin(t, SPOOL_REPORT, rid, rid, &r));
	spool_abort(t);
}

Test(seal, kind_names)
{
	cr_assert_str_eq(seal_kind_name(SPOOL_REPORT), "report");
	cr_assert_str_eq(seal_kind_name(SPOOL_ATTACHMENT), "attachment");
	cr_assert_str_eq(seal_kind_name(SPOOL_MESSAGE), "message");
}
