/*
 * Fuzz the spool file parser (spool_entry_parse, what spool_entry_read runs
 * on a file's bytes). Each input is parsed twice: as a whole file, and as the
 * records area of a file that gets a correct magic and END checksum, so that
 * the fuzzer reaches the record parser behind the checksum.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A rejected input is corrupt (EBADMSG), or memory ran out (ENOMEM): never
 * an error the flusher would mistake for "try again later" or "gone". */
static void
check_rejected(void)
{
	if (errno != EBADMSG && errno != ENOMEM)
		abort();
}

static void
check(const struct spool_entry *e)
{
	/* Touch everything the flusher would use, for ASan's sake. */
	volatile size_t sum = strlen(e->report_uuid) + strlen(e->team) + strlen(e->date);
	for (size_t i = 0; i < e->nobjects; i++) {
		const struct spool_object *o = &e->objects[i];
		if (o->payload_len == 0 || o->nheaders == 0)
			abort();
		sum += o->payload[o->payload_len - 1] + strlen(o->uuid);
		for (size_t j = 0; j < o->nheaders; j++)
			sum += strlen(o->recipients[j]) + o->headers[j][o->header_lens[j] - 1];
	}
	(void)sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char magic[] = "TIPLINE-SPOOL 1\n";
	if (sodium_init() < 0)
		return 0;
	errno = 0;
	struct spool_entry *e = spool_entry_parse(data, size);
	if (e != NULL) {
		check(e);
		spool_entry_free(e);
	} else {
		check_rejected();
	}
	if (size > (1u << 20))
		return 0;
	size_t n = 16 + size + 37;
	uint8_t *buf = malloc(n);
	if (buf == NULL)
		return 0;
	memcpy(buf, magic, 16);
	memcpy(buf + 16, data, size);
	uint8_t *end = buf + 16 + size;
	end[0] = 0x7f;
	end[1] = 0, end[2] = 0, end[3] = 0, end[4] = 32;
	crypto_generichash(end + 5, 32, buf, 16 + size, NULL, 0);
	errno = 0;
	e = spool_entry_parse(buf, n);
	if (e != NULL) {
		check(e);
		spool_entry_free(e);
	} else {
		check_rejected();
	}
	free(buf);
	return 0;
}
