#include "stmt_text.h"

#include <sodium.h>
#include <string.h>

#include "util.h"

int
stmt_line(struct stmt_cur *c, const char **line, size_t *len)
{
	const char *eol;
	if (c->pos >= c->n || (eol = memchr(c->p + c->pos, '\n', c->n - c->pos)) == NULL)
		return -1;
	*line = c->p + c->pos;
	*len = (size_t)(eol - *line);
	c->pos += *len + 1;
	return 0;
}

int
stmt_strip(const char **line, size_t *len, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (*len < pl || memcmp(*line, prefix, pl) != 0)
		return 0;
	*line += pl;
	*len -= pl;
	return 1;
}

int
stmt_num(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	char tmp[24];
	if (n == 0 || n >= sizeof(tmp) || s[0] == '0' || memchr(s, '\0', n) != NULL)
		return -1; /* a NUL would end the copy early: "1\0x" is not 1 */
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return util_parse_u64(tmp, max, out) == 0 && *out > 0 ? 0 : -1;
}

int
stmt_prev(const char *s, size_t n, uint8_t hash[STMT_HASH_LEN], bool *has)
{
	size_t bl = 0;
	if (n == 1 && s[0] == '-') {
		*has = false;
		return 0;
	}
	if (n != 2 * STMT_HASH_LEN)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	if (sodium_hex2bin(hash, STMT_HASH_LEN, s, n, NULL, &bl, NULL) != 0 || bl != STMT_HASH_LEN)
		return -1;
	*has = true;
	return 0;
}
