/*
 * opts: the option parsing every tipctl command shares, as a table (curl's
 * option table is the model). A command lists its options, each with where
 * its value goes; opts_parse runs getopt_long over them, answers --help
 * (and -h) with the command's usage on standard output, and refuses an
 * unknown option, one the command does not take here, or one missing its
 * argument with "unknown or incomplete option 'X'" and the usage on
 * standard error (exit code 2, CLI_USAGE).
 *
 *   const struct opt t[] = { OPT_STR("out", &o->out), OPT_YES(&o->yes), OPT_END };
 *   int rc = opts_parse(argc, argv, t, "export", usage);
 *   if (rc != OPTS_GO)
 *           return rc;
 *   ... argv[optind] is the first operand ...
 */
#ifndef TIPCTL_OPTS_H
#define TIPCTL_OPTS_H

#include <stddef.h>
#include <unistd.h> /* optind */

#define OPTS_MAX 24  /* most options in one table (--help is added to them) */
#define OPTS_GO (-1) /* opts_parse: the options are parsed, go on */

enum opt_type {
	OPT_TYPE_FLAG, /* no argument: *(int *)dst = 1 */
	OPT_TYPE_STR,  /* an argument: *(const char **)dst = it (the last one given wins) */
	OPT_TYPE_FN,   /* an argument: fn(arg, dst) checks and stores it */
	OPT_TYPE_LIST  /* an argument, repeatable: appended to the struct opt_list at dst */
};

/* The values of a repeatable option, in the order given. */
struct opt_list {
	const char **v; /* room for `max` */
	size_t n, max;
};

/* Check and store the argument `arg` of an option in `dst` (the table's
 * pointer). Return 0, or -1 after printing why (cli_error). */
typedef int (*opt_fn)(const char *arg, void *dst);

/* One row: an option and where its value goes. */
struct opt {
	const char *name;   /* the long name, without "--"; NULL ends the table */
	char letter;        /* also accepted as -LETTER (options without argument), or 0 */
	enum opt_type type;
	void *dst;          /* where the value goes; NULL: the command does not take it here */
	opt_fn fn;          /* OPT_TYPE_FN only */
};

#define OPT_FLAG(name, p) { (name), 0, OPT_TYPE_FLAG, (p), NULL }
#define OPT_STR(name, p) { (name), 0, OPT_TYPE_STR, (p), NULL }
#define OPT_FN(name, f, p) { (name), 0, OPT_TYPE_FN, (p), (f) }
#define OPT_LIST(name, p) { (name), 0, OPT_TYPE_LIST, (p), NULL }
/* The flags most commands share. */
#define OPT_YES(p) { "yes", 'y', OPT_TYPE_FLAG, (p), NULL }
#define OPT_JSON(p) OPT_FLAG("json", (p))
#define OPT_KEY(p) OPT_STR("key", (p))
#define OPT_IDENTITY(p) OPT_STR("identity", (p))
#define OPT_PASS_FILE(p) OPT_STR("passphrase-file", (p))
#define OPT_END { NULL, 0, OPT_TYPE_FLAG, NULL, NULL }

/*
 * Parse the options among argv[1..argc-1] (argv[0] names the command) with
 * the table `opts`, storing each value where its row says. --help or -h:
 * print `usage` on standard output and return CLI_OK. An option that is not
 * in the table or has a NULL `dst`, or lacks its argument: print
 * "tipctl: [WHO: ]unknown or incomplete option 'X'" (`who` may be NULL) and
 * `usage` on standard error, and return CLI_USAGE; likewise (after its own
 * message) when an OPT_TYPE_FN row refuses its argument, or an OPT_TYPE_LIST
 * option is given more than its list's `max` times ("too many --NAME
 * options (at most MAX)"). Otherwise return
 * OPTS_GO, with the global `optind` at the first operand (getopt_long moves
 * the operands after the options).
 */
int opts_parse(int argc, char **argv, const struct opt *opts, const char *who, const char *usage);

/* One subcommand: its name and what runs it (argv starts at the name). */
struct opts_cmd {
	const char *name; /* NULL ends the table */
	int (*run)(int argc, char **argv);
};

/*
 * Run the subcommand argv[1] among `cmds` with argv + 1, and return its exit
 * code. No subcommand: `usage` on standard error, CLI_USAGE. "--help", "-h"
 * or "help": `usage` on standard output, CLI_OK. Another word: "tipctl:
 * unknown [WHAT ]command 'X'" (`what` may be NULL) and `usage` on standard
 * error, CLI_USAGE.
 */
int opts_dispatch(int argc, char **argv, const struct opts_cmd *cmds, const char *what,
                  const char *usage);

/* Print "tipctl: MESSAGE" (printf-style) and then `usage` on standard error;
 * return CLI_USAGE. */
int opts_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
