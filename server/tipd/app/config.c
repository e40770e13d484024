#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http.h"
#include "note.h"
#include "questionnaire.h"
#include "spool.h"
#include "util.h"

/* The keys of each section, for "unknown key" messages (keep in step with
 * the config_*_key functions below and deploy/tipd.conf.example). */
#define LISTENER_KEYS "listen tls_cert tls_key proxy_protocol submissions"
static const struct {
	const char *section, *keys;
} config_sections[] = {
	{ "tipd", "log_level mlock spool_dir loops state_dir spool_quota_mb flush_interval_ms "
	          "membership_poll_ms pending_share_ms questionnaire receipt_pepper onion_location "
	          "schema_dir user sandbox" },
	{ "source", LISTENER_KEYS },
	{ "source_tls", LISTENER_KEYS },
	{ "review", "origin session_idle_s session_lifetime_s " LISTENER_KEYS },
	{ "limits", "max_body_mb max_header_bytes max_headers max_connections "
	            "max_connections_total handshake_timeout_ms head_timeout_ms "
	            "body_idle_timeout_ms min_body_rate body_total_timeout_ms body_rate_window_ms "
	            "body_rate_grace_ms keepalive_timeout_ms flush_list_max pending_messages_max "
	            "pending_share_max" },
	{ "audit", "checkpoint_entries checkpoint_interval_s" },
	{ "database", "conninfo migrate_conninfo" },
	{ "admins", "admin_key quorum" },
	{ "web", "dir locales key team quick_exit_url form_ttl_s session_s contact" },
};

struct config_parse {
	struct tipd_config *c;
	char *err;
	size_t errlen;
};

static int
set_str(char **dst, const char *v)
{
	char *p = strdup(v);
	if (p == NULL)
		return -1;
	free(*dst);
	*dst = p;
	return 0;
}

static int
set_bool(bool *dst, const char *v)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0) {
		*dst = true;
		return 0;
	}
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0) {
		*dst = false;
		return 0;
	}
	return -1;
}

/* A count or a limit where 0 means "off". */
static int
set_uint(unsigned *dst, const char *v, uint64_t max)
{
	uint64_t n;
	if (util_parse_u64(v, max, &n) != 0)
		return -1;
	*dst = (unsigned)n;
	return 0;
}

/* A deadline or a count that must not be 0 (0 would mean "none"). */
static int
set_positive(unsigned *dst, const char *v, uint64_t max)
{
	uint64_t n;
	if (util_parse_u64(v, max, &n) != 0 || n == 0)
		return -1;
	*dst = (unsigned)n;
	return 0;
}

static int
config_listener_key(struct config_listener *l, const char *name, const char *v)
{
	if (strcmp(name, "listen") == 0)
		return http_listen_addr_valid(v) ? set_str(&l->listen, v) : -1;
	if (strcmp(name, "tls_cert") == 0)
		return set_str(&l->tls_cert, v);
	if (strcmp(name, "tls_key") == 0)
		return set_str(&l->tls_key, v);
	if (strcmp(name, "proxy_protocol") == 0)
		return set_bool(&l->proxy_protocol, v);
	if (strcmp(name, "submissions") == 0)
		return set_bool(&l->submissions, v);
	return -2;
}

static int
config_review_key(struct tipd_config *c, const char *name, const char *v)
{
	if (strcmp(name, "origin") == 0) {
		/* Signed into every login message, one line of it. */
		if (strncmp(v, "https://", 8) != 0 || v[8] == '\0' || strpbrk(v, " \t\r\n") != NULL)
			return -1;
		return set_str(&c->review_origin, v);
	}
	if (strcmp(name, "session_idle_s") == 0)
		return set_positive(&c->review_idle_s, v, 86400);
	if (strcmp(name, "session_lifetime_s") == 0)
		return set_positive(&c->review_lifetime_s, v, 7 * 86400);
	return config_listener_key(&c->review, name, v);
}

static int
config_tipd_key(struct tipd_config *c, const char *name, const char *v)
{
	uint64_t n;
	if (strcmp(name, "log_level") == 0)
		return set_str(&c->log_level, v);
	if (strcmp(name, "mlock") == 0) {
		if (strcmp(v, "auto") == 0)
			c->mlock = CONFIG_MLOCK_AUTO;
		else if (strcmp(v, "yes") == 0)
			c->mlock = CONFIG_MLOCK_YES;
		else if (strcmp(v, "no") == 0)
			c->mlock = CONFIG_MLOCK_NO;
		else
			return -1;
		return 0;
	}
	if (strcmp(name, "user") == 0)
		return set_str(&c->user, v);
	if (strcmp(name, "sandbox") == 0)
		return set_bool(&c->sandbox, v);
	if (strcmp(name, "spool_dir") == 0)
		return set_str(&c->spool_dir, v);
	if (strcmp(name, "loops") == 0) {
		/* "auto" or 1..64 */
		if (strcmp(v, "auto") == 0) {
			c->loops = 0;
			return 0;
		}
		return set_positive(&c->loops, v, 64);
	}
	if (strcmp(name, "state_dir") == 0)
		return set_str(&c->state_dir, v);
	if (strcmp(name, "spool_quota_mb") == 0) {
		if (util_parse_u64(v, 1u << 30, &n) != 0 || n == 0)
			return -1;
		c->spool_quota_bytes = n << 20;
		return 0;
	}
	if (strcmp(name, "flush_interval_ms") == 0)
		return set_positive(&c->flush_interval_ms, v, 86400000);
	if (strcmp(name, "membership_poll_ms") == 0)
		return set_positive(&c->membership_poll_ms, v, 3600000);
	if (strcmp(name, "pending_share_ms") == 0)
		return set_uint(&c->pending_share_ms, v, 3600000);
	if (strcmp(name, "questionnaire") == 0)
		return set_str(&c->questionnaire, v);
	if (strcmp(name, "receipt_pepper") == 0)
		return set_str(&c->receipt_pepper, v);
	if (strcmp(name, "onion_location") == 0) {
		/* It becomes a response header: short, printable, no CR/LF. */
		size_t len = strlen(v);
		if (len == 0 || len > 255 || strncmp(v, "http", 4) != 0)
			return -1;
		for (size_t i = 0; i < len; i++)
			if (v[i] < 0x21 || v[i] > 0x7e)
				return -1;
		if (set_str(&c->onion_location, v) != 0)
			return -1;
		/* kept without a trailing slash: each answer appends its path */
		for (size_t k = len; k > 0 && c->onion_location[k - 1] == '/'; k--)
			c->onion_location[k - 1] = '\0';
		return 0;
	}
	if (strcmp(name, "schema_dir") == 0)
		return set_str(&c->schema_dir, v);
	return -2;
}

static int
config_limits_key(struct tipd_config *c, const char *name, const char *v)
{
	struct http_limits *l = &c->limits;
	uint64_t n;
	if (strcmp(name, "max_body_mb") == 0) {
		/* One submission must fit one spool file. */
		if (util_parse_u64(v, SPOOL_MAX_FILE_BYTES >> 20, &n) != 0 || n == 0)
			return -1;
		l->max_body_bytes = n << 20;
		return 0;
	}
	if (strcmp(name, "max_header_bytes") == 0) {
		if (util_parse_u64(v, 1u << 20, &n) != 0 || n < 256)
			return -1;
		l->max_header_bytes = (size_t)n;
		return 0;
	}
	if (strcmp(name, "max_headers") == 0)
		return set_positive(&l->max_headers, v, 1000);
	if (strcmp(name, "max_connections") == 0)
		return set_positive(&l->max_connections, v, 1000000);
	if (strcmp(name, "max_connections_total") == 0)
		return set_positive(&c->max_connections_total, v, 1000000);
	if (strcmp(name, "handshake_timeout_ms") == 0)
		return set_positive(&l->handshake_ms, v, 600000);
	if (strcmp(name, "head_timeout_ms") == 0)
		return set_positive(&l->head_ms, v, 600000);
	if (strcmp(name, "body_idle_timeout_ms") == 0)
		return set_positive(&l->body_idle_ms, v, 600000);
	if (strcmp(name, "min_body_rate") == 0)
		return set_uint(&l->min_body_rate, v, 1u << 30);
	if (strcmp(name, "body_total_timeout_ms") == 0)
		return set_uint(&l->body_total_ms, v, 86400000);
	if (strcmp(name, "body_rate_window_ms") == 0)
		return set_positive(&l->body_rate_window_ms, v, 600000);
	if (strcmp(name, "body_rate_grace_ms") == 0)
		return set_uint(&l->body_rate_grace_ms, v, 600000);
	if (strcmp(name, "keepalive_timeout_ms") == 0)
		return set_positive(&l->keepalive_ms, v, 600000);
	if (strcmp(name, "flush_list_max") == 0)
		return set_positive(&c->flush_list_max, v, 65536);
	if (strcmp(name, "pending_messages_max") == 0)
		return set_positive(&c->pending_messages_max, v, 100000);
	if (strcmp(name, "pending_share_max") == 0)
		return set_positive(&c->pending_share_max, v, 65536);
	return -2;
}

static int
config_audit_key(struct tipd_config *c, const char *name, const char *v)
{
	if (strcmp(name, "checkpoint_entries") == 0)
		return set_positive(&c->audit_checkpoint_entries, v, 1000000);
	if (strcmp(name, "checkpoint_interval_s") == 0)
		return set_positive(&c->audit_checkpoint_interval_s, v, 86400);
	return -2;
}

/* The keys of `section`, or NULL if there is no such section. */
static const char *
section_keys(const char *section)
{
	for (size_t i = 0; i < sizeof(config_sections) / sizeof(config_sections[0]); i++)
		if (strcmp(config_sections[i].section, section) == 0)
			return config_sections[i].keys;
	return NULL;
}

/* What a bad value for [section] name should look like. */
static const char *
value_hint(const char *section, const char *name)
{
	if (strcmp(name, "listen") == 0)
		return "HOST:PORT with an IP address and a port 0-65535 ([v6]:PORT, or unix:/path)";
	if (strcmp(name, "admin_key") == 0)
		return "a verifier key as `tipctl admin keygen` prints it (NAME+HASH+BASE64)";
	if (strcmp(name, "quorum") == 0)
		return "1 to the number of admin keys";
	if (strcmp(name, "origin") == 0)
		return "https://HOST as investigators reach it";
	if (strcmp(name, "proxy_protocol") == 0 || strcmp(name, "submissions") == 0)
		return "yes or no";
	(void)section;
	return "see deploy/tipd.conf.example for its range";
}

/* Explain an unknown section or key in p->err. */
static void
config_unknown(struct config_parse *p, const char *section, const char *name)
{
	const char *keys = section_keys(section);
	if (keys == NULL)
		snprintf(p->err, p->errlen, "unknown section [%s] (the sections are [tipd], [source], "
		         "[source_tls], [review], [limits], [audit], [database], [admins], [web])", section);
	else
		snprintf(p->err, p->errlen, "unknown key '%s' in [%s] (its keys: %s)", name, section,
		         keys);
}

static int
config_admin_key(struct config_parse *p, const char *value)
{
	struct tipd_config *c = p->c;
	if (c->n_admin_keys == CONFIG_MAX_ADMIN_KEYS) {
		snprintf(p->err, p->errlen, "too many admin keys (at most %d)", CONFIG_MAX_ADMIN_KEYS);
		return 1;
	}
	struct note_verifier *v = note_verifier_parse(value, strlen(value));
	if (v == NULL)
		return -1;
	note_verifier_free(v);
	int rc = set_str(&c->admin_keys[c->n_admin_keys], value);
	if (rc == 0)
		c->n_admin_keys++;
	return rc;
}

/* "region | name | how": three non-empty, trimmed parts, printable, no CR/LF. */
static int
config_contact(struct tipd_config *c, const char *v)
{
	char tmp[768], *part[3];
	size_t n = strlen(v);
	if (c->n_contacts == CONFIG_MAX_CONTACTS || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, n + 1);
	char *p = tmp;
	for (int i = 0; i < 3; i++) {
		char *bar = i < 2 ? strchr(p, '|') : NULL;
		if (i < 2 && bar == NULL)
			return -1;
		if (bar != NULL)
			*bar = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		char *e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*p == '\0' || strpbrk(p, "\r\n|") != NULL)
			return -1;
		part[i] = p;
		p = bar != NULL ? bar + 1 : p;
	}
	struct config_contact *k = &c->contacts[c->n_contacts];
	if (set_str(&k->region, part[0]) != 0 || set_str(&k->name, part[1]) != 0 ||
	    set_str(&k->how, part[2]) != 0)
		return -1;
	c->n_contacts++;
	return 0;
}

static int
config_web_key(struct tipd_config *c, const char *name, const char *v)
{
	if (strcmp(name, "dir") == 0)
		return set_str(&c->web_dir, v);
	if (strcmp(name, "locales") == 0)
		return set_str(&c->web_locales, v);
	if (strcmp(name, "key") == 0)
		return set_str(&c->web_key, v);
	if (strcmp(name, "team") == 0)
		return questionnaire_team_valid(v) ? set_str(&c->web_team, v) : -1;
	if (strcmp(name, "quick_exit_url") == 0) {
		size_t len = strlen(v);
		if (len > 255 || (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0))
			return -1;
		for (size_t i = 0; i < len; i++)
			if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '"' || v[i] == '<' || v[i] == '>')
				return -1;
		return set_str(&c->web_exit_url, v);
	}
	if (strcmp(name, "form_ttl_s") == 0)
		return set_positive(&c->web_form_ttl_s, v, 86400);
	if (strcmp(name, "session_s") == 0)
		return set_positive(&c->web_session_s, v, 86400);
	if (strcmp(name, "contact") == 0)
		return config_contact(c, v);
	return -2;
}

static int
config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *p = user;
	struct tipd_config *c = p->c;
	int rc = -2;

	if (strcmp(section, "tipd") == 0)
		rc = config_tipd_key(c, name, value);
	else if (strcmp(section, "source") == 0)
		rc = config_listener_key(&c->source, name, value);
	else if (strcmp(section, "source_tls") == 0)
		rc = config_listener_key(&c->source_tls, name, value);
	else if (strcmp(section, "review") == 0)
		rc = config_review_key(c, name, value);
	else if (strcmp(section, "limits") == 0)
		rc = config_limits_key(c, name, value);
	else if (strcmp(section, "audit") == 0)
		rc = config_audit_key(c, name, value);
	else if (strcmp(section, "web") == 0)
		rc = config_web_key(c, name, value);
	else if (strcmp(section, "database") == 0) {
		if (strcmp(name, "conninfo") == 0)
			rc = set_str(&c->db_conninfo, value);
		else if (strcmp(name, "migrate_conninfo") == 0)
			rc = set_str(&c->db_migrate_conninfo, value);
	} else if (strcmp(section, "admins") == 0 && strcmp(name, "admin_key") == 0) {
		if ((rc = config_admin_key(p, value)) == 1)
			return 0;
	} else if (strcmp(section, "admins") == 0 && strcmp(name, "quorum") == 0) {
		rc = set_uint(&c->admin_quorum, value, CONFIG_MAX_ADMIN_KEYS);
		if (rc == 0 && c->admin_quorum == 0)
			rc = -1;
	}
	if (rc == -2)
		config_unknown(p, section, name);
	else if (rc != 0)
		snprintf(p->err, p->errlen, "bad value for [%s] %s = %.80s: want %s", section, name,
		         value, value_hint(section, name));
	return rc == 0;
}

static void
config_defaults(struct tipd_config *c)
{
	c->mlock = CONFIG_MLOCK_AUTO;
	c->sandbox = CONFIG_SANDBOX_DEFAULT;
	c->spool_quota_bytes = (uint64_t)1024 << 20;
	c->flush_interval_ms = 300000;
	c->flush_list_max = 1024;
	c->pending_messages_max = 100;
	c->membership_poll_ms = 5000;
	c->pending_share_ms = 2000;
	c->pending_share_max = 1024;
	http_limits_default(&c->limits);
	c->max_connections_total = 16384;
	c->review_idle_s = 1800;
	c->review_lifetime_s = 28800;
	c->audit_checkpoint_entries = 64;
	c->audit_checkpoint_interval_s = 60;
	c->web_form_ttl_s = 3600;
	c->web_session_s = 900;
	c->admin_quorum = 1;
}

static int
config_check(const struct tipd_config *c, char *err, size_t errlen)
{
	const char *missing = NULL;
	if (c->spool_dir == NULL)
		missing = "[tipd] spool_dir";
	else if (c->state_dir == NULL)
		missing = "[tipd] state_dir";
	else if (c->questionnaire == NULL)
		missing = "[tipd] questionnaire";
	else if (c->receipt_pepper == NULL)
		missing = "[tipd] receipt_pepper";
	else if (c->db_conninfo == NULL)
		missing = "[database] conninfo";
	else if (c->source.listen == NULL && c->source_tls.listen == NULL)
		missing = "[source] listen";
	else if (c->n_admin_keys == 0)
		missing = "[admins] admin_key";
	if (missing != NULL) {
		snprintf(err, errlen, "%s: missing %s", c->path, missing);
		return -1;
	}
	if (c->source_tls.listen && (!c->source_tls.tls_cert || !c->source_tls.tls_key)) {
		snprintf(err, errlen, "%s: [source_tls] needs tls_cert and tls_key", c->path);
		return -1;
	}
	if (c->admin_quorum > c->n_admin_keys) {
		snprintf(err, errlen, "%s: [admins] quorum %u is more than the %u admin keys", c->path,
		         c->admin_quorum, c->n_admin_keys);
		return -1;
	}
	if (c->review.listen && (!c->review.tls_cert || !c->review.tls_key)) {
		snprintf(err, errlen, "%s: [review] is TLS only: set tls_cert and tls_key", c->path);
		return -1;
	}
	if (c->review.listen && c->review_origin == NULL) {
		snprintf(err, errlen, "%s: [review] needs origin (https://… as investigators reach it)",
		         c->path);
		return -1;
	}
	if (c->web_dir != NULL && (c->web_locales == NULL || c->web_team == NULL)) {
		snprintf(err, errlen, "%s: [web] dir needs locales (the compiled catalogues) and team",
		         c->path);
		return -1;
	}
	if (c->source.tls_cert || c->source.tls_key) {
		snprintf(err, errlen, "%s: [source] is plain HTTP behind Tor; put TLS in [source_tls]",
		         c->path);
		return -1;
	}
	return 0;
}

/*
 * Refuse a configuration that others may read or anyone but its owner and
 * group may write: it names the receipt pepper, TLS keys and the database
 * credentials. Return 0, or -1 with the fix in `err` (nothing if absent:
 * ini_parse says so).
 */
static int
config_mode_ok(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;
	if ((st.st_mode & 0027) == 0)
		return 0;
	snprintf(err, errlen, "%s: mode %04o lets %s it, and it names the receipt pepper, the TLS "
	         "keys and the database credentials: run chmod 0640 %s (owner root or tipd, "
	         "group tipd)", path, (unsigned)(st.st_mode & 07777),
	         (st.st_mode & 0007) ? "everyone read or write" : "the group write", path);
	return -1;
}

struct tipd_config *
config_load(const char *path, char *err, size_t errlen)
{
	struct tipd_config *c = calloc(1, sizeof(*c));
	char perr[512] = "";
	struct config_parse p = { c, perr, sizeof(perr) };
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		config_free(c);
		return NULL;
	}
	config_defaults(c);
	if (config_mode_ok(path, err, errlen) != 0)
		goto fail;
	int rc = ini_parse(path, config_handler, &p);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot open: %s (give another file with -c FILE)", path,
		         strerror(errno));
		goto fail;
	}
	if (rc > 0) {
		snprintf(err, errlen, "%s:%d: %s", path, rc, perr[0] ? perr : "syntax error");
		goto fail;
	}
	if (config_check(c, err, errlen) != 0)
		goto fail;
	return c;
fail:
	config_free(c);
	return NULL;
}

static void
config_listener_free(struct config_listener *l)
{
	free(l->listen);
	free(l->tls_cert);
	free(l->tls_key);
}

void
config_free(struct tipd_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->log_level);
	free(c->user);
	free(c->spool_dir);
	free(c->state_dir);
	free(c->questionnaire);
	free(c->receipt_pepper);
	free(c->onion_location);
	free(c->db_conninfo);
	free(c->db_migrate_conninfo);
	free(c->schema_dir);
	free(c->review_origin);
	config_listener_free(&c->source);
	config_listener_free(&c->source_tls);
	config_listener_free(&c->review);
	for (unsigned i = 0; i < c->n_admin_keys; i++)
		free(c->admin_keys[i]);
	free(c->web_dir);
	free(c->web_locales);
	free(c->web_exit_url);
	free(c->web_key);
	free(c->web_team);
	for (unsigned i = 0; i < c->n_contacts; i++) {
		free(c->contacts[i].region);
		free(c->contacts[i].name);
		free(c->contacts[i].how);
	}
	free(c);
}
