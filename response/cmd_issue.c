/* klic-admin issue: the options, the confirmation and the per-request
 * report lines; the work is klic_issue_batch (issue_batch.c). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_cli.h"

/* ---- issue ------------------------------------------------------------------- */

const char issue_help[] =
    "usage: klic-admin issue FILE.kreq|DIR... [-o DIR|-o FILE.kresp] [--yes] [--jobs N]\n"
    "                        [--armor]\n"
    "Answer each request with DIR/NAME.kresp (issued or denied); a folder given\n"
    "as a request answers every NAME.kreq in it (other files are left alone);\n"
    "-o FILE.kresp (a name ending in .kresp) writes the one response of a single\n"
    "request to that file; any other -o names a folder.  Seats come from\n"
    "the imported vendor entitlements; every issued response carries its .kent\n"
    "and the issuer key.  Request signatures are checked in STATE/members (public\n"
    "keys only).  Asks before spending seats unless --yes.  Exit 0 when no request\n"
    "failed, else the highest status among the failed requests (1 refused, 3 I/O,\n"
    "4 internal).\n"
    "Requests may be binary or armored (-----BEGIN KLIC REQUEST-----); '-' reads\n"
    "one from standard input and answers it as DIR/stdin.kresp.\n"
    "  --armor  write each response as ASCII text that can be pasted into an\n"
    "           e-mail body (-----BEGIN KLIC RESPONSE-----)\n"
    "  --jobs N requests answered at once (1..8; default three per CPU, at most 8)\n";

struct issue_ui {
	int declined;
	int worst; /* highest exit status among failed requests */
	const struct global *g;
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
		char p[1024], u[KLIC_MAX_UID_LEN + 1];
		fprintf(stderr, "  %s: member %s (%s), machine %s, %u %s seat(s)\n",
			klic_printable_copy(p, sizeof p, plan[i].path, SIZE_MAX),
			klic_printable_copy(u, sizeof u, plan[i].member_uid, SIZE_MAX),
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

/* A word for a shell command line: as it is, or in single quotes. */
static const char *shell_word(char *buf, size_t bufsz, const char *w)
{
	size_t o = 0;

	if (w[0] != '\0' && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				      "0123456789_-./=+:@,") == strlen(w)) {
		klic_printable_copy(buf, bufsz, w, SIZE_MAX);
		return buf;
	}
	buf[o++] = '\'';
	for (const char *c = w; *c != '\0' && o + 6 < bufsz; c++) {
		if (*c == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			buf[o++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

/* For the admin, under a not-member denial: the command that makes the
 * request's key a member (with the global options this run was given). */
static void member_hint(const struct issue_ui *ui, const char *path)
{
	char w[3][1100], f[1100];
	const struct global *g = ui->g;

	if (strcmp(path, "-") == 0)
		snprintf(f, sizeof f, "FILE.kreq"); /* read from standard input */
	else
		shell_word(f, sizeof f, path);
	/* on standard output under the DENY line: standard error holds only
	 * failures (one line each) */
	printf("     to accept its key as a member, run: %s%s%s%s%s%s%s member add "
	       "--from-request %s\n",
	       PROG, g->state_opt != NULL ? " --state " : "",
	       g->state_opt != NULL ? shell_word(w[0], sizeof w[0], g->state_opt) : "",
	       g->gnupghome != NULL ? " --gnupghome " : "",
	       g->gnupghome != NULL ? shell_word(w[1], sizeof w[1], g->gnupghome) : "",
	       g->passphrase_file != NULL ? " --passphrase-file " : "",
	       g->passphrase_file != NULL ? shell_word(w[2], sizeof w[2], g->passphrase_file) : "",
	       f);
}

static void report(void *vctx, const struct klic_issue_result *r)
{
	char p[4096], o[4096];
	const char *path = klic_printable_copy(p, sizeof p, r->path, SIZE_MAX),
		   *out = klic_printable_copy(o, sizeof o, r->out_path, SIZE_MAX);
	struct issue_ui *ui = vctx;
	char line[8192];

	if (klic_issue_result_line(line, sizeof line, r, path, out) == 0) {
		puts(line);
		if (r->outcome == KLIC_OUTCOME_DENIED && strcmp(r->reason_code, "not-member") == 0)
			member_hint(ui, r->path);
	} else {
		if (klic_exit_code(r->err) > ui->worst)
			ui->worst = klic_exit_code(r->err);
		printf("ERR  %s: %s: %s\n", path, klic_strerror(r->err), r->detail);
		fprintf(stderr, "%s: %s: %s: %s\n", PROG, path, klic_strerror(r->err), r->detail);
	}
	fflush(stdout);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Append a copy of str to the growing list *v (*n used, *cap allocated):
 * 0, or the exit status of the failure (printed). */
static int push_copy(char ***v, size_t *n, size_t *cap, const char *str)
{
	if (*n == *cap) {
		char **nv = realloc(*v, (*cap * 2 + 16) * sizeof **v);
		if (nv == NULL)
			return klic_cli_fail(&admin_cli, "issue",
					     klic_error_set(KLIC_ERR_NOMEM, "requests"));
		*v = nv;
		*cap = *cap * 2 + 16;
	}
	if (((*v)[*n] = strdup(str)) == NULL)
		return klic_cli_fail(&admin_cli, "issue",
				     klic_error_set(KLIC_ERR_NOMEM, "requests"));
	(*n)++;
	return 0;
}

/* The request files: each operand, or for a folder every NAME.kreq in it
 * (regular files, sorted by name).  *out is malloc'ed, its strings too. */
static int expand_operands(char ***out, size_t *nout, char **ops, size_t nops)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; i < nops && rc == 0; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		size_t first = n;
		if (stat(ops[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			if ((rc = push_copy(&v, &n, &cap, ops[i])) != 0)
				break;
			continue;
		}
		if ((d = opendir(ops[i])) == NULL) {
			rc = klic_cli_fail(&admin_cli, ops[i],
					   klic_error_set(KLIC_ERR_IO, "%s", strerror(errno)));
			break;
		}
		while (rc == 0 && (e = readdir(d)) != NULL) {
			size_t len = strlen(e->d_name);
			char path[4096];
			struct stat fs;
			if (len <= 5 || strcmp(e->d_name + len - 5, ".kreq") != 0 ||
			    e->d_name[0] == '.')
				continue;
			if (snprintf(path, sizeof path, "%s/%s", ops[i], e->d_name) >=
				(int)sizeof path ||
			    stat(path, &fs) != 0 || !S_ISREG(fs.st_mode))
				continue;
			rc = push_copy(&v, &n, &cap, path);
		}
		closedir(d);
		if (rc == 0 && n == first)
			rc = klic_cli_usage(&admin_cli, "issue", "no NAME.kreq file in the folder",
					    ops[i]);
		if (rc == 0)
			qsort(v + first, n - first, sizeof *v, cmp_str);
	}
	if (rc != 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* -o NAME: a response file when NAME ends in .kresp, else a folder. */
static int is_kresp_name(const char *s)
{
	size_t n = strlen(s);
	return n > 6 && strcmp(s + n - 6, ".kresp") == 0;
}

int cmd_issue(const struct klic_cmd *cmd, void *ctx, int argc, char **argv)
{
	struct global *g = ctx;
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'}, {"yes", no_argument, NULL, 'y'},
	    {"jobs", required_argument, NULL, 'j'},   {"armor", no_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	const char *outdir = NULL, *jobs_s = NULL;
	int armor = 0;
	struct klic_issue_opts o;
	struct klic_issue_tally t;
	struct issue_ui ui = {0};
	struct klic_admin *a = NULL;
	char **files = NULL;
	size_t nfiles = 0;
	unsigned jobs = 0;
	int yes = 0, c, r, rc;

	ui.g = g;
	while ((c = klic_cli_next_opt(&admin_cli, cmd, argc, argv, ":o:yj:h", opts)) != -1) {
		switch (c) {
		case 'o':
			if ((r = klic_cli_once(&admin_cli, "issue", &outdir, optarg, "-o")) != 0)
				return r;
			break;
		case 'j':
			if ((r = klic_cli_once(&admin_cli, "issue", &jobs_s, optarg, "--jobs")) !=
			    0)
				return r;
			break;
		case 'y':
			if (yes)
				return klic_cli_usage(&admin_cli, "issue",
						      "option --yes given twice", NULL);
			yes = 1;
			break;
		case 'A':
			if (armor)
				return klic_cli_usage(&admin_cli, "issue",
						      "option --armor given twice", NULL);
			armor = 1;
			break;
		case 'h':
			fputs(cmd->help, stdout);
			return 0;
		default:
			return KLIC_EXIT_USAGE; /* printed, naming the option */
		}
	}
	if (jobs_s != NULL && (klic_cli_uint(&jobs, jobs_s, 8) != 0 || jobs == 0))
		return klic_cli_usage(&admin_cli, "issue", "--jobs must be 1..8", NULL);
	if (optind >= argc)
		return klic_cli_usage(&admin_cli, "issue", "expected FILE.kreq...", NULL);
	if (outdir != NULL && strcmp(outdir, "-") == 0)
		return klic_cli_usage(&admin_cli, "issue",
				      "-o names a folder or a FILE.kresp for the responses "
				      "(standard output carries the report)",
				      NULL);
	if ((rc = expand_operands(&files, &nfiles, argv + optind, (size_t)(argc - optind))) != 0)
		return rc;
	memset(&o, 0, sizeof o);
	if (outdir != NULL && is_kresp_name(outdir)) {
		if (nfiles != 1) {
			char msg[200];
			snprintf(
			    msg, sizeof msg,
			    "-o FILE.kresp names one response file, but there are %zu requests: "
			    "give -o a folder",
			    nfiles);
			rc = klic_cli_usage(&admin_cli, "issue", msg, outdir);
			goto out;
		}
		o.outfile = outdir;
	}
	if ((rc = admin_open(&a, g)) != 0)
		goto out;
	o.outdir = outdir != NULL ? outdir : ".";
	o.jobs = jobs;
	o.confirm = yes ? NULL : confirm;
	o.report = report;
	o.ctx = &ui;
	o.armor = armor;
	r = klic_issue_batch(a, (const char *const *)files, nfiles, &o, &t);
	klic_admin_free(a);
	if (r != 0) {
		if (ui.declined) {
			fprintf(stderr, "%s: issue: %s\n", PROG, klic_error_detail());
			rc = 1;
		} else {
			rc = klic_cli_fail(&admin_cli, "issue", r);
		}
		goto out;
	}
	if (t.worker_warning[0] != '\0')
		fprintf(stderr, "%s: issue: warning: %s\n", PROG, t.worker_warning);
	printf("issued: %zu, denied: %zu, re-issued: %zu, errors: %zu\n", t.issued, t.denied,
	       t.reissued, t.errors);
	rc = t.errors == 0 ? 0 : (ui.worst > 1 ? ui.worst : 1);
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return rc;
}
