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
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "klic_cli.h"
#include "klic_doctor.h"
#include "klic_qr.h"
#include "klic_main.h"
#include "klic_request.h"

#ifndef KLIC_VERSION
#define KLIC_VERSION "unknown"
#endif
#ifndef KLIC_VENDOR_DIR
#error "KLIC_VENDOR_DIR must be defined by the build"
#endif
#define KLIC_VENDOR_DIR_HELP KLIC_VENDOR_DIR


/* Failures, usage errors and --help go through the shared CLI helpers
 * (klic_cli.h): "klic: FILE: <message>: <detail>" with non-printables
 * replaced, "klic: CMD: MSG (see 'klic CMD --help')". */
const struct klic_cli klic_main_cli = {"klic", "[GLOBAL OPTIONS]"};

static const char *env_get(const char *name)
{
	return getenv(name);
}

static const char *pw_home(void)
{
	struct passwd *pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : NULL;
}

int klic_main_user_open(struct klic_user *u, const struct globals *g)
{
	char home[KLIC_PATH_MAX];
	int r;

	if ((r = klic_home_resolve(home, klic_host_os(), g->home, env_get, pw_home)) != 0)
		return klic_cli_fail(&klic_main_cli, "home", r);
	if ((r = klic_keys_init()) != 0)
		return klic_cli_fail(&klic_main_cli, "gpgme", r);
	if ((r = klic_user_setup(u, home, g->gnupghome, g->passphrase_file)) != 0)
		return klic_cli_fail(&klic_main_cli, home, r);
	return 0;
}

int klic_main_is_folder(const char *path)
{
	struct stat st;
	return path != NULL && strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

int klic_main_refuse_folder(const char *cmd, const char *path, const char *what)
{
	char p[KLIC_PATH_MAX];

	if (!klic_main_is_folder(path))
		return 0;
	(void)klic_printable_copy(p, sizeof(p), path, SIZE_MAX);
	fprintf(stderr, "klic: %s: is a folder: %s takes %s (see 'klic %s%s--help')\n", p, cmd,
		what, cmd[0] == '-' ? "" : cmd, cmd[0] == '-' ? "" : " ");
	return KLIC_EXIT_USAGE;
}

int klic_main_home_made(const struct klic_user *u)
{
	struct stat st;
	char dir[KLIC_PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s/klic", u->home);

	return n > 0 && (size_t)n < sizeof(dir) && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int klic_main_user_open_home(struct klic_user *u, const struct globals *g, const char *cmd)
{
	struct stat st;
	int r;

	if ((r = klic_main_user_open(u, g)) != 0)
		return r;
	/* a keyring given with --gnupghome is the user's business; our own
	 * is made by 'klic init' */
	if (u->own_keyring && stat(u->gnupghome, &st) != 0 && errno == ENOENT) {
		char home[KLIC_PATH_MAX];
		(void)klic_printable_copy(home, sizeof(home), u->home, SIZE_MAX);
		fprintf(stderr, "klic: %s: no klic home at %s: run 'klic init' first\n", cmd, home);
		klic_user_dispose(u);
		return KLIC_EXIT_REFUSED;
	}
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
	while ((ch = klic_cli_next_opt(&klic_main_cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&klic_main_cli, c);
			return 1000 + KLIC_EXIT_OK;
		}
		return 1000 + KLIC_EXIT_USAGE;
	}
	if (argc - optind != nargs) {
		klic_cli_usage(&klic_main_cli, c->name, what,
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
		return klic_cli_fail(&klic_main_cli, "/etc/machine-id", r);
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
	while ((ch = klic_cli_next_opt(&klic_main_cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&klic_main_cli, c);
			return KLIC_EXIT_OK;
		} else if (ch == 'n' && name == NULL) {
			name = optarg;
		} else if (ch == 'e' && email == NULL) {
			email = optarg;
		} else if (ch == 'n' || ch == 'e') {
			return klic_cli_usage(&klic_main_cli, c->name, "repeated option", argv[optind - 1]);
		} else {
			return KLIC_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return klic_cli_usage(&klic_main_cli, c->name, "unexpected argument", argv[optind]);
	if (name == NULL || email == NULL)
		return klic_cli_usage(&klic_main_cli, c->name, "--name and --email are required", NULL);
	/* UTF-8 names are normal in OpenPGP user IDs; control characters and
	 * invalid bytes are not */
	if (name[0] == '\0' || strlen(name) > KLIC_MAX_TEXT_LEN ||
	    !klic_text_utf8_ok(name, strlen(name)))
		return klic_cli_usage(&klic_main_cli, c->name,
				      "--name: 1-200 bytes of UTF-8 text, no control characters",
				      NULL);
	if (email[0] == '\0' || strlen(email) > KLIC_MAX_TEXT_LEN ||
	    !klic_is_printable(email, strlen(email)))
		return klic_cli_usage(&klic_main_cli, c->name,
				      "--email: 1-200 printable ASCII characters", NULL);
	if ((r = klic_main_user_open(&u, g)) != 0)
		return r;
	r = klic_user_init(&u, fpr, name, email);
	if (r != 0) {
		r = klic_cli_fail(&klic_main_cli, u.gnupghome, r);
	} else {
		/* name checked above: UTF-8 text without control characters */
		printf("key %s %s <%s>\n", fpr, name, email);
		if (u.n_issuers == 0)
			printf("next: pin your admin's issuer key (klic-admin export-key gives it): "
			       "klic trust ISSUER.asc\n");
		else
			printf("next: klic request --product KRE|KSE, and give the .kreq to your "
			       "admin\n");
	}
	klic_user_dispose(&u);
	return r;
}

static int cmd_trust(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	char fpr[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1], own[KLIC_FPR_HEX_LEN + 1];
	struct klic_user u;
	int r, added = 0;

	if ((r = simple_args(c, argc, argv, 1, "expects one key file")) != 0)
		return r - 1000;
	if ((r = klic_main_refuse_folder(c->name, argv[optind], "one key file")) != 0)
		return r;
	if ((r = klic_main_user_open(&u, g)) != 0)
		return r;
	r = klic_user_trust(&u, fpr, uid, &added, argv[optind]);
	if (r != 0) {
		r = klic_cli_fail(&klic_main_cli, argv[optind], r);
	} else {
		/* the key lookup may fork (GPGME): asked before anything is
		 * printed, so no child can inherit and flush a buffered line */
		int have_key = klic_key_secret_fpr(u.kr, own) == 0;
		/* uid is a printable copy */
		printf("issuer %s %s (%s)\n", fpr, uid, added ? "pinned" : "already pinned");
		if (!have_key)
			printf("next: make your key: klic init --name NAME --email EMAIL\n");
		else
			printf("next: klic request --product KRE|KSE, give the .kreq to your admin, "
			       "then: klic install FILE.kresp\n");
		klic_error_clear();
	}
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

/* One key from the terminal: 1 to go on, 0 for q, ^C or end of input. */
static int qr_next_key(void)
{
	char key = 0;
	return read(STDIN_FILENO, &key, 1) == 1 && key != 'q' && key != 'Q' && key != 3;
}

/* --qr: the request as numbered codes that each fit 80x24 (spec/ARMOR.md
 * section 5).  On a terminal: a note first when it is smaller than a code
 * needs, then one code a screen, the next after a keypress ("q" stops);
 * otherwise every code, each followed by its caption line. */
static int show_qr_parts(const char *armor, size_t alen, size_t *shown)
{
	struct klic_qr **codes = NULL;
	size_t n = 0, total;
	int r, small, tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	struct winsize ws;
	struct termios saved, raw;

	*shown = 0;
	if ((r = klic_qr_encode_parts(&codes, &n, NULL, KLIC_KIND_REQUEST, armor, alen)) != 0)
		return klic_cli_fail(&klic_main_cli, "qr", r);
	total = n;
	small = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
		ws.ws_col > 0 && (ws.ws_col < KLIC_QR_TERM_COLS || ws.ws_row < KLIC_QR_TERM_LINES);
	if (small)
		fprintf(stderr,
			"klic: request: note: each QR code needs %d columns and %d lines, the "
			"terminal has %ux%u: enlarge the window or use a smaller font (or "
			"--qr-png FILE)\n",
			KLIC_QR_TERM_COLS, KLIC_QR_TERM_LINES, (unsigned)ws.ws_col,
			(unsigned)ws.ws_row);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO | ISIG); /* ^C: a key that stops */
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		tty = 0;
	}
	if (tty && small) {
		/* the note stays readable until the user has seen it */
		printf("press a key to show them anyway (q stops)");
		fflush(stdout);
		if (!qr_next_key())
			n = 0;
		putchar('\n');
	}
	for (size_t i = 0; i < n; i++) {
		char *text = NULL;
		size_t tlen = 0;
		if ((r = klic_qr_render_text(&text, &tlen, codes[i])) != 0) {
			r = klic_cli_fail(&klic_main_cli, "qr", r);
			break;
		}
		if (tty)
			fputs("\033[H\033[2J", stdout);
		fwrite(text, 1, tlen, stdout);
		free(text);
		*shown = i + 1;
		if (!tty) {
			printf("part %zu/%zu\n", i + 1, n);
			continue;
		}
		printf("part %zu/%zu: scan it, then press a key%s", i + 1, n,
		       i + 1 < n ? " for the next (q stops)" : "");
		fflush(stdout);
		if (!qr_next_key())
			break;
	}
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		if (*shown > 0)
			fputs("\033[H\033[2J", stdout);
	}
	fflush(stdout);
	if (r == 0 && *shown < total)
		fprintf(stderr, "klic: request: stopped after %zu of %zu QR codes\n", *shown,
			total);
	klic_qr_free_parts(codes, total);
	return r == 0 ? (int)total : r > 0 ? -r : r;
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
	return r != 0 ? klic_cli_fail(&klic_main_cli, file, r) : KLIC_EXIT_OK;
}

/* Where request writes, checked before anything is made: binary gzip or
 * PNG on a terminal is garbage (armor is text and may go there); a folder
 * is no file name.  0 or the exit status. */
static int request_outputs_ok(const struct klic_cmd *c, const char *out, const char *png,
			      unsigned flags)
{
	int r;

	if (out != NULL && strcmp(out, "-") == 0 && (flags & KLIC_REQUEST_ARMOR) == 0 &&
	    (r = klic_cli_binary_stdout(&klic_main_cli, c->name, "request")) != 0)
		return r;
	if (png != NULL && strcmp(png, "-") == 0 &&
	    (r = klic_cli_binary_stdout(&klic_main_cli, c->name, "PNG")) != 0)
		return r;
	if ((r = klic_main_refuse_folder(c->name, out, "-o FILE, a file name")) != 0 ||
	    (r = klic_main_refuse_folder(c->name, png, "--qr-png FILE, a file name")) != 0)
		return r;
	return 0;
}

/* klic request --renew: the licenses to renew (*rn, owned by the caller),
 * or the exit status after the failure was printed: a file that is not a
 * valid license of this machine, or nothing to renew (exit 1). */
static int renewal_collect(struct klic_user *u, struct klic_renewal **rn, const char *product,
			   char **files, size_t nfiles)
{
	char bad[KLIC_PATH_MAX];
	int r;

	if ((*rn = calloc(1, sizeof **rn)) == NULL)
		return klic_cli_fail(&klic_main_cli, "request", KLIC_ERR_NOMEM);
	r = klic_user_renewal_collect(u, *rn, bad, sizeof bad, product,
				      (const char *const *)files, nfiles);
	if (r != 0)
		return klic_cli_fail(&klic_main_cli, bad[0] != '\0' ? bad : u->licdir, r);
	if ((*rn)->n == 0) {
		fprintf(stderr, "klic: %s: no valid %s license of this machine to renew\n",
			u->licdir, product);
		return KLIC_EXIT_REFUSED;
	}
	return 0;
}

/* "renews FILE ID (expires T)" for each license a renewal names. */
static void print_renews(const struct klic_renewal *rn)
{
	for (unsigned i = 0; rn != NULL && i < rn->n; i++) {
		char ex[KLIC_TIME_LEN + 1];
		(void)klic_time_format(ex, rn->expires[i]);
		printf("renews %s %s (expires %s)\n", rn->files[i], rn->ids[i], ex);
	}
}

#define RENEW_FLAG 0x100u /* --renew, among the flags while parsing */

/* The arguments' usage rules: files only with --renew, which takes no
 * --seats and needs --product or files; else --product is required. */
static int request_args_ok(const struct klic_cmd *c, int renew, const char *product,
			   const char *seats_s, int nfiles, const char *first)
{
	if (!renew && nfiles > 0)
		return klic_cli_usage(&klic_main_cli, c->name, "unexpected argument", first);
	if (!renew && product == NULL)
		return klic_cli_usage(&klic_main_cli, c->name, "--product KRE|KSE is required", NULL);
	if (product != NULL && strcmp(product, "KRE") != 0 && strcmp(product, "KSE") != 0)
		return klic_cli_usage(&klic_main_cli, c->name, "--product must be KRE or KSE", product);
	if (!renew)
		return 0;
	if (seats_s != NULL)
		return klic_cli_usage(&klic_main_cli, c->name,
				      "--renew asks one seat per license it renews: no --seats",
				      seats_s);
	if (product == NULL && nfiles == 0)
		return klic_cli_usage(&klic_main_cli, c->name,
				      "--renew needs --product KRE|KSE or license files", NULL);
	return 0;
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
					   {"renew", no_argument, NULL, 'R'},
					   HELP_OPT,
					   {NULL, 0, NULL, 0}};
	const char *product = NULL, *out = NULL, *seats_s = NULL, *png = NULL;
	struct klic_renewal *rn = NULL;
	char path[KLIC_PATH_MAX], digest[KLIC_SHA256_HEX_LEN + 1], *armor = NULL;
	size_t alen = 0;
	unsigned seats = 1, flags = 0;
	struct klic_qr *qr = NULL;
	struct klic_user u;
	int ch, r, to_stdout = 0, qr_text, nparts = 0, renew;
	size_t shown = 0;

	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(&klic_main_cli, c, argc, argv, ":o:", lo)) != -1) {
		const char **slot = ch == 'p'   ? &product
				    : ch == 's' ? &seats_s
				    : ch == 'o' ? &out
				    : ch == 'Q' ? &png
						: NULL;
		unsigned bit = ch == 'a'   ? KLIC_REQUEST_ARMOR
			       : ch == 'q' ? KLIC_REQUEST_QR
			       : ch == 'R' ? RENEW_FLAG
					   : 0;
		if (ch == 'h') {
			klic_cli_help(&klic_main_cli, c);
			return KLIC_EXIT_OK;
		}
		if (bit != 0) {
			if ((flags & bit) != 0)
				return klic_cli_usage(&klic_main_cli, c->name, "repeated option",
						      argv[optind - 1]);
			flags |= bit;
			continue;
		}
		if (slot == NULL)
			return KLIC_EXIT_USAGE;
		if (*slot != NULL)
			return klic_cli_usage(&klic_main_cli, c->name, "repeated option",
					      ch == 'p'   ? "--product"
					      : ch == 's' ? "--seats"
					      : ch == 'o' ? "-o"
							  : "--qr-png");
		*slot = optarg;
	}
	renew = (flags & RENEW_FLAG) != 0;
	flags &= ~RENEW_FLAG;
	if ((r = request_args_ok(c, renew, product, seats_s, argc - optind, argv[optind])) != 0)
		return r;
	if (seats_s != NULL && parse_seats(&seats, seats_s) != 0)
		return klic_cli_usage(&klic_main_cli, c->name, "--seats must be a number from 1 to 64",
				      seats_s);
	if (product != NULL && strcmp(product, "KSE") == 0 && seats != 1)
		return klic_cli_usage(&klic_main_cli, c->name, "KSE is licensed one seat per machine",
				      seats_s);
	if (out != NULL && out[0] == '\0')
		return klic_cli_usage(&klic_main_cli, c->name, "-o needs a file name", NULL);
	if (png != NULL && png[0] == '\0')
		return klic_cli_usage(&klic_main_cli, c->name, "--qr-png needs a file name", NULL);
	/* one thing at most on standard output */
	to_stdout = (out != NULL && strcmp(out, "-") == 0) + ((flags & KLIC_REQUEST_QR) != 0) +
		    (png != NULL && strcmp(png, "-") == 0);
	if (to_stdout > 1)
		return klic_cli_usage(&klic_main_cli, c->name,
				      "only one of -o -, --qr and --qr-png - can use stdout", NULL);
	if ((r = request_outputs_ok(c, out, png, flags)) != 0)
		return r;
	qr_text = (flags & KLIC_REQUEST_QR) != 0;
	if (png != NULL)
		flags |= KLIC_REQUEST_QR; /* the request must fit before it is made */
	if ((r = klic_main_user_open_home(&u, g, c->name)) != 0)
		return r;
	if (renew && (r = renewal_collect(&u, &rn, product, argv + optind,
					  (size_t)(argc - optind))) != 0)
		goto out; /* the licenses to renew: checked before anything is made */
	r = renew ? klic_user_request_renew(&u, path, digest, rn, out, flags, &armor, &alen)
		  : klic_user_request(&u, path, digest, product, seats, out, flags, &armor, &alen);
	if (r != 0) {
		r = klic_cli_fail(&klic_main_cli, path[0] != '\0' ? path : "request", r);
		goto out;
	}
	if (png != NULL && (r = klic_qr_encode(&qr, (const uint8_t *)armor, alen)) != 0) {
		r = klic_cli_fail(&klic_main_cli, "qr", r);
		goto out;
	}
	if (png != NULL && (r = write_qr_png(qr, png)) != 0)
		goto out;
	if (qr_text && (nparts = show_qr_parts(armor, alen, &shown)) < 0) {
		r = -nparts;
		goto out;
	}
	r = KLIC_EXIT_OK;
	if (strcmp(path, "-") == 0 || (png != NULL && strcmp(png, "-") == 0))
		goto out; /* standard output carries the data only */
	printf("%s\nrequest digest: %s\n", path, digest);
	print_renews(rn);
	if (qr != NULL)
		printf("QR code: version %d, level %c, %d modules (+%d quiet zone), %zu bytes of "
		       "armored text%s%s\n",
		       klic_qr_version(qr), klic_qr_level(qr), klic_qr_width(qr), KLIC_QR_QUIET,
		       alen, png != NULL ? "; PNG: " : "", png != NULL ? png : "");
	if (qr_text)
		printf("QR codes: %zu of %d parts shown, each at most %d columns and %d lines "
		       "(version %d or less)\n",
		       shown, nparts, KLIC_QR_TERM_COLS, KLIC_QR_TERM_LINES, KLIC_QR_TERM_VERSION);
out:
	free(rn);
	klic_qr_free(qr);
	free(armor);
	klic_user_dispose(&u);
	return r;
}

json_t *klic_main_json_str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* The options of a command whose only option is --json (and --help):
 * -1 to go on, else the exit status to return. */
int klic_main_json_only_args(const struct klic_cmd *c, int argc, char **argv, const struct option *lo,
			  int *json)
{
	int ch;

	*json = 0;
	klic_cli_opt_reset();
	while ((ch = klic_cli_next_opt(&klic_main_cli, c, argc, argv, ":", lo)) != -1) {
		if (ch == 'h') {
			klic_cli_help(&klic_main_cli, c);
			return KLIC_EXIT_OK;
		}
		if (ch == 'j' && !*json)
			*json = 1;
		else if (ch == 'j')
			return klic_cli_usage(&klic_main_cli, c->name, "repeated option", "--json");
		else
			return KLIC_EXIT_USAGE;
	}
	if (optind != argc)
		return klic_cli_usage(&klic_main_cli, c->name, "unexpected argument", argv[optind]);
	return -1;
}

static int cmd_doctor(const struct klic_cmd *c, void *ctx, int argc, char **argv)
{
	const struct globals *g = ctx;
	static const struct option lo[] = {
	    {"json", no_argument, NULL, 'j'}, HELP_OPT, {NULL, 0, NULL, 0}};
	struct klic_doctor_report *rep = NULL;
	char home[KLIC_PATH_MAX];
	int json = 0, r;

	if ((r = klic_main_json_only_args(c, argc, argv, lo, &json)) != -1)
		return r;
	if ((r = klic_home_resolve(home, klic_host_os(), g->home, env_get, pw_home)) != 0)
		return klic_cli_fail(&klic_main_cli, "home", r);
	if ((r = klic_keys_init()) != 0)
		return klic_cli_fail(&klic_main_cli, "gpgme", r);
	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return klic_cli_fail(&klic_main_cli, "doctor", klic_error_set(KLIC_ERR_NOMEM, "doctor"));
	if ((r = klic_doctor_run(rep, home, g->gnupghome, klic_now())) != 0) {
		free(rep);
		return klic_cli_fail(&klic_main_cli, home, r);
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
			return klic_cli_fail(&klic_main_cli, "doctor",
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
     "\n  --name NAME    your name (UTF-8, at most 200 bytes, no control characters)\n"
     "  --email EMAIL  your e-mail address (ASCII)\n"
     "Refused when the keyring already holds a secret key.  Prints\n"
     "'key FINGERPRINT NAME <EMAIL>' and the next step.\n",
     NULL, 0},
    {"trust", cmd_trust, "Pin an issuer (admin) public key; prints its fingerprint and name.",
     "trust FILE.asc",
     "\nOnly responses signed by a pinned issuer are accepted.  Prints\n"
     "'issuer FINGERPRINT USER-ID (pinned|already pinned)' and the next step.\n"
     "FILE may be binary or ASCII-armored; - reads standard input.\n",
     NULL, 0},
    {"request", cmd_request, "Write a signed license request (.kreq).",
     "request --product KRE|KSE [--seats N] [-o FILE] [--armor] [--qr | --qr-png FILE]\n"
     "       klic request --renew [--product KRE|KSE] [FILE.lic ...] [-o FILE] [--armor] ...",
     "\n  --product KRE|KSE  the product\n"
     "  --renew            ask to renew this machine's valid licenses of the product\n"
     "                     (all of them, or the FILE.lic named) without a new seat:\n"
     "                     the answer replaces them under the same names\n"
     "  --seats N          licenses wanted (KRE 1..64, KSE 1; default 1)\n"
     "  -o, --output FILE  where to write (default PRODUCT_MACHINEID.kreq; - is stdout,\n"
     "                     refused on a terminal unless --armor)\n"
     "  --armor            write ASCII text (-----BEGIN KLIC REQUEST-----) that can be\n"
     "                     pasted into an e-mail body or a chat\n"
     "  --qr               also print the request on the terminal as numbered QR\n"
     "                     codes that each fit 80x24, for a phone camera; on a\n"
     "                     terminal one at a time, a key shows the next (q stops);\n"
     "                     klic-admin joins the scanned parts in any order\n"
     "  --qr-png FILE      also write the request as one QR code in a PNG image\n"
     "                     (- is stdout; the code holds the armored text)\n"
     "Refused before anything is written when the request does not fit one QR code.\n"
     "Prints the file written and the request digest (nothing when stdout carries\n"
     "the request or the PNG).\n",
     NULL, 0},
    {"install", klic_cmd_install, "Verify a response (.kresp) and install its licenses.",
     "install [--vendor VENDOR.asc] FILE.kresp | install [--vendor VENDOR.asc] DIR",
     "\nDIR (a shared USB stick): every *.kresp in it that answers a request made\n"
     "here is installed; those for other machines are named and left alone.\n"
     "FILE may be binary or armored (-----BEGIN KLIC RESPONSE-----, also as saved\n"
     "from an e-mail); - reads standard input.  The response must be signed by a\n"
     "pinned issuer (it comes from your organization); its license is also checked\n"
     "all the way to the vendor (see 'klic verify --help') against:\n"
     "  --vendor VENDOR.asc  exactly this vendor key, else the product's key in\n"
     "                       " KLIC_VENDOR_DIR_HELP " when one is installed (without one\n"
     "                       a note says the chain was not checked).\n"
     "Nothing is installed unless every check passed; prints each installed path\n"
     "and the vendor checked against.\n",
     NULL, 0},
    {"return", klic_cmd_return,
     "Give licenses of this machine back: delete them, write a signed receipt (.kret).",
     "return (--product KRE|KSE | FILE.lic ...) -o FILE.kret [--vendor VENDOR.asc] [--json]",
     "\n  --product KRE|KSE   every valid license of the product in the license folder\n"
     "  FILE.lic ...        exactly these (files in the license folder)\n"
     "  -o, --output FILE   the receipt to write (never over an existing file)\n"
     "  --vendor VENDOR.asc check the chain against this vendor key (else the\n"
     "                      product's installed key, when there is one)\n"
     "  --json              print what was returned as JSON (spec/CLI-JSON.md)\n"
     "Each license must be valid on this machine now; otherwise nothing changes.\n"
     "The receipt, signed by your key, names the license IDs, this machine, a\n"
     "nonce and the time; give it to your admin ('klic-admin return FILE.kret'),\n"
     "who frees the seats when the vendor made the entitlement returnable.\n"
     "A returned license is never installed here again.  The receipt proves that\n"
     "klic deleted its files, not that no copy was made before.\n",
     NULL, 0},
    {"status", klic_cmd_status, "List installed licenses: product, expiry, days left, validity.",
     "status [--json] [--vendor VENDOR.asc] [--expiring DAYS]",
     "\nEach license is checked as 'klic verify' does, against the vendor key of its\n"
     "product in " KLIC_VENDOR_DIR_HELP ", or:\n"
     "  --vendor VENDOR.asc  exactly this vendor key\n"
     "  --json               machine-readable output (keys: see klic(1))\n"
     "A valid license with 14 days left or fewer is marked 'expires soon'.\n"
     "  --expiring DAYS      for cron and monitoring: exit 1 (and one line on\n"
     "                       stderr) when a valid license has DAYS days left or\n"
     "                       fewer (1..365), else 0; expired licenses do not count\n",
     NULL, 0},
    {"verify", klic_cmd_verify, "Check one license for this machine; exit 0 only if valid now.",
     "verify [--vendor VENDOR.asc] FILE.lic | verify [--vendor VENDOR.asc] --name NAME.lic -",
     "\nA license is valid only when it chains to the vendor: the issuer key it\n"
     "carries signed it, the vendor entitlement it carries is signed by the vendor\n"
     "key, names that issuer and covers the license (product, node-locked yearly,\n"
     "period, at most 60 days, seats), then this machine, its file name, not\n"
     "expired, the clock.  The vendor key:\n"
     "  --vendor VENDOR.asc  exactly this key, else PRODUCT.asc in " KLIC_VENDOR_DIR_HELP "\n"
     "                       (refused unless it, the folder and its parent are\n"
     "                       root's and writable by no one else)\n"
     "Prints the vendor checked against, the product, the expiry and the days left.\n"
     "A license's file name selects its seat, so a license read from standard\n"
     "input (-) needs its name:\n"
     "  --name NAME.lic      the license's file name (PRODUCT_MACHINEID[_K].lic)\n",
     NULL, 0},
    {"doctor", cmd_doctor,
     "Check the home folder, keys, issuers, clock, machine ID, vendor keys and licenses.",
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
	if (klic_main_refuse_folder("--passphrase-file", g.passphrase_file, "a file") != 0)
		return KLIC_EXIT_USAGE;
	return klic_cli_dispatch(&klic_main_cli, NULL, cmds, sizeof(cmds) / sizeof(cmds[0]), &g,
				 argc - optind, argv + optind);
}
