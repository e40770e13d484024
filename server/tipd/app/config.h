/*
 * config: tipd's INI configuration file (see deploy/tipd.conf.example for
 * every key, its default and its meaning).
 */
#ifndef TIPD_CONFIG_H
#define TIPD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

#define CONFIG_MAX_ADMIN_KEYS 16
#define CONFIG_MAX_CONTACTS 64

/* One help contact shown on every source page: [web] contact = region | name | how */
struct config_contact {
	char *region;            /* "Everywhere", "Greece", … (translated if a catalogue has it) */
	char *name;              /* "Police", "Anti-trafficking hotline", … (likewise) */
	char *how;               /* a number or an address, shown as written */
};

/* Sanitizer builds (ASan): the [tipd] sandbox filter defaults to off there,
 * sandbox.h says why; everywhere else it defaults to on. */
#if defined(__SANITIZE_ADDRESS__)
#define CONFIG_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONFIG_SANITIZER_BUILD 1
#endif
#endif
#ifdef CONFIG_SANITIZER_BUILD
#define CONFIG_SANDBOX_DEFAULT false
#else
#define CONFIG_SANDBOX_DEFAULT true
#endif

enum config_mlock { CONFIG_MLOCK_NO, CONFIG_MLOCK_YES, CONFIG_MLOCK_AUTO };

struct config_listener {
	char *listen;            /* "host:port" or "unix:/path"; NULL = disabled */
	char *tls_cert;
	char *tls_key;
	bool proxy_protocol;
	bool submissions;        /* source TLS only: accept reports over clearnet */
};

struct tipd_config {
	char *path;
	char *log_level;
	enum config_mlock mlock;
	char *user;               /* [tipd] user: become it after start-up (as root) */
	bool sandbox;             /* [tipd] sandbox: seccomp filter after start-up */
	unsigned loops;           /* event loops; 0 = one per online core */
	char *spool_dir;
	char *state_dir;          /* small files tipd must remember (0700) */
	uint64_t spool_quota_bytes;
	unsigned flush_interval_ms;
	unsigned flush_list_max;  /* [limits] spool files the flusher lists at a time */
	unsigned pending_messages_max; /* [limits] messages one unflushed report may queue */
	unsigned membership_poll_ms; /* how often the database is checked for new statements */
	unsigned pending_share_ms;   /* [tipd] how often the pending set is shared (0: never) */
	unsigned pending_share_max;  /* [limits] lookup ids one host shares at most */
	char *questionnaire;
	char *receipt_pepper;
	char *onion_location;     /* advertised by the clearnet source listener */
	char *db_conninfo;        /* application role, used by the daemon */
	char *db_migrate_conninfo;/* owner role, used by `tipd migrate` */
	char *schema_dir;
	struct config_listener source;     /* plain, behind the onion service */
	struct config_listener source_tls; /* clearnet TLS source listener */
	struct config_listener review;     /* always TLS */
	char *review_origin;      /* [review] origin: what investigators sign at login */
	unsigned review_idle_s;   /* [review] session_idle_s (default 1800) */
	unsigned review_lifetime_s; /* [review] session_lifetime_s (default 28800) */
	struct http_limits limits;
	unsigned max_connections_total; /* all listeners together */
	unsigned audit_checkpoint_entries;    /* [audit] sign after this many new entries */
	unsigned audit_checkpoint_interval_s; /* [audit] or after this long if the log grew */
	char *admin_keys[CONFIG_MAX_ADMIN_KEYS]; /* pinned admin verifier keys */
	unsigned n_admin_keys;
	unsigned admin_quorum; /* [admins] quorum: signatures an admin change needs (default 1) */
	/* [web]: the source pages (off while web_dir is unset) */
	char *web_dir;            /* templates/ and static/ */
	char *web_locales;        /* compiled catalogues, one LANG.mo each */
	char *web_exit_url;       /* the quick-exit link: an innocuous address */
	char *web_team;           /* the team that receives reports sent with the form */
	char *web_key;            /* file with 64 hex: form tokens and inbox cookies; unset: random per start */
	unsigned web_form_ttl_s;  /* how long a form stays valid (default 3600) */
	unsigned web_session_s;   /* how long an opened inbox stays open (default 900) */
	struct config_contact contacts[CONFIG_MAX_CONTACTS];
	unsigned n_contacts;
};

/* Read and check `path`; return a config, or NULL after writing the reason
 * (with the file name and line) into `err`. Caller frees with config_free. */
struct tipd_config *config_load(const char *path, char *err, size_t errlen);
void config_free(struct tipd_config *c);

#endif
