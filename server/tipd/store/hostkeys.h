/*
 * hostkeys: the secrets every tipd host of one deployment must share, checked
 * against what the first host recorded (docs/operations.md "Several hosts").
 *
 * A receipt made on one host opens its inbox on another only if both hold
 * the same receipt pepper; a login nonce, a form token or an inbox cookie
 * likewise needs the same nonce key or web key. A host started with another
 * copy fails its sources and investigators in ways that are hard to trace,
 * so at start-up tipd compares each secret's check value (proto_key_check:
 * a keyed hash that shows nothing of the secret) with the one in table
 * host_keys, records it if the deployment has none yet, and refuses to
 * start on a mismatch, naming every secret that differs. `tipd keys adopt`
 * (as the migration role: the application role may record the first values
 * but never change them) replaces the recorded values once an operator has
 * deliberately replaced a secret on every host.
 */
#ifndef TIPD_HOSTKEYS_H
#define TIPD_HOSTKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define HOSTKEYS_MAX 4

struct hostkey {
	const char *name; /* "receipt-pepper", "nonce", "web" */
	const char *what; /* where an operator finds it, e.g. "[tipd] receipt_pepper" */
	uint8_t check[PROTO_KEY_CHECK_LEN];
};

/*
 * Compare the `n` check values with those recorded on the database
 * `conninfo`, recording the ones not yet there. With `adopt`, overwrite
 * them instead, in one transaction. Return 0 if all match (or were
 * recorded), 1 if the database could not be reached or is read-only
 * (logged as a warning: checked at the next start; for `adopt` -1), or -1
 * (logged, naming each secret and the fix) on a mismatch or a database
 * error.
 */
int hostkeys_check(const char *conninfo, const struct hostkey *keys, size_t n, int adopt);

#endif
