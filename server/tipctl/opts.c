#include "opts.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define OPTS_VAL_BASE 256 /* getopt_long's value for row i is OPTS_VAL_BASE + i */

/* Store `arg` as row `o` says. Return 0, or -1 (printed: an OPT_TYPE_FN
 * that refused it, a full list). */
static int
opts_store(const struct opt *o, const char *arg)
{
	struct opt_list *l = o->dst;
	switch (o->type) {
	case OPT_TYPE_FLAG: *(int *)o->dst = 1; return 0;
	case OPT_TYPE_STR: *(const char **)o->dst = arg; return 0;
	case OPT_TYPE_FN: return o->fn(arg, o->dst);
	case OPT_TYPE_LIST:
		if (l->n == l->max) {
			cli_error("too many --%s options (at most %zu)", o->name, l->max);
			return -1;
		}
		l->v[l->n++] = arg;
		return 0;
	}
	return -1;
}

/* Find the row getopt_long's value `c` names among the `n` rows of `opts`,
 * or NULL. */
static const struct opt *
opts_row(const struct opt *opts, size_t n, int c)
{
	if (c >= OPTS_VAL_BASE && (size_t)(c - OPTS_VAL_BASE) < n)
		return &opts[c - OPTS_VAL_BASE];
	for (size_t i = 0; c > 0 && c < OPTS_VAL_BASE && i < n; i++)
		if (opts[i].letter == c)
			return &opts[i];
	return NULL;
}

int
opts_parse(int argc, char **argv, const struct opt *opts, const char *who, const char *usage)
{
	struct option lo[OPTS_MAX + 2];
	char shorts[OPTS_MAX + 2] = "h";
	size_t n = 0, ns = 1;
	int c;
	for (; opts[n].name != NULL; n++) {
		if (n == OPTS_MAX)
			abort(); /* a table too long is a programming error */
		lo[n] = (struct option){ opts[n].name,
			                 opts[n].type == OPT_TYPE_FLAG ? no_argument : required_argument,
			                 NULL, OPTS_VAL_BASE + (int)n };
		if (opts[n].letter != 0 && opts[n].type == OPT_TYPE_FLAG)
			shorts[ns++] = opts[n].letter;
	}
	shorts[ns] = '\0';
	lo[n] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n + 1] = (struct option){ NULL, 0, NULL, 0 };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const struct opt *o = opts_row(opts, n, c);
		if (c == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		if (o == NULL || o->dst == NULL)
			return opts_usage_error(usage, "%s%sunknown or incomplete option '%s'",
			                        who != NULL ? who : "", who != NULL ? ": " : "",
			                        argv[optind - 1]);
		if (opts_store(o, optarg) != 0) {
			fputs(usage, stderr);
			return CLI_USAGE;
		}
	}
	return OPTS_GO;
}

int
opts_dispatch(int argc, char **argv, const struct opts_cmd *cmds, const char *what,
              const char *usage)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	for (size_t i = 0; cmds[i].name != NULL; i++)
		if (strcmp(sub, cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	return opts_usage_error(usage, "unknown %s%scommand '%s'", what != NULL ? what : "",
	                        what != NULL ? " " : "", sub);
}

int
opts_usage_error(const char *usage, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_error("%s", msg);
	fputs(usage, stderr);
	return CLI_USAGE;
}
