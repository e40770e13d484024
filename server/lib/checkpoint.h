/*
 * checkpoint: C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint) notes.
 *
 * The body of a checkpoint is
 *
 *   <origin>\n
 *   <tree size, ASCII decimal, no leading zero>\n
 *   <base64 of the 32-byte root hash>\n
 *   [extension lines, each non-empty]
 *
 * and it travels as a signed note (note.h). The origin is the log's name,
 * by convention the signing key's name. Extension lines are accepted (at
 * most CHECKPOINT_MAX_EXT, each non-empty) and ignored.
 */
#ifndef TIPLINE_CHECKPOINT_H
#define TIPLINE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "merkle.h"
#include "note.h"

#define CHECKPOINT_ORIGIN_MAX 255
#define CHECKPOINT_MAX_EXT 16

struct checkpoint {
	char origin[CHECKPOINT_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[MERKLE_HASH_LEN];
};

/*
 * Append the checkpoint body of `c` to `out`. Return 0, or -1 if the origin
 * is empty, too long or holds a control character, or `out` is full.
 */
int checkpoint_format(const struct checkpoint *c, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Parse the checkpoint body of `len` bytes at `text` into `c`, strictly:
 * exact line structure, decimal size without sign or leading zero (at most
 * 2^63 - 1), canonical padded base64 of exactly 32 bytes. Return 0, or -1.
 */
int checkpoint_parse(const char *text, size_t len, struct checkpoint *c)
	__attribute__((warn_unused_result));

/* Sign the body of `c` with `s` and append the signed note to `out`. Return 0, or -1. */
int checkpoint_sign(const struct note_signer *s, const struct checkpoint *c, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Open the signed checkpoint note of `len` bytes at `note` with the trusted
 * verifier `v`, parse its body into `c` and require its origin to be
 * `origin` (NULL: the verifier's key name). Return NOTE_OK, a note_open
 * error, or NOTE_ERR_FORMAT if the body is not a checkpoint of that origin.
 */
enum note_result checkpoint_open(const char *note, size_t len, const struct note_verifier *v,
                                 const char *origin, struct checkpoint *c)
	__attribute__((warn_unused_result));

/*
 * Audit key handover. When the audit signing key changes, the old key and
 * the next one both sign one checkpoint whose body carries the extension line
 *
 *   tipline-audit-handover <verifier key text of the next key>
 *
 * (same key name, so the origin stays). A reader that trusts the old key
 * trusts the next one from that checkpoint on.
 */
#define CHECKPOINT_HANDOVER_PREFIX "tipline-audit-handover "

/* Sign the handover checkpoint `c` with `old`, then `next`, naming `next`;
 * append the note to `out`. Return 0, or -1. */
int checkpoint_handover_sign(const struct note_signer *old, const struct note_signer *next,
                             const struct checkpoint *c, struct buf *out)
	__attribute__((warn_unused_result));

/* Open the handover checkpoint `note` with the trusted `old` key: one
 * handover line naming a different key of the same name, which also signed
 * it. On NOTE_OK store the checkpoint in `c` and the next key in *next
 * (caller frees). Otherwise a note_open error or NOTE_ERR_FORMAT. */
enum note_result checkpoint_handover_open(const char *note, size_t len,
                                          const struct note_verifier *old,
                                          struct note_verifier **next, struct checkpoint *c)
	__attribute__((warn_unused_result));

#endif
