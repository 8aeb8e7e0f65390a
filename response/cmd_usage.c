/* klic-admin usage export — the organization's usage export (.kusage) for
 * the vendor's true-up (klic-vendor usage verify). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_cli.h"
#include "klic_usage_export.h"

const char usage_help[] =
    "usage: klic-admin usage export -o ORG.kusage\n"
    "Write the usage export for the vendor: every vendor entitlement (.kent), every\n"
    "license issued with its entitlement, request, machine, seat, period and state,\n"
    "and the whole audit log with its hash chain, clear-signed by the issuer key.\n"
    "Read in one transaction; written atomically; an existing file is not replaced.\n";

static int usage_export(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct klic_admin *a = NULL;
	const char *outp = NULL;
	uint8_t *doc = NULL;
	size_t len = 0;
	int c, r, rc;

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("usage export"), argc, argv, "+:o:h",
				      opts)) != -1) {
		switch (c) {
		case 'o':
			if ((r = klic_cli_once(&admin_cli, "usage export", &outp, optarg, "-o")) !=
			    0)
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
		return klic_cli_usage(&admin_cli, "usage export", "unexpected argument",
				      argv[optind]);
	if (outp == NULL)
		return klic_cli_usage(&admin_cli, "usage export", "-o ORG.kusage is required",
				      NULL);
	if ((r = klic_cli_not_folder(&admin_cli, "usage export", outp, "-o ORG.kusage")) != 0)
		return r;
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	if ((r = klic_admin_usage_export(a, &doc, &len, klic_now())) != 0)
		rc = klic_cli_fail(&admin_cli, a->ledger_path, r);
	else if ((r = klic_write_atomic(outp, doc, len, 0644, KLIC_WRITE_NOREPLACE)) != 0)
		rc = klic_cli_fail(&admin_cli, outp, r);
	else
		printf("%s\n", outp);
	free(doc);
	klic_admin_free(a);
	return rc;
}

const struct klic_cmd usage_cmds[N_USAGE_CMDS] = {
    {"export", usage_export, "write the usage export for the vendor's true-up",
     "usage export -o ORG.kusage", usage_help, NULL, 0},
};
