/*
 * opts: the option table every tipctl command parses with. Values land where
 * their rows say; --help and -h print the usage on stdout (exit 0); an
 * unknown option, one the command does not take here (a NULL row), or one
 * without its argument gets the same message and the usage on stderr (exit
 * 2); a checker that refuses, and a repeatable option given too often, are
 * usage errors too; operands end up after the options; subcommands are a
 * table as well (opts_dispatch).
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

#define USAGE "usage: tipctl thing [--out FILE] [--yes] ARG\n"

struct vals {
	const char *out, *list_v[2];
	int yes, json, num;
	struct opt_list list;
};

/* An opt_fn: a digit 1-9 into the int `dst`. */
static int
digit_opt(const char *arg, void *dst)
{
	if (strlen(arg) != 1 || arg[0] < '1' || arg[0] > '9') {
		cli_error("--num wants 1-9, not '%s'", arg);
		return -1;
	}
	*(int *)dst = arg[0] - '0';
	return 0;
}

/* Parse `argv` (NULL-terminated; argv[0] is the command) against a table
 * of every kind of row into `v`; `json_ok` says whether --json is taken. */
static int
parse(char **argv, struct vals *v, int json_ok)
{
	int argc = 0;
	while (argv[argc] != NULL)
		argc++;
	memset(v, 0, sizeof(*v));
	v->list = (struct opt_list){ v->list_v, 0, 2 };
	const struct opt t[] = {
		OPT_STR("out", &v->out),  OPT_YES(&v->yes),     OPT_JSON(json_ok ? &v->json : NULL),
		OPT_FN("num", digit_opt, &v->num), OPT_LIST("tag", &v->list), OPT_END,
	};
	return opts_parse(argc, argv, t, "thing", USAGE);
}

Test(opts, values_land_where_the_rows_say_and_operands_come_last)
{
	char *argv[] = { "thing", "ARG1", "--out", "f.txt", "-y", "--num=7", "--tag", "a",
		         "--tag=b", "ARG2", NULL };
	struct vals v;
	cr_assert_eq(parse(argv, &v, 1), OPTS_GO);
	cr_assert_str_eq(v.out, "f.txt");
	cr_assert_eq(v.yes, 1);
	cr_assert_eq(v.json, 0);
	cr_assert_eq(v.num, 7);
	cr_assert_eq(v.list.n, 2);
	cr_assert_str_eq(v.list.v[0], "a");
	cr_assert_str_eq(v.list.v[1], "b");
	cr_assert_eq(optind, 8, "operands are moved after the options");
	cr_assert_str_eq(argv[optind], "ARG1");
	cr_assert_str_eq(argv[optind + 1], "ARG2");
}

Test(opts, parsing_twice_starts_over)
{
	char *a1[] = { "thing", "--yes", "--bogus", NULL }, *a2[] = { "thing", "--json", NULL };
	struct vals v;
	cr_redirect_stderr();
	cr_assert_eq(parse(a1, &v, 1), CLI_USAGE);
	cr_assert_eq(parse(a2, &v, 1), OPTS_GO, "getopt state left over from the first parse");
	cr_assert_eq(v.json, 1);
	cr_assert_eq(v.yes, 0);
}

Test(opts, help_goes_to_stdout_and_exits_0, .init = cr_redirect_stdout)
{
	char *a1[] = { "thing", "--out", "x", "--help", NULL };
	struct vals v;
	cr_assert_eq(parse(a1, &v, 1), CLI_OK);
	fflush(stdout);
	cr_assert_stdout_eq_str(USAGE);
}

Test(opts, short_help_too, .init = cr_redirect_stdout)
{
	char *a1[] = { "thing", "-h", NULL };
	struct vals v;
	cr_assert_eq(parse(a1, &v, 1), CLI_OK);
	fflush(stdout);
	cr_assert_stdout_eq_str(USAGE);
}

Test(opts, unknown_option_is_a_usage_error, .init = cr_redirect_stderr)
{
	char *a1[] = { "thing", "--bogus", "ARG", NULL };
	struct vals v;
	cr_assert_eq(parse(a1, &v, 1), CLI_USAGE);
	fflush(stderr);
	cr_assert_stderr_eq_str("tipctl: thing: unknown or incomplete option '--bogus'\n" USAGE);
}

Test(opts, missing_argument_is_a_usage_error, .init = cr_redirect_stderr)
{
	char *a1[] = { "thing", "ARG", "--out", NULL };
	struct vals v;
	cr_assert_eq(parse(a1, &v, 1), CLI_USAGE);
	fflush(stderr);
	cr_assert_stderr_eq_str("tipctl: thing: unknown or incomplete option '--out'\n" USAGE);
}

Test(opts, an_option_the_command_does_not_take_here_is_unknown, .init = cr_redirect_stderr)
{
	char *a1[] = { "thing", "--json", NULL };
	struct vals v;
	cr_assert_eq(parse(a1, &v, 0), CLI_USAGE);
	cr_assert_eq(v.json, 0);
	fflush(stderr);
	cr_assert_stderr_eq_str("tipctl: thing: unknown or incomplete option '--json'\n" USAGE);
}

Test(opts, a_refused_value_is_a_usage_error, .init = cr_redirect_stderr)
{
	char *a1[] = { "thing", "--num", "0", NULL };
	struct vals v;
	cr_assert_eq(parse(a1, &v, 1), CLI_USAGE);
	fflush(stderr);
	cr_assert_stderr_eq_str("tipctl: --num wants 1-9, not '0'\n" USAGE);
}

Test(opts, a_list_keeps_its_limit, .init = cr_redirect_stderr)
{
	char *a1[] = { "thing", "--tag", "a", "--tag", "b", "--tag", "c", NULL };
	struct vals v;
	cr_assert_eq(parse(a1, &v, 1), CLI_USAGE);
	cr_assert_eq(v.list.n, 2, "a third value was stored past the list's end");
	fflush(stderr);
	cr_assert_stderr_eq_str("tipctl: too many --tag options (at most 2)\n" USAGE);
}

Test(opts, no_who_no_prefix, .init = cr_redirect_stderr)
{
	const char *out = NULL;
	const struct opt t[] = { OPT_STR("out", &out), OPT_END };
	char *a1[] = { "x", "-q", NULL };
	cr_assert_eq(opts_parse(2, a1, t, NULL, USAGE), CLI_USAGE);
	fflush(stderr);
	cr_assert_stderr_eq_str("tipctl: unknown or incomplete option '-q'\n" USAGE);
}

static int ran_argc;
static const char *ran_argv0;

/* A subcommand that records how it was called. */
static int
sub_run(int argc, char **argv)
{
	ran_argc = argc;
	ran_argv0 = argv[0];
	return 7;
}

static const struct opts_cmd cmds[] = { { "one", sub_run }, { "two", sub_run }, { NULL, NULL } };

Test(opts, dispatch_runs_the_named_subcommand)
{
	char *a1[] = { "tool", "two", "--x", "y", NULL };
	ran_argc = 0;
	cr_assert_eq(opts_dispatch(4, a1, cmds, "tool", USAGE), 7);
	cr_assert_eq(ran_argc, 3);
	cr_assert_str_eq(ran_argv0, "two");
}

Test(opts, dispatch_help_and_nothing, .init = cr_redirect_stdout)
{
	char *a1[] = { "tool", "help", NULL }, *a2[] = { "tool", NULL };
	cr_assert_eq(opts_dispatch(2, a1, cmds, "tool", USAGE), CLI_OK);
	fflush(stdout);
	cr_assert_stdout_eq_str(USAGE);
	cr_assert_eq(opts_dispatch(1, a2, cmds, "tool", USAGE), CLI_USAGE);
}

Test(opts, dispatch_unknown_subcommand, .init = cr_redirect_stderr)
{
	char *a1[] = { "tool", "three", NULL };
	ran_argc = 0;
	cr_assert_eq(opts_dispatch(2, a1, cmds, "tool", USAGE), CLI_USAGE);
	cr_assert_eq(ran_argc, 0);
	fflush(stderr);
	cr_assert_stderr_eq_str("tipctl: unknown tool command 'three'\n" USAGE);
}
