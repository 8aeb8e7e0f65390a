/* Version-2 response bounds: the embedded entitlement holds printable ASCII
 * and LF only, and a response at every maximum at once (64 seats, a 4 KiB
 * .kent, a 3072-character issuer_key) still fits the manifest cap.  Both
 * were bugs found by the spec work (fixed: bundle/manifest.c parse_chain,
 * KLIC_MAX_MANIFEST_BYTES 24 KiB).  Usage: test_v2_limits [CASE_NAME] */
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

/* Spec 1 and 3.4: the `entitlement` string holds printable ASCII and LF
 * only, and 1.1 writes no escape but \" \\ \n.  parse_chain() in
 * bundle/manifest.c must refuse a TAB (written \t, not canonical by 1.1) or
 * UTF-8 there, which the .kent shape check alone (klic_license_split)
 * would let through. */
static void test_entitlement_bytes(void **state)
{
	struct klic_response r;
	static const char *const bad[] = {"\t", "\xc3\xa9"};
	size_t n;
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char *m = tu_sample_response_doc(&n, 1, 0), *s, *t, *p;
		json_t *j = json_loadb(m, n, 0, NULL);
		t = strdup(json_string_value(json_object_get(j, "entitlement")));
		p = strstr(t, "Example Org");
		memcpy(p + 7, bad[i], strlen(bad[i]));
		json_object_set_new(j, "entitlement", json_string(t));
		s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		assert_int_equal(klic_response_manifest_parse(&r, (const uint8_t *)s, strlen(s)),
				 KLIC_ERR_FIELD);
		free(s);
		free(t);
		free(m);
		json_decref(j);
	}
}

/* Spec 7 limits: a response may carry 64 seats, a .kent of up to 4 KiB and
 * an issuer_key of up to 3072 base64 characters, but its manifest must fit
 * KLIC_MAX_MANIFEST_BYTES: all three at their maximum make a 17.5 KiB
 * manifest, so the cap is 24 KiB (with 16 KiB such an issue failed instead
 * of being answered). */
static void test_limits_agree(void **state)
{
	static struct klic_response r;
	size_t kl, n;
	char *m = NULL, *kent, *sig;
	(void)state;
	tu_sample_response(&r, KLIC_MAX_SEATS, 0);
	kent = tu_sample_kent_text(&kl);
	sig = strstr(kent, "\n-----BEGIN PGP SIGNATURE-----");
	size_t pre = (size_t)(sig - kent), pad = KLIC_MAX_KENT_BYTES - kl - 1;
	memcpy(r.entitlement, kent, pre);
	r.entitlement[pre] = '\n';
	memset(r.entitlement + pre + 1, 'p', pad);
	memcpy(r.entitlement + pre + 1 + pad, sig, kl - pre + 1);
	r.entitlement_len = KLIC_MAX_KENT_BYTES;
	memset(r.issuer_key, 'A', KLIC_MAX_ISSUER_KEY_B64);
	r.issuer_key[KLIC_MAX_ISSUER_KEY_B64] = '\0';
	assert_int_equal(klic_response_manifest_build(&m, &n, &r), 0);
	free(m);
	free(kent);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entitlement_bytes),
	    cmocka_unit_test(test_limits_agree),
	};
	if (argc != 2)
		return 2;
	cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
