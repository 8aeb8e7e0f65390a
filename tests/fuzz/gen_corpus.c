/* Writes the seed corpora under DIR/<target>/ (run once; the files are
 * committed):  klic_fuzz_gen_corpus tests/fuzz/corpus */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "klic_armor.h"
#include "klic_bundle.h"
#include "klic_kret.h"
#include "klic_usage.h"
#include "tutil.h"

static const char *root;

/* text with every "\n" turned into "\r\n" (a mail client's line ends) */
static char *crlf(const char *t, size_t len, size_t *outlen)
{
	char *o = malloc(2 * len + 1);
	size_t n = 0;
	if (o == NULL)
		exit(3);
	for (size_t i = 0; i < len; i++) {
		if (t[i] == '\n')
			o[n++] = '\r';
		o[n++] = t[i];
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

/* the quoted-printable form a mail client may send: "=" as "=3D" */
static char *qp(const char *t, size_t len, size_t *outlen)
{
	char *o = malloc(3 * len + 1);
	size_t n = 0;
	if (o == NULL)
		exit(3);
	for (size_t i = 0; i < len; i++) {
		if (t[i] == '=') {
			memcpy(o + n, "=3D", 3);
			n += 3;
		} else {
			o[n++] = t[i];
		}
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

static void put(const char *target, const char *name, const void *buf, size_t len)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, target);
	if (klic_mkdir_p(p, 0755) != 0)
		exit(3);
	snprintf(p, sizeof p, "%s/%s/%s", root, target, name);
	if (klic_write_atomic(p, buf, len, 0644, 0) != 0)
		exit(3);
}

/* archives */
static void gen_archives(void)
{
	uint8_t *b;
	size_t n;

	b = tu_sample_kreq(&n);
	put("fuzz_archive", "valid.kreq", b, n);
	put("fuzz_archive", "truncated.kreq", b, n / 2);
	b[n / 3] ^= 0x10;
	put("fuzz_archive", "flipped.kreq", b, n);
	free(b);
	b = tu_sample_kresp(&n, 2);
	put("fuzz_archive", "valid.kresp", b, n);
	free(b);
	b = tu_sample_kresp(&n, 1);
	b = realloc(b, n + 4);
	memcpy(b + n, "JUNK", 4);
	put("fuzz_archive", "trailing.kresp", b, n + 4);
	free(b);
	put("fuzz_archive", "garbage", "not an archive\n", 15);
}

/* ASCII armor (spec/ARMOR.md): as written, with CRLF, quoted-printable,
 * inside an e-mail, and the other kind's armor */
static void gen_armor(void)
{
	uint8_t *b;
	size_t n;
	char *t, *t2;
	size_t tn, tn2;

	b = tu_sample_kreq(&n);
	if (klic_armor_encode(&t, &tn, KLIC_KIND_REQUEST, b, n) != 0)
		exit(3);
	put("fuzz_archive", "armored.kreq", t, tn);
	t2 = crlf(t, tn, &tn2);
	put("fuzz_archive", "armored-crlf.kreq", t2, tn2);
	free(t2);
	free(t);
	free(b);
	b = tu_sample_kresp(&n, 2);
	if (klic_armor_encode(&t, &tn, KLIC_KIND_RESPONSE, b, n) != 0)
		exit(3);
	put("fuzz_archive", "armored.kresp", t, tn);
	t2 = qp(t, tn, &tn2);
	put("fuzz_archive", "armored-qp.kresp", t2, tn2);
	free(t2);
	t2 = malloc(tn + 200);
	if (t2 == NULL)
		exit(3);
	tn2 = (size_t)snprintf(t2, tn + 200, "Subject: your license\n\nHi,\n\n%s\n> quoted reply\n",
			       t);
	put("fuzz_archive", "armored-mail.kresp", t2, tn2);
	free(t2);
	free(t);
	free(b);
}

/* manifests */
static void gen_manifests(void)
{
	char *s;
	size_t n;
	struct klic_request rq;
	struct klic_response rs;

	tu_sample_request(&rq);
	klic_request_manifest_build(&s, &n, &rq);
	put("fuzz_manifest", "request.json", s, n);
	s[n - 1] = ' ';
	put("fuzz_manifest", "request_no_nl.json", s, n);
	free(s);
	tu_sample_response(&rs, 2, 0);
	klic_response_manifest_build(&s, &n, &rs);
	put("fuzz_manifest", "response_issued.json", s, n);
	free(s);
	tu_sample_response(&rs, 3, 1);
	klic_response_manifest_build(&s, &n, &rs);
	put("fuzz_manifest", "response_denied.json", s, n);
	free(s);
	/* four seats; the same in version 1 (refused: a clean break) */
	tu_sample_response(&rs, 4, 0);
	klic_response_manifest_build(&s, &n, &rs);
	put("fuzz_manifest", "response_4seats.json", s, n);
	strstr(s, "\"version\": 2")[strlen("\"version\": ")] = '1';
	put("fuzz_manifest", "response_v1.json", s, n);
	free(s);
	put("fuzz_manifest", "dup_key.json",
	    "{\"type\":\"klic-request\",\"type\":\"klic-request\"}\n", 47);
}

/* licenses: the clear-signed response document, and license file names
 * (the name selects the seat) */
static void gen_licenses(void)
{
	char *s, *body;
	size_t n, bn;
	char nm[KLIC_MAX_NAME_LEN + 1];

	body = tu_sample_response_doc(&bn, 2, 0);
	put("fuzz_license", "body.json", body, bn);
	s = tu_wrap_license(body, &n);
	put("fuzz_license", "license.lic", s, n);
	memcpy(s + 35, "Hash: SHA1  \n", 13);
	put("fuzz_license", "bad_hash.lic", s, n);
	free(s);
	free(body);
	body = tu_sample_response_doc(&bn, 1, 1);
	s = tu_wrap_license(body, &n);
	put("fuzz_license", "denial.lic", s, n);
	free(s);
	free(body);
	if (klic_license_filename(nm, "KRE", tu_mid, 1) != 0)
		exit(3);
	put("fuzz_license", "name1", nm, strlen(nm));
	if (klic_license_filename(nm, "KSE", tu_mid, 64) != 0)
		exit(3);
	put("fuzz_license", "name64", nm, strlen(nm));
}

/* entitlements: the body, the clear-signed .kent, the other enumerations
 * with 8 org keys, a version-1 body and a body with a trailing newline */
static void gen_entitlements(void)
{
	struct klic_kent e;
	char *body, *s;
	size_t bn, n;

	tu_sample_kent(&e);
	if (klic_kent_body_build(&body, &bn, &e) != 0)
		exit(3);
	put("fuzz_entitlement", "body.json", body, bn);
	s = tu_wrap_license(body, &n);
	put("fuzz_entitlement", "entitlement.kent", s, n);
	free(s);
	body = realloc(body, bn + 1);
	if (body == NULL)
		exit(3);
	body[bn] = '\n';
	put("fuzz_entitlement", "trailing_nl.json", body, bn + 1);
	s = strstr(body, "\"version\": 2");
	if (s == NULL)
		exit(3);
	s[strlen("\"version\": ")] = '1';
	put("fuzz_entitlement", "v1.json", body, bn);
	free(body);
	e.n_org_keys = KLIC_MAX_ORG_KEYS;
	for (size_t i = 0; i < KLIC_MAX_ORG_KEYS; i++)
		memset(e.org_keys[i], "0123456789ABCDEF"[i * 2], KLIC_FPR_HEX_LEN);
	snprintf(e.model, sizeof e.model, "%s", KLIC_MODEL_FLOATING);
	snprintf(e.billing, sizeof e.billing, "%s", KLIC_BILLING_MONTHLY);
	e.returnable = 1;
	e.seats = KLIC_MAX_ENT_SEATS;
	if (klic_kent_body_build(&body, &bn, &e) != 0)
		exit(3);
	s = tu_wrap_license(body, &n);
	put("fuzz_entitlement", "floating8.kent", s, n);
	free(s);
	free(body);
}

/* return receipts: the body with 1 and with 64 license IDs, the
 * clear-signed .kret, and a body whose IDs are not ascending */
static void gen_returns(void)
{
	struct klic_kret k;
	char *body, *s;
	size_t bn, n;

	memset(&k, 0, sizeof k);
	memcpy(k.product, "KRE", 4);
	snprintf(k.machine_id, sizeof k.machine_id, "%s", tu_mid);
	memset(k.member_fpr, 'B', KLIC_FPR_HEX_LEN);
	memset(k.nonce, 'a', KLIC_SHA256_HEX_LEN);
	k.created = 1796117400;
	k.n_ids = 1;
	memcpy(k.license_ids[0], "0123456789abcdef0123456789abcdef", 33);
	if (klic_kret_body_build(&body, &bn, &k) != 0)
		exit(3);
	put("fuzz_kret", "body1.json", body, bn);
	s = tu_wrap_license(body, &n);
	put("fuzz_kret", "receipt1.kret", s, n);
	free(s);
	free(body);
	k.n_ids = KLIC_MAX_SEATS;
	for (unsigned i = 0; i < KLIC_MAX_SEATS; i++)
		snprintf(k.license_ids[i], 33, "%032x", i + 1);
	if (klic_kret_body_build(&body, &bn, &k) != 0)
		exit(3);
	put("fuzz_kret", "body64.json", body, bn);
	s = strstr(body, "00000000000000000000000000000001");
	if (s == NULL)
		exit(3);
	s[31] = '9'; /* now after the second ID */
	put("fuzz_kret", "unsorted.json", body, bn);
	free(body);
}

/* usage exports: a sample body (one entitlement, two licenses, an audit
 * chain of two rows), its clear-signed form, and the same with an empty log */
static void gen_usage(void)
{
	struct klic_usage u;
	struct klic_usage_lic l;
	struct klic_usage_audit a;
	char *kent, *body, *s;
	size_t kn, bn, n;

	memset(&u, 0, sizeof u);
	snprintf(u.org, sizeof u.org, "Example Org");
	memset(u.issuer_fpr, 'A', KLIC_FPR_HEX_LEN);
	snprintf(u.issuer_key, sizeof u.issuer_key, "%s", tu_issuer_key_b64);
	u.created = 1795370400;
	memcpy(u.audit_head, KLIC_AUDIT_ZERO, sizeof u.audit_head);
	if (klic_usage_body_build(&body, &bn, &u) != 0)
		exit(3);
	put("fuzz_usage", "empty.json", body, bn);
	free(body);
	kent = tu_sample_kent_text(&kn);
	if (klic_usage_add_ent(&u, tu_kent_id, kent, kn, 10) != 0)
		exit(3);
	free(kent);
	for (unsigned k = 1; k <= 2; k++) {
		memset(&l, 0, sizeof l);
		snprintf(l.license_id, sizeof l.license_id, "1111%028x", k);
		snprintf(l.entitlement_id, sizeof l.entitlement_id, "%s", tu_kent_id);
		memset(l.request_digest, 'd', KLIC_SHA256_HEX_LEN);
		snprintf(l.machine_id, sizeof l.machine_id, "%s", tu_mid);
		l.seat = k;
		l.issued = 1795370400;
		l.expires = l.issued + 60 * 86400;
		snprintf(l.state, sizeof l.state, "%s", KLIC_USAGE_ACTIVE);
		if (klic_usage_add_lic(&u, &l) != 0)
			exit(3);
	}
	memset(&a, 0, sizeof a);
	memcpy(a.hash, KLIC_AUDIT_ZERO, sizeof a.hash);
	for (int64_t seq = 1; seq <= 2; seq++) {
		char prev[KLIC_SHA256_HEX_LEN + 1];
		memcpy(prev, a.hash, sizeof prev);
		a.seq = seq;
		snprintf(a.at, sizeof a.at, "2026-11-22T18:00:00Z");
		snprintf(a.event, sizeof a.event, "%s", seq == 1 ? "member-add" : "issued");
		snprintf(a.digest, sizeof a.digest, "%s", seq == 1 ? "" : l.request_digest);
		snprintf(a.detail, sizeof a.detail, "%s",
			 seq == 1 ? "x" : "2 KRE seat(s) to BBBB machine 93AX8-BB8QX-4G7T6-2GC39-RHAVX "
				      "from entitlement 1, expires 2027-01-21T18:00:00Z");
		if (klic_audit_hash(a.hash, prev, a.seq, a.at, a.event, a.digest, a.detail) != 0 ||
		    klic_usage_add_audit(&u, &a) != 0)
			exit(3);
	}
	memcpy(u.audit_head, a.hash, sizeof u.audit_head);
	if (klic_usage_body_build(&body, &bn, &u) != 0)
		exit(3);
	put("fuzz_usage", "body.json", body, bn);
	s = tu_wrap_license(body, &n);
	put("fuzz_usage", "usage.kusage", s, n);
	free(s);
	free(body);
	klic_usage_dispose(&u);
}

/* machine IDs */
static void gen_machine_ids(void)
{
	put("fuzz_machine_id", "canonical", tu_mid, strlen(tu_mid));
	put("fuzz_machine_id", "typed", "93ax8bb8qx4g7t62gc39rhavx", 25);
	put("fuzz_machine_id", "aliases", "oWHZ8-HHFBC-G2ADB-PVYH9-WGDF7", 29);
	put("fuzz_machine_id", "bad_check", "93AX8-BB8QX-4G7T6-2GC39-RHAVW", 29);
	put("fuzz_machine_id", "machine-id", "0123456789abcdef0123456789abcdef\n", 33);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	root = argv[1];
	gen_archives();
	gen_armor();
	gen_manifests();
	gen_licenses();
	gen_machine_ids();
	gen_entitlements();
	gen_returns();
	gen_usage();
	return 0;
}
