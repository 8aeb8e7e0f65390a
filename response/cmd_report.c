/* klic-admin list and report: the license list and the seat report, as
 * tables or JSON (and report's HTML page). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_cli.h"
#include "klic_report.h"

/* ---- list ----------------------------------------------------------------------- */

const char list_help[] =
    "usage: klic-admin list [--json] [--product P] [--machine ID] [--member FPR]\n"
    "                       [--active|--expired] [--expiring DAYS]\n"
    "Offline licenses issued: license ID, product, machine, member, seat, issued,\n"
    "expires, active or expired.\n"
    "  --expiring DAYS  only the active licenses that expire within DAYS days\n"
    "                   (1..365): now < expires <= now + DAYS days\n";

struct list_out {
	int json;
	int first;
	int64_t now;
	int64_t until; /* --expiring: only rows that expire by then; 0: all */
	json_t *arr; /* --json: the whole list, printed only when complete */
};

static int list_row(void *vctx, const struct klic_license_row *row)
{
	struct list_out *lo = vctx;
	struct klic_license_view v;
	int r;

	if (lo->until != 0 && row->expires > lo->until)
		return 0; /* --expiring: later than that */
	if ((r = klic_license_view(&v, row, lo->now)) != 0)
		return r;
	if (lo->json) {
		json_t *o = klic_license_json(row, &v);
		if (o == NULL || json_array_append_new(lo->arr, o) != 0)
			return klic_error_set(KLIC_ERR_NOMEM, "json");
	} else {
		printf("%-32s %-3s %-29s %-40s %4u %-20s %-20s %s\n", row->license_id, row->product,
		       row->machine_id, row->member_fpr, row->seat, v.issued, v.expires, v.state);
	}
	lo->first = 0;
	return 0;
}

int cmd_list(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"product", required_argument, NULL, 'p'},
					     {"machine", required_argument, NULL, 'm'},
					     {"member", required_argument, NULL, 'f'},
					     {"active", no_argument, NULL, 'a'},
					     {"expired", no_argument, NULL, 'x'},
					     {"expiring", required_argument, NULL, 'e'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct klic_list_filter f;
	struct list_out lo = {0, 1, 0, 0, NULL};
	const char *expiring = NULL;
	unsigned days = 0;
	struct klic_admin *a = NULL;
	char mid[KLIC_MACHINE_ID_LEN + 1], prd[8], fpr[KLIC_FPR_HEX_LEN + 1];
	int c, r, rc;

	memset(&f, 0, sizeof f);
	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("list"), argc, argv, "+:h", opts)) != -1) {
		switch (c) {
		case 'j':
			if (lo.json)
				return klic_cli_usage(&admin_cli, "list",
						      "option --json given twice", NULL);
			lo.json = 1;
			break;
		case 'p':
			if ((r = klic_cli_once(&admin_cli, "list", &f.product, optarg,
					       "--product")) != 0)
				return r;
			break;
		case 'm':
			if ((r = klic_cli_once(&admin_cli, "list", &f.machine_id, optarg,
					       "--machine")) != 0)
				return r;
			break;
		case 'f':
			if ((r = klic_cli_once(&admin_cli, "list", &f.member_fpr, optarg,
					       "--member")) != 0)
				return r;
			break;
		case 'e':
			if ((r = klic_cli_once(&admin_cli, "list", &expiring, optarg,
					       "--expiring")) != 0)
				return r;
			break;
		case 'a':
		case 'x':
			if (f.active != 0)
				return klic_cli_usage(&admin_cli, "list",
						      "give one of --active, --expired", NULL);
			f.active = c == 'a' ? 1 : -1;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind != argc)
		return klic_cli_usage(&admin_cli, "list", "unexpected argument", NULL);
	/* as a person types them: any case; a fingerprint also in groups */
	if (f.product != NULL &&
	    ((f.product = klic_cli_upper(prd, sizeof prd, f.product)) == NULL ||
	     klic_product_check(f.product) != 0))
		return klic_cli_usage(&admin_cli, "list", "--product must be KRE or KSE", NULL);
	if (f.machine_id != NULL) {
		/* what a person typed: case, dashes and aliases are forgiven */
		if (klic_machine_id_parse(mid, f.machine_id) != 0)
			return klic_cli_usage(&admin_cli, "list",
					      "--machine is not a valid machine ID", NULL);
		f.machine_id = mid;
	}
	if (f.member_fpr != NULL &&
	    ((f.member_fpr = klic_cli_upper(fpr, sizeof fpr, f.member_fpr)) == NULL ||
	     klic_fpr_check(f.member_fpr) != 0))
		return klic_cli_usage(&admin_cli, "list",
				      "--member must be a fingerprint (40 hex digits)", NULL);
	if (expiring != NULL) {
		if (klic_cli_uint(&days, expiring, 365) != 0 || days < 1)
			return klic_cli_usage(&admin_cli, "list",
					      "--expiring takes a number of days, 1 to 365",
					      expiring);
		if (f.active < 0)
			return klic_cli_usage(&admin_cli, "list",
					      "--expiring lists active licenses, not --expired",
					      NULL);
		f.active = 1; /* expires > now */
	}
	f.now = lo.now = klic_now();
	if (expiring != NULL)
		lo.until = lo.now + (int64_t)days * 86400;
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	if (lo.json && (lo.arr = json_array()) == NULL) {
		klic_admin_free(a);
		return klic_cli_fail(&admin_cli, "list", klic_error_set(KLIC_ERR_NOMEM, "json"));
	}
	if (!lo.json)
		printf("%-32s %-3s %-29s %-40s %4s %-20s %-20s %s\n", "LICENSE_ID", "PRD",
		       "MACHINE", "MEMBER", "SEAT", "ISSUED", "EXPIRES", "STATE");
	r = klic_ledger_list(a->ledger, &f, list_row, &lo);
	if (r == 0 && lo.json) {
		char *s = json_dumps(lo.arr, JSON_SORT_KEYS | JSON_INDENT(2));
		if (s == NULL)
			r = klic_error_set(KLIC_ERR_NOMEM, "json");
		else
			printf("%s\n", s);
		free(s);
	}
	json_decref(lo.arr);
	if (r != 0)
		rc = klic_cli_fail(&admin_cli, lo.json ? "list" : a->ledger_path, r);
	klic_admin_free(a);
	return rc;
}

/* ---- report ----------------------------------------------------------------------- */

const char report_help[] =
    "usage: klic-admin report [--json] [--html FILE]\n"
    "Seats per entitlement: seats, used (licenses not yet expired), free, expiring\n"
    "within 7, 14 and 30 days, until.  A table by default; --json for scripts\n"
    "(spec/CLI-JSON.md).  --html FILE also writes a self-contained HTML page with a\n"
    "chart of the seats in use per day ('-': the page on standard output instead).\n";

static json_t *report_json(const struct klic_report *r)
{
	char gen[KLIC_TIME_LEN + 1], start[KLIC_TIME_LEN + 1];
	json_t *root = NULL, *arr = NULL, *o, *daily;

	if (klic_time_format(gen, r->now) != 0)
		return NULL;
	if (r->n_days > 0) {
		if (klic_time_format(start, r->first_day) != 0)
			return NULL;
		start[10] = '\0'; /* the date */
	}
	if ((arr = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct klic_report_ent *e = &r->ent[i];
		if ((daily = json_array()) == NULL)
			goto out;
		for (size_t k = 0; k < r->n_days; k++) {
			if (json_array_append_new(daily, json_integer(e->daily[k])) != 0) {
				json_decref(daily);
				goto out;
			}
		}
		/* "o" steals daily, also when json_pack fails */
		o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:b,s:o}",
			      "id", (json_int_t)e->e.id, "product", e->e.product, "model",
			      e->e.model, "billing", e->e.billing, "seats", (json_int_t)e->e.seats,
			      "used", (json_int_t)e->e.used, "free", (json_int_t)e->free,
			      "expiring_7d", (json_int_t)e->expiring_7d, "expiring_14d",
			      (json_int_t)e->expiring_14d, "expiring_30d",
			      (json_int_t)e->expiring_30d, "issued_total",
			      (json_int_t)e->issued_total, "peak", (json_int_t)e->peak, "until",
			      e->e.until, "ref", e->e.ref, "valid", e->valid, "daily", daily);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			goto out;
	}
	root =
	    json_pack("{s:s,s:s,s:s,s:o,s:I,s:b,s:O}", "generated", gen, "org", r->org,
		      "issuer_fpr", r->issuer_fpr, "daily_start",
		      r->n_days > 0 ? json_string(start) : json_null(), "daily_days",
		      (json_int_t)r->n_days, "daily_truncated", r->truncated, "entitlements", arr);
out:
	json_decref(arr);
	return root;
}

int cmd_report(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"html", required_argument, NULL, 'H'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *html = NULL;
	struct klic_admin *a = NULL;
	struct klic_report *rep = NULL;
	char *page = NULL, *s = NULL;
	size_t plen = 0;
	int json = 0, c, r, rc = 0;

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("report"), argc, argv, "+:h", opts)) !=
	       -1) {
		switch (c) {
		case 'j':
			if (json)
				return klic_cli_usage(&admin_cli, "report",
						      "option --json given twice", NULL);
			json = 1;
			break;
		case 'H':
			if ((r = klic_cli_once(&admin_cli, "report", &html, optarg, "--html")) != 0)
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
		return klic_cli_usage(&admin_cli, "report", "unexpected argument", NULL);
	if (html != NULL && html[0] == '\0')
		return klic_cli_usage(&admin_cli, "report", "--html needs a file name", NULL);
	if (html != NULL && json && strcmp(html, "-") == 0)
		return klic_cli_usage(&admin_cli, "report",
				      "--json and --html - both want standard output", NULL);
	if ((r = klic_cli_not_folder(&admin_cli, "report", html, "--html FILE")) != 0)
		return r;
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	if ((r = klic_report_build(&rep, a->ledger, klic_now())) != 0) {
		rc = klic_cli_fail(&admin_cli, a->ledger_path, r);
		goto out;
	}
	if (html != NULL) {
		if ((r = klic_report_html(&page, &plen, rep)) != 0) {
			rc = klic_cli_fail(&admin_cli, html, r);
			goto out;
		}
		if ((r = klic_write_atomic(html, page, plen, 0644, 0)) != 0) {
			rc = klic_cli_fail(&admin_cli, html, r);
			goto out;
		}
		if (strcmp(html, "-") == 0)
			goto out;
	}
	if (json) {
		json_t *root = report_json(rep);
		s = root != NULL ? json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
		json_decref(root);
		if (s == NULL) {
			rc = klic_cli_fail(&admin_cli, "report",
					   klic_error_set(KLIC_ERR_NOMEM, "json"));
			goto out;
		}
		printf("%s\n", s);
		goto out;
	}
	{
		char now_s[KLIC_TIME_LEN + 1];
		(void)klic_time_format(now_s, rep->now);
		printf("seats of %s at %s\n", rep->org, now_s);
	}
	printf("%-4s %-7s %-11s %-7s %6s %6s %6s %7s %8s %7s %-10s %s\n", "ID", "PRODUCT", "MODEL",
	       "BILLING", "SEATS", "USED", "FREE", "EXP<=7D", "EXP<=14D", "EXP<=30D", "UNTIL",
	       "REF");
	for (size_t i = 0; i < rep->n; i++) {
		const struct klic_report_ent *e = &rep->ent[i];
		printf("%-4lld %-7s %-11s %-7s %6u %6u %6u %7u %8u %8u %-10s %s%s\n",
		       (long long)e->e.id, e->e.product, e->e.model, e->e.billing, e->e.seats,
		       e->e.used, e->free, e->expiring_7d, e->expiring_14d, e->expiring_30d,
		       e->e.until, e->e.ref, e->valid ? "" : " (ended)");
	}
	if (html != NULL)
		printf("HTML report: %s\n", html);
out:
	free(s);
	free(page);
	klic_report_free(rep);
	klic_admin_free(a);
	return rc;
}
