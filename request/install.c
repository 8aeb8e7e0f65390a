/* klic — verifying and installing a response (spec 5.2, 5.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_request.h"
#include "request_int.h"

/* Prefix the current error detail with the member name, keep the code. */
static int member_error(int r, const char *member)
{
	char d[512];
	snprintf(d, sizeof(d), "%s", klic_error_detail());
	return klic_error_set(r, "%s: %s", member, d);
}

/* What is at each of the 64 names <product>_<mid>[_k].lic (index k-1). */
static int survey_slots(struct klic_user *u, struct klic_slot_info info[KLIC_MAX_SEATS],
			char paths[KLIC_MAX_SEATS][KLIC_PATH_MAX], const char *product,
			const char *mid, int64_t now)
{
	char name[KLIC_MAX_NAME_LEN + 1];
	int r;

	for (unsigned k = 1; k <= KLIC_MAX_SEATS; k++) {
		struct klic_slot_info *s = &info[k - 1];
		struct klic_license cur;
		uint8_t *buf = NULL;
		size_t len = 0;

		memset(s, 0, sizeof(*s));
		if ((r = klic_license_filename(name, product, mid, k)) != 0 ||
		    (r = klic_rq_path(paths[k - 1], u->licdir, name)) != 0 ||
		    (r = klic_rq_exists(paths[k - 1], &s->exists)) != 0)
			return r;
		if (!s->exists)
			continue;
		if (klic_read_file(&buf, &len, paths[k - 1], KLIC_MAX_LIC_BYTES) == 0) {
			r = klic_user_check_license(u, &cur, buf, len, mid, now);
			s->valid = r == 0;
			memcpy(s->license_id, cur.license_id, sizeof(s->license_id));
			s->expires = cur.expires;
		}
		free(buf);
		klic_error_clear();
	}
	return 0;
}

static int check_members(const struct klic_archive *ar, const struct klic_response *resp)
{
	char want[KLIC_MAX_NAME_LEN + 1], h[KLIC_SHA256_HEX_LEN + 1];
	int r;

	if (ar->n != 2 + resp->n_licenses)
		return klic_error_set(KLIC_ERR_MEMBER_UNLISTED, "%zu members for %zu listed licenses",
				      ar->n, resp->n_licenses);
	for (size_t i = 0; i < resp->n_licenses; i++) {
		const struct klic_member *m;
		if ((r = klic_license_filename(want, resp->product, resp->machine_id,
					       (unsigned)i + 1)) != 0)
			return r;
		if (strcmp(want, resp->lic[i].file) != 0)
			return klic_error_set(KLIC_ERR_MEMBER_UNLISTED, "seat %zu is listed as %s",
					      i + 1, resp->lic[i].file);
		m = klic_archive_get(ar, resp->lic[i].file);
		if (m == NULL)
			return klic_error_set(KLIC_ERR_MEMBER_UNLISTED, "%s is listed but absent",
					      resp->lic[i].file);
		if ((r = klic_sha256_hex(h, m->data, m->len)) != 0)
			return r;
		if (strcmp(h, resp->lic[i].sha256) != 0)
			return klic_error_set(KLIC_ERR_MEMBER_HASH, "%s", m->name);
	}
	return 0;
}

/* Spec 5.2 #13 for license i: signature by the manifest's signer, every
 * field agrees with the manifest. */
static int check_license_13(struct klic_user *u, struct klic_license *lic,
			    const struct klic_member *m, const struct klic_response *resp,
			    const char *signer, unsigned seat)
{
	struct klic_lic_parts parts;
	char lsigner[KLIC_FPR_HEX_LEN + 1];
	int r;

	memset(lic, 0, sizeof(*lic));
	if ((r = klic_license_split(&parts, m->data, m->len)) != 0 ||
	    (r = klic_rq_verify_issuer(u, lsigner, parts.sig, parts.sig_len, parts.body,
				       parts.body_len)) != 0 ||
	    (r = klic_license_body_parse(lic, parts.body, parts.body_len)) != 0)
		return member_error(r, m->name);
	if (strcmp(lsigner, signer) != 0 || strcmp(lic->issuer_fpr, signer) != 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "%s: signed by %s, response by %s",
				      m->name, lsigner, signer);
	if (strcmp(lic->product, resp->product) != 0 ||
	    strcmp(lic->machine_id, resp->machine_id) != 0 ||
	    strcmp(lic->request_digest, resp->request_digest) != 0 ||
	    strcmp(lic->member_fpr, resp->member_fpr) != 0 ||
	    strcmp(lic->issuer_org, resp->issuer_org) != 0 || lic->seat != seat ||
	    lic->seats != resp->seats)
		return klic_error_set(KLIC_ERR_MISMATCH, "%s disagrees with the response manifest",
				      m->name);
	return 0;
}

int klic_user_install(struct klic_user *u, struct klic_install_result *res, const char *file)
{
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_response *resp = NULL;
	struct klic_request pend;
	struct klic_license *lic = NULL;
	struct klic_slot_info *info = NULL;
	char(*paths)[KLIC_PATH_MAX] = NULL;
	size_t chosen[KLIC_MAX_SEATS];
	char mid[KLIC_MACHINE_ID_LEN + 1], signer[KLIC_FPR_HEX_LEN + 1], t[KLIC_TIME_LEN + 1];
	uint8_t *buf = NULL;
	size_t len = 0, n_written = 0;
	const struct klic_member *man, *sig;
	int64_t now = klic_now(), newest = now;
	int r;

	memset(res, 0, sizeof(*res));
	resp = calloc(1, sizeof(*resp));
	lic = calloc(KLIC_MAX_SEATS, sizeof(*lic));
	info = calloc(KLIC_MAX_SEATS, sizeof(*info));
	paths = calloc(KLIC_MAX_SEATS, sizeof(*paths));
	if (resp == NULL || lic == NULL || info == NULL || paths == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "install");
		goto out;
	}
	/* 1-2: readable, bounded, strict archive with the response allow-list */
	if ((r = klic_read_file(&buf, &len, file, KLIC_MAX_BUNDLE_BYTES)) != 0 ||
	    (r = klic_archive_read(&ar, KLIC_KIND_RESPONSE, buf, len)) != 0)
		goto out;
	man = klic_archive_get(&ar, "manifest.json");
	sig = klic_archive_get(&ar, "manifest.sig");
	if (man == NULL || sig == NULL) {
		r = klic_error_set(KLIC_ERR_MEMBER_MISSING, "manifest.json / manifest.sig");
		goto out;
	}
	/* 3-4: a pinned issuer signed the manifest's exact bytes */
	if ((r = klic_rq_verify_issuer(u, signer, sig->data, sig->len, man->data, man->len)) != 0)
		goto out;
	/* 5-6: strict parse; the manifest names its signer */
	if ((r = klic_response_manifest_parse(resp, man->data, man->len)) != 0)
		goto out;
	if (strcmp(resp->issuer_fpr, signer) != 0) {
		r = klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "manifest names issuer %s, signed by %s",
				   resp->issuer_fpr, signer);
		goto out;
	}
	/* 7: answers a request made from this home */
	if ((r = klic_pending_load(&pend, u->home, resp->request_digest)) != 0)
		goto out;
	/* 8: this machine, the machine the request was made on */
	if ((r = klic_this_machine_id(mid)) != 0)
		goto out;
	if (strcmp(resp->machine_id, mid) != 0 || strcmp(pend.machine_id, mid) != 0) {
		r = klic_error_set(KLIC_ERR_WRONG_MACHINE, "response is for %s, this machine is %s",
				   resp->machine_id, mid);
		goto out;
	}
	/* 9: what was asked */
	if (strcmp(resp->product, pend.product) != 0 || resp->seats != pend.seats ||
	    strcmp(resp->member_fpr, pend.requester_fpr) != 0) {
		r = klic_error_set(KLIC_ERR_MISMATCH, "response does not answer the pending request");
		goto out;
	}
	/* 10: clock */
	if ((r = klic_user_clock_check(u, now)) != 0)
		goto out;
	/* 11: denial */
	if (strcmp(resp->status, KLIC_STATUS_DENIED) == 0) {
		if (!klic_is_printable(resp->reason_code, strlen(resp->reason_code)) ||
		    !klic_is_printable(resp->reason, strlen(resp->reason))) {
			r = klic_error_set(KLIC_ERR_FIELD, "denial reason is not printable");
			goto out;
		}
		memcpy(res->reason_code, resp->reason_code, sizeof(res->reason_code));
		memcpy(res->reason, resp->reason, sizeof(res->reason));
		r = klic_error_set(KLIC_ERR_DENIED, "%s: %s", resp->reason_code, resp->reason);
		goto out;
	}
	if (strcmp(resp->status, KLIC_STATUS_ISSUED) != 0 || resp->n_licenses != resp->seats ||
	    resp->n_licenses == 0 || resp->n_licenses > KLIC_MAX_SEATS) {
		r = klic_error_set(KLIC_ERR_FIELD, "response status/licenses");
		goto out;
	}
	/* 12: exactly the listed members, each with its SHA-256 */
	if ((r = check_members(&ar, resp)) != 0)
		goto out;
	/* 13: each license signed by the same issuer, agreeing with the manifest */
	for (size_t i = 0; i < resp->n_licenses; i++) {
		const struct klic_member *m = klic_archive_get(&ar, resp->lic[i].file);
		if ((r = check_license_13(u, &lic[i], m, resp, signer, (unsigned)i + 1)) != 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(lic[j].license_id, lic[i].license_id) == 0) {
				r = klic_error_set(KLIC_ERR_MISMATCH, "%s repeats a license_id",
						   m->name);
				goto out;
			}
		}
	}
	/* 14: valid now */
	for (size_t i = 0; i < resp->n_licenses; i++) {
		if (lic[i].issued > now + KLIC_FUTURE_SKEW) {
			(void)klic_time_format(t, lic[i].issued);
			r = klic_error_set(KLIC_ERR_LICENSE_FUTURE, "%s: issued %s", resp->lic[i].file, t);
			goto out;
		}
		if (lic[i].expires <= now) {
			(void)klic_time_format(t, lic[i].expires);
			r = klic_error_set(KLIC_ERR_LICENSE_EXPIRED, "%s: expired %s", resp->lic[i].file,
					   t);
			goto out;
		}
		if (lic[i].issued > newest)
			newest = lic[i].issued;
	}
	/* 15: plan every slot, still without writing anything */
	if ((r = survey_slots(u, info, paths, resp->product, mid, now)) != 0)
		goto out;
	for (size_t i = 0; i < resp->n_licenses; i++) {
		struct klic_slot_info order[KLIC_MAX_SEATS];
		size_t map[KLIC_MAX_SEATS], n = 0, idx;
		enum klic_slot_action act;
		unsigned seat = lic[i].seat;

		order[n] = info[seat - 1];
		map[n++] = seat - 1;
		for (unsigned k = 1; k <= KLIC_MAX_SEATS; k++) {
			if (k == seat)
				continue;
			order[n] = info[k - 1];
			map[n++] = k - 1;
		}
		if ((r = klic_slot_choose(&idx, &act, order, n, lic[i].license_id,
					  lic[i].expires)) != 0) {
			r = member_error(r, resp->lic[i].file);
			goto out;
		}
		chosen[i] = map[idx];
		info[chosen[i]].taken = 1;
		res->item[i].written = act == KLIC_SLOT_WRITE;
		memcpy(res->item[i].path, paths[chosen[i]], KLIC_PATH_MAX);
	}
	res->n = resp->n_licenses;
	/* Every check passed: write. */
	for (size_t i = 0; i < resp->n_licenses; i++) {
		const struct klic_member *m = klic_archive_get(&ar, resp->lic[i].file);
		if (!res->item[i].written)
			continue;
		if (n_written == 0 && (r = klic_mkdir_p(u->licdir, 0755)) != 0)
			goto out;
		if ((r = klic_write_atomic(res->item[i].path, m->data, m->len, 0644, 0)) != 0)
			goto out;
		n_written++;
	}
	if (n_written > 0) {
		if ((r = klic_user_clock_advance(u, newest)) != 0 ||
		    (r = klic_installed_mark(u->home, resp->request_digest)) != 0)
			goto out;
	}
	r = 0;
out:
	if (r != 0 && r != KLIC_ERR_DENIED)
		res->n = 0;
	klic_archive_dispose(&ar);
	free(buf);
	free(resp);
	free(lic);
	free(info);
	free(paths);
	return r;
}
