/* Test-only (never installed): build a signed .kresp for a .kreq with the
 * issuer key of a given keyring, optionally hostile, to test `klic install`.
 *   klic_test_mkresp GNUPGHOME REQ.kreq OUT.kresp [KEY=VALUE ...]
 * keys: machine=ID (manifest and names), issued=SECONDS (offset from now),
 *   days=N (validity, may be <= 0), start=K (first license file index),
 *   status=denied, reason_code=CODE, reason=TEXT, org=TEXT, digest=HEX,
 *   lic_machine=ID (license members render another manifest, naming ID),
 *   binary=1 (manifest.sig a binary, not a text-mode, signature),
 *   extra=1 (one more license member than listed).
 * Version 2 (the chain): kent=FILE embeds that .kent (from klic-vendor) and
 *   its entitlement_id, and issuer_key the signer's public key from
 *   GNUPGHOME.  Hostile variants: seats=N (N licenses, whatever was asked),
 *   ent_id=HEX (another entitlement_id), issuer_fpr=FPR (names another
 *   issuer), key_from=GNUPGHOME2 (issuer_key of that keyring's key),
 *   kent_tamper=1 (one digit of the embedded .kent's seats changed after
 *   signing), lic=DIR (also write each license file into DIR).
 * "derive:HEX32" as an ID gives the machine ID of a machine with that
 * machine-id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_armor.h"
#include "klic_bundle.h"
#include "klic_keys.h"

static const char *opt(int argc, char **argv, const char *key)
{
	size_t n = strlen(key);
	for (int i = 4; i < argc; i++)
		if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

static long num(const char *s, long dflt)
{
	char *end = NULL;
	long v;
	if (s == NULL)
		return dflt;
	v = strtol(s, &end, 10);
	return end != s && *end == '\0' ? v : dflt;
}

static void cpy(char *dst, size_t n, const char *src)
{
	char mid[KLIC_MACHINE_ID_LEN + 1];
	if (strncmp(src, "derive:", 7) == 0 &&
	    klic_machine_id_derive(mid, src + 7, strlen(src + 7)) == 0)
		src = mid;
	snprintf(dst, n, "%s", src);
}

/* The chain fields of an issued response (version 2). */
static int chain_fields(struct klic_response *resp, struct klic_keyring *kr, const char *issuer,
			int argc, char **argv)
{
	struct klic_keyring *kr2 = NULL;
	struct klic_lic_parts parts;
	static struct klic_kent kent;
	uint8_t *kbuf = NULL, *key = NULL;
	size_t klen = 0, keylen = 0;
	char fpr2[KLIC_FPR_HEX_LEN + 1];
	const char *v;
	int r;

	if ((v = opt(argc, argv, "kent")) == NULL)
		return 0;
	if ((r = klic_read_file(&kbuf, &klen, v, KLIC_MAX_KENT_BYTES)) != 0 ||
	    (r = klic_license_split(&parts, kbuf, klen)) != 0 ||
	    (r = klic_kent_body_parse(&kent, parts.body, parts.body_len)) != 0)
		goto out;
	memcpy(resp->entitlement, kbuf, klen);
	resp->entitlement_len = klen;
	if (num(opt(argc, argv, "kent_tamper"), 0) == 1) {
		char *p = strstr(resp->entitlement, "\"seats\": ");
		if (p != NULL)
			p[9] = p[9] == '1' ? '9' : '1';
	}
	v = opt(argc, argv, "ent_id");
	cpy(resp->entitlement_id, sizeof(resp->entitlement_id), v != NULL ? v : kent.entitlement_id);
	if ((v = opt(argc, argv, "key_from")) != NULL) {
		if ((r = klic_keyring_open(&kr2, v, 0)) != 0 ||
		    (r = klic_key_secret_fpr(kr2, fpr2)) != 0 ||
		    (r = klic_key_export(kr2, &key, &keylen, fpr2, 0)) != 0)
			goto out;
	} else if ((r = klic_key_export(kr, &key, &keylen, issuer, 0)) != 0) {
		goto out;
	}
	r = klic_base64_encode(resp->issuer_key, sizeof(resp->issuer_key), key, keylen);
out:
	klic_keyring_free(kr2);
	free(kbuf);
	free(key);
	return r;
}

/* The licenses of an issued response (and its chain fields). */
static int issued_fields(struct klic_response *resp, struct klic_keyring *kr, const char *issuer,
			 int argc, char **argv)
{
	const char *v;
	unsigned start;
	int r;

	/* expires <= created is refused by the builder: keep the shape valid */
	resp->expires = resp->created + 86400 * num(opt(argc, argv, "days"), 60);
	if (resp->expires <= resp->created)
		resp->expires = resp->created + 1;
	resp->seats = (unsigned)num(opt(argc, argv, "seats"), (long)resp->seats);
	resp->n_licenses = resp->seats;
	start = (unsigned)num(opt(argc, argv, "start"), 1);
	if ((r = chain_fields(resp, kr, issuer, argc, argv)) != 0)
		return r;
	if ((v = opt(argc, argv, "issuer_fpr")) != NULL)
		cpy(resp->issuer_fpr, sizeof(resp->issuer_fpr), v);
	for (unsigned i = 0; i < resp->seats; i++) {
		uint8_t id[16];
		if ((r = klic_random(id, sizeof(id))) != 0 ||
		    (r = klic_license_filename(resp->lic[i].file, resp->product, resp->machine_id,
					       start + i)) != 0)
			return r;
		klic_hex(resp->lic[i].license_id, id, sizeof(id));
		resp->lic[i].seat = i + 1;
	}
	return 0;
}

/* manifest bytes and their clear-signed form (the license member) */
static int sign_doc(struct klic_keyring *kr, const char *issuer, const struct klic_response *r,
		    char **man, size_t *mlen, uint8_t **lic, size_t *llen)
{
	int rc;
	if ((rc = klic_response_manifest_build(man, mlen, r)) != 0)
		return rc;
	return klic_sign_clear(kr, lic, llen, issuer, (const uint8_t *)*man, *mlen);
}

int main(int argc, char **argv)
{
	struct klic_keyring *kr = NULL;
	struct klic_archive in = KLIC_ARCHIVE_INIT, out = KLIC_ARCHIVE_INIT;
	struct klic_request req;
	static struct klic_response resp, other;
	struct klic_lic_parts parts;
	uint8_t *file = NULL, *bundle = NULL, *lic = NULL, *olic = NULL, *bsig = NULL;
	size_t flen = 0, blen = 0, mlen = 0, llen = 0, omlen = 0, ollen = 0, bsiglen = 0;
	char *man = NULL, *oman = NULL, issuer[KLIC_FPR_HEX_LEN + 1],
	     digest[KLIC_SHA256_HEX_LEN + 1];
	const struct klic_member *m;
	const char *v;
	int64_t now = klic_now();
	int r;

	if (argc < 4) {
		fprintf(stderr, "usage: %s GNUPGHOME REQ.kreq OUT.kresp [KEY=VALUE...]\n", argv[0]);
		return 2;
	}
	if ((r = klic_keys_init()) != 0 || (r = klic_keyring_open(&kr, argv[1], 0)) != 0 ||
	    (r = klic_key_secret_fpr(kr, issuer)) != 0 ||
	    (r = klic_read_file(&file, &flen, argv[2], KLIC_MAX_BUNDLE_BYTES)) != 0 ||
	    (r = klic_archive_read(&in, KLIC_KIND_REQUEST, file, flen)) != 0)
		goto out;
	m = klic_archive_get(&in, "manifest.json");
	if ((r = klic_request_manifest_parse(&req, m->data, m->len)) != 0 ||
	    (r = klic_sha256_hex(digest, m->data, m->len)) != 0)
		goto out;

	v = opt(argc, argv, "status");
	cpy(resp.status, sizeof(resp.status), v != NULL ? v : KLIC_STATUS_ISSUED);
	v = opt(argc, argv, "digest");
	cpy(resp.request_digest, sizeof(resp.request_digest), v != NULL ? v : digest);
	v = opt(argc, argv, "machine");
	cpy(resp.machine_id, sizeof(resp.machine_id), v != NULL ? v : req.machine_id);
	cpy(resp.product, sizeof(resp.product), req.product);
	resp.seats = req.seats;
	resp.created = now + num(opt(argc, argv, "issued"), 0);
	v = opt(argc, argv, "org");
	cpy(resp.issuer_org, sizeof(resp.issuer_org), v != NULL ? v : "Test Org");
	cpy(resp.issuer_fpr, sizeof(resp.issuer_fpr), issuer);
	cpy(resp.member_fpr, sizeof(resp.member_fpr), req.requester_fpr);
	if (strcmp(resp.status, KLIC_STATUS_DENIED) == 0) {
		v = opt(argc, argv, "reason_code");
		cpy(resp.reason_code, sizeof(resp.reason_code), v != NULL ? v : "no-seats");
		v = opt(argc, argv, "reason");
		cpy(resp.reason, sizeof(resp.reason), v != NULL ? v : "test denial");
	} else if ((r = issued_fields(&resp, kr, issuer, argc, argv)) != 0) {
		goto out;
	}
	if ((r = sign_doc(kr, issuer, &resp, &man, &mlen, &lic, &llen)) != 0 ||
	    (r = klic_license_split(&parts, lic, llen)) != 0)
		goto out;
	if (num(opt(argc, argv, "binary"), 0) == 1) {
		if ((r = klic_sign_detached(kr, &bsig, &bsiglen, issuer, (uint8_t *)man, mlen)) != 0)
			goto out;
		r = klic_archive_add(&out, "manifest.json", man, mlen);
		if (r == 0)
			r = klic_archive_add(&out, "manifest.sig", bsig, bsiglen);
	} else {
		r = klic_archive_add(&out, "manifest.json", man, mlen);
		if (r == 0)
			r = klic_archive_add(&out, "manifest.sig", parts.sig, parts.sig_len);
	}
	if (r != 0)
		goto out;
	if ((v = opt(argc, argv, "lic_machine")) != NULL) {
		other = resp;
		cpy(other.machine_id, sizeof(other.machine_id), v);
		for (size_t i = 0; i < other.n_licenses; i++)
			if ((r = klic_license_filename(other.lic[i].file, other.product,
						       other.machine_id, (unsigned)i + 1)) != 0)
				goto out;
		if ((r = sign_doc(kr, issuer, &other, &oman, &omlen, &olic, &ollen)) != 0)
			goto out;
	}
	for (size_t i = 0; i < resp.n_licenses; i++)
		if ((r = klic_archive_add(&out, resp.lic[i].file, olic ? olic : lic,
					  olic ? ollen : llen)) != 0)
			goto out;
	if (resp.n_licenses > 0 && num(opt(argc, argv, "extra"), 0) == 1) {
		char name[KLIC_MAX_NAME_LEN + 1];
		if ((r = klic_license_filename(name, resp.product, resp.machine_id, 64)) != 0 ||
		    (r = klic_archive_add(&out, name, lic, llen)) != 0)
			goto out;
	}
	if ((v = opt(argc, argv, "lic")) != NULL) {
		for (size_t i = 0; i < resp.n_licenses; i++) {
			char path[4200];
			snprintf(path, sizeof(path), "%s/%s", v, resp.lic[i].file);
			if ((r = klic_write_atomic(path, lic, llen, 0644, 0)) != 0)
				goto out;
		}
	}
	if ((r = klic_archive_write(&bundle, &blen, &out)) != 0 ||
	    (r = klic_write_atomic(argv[3], bundle, blen, 0644, 0)) != 0)
		goto out;
out:
	if (r != 0)
		fprintf(stderr, "mkresp: %s: %s\n", klic_strerror(r), klic_error_detail());
	klic_archive_dispose(&in);
	klic_archive_dispose(&out);
	klic_keyring_free(kr);
	free(file);
	free(bundle);
	free(lic);
	free(olic);
	free(bsig);
	free(man);
	free(oman);
	return r == 0 ? 0 : 1;
}
