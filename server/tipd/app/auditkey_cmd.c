#include "auditkey_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "config.h"
#include "note.h"
#include "util.h"

static const char usage[] =
	"usage: tipd [-c FILE] audit-key rotate\n"
	"\n"
	"Hand the audit log over to a new signing key. Stop tipd first (on every host\n"
	"that shares this state directory's key). The current key and the new one both\n"
	"sign a checkpoint of the whole log that names the new key, committed with an\n"
	"audit_key_rotate entry; `tipctl audit verify` follows it from the key it pinned.\n"
	"The old key is kept as STATE_DIR/audit.key.retired-<time>; back up the new one.\n";

/* Write the signer text `st` to the new file `path` (0600), durably. */
static int
write_key(const char *path, const struct buf *st)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = util_write_all(fd, st->data, st->len) == 0 && util_write_all(fd, "\n", 1) == 0 &&
	                 fsync(fd) == 0 ? 0 : -1;
	close(fd);
	if (rc != 0)
		(void)unlink(path);
	return rc;
}

/* Make the next key under `name` into `next_path`; return its signer, or NULL. */
static struct note_signer *
next_key(const char *name, const char *next_path, struct buf *vt)
{
	struct buf st;
	struct note_signer *s = NULL;
	buf_init_secure(&st, 1024);
	if (note_keygen(name, &st, vt) != 0 || write_key(next_path, &st) != 0)
		fprintf(stderr, "tipd: cannot write %s: %s (a leftover from a failed rotation? "
		        "remove it if so)\n", next_path, strerror(errno));
	else
		s = note_signer_parse((const char *)st.data, st.len);
	buf_free(&st);
	return s;
}

/* Swap the key files: current -> retired, next -> current. Return 0, or -1. */
static int
swap_keys(const char *cur, const char *next, char *retired, size_t cap)
{
	snprintf(retired, cap, "%s.retired-%lld", cur, (long long)time(NULL));
	if (rename(cur, retired) != 0 || rename(next, cur) != 0)
		return -1;
	return 0;
}

int
auditkey_cmd(const struct tipd_config *cfg, int argc, char **argv)
{
	char err[512], next_path[4200], retired[4300];
	struct buf vt;
	struct audit *a = NULL;
	struct note_signer *next = NULL;
	PGconn *c = NULL;
	int rc = 1;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "rotate") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	buf_init(&vt, 1024);
	if ((a = audit_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "tipd: %s\n", err);
		goto out;
	}
	snprintf(next_path, sizeof(next_path), "%s.next", audit_key_path(a));
	if ((next = next_key(audit_origin(a), next_path, &vt)) == NULL)
		goto out;
	c = PQconnectdb(cfg->db_conninfo);
	if (PQstatus(c) != CONNECTION_OK || audit_handover(a, c, next) != 0) {
		fprintf(stderr, "tipd: the handover was not stored (%s); nothing changed\n",
		        PQstatus(c) != CONNECTION_OK ? PQerrorMessage(c) : "see the log");
		(void)unlink(next_path);
		goto out;
	}
	if (swap_keys(audit_key_path(a), next_path, retired, sizeof(retired)) != 0) {
		fprintf(stderr, "tipd: ALERT: the handover is stored but the key files could not be "
		        "swapped (%s): move %s to %s by hand before starting tipd\n", strerror(errno),
		        next_path, audit_key_path(a));
		goto out;
	}
	printf("audit log handed over to the new key (the old one is in %s)\n"
	       "new audit verifier key: %s\n"
	       "start tipd; `tipctl audit verify` follows the handover; new invites pin the new key\n",
	       retired, buf_cstr(&vt));
	rc = 0;
out:
	PQfinish(c);
	note_signer_free(next);
	audit_free(a);
	buf_free(&vt);
	return rc;
}
