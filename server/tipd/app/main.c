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
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "audit.h"
#include "config.h"
#include "deliver.h"
#include "flusher.h"
#include "inbox.h"
#include "auditkey_cmd.h"
#include "inbox_share.h"
#include "invite_cmd.h"
#include "http.h"
#include "log.h"
#include "loops.h"
#include "hostkeys_cmd.h"
#include "migrate.h"
#include "purge.h"
#include "pages.h"
#include "questionnaire.h"
#include "receipt.h"
#include "review.h"
#include "routes.h"
#include "sandbox.h"
#include "secmem.h"
#include "spool.h"
#include "teams.h"
#include "tls.h"

#define TIPD_DEFAULT_CONFIG "/etc/tipline/tipd.conf"
#define TIPD_DRAIN_MS 15000
#define TIPD_DELIVER_WAIT_MS 2000 /* for the spool before serving; then beside it */

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: tipd [-c FILE] [-n]                 run the daemon\n"
	        "       tipd [-c FILE] migrate              apply database migrations\n"
	        "       tipd [-c FILE] membership add FILE  verify and load a signed membership statement\n"
	        "       tipd [-c FILE] invite --admin ...   make the first admin's invite (invite --help)\n"
	        "       tipd [-c FILE] audit-key rotate     hand the audit log over to a new key\n"
	        "       tipd [-c FILE] purge [--dry-run]    delete the reports the retention policies say are due\n"
	        "       tipd [-c FILE] keys adopt           make this host's shared secrets the deployment's\n"
	        "\n"
	        "  -c, --config FILE  configuration file (default " TIPD_DEFAULT_CONFIG ")\n"
	        "  -n, --check        check the configuration and its files, then exit\n"
	        "  -h, --help         show this help\n"
	        "  -V, --version      show the version\n"
	        "\n"
	        "Signals: SIGTERM/SIGINT stop gracefully (in-flight reports are made durable and\n"
	        "the spool is flushed to PostgreSQL first); SIGHUP reloads the TLS certificates.\n");
}

/* Check that the file [section] key = path can be read; else explain in `err`. */
static int
file_readable(const struct tipd_config *c, const char *key, const char *path, char *err,
              size_t errlen)
{
	if (access(path, R_OK) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s = %s: %s (fix the path, or the file's owner and mode: tipd "
	         "must read it)", c->path, key, path, strerror(errno));
	return -1;
}

/* Load one listener's certificate and key; NULL with the reason in `err`. */
static struct tls_ctx *
tls_load_checked(const struct tipd_config *c, const char *section,
                 const struct config_listener *l, enum http_surface surface, char *err,
                 size_t errlen)
{
	char kc[48], kk[48];
	snprintf(kc, sizeof(kc), "[%s] tls_cert", section);
	snprintf(kk, sizeof(kk), "[%s] tls_key", section);
	if (file_readable(c, kc, l->tls_cert, err, errlen) != 0 ||
	    file_readable(c, kk, l->tls_key, err, errlen) != 0)
		return NULL;
	struct tls_ctx *t = tls_ctx_new(l->tls_cert, l->tls_key, surface);
	if (t == NULL)
		snprintf(err, errlen, "%s: [%s] tls_cert = %s and tls_key = %s: not a PEM certificate "
		         "chain and its matching private key (OpenSSL's reason is logged above)",
		         c->path, section, l->tls_cert, l->tls_key);
	return t;
}

/* Load everything the daemon reads at start-up; used by -n and by run. */
static int
app_load(struct app *app, char *err, size_t errlen)
{
	struct tipd_config *c = app->cfg;
	char qerr[400];
	app->questionnaire = questionnaire_load(c->questionnaire, qerr, sizeof(qerr));
	if (app->questionnaire == NULL) {
		snprintf(err, errlen, "%s ([tipd] questionnaire in %s): %s", c->questionnaire, c->path,
		         qerr);
		return -1;
	}
	app->pepper = receipt_pepper_load(c->receipt_pepper);
	if (app->pepper == NULL) {
		snprintf(err, errlen, "%s ([tipd] receipt_pepper in %s): cannot load the receipt pepper "
		         "(64 hex characters, mode 0600)", c->receipt_pepper, c->path);
		return -1;
	}
	app->teams = teams_new(c->admin_keys, c->n_admin_keys, c->admin_quorum, err, errlen);
	if (app->teams == NULL)
		return -1;
	if (c->source_tls.listen != NULL &&
	    (app->source_tls = tls_load_checked(c, "source_tls", &c->source_tls, HTTP_SURFACE_SOURCE,
	                                        err, errlen)) == NULL)
		return -1;
	if (c->review.listen != NULL &&
	    (app->review_tls = tls_load_checked(c, "review", &c->review, HTTP_SURFACE_REVIEW, err,
	                                        errlen)) == NULL)
		return -1;
	if (c->web_dir != NULL && (app->pages = pages_new(app, err, errlen)) == NULL)
		return -1;
	return 0;
}

/* Make the sharing of the pending set with the other hosts (inbox_share.h),
 * unless [tipd] pending_share_ms = 0; it starts once the set is rebuilt
 * (deliver.h). Return 0, or -1 (logged). */
static int
app_share_pending(struct app *app)
{
	const struct tipd_config *c = app->cfg;
	char err[512];
	if (c->pending_share_ms == 0)
		return 0;
	app->ishare = ishare_new(c->state_dir, app->pepper, c->pending_share_max, err, sizeof(err));
	if (app->ishare == NULL) {
		log_error("inbox: %s", err);
		return -1;
	}
	return 0;
}

static void
app_unload(struct app *app)
{
	loops_close(app->loops);
	review_free(app->review);
	audit_free(app->audit);
	flusher_free(app->flusher);
	ishare_free(app->ishare); /* stops its thread, which reads the pending set */
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

/* Create `dir` (mode 0700) if needed and take an exclusive lock on it,
 * held until tipd exits (the fd is never closed before), so that a second
 * tipd on the same configuration cannot share it. Return the locked fd, or
 * -1 after logging why. */
static int
lock_dir(const char *dir, const char *key)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("[tipd] %s %s: %s", key, dir, strerror(errno));
		return -1;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_error("[tipd] %s %s: %s", key, dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno == EWOULDBLOCK)
		log_error("[tipd] %s %s is locked: another tipd is running with it; refusing to "
		          "start (give each tipd its own %s)",
		          key, dir, key);
	else
		log_error("[tipd] %s %s: cannot lock it: %s", key, dir, strerror(errno));
	close(fd);
	return -1;
}

/* Give up what the running daemon does not need (sandbox.h): after the
 * listeners are bound and the keys read, before the loops serve anyone. */
static int
app_sandbox(const struct tipd_config *c)
{
	char err[512];
	if (sandbox_drop(c->user, c->spool_dir, c->state_dir, c->mlock, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
#ifdef TIPLINE_TEST_HOOKS
	if (sandbox_test_hook_install() != 0)
		return -1;
#endif
	if (!c->sandbox) {
		log_warn("[tipd] sandbox = no: no system call filter");
		return 0;
	}
	if (sandbox_enter(err, sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
	log_info("system call filter on");
	return 0;
}

static int
run(struct app *app)
{
	struct tipd_config *c = app->cfg;
	struct event *sigs[3] = { NULL, NULL, NULL };
	const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
	struct deliver *deliver = NULL;
	int rc = 1, n;

	/* Before anything touches them: spool_open removes unfinished files. */
	if (lock_dir(c->spool_dir, "spool_dir") < 0 || lock_dir(c->state_dir, "state_dir") < 0)
		return 1;
	if (app_harden(c) != 0)
		return 1;
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
	/* Before serving anyone: a host with another copy of a shared secret
	 * would fail receipts, logins and forms made on the other hosts. */
	if (hostkeys_run(c, app->pepper, 0) < 0)
		return 1;
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
	if (app_share_pending(app) != 0)
		return 1;
	app->flusher = flusher_new(app->spool, c->db_conninfo, c->flush_interval_ms);
	if (app->flusher == NULL)
		return 1;
	flusher_set_list_max(app->flusher, c->flush_list_max);
	flusher_set_flushed_cb(app->flusher, inbox_pending_flushed, app->inbox);
	/* Started before the sandbox, held until the pending set is rebuilt:
	 * a large backlog is read in a thread while tipd serves (deliver.h). */
	flusher_hold(app->flusher);
	if (flusher_start(app->flusher) != 0 ||
	    (deliver = deliver_start(app, TIPD_DELIVER_WAIT_MS)) == NULL)
		return 1;
	/* Listeners bound, keys read: give up the rest before serving anyone. */
	if (loops_listen(app->loops) != 0 || app_sandbox(c) != 0 || loops_start(app->loops) != 0)
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
	if (deliver_join(deliver) < 0)
		rc = 1;
	for (int i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	log_info("flushing the spool to PostgreSQL");
	if (flusher_stop(app->flusher, 30000) != 0) {
		log_warn("some reports stay in the spool; they are flushed at the next start");
	}
	return rc;
}

/*
 * `tipd migrate --help` and `tipd membership --help` (or a wrong use of
 * them) answer without opening the configuration. Return 1 if answered
 * (exit code in *rc), else 0.
 */
static int
sub_help(int argc, char **argv, int *rc)
{
	int help = argc >= 2 && (strcmp(argv[argc - 1], "--help") == 0 ||
	                         strcmp(argv[argc - 1], "-h") == 0);
	if (strcmp(argv[0], "migrate") == 0 && (help || argc != 1)) {
		fputs("usage: tipd [-c FILE] migrate\n\n"
		      "Apply the schema migrations that the database lacks, in order, each in its own\n"
		      "transaction, as [database] migrate_conninfo (or conninfo). Safe to run again.\n",
		      help ? stdout : stderr);
		*rc = help ? 0 : 2;
		return 1;
	}
	if (strcmp(argv[0], "membership") == 0 &&
	    (help || argc != 3 || strcmp(argv[1], "add") != 0)) {
		fputs("usage: tipd [-c FILE] membership add FILE\n\n"
		      "Verify the signed membership statement in FILE against the [admins] keys and the\n"
		      "team's current head, and store it. Running tipds pick it up within\n"
		      "[tipd] membership_poll_ms.\n",
		      help ? stdout : stderr);
		*rc = help ? 0 : 2;
		return 1;
	}
	if (strcmp(argv[0], "keys") == 0 && (help || argc != 2 || strcmp(argv[1], "adopt") != 0)) {
		fputs("usage: tipd [-c FILE] keys adopt\n\n"
		      "Every host of a deployment must hold the same receipt pepper, login nonce key\n"
		      "(STATE_DIR/nonce.key) and [web] key; tipd records a check value of each (a keyed\n"
		      "hash that shows nothing of the secret) at its first start and refuses to start\n"
		      "with a different copy. After replacing one of them on every host on purpose, run\n"
		      "this once, on one host, to record this host's check values instead.\n",
		      help ? stdout : stderr);
		*rc = help ? 0 : 2;
		return 1;
	}
	if (strcmp(argv[0], "purge") == 0 &&
	    (help || argc > 2 || (argc == 2 && strcmp(argv[1], "--dry-run") != 0))) {
		fputs("usage: tipd [-c FILE] purge [--dry-run]\n\n"
		      "Delete every report that its team's retention policy says is due (closed\n"
		      "reports N days after closing, others M days after arrival; never one under legal\n"
		      "hold): its payload, headers, attachments, messages, replies, notes and inbox,\n"
		      "each report in its own transaction with one report_purge audit entry. Run daily\n"
		      "by tipd-purge.timer. --dry-run only counts them.\n",
		      help ? stdout : stderr);
		*rc = help ? 0 : 2;
		return 1;
	}
	return 0;
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
	if (argc >= 1 && sub_help(argc, argv, &rc))
		return rc;
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
		app.teams = teams_new(app.cfg->admin_keys, app.cfg->n_admin_keys,
		                      app.cfg->admin_quorum, err, sizeof(err));
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
	if (argc >= 1 && strcmp(argv[0], "audit-key") == 0) {
		rc = auditkey_cmd(app.cfg, argc, argv);
		goto out;
	}
	if (argc >= 1 && strcmp(argv[0], "purge") == 0) {
		size_t n = 0;
		rc = purge_run(app.cfg->db_conninfo, argc == 2, &n) == 0 ? 0 : 1;
		if (rc == 0)
			printf("%zu report(s) %s\n", n, argc == 2 ? "due (dry run)" : "purged");
		goto out;
	}
	if (argc >= 1 && strcmp(argv[0], "keys") == 0) {
		if ((app.pepper = receipt_pepper_load(app.cfg->receipt_pepper)) == NULL)
			fprintf(stderr, "tipd: %s: cannot load the receipt pepper\n",
			        app.cfg->receipt_pepper);
		else
			rc = hostkeys_cmd(app.cfg, app.pepper, argc, argv);
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
