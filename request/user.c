/* klic — user side logic (spec/PROTOCOL.md 2.1, 5.1, 5.2, 5.4, 5.5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_user.h"

static int path_join(char out[KLIC_PATH_MAX], const char *a, const char *b)
{
	int n = snprintf(out, KLIC_PATH_MAX, "%s/%s", a, b);
	if (n < 0 || n >= KLIC_PATH_MAX)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "path too long: %s/%s", a, b);
	return 0;
}

int klic_home_default(char out[KLIC_PATH_MAX], enum klic_os os, klic_getenv_fn env)
{
	const char *h = env("KLIC_HOME");
	int n;

	if (h != NULL && h[0] != '\0') {
		n = snprintf(out, KLIC_PATH_MAX, "%s", h);
	} else if (os == KLIC_OS_WINDOWS) {
		h = env("USERPROFILE");
		if (h == NULL || h[0] == '\0')
			return klic_error_set(KLIC_ERR_NOT_FOUND, "USERPROFILE is not set");
		n = snprintf(out, KLIC_PATH_MAX, "%s\\.katalon", h);
	} else {
		h = env("HOME");
		if (h == NULL || h[0] == '\0')
			return klic_error_set(KLIC_ERR_NOT_FOUND, "HOME is not set");
		n = snprintf(out, KLIC_PATH_MAX, "%s/.katalon", h);
	}
	if (n < 0 || n >= KLIC_PATH_MAX)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "home path too long");
	return 0;
}

int klic_machine_id_from_file(char out[KLIC_MACHINE_ID_LEN + 1], const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = klic_read_file(&buf, &len, path, 64);
	if (r != 0)
		return r;
	r = klic_machine_id_derive(out, (const char *)buf, len);
	free(buf);
	if (r != 0)
		klic_error_set(r, "%s: not a machine-id file", path);
	return r;
}

int klic_this_machine_id(char out[KLIC_MACHINE_ID_LEN + 1])
{
	static const char *const sources[] = {"/etc/machine-id", "/var/lib/dbus/machine-id"};
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		if (klic_machine_id_from_file(out, sources[i]) == 0)
			return 0;
	}
	return klic_error_set(KLIC_ERR_NO_MACHINE_ID,
			      "neither /etc/machine-id nor /var/lib/dbus/machine-id is usable");
}

static int load_issuers(struct klic_user *u)
{
	char path[KLIC_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	u->n_issuers = 0;
	if ((r = path_join(path, u->home, "klic/issuers")) != 0)
		return r;
	if (access(path, F_OK) != 0)
		return 0;
	if ((r = klic_read_file(&buf, &len, path, 4096)) != 0)
		return r;
	for (char *line = (char *)buf; *line != '\0';) {
		char *nl = strchr(line, '\n');
		if (nl == NULL || nl - line != KLIC_FPR_HEX_LEN || u->n_issuers >= KLIC_MAX_ISSUERS) {
			free(buf);
			return klic_error_set(KLIC_ERR_FIELD, "%s: malformed", path);
		}
		*nl = '\0';
		if (klic_fpr_check(line) != 0) {
			free(buf);
			return klic_error_set(KLIC_ERR_FIELD, "%s: malformed fingerprint", path);
		}
		memcpy(u->issuers[u->n_issuers++], line, KLIC_FPR_HEX_LEN + 1);
		line = nl + 1;
	}
	free(buf);
	return 0;
}

int klic_user_setup(struct klic_user *u, const char *home, const char *gnupghome,
		    const char *passphrase_file)
{
	int r, n;
	memset(u, 0, sizeof(*u));
	n = snprintf(u->home, sizeof(u->home), "%s", home);
	if (n < 0 || (size_t)n >= sizeof(u->home))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "home path too long");
	if (gnupghome != NULL) {
		n = snprintf(u->gnupghome, sizeof(u->gnupghome), "%s", gnupghome);
		if (n < 0 || (size_t)n >= sizeof(u->gnupghome))
			return klic_error_set(KLIC_ERR_INVALID_ARG, "gnupghome path too long");
	} else if ((r = path_join(u->gnupghome, home, "klic/gnupg")) != 0) {
		return r;
	}
	if ((r = path_join(u->licdir, home, "license")) != 0)
		return r;
	u->passphrase_file = passphrase_file;
	return load_issuers(u);
}

int klic_user_open_keyring(struct klic_user *u, int create)
{
	char dir[KLIC_PATH_MAX];
	int r;
	if (u->kr != NULL)
		return 0;
	if (create) {
		if ((r = path_join(dir, u->home, "klic")) != 0 || (r = klic_mkdir_p(dir, 0700)) != 0)
			return r;
	}
	if ((r = klic_keyring_open(&u->kr, u->gnupghome, create)) != 0)
		return r;
	if (u->passphrase_file != NULL)
		return klic_keyring_set_passphrase_file(u->kr, u->passphrase_file);
	return 0;
}

void klic_user_dispose(struct klic_user *u)
{
	klic_keyring_free(u->kr);
	u->kr = NULL;
}

int klic_user_init(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1], const char *name,
		   const char *email)
{
	char existing[KLIC_FPR_HEX_LEN + 1];
	int r;
	if ((r = klic_user_open_keyring(u, 1)) != 0)
		return r;
	r = klic_key_secret_fpr(u->kr, existing);
	if (r == 0)
		return klic_error_set(KLIC_ERR_EXISTS, "a key already exists: %s", existing);
	if (r != KLIC_ERR_NOT_FOUND)
		return r;
	return klic_key_generate(u->kr, fpr, name, email);
}

int klic_user_trust(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1], const char *file)
{
	char own[KLIC_FPR_HEX_LEN + 1], path[KLIC_PATH_MAX];
	char text[(KLIC_FPR_HEX_LEN + 1) * KLIC_MAX_ISSUERS + 1];
	uint8_t *key = NULL;
	size_t keylen = 0, off = 0;
	int r;

	if ((r = klic_user_open_keyring(u, 1)) != 0)
		return r;
	if ((r = klic_read_file(&key, &keylen, file, KLIC_MAX_KEY_BYTES * 4)) != 0)
		return r;
	/* Look before importing: the user's own key is never an issuer. */
	char uid[KLIC_MAX_UID_LEN + 1];
	r = klic_key_inspect(u->kr, fpr, uid, key, keylen);
	if (r != 0)
		goto out;
	if (klic_key_secret_fpr(u->kr, own) == 0 && strcmp(own, fpr) == 0) {
		r = klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "%s is your own key, not an issuer", fpr);
		goto out;
	}
	if ((r = klic_key_import(u->kr, fpr, key, keylen)) != 0)
		goto out;
	for (size_t i = 0; i < u->n_issuers; i++)
		if (strcmp(u->issuers[i], fpr) == 0)
			goto out; /* already pinned */
	if (u->n_issuers >= KLIC_MAX_ISSUERS) {
		r = klic_error_set(KLIC_ERR_TOO_BIG, "too many pinned issuers");
		goto out;
	}
	memcpy(u->issuers[u->n_issuers++], fpr, KLIC_FPR_HEX_LEN + 1);
	for (size_t i = 0; i < u->n_issuers; i++) {
		memcpy(text + off, u->issuers[i], KLIC_FPR_HEX_LEN);
		off += KLIC_FPR_HEX_LEN;
		text[off++] = '\n';
	}
	if ((r = path_join(path, u->home, "klic/issuers")) != 0)
		goto out;
	r = klic_write_atomic(path, text, off, 0644, 0);
out:
	free(key);
	return r;
}

int klic_user_request(struct klic_user *u, char path_out[KLIC_PATH_MAX],
		      char digest[KLIC_SHA256_HEX_LEN + 1], const char *product, unsigned seats,
		      const char *out_path)
{
	struct klic_request req;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	uint8_t *key = NULL, *sig = NULL, *bundle = NULL, nonce[32];
	char *manifest = NULL, dir[KLIC_PATH_MAX], pend[KLIC_PATH_MAX];
	size_t keylen = 0, siglen = 0, blen = 0, mlen = 0;
	int r, n;

	memset(&req, 0, sizeof(req));
	if ((r = klic_product_check(product)) != 0)
		return r;
	if (seats < 1 || seats > KLIC_MAX_SEATS || (strcmp(product, "KSE") == 0 && seats != 1))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "seats must be 1..64 for KRE, 1 for KSE");
	memcpy(req.product, product, 4);
	req.seats = seats;
	if ((r = klic_this_machine_id(req.machine_id)) != 0)
		return r;
	if ((r = klic_user_open_keyring(u, 0)) != 0)
		return r;
	if ((r = klic_key_secret_fpr(u->kr, req.requester_fpr)) != 0)
		return r == KLIC_ERR_NOT_FOUND
			       ? klic_error_set(r, "no key in %s: run 'klic init' first", u->gnupghome)
			       : r;
	if ((r = klic_key_export(u->kr, &key, &keylen, req.requester_fpr, 0)) != 0)
		goto out;
	if ((r = klic_sha256_hex(req.requester_key_sha256, key, keylen)) != 0 ||
	    (r = klic_random(nonce, sizeof(nonce))) != 0)
		goto out;
	klic_hex(req.nonce, nonce, sizeof(nonce));
	req.created = klic_now();
	if (gethostname(req.hostname, sizeof(req.hostname) - 1) != 0)
		req.hostname[0] = '\0';
	for (char *p = req.hostname; *p != '\0'; p++)
		if (!klic_is_printable(p, 1))
			*p = '?';
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
	if ((r = klic_sha256_hex(digest, manifest, mlen)) != 0)
		goto out;
	/* Record the pending request first: a response can only be used for a
	 * request that was recorded. */
	if ((r = path_join(dir, u->home, "klic/pending")) != 0 || (r = klic_mkdir_p(dir, 0700)) != 0)
		goto out;
	n = snprintf(pend, sizeof(pend), "%s/%s.json", dir, digest);
	if (n < 0 || (size_t)n >= sizeof(pend)) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "path too long");
		goto out;
	}
	if ((r = klic_write_atomic(pend, manifest, mlen, 0600, 0)) != 0)
		goto out;
	if (out_path != NULL)
		n = snprintf(path_out, KLIC_PATH_MAX, "%s", out_path);
	else
		n = snprintf(path_out, KLIC_PATH_MAX, "%s_%s.kreq", product, req.machine_id);
	if (n < 0 || n >= KLIC_PATH_MAX) {
		r = klic_error_set(KLIC_ERR_INVALID_ARG, "output path too long");
		goto out;
	}
	r = klic_write_atomic(path_out, bundle, blen, 0644, 0);
out:
	klic_archive_dispose(&ar);
	free(key);
	free(sig);
	free(bundle);
	free(manifest);
	return r;
}

static int issuer_allow(void *ctx, const char *fpr)
{
	const struct klic_user *u = ctx;
	for (size_t i = 0; i < u->n_issuers; i++)
		if (strcmp(u->issuers[i], fpr) == 0)
			return 0;
	return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "signed by %s, not a pinned issuer", fpr);
}

static int verify_issuer(struct klic_user *u, char signer[KLIC_FPR_HEX_LEN + 1], const uint8_t *sig,
			 size_t siglen, const uint8_t *data, size_t len)
{
	int r;
	if (u->n_issuers == 0)
		return klic_error_set(KLIC_ERR_NOT_ISSUER, "no issuer pinned: run 'klic trust'");
	if ((r = klic_user_open_keyring(u, 0)) != 0)
		return r;
	return klic_verify_detached(u->kr, signer, sig, siglen, data, len, issuer_allow, u);
}

int klic_user_check_license(struct klic_user *u, struct klic_license *lic, const uint8_t *buf,
			    size_t len, const char *machine_id, int64_t now)
{
	struct klic_lic_parts parts;
	char signer[KLIC_FPR_HEX_LEN + 1];
	int r;

	memset(lic, 0, sizeof(*lic));
	if ((r = klic_license_split(&parts, buf, len)) != 0)
		return r;
	if ((r = verify_issuer(u, signer, parts.sig, parts.sig_len, parts.body, parts.body_len)) != 0)
		return r;
	if ((r = klic_license_body_parse(lic, parts.body, parts.body_len)) != 0)
		return r;
	if (strcmp(lic->issuer_fpr, signer) != 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "license names issuer %s, signed by %s",
				      lic->issuer_fpr, signer);
	if (strcmp(lic->machine_id, machine_id) != 0)
		return klic_error_set(KLIC_ERR_WRONG_MACHINE, "license is for machine %s, this is %s",
				      lic->machine_id, machine_id);
	if (lic->issued > now + KLIC_CLOCK_SKEW)
		return klic_error_set(KLIC_ERR_LICENSE_FUTURE, "issued in the future");
	if (lic->expires <= now) {
		char t[KLIC_TIME_LEN + 1];
		klic_time_format(t, lic->expires);
		return klic_error_set(KLIC_ERR_LICENSE_EXPIRED, "expired %s", t);
	}
	return 0;
}

static int clock_path(const struct klic_user *u, char out[KLIC_PATH_MAX])
{
	return path_join(out, u->home, "klic/clock");
}

static int clock_read(const struct klic_user *u, int64_t *t)
{
	char path[KLIC_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;
	*t = 0;
	if ((r = clock_path(u, path)) != 0)
		return r;
	if (access(path, F_OK) != 0)
		return 0;
	if ((r = klic_read_file(&buf, &len, path, 64)) != 0)
		return r;
	if (len != KLIC_TIME_LEN + 1 || buf[KLIC_TIME_LEN] != '\n') {
		free(buf);
		return klic_error_set(KLIC_ERR_CLOCK, "%s is malformed", path);
	}
	buf[KLIC_TIME_LEN] = '\0';
	r = klic_time_parse(t, (const char *)buf);
	free(buf);
	return r == 0 ? 0 : klic_error_set(KLIC_ERR_CLOCK, "%s is malformed", path);
}

int klic_user_clock_check(struct klic_user *u, int64_t now)
{
	int64_t t;
	int r = clock_read(u, &t);
	if (r != 0)
		return r;
	if (now < t - KLIC_CLOCK_SKEW) {
		char s[KLIC_TIME_LEN + 1];
		klic_time_format(s, t);
		return klic_error_set(KLIC_ERR_CLOCK, "system clock is earlier than %s", s);
	}
	return 0;
}

int klic_user_clock_advance(struct klic_user *u, int64_t t)
{
	char path[KLIC_PATH_MAX], dir[KLIC_PATH_MAX], s[KLIC_TIME_LEN + 2];
	int64_t cur;
	int r;
	if ((r = clock_read(u, &cur)) != 0)
		return r;
	if (t <= cur)
		return 0;
	if ((r = path_join(dir, u->home, "klic")) != 0 || (r = klic_mkdir_p(dir, 0700)) != 0 ||
	    (r = clock_path(u, path)) != 0 || (r = klic_time_format(s, t)) != 0)
		return r;
	s[KLIC_TIME_LEN] = '\n';
	s[KLIC_TIME_LEN + 1] = '\0';
	return klic_write_atomic(path, s, KLIC_TIME_LEN + 1, 0600, 0);
}

/* A planned write of one license. */
struct slot {
	char path[KLIC_PATH_MAX];
	int write; /* 0: already installed */
};

/* Choose where license `lic` goes (spec 5.4). */
static int choose_slot(struct klic_user *u, struct slot *s, const struct klic_license *lic,
		       const struct slot *taken, size_t n_taken, int64_t now)
{
	char name[KLIC_MAX_NAME_LEN + 1];
	int r;
	for (unsigned a = 0; a <= KLIC_MAX_SEATS; a++) {
		/* The delivered name first, then every other name in order. */
		unsigned idx = a == 0 ? lic->seat : a;
		struct klic_license cur;
		uint8_t *buf = NULL;
		size_t len = 0;
		int busy = 0;

		if ((r = klic_license_filename(name, lic->product, lic->machine_id, idx)) != 0 ||
		    (r = path_join(s->path, u->licdir, name)) != 0)
			return r;
		for (size_t i = 0; i < n_taken; i++)
			if (strcmp(taken[i].path, s->path) == 0)
				busy = 1;
		if (busy || (a != 0 && a == lic->seat))
			continue;
		if (access(s->path, F_OK) != 0) {
			s->write = 1;
			return 0;
		}
		if (klic_read_file(&buf, &len, s->path, KLIC_MAX_LIC_BYTES) != 0) {
			continue; /* unreadable or too big: leave it alone */
		}
		r = klic_user_check_license(u, &cur, buf, len, lic->machine_id, now);
		free(buf);
		klic_error_clear();
		if (cur.license_id[0] != '\0' && strcmp(cur.license_id, lic->license_id) == 0) {
			s->write = 0;
			return 0;
		}
		if (r == 0)
			continue; /* a different valid license: never overwrite */
		s->write = 1; /* not a valid license for this machine: replace */
		return 0;
	}
	return klic_error_set(KLIC_ERR_EXISTS, "no free license file name in %s", u->licdir);
}

int klic_user_install(struct klic_user *u, char **report, const char *file)
{
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_response resp;
	struct klic_request pend;
	struct slot slots[KLIC_MAX_SEATS];
	struct klic_license lic[KLIC_MAX_SEATS];
	char mid[KLIC_MACHINE_ID_LEN + 1], signer[KLIC_FPR_HEX_LEN + 1], path[KLIC_PATH_MAX];
	uint8_t *buf = NULL, *pbuf = NULL;
	size_t len = 0, plen = 0;
	const struct klic_member *man, *sig;
	char *rep = NULL;
	size_t replen = 0;
	int64_t now = klic_now(), newest = now;
	int r;

	*report = NULL;
	if ((r = klic_read_file(&buf, &len, file, KLIC_MAX_BUNDLE_BYTES)) != 0)
		goto out;
	if ((r = klic_archive_read(&ar, KLIC_KIND_RESPONSE, buf, len)) != 0)
		goto out;
	man = klic_archive_get(&ar, "manifest.json");
	sig = klic_archive_get(&ar, "manifest.sig");
	if ((r = verify_issuer(u, signer, sig->data, sig->len, man->data, man->len)) != 0)
		goto out;
	if ((r = klic_response_manifest_parse(&resp, man->data, man->len)) != 0)
		goto out;
	if (strcmp(resp.issuer_fpr, signer) != 0) {
		r = klic_error_set(KLIC_ERR_SIG_WRONG_KEY, "manifest names issuer %s, signed by %s",
				   resp.issuer_fpr, signer);
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/klic/pending/%s.json", u->home, resp.request_digest) >=
		    (int)sizeof(path) ||
	    access(path, F_OK) != 0) {
		r = klic_error_set(KLIC_ERR_NOT_PENDING, "request %.16s... was not made from %s",
				   resp.request_digest, u->home);
		goto out;
	}
	if ((r = klic_read_file(&pbuf, &plen, path, KLIC_MAX_MANIFEST_BYTES)) != 0 ||
	    (r = klic_request_manifest_parse(&pend, pbuf, plen)) != 0)
		goto out;
	if ((r = klic_this_machine_id(mid)) != 0)
		goto out;
	if (strcmp(resp.machine_id, mid) != 0 || strcmp(pend.machine_id, mid) != 0) {
		r = klic_error_set(KLIC_ERR_WRONG_MACHINE, "response is for machine %s, this is %s",
				   resp.machine_id, mid);
		goto out;
	}
	if (strcmp(resp.product, pend.product) != 0 || resp.seats != pend.seats) {
		r = klic_error_set(KLIC_ERR_MISMATCH, "response does not answer the request made");
		goto out;
	}
	if ((r = klic_user_clock_check(u, now)) != 0)
		goto out;
	if (strcmp(resp.status, KLIC_STATUS_DENIED) == 0) {
		r = klic_error_set(KLIC_ERR_DENIED, "%s: %s", resp.reason_code,
				   klic_is_printable(resp.reason, strlen(resp.reason))
					   ? resp.reason
					   : "(unprintable reason)");
		goto out;
	}
	if (ar.n != 2 + resp.n_licenses) {
		r = klic_error_set(KLIC_ERR_MEMBER_UNLISTED, "%zu members for %zu licenses", ar.n,
				   resp.n_licenses);
		goto out;
	}
	for (size_t i = 0; i < resp.n_licenses; i++) {
		const struct klic_member *m = klic_archive_get(&ar, resp.lic[i].file);
		char h[KLIC_SHA256_HEX_LEN + 1];
		if (m == NULL) {
			r = klic_error_set(KLIC_ERR_MEMBER_UNLISTED, "%s missing", resp.lic[i].file);
			goto out;
		}
		if ((r = klic_sha256_hex(h, m->data, m->len)) != 0)
			goto out;
		if (strcmp(h, resp.lic[i].sha256) != 0) {
			r = klic_error_set(KLIC_ERR_MEMBER_HASH, "%s", m->name);
			goto out;
		}
		r = klic_user_check_license(u, &lic[i], m->data, m->len, mid, now);
		if (r != 0) {
			char d[256];
			snprintf(d, sizeof(d), "%s", klic_error_detail());
			klic_error_set(r, "%s: %s", m->name, d);
			goto out;
		}
		char want[KLIC_MAX_NAME_LEN + 1];
		if ((r = klic_license_filename(want, lic[i].product, lic[i].machine_id,
					       lic[i].seat)) != 0)
			goto out;
		if (strcmp(lic[i].product, resp.product) != 0 ||
		    strcmp(lic[i].request_digest, resp.request_digest) != 0 ||
		    strcmp(lic[i].member_fpr, resp.member_fpr) != 0 ||
		    strcmp(lic[i].issuer_fpr, signer) != 0 || lic[i].seat != i + 1 ||
		    lic[i].seats != resp.seats || strcmp(want, m->name) != 0) {
			r = klic_error_set(KLIC_ERR_MISMATCH, "%s disagrees with the manifest", m->name);
			goto out;
		}
		if (lic[i].issued > newest)
			newest = lic[i].issued;
	}
	/* Every check passed; plan the slots, still without writing. */
	if ((r = klic_mkdir_p(u->licdir, 0755)) != 0)
		goto out;
	for (size_t i = 0; i < resp.n_licenses; i++)
		if ((r = choose_slot(u, &slots[i], &lic[i], slots, i, now)) != 0)
			goto out;
	for (size_t i = 0; i < resp.n_licenses; i++) {
		const struct klic_member *m = klic_archive_get(&ar, resp.lic[i].file);
		size_t need = strlen(slots[i].path) + 32;
		char *np = realloc(rep, replen + need);
		if (np == NULL) {
			r = klic_error_set(KLIC_ERR_NOMEM, "report");
			goto out;
		}
		rep = np;
		if (slots[i].write) {
			r = klic_write_atomic(slots[i].path, m->data, m->len, 0644, 0);
			if (r != 0)
				goto out;
		}
		replen += (size_t)snprintf(rep + replen, need, "%s%s\n",
					   slots[i].write ? "installed: " : "already installed: ",
					   slots[i].path);
	}
	if ((r = klic_user_clock_advance(u, newest)) != 0)
		goto out;
	*report = rep;
	rep = NULL;
	r = 0;
out:
	klic_archive_dispose(&ar);
	free(buf);
	free(pbuf);
	free(rep);
	return r;
}
