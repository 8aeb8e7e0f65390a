/* klic — the user tool: argument parsing and output; logic in klic_user. */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_user.h"

#ifndef KLIC_VERSION
#define KLIC_VERSION "unknown"
#endif
#define EXIT_USAGE 2

static int fail(const char *file, int code)
{
	const char *d = klic_error_detail();
	if (d != NULL && d[0] != '\0')
		fprintf(stderr, "klic: %s: %s: %s\n", file, klic_strerror(code), d);
	else
		fprintf(stderr, "klic: %s: %s\n", file, klic_strerror(code));
	return klic_exit_code(code);
}

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "klic: %s: %s (see 'klic %s --help')\n", cmd, msg, cmd);
	return EXIT_USAGE;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

struct cmd {
	const char *name;
	int (*fn)(struct klic_user *u, int argc, char **argv);
	const char *summary;
	const char *usage;
};

static int want_help(int argc, char **argv, const struct cmd *c)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: klic [--home DIR] [--gnupghome DIR] %s\n\n%s\n", c->usage,
			       c->summary);
			return 1;
		}
	}
	return 0;
}

static int cmd_id(struct klic_user *u, int argc, char **argv)
{
	char mid[KLIC_MACHINE_ID_LEN + 1];
	(void)u;
	(void)argv;
	if (argc != 1)
		return usage_error("id", "takes no arguments");
	int r = klic_this_machine_id(mid);
	if (r != 0)
		return fail("machine-id", r);
	printf("%s\n", mid);
	return 0;
}

static int cmd_init(struct klic_user *u, int argc, char **argv)
{
	static const struct option o[] = {{"name", 1, 0, 'n'}, {"email", 1, 0, 'e'}, {0, 0, 0, 0}};
	const char *name = NULL, *email = NULL;
	char fpr[KLIC_FPR_HEX_LEN + 1];
	int c, r;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c == 'n' && name == NULL)
			name = optarg;
		else if (c == 'e' && email == NULL)
			email = optarg;
		else
			return usage_error("init", "bad or repeated option");
	}
	if (optind != argc || name == NULL || email == NULL)
		return usage_error("init", "--name and --email are required");
	if ((r = klic_user_init(u, fpr, name, email)) != 0)
		return fail(u->gnupghome, r);
	printf("%s\n", fpr);
	return 0;
}

static int cmd_trust(struct klic_user *u, int argc, char **argv)
{
	char fpr[KLIC_FPR_HEX_LEN + 1];
	int r;
	if (argc != 2 || argv[1][0] == '-' )
		return usage_error("trust", "expects one key file");
	if ((r = klic_user_trust(u, fpr, argv[1])) != 0)
		return fail(argv[1], r);
	printf("%s\n", fpr);
	return 0;
}

static int cmd_request(struct klic_user *u, int argc, char **argv)
{
	static const struct option o[] = {
		{"product", 1, 0, 'p'}, {"seats", 1, 0, 's'}, {"output", 1, 0, 'o'}, {0, 0, 0, 0}};
	const char *product = NULL, *out = NULL, *seats_s = NULL;
	char path[KLIC_PATH_MAX], digest[KLIC_SHA256_HEX_LEN + 1];
	unsigned long seats = 1;
	int c, r;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", o, NULL)) != -1) {
		if (c == 'p' && product == NULL)
			product = optarg;
		else if (c == 's' && seats_s == NULL)
			seats_s = optarg;
		else if (c == 'o' && out == NULL)
			out = optarg;
		else
			return usage_error("request", "bad or repeated option");
	}
	if (optind != argc || product == NULL)
		return usage_error("request", "--product KRE|KSE is required");
	if (klic_product_check(product) != 0)
		return usage_error("request", "--product must be KRE or KSE");
	if (seats_s != NULL) {
		char *end = NULL;
		if (seats_s[0] < '0' || seats_s[0] > '9')
			return usage_error("request", "--seats must be a number");
		seats = strtoul(seats_s, &end, 10);
		if (*end != '\0' || seats < 1 || seats > KLIC_MAX_SEATS)
			return usage_error("request", "--seats must be 1..64");
	}
	if (strcmp(product, "KSE") == 0 && seats != 1)
		return usage_error("request", "KSE licenses are one seat per machine");
	r = klic_user_request(u, path, digest, product, (unsigned)seats, out);
	if (r != 0)
		return fail(out != NULL ? out : "request", r);
	if (out == NULL || strcmp(out, "-") != 0)
		printf("%s\nrequest digest %s\n", path, digest);
	return 0;
}

static int cmd_install(struct klic_user *u, int argc, char **argv)
{
	char *report = NULL;
	int r;
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0'))
		return usage_error("install", "expects one .kresp file");
	if (u->n_issuers == 0)
		return fail(argv[1], klic_error_set(KLIC_ERR_NOT_ISSUER,
						    "no issuer pinned: run 'klic trust'"));
	if ((r = klic_user_install(u, &report, argv[1])) != 0) {
		if (r == KLIC_ERR_DENIED) {
			fprintf(stderr, "klic: %s: request denied: %s\n", argv[1], klic_error_detail());
			return 1;
		}
		return fail(argv[1], r);
	}
	fputs(report, stdout);
	free(report);
	return 0;
}

static int days_left(int64_t expires, int64_t now)
{
	return expires > now ? (int)((expires - now) / 86400) : 0;
}

static int cmd_verify(struct klic_user *u, int argc, char **argv)
{
	char mid[KLIC_MACHINE_ID_LEN + 1], t[KLIC_TIME_LEN + 1];
	struct klic_license lic;
	uint8_t *buf = NULL;
	size_t len = 0;
	int64_t now = klic_now();
	int r;
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0'))
		return usage_error("verify", "expects one .lic file");
	if ((r = klic_this_machine_id(mid)) != 0)
		return fail("machine-id", r);
	if ((r = klic_user_clock_check(u, now)) != 0)
		return fail(argv[1], r);
	if ((r = klic_read_file(&buf, &len, argv[1], KLIC_MAX_LIC_BYTES)) != 0)
		return fail(argv[1], r);
	r = klic_user_check_license(u, &lic, buf, len, mid, now);
	free(buf);
	if (r != 0)
		return fail(argv[1], r);
	if ((r = klic_user_clock_advance(u, now)) != 0)
		return fail(argv[1], r);
	klic_time_format(t, lic.expires);
	printf("valid: %s until %s (%d days left)\n", lic.product, t, days_left(lic.expires, now));
	return 0;
}

static int cmd_status(struct klic_user *u, int argc, char **argv)
{
	static const struct option o[] = {{"json", 0, 0, 'j'}, {0, 0, 0, 0}};
	char mid[KLIC_MACHINE_ID_LEN + 1];
	int json = 0, c, r, clock_ok;
	int64_t now = klic_now();
	struct dirent **ents = NULL;
	json_t *arr = json_array(), *root = json_object();
	optind = 1;
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c == 'j' && !json)
			json = 1;
		else
			return usage_error("status", "bad or repeated option");
	}
	if (optind != argc)
		return usage_error("status", "takes no arguments");
	if ((r = klic_this_machine_id(mid)) != 0)
		return fail("machine-id", r);
	clock_ok = klic_user_clock_check(u, now) == 0;
	int n = scandir(u->licdir, &ents, NULL, alphasort);
	if (!json)
		printf("machine %s%s\n", mid, clock_ok ? "" : " (clock set back: nothing is valid)");
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		size_t nl = strlen(name);
		char path[KLIC_PATH_MAX], exp[KLIC_TIME_LEN + 1] = "", iss[KLIC_TIME_LEN + 1] = "";
		struct klic_license lic;
		uint8_t *buf = NULL;
		size_t len = 0;
		const char *why = "valid";
		if (nl < 5 || strcmp(name + nl - 4, ".lic") != 0 || name[0] == '.')
			continue;
		int pn = snprintf(path, sizeof(path), "%s/%s", u->licdir, name);
		if (pn < 0 || (size_t)pn >= sizeof(path))
			continue;
		r = klic_read_file(&buf, &len, path, KLIC_MAX_LIC_BYTES);
		if (r == 0)
			r = klic_user_check_license(u, &lic, buf, len, mid, now);
		else
			memset(&lic, 0, sizeof(lic));
		free(buf);
		if (r == 0 && !clock_ok)
			r = KLIC_ERR_CLOCK;
		if (r != 0)
			why = klic_strerror(r);
		if (lic.expires != 0) {
			klic_time_format(exp, lic.expires);
			klic_time_format(iss, lic.issued);
		}
		if (json) {
			json_array_append_new(
				arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s}", "file",
					       name, "product", lic.product, "machine_id",
					       lic.machine_id, "license_id", lic.license_id, "issued",
					       iss, "expires", exp, "days_left",
					       days_left(lic.expires, now), "valid", r == 0, "reason",
					       r == 0 ? "" : why));
		} else {
			printf("%-40s %-3s %s  %3d days left  %s\n", name,
			       lic.product[0] ? lic.product : "?", exp[0] ? exp : "-",
			       days_left(lic.expires, now), why);
		}
		klic_error_clear();
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (json) {
		json_object_set_new(root, "machine_id", json_string(mid));
		json_object_set_new(root, "clock_ok", json_boolean(clock_ok));
		json_object_set(root, "licenses", arr);
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
	}
	json_decref(arr);
	json_decref(root);
	if (clock_ok)
		klic_user_clock_advance(u, now);
	return 0;
}

static const struct cmd cmds[] = {
	{"id", cmd_id, "Print this machine's ID (as license file names carry it).", "id"},
	{"init", cmd_init, "Create your signing key in klic's keyring.",
	 "init --name NAME --email EMAIL"},
	{"trust", cmd_trust, "Pin an issuer (admin) public key; prints its fingerprint.",
	 "trust FILE.asc"},
	{"request", cmd_request, "Write a signed license request (.kreq).",
	 "request --product KRE|KSE [--seats N] [-o FILE]"},
	{"install", cmd_install, "Verify a response (.kresp) and install its licenses.",
	 "install FILE.kresp"},
	{"status", cmd_status, "List installed licenses: product, expiry, days left, validity.",
	 "status [--json]"},
	{"verify", cmd_verify, "Verify one license file for this machine; exit 0 only if valid now.",
	 "verify FILE.lic"},
};

static void help(FILE *f)
{
	fprintf(f, "usage: klic [--home DIR] [--gnupghome DIR] [--passphrase-file FILE] COMMAND "
		   "[ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nhome: --home, else $KLIC_HOME, else ~/.katalon; licenses in HOME/license.\n"
		   "exit: 0 ok, 1 refused/invalid, 2 usage, 3 I/O, 4 internal.  See klic(1).\n");
}

int main(int argc, char **argv)
{
	const char *home = NULL, *gnupghome = NULL, *pass = NULL;
	char homebuf[KLIC_PATH_MAX];
	struct klic_user u;
	int i = 1, r;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("klic %s (protocol %d)\n", KLIC_VERSION, KLIC_PROTOCOL_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--home") == 0)
			slot = &home;
		else if (strcmp(argv[i], "--gnupghome") == 0)
			slot = &gnupghome;
		else if (strcmp(argv[i], "--passphrase-file") == 0)
			slot = &pass;
		if (slot == NULL || *slot != NULL || i + 1 >= argc) {
			fprintf(stderr, "klic: %s: unknown, repeated or incomplete option\n", argv[i]);
			return EXIT_USAGE;
		}
		*slot = argv[++i];
	}
	if (i >= argc) {
		help(stderr);
		return EXIT_USAGE;
	}
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (strcmp(argv[i], cmds[k].name) != 0)
			continue;
		if (want_help(argc - i, argv + i, &cmds[k]))
			return 0;
		if (home == NULL) {
			if ((r = klic_home_default(homebuf, KLIC_OS_LINUX, env_get)) != 0)
				return fail("home", r);
			home = homebuf;
		}
		if ((r = klic_keys_init()) != 0)
			return fail("gpgme", r);
		if ((r = klic_user_setup(&u, home, gnupghome, pass)) != 0)
			return fail(home, r);
		r = cmds[k].fn(&u, argc - i, argv + i);
		klic_user_dispose(&u);
		return r;
	}
	fprintf(stderr, "klic: %s: unknown command (see 'klic --help')\n", argv[i]);
	return EXIT_USAGE;
}
