/* The implementation against the committed protocol test vectors
 * (spec/vectors, made by spec/vectors/generate.sh; protocol version 2).
 * Verdicts and payloads are compared, not signature bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "klic_armor.h"
#include "klic_bundle.h"
#include "klic_keys.h"
#include "klic_kret.h"
#include "klic_usage.h"

#define VEC KLIC_SOURCE_DIR "/spec/vectors/"

static char issuer[KLIC_FPR_HEX_LEN + 1], member[KLIC_FPR_HEX_LEN + 1], home[64];
static char vendor[KLIC_FPR_HEX_LEN + 1];
static struct klic_keyring *kr;

static uint8_t *slurp(const char *name, size_t *len)
{
	uint8_t *buf = NULL;
	assert_int_equal(klic_read_file(&buf, len, name, KLIC_MAX_BUNDLE_BYTES), 0);
	return buf;
}

static int setup(void **state)
{
	size_t len;
	uint8_t *k;
	(void)state;
	snprintf(home, sizeof(home), "/tmp/klic-vec-XXXXXX");
	if (mkdtemp(home) == NULL || klic_keys_init() != 0)
		return -1;
	char g[96];
	snprintf(g, sizeof(g), "%s/gnupg", home);
	if (klic_keyring_open(&kr, g, 1) != 0)
		return -1;
	k = slurp(VEC "issuer.pub.asc", &len);
	if (klic_key_import(kr, issuer, k, len) != 0)
		return -1;
	free(k);
	k = slurp(VEC "member.pub.asc", &len);
	if (klic_key_import(kr, member, k, len) != 0)
		return -1;
	free(k);
	k = slurp(VEC "vendor.pub.asc", &len);
	if (klic_key_import(kr, vendor, k, len) != 0)
		return -1;
	free(k);
	return 0;
}

/* gpgconf --homedir DIR --kill all (stdout discarded, as before) */
static void kill_agent(const char *dir)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, 1);
		execlp("gpgconf", "gpgconf", "--homedir", dir, "--kill", "all", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	char g[96];
	(void)state;
	klic_keyring_free(kr);
	snprintf(g, sizeof(g), "%s/gnupg", home);
	kill_agent(g);
	return nftw(home, rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0;
}

static int allow_issuer(void *ctx, const char *fpr)
{
	(void)ctx;
	return strcmp(fpr, issuer) == 0 ? 0 : KLIC_ERR_SIG_WRONG_KEY;
}

static int allow_vendor(void *ctx, const char *fpr)
{
	(void)ctx;
	return strcmp(fpr, vendor) == 0 ? 0 : KLIC_ERR_SIG_WRONG_KEY;
}

static void expected_mid(char out[KLIC_MACHINE_ID_LEN + 1])
{
	size_t len;
	uint8_t *e = slurp(VEC "machine-id.expected", &len);
	assert_int_equal(len, KLIC_MACHINE_ID_LEN + 1);
	memcpy(out, e, KLIC_MACHINE_ID_LEN);
	out[KLIC_MACHINE_ID_LEN] = '\0';
	free(e);
}

static void test_machine_id(void **state)
{
	char mid[KLIC_MACHINE_ID_LEN + 1], want[KLIC_MACHINE_ID_LEN + 1];
	size_t len;
	uint8_t *m = slurp(VEC "machine-id", &len);
	(void)state;
	expected_mid(want);
	assert_int_equal(klic_machine_id_derive(mid, (const char *)m, len), 0);
	assert_string_equal(mid, want);
	free(m);
}

static void read_request(const char *file, struct klic_request *req, char digest[65])
{
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	size_t len;
	uint8_t *b = slurp(file, &len);
	char h[65];
	assert_int_equal(klic_archive_read(&ar, KLIC_KIND_REQUEST, b, len), 0);
	const struct klic_member *m = klic_archive_get(&ar, "manifest.json"),
				 *s = klic_archive_get(&ar, "manifest.sig"),
				 *k = klic_archive_get(&ar, "requester.pgp");
	assert_int_equal(klic_verify_pinned(kr, s->data, s->len, m->data, m->len, member), 0);
	/* the issuer is not the request's signer */
	assert_int_equal(klic_verify_pinned(kr, s->data, s->len, m->data, m->len, issuer),
			 KLIC_ERR_SIG_WRONG_KEY);
	assert_int_equal(klic_request_manifest_parse(req, m->data, m->len), 0);
	assert_string_equal(req->requester_fpr, member);
	assert_int_equal(klic_sha256_hex(h, k->data, k->len), 0);
	assert_string_equal(h, req->requester_key_sha256);
	assert_int_equal(klic_sha256_hex(digest, m->data, m->len), 0);
	klic_archive_dispose(&ar);
	free(b);
}

static void read_response(const char *file, struct klic_response *resp, struct klic_archive *ar)
{
	struct klic_sig_info info;
	size_t len;
	uint8_t *b = slurp(file, &len);
	assert_int_equal(klic_archive_read(ar, KLIC_KIND_RESPONSE, b, len), 0);
	const struct klic_member *m = klic_archive_get(ar, "manifest.json"),
				 *s = klic_archive_get(ar, "manifest.sig");
	assert_int_equal(klic_verify_pinned(kr, s->data, s->len, m->data, m->len, issuer), 0);
	assert_int_equal(klic_verify_pinned(kr, s->data, s->len, m->data, m->len, member),
			 KLIC_ERR_SIG_WRONG_KEY);
	/* one text-mode signature, so that the .lic renderings verify too */
	assert_int_equal(klic_verify_detached_info(kr, &info, s->data, s->len, m->data, m->len,
						   allow_issuer, NULL),
			 0);
	assert_int_equal(info.sig_class, 0x01);
	assert_int_equal(klic_response_manifest_parse(resp, m->data, m->len), 0);
	free(b);
}

/* A .lic as a runtime checks it: split, signature by the issuer with the
 * digest its Hash line names, the signed response, the seat its name
 * selects. */
static void check_license(const uint8_t *buf, size_t len, const char *name,
			  struct klic_license *lic)
{
	static struct klic_response r;
	struct klic_lic_parts p;
	struct klic_sig_info info;
	assert_int_equal(klic_license_split(&p, buf, len), 0);
	assert_int_equal(
	    klic_verify_detached_info(kr, &info, p.sig, p.sig_len, p.body, p.body_len, allow_issuer, NULL),
	    0);
	assert_int_equal(info.hash_bits, p.hash_bits);
	assert_int_equal(info.sig_class, 0x01);
	assert_int_equal(klic_response_manifest_parse(&r, p.body, p.body_len), 0);
	assert_string_equal(r.issuer_fpr, info.signer);
	assert_int_equal(klic_license_from_response(lic, &r, name), 0);
}

/* entitlement.kent: signed by the vendor in text mode; its body is
 * entitlement.json, whose SHA-256 is entitlement.json.sha256 */
static void test_entitlement(void **state)
{
	struct klic_kent e, e2;
	struct klic_lic_parts p;
	char h[KLIC_SHA256_HEX_LEN + 1];
	size_t klen, blen, hlen;
	uint8_t *kent = slurp(VEC "entitlement.kent", &klen);
	uint8_t *body = slurp(VEC "entitlement.json", &blen);
	uint8_t *sha = slurp(VEC "entitlement.json.sha256", &hlen);
	int64_t t;
	(void)state;
	assert_true(klen <= KLIC_MAX_KENT_BYTES);
	assert_int_equal(klic_kent_verify(kr, &e, kent, klen, allow_vendor, NULL), 0);
	assert_string_equal(e.vendor_fpr, vendor);
	/* the issuer's key is not the vendor's */
	assert_int_equal(klic_kent_verify(kr, &e2, kent, klen, allow_issuer, NULL),
			 KLIC_ERR_SIG_WRONG_KEY);
	/* the body file is the signed body, byte for byte, and its digest */
	assert_int_equal(klic_license_split(&p, kent, klen), 0);
	assert_int_equal(p.body_len, blen);
	assert_memory_equal(p.body, body, blen);
	assert_int_equal(klic_kent_body_parse(&e2, body, blen), 0);
	assert_memory_equal(&e2, &e, sizeof e);
	assert_int_equal(hlen, KLIC_SHA256_HEX_LEN + 1);
	assert_int_equal(sha[KLIC_SHA256_HEX_LEN], '\n');
	assert_int_equal(klic_sha256_hex(h, body, blen), 0);
	assert_memory_equal(h, sha, KLIC_SHA256_HEX_LEN);
	/* the terms generate.sh asked for */
	assert_string_equal(e.org, "klic test vectors");
	assert_int_equal(e.n_org_keys, 1);
	assert_int_equal(klic_kent_names_key(&e, issuer), 0);
	assert_string_equal(e.product, "KRE");
	assert_string_equal(e.model, KLIC_MODEL_NODE_LOCKED);
	assert_string_equal(e.billing, KLIC_BILLING_YEARLY);
	assert_int_equal(e.seats, 10);
	assert_int_equal(e.returnable, 0);
	assert_string_equal(e.ref, "vectors");
	assert_int_equal(klic_time_parse(&t, "2026-01-01T00:00:00Z"), 0);
	assert_true(e.valid_from == t);
	/* --until 2099-12-31: the period ends at the start of the day after */
	assert_int_equal(klic_time_parse(&t, "2100-01-01T00:00:00Z"), 0);
	assert_true(e.valid_until == t);
	/* any changed body byte breaks the vendor's signature */
	kent[(size_t)(p.body - kent) + p.body_len / 2] ^= 1;
	assert_int_not_equal(klic_kent_verify(kr, &e2, kent, klen, allow_vendor, NULL), 0);
	free(kent);
	free(body);
	free(sha);
}

/* The chain fields of the issued response: the exact entitlement.kent,
 * its ID, and the issuer's public key (base64 of its minimal export). */
static void check_chain_fields(const struct klic_response *resp)
{
	char fpr[KLIC_FPR_HEX_LEN + 1], uid[KLIC_MAX_UID_LEN + 1];
	struct klic_kent e;
	size_t klen, keylen = 0, n = strlen(resp->issuer_key);
	uint8_t *kent = slurp(VEC "entitlement.kent", &klen), *key = malloc(n);
	assert_int_equal(resp->entitlement_len, klen);
	assert_memory_equal(resp->entitlement, kent, klen);
	assert_int_equal(klic_kent_verify(kr, &e, kent, klen, allow_vendor, NULL), 0);
	assert_string_equal(resp->entitlement_id, e.entitlement_id);
	assert_string_equal(resp->issuer_org, e.org);
	assert_int_equal(klic_kent_names_key(&e, resp->issuer_fpr), 0);
	assert_int_equal(klic_base64_decode(key, n, &keylen, resp->issuer_key, n), 0);
	assert_int_equal(klic_key_inspect(kr, fpr, uid, key, keylen), 0);
	assert_string_equal(fpr, issuer);
	/* spec 5.7 steps 7-9 hold for the vector */
	assert_true(resp->created >= e.valid_from && resp->created < e.valid_until);
	assert_true(resp->expires <= resp->created + 60 * 86400 && resp->expires <= e.valid_until);
	assert_true(resp->seats <= e.seats);
	free(key);
	free(kent);
}

static void test_issued(void **state)
{
	struct klic_request req;
	struct klic_response resp;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_lic_parts p;
	char digest[65], mid[KLIC_MACHINE_ID_LEN + 1];
	(void)state;
	expected_mid(mid);
	read_request(VEC "request.kreq", &req, digest);
	assert_string_equal(req.product, "KRE");
	assert_int_equal(req.seats, 2);
	assert_string_equal(req.machine_id, mid);
	read_response(VEC "response.kresp", &resp, &ar);
	assert_string_equal(resp.status, "issued");
	assert_string_equal(resp.request_digest, digest);
	assert_string_equal(resp.machine_id, mid);
	assert_string_equal(resp.issuer_fpr, issuer);
	assert_string_equal(resp.member_fpr, member);
	assert_true(resp.expires - resp.created == 60 * 86400);
	assert_int_equal(resp.n_licenses, 2);
	check_chain_fields(&resp);
	assert_int_equal(ar.n, 4);
	const struct klic_member *man = klic_archive_get(&ar, "manifest.json"),
				 *sig = klic_archive_get(&ar, "manifest.sig");
	for (size_t i = 0; i < resp.n_licenses; i++) {
		const struct klic_member *l = klic_archive_get(&ar, resp.lic[i].file);
		struct klic_license lic;
		char name[KLIC_MAX_NAME_LEN + 1];
		assert_non_null(l);
		/* every license is the clear-signed manifest */
		assert_int_equal(klic_license_split(&p, l->data, l->len), 0);
		assert_int_equal(p.body_len, man->len);
		assert_memory_equal(p.body, man->data, man->len);
		assert_int_equal(p.sig_len, sig->len);
		assert_memory_equal(p.sig, sig->data, sig->len);
		check_license(l->data, l->len, l->name, &lic);
		assert_int_equal(lic.seat, i + 1);
		assert_int_equal(lic.seats, 2);
		assert_string_equal(lic.license_id, resp.lic[i].license_id);
		assert_string_equal(lic.request_digest, digest);
		assert_string_equal(lic.machine_id, mid);
		/* a fresh ledger: the first names of the machine */
		assert_int_equal(klic_license_filename(name, "KRE", mid, (unsigned)i + 1), 0);
		assert_string_equal(name, l->name);
	}
	assert_string_not_equal(resp.lic[0].license_id, resp.lic[1].license_id);
	klic_archive_dispose(&ar);
}

static void test_standalone_license(void **state)
{
	struct klic_license lic;
	char mid[KLIC_MACHINE_ID_LEN + 1], name[KLIC_MAX_NAME_LEN + 1];
	size_t len;
	uint8_t *b = slurp(VEC "license.lic", &len);
	static struct klic_response r;
	struct klic_lic_parts p;
	(void)state;
	expected_mid(mid);
	assert_int_equal(klic_license_filename(name, "KRE", mid, 1), 0);
	check_license(b, len, name, &lic);
	assert_string_equal(lic.product, "KRE");
	assert_int_equal(lic.seat, 1);
	/* the name selects the seat: license.lic is not a name it grants */
	assert_int_equal(klic_license_split(&p, b, len), 0);
	assert_int_equal(klic_response_manifest_parse(&r, p.body, p.body_len), 0);
	assert_int_equal(klic_license_from_response(&lic, &r, "license.lic"), KLIC_ERR_LICENSE_NAME);
	/* any changed byte of the signed body fails */
	size_t off = (size_t)(p.body - b) + p.body_len / 2;
	b[off] ^= 1;
	struct klic_lic_parts q;
	if (klic_license_split(&q, b, len) == 0)
		assert_int_not_equal(klic_verify_pinned(kr, q.sig, q.sig_len, q.body, q.body_len, issuer), 0);
	free(b);
}

/* license-sha512.lic: the same chain signed with SHA-512 ("Hash: SHA512"),
 * seat 1 of 1 under the name KRE_<id>_3.lic (the machine holds _1 and _2);
 * it is the license member of response-sha512.kresp, which answers
 * request-sha512.kreq; license IDs are time-ordered (spec 1) */
static void test_sha512_license(void **state)
{
	struct klic_license lic, first;
	struct klic_lic_parts p;
	struct klic_response resp;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_request req;
	char mid[KLIC_MACHINE_ID_LEN + 1], name[KLIC_MAX_NAME_LEN + 1], digest[65];
	size_t len, l1;
	uint8_t *b = slurp(VEC "license-sha512.lic", &len);
	uint8_t *b1 = slurp(VEC "license.lic", &l1);
	(void)state;
	expected_mid(mid);
	assert_int_equal(klic_license_split(&p, b, len), 0);
	assert_int_equal(p.hash_bits, 512);
	assert_int_equal(klic_license_filename(name, "KRE", mid, 3), 0);
	check_license(b, len, name, &lic);
	assert_int_equal(lic.seat, 1);
	assert_int_equal(lic.seats, 1);
	read_request(VEC "request-sha512.kreq", &req, digest);
	read_response(VEC "response-sha512.kresp", &resp, &ar);
	assert_string_equal(resp.request_digest, digest);
	const struct klic_member *m = klic_archive_get(&ar, name);
	assert_non_null(m);
	assert_int_equal(m->len, len);
	assert_memory_equal(m->data, b, len);
	/* issued a minute after license.lic: the time part (6 bytes, 12 hex
	 * digits) of its ID is that much later, so the ID sorts after it */
	assert_int_equal(klic_license_filename(name, "KRE", mid, 1), 0);
	check_license(b1, l1, name, &first);
	assert_true(strncmp(lic.license_id, first.license_id, 12) > 0);
	char t1[13], t0[13];
	memcpy(t1, lic.license_id, 12);
	memcpy(t0, first.license_id, 12);
	t1[12] = t0[12] = '\0';
	assert_int_equal(strtoull(t1, NULL, 16) - strtoull(t0, NULL, 16), 60000);
	assert_int_equal(lic.issued - first.issued, 60);
	klic_archive_dispose(&ar);
	free(b);
	free(b1);
}

static void test_denied(void **state)
{
	struct klic_request req;
	struct klic_response resp;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	char digest[65];
	(void)state;
	read_request(VEC "request-kse.kreq", &req, digest);
	read_response(VEC "response-denied.kresp", &resp, &ar);
	assert_string_equal(resp.status, "denied");
	assert_string_equal(resp.reason_code, "no-entitlement");
	assert_string_equal(resp.request_digest, digest);
	assert_int_equal(resp.n_licenses, 0);
	/* a denial carries no chain */
	assert_int_equal(resp.entitlement_len, 0);
	assert_int_equal(resp.entitlement_id[0], '\0');
	assert_int_equal(resp.issuer_key[0], '\0');
	assert_int_equal(ar.n, 2);
	klic_archive_dispose(&ar);
}

/* usage.kusage: the issuer's signed export of that ledger; its audit chain
 * recomputes to audit_head, its licenses are the response's */
static void test_usage(void **state)
{
	static struct klic_response resp;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_usage u;
	struct klic_lic_parts p;
	struct klic_sig_info info;
	struct klic_request req;
	char prev[KLIC_SHA256_HEX_LEN + 1], h[KLIC_SHA256_HEX_LEN + 1], digest[65];
	char mid[KLIC_MACHINE_ID_LEN + 1];
	size_t len, klen, issued = 0;
	uint8_t *b = slurp(VEC "usage.kusage", &len), *kent = slurp(VEC "entitlement.kent", &klen);
	(void)state;
	expected_mid(mid);
	read_request(VEC "request.kreq", &req, digest);
	read_response(VEC "response.kresp", &resp, &ar);
	assert_int_equal(klic_license_split(&p, b, len), 0);
	assert_int_equal(klic_verify_detached_info(kr, &info, p.sig, p.sig_len, p.body, p.body_len,
						   allow_issuer, NULL),
			 0);
	assert_int_equal(info.sig_class, 0x01);
	assert_int_equal(klic_usage_body_parse(&u, p.body, p.body_len), 0);
	assert_string_equal(u.issuer_fpr, issuer);
	assert_string_equal(u.org, "klic test vectors");
	/* the entitlement, as imported */
	assert_int_equal(u.n_ents, 1);
	assert_int_equal(u.ents[0].kent_len, klen);
	assert_memory_equal(u.ents[0].kent, kent, klen);
	assert_string_equal(u.ents[0].entitlement_id, resp.entitlement_id);
	assert_int_equal(u.ents[0].seats, 10);
	/* the two licenses of response.kresp (listed by license_id) */
	assert_int_equal(u.n_lics, 2);
	assert_true(strcmp(u.lics[0].license_id, u.lics[1].license_id) < 0);
	for (size_t i = 0; i < 2; i++) {
		size_t k = strcmp(u.lics[i].license_id, resp.lic[0].license_id) == 0 ? 0 : 1;
		assert_string_equal(u.lics[i].license_id, resp.lic[k].license_id);
		assert_int_equal(u.lics[i].seat, resp.lic[k].seat);
		assert_string_equal(u.lics[i].entitlement_id, resp.entitlement_id);
		assert_string_equal(u.lics[i].request_digest, digest);
		assert_string_equal(u.lics[i].machine_id, mid);
		assert_true(u.lics[i].issued == resp.created && u.lics[i].expires == resp.expires);
		assert_string_equal(u.lics[i].state, KLIC_USAGE_ACTIVE);
	}
	/* the audit chain (spec 3.7) from row 1 to audit_head */
	memcpy(prev, KLIC_AUDIT_ZERO, sizeof prev);
	for (size_t i = 0; i < u.n_audit; i++) {
		assert_int_equal(klic_audit_hash(h, prev, u.audit[i].seq, u.audit[i].at,
						 u.audit[i].event, u.audit[i].digest,
						 u.audit[i].detail),
				 0);
		assert_string_equal(h, u.audit[i].hash);
		memcpy(prev, h, sizeof prev);
		issued += strcmp(u.audit[i].event, "issued") == 0;
	}
	assert_string_equal(prev, u.audit_head);
	assert_int_equal(issued, 1);
	/* a changed detail breaks the chain */
	u.audit[0].detail[0] ^= 1;
	assert_int_equal(klic_audit_hash(h, KLIC_AUDIT_ZERO, 1, u.audit[0].at, u.audit[0].event,
					 u.audit[0].digest, u.audit[0].detail),
			 0);
	assert_string_not_equal(h, u.audit[0].hash);
	klic_usage_dispose(&u);
	klic_archive_dispose(&ar);
	free(kent);
	free(b);
}

static int allow_member(void *ctx, const char *fpr)
{
	(void)ctx;
	return strcmp(fpr, member) == 0 ? 0 : KLIC_ERR_SIG_WRONG_KEY;
}

/* return.kret: the member's signed receipt of the two licenses of
 * response.kresp, on the vector machine (spec 3.8) */
static void test_return(void **state)
{
	struct klic_response resp;
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	struct klic_kret k, k2;
	struct klic_lic_parts p;
	char mid[KLIC_MACHINE_ID_LEN + 1], t[KLIC_TIME_LEN + 1];
	char *rebuilt = NULL;
	size_t len, rlen = 0;
	uint8_t *b = slurp(VEC "return.kret", &len);
	(void)state;
	expected_mid(mid);
	read_response(VEC "response.kresp", &resp, &ar);
	assert_true(len <= KLIC_MAX_KRET_BYTES);
	assert_int_equal(klic_kret_verify(kr, &k, b, len, allow_member, NULL), 0);
	assert_string_equal(k.member_fpr, member);
	/* only a member's key: the issuer's is refused */
	assert_int_equal(klic_kret_verify(kr, &k2, b, len, allow_issuer, NULL),
			 KLIC_ERR_SIG_WRONG_KEY);
	assert_string_equal(k.product, "KRE");
	assert_string_equal(k.machine_id, mid);
	assert_int_equal(k.n_ids, 2);
	/* the response's license IDs, ascending */
	for (unsigned i = 0; i < 2; i++) {
		int hit = 0;
		for (size_t j = 0; j < resp.n_licenses; j++)
			hit |= strcmp(resp.lic[j].license_id, k.license_ids[i]) == 0;
		assert_true(hit);
	}
	assert_true(strcmp(k.license_ids[0], k.license_ids[1]) < 0);
	assert_int_equal(klic_time_format(t, k.created), 0);
	assert_string_equal(t, "2026-12-05T13:02:00Z");
	/* its body is canonical: it rebuilds byte for byte */
	assert_int_equal(klic_kret_split(&p, b, len), 0);
	assert_int_equal(klic_kret_body_build(&rebuilt, &rlen, &k), 0);
	assert_int_equal(rlen, p.body_len);
	assert_memory_equal(rebuilt, p.body, rlen);
	/* any changed body byte breaks the member's signature */
	b[(size_t)(p.body - b) + p.body_len / 2] ^= 1;
	assert_int_not_equal(klic_kret_verify(kr, &k2, b, len, allow_member, NULL), 0);
	free(rebuilt);
	klic_archive_dispose(&ar);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_machine_id),
		cmocka_unit_test(test_entitlement),
		cmocka_unit_test(test_issued),
		cmocka_unit_test(test_standalone_license),
		cmocka_unit_test(test_sha512_license),
		cmocka_unit_test(test_denied),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_return),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
