/*
 * mo: read a GNU gettext message catalogue (.mo, as msgfmt writes it).
 *
 * The whole file is checked when loaded: magic (either byte order), major
 * revision 0, every string table entry inside the file and NUL-terminated,
 * every string valid UTF-8. Entries with a context are keyed
 * "context\x04msgid" as gettext does; for plural entries only the msgid and
 * the first translation are kept. Empty translations count as missing.
 */
#ifndef TIPLINE_MO_H
#define TIPLINE_MO_H

#include <stddef.h>
#include <stdint.h>

struct mo;

#define MO_MAX_FILE (4 * 1024 * 1024)
#define MO_MAX_ENTRIES 20000

/* Parse `len` bytes of .mo data (copied). Return the catalogue, or NULL with
 * the reason in `err`. Caller frees with mo_free. */
struct mo *mo_parse(const uint8_t *data, size_t len, char *err, size_t errlen);
/* Read and parse the file at `path` (at most MO_MAX_FILE bytes). */
struct mo *mo_load(const char *path, char *err, size_t errlen);
void mo_free(struct mo *m);
/* The translation of `msgid` in context `ctxt` (NULL for none), or NULL if
 * the catalogue has none. Valid until mo_free. */
const char *mo_get(const struct mo *m, const char *ctxt, const char *msgid);
/* Number of translated entries (the header excluded). */
size_t mo_count(const struct mo *m);

#endif
