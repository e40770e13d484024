#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "age.h"
#include "membership.h"
#include "util.h"

#define ED_PREFIX "# tipline-ed25519: "
#define PK_PREFIX "# public key: "
#define SK_PREFIX "AGE-SECRET-KEY-1"
#define SEED_B64_LEN 44

struct identity {
	uint8_t x_sk[IDENTITY_KEY_LEN];
	uint8_t x_pk[IDENTITY_KEY_LEN];
	uint8_t ed_seed[IDENTITY_KEY_LEN];
	uint8_t ed_pk[IDENTITY_KEY_LEN];
	uint8_t ed_sk[IDENTITY_ED25519_SK_LEN];
	char recipient[AGE_RECIPIENT_STR_MAX];
};

/* Allocate an empty identity in locked memory. */
static struct identity *
identity_alloc(void)
{
	struct identity *id = NULL;
	if (sodium_init() >= 0 && (id = sodium_malloc(sizeof(*id))) != NULL)
		sodium_memzero(id, sizeof(*id));
	return id;
}

/* Derive the public halves from x_sk and ed_seed. Return 0, or -1. */
static int
identity_complete(struct identity *id)
{
	if (age_public_of(id->x_sk, id->x_pk) != 0 ||
	    age_recipient_encode(id->x_pk, id->recipient, sizeof(id->recipient)) != 0 ||
	    crypto_sign_seed_keypair(id->ed_pk, id->ed_sk, id->ed_seed) != 0)
		return -1;
	return 0;
}

struct identity *
identity_generate(void)
{
	struct identity *id = identity_alloc();
	if (id == NULL)
		return NULL;
	if (age_keygen(id->x_pk, id->x_sk) != 0)
		goto fail;
	randombytes_buf(id->ed_seed, sizeof(id->ed_seed));
	if (identity_complete(id) != 0)
		goto fail;
	return id;
fail:
	identity_free(id);
	return NULL;
}

void
identity_free(struct identity *id)
{
	if (id != NULL)
		sodium_free(id); /* wipes */
}

int
identity_scrypt_logn(void)
{
	const char *e = getenv("TIPLINE_SCRYPT_LOGN");
	uint64_t v = 0;
	if (e == NULL || util_parse_u64(e, 1000, &v) != 0)
		return IDENTITY_LOGN_DEFAULT;
	if (v < IDENTITY_LOGN_MIN)
		return IDENTITY_LOGN_MIN;
	if (v > IDENTITY_LOGN_MAX)
		return IDENTITY_LOGN_MAX;
	return (int)v;
}

int
identity_text(const struct identity *id, struct buf *out)
{
	char sk[AGE_IDENTITY_STR_MAX];
	char seed[SEED_B64_LEN + 1];
	int rc = -1;
	if (age_identity_encode(id->x_sk, sk, sizeof(sk)) != 0)
		goto fail;
	sodium_bin2base64(seed, sizeof(seed), id->ed_seed, sizeof(id->ed_seed),
	                  sodium_base64_VARIANT_ORIGINAL);
	if (buf_printf(out, "# created by tipctl\n" PK_PREFIX "%s\n%s\n" ED_PREFIX "%s\n",
	               id->recipient, sk, seed) != 0)
		goto fail;
	rc = 0;
fail:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* What identity_parse has seen so far. */
struct id_seen {
	bool sk, ed, pk;
	char pk_text[AGE_RECIPIENT_STR_MAX];
};

/* Handle one line (`n` bytes, no newline) of identity text. Return 0, or -1. */
static int
identity_line(struct identity *id, struct id_seen *seen, const char *l, size_t n)
{
	char tmp[AGE_IDENTITY_STR_MAX];
	size_t pl, bl = 0;
	int rc = -1;
	if (n == 0)
		return 0;
	if (n >= strlen(SK_PREFIX) && memcmp(l, SK_PREFIX, strlen(SK_PREFIX)) == 0) {
		if (seen->sk || n >= sizeof(tmp))
			goto out;
		memcpy(tmp, l, n);
		tmp[n] = '\0';
		seen->sk = true;
		rc = age_identity_decode(tmp, id->x_sk) == 0 ? 0 : -1;
	} else if (n > (pl = strlen(ED_PREFIX)) && memcmp(l, ED_PREFIX, pl) == 0) {
		const char *end = NULL;
		if (seen->ed || n - pl != SEED_B64_LEN)
			goto out;
		seen->ed = true;
		if (util_base64_chars_ok(l + pl, n - pl) &&
		    sodium_base642bin(id->ed_seed, sizeof(id->ed_seed), l + pl, n - pl, NULL, &bl,
		                      &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    bl == IDENTITY_KEY_LEN && end == l + n)
			rc = 0;
	} else if (n > (pl = strlen(PK_PREFIX)) && memcmp(l, PK_PREFIX, pl) == 0) {
		if (seen->pk || n - pl >= sizeof(seen->pk_text))
			goto out;
		seen->pk = true;
		memcpy(seen->pk_text, l + pl, n - pl);
		seen->pk_text[n - pl] = '\0';
		rc = 0;
	} else if (l[0] == '#') {
		rc = 0; /* other comments are fine in an age identity file */
	}
out:
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

struct identity *
identity_parse(const char *text, size_t len)
{
	struct id_seen seen;
	size_t pos = 0;
	struct identity *id = identity_alloc();
	memset(&seen, 0, sizeof(seen));
	if (id == NULL)
		return NULL;
	while (pos < len) {
		const char *eol = memchr(text + pos, '\n', len - pos);
		size_t n = eol != NULL ? (size_t)(eol - (text + pos)) : len - pos;
		if (identity_line(id, &seen, text + pos, n) != 0)
			goto fail;
		pos += n + 1;
	}
	if (!seen.sk || !seen.ed || identity_complete(id) != 0)
		goto fail;
	if (seen.pk && strcmp(seen.pk_text, id->recipient) != 0)
		goto fail;
	return id;
fail:
	identity_free(id);
	return NULL;
}

/* Write `n` bytes to a new file `path` (O_EXCL, 0600) and fsync it. Return 0, or -1. */
static int
write_new_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) != 0 || util_write_all(fd, p, n) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		errno = e;
		return -1;
	}
	if (close(fd) != 0) {
		int e = errno;
		unlink(path);
		errno = e;
		return -1;
	}
	return 0;
}

int
identity_save(const struct identity *id, const char *path, const char *pass, size_t passlen)
{
	struct buf pt, ct;
	int rc = -1;
	buf_init_secure(&pt, IDENTITY_FILE_MAX);
	buf_init(&ct, IDENTITY_FILE_MAX);
	if (passlen == 0) {
		errno = EINVAL;
		goto fail;
	}
	if (identity_text(id, &pt) != 0 ||
	    age_encrypt_scrypt(pt.data, pt.len, pass, passlen, identity_scrypt_logn(), &ct) != 0) {
		errno = ENOMEM;
		goto fail;
	}
	rc = write_new_file(path, ct.data, ct.len);
fail:
	buf_free(&pt);
	buf_free(&ct);
	return rc;
}

/* Return 1 if the `n` bytes at `ct` are an age file with exactly one scrypt stanza. */
static int
is_scrypt_file(const char *ct, size_t n)
{
	size_t hl = 0;
	int nx = 0, ns = 0, no = 0;
	if (age_header_inspect((const uint8_t *)ct, n, &hl, &nx, &ns, &no) != AGE_OK)
		return 0;
	return nx == 0 && ns == 1 && no == 0;
}

enum identity_result
identity_load(const char *path, const char *pass, size_t passlen, struct identity **out)
{
	struct buf pt;
	size_t n = 0;
	enum identity_result r = IDENTITY_ERR_FORMAT;
	struct age_unwrap_opts opts = { NULL, 0, pass, passlen, IDENTITY_LOGN_MAX };
	char *ct = util_read_file(path, IDENTITY_FILE_MAX, &n);
	*out = NULL;
	if (ct == NULL)
		return IDENTITY_ERR_IO;
	buf_init_secure(&pt, IDENTITY_FILE_MAX);
	if (!is_scrypt_file(ct, n))
		goto out; /* IDENTITY_ERR_FORMAT */
	switch (age_decrypt((const uint8_t *)ct, n, &opts, &pt)) {
	case AGE_OK:
		if ((*out = identity_parse((const char *)pt.data, pt.len)) != NULL)
			r = IDENTITY_OK;
		break;
	case AGE_ERR_NO_MATCH:
	case AGE_ERR_HEADER_MAC:
		r = IDENTITY_ERR_PASSPHRASE;
		break;
	case AGE_ERR_SYSTEM:
		r = IDENTITY_ERR_IO;
		break;
	default:
		r = IDENTITY_ERR_FORMAT;
		break;
	}
out:
	buf_free(&pt);
	free(ct);
	return r;
}

const char *
identity_recipient(const struct identity *id)
{
	return id->recipient;
}

const uint8_t *
identity_x25519_pk(const struct identity *id)
{
	return id->x_pk;
}

const uint8_t *
identity_x25519_sk(const struct identity *id)
{
	return id->x_sk;
}

const uint8_t *
identity_ed25519_pk(const struct identity *id)
{
	return id->ed_pk;
}

const uint8_t *
identity_ed25519_sk(const struct identity *id)
{
	return id->ed_sk;
}

int
identity_member_line(const struct identity *id, const char *name, struct buf *out)
{
	char b64[SEED_B64_LEN + 1];
	struct buf line;
	struct membership_member m;
	int rc = -1;
	buf_init(&line, 512);
	sodium_bin2base64(b64, sizeof(b64), id->ed_pk, IDENTITY_KEY_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
	if (buf_printf(&line, "%s %s %s", name, id->recipient, b64) != 0)
		goto fail;
	/* Only hand out lines that a statement will accept. */
	if (membership_member_parse((const char *)line.data, line.len, &m) != 0 ||
	    strcmp(m.name, name) != 0)
		goto fail;
	if (buf_add(out, line.data, line.len) != 0)
		goto fail;
	rc = 0;
fail:
	buf_free(&line);
	return rc;
}
