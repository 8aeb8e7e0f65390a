/* klic-admin policy — the admin's policies kept in the ledger: the renewal
 * window (spec 5.3.4). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_cli.h"

const char policy_help[] =
    "usage: klic-admin policy [--renew-window DAYS]\n"
    "Print the policies of this ledger.  --renew-window DAYS (1-59) sets how many\n"
    "days before a license expires a renewal request for it is granted (default\n"
    "14); earlier ones are denied renewal-too-early with the date renewal becomes\n"
    "possible.  A change is recorded in the ledger and audited ('policy').\n";

int cmd_policy(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"renew-window", required_argument, NULL, 'w'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct klic_admin *a = NULL;
	const char *win_s = NULL;
	unsigned win = 0, cur = 0;
	int c, r, rc, changed = 0;

	while ((c = klic_cli_next_opt(&admin_cli, cmd, argc, argv, "+:h", opts)) != -1) {
		switch (c) {
		case 'w':
			if ((r = klic_cli_once(&admin_cli, "policy", &win_s, optarg,
					       "--renew-window")) != 0)
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
		return klic_cli_usage(&admin_cli, "policy", "unexpected argument", argv[optind]);
	if (win_s != NULL &&
	    (klic_cli_uint(&win, win_s, KLIC_RENEW_WINDOW_MAX) != 0 || win < 1))
		return klic_cli_usage(&admin_cli, "policy",
				      "--renew-window must be a number of days from 1 to 59", win_s);
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	if (win_s != NULL &&
	    (r = klic_ledger_renew_window_set(a->ledger, &changed, win, klic_now())) != 0) {
		rc = klic_cli_fail(&admin_cli, a->ledger_path, r);
		goto out;
	}
	if ((r = klic_ledger_renew_window(a->ledger, &cur)) != 0) {
		rc = klic_cli_fail(&admin_cli, a->ledger_path, r);
		goto out;
	}
	printf("renew-window %u days%s\n", cur,
	       win_s == NULL ? "" : changed ? " (changed)" : " (unchanged)");
	rc = 0;
out:
	klic_admin_free(a);
	return rc;
}
