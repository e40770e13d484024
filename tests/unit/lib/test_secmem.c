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
