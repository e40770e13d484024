/* seed_util: binary COPY encoding, small helpers and loading the teams. */
#include "seed.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "note.h"

static const uint8_t copy_sig[11] = { 'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0 };

/* Append the 11-byte signature, the flags and the extension length. */
int
seed_copy_begin(struct buf *b)
{
	static const uint8_t zeros[8] = { 0 };
	return buf_add(b, copy_sig, sizeof(copy_sig)) == 0 && buf_add(b, zeros, 8) == 0 ? 0 : -1;
}

/* Start a tuple of `n` fields. */
int
seed_copy_tuple(struct buf *b, uint16_t n)
{
	uint16_t be = htons(n);
	return buf_add(b, &be, 2);
}

/* Append one field: its length (int32) and its bytes. */
int
seed_copy_field(struct buf *b, const void *p, size_t n)
{
	uint32_t be = htonl((uint32_t)n);
	return n <= INT32_MAX && buf_add(b, &be, 4) == 0 && buf_add(b, p, n) == 0 ? 0 : -1;
}

/* A smallint field. */
int
seed_copy_i16(struct buf *b, int16_t v)
{
	uint16_t be = htons((uint16_t)v);
	return seed_copy_field(b, &be, 2);
}

/* An int or date field (a date is days since 2000-01-01). */
int
seed_copy_i32(struct buf *b, int32_t v)
{
	uint32_t be = htonl((uint32_t)v);
	return seed_copy_field(b, &be, 4);
}

/* A bigint field. */
int
seed_copy_i64(struct buf *b, int64_t v)
{
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	return seed_copy_field(b, be, 8);
}

/* The trailer (a field count of -1). */
int
seed_copy_end(struct buf *b)
{
	static const uint8_t end[2] = { 0xff, 0xff };
	return buf_add(b, end, 2);
}

int
seed_copy_send(PGconn *c, const char *sql, const struct buf *b)
{
	PGresult *res = PQexec(c, sql);
	int ok = res != NULL && PQresultStatus(res) == PGRES_COPY_IN;
	PQclear(res);
	if (!ok) {
		fprintf(stderr, "seed: %s: %s", sql, PQerrorMessage(c));
		return -1;
	}
	/* libpq takes at most INT_MAX bytes a call: send in slices. */
	for (size_t off = 0; off < b->len;) {
		size_t n = b->len - off > (1u << 24) ? (1u << 24) : b->len - off;
		if (PQputCopyData(c, (const char *)b->data + off, (int)n) != 1)
			ok = 0;
		off += n;
	}
	if (PQputCopyEnd(c, ok ? NULL : "seed: send failed") != 1)
		ok = 0;
	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			if (ok)
				fprintf(stderr, "seed: %s: %s", sql, PQresultErrorMessage(res));
			ok = 0;
		}
		PQclear(res);
	}
	return ok ? 0 : -1;
}

int
seed_exec(PGconn *c, const char *sql, const char *what)
{
	PGresult *res = PQexec(c, sql);
	int ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	                         PQresultStatus(res) == PGRES_TUPLES_OK);
	if (!ok)
		fprintf(stderr, "seed: %s: %s", what, PQerrorMessage(c));
	PQclear(res);
	return ok ? 0 : -1;
}

void
seed_uuid(uint8_t raw[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	randombytes_buf(raw, 16);
	raw[6] = (uint8_t)((raw[6] & 0x0f) | 0x40);
	raw[8] = (uint8_t)((raw[8] & 0x3f) | 0x80);
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[raw[i] >> 4];
		out[o++] = hex[raw[i] & 15];
	}
	out[o] = '\0';
}

void
seed_date(int32_t day, char out[11])
{
	time_t t = ((time_t)day + 10957) * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

uint64_t
seed_rand(uint64_t *x)
{
	/* xorshift64* */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ull;
}

double
seed_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copy the members of statement `m` into team `t`. Return 0, or -1. */
static int
team_from(struct seed_team *t, const struct membership *m)
{
	size_t n = membership_count(m);
	snprintf(t->id, sizeof(t->id), "%s", membership_team(m));
	t->recipients = calloc(n ? n : 1, sizeof(*t->recipients));
	t->x25519 = calloc(n ? n : 1, sizeof(*t->x25519));
	t->ed25519 = calloc(n ? n : 1, sizeof(*t->ed25519));
	if (t->recipients == NULL || t->x25519 == NULL || t->ed25519 == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct membership_member *mm = membership_member_at(m, i);
		snprintf(t->recipients[i], sizeof(t->recipients[i]), "%s", mm->recipient);
		memcpy(t->x25519[i], mm->x25519_pk, 32);
		memcpy(t->ed25519[i], mm->ed25519_pk, 32);
	}
	t->n = n;
	return 0;
}

int
seed_load_teams(struct seed *s, PGconn *c)
{
	struct note_verifier *v = note_verifier_parse(s->admin_key, strlen(s->admin_key));
	int rc = -1;
	PGresult *res = PQexec(c, "select distinct on (team_id) statement from membership_statements "
	                          "order by team_id, seq desc");
	if (v == NULL) {
		fprintf(stderr, "seed: --admin-key is not a verifier key\n");
		goto out;
	}
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "seed: reading the teams: %s", PQerrorMessage(c));
		goto out;
	}
	for (int i = 0; i < PQntuples(res) && s->nteams < SEED_TEAMS_MAX; i++) {
		struct membership *m = NULL;
		const struct note_verifier *vs[1] = { v };
		if (membership_open(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), vs, 1, &m) !=
		    MEMBERSHIP_OK) {
			fprintf(stderr, "seed: a membership statement does not verify with --admin-key\n");
			goto out;
		}
		int bad = membership_count(m) == 0 || team_from(&s->teams[s->nteams], m) != 0;
		membership_free(m);
		if (bad)
			goto out;
		s->nteams++;
	}
	if (s->nteams == 0)
		fprintf(stderr, "seed: no team has a membership statement: add them first\n");
	else
		rc = 0;
out:
	PQclear(res);
	note_verifier_free(v);
	return rc;
}
