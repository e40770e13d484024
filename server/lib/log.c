#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "tipline";
static enum log_level log_min = LOG_LVL_INFO;
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;

void
log_init(const char *progname, enum log_level min)
{
	log_prog = progname;
	log_min = min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *tags[] = { "debug", "info", "warn", "error" };
	char line[1024];
	if (lvl < log_min)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* No timestamps: journald adds its own, and a file log must not record
	 * exact arrival times of anything a source did. */
	pthread_mutex_lock(&log_mtx);
	fprintf(stderr, "%s[%s]: %s\n", log_prog, tags[lvl], line);
	fflush(stderr);
	pthread_mutex_unlock(&log_mtx);
}

#define LOG_FN(name, lvl)                          \
	void name(const char *fmt, ...)            \
	{                                          \
		va_list ap;                        \
		va_start(ap, fmt);                 \
		log_vwrite(lvl, fmt, ap);          \
		va_end(ap);                        \
	}
LOG_FN(log_debug, LOG_LVL_DEBUG)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_error, LOG_LVL_ERROR)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
