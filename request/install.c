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

#include "klic_request.h"
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
		return r <= KLIC_ERR_SIG_NONE && r >= KLIC_ERR_SIG_EXPIRED;
	}
}

/* Spec 5.4: what is at the name a license goes to now. */
static int survey(struct klic_user *u, struct klic_slot_info *s, const char *path, const char *name,
		  const char *mid, int64_t now)
{
	struct klic_license cur;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = klic_rq_exists(path, &s->exists)) != 0 || !s->exists)
		return r;
	r = klic_read_file(&buf, &len, path, KLIC_MAX_LIC_BYTES);
	if (r == 0)
		r = klic_user_check_license(u, &cur, name, buf, len, mid, now);
	free(buf);
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

int klic_user_install(struct klic_user *u, struct klic_install_result *res, const char *file)
{
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_response *resp = NULL;
	struct klic_request pend;
	struct klic_sig_info info;
	struct klic_write_item items[KLIC_MAX_SEATS + 2];
	const struct klic_member *man, *sig, *lic = NULL;
	char mid[KLIC_MACHINE_ID_LEN + 1], t[KLIC_TIME_LEN + 1];
	char clock_path[KLIC_PATH_MAX], clock_text[KLIC_TIME_LEN + 2];
	char mark_dir[KLIC_PATH_MAX], mark_path[KLIC_PATH_MAX], man_sha[KLIC_SHA256_HEX_LEN + 2];
	uint8_t *buf = NULL;
	size_t len = 0, n_items = 0;
	int64_t now = klic_now(), trusted;
	char klic_dir[KLIC_PATH_MAX];
	int made_licdir = 0, made_markdir = 0, marked = 0, r;

	memset(res, 0, sizeof(*res));
	if ((resp = calloc(1, sizeof(*resp))) == NULL) {
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
	/* 3-4: a pinned issuer signed the manifest's exact bytes, in text mode */
	if ((r = klic_rq_verify_issuer(u, &info, sig->data, sig->len, man->data, man->len)) != 0 ||
	    (r = klic_rq_check_response_sig(&info, 0)) != 0)
		goto out;
	/* 5-6: strict parse; the manifest names its signer */
	if ((r = klic_response_manifest_parse(resp, man->data, man->len)) != 0)
		goto out;
	if (strcmp(resp->issuer_fpr, info.signer) != 0) {
		r = klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "manifest names issuer %s, signed by %s",
				   resp->issuer_fpr, info.signer);
		goto out;
	}
	/* 7: answers a request made from this home */
	if ((r = klic_pending_load(&pend, u->home, resp->request_digest)) != 0)
		goto out;
	/* 7b: a request is answered once: once a response to it is installed,
	 * only that same response (same signed manifest) may install again */
	if ((r = klic_sha256_hex(man_sha, man->data, man->len)) != 0 ||
	    (r = klic_rq_path(mark_dir, u->home, "klic/installed")) != 0 ||
	    (r = klic_rq_path(mark_path, mark_dir, resp->request_digest)) != 0 ||
	    (r = check_marker(mark_path, man_sha)) != 0)
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
		r = klic_error_set(KLIC_ERR_MISMATCH,
				   "response does not answer the pending request");
		goto out;
	}
	/* 10: clock */
	if ((r = klic_clock_read(&trusted, u->home)) != 0 ||
	    (r = klic_clock_rule(now, trusted)) != 0)
		goto out;
	/* 11: denial */
	if (strcmp(resp->status, KLIC_STATUS_DENIED) == 0) {
		memcpy(res->reason_code, resp->reason_code, sizeof(res->reason_code));
		memcpy(res->reason, resp->reason, sizeof(res->reason));
		r = klic_error_set(KLIC_ERR_DENIED, "%s: %s", resp->reason_code, resp->reason);
		goto out;
	}
	/* 12: exactly the listed members, each the clear-signed manifest */
	if ((r = check_members(&ar, resp, man, sig, &info)) != 0)
		goto out;
	lic = klic_archive_get(&ar, resp->lic[0].file);
	/* 13: valid now */
	if (resp->created > now + KLIC_FUTURE_SKEW) {
		(void)klic_time_format(t, resp->created);
		r = klic_error_set(KLIC_ERR_LICENSE_FUTURE, "issued %s", t);
		goto out;
	}
	if (resp->expires <= now) {
		(void)klic_time_format(t, resp->expires);
		r = klic_error_set(KLIC_ERR_LICENSE_EXPIRED, "expired %s", t);
		goto out;
	}
	/* 14: each license under its own name; never over another valid one */
	for (size_t i = 0; i < resp->n_licenses; i++) {
		struct klic_install_item *it = &res->item[i];
		struct klic_slot_info cur;
		enum klic_slot_action act;

		if ((r = klic_rq_path(it->path, u->licdir, resp->lic[i].file)) != 0 ||
		    (r = survey(u, &cur, it->path, resp->lic[i].file, mid, now)) != 0)
			goto out;
		if ((r = klic_slot_decide(&act, &cur, resp->lic[i].license_id, resp->expires)) !=
		    0) {
			r = member_error(r, it->path);
			goto out;
		}
		it->written = act == KLIC_SLOT_WRITE;
		if (it->written)
			items[n_items++] =
			    (struct klic_write_item){it->path, lic->data, lic->len, 0644};
	}
	res->n = resp->n_licenses;
	/* Every check passed: the licenses, the trusted clock and the
	 * installed marker, as one set; what is already in place is kept (a
	 * run killed between the renames of a set is completed here). */
	if ((r = klic_rq_exists(mark_path, &marked)) != 0)
		goto out;
	if (n_items == 0 && marked && resp->created <= trusted) {
		r = 0; /* installed before: nothing changes */
		goto out;
	}
	if (resp->created > trusted) {
		if ((r = klic_rq_path(clock_path, u->home, "klic/clock")) != 0 ||
		    (r = klic_time_format(clock_text, resp->created)) != 0)
			goto out;
		clock_text[KLIC_TIME_LEN] = '\n';
		clock_text[KLIC_TIME_LEN + 1] = '\0';
		items[n_items++] =
		    (struct klic_write_item){clock_path, clock_text, KLIC_TIME_LEN + 1, 0600};
	}
	man_sha[KLIC_SHA256_HEX_LEN] = '\n';
	items[n_items++] =
	    (struct klic_write_item){mark_path, man_sha, KLIC_SHA256_HEX_LEN + 1, 0600};
	if ((r = mkdir_tracked(u->licdir, 0755, &made_licdir)) != 0 ||
	    (r = mkdir_tracked(mark_dir, 0700, &made_markdir)) != 0)
		goto out;
	/* what a killed earlier run left behind goes first */
	if ((r = klic_sweep_stale(u->licdir, ".lic")) != 0 ||
	    (r = klic_sweep_stale(mark_dir, NULL)) != 0 ||
	    (r = klic_rq_path(klic_dir, u->home, "klic")) != 0 ||
	    (r = klic_sweep_stale(klic_dir, NULL)) != 0)
		goto out;
	r = klic_write_atomic_set(items, n_items);
out:
	if (r != 0) {
		/* nothing changed: not even a directory we made */
		if (made_markdir)
			(void)rmdir(mark_dir);
		if (made_licdir)
			(void)rmdir(u->licdir);
		if (r != KLIC_ERR_DENIED)
			res->n = 0;
	}
	klic_archive_dispose(&ar);
	free(buf);
	free(resp);
	return r;
}
