/* klic — the user's key, pinned issuers and requests, renewals included
 * (spec 4, 5.1, 5.6).
 * Setting up the user's state is request/runtime/state.c. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "klic_armor.h"
#include "klic_qr.h"
#include "klic_request.h"
#include "request_int.h"

int klic_user_init(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1], const char *name,
		   const char *email)
{
	char existing[KLIC_FPR_HEX_LEN + 1];
	int r;

	fpr[0] = '\0';
	if (name == NULL || name[0] == '\0' || strlen(name) > KLIC_MAX_TEXT_LEN ||
	    !klic_text_utf8_ok(name, strlen(name)))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "--name: 1-200 bytes of UTF-8 text, no control characters");
	if (email == NULL || email[0] == '\0' || strlen(email) > KLIC_MAX_TEXT_LEN ||
	    !klic_is_printable(email, strlen(email)))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "--email: 1-200 printable ASCII characters");
	if ((r = klic_user_open_keyring(u, 1)) != 0)
		return r;
	r = klic_key_secret_fpr(u->kr, existing);
	if (r == 0)
		return klic_error_set(KLIC_ERR_EXISTS, "a secret key already exists: %s", existing);
	if (r != KLIC_ERR_NOT_FOUND)
		return r;
	klic_error_clear();
	return klic_key_generate(u->kr, fpr, name, email);
}

int klic_user_trust(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1],
		    char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *file)
{
	char own[KLIC_FPR_HEX_LEN + 1];
	uint8_t *key = NULL;
	size_t keylen = 0;
	int r;

	fpr[0] = '\0';
	uid[0] = '\0';
	*added = 0;
	/* armored keys are larger than binary ones */
	if ((r = klic_read_file(&key, &keylen, file, 4 * KLIC_MAX_KEY_BYTES)) != 0)
		goto out;
	if ((r = klic_user_open_keyring(u, 1)) != 0)
		goto out;
	/* Look before importing: the user's own key is never an issuer. */
	if ((r = klic_key_inspect(u->kr, fpr, uid, key, keylen)) != 0)
		goto out;
	r = klic_key_secret_fpr(u->kr, own);
	if (r == 0 && strcmp(own, fpr) == 0) {
		r = klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "%s is your own key, not an issuer",
				   fpr);
		goto out;
	}
	klic_error_clear();
	for (size_t i = 0; i < u->n_issuers; i++) {
		if (strcmp(u->issuers[i], fpr) == 0) {
			r = klic_key_import(u->kr, fpr, key, keylen); /* already pinned */
			goto out;
		}
	}
	if (u->n_issuers >= KLIC_MAX_ISSUERS) {
		r = klic_error_set(KLIC_ERR_TOO_BIG, "already %d pinned issuers", KLIC_MAX_ISSUERS);
		goto out;
	}
	if ((r = klic_key_import(u->kr, fpr, key, keylen)) != 0)
		goto out;
	memcpy(u->issuers[u->n_issuers++], fpr, KLIC_FPR_HEX_LEN + 1);
	if ((r = klic_rq_issuers_save(u)) != 0) {
		u->n_issuers--;
		goto out;
	}
	*added = 1;
out:
	free(key);
	return r;
}

void klic_hostname_sanitize(char out[KLIC_MAX_HOSTNAME + 1], const char *in)
{
	(void)klic_printable_copy(out, KLIC_MAX_HOSTNAME + 1, in, SIZE_MAX);
}

static int user_request(struct klic_user *u, char path_out[KLIC_PATH_MAX],
			char digest[KLIC_SHA256_HEX_LEN + 1], const char *product, unsigned seats,
			const struct klic_renewal *renew, const char *out_path, unsigned flags,
			char **armor_out, size_t *armor_len);

int klic_user_request(struct klic_user *u, char path_out[KLIC_PATH_MAX],
		      char digest[KLIC_SHA256_HEX_LEN + 1], const char *product, unsigned seats,
		      const char *out_path, unsigned flags, char **armor_out, size_t *armor_len)
{
	return user_request(u, path_out, digest, product, seats, NULL, out_path, flags, armor_out,
			    armor_len);
}

/* ---- renewal (spec 5.1, 5.3.4) ----------------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Add the license at path (its base name selects the seat) to rn: it must
 * be valid on this machine now, of rn's product (the first one sets it
 * when none was given). */
static int renewal_add(struct klic_user *u, struct klic_renewal *rn, const char *path,
		       const char *mid, int64_t now)
{
	struct klic_license lic;
	int r;

	if ((r = klic_check_license_file(u, &lic, path, NULL, mid, now)) != 0)
		return r;
	if (rn->product[0] == '\0')
		memcpy(rn->product, lic.product, sizeof rn->product);
	if (strcmp(lic.product, rn->product) != 0)
		return klic_error_set(KLIC_ERR_MISMATCH, "a %s license, not %s", lic.product,
				      rn->product);
	for (unsigned i = 0; i < rn->n; i++)
		if (strcmp(rn->ids[i], lic.license_id) == 0)
			return klic_error_set(KLIC_ERR_EXISTS, "license %s named twice",
					      lic.license_id);
	if (rn->n >= KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_TOO_BIG, "more than %d licenses", KLIC_MAX_SEATS);
	memcpy(rn->ids[rn->n], lic.license_id, sizeof rn->ids[0]);
	memcpy(rn->files[rn->n], lic.file, sizeof rn->files[0]);
	rn->expires[rn->n] = lic.expires;
	rn->n++;
	return 0;
}

int klic_user_renewal_collect(struct klic_user *u, struct klic_renewal *rn, char *bad,
			      size_t badsz, const char *product, const char *const *files,
			      size_t nfiles)
{
	char mid[KLIC_MACHINE_ID_LEN + 1], path[KLIC_PATH_MAX];
	struct dirent **ents = NULL;
	int64_t now = klic_now();
	int r = 0, n = 0;

	memset(rn, 0, sizeof *rn);
	if (bad != NULL && badsz > 0)
		bad[0] = '\0';
	if (product != NULL) {
		if (klic_product_check(product) != 0)
			return klic_error_set(KLIC_ERR_INVALID_ARG, "product must be KRE or KSE");
		memcpy(rn->product, product, sizeof rn->product);
	}
	if ((r = klic_this_machine_id(mid)) != 0)
		return r;
	for (size_t i = 0; i < nfiles; i++)
		if ((r = renewal_add(u, rn, files[i], mid, now)) != 0) {
			if (bad != NULL && badsz > 0)
				(void)klic_printable_copy(bad, badsz, files[i], SIZE_MAX);
			return r;
		}
	if (nfiles == 0) {
		if (product == NULL)
			return klic_error_set(KLIC_ERR_INVALID_ARG, "renewal: no product");
		if ((n = scandir(u->licdir, &ents, NULL, alphasort)) < 0) {
			n = 0;
			if (errno != ENOENT)
				return klic_error_set(KLIC_ERR_IO, "%s: %s", u->licdir,
						      strerror(errno));
		}
		for (int i = 0; i < n && r == 0; i++) {
			if (!klic_is_license_name(ents[i]->d_name))
				continue;
			if (snprintf(path, sizeof path, "%s/%s", u->licdir, ents[i]->d_name) >=
			    (int)sizeof path) {
				r = klic_error_set(KLIC_ERR_IO, "path too long");
				break;
			}
			/* every valid license of the product; the others are not
			 * this renewal's (expired, another product, broken) */
			r = renewal_add(u, rn, path, mid, now);
			if (r != 0 && r != KLIC_ERR_NOMEM && r != KLIC_ERR_TOO_BIG &&
			    r != KLIC_ERR_IO && r != KLIC_ERR_GPG)
				r = 0;
		}
		klic_error_clear();
		for (int i = 0; i < n; i++)
			free(ents[i]);
		free(ents);
		if (r != 0)
			return r;
	}
	return 0;
}

int klic_user_request_renew(struct klic_user *u, char path_out[KLIC_PATH_MAX],
			    char digest[KLIC_SHA256_HEX_LEN + 1], const struct klic_renewal *rn,
			    const char *out_path, unsigned flags, char **armor_out,
			    size_t *armor_len)
{
	if (rn == NULL || rn->n < 1 || rn->n > KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "renewal: 1 to %d licenses",
				      KLIC_MAX_SEATS);
	return user_request(u, path_out, digest, rn->product, rn->n, rn, out_path, flags,
			    armor_out, armor_len);
}

static int user_request(struct klic_user *u, char path_out[KLIC_PATH_MAX],
			char digest[KLIC_SHA256_HEX_LEN + 1], const char *product, unsigned seats,
			const struct klic_renewal *renew, const char *out_path, unsigned flags,
			char **armor_out, size_t *armor_len)
{
	struct klic_request req;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	uint8_t *key = NULL, *sig = NULL, *bundle = NULL, nonce[32];
	char *manifest = NULL, host[256], *armor = NULL;
	size_t keylen = 0, siglen = 0, blen = 0, mlen = 0, alen = 0;
	int r, n;

	if (armor_out != NULL)
		*armor_out = NULL;
	if (armor_len != NULL)
		*armor_len = 0;
	memset(&req, 0, sizeof(req));
	path_out[0] = '\0';
	digest[0] = '\0';
	if (product == NULL || klic_product_check(product) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "product must be KRE or KSE");
	if (seats < 1 || seats > KLIC_MAX_SEATS || (strcmp(product, "KSE") == 0 && seats != 1))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "seats: 1..64 for KRE, 1 for KSE");
	memcpy(req.product, product, 4);
	req.seats = seats;
	if (renew != NULL) {
		/* the manifest lists them strictly ascending */
		for (unsigned i = 0; i < renew->n; i++)
			memcpy(req.renews[i], renew->ids[i], sizeof req.renews[i]);
		req.n_renews = renew->n;
		qsort(req.renews, req.n_renews, sizeof req.renews[0], cmp_id);
	}
	if ((r = klic_this_machine_id(req.machine_id)) != 0)
		return r;
	if (out_path != NULL)
		n = snprintf(path_out, KLIC_PATH_MAX, "%s", out_path);
	else
		n = snprintf(path_out, KLIC_PATH_MAX, "%s_%s.kreq", product, req.machine_id);
	if (n < 0 || n >= KLIC_PATH_MAX || path_out[0] == '\0')
		return klic_error_set(KLIC_ERR_INVALID_ARG, "bad output path");
	if ((r = klic_user_open_keyring(u, 0)) != 0)
		return r;
	if ((r = klic_key_secret_fpr(u->kr, req.requester_fpr)) != 0)
		return r == KLIC_ERR_NOT_FOUND
			   ? klic_error_set(r, "no secret key in %s (run 'klic init')",
					    u->gnupghome)
			   : r;
	if ((r = klic_key_export(u->kr, &key, &keylen, req.requester_fpr, 0)) != 0)
		goto out;
	if ((r = klic_sha256_hex(req.requester_key_sha256, key, keylen)) != 0 ||
	    (r = klic_random(nonce, sizeof(nonce))) != 0)
		goto out;
	klic_hex(req.nonce, nonce, sizeof(nonce));
	req.created = klic_now();
	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	klic_hostname_sanitize(req.hostname, host);
	if ((r = klic_request_manifest_build(&manifest, &mlen, &req)) != 0)
		goto out;
	if ((r = klic_sign_detached(u->kr, &sig, &siglen, req.requester_fpr,
				    (const uint8_t *)manifest, mlen)) != 0)
		goto out;
	if ((r = klic_archive_add(&ar, "manifest.json", manifest, mlen)) != 0 ||
	    (r = klic_archive_add(&ar, "manifest.sig", sig, siglen)) != 0 ||
	    (r = klic_archive_add(&ar, "requester.pgp", key, keylen)) != 0 ||
	    (r = klic_archive_write(&bundle, &blen, &ar)) != 0)
		goto out;
	/* transports (spec/ARMOR.md, klic_qr.h): settled before anything is written */
	if ((flags & (KLIC_REQUEST_ARMOR | KLIC_REQUEST_QR)) != 0 &&
	    (r = klic_armor_encode(&armor, &alen, KLIC_KIND_REQUEST, bundle, blen)) != 0)
		goto out;
	if ((flags & KLIC_REQUEST_QR) != 0 && (r = klic_qr_fits((const uint8_t *)armor, alen)) != 0)
		goto out;
	/* Record the pending request first: a response can only ever be
	 * installed for a request that was recorded. */
	if ((r = klic_pending_store(u->home, digest, (const uint8_t *)manifest, mlen)) != 0)
		goto out;
	if ((flags & KLIC_REQUEST_ARMOR) != 0)
		r = klic_write_atomic(path_out, armor, alen, 0644, 0);
	else
		r = klic_write_atomic(path_out, bundle, blen, 0644, 0);
	if (r != 0) {
		/* no request left the machine: no pending record of it (the
		 * write's error stays the one reported) */
		char d[512];
		(void)snprintf(d, sizeof(d), "%s", klic_error_detail());
		(void)klic_pending_remove(u->home, digest);
		digest[0] = '\0';
		r = klic_error_set(r, "%s", d);
	}
	if (r == 0 && armor_out != NULL && armor_len != NULL) {
		*armor_out = armor;
		armor = NULL; /* transferred */
		*armor_len = alen;
	}
out:
	free(armor);
	klic_archive_dispose(&ar);
	free(key);
	free(sig);
	free(bundle);
	free(manifest);
	return r;
}
