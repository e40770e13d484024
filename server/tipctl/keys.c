#include "keys.h"

#include <sodium.h>
#include <string.h>

#include "age.h"
#include "buf.h"
#include "cli.h"
#include "identity.h"
#include "note.h"

const uint8_t *
keys_signer_pk(const struct keys_signer *k)
{
	return k->id != NULL ? identity_ed25519_pk(k->id) : note_signer_pk(k->admin);
}

int
keys_sign(const struct keys_signer *k, const uint8_t *msg, size_t n, uint8_t sig[64])
{
	if (k->id != NULL)
		return crypto_sign_detached(sig, NULL, msg, n, identity_ed25519_sk(k->id));
	return note_signer_sign_detached(k->admin, msg, n, sig);
}

int
keys_sign_b64(const struct keys_signer *k, const uint8_t *msg, size_t n, char pk64[KEYS_PK64_LEN],
              char sig64[KEYS_SIG64_LEN])
{
	uint8_t sig[64];
	sodium_bin2base64(pk64, KEYS_PK64_LEN, keys_signer_pk(k), 32, sodium_base64_VARIANT_ORIGINAL);
	if (keys_sign(k, msg, n, sig) != 0)
		return -1;
	sodium_bin2base64(sig64, KEYS_SIG64_LEN, sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

_Static_assert(KEYS_PK64_LEN == sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL),
               "KEYS_PK64_LEN");
_Static_assert(KEYS_SIG64_LEN == sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL),
               "KEYS_SIG64_LEN");

#define KEYS_PASS_TRIES 3 /* as api_identity_load */

struct note_signer *
keys_admin_load(const char *path, const char *pass_file)
{
	struct buf ct, pt;
	struct note_signer *s = NULL;
	char *pass = NULL;
	struct age_unwrap_opts uo = { NULL, 0, NULL, 0, AGE_MAX_SCRYPT_LOGN };
	buf_init(&ct, CLI_FILE_MAX);
	buf_init_secure(&pt, CLI_FILE_MAX);
	if (cli_read_file(path, &ct) != 0)
		goto out;
	int r = AGE_ERR_NO_MATCH;
	/* Typed at a terminal: three tries; from a file: one. */
	for (int tries = pass_file != NULL ? 1 : KEYS_PASS_TRIES; tries > 0; tries--) {
		if ((pass = cli_pass_get(pass_file, "Passphrase for the admin key: ", false, false)) == NULL)
			goto out;
		uo.pass = pass;
		uo.passlen = strlen(pass);
		buf_reset(&pt);
		r = age_decrypt(ct.data, ct.len, &uo, &pt);
		cli_pass_free(pass);
		pass = NULL;
		if (r != AGE_ERR_NO_MATCH && r != AGE_ERR_HEADER_MAC)
			break;
		if (tries > 1)
			cli_error("wrong passphrase for admin key %s: try again (%d tr%s left)", path,
			          tries - 1, tries - 1 == 1 ? "y" : "ies");
	}
	if (r == AGE_ERR_NO_MATCH || r == AGE_ERR_HEADER_MAC) {
		cli_error("wrong passphrase for admin key %s", path);
		goto out;
	}
	if (r != AGE_OK) {
		cli_error("%s is not an admin key file (%s)", path, age_strerror(r));
		goto out;
	}
	if (pt.len > 0 && pt.data[pt.len - 1] == '\n')
		pt.len--;
	if ((s = note_signer_parse((const char *)pt.data, pt.len)) == NULL)
		cli_error("%s does not hold an admin signing key", path);
out:
	cli_pass_free(pass);
	buf_free(&ct);
	buf_free(&pt);
	return s;
}

