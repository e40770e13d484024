/* Listing the committed files of a spool (spool.h), for the flusher and the
 * inbox's start-up: every ".rep" name, or the next ones in name order after
 * a cursor, read from a fresh directory handle each time. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "spool_format.h"

/* The spool directory on a fresh open file description (a dup() would
 * share the directory offset with concurrent listings on other threads),
 * or NULL. */
static DIR *
open_listing(struct spool *s)
{
	int fd = openat(spool_fmt_dirfd(s), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL && fd >= 0)
		close(fd);
	return d;
}

int
spool_list(struct spool *s, char ***paths, size_t max)
{
	char **out = NULL;
	int n = 0;
	DIR *d = open_listing(s);
	*paths = NULL;
	if (d == NULL)
		return -1;
	if (max > 0 && (out = calloc(max, sizeof(*out))) == NULL)
		goto fail;
	struct dirent *de;
	while ((size_t)n < max && (de = readdir(d)) != NULL) {
		if (!spool_fmt_name_is(de->d_name, ".rep"))
			continue;
		size_t len = strlen(spool_dir(s)) + 1 + strlen(de->d_name) + 1;
		if ((out[n] = malloc(len)) == NULL)
			goto fail;
		snprintf(out[n], len, "%s/%s", spool_dir(s), de->d_name);
		n++;
	}
	closedir(d);
	*paths = out;
	return n;
fail:
	closedir(d);
	spool_list_free(out, n);
	return -1;
}

/* Max-heap of file names (the largest at the top), for spool_list_after. */
struct name_heap {
	char (*v)[UUID_STR_LEN + 4];
	size_t n, max;
};

static void
heap_sift_down(struct name_heap *h, size_t i)
{
	char t[UUID_STR_LEN + 4];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && strcmp(h->v[l], h->v[m]) > 0)
			m = l;
		if (r < h->n && strcmp(h->v[r], h->v[m]) > 0)
			m = r;
		if (m == i)
			return;
		memcpy(t, h->v[i], sizeof(t));
		memcpy(h->v[i], h->v[m], sizeof(t));
		memcpy(h->v[m], t, sizeof(t));
		i = m;
	}
}

/* Keep `name` if it is among the `max` smallest seen so far. */
static void
heap_offer(struct name_heap *h, const char *name)
{
	char t[UUID_STR_LEN + 4];
	size_t len = strlen(name);
	if (len >= sizeof(t))
		return; /* not a spool file name (name_is checked it) */
	if (h->n < h->max) {
		size_t i = h->n++;
		memcpy(h->v[i], name, len + 1);
		while (i > 0 && strcmp(h->v[(i - 1) / 2], h->v[i]) < 0) {
			memcpy(t, h->v[i], sizeof(t));
			memcpy(h->v[i], h->v[(i - 1) / 2], sizeof(t));
			memcpy(h->v[(i - 1) / 2], t, sizeof(t));
			i = (i - 1) / 2;
		}
	} else if (strcmp(name, h->v[0]) < 0) {
		memcpy(h->v[0], name, len + 1);
		heap_sift_down(h, 0);
	}
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int
spool_list_after(struct spool *s, const char *after, char ***paths, size_t max)
{
	struct name_heap h = { NULL, 0, max };
	char **out = NULL;
	int n = 0;
	DIR *d = open_listing(s);
	*paths = NULL;
	if (d == NULL)
		return -1;
	if (max == 0 || max > INT32_MAX || (h.v = calloc(max, sizeof(*h.v))) == NULL ||
	    (out = calloc(max, sizeof(*out))) == NULL)
		goto fail;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (spool_fmt_name_is(de->d_name, ".rep") && strcmp(de->d_name, after) > 0)
			heap_offer(&h, de->d_name);
	qsort(h.v, h.n, sizeof(*h.v), name_cmp);
	for (; (size_t)n < h.n; n++) {
		size_t len = strlen(spool_dir(s)) + 1 + strlen(h.v[n]) + 1;
		if ((out[n] = malloc(len)) == NULL)
			goto fail;
		snprintf(out[n], len, "%s/%s", spool_dir(s), h.v[n]);
	}
	closedir(d);
	free(h.v);
	*paths = out;
	return n;
fail:
	closedir(d);
	free(h.v);
	spool_list_free(out, n);
	return -1;
}

void
spool_list_free(char **paths, int n)
{
	if (paths == NULL)
		return;
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
