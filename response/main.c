/* klic-admin — the admin tool: argument parsing and output only; all
 * logic lives in libklic_response (STYLE.md "thin mains"). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "klic_report.h"
#include "klic_response.h"

#ifndef KLIC_ADMIN_VERSION
#define KLIC_ADMIN_VERSION "unknown"
#endif
#define PROG "klic-admin"
#define EXIT_USAGE 2

struct global {
	const char *state_opt;
	const char *gnupghome;
	const char *passphrase_file;
	char state[4096];
};

/* A printable copy of a file name for a terminal (a batch's file names
 * come from whoever filled the inbox): other bytes become '?'. */
static const char *pname(char *buf, size_t n, const char *s)
{
	size_t i;
	for (i = 0; s[i] != '\0' && i + 1 < n; i++)
		buf[i] = klic_is_printable(s + i, 1) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* One stderr line: "klic-admin: FILE: <message>: <detail>" (the detail is
 * printable ASCII, see klic_error_set). */
static int fail(const char *file, int code)
{
	const char *d = klic_error_detail();
	char f[4096];
	pname(f, sizeof f, file);
	if (d != NULL && d[0] != '\0')
		fprintf(stderr, "%s: %s: %s: %s\n", PROG, f, klic_strerror(code), d);
	else
		fprintf(stderr, "%s: %s: %s\n", PROG, f, klic_strerror(code));
	return klic_exit_code(code);
}

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "%s: %s: %s (see '%s %s --help')\n", PROG, cmd, msg, PROG, cmd);
	return EXIT_USAGE;
}

/* Set an option once; a repeated option is a usage error. */
static int once(const char **slot, const char *val, const char *cmd, const char *name)
{
	char msg[128];
	if (*slot != NULL) {
		snprintf(msg, sizeof msg, "option %s given twice", name);
		return usage_error(cmd, msg);
	}
	*slot = val;
	return 0;
}

static int parse_uint(unsigned *out, const char *s, unsigned max)
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

static int open_admin(struct klic_admin **a, const struct global *g)
{
	int r = klic_admin_open(a, g->state, g->gnupghome, g->passphrase_file);
	if (r != 0)
		return fail(g->state, r);
	return 0;
}

/* ---- init ------------------------------------------------------------------ */

static const char init_help[] =
    "usage: klic-admin [--state DIR] [--gnupghome DIR] [--passphrase-file FILE]\n"
    "                  init --org NAME --name NAME --email EMAIL [--key FPR]\n"
    "Create the ledger and the Ed25519 issuing key (or adopt the existing secret\n"
    "key FPR, e.g. on a smartcard).  Refuses to re-initialize an existing ledger.\n";

static int cmd_init(struct global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"org", required_argument, NULL, 'o'},   {"name", required_argument, NULL, 'n'},
	    {"email", required_argument, NULL, 'e'}, {"key", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
	struct klic_admin_init_opts o;
	char fpr[KLIC_FPR_HEX_LEN + 1];
	int c, r;

	memset(&o, 0, sizeof o);
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if ((r = once(&o.org, optarg, "init", "--org")) != 0)
				return r;
			break;
		case 'n':
			if ((r = once(&o.name, optarg, "init", "--name")) != 0)
				return r;
			break;
		case 'e':
			if ((r = once(&o.email, optarg, "init", "--email")) != 0)
				return r;
			break;
		case 'k':
			if ((r = once(&o.key_fpr, optarg, "init", "--key")) != 0)
				return r;
			break;
		case 'h':
			fputs(init_help, stdout);
			return 0;
		default:
			return usage_error("init", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("init", "unexpected argument");
	if (o.org == NULL)
		return usage_error("init", "--org is required");
	if (o.key_fpr == NULL && (o.name == NULL || o.email == NULL))
		return usage_error("init", "--name and --email are required");
	o.state = g->state;
	o.gnupghome = g->gnupghome;
	o.passphrase_file = g->passphrase_file;
	if ((r = klic_admin_init(fpr, &o)) != 0)
		return fail(g->state, r);
	printf("issuer %s\norg %s\nledger %s/%s\n", fpr, o.org, g->state, KLIC_LEDGER_FILE);
	return 0;
}

/* ---- export-key ----------------------------------------------------------- */

static const char export_help[] = "usage: klic-admin export-key [-o FILE]\n"
				  "Write the issuer public key (armored) that users pin with\n"
				  "'klic trust'.  Default and '-': standard output.\n";

static int cmd_export_key(struct global *g, int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *outp = NULL;
	struct klic_admin *a = NULL;
	uint8_t *key = NULL;
	size_t len = 0;
	int c, r, rc = 0;

	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if ((r = once(&outp, optarg, "export-key", "-o")) != 0)
				return r;
			break;
		case 'h':
			fputs(export_help, stdout);
			return 0;
		default:
			return usage_error("export-key", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("export-key", "unexpected argument");
	if (outp == NULL)
		outp = "-";
	if ((rc = open_admin(&a, g)) != 0)
		return rc;
	if ((r = klic_admin_export_key(a, &key, &len)) != 0)
		rc = fail(g->state, r);
	else if ((r = klic_write_atomic(outp, key, len, 0644, 0)) != 0)
		rc = fail(outp, r);
	free(key);
	klic_admin_free(a);
	return rc;
}

/* ---- entitlement ------------------------------------------------------------ */

static const char ent_help[] =
    "usage: klic-admin entitlement add --product KRE|KSE --model node-locked|floating\n"
    "                         --billing yearly|monthly --seats N --until YYYY-MM-DD [--ref TEXT]\n"
    "       klic-admin entitlement list [--json]\n"
    "Record what the organization bought / show entitlements with used and free seats.\n";

static int ent_add(struct global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"product", required_argument, NULL, 'p'}, {"model", required_argument, NULL, 'm'},
	    {"billing", required_argument, NULL, 'b'}, {"seats", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},   {"ref", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	const char *product = NULL, *model = NULL, *billing = NULL, *seats_s = NULL, *until = NULL,
		   *ref = NULL;
	struct klic_admin *a = NULL;
	unsigned seats = 0;
	int64_t id = 0, day;
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		const char **slot = NULL, *name = "";
		switch (c) {
		case 'p':
			slot = &product;
			name = "--product";
			break;
		case 'm':
			slot = &model;
			name = "--model";
			break;
		case 'b':
			slot = &billing;
			name = "--billing";
			break;
		case 's':
			slot = &seats_s;
			name = "--seats";
			break;
		case 'u':
			slot = &until;
			name = "--until";
			break;
		case 'r':
			slot = &ref;
			name = "--ref";
			break;
		case 'h':
			fputs(ent_help, stdout);
			return 0;
		default:
			return usage_error("entitlement add", "unknown option");
		}
		if ((r = once(slot, optarg, "entitlement add", name)) != 0)
			return r;
	}
	if (optind != argc)
		return usage_error("entitlement add", "unexpected argument");
	if (product == NULL || model == NULL || billing == NULL || seats_s == NULL || until == NULL)
		return usage_error(
		    "entitlement add",
		    "--product, --model, --billing, --seats and --until are required");
	if (klic_product_check(product) != 0)
		return usage_error("entitlement add", "--product must be KRE or KSE");
	if (strcmp(model, "node-locked") != 0 && strcmp(model, "floating") != 0)
		return usage_error("entitlement add", "--model must be node-locked or floating");
	if (strcmp(billing, "yearly") != 0 && strcmp(billing, "monthly") != 0)
		return usage_error("entitlement add", "--billing must be yearly or monthly");
	if (parse_uint(&seats, seats_s, 1000000) != 0 || seats == 0)
		return usage_error("entitlement add", "--seats must be a number 1..1000000");
	if (strlen(until) != 10 || klic_date_parse(&day, until) != 0)
		return usage_error("entitlement add", "--until must be a date YYYY-MM-DD");
	klic_error_clear();
	if ((rc = open_admin(&a, g)) != 0)
		return rc;
	r = klic_ledger_entitlement_add(a->ledger, &id, product, model, billing, seats, until, ref,
					klic_now());
	if (r == KLIC_ERR_INVALID_ARG) {
		rc = usage_error("entitlement add", klic_error_detail());
	} else if (r != 0) {
		rc = fail(a->ledger_path, r);
	} else {
		printf("entitlement %lld: %u %s seats, %s, %s, until %s\n", (long long)id, seats,
		       product, model, billing, until);
	}
	klic_admin_free(a);
	return rc;
}

static int ent_list(struct global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct klic_admin *a = NULL;
	struct klic_entitlement *e = NULL;
	size_t n = 0, i;
	int json = 0, c, r, rc;
	int64_t now = klic_now();

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (json)
				return usage_error("entitlement list", "option --json given twice");
			json = 1;
			break;
		case 'h':
			fputs(ent_help, stdout);
			return 0;
		default:
			return usage_error("entitlement list", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("entitlement list", "unexpected argument");
	if ((rc = open_admin(&a, g)) != 0)
		return rc;
	if ((r = klic_ledger_entitlements(a->ledger, &e, &n, NULL, now)) != 0) {
		rc = fail(a->ledger_path, r);
		goto out;
	}
	if (json) {
		json_t *arr = json_array();
		char *s;
		for (i = 0; arr != NULL && i < n; i++) {
			unsigned freeseats = e[i].used >= e[i].seats ? 0 : e[i].seats - e[i].used;
			json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:s,s:b}", "id",
					   (json_int_t)e[i].id, "product", e[i].product, "model",
					   e[i].model, "billing", e[i].billing, "seats",
					   (int)e[i].seats, "used", (int)e[i].used, "free",
					   (int)freeseats, "until", e[i].until, "ref", e[i].ref,
					   "created", e[i].created, "valid", e[i].until_end > now);
			if (o == NULL || json_array_append_new(arr, o) != 0) {
				json_decref(arr); /* never print a partial list */
				arr = NULL;
			}
		}
		s = arr != NULL ? json_dumps(arr, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
		json_decref(arr);
		if (s == NULL) {
			rc = fail("entitlement list", klic_error_set(KLIC_ERR_NOMEM, "json"));
			goto out;
		}
		printf("%s\n", s);
		free(s);
	} else {
		printf("%-4s %-7s %-11s %-7s %6s %6s %6s %-10s %s\n", "ID", "PRODUCT", "MODEL",
		       "BILLING", "SEATS", "USED", "FREE", "UNTIL", "REF");
		for (i = 0; i < n; i++) {
			unsigned freeseats = e[i].used >= e[i].seats ? 0 : e[i].seats - e[i].used;
			printf("%-4lld %-7s %-11s %-7s %6u %6u %6u %-10s %s%s\n",
			       (long long)e[i].id, e[i].product, e[i].model, e[i].billing,
			       e[i].seats, e[i].used, freeseats, e[i].until, e[i].ref,
			       e[i].until_end > now ? "" : " (ended)");
		}
	}
out:
	free(e);
	klic_admin_free(a);
	return rc;
}

static int cmd_entitlement(struct global *g, int argc, char **argv)
{
	if (argc < 2) {
		if (argc == 1)
			return usage_error("entitlement", "expected 'add' or 'list'");
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(ent_help, stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return ent_add(g, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return ent_list(g, argc - 1, argv + 1);
	return usage_error("entitlement", "expected 'add' or 'list'");
}

/* ---- member ------------------------------------------------------------------ */

static const char member_help[] =
    "usage: klic-admin member add FILE.asc\n"
    "       klic-admin member add --from-request FILE.kreq\n"
    "Register a user's public key as a member (prints fingerprint and user ID).\n"
    "From a request: only after its signature verifies with the key it carries.\n";

static int cmd_member(struct global *g, int argc, char **argv)
{
	static const struct option opts[] = {{"from-request", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *req = NULL, *file;
	struct klic_admin *a = NULL;
	char fpr[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1];
	int added = 0, c, r, rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(member_help, stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return usage_error("member", "expected 'add'");
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if ((r = once(&req, optarg, "member add", "--from-request")) != 0)
				return r;
			break;
		case 'h':
			fputs(member_help, stdout);
			return 0;
		default:
			return usage_error("member add", "unknown option");
		}
	}
	if (req != NULL && optind != argc)
		return usage_error("member add",
				   "give either FILE.asc or --from-request FILE.kreq");
	if (req == NULL && optind + 1 != argc)
		return usage_error("member add", "expected one FILE.asc");
	file = req != NULL ? req : argv[optind];
	if ((rc = open_admin(&a, g)) != 0)
		return rc;
	if (req != NULL)
		r = klic_admin_member_add_request(a, fpr, uid, &added, file);
	else
		r = klic_admin_member_add_key(a, fpr, uid, &added, file);
	if (r != 0)
		rc = fail(file, r);
	else
		printf("%s %s%s\n", fpr, uid, added ? "" : " (already a member)");
	klic_admin_free(a);
	return rc;
}

/* ---- issue ------------------------------------------------------------------- */

static const char issue_help[] =
    "usage: klic-admin issue FILE.kreq... [-o DIR] [--yes] [--jobs N] [--armor]\n"
    "Answer each request with DIR/NAME.kresp (issued or denied).  Asks before\n"
    "spending seats unless --yes.  Exit 0 when no request failed, else the highest\n"
    "status among the failed requests (1 refused, 3 I/O, 4 internal).\n"
    "Requests may be binary or armored (-----BEGIN KLIC REQUEST-----); '-' reads\n"
    "one from standard input and answers it as DIR/stdin.kresp.\n"
    "  --armor  write each response as ASCII text that can be pasted into an\n"
    "           e-mail body (-----BEGIN KLIC RESPONSE-----)\n"
    "  --jobs N requests answered at once (1..8; default three per CPU, at most 8)\n";

struct issue_ui {
	int declined;
	int worst; /* highest exit status among failed requests */
};

static int confirm(void *vctx, const struct klic_issue_result *plan, size_t n, unsigned total)
{
	struct issue_ui *ui = vctx;
	char line[64];
	size_t i;

	fprintf(stderr, "About to spend seats:\n");
	for (i = 0; i < n; i++) {
		if (plan[i].spend == 0)
			continue;
		fprintf(stderr, "  %s: member %s, machine %s, %u %s seat(s)\n", plan[i].path,
			plan[i].member_fpr, plan[i].machine_id, plan[i].spend, plan[i].product);
	}
	fprintf(stderr, "  total: %u seat(s)\n", total);
	if (!isatty(STDIN_FILENO))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "standard input is not a terminal: use --yes to spend seats "
				      "without asking");
	fprintf(stderr, "Spend %u seat(s)? [y/N] ", total);
	fflush(stderr);
	if (fgets(line, sizeof line, stdin) == NULL ||
	    (strcmp(line, "y\n") != 0 && strcmp(line, "Y\n") != 0 && strcmp(line, "yes\n") != 0)) {
		ui->declined = 1;
		return klic_error_set(KLIC_ERR_DENIED, "not confirmed; nothing was issued");
	}
	return 0;
}

static void report(void *vctx, const struct klic_issue_result *r)
{
	char p[4096], o[4096];
	const char *path = pname(p, sizeof p, r->path), *out = pname(o, sizeof o, r->out_path);
	struct issue_ui *ui = vctx;
	switch (r->outcome) {
	case KLIC_OUTCOME_ISSUED:
		printf("OK   %s -> %s: issued %u %s seat(s) to %s machine %s\n", path,
		       out, r->seats, r->product, r->member_fpr, r->machine_id);
		break;
	case KLIC_OUTCOME_DENIED:
		printf("DENY %s -> %s: %s: %s\n", path, out, r->reason_code, r->reason);
		break;
	case KLIC_OUTCOME_REISSUED:
		if (strcmp(r->status, KLIC_STATUS_ISSUED) == 0)
			printf(
			    "OK   %s -> %s: re-issued %u %s seat(s) to %s machine %s (%s, nothing "
			    "spent)\n",
			    path, out, r->seats, r->product, r->member_fpr,
			    r->machine_id,
			    r->rebuilt ? "rebuilt from the ledger" : "stored response");
		else
			printf("DENY %s -> %s: re-issued denial %s: %s\n", path, out,
			       r->reason_code, r->reason);
		break;
	default:
		if (klic_exit_code(r->err) > ui->worst)
			ui->worst = klic_exit_code(r->err);
		printf("ERR  %s: %s: %s\n", path, klic_strerror(r->err), r->detail);
		fprintf(stderr, "%s: %s: %s: %s\n", PROG, path, klic_strerror(r->err),
			r->detail);
		break;
	}
	fflush(stdout);
}

static int cmd_issue(struct global *g, int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"yes", no_argument, NULL, 'y'},
					     {"jobs", required_argument, NULL, 'j'},
					     {"armor", no_argument, NULL, 'A'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *outdir = NULL, *jobs_s = NULL;
	int armor = 0;
	struct klic_issue_opts o;
	struct klic_issue_tally t;
	struct issue_ui ui = {0};
	struct klic_admin *a = NULL;
	unsigned jobs = 0;
	int yes = 0, c, r, rc;

	while ((c = getopt_long(argc, argv, "o:yj:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if ((r = once(&outdir, optarg, "issue", "-o")) != 0)
				return r;
			break;
		case 'j':
			if ((r = once(&jobs_s, optarg, "issue", "--jobs")) != 0)
				return r;
			break;
		case 'y':
			if (yes)
				return usage_error("issue", "option --yes given twice");
			yes = 1;
			break;
		case 'A':
			if (armor)
				return usage_error("issue", "option --armor given twice");
			armor = 1;
			break;
		case 'h':
			fputs(issue_help, stdout);
			return 0;
		default:
			return usage_error("issue", "unknown option");
		}
	}
	if (jobs_s != NULL && (parse_uint(&jobs, jobs_s, 8) != 0 || jobs == 0))
		return usage_error("issue", "--jobs must be 1..8");
	if (optind >= argc)
		return usage_error("issue", "expected FILE.kreq...");
	if (outdir != NULL && strcmp(outdir, "-") == 0)
		return usage_error("issue", "-o names a folder for the responses (standard output "
					    "carries the report)");
	if ((rc = open_admin(&a, g)) != 0)
		return rc;
	memset(&o, 0, sizeof o);
	o.outdir = outdir != NULL ? outdir : ".";
	o.jobs = jobs;
	o.confirm = yes ? NULL : confirm;
	o.report = report;
	o.ctx = &ui;
	o.armor = armor;
	r = klic_issue_batch(a, (const char *const *)(argv + optind), (size_t)(argc - optind), &o,
			     &t);
	klic_admin_free(a);
	if (r != 0) {
		if (ui.declined) {
			fprintf(stderr, "%s: issue: %s\n", PROG, klic_error_detail());
			return 1;
		}
		return fail("issue", r);
	}
	if (t.worker_warning[0] != '\0')
		fprintf(stderr, "%s: issue: warning: %s\n", PROG, t.worker_warning);
	printf("issued: %zu, denied: %zu, re-issued: %zu, errors: %zu\n", t.issued, t.denied,
	       t.reissued, t.errors);
	return t.errors == 0 ? 0 : (ui.worst > 1 ? ui.worst : 1);
}

/* ---- list ----------------------------------------------------------------------- */

static const char list_help[] =
    "usage: klic-admin list [--json] [--product P] [--machine ID] [--member FPR]\n"
    "                       [--active|--expired]\n"
    "Offline licenses issued: license ID, product, machine, member, seat, issued,\n"
    "expires, active or expired.\n";

struct list_out {
	int json;
	int first;
	int64_t now;
	json_t *arr; /* --json: the whole list, printed only when complete */
};

static int list_row(void *vctx, const struct klic_license_row *row)
{
	struct list_out *lo = vctx;
	char is[KLIC_TIME_LEN + 1], ex[KLIC_TIME_LEN + 1];
	const char *state = row->expires > lo->now ? "active" : "expired";

	if (klic_time_format(is, row->issued) != 0 || klic_time_format(ex, row->expires) != 0)
		return klic_error_set(KLIC_ERR_LEDGER, "license %s: bad time", row->license_id);
	if (lo->json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:I,s:s}", "license_id",
				      row->license_id, "product", row->product, "machine_id",
				      row->machine_id, "member_fpr", row->member_fpr,
				      "request_digest", row->request_digest, "seat", (int)row->seat,
				      "issued", is, "expires", ex, "state", state, "entitlement_id",
				      (json_int_t)row->entitlement_id, "file", row->file);
		if (o == NULL || json_array_append_new(lo->arr, o) != 0)
			return klic_error_set(KLIC_ERR_NOMEM, "json");
	} else {
		printf("%-32s %-3s %-29s %-40s %4u %-20s %-20s %s\n", row->license_id, row->product,
		       row->machine_id, row->member_fpr, row->seat, is, ex, state);
	}
	lo->first = 0;
	return 0;
}

static int cmd_list(struct global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},          {"product", required_argument, NULL, 'p'},
	    {"machine", required_argument, NULL, 'm'}, {"member", required_argument, NULL, 'f'},
	    {"active", no_argument, NULL, 'a'},        {"expired", no_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	struct klic_list_filter f;
	struct list_out lo = {0, 1, 0, NULL};
	struct klic_admin *a = NULL;
	char mid[KLIC_MACHINE_ID_LEN + 1];
	int c, r, rc;

	memset(&f, 0, sizeof f);
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (lo.json)
				return usage_error("list", "option --json given twice");
			lo.json = 1;
			break;
		case 'p':
			if ((r = once(&f.product, optarg, "list", "--product")) != 0)
				return r;
			break;
		case 'm':
			if ((r = once(&f.machine_id, optarg, "list", "--machine")) != 0)
				return r;
			break;
		case 'f':
			if ((r = once(&f.member_fpr, optarg, "list", "--member")) != 0)
				return r;
			break;
		case 'a':
		case 'x':
			if (f.active != 0)
				return usage_error("list", "give one of --active, --expired");
			f.active = c == 'a' ? 1 : -1;
			break;
		case 'h':
			fputs(list_help, stdout);
			return 0;
		default:
			return usage_error("list", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("list", "unexpected argument");
	if (f.product != NULL && klic_product_check(f.product) != 0)
		return usage_error("list", "--product must be KRE or KSE");
	if (f.machine_id != NULL) {
		/* what a person typed: case, dashes and aliases are forgiven */
		if (klic_machine_id_parse(mid, f.machine_id) != 0)
			return usage_error("list", "--machine is not a valid machine ID");
		f.machine_id = mid;
	}
	if (f.member_fpr != NULL && klic_fpr_check(f.member_fpr) != 0)
		return usage_error("list", "--member must be a 40-hex upper-case fingerprint");
	f.now = lo.now = klic_now();
	if ((rc = open_admin(&a, g)) != 0)
		return rc;
	if (lo.json && (lo.arr = json_array()) == NULL) {
		klic_admin_free(a);
		return fail("list", klic_error_set(KLIC_ERR_NOMEM, "json"));
	}
	if (!lo.json)
		printf("%-32s %-3s %-29s %-40s %4s %-20s %-20s %s\n", "LICENSE_ID", "PRD",
		       "MACHINE", "MEMBER", "SEAT", "ISSUED", "EXPIRES", "STATE");
	r = klic_ledger_list(a->ledger, &f, list_row, &lo);
	if (r == 0 && lo.json) {
		char *s = json_dumps(lo.arr, JSON_SORT_KEYS | JSON_INDENT(2));
		if (s == NULL)
			r = klic_error_set(KLIC_ERR_NOMEM, "json");
		else
			printf("%s\n", s);
		free(s);
	}
	json_decref(lo.arr);
	if (r != 0)
		rc = fail(lo.json ? "list" : a->ledger_path, r);
	klic_admin_free(a);
	return rc;
}

/* ---- audit ------------------------------------------------------------------------ */

static const char audit_help[] =
    "usage: klic-admin audit verify\n"
    "Recompute the audit log's hash chain and every entitlement's seat counter\n"
    "from the licenses; exit 1 at the first broken row.\n";

static int cmd_audit(struct global *g, int argc, char **argv)
{
	struct klic_admin *a = NULL;
	int64_t rows = 0, bad = 0;
	int r, rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(audit_help, stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "verify") != 0)
		return usage_error("audit", "expected 'verify'");
	if ((rc = open_admin(&a, g)) != 0)
		return rc;
	r = klic_ledger_audit_verify(a->ledger, &rows, &bad);
	if (r == 0) {
		printf("audit chain ok: %lld rows\n", (long long)rows);
		r = klic_ledger_usage_verify(a->ledger, &rows);
	}
	if (r != 0) {
		fail(a->ledger_path, r);
		rc = 1;
	} else {
		printf("seat counters ok: %lld entitlements\n", (long long)rows);
	}
	klic_admin_free(a);
	return rc;
}

/* ---- report ----------------------------------------------------------------------- */

static const char report_help[] =
    "usage: klic-admin report [--json] [--html FILE]\n"
    "Seats per entitlement: seats, used (licenses not yet expired), free, expiring\n"
    "within 7 and within 30 days, until.  A table by default; --json for scripts\n"
    "(spec/CLI-JSON.md).  --html FILE also writes a self-contained HTML page with a\n"
    "chart of the seats in use per day ('-': the page on standard output instead).\n";

static json_t *report_json(const struct klic_report *r)
{
	char gen[KLIC_TIME_LEN + 1], start[KLIC_TIME_LEN + 1];
	json_t *root = NULL, *arr = NULL, *o, *daily;

	if (klic_time_format(gen, r->now) != 0)
		return NULL;
	if (r->n_days > 0) {
		if (klic_time_format(start, r->first_day) != 0)
			return NULL;
		start[10] = '\0'; /* the date */
	}
	if ((arr = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct klic_report_ent *e = &r->ent[i];
		if ((daily = json_array()) == NULL)
			goto out;
		for (size_t k = 0; k < r->n_days; k++) {
			if (json_array_append_new(daily, json_integer(e->daily[k])) != 0) {
				json_decref(daily);
				goto out;
			}
		}
		/* "o" steals daily, also when json_pack fails */
		o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:b,s:o}", "id",
			      (json_int_t)e->e.id, "product", e->e.product, "model", e->e.model,
			      "billing", e->e.billing, "seats", (json_int_t)e->e.seats, "used",
			      (json_int_t)e->e.used, "free", (json_int_t)e->free, "expiring_7d",
			      (json_int_t)e->expiring_7d, "expiring_30d",
			      (json_int_t)e->expiring_30d, "issued_total",
			      (json_int_t)e->issued_total, "peak", (json_int_t)e->peak, "until",
			      e->e.until, "ref", e->e.ref, "valid", e->valid, "daily", daily);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			goto out;
	}
	root = json_pack("{s:s,s:s,s:s,s:o,s:I,s:b,s:O}", "generated", gen, "org", r->org,
			 "issuer_fpr", r->issuer_fpr, "daily_start",
			 r->n_days > 0 ? json_string(start) : json_null(), "daily_days",
			 (json_int_t)r->n_days, "daily_truncated", r->truncated, "entitlements", arr);
out:
	json_decref(arr);
	return root;
}

static int cmd_report(struct global *g, int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"html", required_argument, NULL, 'H'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *html = NULL;
	struct klic_admin *a = NULL;
	struct klic_report *rep = NULL;
	char *page = NULL, *s = NULL;
	size_t plen = 0;
	int json = 0, c, r, rc = 0;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (json)
				return usage_error("report", "option --json given twice");
			json = 1;
			break;
		case 'H':
			if ((r = once(&html, optarg, "report", "--html")) != 0)
				return r;
			break;
		case 'h':
			fputs(report_help, stdout);
			return 0;
		default:
			return usage_error("report", "unknown option");
		}
	}
	if (optind != argc)
		return usage_error("report", "unexpected argument");
	if (html != NULL && html[0] == '\0')
		return usage_error("report", "--html needs a file name");
	if (html != NULL && json && strcmp(html, "-") == 0)
		return usage_error("report", "--json and --html - both want standard output");
	if ((rc = open_admin(&a, g)) != 0)
		return rc;
	if ((r = klic_report_build(&rep, a->ledger, klic_now())) != 0) {
		rc = fail(a->ledger_path, r);
		goto out;
	}
	if (html != NULL) {
		if ((r = klic_report_html(&page, &plen, rep)) != 0) {
			rc = fail(html, r);
			goto out;
		}
		if ((r = klic_write_atomic(html, page, plen, 0644, 0)) != 0) {
			rc = fail(html, r);
			goto out;
		}
		if (strcmp(html, "-") == 0)
			goto out;
	}
	if (json) {
		json_t *root = report_json(rep);
		s = root != NULL ? json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
		json_decref(root);
		if (s == NULL) {
			rc = fail("report", klic_error_set(KLIC_ERR_NOMEM, "json"));
			goto out;
		}
		printf("%s\n", s);
		goto out;
	}
	{
		char now_s[KLIC_TIME_LEN + 1];
		(void)klic_time_format(now_s, rep->now);
		printf("seats of %s at %s\n", rep->org, now_s);
	}
	printf("%-4s %-7s %-11s %-7s %6s %6s %6s %7s %7s %-10s %s\n", "ID", "PRODUCT", "MODEL",
	       "BILLING", "SEATS", "USED", "FREE", "EXP<=7D", "EXP<=30D", "UNTIL", "REF");
	for (size_t i = 0; i < rep->n; i++) {
		const struct klic_report_ent *e = &rep->ent[i];
		printf("%-4lld %-7s %-11s %-7s %6u %6u %6u %7u %8u %-10s %s%s\n", (long long)e->e.id,
		       e->e.product, e->e.model, e->e.billing, e->e.seats, e->e.used, e->free,
		       e->expiring_7d, e->expiring_30d, e->e.until, e->e.ref,
		       e->valid ? "" : " (ended)");
	}
	if (html != NULL)
		printf("HTML report: %s\n", html);
out:
	free(s);
	free(page);
	klic_report_free(rep);
	klic_admin_free(a);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------------------ */

struct cmd {
	const char *name;
	int (*fn)(struct global *g, int argc, char **argv);
	const char *summary;
};

static const struct cmd cmds[] = {
    {"init", cmd_init, "create the ledger and the issuing key"},
    {"export-key", cmd_export_key, "write the issuer public key users pin"},
    {"entitlement", cmd_entitlement, "add / list entitlements (what was bought)"},
    {"member", cmd_member, "accept a user's key as a member"},
    {"issue", cmd_issue, "answer requests with signed responses"},
    {"list", cmd_list, "offline licenses issued, active or expired"},
    {"report", cmd_report, "seats per entitlement: used, free, expiring; HTML chart"},
    {"audit", cmd_audit, "verify the audit log's hash chain"},
};

static void main_help(FILE *f)
{
	size_t i;
	fprintf(f,
		"usage: %s [--state DIR] [--gnupghome DIR] [--passphrase-file FILE] COMMAND "
		"[ARGS]\n\ncommands:\n",
		PROG);
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f,
		"\nState: --state DIR, else $KLIC_ADMIN_HOME, else ~/.local/share/klic-admin.\n"
		"'%s COMMAND --help' describes a command; see klic-admin(1).\n",
		PROG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"state", required_argument, NULL, 's'},
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
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if ((r = once(&g.state_opt, optarg, "options", "--state")) != 0)
				return r;
			break;
		case 'g':
			if ((r = once(&g.gnupghome, optarg, "options", "--gnupghome")) != 0)
				return r;
			break;
		case 'p':
			if ((r = once(&g.passphrase_file, optarg, "options",
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
			main_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		main_help(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(argv[optind], cmds[i].name) != 0)
			continue;
		if ((r = klic_admin_state_dir(g.state, sizeof g.state, g.state_opt)) != 0)
			return fail("state", r);
		if ((r = klic_keys_init()) != 0)
			return fail("gpgme", r);
		{
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			optind = 0; /* reset getopt for the command */
			return cmds[i].fn(&g, sub_argc, sub_argv);
		}
	}
	fprintf(stderr, "%s: %s: unknown command (see '%s --help')\n", PROG, argv[optind], PROG);
	return EXIT_USAGE;
}
