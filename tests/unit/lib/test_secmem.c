/* secmem: the process is hardened, and blocks freed through the hooks are wiped. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "secmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

Test(secmem, hardening_forbids_core_dumps_and_ptrace)
{
	/* mlockall may be refused by RLIMIT_MEMLOCK here: ask only for the rest. */
	secmem_harden_process(false);
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	cr_assert_eq(rl.rlim_cur, 0);
	cr_assert_eq(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

Test(secmem, freed_blocks_are_wiped)
{
	/* glibc hands the block just freed back for the same size (tcache), and
	 * malloc does not clear it: what we find there is what secmem_free left.
	 * The allocator keeps its own links in the first 16 bytes. */
#ifdef UNDER_ASAN
	cr_skip_test("ASan's allocator quarantines freed blocks: checked in the plain build");
#endif
	size_t n = 256;
	unsigned char *p = malloc(n);
	cr_assert_not_null(p);
	memset(p, 0x5a, n);
	__asm__ volatile("" : : "r"(p) : "memory");
	secmem_free(p);
	unsigned char *q = malloc(n);
	cr_assert_eq((void *)q, (void *)p, "the allocator did not reuse the block: cannot observe");
	for (size_t i = 16; i < n; i++)
		cr_assert_eq(q[i], 0, "byte %zu survived secmem_free", i);
	free(q);

	/* Control: a plain free() leaves the bytes, so the check above can fail. */
	p = malloc(n);
	memset(p, 0x5a, n);
	__asm__ volatile("" : : "r"(p) : "memory"); /* keep the stores before free() */
	free(p);
	q = malloc(n);
	cr_assert_eq((void *)q, (void *)p);
	cr_assert_eq(q[n - 1], 0x5a, "plain free() wiped: the test proves nothing");
	free(q);
	secmem_free(NULL); /* NULL is fine */
}

Test(secmem, pooled_blocks_come_back_wiped)
{
	cr_assert_geq(sodium_init(), 0);
	unsigned char *p = secmem_alloc(3000);
	cr_assert_not_null(p);
	for (size_t i = 0; i < 3000; i++)
		cr_assert_eq(p[i], 0, "a new block is not zero-filled");
	memset(p, 0x77, 3000);
	secmem_release(p, 3000, 3000);
	unsigned char *q = secmem_alloc(2000); /* same 4 KiB class */
	cr_assert_eq((void *)q, (void *)p, "the released block was not reused");
	for (size_t i = 0; i < 4096; i++)
		cr_assert_eq(q[i], 0, "byte %zu of a pooled block survived", i);
	secmem_release(q, 2000, 2000);

	/* Blocks larger than the largest class are not pooled, and still work. */
	unsigned char *big = secmem_alloc(1 << 20);
	cr_assert_not_null(big);
	cr_assert_eq(big[(1 << 20) - 1], 0);
	big[0] = 1;
	secmem_release(big, 1 << 20, 1 << 20);
	secmem_release(NULL, 10, 10);
}

Test(secmem, a_full_pool_frees_instead)
{
	void *v[16];
	for (int i = 0; i < 16; i++)
		cr_assert_not_null(v[i] = secmem_alloc(5000));
	for (int i = 0; i < 16; i++)
		secmem_release(v[i], 5000, 5000);
	/* Only a few stay pooled; the next allocations still succeed. */
	for (int i = 0; i < 16; i++)
		cr_assert_not_null(v[i] = secmem_alloc(5000));
	for (int i = 0; i < 16; i++)
		secmem_release(v[i], 5000, 5000);
}
