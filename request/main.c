/* klic — the user tool: argument parsing and output only; every decision is
 * made in the klic_request library.  Exit codes: klic_exit_code(). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "klic_cli.h"
#include "klic_doctor.h"
#include "klic_qr.h"
#include "klic_request.h"

#ifndef KLIC_VERSION
#define KLIC_VERSION "unknown"
#endif

struct globals {
	const char *home;
	const char *gnupghome;
	const char *passphrase_file;
};

/* Failures, usage errors and --help go through the shared CLI helpers
 * (klic_cli.h): "klic: FILE: <message>: <detail>" with non-printables
 * replaced, "klic: CMD: MSG (see 'klic CMD --help')". */
static const struct klic_cli cli = {"klic", "[GLOBAL OPTIONS]"};

static const char *env_get(const char *name)
{
	return getenv(name);
}

static const char *pw_home(void)
{
	struct passwd *pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : NULL;
}

static int user_open(struct klic_user *u, const struct globals *g)
{
	char home[KLIC_PATH_MAX];
	int r;

	if ((r = klic_home_resolve(home, klic_host_os(), g->home, env_get, pw_home)) != 0)
		return klic_cli_fail(&cli, "home", r);
	if ((r = klic_keys_init()) != 0)
		return klic_cli_fail(&cli, "gpgme", r);
	if ((r = klic_user_setup(u, home, g->gnupghome, g->passphrase_file)) != 0)
		return klic_cli_fail(&cli, home, r);
	return 0;
}

#define HELP_OPT                                                                                   \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* Commands without options other than --help; expects exactly `nargs`
 * operands.  Returns 0 to go on, or an exit code + 1000 (help/usage). */
static int simple_args(const struct klic_cmd *c, int argc, char **argv, int nargs, const char *what)
{
	static const struct option lo[] = {HELP_OPT, {NULL, 0, NULL, 0}};
	int ch;
	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(&cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&cli, c);
			return 1000 + KLIC_EXIT_OK;
		}
		return 1000 + KLIC_EXIT_USAGE;
	}
	if (argc - optind != nargs) {
		klic_cli_usage(&cli, c->name, what,
			       argc - optind > nargs ? argv[optind + nargs] : NULL);
		return 1000 + KLIC_EXIT_USAGE;
	}
	return 0;
}

static int cmd_id(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	char mid[KLIC_MACHINE_ID_LEN + 1];
	int r;
	(void)g;
	if ((r = simple_args(c, argc, argv, 0, "takes no arguments")) != 0)
		return r - 1000;
	if ((r = klic_this_machine_id(mid)) != 0)
		return klic_cli_fail(&cli, "/etc/machine-id", r);
	printf("%s\n", mid);
	return KLIC_EXIT_OK;
}

static int cmd_init(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	static const struct option lo[] = {{"name", required_argument, NULL, 'n'},
					   {"email", required_argument, NULL, 'e'},
					   HELP_OPT,
					   {NULL, 0, NULL, 0}};
	const char *name = NULL, *email = NULL;
	char fpr[KLIC_FPR_HEX_LEN + 1];
	struct klic_user u;
	int ch, r;

	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(&cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&cli, c);
			return KLIC_EXIT_OK;
		} else if (ch == 'n' && name == NULL) {
			name = optarg;
		} else if (ch == 'e' && email == NULL) {
			email = optarg;
		} else if (ch == 'n' || ch == 'e') {
			return klic_cli_usage(&cli, c->name, "repeated option", argv[optind - 1]);
		} else {
			return KLIC_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return klic_cli_usage(&cli, c->name, "unexpected argument", argv[optind]);
	if (name == NULL || email == NULL)
		return klic_cli_usage(&cli, c->name, "--name and --email are required", NULL);
	if (name[0] == '\0' || email[0] == '\0' || strlen(name) > KLIC_MAX_TEXT_LEN ||
	    strlen(email) > KLIC_MAX_TEXT_LEN || !klic_is_printable(name, strlen(name)) ||
	    !klic_is_printable(email, strlen(email)))
		return klic_cli_usage(&cli, c->name,
				      "name and email: 1-200 printable ASCII characters", NULL);
	if ((r = user_open(&u, g)) != 0)
		return r;
	r = klic_user_init(&u, fpr, name, email);
	if (r != 0)
		r = klic_cli_fail(&cli, u.gnupghome, r);
	else
		printf("%s\n", fpr);
	klic_user_dispose(&u);
	return r;
}

static int cmd_trust(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	char fpr[KLIC_FPR_HEX_LEN + 1];
	struct klic_user u;
	int r, added = 0;

	if ((r = simple_args(c, argc, argv, 1, "expects one key file")) != 0)
		return r - 1000;
	if ((r = user_open(&u, g)) != 0)
		return r;
	r = klic_user_trust(&u, fpr, &added, argv[optind]);
	if (r != 0)
		r = klic_cli_fail(&cli, argv[optind], r);
	else
		printf("%s\n", fpr);
	klic_user_dispose(&u);
	return r;
}

static int parse_seats(unsigned *out, const char *s)
{
	char *end = NULL;
	unsigned long v;
	if (s[0] < '0' || s[0] > '9' || strlen(s) > 3)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > KLIC_MAX_SEATS)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* A QR code wider than the terminal is cut or wrapped and cannot be read:
 * say so (on stderr; the request was made all the same). */
static void qr_width_note(const struct klic_qr *q)
{
	struct winsize ws;
	int need = klic_qr_width(q) + 2 * KLIC_QR_QUIET;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_col < need)
		fprintf(stderr,
			"klic: request: note: the QR code is %d columns wide, the terminal %u: "
			"widen the window or use a smaller font (or --qr-png FILE)\n",
			need, (unsigned)ws.ws_col);
}

/* Where --qr-png goes: "-" is standard output. */
static int write_qr_png(const struct klic_qr *q, const char *file)
{
	uint8_t *png = NULL;
	size_t len = 0;
	int r;

	if ((r = klic_qr_render_png(&png, &len, q)) == 0)
		r = klic_write_atomic(file, png, len, 0644, 0);
	free(png);
	return r != 0 ? klic_cli_fail(&cli, file, r) : KLIC_EXIT_OK;
}

static int cmd_request(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	static const struct option lo[] = {{"product", required_argument, NULL, 'p'},
					   {"seats", required_argument, NULL, 's'},
					   {"output", required_argument, NULL, 'o'},
					   {"armor", no_argument, NULL, 'a'},
					   {"qr", no_argument, NULL, 'q'},
					   {"qr-png", required_argument, NULL, 'Q'},
					   HELP_OPT,
					   {NULL, 0, NULL, 0}};
	const char *product = NULL, *out = NULL, *seats_s = NULL, *png = NULL;
	char path[KLIC_PATH_MAX], digest[KLIC_SHA256_HEX_LEN + 1], *armor = NULL;
	size_t alen = 0;
	unsigned seats = 1, flags = 0;
	struct klic_qr *qr = NULL;
	struct klic_user u;
	int ch, r, to_stdout = 0, qr_text;

	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(&cli, c, argc, argv, ":o:", lo)) != -1) {
		const char **slot = ch == 'p'   ? &product
				    : ch == 's' ? &seats_s
				    : ch == 'o' ? &out
				    : ch == 'Q' ? &png
						: NULL;
		unsigned bit = ch == 'a' ? KLIC_REQUEST_ARMOR : ch == 'q' ? KLIC_REQUEST_QR : 0;
		if (ch == 'h') {
			klic_cli_help(&cli, c);
			return KLIC_EXIT_OK;
		}
		if (bit != 0) {
			if ((flags & bit) != 0)
				return klic_cli_usage(&cli, c->name, "repeated option",
						      argv[optind - 1]);
			flags |= bit;
			continue;
		}
		if (slot == NULL)
			return KLIC_EXIT_USAGE;
		if (*slot != NULL)
			return klic_cli_usage(&cli, c->name, "repeated option",
					      ch == 'p'   ? "--product"
					      : ch == 's' ? "--seats"
					      : ch == 'o' ? "-o"
							  : "--qr-png");
		*slot = optarg;
	}
	if (optind != argc)
		return klic_cli_usage(&cli, c->name, "unexpected argument", argv[optind]);
	if (product == NULL)
		return klic_cli_usage(&cli, c->name, "--product KRE|KSE is required", NULL);
	if (strcmp(product, "KRE") != 0 && strcmp(product, "KSE") != 0)
		return klic_cli_usage(&cli, c->name, "--product must be KRE or KSE", product);
	if (seats_s != NULL && parse_seats(&seats, seats_s) != 0)
		return klic_cli_usage(&cli, c->name, "--seats must be a number from 1 to 64",
				      seats_s);
	if (strcmp(product, "KSE") == 0 && seats != 1)
		return klic_cli_usage(&cli, c->name, "KSE is licensed one seat per machine",
				      seats_s);
	if (out != NULL && out[0] == '\0')
		return klic_cli_usage(&cli, c->name, "-o needs a file name", NULL);
	if (png != NULL && png[0] == '\0')
		return klic_cli_usage(&cli, c->name, "--qr-png needs a file name", NULL);
	/* one thing at most on standard output */
	to_stdout = (out != NULL && strcmp(out, "-") == 0) + ((flags & KLIC_REQUEST_QR) != 0) +
		    (png != NULL && strcmp(png, "-") == 0);
	if (to_stdout > 1)
		return klic_cli_usage(&cli, c->name,
				      "only one of -o -, --qr and --qr-png - can use stdout", NULL);
	qr_text = (flags & KLIC_REQUEST_QR) != 0;
	if (png != NULL)
		flags |= KLIC_REQUEST_QR; /* the request must fit before it is made */
	if ((r = user_open(&u, g)) != 0)
		return r;
	r = klic_user_request(&u, path, digest, product, seats, out, flags, &armor, &alen);
	if (r != 0) {
		r = klic_cli_fail(&cli, path[0] != '\0' ? path : "request", r);
		goto out;
	}
	if ((flags & KLIC_REQUEST_QR) != 0 &&
	    (r = klic_qr_encode(&qr, (const uint8_t *)armor, alen)) != 0) {
		r = klic_cli_fail(&cli, "qr", r);
		goto out;
	}
	if (png != NULL && (r = write_qr_png(qr, png)) != 0)
		goto out;
	if (qr_text) {
		char *text = NULL;
		size_t tlen = 0;
		if ((r = klic_qr_render_text(&text, &tlen, qr)) != 0) {
			r = klic_cli_fail(&cli, "qr", r);
			goto out;
		}
		fwrite(text, 1, tlen, stdout);
		free(text);
		qr_width_note(qr);
	}
	r = KLIC_EXIT_OK;
	if (strcmp(path, "-") == 0 || (png != NULL && strcmp(png, "-") == 0))
		goto out; /* standard output carries the data only */
	printf("%s\nrequest digest: %s\n", path, digest);
	if (qr != NULL)
		printf("QR code: version %d, level %c, %d modules (+%d quiet zone), %zu bytes of "
		       "armored text%s%s\n",
		       klic_qr_version(qr), klic_qr_level(qr), klic_qr_width(qr), KLIC_QR_QUIET,
		       alen, png != NULL ? "; PNG: " : "", png != NULL ? png : "");
out:
	klic_qr_free(qr);
	free(armor);
	klic_user_dispose(&u);
	return r;
}

static int cmd_install(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	struct klic_install_result *res = NULL;
	const char *file;
	struct klic_user u;
	int r;

	if ((r = simple_args(c, argc, argv, 1, "expects one .kresp file")) != 0)
		return r - 1000;
	file = argv[optind];
	if ((res = calloc(1, sizeof(*res))) == NULL)
		return klic_cli_fail(&cli, file, klic_error_set(KLIC_ERR_NOMEM, "install"));
	if ((r = user_open(&u, g)) != 0) {
		free(res);
		return r;
	}
	r = klic_user_install(&u, res, file);
	if (r == KLIC_ERR_DENIED) {
		/* reason_code and reason were checked printable */
		fprintf(stderr, "klic: %s: request denied: %s: %s\n", file, res->reason_code,
			res->reason);
		r = KLIC_EXIT_REFUSED;
	} else if (r != 0) {
		r = klic_cli_fail(&cli, file, r);
	} else {
		for (size_t i = 0; i < res->n; i++)
			printf("%s%s\n", res->item[i].written ? "" : "already installed: ",
			       res->item[i].path);
	}
	klic_user_dispose(&u);
	free(res);
	return r;
}

static int cmd_verify(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	char t[KLIC_TIME_LEN + 1];
	struct klic_license lic;
	struct klic_user u;
	int64_t now = klic_now();
	static const struct option lo[] = {
	    {"name", required_argument, NULL, 'n'}, HELP_OPT, {NULL, 0, NULL, 0}};
	const char *file, *name = NULL;
	int r, ch;

	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(&cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&cli, c);
			return KLIC_EXIT_OK;
		}
		if (ch != 'n')
			return KLIC_EXIT_USAGE;
		if (name != NULL)
			return klic_cli_usage(&cli, c->name, "repeated option", "--name");
		name = optarg;
	}
	if (argc - optind != 1)
		return klic_cli_usage(&cli, c->name, "expects one .lic file",
				      argc - optind > 1 ? argv[optind + 1] : NULL);
	file = argv[optind];
	/* a license's file name selects its seat: standard input has none */
	if (strcmp(file, "-") == 0 && name == NULL)
		return klic_cli_usage(&cli, c->name,
				      "reading - needs --name PRODUCT_MACHINEID[_K].lic", NULL);
	if (strcmp(file, "-") != 0 && name != NULL)
		return klic_cli_usage(&cli, c->name, "--name is only for -", name);
	if (name != NULL && (name[0] == '\0' || strchr(name, '/') != NULL))
		return klic_cli_usage(&cli, c->name, "--name takes a file name, no folder", name);
	if ((r = user_open(&u, g)) != 0)
		return r;
	if ((r = klic_check_license_file(&u, &lic, file, name, NULL, now)) != 0 ||
	    (r = klic_user_clock_check(&u, now)) != 0 ||
	    (r = klic_user_clock_advance(&u, now)) != 0) {
		r = klic_cli_fail(&cli, file, r);
	} else {
		(void)klic_time_format(t, lic.expires);
		printf("valid: %s until %s (%ld days left)\n", lic.product, t,
		       klic_days_left(lic.expires, now));
	}
	klic_user_dispose(&u);
	return r;
}

static json_t *json_str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* The options of a command whose only option is --json (and --help):
 * -1 to go on, else the exit status to return. */
static int json_only_args(const struct klic_cmd *c, int argc, char **argv, const struct option *lo,
			  int *json)
{
	int ch;

	*json = 0;
	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(&cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&cli, c);
			return KLIC_EXIT_OK;
		}
		if (ch == 'j' && !*json)
			*json = 1;
		else if (ch == 'j')
			return klic_cli_usage(&cli, c->name, "repeated option", "--json");
		else
			return KLIC_EXIT_USAGE;
	}
	if (optind != argc)
		return klic_cli_usage(&cli, c->name, "unexpected argument", argv[optind]);
	return -1;
}

static int cmd_status(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	static const struct option lo[] = {
	    {"json", no_argument, NULL, 'j'}, HELP_OPT, {NULL, 0, NULL, 0}};
	char mid[KLIC_MACHINE_ID_LEN + 1];
	struct dirent **ents = NULL;
	json_t *root = NULL, *arr = NULL;
	struct klic_user u;
	int64_t now = klic_now();
	int json = 0, r, clock_ok, n = 0, u_open = 0;

	if ((r = json_only_args(c, argc, argv, lo, &json)) != -1)
		return r;
	if ((r = user_open(&u, g)) != 0)
		return r;
	u_open = 1;
	if ((r = klic_this_machine_id(mid)) != 0) {
		r = klic_cli_fail(&cli, "/etc/machine-id", r);
		goto out;
	}
	clock_ok = klic_user_clock_check(&u, now) == 0;
	klic_error_clear();
	n = scandir(u.licdir, &ents, NULL, alphasort);
	if (n < 0) {
		if (errno != ENOENT) {
			r = klic_cli_fail(&cli, u.licdir,
					  klic_error_set(KLIC_ERR_IO, "%s", strerror(errno)));
			goto out;
		}
		n = 0;
		ents = NULL;
	}
	root = json_object();
	arr = json_array();
	if (root == NULL || arr == NULL) {
		r = klic_cli_fail(&cli, "status", klic_error_set(KLIC_ERR_NOMEM, "json"));
		goto out;
	}
	if (!json)
		printf("machine %s%s\nlicense folder %s\n", mid,
		       clock_ok ? "" : " (clock set back: no license is valid)", u.licdir);
	for (int i = 0; i < n; i++) {
		char path[KLIC_PATH_MAX], name[256],
		    iss[KLIC_TIME_LEN + 1] = "", exp[KLIC_TIME_LEN + 1] = "";
		struct klic_license lic;
		int pn;
		json_t *o;

		if (!klic_is_license_name(ents[i]->d_name))
			continue;
		/* a file name from the license folder, made printable */
		(void)klic_printable_copy(name, sizeof(name), ents[i]->d_name, SIZE_MAX);
		pn = snprintf(path, sizeof(path), "%s/%s", u.licdir, ents[i]->d_name);
		memset(&lic, 0, sizeof(lic));
		if (pn < 0 || (size_t)pn >= sizeof(path))
			r = KLIC_ERR_IO;
		else
			r = klic_check_license_file(&u, &lic, path, ents[i]->d_name, mid, now);
		klic_error_clear();
		if (!clock_ok && (r == 0 || r == KLIC_ERR_LICENSE_FUTURE ||
				  (klic_err_class(r) == KLIC_CLASS_SIGNATURE &&
				   r != KLIC_ERR_SIG_WRONG_KEY && r != KLIC_ERR_SIG_UNKNOWN_KEY)))
			r = KLIC_ERR_CLOCK;
		if (lic.license_id[0] != '\0') {
			(void)klic_time_format(iss, lic.issued);
			(void)klic_time_format(exp, lic.expires);
		}
		if (json) {
			o = json_pack(
			    "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "file", name,
			    "product", json_str_or_null(lic.product), "machine_id",
			    json_str_or_null(lic.machine_id), "license_id",
			    json_str_or_null(lic.license_id), "issued", json_str_or_null(iss),
			    "expires", json_str_or_null(exp), "days_left",
			    exp[0] ? json_integer(klic_days_left(lic.expires, now)) : json_null(),
			    "valid", r == 0, "reason",
			    r == 0 ? json_null() : json_string(klic_license_reason(r)));
			if (o == NULL || json_array_append_new(arr, o) != 0) {
				r = klic_cli_fail(&cli, "status",
						  klic_error_set(KLIC_ERR_NOMEM, "json"));
				goto out;
			}
		} else {
			printf("%s  %s  %s  %s  %ld days left  %s\n", name,
			       lic.product[0] ? lic.product : "-",
			       lic.machine_id[0] ? lic.machine_id : "-", exp[0] ? exp : "-",
			       exp[0] ? klic_days_left(lic.expires, now) : 0L,
			       klic_license_reason(r));
		}
	}
	if (json) {
		char *s;
		if (json_object_set_new(root, "machine_id", json_string(mid)) != 0 ||
		    json_object_set_new(root, "clock_ok", json_boolean(clock_ok)) != 0 ||
		    json_object_set(root, "licenses", arr) != 0 ||
		    (s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL) {
			r = klic_cli_fail(&cli, "status", klic_error_set(KLIC_ERR_NOMEM, "json"));
			goto out;
		}
		printf("%s\n", s);
		free(s);
	}
	/* a successful run advances the trusted clock (spec 5.5) */
	if (clock_ok)
		(void)klic_user_clock_advance(&u, now);
	r = KLIC_EXIT_OK;
out:
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	json_decref(arr);
	json_decref(root);
	if (u_open)
		klic_user_dispose(&u);
	return r;
}

static int cmd_doctor(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	static const struct option lo[] = {
	    {"json", no_argument, NULL, 'j'}, HELP_OPT, {NULL, 0, NULL, 0}};
	struct klic_doctor_report *rep = NULL;
	char home[KLIC_PATH_MAX];
	int json = 0, r;

	if ((r = json_only_args(c, argc, argv, lo, &json)) != -1)
		return r;
	if ((r = klic_home_resolve(home, klic_host_os(), g->home, env_get, pw_home)) != 0)
		return klic_cli_fail(&cli, "home", r);
	if ((r = klic_keys_init()) != 0)
		return klic_cli_fail(&cli, "gpgme", r);
	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return klic_cli_fail(&cli, "doctor", klic_error_set(KLIC_ERR_NOMEM, "doctor"));
	if ((r = klic_doctor_run(rep, home, g->gnupghome, klic_now())) != 0) {
		free(rep);
		return klic_cli_fail(&cli, home, r);
	}
	if (json) {
		json_t *root = json_object(), *arr = json_array();
		char *s = NULL;
		int bad = root == NULL || arr == NULL;
		for (size_t i = 0; !bad && i < rep->n; i++) {
			const struct klic_check *k = &rep->c[i];
			json_t *o =
			    json_pack("{s:s, s:s, s:s, s:o}", "check", k->name, "status",
				      klic_check_status_name(k->status), "detail", k->detail, "fix",
				      k->fix[0] ? json_string(k->fix) : json_null());
			bad = o == NULL || json_array_append_new(arr, o) != 0;
		}
		if (!bad)
			bad =
			    json_object_set(root, "checks", arr) != 0 ||
			    json_object_set_new(root, "home", json_string(home)) != 0 ||
			    json_object_set_new(root, "fail",
						json_integer((json_int_t)rep->n_fail)) != 0 ||
			    json_object_set_new(root, "warn",
						json_integer((json_int_t)rep->n_warn)) != 0 ||
			    json_object_set_new(root, "ok", json_boolean(rep->n_fail == 0)) != 0 ||
			    (s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL;
		json_decref(arr);
		json_decref(root);
		if (bad) {
			free(rep);
			return klic_cli_fail(&cli, "doctor",
					     klic_error_set(KLIC_ERR_NOMEM, "json"));
		}
		printf("%s\n", s);
		free(s);
	} else {
		for (size_t i = 0; i < rep->n; i++) {
			const struct klic_check *k = &rep->c[i];
			printf("%-4s  %-11s %s%s%s\n", klic_check_status_name(k->status), k->name,
			       k->detail, k->fix[0] ? " -- " : "", k->fix);
		}
		printf("%zu failed, %zu warnings\n", rep->n_fail, rep->n_warn);
	}
	r = rep->n_fail > 0 ? KLIC_EXIT_REFUSED : KLIC_EXIT_OK;
	free(rep);
	return r;
}

static const struct klic_cmd cmds[] = {
    {"id", cmd_id, "Print this machine's ID (the one license file names carry).", "id",
     "\nThe ID is derived from /etc/machine-id (else /var/lib/dbus/machine-id);\n"
     "the last of its 25 symbols is a check symbol.\n",
     NULL, 0},
    {"init", cmd_init, "Create your signing key in klic's keyring.",
     "init --name NAME --email EMAIL",
     "\n  --name NAME    your name (printable ASCII, at most 200 characters)\n"
     "  --email EMAIL  your e-mail address\n"
     "Refused when the keyring already holds a secret key.\n",
     NULL, 0},
    {"trust", cmd_trust, "Pin an issuer (admin) public key; prints its fingerprint.",
     "trust FILE.asc",
     "\nOnly responses and licenses signed by a pinned issuer are accepted.\n"
     "FILE may be binary or ASCII-armored; - reads standard input.\n",
     NULL, 0},
    {"request", cmd_request, "Write a signed license request (.kreq).",
     "request --product KRE|KSE [--seats N] [-o FILE] [--armor] [--qr | --qr-png FILE]",
     "\n  --product KRE|KSE  the product\n"
     "  --seats N          licenses wanted (KRE 1..64, KSE 1; default 1)\n"
     "  -o, --output FILE  where to write (default PRODUCT_MACHINEID.kreq; - is stdout)\n"
     "  --armor            write ASCII text (-----BEGIN KLIC REQUEST-----) that can be\n"
     "                     pasted into an e-mail body or a chat\n"
     "  --qr               also print the request as a QR code on the terminal, for\n"
     "                     a phone camera (the code holds the armored text)\n"
     "  --qr-png FILE      also write that QR code as a PNG image (- is stdout)\n"
     "Refused before anything is written when the request does not fit one QR code.\n"
     "Prints the file written and the request digest (nothing when stdout carries\n"
     "the request or the PNG).\n",
     NULL, 0},
    {"install", cmd_install, "Verify a response (.kresp) and install its licenses.",
     "install FILE.kresp",
     "\nFILE may be binary or armored (-----BEGIN KLIC RESPONSE-----, also as saved\n"
     "from an e-mail); - reads standard input.  Nothing is installed unless every\n"
     "check passed; prints each installed path.\n",
     NULL, 0},
    {"status", cmd_status, "List installed licenses: product, expiry, days left, validity.",
     "status [--json]", "\n  --json  machine-readable output (keys: see klic(1))\n", NULL, 0},
    {"verify", cmd_verify, "Verify one license file for this machine; exit 0 only if valid now.",
     "verify FILE.lic | verify --name NAME.lic -",
     "\nPrints the product, the expiry and the days left.  A license's file name\n"
     "selects its seat, so a license read from standard input (-) needs its name:\n"
     "  --name NAME.lic  the license's file name (PRODUCT_MACHINEID[_K].lic)\n",
     NULL, 0},
    {"doctor", cmd_doctor, "Check the home folder, keys, issuers, clock, machine ID and licenses.",
     "doctor [--json]",
     "\nOne line per check: OK, WARN or FAIL, what was found and what to do.\n"
     "Changes nothing.  Exit status 0 when no check failed, else 1.\n"
     "  --json  machine-readable output (keys: see klic(1))\n",
     NULL, 0},
};

static void help(FILE *f)
{
	fprintf(f, "usage: klic [--home DIR] [--gnupghome DIR] [--passphrase-file FILE] COMMAND "
		   "[ARGS]\n       klic --help | --version\n\ncommands:\n");
	klic_cli_list(f, cmds, sizeof(cmds) / sizeof(cmds[0]), 8);
	fprintf(f, "\nglobal options:\n"
		   "  --home DIR             klic home (default $KLIC_HOME, else ~/.katalon);\n"
		   "                         licenses are installed in DIR/license\n"
		   "  --gnupghome DIR        use this existing keyring instead of DIR/klic/gnupg\n"
		   "  --passphrase-file FILE passphrase of a protected key (first line)\n"
		   "\n'klic COMMAND --help' describes a command.  Exit status: 0 ok, 1 refused or\n"
		   "invalid, 2 usage, 3 I/O or system, 4 internal.  See klic(1).\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"home", required_argument, NULL, 'H'},
					   {"gnupghome", required_argument, NULL, 'G'},
					   {"passphrase-file", required_argument, NULL, 'P'},
					   {"help", no_argument, NULL, 'h'},
					   {"version", no_argument, NULL, 'V'},
					   {NULL, 0, NULL, 0}};
	struct globals g = {NULL, NULL, NULL};
	int ch;

	opterr = 0;
	/* "+": stop at the command name; its options are parsed by the command */
	while ((ch = getopt_long(argc, argv, "+:", lo, NULL)) != -1) {
		const char **slot = ch == 'H'   ? &g.home
				    : ch == 'G' ? &g.gnupghome
				    : ch == 'P' ? &g.passphrase_file
						: NULL;
		if (ch == 'h') {
			help(stdout);
			return KLIC_EXIT_OK;
		}
		if (ch == 'V') {
			printf("klic %s (protocol %d)\n", KLIC_VERSION, KLIC_PROTOCOL_VERSION);
			return KLIC_EXIT_OK;
		}
		if (slot == NULL) {
			fprintf(stderr, "klic: %s: %s (see 'klic --help')\n", argv[optind - 1],
				ch == ':' ? "option needs a value" : "unknown option");
			return KLIC_EXIT_USAGE;
		}
		if (*slot != NULL) {
			fprintf(stderr, "klic: %s: repeated option\n", argv[optind - 1]);
			return KLIC_EXIT_USAGE;
		}
		if (optarg[0] == '\0') {
			fprintf(stderr, "klic: %s: empty value\n", argv[optind - 1]);
			return KLIC_EXIT_USAGE;
		}
		*slot = optarg;
	}
	if (optind >= argc) {
		fprintf(stderr, "klic: no command given (see 'klic --help')\n");
		return KLIC_EXIT_USAGE;
	}
	return klic_cli_dispatch(&cli, NULL, cmds, sizeof(cmds) / sizeof(cmds[0]), &g,
				 argc - optind, argv + optind);
}
