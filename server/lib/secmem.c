#include "secmem.h"

#include <event2/event.h>
#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int
secmem_harden_process(bool lock)
{
	struct rlimit rl = { 0, 0 };
	int rc = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (lock && mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		rc = -1;
	return rc;
}

void
secmem_free(void *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

static void *
secmem_realloc(void *p, size_t n)
{
	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		secmem_free(p);
		return NULL;
	}
	size_t old = malloc_usable_size(p);
	if (n <= old)
		return p;
	/* Never let realloc move a block and leave the old copy behind. */
	void *q = malloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old);
	secmem_free(p);
	return q;
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return secmem_realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	secmem_free(p);
}

int
secmem_install_hooks(void)
{
	event_set_mem_functions(malloc, secmem_realloc, secmem_free);
	json_set_alloc_funcs(malloc, secmem_free);
	if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1)
		return -1;
	return 0;
}
