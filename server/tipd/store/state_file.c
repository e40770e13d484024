#include "state_file.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

int
state_file_write(const char *dir, const char *name, const void *text, size_t len)
{
	if (util_write_file_durably(dir, name, text, len) == 0)
		return 0;
	log_error("cannot write %s/%s: %s", dir, name, strerror(errno));
	return -1;
}
