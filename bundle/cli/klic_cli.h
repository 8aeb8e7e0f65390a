/* klic — what the command-line tools (klic, klic-admin) share: one command
 * table shape, one way to print a failure or a usage error, one option
 * loop.  Only the tools' mains use this; libraries never print. */
#ifndef KLIC_CLI_H
#define KLIC_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#define KLIC_EXIT_OK 0
#define KLIC_EXIT_REFUSED 1
#define KLIC_EXIT_USAGE 2

/* One command (or sub-verb) of a tool.  A command with sub-verbs has
 * fn == NULL and sub/nsub set; klic_cli_dispatch() then picks the sub-verb
 * from the next word. */
struct klic_cmd {
	const char *name;
	/* ctx is the tool's own state (its global options); argv[0] is the
	 * command's name; getopt is reset before the call. */
	int (*fn)(const struct klic_cmd *c, void *ctx, int argc, char **argv);
	const char *summary; /* one line, for the tool's --help */
	const char *usage;   /* "init --name NAME ...": what follows "PROG [GLOBAL OPTIONS] " */
	const char *help;    /* the rest of the command's --help (options, notes) */
	const struct klic_cmd *sub; /* sub-verbs, or NULL */
	size_t nsub;
};

/* The running tool: its name and its global-options line for --help. */
struct klic_cli {
	const char *prog;    /* "klic" */
	const char *globals; /* "[--home DIR] [--gnupghome DIR]", shown in usage lines */
};

/* One line on stderr: "PROG: FILE: <message>[: <detail>]", FILE and the
 * detail with every non-printable byte replaced.  Returns the exit status
 * for code (klic_exit_code). */
int klic_cli_fail(const struct klic_cli *cli, const char *file, int code);

/* "PROG: CMD: MSG[: ARG] (see 'PROG CMD --help')" on stderr; returns
 * KLIC_EXIT_USAGE. */
int klic_cli_usage(const struct klic_cli *cli, const char *cmd, const char *msg, const char *arg);

/* A command's --help on stdout: "usage: PROG GLOBALS USAGE", the summary,
 * the help text; for a command with sub-verbs, each sub-verb's usage. */
void klic_cli_help(const struct klic_cli *cli, const struct klic_cmd *c);

/* The list "  NAME  SUMMARY" of a table, names padded to `width`. */
void klic_cli_list(FILE *f, const struct klic_cmd *tab, size_t n, int width);

/* Reset getopt before a command parses its own options. */
void klic_cli_opt_reset(void);

/* One step of a command's option loop (getopt_long with shortopts, which
 * should start with ":").  Returns -1 when the options are done (optind
 * at the first operand), 'h' for --help, '?' for a usage error (already
 * printed, naming the option), else the option's value in lo. */
int klic_cli_next_opt(const struct klic_cli *cli, const struct klic_cmd *c, int argc, char **argv,
		      const char *shortopts, const struct option *lo);

/* For the tool's own (global) option loop: ch '?' or ':' from getopt_long
 * just now: "PROG: unknown option '--foo' (see 'PROG --help')" or "PROG: a
 * value is needed after '--state' ...".  Returns KLIC_EXIT_USAGE. */
int klic_cli_global_opt_error(const struct klic_cli *cli, int ch, int argc, char **argv);

/* Set an option once: *slot = val, or a usage error ("option NAME given
 * twice") when it was set before.  0 or KLIC_EXIT_USAGE. */
int klic_cli_once(const struct klic_cli *cli, const char *cmd, const char **slot, const char *val,
		  const char *name);

/* A decimal number 0..max, digits only.  0, or -1 when s is not one. */
int klic_cli_uint(unsigned *out, const char *s, unsigned max);

/* Before writing binary bytes (gzip) to standard output for "-o -": a
 * usage error "refusing to write binary WHAT to a terminal (use -o FILE,
 * --armor or a pipe)" when standard output is a terminal; 0 otherwise. */
int klic_cli_binary_stdout(const struct klic_cli *cli, const char *cmd, const char *what);

/* A value as a person types it, for a field that is upper case: ASCII
 * letters upper-cased, spaces dropped ("kre" -> "KRE", a fingerprint as gpg
 * prints it in groups).  dst, or NULL when it does not fit. */
const char *klic_cli_upper(char *dst, size_t dstsz, const char *src);

/* Before a command opens the file an option or operand names: a usage
 * error "PROG: PATH: is a folder, not a file (CMD expects WHAT)" when path
 * is an existing folder; 0 otherwise (a missing file is for the command to
 * report).  path NULL or "-": 0. */
int klic_cli_not_folder(const struct klic_cli *cli, const char *cmd, const char *path,
			const char *what);

/* Run the command or sub-verb argv[0] from tab: its fn, or, for a
 * command with sub-verbs, the sub-verb named by argv[1] ("CMD --help"
 * prints the command's help).  parent is the name of the command whose
 * sub-verbs tab holds (NULL at the top level), for messages.  An unknown
 * name is a usage error naming it. */
int klic_cli_dispatch(const struct klic_cli *cli, const char *parent, const struct klic_cmd *tab,
		      size_t n, void *ctx, int argc, char **argv);

#endif
