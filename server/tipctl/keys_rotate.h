/*
 * keys_rotate: `tipctl keys rotate` (docs/keys.md "Rotating your key").
 *
 * 1. `tipctl keys rotate` (logged in with the current key): makes a new
 *    identity in identity-next.age and a rotation request that both keys
 *    sign (`tipline/v1/rotate`, server/lib/proto.h), for an admin's
 *    `tipctl admin rotate`, which signs the next membership statement with
 *    the new keys in place of the old ones.
 * 2. `tipctl keys rotate --finish`: logs in with the new key, streams the old
 *    key's headers from the server, opens each with the old identity and
 *    uploads a header for the new key (resumable: run it again after an
 *    interruption; the server lists only what is left), then has the server
 *    delete the old key's headers and makes the new identity the default
 *    one (the old file becomes identity-retired.age).
 */
#ifndef TIPCTL_KEYS_ROTATE_H
#define TIPCTL_KEYS_ROTATE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Run `tipctl keys rotate ...` (argv[0] is "rotate"); return the exit code. */
int keys_rotate_main(int argc, char **argv);

/*
 * Re-make one age header: open `hdr` (`n` bytes, one X25519 stanza) with
 * the X25519 secret key `old_sk` and append a new one-stanza header for
 * `new_pk` around the same file key to `out`. Return 0, or -1 if the
 * header does not open. The file key is wiped. (Exposed for the bench.)
 */
int keys_rotate_rewrap(const uint8_t *hdr, size_t n, const uint8_t old_sk[32],
                       const uint8_t new_pk[32], struct buf *out)
	__attribute__((warn_unused_result));

#endif
