/* klic-vendor — what the tool's command files share: its global options,
 * its klic_cli (bundle/cli/klic_cli.h) and opening the vendor state.  Only
 * the tool's own files include this. */
#ifndef KLIC_VENDOR_CLI_H
#define KLIC_VENDOR_CLI_H

#include "klic_cli.h"
#include "klic_vendor.h"

/* The global options, the ctx of every command. */
struct vendor_global {
	const char *state_opt;
	char state[KLIC_VENDOR_PATH_MAX];
};

extern const struct klic_cli vendor_cli;

/* Open the vendor state of g; 0, or the exit status after the failure was
 * printed. */
int vendor_open(struct klic_vendor **v, const struct vendor_global *g);

/* A command with only --help and exactly nargs operands: 0 to go on, or
 * 1000 + the exit status (help printed, or a usage error printed). */
int vendor_noargs(const struct klic_cmd *c, int argc, char **argv, int nargs, const char *what);

/* entitle (cmd_entitle.c). */
int vendor_entitle(const struct klic_cmd *c, void *ctx, int argc, char **argv);
extern const char vendor_entitle_help[];

/* usage verify (cmd_trueup.c). */
int vendor_usage_verify(const struct klic_cmd *c, void *ctx, int argc, char **argv);
extern const char vendor_usage_help[];

#endif
