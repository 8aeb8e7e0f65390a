/* klic response/ — `klic-admin issue`, the batch: requests answered by
 * jobs (threads, three per core by default, at most MAX_JOBS), each with
 * its own SQLite connection, handing its gpg operations to small gpg
 * worker processes, as many as there are jobs (keys/workers.c).  gpg runs
 * in one process per operation, so verifications and signatures run in
 * parallel, while the write transactions take turns on one mutex (one
 * writer in this process) and across processes on the ledger's write lock.  A
 * response costs one verification and one signature (spec 3.4).  With
 * --yes the batch streams in windows of BATCH_WINDOW requests.  One
 * request's steps are in issue.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "issue_int.h"
#include "klic_armor.h"

/* ---- the batch ----------------------------------------------------------------- */

/* Report, in request order, the items done so far; an item that was not
 * answered because the ledger's connection was lost gets no line of its
 * own (the batch fails once, klic_issue_batch).  Under b->mu. */
static void report_ready(struct batch *b)
{
	while (b->next_report < b->n && b->items[b->next_report].done) {
		const struct klic_issue_result *res = &b->res[b->next_report];
		if (b->items[b->next_report].lost) {
			b->next_report++;
			continue;
		}
		switch (res->outcome) {
		case KLIC_OUTCOME_ISSUED:
			b->tally.issued++;
			break;
		case KLIC_OUTCOME_DENIED:
			b->tally.denied++;
			break;
		case KLIC_OUTCOME_REISSUED:
			b->tally.reissued++;
			break;
		default:
			b->tally.errors++;
			break;
		}
		if (b->o->report != NULL)
			b->o->report(b->o->ctx, res);
		b->next_report++;
	}
}

static void report_done(struct batch *b, size_t i)
{
	pthread_mutex_lock(&b->mu);
	b->items[i].done = 1;
	report_ready(b);
	pthread_mutex_unlock(&b->mu);
}

/* An item failed: when its job's connection to the ledger is gone (a
 * PostgreSQL server stopped or unreachable) the failure is the ledger's,
 * not the request's: the item stays unanswered and the batch stops. */
static void note_lost(struct job *j, struct item *it, const struct klic_issue_result *res)
{
	struct batch *b = j->b;

	if (!klic_ledger_lost(j->l))
		return;
	pthread_mutex_lock(&b->mu);
	it->lost = 1;
	if (!b->lost) {
		b->lost = 1;
		snprintf(b->lost_msg, sizeof b->lost_msg, "%s", res->detail);
	}
	pthread_mutex_unlock(&b->mu);
}

static void process(struct job *j, size_t i)
{
	struct batch *b = j->b;
	struct item *it = &b->items[i];
	struct klic_issue_result *res = &b->res[i];
	int r;

	if (b->phase == PH_ALL || b->phase == PH_PLAN) {
		klic_error_clear();
		if ((r = klic_issue_verify(j, it)) != 0) {
			klic_issue_item_fail(res, it, r);
			note_lost(j, it, res);
		} else if (b->phase == PH_PLAN) {
			if ((r = klic_issue_plan(j, it, res)) != 0) {
				klic_issue_item_fail(res, it, r);
				note_lost(j, it, res);
			}
			return;
		}
	}
	if (!it->failed) {
		klic_error_clear();
		if (b->phase == PH_ALL)
			it->may_spend = 1;
		if (klic_issue_exec(j, it, res) != 0)
			note_lost(j, it, res);
	}
	report_done(b, i);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct batch *b = j->b;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&b->mu);
		i = b->lost ? b->n : b->next++;
		pthread_mutex_unlock(&b->mu);
		if (i >= b->n)
			break;
		process(j, i);
		/* out of the writer lock: the other jobs keep committing */
		klic_ledger_checkpoint(j->l);
	}
	return NULL;
}

static int run_phase(struct batch *b, struct job *js, unsigned jobs, int phase)
{
	pthread_t th[MAX_JOBS];
	unsigned k, started = 0;

	b->phase = phase;
	b->next = 0;
	b->next_report = 0;
	for (k = 0; k < jobs; k++) {
		if (pthread_create(&th[k], NULL, job_main, &js[k]) != 0)
			break;
		started++;
	}
	if (started == 0)
		job_main(&js[0]); /* no threads: do it here */
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	if (b->lost) {
		/* the requests no job took are unanswered too; report what was */
		for (size_t i = 0; i < b->n; i++) {
			if (!b->items[i].done) {
				b->items[i].done = 1;
				b->items[i].lost = 1;
			}
		}
		report_ready(b);
	}
	return 0;
}

/* The batch stopped because the ledger's connection was lost: one error
 * naming the ledger (without a password) for the whole batch. */
static int lost_error(const struct batch *b)
{
	size_t answered = b->tally.issued + b->tally.denied + b->tally.reissued;

	return klic_error_set(KLIC_ERR_LEDGER,
			      "%.600s: the connection was lost during the batch (%s); %zu request(s) "
			      "answered before it, the rest not: run the same issue again to "
			      "finish (nothing is spent twice)",
			      b->a->ledger_path, b->lost_msg, answered);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Two requests that would be answered under the same output name (the same
 * base name from two folders) are refused before anything is done: the
 * second response would silently replace the first. */
static int check_out_names(const char *const *paths, size_t n, const char *outdir)
{
	char **names = calloc(n, sizeof *names);
	char buf[4096];
	int r = 0;

	if (names == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "batch");
	size_t m = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (klic_issue_out_path(buf, sizeof buf, outdir, paths[i]) != 0) {
			klic_error_clear(); /* that request fails on its own later */
			continue;
		}
		if ((names[m++] = strdup(buf)) == NULL)
			r = klic_error_set(KLIC_ERR_NOMEM, "batch");
	}
	if (r == 0) {
		qsort(names, m, sizeof *names, cmp_str);
		for (size_t i = 1; i < m; i++) {
			if (strcmp(names[i - 1], names[i]) == 0) {
				r = klic_error_set(KLIC_ERR_INVALID_ARG,
						   "two requests would both be answered as %s "
						   "(same file name): answer them separately",
						   names[i]);
				break;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* Before anything is decided or spent: a file can be created in the
 * output folder (permissions, a read-only file system). */
static int check_writable(const char *dir)
{
	char tmp[4200];
	int fd = -1;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		goto refused;
#endif
	if (snprintf(tmp, sizeof tmp, "%s/.issue-probe.tmp.XXXXXX", dir) >= (int)sizeof tmp)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "output directory path too long");
	if ((fd = mkstemp(tmp)) < 0)
		goto refused;
	close(fd);
	unlink(tmp);
	return 0;
refused:
	return klic_error_set(KLIC_ERR_IO,
			      "%s: the responses cannot be written in this folder (%s); nothing "
			      "was issued or recorded",
			      dir, strerror(errno));
}

int klic_issue_worker_program(char *buf, size_t size)
{
	char exe[PATH_MAX], path[PATH_MAX + sizeof KLIC_WORKER_REL + 1];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (k <= 0 || size < PATH_MAX)
		return -1;
	exe[k] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return -1;
	*slash = '\0';
	snprintf(path, sizeof path, "%s/%s", exe, KLIC_WORKER_REL);
	if (realpath(path, buf) == NULL || access(buf, X_OK) != 0)
		return -1;
	return 0;
}

/* How many jobs: asked (0: three per online CPU), at most MAX_JOBS and
 * at most one per request. */
static unsigned job_count(unsigned asked, size_t n)
{
	unsigned jobs = asked;
	long cpus;

	if (jobs == 0) {
		/* a job mostly waits for its gpg process or for a file's fsync:
		 * three per CPU keep the CPUs busy (figures: tests/bench/README.md) */
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = cpus < 1 ? 3 : (cpus > MAX_JOBS / 3 ? MAX_JOBS : 3 * (unsigned)cpus);
	}
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	if (jobs > n)
		jobs = (unsigned)n;
	return jobs;
}

/* Before anything is decided: a vendor is pinned, the issuer key can
 * sign, and its minimal public key (base64) that every issued response
 * carries, computed once. */
static int batch_chain(struct batch *b)
{
	struct klic_admin *a = b->a;
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	if (a->vendor_fpr[0] == '\0')
		return klic_error_set(KLIC_ERR_NO_VENDOR,
				      "this ledger pins no vendor (made before protocol version "
				      "2): run klic-admin vendor set VENDOR.asc, then import the "
				      "vendor's entitlements");
	if ((r = klic_key_can_sign(a->kr, a->issuer_fpr)) != 0)
		return r;
	if ((r = klic_key_export(a->kr, &key, &len, a->issuer_fpr, 0)) != 0)
		return r;
	r = klic_base64_encode(b->issuer_key, sizeof b->issuer_key, key, len);
	free(key);
	return r;
}

/* 1 when gpg worker processes were started for the jobs (the caller
 * stops them), else 0.  Two sets: the issuer's keyring signs, the members'
 * keyring verifies the requests. */
static int start_gpg_workers(struct batch *b, unsigned jobs)
{
	struct klic_admin *a = b->a;
	int own_workers = 0;

	/* gpg is started from small worker processes forked now, while this
	 * process has one thread (keys/workers.c says why); without them (a
	 * single request, --jobs 1, or no fork possible) from this process */
	if (jobs > 1) {
		char prog[PATH_MAX];
		int have = klic_issue_worker_program(prog, sizeof prog) == 0;
		if (have && klic_keyring_start_workers(a->kr, jobs, a->issuer_fpr, prog) == 0) {
			own_workers = 1;
		} else {
			if (have)
				snprintf(b->tally.worker_warning, sizeof b->tally.worker_warning,
					 "gpg worker program %.140s did not start (%.100s): forked "
					 "workers instead",
					 prog,
					 klic_error_detail() != NULL ? klic_error_detail() : "?");
			klic_error_clear();
			own_workers =
			    klic_keyring_start_workers(a->kr, jobs, a->issuer_fpr, NULL) == 0;
		}
		if (own_workers &&
		    klic_keyring_start_workers(a->members, jobs, NULL, have ? prog : NULL) != 0 &&
		    klic_keyring_start_workers(a->members, jobs, NULL, NULL) != 0)
			klic_error_clear(); /* the verifications run in this process */
	}
	return own_workers;
}

/* A job's own connection to the ledger: this admin's, its checkpoints
 * deferred (klic_ledger_checkpoint, outside the writer lock). */
static int job_ledger(struct klic_ledger **l, const struct klic_admin *a)
{
	if (klic_ledger_open(l, a->ledger_where, 0) != 0)
		return klic_error_code();
	klic_ledger_set_issuer(*l, a->issuer_fpr);
	klic_ledger_defer_checkpoints(*l);
	return 0;
}

/* Answer every request: with --yes in windows of cap requests, each
 * verified, decided and recorded at once; else the whole plan first, the
 * caller's confirmation, then the recording.  A lost ledger connection
 * stops it (lost_error). */
static int run_batch(struct batch *b, struct job *js, unsigned jobs, size_t cap)
{
	const char *const *paths = b->paths;
	size_t i, n = b->n;
	unsigned total = 0;
	int r;

	if (b->o->confirm == NULL) {
		for (size_t base = 0; base < n && !b->lost; base += cap) {
			b->paths = paths + base;
			b->n = n - base < cap ? n - base : cap;
			memset(b->items, 0, b->n * sizeof *b->items);
			memset(b->res, 0, b->n * sizeof *b->res);
			for (i = 0; i < b->n; i++)
				b->res[i].path = b->paths[i];
			run_phase(b, js, jobs, PH_ALL);
		}
		return b->lost ? lost_error(b) : 0;
	}
	for (i = 0; i < n; i++)
		b->res[i].path = paths[i];
	run_phase(b, js, jobs, PH_PLAN);
	if (b->lost)
		return lost_error(b);
	for (i = 0; i < n; i++) {
		total += b->res[i].spend;
		b->items[i].may_spend = b->res[i].spend > 0;
	}
	if ((total > 0 || b->o->confirm_always) &&
	    (r = b->o->confirm(b->o->ctx, b->res, n, total)) != 0)
		return r;
	run_phase(b, js, jobs, PH_EXEC);
	return b->lost ? lost_error(b) : 0;
}

int klic_issue_batch(struct klic_admin *a, const char *const *paths, size_t n,
		     const struct klic_issue_opts *o, struct klic_issue_tally *tally)
{
	struct batch *b = NULL;
	struct job js[MAX_JOBS];
	unsigned jobs, k;
	int own_workers = 0;
	size_t cap;
	int r;

	memset(tally, 0, sizeof *tally);
	memset(js, 0, sizeof js);
	if (n == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "no request files");
	jobs = job_count(o->jobs, n);
	b = calloc(1, sizeof *b);
	if (b == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "batch");
	b->a = a;
	b->paths = paths;
	b->n = n;
	b->o = o;
	/* --yes streams the batch in windows of BATCH_WINDOW requests: memory
	 * does not grow with the number of requests; asking first needs the
	 * whole plan, so it holds every request */
	cap = o->confirm == NULL && n > BATCH_WINDOW ? BATCH_WINDOW : n;
	if (pthread_mutex_init(&b->mu, NULL) != 0) {
		free(b);
		return klic_error_set(KLIC_ERR_INTERNAL, "mutex");
	}
	if (pthread_mutex_init(&b->wmu, NULL) != 0) {
		pthread_mutex_destroy(&b->mu);
		free(b);
		return klic_error_set(KLIC_ERR_INTERNAL, "mutex");
	}
	if (n > SIZE_MAX / sizeof *b->res) {
		r = klic_error_set(KLIC_ERR_NOMEM, "batch");
		goto out;
	}
	b->items = calloc(cap, sizeof *b->items);
	b->res = calloc(cap, sizeof *b->res);
	if (b->items == NULL || b->res == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "batch");
		goto out;
	}
	if (o->outfile != NULL) {
		/* -o FILE.kresp: one response file, written in its folder */
		const char *slash = strrchr(o->outfile, '/');
		int dl = slash == NULL ? 1 : slash == o->outfile ? 1 : (int)(slash - o->outfile);
		if (n != 1) {
			r = klic_error_set(KLIC_ERR_INVALID_ARG,
					   "-o %s names one response file but %zu requests were "
					   "given: give -o a folder",
					   o->outfile, n);
			goto out;
		}
		if (snprintf(b->outfile, sizeof b->outfile, "%s", o->outfile) >=
			(int)sizeof b->outfile ||
		    snprintf(b->outdir, sizeof b->outdir, "%.*s", dl,
			     slash == NULL ? "." : o->outfile) >= (int)sizeof b->outdir) {
			r = klic_error_set(KLIC_ERR_INVALID_ARG, "output path too long");
			goto out;
		}
	} else if (snprintf(b->outdir, sizeof b->outdir, "%s",
			    o->outdir != NULL ? o->outdir : ".") >= (int)sizeof b->outdir) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "output directory path too long");
		goto out;
	}
	if ((r = batch_chain(b)) != 0 || (r = check_out_names(paths, n, b->outdir)) != 0 ||
	    (r = klic_mkdir_p(b->outdir, 0755)) != 0 || (r = check_writable(b->outdir)) != 0)
		goto out;
	own_workers = start_gpg_workers(b, jobs);
	klic_error_clear();
	for (k = 0; k < jobs; k++) {
		js[k].b = b;
		if ((r = job_ledger(&js[k].l, a)) != 0)
			goto out;
	}
	r = run_batch(b, js, jobs, cap);
	*tally = b->tally;
out:
	if (own_workers) {
		klic_keyring_stop_workers(a->kr);
		klic_keyring_stop_workers(a->members);
	}
	for (k = 0; k < jobs; k++)
		klic_ledger_free(js[k].l);
	pthread_mutex_destroy(&b->wmu);
	pthread_mutex_destroy(&b->mu);
	free(b->items);
	free(b->res);
	free(b);
	return r;
}
