/* klic — verifying and installing a response (spec 5.2, 5.4).
 *
 * A response carries one signature: manifest.sig over manifest.json, in
 * text mode.  Every license member is the clear-signed form of that
 * manifest (byte-identical to each other); its file name selects its seat.
 * Everything is checked before anything is written, and then everything is
 * written as one set (klic_write_atomic_set): all licenses, the trusted
 * clock and the installed marker appear together or not at all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_lock.h"
#include "klic_request.h"
#include "klic_return.h"
#include "request_int.h"

/* Prefix the current error detail with the member name, keep the code. */
static int member_error(int r, const char *member)
{
	char d[512];
	snprintf(d, sizeof(d), "%s", klic_error_detail());
	return klic_error_set(r, "%s: %s", member, d);
}

/* Spec 5.2 #12: the archive holds manifest.json, manifest.sig and exactly
 * the listed license files, each the clear-signed form of the manifest
 * with its signature and a Hash line naming the signature's digest. */
static int check_members(const struct klic_archive *ar, const struct klic_response *resp,
			 const struct klic_member *man, const struct klic_member *sig,
			 const struct klic_sig_info *info)
{
	const struct klic_member *first = NULL;
	struct klic_lic_parts parts;
	int r;

	if (ar->n != 2 + resp->n_licenses)
		return klic_error_set(KLIC_ERR_MEMBER_UNLISTED,
				      "%zu members for %zu listed licenses", ar->n,
				      resp->n_licenses);
	for (size_t i = 0; i < resp->n_licenses; i++) {
		const struct klic_member *m = klic_archive_get(ar, resp->lic[i].file);
		if (m == NULL)
			return klic_error_set(KLIC_ERR_MEMBER_UNLISTED, "%s is listed but absent",
					      resp->lic[i].file);
		if (first != NULL) {
			if (m->len != first->len || memcmp(m->data, first->data, m->len) != 0)
				return klic_error_set(KLIC_ERR_MISMATCH, "%s differs from %s",
						      m->name, first->name);
			continue;
		}
		if ((r = klic_license_split(&parts, m->data, m->len)) != 0)
			return member_error(r, m->name);
		if (parts.body_len != man->len || memcmp(parts.body, man->data, man->len) != 0 ||
		    parts.sig_len != sig->len || memcmp(parts.sig, sig->data, sig->len) != 0)
			return klic_error_set(KLIC_ERR_MISMATCH,
					      "%s is not the clear-signed manifest.json", m->name);
		if ((r = klic_rq_check_response_sig(info, parts.hash_bits)) != 0)
			return member_error(r, m->name);
		first = m;
	}
	return 0;
}

/* A verdict on a license file itself (it is not a currently valid license
 * for this machine), as opposed to a failure to find out (gpg did not run,
 * out of memory, an I/O error), which must not let a valid license be
 * overwritten. */
static int is_verdict(int r)
{
	switch (r) {
	case KLIC_ERR_TOO_BIG:
	case KLIC_ERR_JSON:
	case KLIC_ERR_TYPE_TAG:
	case KLIC_ERR_VERSION:
	case KLIC_ERR_FIELD:
	case KLIC_ERR_MACHINE_ID:
	case KLIC_ERR_LICENSE_FORMAT:
	case KLIC_ERR_LICENSE_NAME:
	case KLIC_ERR_WRONG_MACHINE:
	case KLIC_ERR_LICENSE_EXPIRED:
	case KLIC_ERR_LICENSE_FUTURE:
		return 1;
	default:
		return klic_err_class(r) == KLIC_CLASS_SIGNATURE;
	}
}

/* Spec 5.4: what is at the name a license goes to now. */
static int survey(struct klic_user *u, struct klic_slot_info *s, const char *path, const char *name,
		  const char *mid, int64_t now)
{
	struct klic_license cur;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = klic_rq_exists(path, &s->exists)) != 0 || !s->exists)
		return r;
	r = klic_check_license_file(u, &cur, path, name, mid, now);
	if (r != 0 && !is_verdict(r))
		return member_error(r, path);
	s->valid = r == 0;
	if (r == 0) {
		memcpy(s->license_id, cur.license_id, sizeof(s->license_id));
		s->expires = cur.expires;
	}
	klic_error_clear();
	return 0;
}

/* The installed marker of a request holds the SHA-256 of the manifest of
 * the response installed for it ("<64 hex>\n").  Another response to the
 * same request (a restored ledger backup, a second admin machine with the
 * same key) would add seats the admin counted once: refused. */
static int check_marker(const char *path, const char *man_sha)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r, exists;

	if ((r = klic_rq_exists(path, &exists)) != 0 || !exists)
		return r;
	if ((r = klic_read_file(&buf, &len, path, 256)) != 0)
		return r;
	if (len != KLIC_SHA256_HEX_LEN + 1 || memcmp(buf, man_sha, KLIC_SHA256_HEX_LEN) != 0 ||
	    buf[KLIC_SHA256_HEX_LEN] != '\n')
		r = klic_error_set(KLIC_ERR_EXISTS,
				   "the request was already answered by another response, "
				   "installed before (%s)",
				   path);
	free(buf);
	return r;
}

/* mkdir for the write set; *made = 1 when it did not exist. */
static int mkdir_tracked(const char *dir, mode_t mode, int *made)
{
	int r, exists;

	*made = 0;
	if ((r = klic_rq_exists(dir, &exists)) != 0)
		return r;
	if (exists)
		return 0;
	if ((r = klic_mkdir_p(dir, mode)) != 0)
		return r;
	*made = 1;
	return 0;
}

/* One install: what the steps below share. */
struct install {
	struct klic_user *u;
	struct klic_install_result *res;
	struct klic_archive ar;
	struct klic_response *resp;
	struct klic_request pend;
	struct klic_sig_info info;
	const struct klic_member *man, *sig, *lic;
	char mid[KLIC_MACHINE_ID_LEN + 1];
	char mark_dir[KLIC_PATH_MAX], mark_path[KLIC_PATH_MAX], man_sha[KLIC_SHA256_HEX_LEN + 2];
	char clock_path[KLIC_PATH_MAX], clock_text[KLIC_TIME_LEN + 2], klic_dir[KLIC_PATH_MAX];
	struct klic_write_item items[KLIC_MAX_SEATS + 2];
	size_t n_items;
	uint8_t *buf;
	int64_t now, trusted;
	int made_licdir, made_markdir;
};

/* Steps 1-6: a readable, bounded, strict archive whose manifest a pinned
 * issuer signed and which names that signer. */
static int open_response(struct install *in, const char *file)
{
	struct klic_response *resp = in->resp;
	size_t len = 0;
	int r;

	/* 1-2: readable, bounded, strict archive with the response allow-list */
	if ((r = klic_read_file(&in->buf, &len, file, KLIC_MAX_BUNDLE_BYTES)) != 0 ||
	    (r = klic_archive_read(&in->ar, KLIC_KIND_RESPONSE, in->buf, len)) != 0)
		return r;
	in->man = klic_archive_get(&in->ar, "manifest.json");
	in->sig = klic_archive_get(&in->ar, "manifest.sig");
	if (in->man == NULL || in->sig == NULL)
		return klic_error_set(KLIC_ERR_MEMBER_MISSING, "manifest.json / manifest.sig");
	/* 3-4: a pinned issuer signed the manifest's exact bytes, in text mode */
	if ((r = klic_rq_verify_issuer(in->u, &in->info, in->sig->data, in->sig->len, in->man->data,
				       in->man->len)) != 0 ||
	    (r = klic_rq_check_response_sig(&in->info, 0)) != 0)
		return r;
	/* 5-6: strict parse; the manifest names its signer */
	if ((r = klic_response_manifest_parse(resp, in->man->data, in->man->len)) != 0)
		return r;
	if (strcmp(resp->issuer_fpr, in->info.signer) != 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY,
				      "manifest names issuer %s, signed by %s", resp->issuer_fpr,
				      in->info.signer);
	return 0;
}

/* Steps 7-11: the response answers a request made from this home on this
 * machine, once, with what was asked; the clock; a denial. */
static int check_request(struct install *in)
{
	struct klic_response *resp = in->resp;
	struct klic_user *u = in->u;
	int r;

	/* 7: answers a request made from this home */
	if ((r = klic_pending_load(&in->pend, u->home, resp->request_digest)) != 0)
		return r;
	/* 7b: a request is answered once: once a response to it is installed,
	 * only that same response (same signed manifest) may install again */
	if ((r = klic_sha256_hex(in->man_sha, in->man->data, in->man->len)) != 0 ||
	    (r = klic_rq_path(in->mark_dir, u->home, "klic/installed")) != 0 ||
	    (r = klic_rq_path(in->mark_path, in->mark_dir, resp->request_digest)) != 0 ||
	    (r = check_marker(in->mark_path, in->man_sha)) != 0)
		return r;
	/* 8: this machine, the machine the request was made on */
	if ((r = klic_this_machine_id(in->mid)) != 0)
		return r;
	if (strcmp(resp->machine_id, in->mid) != 0 || strcmp(in->pend.machine_id, in->mid) != 0)
		return klic_error_set(KLIC_ERR_WRONG_MACHINE,
				      "response is for %s, this machine is %s", resp->machine_id,
				      in->mid);
	/* 9: what was asked */
	if (strcmp(resp->product, in->pend.product) != 0 || resp->seats != in->pend.seats ||
	    strcmp(resp->member_fpr, in->pend.requester_fpr) != 0)
		return klic_error_set(KLIC_ERR_MISMATCH,
				      "response does not answer the pending request");
	/* 10: clock */
	if ((r = klic_clock_read(&in->trusted, u->home)) != 0 ||
	    (r = klic_clock_rule(in->now, in->trusted)) != 0)
		return r;
	/* 11: denial */
	if (strcmp(resp->status, KLIC_STATUS_DENIED) == 0) {
		memcpy(in->res->reason_code, resp->reason_code, sizeof(in->res->reason_code));
		memcpy(in->res->reason, resp->reason, sizeof(in->res->reason));
		return klic_error_set(KLIC_ERR_DENIED, "%s: %s", resp->reason_code, resp->reason);
	}
	return 0;
}

/* The chain to the vendor, on the license this response installs: against
 * --vendor, or the product's installed vendor key; with neither, the
 * response is installed on the pinned issuer's word alone (said in res). */
static int check_chain(struct install *in, const char *vendor_file)
{
	struct klic_install_result *res = in->res;
	struct klic_chain_result *cr = NULL;
	const struct klic_anchor *a;
	struct klic_chain *c = NULL;
	int r, absent = 0;

	r = klic_user_chain_open(&c, res->vendor_src, &absent, vendor_file, in->resp->product);
	if (r != 0 && absent && vendor_file == NULL) {
		klic_error_clear();
		return 0; /* no vendor key installed: not checked */
	}
	if (r != 0)
		return r;
	if ((cr = malloc(sizeof(*cr))) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "chain check");
		goto out;
	}
	r = klic_chain_check(c, cr, in->lic->data, in->lic->len, in->resp->lic[0].file, in->mid,
			     in->now, in->trusted);
	if (r != 0) {
		r = member_error(r, in->resp->lic[0].file);
		goto out;
	}
	res->chain_checked = 1;
	memcpy(res->vendor_fpr, cr->vendor_fpr, sizeof(res->vendor_fpr));
	for (size_t i = 0, n = klic_chain_anchors(c, &a); i < n; i++)
		if (strcmp(a[i].fpr, cr->vendor_fpr) == 0)
			memcpy(res->vendor_uid, a[i].uid, sizeof(res->vendor_uid));
out:
	free(cr);
	klic_chain_free(c);
	return r;
}

/* The pending request is a renewal that names license_id (spec 3.3). */
static int renewed_here(const struct klic_request *pend, const char *license_id)
{
	for (unsigned i = 0; i < pend->n_renews && i < KLIC_MAX_SEATS; i++)
		if (strcmp(pend->renews[i], license_id) == 0)
			return 1;
	return 0;
}

/* Steps 12-14: the members, valid now, and where each license goes. */
static int check_licenses(struct install *in, const char *vendor_file)
{
	struct klic_response *resp = in->resp;
	char t[KLIC_TIME_LEN + 1];
	int r;

	/* 12: exactly the listed members, each the clear-signed manifest */
	if ((r = check_members(&in->ar, resp, in->man, in->sig, &in->info)) != 0)
		return r;
	in->lic = klic_archive_get(&in->ar, resp->lic[0].file);
	/* 13: valid now */
	if (resp->created > in->now + KLIC_FUTURE_SKEW) {
		(void)klic_time_format(t, resp->created);
		return klic_error_set(KLIC_ERR_LICENSE_FUTURE, "issued %s", t);
	}
	if (resp->expires <= in->now) {
		(void)klic_time_format(t, resp->expires);
		return klic_error_set(KLIC_ERR_LICENSE_EXPIRED, "expired %s", t);
	}
	/* 13a: a license given back from this home is never installed again
	 * (spec 5.11) */
	for (size_t i = 0; i < resp->n_licenses; i++) {
		int gone = 0;
		if ((r = klic_returned_has(in->u->home, resp->lic[i].license_id, &gone)) != 0)
			return r;
		if (gone)
			return klic_error_set(KLIC_ERR_RETURNED,
					      "license %s was returned on this machine (%s)",
					      resp->lic[i].license_id, resp->lic[i].file);
	}
	/* 13b: the chain to the vendor (issue 14) */
	if ((r = check_chain(in, vendor_file)) != 0)
		return r;
	/* 14: each license under its own name; never over another valid one */
	for (size_t i = 0; i < resp->n_licenses; i++) {
		struct klic_install_item *it = &in->res->item[i];
		struct klic_slot_info cur;
		enum klic_slot_action act;

		if ((r = klic_rq_path(it->path, in->u->licdir, resp->lic[i].file)) != 0 ||
		    (r = survey(in->u, &cur, it->path, resp->lic[i].file, in->mid, in->now)) != 0)
			return r;
		/* 5.4: a renewal replaces the valid licenses its request named */
		if (cur.valid && renewed_here(&in->pend, cur.license_id))
			cur.valid = 0;
		if ((r = klic_slot_decide(&act, &cur, resp->lic[i].license_id, resp->expires)) != 0)
			return member_error(r, it->path);
		it->written = act == KLIC_SLOT_WRITE;
		if (it->written)
			in->items[in->n_items++] =
			    (struct klic_write_item){it->path, in->lic->data, in->lic->len, 0644};
	}
	in->res->n = resp->n_licenses;
	return 0;
}

/* Every check passed: the licenses, the trusted clock and the installed
 * marker, as one set; what is already in place is kept (a run killed
 * between the renames of a set is completed here). */
static int write_set(struct install *in)
{
	struct klic_user *u = in->u;
	int marked = 0, r;

	if ((r = klic_rq_exists(in->mark_path, &marked)) != 0)
		return r;
	if (in->n_items == 0 && marked && in->resp->created <= in->trusted)
		return 0; /* installed before: nothing changes */
	if (in->resp->created > in->trusted) {
		if ((r = klic_rq_path(in->clock_path, u->home, "klic/clock")) != 0 ||
		    (r = klic_time_format(in->clock_text, in->resp->created)) != 0)
			return r;
		in->clock_text[KLIC_TIME_LEN] = '\n';
		in->clock_text[KLIC_TIME_LEN + 1] = '\0';
		in->items[in->n_items++] = (struct klic_write_item){in->clock_path, in->clock_text,
								    KLIC_TIME_LEN + 1, 0600};
	}
	in->man_sha[KLIC_SHA256_HEX_LEN] = '\n';
	in->items[in->n_items++] =
	    (struct klic_write_item){in->mark_path, in->man_sha, KLIC_SHA256_HEX_LEN + 1, 0600};
	if ((r = mkdir_tracked(u->licdir, 0755, &in->made_licdir)) != 0 ||
	    (r = mkdir_tracked(in->mark_dir, 0700, &in->made_markdir)) != 0)
		return r;
	/* what a killed earlier run left behind goes first */
	if ((r = klic_sweep_stale(u->licdir, ".lic")) != 0 ||
	    (r = klic_sweep_stale(in->mark_dir, NULL)) != 0 ||
	    (r = klic_rq_path(in->klic_dir, u->home, "klic")) != 0 ||
	    (r = klic_sweep_stale(in->klic_dir, NULL)) != 0)
		return r;
	return klic_write_atomic_set(in->items, in->n_items);
}

int klic_user_install(struct klic_user *u, struct klic_install_result *res, const char *file,
		      const char *vendor_file)
{
	struct install *in = NULL;
	int lock_fd = -1, r;

	memset(res, 0, sizeof(*res));
	if ((in = calloc(1, sizeof(*in))) == NULL ||
	    (in->resp = calloc(1, sizeof(*in->resp))) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "install");
		goto out;
	}
	in->ar = (struct klic_archive)KLIC_ARCHIVE_INIT;
	in->u = u;
	in->res = res;
	/* the license folder's lock, from before it is read until the set is
	 * written (spec 5.6); "now" after any wait for it */
	if ((r = klic_license_lock(&lock_fd, u)) != 0)
		goto out;
	in->now = klic_now();
	if ((r = open_response(in, file)) != 0 || (r = check_request(in)) != 0 ||
	    (r = check_licenses(in, vendor_file)) != 0)
		goto out;
	r = write_set(in);
out:
	if (in != NULL) {
		if (r != 0) {
			/* nothing changed: not even a directory we made */
			if (in->made_markdir)
				(void)rmdir(in->mark_dir);
			if (in->made_licdir)
				(void)rmdir(u->licdir);
			if (r != KLIC_ERR_DENIED)
				res->n = 0;
		}
		klic_archive_dispose(&in->ar);
		free(in->buf);
		free(in->resp);
		free(in);
	}
	klic_license_unlock(lock_fd);
	return r;
}
