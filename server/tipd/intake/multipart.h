/*
 * multipart: a streaming parser for multipart/form-data bodies (RFC 7578,
 * delimiters as in RFC 2046).
 *
 * The body may arrive in pieces of any size, down to one byte; nothing is
 * buffered beyond one part-header line and at most one delimiter's worth of
 * held-back bytes. Part data is handed to on_part_data() as it arrives and
 * never includes any byte of a delimiter, even when the delimiter is split
 * across feeds. Parsing is strict: CRLF line endings, a Content-Disposition
 * of type form-data with a non-empty name on every part, no header folding,
 * and a closing delimiter before the end of the body. The preamble and the
 * epilogue are ignored.
 *
 * Part names and file names are report content: the parser keeps them in
 * memory that it wipes when freed, and never logs them.
 */
#ifndef TIPD_MULTIPART_H
#define TIPD_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MULTIPART_BOUNDARY_MAX 70       /* RFC 2046 */
#define MULTIPART_NAME_MAX 256          /* field name, bytes, with the NUL */
#define MULTIPART_FILENAME_MAX 1024     /* file name, bytes, with the NUL */
#define MULTIPART_CTYPE_MAX 256         /* part Content-Type, with the NUL */

enum multipart_result {
	MULTIPART_OK = 0,
	MULTIPART_ERR_FORMAT,   /* malformed body: answer 400 */
	MULTIPART_ERR_LIMIT,    /* a limit was exceeded: answer 413 */
	MULTIPART_ERR_CALLBACK, /* a callback returned -1 (it has answered) */
};

struct multipart_limits {
	unsigned max_parts;        /* parts per body; 0: 64 */
	size_t max_header_bytes;   /* header bytes per part, CRLFs included;
	                            * 0: 4096; at most 65536 */
};

/*
 * Callbacks; each returns 0 to go on or -1 to abort parsing, which makes
 * multipart_feed() return MULTIPART_ERR_CALLBACK from then on.
 * on_part_begin: `name` is the decoded form field name (non-empty);
 *   `filename` is NULL if the part has no filename parameter and may be ""
 *   (browsers send that for an empty file input); `content_type` is the
 *   part's Content-Type value or NULL. The strings are valid only during the
 *   call.
 * on_part_data: the next `n` (> 0) bytes of the current part.
 * on_part_end: the current part is complete.
 */
struct multipart_callbacks {
	int (*on_part_begin)(void *arg, const char *name, const char *filename,
			     const char *content_type);
	int (*on_part_data)(void *arg, const uint8_t *p, size_t n);
	int (*on_part_end)(void *arg);
};

struct multipart;

/*
 * Parse the value of a request's Content-Type header: the media type must be
 * multipart/form-data (case-insensitive) with exactly one boundary parameter,
 * a token or quoted-string of 1 to 70 RFC 2046 bchars not ending in a space;
 * other parameters must be well-formed and are ignored. Copy the boundary
 * into `out` (`outlen` >= 71 always suffices) and return 0, or return -1.
 */
int multipart_boundary(const char *content_type, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/*
 * Create a parser for `boundary` (as returned by multipart_boundary()).
 * `lim` may be NULL for the defaults; `cb` and `arg` are borrowed and must
 * outlive the parser. Return the parser, or NULL if the boundary is invalid,
 * a limit is out of range or memory runs out.
 */
struct multipart *multipart_new(const char *boundary, const struct multipart_limits *lim,
				const struct multipart_callbacks *cb, void *arg);

/*
 * Parse the next `n` bytes of the body, calling the callbacks as parts
 * begin, fill and end. Return MULTIPART_OK or an error; an error is final
 * and every later call returns it again. Bytes after the closing delimiter
 * are ignored.
 */
enum multipart_result multipart_feed(struct multipart *mp, const uint8_t *p, size_t n)
	__attribute__((warn_unused_result));

/*
 * Declare the end of the body. Return MULTIPART_OK only if the closing
 * delimiter was seen and no error happened; a truncated body gives
 * MULTIPART_ERR_FORMAT (no on_part_end() is called for the unfinished part).
 */
enum multipart_result multipart_finish(struct multipart *mp)
	__attribute__((warn_unused_result));

/* Number of parts begun so far. */
unsigned multipart_parts(const struct multipart *mp);

/* Wipe and free the parser; NULL is fine. */
void multipart_free(struct multipart *mp);

#endif
