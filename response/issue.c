/* klic response/ — `klic-admin issue`: spec/PROTOCOL.md 5.3, in order.
 *
 * Each request goes through
 *   verify  (steps 1-5: read, strict archive, manifest, embedded key,
 *            member signature or not-member attribution)
 *   plan    (steps 6-8 read-only: what would be spent; for confirmation)
 *   execute (decide and sign the answer, then one BEGIN IMMEDIATE
 *            transaction that re-decides and, if nothing changed, records
 *            seats, names and response in one commit; then write it).
 * Worker threads (three per core) each hold their own SQLite connection and
 * hand their gpg operations to small worker processes, as many as there
 * are threads (keys/workers.c); gpg runs in
 * one process per operation, so verifications and signatures run in
 * parallel, while the write transactions take turns on one mutex (one
 * writer in this process) and across processes on BEGIN IMMEDIATE.  A
 * response costs one verification and one signature (spec 3.4).  With
 * --yes the batch streams in windows of BATCH_WINDOW requests.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "klic_armor.h"
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
	pthread_mutex_t mu;
	pthread_mutex_t wmu; /* one ledger writer: write transactions take turns
			      * here instead of in SQLite's busy-wait */
	size_t next, next_report;
	int phase;
	int swept; /* the output folder was swept of a killed run's leftovers */
	struct klic_issue_tally tally;
};

struct worker {
	struct batch *b;
	struct klic_ledger *l;
};

static void copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;
	if (n >= dstsz)
		n = dstsz - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static int item_fail(struct klic_issue_result *res, struct item *it, int r)
{
	it->failed = 1;
	res->outcome = KLIC_OUTCOME_ERROR;
	res->err = r;
	copy_str(res->detail, sizeof res->detail, klic_error_detail());
	res->out_path[0] = '\0';
	return r;
}

/* ---- steps 1-5 ------------------------------------------------------------ */

struct allow_ctx {
	struct klic_ledger *l;
	const char *issuer;
};

static int allow_member(void *vctx, const char *fpr)
{
	struct allow_ctx *c = vctx;
	int r;

	if (strcmp(fpr, c->issuer) == 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "%s is the issuer key, not a member",
				      fpr);
	r = klic_ledger_is_member(c->l, fpr);
	if (r == KLIC_ERR_NOT_FOUND)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "%s is not a registered member", fpr);
	return r;
}

static int verify_item(struct worker *w, struct item *it)
{
	struct klic_admin *a = w->b->a;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	const struct klic_member *man, *sig, *key;
	char keysha[KLIC_SHA256_HEX_LEN + 1], kfpr[KLIC_FPR_HEX_LEN + 1],
	    signer[KLIC_FPR_HEX_LEN + 1];
	char uid[KLIC_MAX_UID_LEN + 1];
	struct allow_ctx actx = {w->l, a->issuer_fpr};
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *path = w->b->paths[it - w->b->items];
	int r;

	/* 1: readable, bounded, strict archive */
	if ((r = klic_read_file(&buf, &len, path, KLIC_MAX_BUNDLE_BYTES)) != 0)
		goto out;
	if ((r = klic_archive_read(&ar, KLIC_KIND_REQUEST, buf, len)) != 0)
		goto out;
	free(buf);
	buf = NULL;
	man = klic_archive_get(&ar, "manifest.json");
	sig = klic_archive_get(&ar, "manifest.sig");
	key = klic_archive_get(&ar, "requester.pgp");
	if (man == NULL || sig == NULL || key == NULL) {
		r = klic_error_set(KLIC_ERR_MEMBER_MISSING, "request members");
		goto out;
	}
	/* 2: strict manifest */
	if ((r = klic_request_manifest_parse(&it->req, man->data, man->len)) != 0)
		goto out;
	if ((r = klic_sha256_hex(it->digest, man->data, man->len)) != 0)
		goto out;
	/* 3: the embedded key is the one the manifest names (its fingerprint
	 * is checked where the key is used: step 5; a member's request is
	 * verified with the key registered for that member) */
	if ((r = klic_sha256_hex(keysha, key->data, key->len)) != 0)
		goto out;
	if (strcmp(keysha, it->req.requester_key_sha256) != 0) {
		r = klic_error_set(KLIC_ERR_MEMBER_HASH,
				   "requester.pgp does not match requester_key_sha256");
		goto out;
	}
	/* 4: signed by a registered member (admin keyring) */
	r = klic_verify_detached(a->kr, signer, sig->data, sig->len, man->data, man->len,
				 allow_member, &actx);
	if (r == 0) {
		if (strcmp(signer, it->req.requester_fpr) != 0) {
			r = klic_error_set(KLIC_ERR_SIG_WRONG_KEY,
					   "signed by member %s but requester_fpr is %s", signer,
					   it->req.requester_fpr);
			goto out;
		}
		it->kind = K_NORMAL;
	} else if (r == KLIC_ERR_SIG_UNKNOWN_KEY || r == KLIC_ERR_SIG_WRONG_KEY) {
		/* 5: attribute with the embedded key alone */
		if ((r = klic_key_inspect(a->kr, kfpr, uid, key->data, key->len)) != 0)
			goto out;
		if (strcmp(kfpr, it->req.requester_fpr) != 0) {
			r = klic_error_set(KLIC_ERR_MISMATCH,
					   "requester.pgp is %s, requester_fpr says %s", kfpr,
					   it->req.requester_fpr);
			goto out;
		}
		if ((r = klic_verify_with_embedded_key(key->data, key->len, it->req.requester_fpr,
						       sig->data, sig->len, man->data, man->len)) !=
		    0)
			goto out;
		it->kind = K_NOT_MEMBER;
	} else {
		goto out;
	}
	klic_error_clear();
	it->verified = 1;
	r = 0;
out:
	free(buf);
	klic_archive_dispose(&ar);
	return r;
}

static void fill_common(struct klic_issue_result *res, const struct item *it)
{
	copy_str(res->member_fpr, sizeof res->member_fpr, it->req.requester_fpr);
	copy_str(res->machine_id, sizeof res->machine_id, it->req.machine_id);
	copy_str(res->product, sizeof res->product, it->req.product);
	res->seats = it->req.seats;
}

/* ---- ledger rows ----------------------------------------------------------- */

struct req_row {
	int found;
	char status[8];
	char member_fpr[KLIC_FPR_HEX_LEN + 1];
	char machine_id[KLIC_MACHINE_ID_LEN + 1];
	char product[4];
	unsigned seats;
	char reason_code[32];
	char reason[KLIC_MAX_TEXT_LEN + 1];
	int64_t created;
	uint8_t *response; /* owned */
	size_t response_len;
};

static const char *coltext(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t != NULL ? (const char *)t : "";
}

static int load_request(struct klic_ledger *l, struct req_row *row, const char *digest)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(row, 0, sizeof *row);
	if (klic_ledger_stmt(l, &st,
			     "SELECT status, member_fpr, machine_id, product, seats, reason_code, "
			     "reason, created, response FROM requests WHERE digest = ?1") != 0)
		return klic_ledger_err(l, "requests");
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = klic_ledger_err(l, "requests");
		goto out;
	}
	row->found = 1;
	copy_str(row->status, sizeof row->status, coltext(st, 0));
	copy_str(row->member_fpr, sizeof row->member_fpr, coltext(st, 1));
	copy_str(row->machine_id, sizeof row->machine_id, coltext(st, 2));
	copy_str(row->product, sizeof row->product, coltext(st, 3));
	row->seats = (unsigned)sqlite3_column_int(st, 4);
	copy_str(row->reason_code, sizeof row->reason_code, coltext(st, 5));
	copy_str(row->reason, sizeof row->reason, coltext(st, 6));
	if (klic_time_parse(&row->created, coltext(st, 7)) != 0) {
		r = klic_error_set(KLIC_ERR_LEDGER, "request %s: bad created time", digest);
		goto out;
	}
	if (sqlite3_column_type(st, 8) == SQLITE_BLOB) {
		int n = sqlite3_column_bytes(st, 8);
		const void *p = sqlite3_column_blob(st, 8);
		if (n <= 0 || p == NULL) {
			r = klic_error_set(KLIC_ERR_LEDGER, "request %s: empty response", digest);
			goto out;
		}
		row->response = malloc((size_t)n);
		if (row->response == NULL) {
			r = klic_error_set(KLIC_ERR_NOMEM, "response");
			goto out;
		}
		memcpy(row->response, p, (size_t)n);
		row->response_len = (size_t)n;
	}
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

/* ---- building the response ------------------------------------------------- */

/* The response document for a request row, without licenses yet (a denial
 * is complete). */
static void response_head(struct klic_response *resp, const struct klic_admin *a,
			  const char *digest, const struct req_row *row)
{
	memset(resp, 0, sizeof *resp);
	copy_str(resp->status, sizeof resp->status, row->status);
	copy_str(resp->request_digest, sizeof resp->request_digest, digest);
	copy_str(resp->machine_id, sizeof resp->machine_id, row->machine_id);
	copy_str(resp->product, sizeof resp->product, row->product);
	resp->seats = row->seats;
	resp->created = row->created;
	copy_str(resp->issuer_org, sizeof resp->issuer_org, a->org);
	copy_str(resp->issuer_fpr, sizeof resp->issuer_fpr, a->issuer_fpr);
	copy_str(resp->member_fpr, sizeof resp->member_fpr, row->member_fpr);
	if (strcmp(row->status, KLIC_STATUS_DENIED) == 0) {
		copy_str(resp->reason_code, sizeof resp->reason_code, row->reason_code);
		copy_str(resp->reason, sizeof resp->reason, row->reason);
	}
}

/* The licenses of an issued request, from its ledger rows (re-issue). */
static int response_licenses_from_ledger(struct klic_response *resp, struct klic_ledger *l,
					 const char *digest, const struct req_row *row)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (klic_ledger_stmt(l, &st,
			     "SELECT license_id, seat, file, issued, expires FROM licenses "
			     "WHERE request_digest = ?1 ORDER BY seat") != 0)
		return klic_ledger_err(l, "licenses");
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct klic_response_entry *e;
		int64_t issued = sqlite3_column_int64(st, 3);
		int64_t expires = sqlite3_column_int64(st, 4);
		if (resp->n_licenses >= KLIC_MAX_SEATS) {
			r = klic_error_set(KLIC_ERR_LEDGER, "request %s: too many licenses", digest);
			goto out;
		}
		e = &resp->lic[resp->n_licenses];
		copy_str(e->license_id, sizeof e->license_id, coltext(st, 0));
		e->seat = (unsigned)sqlite3_column_int(st, 1);
		copy_str(e->file, sizeof e->file, coltext(st, 2));
		if (e->seat != resp->n_licenses + 1 || issued != row->created ||
		    (resp->n_licenses > 0 && expires != resp->expires)) {
			r = klic_error_set(KLIC_ERR_LEDGER, "request %s: license rows inconsistent",
					   digest);
			goto out;
		}
		resp->expires = expires;
		resp->n_licenses++;
	}
	if (rc != SQLITE_DONE) {
		r = klic_ledger_err(l, "licenses");
		goto out;
	}
	if (resp->n_licenses != row->seats) {
		r = klic_error_set(KLIC_ERR_LEDGER, "request %s: %zu license rows for %u seats",
				   digest, resp->n_licenses, row->seats);
		goto out;
	}
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

/* The signed .kresp of a response document.  ONE signature: the manifest
 * is clear-signed; its signature block is manifest.sig, and the
 * clear-signed text is every license file. */
static int sign_response(struct klic_admin *a, uint8_t **out, size_t *outlen,
			 const struct klic_response *resp)
{
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_lic_parts parts;
	char *man = NULL;
	size_t manlen = 0, liclen = 0, i;
	uint8_t *lic = NULL;
	int r;

	*out = NULL;
	*outlen = 0;
	if ((r = klic_response_manifest_build(&man, &manlen, resp)) != 0)
		goto out;
	if ((r = klic_sign_clear(a->kr, &lic, &liclen, a->issuer_fpr, (const uint8_t *)man,
				 manlen)) != 0)
		goto out;
	if ((r = klic_license_split(&parts, lic, liclen)) != 0)
		goto out;
	if (parts.body_len != manlen || memcmp(parts.body, man, manlen) != 0) {
		r = klic_error_set(KLIC_ERR_GPG, "clear-signed text differs from the manifest");
		goto out;
	}
	if ((r = klic_archive_add(&ar, "manifest.json", man, manlen)) != 0 ||
	    (r = klic_archive_add(&ar, "manifest.sig", parts.sig, parts.sig_len)) != 0)
		goto out;
	for (i = 0; i < resp->n_licenses; i++)
		if ((r = klic_archive_add(&ar, resp->lic[i].file, lic, liclen)) != 0)
			goto out;
	r = klic_archive_write(out, outlen, &ar);
	if (r == 0 && *outlen > KLIC_MAX_BUNDLE_BYTES) {
		r = klic_error_set(KLIC_ERR_TOO_BIG, "response of %zu bytes", *outlen);
		free(*out);
		*out = NULL;
		*outlen = 0;
	}
out:
	klic_archive_dispose(&ar);
	free(man);
	free(lic);
	return r;
}

/* The signed .kresp for a recorded request (issued: from its license rows;
 * l NULL: a denial that is not recorded). */
static int build_response(struct klic_admin *a, struct klic_ledger *l, uint8_t **out,
			  size_t *outlen, const char *digest, const struct req_row *row)
{
	struct klic_response *resp = calloc(1, sizeof *resp);
	int r;

	*out = NULL;
	*outlen = 0;
	if (resp == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "response");
	response_head(resp, a, digest, row);
	r = 0;
	if (strcmp(row->status, KLIC_STATUS_ISSUED) == 0)
		r = response_licenses_from_ledger(resp, l, digest, row);
	if (r == 0)
		r = sign_response(a, out, outlen, resp);
	free(resp);
	return r;
}

/* ---- the decision (steps 6 and 8, and the license file names) --------------- */

typedef char license_file_t[KLIC_MAX_NAME_LEN + 1];

/* Names for `seats` new licenses on the request's machine: the lowest of
 * <P>_<id>.lic, <P>_<id>_2.lic ... _64.lic not held by a license of that
 * machine and product that is still active at `now` (those may still be
 * installed there).  Turns the decision into a machine-full denial when
 * fewer than `seats` names are free. */
static int alloc_files(struct klic_ledger *l, struct klic_decision *d, license_file_t *files,
		       const struct klic_request *req, int64_t now)
{
	unsigned char used[KLIC_MAX_SEATS + 1];
	sqlite3_stmt *st = NULL;
	unsigned k, got = 0, active = 0;
	int r, rc;

	memset(used, 0, sizeof used);
	if (klic_ledger_stmt(l, &st,
			     "SELECT file FROM licenses WHERE machine_id = ?1 AND product = ?2 "
			     "AND expires > ?3") != 0)
		return klic_ledger_err(l, "licenses");
	sqlite3_bind_text(st, 1, req->machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->product, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (klic_license_name_parse(&k, NULL, NULL, coltext(st, 0)) == 0)
			used[k] = 1;
		active++;
	}
	if (rc != SQLITE_DONE) {
		r = klic_ledger_err(l, "licenses");
		goto out;
	}
	for (k = 1; k <= KLIC_MAX_SEATS && got < req->seats; k++) {
		if (used[k])
			continue;
		if ((r = klic_license_filename(files[got], req->product, req->machine_id, k)) != 0)
			goto out;
		got++;
	}
	if (got < req->seats) {
		d->issue = 0;
		copy_str(d->reason_code, sizeof d->reason_code, "machine-full");
		snprintf(d->reason, sizeof d->reason,
			 "machine %s already holds %u active %s license(s); one machine holds at "
			 "most %d at a time",
			 req->machine_id, active, req->product, KLIC_MAX_SEATS);
	}
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

/* What the request gets at `now`: request semantics, eligibility among the
 * product's entitlements, and names for the licenses. */
static int decide(struct klic_ledger *l, const struct klic_request *req, int64_t now,
		  struct klic_decision *d, license_file_t *files)
{
	struct klic_entitlement *ents = NULL;
	size_t n = 0;
	int r;

	if (klic_request_semantics(d, req))
		return 0;
	if ((r = klic_ledger_entitlements(l, &ents, &n, req->product, now)) != 0)
		return r;
	r = klic_eligibility_decide(d, ents, n, req->product, req->seats, now);
	free(ents);
	if (r != 0 || !d->issue)
		return r;
	return alloc_files(l, d, files, req, now);
}

/* ---- plan (read-only) ------------------------------------------------------- */

static int plan_item(struct worker *w, struct item *it, struct klic_issue_result *res)
{
	license_file_t files[KLIC_MAX_SEATS];
	struct klic_decision d;
	struct req_row row;
	int r;

	fill_common(res, it);
	res->spend = 0;
	if (it->kind == K_NOT_MEMBER) {
		copy_str(res->status, sizeof res->status, KLIC_STATUS_DENIED);
		copy_str(res->reason_code, sizeof res->reason_code, "not-member");
		return 0;
	}
	if ((r = load_request(w->l, &row, it->digest)) != 0)
		return r;
	free(row.response);
	if (row.found) {
		copy_str(res->status, sizeof res->status, row.status);
		res->outcome = KLIC_OUTCOME_REISSUED;
		return 0;
	}
	memset(&d, 0, sizeof d);
	if ((r = decide(w->l, &it->req, klic_now(), &d, files)) != 0)
		return r;
	if (d.issue) {
		copy_str(res->status, sizeof res->status, KLIC_STATUS_ISSUED);
		res->spend = it->req.seats;
	} else {
		copy_str(res->status, sizeof res->status, KLIC_STATUS_DENIED);
		copy_str(res->reason_code, sizeof res->reason_code, d.reason_code);
	}
	return 0;
}

/* ---- execute ------------------------------------------------------------------ */

static int out_path_for(char *out, size_t outsz, const char *outdir, const char *reqpath)
{
	const char *base = strrchr(reqpath, '/');
	size_t blen;
	int n;

	base = base != NULL ? base + 1 : reqpath;
	if (strcmp(reqpath, "-") == 0)
		base = "stdin"; /* a request read from standard input */
	blen = strlen(base);
	if (blen > 5 && strcmp(base + blen - 5, ".kreq") == 0)
		blen -= 5;
	if (blen == 0 || strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: cannot name the response",
				      reqpath);
	n = snprintf(out, outsz, "%s/%.*s.kresp", outdir, (int)blen, base);
	if (n < 0 || (size_t)n >= outsz)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: output path too long", reqpath);
	return 0;
}

/* A new request's answer: decided, built and signed BEFORE the transaction
 * that records it, so the ledger's write lock is never held across a gpg
 * process and one commit records the seats, the names and the response
 * together (a crash before it leaves nothing; after it, the stored response
 * is delivered by the re-run). */
struct answer {
	int64_t now;
	struct klic_decision d;
	license_file_t files[KLIC_MAX_SEATS];
	struct req_row row;
	struct klic_response resp;
	uint8_t *bytes; /* the signed .kresp (owned) */
	size_t len;
};

static int plan_answer(struct worker *w, struct item *it, struct answer *an)
{
	struct klic_admin *a = w->b->a;
	int r;

	free(an->bytes);
	memset(an, 0, sizeof *an);
	an->now = klic_now();
	if ((r = decide(w->l, &it->req, an->now, &an->d, an->files)) != 0)
		return r;
	if (an->d.issue && !it->may_spend)
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "seats became available after the confirmation; run issue "
				      "again");
	copy_str(an->row.status, sizeof an->row.status,
		 an->d.issue ? KLIC_STATUS_ISSUED : KLIC_STATUS_DENIED);
	copy_str(an->row.member_fpr, sizeof an->row.member_fpr, it->req.requester_fpr);
	copy_str(an->row.machine_id, sizeof an->row.machine_id, it->req.machine_id);
	copy_str(an->row.product, sizeof an->row.product, it->req.product);
	an->row.seats = it->req.seats;
	an->row.created = an->now;
	if (!an->d.issue) {
		copy_str(an->row.reason_code, sizeof an->row.reason_code, an->d.reason_code);
		copy_str(an->row.reason, sizeof an->row.reason, an->d.reason);
	}
	response_head(&an->resp, a, it->digest, &an->row);
	if (an->d.issue) {
		an->resp.expires = an->d.expires;
		for (unsigned k = 0; k < it->req.seats; k++) {
			struct klic_response_entry *e = &an->resp.lic[k];
			if ((r = klic_license_id_new(e->license_id)) != 0)
				return r;
			copy_str(e->file, sizeof e->file, an->files[k]);
			e->seat = k + 1;
		}
		an->resp.n_licenses = it->req.seats;
	}
	return sign_response(a, &an->bytes, &an->len, &an->resp);
}

/* Would the transaction decide what the plan did? */
static int same_decision(const struct answer *an, const struct klic_decision *d,
			 license_file_t *files, unsigned seats)
{
	if (d->issue != an->d.issue)
		return 0;
	if (!d->issue)
		return strcmp(d->reason_code, an->d.reason_code) == 0;
	if (d->entitlement_id != an->d.entitlement_id || d->expires != an->d.expires)
		return 0;
	for (unsigned k = 0; k < seats; k++)
		if (strcmp(files[k], an->files[k]) != 0)
			return 0;
	return 1;
}

enum { REC_DONE = 0, REC_ANSWERED = 1, REC_STALE = 2 };

/* The seat transaction (steps 7-9 under BEGIN IMMEDIATE): unless the
 * request was answered meanwhile (REC_ANSWERED) or the ledger changed the
 * decision (REC_STALE: plan again), record the request with its response,
 * its licenses and the audit row, in one commit. */
static int record_answer(struct worker *w, struct item *it, const struct answer *an, int *state)
{
	struct klic_ledger *l = w->l;
	sqlite3_stmt *st = NULL;
	license_file_t files[KLIC_MAX_SEATS];
	struct klic_decision d;
	struct req_row row;
	char created[KLIC_TIME_LEN + 1], detail[600], exp_s[KLIC_TIME_LEN + 1];
	int r;

	*state = REC_DONE;
	if ((r = klic_time_format(created, an->now)) != 0)
		return r;
	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if ((r = load_request(l, &row, it->digest)) != 0)
		goto out;
	free(row.response);
	if (row.found) {
		*state = REC_ANSWERED;
		klic_ledger_rollback(l);
		return 0;
	}
	memset(&d, 0, sizeof d);
	if ((r = klic_ledger_usage_refresh(l, it->req.product, an->now)) != 0 ||
	    (r = decide(l, &it->req, an->now, &d, files)) != 0)
		goto out;
	if (!same_decision(an, &d, files, it->req.seats)) {
		*state = REC_STALE;
		klic_ledger_rollback(l);
		return 0;
	}
	if (klic_ledger_stmt(l, &st,
			     "INSERT INTO requests(digest, member_fpr, machine_id, product, seats, "
			     "status, reason_code, reason, entitlement_id, created, response) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)") != 0) {
		r = klic_ledger_err(l, "requests");
		goto out;
	}
	sqlite3_bind_text(st, 1, it->digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, it->req.requester_fpr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, it->req.machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, it->req.product, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, it->req.seats);
	sqlite3_bind_text(st, 6, an->row.status, -1, SQLITE_STATIC);
	if (!d.issue) {
		sqlite3_bind_text(st, 7, an->row.reason_code, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, an->row.reason, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_int64(st, 9, d.entitlement_id);
	}
	sqlite3_bind_text(st, 10, created, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 11, an->bytes, (int)an->len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = klic_ledger_err(l, "requests insert");
		goto out;
	}
	klic_ledger_stmt_done(l, st);
	st = NULL;
	if (d.issue) {
		if (klic_ledger_stmt(
			l, &st,
			"INSERT INTO licenses(license_id, request_digest, seat, machine_id,"
			" product, issued, expires, entitlement_id, member_fpr, file) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)") != 0) {
			r = klic_ledger_err(l, "licenses");
			goto out;
		}
		for (size_t k = 0; k < an->resp.n_licenses; k++) {
			const struct klic_response_entry *e = &an->resp.lic[k];
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, e->license_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, it->digest, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, e->seat);
			sqlite3_bind_text(st, 4, it->req.machine_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, it->req.product, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, an->now);
			sqlite3_bind_int64(st, 7, d.expires);
			sqlite3_bind_int64(st, 8, d.entitlement_id);
			sqlite3_bind_text(st, 9, it->req.requester_fpr, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 10, e->file, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE) {
				r = klic_ledger_err(l, "licenses insert");
				goto out;
			}
		}
		klic_ledger_stmt_done(l, st);
		st = NULL;
		if ((r = klic_time_format(exp_s, d.expires)) != 0)
			goto out;
		snprintf(detail, sizeof detail,
			 "%u %s seat(s) to %s machine %s from entitlement %lld, expires %s",
			 it->req.seats, it->req.product, it->req.requester_fpr, it->req.machine_id,
			 (long long)d.entitlement_id, exp_s);
	} else {
		snprintf(detail, sizeof detail, "%s: %s (%s, %u %s seat(s), machine %s)",
			 an->row.reason_code, an->row.reason, it->req.requester_fpr, it->req.seats,
			 it->req.product, it->req.machine_id);
	}
	if ((r = klic_ledger_audit_append(l, an->now, d.issue ? "issued" : "denied", it->digest,
					  detail)) != 0)
		goto out;
	return klic_ledger_commit(l);
out:
	klic_ledger_stmt_done(l, st);
	klic_ledger_rollback(l);
	return r;
}

/* Store the response once (a concurrent run may have stored its own:
 * then use that one) and, for a re-issue, audit it. */
static int store_response(struct klic_ledger *l, const char *digest, uint8_t **bytes, size_t *len,
			  int reissue, int64_t now)
{
	sqlite3_stmt *st = NULL;
	struct req_row row;
	int r;

	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if (*bytes != NULL) {
		if (*len > KLIC_MAX_BUNDLE_BYTES) {
			r = klic_error_set(KLIC_ERR_TOO_BIG, "response of %zu bytes", *len);
			goto out;
		}
		if (klic_ledger_stmt(l, &st,
				     "UPDATE requests SET response = ?1 WHERE digest = ?2 AND "
				     "response IS NULL") != 0) {
			r = klic_ledger_err(l, "store response");
			goto out;
		}
		sqlite3_bind_blob(st, 1, *bytes, (int)*len, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			r = klic_ledger_err(l, "store response");
			goto out;
		}
		klic_ledger_stmt_done(l, st);
		st = NULL;
		if (sqlite3_changes(klic_ledger_db(l)) == 0) {
			/* someone else stored theirs first: deliver theirs */
			if ((r = load_request(l, &row, digest)) != 0)
				goto out;
			if (row.response == NULL) {
				r = klic_error_set(KLIC_ERR_LEDGER, "request %s: response vanished",
						   digest);
				goto out;
			}
			free(*bytes);
			*bytes = row.response;
			*len = row.response_len;
		}
	}
	if (reissue && (r = klic_ledger_audit_append(l, now, "reissued", digest, "")) != 0)
		goto out;
	return klic_ledger_commit(l);
out:
	klic_ledger_stmt_done(l, st);
	klic_ledger_rollback(l);
	return r;
}

static int exec_not_member(struct worker *w, struct item *it, struct klic_issue_result *res,
			   uint8_t **bytes, size_t *len)
{
	struct req_row row;
	char detail[400];
	int64_t now = klic_now();
	int r;

	memset(&row, 0, sizeof row);
	copy_str(row.status, sizeof row.status, KLIC_STATUS_DENIED);
	copy_str(row.member_fpr, sizeof row.member_fpr, it->req.requester_fpr);
	copy_str(row.machine_id, sizeof row.machine_id, it->req.machine_id);
	copy_str(row.product, sizeof row.product, it->req.product);
	row.seats = it->req.seats;
	row.created = now;
	copy_str(row.reason_code, sizeof row.reason_code, "not-member");
	snprintf(row.reason, sizeof row.reason,
		 "the key %s that signed the request is not a registered member; ask the admin to "
		 "run klic-admin member add",
		 it->req.requester_fpr);
	if ((r = build_response(w->b->a, NULL, bytes, len, it->digest, &row)) != 0)
		return r;
	snprintf(detail, sizeof detail, "not-member: %s (%u %s seat(s), machine %s)",
		 it->req.requester_fpr, it->req.seats, it->req.product, it->req.machine_id);
	pthread_mutex_lock(&w->b->wmu);
	if ((r = klic_ledger_begin(w->l)) == 0) {
		if ((r = klic_ledger_audit_append(w->l, now, "denied", it->digest, detail)) != 0)
			klic_ledger_rollback(w->l);
		else
			r = klic_ledger_commit(w->l);
	}
	pthread_mutex_unlock(&w->b->wmu);
	if (r != 0)
		return r;
	copy_str(res->status, sizeof res->status, row.status);
	copy_str(res->reason_code, sizeof res->reason_code, row.reason_code);
	copy_str(res->reason, sizeof res->reason, row.reason);
	res->outcome = KLIC_OUTCOME_DENIED;
	return 0;
}

/* Answer a request already recorded: its stored response, or one rebuilt
 * from its rows (a crash, or a migration, left it without one); nothing is
 * spent, a re-issue is audited. */
static int exec_reissue(struct worker *w, struct item *it, struct klic_issue_result *res,
			struct req_row *row, uint8_t **bytes, size_t *len)
{
	int r;

	if (row->response != NULL) {
		*bytes = row->response;
		*len = row->response_len;
		row->response = NULL; /* transferred */
	} else {
		if ((r = build_response(w->b->a, w->l, bytes, len, it->digest, row)) != 0)
			return r;
		res->rebuilt = 1;
	}
	pthread_mutex_lock(&w->b->wmu);
	r = store_response(w->l, it->digest, bytes, len, 1, klic_now());
	pthread_mutex_unlock(&w->b->wmu);
	if (r != 0)
		return r;
	copy_str(res->status, sizeof res->status, row->status);
	copy_str(res->reason_code, sizeof res->reason_code, row->reason_code);
	copy_str(res->reason, sizeof res->reason, row->reason);
	res->seats = row->seats;
	res->outcome = KLIC_OUTCOME_REISSUED;
	return 0;
}

#define MAX_PLANS 8 /* the ledger changed under a plan this often: give up */

static int exec_item(struct worker *w, struct item *it, struct klic_issue_result *res)
{
	struct req_row row;
	struct answer *an = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	int r, state = REC_STALE;

	memset(&row, 0, sizeof row);
	fill_common(res, it);
	res->outcome = KLIC_OUTCOME_ERROR;
	res->reason_code[0] = res->reason[0] = '\0';
	if ((r = out_path_for(res->out_path, sizeof res->out_path, w->b->outdir,
			      w->b->paths[it - w->b->items])) != 0)
		goto out;
	if (it->kind == K_NOT_MEMBER) {
		if ((r = exec_not_member(w, it, res, &bytes, &len)) != 0)
			goto out;
	} else {
		if ((an = calloc(1, sizeof *an)) == NULL) {
			r = klic_error_set(KLIC_ERR_NOMEM, "answer");
			goto out;
		}
		for (int plans = 0;; plans++) {
			/* a plan made stale by another worker (one machine's
			 * requests compete for its file names) is made again
			 * under the writer lock, where no worker can change it */
			int hold = plans > 0;
			if (hold)
				pthread_mutex_lock(&w->b->wmu);
			/* 7: answered before (or meanwhile): the same answer */
			free(row.response);
			r = load_request(w->l, &row, it->digest);
			if (r == 0 && row.found) {
				if (hold)
					pthread_mutex_unlock(&w->b->wmu);
				if ((r = exec_reissue(w, it, res, &row, &bytes, &len)) != 0)
					goto out;
				break;
			}
			if (r == 0 && plans == MAX_PLANS)
				r = klic_error_set(KLIC_ERR_LEDGER,
						   "the ledger kept changing under the decision; "
						   "run issue again");
			/* 6, 8: decide, then sign; 9: record it all in one commit */
			if (r == 0)
				r = plan_answer(w, it, an);
			if (r != 0) {
				if (hold)
					pthread_mutex_unlock(&w->b->wmu);
				goto out;
			}
			if (!hold)
				pthread_mutex_lock(&w->b->wmu);
			r = record_answer(w, it, an, &state);
			pthread_mutex_unlock(&w->b->wmu);
			if (r != 0)
				goto out;
			if (state == REC_DONE) {
				bytes = an->bytes;
				len = an->len;
				an->bytes = NULL; /* transferred */
				copy_str(res->status, sizeof res->status, an->row.status);
				copy_str(res->reason_code, sizeof res->reason_code,
					 an->row.reason_code);
				copy_str(res->reason, sizeof res->reason, an->row.reason);
				res->outcome = an->d.issue ? KLIC_OUTCOME_ISSUED : KLIC_OUTCOME_DENIED;
				break;
			}
		}
	}
	if (w->b->o->armor) {
		/* --armor: the same response as ASCII armor (spec/ARMOR.md) */
		char *text = NULL;
		size_t tlen = 0;
		if ((r = klic_armor_encode(&text, &tlen, KLIC_KIND_RESPONSE, bytes, len)) != 0)
			goto out;
		free(bytes);
		bytes = (uint8_t *)text;
		len = tlen;
	}
	/* what a killed earlier run left in the output folder goes first */
	pthread_mutex_lock(&w->b->mu);
	if (!w->b->swept) {
		w->b->swept = 1;
		r = klic_sweep_stale(w->b->outdir, ".kresp");
	}
	pthread_mutex_unlock(&w->b->mu);
	if (r != 0)
		goto out;
	if ((r = klic_write_atomic(res->out_path, bytes, len, 0644, 0)) != 0)
		goto out;
	r = 0;
out:
	if (an != NULL)
		free(an->bytes);
	free(an);
	free(row.response);
	free(bytes);
	if (r != 0)
		item_fail(res, it, r);
	return r;
}

/* ---- the batch ----------------------------------------------------------------- */

static void report_done(struct batch *b, size_t i)
{
	pthread_mutex_lock(&b->mu);
	b->items[i].done = 1;
	while (b->next_report < b->n && b->items[b->next_report].done) {
		const struct klic_issue_result *res = &b->res[b->next_report];
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
	pthread_mutex_unlock(&b->mu);
}

static void process(struct worker *w, size_t i)
{
	struct batch *b = w->b;
	struct item *it = &b->items[i];
	struct klic_issue_result *res = &b->res[i];
	int r;

	if (b->phase == PH_ALL || b->phase == PH_PLAN) {
		klic_error_clear();
		if ((r = verify_item(w, it)) != 0) {
			item_fail(res, it, r);
		} else if (b->phase == PH_PLAN) {
			if ((r = plan_item(w, it, res)) != 0)
				item_fail(res, it, r);
			return;
		}
	}
	if (!it->failed) {
		klic_error_clear();
		if (b->phase == PH_ALL)
			it->may_spend = 1;
		(void)exec_item(w, it, res);
	}
	report_done(b, i);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct batch *b = w->b;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&b->mu);
		i = b->next++;
		pthread_mutex_unlock(&b->mu);
		if (i >= b->n)
			break;
		process(w, i);
		/* out of the writer lock: the other workers keep committing */
		klic_ledger_checkpoint(w->l);
	}
	return NULL;
}

static int run_phase(struct batch *b, struct worker *ws, unsigned jobs, int phase)
{
	pthread_t th[MAX_JOBS];
	unsigned k, started = 0;

	b->phase = phase;
	b->next = 0;
	b->next_report = 0;
	for (k = 0; k < jobs; k++) {
		if (pthread_create(&th[k], NULL, worker_main, &ws[k]) != 0)
			break;
		started++;
	}
	if (started == 0)
		worker_main(&ws[0]); /* no threads: do it here */
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	return 0;
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
		if (out_path_for(buf, sizeof buf, outdir, paths[i]) != 0) {
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

int klic_issue_batch(struct klic_admin *a, const char *const *paths, size_t n,
		     const struct klic_issue_opts *o, struct klic_issue_tally *tally)
{
	struct batch *b = NULL;
	struct worker ws[MAX_JOBS];
	unsigned jobs, k;
	int own_workers = 0;
	long cpus;
	size_t i, cap;
	int r;

	memset(tally, 0, sizeof *tally);
	memset(ws, 0, sizeof ws);
	if (n == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "no request files");
	jobs = o->jobs;
	if (jobs == 0) {
		/* a job mostly waits for its gpg process or for a file's fsync:
		 * three per CPU keep the CPUs busy (tests/bench, 2 CPUs: 2 %
		 * more throughput than two per CPU, 10-12 % more than one) */
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = cpus < 1 ? 3 : (cpus > MAX_JOBS / 3 ? MAX_JOBS : 3 * (unsigned)cpus);
	}
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	if (jobs > n)
		jobs = (unsigned)n;
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
	if (snprintf(b->outdir, sizeof b->outdir, "%s", o->outdir != NULL ? o->outdir : ".") >=
	    (int)sizeof b->outdir) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "output directory path too long");
		goto out;
	}
	if ((r = check_out_names(paths, n, b->outdir)) != 0 ||
	    (r = klic_mkdir_p(b->outdir, 0755)) != 0)
		goto out;
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
	}
	klic_error_clear();
	for (k = 0; k < jobs; k++) {
		ws[k].b = b;
		if (klic_ledger_open(&ws[k].l, a->ledger_path, 0) != 0) {
			r = klic_error_code();
			goto out;
		}
		klic_ledger_defer_checkpoints(ws[k].l);
	}
	if (o->confirm == NULL) {
		for (size_t base = 0; base < n; base += cap) {
			b->paths = paths + base;
			b->n = n - base < cap ? n - base : cap;
			memset(b->items, 0, b->n * sizeof *b->items);
			memset(b->res, 0, b->n * sizeof *b->res);
			for (i = 0; i < b->n; i++)
				b->res[i].path = b->paths[i];
			run_phase(b, ws, jobs, PH_ALL);
		}
	} else {
		unsigned total = 0;
		for (i = 0; i < n; i++)
			b->res[i].path = paths[i];
		run_phase(b, ws, jobs, PH_PLAN);
		for (i = 0; i < n; i++) {
			total += b->res[i].spend;
			b->items[i].may_spend = b->res[i].spend > 0;
		}
		if (total > 0 && (r = o->confirm(o->ctx, b->res, n, total)) != 0)
			goto out;
		run_phase(b, ws, jobs, PH_EXEC);
	}
	*tally = b->tally;
	r = 0;
out:
	if (own_workers)
		klic_keyring_stop_workers(a->kr);
	for (k = 0; k < jobs; k++)
		klic_ledger_free(ws[k].l);
	pthread_mutex_destroy(&b->wmu);
	pthread_mutex_destroy(&b->mu);
	free(b->items);
	free(b->res);
	free(b);
	return r;
}
