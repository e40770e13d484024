#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mo.h"
#include "util.h"

static char err[256];

/* Compile `po` text with Debian's msgfmt; return the .mo bytes (caller frees). */
static uint8_t *
compile(const char *po, size_t *len)
{
	char dir[] = "/tmp/test-mo.XXXXXX", pof[64], mof[64], cmd[256];
	cr_assert(mkdtemp(dir) != NULL);
	snprintf(pof, sizeof(pof), "%s/x.po", dir);
	snprintf(mof, sizeof(mof), "%s/x.mo", dir);
	FILE *f = fopen(pof, "w");
	cr_assert(f != NULL);
	fputs(po, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "msgfmt -o %s %s", mof, pof);
	cr_assert_eq(system(cmd), 0);
	uint8_t *p = (uint8_t *)util_read_file(mof, 1 << 20, len);
	cr_assert(p != NULL);
	unlink(pof);
	unlink(mof);
	rmdir(dir);
	return p;
}

static const char PO[] = "msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n"
			 "msgid \"Send\"\nmsgstr \"أرسل\"\n\n"
			 "msgctxt \"language name\"\nmsgid \"English\"\nmsgstr \"العربية\"\n\n"
			 "msgid \"English\"\nmsgstr \"الإنجليزية\"\n\n"
			 "msgid \"Untranslated\"\nmsgstr \"\"\n";

Test(mo, reads_what_msgfmt_writes)
{
	size_t n;
	uint8_t *p = compile(PO, &n);
	struct mo *m = mo_parse(p, n, err, sizeof(err));
	cr_assert(m != NULL, "%s", err);
	cr_assert_str_eq(mo_get(m, NULL, "Send"), "أرسل");
	cr_assert_str_eq(mo_get(m, "language name", "English"), "العربية");
	cr_assert_str_eq(mo_get(m, NULL, "English"), "الإنجليزية");
	cr_assert_null(mo_get(m, NULL, "Untranslated"));
	cr_assert_null(mo_get(m, NULL, "Nope"));
	cr_assert_null(mo_get(m, "other", "Send"));
	cr_assert_eq(mo_count(m), 3);
	mo_free(m);
	free(p);
}

Test(mo, refuses_damaged_files)
{
	size_t n;
	uint8_t *p = compile(PO, &n);
	/* every truncation is refused or still valid, never read past */
	for (size_t k = 0; k < n; k++) {
		struct mo *m = mo_parse(p, k, err, sizeof(err));
		mo_free(m);
	}
	cr_assert_null(mo_parse(p, 19, err, sizeof(err)));
	uint8_t *q = malloc(n);
	memcpy(q, p, n);
	q[0] ^= 1; /* magic */
	cr_assert_null(mo_parse(q, n, err, sizeof(err)));
	cr_assert(strstr(err, "not a .mo") != NULL);
	memcpy(q, p, n);
	q[16] = 0xff; /* translation table offset out of the file */
	q[17] = 0xff;
	cr_assert_null(mo_parse(q, n, err, sizeof(err)));
	memcpy(q, p, n);
	char *s = memmem(q, n, "Send", 4);
	cr_assert(s != NULL);
	s[1] = (char)0xc3; /* invalid UTF-8 in a msgid */
	s[2] = (char)0x28;
	cr_assert_null(mo_parse(q, n, err, sizeof(err)));
	free(q);
	free(p);
}
