/*
 * once: a bounded, thread-safe set of identifiers already seen, so that a
 * problem an outsider can trigger again and again (a stored reply that does
 * not open, read on every visit of a source) is logged once per object and
 * the log does not become a record of when someone acted.
 *
 * The set holds at most `cap` identifiers (each up to ONCE_KEY_MAX bytes)
 * and never grows or evicts: once full, nothing new is reported as first,
 * so the log stays bounded too. It lives in memory only; a restart starts
 * it afresh.
 */
#ifndef TIPLINE_ONCE_H
#define TIPLINE_ONCE_H

#include <stddef.h>

#define ONCE_KEY_MAX 64

struct once;

/* Make a set of at most `cap` (> 0) identifiers. NULL on error. Caller frees. */
struct once *once_new(size_t cap);
/* Free the set (NULL is fine). */
void once_free(struct once *o);
/* Record `key` (`len` bytes, 1..ONCE_KEY_MAX). Return 1 if it was not in the
 * set and is now (log it), or 0 if it was already there, the set is full or
 * the key is malformed (do not log it). Thread-safe. */
int once_first(struct once *o, const void *key, size_t len);
/* Number of identifiers held. Thread-safe. */
size_t once_count(struct once *o);

#endif
