/* klic-admin — what the tool's command files share: its global options, its
 * klic_cli (bundle/cli/klic_cli.h) and opening the admin state.  Only the
 * tool's own files include this. */
#ifndef KLIC_ADMIN_CLI_H
#define KLIC_ADMIN_CLI_H

#include <stddef.h>

#include "klic_cli.h"
#include "klic_response.h"

#define PROG "klic-admin"

/* The global options, the ctx of every command. */
struct global {
	const char *state_opt;
	const char *gnupghome;
	const char *passphrase_file;
	const char *ledger; /* --ledger (also in $KLIC_LEDGER) */
	char state[4096];
};

extern const struct klic_cli admin_cli;

/* A command as klic_cli_next_opt names it in its messages: a sub-verb
 * under its full name ("member add"). */
#define CMD_AS(full_name) (&(const struct klic_cmd){.name = (full_name)})

/* Open the admin state of g; 0, or the exit status after the failure was
 * printed. */
int admin_open(struct klic_admin **a, const struct global *g);

/* A command whose sub-verbs are in c->sub: "CMD --help" prints c->help, a
 * missing or unknown sub-verb is the usage error "expected 'a' or 'b'",
 * else the sub-verb runs (klic_cli_dispatch). */
int admin_sub(const struct klic_cmd *c, void *ctx, int argc, char **argv);

/* The commands in cmd_issue.c and cmd_report.c. */
int cmd_issue(const struct klic_cmd *c, void *ctx, int argc, char **argv);
int cmd_list(const struct klic_cmd *c, void *ctx, int argc, char **argv);
int cmd_report(const struct klic_cmd *c, void *ctx, int argc, char **argv);
extern const char issue_help[], list_help[], report_help[];

/* klic-admin policy (cmd_policy.c). */
int cmd_policy(const struct klic_cmd *c, void *ctx, int argc, char **argv);
extern const char policy_help[];

/* The entitlement and vendor sub-verbs (cmd_ent.c). */
#define N_ENT_CMDS 2
#define N_VENDOR_CMDS 1
extern const struct klic_cmd ent_cmds[N_ENT_CMDS], vendor_cmds[N_VENDOR_CMDS];
extern const char ent_help[], vendor_help[];

/* The usage sub-verbs (cmd_usage.c): usage export. */
#define N_USAGE_CMDS 1
extern const struct klic_cmd usage_cmds[N_USAGE_CMDS];
extern const char usage_help[];

/* The ledger sub-verbs (cmd_ledger.c): ledger migrate. */
#define N_LEDGER_CMDS 1
extern const struct klic_cmd ledger_cmds[N_LEDGER_CMDS];
extern const char ledger_help[];

#endif
