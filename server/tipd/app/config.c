#include "config.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "questionnaire.h"
#include "spool.h"
#include "util.h"

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
		return set_str(&l->listen, v);
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
		return set_str(&c->onion_location, v);
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
		if (c->n_admin_keys == CONFIG_MAX_ADMIN_KEYS) {
			snprintf(p->err, p->errlen, "too many admin keys (at most %d)",
			         CONFIG_MAX_ADMIN_KEYS);
			return 0;
		}
		rc = set_str(&c->admin_keys[c->n_admin_keys], value);
		if (rc == 0)
			c->n_admin_keys++;
	}
	if (rc == -2)
		snprintf(p->err, p->errlen, "unknown key [%s] %s", section, name);
	else if (rc != 0)
		snprintf(p->err, p->errlen, "bad value for [%s] %s", section, name);
	return rc == 0;
}

static void
config_defaults(struct tipd_config *c)
{
	c->mlock = CONFIG_MLOCK_AUTO;
	c->spool_quota_bytes = (uint64_t)1024 << 20;
	c->flush_interval_ms = 300000;
	c->membership_poll_ms = 5000;
	http_limits_default(&c->limits);
	c->max_connections_total = 16384;
	c->review_idle_s = 1800;
	c->review_lifetime_s = 28800;
	c->audit_checkpoint_entries = 64;
	c->audit_checkpoint_interval_s = 60;
	c->web_form_ttl_s = 3600;
	c->web_session_s = 900;
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

struct tipd_config *
config_load(const char *path, char *err, size_t errlen)
{
	struct tipd_config *c = calloc(1, sizeof(*c));
	char perr[256] = "";
	struct config_parse p = { c, perr, sizeof(perr) };
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		config_free(c);
		return NULL;
	}
	config_defaults(c);
	int rc = ini_parse(path, config_handler, &p);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot open", path);
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
