/*
 * tipd: the Tipline daemon and its operator subcommands.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "audit.h"
#include "config.h"
#include "flusher.h"
#include "inbox.h"
#include "invite_cmd.h"
#include "http.h"
#include "log.h"
#include "loops.h"
#include "migrate.h"
#include "pages.h"
#include "questionnaire.h"
#include "receipt.h"
#include "review.h"
#include "routes.h"
#include "secmem.h"
#include "spool.h"
#include "teams.h"
#include "tls.h"

#define TIPD_DEFAULT_CONFIG "/etc/tipline/tipd.conf"
#define TIPD_DRAIN_MS 15000

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: tipd [-c FILE] [-n]                 run the daemon\n"
	        "       tipd [-c FILE] migrate              apply database migrations\n"
	        "       tipd [-c FILE] membership add FILE  verify and load a signed membership statement\n"
	        "       tipd [-c FILE] invite --admin ...   make the first admin's invite (invite --help)\n"
	        "\n"
	        "  -c, --config FILE  configuration file (default " TIPD_DEFAULT_CONFIG ")\n"
	        "  -n, --check        check the configuration and its files, then exit\n"
	        "  -h, --help         show this help\n"
	        "  -V, --version      show the version\n"
	        "\n"
	        "Signals: SIGTERM/SIGINT stop gracefully (in-flight reports are made durable and\n"
	        "the spool is flushed to PostgreSQL first); SIGHUP reloads the TLS certificates.\n");
}

/* Load everything the daemon reads at start-up; used by -n and by run. */
static int
app_load(struct app *app, char *err, size_t errlen)
{
	struct tipd_config *c = app->cfg;
	app->questionnaire = questionnaire_load(c->questionnaire, err, errlen);
	if (app->questionnaire == NULL)
		return -1;
	app->pepper = receipt_pepper_load(c->receipt_pepper);
	if (app->pepper == NULL) {
		snprintf(err, errlen, "%s: cannot load the receipt pepper (64 hex characters, mode 0600)",
		         c->receipt_pepper);
		return -1;
	}
	app->teams = teams_new(c->admin_keys, c->n_admin_keys, err, errlen);
	if (app->teams == NULL)
		return -1;
	if (c->source_tls.listen != NULL &&
	    (app->source_tls = tls_ctx_new(c->source_tls.tls_cert, c->source_tls.tls_key,
	                                   HTTP_SURFACE_SOURCE)) == NULL) {
		snprintf(err, errlen, "cannot load the [source_tls] certificate or key");
		return -1;
	}
	if (c->review.listen != NULL &&
	    (app->review_tls = tls_ctx_new(c->review.tls_cert, c->review.tls_key,
	                                   HTTP_SURFACE_REVIEW)) == NULL) {
		snprintf(err, errlen, "cannot load the [review] certificate or key");
		return -1;
	}
	if (c->web_dir != NULL && (app->pages = pages_new(app, err, errlen)) == NULL)
		return -1;
	return 0;
}

static void
app_unload(struct app *app)
{
	loops_close(app->loops);
	review_free(app->review);
	audit_free(app->audit);
	flusher_free(app->flusher);
	inbox_free(app->inbox); /* after the flusher: its callback drops pending ids */
	spool_free(app->spool);
	teams_free(app->teams);
	pages_free(app->pages);
	questionnaire_free(app->questionnaire);
	receipt_pepper_free(app->pepper);
	tls_ctx_free(app->source_tls);
	tls_ctx_free(app->review_tls);
	if (app->drain_tick != NULL)
		event_free(app->drain_tick);
	loops_free_bases(app->loops);
}

static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	static unsigned waited, grace;
	struct app *app = arg;
	(void)fd;
	(void)what;
	waited += 50;
	unsigned inflight = atomic_load(&app->inflight);
	if (inflight > 0 && waited < TIPD_DRAIN_MS)
		return;
	if (inflight > 0) {
		log_warn("stopping with %u submissions unfinished (never acknowledged)", inflight);
		event_base_loopbreak(app->base);
		return;
	}
	/* Give the last receipts a few ticks to leave the socket buffers. */
	if ((grace += 50) >= 250)
		event_base_loopbreak(app->base);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct app *app = arg;
	(void)what;
	if (sig == SIGHUP) {
		int bad = 0;
		if (app->source_tls != NULL && tls_ctx_reload(app->source_tls) != 0) {
			log_error("SIGHUP: [source_tls] certificate not reloaded; keeping the old one");
			bad = 1;
		}
		if (app->review_tls != NULL && tls_ctx_reload(app->review_tls) != 0) {
			log_error("SIGHUP: [review] certificate not reloaded; keeping the old one");
			bad = 1;
		}
		if (!bad)
			log_info("SIGHUP: TLS certificates reloaded");
		return;
	}
	if (app->draining)
		return;
	log_info("stopping: finishing %u submissions in flight", atomic_load(&app->inflight));
	app->draining = true;
	loops_stop_accepting(app->loops);
	struct timeval tv = { 0, 50000 };
	app->drain_tick = event_new(app->base, -1, EV_PERSIST, on_drain_tick, app);
	if (app->drain_tick == NULL || event_add(app->drain_tick, &tv) != 0)
		event_base_loopbreak(app->base);
}

static int
app_harden(const struct tipd_config *c)
{
	if (secmem_harden_process(c->mlock != CONFIG_MLOCK_NO) == 0)
		return 0;
	if (c->mlock == CONFIG_MLOCK_YES) {
		log_error("mlockall failed (%s) and [tipd] mlock = yes", strerror(errno));
		return -1;
	}
	log_warn("mlockall failed (%s): memory may be swapped; raise RLIMIT_MEMLOCK "
	         "(LimitMEMLOCK=infinity in the systemd unit)", strerror(errno));
	return 0;
}

static int
run(struct app *app)
{
	struct tipd_config *c = app->cfg;
	struct event *sigs[3] = { NULL, NULL, NULL };
	const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
	int rc = 1, n;

	if (app_harden(c) != 0)
		return 1;
	if (mkdir(c->state_dir, 0700) != 0 && errno != EEXIST) {
		log_error("%s: %s", c->state_dir, strerror(errno));
		return 1;
	}
	if ((n = teams_load(app->teams, c->db_conninfo, c->state_dir)) < 0)
		return 1;
	log_info("%d teams with verified membership", n);
	if (teams_watch_start(app->teams, c->db_conninfo, c->membership_poll_ms) != 0)
		return 1;
	if (c->review.listen != NULL) {
		char err[512];
		if ((app->review = review_new(app, err, sizeof(err))) == NULL) {
			log_error("review API: %s", err);
			return 1;
		}
	}
	char aerr[512];
	if ((app->audit = audit_new(c, aerr, sizeof(aerr))) == NULL || audit_start(app->audit) != 0) {
		log_error("audit: %s", app->audit == NULL ? aerr : "cannot start the checkpoint signer");
		return 1;
	}
	/* The review API and the source's inbox query on the request's loop. */
	if (loops_open_db(app->loops, c->db_conninfo) != 0)
		return 1;
	char ierr[512];
	if ((app->inbox = inbox_new(app, ierr, sizeof(ierr))) == NULL) {
		log_error("inbox: %s", ierr);
		return 1;
	}
	if ((app->spool = spool_open(c->spool_dir, c->spool_quota_bytes)) == NULL)
		return 1;
	if ((n = inbox_pending_rebuild(app->inbox, app->spool)) < 0)
		return 1;
	log_info("inbox: %d spooled reports not yet delivered", n);
	app->flusher = flusher_new(app->spool, c->db_conninfo, c->flush_interval_ms);
	if (app->flusher == NULL)
		return 1;
	flusher_set_flushed_cb(app->flusher, inbox_pending_flushed, app->inbox);
	if (flusher_start(app->flusher) != 0)
		return 1;
	if (loops_listen(app->loops) != 0 || loops_start(app->loops) != 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	http_set_max_connections(c->max_connections_total);
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(app->base, signums[i], on_signal, app);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) != 0)
			goto out;
	}
	log_info("ready (%u event loops)", loops_count(app->loops));
	event_base_dispatch(app->base);
	rc = 0;
out:
	loops_stop(app->loops);
	for (int i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	log_info("flushing the spool to PostgreSQL");
	if (flusher_stop(app->flusher, 30000) != 0) {
		log_warn("some reports stay in the spool; they are flushed at the next start");
	}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = TIPD_DEFAULT_CONFIG;
	int check = 0, ch, rc = 1;
	char err[512] = "";
	struct app app;

	/* Before anything allocates through libevent, OpenSSL or jansson. */
	if (secmem_install_hooks() != 0 || sodium_init() < 0) {
		fprintf(stderr, "tipd: cannot initialise memory hooks or libsodium\n");
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "+c:nhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'n': check = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tipd 0.1.0\n"); return 0;
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	memset(&app, 0, sizeof(app));
	if (argc >= 1 && strcmp(argv[0], "invite") == 0 && invite_cmd_wants_help(argc, argv))
		return invite_cmd(NULL, argc, argv);
	if ((app.cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "tipd: %s\n", err);
		return 1;
	}
	enum log_level lvl = LOG_LVL_INFO;
	if (app.cfg->log_level != NULL && log_level_parse(app.cfg->log_level, &lvl) != 0) {
		fprintf(stderr, "tipd: %s: [tipd] log_level must be debug, info, warn or error\n", path);
		goto out;
	}
	log_init("tipd", lvl);
	if (argc >= 1 && strcmp(argv[0], "migrate") == 0 && argc == 1) {
		const char *ci = app.cfg->db_migrate_conninfo ? app.cfg->db_migrate_conninfo
		                                              : app.cfg->db_conninfo;
		rc = migrate_run(ci, app.cfg->schema_dir ? app.cfg->schema_dir : TIPD_SCHEMA_DIR) == 0 ? 0 : 1;
		goto out;
	}
	if (argc == 3 && strcmp(argv[0], "membership") == 0 && strcmp(argv[1], "add") == 0) {
		app.teams = teams_new(app.cfg->admin_keys, app.cfg->n_admin_keys, err, sizeof(err));
		if (app.teams == NULL)
			fprintf(stderr, "tipd: %s\n", err);
		else
			rc = teams_add_statement(app.teams, app.cfg->db_conninfo, argv[2]) == 0 ? 0 : 1;
		goto out;
	}
	if (argc >= 1 && strcmp(argv[0], "invite") == 0) {
		rc = invite_cmd(app.cfg, argc, argv);
		goto out;
	}
	if (argc != 0) {
		usage(stderr);
		rc = 2;
		goto out;
	}
	if (app_load(&app, err, sizeof(err)) != 0) {
		fprintf(stderr, "tipd: %s\n", err);
		goto out;
	}
	if (check) {
		printf("tipd: %s: configuration OK\n", path);
		rc = 0;
		goto out;
	}
	unsigned nloops = app.cfg->loops;
	if (nloops == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		nloops = ncpu < 1 ? 1 : ncpu > LOOPS_MAX ? LOOPS_MAX : (unsigned)ncpu;
	}
	/* jansson's hash seed, before any thread parses JSON. */
	json_object_seed(0);
	if (evthread_use_pthreads() != 0 || (app.loops = loops_new(&app, nloops)) == NULL) {
		log_error("cannot create the event loops");
		goto out;
	}
	rc = run(&app);
out:
	app_unload(&app);
	config_free(app.cfg);
	return rc;
}
