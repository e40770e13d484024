#include "partner.h"

#include <stdbool.h>
#include <string.h>

int
partner_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > PARTNER_NAME_MAX)
		return 0;
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* An origin is printable ASCII without spaces, 1..PARTNER_URL_MAX bytes. */
static int
origin_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PARTNER_URL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

int
partner_build_text(const char *origin, const char *name, const char *recipient, struct buf *out)
{
	uint8_t pk[AGE_KEY_LEN];
	if (!origin_valid(origin) || !partner_name_valid(name) ||
	    strlen(recipient) >= AGE_RECIPIENT_STR_MAX || age_recipient_decode(recipient, pk) != 0)
		return -1;
	return buf_printf(out, PARTNER_ORIGIN "\norigin %s\nname %s\nrecipient %s\n", origin, name,
	                  recipient);
}

/* Take the line "<key> <value>\n" at *p (before `end`) into `out` (cap bytes). */
static int
take_line(const char **p, const char *end, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL || (size_t)(nl - *p) <= kl + 1 || memcmp(*p, key, kl) != 0 ||
	    (*p)[kl] != ' ')
		return -1;
	size_t vl = (size_t)(nl - *p) - kl - 1;
	if (vl == 0 || vl >= cap)
		return -1;
	memcpy(out, *p + kl + 1, vl);
	out[vl] = '\0';
	if (memchr(out, '\0', vl) != NULL)
		return -1;
	*p = nl + 1;
	return 0;
}

/* Parse the statement text of `n` bytes (ending in "\n") into `p`. */
static enum partner_result
parse_text(const char *t, size_t n, struct partner *p)
{
	static const char magic[] = PARTNER_ORIGIN "\n";
	const char *c = t, *end = t + n;
	if (n < sizeof(magic) - 1 || memcmp(t, magic, sizeof(magic) - 1) != 0)
		return PARTNER_ERR_FORMAT;
	c += sizeof(magic) - 1;
	if (take_line(&c, end, "origin", p->origin, sizeof(p->origin)) != 0 ||
	    take_line(&c, end, "name", p->name, sizeof(p->name)) != 0 ||
	    take_line(&c, end, "recipient", p->recipient, sizeof(p->recipient)) != 0 || c != end)
		return PARTNER_ERR_FORMAT;
	if (!origin_valid(p->origin) || !partner_name_valid(p->name) ||
	    age_recipient_decode(p->recipient, p->x25519_pk) != 0)
		return PARTNER_ERR_FORMAT;
	return PARTNER_OK;
}

enum partner_result
partner_open(const char *note, size_t len, const struct note_verifier *const *admins,
             size_t nadmins, const char *origin, struct partner *p)
{
	bool signed_by[NOTE_MAX_SIGS * 4];
	size_t tl = 0;
	enum partner_result r;
	memset(p, 0, sizeof(*p));
	if (len > PARTNER_STATEMENT_MAX || nadmins == 0 || nadmins > sizeof(signed_by))
		return nadmins == 0 ? PARTNER_ERR_UNSIGNED : PARTNER_ERR_FORMAT;
	switch (note_open(note, len, admins, nadmins, &tl, signed_by)) {
	case NOTE_OK: break;
	case NOTE_ERR_UNSIGNED: return PARTNER_ERR_UNSIGNED;
	case NOTE_ERR_BAD_SIGNATURE: return PARTNER_ERR_BAD_SIGNATURE;
	case NOTE_ERR_SYSTEM: return PARTNER_ERR_SYSTEM;
	default: return PARTNER_ERR_FORMAT;
	}
	if ((r = parse_text(note, tl, p)) != PARTNER_OK)
		goto fail;
	if (origin != NULL && strcmp(origin, p->origin) != 0) {
		r = PARTNER_ERR_ORIGIN;
		goto fail;
	}
	for (p->signer = 0; p->signer < nadmins && !signed_by[p->signer]; p->signer++)
		;
	return PARTNER_OK;
fail:
	memset(p, 0, sizeof(*p));
	return r;
}

const char *
partner_strerror(enum partner_result r)
{
	switch (r) {
	case PARTNER_OK: return "ok";
	case PARTNER_ERR_FORMAT: return "not a partner statement";
	case PARTNER_ERR_UNSIGNED: return "not signed by a current admin";
	case PARTNER_ERR_BAD_SIGNATURE: return "an admin signature does not verify";
	case PARTNER_ERR_ORIGIN: return "made for another server (origin)";
	default: return "out of memory";
	}
}
