/* klic-admin — entitlement import / list and vendor set: what the
 * organization bought, as vendor-signed entitlements (.kent, spec/PROTOCOL.md
 * 3.6), and the vendor they are checked against. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_cli.h"

const char ent_help[] =
    "usage: klic-admin entitlement import FILE.kent\n"
    "       klic-admin entitlement list [--json]\n"
    "import: record a vendor-signed entitlement (from 'klic-vendor entitle'): its\n"
    "signature must verify with the vendor key pinned at init, it must name this\n"
    "admin's issuer key and this ledger's organization, and must not have ended.\n"
    "Importing the same file again changes nothing.  Floating and monthly\n"
    "entitlements import, but requests against them are denied.\n"
    "list: the entitlements with used and free seats and their period.\n";

const char vendor_help[] =
    "usage: klic-admin vendor set VENDOR.asc\n"
    "Pin the vendor of a ledger made before protocol version 2 (init --vendor\n"
    "pins it for a new one).  Refused when a vendor is pinned already.\n";

static int ent_import(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct klic_admin *a = NULL;
	struct klic_kent e;
	char from[KLIC_TIME_LEN + 1], until[KLIC_TIME_LEN + 1];
	int64_t id = 0;
	int added = 0, c, r, rc;

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("entitlement import"), argc, argv, "+:h",
				      opts)) != -1) {
		switch (c) {
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind + 1 != argc)
		return klic_cli_usage(&admin_cli, "entitlement import", "expected one FILE.kent",
				      NULL);
	if ((r = klic_cli_not_folder(&admin_cli, "entitlement import", argv[optind],
				     "FILE.kent")) != 0)
		return r;
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	r = klic_admin_entitlement_import(a, &e, &id, &added, argv[optind]);
	if (r != 0) {
		rc = klic_cli_fail(&admin_cli, argv[optind], r);
	} else if (klic_time_format(from, e.valid_from) != 0 ||
		   klic_time_format(until, e.valid_until) != 0) {
		rc = klic_cli_fail(&admin_cli, argv[optind], klic_error_code());
	} else {
		printf("entitlement %s (%lld): %u %s seats, %s, %s, %s..%s, ref %s%s\n",
		       e.entitlement_id, (long long)id, e.seats, e.product, e.model, e.billing,
		       from, until, e.ref, added ? "" : " (already imported)");
	}
	klic_admin_free(a);
	return rc;
}

/* A time of a vendor entitlement, or JSON null for a hand-typed row. */
static json_t *time_or_null(const struct klic_entitlement *e, int64_t t)
{
	char s[KLIC_TIME_LEN + 1];

	if (e->kent_id[0] == '\0' || klic_time_format(s, t) != 0)
		return json_null();
	return json_string(s);
}

static int print_json(const struct klic_entitlement *e, size_t n, int64_t now)
{
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; arr != NULL && i < n; i++) {
		unsigned freeseats = e[i].used >= e[i].seats ? 0 : e[i].seats - e[i].used;
		json_t *o = json_pack(
		    "{s:I,s:o,s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:o,s:o,s:s,s:s,s:b}", "id",
		    (json_int_t)e[i].id, "entitlement_id",
		    e[i].kent_id[0] != '\0' ? json_string(e[i].kent_id) : json_null(), "product",
		    e[i].product, "model", e[i].model, "billing", e[i].billing, "seats",
		    (int)e[i].seats, "used", (int)e[i].used, "free", (int)freeseats, "until",
		    e[i].until, "valid_from", time_or_null(&e[i], e[i].valid_from), "valid_until",
		    time_or_null(&e[i], e[i].until_end), "ref", e[i].ref, "created", e[i].created,
		    "valid", e[i].until_end > now);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr); /* never print a partial list */
			arr = NULL;
		}
	}
	s = arr != NULL ? json_dumps(arr, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
	json_decref(arr);
	if (s == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "json");
	printf("%s\n", s);
	free(s);
	return 0;
}

static void print_table(const struct klic_entitlement *e, size_t n, int64_t now)
{
	char from[KLIC_TIME_LEN + 1];

	printf("%-4s %-32s %-7s %-11s %-7s %6s %6s %6s %-10s %-10s %s\n", "ID", "ENTITLEMENT",
	       "PRODUCT", "MODEL", "BILLING", "SEATS", "USED", "FREE", "FROM", "UNTIL", "REF");
	for (size_t i = 0; i < n; i++) {
		unsigned freeseats = e[i].used >= e[i].seats ? 0 : e[i].seats - e[i].used;
		const char *state = e[i].kent_id[0] == '\0' ? " (hand-typed, not used)"
				    : e[i].until_end <= now ? " (ended)"
				    : e[i].valid_from > now ? " (not yet started)"
							    : "";
		if (e[i].kent_id[0] == '\0' || klic_time_format(from, e[i].valid_from) != 0)
			snprintf(from, sizeof from, "%s", "-");
		from[10] = '\0';
		printf("%-4lld %-32s %-7s %-11s %-7s %6u %6u %6u %-10s %-10s %s%s\n",
		       (long long)e[i].id, e[i].kent_id[0] != '\0' ? e[i].kent_id : "-",
		       e[i].product, e[i].model, e[i].billing, e[i].seats, e[i].used, freeseats,
		       from, e[i].until, e[i].ref, state);
	}
}

static int ent_list(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct klic_admin *a = NULL;
	struct klic_entitlement *e = NULL;
	size_t n = 0;
	int json = 0, c, r, rc;
	int64_t now = klic_now();

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("entitlement list"), argc, argv, "+:h",
				      opts)) != -1) {
		switch (c) {
		case 'j':
			if (json)
				return klic_cli_usage(&admin_cli, "entitlement list",
						      "option --json given twice", NULL);
			json = 1;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind != argc)
		return klic_cli_usage(&admin_cli, "entitlement list", "unexpected argument", NULL);
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	if ((r = klic_ledger_entitlements(a->ledger, &e, &n, NULL, now)) != 0) {
		rc = klic_cli_fail(&admin_cli, a->ledger_path, r);
		goto out;
	}
	if (json) {
		if ((r = print_json(e, n, now)) != 0)
			rc = klic_cli_fail(&admin_cli, "entitlement list", r);
	} else {
		print_table(e, n, now);
	}
out:
	free(e);
	klic_admin_free(a);
	return rc;
}

static int vendor_set(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	struct klic_admin *a = NULL;
	int r, rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cmd->help, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return klic_cli_usage(&admin_cli, "vendor set", "expected one VENDOR.asc", NULL);
	if ((r = klic_cli_not_folder(&admin_cli, "vendor set", argv[1], "VENDOR.asc")) != 0)
		return r;
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	if ((r = klic_admin_vendor_set(a, argv[1])) != 0)
		rc = klic_cli_fail(&admin_cli, argv[1], r);
	else
		printf("vendor %s\n", a->vendor_fpr);
	klic_admin_free(a);
	return rc;
}

const struct klic_cmd ent_cmds[N_ENT_CMDS] = {
    {"import", ent_import, "record a vendor-signed entitlement (.kent)",
     "entitlement import FILE.kent", ent_help, NULL, 0},
    {"list", ent_list, "entitlements with used and free seats", "entitlement list [--json]",
     ent_help, NULL, 0},
};

const struct klic_cmd vendor_cmds[N_VENDOR_CMDS] = {
    {"set", vendor_set, "pin the vendor key of a ledger made without one", "vendor set VENDOR.asc",
     vendor_help, NULL, 0},
};
