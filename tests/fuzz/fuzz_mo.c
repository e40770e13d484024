/*
 * Fuzz the .mo loader (server/lib/mo.c) and the template renderer's parser
 * (server/lib/tmpl.c) with the same bytes. Whatever mo_parse accepts must
 * answer lookups of every key without reading outside the file; whatever
 * tmpl_add accepts must render (possibly failing cleanly) with any scope.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mo.h"
#include "tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct mo *m = mo_parse(data, size, err, sizeof(err));
	if (m != NULL) {
		(void)mo_get(m, NULL, "English");
		(void)mo_get(m, "language name", "English");
		(void)mo_get(m, NULL, "");
		mo_free(m);
	}
	struct tmpl_set *s = tmpl_add(NULL, "t", (const char *)data, size, err, sizeof(err));
	if (s != NULL) {
		json_t *ctx = json_pack("{s:s, s:[{s:i}], s:b}", "a", "<x>", "b", "c", 1, "d", 1);
		struct buf out;
		buf_init(&out, 1 << 16);
		if (ctx != NULL && tmpl_check(s, err, sizeof(err)) == 0 &&
		    tmpl_render(s, "t", ctx, NULL, NULL, &out) == 0 && out.len > out.max)
			abort();
		buf_free(&out);
		json_decref(ctx);
		tmpl_free(s);
	}
	return 0;
}
