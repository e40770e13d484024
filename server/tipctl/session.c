#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "invite.h"
#include "util.h"

#define SESSION_MAGIC "tipline-session v1"

struct session *
session_new(void)
{
	struct session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	if ((s->token = sodium_malloc(SESSION_TOKEN_MAX + 1)) == NULL) {
		free(s);
		return NULL;
	}
	s->token[0] = '\0';
	return s;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	sodium_free(s->token);
	free(s);
}

int
session_path(struct buf *out, int create_dir)
{
	return cli_default_file("session", out, create_dir != 0);
}

int
session_b64url_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SESSION_TOKEN_MAX)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* Return 1 if `s` is 1.. printable ASCII characters (spaces allowed inside). */
static int
printable_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= SESSION_FIELD_MAX || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* Return 1 if every pinned admin key is printable ASCII without spaces. */
static int
admins_valid(const struct session *s)
{
	if (s->n_admin_keys > SESSION_ADMIN_MAX)
		return 0;
	for (size_t i = 0; i < s->n_admin_keys; i++)
		if (!printable_ok(s->admin_keys[i]) || strchr(s->admin_keys[i], ' ') != NULL)
			return 0;
	return 1;
}

int
session_valid(const struct session *s)
{
	char host[CLIENT_HOST_MAX];
	unsigned port;
	return client_parse_url(s->server, host, &port) == 0 && strlen(s->server) < SESSION_FIELD_MAX &&
	       strlen(s->pin) == 64 && strspn(s->pin, "0123456789abcdef") == 64 &&
	       printable_ok(s->origin) && session_b64url_ok(s->token) && s->expires_at >= 0 &&
	       invite_name_valid(s->member) &&
	       admins_valid(s) &&
	       (s->audit_key[0] == '\0' ||
	        (printable_ok(s->audit_key) && strchr(s->audit_key, ' ') == NULL));
}

enum session_result
session_save(const struct session *s, const char *path)
{
	struct buf text;
	enum session_result rc = SESSION_ERR_IO;
	buf_init_secure(&text, SESSION_FILE_MAX);
	if (!session_valid(s)) {
		rc = SESSION_ERR_FORMAT;
		goto out;
	}
	if (buf_printf(&text, SESSION_MAGIC "\nserver %s\npin %s\norigin %s\ntoken %s\n"
	                                    "expires_at %lld\nmember %s\n",
	               s->server, s->pin, s->origin, s->token, (long long)s->expires_at,
	               s->member) != 0) {
		errno = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->n_admin_keys; i++) {
		if (buf_printf(&text, "admin_key %s\n", s->admin_keys[i]) == 0)
			continue;
		errno = ENOMEM;
		goto out;
	}
	if (s->audit_key[0] != '\0' && buf_printf(&text, "audit_key %s\n", s->audit_key) != 0) {
		errno = ENOMEM;
		goto out;
	}
	if (cli_replace(path, text.data, text.len) != 0)
		goto out;
	rc = SESSION_OK;
out:
	buf_free(&text);
	return rc;
}

/* Copy the value `v` (`n` bytes) into `dst` (`cap` bytes) once. Return 0, or -1. */
static int
set_field(char *dst, size_t cap, int *seen, const char *v, size_t n)
{
	if (*seen || n == 0 || n >= cap || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	*seen = 1;
	return 0;
}

/* Apply the line "key value" (`n` bytes, no newline). Return 0, or -1. */
static int
session_line(struct session *s, const char *p, size_t n, int seen[7])
{
	const char *sp = memchr(p, ' ', n);
	if (sp == NULL)
		return -1;
	size_t kl = (size_t)(sp - p), vl = n - kl - 1;
	const char *v = sp + 1;
	if (kl == 6 && memcmp(p, "server", 6) == 0)
		return set_field(s->server, sizeof(s->server), &seen[0], v, vl);
	if (kl == 3 && memcmp(p, "pin", 3) == 0)
		return set_field(s->pin, sizeof(s->pin), &seen[1], v, vl);
	if (kl == 6 && memcmp(p, "origin", 6) == 0)
		return set_field(s->origin, sizeof(s->origin), &seen[2], v, vl);
	if (kl == 5 && memcmp(p, "token", 5) == 0)
		return set_field(s->token, SESSION_TOKEN_MAX + 1, &seen[3], v, vl);
	if (kl == 6 && memcmp(p, "member", 6) == 0)
		return set_field(s->member, sizeof(s->member), &seen[5], v, vl);
	if (kl == 9 && memcmp(p, "admin_key", 9) == 0) {
		int once = 0;
		if (s->n_admin_keys == SESSION_ADMIN_MAX ||
		    set_field(s->admin_keys[s->n_admin_keys], SESSION_FIELD_MAX, &once, v, vl) != 0)
			return -1;
		s->n_admin_keys++;
		return 0;
	}
	if (kl == 9 && memcmp(p, "audit_key", 9) == 0)
		return set_field(s->audit_key, sizeof(s->audit_key), &seen[6], v, vl);
	if (kl == 10 && memcmp(p, "expires_at", 10) == 0) {
		char d[24];
		uint64_t x;
		if (set_field(d, sizeof(d), &seen[4], v, vl) != 0 ||
		    util_parse_u64(d, (uint64_t)INT64_MAX, &x) != 0)
			return -1;
		s->expires_at = (int64_t)x;
		return 0;
	}
	return -1;
}

enum session_result
session_parse(struct session *s, const char *text, size_t n)
{
	int seen[7] = { 0 };
	const char *p = text, *end = text + n;
	size_t ml = strlen(SESSION_MAGIC);
	if (n < ml + 1 || memcmp(p, SESSION_MAGIC "\n", ml + 1) != 0)
		return SESSION_ERR_FORMAT;
	for (p += ml + 1; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || session_line(s, p, (size_t)(nl - p), seen) != 0)
			return SESSION_ERR_FORMAT;
		p = nl + 1;
	}
	for (int i = 0; i < 6; i++)
		if (!seen[i])
			return SESSION_ERR_FORMAT;
	return session_valid(s) ? SESSION_OK : SESSION_ERR_FORMAT;
}

enum session_result
session_load(struct session *s, const char *path)
{
	struct buf text;
	enum session_result rc;
	buf_init_secure(&text, SESSION_FILE_MAX);
	switch (cli_read_private(path, &text)) {
	case CLI_PRIVATE_OK: rc = session_parse(s, (const char *)text.data, text.len); break;
	case CLI_PRIVATE_ABSENT: rc = SESSION_ERR_ABSENT; break;
	case CLI_PRIVATE_UNSAFE: rc = SESSION_ERR_UNSAFE; break;
	case CLI_PRIVATE_TOO_BIG: rc = SESSION_ERR_FORMAT; break;
	default: rc = SESSION_ERR_IO; break;
	}
	buf_free(&text);
	return rc;
}
