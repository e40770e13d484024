/*
 * recovery: `tipctl recovery keygen|split|combine` (see recovery.h).
 */
#include "recovery.h"

#include <errno.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "age.h"
#include "buf.h"
#include "cli.h"
#include "opts.h"
#include "shamir.h"
#include "util.h"

#define RC_INPUT_MAX 65536 /* shares or an identity file read from stdin */

static const char recovery_usage[] =
	"usage: tipctl recovery keygen [--threshold K --shares N] [--no-qr]\n"
	"       tipctl recovery split --threshold K --shares N [--in FILE] [--no-qr]\n"
	"       tipctl recovery combine [--out FILE] [SHARE...]\n"
	"\n"
	"  keygen   make a team's recovery key: prints its recipient (age1..., for\n"
	"           `tipctl admin recovery`) and its secret, whole or as N shares of\n"
	"           which any K open it, each as text and as a QR code to print\n"
	"  split    split an existing recovery key (AGE-SECRET-KEY-1... from FILE\n"
	"           or standard input) into N shares, any K of which open it\n"
	"  combine  rebuild the key from K shares (arguments, or one per line on\n"
	"           standard input) into an age identity file: FILE (new, 0600) or\n"
	"           standard output; then `age -d -i FILE report.age`\n";

/* Print `text` as a QR code of Unicode half blocks (dark modules inked). */
static int
qr_print(const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (q == NULL) {
		cli_error("cannot make a QR code: %s", strerror(errno));
		return -1;
	}
	const int quiet = 2, w = q->width, side = w + 2 * quiet;
	for (int y = 0; y < side; y += 2) {
		for (int x = 0; x < side; x++) {
			int in = x >= quiet && x < quiet + w;
			int top = in && y >= quiet && y < quiet + w &&
			          (q->data[(y - quiet) * w + (x - quiet)] & 1);
			int bot = in && y + 1 >= quiet && y + 1 < quiet + w &&
			          (q->data[(y + 1 - quiet) * w + (x - quiet)] & 1);
			fputs(top && bot ? "\u2588" : top ? "\u2580" : bot ? "\u2584" : " ", stdout);
		}
		putchar('\n');
	}
	QRcode_free(q);
	return 0;
}

/* The set id of a split: the first 4 bytes of SHA-256 of the public key. */
static void
set_id(const uint8_t pk[AGE_KEY_LEN], uint8_t out[SHAMIR_SET_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, pk, AGE_KEY_LEN);
	memcpy(out, h, SHAMIR_SET_LEN);
}

/* Print the whole secret key `sk` (text and QR). */
static int
print_whole(const uint8_t sk[AGE_KEY_LEN], int qr)
{
	char *id = sodium_malloc(AGE_IDENTITY_STR_MAX);
	int rc = -1;
	if (id == NULL || age_identity_encode(sk, id, AGE_IDENTITY_STR_MAX) != 0)
		goto fail;
	printf("\nRecovery key (SECRET: print it, keep it offline; it opens every report):\n\n"
	       "%s\n\n", id);
	if (qr && qr_print(id) != 0)
		goto fail;
	rc = 0;
fail:
	if (id != NULL)
		sodium_free(id);
	return rc;
}

/* Split `sk` into `n` shares of which `k` open it, and print them. */
static int
print_shares(const uint8_t sk[AGE_KEY_LEN], const uint8_t pk[AGE_KEY_LEN], unsigned k,
             unsigned n, int qr)
{
	uint8_t *ys = sodium_malloc((size_t)n * SHAMIR_SECRET_LEN);
	struct shamir_share *s = sodium_malloc(sizeof(*s));
	char *text = sodium_malloc(SHAMIR_TEXT_MAX);
	int rc = -1;
	if (ys == NULL || s == NULL || text == NULL || shamir_split(sk, AGE_KEY_LEN, k, n, ys) != 0)
		goto fail;
	printf("\n%u shares; any %u of them open the recovery key, fewer say nothing about it.\n"
	       "Give each to a different officer; each is SECRET.\n", n, k);
	for (unsigned i = 0; i < n; i++) {
		s->k = (uint8_t)k;
		s->n = (uint8_t)n;
		s->x = (uint8_t)(i + 1);
		set_id(pk, s->set);
		memcpy(s->y, ys + (size_t)i * SHAMIR_SECRET_LEN, SHAMIR_SECRET_LEN);
		shamir_share_format(s, text);
		printf("\nShare %u of %u:\n\n%s\n\n", i + 1, n, text);
		if (qr && qr_print(text) != 0)
			goto fail;
	}
	rc = 0;
fail:
	if (ys != NULL)
		sodium_free(ys);
	if (s != NULL)
		sodium_free(s);
	if (text != NULL)
		sodium_free(text);
	return rc;
}

struct rc_opts {
	unsigned k, n;
	int qr;
	const char *in, *out;
	int first_arg; /* combine: first share argument */
};

/* --threshold and --shares (opt_fn): a number up to SHAMIR_MAX_SHARES into
 * the unsigned `dst`. */
static int
rc_count_opt(const char *arg, void *dst)
{
	uint64_t v;
	if (util_parse_u64(arg, SHAMIR_MAX_SHARES, &v) != 0) {
		cli_error("--threshold and --shares want a number from 2 to 255, not '%s'", arg);
		return -1;
	}
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

/* Parse the options of `sub`; return OPTS_GO (-1) to go on, else an exit code. */
static int
rc_parse(int argc, char **argv, struct rc_opts *o)
{
	int no_qr = 0;
	memset(o, 0, sizeof(*o));
	const struct opt opts[] = { OPT_FLAG("no-qr", &no_qr), OPT_FN("threshold", rc_count_opt, &o->k),
		                    OPT_FN("shares", rc_count_opt, &o->n), OPT_STR("in", &o->in),
		                    OPT_STR("out", &o->out), OPT_END };
	int rc = opts_parse(argc, argv, opts, NULL, recovery_usage);
	if (rc != OPTS_GO)
		return rc;
	o->qr = !no_qr;
	o->first_arg = optind;
	if ((o->k || o->n) && (o->k < 2 || o->n < o->k)) {
		cli_error("--threshold K --shares N needs 2 <= K <= N <= 255");
		return CLI_USAGE;
	}
	return OPTS_GO;
}

/* Read all of `path` (NULL or "-": standard input) into the secure `out`. */
static int
read_input(const char *path, struct buf *out)
{
	if (path != NULL && strcmp(path, "-") != 0)
		return cli_read_file(path, out);
	uint8_t chunk[4096];
	ssize_t r;
	while ((r = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || buf_add(out, chunk, (size_t)r) != 0) {
			sodium_memzero(chunk, sizeof(chunk));
			cli_error("cannot read standard input (or over %d bytes)", RC_INPUT_MAX);
			return -1;
		}
	}
	sodium_memzero(chunk, sizeof(chunk));
	return buf_add(out, "", 1) == 0 ? 0 : -1; /* NUL */
}

static int
cmd_keygen(const struct rc_opts *o)
{
	uint8_t pk[AGE_KEY_LEN], *sk = sodium_malloc(AGE_KEY_LEN);
	char rcpt[AGE_RECIPIENT_STR_MAX];
	int rc = CLI_ERR;
	if (sk == NULL || age_keygen(pk, sk) != 0 || age_recipient_encode(pk, rcpt, sizeof(rcpt)) != 0)
		goto fail;
	printf("Recovery recipient (public; an admin adds it with\n"
	       "`tipctl admin recovery --team TEAM --recipient %s`):\n\n%s\n", rcpt, rcpt);
	if ((o->k ? print_shares(sk, pk, o->k, o->n, o->qr) : print_whole(sk, o->qr)) != 0)
		goto fail;
	rc = CLI_OK;
fail:
	if (sk != NULL)
		sodium_free(sk);
	return rc;
}

static int
cmd_split(const struct rc_opts *o)
{
	struct buf in;
	uint8_t pk[AGE_KEY_LEN], *sk = sodium_malloc(AGE_KEY_LEN);
	int rc = CLI_ERR, found = 0;
	buf_init_secure(&in, RC_INPUT_MAX);
	if (o->k == 0) {
		cli_error("split needs --threshold K --shares N");
		rc = CLI_USAGE;
		goto fail;
	}
	if (sk == NULL || read_input(o->in, &in) != 0)
		goto fail;
	/* An identity file: comment lines, then one AGE-SECRET-KEY-1 line. */
	for (char *line = (char *)in.data, *end; line != NULL && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		char save = line[n];
		line[n] = '\0';
		int ok = age_identity_decode(line, sk) == 0;
		line[n] = save;
		if (!ok || found++) {
			cli_error("the input must hold exactly one AGE-SECRET-KEY-1... line "
			          "(and # comments)");
			goto fail;
		}
	}
	if (!found || age_public_of(sk, pk) != 0) {
		cli_error("no AGE-SECRET-KEY-1... line in the input");
		goto fail;
	}
	rc = print_shares(sk, pk, o->k, o->n, o->qr) == 0 ? CLI_OK : CLI_ERR;
fail:
	buf_free(&in);
	if (sk != NULL)
		sodium_free(sk);
	return rc;
}

/* Parse the share `text` into shares[*count], checking it belongs with the
 * ones before. Return 0, or -1 (printed). */
static int
take_share(const char *text, size_t len, struct shamir_share *shares, size_t *count)
{
	struct shamir_share *s = &shares[*count];
	enum shamir_parse_result r = shamir_share_parse(text, len, s);
	if (r == SHAMIR_ERR_CHECK) {
		cli_error("share %zu has a typo (its check digits do not match): nothing combined",
		          *count + 1);
		return -1;
	}
	if (r != SHAMIR_OK) {
		cli_error("share %zu is not a recovery share (tipline-share1-KofN-X-...): "
		          "nothing combined", *count + 1);
		return -1;
	}
	for (size_t i = 0; i < *count; i++) {
		if (memcmp(shares[i].set, s->set, SHAMIR_SET_LEN) != 0 || shares[i].k != s->k ||
		    shares[i].n != s->n) {
			cli_error("share %zu is from another split than share 1: nothing combined",
			          *count + 1);
			return -1;
		}
		if (shares[i].x == s->x) {
			cli_error("share %u was given twice: nothing combined", s->x);
			return -1;
		}
	}
	(*count)++;
	return 0;
}

/* Collect the shares from argv[first..] or standard input. */
static int
collect_shares(int argc, char **argv, int first, struct shamir_share *shares, size_t *count)
{
	struct buf in;
	int rc = -1;
	buf_init_secure(&in, RC_INPUT_MAX);
	*count = 0;
	for (int i = first; i < argc; i++) {
		if (*count >= SHAMIR_MAX_SHARES || take_share(argv[i], strlen(argv[i]), shares,
		                                              count) != 0)
			goto fail;
	}
	if (first >= argc) {
		if (read_input(NULL, &in) != 0)
			goto fail;
		for (char *line = (char *)in.data, *end; line != NULL && *line;
		     line = end ? end + 1 : NULL) {
			end = strchr(line, '\n');
			size_t n = end ? (size_t)(end - line) : strlen(line);
			size_t lead = strspn(line, " \t\r");
			if (lead >= n || line[lead] == '#')
				continue;
			if (*count >= SHAMIR_MAX_SHARES || take_share(line, n, shares, count) != 0)
				goto fail;
		}
	}
	if (*count == 0) {
		cli_error("no shares given (arguments, or one per line on standard input)");
		goto fail;
	}
	if (*count < shares[0].k) {
		cli_error("%zu share(s) given, but this key was split so that %u are needed: "
		          "nothing combined", *count, shares[0].k);
		goto fail;
	}
	rc = 0;
fail:
	buf_free(&in);
	return rc;
}

/* Interpolate the shares and check the key against the split's set id;
 * write its public key to `pk`. */
static int
combine_key(const struct shamir_share *shares, size_t count, uint8_t *sk, uint8_t pk[AGE_KEY_LEN])
{
	uint8_t xs[SHAMIR_MAX_SHARES], set[SHAMIR_SET_LEN];
	uint8_t *ys = sodium_malloc(count * SHAMIR_SECRET_LEN);
	int rc = -1;
	if (ys == NULL)
		return -1;
	for (size_t i = 0; i < count; i++) {
		xs[i] = shares[i].x;
		memcpy(ys + i * SHAMIR_SECRET_LEN, shares[i].y, SHAMIR_SECRET_LEN);
	}
	if (shamir_combine(xs, ys, count, SHAMIR_SECRET_LEN, sk) != 0 || age_public_of(sk, pk) != 0)
		goto fail;
	set_id(pk, set);
	if (sodium_memcmp(set, shares[0].set, SHAMIR_SET_LEN) != 0) {
		cli_error("the shares do not give the key they were split from (a share was "
		          "altered?): nothing written");
		goto fail;
	}
	rc = 0;
fail:
	sodium_free(ys);
	return rc;
}

static int
cmd_combine(int argc, char **argv, const struct rc_opts *o)
{
	struct shamir_share *shares = sodium_malloc(SHAMIR_MAX_SHARES * sizeof(*shares));
	uint8_t pk[AGE_KEY_LEN], *sk = sodium_malloc(AGE_KEY_LEN);
	char rcpt[AGE_RECIPIENT_STR_MAX];
	struct buf text;
	size_t count = 0;
	int rc = CLI_ERR;
	buf_init_secure(&text, 1024);
	if (shares == NULL || sk == NULL ||
	    collect_shares(argc, argv, o->first_arg, shares, &count) != 0 ||
	    combine_key(shares, count, sk, pk) != 0 || age_recipient_encode(pk, rcpt, sizeof(rcpt)) != 0 ||
	    buf_printf(&text, "# tipline recovery key, rebuilt from %zu shares\n"
	                      "# public key: %s\n", count, rcpt) != 0 ||
	    buf_reserve(&text, AGE_IDENTITY_STR_MAX + 2) != 0 ||
	    age_identity_encode(sk, (char *)text.data + text.len, text.cap - text.len) != 0)
		goto fail;
	text.len += strlen((char *)text.data + text.len);
	if (buf_adds(&text, "\n") != 0)
		goto fail;
	if (o->out != NULL && strcmp(o->out, "-") != 0) {
		if (cli_write_new(o->out, text.data, text.len) != 0) {
			cli_error("cannot write %s: %s", o->out, strerror(errno));
			goto fail;
		}
		fprintf(stderr, "recovery key %s written to %s (mode 0600): open a report with\n"
		                "  age -d -i %s report.age\nthen wipe the file\n", rcpt, o->out, o->out);
	} else if (util_write_all(STDOUT_FILENO, text.data, text.len) != 0) {
		goto fail;
	}
	rc = CLI_OK;
fail:
	buf_free(&text);
	if (shares != NULL)
		sodium_free(shares);
	if (sk != NULL)
		sodium_free(sk);
	return rc;
}

int
recovery_main(int argc, char **argv)
{
	struct rc_opts o;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(recovery_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	int rc = rc_parse(argc - 1, argv + 1, &o);
	if (rc >= 0)
		return rc;
	o.first_arg += 1; /* index into argv */
	if (strcmp(argv[1], "keygen") == 0 && o.first_arg >= argc)
		return cmd_keygen(&o);
	if (strcmp(argv[1], "split") == 0 && o.first_arg >= argc)
		return cmd_split(&o);
	if (strcmp(argv[1], "combine") == 0)
		return cmd_combine(argc, argv, &o);
	cli_error("unknown recovery command or stray argument");
	fputs(recovery_usage, stderr);
	return CLI_USAGE;
}
