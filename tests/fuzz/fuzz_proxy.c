/* libFuzzer target: the PROXY v1 line parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info info;
	size_t used = 0;
	/* A private copy, so that reading past `size` is caught by ASan. */
	char *p = malloc(size > 0 ? size : 1);
	if (p == NULL)
		return 0;
	if (size > 0)
		memcpy(p, data, size);
	enum proxy_result r = proxy_parse_v1(p, size, &info, &used);
	if (r == PROXY_OK) {
		if (used < 15 || used > PROXY_V1_MAX || used > size || p[used - 2] != '\r' || p[used - 1] != '\n')
			abort();
		if (info.has_circuit && info.family != PROXY_TCP6)
			abort();
		/* Every prefix that is shorter than the line needs more. */
		struct proxy_info i2;
		size_t u2;
		if (proxy_parse_v1(p, used - 1, &i2, &u2) != PROXY_NEED_MORE)
			abort();
	} else if (used != 0) {
		abort();
	}
	free(p);
	return 0;
}
