/* klic-vendor — the vendor tool: argument parsing and output only; the logic
 * is in klic_vendor (vendor.c, usage_verify.c).  Exit codes:
 * klic_exit_code() (0 ok, 1 refused, 2 usage, 3 I/O, 4 internal). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_cli.h"
#include "klic_vendor.h"
#include "vendor_cli.h"

const struct klic_cli vendor_cli = {"klic-vendor", "[--state DIR]"};

#define HELP_OPT                                                                                   \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}
#define END_OPT                                                                                    \
	{                                                                                          \
		NULL, 0, NULL, 0                                                                   \
	}

int vendor_open(struct klic_vendor **v, const struct vendor_global *g)
{
	int r = klic_vendor_open(v, g->state);

	return r == 0 ? 0 : klic_cli_fail(&vendor_cli, g->state, r);
}

int vendor_noargs(const struct klic_cmd *c, int argc, char **argv, int nargs, const char *what)
{
	static const struct option lo[] = {HELP_OPT, END_OPT};
	int ch;

	while ((ch = klic_cli_next_opt(&vendor_cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&vendor_cli, c);
			return 1000 + KLIC_EXIT_OK;
		}
		return 1000 + KLIC_EXIT_USAGE;
	}
	if (argc - optind != nargs) {
		klic_cli_usage(&vendor_cli, c->name, what,
			       argc - optind > nargs ? argv[optind + nargs] : NULL);
		return 1000 + KLIC_EXIT_USAGE;
	}
	return 0;
}

/* ---- init ---------------------------------------------------------------- */

static int cmd_init(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct vendor_global *g = ctx;
	static const struct option lo[] = {{"name", required_argument, NULL, 'n'},
					   {"email", required_argument, NULL, 'e'},
					   HELP_OPT,
					   END_OPT};
	const char *name = NULL, *email = NULL;
	char fpr[KLIC_FPR_HEX_LEN + 1];
	int ch, r;

	while ((ch = klic_cli_next_opt(&vendor_cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&vendor_cli, c);
			return KLIC_EXIT_OK;
		}
		if (ch == '?')
			return KLIC_EXIT_USAGE;
		if ((r = klic_cli_once(&vendor_cli, c->name, ch == 'n' ? &name : &email, optarg,
				       ch == 'n' ? "--name" : "--email")) != 0)
			return r;
	}
	if (optind != argc)
		return klic_cli_usage(&vendor_cli, c->name, "unexpected argument", argv[optind]);
	if (name == NULL || email == NULL)
		return klic_cli_usage(&vendor_cli, c->name, "--name and --email are required",
				      NULL);
	if ((r = klic_vendor_init(fpr, g->state, name, email)) != 0) {
		if (r == KLIC_ERR_INVALID_ARG)
			return klic_cli_usage(&vendor_cli, c->name, klic_error_detail(), NULL);
		return klic_cli_fail(&vendor_cli, g->state, r);
	}
	printf("vendor %s\n", fpr);
	return KLIC_EXIT_OK;
}

/* ---- export-key ---------------------------------------------------------- */

static int cmd_export_key(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct vendor_global *g = ctx;
	static const struct option lo[] = {
	    {"output", required_argument, NULL, 'o'}, HELP_OPT, END_OPT};
	struct klic_vendor *v = NULL;
	const char *outp = NULL;
	int ch, r;

	while ((ch = klic_cli_next_opt(&vendor_cli, c, argc, argv, ":o:", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&vendor_cli, c);
			return KLIC_EXIT_OK;
		}
		if (ch == '?')
			return KLIC_EXIT_USAGE;
		if ((r = klic_cli_once(&vendor_cli, c->name, &outp, optarg, "-o")) != 0)
			return r;
	}
	if (optind != argc)
		return klic_cli_usage(&vendor_cli, c->name, "unexpected argument", argv[optind]);
	if (outp == NULL)
		return klic_cli_usage(&vendor_cli, c->name, "-o FILE.asc is required", NULL);
	if ((r = klic_cli_not_folder(&vendor_cli, c->name, outp, "-o FILE.asc")) != 0)
		return r;
	if ((r = vendor_open(&v, g)) != 0)
		return r;
	if ((r = klic_vendor_export_key(v, outp)) != 0)
		r = klic_cli_fail(&vendor_cli, outp, r);
	else
		printf("%s %s\n", outp, v->fpr);
	klic_vendor_free(v);
	return r;
}

/* ---- list ------------------------------------------------------------------ */

/* "YYYY-MM-DD" of the day holding t. */
static void day_of(char out[11], int64_t t)
{
	char full[KLIC_TIME_LEN + 1];

	if (klic_time_format(full, t) != 0)
		snprintf(full, sizeof full, "%s", "unknown-date");
	snprintf(out, 11, "%.10s", full);
}

static json_t *ent_json(const struct klic_vendor_ent *e)
{
	char from[KLIC_TIME_LEN + 1], until[KLIC_TIME_LEN + 1], created[KLIC_TIME_LEN + 1];
	const struct klic_kent *k = &e->kent;
	json_t *keys;

	if (e->rc != 0)
		return json_pack("{s:s,s:b,s:s}", "file", e->file, "verified", 0, "error",
				 e->detail);
	if ((keys = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < k->n_org_keys; i++)
		json_array_append_new(keys, json_string(k->org_keys[i]));
	(void)klic_time_format(from, k->valid_from);
	(void)klic_time_format(until, k->valid_until);
	(void)klic_time_format(created, k->created);
	return json_pack("{s:s,s:b,s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:s,s:s,s:b,s:s,s:s}", "file",
			 e->file, "verified", 1, "entitlement_id", k->entitlement_id, "org", k->org,
			 "org_keys", keys, "product", k->product, "model", k->model, "billing",
			 k->billing, "seats", (json_int_t)k->seats, "valid_from", from,
			 "valid_until", until, "returnable", k->returnable, "ref", k->ref,
			 "created", created);
}

static int list_json(const struct klic_vendor_ent *e, size_t n)
{
	json_t *arr = json_array(), *o;
	char *s = NULL;

	for (size_t i = 0; arr != NULL && i < n; i++)
		if ((o = ent_json(&e[i])) == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr); /* never print a partial list */
			arr = NULL;
		}
	if (arr != NULL)
		s = json_dumps(arr, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(arr);
	if (s == NULL)
		return klic_cli_fail(&vendor_cli, "list", klic_error_set(KLIC_ERR_NOMEM, "json"));
	printf("%s\n", s);
	free(s);
	return 0;
}

static void list_text(const struct klic_vendor_ent *e, size_t n)
{
	char org[64], ref[KLIC_MAX_TEXT_LEN + 1], from[11], until[11], d[300];

	printf("%-32s %-20s %-7s %-11s %-7s %7s %-10s %-10s %s\n", "ID", "ORG", "PRODUCT", "MODEL",
	       "BILLING", "SEATS", "FROM", "UNTIL", "REF");
	for (size_t i = 0; i < n; i++) {
		const struct klic_kent *k = &e[i].kent;

		if (e[i].rc != 0) {
			printf("%-32.32s BAD: %s: %s\n", e[i].file, klic_strerror(e[i].rc),
			       klic_printable_copy(d, sizeof d, e[i].detail, SIZE_MAX));
			continue;
		}
		day_of(from, k->valid_from);
		day_of(until, k->valid_until - 1); /* the last day it covers */
		printf("%-32s %-20s %-7s %-11s %-7s %7u %-10s %-10s %s\n", k->entitlement_id,
		       klic_printable_copy(org, sizeof org, k->org, SIZE_MAX), k->product, k->model,
		       k->billing, k->seats, from, until,
		       klic_printable_copy(ref, sizeof ref, k->ref, SIZE_MAX));
	}
}

static int cmd_list(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct vendor_global *g = ctx;
	static const struct option lo[] = {{"json", no_argument, NULL, 'j'}, HELP_OPT, END_OPT};
	struct klic_vendor_ent *e = NULL;
	struct klic_vendor *v = NULL;
	size_t n = 0, bad = 0;
	int json = 0, ch, r;

	while ((ch = klic_cli_next_opt(&vendor_cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&vendor_cli, c);
			return KLIC_EXIT_OK;
		}
		if (ch == '?')
			return KLIC_EXIT_USAGE;
		if (json)
			return klic_cli_usage(&vendor_cli, c->name, "option --json given twice",
					      NULL);
		json = 1;
	}
	if (optind != argc)
		return klic_cli_usage(&vendor_cli, c->name, "unexpected argument", argv[optind]);
	if ((r = vendor_open(&v, g)) != 0)
		return r;
	if ((r = klic_vendor_list(v, &e, &n)) != 0) {
		r = klic_cli_fail(&vendor_cli, v->ents, r);
		goto out;
	}
	if (json)
		r = list_json(e, n);
	else
		list_text(e, n);
	for (size_t i = 0; i < n; i++)
		bad += e[i].rc != 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].rc != 0) { /* one line on stderr, however many are bad */
			char f[KLIC_VENDOR_PATH_MAX + KLIC_MAX_NAME_LEN + 2], d[300];
			snprintf(f, sizeof f, "%s/%s", v->ents, e[i].file);
			fprintf(stderr, "klic-vendor: %s: %s: %s%s\n", f, klic_strerror(e[i].rc),
				klic_printable_copy(d, sizeof d, e[i].detail, SIZE_MAX),
				bad > 1 ? " (and others: see the list)" : "");
			break;
		}
	if (r == 0 && bad > 0)
		r = KLIC_EXIT_REFUSED;
out:
	free(e);
	klic_vendor_free(v);
	return r;
}

/* ---- check ------------------------------------------------------------------ */

static int cmd_check(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct vendor_global *g = ctx;
	char org[KLIC_MAX_TEXT_LEN + 1], from[11], until[11];
	struct klic_vendor *v = NULL;
	struct klic_kent k;
	uint8_t *buf = NULL;
	size_t len = 0;
	int recorded = 0, r;
	const char *file;

	if ((r = vendor_noargs(c, argc, argv, 1, "expects one FILE.kent")) != 0)
		return r - 1000;
	file = argv[optind];
	if ((r = klic_cli_not_folder(&vendor_cli, c->name, file, "FILE.kent")) != 0)
		return r;
	if ((r = vendor_open(&v, g)) != 0)
		return r;
	if ((r = klic_read_file(&buf, &len, file, KLIC_MAX_KENT_BYTES)) != 0 ||
	    (r = klic_vendor_kent_check(v, &k, &recorded, buf, len)) != 0) {
		r = klic_cli_fail(&vendor_cli, file, r);
	} else if (!recorded) {
		r = klic_cli_fail(&vendor_cli, file,
				  klic_error_set(KLIC_ERR_NOT_ENTITLED,
						 "signed by this vendor, but not the entitlement "
						 "recorded as %s.kent",
						 k.entitlement_id));
	} else {
		day_of(from, k.valid_from);
		day_of(until, k.valid_until - 1);
		printf("ok %s %s %s %s %s %u seats %s..%s (signed by %s)\n", k.entitlement_id,
		       klic_printable_copy(org, sizeof org, k.org, SIZE_MAX), k.product, k.model,
		       k.billing, k.seats, from, until, k.vendor_fpr);
	}
	free(buf);
	klic_vendor_free(v);
	return r;
}

/* ---- dispatch ---------------------------------------------------------------- */

static const char init_help[] =
    "Create the vendor state: an Ed25519 signing key for \"NAME <EMAIL>\" in STATE/gnupg\n"
    "and the folder STATE/entitlements.  Refuses an existing state.  Prints\n"
    "'vendor FINGERPRINT'.\n";
static const char export_help[] =
    "Write the vendor's public key (armored, minimal) to FILE.asc; never replaces a\n"
    "file.  Organizations pin it with 'klic-admin init --vendor'; products embed it.\n";
static const char list_help[] =
    "The entitlements this vendor signed (STATE/entitlements), each re-verified\n"
    "against the vendor key.  A file that no longer verifies is listed as BAD and\n"
    "the exit status is 1.  --json: an array of objects, see klic-vendor(1).\n";
static const char check_help[] =
    "Verify FILE.kent: signed by this vendor's key, strict, and the very file\n"
    "recorded under its ID.  Exit 0 and one 'ok ...' line, or 1.\n";

static const struct klic_cmd usage_cmds[] = {
    {"verify", vendor_usage_verify, "true-up an organization's usage export",
     "usage verify FILE.kusage", vendor_usage_help, NULL, 0},
};

static const struct klic_cmd cmds[] = {
    {"init", cmd_init, "create the vendor state and signing key", "init --name NAME --email EMAIL",
     init_help, NULL, 0},
    {"export-key", cmd_export_key, "write the vendor public key", "export-key -o FILE.asc",
     export_help, NULL, 0},
    {"entitle", vendor_entitle, "sign an entitlement (.kent) for an organization",
     "entitle --org NAME --org-key ORG.asc [--org-key ...] --product KRE|KSE "
     "--model node-locked|floating --billing yearly|monthly --seats N --until YYYY-MM-DD "
     "[--from YYYY-MM-DD] [--returnable] --ref TEXT -o FILE.kent",
     vendor_entitle_help, NULL, 0},
    {"list", cmd_list, "the recorded entitlements, re-verified", "list [--json]", list_help, NULL,
     0},
    {"check", cmd_check, "verify one .kent against this vendor", "check FILE.kent", check_help,
     NULL, 0},
    {"usage", NULL, "true-up of an organization's usage export", "usage verify FILE.kusage",
     vendor_usage_help, usage_cmds, sizeof usage_cmds / sizeof usage_cmds[0]},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

static void main_help(FILE *f)
{
	fprintf(f, "usage: klic-vendor [--state DIR] COMMAND [ARGS]\n\ncommands:\n");
	klic_cli_list(f, cmds, NCMDS, 11);
	fprintf(f, "\nState: --state DIR, else $KLIC_VENDOR_HOME, else "
		   "~/.local/share/klic-vendor.\n"
		   "'klic-vendor COMMAND --help' describes a command; see klic-vendor(1).\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"state", required_argument, NULL, 's'}, HELP_OPT, END_OPT};
	struct vendor_global g;
	int ch, r;

	memset(&g, 0, sizeof g);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
		if (ch == 'h') {
			main_help(stdout);
			return KLIC_EXIT_OK;
		}
		if (ch != 's')
			return klic_cli_global_opt_error(&vendor_cli, ch, argc, argv);
		if ((r = klic_cli_once(&vendor_cli, "options", &g.state_opt, optarg, "--state")) !=
		    0)
			return r;
	}
	if (optind >= argc) {
		main_help(stderr);
		return KLIC_EXIT_USAGE;
	}
	if ((r = klic_vendor_state_dir(g.state, sizeof g.state, g.state_opt)) != 0)
		return klic_cli_fail(&vendor_cli, "state", r);
	if ((r = klic_keys_init()) != 0)
		return klic_cli_fail(&vendor_cli, "gpgme", r);
	return klic_cli_dispatch(&vendor_cli, NULL, cmds, NCMDS, &g, argc - optind, argv + optind);
}
