#include "names.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "seen.h"
#include "util.h"

#define NAMES_MAGIC "tipline-members-seen v1\n"

void
names_fingerprint(const uint8_t pk[32], char out[NAMES_FP_LEN + 1])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[65];
	crypto_hash_sha256(h, pk, 32);
	util_hex(h, sizeof(h), hex);
	(void)names_fingerprint_of_hash(hex, out);
}

int
names_fingerprint_of_hash(const char *hex, char out[NAMES_FP_LEN + 1])
{
	if (strlen(hex) < 16 || strspn(hex, "0123456789abcdef") < 16) {
		out[0] = '\0';
		return -1;
	}
	snprintf(out, NAMES_FP_LEN + 1, "%.4s %.4s %.4s %.4s", hex, hex + 4, hex + 8, hex + 12);
	return 0;
}

/* One parsed line: server, team, hash, name (each NUL-terminated). */
struct nm_line {
	char server[SEEN_SERVER_MAX + 1];
	char team[MEMBERSHIP_TEAM_MAX + 1];
	char hash[65];
	char name[MEMBERSHIP_NAME_MAX + 1];
};

/* Copy the next field of [*p, end) into `f` (cap bytes): seen_file_field,
 * and printable ASCII only. Return 0, or -1. */
static int
nm_field(const char **p, const char *end, char *f, size_t cap)
{
	if (seen_file_field(p, end, f, cap) != 0)
		return -1;
	for (const char *c = f; *c != '\0'; c++)
		if (*c <= ' ' || *c > '~')
			return -1;
	return 0;
}

/* Parse the line [p, end) into `l`. Return 0, or -1. */
static int
nm_parse(const char *p, const char *end, struct nm_line *l)
{
	if (nm_field(&p, end, l->server, sizeof(l->server)) != 0 ||
	    nm_field(&p, end, l->team, sizeof(l->team)) != 0 || !membership_team_valid(l->team) ||
	    nm_field(&p, end, l->hash, sizeof(l->hash)) != 0 || strlen(l->hash) != 64 ||
	    strspn(l->hash, "0123456789abcdef") != 64 ||
	    nm_field(&p, end, l->name, sizeof(l->name)) != 0)
		return -1;
	return p == end ? 0 : -1;
}

/* seen_file_lines callback of nm_walk. */
struct nm_walk_state {
	const char *server, *drop_team;
	struct names *n;
	struct buf *rest;
};

static int
nm_walk_line(const char *p, const char *nl, void *arg)
{
	struct nm_walk_state *w = arg;
	struct nm_line l;
	if (nm_parse(p, nl, &l) != 0)
		return -1;
	int same = strcmp(l.server, w->server) == 0;
	if (w->n != NULL && same) {
		if (names_add_key(w->n, NULL, l.name) != 0)
			return -1;
		memcpy(w->n->hash[w->n->n - 1], l.hash, 65);
	}
	if (w->rest != NULL && !(same && w->drop_team != NULL && strcmp(l.team, w->drop_team) == 0) &&
	    buf_add(w->rest, p, (size_t)(nl - p) + 1) != 0)
		return -1;
	return 0;
}

/* Walk the file text: lines of `server` go to `n` (if not NULL); every
 * line but those of (server, drop_team) goes to `rest` (if not NULL).
 * Return 0, or -1 if damaged or out of room. */
static int
nm_walk(const struct buf *t, const char *server, const char *drop_team, struct names *n,
        struct buf *rest)
{
	struct nm_walk_state w = { server, drop_team, n, rest };
	return seen_file_lines((const char *)t->data, t->len, NAMES_MAGIC, NAMES_MAX_ENTRIES,
	                       nm_walk_line, &w);
}

int
names_remember(const char *path, const char *server, const struct membership *m)
{
	struct buf p, text, out;
	int rc = -1, lk = -1;
	buf_init(&p, 4096);
	buf_init(&text, NAMES_FILE_MAX);
	buf_init(&out, NAMES_FILE_MAX + 65536);
	if (seen_file_path(path, NAMES_FILE_NAME, &p) != 0 || (lk = seen_file_lock(buf_cstr(&p))) < 0 ||
	    seen_file_read(buf_cstr(&p), &text) != SEEN_OK || buf_adds(&out, NAMES_MAGIC) != 0)
		goto out;
	if (nm_walk(&text, server, membership_team(m), NULL, &out) != 0) {
		cli_error("%s is damaged: remove it (it only names keys in `audit log`)", buf_cstr(&p));
		goto out;
	}
	for (size_t i = 0; i < membership_count(m); i++) {
		const struct membership_member *mm = membership_member_at(m, i);
		uint8_t h[crypto_hash_sha256_BYTES];
		char hex[65];
		crypto_hash_sha256(h, mm->ed25519_pk, 32);
		util_hex(h, sizeof(h), hex);
		if (buf_printf(&out, "%s %s %s %s\n", server, membership_team(m), hex, mm->name) != 0)
			goto out;
	}
	rc = seen_file_replace(buf_cstr(&p), out.data, out.len) == SEEN_OK ? 0 : -1;
out:
	if (lk >= 0)
		close(lk);
	buf_free(&p);
	buf_free(&text);
	buf_free(&out);
	return rc;
}

int
names_load(const char *path, const char *server, struct names *n)
{
	struct buf p, text;
	int rc = -1;
	memset(n, 0, sizeof(*n));
	buf_init(&p, 4096);
	buf_init(&text, NAMES_FILE_MAX);
	if (seen_file_path(path, NAMES_FILE_NAME, &p) != 0 || seen_file_read(buf_cstr(&p), &text) != SEEN_OK)
		goto out;
	if (nm_walk(&text, server, NULL, n, NULL) != 0) {
		cli_error("%s is damaged: remove it (it only names keys in `audit log`)", buf_cstr(&p));
		names_free(n);
		goto out;
	}
	rc = 0;
out:
	buf_free(&p);
	buf_free(&text);
	return rc;
}

int
names_add_key(struct names *n, const uint8_t pk[32], const char *name)
{
	if (n->n % 64 == 0) {
		void *h = realloc(n->hash, (n->n + 64) * sizeof(*n->hash));
		if (h == NULL)
			return -1;
		n->hash = h;
		void *m = realloc(n->name, (n->n + 64) * sizeof(*n->name));
		if (m == NULL)
			return -1;
		n->name = m;
	}
	n->hash[n->n][0] = '\0';
	if (pk != NULL) {
		uint8_t h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(h, pk, 32);
		util_hex(h, sizeof(h), n->hash[n->n]);
	}
	snprintf(n->name[n->n], sizeof(n->name[0]), "%s", name);
	n->n++;
	return 0;
}

const char *
names_lookup(const struct names *n, const char *hex)
{
	for (size_t i = n->n; i-- > 0;)
		if (strcmp(n->hash[i], hex) == 0)
			return n->name[i];
	return NULL;
}

void
names_free(struct names *n)
{
	free(n->hash);
	free(n->name);
	memset(n, 0, sizeof(*n));
}
