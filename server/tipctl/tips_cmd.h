/*
 * tips_cmd: `tipctl tips list|show|get|set` on the review API. Each takes
 * argv starting at "tips" and returns an exit code (enum cli_exit).
 */
#ifndef TIPCTL_TIPS_CMD_H
#define TIPCTL_TIPS_CMD_H

#define TIPS_LIST_PAGE 200   /* reports asked for per page */
#define TIPS_LIST_PAGES 50000 /* most pages followed (10,000,000 reports) */
#define TIPS_MAX_LABELS 64

/* Dispatch `tipctl tips SUBCOMMAND ...`. */
int tips_cmd_main(int argc, char **argv);

/* Return 1 if `s` is a valid report status (new, triaged, investigating, referred, closed). */
int tips_cmd_status_ok(const char *s);
/* Return 1 if `s` is a valid priority (low, normal, high, urgent). */
int tips_cmd_priority_ok(const char *s);
/* The shortest id prefix taken where an id is. */
#define TIPS_ID_PREFIX_MIN 8

struct api;

/* Return 1 if `s` is a report id or a prefix of one: TIPS_ID_PREFIX_MIN to
 * 36 characters of hex digits (either case) and dashes. */
int tips_cmd_id_arg_ok(const char *s);

/*
 * Take the one operand left after opts_parse (argv[optind]) as a report id
 * or prefix (tips_cmd_id_arg_ok) into *id. Return OPTS_GO (-1), or after
 * "[WHO: ]give exactly one report ID" or "[WHO: ]not a report ID (or 8 or
 * more of its first characters): ARG" and `usage` on standard error,
 * CLI_USAGE.
 */
int tips_cmd_id_operand(int argc, char **argv, const char *who, const char *usage,
                        const char **id);

/*
 * Turn `arg` (tips_cmd_id_arg_ok) into the full id of one report the caller
 * can list, in `id`: a full id is taken as it is (lower-cased); a prefix
 * must start exactly one report's id. Return 0, or -1 after printing why
 * ("no report you can see has an id starting with X", or "X is ambiguous:
 * it starts N reports' ids:" and each candidate with its day, team and
 * status).
 */
int tips_cmd_resolve_id(struct api *a, const char *arg, char id[37])
	__attribute__((warn_unused_result));

/* Return 1 if `s` is a date YYYY-MM-DD (month 01-12, day 01-31). */
int tips_cmd_date_ok(const char *s);

#endif
