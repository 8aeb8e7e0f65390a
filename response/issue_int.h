/* klic response/ — what the two halves of `issue` share: the batch and its
 * jobs (issue_batch.c) and the steps of one request (issue.c). */
#ifndef KLIC_ISSUE_INT_H
#define KLIC_ISSUE_INT_H

#include <pthread.h>

#include "response_int.h"

#define MAX_JOBS 8
#define BATCH_WINDOW 256 /* requests in memory at once with --yes */

enum { K_NORMAL = 0, K_NOT_MEMBER = 1 };
enum { PH_ALL = 0, PH_PLAN = 1, PH_EXEC = 2 };

struct item {
	int failed;   /* res->outcome is ERROR, final */
	int verified; /* steps 1-5 passed */
	int kind;
	int may_spend;
	int done;
	int lost; /* not answered: the ledger's connection was lost */
	struct klic_request req;
	char digest[KLIC_SHA256_HEX_LEN + 1];
};

struct batch {
	struct klic_admin *a;
	const char *const *paths;
	size_t n;
	const struct klic_issue_opts *o;
	struct item *items;
	struct klic_issue_result *res;
	char outdir[4096];
	char outfile[4096]; /* -o FILE.kresp (one request), else "" */
	pthread_mutex_t mu;
	pthread_mutex_t wmu; /* one ledger writer: write transactions take turns
			      * here instead of in SQLite's busy-wait */
	size_t next, next_report;
	int phase;
	int lost;  /* a job lost its connection to the ledger: the batch stops */
	char lost_msg[512];
	int swept; /* the output folder was swept of a killed run's leftovers */
	char issuer_key[KLIC_MAX_ISSUER_KEY_B64 + 1]; /* base64 of the minimal public key */
	struct klic_issue_tally tally;
};

/* One job: a thread of the batch with its own ledger connection (the gpg
 * worker processes of keys/workers.c are something else). */
struct job {
	struct batch *b;
	struct klic_ledger *l;
};

/* Steps 1-5 for the batch's item it (fills it->req, it->digest, it->kind). */
int klic_issue_verify(struct job *j, struct item *it);
/* Steps 6-8 read-only: what it would get (for the confirmation). */
int klic_issue_plan(struct job *j, struct item *it, struct klic_issue_result *res);
/* Decide, sign, record and write the response of a verified item; on
 * failure res says why. */
int klic_issue_exec(struct job *j, struct item *it, struct klic_issue_result *res);
/* Mark it failed with r (res->outcome ERROR and the error detail); returns r. */
int klic_issue_item_fail(struct klic_issue_result *res, struct item *it, int r);
/* OUTDIR/NAME.kresp for the request file reqpath ("-": stdin.kresp). */
int klic_issue_out_path(char *out, size_t outsz, const char *outdir, const char *reqpath);

#endif
