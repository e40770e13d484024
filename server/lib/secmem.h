/*
 * secmem: process-wide memory protections for code that handles plaintext.
 */
#ifndef TIPLINE_SECMEM_H
#define TIPLINE_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Forbid core dumps and ptrace attach (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) and,
 * if `lock` is set, lock all current and future pages in RAM (mlockall) so
 * that nothing is swapped out. Return 0 if everything asked for took effect,
 * or -1 if mlockall failed (the other measures are still applied); the
 * caller decides whether that is fatal.
 */
int secmem_harden_process(bool lock);

/*
 * Make libevent, OpenSSL and jansson allocate through wrappers that wipe
 * every block before freeing it, so that plaintext passing through their
 * buffers does not linger in freed heap memory. Call once, before any of
 * those libraries allocates. Return 0, or -1 if a library refused.
 */
int secmem_install_hooks(void);

/* Wipe and free a block from malloc (NULL is fine). */
void secmem_free(void *p);

/*
 * Locked, guarded memory for secrets (sodium_malloc), recycled: a block
 * released to this thread's pool is wiped and handed out again without the
 * mmap/mprotect/munmap that sodium_malloc and sodium_free cost (each unmap
 * is a TLB shootdown on every core). Return a zero-filled block of at least
 * `n` bytes, or NULL.
 */
void *secmem_alloc(size_t n);
/*
 * Release a block of `n` bytes (the size asked of secmem_alloc) of which at
 * most the first `dirty` bytes were ever written: they are wiped before the
 * block is pooled or freed. NULL is fine.
 */
void secmem_release(void *p, size_t n, size_t dirty);

#endif
