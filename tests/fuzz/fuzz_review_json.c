/*
 * libFuzzer target: the review API's input parsers. The first byte picks
 * one: the login body, the list query string, or the PATCH body. Checks the
 * invariants callers rely on, not only the absence of crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "review_auth.h"
#include "review_reports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_login(const uint8_t *p, size_t n)
{
	struct rv_login l;
	int rc = rv_login_parse(p, n, &l);
	/* A nonce is either empty or exactly one base64url nonce long. */
	size_t nl = strnlen(l.nonce, sizeof(l.nonce));
	if (nl == sizeof(l.nonce) || (nl != 0 && nl != RV_B64URL_32 - 1))
		abort();
	if (rc == 0 && (nl == 0 || !l.have_pk))
		abort();
	if (rc == 0 && rv_login_verify(&l, "https://fuzz.example", "00") == 0)
		abort(); /* nobody signed for this origin */
}

static void
check_filter(const uint8_t *p, size_t n)
{
	struct rv_filter f;
	char *q = malloc(n + 1);
	if (q == NULL)
		return;
	memcpy(q, p, n);
	q[n] = '\0';
	if (rv_filter_parse(q, &f) == 0) {
		if (f.limit < 1 || f.limit > RV_LIST_MAX)
			abort();
		if (f.since != NULL && !rv_date_valid(f.since))
			abort();
		if (f.label != NULL && !rv_label_valid(f.label))
			abort();
		if (f.assignee != NULL && !rv_name_valid(f.assignee))
			abort();
		if (f.has_cursor && !rv_date_valid(f.cursor_date))
			abort();
	}
	free(q);
}

static void
check_patch(const uint8_t *p, size_t n)
{
	struct rv_patch pt;
	if (rv_patch_parse(p, n, &pt) != RV_PATCH_OK)
		return;
	if (pt.set_labels) {
		/* The array literal holds only label characters, commas and braces. */
		size_t l = strlen(pt.labels);
		if (l < 2 || pt.labels[0] != '{' || pt.labels[l - 1] != '}')
			abort();
		for (size_t i = 1; i + 1 < l; i++)
			if (strchr("{}\"\\ ", pt.labels[i]) != NULL)
				abort();
	}
	if (pt.set_assignee && pt.assignee[0] != '\0' && !rv_name_valid(pt.assignee))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* Exactly the bytes after the selector, so ASan sees a read past them
	 * (malloc(0) may answer NULL: an empty rest still gets a block). */
	uint8_t *p = malloc(size > 1 ? size - 1 : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0: check_login(p, size - 1); break;
	case 1: check_filter(p, size - 1); break;
	default: check_patch(p, size - 1); break;
	}
	free(p);
	return 0;
}
