/*
 * libFuzzer target: tipd's configuration loader (config_load). The input is
 * the file's bytes, handed over through a memory file so that the real
 * loader (inih plus the key table) reads it. An accepted config has every
 * key config_check promises; a refused one always says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct tipd_config *c)
{
	if (c->spool_dir == NULL || c->state_dir == NULL || c->questionnaire == NULL ||
	    c->receipt_pepper == NULL || c->db_conninfo == NULL || c->n_admin_keys == 0 ||
	    c->n_admin_keys > CONFIG_MAX_ADMIN_KEYS)
		abort();
	if (c->source.listen == NULL && c->source_tls.listen == NULL)
		abort();
	if (c->review.listen != NULL &&
	    (c->review.tls_cert == NULL || c->review.tls_key == NULL || c->review_origin == NULL))
		abort();
	if (c->loops > 64 || c->flush_interval_ms == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], err[512] = "";
	if (fd < 0 && (fd = memfd_create("fuzz-config", 0)) < 0)
		return 0;
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct tipd_config *c = config_load(path, err, sizeof(err));
	if (c != NULL) {
		check(c);
		config_free(c);
	} else if (err[0] == '\0') {
		abort();
	}
	return 0;
}
