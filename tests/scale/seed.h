/*
 * seed: fill a Tipline database with years of real data, fast (tests/scale).
 *
 * Reports are sealed exactly as tipd seals them (libtipline's age, pad,
 * proto and receipt code: one file key, one single-stanza X25519 header per
 * member of the team's current signed membership statement, a STREAM
 * payload whose plaintext is the context line and the padded report
 * document), with an inbox row derived from a fresh receipt under the
 * deployment's pepper. Audit entries are real entries (audit_entry_format)
 * with their RFC 9162 leaf hashes, the subtree nodes tipd's trigger would
 * have stored, and checkpoints signed with tipd's audit key. Everything goes
 * in with binary COPY over libpq, from several workers.
 */
#ifndef TIPLINE_SEED_H
#define TIPLINE_SEED_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>

#include "age.h"
#include "buf.h"
#include "membership.h"
#include "receipt.h"

#define SEED_TEAMS_MAX 256

struct seed_team {
	char id[MEMBERSHIP_TEAM_MAX + 1];
	size_t n;                                   /* members */
	char (*recipients)[AGE_RECIPIENT_STR_MAX];
	uint8_t (*x25519)[32];
	uint8_t (*ed25519)[32];
};

struct seed {
	/* options */
	const char *conninfo;
	const char *pepper_path;
	const char *audit_key_path;
	const char *admin_key;      /* the admin's verifier key: statements must verify */
	const char *receipts_path;  /* where the first receipts are written, or NULL */
	char *answers;              /* the answers object (JSON) every report carries */
	uint64_t reports, audit, checkpoint_every;
	unsigned workers, batch, days, big_share, receipts_count;
	/* state */
	struct seed_team teams[SEED_TEAMS_MAX];
	size_t nteams;
	struct receipt_pepper *pepper;
	int32_t today;              /* days since 2000-01-01 */
	atomic_uint_fast64_t next;  /* next report index to claim */
	atomic_uint_fast64_t done_reports, done_headers;
	atomic_int failed;
	double audit_s;             /* the audit thread's own time */
	pthread_mutex_t mu;         /* the receipts file */
	FILE *receipts;
};

/* Binary COPY: the file header, a tuple's field count, fields, the trailer. */
int seed_copy_begin(struct buf *b) __attribute__((warn_unused_result));
int seed_copy_tuple(struct buf *b, uint16_t nfields) __attribute__((warn_unused_result));
int seed_copy_field(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int seed_copy_i16(struct buf *b, int16_t v) __attribute__((warn_unused_result));
int seed_copy_i32(struct buf *b, int32_t v) __attribute__((warn_unused_result));
int seed_copy_i64(struct buf *b, int64_t v) __attribute__((warn_unused_result));
int seed_copy_end(struct buf *b) __attribute__((warn_unused_result));
/* Run `sql` (a COPY ... FROM STDIN (FORMAT binary)) and send `b`. Return 0, or -1 (printed). */
int seed_copy_send(PGconn *c, const char *sql, const struct buf *b)
	__attribute__((warn_unused_result));
/* Run a command; return 0, or -1 (printed with `what`). */
int seed_exec(PGconn *c, const char *sql, const char *what) __attribute__((warn_unused_result));

/* A uuid string from 16 random bytes (version 4), and the bytes. */
void seed_uuid(uint8_t raw[16], char out[37]);
/* Day number (since 2000-01-01) as YYYY-MM-DD. */
void seed_date(int32_t day, char out[11]);
/* A fast per-thread generator for distributions (not for keys). */
uint64_t seed_rand(uint64_t *state);

/* Load the teams and their current members from the database. Return 0, or -1. */
int seed_load_teams(struct seed *s, PGconn *c) __attribute__((warn_unused_result));
/* Seed s->reports reports with s->workers threads. Return 0, or -1. */
int seed_reports(struct seed *s) __attribute__((warn_unused_result));
/* Append s->audit audit entries with nodes and checkpoints. Return 0, or -1. */
int seed_audit(struct seed *s) __attribute__((warn_unused_result));
/* Monotonic seconds. */
double seed_now(void);

#endif
