/*
 * stmt_text: reading the text of the signed statements (admins.h,
 * membership.h) line by line: every line ends in "\n", a field is a fixed
 * prefix and a value, a sequence number is decimal without leading zeros,
 * and "prev" names the previous statement's hash or "-" for none.
 */
#ifndef TIPLINE_STMT_TEXT_H
#define TIPLINE_STMT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STMT_HASH_LEN 32 /* a statement hash (SHA-256) */

/* A cursor over the `n` bytes of statement text at `p`. */
struct stmt_cur {
	const char *p;
	size_t n, pos;
};

/* Store the next line (without "\n") in `line`/`len` and advance. Return
 * 0, or -1 at the end or if the rest has no newline. */
int stmt_line(struct stmt_cur *c, const char **line, size_t *len);

/* If the line `line`/`len` starts with `prefix`, strip it and return 1;
 * else return 0 and leave it as it was. */
int stmt_strip(const char **line, size_t *len, const char *prefix);

/* Parse the `n` bytes at `s` as a decimal without leading zeros in
 * 1..max into *out. Return 0, or -1. */
int stmt_num(const char *s, size_t n, uint64_t max, uint64_t *out)
	__attribute__((warn_unused_result));

/* Parse the `n` bytes at `s` as "-" (*has = false) or 64 lower-case hex
 * digits into `hash` (*has = true). Return 0, or -1. */
int stmt_prev(const char *s, size_t n, uint8_t hash[STMT_HASH_LEN], bool *has)
	__attribute__((warn_unused_result));

#endif
