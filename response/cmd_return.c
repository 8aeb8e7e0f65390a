/* klic-admin return — apply members' return receipts (.kret, spec 5.3.6):
 * the seats of a returnable entitlement are free at once.  Arguments and
 * output only; klic_admin_return() decides and writes. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_cli.h"
#include "klic_admin_return.h"

int cmd_return(const struct klic_cmd *c, void *ctx, int argc, char **argv);
extern const char return_help[];

const char return_help[] =
    "usage: klic-admin return [--json] FILE.kret...\n"
    "Apply return receipts written by 'klic return': each must be signed by a\n"
    "member of this ledger and name licenses issued to that member for that\n"
    "machine and product that are active now.  When the vendor made their\n"
    "entitlement returnable ('klic-vendor entitle --returnable'), the seats are\n"
    "free at once; otherwise the receipt is refused (not-returnable) and nothing\n"
    "changes.  A receipt is applied whole or not at all; one applied before is\n"
    "named with its date and frees nothing (exit 0).  A license another receipt\n"
    "returned already (the re-run of an interrupted 'klic return' signs a second\n"
    "one) is skipped: each license is freed once.\n"
    "  --json  one object per receipt (spec/CLI-JSON.md)\n"
    "Exit 0 when every receipt was applied (now or before), else the worst status\n"
    "(with --json nothing is printed then).\n";

/* One applied receipt as JSON: status "returned" | "already-returned";
 * returned_before: the license IDs other receipts had returned. */
static json_t *outcome_json(const char *file, const struct klic_return_outcome *o)
{
	json_t *ids = json_array(), *before = json_array();
	char at[KLIC_TIME_LEN + 1] = "";
	int ok = ids != NULL && before != NULL;

	for (unsigned i = 0; ok && i < o->kret.n_ids; i++)
		ok = json_array_append_new(ids, json_string(o->kret.license_ids[i])) == 0 &&
		     (!o->before[i] ||
		      json_array_append_new(before, json_string(o->kret.license_ids[i])) == 0);
	if (!ok) { /* out of memory */
		json_decref(ids);
		json_decref(before);
		return NULL;
	}
	if (o->at != 0)
		(void)klic_time_format(at, o->at);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "file", file, "status",
			 o->already || o->others ? "already-returned" : "returned", "digest",
			 o->digest, "at", at, "product", o->kret.product, "machine_id",
			 o->kret.machine_id, "member_fpr", o->kret.member_fpr, "license_ids", ids,
			 "returned_before", before);
}

static void print_outcome(const char *file, const struct klic_return_outcome *o)
{
	char at[KLIC_TIME_LEN + 1] = "";

	(void)klic_time_format(at, o->at);
	if (o->already) {
		printf("OK   %s: already returned on %s (receipt %.12s...): nothing freed\n", file,
		       at, o->digest);
		return;
	}
	if (o->others) {
		printf("OK   %s: its %u license(s) were returned by other receipts: nothing freed\n",
		       file, o->kret.n_ids);
		return;
	}
	printf("OK   %s: returned %u %s license(s) of machine %s from %s %s: seat(s) free now\n",
	       file, o->n_freed, o->kret.product, o->kret.machine_id, o->kret.member_fpr,
	       o->member_uid);
	for (unsigned i = 0; i < o->kret.n_ids; i++)
		if (o->before[i])
			printf("     %s %s (returned before, by another receipt)\n",
			       o->kret.license_ids[i], o->files[i]);
		else
			printf("     %s %s (entitlement %s)\n", o->kret.license_ids[i], o->files[i],
			       o->entitlement[i]);
}

static int return_args(const struct klic_cmd *c, int argc, char **argv, int *json)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int ch;

	*json = 0;
	while ((ch = klic_cli_next_opt(&admin_cli, c, argc, argv, "+:h", opts)) != -1) {
		switch (ch) {
		case 'h':
			fputs(c->help, stdout);
			return 0;
		case 'j':
			if (*json)
				return klic_cli_usage(&admin_cli, "return", "repeated option",
						      "--json");
			*json = 1;
			break;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind >= argc)
		return klic_cli_usage(&admin_cli, "return", "expected FILE.kret...", NULL);
	for (int i = optind; i < argc; i++)
		if (klic_cli_not_folder(&admin_cli, "return", argv[i], "FILE.kret") != 0)
			return KLIC_EXIT_USAGE;
	return -1;
}

int cmd_return(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	struct klic_return_outcome *o = NULL;
	struct klic_admin *a = NULL;
	json_t *arr = NULL;
	char name[4096];
	int json, r, rc, worst = KLIC_EXIT_OK;

	if ((rc = return_args(c, argc, argv, &json)) != -1)
		return rc;
	if ((o = malloc(sizeof(*o))) == NULL || (json && (arr = json_array()) == NULL)) {
		free(o);
		return klic_cli_fail(&admin_cli, "return",
				     klic_error_set(KLIC_ERR_NOMEM, "return"));
	}
	if ((rc = admin_open(&a, g)) != 0) {
		free(o);
		json_decref(arr);
		return rc;
	}
	for (int i = optind; i < argc; i++) {
		(void)klic_printable_copy(name, sizeof(name), argv[i], SIZE_MAX);
		r = klic_admin_return(a, o, argv[i], klic_now());
		if (r != 0)
			rc = klic_cli_fail(&admin_cli, argv[i], r);
		else if (!json)
			print_outcome(name, o);
		else if (json_array_append_new(arr, outcome_json(name, o)) != 0)
			rc = klic_cli_fail(&admin_cli, argv[i],
					   klic_error_set(KLIC_ERR_NOMEM, "json"));
		if (rc != KLIC_EXIT_OK && rc > worst)
			worst = rc;
		rc = KLIC_EXIT_OK;
	}
	if (json && worst == KLIC_EXIT_OK) { /* spec/CLI-JSON.md: nothing on a failure */
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (s == NULL)
			worst = klic_cli_fail(&admin_cli, "return",
					      klic_error_set(KLIC_ERR_NOMEM, "json"));
		else
			printf("%s\n", s);
		free(s);
	}
	json_decref(arr);
	klic_admin_free(a);
	free(o);
	return worst;
}
