#include "hostkeys_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "hostkeys.h"
#include "log.h"
#include "receipt.h"
#include "review_auth.h"
#include "websec.h"

/* The nonce key's check value, from STATE_DIR/nonce.key. Return 0 or -1 (logged). */
static int
nonce_check(const struct tipd_config *cfg, uint8_t out[PROTO_KEY_CHECK_LEN])
{
	char path[4096], err[512];
	struct stat st;
	int w = snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, RV_NONCE_FILE);
	if (w < 0 || (size_t)w >= sizeof(path)) {
		log_error("the state directory's path is too long");
		return -1;
	}
	/* Never make one here: a key made by `keys adopt` (perhaps as root)
	 * would become the deployment's. */
	if (stat(path, &st) != 0) {
		log_error("%s: %s: copy nonce.key from a running host of this deployment (or start "
		          "tipd once to make the first one)", path, strerror(errno));
		return -1;
	}
	struct rv_nonces *n = rv_nonces_load(path, err, sizeof(err));
	int rc = n != NULL && rv_nonces_check(n, out) == 0 ? 0 : -1;
	if (n == NULL)
		log_error("%s", err);
	rv_nonces_free(n);
	return rc;
}

/* The web key's check value, from [web] key. Return 0 or -1 (logged). */
static int
web_check(const struct tipd_config *cfg, uint8_t out[PROTO_KEY_CHECK_LEN])
{
	char err[512];
	struct websec *w = websec_load(cfg->web_key, err, sizeof(err));
	int rc = w != NULL && websec_check(w, out) == 0 ? 0 : -1;
	if (w == NULL)
		log_error("%s", err);
	websec_free(w);
	return rc;
}

int
hostkeys_run(const struct tipd_config *cfg, const struct receipt_pepper *pepper, int adopt)
{
	struct hostkey k[HOSTKEYS_MAX];
	size_t n = 0;
	memset(k, 0, sizeof(k));
	k[n] = (struct hostkey){ .name = "receipt-pepper", .what = "the receipt pepper "
	                                                         "([tipd] receipt_pepper)" };
	if (receipt_pepper_check(pepper, k[n++].check) != 0)
		return -1;
	if (cfg->review.listen != NULL) {
		k[n] = (struct hostkey){ .name = "nonce", .what = "the login nonce key "
		                                                "(STATE_DIR/" RV_NONCE_FILE ")" };
		if (nonce_check(cfg, k[n++].check) != 0)
			return -1;
	}
	if (cfg->web_key != NULL) {
		k[n] = (struct hostkey){ .name = "web", .what = "the web key ([web] key)" };
		if (web_check(cfg, k[n++].check) != 0)
			return -1;
	}
	/* Only the migration role may replace the recorded values: the
	 * application role can add the first ones, never change them. */
	const char *ci = adopt && cfg->db_migrate_conninfo != NULL ? cfg->db_migrate_conninfo
	                                                           : cfg->db_conninfo;
	return hostkeys_check(ci, k, n, adopt);
}

int
hostkeys_cmd(const struct tipd_config *cfg, const struct receipt_pepper *pepper, int argc,
             char **argv)
{
	if (argc != 2 || strcmp(argv[1], "adopt") != 0) {
		fputs("usage: tipd [-c FILE] keys adopt\n", stderr);
		return 2;
	}
	return hostkeys_run(cfg, pepper, 1) == 0 ? 0 : 1;
}
