/* Unit tests: the return receipt (.kret, spec 3.8): the body's writer and
 * strict parser, and the clear-signed shape it shares with the .lic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "klic_kret.h"
#include "tutil.h"

#define CANON (JSON_INDENT(2) | JSON_SORT_KEYS)

/* The sample's canonical body, byte for byte (spec 3.8 example). */
static const char sample_body[] =
    "{\n"
    "  \"created\": \"2026-12-01T09:30:00Z\",\n"
    "  \"license_ids\": [\n"
    "    \"0123456789abcdef0123456789abcdef\",\n"
    "    \"fedcba9876543210fedcba9876543210\"\n"
    "  ],\n"
    "  \"machine_id\": \"%s\",\n"
    "  \"member_fpr\": \"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\",\n"
    "  \"nonce\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\n"
    "  \"product\": \"KRE\",\n"
    "  \"type\": \"klic-return\",\n"
    "  \"version\": 2\n"
    "}";

static void sample(struct klic_kret *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->product, "KRE", 4);
	snprintf(k->machine_id, sizeof(k->machine_id), "%s", tu_mid);
	memset(k->member_fpr, 'B', KLIC_FPR_HEX_LEN);
	k->n_ids = 2;
	/* given out of order: the writer sorts */
	memcpy(k->license_ids[0], "fedcba9876543210fedcba9876543210", 33);
	memcpy(k->license_ids[1], "0123456789abcdef0123456789abcdef", 33);
	memcpy(k->nonce, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 65);
	k->created = 1796117400; /* 2026-12-01T09:30:00Z */
}

static json_t *kret_json(void)
{
	struct klic_kret k;
	char *s;
	size_t n;
	sample(&k);
	assert_int_equal(klic_kret_body_build(&s, &n, &k), 0);
	json_t *j = json_loadb(s, n, 0, NULL);
	assert_non_null(j);
	free(s);
	return j;
}

/* Parse j in the canonical form (so only the edit is wrong); consumes j. */
static int parse_kret(json_t *j)
{
	struct klic_kret k;
	char *s = json_dumps(j, CANON);
	int rc;
	assert_non_null(s);
	rc = klic_kret_body_parse(&k, (const uint8_t *)s, strlen(s));
	free(s);
	json_decref(j);
	return rc;
}

static void test_kret_roundtrip(void **state)
{
	struct klic_kret k, back;
	char want[2048], *s = NULL;
	size_t n = 0;
	(void)state;
	sample(&k);
	assert_int_equal(klic_kret_body_build(&s, &n, &k), 0);
	snprintf(want, sizeof(want), sample_body, tu_mid);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(s, want, n);
	assert_int_equal(klic_kret_body_parse(&back, (const uint8_t *)s, n), 0);
	assert_int_equal(back.n_ids, 2);
	assert_string_equal(back.license_ids[0], "0123456789abcdef0123456789abcdef");
	assert_string_equal(back.license_ids[1], "fedcba9876543210fedcba9876543210");
	assert_string_equal(back.machine_id, tu_mid);
	assert_true(back.created == k.created);
	free(s);
}

static void test_kret_not_canonical(void **state)
{
	char want[2048];
	(void)state;
	struct klic_kret k;
	snprintf(want, sizeof(want), sample_body, tu_mid);
	/* a trailing newline, a compact form: refused */
	size_t n = strlen(want);
	want[n] = '\n';
	want[n + 1] = '\0';
	assert_int_not_equal(klic_kret_body_parse(&k, (const uint8_t *)want, n + 1), 0);
	json_t *j = kret_json();
	char *c = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_not_equal(klic_kret_body_parse(&k, (const uint8_t *)c, strlen(c)), 0);
	free(c);
	json_decref(j);
}

static void test_kret_keys(void **state)
{
	(void)state;
	json_t *j = kret_json();
	json_object_set_new(j, "type", json_string("klic-request"));
	assert_int_equal(parse_kret(j), KLIC_ERR_TYPE_TAG);
	j = kret_json();
	json_object_set_new(j, "version", json_integer(1));
	assert_int_equal(parse_kret(j), KLIC_ERR_VERSION);
	j = kret_json();
	json_object_set_new(j, "seats", json_integer(2));
	assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
	static const char *const keys[] = {"product",     "machine_id", "member_fpr",
					   "license_ids", "nonce",      "created"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		j = kret_json();
		json_object_del(j, keys[i]);
		assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
	}
}

static void test_kret_values(void **state)
{
	(void)state;
	json_t *j = kret_json();
	json_object_set_new(j, "product", json_string("KXE"));
	assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
	j = kret_json();
	json_object_set_new(j, "member_fpr",
			    json_string("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
	assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
	j = kret_json();
	json_object_set_new(j, "machine_id", json_string("7K3QD-9WXTB-0M2RA-FE5NP-4HJCW"));
	assert_int_not_equal(parse_kret(j), 0);
	j = kret_json();
	json_object_set_new(j, "nonce", json_string("0011"));
	assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
	j = kret_json();
	json_object_set_new(j, "created", json_string("2026-12-01 09:30:00"));
	assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
}

static void test_kret_ids(void **state)
{
	json_t *j, *a;
	(void)state;
	/* descending, duplicate, upper-case, short, empty, not an array */
	static const char *const bad[][2] = {
	    {"fedcba9876543210fedcba9876543210", "0123456789abcdef0123456789abcdef"},
	    {"0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
	    {"0123456789ABCDEF0123456789abcdef", "fedcba9876543210fedcba9876543210"},
	    {"0123456789abcdef0123456789abcde", "fedcba9876543210fedcba9876543210"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = kret_json();
		a = json_pack("[s, s]", bad[i][0], bad[i][1]);
		json_object_set_new(j, "license_ids", a);
		assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
	}
	j = kret_json();
	json_object_set_new(j, "license_ids", json_array());
	assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
	j = kret_json();
	json_object_set_new(j, "license_ids", json_string("0123456789abcdef0123456789abcdef"));
	assert_int_equal(parse_kret(j), KLIC_ERR_FIELD);
	/* 64 IDs parse, 65 do not */
	for (int n = 64; n <= 65; n++) {
		char id[33];
		j = kret_json();
		a = json_array();
		for (int i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "%032x", i);
			json_array_append_new(a, json_string(id));
		}
		json_object_set_new(j, "license_ids", a);
		assert_int_equal(parse_kret(j), n == 64 ? 0 : KLIC_ERR_FIELD);
	}
}

static void test_kret_build_refuses(void **state)
{
	struct klic_kret k;
	char *s = NULL;
	size_t n = 0;
	(void)state;
	sample(&k);
	k.n_ids = 0;
	assert_int_not_equal(klic_kret_body_build(&s, &n, &k), 0);
	assert_null(s);
	sample(&k);
	memcpy(k.license_ids[1], k.license_ids[0], 33); /* the same ID twice */
	assert_int_equal(klic_kret_body_build(&s, &n, &k), KLIC_ERR_FIELD);
	assert_null(s);
	sample(&k);
	k.product[0] = 'X';
	assert_int_equal(klic_kret_body_build(&s, &n, &k), KLIC_ERR_FIELD);
	assert_null(s);
}

/* The .lic shape: what it splits, what it refuses, the size cap. */
static void test_kret_split(void **state)
{
	struct klic_lic_parts p;
	char body[2048];
	(void)state;
	snprintf(body, sizeof(body), sample_body, tu_mid);
	size_t bl = strlen(body);
	static const char head[] = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n";
	static const char sig[] = "\n-----BEGIN PGP SIGNATURE-----\n\niQ==\n=AAAA\n"
				  "-----END PGP SIGNATURE-----\n";
	size_t n = strlen(head) + bl + strlen(sig);
	uint8_t *doc = malloc(KLIC_MAX_KRET_BYTES + 2);
	assert_non_null(doc);
	memcpy(doc, head, strlen(head));
	memcpy(doc + strlen(head), body, bl);
	memcpy(doc + strlen(head) + bl, sig, strlen(sig));
	assert_int_equal(klic_kret_split(&p, doc, n), 0);
	assert_int_equal(p.body_len, bl);
	assert_memory_equal(p.body, body, bl);
	assert_int_equal(p.hash_bits, 256);
	doc[n] = 'x'; /* trailing bytes */
	assert_int_equal(klic_kret_split(&p, doc, n + 1), KLIC_ERR_LICENSE_FORMAT);
	memset(doc, 'a', KLIC_MAX_KRET_BYTES + 1);
	assert_int_equal(klic_kret_split(&p, doc, KLIC_MAX_KRET_BYTES + 1),
			 KLIC_ERR_LICENSE_FORMAT);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kret_roundtrip), cmocka_unit_test(test_kret_not_canonical),
	    cmocka_unit_test(test_kret_keys),      cmocka_unit_test(test_kret_values),
	    cmocka_unit_test(test_kret_ids),       cmocka_unit_test(test_kret_build_refuses),
	    cmocka_unit_test(test_kret_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
