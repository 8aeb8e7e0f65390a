/* klic — klic return (spec 5.11): give licenses of this machine back to
 * the organization with a receipt signed by your key.  Arguments and
 * output only; klic_user_return() decides and writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_main.h"
#include "klic_return.h"

#define CLI (&klic_main_cli)

struct return_args {
	const char *product, *out, *vendor;
	int json;
};

/* -1 to go on, else the exit status. */
static int return_args(const struct klic_cmd *c, int argc, char **argv, struct return_args *a)
{
	static const struct option lo[] = {
	    {"product", required_argument, NULL, 'p'}, {"output", required_argument, NULL, 'o'},
	    {"vendor", required_argument, NULL, 'v'},  {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	int ch, nfiles;

	memset(a, 0, sizeof(*a));
	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(CLI, c, argc, argv, ":o:", lo)) != -1) {
		const char **slot = ch == 'p'   ? &a->product
				    : ch == 'o' ? &a->out
				    : ch == 'v' ? &a->vendor
						: NULL;
		if (ch == 'h') {
			klic_cli_help(CLI, c);
			return KLIC_EXIT_OK;
		}
		if (ch == 'j') {
			if (a->json)
				return klic_cli_usage(CLI, c->name, "repeated option", "--json");
			a->json = 1;
			continue;
		}
		if (slot == NULL)
			return KLIC_EXIT_USAGE;
		if (klic_cli_once(CLI, c->name, slot, optarg, argv[optind - 1]) != 0)
			return KLIC_EXIT_USAGE;
		if (optarg[0] == '\0')
			return klic_cli_usage(CLI, c->name, "empty value", argv[optind - 1]);
	}
	nfiles = argc - optind;
	if (a->out == NULL)
		return klic_cli_usage(CLI, c->name, "-o FILE.kret is required", NULL);
	if (strcmp(a->out, "-") == 0)
		return klic_cli_usage(CLI, c->name, "the receipt goes to a file, not -", "-o -");
	if ((a->product == NULL) == (nfiles == 0))
		return klic_cli_usage(CLI, c->name, "give --product KRE|KSE or license files",
				      nfiles > 0 ? argv[optind] : NULL);
	if (a->product != NULL && klic_product_check(a->product) != 0) {
		klic_error_clear();
		return klic_cli_usage(CLI, c->name, "--product must be KRE or KSE", a->product);
	}
	if (klic_main_refuse_folder(c->name, a->out, "-o FILE.kret, a file") != 0 ||
	    klic_main_refuse_folder(c->name, a->vendor, "--vendor VENDOR.asc, a file") != 0)
		return KLIC_EXIT_USAGE;
	return -1;
}

static int print_json(const struct klic_return_result *res)
{
	const struct klic_kret *k = &res->kret;
	json_t *root = NULL, *arr = json_array();
	char t[KLIC_TIME_LEN + 1];
	char *s = NULL;
	int bad = arr == NULL || klic_time_format(t, k->created) != 0;

	for (unsigned i = 0; !bad && i < k->n_ids; i++) {
		json_t *o =
		    json_pack("{s:s, s:s}", "license_id", k->license_ids[i], "file", res->files[i]);
		bad = o == NULL || json_array_append_new(arr, o) != 0;
	}
	if (!bad)
		root =
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:b}", "receipt", res->out_path,
			      "digest", res->digest, "product", k->product, "machine_id",
			      k->machine_id, "member_fpr", k->member_fpr, "created", t, "returned",
			      arr, "chain_checked", res->chain_checked);
	bad = root == NULL || (s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL;
	json_decref(arr);
	json_decref(root);
	if (bad)
		return klic_error_set(KLIC_ERR_NOMEM, "json");
	printf("%s\n", s);
	free(s);
	return 0;
}

int klic_cmd_return(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	struct klic_return_result *res = NULL;
	struct return_args a;
	struct klic_user u;
	char bad[KLIC_PATH_MAX], shown[KLIC_PATH_MAX];
	int r;

	if ((r = return_args(c, argc, argv, &a)) != -1)
		return r;
	if ((res = calloc(1, sizeof(*res))) == NULL)
		return klic_cli_fail(CLI, a.out, klic_error_set(KLIC_ERR_NOMEM, "return"));
	if ((r = klic_main_user_open_home(&u, g, c->name)) != 0) {
		free(res);
		return r;
	}
	r = klic_user_return(&u, res, bad, sizeof(bad), a.product,
			     (const char *const *)(argv + optind), (size_t)(argc - optind), a.out,
			     a.vendor);
	if (r == KLIC_ERR_NOT_FOUND && a.product != NULL) {
		/* nothing to return is a refusal (exit 1), as for --renew */
		fprintf(stderr, "klic: %s: no valid %s license of this machine to return\n",
			klic_printable_copy(shown, sizeof(shown), u.licdir, SIZE_MAX), a.product);
		klic_error_clear();
		r = KLIC_EXIT_REFUSED;
		goto out;
	}
	if (r != 0) {
		r = klic_cli_fail(CLI, bad[0] != '\0' ? bad : a.out, r);
		goto out;
	}
	if (a.json) {
		if ((r = print_json(res)) != 0)
			r = klic_cli_fail(CLI, a.out, r);
		goto out;
	}
	for (unsigned i = 0; i < res->kret.n_ids; i++)
		printf("deleted %s\n",
		       klic_printable_copy(shown, sizeof(shown), res->files[i], SIZE_MAX));
	printf("returned %u %s license(s): %s\n", res->kret.n_ids, res->kret.product,
	       klic_printable_copy(shown, sizeof(shown), res->out_path, SIZE_MAX));
	printf("receipt sha256 %s\n", res->digest);
	printf("next: give %s to your admin (klic-admin return)\n", shown);
	r = KLIC_EXIT_OK;
out:
	klic_user_dispose(&u);
	free(res);
	return r;
}
