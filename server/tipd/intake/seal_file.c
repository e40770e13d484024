#include "seal_file.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pad.h"
#include "secmem.h"
#include "util.h"

struct seal_file {
	struct seal_object *o;
	crypto_hash_sha256_state sha;
	char uuid[UUID_STR_LEN];
	char *name; /* wiped when freed */
	char *type;
	uint64_t size;
};

void
seal_file_free(struct seal_file *f)
{
	if (f == NULL)
		return;
	seal_free(f->o);
	secmem_free(f->name);
	secmem_free(f->type);
	sodium_memzero(&f->sha, sizeof(f->sha));
	free(f);
}

struct seal_file *
seal_file_begin(struct spool_txn *t, const char *report_uuid, const struct seal_recipients *r,
                const char *name, const char *ctype)
{
	struct seal_file *f;
	if (strlen(name) > SEAL_FILE_MAX_NAME) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	util_uuid(f->uuid);
	f->name = strdup(name);
	f->type = strdup(ctype != NULL ? ctype : "application/octet-stream");
	if (f->name == NULL || f->type == NULL) {
		seal_file_free(f);
		errno = ENOMEM;
		return NULL;
	}
	crypto_hash_sha256_init(&f->sha);
	if ((f->o = seal_begin(t, SPOOL_ATTACHMENT, f->uuid, report_uuid, r)) == NULL) {
		int err = errno;
		seal_file_free(f);
		errno = err;
		return NULL;
	}
	return f;
}

int
seal_file_write(struct seal_file *f, const uint8_t *p, size_t n)
{
	crypto_hash_sha256_update(&f->sha, p, n);
	f->size += n;
	return seal_write(f->o, p, n);
}

int
seal_file_finish(struct seal_file *f, json_t *manifest)
{
	uint8_t digest[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	uint64_t padded = pad_padme(f->size);
	struct seal_object *o = f->o;
	int rc = -1, err;

	f->o = NULL;
	if (seal_zeros(o, padded - f->size) != 0) {
		err = errno;
		seal_free(o);
		goto out;
	}
	if (seal_finish(o) != 0) {
		err = errno;
		goto out;
	}
	crypto_hash_sha256_final(&f->sha, digest);
	util_hex(digest, sizeof(digest), hex);
	json_t *e = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "uuid", f->uuid, "name", f->name,
	                      "content_type", f->type, "size", (json_int_t)f->size, "padded_size",
	                      (json_int_t)padded, "sha256", hex);
	/* json_array_append_new takes e even when it fails */
	if (e == NULL || json_array_append_new(manifest, e) != 0) {
		err = ENOMEM;
		goto out;
	}
	rc = 0;
out:
	seal_file_free(f);
	if (rc != 0)
		errno = err;
	return rc;
}
