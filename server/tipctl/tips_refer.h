/*
 * tips_refer: `tipctl tips refer ID --to PARTNER --out FILE` (a case handed
 * to a partner agency, docs/keys.md "Referral to a partner") and
 * `tipctl tips hold ID [--release]` (legal hold, "Retention").
 *
 * Refer builds the case bundle `tips export` makes (report.txt,
 * report.json, messages/, replies/, notes/, attachments/, MANIFEST.txt, all
 * under ID/) as a ustar archive and streams it, member by member, straight
 * into an age encryptor whose only recipient is the partner's X25519 key:
 * FILE is one age file that the partner opens with stock age
 * (`age -d -i partner-key.txt FILE | tar -x`). No plaintext reaches the
 * disk of the referring machine: each member is decrypted and checked in
 * locked memory, then encrypted; only ciphertext is written.
 *
 * Before anything is decrypted the partner's statement is verified against
 * the admin keys pinned at login (never the server's word), and the
 * investigator confirms the partner's name and key. The report must carry
 * the source's consent (answer "yes" to TIPS_REFER_CONSENT_Q); otherwise
 * nothing is written or sent. Once FILE is complete and fsync'd, tipctl
 * records the referral (status "referred", one report_refer audit entry);
 * if that fails FILE is removed.
 */
#ifndef TIPCTL_TIPS_REFER_H
#define TIPCTL_TIPS_REFER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TIPS_REFER_CONSENT_Q "referral_consent" /* the questionnaire's question id */
#define TAR_BLOCK 512

/* Run `tipctl tips refer` (argv starts at "refer"). Return an exit code. */
int tips_refer_main(int argc, char **argv);
/* Run `tipctl tips hold` (argv starts at "hold"). Return an exit code. */
int tips_refer_hold_main(int argc, char **argv);

/*
 * Append to `out` the ustar header block(s) for a member `path` of `size`
 * bytes (`dir`: a directory, size 0) with mode 0600 (0700 for a
 * directory), owner 0 and time 0: one 512-byte block, preceded by a pax
 * extended header ("path=") when `path` does not fit the 100-byte name
 * field. Return 0, or -1 if `path` is empty, longer than 4096 bytes or
 * `out` is full.
 */
int tips_refer_tar_header(const char *path, uint64_t size, int dir, struct buf *out)
	__attribute__((warn_unused_result));

#endif
