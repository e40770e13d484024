#include "pad.h"

size_t
pad_text_bucket(size_t len)
{
	size_t bucket = PAD_TEXT_MIN;

	while (bucket < PAD_TEXT_STEP) {
		if (len <= bucket)
			return bucket;
		bucket *= 2;
	}
	size_t rem = len % PAD_TEXT_STEP;
	if (rem == 0)
		return len;
	if (len > SIZE_MAX - (PAD_TEXT_STEP - rem))
		return 0;
	return len + (PAD_TEXT_STEP - rem);
}

int
pad_text(struct buf *b)
{
	size_t target = pad_text_bucket(b->len);

	if (target == 0)
		return -1;
	return buf_fill(b, ' ', target - b->len);
}

/* Return floor(log2(x)) for x > 0. */
static unsigned
pad_log2(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

uint64_t
pad_padme(uint64_t len)
{
	if (len <= 2)
		return len;
	unsigned e = pad_log2(len);          /* e >= 1 */
	unsigned s = pad_log2(e) + 1;        /* bits kept after the leading one */
	unsigned last = e - s;               /* bits rounded away */
	uint64_t mask = (UINT64_C(1) << last) - 1;

	if (len > UINT64_MAX - mask)
		return 0;
	return (len + mask) & ~mask;
}
