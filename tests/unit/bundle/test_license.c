/* Unit tests: license file names, the license a name selects in a signed
 * response, and the clear-signed shape (spec 3.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "klic_bundle.h"
#include "tutil.h"

static void test_from_response(void **state)
{
	struct klic_response r;
	struct klic_license l;
	char name[KLIC_MAX_NAME_LEN + 1];
	(void)state;
	tu_sample_response(&r, 3, 0);
	/* the file name selects the seat */
	for (unsigned k = 1; k <= 3; k++) {
		assert_int_equal(klic_license_filename(name, "KRE", tu_mid, k), 0);
		assert_int_equal(klic_license_from_response(&l, &r, name), 0);
		assert_int_equal(l.seat, k);
		assert_int_equal(l.seats, 3);
		assert_string_equal(l.license_id, r.lic[k - 1].license_id);
		assert_string_equal(l.file, name);
		assert_string_equal(l.product, "KRE");
		assert_string_equal(l.machine_id, tu_mid);
		assert_true(l.issued == r.created && l.expires == r.expires);
		assert_string_equal(l.issuer_org, r.issuer_org);
		assert_string_equal(l.issuer_fpr, r.issuer_fpr);
		assert_string_equal(l.member_fpr, r.member_fpr);
		assert_string_equal(l.request_digest, r.request_digest);
		assert_string_equal(l.entitlement_id, tu_kent_id);
	}
	/* a name the license does not grant: renamed, or copied to more seats */
	assert_int_equal(klic_license_filename(name, "KRE", tu_mid, 4), 0);
	assert_int_equal(klic_license_from_response(&l, &r, name), KLIC_ERR_LICENSE_NAME);
	assert_int_equal(l.license_id[0], '\0');
	assert_int_equal(klic_license_filename(name, "KSE", tu_mid, 1), 0);
	assert_int_equal(klic_license_from_response(&l, &r, name), KLIC_ERR_LICENSE_NAME);
	assert_int_equal(klic_license_from_response(&l, &r, "copy.lic"), KLIC_ERR_LICENSE_NAME);
	assert_int_equal(klic_license_from_response(&l, &r, ""), KLIC_ERR_LICENSE_NAME);
	/* names are chosen by the issuer: seat 1 may live in _2 */
	snprintf(r.lic[0].file, sizeof r.lic[0].file, "%s", r.lic[1].file);
	assert_int_equal(klic_license_filename(r.lic[1].file, "KRE", tu_mid, 7), 0);
	assert_int_equal(klic_license_from_response(&l, &r, r.lic[1].file), 0);
	assert_int_equal(l.seat, 2);
	/* a denial grants nothing */
	tu_sample_response(&r, 1, 1);
	assert_int_equal(klic_license_filename(name, "KRE", tu_mid, 1), 0);
	assert_int_equal(klic_license_from_response(&l, &r, name), KLIC_ERR_FIELD);
}

static void test_filename(void **state)
{
	char n[KLIC_MAX_NAME_LEN + 1];
	(void)state;
	assert_int_equal(klic_license_filename(n, "KRE", tu_mid, 1), 0);
	assert_string_equal(n, "KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX.lic");
	assert_int_equal(klic_license_filename(n, "KSE", tu_mid, 2), 0);
	assert_string_equal(n, "KSE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_2.lic");
	assert_int_equal(klic_license_filename(n, "KRE", tu_mid, 64), 0);
	assert_string_equal(n, "KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_64.lic");
	assert_true(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	assert_int_equal(klic_license_filename(n, "KRE", tu_mid, 0), KLIC_ERR_FIELD);
	assert_int_equal(klic_license_filename(n, "KRE", tu_mid, 65), KLIC_ERR_FIELD);
	assert_int_equal(klic_license_filename(n, "XYZ", tu_mid, 1), KLIC_ERR_FIELD);
	assert_int_equal(klic_license_filename(n, "KRE", "../../etc", 1), KLIC_ERR_MACHINE_ID);
}

static void test_name_parse(void **state)
{
	char n[KLIC_MAX_NAME_LEN + 1], p[4], m[KLIC_MACHINE_ID_LEN + 1];
	unsigned k;
	(void)state;
	for (unsigned i = 1; i <= 64; i++) {
		assert_int_equal(klic_license_filename(n, i % 2 ? "KRE" : "KSE", tu_mid, i), 0);
		assert_int_equal(klic_license_name_parse(&k, p, m, n), 0);
		assert_int_equal(k, i);
		assert_string_equal(p, i % 2 ? "KRE" : "KSE");
		assert_string_equal(m, tu_mid);
	}
	static const char *const bad[] = {
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_1.lic",  /* seat 1 has no suffix */
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_01.lic", /* leading zero */
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_65.lic", /* over 64 */
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_100.lic",
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_.lic",
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX.LIC",
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVW.lic", /* bad check symbol */
		"kre_93AX8-BB8QX-4G7T6-2GC39-RHAVX.lic",
		"XYZ_93AX8-BB8QX-4G7T6-2GC39-RHAVX.lic",
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX.lic.bak",
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_2",
		"../KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX.lic",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (klic_license_name_parse(&k, p, m, bad[i]) != KLIC_ERR_LICENSE_NAME)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(klic_license_name_parse(&k, p, m, NULL), KLIC_ERR_LICENSE_NAME);
}

/* ---- split ---- */

#define SIGBLOCK tu_sigblock

static int split_str(const char *s, struct klic_lic_parts *p)
{
	return klic_license_split(p, (const uint8_t *)s, strlen(s));
}

static char *mk(const char *head, const char *body, const char *sig, const char *tail)
{
	size_t n = strlen(head) + strlen(body) + 1 + strlen(sig) + strlen(tail);
	char *s = malloc(n + 1);
	snprintf(s, n + 1, "%s%s\n%s%s", head, body, sig, tail);
	return s;
}

static const char HEAD[] = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n";

static void expect_split(const char *head, const char *body, const char *sig, const char *tail,
			 int err)
{
	struct klic_lic_parts p;
	char *s = mk(head, body, sig, tail);
	int rc = split_str(s, &p);
	if (rc != err)
		fail_msg("split of [%s] gave %d, expected %d (%s)", s, rc, err, klic_error_detail());
	free(s);
}

static void test_split_ok(void **state)
{
	struct klic_lic_parts p;
	struct klic_response back;
	size_t bn, n;
	(void)state;
	char *body = tu_sample_response_doc(&bn, 2, 0);
	char *lic = tu_wrap_license(body, &n);
	assert_int_equal(klic_license_split(&p, (const uint8_t *)lic, n), 0);
	assert_int_equal(p.body_len, bn);
	assert_memory_equal(p.body, body, bn);
	assert_int_equal(p.sig_len, strlen(SIGBLOCK));
	assert_memory_equal(p.sig, SIGBLOCK, p.sig_len);
	assert_int_equal(p.hash_bits, 256);
	/* the body is the response document: it parses as one */
	assert_int_equal(klic_response_manifest_parse(&back, p.body, p.body_len), 0);
	assert_int_equal(back.n_licenses, 2);
	free(lic);
	for (unsigned bits = 256; bits <= 512; bits += 128) {
		char head[80];
		struct klic_lic_parts q;
		snprintf(head, sizeof head, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA%u\n\n", bits);
		char *s2 = mk(head, body, SIGBLOCK, "");
		assert_int_equal(split_str(s2, &q), 0);
		assert_int_equal(q.hash_bits, bits);
		free(s2);
	}
	/* empty lines inside the body are fine */
	expect_split(HEAD, "a\n\nb", SIGBLOCK, "", 0);
	free(body);
}

static void test_split_refused(void **state)
{
	const int E = KLIC_ERR_LICENSE_FORMAT;
	(void)state;
	/* text before / after */
	expect_split("x\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n", "{}", SIGBLOCK, "", E);
	expect_split(HEAD, "{}", SIGBLOCK, "x", E);
	expect_split(HEAD, "{}", SIGBLOCK, "\n", E);
	/* CR anywhere */
	expect_split("-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\n", "{}", SIGBLOCK, "", E);
	expect_split(HEAD, "{\r\n}", SIGBLOCK, "", E);
	/* armor headers */
	expect_split("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\nComment: hi\n\n", "{}",
		     SIGBLOCK, "", E);
	expect_split("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA1\n\n", "{}", SIGBLOCK, "", E);
	expect_split("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256,SHA512\n\n", "{}", SIGBLOCK,
		     "", E);
	expect_split("-----BEGIN PGP SIGNED MESSAGE-----\n\n", "{}", SIGBLOCK, "", E);
	expect_split(HEAD, "{}",
		     "-----BEGIN PGP SIGNATURE-----\nVersion: GnuPG\n\niHUE\n=AbCd\n"
		     "-----END PGP SIGNATURE-----\n",
		     "", E);
	/* body lines starting with '-' (dash-escaped or not), trailing blanks */
	expect_split(HEAD, "- -----BEGIN X", SIGBLOCK, "", E);
	expect_split(HEAD, "{\n-x\n}", SIGBLOCK, "", E);
	expect_split(HEAD, "{ \n}", SIGBLOCK, "", E);
	expect_split(HEAD, "{\t\n}", SIGBLOCK, "", E);
	expect_split(HEAD, "{}  ", SIGBLOCK, "", E);
	/* missing parts */
	expect_split(HEAD, "", SIGBLOCK, "", E);
	expect_split("", "{}", SIGBLOCK, "", E);
	expect_split(HEAD, "{}", "", "", E);
	expect_split(HEAD, "{}", "-----BEGIN PGP SIGNATURE-----\n\niHUE\n=AbCd\n", "", E);
	expect_split(HEAD, "{}", "-----BEGIN PGP SIGNATURE-----\n\niHUE\n-----END PGP SIGNATURE-----\n",
		     "", E);
	expect_split(HEAD, "{}", "-----BEGIN PGP SIGNATURE-----\n\n=AbCd\n-----END PGP SIGNATURE-----\n",
		     "", E);
	expect_split(HEAD, "{}",
		     "-----BEGIN PGP SIGNATURE-----\n\niH*E\n=AbCd\n-----END PGP SIGNATURE-----\n", "",
		     E);
	expect_split(HEAD, "{}",
		     "-----BEGIN PGP SIGNATURE-----\n\niHUE\n=AbC\n-----END PGP SIGNATURE-----\n", "", E);
	/* two signature blocks */
	{
		char two[600];
		snprintf(two, sizeof two, "%s%s", SIGBLOCK, SIGBLOCK);
		expect_split(HEAD, "{}", two, "", E);
	}
	/* NUL byte */
	{
		struct klic_lic_parts p;
		char *s = mk(HEAD, "{}", SIGBLOCK, "");
		size_t n = strlen(s);
		s[strlen(HEAD)] = 0;
		assert_int_equal(klic_license_split(&p, (const uint8_t *)s, n), E);
		free(s);
	}
	/* over the size cap */
	{
		struct klic_lic_parts p;
		char *big = malloc(KLIC_MAX_LIC_BYTES + 100);
		memset(big, 'a', KLIC_MAX_LIC_BYTES + 99);
		big[KLIC_MAX_LIC_BYTES + 99] = 0;
		char *s = mk(HEAD, big, SIGBLOCK, "");
		assert_int_equal(split_str(s, &p), E);
		free(s);
		free(big);
	}
	/* every truncation of a valid license is refused */
	{
		struct klic_lic_parts p;
		size_t bn, n;
		char *body = tu_sample_response_doc(&bn, 1, 0);
		char *lic = tu_wrap_license(body, &n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(klic_license_split(&p, (const uint8_t *)lic, k), E);
		free(lic);
		free(body);
	}
}

/* A bundle given where a license is expected (issue 18 item 7): "wrong
 * document type", decided from the leading bytes; and the final newline of a
 * license is required and single (spec 3.5, item 17). */
static void test_wrong_kind_and_final_lf(void **state)
{
	struct klic_lic_parts p;
	size_t n, bn;
	uint8_t *kreq = tu_sample_kreq(&n);
	(void)state;

	assert_int_equal(klic_license_split(&p, kreq, n), KLIC_ERR_TYPE_TAG);
	assert_string_equal(klic_error_detail(),
			    "this is a bundle (.kreq or .kresp, gzip), not a license (.lic)");
	free(kreq);
	static const char areq[] = "-----BEGIN KLIC REQUEST-----\n\nH4sIAAAAAAAC\n";
	assert_int_equal(klic_license_split(&p, (const uint8_t *)areq, sizeof areq - 1),
			 KLIC_ERR_TYPE_TAG);
	assert_string_equal(klic_error_detail(), "this is an armored request (.kreq), not a license (.lic)");
	static const char aresp[] = "-----BEGIN KLIC RESPONSE-----\n\nH4sIAAAAAAAC\n";
	assert_int_equal(klic_license_split(&p, (const uint8_t *)aresp, sizeof aresp - 1),
			 KLIC_ERR_TYPE_TAG);
	assert_string_equal(klic_error_detail(),
			    "this is an armored response (.kresp), not a license (.lic)");

	char *body = tu_sample_response_doc(&bn, 1, 0);
	char *lic = tu_wrap_license(body, &n);
	assert_int_equal(lic[n - 1], '\n');
	assert_int_equal(klic_license_split(&p, (const uint8_t *)lic, n), 0);
	/* without its final LF */
	assert_int_equal(klic_license_split(&p, (const uint8_t *)lic, n - 1), KLIC_ERR_LICENSE_FORMAT);
	assert_non_null(strstr(klic_error_detail(), "END PGP SIGNATURE"));
	/* with a second one */
	char *two = malloc(n + 1);
	memcpy(two, lic, n);
	two[n] = '\n';
	assert_int_equal(klic_license_split(&p, (const uint8_t *)two, n + 1), KLIC_ERR_LICENSE_FORMAT);
	assert_string_equal(klic_error_detail(), "data after -----END PGP SIGNATURE-----");
	free(two);
	free(lic);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_response), cmocka_unit_test(test_filename),
		cmocka_unit_test(test_name_parse),    cmocka_unit_test(test_split_ok),
		cmocka_unit_test(test_split_refused), cmocka_unit_test(test_wrong_kind_and_final_lf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
