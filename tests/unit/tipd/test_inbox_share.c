/* Unit tests for the pending set's sharing across hosts (inbox_share.h):
 * the host id file, the entry layout the pending set exports, the share key,
 * and lookups before anything was read. The database round is covered by
 * tests/integration/test_multihost.c. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "inbox.h"
#include "inbox_share.h"
#include "receipt.h"
#include "util.h"

static char dir[64];
static struct receipt_pepper *pep;

static void
init(void)
{
	uint8_t k[RECEIPT_PEPPER_LEN];
	cr_assert(sodium_init() >= 0);
	snprintf(dir, sizeof(dir), "/tmp/tipline-ishare.XXXXXX");
	cr_assert(mkdtemp(dir) != NULL);
	randombytes_buf(k, sizeof(k));
	pep = receipt_pepper_from_bytes(k);
	cr_assert(pep != NULL);
}

static void
fini(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, ISHARE_HOST_ID_FILE);
	unlink(path);
	rmdir(dir);
	receipt_pepper_free(pep);
}

TestSuite(ishare, .init = init, .fini = fini);

Test(ishare, host_id_is_made_once_private_and_kept)
{
	char err[256], path[128], first[33];
	struct stat st;
	struct ishare *s = ishare_new(dir, pep, 4, err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	snprintf(first, sizeof(first), "%s", ishare_host(s));
	cr_assert_eq(strlen(first), 32);
	cr_assert_eq(strspn(first, "0123456789abcdef"), 32);
	ishare_free(s);
	snprintf(path, sizeof(path), "%s/%s", dir, ISHARE_HOST_ID_FILE);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	s = ishare_new(dir, pep, 4, err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	cr_assert_str_eq(ishare_host(s), first, "a restart must keep the host's id");
	ishare_free(s);
	/* A file that is not an id is refused, not replaced. */
	int fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert(fd >= 0);
	cr_assert_eq(util_write_all(fd, "not-a-host-id\n", 14), 0);
	close(fd);
	cr_assert_null(ishare_new(dir, pep, 4, err, sizeof(err)));
	cr_assert(strstr(err, ISHARE_HOST_ID_FILE) != NULL, "%s", err);
}

Test(ishare, nothing_is_known_before_a_round)
{
	char err[256], report[37], team[64];
	uint8_t id[32];
	randombytes_buf(id, sizeof(id));
	cr_assert_eq(ishare_find(NULL, id, report, team), ISHARE_NONE);
	struct ishare *s = ishare_new(dir, pep, 4, err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	cr_assert_eq(ishare_find(s, id, report, team), ISHARE_NONE);
	cr_assert_eq(ishare_take_message(s, id, 100), -1);
	ishare_return_message(s, id); /* nothing to give back: no effect */
	ishare_stop(s);               /* never started: fine */
	ishare_free(s);
}

Test(ishare, the_share_key_is_its_own_derivation)
{
	uint8_t a[32], b[32], id[RECEIPT_ID_LEN], k2[RECEIPT_PEPPER_LEN];
	char digits[RECEIPT_DIGITS];
	cr_assert_eq(receipt_share_key(pep, a), 0);
	cr_assert_eq(receipt_share_key(pep, b), 0);
	cr_assert_eq(memcmp(a, b, 32), 0, "one pepper, one share key on every host");
	receipt_new(digits);
	cr_assert_eq(receipt_lookup_id(pep, digits, id), 0);
	cr_assert_neq(memcmp(a, id, 32), 0);
	randombytes_buf(k2, sizeof(k2));
	struct receipt_pepper *other = receipt_pepper_from_bytes(k2);
	cr_assert_eq(receipt_share_key(other, b), 0);
	cr_assert_neq(memcmp(a, b, 32), 0, "another pepper gives another key");
	receipt_pepper_free(other);
}

Test(ishare, the_pending_set_exports_fixed_entries)
{
	struct app app;
	struct tipd_config cfg;
	char err[256];
	uint8_t ids[3][32], out[4 * ISHARE_ENTRY];
	memset(&app, 0, sizeof(app));
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_dir = "/nonexistent/tipline-ishare-test";
	app.cfg = &cfg;
	struct inbox *ib = inbox_new(&app, err, sizeof(err));
	cr_assert(ib != NULL, "%s", err);
	const char *uuid = "0b6f5d0e-8c1f-4a59-9d7e-3f1b2a4c5d6e";
	for (int i = 0; i < 3; i++) {
		randombytes_buf(ids[i], 32);
		cr_assert_eq(inbox_pending_add(ib, ids[i], uuid, "demo"), 0);
	}
	/* At most `max`, however many are pending. */
	cr_assert_eq(inbox_pending_export(ib, out, 2), 2);
	memset(out, 0xAA, sizeof(out));
	cr_assert_eq(inbox_pending_export(ib, out, 4), 3);
	cr_assert_eq(out[3 * ISHARE_ENTRY], 0xAA, "an entry was written past the count");
	for (int i = 0; i < 3; i++) {
		const uint8_t *e = out + i * ISHARE_ENTRY;
		int found = 0;
		for (int j = 0; j < 3; j++)
			found += memcmp(e, ids[j], 32) == 0;
		cr_assert_eq(found, 1);
		cr_assert_eq(memcmp(e + 32, uuid, 36), 0);
		cr_assert_eq(e[68], 0, "not forgotten");
		cr_assert_eq(e[69], 4);
		cr_assert_eq(memcmp(e + 70, "demo", 4), 0);
		for (int k = 74; k < ISHARE_ENTRY; k++)
			cr_assert_eq(e[k], 0, "padding must be zeros");
	}
	inbox_free(ib);
}
