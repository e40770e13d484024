/* seed_reports: sealed reports, their headers and inbox rows, by binary COPY. */
#include "seed.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "pad.h"
#include "proto.h"

#define SEED_ANSWERS                                                                        \
	"{\"what_happened\":\"They took our passports and we work without pay.\","           \
	"\"exploitation\":[\"labour\",\"debt_bondage\"],\"where\":\"A farm near the river\","  \
	"\"when\":\"Since March\",\"who_involved\":\"The farm manager and his brother\","        \
	"\"affected_person\":\"me\",\"safe_now\":\"no\"}"

static const char *const statuses[] = { "new", "new", "triaged", "investigating", "referred",
	                                "closed", "closed", "closed" };
static const char *const priorities[] = { "low", "normal", "normal", "normal", "high", "urgent" };

struct worker {
	struct seed *s;
	pthread_t thread;
	uint64_t rng;
	PGconn *c;
	json_t *answers;
	struct buf rep, hdr, inb; /* COPY data for reports, object_headers, inboxes */
	struct buf pt, one;       /* a report's plaintext; one header or payload */
	uint64_t headers;
};

/* The padded report document, as tipd's submit_report_json builds it. */
static int
report_doc(struct worker *w, const struct seed_team *t, const char *day, const char *src,
           const char *sig_b64)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:[]}", "team", t->id, "language",
	                        "en", "received_on", day, "source_recipient", src,
	                        "source_signing_key", sig_b64, "answers", w->answers, "attachments");
	int rc = -1;
	buf_reset(&w->pt);
	if (doc == NULL)
		return -1;
	size_t need = json_dumpb(doc, NULL, 0, JSON_COMPACT);
	if (need > 0 && buf_reserve(&w->pt, pad_text_bucket(need)) == 0 &&
	    json_dumpb(doc, (char *)w->pt.data, need, JSON_COMPACT) == need) {
		w->pt.len = need;
		rc = pad_text(&w->pt);
	}
	json_decref(doc);
	return rc;
}

/* Headers (one per member) and the payload of report `uuid` into the COPY
 * buffers; the payload goes into w->one. Return 0, or -1. */
static int
seal(struct worker *w, const struct seed_team *t, const uint8_t raw[16], const char *uuid)
{
	uint8_t fk[AGE_FILE_KEY_LEN];
	char line[PROTO_CONTEXT_MAX];
	struct age_enc *e = NULL;
	int rc = -1;
	age_file_key_new(fk);
	for (size_t i = 0; i < t->n; i++) {
		buf_reset(&w->one);
		if (age_header_x25519(fk, &t->x25519[i], 1, &w->one) != 0 ||
		    seed_copy_tuple(&w->hdr, 3) != 0 || seed_copy_field(&w->hdr, raw, 16) != 0 ||
		    seed_copy_field(&w->hdr, t->recipients[i], strlen(t->recipients[i])) != 0 ||
		    seed_copy_field(&w->hdr, w->one.data, w->one.len) != 0)
			goto out;
		w->headers++;
	}
	int n = proto_context_line("report", uuid, uuid, line, sizeof(line));
	buf_reset(&w->one);
	if (n < 0 || (e = age_enc_new(fk)) == NULL ||
	    age_enc_update(e, (const uint8_t *)line, (size_t)n, &w->one) != 0 ||
	    age_enc_update(e, w->pt.data, w->pt.len, &w->one) != 0 || age_enc_final(e, &w->one) != 0)
		goto out;
	rc = 0;
out:
	age_enc_free(e);
	sodium_memzero(fk, sizeof(fk));
	return rc;
}

/* Write the receipt of report `idx` to the receipts file if it is one of the first. */
static void
note_receipt(struct worker *w, uint64_t idx, const char digits[RECEIPT_DIGITS],
             const struct seed_team *t, const char *uuid)
{
	char str[RECEIPT_STR_LEN];
	if (w->s->receipts == NULL || idx >= w->s->receipts_count)
		return;
	receipt_format(digits, str);
	pthread_mutex_lock(&w->s->mu);
	fprintf(w->s->receipts, "%s %s %s\n", str, t->id, uuid);
	pthread_mutex_unlock(&w->s->mu);
}

/* One report: receipt, document, sealing, and its three kinds of rows. */
static int
one_report(struct worker *w, uint64_t idx, const struct seed_team *t)
{
	char digits[RECEIPT_DIGITS], src[AGE_RECIPIENT_STR_MAX], uuid[37], day[11];
	char sig_b64[sodium_base64_ENCODED_LEN(RECEIPT_SIGN_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t raw[16], id[RECEIPT_ID_LEN], pk[RECEIPT_KEY_LEN], sk[RECEIPT_KEY_LEN];
	uint8_t sig_pk[RECEIPT_SIGN_PK_LEN], sig_sk[RECEIPT_SIGN_SK_LEN];
	uint64_t r = seed_rand(&w->rng);
	int32_t d = w->s->today - (int32_t)(r % w->s->days);
	const char *st = statuses[(r >> 20) % 8], *pr = priorities[(r >> 28) % 6];
	seed_uuid(raw, uuid);
	seed_date(d, day);
	receipt_new(digits);
	int bad = receipt_lookup_id(w->s->pepper, digits, id) != 0 ||
	          receipt_source_key(w->s->pepper, digits, pk, sk) != 0 ||
	          receipt_source_sign_key(w->s->pepper, digits, sig_pk, sig_sk) != 0;
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sig_sk, sizeof(sig_sk));
	if (bad)
		return -1;
	sodium_bin2base64(sig_b64, sizeof(sig_b64), sig_pk, sizeof(sig_pk),
	                  sodium_base64_VARIANT_ORIGINAL);
	if (age_recipient_encode(pk, src, sizeof(src)) != 0 || report_doc(w, t, day, src, sig_b64) != 0 ||
	    seal(w, t, raw, uuid) != 0)
		return -1;
	if (seed_copy_tuple(&w->rep, 6) != 0 || seed_copy_field(&w->rep, raw, 16) != 0 ||
	    seed_copy_field(&w->rep, t->id, strlen(t->id)) != 0 || seed_copy_i32(&w->rep, d) != 0 ||
	    seed_copy_field(&w->rep, w->one.data, w->one.len) != 0 ||
	    seed_copy_field(&w->rep, st, strlen(st)) != 0 ||
	    seed_copy_field(&w->rep, pr, strlen(pr)) != 0 ||
	    seed_copy_tuple(&w->inb, 3) != 0 || seed_copy_field(&w->inb, id, sizeof(id)) != 0 ||
	    seed_copy_field(&w->inb, raw, 16) != 0 || seed_copy_field(&w->inb, pk, sizeof(pk)) != 0)
		return -1;
	note_receipt(w, idx, digits, t, uuid);
	return 0;
}

/* The team of report `idx`: the first big_share % go to the first team. */
static const struct seed_team *
team_of(const struct seed *s, uint64_t idx)
{
	uint64_t big = s->reports / 100 * s->big_share + s->reports % 100 * s->big_share / 100;
	if (s->nteams == 1 || idx < big)
		return &s->teams[0];
	return &s->teams[1 + (idx - big) % (s->nteams - 1)];
}

/* Seal reports [from, to) and COPY them in one transaction. Return 0, or -1. */
static int
batch(struct worker *w, uint64_t from, uint64_t to)
{
	buf_reset(&w->rep);
	buf_reset(&w->hdr);
	buf_reset(&w->inb);
	w->headers = 0;
	if (seed_copy_begin(&w->rep) != 0 || seed_copy_begin(&w->hdr) != 0 ||
	    seed_copy_begin(&w->inb) != 0)
		return -1;
	for (uint64_t i = from; i < to; i++)
		if (one_report(w, i, team_of(w->s, i)) != 0) {
			fprintf(stderr, "seed: sealing report %llu failed\n", (unsigned long long)i);
			return -1;
		}
	if (seed_copy_end(&w->rep) != 0 || seed_copy_end(&w->hdr) != 0 || seed_copy_end(&w->inb) != 0 ||
	    seed_exec(w->c, "BEGIN", "begin") != 0)
		return -1;
	if (seed_copy_send(w->c, "copy reports (id, team_id, received_on, payload, status, priority) "
	                         "from stdin (format binary)", &w->rep) != 0 ||
	    seed_copy_send(w->c, "copy object_headers (object_id, recipient, header) "
	                         "from stdin (format binary)", &w->hdr) != 0 ||
	    seed_copy_send(w->c, "copy inboxes (lookup_id, report_id, source_pk) "
	                         "from stdin (format binary)", &w->inb) != 0 ||
	    seed_exec(w->c, "COMMIT", "commit") != 0) {
		PQclear(PQexec(w->c, "ROLLBACK"));
		return -1;
	}
	atomic_fetch_add(&w->s->done_reports, to - from);
	atomic_fetch_add(&w->s->done_headers, w->headers);
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct seed *s = w->s;
	while (!atomic_load(&s->failed)) {
		uint64_t from = atomic_fetch_add(&s->next, s->batch);
		if (from >= s->reports)
			break;
		uint64_t to = s->reports - from > s->batch ? from + s->batch : s->reports;
		if (batch(w, from, to) != 0)
			atomic_store(&s->failed, 1);
	}
	return NULL;
}

/* Set up worker `w`: a connection, the answers, buffers. Return 0, or -1. */
static int
worker_init(struct seed *s, struct worker *w)
{
	json_error_t je;
	w->s = s;
	randombytes_buf(&w->rng, sizeof(w->rng));
	w->rng |= 1;
	buf_init(&w->rep, (size_t)1 << 31);
	buf_init(&w->hdr, (size_t)1 << 31);
	buf_init(&w->inb, (size_t)1 << 28);
	buf_init(&w->pt, (size_t)1 << 20);
	buf_init(&w->one, (size_t)1 << 22);
	w->answers = json_loads(s->answers != NULL ? s->answers : SEED_ANSWERS, 0, &je);
	w->c = PQconnectdb(s->conninfo);
	if (w->answers == NULL || PQstatus(w->c) != CONNECTION_OK) {
		fprintf(stderr, "seed: connecting: %s", PQerrorMessage(w->c));
		return -1;
	}
	/* Each batch commits on its own: a crash loses at most a batch, and
	 * nothing else waits for the WAL flush of a seeding transaction. */
	return seed_exec(w->c, "set synchronous_commit = off", "synchronous_commit");
}

static void
worker_free(struct worker *w)
{
	PQfinish(w->c);
	json_decref(w->answers);
	buf_free(&w->rep);
	buf_free(&w->hdr);
	buf_free(&w->inb);
	buf_free(&w->pt);
	buf_free(&w->one);
}

int
seed_reports(struct seed *s)
{
	struct worker *ws = calloc(s->workers, sizeof(*ws));
	unsigned started = 0;
	int rc = -1;
	if (ws == NULL)
		return -1;
	for (unsigned i = 0; i < s->workers; i++)
		if (worker_init(s, &ws[i]) != 0)
			goto out;
	for (; started < s->workers; started++)
		if (pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]) != 0) {
			atomic_store(&s->failed, 1);
			break;
		}
	for (unsigned i = 0; i < started; i++)
		pthread_join(ws[i].thread, NULL);
	rc = atomic_load(&s->failed) ? -1 : 0;
out:
	for (unsigned i = 0; i < s->workers; i++)
		worker_free(&ws[i]);
	free(ws);
	return rc;
}
