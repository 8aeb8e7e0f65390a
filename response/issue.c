/* klic response/ — `klic-admin issue`, one request: spec/PROTOCOL.md 5.3,
 * in order.
 *
 * Each request goes through
 *   verify  (steps 1-5: read, strict archive, manifest, embedded key,
 *            member signature or not-member attribution)
 *   plan    (steps 6-8 read-only: what would be spent; for confirmation)
 *   execute (decide and sign the answer, then one immediate write
 *            transaction that re-decides and, if nothing changed, records
 *            seats, names and response in one commit; then write it).
 * The batch and its jobs are in issue_batch.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "issue_int.h"
#include "klic_armor.h"

static void copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;
	if (n >= dstsz)
		n = dstsz - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int klic_issue_item_fail(struct klic_issue_result *res, struct item *it, int r)
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

/* digest is that of a request the caller's earlier plan verified as a
 * member's (klic_issue_opts.verified) */
static int verified_before(const struct klic_issue_opts *o, const char *digest)
{
	for (size_t i = 0; i < o->n_verified; i++)
		if (o->verified[i].member_signed && strcmp(o->verified[i].digest, digest) == 0)
			return 1;
	return 0;
}

int klic_issue_verify(struct job *j, struct item *it)
{
	struct klic_admin *a = j->b->a;
	struct klic_opened_request rq;
	char kfpr[KLIC_FPR_HEX_LEN + 1], signer[KLIC_FPR_HEX_LEN + 1];
	char uid[KLIC_MAX_UID_LEN + 1];
	struct allow_ctx actx = {j->l, a->issuer_fpr};
	const char *path = j->b->paths[it - j->b->items];
	int r;

	/* 1-3: read, strict archive, manifest, embedded key */
	if ((r = klic_request_open(&rq, path)) != 0)
		goto out;
	it->req = rq.req;
	memcpy(it->digest, rq.digest, sizeof it->digest);
	/* these very bytes were verified as a member's by this process (the
	 * web console's preview): only the membership is looked at again */
	if (verified_before(j->b->o, it->digest) &&
	    allow_member(&actx, it->req.requester_fpr) == 0) {
		it->kind = K_NORMAL;
		goto verified;
	}
	klic_error_clear();
	/* 4: signed by a registered member (verified in the members' keyring,
	 * public keys only, with the key registered for that member) */
	r = klic_verify_detached(a->members, signer, rq.sig->data, rq.sig->len, rq.man->data,
				 rq.man->len, allow_member, &actx);
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
		if ((r = klic_key_inspect(a->members, kfpr, uid, rq.key->data, rq.key->len)) != 0)
			goto out;
		if (strcmp(kfpr, it->req.requester_fpr) != 0) {
			r = klic_error_set(KLIC_ERR_MISMATCH,
					   "requester.pgp is %s, requester_fpr says %s", kfpr,
					   it->req.requester_fpr);
			goto out;
		}
		if ((r = klic_verify_with_embedded_key(
			 rq.key->data, rq.key->len, it->req.requester_fpr, rq.sig->data,
			 rq.sig->len, rq.man->data, rq.man->len)) != 0)
			goto out;
		it->kind = K_NOT_MEMBER;
		/* a shared ledger: a member another admin registered (its key is in
		 * that admin's members keyring) is a member here too: the embedded
		 * key has the registered fingerprint and made the signature */
		if (klic_ledger_is_pg(j->l) && strcmp(kfpr, a->issuer_fpr) != 0) {
			r = klic_ledger_is_member(j->l, kfpr);
			if (r == 0)
				it->kind = K_NORMAL;
			else if (r != KLIC_ERR_NOT_FOUND)
				goto out;
		}
	} else {
		goto out;
	}
verified:
	klic_error_clear();
	it->verified = 1;
	r = 0;
out:
	klic_opened_request_dispose(&rq);
	return r;
}

static void fill_common(struct klic_issue_result *res, const struct item *it)
{
	copy_str(res->digest, sizeof res->digest, it->digest);
	res->member_signed = it->verified && it->kind == K_NORMAL;
	copy_str(res->member_fpr, sizeof res->member_fpr, it->req.requester_fpr);
	copy_str(res->machine_id, sizeof res->machine_id, it->req.machine_id);
	copy_str(res->product, sizeof res->product, it->req.product);
	res->seats = it->req.seats;
	res->renewal = it->req.n_renews > 0;
}

/* ---- building the response ------------------------------------------------- */

/* The response document for a request row, without licenses yet (a denial
 * is complete). */
static void response_head(struct klic_response *resp, const struct klic_admin *a,
			  const char *digest, const struct klic_request_row *row)
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

/* An issued response's chain to the vendor (version 2): the .kent of the
 * entitlement it draws on, and the issuer's public key. */
static int chain_fields(struct job *j, struct klic_response *resp, int64_t entitlement_id)
{
	int r;

	r = klic_ledger_entitlement_kent(j->l, resp->entitlement_id, resp->entitlement,
					 sizeof resp->entitlement, &resp->entitlement_len,
					 entitlement_id);
	if (r != 0)
		return r;
	copy_str(resp->issuer_key, sizeof resp->issuer_key, j->b->issuer_key);
	return 0;
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
static int build_response(struct job *j, int recorded, uint8_t **out, size_t *outlen,
			  const char *digest, const struct klic_request_row *row)
{
	struct klic_admin *a = j->b->a;
	struct klic_response *resp = calloc(1, sizeof *resp);
	int r;

	*out = NULL;
	*outlen = 0;
	if (resp == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "response");
	response_head(resp, a, digest, row);
	r = 0;
	if (recorded && strcmp(row->status, KLIC_STATUS_ISSUED) == 0) {
		r = klic_ledger_request_licenses(j->l, resp, digest, row);
		if (r == 0)
			r = chain_fields(j, resp, row->entitlement_id);
	}
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
	unsigned k, got = 0, active = 0;
	int r;

	if ((r = klic_ledger_active_files(l, used, &active, req->machine_id, req->product, now)) !=
	    0)
		return r;
	for (k = 1; k <= KLIC_MAX_SEATS && got < req->seats; k++) {
		if (used[k])
			continue;
		if ((r = klic_license_filename(files[got], req->product, req->machine_id, k)) != 0)
			return r;
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
	return 0;
}

/* A renewal (spec 5.3.4): the licenses it names, looked up, decided by
 * klic_renewal_decide; granted, each new license takes the file name (the
 * seat) of the license it renews. */
static int decide_renewal(struct klic_ledger *l, const struct klic_request *req, int64_t now,
			  struct klic_decision *d, license_file_t *files,
			  const struct klic_entitlement *ents, size_t n)
{
	struct klic_license_row *old = calloc(KLIC_MAX_SEATS, sizeof *old);
	int found[KLIC_MAX_SEATS];
	unsigned window = 0;
	int r = 0;

	if (old == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "renewal");
	if (req->n_renews > KLIC_MAX_SEATS) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "renewal of %u licenses", req->n_renews);
		goto out;
	}
	for (unsigned i = 0; i < req->n_renews && r == 0; i++)
		r = klic_ledger_license_get(l, &old[i], &found[i], req->renews[i]);
	if (r != 0 || (r = klic_ledger_renew_window(l, &window)) != 0 ||
	    (r = klic_renewal_decide(d, req, old, found, window, ents, n, now)) != 0)
		goto out;
	if (d->issue)
		for (unsigned i = 0; i < req->n_renews; i++)
			copy_str(files[i], sizeof files[i], old[i].file);
out:
	free(old);
	return r;
}

/* What the request gets at `now`: request semantics, then for a renewal
 * the renewal checks (5.3.4), else eligibility among the product's
 * entitlements (5.3.1) and names for the licenses (5.3.2). */
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
	/* a shared ledger: only the entitlements that name this admin's key */
	if ((r = klic_ledger_keep_mine(l, ents, &n)) != 0) {
		free(ents);
		return r;
	}
	if (req->n_renews > 0) {
		r = decide_renewal(l, req, now, d, files, ents, n);
		free(ents);
		return r;
	}
	r = klic_eligibility_decide(d, ents, n, req->product, req->seats, now);
	free(ents);
	if (r != 0 || !d->issue)
		return r;
	return alloc_files(l, d, files, req, now);
}

/* A request denied before gets the same answer again only when deciding
 * it afresh gives the very same denial (reason code and reason): then its
 * stored response is delivered; otherwise the new decision replaces it. */
static int same_denial(const struct klic_request_row *row, const struct klic_decision *d)
{
	return strcmp(row->status, KLIC_STATUS_DENIED) == 0 && !d->issue &&
	       strcmp(row->reason_code, d->reason_code) == 0 && strcmp(row->reason, d->reason) == 0;
}

/* A recorded request that gets its recorded answer again (*replay 1): an
 * issued one always; a denied one when the denial is still the same. */
static int replay_recorded(struct klic_ledger *l, const struct item *it,
			   const struct klic_request_row *row, int *replay)
{
	license_file_t files[KLIC_MAX_SEATS];
	struct klic_decision d;
	int r;

	*replay = 0;
	if (!row->found)
		return 0;
	if (strcmp(row->status, KLIC_STATUS_ISSUED) == 0) {
		*replay = 1;
		return 0;
	}
	memset(&d, 0, sizeof d);
	if ((r = decide(l, &it->req, klic_now(), &d, files)) != 0)
		return r;
	*replay = same_denial(row, &d);
	return 0;
}

/* ---- plan (read-only) ------------------------------------------------------- */

int klic_issue_plan(struct job *j, struct item *it, struct klic_issue_result *res)
{
	license_file_t files[KLIC_MAX_SEATS];
	struct klic_decision d;
	struct klic_request_row row;
	int r;

	fill_common(res, it);
	res->spend = 0;
	if (it->kind == K_NOT_MEMBER) {
		copy_str(res->status, sizeof res->status, KLIC_STATUS_DENIED);
		copy_str(res->reason_code, sizeof res->reason_code, "not-member");
		return 0;
	}
	if ((r = klic_ledger_member_name(j->l, res->member_uid, sizeof res->member_uid,
					 it->req.requester_fpr)) != 0)
		return r;
	if ((r = klic_ledger_request_get(j->l, &row, it->digest)) != 0)
		return r;
	free(row.response);
	if (row.found && strcmp(row.status, KLIC_STATUS_ISSUED) == 0) {
		copy_str(res->status, sizeof res->status, row.status);
		res->outcome = KLIC_OUTCOME_REISSUED;
		return 0;
	}
	/* new, or denied before: decided afresh (a denial spent nothing) */
	memset(&d, 0, sizeof d);
	if ((r = decide(j->l, &it->req, klic_now(), &d, files)) != 0)
		return r;
	if (row.found && same_denial(&row, &d)) {
		copy_str(res->status, sizeof res->status, row.status);
		copy_str(res->reason_code, sizeof res->reason_code, row.reason_code);
		res->outcome = KLIC_OUTCOME_REISSUED;
		return 0;
	}
	if (d.issue) {
		copy_str(res->status, sizeof res->status, KLIC_STATUS_ISSUED);
		res->spend = it->req.n_renews > 0 ? 0 : it->req.seats; /* a renewal: none */
	} else {
		copy_str(res->status, sizeof res->status, KLIC_STATUS_DENIED);
		copy_str(res->reason_code, sizeof res->reason_code, d.reason_code);
	}
	return 0;
}

/* ---- execute ------------------------------------------------------------------ */

int klic_issue_out_path(char *out, size_t outsz, const char *outdir, const char *reqpath)
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
	struct klic_request_row row;
	struct klic_response resp;
	uint8_t *bytes; /* the signed .kresp (owned) */
	size_t len;
};

static int plan_answer(struct job *j, struct item *it, struct answer *an)
{
	struct klic_admin *a = j->b->a;
	int r;

	free(an->bytes);
	memset(an, 0, sizeof *an);
	an->now = klic_now();
	if ((r = decide(j->l, &it->req, an->now, &an->d, an->files)) != 0)
		return r;
	if (an->d.issue && !it->may_spend && it->req.n_renews == 0)
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
		if ((r = chain_fields(j, &an->resp, an->d.entitlement_id)) != 0)
			return r;
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

/* The seat transaction (steps 7-9, one immediate write transaction): unless the
 * request was answered meanwhile (REC_ANSWERED) or the ledger changed the
 * decision (REC_STALE: plan again), record the request with its response,
 * its licenses and the audit row, in one commit. */
static int record_answer(struct job *j, struct item *it, const struct answer *an, int *state)
{
	struct klic_ledger *l = j->l;
	license_file_t files[KLIC_MAX_SEATS];
	struct klic_decision d;
	struct klic_request_row row;
	char created[KLIC_TIME_LEN + 1], detail[700], exp_s[KLIC_TIME_LEN + 1];
	int r;

	*state = REC_DONE;
	if ((r = klic_time_format(created, an->now)) != 0)
		return r;
	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if ((r = klic_ledger_request_get(l, &row, it->digest)) != 0)
		goto out;
	free(row.response);
	if (row.found && strcmp(row.status, KLIC_STATUS_ISSUED) == 0) {
		*state = REC_ANSWERED;
		klic_ledger_rollback(l);
		return 0;
	}
	memset(&d, 0, sizeof d);
	if ((r = klic_ledger_usage_refresh(l, it->req.product, an->now)) != 0 ||
	    (r = decide(l, &it->req, an->now, &d, files)) != 0)
		goto out;
	if (row.found && same_denial(&row, &d)) {
		*state = REC_ANSWERED; /* the same denial: its stored response */
		klic_ledger_rollback(l);
		return 0;
	}
	if (!same_decision(an, &d, files, it->req.seats)) {
		*state = REC_STALE;
		klic_ledger_rollback(l);
		return 0;
	}
	/* denied before, decided differently now: the new answer replaces it */
	if (row.found && (r = klic_ledger_request_forget_denial(l, it->digest)) != 0)
		goto out;
	if ((r = klic_ledger_request_insert(l, it->digest, &it->req, &an->row, &d, created,
					    an->bytes, an->len)) != 0)
		goto out;
	if (d.issue) {
		if ((r = klic_ledger_licenses_insert(l, it->digest, &it->req, &an->resp, &d,
						     an->now)) != 0)
			goto out;
		if ((r = klic_time_format(exp_s, d.expires)) != 0)
			goto out;
		snprintf(detail, sizeof detail,
			 "%u %s seat(s) to %s machine %s from entitlement %lld, expires %s",
			 it->req.seats, it->req.product, it->req.requester_fpr, it->req.machine_id,
			 (long long)d.entitlement_id, exp_s);
		/* a renewal: each old license ends as its successor begins */
		for (unsigned k = 0; k < it->req.n_renews; k++)
			if ((r = klic_ledger_license_end(l, it->req.renews[k], an->now, "renewed",
							 it->digest)) != 0)
				goto out;
	} else {
		snprintf(detail, sizeof detail, "%s: %s (%s, %u %s seat(s), machine %s)",
			 an->row.reason_code, an->row.reason, it->req.requester_fpr, it->req.seats,
			 it->req.product, it->req.machine_id);
	}
	if (row.found) {
		size_t dl = strlen(detail);
		snprintf(detail + dl, sizeof detail - dl, " (decided again; denied before: %s)",
			 row.reason_code);
	}
	if ((r = klic_ledger_audit_append(l, an->now, d.issue ? "issued" : "denied", it->digest,
					  detail)) != 0)
		goto out;
	/* one 'renewed' row per license renewed: "<old ID> -> <new ID> (<file>)"
	 * (the vendor ties each ended license to it, spec 5.10) */
	for (unsigned k = 0; d.issue && k < it->req.n_renews; k++) {
		snprintf(detail, sizeof detail, "%s -> %s (%s)", it->req.renews[k],
			 an->resp.lic[k].license_id, an->resp.lic[k].file);
		if ((r = klic_ledger_audit_append(l, an->now, "renewed", it->digest, detail)) !=
		    0)
			goto out;
	}
	return klic_ledger_commit(l);
out:
	klic_ledger_rollback(l);
	return r;
}

/* Store the response once (a concurrent run may have stored its own:
 * then use that one) and, for a re-issue, audit it. */
static int store_response(struct klic_ledger *l, const char *digest, uint8_t **bytes, size_t *len,
			  int reissue, int64_t now)
{
	struct klic_request_row row;
	int r, stored;

	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if (*bytes != NULL) {
		if (*len > KLIC_MAX_BUNDLE_BYTES) {
			r = klic_error_set(KLIC_ERR_TOO_BIG, "response of %zu bytes", *len);
			goto out;
		}
		if ((r = klic_ledger_response_store(l, &stored, digest, *bytes, *len)) != 0)
			goto out;
		if (!stored) {
			/* someone else stored theirs first: deliver theirs */
			if ((r = klic_ledger_request_get(l, &row, digest)) != 0)
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
	klic_ledger_rollback(l);
	return r;
}

static int exec_not_member(struct job *j, struct item *it, struct klic_issue_result *res,
			   uint8_t **bytes, size_t *len)
{
	struct klic_request_row row;
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
	if ((r = build_response(j, 0, bytes, len, it->digest, &row)) != 0)
		return r;
	snprintf(detail, sizeof detail, "not-member: %s (%u %s seat(s), machine %s)",
		 it->req.requester_fpr, it->req.seats, it->req.product, it->req.machine_id);
	pthread_mutex_lock(&j->b->wmu);
	if ((r = klic_ledger_begin(j->l)) == 0) {
		if ((r = klic_ledger_audit_append(j->l, now, "denied", it->digest, detail)) != 0)
			klic_ledger_rollback(j->l);
		else
			r = klic_ledger_commit(j->l);
	}
	pthread_mutex_unlock(&j->b->wmu);
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
static int exec_reissue(struct job *j, struct item *it, struct klic_issue_result *res,
			struct klic_request_row *row, uint8_t **bytes, size_t *len)
{
	int r;

	if (row->response != NULL) {
		*bytes = row->response;
		*len = row->response_len;
		row->response = NULL; /* transferred */
	} else {
		if ((r = build_response(j, 1, bytes, len, it->digest, row)) != 0)
			return r;
		res->rebuilt = 1;
	}
	pthread_mutex_lock(&j->b->wmu);
	r = store_response(j->l, it->digest, bytes, len, 1, klic_now());
	pthread_mutex_unlock(&j->b->wmu);
	if (r != 0)
		return r;
	copy_str(res->status, sizeof res->status, row->status);
	copy_str(res->reason_code, sizeof res->reason_code, row->reason_code);
	copy_str(res->reason, sizeof res->reason, row->reason);
	res->seats = row->seats;
	res->outcome = KLIC_OUTCOME_REISSUED;
	return 0;
}

/* The response file can be written: not an existing folder or other
 * non-regular file (the folder itself was checked by the batch). */
static int out_path_usable(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0
				       : klic_error_set(KLIC_ERR_IO, "%s: %s; nothing was recorded",
							path, strerror(errno));
	if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
		return 0;
	return klic_error_set(KLIC_ERR_EXISTS,
			      "%s: %s, not a file: the response cannot be written there; "
			      "nothing was recorded",
			      path, S_ISDIR(st.st_mode) ? "is a folder" : "exists");
}

#define MAX_PLANS 8 /* the ledger changed under a plan this often: give up */

int klic_issue_exec(struct job *j, struct item *it, struct klic_issue_result *res)
{
	struct klic_request_row row;
	struct answer *an = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	int r, state = REC_STALE, replay = 0, failed = 0;

	memset(&row, 0, sizeof row);
	fill_common(res, it);
	res->outcome = KLIC_OUTCOME_ERROR;
	res->reason_code[0] = res->reason[0] = '\0';
	if (j->b->outfile[0] != '\0')
		copy_str(res->out_path, sizeof res->out_path, j->b->outfile);
	else if ((r = klic_issue_out_path(res->out_path, sizeof res->out_path, j->b->outdir,
					  j->b->paths[it - j->b->items])) != 0)
		goto out;
	/* the response must be writable before anything is recorded */
	if ((r = out_path_usable(res->out_path)) != 0)
		goto out;
	if (it->kind == K_NOT_MEMBER) {
		if ((r = exec_not_member(j, it, res, &bytes, &len)) != 0)
			goto out;
	} else {
		if ((an = calloc(1, sizeof *an)) == NULL) {
			r = klic_error_set(KLIC_ERR_NOMEM, "answer");
			goto out;
		}
		for (int plans = 0;; plans++) {
			/* a plan made stale by another job (one machine's
			 * requests compete for its file names) is made again
			 * under the writer lock, where no job can change it */
			int hold = plans > 0;
			if (hold)
				pthread_mutex_lock(&j->b->wmu);
			/* 7: answered before (or meanwhile): the same answer */
			free(row.response);
			r = klic_ledger_request_get(j->l, &row, it->digest);
			if (r == 0)
				r = replay_recorded(j->l, it, &row, &replay);
			if (r == 0 && replay) {
				if (hold)
					pthread_mutex_unlock(&j->b->wmu);
				if ((r = exec_reissue(j, it, res, &row, &bytes, &len)) != 0)
					goto out;
				break;
			}
			if (r == 0 && plans == MAX_PLANS)
				r = klic_error_set(KLIC_ERR_LEDGER,
						   "the ledger kept changing under the decision; "
						   "run issue again");
			/* 6, 8: decide, then sign; 9: record it all in one commit */
			if (r == 0)
				r = plan_answer(j, it, an);
			if (r != 0) {
				if (hold)
					pthread_mutex_unlock(&j->b->wmu);
				goto out;
			}
			if (!hold)
				pthread_mutex_lock(&j->b->wmu);
			r = record_answer(j, it, an, &state);
			pthread_mutex_unlock(&j->b->wmu);
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
				res->outcome =
				    an->d.issue ? KLIC_OUTCOME_ISSUED : KLIC_OUTCOME_DENIED;
				break;
			}
		}
	}
	if (j->b->o->armor) {
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
	pthread_mutex_lock(&j->b->mu);
	if (!j->b->swept) {
		j->b->swept = 1;
		r = klic_sweep_stale(j->b->outdir, ".kresp");
	}
	pthread_mutex_unlock(&j->b->mu);
	if (r != 0)
		goto out;
	if ((r = klic_write_atomic(res->out_path, bytes, len, 0644, 0)) != 0) {
		/* the answer is in the ledger: say so, and how to get the file */
		klic_issue_item_fail(res, it, r);
		failed = 1;
		size_t dl = strlen(res->detail);
		snprintf(res->detail + dl, sizeof res->detail - dl,
			 "; the answer is recorded in the ledger: run issue again on the same "
			 "request to write it (nothing more is spent)");
		goto out;
	}
	r = 0;
out:
	if (an != NULL)
		free(an->bytes);
	free(an);
	free(row.response);
	free(bytes);
	if (r != 0 && !failed)
		klic_issue_item_fail(res, it, r);
	return r;
}
