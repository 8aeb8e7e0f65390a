/* klic — the commands that check licenses: install, verify, status.  A
 * license is valid only when it chains to a vendor key of this machine's
 * vendor folder (KLIC_VENDOR_DIR, root's) or the one given with --vendor;
 * the user's keyring and pinned issuers never decide it. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_main.h"

#define CLI (&klic_main_cli)
#define HELP_OPT {"help", no_argument, NULL, 'h'}

/* --vendor FILE and --help, plus up to one more option in extra: -1 to go
 * on, else the exit status.  *vendor NULL when not given. */
static int vendor_args(const struct klic_cmd *c, int argc, char **argv, const struct option *lo,
		       const char **vendor, int extra_ch, const char **extra)
{
	int ch;

	*vendor = NULL;
	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(CLI, c, argc, argv, ":", lo)) != -1) {
		const char **slot = ch == 'v' ? vendor : ch == extra_ch ? extra : NULL;
		if (ch == 'h') {
			klic_cli_help(CLI, c);
			return KLIC_EXIT_OK;
		}
		if (slot == NULL)
			return KLIC_EXIT_USAGE;
		if (*slot != NULL)
			return klic_cli_usage(CLI, c->name, "repeated option", argv[optind - 1]);
		if (optarg != NULL && optarg[0] == '\0')
			return klic_cli_usage(CLI, c->name, "empty value", argv[optind - 1]);
		*slot = optarg != NULL ? optarg : "";
	}
	return klic_main_refuse_folder(c->name, *vendor, "--vendor VENDOR.asc, a file") != 0
		   ? KLIC_EXIT_USAGE
		   : -1;
}

/* One response: installed (its paths printed), or the failure printed.
 * With `skip` (a folder's response), a genuine response that answers no
 * pending request of this home on this machine is named on one line and
 * *skipped set.  Returns the exit status. */
static int install_one(struct klic_user *u, struct klic_install_result *res, const char *file,
		       const char *vendor, int skip, int *skipped)
{
	char name[KLIC_PATH_MAX], d[512];
	int r = klic_user_install(u, res, file, vendor);

	(void)klic_printable_copy(name, sizeof(name), file, SIZE_MAX);
	if (skip && (r == KLIC_ERR_NOT_PENDING || r == KLIC_ERR_WRONG_MACHINE)) {
		/* signed by a pinned issuer, for another request: not ours to touch */
		(void)klic_printable_copy(d, sizeof(d), klic_error_detail(), SIZE_MAX);
		printf("not for this machine: %s (%s)\n", name, d);
		klic_error_clear();
		*skipped = 1;
		return KLIC_EXIT_OK;
	}
	if (r == KLIC_ERR_DENIED) {
		/* reason_code and reason were checked printable */
		fprintf(stderr, "klic: %s: request denied: %s: %s\n", name, res->reason_code,
			res->reason);
		return KLIC_EXIT_REFUSED;
	}
	if (r != 0)
		return klic_cli_fail(CLI, file, r);
	for (size_t i = 0; i < res->n; i++)
		printf("%s%s\n", res->item[i].written ? "" : "already installed: ",
		       res->item[i].path);
	if (res->chain_checked)
		printf("vendor: %s %s\n", res->vendor_uid, res->vendor_fpr);
	else
		fprintf(stderr,
			"klic: %s: note: the chain to the vendor was not checked (no vendor "
			"key at %s; use --vendor FILE.asc)\n",
			name, res->vendor_src);
	return KLIC_EXIT_OK;
}

static int is_kresp_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 6 && strcmp(e->d_name + n - 6, ".kresp") == 0;
}

/* klic install DIR: every *.kresp of the folder (a shared USB stick) that
 * answers a pending request of this home on this machine; the others are
 * named and left alone.  Exit 0 when every response was installed or
 * skipped and at least one was installed. */
static int install_folder(struct klic_user *u, struct klic_install_result *res, const char *dir,
			  const char *vendor)
{
	char path[KLIC_PATH_MAX], name[KLIC_PATH_MAX];
	struct dirent **ents = NULL;
	size_t ours = 0, other = 0;
	int n, worst = KLIC_EXIT_OK;

	(void)klic_printable_copy(name, sizeof(name), dir, SIZE_MAX);
	if ((n = scandir(dir, &ents, is_kresp_name, alphasort)) < 0)
		return klic_cli_fail(CLI, dir,
				     klic_error_set(KLIC_ERR_IO, "%s: %s", name, strerror(errno)));
	for (int i = 0; i < n; i++) {
		int skipped = 0, e;
		if (snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name) >=
		    (int)sizeof(path))
			e = klic_cli_fail(CLI, ents[i]->d_name,
					  klic_error_set(KLIC_ERR_IO, "path too long"));
		else
			e = install_one(u, res, path, vendor, 1, &skipped);
		if (e != KLIC_EXIT_OK && (worst == KLIC_EXIT_OK || e > worst))
			worst = e;
		if (e == KLIC_EXIT_OK && !skipped)
			ours++;
		other += (size_t)skipped;
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (worst == KLIC_EXIT_OK && ours == 0) {
		fprintf(stderr,
			"klic: %s: no .kresp file in the folder answers a request of this home "
			"(%zu for other machines)\n",
			name, other);
		worst = KLIC_EXIT_REFUSED;
	}
	return worst;
}

int klic_cmd_install(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	static const struct option lo[] = {
	    {"vendor", required_argument, NULL, 'v'}, HELP_OPT, {NULL, 0, NULL, 0}};
	struct klic_install_result *res = NULL;
	const char *file, *vendor = NULL;
	struct klic_user u;
	int r, skipped = 0;

	if ((r = vendor_args(c, argc, argv, lo, &vendor, 0, NULL)) != -1)
		return r;
	if (argc - optind != 1)
		return klic_cli_usage(CLI, c->name, "expects one .kresp file or a folder",
				      argc - optind > 1 ? argv[optind + 1] : NULL);
	file = argv[optind];
	if ((res = calloc(1, sizeof(*res))) == NULL)
		return klic_cli_fail(CLI, file, klic_error_set(KLIC_ERR_NOMEM, "install"));
	if ((r = klic_main_user_open_home(&u, g, c->name)) != 0) {
		free(res);
		return r;
	}
	if (klic_main_is_folder(file))
		r = install_folder(&u, res, file, vendor);
	else
		r = install_one(&u, res, file, vendor, 0, &skipped);
	klic_user_dispose(&u);
	free(res);
	return r;
}

/* "vendor: NAME <email> FPR", one line per anchor (the keys checked against). */
static void print_vendors(struct klic_chain *chain, const char *product)
{
	const struct klic_anchor *a;
	size_t n = klic_chain_anchors(chain, &a);

	for (size_t i = 0; i < n; i++)
		printf("vendor%s%s: %s %s\n", product ? " " : "", product ? product : "", a[i].uid,
		       a[i].fpr);
}

/* Read a license and open a check context for the product it names. */
static int open_license(uint8_t **buf, size_t *len, struct klic_chain **chain,
			char src[KLIC_PATH_MAX], const char *file, const char *vendor)
{
	char product[4];
	int r;

	*chain = NULL;
	if ((r = klic_read_file(buf, len, file, KLIC_MAX_LIC_BYTES)) != 0 ||
	    (r = klic_license_peek_product(product, *buf, *len)) != 0)
		return r;
	return klic_user_chain_open(chain, src, NULL, vendor, product);
}

int klic_cmd_verify(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	static const struct option lo[] = {{"name", required_argument, NULL, 'n'},
					   {"vendor", required_argument, NULL, 'v'},
					   HELP_OPT,
					   {NULL, 0, NULL, 0}};
	char t[KLIC_TIME_LEN + 1], mid[KLIC_MACHINE_ID_LEN + 1], src[KLIC_PATH_MAX] = "";
	struct klic_chain_result res;
	struct klic_chain *chain = NULL;
	enum klic_clock_state cst = KLIC_CLOCK_MISSING;
	struct klic_user u;
	const char *file, *name = NULL, *vendor = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int64_t now = klic_now(), trusted = 0;
	int r;

	if ((r = vendor_args(c, argc, argv, lo, &vendor, 'n', &name)) != -1)
		return r;
	if (argc - optind != 1)
		return klic_cli_usage(CLI, c->name, "expects one .lic file",
				      argc - optind > 1 ? argv[optind + 1] : NULL);
	file = argv[optind];
	/* a license's file name selects its seat: standard input has none */
	if (strcmp(file, "-") == 0 && name == NULL)
		return klic_cli_usage(CLI, c->name,
				      "reading - needs --name PRODUCT_MACHINEID[_K].lic", NULL);
	if (strcmp(file, "-") != 0 && name != NULL)
		return klic_cli_usage(CLI, c->name, "--name is only for -", name);
	if (name != NULL && strchr(name, '/') != NULL)
		return klic_cli_usage(CLI, c->name, "--name takes a file name, no folder", name);
	if ((r = klic_main_refuse_folder(c->name, file, "one .lic file")) != 0)
		return r;
	if ((r = klic_main_user_open(&u, g)) != 0)
		return r;
	if ((r = klic_clock_load(&trusted, &cst, u.home)) != 0 ||
	    (r = open_license(&buf, &len, &chain, src, file, vendor)) != 0 ||
	    (r = klic_this_machine_id(mid)) != 0) {
		/* gpg refuses keys "made in the future" of a clock set back */
		if (r == KLIC_ERR_NO_VENDOR && klic_clock_rule(now, trusted) != 0)
			r = klic_clock_rule(now, trusted);
		goto out;
	}
	print_vendors(chain, NULL);
	r = klic_chain_check(chain, &res, buf, len, name != NULL ? name : file, mid, now, trusted);
	if (r != 0)
		goto out;
	(void)klic_time_format(t, res.lic.expires);
	printf("valid: %s until %s (%ld days left)\n", res.lic.product, t,
	       klic_days_left(res.lic.expires, now));
	printf("license %s, entitlement %s, issued by %s\n", res.lic.license_id,
	       res.lic.entitlement_id, res.lic.issuer_org);
	if (cst != KLIC_CLOCK_RECORD)
		printf("clock: no trusted-time record (%s): clock set back not checked\n",
		       cst == KLIC_CLOCK_MISSING ? "missing" : "unreadable");
	/* best effort: a read-only home never fails a check; a home that
	 * 'klic init' did not make is not made here */
	if (klic_main_home_made(&u))
		(void)klic_clock_update(u.home, now);
	klic_error_clear();
out:
	if (r != 0)
		r = klic_cli_fail(CLI, file, r);
	klic_chain_free(chain);
	free(buf);
	klic_user_dispose(&u);
	return r;
}

/* klic status: the chain contexts of the two products, opened on demand. */
struct status_chains {
	const char *vendor;
	struct klic_chain *c[2];
	int r[2];
	char detail[2][512];
	int tried[2];
};

static int status_chain(struct status_chains *sc, struct klic_chain **out, const char *product,
			int json)
{
	char src[KLIC_PATH_MAX];
	int k = strcmp(product, "KSE") == 0;

	if (!sc->tried[k]) {
		sc->tried[k] = 1;
		sc->r[k] = klic_user_chain_open(&sc->c[k], src, NULL, sc->vendor, product);
		snprintf(sc->detail[k], sizeof(sc->detail[k]), "%s",
			 sc->r[k] != 0 ? klic_error_detail() : "");
		if (json) {
			/* the rows say it */
		} else if (sc->r[k] != 0)
			printf("vendor %s: none trusted: %s\n", product, sc->detail[k]);
		else
			print_vendors(sc->c[k], product);
	}
	*out = sc->c[k];
	return sc->r[k] != 0 ? klic_error_set(sc->r[k], "%s", sc->detail[k]) : 0;
}

/* One license file of the folder: its verdict, res filled as far as the
 * chain verified. */
static int status_one(struct status_chains *sc, struct klic_chain_result *res, const char *path,
		      const char *name, const char *mid, int64_t now, int64_t trusted, int json)
{
	struct klic_chain *chain = NULL;
	char product[4];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_LIC_BYTES)) == 0 &&
	    (r = klic_license_peek_product(product, buf, len)) == 0 &&
	    (r = status_chain(sc, &chain, product, json)) == 0)
		r = klic_chain_check(chain, res, buf, len, name, mid, now, trusted);
	free(buf);
	/* a clock set back makes good signatures and keys look "made in the
	 * future": that is the reason to report */
	if (r != 0 && klic_clock_rule(now, trusted) != 0 &&
	    (r == KLIC_ERR_NO_VENDOR || r == KLIC_ERR_LICENSE_FUTURE ||
	     klic_err_class(r) == KLIC_CLASS_SIGNATURE))
		r = klic_clock_rule(now, trusted);
	return r;
}

/* A valid license expiring within this many days is marked "expires soon"
 * (klic(1), spec/CLI-JSON.md 2). */
#define KLIC_EXPIRES_SOON_DAYS 14

/* Valid now and expiring within `days` days: days left (a part day counted
 * as a whole one, as printed) at most `days`. */
static int expires_within(const struct klic_chain_result *res, int r, int64_t now, long days)
{
	return r == 0 && res->verified && klic_days_left(res->lic.expires, now) <= days;
}

static int status_row(json_t *arr, const char *name, const struct klic_chain_result *res, int r,
		      const char *detail, int64_t now, int json)
{
	const struct klic_license *lic = &res->lic;
	char iss[KLIC_TIME_LEN + 1] = "", exp[KLIC_TIME_LEN + 1] = "";
	int soon = expires_within(res, r, now, KLIC_EXPIRES_SOON_DAYS);
	json_t *o;

	if (res->verified) {
		(void)klic_time_format(iss, lic->issued);
		(void)klic_time_format(exp, lic->expires);
	}
	if (!json) {
		/* a license whose chain did not verify shows no signed field:
		 * "-" for each, and no days left (klic(1)) */
		char days[32] = "-";
		if (res->verified)
			(void)snprintf(days, sizeof(days), "%ld days left",
				       klic_days_left(lic->expires, now));
		printf("%s  %s  %s  %s  %s  %s%s%s%s\n", name,
		       res->verified && lic->product[0] ? lic->product : "-",
		       res->verified && lic->machine_id[0] ? lic->machine_id : "-",
		       exp[0] ? exp : "-", days, klic_license_reason(r), r != 0 ? ": " : "",
		       r != 0 ? detail : "", soon ? "  expires soon" : "");
		return 0;
	}
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "file", name,
		      "product", klic_main_json_str_or_null(lic->product), "machine_id",
		      klic_main_json_str_or_null(lic->machine_id), "license_id",
		      klic_main_json_str_or_null(lic->license_id), "entitlement_id",
		      klic_main_json_str_or_null(lic->entitlement_id), "vendor_fpr",
		      klic_main_json_str_or_null(res->verified ? res->vendor_fpr : ""), "issued",
		      klic_main_json_str_or_null(iss), "expires", klic_main_json_str_or_null(exp),
		      "days_left", exp[0] ? json_integer(klic_days_left(lic->expires, now)) : json_null(),
		      "valid", r == 0, "reason",
		      r == 0 ? json_null() : json_string(klic_license_reason(r)), "detail",
		      r == 0 ? json_null() : json_string(detail));
	if (o == NULL || json_object_set_new(o, "expiring_soon", json_boolean(soon)) != 0 ||
	    json_array_append_new(arr, o) != 0) {
		json_decref(o);
		return klic_error_set(KLIC_ERR_NOMEM, "json");
	}
	return 0;
}

static int status_json_print(const char *mid, int clock_ok, enum klic_clock_state cst, json_t *arr)
{
	json_t *root = json_object();
	char *s = NULL;
	int bad = root == NULL ||
		  json_object_set_new(root, "machine_id", json_string(mid)) != 0 ||
		  json_object_set_new(root, "clock_ok", json_boolean(clock_ok)) != 0 ||
		  json_object_set_new(root, "clock_record", json_boolean(cst == KLIC_CLOCK_RECORD)) != 0 ||
		  json_object_set(root, "licenses", arr) != 0 ||
		  (s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL;

	json_decref(root);
	if (bad)
		return klic_error_set(KLIC_ERR_NOMEM, "json");
	printf("%s\n", s);
	free(s);
	return 0;
}

/* klic status's options: --json, --vendor FILE, --expiring DAYS (1..365,
 * else 0).  -1 to go on, else the exit status. */
static int status_args(const struct klic_cmd *c, int argc, char **argv, int *json,
		       const char **vendor, unsigned *expiring)
{
	static const struct option lo[] = {{"json", no_argument, NULL, 'j'},
					   {"vendor", required_argument, NULL, 'v'},
					   {"expiring", required_argument, NULL, 'e'},
					   HELP_OPT,
					   {NULL, 0, NULL, 0}};
	const char *days = NULL;
	int ch;

	*json = 0;
	*vendor = NULL;
	*expiring = 0;
	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(CLI, c, argc, argv, ":", lo)) != -1) {
		const char **slot = ch == 'v' ? vendor : ch == 'e' ? &days : NULL;
		if (ch == 'h') {
			klic_cli_help(CLI, c);
			return KLIC_EXIT_OK;
		}
		if (ch == 'j') {
			if (*json)
				return klic_cli_usage(CLI, c->name, "repeated option", "--json");
			*json = 1;
			continue;
		}
		if (slot == NULL)
			return KLIC_EXIT_USAGE;
		if (*slot != NULL)
			return klic_cli_usage(CLI, c->name, "repeated option",
					      ch == 'v' ? "--vendor" : "--expiring");
		if (optarg == NULL || optarg[0] == '\0')
			return klic_cli_usage(CLI, c->name, "empty value",
					      ch == 'v' ? "--vendor" : "--expiring");
		*slot = optarg;
	}
	if (days != NULL && (klic_cli_uint(expiring, days, 365) != 0 || *expiring < 1))
		return klic_cli_usage(CLI, c->name, "--expiring takes a number of days, 1 to 365",
				      days);
	if (optind != argc)
		return klic_cli_usage(CLI, c->name, "unexpected argument", argv[optind]);
	return klic_main_refuse_folder(c->name, *vendor, "--vendor VENDOR.asc, a file") != 0
		   ? KLIC_EXIT_USAGE
		   : -1;
}

int klic_cmd_status(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	char mid[KLIC_MACHINE_ID_LEN + 1], detail[512];
	struct status_chains sc;
	struct klic_chain_result res;
	struct dirent **ents = NULL;
	enum klic_clock_state cst = KLIC_CLOCK_MISSING;
	json_t *arr = NULL;
	struct klic_user u;
	int64_t now = klic_now(), trusted = 0;
	unsigned expiring = 0, n_expiring = 0;
	int json, r, clock_ok, n = 0;

	memset(&sc, 0, sizeof(sc));
	if ((r = status_args(c, argc, argv, &json, &sc.vendor, &expiring)) != -1)
		return r;
	if ((r = klic_main_user_open(&u, g)) != 0)
		return r;
	if ((r = klic_this_machine_id(mid)) != 0 || (r = klic_clock_load(&trusted, &cst, u.home)) != 0)
		goto out;
	clock_ok = klic_clock_rule(now, trusted) == 0;
	klic_error_clear();
	if ((n = scandir(u.licdir, &ents, NULL, alphasort)) < 0) {
		n = 0;
		if (errno != ENOENT) {
			r = klic_error_set(KLIC_ERR_IO, "%s: %s", u.licdir, strerror(errno));
			goto out;
		}
	}
	if ((arr = json_array()) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "json");
		goto out;
	}
	if (!json)
		printf("machine %s%s\nlicense folder %s\n%s", mid,
		       clock_ok ? "" : " (clock set back: no license is valid)", u.licdir,
		       cst == KLIC_CLOCK_RECORD ? ""
						: "clock: no trusted-time record: clock set back not "
						  "checked\n");
	for (int i = 0; i < n; i++) {
		char path[KLIC_PATH_MAX], name[256];

		if (!klic_is_license_name(ents[i]->d_name))
			continue;
		/* a file name from the license folder, made printable */
		(void)klic_printable_copy(name, sizeof(name), ents[i]->d_name, SIZE_MAX);
		r = snprintf(path, sizeof(path), "%s/%s", u.licdir, ents[i]->d_name) <
			    (int)sizeof(path)
			? 0
			: klic_error_set(KLIC_ERR_IO, "path too long");
		if (r == 0)
			r = status_one(&sc, &res, path, ents[i]->d_name, mid, now, trusted, json);
		(void)klic_printable_copy(detail, sizeof(detail), klic_error_detail(), SIZE_MAX);
		klic_error_clear();
		n_expiring += expiring > 0 && expires_within(&res, r, now, (long)expiring);
		if ((r = status_row(arr, name, &res, r, detail, now, json)) != 0)
			goto out;
	}
	if (json && (r = status_json_print(mid, clock_ok, cst, arr)) != 0)
		goto out;
	/* a successful run advances the trusted clock (best effort) */
	if (clock_ok && klic_main_home_made(&u))
		(void)klic_clock_update(u.home, now);
	klic_error_clear();
	r = 0;
	if (n_expiring > 0) {
		/* --expiring: for cron and monitoring, after the full listing */
		char shown[KLIC_PATH_MAX];
		fprintf(stderr, "klic: %s: %u valid license(s) expire within %u day(s)\n",
			klic_printable_copy(shown, sizeof(shown), u.licdir, SIZE_MAX), n_expiring,
			expiring);
		r = KLIC_EXIT_REFUSED;
	}
out:
	if (r < 0)
		r = klic_cli_fail(CLI, r == KLIC_ERR_NO_MACHINE_ID ? "/etc/machine-id" : u.licdir, r);
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	json_decref(arr);
	klic_chain_free(sc.c[0]);
	klic_chain_free(sc.c[1]);
	klic_user_dispose(&u);
	return r;
}
