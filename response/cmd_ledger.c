/* klic-admin ledger — the ledger itself: ledger migrate --to, the copy of
 * this admin's ledger (the SQLite file by default) into an empty one,
 * typically a shared PostgreSQL ledger (spec/LEDGER.md). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin_cli.h"

const char ledger_help[] =
    "usage: klic-admin ledger migrate --to URL|PATH\n"
    "Copy this admin's ledger (--ledger, $KLIC_LEDGER, else STATE/ledger.sqlite)\n"
    "into the empty ledger at URL (postgresql://...; its schema is made when the\n"
    "database is empty): every table, ids, audit seq and hashes byte for byte,\n"
    "in one transaction of the target.  The audit chain and the seat counters are\n"
    "verified on the source before and on the copy before it is committed.\n"
    "Refuses a target that holds any row.  The source is left as it is; name the\n"
    "new ledger from then on (--ledger URL or KLIC_LEDGER).\n";

static int ledger_migrate(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"to", required_argument, NULL, 't'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *to = NULL;
	char shown[4200];
	int64_t rows = 0, audit = 0;
	int c, r;

	while ((c = klic_cli_next_opt(&admin_cli, cmd, argc, argv, "+:h", opts)) != -1) {
		switch (c) {
		case 't':
			if ((r = klic_cli_once(&admin_cli, "ledger migrate", &to, optarg,
					       "--to")) != 0)
				return r;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind != argc)
		return klic_cli_usage(&admin_cli, "ledger migrate", "unexpected argument",
				      argv[optind]);
	if (to == NULL || to[0] == '\0')
		return klic_cli_usage(&admin_cli, "ledger migrate", "--to URL|PATH is required",
				      NULL);
	if ((r = klic_admin_ledger_migrate(g->state, to, &rows, &audit, shown, sizeof shown)) != 0)
		return klic_cli_fail(&admin_cli, shown, r);
	printf("copied %" PRId64 " rows into %s; audit chain verified before and after: %" PRId64
	       " rows\n",
	       rows, strncmp(shown, "ledger ", 7) == 0 ? shown + 7 : shown, audit);
	return 0;
}

const struct klic_cmd ledger_cmds[N_LEDGER_CMDS] = {
    {"migrate", ledger_migrate, "copy this ledger into an empty one (PostgreSQL)",
     "ledger migrate --to URL|PATH", ledger_help, NULL, 0},
};
