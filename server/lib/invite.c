#include "invite.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "membership.h"
#include "note.h"
#include "util.h"

/* Return 1 if `s` is 1..max-1 printable ASCII characters without spaces. */
static int
token_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* Return 1 if `s` parses as a note verifier key, else 0. */
static int
verifier_ok(const char *s)
{
	struct note_verifier *v = note_verifier_parse(s, strlen(s));
	note_verifier_free(v);
	return v != NULL;
}

int
invite_name_valid(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= MEMBERSHIP_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int
invite_valid(const struct invite *iv)
{
	int admin = strcmp(iv->role, "admin") == 0;
	uint8_t secret[INVITE_SECRET_LEN];
	size_t sl = 0;
	if (strncmp(iv->server, "https://", 8) != 0 || !token_ok(iv->server, INVITE_FIELD_MAX) ||
	    strlen(iv->pin) != 64 || strspn(iv->pin, "0123456789abcdef") != 64 ||
	    !token_ok(iv->origin, INVITE_FIELD_MAX) || !util_uuid_valid(iv->id) ||
	    util_base64_decode(iv->secret, strlen(iv->secret), secret, sizeof(secret), &sl,
	                       sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    sl != INVITE_SECRET_LEN || (!admin && strcmp(iv->role, "investigator") != 0) ||
	    iv->n_admin_keys == 0 || iv->n_admin_keys > INVITE_ADMINS_MAX ||
	    iv->n_teams > INVITE_TEAMS_MAX || iv->expires_at <= 0) {
		sodium_memzero(secret, sizeof(secret));
		return 0;
	}
	sodium_memzero(secret, sizeof(secret));
	if (!admin && (!invite_name_valid(iv->name) || iv->n_teams == 0))
		return 0;
	if (iv->name[0] != '\0' && !invite_name_valid(iv->name))
		return 0;
	for (size_t i = 0; i < iv->n_admin_keys; i++)
		if (!token_ok(iv->admin_keys[i], INVITE_FIELD_MAX) || !verifier_ok(iv->admin_keys[i]))
			return 0;
	if (iv->audit_key[0] != '\0' &&
	    (!token_ok(iv->audit_key, INVITE_FIELD_MAX) || !verifier_ok(iv->audit_key)))
		return 0;
	for (size_t i = 0; i < iv->n_teams; i++) {
		if (!membership_team_valid(iv->teams[i]))
			return 0;
		for (size_t j = 0; j < i; j++)
			if (strcmp(iv->teams[i], iv->teams[j]) == 0)
				return 0;
	}
	return 1;
}

/* The invite as a JSON object; NULL if out of memory. */
static json_t *
invite_json(const struct invite *iv)
{
	json_t *admins = json_array(), *teams = json_array();
	for (size_t i = 0; admins != NULL && i < iv->n_admin_keys; i++)
		json_array_append_new(admins, json_string(iv->admin_keys[i]));
	for (size_t i = 0; teams != NULL && i < iv->n_teams; i++)
		json_array_append_new(teams, json_string(iv->teams[i]));
	if (admins == NULL || teams == NULL) {
		json_decref(admins);
		json_decref(teams);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:I}", "server",
	                 iv->server, "pin", iv->pin, "origin", iv->origin, "admin_keys", admins,
	                 "audit_key", iv->audit_key, "id", iv->id, "secret", iv->secret, "role",
	                 iv->role, "name", iv->name, "teams", teams, "expires_at",
	                 (json_int_t)iv->expires_at);
}

int
invite_encode(const struct invite *iv, struct buf *out)
{
	if (!invite_valid(iv))
		return -1;
	json_t *doc = invite_json(iv);
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (s == NULL)
		return -1;
	size_t n = strlen(s), cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int rc = -1;
	if (buf_printf(out, "%s", INVITE_PREFIX) == 0 && buf_reserve(out, cap) == 0) {
		sodium_bin2base64((char *)out->data + out->len, cap, (const unsigned char *)s, n,
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		out->len += strlen((char *)out->data + out->len);
		rc = 0;
	}
	sodium_memzero(s, n);
	free(s);
	return rc;
}

/* Copy JSON string member `key` of `o` into `dst` (`cap` bytes). Return 0 or -1. */
static int
take_str(json_t *o, const char *key, char *dst, size_t cap, int optional)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL && optional) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* Copy the JSON array of strings `key` of `o` into rows of `dst`. Return 0 or -1. */
static int
take_strs(json_t *o, const char *key, char *dst, size_t rowlen, size_t maxrows, size_t *n)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;
	if (!json_is_array(a) || json_array_size(a) > maxrows)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) >= rowlen ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return -1;
		memcpy(dst + i * rowlen, json_string_value(v), json_string_length(v) + 1);
	}
	*n = json_array_size(a);
	return 0;
}

/* Fill `iv` from the decoded JSON text. Return 0 or -1. */
static int
invite_from_json(const char *text, size_t n, struct invite *iv)
{
	json_error_t e;
	json_t *o = json_loadb(text, n, JSON_REJECT_DUPLICATES, &e), *exp;
	int rc = -1;
	memset(iv, 0, sizeof(*iv));
	if (!json_is_object(o) || take_str(o, "server", iv->server, sizeof(iv->server), 0) != 0 ||
	    take_str(o, "pin", iv->pin, sizeof(iv->pin), 0) != 0 ||
	    take_str(o, "origin", iv->origin, sizeof(iv->origin), 0) != 0 ||
	    take_str(o, "audit_key", iv->audit_key, sizeof(iv->audit_key), 1) != 0 ||
	    take_str(o, "id", iv->id, sizeof(iv->id), 0) != 0 ||
	    take_str(o, "secret", iv->secret, sizeof(iv->secret), 0) != 0 ||
	    take_str(o, "role", iv->role, sizeof(iv->role), 0) != 0 ||
	    take_str(o, "name", iv->name, sizeof(iv->name), 1) != 0 ||
	    take_strs(o, "admin_keys", &iv->admin_keys[0][0], INVITE_FIELD_MAX, INVITE_ADMINS_MAX,
	              &iv->n_admin_keys) != 0 ||
	    take_strs(o, "teams", &iv->teams[0][0], sizeof(iv->teams[0]), INVITE_TEAMS_MAX,
	              &iv->n_teams) != 0)
		goto out;
	exp = json_object_get(o, "expires_at");
	if (!json_is_integer(exp) || json_integer_value(exp) <= 0)
		goto out;
	iv->expires_at = (int64_t)json_integer_value(exp);
	rc = invite_valid(iv) ? 0 : -1;
out:
	json_decref(o);
	return rc;
}

int
invite_decode(const char *s, size_t n, struct invite *iv)
{
	size_t pl = strlen(INVITE_PREFIX), bl = 0;
	int rc = -1;
	while (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n <= pl || n > INVITE_TEXT_MAX || memcmp(s, INVITE_PREFIX, pl) != 0)
		return -1;
	char *json = sodium_malloc(n);
	if (json == NULL)
		return -1;
	if (util_base64_decode(s + pl, n - pl, (uint8_t *)json, n, &bl,
	                       sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0)
		rc = invite_from_json(json, bl, iv);
	sodium_free(json);
	return rc;
}

int
invite_enroll_message(const char *origin, const char *pin_hex, const char *id, const char *name,
                      const char *recipient, const char *ed25519_b64, struct buf *out)
{
	if (!token_ok(origin, INVITE_FIELD_MAX) || strlen(pin_hex) != 64 ||
	    strspn(pin_hex, "0123456789abcdef") != 64 || !util_uuid_valid(id) ||
	    (name[0] != '\0' && !invite_name_valid(name)) ||
	    (recipient != NULL && !token_ok(recipient, INVITE_FIELD_MAX)) ||
	    !token_ok(ed25519_b64, INVITE_FIELD_MAX))
		return -1;
	return buf_printf(out, INVITE_ENROLL_PURPOSE "\n%s\n%s\n%s\n%s\n%s\n%s\n", origin, pin_hex,
	                  id, name[0] != '\0' ? name : "-", recipient != NULL ? recipient : "-",
	                  ed25519_b64);
}
