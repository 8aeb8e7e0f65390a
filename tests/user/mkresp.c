/* Test-only (never installed): build a signed .kresp for a .kreq with the
 * issuer key of a given keyring, optionally hostile, to test `klic install`.
 *   klic_test_mkresp GNUPGHOME REQ.kreq OUT.kresp [KEY=VALUE ...]
 * keys: machine=ID (manifest+licenses), lic_machine=ID (licenses only),
 *   issued=SECONDS (offset from now), days=N (validity, may be <= 0),
 *   seat=K (seat written into every license), status=denied,
 *   reason_code=CODE, reason=TEXT, org=TEXT, digest=HEX. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	/* "derive:HEX32" gives the machine ID of a machine with that machine-id */
	char mid[KLIC_MACHINE_ID_LEN + 1];
	if (strncmp(src, "derive:", 7) == 0 &&
	    klic_machine_id_derive(mid, src + 7, strlen(src + 7)) == 0)
		src = mid;
	snprintf(dst, n, "%s", src);
}

int main(int argc, char **argv)
{
	struct klic_keyring *kr = NULL;
	struct klic_archive in = KLIC_ARCHIVE_INIT, out = KLIC_ARCHIVE_INIT;
	struct klic_request req;
	struct klic_response resp;
	uint8_t *file = NULL, *bundle = NULL, *sig = NULL;
	size_t flen = 0, blen = 0, siglen = 0, mlen = 0;
	char *man = NULL, issuer[KLIC_FPR_HEX_LEN + 1], digest[KLIC_SHA256_HEX_LEN + 1];
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

	memset(&resp, 0, sizeof(resp));
	v = opt(argc, argv, "status");
	cpy(resp.status, sizeof(resp.status), v != NULL ? v : KLIC_STATUS_ISSUED);
	v = opt(argc, argv, "digest");
	cpy(resp.request_digest, sizeof(resp.request_digest), v != NULL ? v : digest);
	v = opt(argc, argv, "machine");
	cpy(resp.machine_id, sizeof(resp.machine_id), v != NULL ? v : req.machine_id);
	cpy(resp.product, sizeof(resp.product), req.product);
	resp.seats = req.seats;
	resp.created = now;
	v = opt(argc, argv, "org");
	cpy(resp.issuer_org, sizeof(resp.issuer_org), v != NULL ? v : "Test Org");
	cpy(resp.issuer_fpr, sizeof(resp.issuer_fpr), issuer);
	cpy(resp.member_fpr, sizeof(resp.member_fpr), req.requester_fpr);
	if (strcmp(resp.status, KLIC_STATUS_DENIED) == 0) {
		v = opt(argc, argv, "reason_code");
		cpy(resp.reason_code, sizeof(resp.reason_code), v != NULL ? v : "no-seats");
		v = opt(argc, argv, "reason");
		cpy(resp.reason, sizeof(resp.reason), v != NULL ? v : "test denial");
	} else {
		resp.n_licenses = req.seats;
	}
	/* licenses first (their hashes go into the manifest) */
	uint8_t *lics[KLIC_MAX_SEATS] = {NULL};
	size_t liclen[KLIC_MAX_SEATS] = {0};
	for (size_t i = 0; i < resp.n_licenses; i++) {
		struct klic_license l;
		uint8_t id[16];
		char *body = NULL;
		size_t bodylen = 0;
		memset(&l, 0, sizeof(l));
		if ((r = klic_random(id, sizeof(id))) != 0)
			goto out;
		klic_hex(l.license_id, id, sizeof(id));
		cpy(l.product, sizeof(l.product), resp.product);
		v = opt(argc, argv, "lic_machine");
		cpy(l.machine_id, sizeof(l.machine_id), v != NULL ? v : resp.machine_id);
		l.seat = (unsigned)num(opt(argc, argv, "seat"), (long)i + 1);
		l.seats = resp.seats;
		l.issued = now + num(opt(argc, argv, "issued"), 0);
		l.expires = l.issued + 86400 * num(opt(argc, argv, "days"), 60);
		cpy(l.issuer_org, sizeof(l.issuer_org), resp.issuer_org);
		cpy(l.issuer_fpr, sizeof(l.issuer_fpr), issuer);
		cpy(l.member_fpr, sizeof(l.member_fpr), resp.member_fpr);
		cpy(l.request_digest, sizeof(l.request_digest), resp.request_digest);
		/* expires <= issued is refused by the builder: keep the shape valid */
		if (l.expires <= l.issued)
			l.expires = l.issued + 1;
		if ((r = klic_license_body_build(&body, &bodylen, &l)) != 0 ||
		    (r = klic_sign_clear(kr, &lics[i], &liclen[i], issuer, (uint8_t *)body,
					 bodylen)) != 0) {
			free(body);
			goto out;
		}
		free(body);
		if ((r = klic_license_filename(resp.lic[i].file, resp.product, resp.machine_id,
					       (unsigned)i + 1)) != 0 ||
		    (r = klic_sha256_hex(resp.lic[i].sha256, lics[i], liclen[i])) != 0)
			goto out;
	}
	if ((r = klic_response_manifest_build(&man, &mlen, &resp)) != 0 ||
	    (r = klic_sign_detached(kr, &sig, &siglen, issuer, (uint8_t *)man, mlen)) != 0 ||
	    (r = klic_archive_add(&out, "manifest.json", man, mlen)) != 0 ||
	    (r = klic_archive_add(&out, "manifest.sig", sig, siglen)) != 0)
		goto out;
	for (size_t i = 0; i < resp.n_licenses; i++)
		if ((r = klic_archive_add(&out, resp.lic[i].file, lics[i], liclen[i])) != 0)
			goto out;
	if ((r = klic_archive_write(&bundle, &blen, &out)) != 0 ||
	    (r = klic_write_atomic(argv[3], bundle, blen, 0644, 0)) != 0)
		goto out;
	for (size_t i = 0; i < resp.n_licenses; i++)
		free(lics[i]);
out:
	if (r != 0)
		fprintf(stderr, "mkresp: %s: %s\n", klic_strerror(r), klic_error_detail());
	klic_archive_dispose(&in);
	klic_archive_dispose(&out);
	klic_keyring_free(kr);
	free(file);
	free(bundle);
	free(sig);
	free(man);
	return r == 0 ? 0 : 1;
}
