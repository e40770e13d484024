/*
 * pad: length hiding for sealed objects.
 *
 * A sealed object's ciphertext length is visible to whoever holds the
 * database, a backup or the spool. Padding makes that length reveal a bucket
 * instead of the exact size of what a source wrote or uploaded.
 *
 * Text objects (report JSON, messages, replies, notes) use fixed buckets:
 * 1, 2, 4, 8 and 16 KiB, then multiples of 16 KiB. Almost every report is a
 * few KiB of text, and there the fixed buckets put all of them into one or
 * two sizes, where Padmé would split the same range into about a dozen
 * distinguishable sizes (its granularity is relative to the length). The
 * cost is at most a few KiB of spaces per object, which nobody notices.
 * Above 16 KiB (long reports are rare and their size is itself revealing
 * anyway) steps of 16 KiB keep the overhead bounded.
 *
 * Attachments range from bytes to many megabytes, where power-of-two or
 * fixed steps would waste up to half the storage. They use Padmé (Nikitin
 * et al., "Reducing Metadata Leakage from Encrypted Files and Communication
 * with PURBs", PETS 2019): the padded length leaks O(log log L) bits and the
 * overhead is under 12 % (the worst case is 129 bytes -> 144, 11.6 %). The true size travels in
 * the report's attachment manifest; the padding is zero bytes.
 */
#ifndef TIPLINE_PAD_H
#define TIPLINE_PAD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PAD_TEXT_MIN 1024u             /* smallest text bucket */
#define PAD_TEXT_STEP (16u * 1024u)    /* step above the power-of-two buckets */

/*
 * Return the padded size of a text object of `len` bytes: the smallest of
 * 1, 2, 4, 8, 16 KiB or a multiple of 16 KiB that is >= len. Return 0 only
 * if that size does not fit in a size_t.
 */
size_t pad_text_bucket(size_t len);

/*
 * Append ASCII spaces to `b` until its length is pad_text_bucket(b->len).
 * Trailing spaces keep JSON valid. Return 0, or -1 (buffer unchanged) if the
 * buffer's maximum is too small or memory runs out.
 */
int pad_text(struct buf *b) __attribute__((warn_unused_result));

/*
 * Return the Padmé length for `len` bytes: `len` rounded up so that only the
 * top floor(log2(floor(log2 len))) + 1 bits after the leading one may be
 * non-zero. Lengths 0 to 2 are returned unchanged. Return 0 if the padded
 * length would not fit in 64 bits (only for len > 2^64 - 2^57).
 */
uint64_t pad_padme(uint64_t len);

#endif
