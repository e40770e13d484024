/*
 * log: leveled logging to stderr (or syslog-style lines for journald).
 *
 * Never pass a source's address, User-Agent, receipt, request body or anything
 * from a report to these functions. Log identifiers we minted (uuids), counts,
 * sizes and error codes only.
 */
#ifndef TIPLINE_LOG_H
#define TIPLINE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Set the lowest level that is written and the program name prefix. */
void log_init(const char *progname, enum log_level min);

/* Parse "debug", "info", "warn" or "error"; return 0, or -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log at error level and exit(1). Only for start-up, never on network input. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
