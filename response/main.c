/* klic-admin — the admin tool: argument parsing and output only; all
 * logic lives in libklic_response (HACKING.md, "thin mains").  The global
 * options, the command table and init, export-key, member and audit;
 * entitlement and vendor in cmd_ent.c, issue in cmd_issue.c, list and
 * report in cmd_report.c. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_cli.h"
#include "klic_members.h"
#include "serve_cli.h"

#ifndef KLIC_ADMIN_VERSION
#define KLIC_ADMIN_VERSION "unknown"
#endif

/* --ledger URL|PATH (global, or init's): the ledger of every command of
 * this process, and of the processes it starts, is $KLIC_LEDGER. */
static int set_ledger(const char *where)
{
	if (where[0] == '\0')
		return klic_cli_usage(&admin_cli, "options", "--ledger must not be empty", NULL);
	if (setenv(KLIC_LEDGER_ENV, where, 1) != 0)
		return klic_cli_fail(&admin_cli, "--ledger", KLIC_ERR_NOMEM);
	return 0;
}

/* ---- init ------------------------------------------------------------------ */

static const char init_help[] =
    "usage: klic-admin [--state DIR] [--gnupghome DIR] [--passphrase-file FILE]\n"
    "                  init --org NAME --name NAME --email EMAIL [--key FPR]\n"
    "                       --vendor VENDOR.asc [--ledger URL|PATH]\n"
    "Create the ledger and the Ed25519 issuing key (or adopt the existing secret\n"
    "key FPR, e.g. on a smartcard), and pin the vendor whose signed entitlements\n"
    "'entitlement import' accepts (its public key, from 'klic-vendor export-key';\n"
    "kept as STATE/vendor.asc, never in the issuer's keyring).  Refuses to\n"
    "re-initialize an existing ledger.\n"
    "  --ledger URL  a shared PostgreSQL ledger (postgresql://...): its schema is\n"
    "                made when the database is empty; an existing klic ledger of\n"
    "                the same org and vendor is joined (this admin's own key is\n"
    "                kept in STATE/issuer_fpr).  Name it in every later command\n"
    "                (--ledger or $KLIC_LEDGER).\n";

static int cmd_init(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
					     {"name", required_argument, NULL, 'n'},
					     {"email", required_argument, NULL, 'e'},
					     {"key", required_argument, NULL, 'k'},
					     {"vendor", required_argument, NULL, 'v'},
					     {"ledger", required_argument, NULL, 'l'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct klic_admin_init_opts o;
	char fpr[KLIC_FPR_HEX_LEN + 1], where[4096], shown[4200];
	const char *ledger = NULL;
	int c, r;

	memset(&o, 0, sizeof o);
	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("init"), argc, argv, "+:h", opts)) != -1) {
		switch (c) {
		case 'o':
			if ((r = klic_cli_once(&admin_cli, "init", &o.org, optarg, "--org")) != 0)
				return r;
			break;
		case 'n':
			if ((r = klic_cli_once(&admin_cli, "init", &o.name, optarg, "--name")) != 0)
				return r;
			break;
		case 'e':
			if ((r = klic_cli_once(&admin_cli, "init", &o.email, optarg, "--email")) !=
			    0)
				return r;
			break;
		case 'k':
			if ((r = klic_cli_once(&admin_cli, "init", &o.key_fpr, optarg, "--key")) !=
			    0)
				return r;
			break;
		case 'v':
			if ((r = klic_cli_once(&admin_cli, "init", &o.vendor, optarg,
					       "--vendor")) != 0)
				return r;
			break;
		case 'l':
			if ((r = klic_cli_once(&admin_cli, "init", &ledger, optarg, "--ledger")) !=
			    0)
				return r;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind != argc)
		return klic_cli_usage(&admin_cli, "init", "unexpected argument", NULL);
	/* init --ledger URL: the same as the global option */
	if (ledger != NULL && (r = set_ledger(ledger)) != 0)
		return r;
	if (o.org == NULL)
		return klic_cli_usage(&admin_cli, "init", "--org is required", NULL);
	if (o.key_fpr == NULL && (o.name == NULL || o.email == NULL))
		return klic_cli_usage(&admin_cli, "init", "--name and --email are required", NULL);
	if (o.vendor == NULL)
		return klic_cli_usage(&admin_cli, "init",
				      "--vendor VENDOR.asc is required (the vendor's public key)",
				      NULL);
	if ((r = klic_cli_not_folder(&admin_cli, "init", o.vendor, "--vendor VENDOR.asc")) != 0)
		return r;
	o.state = g->state;
	o.gnupghome = g->gnupghome;
	o.passphrase_file = g->passphrase_file;
	if ((r = klic_admin_init(fpr, &o)) != 0)
		/* a bad option value is named by its option, not the state folder */
		return klic_cli_fail(&admin_cli, r == KLIC_ERR_INVALID_ARG ? "init" : g->state, r);
	if (klic_ledger_where(where, sizeof where, g->state) != 0)
		where[0] = '\0';
	klic_ledger_display(shown, sizeof shown, where);
	/* a PostgreSQL ledger is shown as "ledger URL" */
	printf("issuer %s\norg %s\nledger %s\n", fpr, o.org,
	       strncmp(shown, "ledger ", 7) == 0 ? shown + 7 : shown);
	return 0;
}

/* ---- export-key ----------------------------------------------------------- */

static const char export_help[] = "usage: klic-admin export-key [-o FILE]\n"
				  "Write the issuer public key (armored) that users pin with\n"
				  "'klic trust'.  Default and '-': standard output; with -o FILE\n"
				  "it prints FILE and the issuer fingerprint.\n";

static int cmd_export_key(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *outp = NULL;
	struct klic_admin *a = NULL;
	uint8_t *key = NULL;
	size_t len = 0;
	int c, r, rc = 0;

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("export-key"), argc, argv, "+:o:h",
				      opts)) != -1) {
		switch (c) {
		case 'o':
			if ((r = klic_cli_once(&admin_cli, "export-key", &outp, optarg, "-o")) != 0)
				return r;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind != argc)
		return klic_cli_usage(&admin_cli, "export-key", "unexpected argument", NULL);
	if (outp == NULL)
		outp = "-";
	if ((r = klic_cli_not_folder(&admin_cli, "export-key", outp, "-o FILE")) != 0)
		return r;
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	if ((r = klic_admin_export_key(a, &key, &len)) != 0)
		rc = klic_cli_fail(&admin_cli, g->state, r);
	else if ((r = klic_write_atomic(outp, key, len, 0644, 0)) != 0)
		rc = klic_cli_fail(&admin_cli, outp, r);
	else if (strcmp(outp, "-") != 0)
		printf("%s %s\nnext: give %s to your users: klic trust %s\n", outp,
		       a->issuer_fpr, outp, outp);
	free(key);
	klic_admin_free(a);
	return rc;
}

/* ---- member ------------------------------------------------------------------ */

static const char member_help[] =
    "usage: klic-admin member add [--yes] FILE.asc\n"
    "       klic-admin member add [--yes] --from-request FILE.kreq\n"
    "       klic-admin member list [--json]\n"
    "       klic-admin member remove [--yes] FPR\n"
    "add: register a user's public key as a member (prints fingerprint and user ID);\n"
    "from a request only after its signature verifies with the key it carries.\n"
    "list: every member's fingerprint, added time and user ID.\n"
    "remove: the member's row and its key in STATE/members; its later requests are\n"
    "denied not-member, the licenses already issued stay valid until they expire.\n"
    "add and remove show the fingerprint and user ID and ask first when standard\n"
    "input is a terminal; otherwise they need --yes (refused without it).\n"
    "  --yes   do not ask\n"
    "  --json  list: a JSON array (spec/CLI-JSON.md)\n";

/* The question before a member is added or removed (klic_member_ask_fn). */
static int member_ask(void *vctx, const char *fpr, const char *uid)
{
	const char *verb = vctx; /* "accept" or "remove" */
	char u[KLIC_MAX_UID_LEN + 1], line[64];

	klic_printable_copy(u, sizeof u, uid, SIZE_MAX);
	if (!isatty(STDIN_FILENO))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "standard input is not a terminal: use --yes to %s %s %s "
				      "without asking",
				      verb, fpr, u);
	fprintf(stderr, "%s %s %s %s? [y/N] ", verb, fpr, u,
		strcmp(verb, "accept") == 0 ? "as a member" : "from the members");
	fflush(stderr);
	if (fgets(line, sizeof line, stdin) == NULL ||
	    (strcmp(line, "y\n") != 0 && strcmp(line, "Y\n") != 0 && strcmp(line, "yes\n") != 0))
		return klic_error_set(KLIC_ERR_DENIED, "not confirmed; nothing was changed");
	return 0;
}

static int member_add(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {{"from-request", required_argument, NULL, 'r'},
					     {"yes", no_argument, NULL, 'y'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *req = NULL, *file;
	struct klic_admin *a = NULL;
	char fpr[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1];
	int added = 0, yes = 0, c, r, rc;

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("member add"), argc, argv, "+:h", opts)) !=
	       -1) {
		switch (c) {
		case 'r':
			if ((r = klic_cli_once(&admin_cli, "member add", &req, optarg,
					       "--from-request")) != 0)
				return r;
			break;
		case 'y':
			if (yes)
				return klic_cli_usage(&admin_cli, "member add",
						      "option --yes given twice", NULL);
			yes = 1;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (req != NULL && optind != argc)
		return klic_cli_usage(&admin_cli, "member add",
				      "give either FILE.asc or --from-request FILE.kreq", NULL);
	if (req == NULL && optind + 1 != argc)
		return klic_cli_usage(&admin_cli, "member add", "expected one FILE.asc", NULL);
	file = req != NULL ? req : argv[optind];
	if ((r = klic_cli_not_folder(&admin_cli, "member add", file,
				     req != NULL ? "--from-request FILE.kreq" : "FILE.asc")) != 0)
		return r;
	/* nothing is read or opened when no one can be asked */
	if (!yes && !isatty(STDIN_FILENO))
		return klic_cli_fail(&admin_cli, file,
				     klic_error_set(KLIC_ERR_INVALID_ARG,
						    "standard input is not a terminal: use --yes "
						    "to accept the key without asking"));
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	r = klic_admin_member_add_ask(a, fpr, uid, &added, file, req != NULL,
				      yes ? NULL : member_ask, (void *)"accept");
	if (r != 0)
		rc = klic_cli_fail(&admin_cli, file, r);
	else
		printf("%s %s%s\n", fpr, uid, added ? "" : " (already a member)");
	klic_admin_free(a);
	return rc;
}

struct member_out {
	json_t *arr; /* --json: the whole list, printed only when complete */
};

static int member_row(void *vctx, const struct klic_member_info *m)
{
	struct member_out *mo = vctx;
	char n[KLIC_MAX_UID_LEN + 1], e[KLIC_MAX_UID_LEN + 1];

	klic_printable_copy(n, sizeof n, m->name, SIZE_MAX);
	klic_printable_copy(e, sizeof e, m->email, SIZE_MAX);
	if (mo->arr != NULL) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "fingerprint", m->fpr, "name", n,
				      "email", e, "added", m->added);
		if (o == NULL || json_array_append_new(mo->arr, o) != 0)
			return klic_error_set(KLIC_ERR_NOMEM, "json");
	} else if (e[0] != '\0') {
		printf("%-40s %-20s %s <%s>\n", m->fpr, m->added, n, e);
	} else {
		printf("%-40s %-20s %s\n", m->fpr, m->added, n);
	}
	return 0;
}

static int member_list(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct member_out mo = {NULL};
	struct klic_admin *a = NULL;
	char *s = NULL;
	int json = 0, c, r, rc;

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("member list"), argc, argv, "+:h",
				      opts)) != -1) {
		switch (c) {
		case 'j':
			if (json)
				return klic_cli_usage(&admin_cli, "member list",
						      "option --json given twice", NULL);
			json = 1;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind != argc)
		return klic_cli_usage(&admin_cli, "member list", "unexpected argument", NULL);
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	if (json && (mo.arr = json_array()) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "json");
		goto out;
	}
	if (!json)
		printf("%-40s %-20s %s\n", "FINGERPRINT", "ADDED", "USER ID");
	if ((r = klic_ledger_member_list(a->ledger, member_row, &mo)) != 0)
		goto out;
	if (json) {
		if ((s = json_dumps(mo.arr, JSON_SORT_KEYS | JSON_INDENT(2))) == NULL) {
			r = klic_error_set(KLIC_ERR_NOMEM, "json");
			goto out;
		}
		printf("%s\n", s);
	}
out:
	if (r != 0)
		rc = klic_cli_fail(&admin_cli, a->ledger_path, r);
	free(s);
	json_decref(mo.arr);
	klic_admin_free(a);
	return rc;
}

static int member_remove(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {
	    {"yes", no_argument, NULL, 'y'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct klic_admin *a = NULL;
	char fpr[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1], u[KLIC_MAX_UID_LEN + 1];
	int yes = 0, c, r, rc;

	while ((c = klic_cli_next_opt(&admin_cli, CMD_AS("member remove"), argc, argv, "+:h",
				      opts)) != -1) {
		switch (c) {
		case 'y':
			if (yes)
				return klic_cli_usage(&admin_cli, "member remove",
						      "option --yes given twice", NULL);
			yes = 1;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (optind + 1 != argc)
		return klic_cli_usage(&admin_cli, "member remove", "expected one FPR", NULL);
	/* as a person types it: any case, in groups */
	if (klic_cli_upper(fpr, sizeof fpr, argv[optind]) == NULL || klic_fpr_check(fpr) != 0)
		return klic_cli_usage(&admin_cli, "member remove",
				      "FPR must be a fingerprint (40 hex digits)", NULL);
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	r = klic_admin_member_remove(a, uid, fpr, yes ? NULL : member_ask, (void *)"remove");
	if (r != 0)
		rc = klic_cli_fail(&admin_cli, fpr, r);
	else
		printf("removed %s %s (its licenses stay valid until they expire)\n", fpr,
		       klic_printable_copy(u, sizeof u, uid, SIZE_MAX));
	klic_admin_free(a);
	return rc;
}

/* ---- audit ------------------------------------------------------------------------ */

static const char audit_help[] =
    "usage: klic-admin audit verify\n"
    "Recompute the audit log's hash chain and every entitlement's seat counter\n"
    "from the licenses, and check every imported entitlement row against its\n"
    "stored .kent (the vendor's signature again, then each field); exit 1 at the\n"
    "first broken row.\n";

/* "audit" takes exactly one word: its sub-verb or --help. */
static int cmd_audit(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	if (argc > 2)
		return klic_cli_usage(&admin_cli, "audit", "expected 'verify'", NULL);
	return admin_sub(cmd, ctx, argc, argv);
}

static int audit_verify(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	struct klic_admin *a = NULL;
	int64_t rows = 0, bad = 0, hand = 0;
	int r, rc;

	(void)cmd;
	(void)argv;
	if (argc != 1)
		return klic_cli_usage(&admin_cli, "audit", "expected 'verify'", NULL);
	if ((rc = admin_open(&a, g)) != 0)
		return rc;
	/* one snapshot: the chain, the counters and the entitlements agree */
	if ((r = klic_ledger_begin_read(a->ledger)) == 0)
		r = klic_ledger_audit_verify(a->ledger, &rows, &bad);
	if (r == 0) {
		printf("audit chain ok: %lld rows\n", (long long)rows);
		r = klic_ledger_usage_verify(a->ledger, &rows);
	}
	if (r == 0) {
		printf("seat counters ok: %lld entitlements\n", (long long)rows);
		r = klic_admin_entitlements_verify(a, &rows, &hand);
	}
	klic_ledger_read_end(a->ledger);
	if (r != 0) {
		klic_cli_fail(&admin_cli, a->ledger_path, r);
		rc = 1;
	} else if (hand > 0) {
		printf("entitlements ok: %lld match their signed .kent; %lld hand-typed before "
		       "protocol version 2 (nothing signed to check them against)\n",
		       (long long)rows, (long long)hand);
	} else {
		printf("entitlements ok: %lld match their signed .kent\n", (long long)rows);
	}
	klic_admin_free(a);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static const struct klic_cmd member_cmds[] = {
    {"add", member_add, "accept a user's key as a member",
     "member add [--yes] FILE.asc | --from-request FILE.kreq", member_help, NULL, 0},
    {"list", member_list, "the members: fingerprint, added, user ID", "member list [--json]",
     member_help, NULL, 0},
    {"remove", member_remove, "remove a member (its requests are denied from then on)",
     "member remove [--yes] FPR", member_help, NULL, 0},
};

static const struct klic_cmd audit_cmds[] = {
    {"verify", audit_verify, "verify the audit log's hash chain and the seat counters",
     "audit verify", audit_help, NULL, 0},
};

static const struct klic_cmd cmds[] = {
    {"init", cmd_init, "create the ledger and the issuing key",
     "init --org NAME --name NAME --email EMAIL [--key FPR] --vendor VENDOR.asc", init_help, NULL,
     0},
    {"export-key", cmd_export_key, "write the issuer public key users pin", "export-key [-o FILE]",
     export_help, NULL, 0},
    {"vendor", admin_sub, "pin the vendor of a ledger made without one", "vendor set FILE.asc",
     vendor_help, vendor_cmds, N_VENDOR_CMDS},
    {"entitlement", admin_sub, "import / list vendor entitlements (what was bought)",
     "entitlement import|list ...", ent_help, ent_cmds, N_ENT_CMDS},
    {"member", admin_sub, "add, list or remove members (users' keys)", "member add|list|remove ...",
     member_help, member_cmds, sizeof member_cmds / sizeof member_cmds[0]},
    {"issue", cmd_issue, "answer requests with signed responses",
     "issue FILE.kreq|DIR... [-o DIR|FILE.kresp] [--yes] [--jobs N] [--armor]", issue_help, NULL,
     0},
    {"list", cmd_list, "offline licenses issued, active or expired",
     "list [--json] [--product P] [--machine ID] [--member FPR] [--active|--expired] "
     "[--expiring DAYS]",
     list_help, NULL, 0},
    {"report", cmd_report, "seats per entitlement: used, free, expiring; HTML chart",
     "report [--json] [--html FILE]", report_help, NULL, 0},
    {"policy", cmd_policy, "show or set policies (the renewal window)",
     "policy [--renew-window DAYS]", policy_help, NULL, 0},
    {"audit", cmd_audit, "verify the audit log's hash chain", "audit verify", audit_help,
     audit_cmds, sizeof audit_cmds / sizeof audit_cmds[0]},
    {"usage", admin_sub, "the usage export for the vendor's true-up", "usage export -o ORG.kusage",
     usage_help, usage_cmds, N_USAGE_CMDS},
    {"ledger", admin_sub, "copy the ledger into a shared PostgreSQL one",
     "ledger migrate --to URL|PATH", ledger_help, ledger_cmds, N_LEDGER_CMDS},
    {"serve", cmd_serve, "the admin web console on loopback", "serve [--listen ADDRESS:PORT]",
     serve_help, NULL, 0},
};

#define NCMDS (sizeof cmds / sizeof cmds[0])

static void main_help(FILE *f)
{
	fprintf(f,
		"usage: %s [--state DIR] [--ledger URL|PATH] [--gnupghome DIR]\n"
		"                  [--passphrase-file FILE] COMMAND [ARGS]\n\ncommands:\n",
		PROG);
	klic_cli_list(f, cmds, NCMDS, 12);
	fprintf(f,
		"\nState: --state DIR, else $KLIC_ADMIN_HOME, else ~/.local/share/klic-admin.\n"
		"Ledger: --ledger URL|PATH, else $KLIC_LEDGER, else STATE/ledger.sqlite;\n"
		"a postgresql:// URL names a shared PostgreSQL ledger.\n"
		"'%s COMMAND --help' describes a command; see klic-admin(1).\n",
		PROG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"state", required_argument, NULL, 's'},
					     {"ledger", required_argument, NULL, 'l'},
					     {"gnupghome", required_argument, NULL, 'g'},
					     {"passphrase-file", required_argument, NULL, 'p'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {NULL, 0, NULL, 0}};
	struct global g;
	size_t i;
	int c, r;

	memset(&g, 0, sizeof g);
	opterr = 0; /* our own one-line usage errors */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if ((r = klic_cli_once(&admin_cli, "options", &g.state_opt, optarg,
					       "--state")) != 0)
				return r;
			break;
		case 'l':
			if ((r = klic_cli_once(&admin_cli, "options", &g.ledger, optarg,
					       "--ledger")) != 0 ||
			    (r = set_ledger(g.ledger)) != 0)
				return r;
			break;
		case 'g':
			if ((r = klic_cli_once(&admin_cli, "options", &g.gnupghome, optarg,
					       "--gnupghome")) != 0)
				return r;
			break;
		case 'p':
			if ((r = klic_cli_once(&admin_cli, "options", &g.passphrase_file, optarg,
					       "--passphrase-file")) != 0)
				return r;
			break;
		case 'h':
			main_help(stdout);
			return 0;
		case 'V': {
			char prog[PATH_MAX];
			printf("%s %s (protocol %d)\n", PROG, KLIC_ADMIN_VERSION,
			       KLIC_PROTOCOL_VERSION);
			if (klic_issue_worker_program(prog, sizeof prog) == 0)
				printf("gpg worker program: %s\n", prog);
			else
				printf("gpg worker program: none (issue forks its gpg workers "
				       "from klic-admin itself)\n");
			return 0;
		}
		default:
			return klic_cli_global_opt_error(&admin_cli, c, argc, argv);
		}
	}
	if (optind >= argc) {
		main_help(stderr);
		return KLIC_EXIT_USAGE;
	}
	for (i = 0; i < NCMDS && strcmp(argv[optind], cmds[i].name) != 0; i++)
		;
	if (i < NCMDS) {
		if ((r = klic_admin_state_dir(g.state, sizeof g.state, g.state_opt)) != 0)
			return klic_cli_fail(&admin_cli, "state", r);
		if ((r = klic_keys_init()) != 0)
			return klic_cli_fail(&admin_cli, "gpgme", r);
	}
	/* the command (an unknown one is a usage error) */
	return klic_cli_dispatch(&admin_cli, NULL, cmds, NCMDS, &g, argc - optind, argv + optind);
}
