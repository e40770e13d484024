/*
 * scale_seed: fill a Tipline database with years of data (tests/scale/README.md).
 *
 *   scale_seed --conninfo STR --pepper FILE --audit-key FILE --admin-key VKEY
 *              [--reports N] [--audit M] [--workers W] [--batch B] [--days D]
 *              [--big-share P] [--checkpoint-every K] [--receipts FILE [--receipts-count C]]
 *              [--answers REPORT_JSON]
 */
#include "seed.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char usage[] =
	"usage: scale_seed --conninfo STR --pepper FILE --audit-key FILE --admin-key VKEY\n"
	"                  [--reports N (1000000)] [--audit M (10000000)] [--workers W (cores)]\n"
	"                  [--batch B (1000)] [--days D (1095)] [--big-share P (10)]\n"
	"                  [--checkpoint-every K (1000000)] [--receipts FILE [--receipts-count C (5)]]\n"
	"                  [--answers REPORT_JSON (its \"answers\" go in every report)]\n"
	"\n"
	"Seal N reports to the teams that have a membership statement (P % of them to the\n"
	"first team by id, the rest spread evenly), received over the last D days, with their\n"
	"headers and inbox rows; append M audit entries with their subtree nodes and a\n"
	"checkpoint signed with tipd's audit key every K entries and at the end. Run it as\n"
	"a superuser, with tipd stopped. Prints rows/s.\n";

/* Parse a count option into *out. Return 0, or -1 (printed). */
static int
count_opt(const char *name, const char *v, uint64_t max, uint64_t *out)
{
	if (util_parse_u64(v, max, out) == 0)
		return 0;
	fprintf(stderr, "scale_seed: --%s wants a number up to %" PRIu64 "\n", name, max);
	return -1;
}

/* Take the "answers" object of the report body in `path` for every report. Return 0, or -1. */
static int
load_answers(struct seed *s, const char *path)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	json_t *ans = json_object_get(doc, "answers");
	free(s->answers);
	s->answers = json_is_object(ans) ? json_dumps(ans, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (s->answers == NULL)
		fprintf(stderr, "scale_seed: %s: no \"answers\" object\n", path);
	return s->answers != NULL ? 0 : -1;
}

static int
parse(struct seed *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conninfo", 1, 0, 'c' }, { "pepper", 1, 0, 'p' }, { "audit-key", 1, 0, 'k' },
		{ "admin-key", 1, 0, 'a' }, { "reports", 1, 0, 'n' }, { "audit", 1, 0, 'm' },
		{ "workers", 1, 0, 'w' }, { "batch", 1, 0, 'b' }, { "days", 1, 0, 'd' },
		{ "big-share", 1, 0, 'B' }, { "checkpoint-every", 1, 0, 'K' },
		{ "receipts", 1, 0, 'r' }, { "receipts-count", 1, 0, 'R' }, { "answers", 1, 0, 'j' },
		{ "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	uint64_t v;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': s->conninfo = optarg; break;
		case 'p': s->pepper_path = optarg; break;
		case 'k': s->audit_key_path = optarg; break;
		case 'a': s->admin_key = optarg; break;
		case 'r': s->receipts_path = optarg; break;
		case 'j': if (load_answers(s, optarg) != 0) return -1; break;
		case 'n': if (count_opt("reports", optarg, INT64_MAX, &s->reports)) return -1; break;
		case 'm': if (count_opt("audit", optarg, INT64_MAX, &s->audit)) return -1; break;
		case 'K':
			if (count_opt("checkpoint-every", optarg, INT64_MAX, &s->checkpoint_every) ||
			    s->checkpoint_every == 0)
				return -1;
			break;
		case 'w': if (count_opt("workers", optarg, 64, &v) || v == 0) return -1; s->workers = (unsigned)v; break;
		case 'b': if (count_opt("batch", optarg, 100000, &v) || v == 0) return -1; s->batch = (unsigned)v; break;
		case 'd': if (count_opt("days", optarg, 36500, &v) || v == 0) return -1; s->days = (unsigned)v; break;
		case 'B': if (count_opt("big-share", optarg, 100, &v)) return -1; s->big_share = (unsigned)v; break;
		case 'R': if (count_opt("receipts-count", optarg, 1000000, &v)) return -1; s->receipts_count = (unsigned)v; break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); return -1;
		}
	}
	if (optind != argc || !s->conninfo || !s->pepper_path || !s->audit_key_path || !s->admin_key) {
		fputs(usage, stderr);
		return -1;
	}
	return 0;
}

static void *
audit_main(void *arg)
{
	struct seed *s = arg;
	double t0 = seed_now();
	if (seed_audit(s) != 0)
		atomic_store(&s->failed, 1);
	s->audit_s = seed_now() - t0;
	return NULL;
}

static int
setup(struct seed *s)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	PGconn *c;
	time_t now = time(NULL);
	s->today = (int32_t)(now / 86400 - 10957);
	if (s->workers == 0)
		s->workers = cores > 0 ? (unsigned)cores : 1;
	if ((s->pepper = receipt_pepper_load(s->pepper_path)) == NULL) {
		fprintf(stderr, "scale_seed: cannot read the pepper %s\n", s->pepper_path);
		return -1;
	}
	if (s->receipts_path != NULL && (s->receipts = fopen(s->receipts_path, "w")) == NULL) {
		perror(s->receipts_path);
		return -1;
	}
	c = PQconnectdb(s->conninfo);
	int rc = PQstatus(c) == CONNECTION_OK ? seed_load_teams(s, c) : -1;
	if (PQstatus(c) != CONNECTION_OK)
		fprintf(stderr, "scale_seed: %s", PQerrorMessage(c));
	PQfinish(c);
	return rc;
}

int
main(int argc, char **argv)
{
	struct seed s = { .reports = 1000000, .audit = 10000000, .checkpoint_every = 1000000,
		          .batch = 1000, .days = 1095, .big_share = 10, .receipts_count = 5 };
	pthread_t at;
	int rc = 1;
	if (sodium_init() < 0 || pthread_mutex_init(&s.mu, NULL) != 0 || parse(&s, argc, argv) != 0 ||
	    setup(&s) != 0)
		goto out;
	double t0 = seed_now();
	if (pthread_create(&at, NULL, audit_main, &s) != 0)
		goto out;
	int rr = seed_reports(&s);
	double tr = seed_now() - t0;
	if (rr != 0)
		atomic_store(&s.failed, 1);
	pthread_join(at, NULL);
	double ta = seed_now() - t0;
	uint64_t nr = atomic_load(&s.done_reports), nh = atomic_load(&s.done_headers);
	printf("{\"teams\": %zu, \"workers\": %u, \"reports\": %" PRIu64 ", \"headers\": %" PRIu64
	       ", \"inboxes\": %" PRIu64 ", \"reports_s\": %.3f, \"report_rows_per_s\": %.0f, "
	       "\"audit_entries\": %" PRIu64 ", \"audit_s\": %.3f, \"audit_rows_per_s\": %.0f, "
	       "\"total_s\": %.3f}\n",
	       s.nteams, s.workers, nr, nh, nr, tr, (double)(2 * nr + nh) / (tr > 0 ? tr : 1), s.audit,
	       s.audit_s, (double)s.audit / (s.audit_s > 0 ? s.audit_s : 1), ta);
	rc = atomic_load(&s.failed) ? 1 : 0;
out:
	if (s.receipts != NULL && fclose(s.receipts) != 0)
		rc = 1;
	receipt_pepper_free(s.pepper);
	free(s.answers);
	for (size_t i = 0; i < SEED_TEAMS_MAX; i++) { /* unused entries are NULL */
		free(s.teams[i].recipients);
		free(s.teams[i].x25519);
		free(s.teams[i].ed25519);
	}
	return rc;
}
