/* The checks the spool's writer (spool.c), reader (spool_read.c) and
 * listing (spool_list.c) share (spool_format.h). */
#include "spool_format.h"

#include <string.h>

#include "util.h"

int
spool_fmt_valid_team(const char *t)
{
	size_t n = strlen(t);
	if (n < 1 || n > 63 || t[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

static int
two_digits(const char *p, int lo, int hi)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return 0;
	int v = (p[0] - '0') * 10 + (p[1] - '0');
	return v >= lo && v <= hi;
}

int
spool_fmt_valid_date(const char *d)
{
	if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
		return 0;
	for (int i = 0; i < 4; i++)
		if (d[i] < '0' || d[i] > '9')
			return 0;
	return two_digits(d + 5, 1, 12) && two_digits(d + 8, 1, 31);
}

/* age recipients are Bech32: "age1" then the lower-case Bech32 alphabet. */
int
spool_fmt_valid_recipient(const char *r, size_t n, size_t max)
{
	static const char alphabet[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
	if (n < 10 || n > max || memcmp(r, "age1", 4) != 0)
		return 0;
	for (size_t i = 4; i < n; i++)
		if (r[i] == '\0' || strchr(alphabet, r[i]) == NULL)
			return 0;
	return 1;
}

int
spool_fmt_valid_uuid_bytes(const uint8_t *p, char out[UUID_STR_LEN])
{
	memcpy(out, p, UUID_LEN);
	out[UUID_LEN] = '\0';
	return util_uuid_valid(out);
}

int
spool_fmt_name_is(const char *name, const char *suffix)
{
	size_t n = strlen(name), sn = strlen(suffix);
	char u[UUID_STR_LEN];
	if (n != UUID_LEN + sn || strcmp(name + UUID_LEN, suffix) != 0)
		return 0;
	memcpy(u, name, UUID_LEN);
	u[UUID_LEN] = '\0';
	return util_uuid_valid(u);
}
