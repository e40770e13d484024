#include "secmem.h"

#include <event2/event.h>
#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <pthread.h>
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

/* Pooled size classes: 4 KiB << i. Larger blocks are not pooled. */
#define POOL_CLASSES 7 /* 4 KiB .. 256 KiB */
#define POOL_DEPTH 4   /* blocks kept per class and thread */

struct pool {
	void *blocks[POOL_CLASSES][POOL_DEPTH];
	int n[POOL_CLASSES];
};

static _Thread_local struct pool tl_pool;
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* At thread exit, give the thread's pooled blocks back to the system. */
static void
pool_destroy(void *arg)
{
	struct pool *pl = arg;
	for (int c = 0; c < POOL_CLASSES; c++)
		while (pl->n[c] > 0)
			sodium_free(pl->blocks[c][--pl->n[c]]);
}

static void
pool_init(void)
{
	(void)pthread_key_create(&pool_key, pool_destroy);
}

static int
pool_class(size_t n)
{
	for (int c = 0; c < POOL_CLASSES; c++)
		if (n <= ((size_t)4096 << c))
			return c;
	return -1;
}

void *
secmem_alloc(size_t n)
{
	int c = pool_class(n);
	if (sodium_init() < 0) /* sodium_malloc needs it; cheap once done */
		return NULL;
	if (c < 0) {
		void *p = sodium_malloc(n);
		if (p != NULL)
			memset(p, 0, n);
		return p;
	}
	struct pool *pl = &tl_pool;
	if (pl->n[c] > 0)
		return pl->blocks[c][--pl->n[c]]; /* wiped when released */
	size_t size = (size_t)4096 << c;
	void *p = sodium_malloc(size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void
secmem_release(void *p, size_t n, size_t dirty)
{
	if (p == NULL)
		return;
	int c = pool_class(n);
	struct pool *pl = &tl_pool;
	if (c < 0 || pl->n[c] == POOL_DEPTH) {
		sodium_free(p); /* wipes */
		return;
	}
	size_t size = (size_t)4096 << c;
	sodium_memzero(p, dirty < size ? dirty : size);
	(void)pthread_once(&pool_once, pool_init);
	(void)pthread_setspecific(pool_key, pl);
	pl->blocks[c][pl->n[c]++] = p;
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
