#include "seen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "names.h"
#include "util.h"

/* Return 1 if `s` (`n` bytes) is a server URL we can store: 1..SEEN_SERVER_MAX
 * printable ASCII characters without spaces. */
static int
seen_server_ok(const char *s, size_t n)
{
	if (n == 0 || n > SEEN_SERVER_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

/* Return 1 if `s` is 64 lower-case hex digits. */
static int
seen_hex_ok(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Take the next space-separated field of the line [*p, end): store its start
 * and length and advance *p past it and one space. Return 0, or -1 if empty
 * or holding a NUL. */
static int
seen_field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));
	*f = *p;
	*n = (size_t)((sp != NULL ? sp : end) - *p);
	*p = sp != NULL ? sp + 1 : end;
	/* a NUL would cut the field short when it is used as a C string */
	return *n > 0 && memchr(*f, '\0', *n) == NULL ? 0 : -1;
}

/* Parse the line [p, end) (no newline) into `l`. Return 0, or -1 if malformed. */
static int
seen_parse_line(const char *p, const char *end, struct seen_line *l)
{
	const char *f;
	char num[24];
	size_t n;
	if (seen_field(&p, end, &l->server, &l->server_len) != 0 ||
	    !seen_server_ok(l->server, l->server_len) || seen_field(&p, end, &f, &n) != 0 ||
	    n > MEMBERSHIP_TEAM_MAX)
		return -1;
	memcpy(l->team, f, n);
	l->team[n] = '\0';
	if (!membership_team_valid(l->team) || seen_field(&p, end, &f, &n) != 0 ||
	    n >= sizeof(num) || f[0] == '0')
		return -1; /* no leading zeros: one text per number */
	memcpy(num, f, n);
	num[n] = '\0';
	if (util_parse_u64(num, MEMBERSHIP_SEQ_MAX, &l->seq) != 0 || l->seq == 0 ||
	    seen_field(&p, end, &f, &n) != 0 || !seen_hex_ok(f, n) || p != end)
		return -1;
	memcpy(l->hash, f, 64);
	l->hash[64] = '\0';
	return 0;
}

/* seen_file_lines callback of seen_scan. */
struct seen_scan_state {
	const char *server, *team;
	struct seen_line *found;
	bool *have;
	struct buf *rest;
};

static int
seen_scan_line(const char *p, const char *nl, void *arg)
{
	struct seen_scan_state *st = arg;
	struct seen_line l;
	if (seen_parse_line(p, nl, &l) != 0)
		return -1;
	if (l.server_len == strlen(st->server) && memcmp(l.server, st->server, l.server_len) == 0 &&
	    strcmp(l.team, st->team) == 0) {
		if (*st->have)
			return -1;
		*st->found = l;
		*st->have = true;
		return 0;
	}
	return buf_add(st->rest, p, (size_t)(nl - p) + 1);
}

int
seen_scan(const char *t, size_t n, const char *server, const char *team, struct seen_line *found,
          bool *have, struct buf *rest)
{
	struct seen_scan_state st = { server, team, found, have, rest };
	*have = false;
	return seen_file_lines(t, n, SEEN_MAGIC, SEEN_MAX_ENTRIES, seen_scan_line, &st) == 0
	               ? SEEN_OK
	               : SEEN_ERR_CORRUPT;
}

int
seen_file_path(const char *path, const char *name, struct buf *p)
{
	if (path != NULL ? buf_adds(p, path) != 0 : cli_default_file(name, p, true) != 0)
		return -1;
	if (buf_cstr(p) == NULL) {
		cli_error("the path of %s is too long", name);
		return -1;
	}
	return 0;
}

int
seen_file_lines(const char *t, size_t n, const char *magic, size_t max,
                int (*fn)(const char *line, const char *end, void *arg), void *arg)
{
	size_t ml = strlen(magic), lines = 0;
	if (n == 0)
		return 0; /* no file yet (t may be NULL) */
	if (n < ml || memcmp(t, magic, ml) != 0)
		return -1;
	for (const char *p = t + ml, *end = t + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || ++lines > max || fn(p, nl, arg) != 0)
			return -1;
		p = nl + 1;
	}
	return 0;
}

int
seen_file_field(const char **p, const char *end, char *f, size_t cap)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));
	size_t n = (size_t)((sp != NULL ? sp : end) - *p);
	if (n == 0 || n >= cap || memchr(*p, '\0', n) != NULL)
		return -1;
	memcpy(f, *p, n);
	f[n] = '\0';
	*p = sp != NULL ? sp + 1 : end;
	return 0;
}

int
seen_file_read(const char *path, struct buf *t)
{
	struct stat st;
	char chunk[4096];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = SEEN_ERR_IO;
	if (fd < 0 && errno == ENOENT)
		return SEEN_OK;
	if (fd < 0 && errno == ELOOP) {
		cli_error("%s is a symbolic link: refusing to use it", path);
		return SEEN_ERR_CORRUPT;
	}
	if (fd < 0 || fstat(fd, &st) != 0) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		cli_error("%s is not a file of yours that only you may write: refusing to use it", path);
		rc = SEEN_ERR_CORRUPT;
		goto out;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_error("cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (buf_add(t, chunk, (size_t)r) != 0) {
			rc = SEEN_ERR_CORRUPT;
			goto out;
		}
	}
	rc = SEEN_OK;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
seen_file_replace(const char *path, const void *p, size_t n)
{
	if (cli_replace(path, p, n) != 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		return SEEN_ERR_IO;
	}
	return SEEN_OK;
}

/* Write `rest` plus the line for `server`, `team`, `seq` and `hex` as the
 * new file at `path` (seen_file_replace). Return SEEN_OK or SEEN_ERR_IO (printed). */
static int
seen_write(const char *path, const struct buf *rest, const char *server, const char *team,
           uint64_t seq, const char *hex)
{
	struct buf text;
	int rc = SEEN_ERR_IO;
	buf_init(&text, SEEN_FILE_MAX + 1024);
	if (buf_adds(&text, SEEN_MAGIC) != 0 || buf_add(&text, rest->data, rest->len) != 0 ||
	    buf_printf(&text, "%s %s %llu %s\n", server, team, (unsigned long long)seq, hex) != 0) {
		cli_error("cannot remember the membership: %s would be too large", path);
		goto out;
	}
	rc = seen_file_replace(path, text.data, text.len);
out:
	buf_free(&text);
	return rc;
}

/* Print what `rc` means for team `team`. */
static void
seen_complain(int rc, const char *team, uint64_t got, uint64_t had, const char *path)
{
	if (rc == SEEN_ERR_ROLLED_BACK)
		cli_error("the server showed an older membership of team %s (statement %llu) than "
		          "this computer has already seen (%llu): refusing; tell an admin",
		          team, (unsigned long long)got, (unsigned long long)had);
	else if (rc == SEEN_ERR_FORKED)
		cli_error("the server showed a different membership of team %s (statement %llu) than "
		          "the one this computer has already seen with that number: refusing; tell "
		          "an admin", team, (unsigned long long)got);
	else if (rc == SEEN_ERR_CORRUPT)
		cli_error("%s is damaged or unsafe: refusing to trust any membership until you check "
		          "it (remove it only if you know why it changed)", path);
}

int
seen_file_lock(const char *path)
{
	char lp[4200];
	int l = snprintf(lp, sizeof(lp), "%s.lock", path), fd;
	if (l < 0 || (size_t)l >= sizeof(lp)) {
		cli_error("the path %s is too long", path);
		return -1;
	}
	fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		cli_error("cannot lock %s: %s", lp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Check (team, seq, 32-byte hash) against the file at `path` and remember
 * it if newer; *had_seq is the sequence remembered before (0: none). */
static int
seen_check_entry(const char *path, const char *server, const char *team, uint64_t seq,
                 const uint8_t *hash, uint64_t *had_seq)
{
	struct buf text, rest;
	struct seen_line had;
	bool have = false;
	char hex[65];
	int rc = SEEN_ERR_IO, lk = -1;
	*had_seq = 0;
	if (path == NULL || server == NULL || !seen_server_ok(server, strlen(server))) {
		cli_error("cannot remember the membership: bad server name");
		return SEEN_ERR_IO;
	}
	buf_init(&text, SEEN_FILE_MAX);
	buf_init(&rest, SEEN_FILE_MAX);
	if ((lk = seen_file_lock(path)) < 0 || (rc = seen_file_read(path, &text)) != SEEN_OK)
		goto out;
	rc = seen_scan((const char *)text.data, text.len, server, team, &had, &have, &rest);
	if (rc != SEEN_OK)
		goto out;
	*had_seq = have ? had.seq : 0;
	if (seq == 0 || hash == NULL) { /* nothing to remember: only never go back */
		rc = have ? SEEN_ERR_ROLLED_BACK : SEEN_OK;
		goto out;
	}
	util_hex(hash, MEMBERSHIP_HASH_LEN, hex);
	if (have && seq < had.seq)
		rc = SEEN_ERR_ROLLED_BACK;
	else if (have && seq == had.seq)
		rc = strcmp(hex, had.hash) == 0 ? SEEN_OK : SEEN_ERR_FORKED;
	else
		rc = seen_write(path, &rest, server, team, seq, hex);
out:
	if (lk >= 0)
		close(lk); /* releases the lock */
	buf_free(&text);
	buf_free(&rest);
	return rc;
}

int
seen_check_file(const char *path, const char *server, const struct membership *head)
{
	uint64_t had = 0;
	if (head == NULL)
		return SEEN_ERR_IO;
	int rc = seen_check_entry(path, server, membership_team(head), membership_seq(head),
	                          membership_hash(head), &had);
	if (rc == SEEN_OK && had != 0 && had < membership_seq(head))
		fprintf(stderr, "team %s: the membership changed (statement %llu, was %llu); "
		        "`tipctl login` shows who is in it now\n", membership_team(head),
		        (unsigned long long)membership_seq(head), (unsigned long long)had);
	seen_complain(rc, membership_team(head), membership_seq(head), had, path);
	return rc;
}

int
seen_check_admins(const char *server, uint64_t seq, const uint8_t hash[32])
{
	struct buf p;
	uint64_t had = 0;
	int rc = SEEN_ERR_IO;
	buf_init(&p, 4096);
	if (cli_default_file(SEEN_ADMINS_FILE_NAME, &p, true) == 0 && buf_cstr(&p) != NULL)
		rc = seen_check_entry(buf_cstr(&p), server, "admins", seq, hash, &had);
	if (rc == SEEN_ERR_ROLLED_BACK)
		cli_error("the server showed an older admin chain (statement %llu) than this computer "
		          "has already seen (%llu): refusing; tell your admins", (unsigned long long)seq,
		          (unsigned long long)had);
	else if (rc == SEEN_ERR_FORKED)
		cli_error("the server showed a different admin statement %llu than the one this "
		          "computer has already seen: refusing; tell your admins",
		          (unsigned long long)seq);
	else if (rc == SEEN_ERR_CORRUPT)
		cli_error("%s is damaged or unsafe: refusing to trust any admin chain until you check it",
		          buf_cstr(&p) != NULL ? buf_cstr(&p) : SEEN_ADMINS_FILE_NAME);
	else if (rc == SEEN_OK && had != 0 && had < seq)
		fprintf(stderr, "the admins changed (admin statement %llu, was %llu); `tipctl admin "
		        "list` shows them\n", (unsigned long long)seq, (unsigned long long)had);
	buf_free(&p);
	return rc;
}

int
seen_check_and_update(const char *server, const struct membership *head)
{
	struct buf p;
	int rc = SEEN_ERR_IO;
	buf_init(&p, 4096);
	if (cli_default_file(SEEN_FILE_NAME, &p, true) == 0 && buf_cstr(&p) != NULL)
		rc = seen_check_file(buf_cstr(&p), server, head);
	buf_free(&p);
	/* the verified members name their keys in `audit log` (names.h) */
	if (rc == SEEN_OK && names_remember(NULL, server, head) != 0)
		cli_error("warning: `tipctl audit log` will not name the members of team %s",
		          membership_team(head));
	return rc;
}

int
seen_lookup(const char *server, const char *team, uint64_t *seq)
{
	struct buf p, text, rest;
	struct seen_line had;
	bool have = false;
	int rc = SEEN_ERR_IO;
	buf_init(&p, 4096);
	buf_init(&text, SEEN_FILE_MAX);
	buf_init(&rest, SEEN_FILE_MAX);
	*seq = 0;
	if (server == NULL || !seen_server_ok(server, strlen(server)) ||
	    cli_default_file(SEEN_FILE_NAME, &p, true) != 0 || buf_cstr(&p) == NULL ||
	    (rc = seen_file_read(buf_cstr(&p), &text)) != SEEN_OK ||
	    (rc = seen_scan((const char *)text.data, text.len, server, team, &had, &have, &rest)) !=
	            SEEN_OK)
		goto out;
	if (have)
		*seq = had.seq;
out:
	buf_free(&p);
	buf_free(&text);
	buf_free(&rest);
	return rc;
}

int
seen_teams(const char *server, char teams[][MEMBERSHIP_TEAM_MAX + 1], size_t max, size_t *n)
{
	struct buf p, text;
	int rc = SEEN_ERR_IO;
	*n = 0;
	buf_init(&p, 4096);
	buf_init(&text, SEEN_FILE_MAX);
	if (server == NULL || !seen_server_ok(server, strlen(server)) ||
	    cli_default_file(SEEN_FILE_NAME, &p, true) != 0 || buf_cstr(&p) == NULL ||
	    (rc = seen_file_read(buf_cstr(&p), &text)) != SEEN_OK)
		goto out;
	if (text.len == 0)
		goto out; /* nothing seen yet (and no buffer) */
	const char *t = (const char *)text.data, *end = t + text.len;
	size_t ml = strlen(SEEN_MAGIC);
	if (text.len < ml || memcmp(t, SEEN_MAGIC, ml) != 0) {
		rc = SEEN_ERR_CORRUPT;
		goto out;
	}
	for (t += ml; t < end;) {
		const char *nl = memchr(t, '\n', (size_t)(end - t));
		struct seen_line l;
		if (nl == NULL || seen_parse_line(t, nl, &l) != 0) {
			rc = SEEN_ERR_CORRUPT;
			goto out;
		}
		if (l.server_len == strlen(server) && memcmp(l.server, server, l.server_len) == 0 &&
		    *n < max)
			snprintf(teams[(*n)++], MEMBERSHIP_TEAM_MAX + 1, "%s", l.team);
		t = nl + 1;
	}
out:
	buf_free(&p);
	buf_free(&text);
	return rc;
}
