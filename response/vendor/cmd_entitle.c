/* klic-vendor entitle — options and output; the signing is
 * klic_vendor_entitle() (vendor.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vendor_cli.h"

const char vendor_entitle_help[] =
    "Sign an entitlement (.kent) granting the organization NAME, whose issuer keys\n"
    "are the --org-key files (1..8 public keys, each given once), SEATS seats of\n"
    "PRODUCT from --from (default: today) through --until (inclusive; the\n"
    "entitlement's valid_until is 00:00:00Z of the day after), UTC.  The result\n"
    "is checked against the vendor key, recorded in STATE/entitlements/ID.kent\n"
    "and written to FILE.kent (never replaced).  Prints the entitlement ID.\n"
    "  --org NAME          the organization (1..200 printable characters)\n"
    "  --org-key FILE.asc  an issuer public key of the organization (repeatable)\n"
    "  --product KRE|KSE  --model node-locked|floating  --billing yearly|monthly\n"
    "  --seats N           1..1000000\n"
    "  --until YYYY-MM-DD  last day covered;  --from YYYY-MM-DD  first day\n"
    "  --returnable        licenses may be returned early (default: not)\n"
    "  --ref TEXT          the purchase reference (1..200 printable characters)\n"
    "  -o FILE.kent        where to write it\n";

struct ent_args {
	const char *org, *product, *model, *billing, *seats, *until, *from, *ref, *out;
	char product_up[8]; /* --product as typed, upper-cased */
	const char *keys[KLIC_MAX_ORG_KEYS];
	size_t nkeys;
	int returnable;
};

static const struct option ent_opts[] = {{"org", required_argument, NULL, 'O'},
					 {"org-key", required_argument, NULL, 'k'},
					 {"product", required_argument, NULL, 'p'},
					 {"model", required_argument, NULL, 'm'},
					 {"billing", required_argument, NULL, 'b'},
					 {"seats", required_argument, NULL, 's'},
					 {"until", required_argument, NULL, 'u'},
					 {"from", required_argument, NULL, 'f'},
					 {"returnable", no_argument, NULL, 'R'},
					 {"ref", required_argument, NULL, 'r'},
					 {"output", required_argument, NULL, 'o'},
					 {"help", no_argument, NULL, 'h'},
					 {NULL, 0, NULL, 0}};

/* The slot and name of a single-valued option, or NULL. */
static const char **slot_of(struct ent_args *a, int ch, const char **name)
{
	switch (ch) {
	case 'O':
		*name = "--org";
		return &a->org;
	case 'p':
		*name = "--product";
		return &a->product;
	case 'm':
		*name = "--model";
		return &a->model;
	case 'b':
		*name = "--billing";
		return &a->billing;
	case 's':
		*name = "--seats";
		return &a->seats;
	case 'u':
		*name = "--until";
		return &a->until;
	case 'f':
		*name = "--from";
		return &a->from;
	case 'r':
		*name = "--ref";
		return &a->ref;
	case 'o':
		*name = "-o";
		return &a->out;
	default:
		return NULL;
	}
}

/* Parse the options: 0, 1000 + KLIC_EXIT_OK after --help, or a usage exit. */
static int parse(const struct klic_cmd *c, struct ent_args *a, int argc, char **argv)
{
	const char *name = NULL, **slot;
	int ch, r;

	while ((ch = klic_cli_next_opt(&vendor_cli, c, argc, argv, ":o:", ent_opts)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&vendor_cli, c);
			return 1000 + KLIC_EXIT_OK;
		} else if (ch == '?') {
			return KLIC_EXIT_USAGE;
		} else if (ch == 'k') {
			if (a->nkeys == KLIC_MAX_ORG_KEYS)
				return klic_cli_usage(&vendor_cli, c->name,
						      "at most 8 --org-key files", optarg);
			a->keys[a->nkeys++] = optarg;
		} else if (ch == 'R') {
			if (a->returnable)
				return klic_cli_usage(&vendor_cli, c->name,
						      "option --returnable given twice", NULL);
			a->returnable = 1;
		} else if ((slot = slot_of(a, ch, &name)) != NULL) {
			if ((r = klic_cli_once(&vendor_cli, c->name, slot, optarg, name)) != 0)
				return r;
		}
	}
	if (optind != argc)
		return klic_cli_usage(&vendor_cli, c->name, "unexpected argument", argv[optind]);
	if (a->org == NULL || a->nkeys == 0 || a->product == NULL || a->model == NULL ||
	    a->billing == NULL || a->seats == NULL || a->until == NULL || a->ref == NULL)
		return klic_cli_usage(&vendor_cli, c->name,
				      "--org, --org-key, --product, --model, --billing, --seats, "
				      "--until and --ref are required",
				      NULL);
	if (a->out == NULL)
		return klic_cli_usage(&vendor_cli, c->name, "-o FILE.kent is required", NULL);
	if (klic_cli_upper(a->product_up, sizeof a->product_up, a->product) != NULL)
		a->product = a->product_up; /* "kre" is KRE; too long stays as typed */
	for (size_t i = 0; i < a->nkeys; i++)
		if (klic_cli_not_folder(&vendor_cli, c->name, a->keys[i], "--org-key FILE.asc") !=
		    0)
			return KLIC_EXIT_USAGE;
	return klic_cli_not_folder(&vendor_cli, c->name, a->out, "-o FILE.kent");
}

/* A date option: 00:00:00Z of that day, plus `days` days; 0 or a usage exit. */
static int date_opt(int64_t *out, const struct klic_cmd *c, const char *s, const char *name,
		    int days)
{
	char msg[96], t[KLIC_TIME_LEN + 1];

	if (klic_date_parse(out, s) == 0) {
		*out += (int64_t)days * 86400;
		if (klic_time_format(t, *out) == 0)
			return 0;
	}
	klic_error_clear();
	snprintf(msg, sizeof msg, "%s must be a date YYYY-MM-DD (2000..9999)", name);
	return klic_cli_usage(&vendor_cli, c->name, msg, s);
}

/* The terms: 0, or a usage exit naming the bad value. */
static int terms(struct klic_vendor_entitle_opts *o, const struct klic_cmd *c,
		 const struct ent_args *a)
{
	int64_t today = klic_now() / 86400 * 86400;
	int r;

	if (klic_product_check(a->product) != 0)
		return klic_cli_usage(&vendor_cli, c->name, "--product must be KRE or KSE",
				      a->product);
	if (strcmp(a->model, KLIC_MODEL_NODE_LOCKED) != 0 &&
	    strcmp(a->model, KLIC_MODEL_FLOATING) != 0)
		return klic_cli_usage(&vendor_cli, c->name,
				      "--model must be node-locked or floating", a->model);
	if (strcmp(a->billing, KLIC_BILLING_YEARLY) != 0 &&
	    strcmp(a->billing, KLIC_BILLING_MONTHLY) != 0)
		return klic_cli_usage(&vendor_cli, c->name, "--billing must be yearly or monthly",
				      a->billing);
	if (klic_cli_uint(&o->seats, a->seats, KLIC_MAX_ENT_SEATS) != 0 || o->seats == 0)
		return klic_cli_usage(&vendor_cli, c->name, "--seats must be a number 1..1000000",
				      a->seats);
	if ((r = date_opt(&o->valid_until, c, a->until, "--until", 1)) != 0)
		return r;
	o->valid_from = today;
	if (a->from != NULL && (r = date_opt(&o->valid_from, c, a->from, "--from", 0)) != 0)
		return r;
	if (o->valid_until <= o->valid_from)
		return klic_cli_usage(&vendor_cli, c->name,
				      a->from != NULL ? "--until is before --from"
						      : "--until is before today (--from)",
				      a->until);
	o->org = a->org;
	o->org_key_files = a->keys;
	o->n_org_key_files = a->nkeys;
	o->product = a->product;
	o->model = a->model;
	o->billing = a->billing;
	o->returnable = a->returnable;
	o->ref = a->ref;
	o->out_path = a->out;
	return 0;
}

int vendor_entitle(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct vendor_global *g = ctx;
	struct klic_vendor_entitle_opts o;
	struct klic_vendor *v = NULL;
	struct ent_args a;
	struct klic_kent k;
	const char *bad = NULL;
	int r;

	memset(&a, 0, sizeof a);
	memset(&o, 0, sizeof o);
	if ((r = parse(c, &a, argc, argv)) != 0)
		return r >= 1000 ? r - 1000 : r;
	if ((r = terms(&o, c, &a)) != 0)
		return r;
	if ((r = vendor_open(&v, g)) != 0)
		return r;
	klic_error_clear();
	r = klic_vendor_entitle(v, &k, &bad, &o);
	if (r == KLIC_ERR_INVALID_ARG)
		r = klic_cli_usage(&vendor_cli, c->name, klic_error_detail(), NULL);
	else if (r != 0)
		r = klic_cli_fail(&vendor_cli, bad != NULL ? bad : g->state, r);
	else
		printf("%s\n", k.entitlement_id);
	klic_vendor_free(v);
	return r;
}
