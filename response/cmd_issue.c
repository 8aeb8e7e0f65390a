/* klic-admin issue: the options, the confirmation and the per-request
 * report lines; the work is klic_issue_batch (issue_batch.c). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_cli.h"

/* ---- issue ------------------------------------------------------------------- */

const char issue_help[] =
    "usage: klic-admin issue FILE.kreq... [-o DIR] [--yes] [--jobs N] [--armor]\n"
    "Answer each request with DIR/NAME.kresp (issued or denied).  Seats come from\n"
    "the imported vendor entitlements; every issued response carries its .kent\n"
    "and the issuer key.  Request signatures are checked in STATE/members (public\n"
    "keys only).  Asks before spending seats unless --yes.  Exit 0 when no request\n"
    "failed, else the highest status among the failed requests (1 refused, 3 I/O,\n"
    "4 internal).\n"
    "Requests may be binary or armored (-----BEGIN KLIC REQUEST-----); '-' reads\n"
    "one from standard input and answers it as DIR/stdin.kresp.\n"
    "  --armor  write each response as ASCII text that can be pasted into an\n"
    "           e-mail body (-----BEGIN KLIC RESPONSE-----)\n"
    "  --jobs N requests answered at once (1..8; default three per CPU, at most 8)\n";

struct issue_ui {
	int declined;
	int worst; /* highest exit status among failed requests */
};

static int confirm(void *vctx, const struct klic_issue_result *plan, size_t n, unsigned total)
{
	struct issue_ui *ui = vctx;
	char line[64];
	size_t i;

	fprintf(stderr, "About to spend seats:\n");
	for (i = 0; i < n; i++) {
		if (plan[i].spend == 0)
			continue;
		fprintf(stderr, "  %s: member %s, machine %s, %u %s seat(s)\n", plan[i].path,
			plan[i].member_fpr, plan[i].machine_id, plan[i].spend, plan[i].product);
	}
	fprintf(stderr, "  total: %u seat(s)\n", total);
	if (!isatty(STDIN_FILENO))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "standard input is not a terminal: use --yes to spend seats "
				      "without asking");
	fprintf(stderr, "Spend %u seat(s)? [y/N] ", total);
	fflush(stderr);
	if (fgets(line, sizeof line, stdin) == NULL ||
	    (strcmp(line, "y\n") != 0 && strcmp(line, "Y\n") != 0 && strcmp(line, "yes\n") != 0)) {
		ui->declined = 1;
		return klic_error_set(KLIC_ERR_DENIED, "not confirmed; nothing was issued");
	}
	return 0;
}

static void report(void *vctx, const struct klic_issue_result *r)
{
	char p[4096], o[4096];
	const char *path = klic_printable_copy(p, sizeof p, r->path, SIZE_MAX),
		   *out = klic_printable_copy(o, sizeof o, r->out_path, SIZE_MAX);
	struct issue_ui *ui = vctx;
	switch (r->outcome) {
	case KLIC_OUTCOME_ISSUED:
		printf("OK   %s -> %s: issued %u %s seat(s) to %s machine %s\n", path, out,
		       r->seats, r->product, r->member_fpr, r->machine_id);
		break;
	case KLIC_OUTCOME_DENIED:
		printf("DENY %s -> %s: %s: %s\n", path, out, r->reason_code, r->reason);
		break;
	case KLIC_OUTCOME_REISSUED:
		if (strcmp(r->status, KLIC_STATUS_ISSUED) == 0)
			printf(
			    "OK   %s -> %s: re-issued %u %s seat(s) to %s machine %s (%s, nothing "
			    "spent)\n",
			    path, out, r->seats, r->product, r->member_fpr, r->machine_id,
			    r->rebuilt ? "rebuilt from the ledger" : "stored response");
		else
			printf("DENY %s -> %s: re-issued denial %s: %s\n", path, out,
			       r->reason_code, r->reason);
		break;
	default:
		if (klic_exit_code(r->err) > ui->worst)
			ui->worst = klic_exit_code(r->err);
		printf("ERR  %s: %s: %s\n", path, klic_strerror(r->err), r->detail);
		fprintf(stderr, "%s: %s: %s: %s\n", PROG, path, klic_strerror(r->err), r->detail);
		break;
	}
	fflush(stdout);
}

int cmd_issue(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'}, {"yes", no_argument, NULL, 'y'},
	    {"jobs", required_argument, NULL, 'j'},   {"armor", no_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	const char *outdir = NULL, *jobs_s = NULL;
	int armor = 0;
	struct klic_issue_opts o;
	struct klic_issue_tally t;
	struct issue_ui ui = {0};
	struct klic_admin *a = NULL;
	unsigned jobs = 0;
	int yes = 0, c, r, rc;

	while ((c = getopt_long(argc, argv, "o:yj:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if ((r = klic_cli_once(&admin_cli, "issue", &outdir, optarg, "-o")) != 0)
				return r;
			break;
		case 'j':
			if ((r = klic_cli_once(&admin_cli, "issue", &jobs_s, optarg, "--jobs")) !=
			    0)
				return r;
			break;
		case 'y':
			if (yes)
				return klic_cli_usage(&admin_cli, "issue",
						      "option --yes given twice", NULL);
			yes = 1;
			break;
		case 'A':
			if (armor)
				return klic_cli_usage(&admin_cli, "issue",
						      "option --armor given twice", NULL);
			armor = 1;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return klic_cli_usage(&admin_cli, "issue", "unknown option", NULL);
		}
	}
	if (jobs_s != NULL && (klic_cli_uint(&jobs, jobs_s, 8) != 0 || jobs == 0))
		return klic_cli_usage(&admin_cli, "issue", "--jobs must be 1..8", NULL);
	if (optind >= argc)
		return klic_cli_usage(&admin_cli, "issue", "expected FILE.kreq...", NULL);
	if (outdir != NULL && strcmp(outdir, "-") == 0)
		return klic_cli_usage(&admin_cli, "issue",
				      "-o names a folder for the responses (standard output "
				      "carries the report)",
				      NULL);
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	memset(&o, 0, sizeof o);
	o.outdir = outdir != NULL ? outdir : ".";
	o.jobs = jobs;
	o.confirm = yes ? NULL : confirm;
	o.report = report;
	o.ctx = &ui;
	o.armor = armor;
	r = klic_issue_batch(a, (const char *const *)(argv + optind), (size_t)(argc - optind), &o,
			     &t);
	klic_admin_free(a);
	if (r != 0) {
		if (ui.declined) {
			fprintf(stderr, "%s: issue: %s\n", PROG, klic_error_detail());
			return 1;
		}
		return klic_cli_fail(&admin_cli, "issue", r);
	}
	if (t.worker_warning[0] != '\0')
		fprintf(stderr, "%s: issue: warning: %s\n", PROG, t.worker_warning);
	printf("issued: %zu, denied: %zu, re-issued: %zu, errors: %zu\n", t.issued, t.denied,
	       t.reissued, t.errors);
	return t.errors == 0 ? 0 : (ui.worst > 1 ? ui.worst : 1);
}
