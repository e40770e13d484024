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
/* Return 1 if `s` is a date YYYY-MM-DD (month 01-12, day 01-31). */
int tips_cmd_date_ok(const char *s);

#endif
