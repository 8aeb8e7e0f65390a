/* Unit tests of the usage export body (bundle/usage.c): the audit hash
 * against a value computed independently (Python hashlib), a build/parse
 * round trip, and the strict parser refusing every mutant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "klic_usage.h"

#define ZERO KLIC_AUDIT_ZERO
#define KID "0123456789abcdef0123456789abcdef"
#define FPR "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

/* A .kent of the clear-signed shape (the signature bytes are not checked
 * by the body parser) with the given seats. */
static char *fake_kent(unsigned seats, size_t *len)
{
	static const char head[] = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n";
	static const char tail[] = "\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n=AAAA\n"
				   "-----END PGP SIGNATURE-----\n";
	struct klic_kent e;
	char *body = NULL, *out;
	size_t blen = 0;

	memset(&e, 0, sizeof e);
	memcpy(e.entitlement_id, KID, 33);
	snprintf(e.org, sizeof e.org, "Org");
	memcpy(e.org_keys[0], FPR, sizeof e.org_keys[0]);
	e.n_org_keys = 1;
	snprintf(e.product, sizeof e.product, "KRE");
	snprintf(e.model, sizeof e.model, KLIC_MODEL_NODE_LOCKED);
	snprintf(e.billing, sizeof e.billing, KLIC_BILLING_YEARLY);
	e.seats = seats;
	e.valid_from = 1767225600; /* 2026-01-01 */
	e.valid_until = 1798761600;
	snprintf(e.ref, sizeof e.ref, "PO-1");
	memcpy(e.vendor_fpr, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", 41);
	e.created = 1767225600;
	assert_int_equal(klic_kent_body_build(&body, &blen, &e), 0);
	out = malloc(sizeof head + blen + sizeof tail);
	assert_non_null(out);
	memcpy(out, head, sizeof head - 1);
	memcpy(out + sizeof head - 1, body, blen);
	memcpy(out + sizeof head - 1 + blen, tail, sizeof tail);
	*len = sizeof head - 1 + blen + sizeof tail - 1;
	free(body);
	return out;
}

static void sample(struct klic_usage *u)
{
	struct klic_usage_lic l;
	struct klic_usage_audit a;
	char *kent;
	size_t klen = 0;

	memset(u, 0, sizeof *u);
	snprintf(u->org, sizeof u->org, "Org");
	memcpy(u->issuer_fpr, FPR, sizeof u->issuer_fpr);
	snprintf(u->issuer_key, sizeof u->issuer_key, "AAAA");
	u->created = 1767225600;
	kent = fake_kent(5, &klen);
	assert_int_equal(klic_usage_add_ent(u, KID, kent, klen, 5), 0);
	free(kent);
	memset(&l, 0, sizeof l);
	memcpy(l.entitlement_id, KID, 33);
	memset(l.request_digest, 'c', 64);
	snprintf(l.machine_id, sizeof l.machine_id, "%s", "AHK71-7GYA7-9T7JC-4WBRZ-19YG5");
	l.seat = 1;
	l.issued = 1767225600;
	l.expires = l.issued + 86400;
	snprintf(l.state, sizeof l.state, KLIC_USAGE_EXPIRED);
	for (int i = 0; i < 2; i++) {
		memset(l.license_id, i == 0 ? '1' : '2', 32);
		if (i == 1) { /* the second one was renewed an hour after issue */
			l.ended = l.issued + 3600;
			snprintf(l.state, sizeof l.state, KLIC_USAGE_RENEWED);
		}
		assert_int_equal(klic_usage_add_lic(u, &l), 0);
	}
	memset(&a, 0, sizeof a);
	a.seq = 1;
	snprintf(a.at, sizeof a.at, "2026-01-01T00:00:00Z");
	snprintf(a.event, sizeof a.event, "issued");
	snprintf(a.digest, sizeof a.digest, "ab");
	snprintf(a.detail, sizeof a.detail, "detail \"quoted\"\\");
	assert_int_equal(klic_audit_hash(a.hash, ZERO, 1, a.at, a.event, a.digest, a.detail), 0);
	assert_int_equal(klic_usage_add_audit(u, &a), 0);
	memcpy(u->audit_head, a.hash, sizeof u->audit_head);
}

static void test_audit_hash(void **state)
{
	char h[KLIC_SHA256_HEX_LEN + 1];

	(void)state;
	assert_int_equal(
	    klic_audit_hash(h, ZERO, 1, "2026-01-01T00:00:00Z", "issued", "ab", "detail"), 0);
	assert_string_equal(h, "67d045bf00f960e3935f8af93ccaa4f7dde3ba954db390e8fd54a5d365f5b9eb");
}

static void test_round_trip(void **state)
{
	struct klic_usage u, back;
	char *s = NULL;
	size_t n = 0;

	(void)state;
	sample(&u);
	assert_int_equal(klic_usage_body_build(&s, &n, &u), 0);
	assert_int_not_equal(s[n - 1], '\n');
	assert_int_equal(klic_usage_body_parse(&back, (const uint8_t *)s, n), 0);
	assert_string_equal(back.org, "Org");
	assert_int_equal(back.n_ents, 1);
	assert_int_equal(back.ents[0].kent_len, u.ents[0].kent_len);
	assert_memory_equal(back.ents[0].kent, u.ents[0].kent, u.ents[0].kent_len);
	assert_int_equal(back.n_lics, 2);
	assert_string_equal(back.lics[1].license_id, "22222222222222222222222222222222");
	assert_int_equal(back.lics[0].expires, 1767225600 + 86400);
	assert_int_equal(back.lics[0].ended, 0); /* "ended": null */
	assert_int_equal(back.lics[1].ended, 1767225600 + 3600);
	assert_string_equal(back.lics[1].state, KLIC_USAGE_RENEWED);
	assert_non_null(strstr(s, "\"ended\": null"));
	assert_non_null(strstr(s, "\"ended\": \"2026-01-01T01:00:00Z\""));
	assert_int_equal(back.n_audit, 1);
	assert_string_equal(back.audit[0].detail, "detail \"quoted\"\\");
	assert_string_equal(back.audit_head, u.audit[0].hash);
	klic_usage_dispose(&back);
	klic_usage_dispose(&u);
	free(s);
}

/* The sample body with `from` replaced by `to` (first occurrence) must be
 * refused. */
static void refused(const char *from, const char *to)
{
	struct klic_usage u, back;
	char *s = NULL, *m, *p;
	size_t n = 0, fl = strlen(from), tl = strlen(to), mn;

	sample(&u);
	assert_int_equal(klic_usage_body_build(&s, &n, &u), 0);
	p = strstr(s, from);
	if (p == NULL)
		fail_msg("\"%s\" not in the body", from);
	mn = n - fl + tl;
	m = malloc(mn + 1);
	assert_non_null(m);
	memcpy(m, s, (size_t)(p - s));
	memcpy(m + (p - s), to, tl);
	memcpy(m + (p - s) + tl, p + fl, n - (size_t)(p - s) - fl + 1);
	if (klic_usage_body_parse(&back, (const uint8_t *)m, mn) == 0)
		fail_msg("accepted %s -> %s", from, to);
	klic_usage_dispose(&back);
	klic_usage_dispose(&u);
	free(m);
	free(s);
}

static void test_mutants(void **state)
{
	(void)state;
	refused("\"version\": 2", "\"version\": 1");
	refused("\"type\": \"klic-usage\"", "\"type\": \"klic-response\"");
	refused("{\n  \"audit\"", "{\n  \"extra\": 1,\n  \"audit\"");
	refused("\"org\": \"Org\"", "\"org\":  \"Org\"");
	refused("\"org\": \"Org\"", "\"org\": \"\"");
	refused("\"state\": \"expired\"", "\"state\": \"stolen\"");
	refused("\"seq\": 1", "\"seq\": 2");
	refused("\"seats\": 5", "\"seats\": 6");         /* differs from its .kent */
	refused("1111111111111111", "3333333333333333"); /* licenses out of order */
	refused("\"seat\": 1", "\"seat\": 0");
	refused("\"issuer_key\": \"AAAA\"", "\"issuer_key\": \"AA!A\"");
	refused("\"machine_id\": \"AHK71", "\"machine_id\": \"AHK72");
	refused("\"request_digest\": \"cccc", "\"request_digest\": \"CCCC");
	refused("\"entitlement_id\": \"0123", "\"entitlement_id\": \"x123");
	refused("-----BEGIN PGP SIGNED MESSAGE-----", "-----BEGIN PGP MESSAGE-----");
	refused("\"expires\": \"2026-01-02T00:00:00Z\"", "\"expires\": \"2026-01-01T00:00:00Z\"");
	refused("\"detail\": \"detail", "\"detail\": \"\\u0001detail");
	/* "ended" (spec 3.7): null, or a time within [issued, expires), exactly
	 * for a renewed or returned license */
	refused("\"ended\": null", "\"ended\": \"2026-01-01T05:00:00Z\""); /* expired + ended */
	refused("\"ended\": null", "\"ended\": 5");
	refused("\"ended\": \"2026-01-01T01:00:00Z\"", "\"ended\": null"); /* renewed, no end */
	refused("\"ended\": \"2026-01-01T01:00:00Z\"", "\"ended\": \"2025-12-31T23:00:00Z\"");
	refused("\"ended\": \"2026-01-01T01:00:00Z\"", "\"ended\": \"2026-01-02T00:00:00Z\"");
	refused("\"ended\": \"2026-01-01T01:00:00Z\"", "\"ended\": \"2026-01-01T01:00:00\"");
}

static void test_limits(void **state)
{
	struct klic_usage u;
	uint8_t *big = calloc(1, KLIC_MAX_KUSAGE_BYTES + 1u);

	(void)state;
	assert_non_null(big);
	assert_int_not_equal(klic_usage_body_parse(&u, big, KLIC_MAX_KUSAGE_BYTES + 1u), 0);
	klic_usage_dispose(&u);
	free(big);
	assert_int_not_equal(klic_usage_body_parse(&u, (const uint8_t *)"{}\n", 3), 0);
	klic_usage_dispose(&u);
}

/* The splitter's cap: a .lic stays at KLIC_MAX_LIC_BYTES, a .kusage may
 * be larger. */
static void test_split_cap(void **state)
{
	static const char head[] = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n";
	static const char tail[] = "\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n=AAAA\n"
				   "-----END PGP SIGNATURE-----\n";
	size_t body = KLIC_MAX_LIC_BYTES, n = sizeof head - 1 + body + sizeof tail - 1;
	struct klic_lic_parts parts;
	uint8_t *doc = malloc(n);

	(void)state;
	assert_non_null(doc);
	memcpy(doc, head, sizeof head - 1);
	memset(doc + sizeof head - 1, 'x', body);
	memcpy(doc + sizeof head - 1 + body, tail, sizeof tail - 1);
	assert_int_equal(klic_license_split(&parts, doc, n), KLIC_ERR_LICENSE_FORMAT);
	assert_int_equal(klic_clearsigned_split(&parts, doc, n, KLIC_MAX_KUSAGE_BYTES), 0);
	assert_int_equal(parts.body_len, body);
	assert_int_equal(parts.hash_bits, 256);
	assert_int_equal(klic_clearsigned_split(&parts, doc, n, n - 1), KLIC_ERR_LICENSE_FORMAT);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_audit_hash), cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_mutants),    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_split_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
