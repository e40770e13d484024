#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define PROFILE_MAGIC "tipline-profile v1"
#define PROFILE_FILE_MAX 16384

void
profile_from_invite(struct profile *p, const struct invite *iv)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->server, sizeof(p->server), "%s", iv->server);
	snprintf(p->pin, sizeof(p->pin), "%s", iv->pin);
	snprintf(p->origin, sizeof(p->origin), "%s", iv->origin);
	snprintf(p->role, sizeof(p->role), "%s", iv->role);
	snprintf(p->name, sizeof(p->name), "%s", iv->name[0] != '\0' ? iv->name : "-");
	for (size_t i = 0; i < iv->n_admin_keys; i++)
		snprintf(p->admin_keys[i], sizeof(p->admin_keys[i]), "%s", iv->admin_keys[i]);
	p->n_admin_keys = iv->n_admin_keys;
	snprintf(p->audit_key, sizeof(p->audit_key), "%s", iv->audit_key);
}

int
profile_path(struct buf *out, int create_dir)
{
	return cli_default_file("profile", out, create_dir != 0);
}

/* Return 1 if `s` is a one-line value (no newline or control character). */
static int
line_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
profile_save(const struct profile *p, const char *path)
{
	struct buf text;
	int rc = -1;
	buf_init(&text, PROFILE_FILE_MAX);
	if (!line_ok(p->server) || !line_ok(p->origin) || !line_ok(p->name) || !line_ok(p->key_file) ||
	    buf_printf(&text, PROFILE_MAGIC "\nserver %s\npin %s\norigin %s\nrole %s\nname %s\n",
	               p->server, p->pin, p->origin, p->role, p->name) != 0)
		goto bad;
	for (size_t i = 0; i < p->n_admin_keys; i++)
		if (buf_printf(&text, "admin_key %s\n", p->admin_keys[i]) != 0)
			goto bad;
	if ((p->audit_key[0] != '\0' && buf_printf(&text, "audit_key %s\n", p->audit_key) != 0) ||
	    (p->key_file[0] != '\0' && buf_printf(&text, "key_file %s\n", p->key_file) != 0))
		goto bad;
	if (cli_replace(path, text.data, text.len) != 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
bad:
	cli_error("cannot write the profile: a field is malformed or too long");
out:
	buf_free(&text);
	return rc;
}

/* Append "  WHAT\n    was: OLD\n    now: NEW" to `out` if the values differ; count it in *n. */
static int
diff_line(struct buf *out, const char *what, const char *old, const char *new, size_t *n)
{
	if (strcmp(old, new) == 0)
		return 0;
	(*n)++;
	return buf_printf(out, "  %s\n    was: %s\n    now: %s\n", what, old[0] ? old : "(none)",
	                  new[0] ? new : "(none)");
}

/* Join the admin keys of `p` into `out` (one space between). */
static int
admin_keys_join(const struct profile *p, struct buf *out)
{
	for (size_t i = 0; i < p->n_admin_keys; i++)
		if (buf_printf(out, "%s%s", i ? " " : "", p->admin_keys[i]) != 0)
			return -1;
	return buf_cstr(out) != NULL ? 0 : -1;
}

int
profile_diff(const struct profile *old, const struct profile *new, struct buf *out)
{
	struct buf ko, kn;
	size_t n = 0;
	int rc = -1;
	buf_init(&ko, 8192);
	buf_init(&kn, 8192);
	if (buf_adds(&ko, "") != 0 || buf_adds(&kn, "") != 0 || admin_keys_join(old, &ko) != 0 ||
	    admin_keys_join(new, &kn) != 0 ||
	    diff_line(out, "server", old->server, new->server, &n) != 0 ||
	    diff_line(out, "TLS key pin", old->pin, new->pin, &n) != 0 ||
	    diff_line(out, "origin", old->origin, new->origin, &n) != 0 ||
	    diff_line(out, "role", old->role, new->role, &n) != 0 ||
	    diff_line(out, "name", old->name, new->name, &n) != 0 ||
	    diff_line(out, "admin keys", buf_cstr(&ko), buf_cstr(&kn), &n) != 0 ||
	    diff_line(out, "audit key", old->audit_key, new->audit_key, &n) != 0 ||
	    diff_line(out, "admin key file", old->key_file, new->key_file, &n) != 0)
		goto out;
	rc = (int)n;
out:
	buf_free(&ko);
	buf_free(&kn);
	return rc;
}

/* Copy value `v` (`n` bytes) into `dst` (`cap` bytes). Return 0, or -1. */
static int
take(char *dst, size_t cap, const char *v, size_t n)
{
	if (n == 0 || n >= cap || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* Apply line "key value" (`n` bytes). Return 0, or -1. */
static int
profile_line(struct profile *p, const char *l, size_t n)
{
	const char *sp = memchr(l, ' ', n);
	if (sp == NULL)
		return -1;
	size_t kl = (size_t)(sp - l), vl = n - kl - 1;
	const char *v = sp + 1;
#define KEY(k) (kl == sizeof(k) - 1 && memcmp(l, k, kl) == 0)
	if (KEY("server"))
		return take(p->server, sizeof(p->server), v, vl);
	if (KEY("pin"))
		return take(p->pin, sizeof(p->pin), v, vl);
	if (KEY("origin"))
		return take(p->origin, sizeof(p->origin), v, vl);
	if (KEY("role"))
		return take(p->role, sizeof(p->role), v, vl);
	if (KEY("name"))
		return take(p->name, sizeof(p->name), v, vl);
	if (KEY("audit_key"))
		return take(p->audit_key, sizeof(p->audit_key), v, vl);
	if (KEY("key_file"))
		return take(p->key_file, sizeof(p->key_file), v, vl);
	if (KEY("admin_key") && p->n_admin_keys < INVITE_ADMINS_MAX)
		return take(p->admin_keys[p->n_admin_keys++], INVITE_FIELD_MAX, v, vl);
#undef KEY
	return -1;
}

/* Check the loaded profile as an invite would be checked. */
static int
profile_valid(const struct profile *p)
{
	struct invite iv;
	memset(&iv, 0, sizeof(iv));
	snprintf(iv.server, sizeof(iv.server), "%s", p->server);
	snprintf(iv.pin, sizeof(iv.pin), "%s", p->pin);
	snprintf(iv.origin, sizeof(iv.origin), "%s", p->origin);
	snprintf(iv.role, sizeof(iv.role), "%s", p->role);
	snprintf(iv.name, sizeof(iv.name), "%s", strcmp(p->name, "-") == 0 ? "" : p->name);
	memcpy(iv.admin_keys, p->admin_keys, sizeof(iv.admin_keys));
	iv.n_admin_keys = p->n_admin_keys;
	snprintf(iv.audit_key, sizeof(iv.audit_key), "%s", p->audit_key);
	/* what an invite has and a profile does not */
	snprintf(iv.id, sizeof(iv.id), "00000000-0000-4000-8000-000000000000");
	snprintf(iv.secret, sizeof(iv.secret), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	snprintf(iv.teams[0], sizeof(iv.teams[0]), "x");
	iv.n_teams = 1;
	iv.expires_at = 1;
	return invite_valid(&iv);
}

int
profile_load(struct profile *p, const char *path)
{
	struct buf text;
	int rc = -1;
	memset(p, 0, sizeof(*p));
	buf_init(&text, PROFILE_FILE_MAX);
	enum cli_private r = cli_read_private(path, &text);
	if (r == CLI_PRIVATE_ABSENT) {
		rc = 0;
		goto out;
	}
	if (r != CLI_PRIVATE_OK) {
		cli_error("%s: %s", path, r == CLI_PRIVATE_UNSAFE ? "not a private file of yours "
		                                                    "(mode 0600, no symlink)"
		                                                  : "cannot read it");
		goto out;
	}
	const char *s = (const char *)text.data, *end = s + text.len;
	size_t ml = strlen(PROFILE_MAGIC);
	if (text.len <= ml || memcmp(s, PROFILE_MAGIC "\n", ml + 1) != 0)
		goto bad;
	for (s += ml + 1; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL || profile_line(p, s, (size_t)(nl - s)) != 0)
			goto bad;
		s = nl + 1;
	}
	if (!profile_valid(p))
		goto bad;
	rc = 1;
	goto out;
bad:
	cli_error("%s is malformed: enroll again with a new invite", path);
out:
	buf_free(&text);
	return rc;
}
