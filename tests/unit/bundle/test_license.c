/* Unit tests: license body and clear-signed shape (spec 3.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "klic_bundle.h"
#include "tutil.h"

static char *body_of(const struct klic_license *l, size_t *n)
{
	char *b;
	assert_int_equal(klic_license_body_build(&b, n, l), 0);
	return b;
}

static void test_body_roundtrip(void **state)
{
	struct klic_license l, back;
	size_t n1, n2;
	(void)state;
	tu_sample_license(&l, 2, 3);
	char *a = body_of(&l, &n1), *b = body_of(&l, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	assert_int_equal(a[0], '{');
	assert_int_equal(a[n1 - 1], '}'); /* no trailing newline */
	assert_non_null(strstr(a, "\n  \"expires\": \"2027-01-21T18:00:00Z\",\n"));
	assert_int_equal(klic_license_body_parse(&back, (const uint8_t *)a, n1), 0);
	assert_memory_equal(&back, &l, sizeof l);
	/* a trailing newline, or compact form, is not the canonical body */
	char *c = malloc(n1 + 1);
	memcpy(c, a, n1);
	c[n1] = '\n';
	assert_int_equal(klic_license_body_parse(&back, (const uint8_t *)c, n1 + 1), KLIC_ERR_JSON);
	free(c);
	json_t *j = json_loadb(a, n1, 0, NULL);
	c = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(klic_license_body_parse(&back, (const uint8_t *)c, strlen(c)),
			 KLIC_ERR_JSON);
	free(c);
	json_decref(j);
	free(a);
	free(b);
}

static int parse_mod(const char *key, json_t *val)
{
	struct klic_license l;
	size_t n;
	tu_sample_license(&l, 1, 2);
	char *b = body_of(&l, &n);
	json_t *j = json_loadb(b, n, 0, NULL);
	free(b);
	if (val == NULL)
		json_object_del(j, key);
	else
		json_object_set_new(j, key, val);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	int rc = klic_license_body_parse(&l, (const uint8_t *)s, strlen(s));
	free(s);
	json_decref(j);
	return rc;
}

static void test_body_fields(void **state)
{
	struct klic_license l;
	char *b;
	size_t n;
	(void)state;
	assert_int_equal(parse_mod("type", json_string("klic-response")), KLIC_ERR_TYPE_TAG);
	assert_int_equal(parse_mod("version", json_integer(2)), KLIC_ERR_VERSION);
	assert_int_equal(parse_mod("extra", json_true()), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("seat", json_integer(0)), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("seat", json_integer(3)), KLIC_ERR_FIELD); /* > seats (2) */
	assert_int_equal(parse_mod("seats", json_integer(65)), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("seats", json_integer(1)), 0); /* seat 1 of 1 */
	assert_int_equal(parse_mod("seats", json_integer(0)), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("expires", json_string("2026-11-22T18:00:00Z")), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("expires", json_string("2026-11-22T17:59:59Z")), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("issued", json_string("2026-11-22")), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("license_id", json_string("1111")), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("product", json_string("KSE")), KLIC_ERR_FIELD); /* 2 seats */
	assert_int_equal(parse_mod("machine_id", json_string("x")), KLIC_ERR_MACHINE_ID);
	assert_int_equal(parse_mod("issuer_org", json_string("Org\x7f")), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("member_fpr", json_integer(5)), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("request_digest", NULL), KLIC_ERR_FIELD);
	assert_int_equal(parse_mod("issuer_org", json_string("Other Org")), 0);
	/* builder refuses bad input */
	tu_sample_license(&l, 3, 2);
	assert_int_equal(klic_license_body_build(&b, &n, &l), KLIC_ERR_FIELD);
	tu_sample_license(&l, 1, 1);
	l.expires = l.issued;
	assert_int_equal(klic_license_body_build(&b, &n, &l), KLIC_ERR_FIELD);
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

/* ---- split ---- */

static const char SIGBLOCK[] = "-----BEGIN PGP SIGNATURE-----\n\n"
			       "iHUEARYIAB0WIQQAAAAAAAAAAAAAAAAAAAAAAAAAAAUCAAAAAAAKCRAAAAAAAAAA\n"
			       "AAAAAQD/AAAA\n"
			       "=AbCd\n"
			       "-----END PGP SIGNATURE-----\n";

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
	struct klic_license l;
	struct klic_lic_parts p;
	size_t bn, n;
	(void)state;
	tu_sample_license(&l, 1, 1);
	char *body = body_of(&l, &bn);
	char *lic = tu_wrap_license(body, &n);
	assert_int_equal(klic_license_split(&p, (const uint8_t *)lic, n), 0);
	assert_int_equal(p.body_len, bn);
	assert_memory_equal(p.body, body, bn);
	assert_int_equal(p.sig_len, strlen(SIGBLOCK));
	assert_memory_equal(p.sig, SIGBLOCK, p.sig_len);
	struct klic_license back;
	assert_int_equal(klic_license_body_parse(&back, p.body, p.body_len), 0);
	free(lic);
	for (const char *h = "256"; h; h = strcmp(h, "256") == 0 ? "384" : strcmp(h, "384") == 0 ? "512" : NULL) {
		char head[80];
		snprintf(head, sizeof head, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA%s\n\n", h);
		expect_split(head, body, SIGBLOCK, "", 0);
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
		struct klic_license l;
		struct klic_lic_parts p;
		size_t bn, n;
		tu_sample_license(&l, 1, 1);
		char *body = body_of(&l, &bn);
		char *lic = tu_wrap_license(body, &n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(klic_license_split(&p, (const uint8_t *)lic, k), E);
		free(lic);
		free(body);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_roundtrip), cmocka_unit_test(test_body_fields),
		cmocka_unit_test(test_filename),       cmocka_unit_test(test_split_ok),
		cmocka_unit_test(test_split_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
