#include "passcache.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#define PC_PREFIX "tipline:identity:"
#define PC_PERM 0x3f000000u /* KEY_POS_ALL: the possessor only */

unsigned
passcache_seconds(void)
{
	const char *v = getenv("TIPLINE_PASS_CACHE");
	uint64_t s;
	if (v == NULL || v[0] == '\0')
		return PASSCACHE_DEFAULT_S;
	if (util_parse_u64(v, UINT32_MAX, &s) != 0)
		return 0;
	return s > PASSCACHE_MAX_S ? PASSCACHE_MAX_S : (unsigned)s;
}

/* The key description for the identity file at `path` into `out`. Return 0,
 * or -1 if the file cannot be read. */
static int
pc_desc(const char *path, char out[sizeof(PC_PREFIX) + 64])
{
	size_t n = 0;
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[65];
	char *p = util_read_file(path, IDENTITY_FILE_MAX, &n);
	if (p == NULL)
		return -1;
	crypto_hash_sha256(h, (const uint8_t *)p, n);
	free(p);
	util_hex(h, sizeof(h), hex);
	snprintf(out, sizeof(PC_PREFIX) + 64, PC_PREFIX "%s", hex);
	return 0;
}

/* The serial of the cached key described `desc`, or -1. */
static long
pc_find(const char *desc)
{
	return syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", desc, 0);
}

struct identity *
passcache_get(const char *path)
{
	char desc[sizeof(PC_PREFIX) + 64];
	struct identity *id = NULL;
	char *t = NULL;
	if (passcache_seconds() == 0 || pc_desc(path, desc) != 0)
		return NULL;
	long k = pc_find(desc);
	if (k < 0 || (t = sodium_malloc(IDENTITY_FILE_MAX)) == NULL)
		return NULL;
	long n = syscall(SYS_keyctl, KEYCTL_READ, k, t, (size_t)IDENTITY_FILE_MAX, 0);
	if (n > 0 && n <= (long)IDENTITY_FILE_MAX)
		id = identity_parse(t, (size_t)n);
	sodium_free(t);
	return id;
}

void
passcache_put(const char *path, const struct identity *id)
{
	char desc[sizeof(PC_PREFIX) + 64];
	struct buf t;
	unsigned secs = passcache_seconds();
	if (secs == 0 || pc_desc(path, desc) != 0)
		return;
	buf_init_secure(&t, IDENTITY_FILE_MAX);
	if (identity_text(id, &t) == 0 && t.len > 0) {
		/* The session keyring's serial: without one, asking for it (without
		 * creating) makes the user-session keyring ours, which outlives this
		 * process; add_key(KEY_SPEC_SESSION_KEYRING) would instead make a new
		 * session keyring that dies with it. */
		long ring = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
		long k = ring < 0 ? -1 : syscall(SYS_add_key, "user", desc, t.data, t.len, ring);
		/* possessor-only, then the timeout; if either fails, drop it */
		if (k >= 0 && (syscall(SYS_keyctl, KEYCTL_SETPERM, k, PC_PERM) != 0 ||
		               syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, k, secs) != 0))
			(void)syscall(SYS_keyctl, KEYCTL_INVALIDATE, k);
	}
	buf_free(&t);
}

void
passcache_forget(const char *path)
{
	char desc[sizeof(PC_PREFIX) + 64];
	long k;
	if (pc_desc(path, desc) != 0)
		return;
	while ((k = pc_find(desc)) >= 0)
		if (syscall(SYS_keyctl, KEYCTL_INVALIDATE, k) != 0 &&
		    syscall(SYS_keyctl, KEYCTL_UNLINK, k, KEY_SPEC_SESSION_KEYRING) != 0)
			break;
}

int
passcache_forget_all(void)
{
	int32_t ids[1024];
	char d[512];
	int dropped = 0;
	long n = syscall(SYS_keyctl, KEYCTL_READ, KEY_SPEC_SESSION_KEYRING, ids, sizeof(ids), 0);
	if (n <= 0)
		return 0;
	if ((size_t)n > sizeof(ids))
		n = (long)sizeof(ids);
	for (size_t i = 0; i < (size_t)n / sizeof(ids[0]); i++) {
		/* "type;uid;gid;perm;description" */
		long l = syscall(SYS_keyctl, KEYCTL_DESCRIBE, (long)ids[i], d, sizeof(d) - 1, 0);
		if (l <= 0 || (size_t)l >= sizeof(d))
			continue;
		d[l] = '\0';
		const char *desc = strrchr(d, ';');
		if (strncmp(d, "user;", 5) == 0 && desc != NULL &&
		    strncmp(desc + 1, PC_PREFIX, strlen(PC_PREFIX)) == 0 &&
		    syscall(SYS_keyctl, KEYCTL_INVALIDATE, (long)ids[i]) == 0)
			dropped++;
	}
	return dropped;
}
