/* klic — the command-line tools' shared helpers (klic_cli.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_cli.h"
#include "klic_error.h"
#include "klic_util.h"

#define NAME_MAX_SHOWN 4096

int klic_cli_fail(const struct klic_cli *cli, const char *file, int code)
{
	char f[NAME_MAX_SHOWN], d[512];
	const char *detail = klic_error_detail();

	klic_printable_copy(f, sizeof f, file, SIZE_MAX);
	if (detail != NULL && detail[0] != '\0')
		fprintf(stderr, "%s: %s: %s: %s\n", cli->prog, f, klic_strerror(code),
			klic_printable_copy(d, sizeof d, detail, SIZE_MAX));
	else
		fprintf(stderr, "%s: %s: %s\n", cli->prog, f, klic_strerror(code));
	return klic_exit_code(code);
}

int klic_cli_usage(const struct klic_cli *cli, const char *cmd, const char *msg, const char *arg)
{
	char a[NAME_MAX_SHOWN];

	if (arg != NULL)
		fprintf(stderr, "%s: %s: %s: %s (see '%s %s --help')\n", cli->prog, cmd, msg,
			klic_printable_copy(a, sizeof a, arg, SIZE_MAX), cli->prog, cmd);
	else
		fprintf(stderr, "%s: %s: %s (see '%s %s --help')\n", cli->prog, cmd, msg, cli->prog,
			cmd);
	return KLIC_EXIT_USAGE;
}

void klic_cli_help(const struct klic_cli *cli, const struct klic_cmd *c)
{
	printf("usage: %s %s %s\n", cli->prog, cli->globals, c->usage);
	for (size_t i = 0; i < c->nsub; i++)
		printf("       %s %s %s\n", cli->prog, cli->globals, c->sub[i].usage);
	printf("\n%s\n%s", c->summary, c->help != NULL ? c->help : "");
}

void klic_cli_list(FILE *f, const struct klic_cmd *tab, size_t n, int width)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-*s %s\n", width, tab[i].name, tab[i].summary);
}

void klic_cli_opt_reset(void)
{
	optind = 0; /* full re-initialisation of GNU getopt */
	opterr = 0;
}

/* The placeholder after global option opt (len bytes, "--home") in the
 * globals line "[--home DIR] [--gnupghome DIR]": "DIR", "" for a flag;
 * NULL when opt is not a global option. */
static const char *global_arg(char *arg, size_t argsz, const char *globals, const char *opt,
			      size_t len)
{
	for (const char *p = globals; p != NULL && (p = strstr(p, opt)) != NULL; p += len) {
		size_t k;
		if ((p != globals && p[-1] != '[' && p[-1] != ' ' && p[-1] != '|') ||
		    (p[len] != ' ' && p[len] != ']' && p[len] != '=' && p[len] != '\0'))
			continue;
		p += len;
		if (*p == ' ' || *p == '=') {
			p++;
			k = strcspn(p, " ]|");
		} else {
			k = 0;
		}
		snprintf(arg, argsz, "%.*s", (int)k, p);
		return arg;
	}
	return NULL;
}

/* The option getopt just refused, as the user wrote it ("--name" without
 * "=value", or "-x"), printable; its length before '=' in *len. */
static void refused_opt(char *shown, size_t shownsz, char *opt, size_t optsz, size_t *len, int argc,
			char **argv)
{
	const char *bad = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

	if (strncmp(bad, "--", 2) != 0 && optopt > 0 && optopt < 0x7f)
		snprintf(opt, optsz, "-%c", optopt); /* a short option, maybe in a group */
	else
		snprintf(opt, optsz, "%s", bad);
	*len = strcspn(opt, "="); /* --name=value: the option is --name */
	opt[*len] = '\0';
	klic_printable_copy(shown, shownsz, opt, SIZE_MAX);
}

int klic_cli_next_opt(const struct klic_cli *cli, const struct klic_cmd *c, int argc, char **argv,
		      const char *shortopts, const struct option *lo)
{
	int ch = getopt_long(argc, argv, shortopts, lo, NULL);
	char opt[256], shown[256], msg[1024], arg[64];
	const char *garg;
	size_t len;

	if (ch != '?' && ch != ':')
		return ch;
	refused_opt(shown, sizeof shown, opt, sizeof opt, &len, argc, argv);
	if (ch == ':') {
		snprintf(msg, sizeof msg, "option '%s' needs a value", shown);
	} else if (len > 2 && opt[0] == '-' &&
		   (garg = global_arg(arg, sizeof arg, cli->globals, opt, len)) != NULL) {
		snprintf(msg, sizeof msg,
			 "unknown option '%s': global options go before the command: %s %s%s%s %s",
			 shown, cli->prog, shown, garg[0] != '\0' ? " " : "", garg, c->name);
	} else {
		snprintf(msg, sizeof msg, "unknown option '%s'", shown);
	}
	klic_cli_usage(cli, c->name, msg, NULL);
	return '?';
}

int klic_cli_global_opt_error(const struct klic_cli *cli, int ch, int argc, char **argv)
{
	char opt[256], shown[256];
	size_t len;

	refused_opt(shown, sizeof shown, opt, sizeof opt, &len, argc, argv);
	fprintf(stderr, "%s: %s '%s' (see '%s --help')\n", cli->prog,
		ch == ':' ? "a value is needed after" : "unknown option", shown, cli->prog);
	return KLIC_EXIT_USAGE;
}

int klic_cli_once(const struct klic_cli *cli, const char *cmd, const char **slot, const char *val,
		  const char *name)
{
	char msg[128];

	if (*slot != NULL) {
		snprintf(msg, sizeof msg, "option %s given twice", name);
		return klic_cli_usage(cli, cmd, msg, NULL);
	}
	*slot = val;
	return 0;
}

int klic_cli_uint(unsigned *out, const char *s, unsigned max)
{
	char *end = NULL;
	unsigned long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int klic_cli_binary_stdout(const struct klic_cli *cli, const char *cmd, const char *what)
{
	char msg[160];

	if (!isatty(STDOUT_FILENO))
		return 0;
	snprintf(msg, sizeof msg,
		 "refusing to write binary %s to a terminal (use -o FILE, --armor or a pipe)",
		 what);
	return klic_cli_usage(cli, cmd, msg, NULL);
}

const char *klic_cli_upper(char *dst, size_t dstsz, const char *src)
{
	size_t o = 0;

	for (; *src != '\0'; src++) {
		if (*src == ' ')
			continue;
		if (o + 1 >= dstsz)
			return NULL;
		dst[o++] = *src >= 'a' && *src <= 'z' ? (char)(*src - 'a' + 'A') : *src;
	}
	dst[o] = '\0';
	return dst;
}

int klic_cli_not_folder(const struct klic_cli *cli, const char *cmd, const char *path,
			const char *what)
{
	char f[NAME_MAX_SHOWN];
	struct stat st;

	if (path == NULL || strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "%s: %s: is a folder, not a file (%s expects %s)\n", cli->prog,
		klic_printable_copy(f, sizeof f, path, SIZE_MAX), cmd, what);
	return KLIC_EXIT_USAGE;
}

static const struct klic_cmd *find(const struct klic_cmd *tab, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/* "expected 'a', 'b' or 'c'": the sub-verbs of c. */
static const char *expected(char *msg, size_t msgsz, const struct klic_cmd *c)
{
	size_t off = (size_t)snprintf(msg, msgsz, "expected");
	for (size_t i = 0; i < c->nsub && off < msgsz; i++)
		off += (size_t)snprintf(msg + off, msgsz - off, "%s '%s'",
					i == 0             ? ""
					: i + 1 == c->nsub ? " or"
							   : ",",
					c->sub[i].name);
	return msg;
}

int klic_cli_dispatch(const struct klic_cli *cli, const char *parent, const struct klic_cmd *tab,
		      size_t n, void *ctx, int argc, char **argv)
{
	const struct klic_cmd *c;
	char a[NAME_MAX_SHOWN];

	if (argc < 1 || (c = find(tab, n, argv[0])) == NULL) {
		if (parent == NULL)
			fprintf(stderr, "%s: %s: unknown command (see '%s --help')\n", cli->prog,
				argc < 1 ? "" : klic_printable_copy(a, sizeof a, argv[0], SIZE_MAX),
				cli->prog);
		else
			klic_cli_usage(cli, parent, "unknown sub-command",
				       argc < 1 ? NULL : argv[0]);
		return KLIC_EXIT_USAGE;
	}
	if (c->fn == NULL) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			klic_cli_help(cli, c);
			return KLIC_EXIT_OK;
		}
		if (argc < 2 || find(c->sub, c->nsub, argv[1]) == NULL) {
			char msg[256];
			return klic_cli_usage(cli, c->name, expected(msg, sizeof msg, c),
					      argc < 2 ? NULL : argv[1]);
		}
		return klic_cli_dispatch(cli, c->name, c->sub, c->nsub, ctx, argc - 1, argv + 1);
	}
	klic_cli_opt_reset();
	return c->fn(c, ctx, argc, argv);
}
