/*
 * state_file: the files tipd keeps in STATE_DIR to remember what it has
 * verified (admins-seen, admin-chain, membership-seen, membership-heads),
 * written one way.
 */
#ifndef TIPD_STATE_FILE_H
#define TIPD_STATE_FILE_H

#include <stddef.h>

/* Replace `dir`/`name` with `len` bytes of `text` atomically and durably
 * (util_write_file_durably). Return 0, or -1 after logging which file
 * could not be written and why. */
int state_file_write(const char *dir, const char *name, const void *text, size_t len)
	__attribute__((warn_unused_result));

#endif
