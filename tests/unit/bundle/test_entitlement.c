/* Unit tests: the entitlement body (.kent, spec 3.6) and the chain fields
 * of a version-2 response manifest (spec 3.4). */
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

#define CANON (JSON_INDENT(2) | JSON_SORT_KEYS)

/* The sample's canonical body, byte for byte (spec 3.6 example). */
static const char sample_body[] =
	"{\n"
	"  \"billing\": \"yearly\",\n"
	"  \"created\": \"2026-10-31T12:00:00Z\",\n"
	"  \"entitlement_id\": \"0123456789abcdef0123456789abcdef\",\n"
	"  \"model\": \"node-locked\",\n"
	"  \"org\": \"Example Org\",\n"
	"  \"org_keys\": [\n"
	"    \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n"
	"  ],\n"
	"  \"product\": \"KRE\",\n"
	"  \"ref\": \"PO-2026-0042\",\n"
	"  \"returnable\": false,\n"
	"  \"seats\": 10,\n"
	"  \"type\": \"klic-entitlement\",\n"
	"  \"valid_from\": \"2026-11-01T00:00:00Z\",\n"
	"  \"valid_until\": \"2027-11-01T00:00:00Z\",\n"
	"  \"vendor_fpr\": \"EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE\",\n"
	"  \"version\": 2\n"
	"}";

static json_t *kent_json(void)
{
	struct klic_kent e;
	char *s;
	size_t n;
	tu_sample_kent(&e);
	assert_int_equal(klic_kent_body_build(&s, &n, &e), 0);
	json_t *j = json_loadb(s, n, 0, NULL);
	assert_non_null(j);
	free(s);
	return j;
}

/* Parse j in the canonical form (so only the edit is wrong); consumes j. */
static int parse_kent(json_t *j)
{
	struct klic_kent e;
	char *s = json_dumps(j, CANON);
	int rc;
	assert_non_null(s);
	rc = klic_kent_body_parse(&e, (const uint8_t *)s, strlen(s));
	free(s);
	json_decref(j);
	return rc;
}

static int parse_str(const char *s)
{
	struct klic_kent e;
	return klic_kent_body_parse(&e, (const uint8_t *)s, strlen(s));
}

static void test_kent_roundtrip(void **state)
{
	struct klic_kent e, back;
	char *a, *b;
	size_t la, lb;
	(void)state;
	tu_sample_kent(&e);
	assert_int_equal(klic_kent_body_build(&a, &la, &e), 0);
	assert_int_equal(klic_kent_body_build(&b, &lb, &e), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	assert_int_equal(la, sizeof sample_body - 1);
	assert_memory_equal(a, sample_body, la);
	/* the example of spec 3.6, with the digest the spec prints */
	char h[KLIC_SHA256_HEX_LEN + 1];
	assert_int_equal(klic_sha256_hex(h, a, la), 0);
	assert_string_equal(h, "ecc3d01dee937fab7bb12deb31a38f3e64705e043244e8cff82cda6bd159c263");
	assert_int_equal(klic_kent_body_parse(&back, (const uint8_t *)a, la), 0);
	assert_memory_equal(&back, &e, sizeof e);
	assert_int_equal(klic_kent_names_key(&back, e.org_keys[0]), 0);
	assert_int_equal(klic_kent_names_key(&back, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"), -1);
	free(a);
	free(b);
	/* the builder writes org_keys sorted whatever order it is given */
	tu_sample_kent(&e);
	e.n_org_keys = KLIC_MAX_ORG_KEYS;
	for (size_t i = 0; i < KLIC_MAX_ORG_KEYS; i++)
		memset(e.org_keys[i], (int)('8' - i), KLIC_FPR_HEX_LEN);
	e.returnable = 1;
	e.seats = KLIC_MAX_ENT_SEATS;
	snprintf(e.model, sizeof e.model, "%s", KLIC_MODEL_FLOATING);
	snprintf(e.billing, sizeof e.billing, "%s", KLIC_BILLING_MONTHLY);
	assert_int_equal(klic_kent_body_build(&a, &la, &e), 0);
	assert_int_equal(klic_kent_body_parse(&back, (const uint8_t *)a, la), 0);
	assert_int_equal(back.n_org_keys, KLIC_MAX_ORG_KEYS);
	for (size_t i = 1; i < KLIC_MAX_ORG_KEYS; i++)
		assert_true(strcmp(back.org_keys[i - 1], back.org_keys[i]) < 0);
	assert_int_equal(klic_kent_names_key(&back, e.org_keys[0]), KLIC_MAX_ORG_KEYS - 1);
	assert_true(back.returnable == 1 && back.seats == KLIC_MAX_ENT_SEATS);
	assert_non_null(strstr(a, "\"returnable\": true"));
	free(a);
	/* the builder refuses what the reader would refuse */
	tu_sample_kent(&e);
	e.n_org_keys = 0;
	assert_int_equal(klic_kent_body_build(&a, &la, &e), KLIC_ERR_FIELD);
	e.n_org_keys = KLIC_MAX_ORG_KEYS + 1;
	assert_int_equal(klic_kent_body_build(&a, &la, &e), KLIC_ERR_FIELD);
	tu_sample_kent(&e);
	e.n_org_keys = 2;
	memcpy(e.org_keys[1], e.org_keys[0], sizeof e.org_keys[0]);
	assert_int_equal(klic_kent_body_build(&a, &la, &e), KLIC_ERR_FIELD);
	tu_sample_kent(&e);
	e.valid_until = e.valid_from;
	assert_int_equal(klic_kent_body_build(&a, &la, &e), KLIC_ERR_FIELD);
	tu_sample_kent(&e);
	e.seats = 0;
	assert_int_equal(klic_kent_body_build(&a, &la, &e), KLIC_ERR_FIELD);
	tu_sample_kent(&e);
	snprintf(e.model, sizeof e.model, "site");
	assert_int_equal(klic_kent_body_build(&a, &la, &e), KLIC_ERR_FIELD);
}

/* canonical bytes only; version 1 refused naming the version */
static void test_kent_strict_json(void **state)
{
	struct klic_kent e;
	char *s, *t;
	(void)state;
	assert_int_equal(parse_str(sample_body), 0);
	/* a trailing newline, a trailing byte, two objects */
	size_t n = strlen(sample_body);
	s = malloc(n + 2);
	memcpy(s, sample_body, n);
	s[n] = '\n';
	assert_int_equal(klic_kent_body_parse(&e, (const uint8_t *)s, n + 1), KLIC_ERR_JSON);
	s[n] = ' ';
	assert_int_equal(klic_kent_body_parse(&e, (const uint8_t *)s, n + 1), KLIC_ERR_JSON);
	/* an embedded NUL */
	memcpy(s, sample_body, n);
	s[10] = '\0';
	assert_int_equal(klic_kent_body_parse(&e, (const uint8_t *)s, n), KLIC_ERR_JSON);
	free(s);
	/* the compact form, another indent, CRLF line ends, unsorted keys */
	json_t *j = json_loads(sample_body, 0, NULL);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(parse_str(s), KLIC_ERR_JSON);
	free(s);
	s = json_dumps(j, JSON_INDENT(4) | JSON_SORT_KEYS);
	assert_int_equal(parse_str(s), KLIC_ERR_JSON);
	free(s);
	s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ESCAPE_SLASH);
	assert_int_equal(parse_str(s), 0); /* no '/' in it: the same bytes */
	free(s);
	json_decref(j);
	t = strdup(sample_body);
	t[strlen(t) - 2] = '\r';
	assert_int_equal(parse_str(t), KLIC_ERR_JSON);
	free(t);
	static const char unsorted[] = "{\n  \"version\": 2,\n  \"type\": \"klic-entitlement\"\n}";
	assert_int_equal(parse_str(unsorted), KLIC_ERR_JSON);
	static const char dup[] =
		"{\n  \"type\": \"klic-entitlement\",\n  \"type\": \"klic-entitlement\"\n}";
	assert_int_equal(parse_str(dup), KLIC_ERR_JSON);
	assert_int_equal(parse_str(""), KLIC_ERR_JSON);
	assert_int_equal(parse_str("[]"), KLIC_ERR_JSON);
	/* type tag, then version (v1 is a clean break) */
	static const char only_tv[] = "{\n  \"type\": \"klic-entitlement\",\n  \"version\": 2\n}";
	assert_int_equal(parse_str(only_tv), KLIC_ERR_FIELD);
	static const char v1[] = "{\n  \"type\": \"klic-entitlement\",\n  \"version\": 1\n}";
	assert_int_equal(parse_str(v1), KLIC_ERR_VERSION);
	assert_string_equal(klic_error_detail(), "version 1 (this klic reads version 2)");
	j = kent_json();
	json_object_set_new(j, "version", json_integer(1));
	assert_int_equal(parse_kent(j), KLIC_ERR_VERSION);
	assert_string_equal(klic_error_detail(), "version 1 (this klic reads version 2)");
	j = kent_json();
	json_object_set_new(j, "version", json_string("2"));
	assert_int_equal(parse_kent(j), KLIC_ERR_VERSION);
	j = kent_json();
	json_object_set_new(j, "type", json_string("klic-response"));
	assert_int_equal(parse_kent(j), KLIC_ERR_TYPE_TAG);
	j = kent_json();
	json_object_del(j, "type");
	assert_int_equal(parse_kent(j), KLIC_ERR_TYPE_TAG);
	/* a response manifest is not an entitlement */
	s = tu_sample_response_doc(&n, 1, 0);
	assert_int_equal(klic_kent_body_parse(&e, (const uint8_t *)s, n), KLIC_ERR_TYPE_TAG);
	free(s);
}

static const char *const kent_fields[] = {
	"entitlement_id", "org",	 "org_keys",   "product", "model",	"billing",
	"seats",	  "valid_from", "valid_until", "returnable", "ref", "vendor_fpr",
	"created",
};

/* every field: missing, wrong JSON type; an unknown field */
static void test_kent_fields_present(void **state)
{
	json_t *j;
	(void)state;
	assert_int_equal(parse_kent(kent_json()), 0);
	for (size_t i = 0; i < sizeof kent_fields / sizeof kent_fields[0]; i++) {
		j = kent_json();
		json_object_del(j, kent_fields[i]);
		if (parse_kent(j) != KLIC_ERR_FIELD)
			fail_msg("missing %s accepted", kent_fields[i]);
		j = kent_json();
		json_object_set_new(j, kent_fields[i], json_object());
		if (parse_kent(j) != KLIC_ERR_FIELD)
			fail_msg("%s as an object accepted", kent_fields[i]);
		j = kent_json();
		json_object_set_new(j, kent_fields[i], json_null());
		if (parse_kent(j) != KLIC_ERR_FIELD)
			fail_msg("%s as null accepted", kent_fields[i]);
	}
	j = kent_json();
	json_object_set_new(j, "floating_pool", json_string("x"));
	assert_int_equal(parse_kent(j), KLIC_ERR_FIELD);
	j = kent_json();
	json_object_set_new(j, "issuer_key", json_string("AAAA"));
	assert_int_equal(parse_kent(j), KLIC_ERR_FIELD);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* values: ranges and enumerations */
static void test_kent_values(void **state)
{
	(void)state;
	char *t200 = repeat('t', 200), *t201 = repeat('t', 201);
	struct {
		const char *key;
		json_t *val;
		int err;
	} cases[] = {
		{"entitlement_id", json_string("0123456789ABCDEF0123456789ABCDEF"), KLIC_ERR_FIELD},
		{"entitlement_id", json_string("0123456789abcdef0123456789abcde"), KLIC_ERR_FIELD},
		{"entitlement_id", json_string("0123456789abcdef0123456789abcdeg"), KLIC_ERR_FIELD},
		{"org", json_string(""), KLIC_ERR_FIELD},
		{"org", json_string("a\tb"), KLIC_ERR_FIELD},
		{"org", json_string("Caf\xc3\xa9 GmbH"), KLIC_ERR_FIELD},
		{"org", json_string(t201), KLIC_ERR_FIELD},
		{"org", json_string(t200), 0},
		{"ref", json_string(""), KLIC_ERR_FIELD},
		{"ref", json_string("PO\n42"), KLIC_ERR_FIELD},
		{"ref", json_string(t201), KLIC_ERR_FIELD},
		{"ref", json_string(t200), 0},
		{"product", json_string("kre"), KLIC_ERR_FIELD},
		{"product", json_string("KRX"), KLIC_ERR_FIELD},
		{"product", json_string("KSE"), 0},
		{"model", json_string("Node-locked"), KLIC_ERR_FIELD},
		{"model", json_string("site"), KLIC_ERR_FIELD},
		{"model", json_string(""), KLIC_ERR_FIELD},
		{"model", json_string("node-locked-and-more-text"), KLIC_ERR_FIELD},
		{"model", json_string("floating"), 0},
		{"billing", json_string("Yearly"), KLIC_ERR_FIELD},
		{"billing", json_string("weekly"), KLIC_ERR_FIELD},
		{"billing", json_string("biannually"), KLIC_ERR_FIELD},
		{"billing", json_string("monthly"), 0},
		{"seats", json_integer(0), KLIC_ERR_FIELD},
		{"seats", json_integer(-1), KLIC_ERR_FIELD},
		{"seats", json_integer(KLIC_MAX_ENT_SEATS + 1), KLIC_ERR_FIELD},
		{"seats", json_string("10"), KLIC_ERR_FIELD},
		{"seats", json_real(10.0), KLIC_ERR_FIELD},
		{"seats", json_true(), KLIC_ERR_FIELD},
		{"seats", json_integer(1), 0},
		{"seats", json_integer(KLIC_MAX_ENT_SEATS), 0},
		{"valid_from", json_string("2026-11-01"), KLIC_ERR_FIELD},
		{"valid_from", json_string("2026-11-01T00:00:00+00:00"), KLIC_ERR_FIELD},
		{"valid_from", json_string("2026-11-01t00:00:00z"), KLIC_ERR_FIELD},
		{"valid_from", json_integer(1793491200), KLIC_ERR_FIELD},
		{"valid_until", json_string("2027-02-29T00:00:00Z"), KLIC_ERR_FIELD},
		{"created", json_string("2026-10-31T12:00:60Z"), KLIC_ERR_FIELD},
		{"returnable", json_integer(0), KLIC_ERR_FIELD},
		{"returnable", json_integer(1), KLIC_ERR_FIELD},
		{"returnable", json_string("true"), KLIC_ERR_FIELD},
		{"returnable", json_true(), 0},
		{"vendor_fpr", json_string("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"), KLIC_ERR_FIELD},
		{"vendor_fpr", json_string("EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE"), KLIC_ERR_FIELD},
		{"vendor_fpr", json_string("EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEG"), KLIC_ERR_FIELD},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *j = kent_json();
		json_object_set_new(j, cases[i].key, cases[i].val);
		int rc = parse_kent(j);
		if (rc != cases[i].err)
			fail_msg("case %zu (%s): %d != %d", i, cases[i].key, rc, cases[i].err);
	}
	free(t200);
	free(t201);
}

/* the period: valid_until strictly after valid_from */
static void test_kent_period(void **state)
{
	json_t *j;
	(void)state;
	j = kent_json();
	json_object_set_new(j, "valid_until", json_string("2026-11-01T00:00:00Z"));
	assert_int_equal(parse_kent(j), KLIC_ERR_FIELD);
	j = kent_json();
	json_object_set_new(j, "valid_until", json_string("2026-10-01T00:00:00Z"));
	assert_int_equal(parse_kent(j), KLIC_ERR_FIELD);
	j = kent_json();
	json_object_set_new(j, "valid_until", json_string("2026-11-01T00:00:01Z"));
	assert_int_equal(parse_kent(j), 0);
	/* created is not tied to the period (the vendor may sign in advance) */
	j = kent_json();
	json_object_set_new(j, "created", json_string("2030-01-01T00:00:00Z"));
	assert_int_equal(parse_kent(j), 0);
}

static json_t *fprs(int n, const char *first)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char f[KLIC_FPR_HEX_LEN + 1];
		memset(f, "0123456789ABCDEF"[i % 16], KLIC_FPR_HEX_LEN);
		f[KLIC_FPR_HEX_LEN] = '\0';
		json_array_append_new(a, json_string(i == 0 && first != NULL ? first : f));
	}
	return a;
}

/* org_keys: 1..8 upper-case fingerprints, strictly ascending */
static void test_kent_org_keys(void **state)
{
	json_t *j, *a;
	(void)state;
	static const struct {
		int n;
		const char *first;
		int err;
	} cases[] = {
		{0, NULL, KLIC_ERR_FIELD},
		{1, NULL, 0},
		{8, NULL, 0},
		{9, NULL, KLIC_ERR_FIELD},
		{1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", KLIC_ERR_FIELD},
		{1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", KLIC_ERR_FIELD},
		{1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", KLIC_ERR_FIELD},
		{1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAX", KLIC_ERR_FIELD},
		{2, "1111111111111111111111111111111111111111", KLIC_ERR_FIELD}, /* duplicate */
		{2, "2222222222222222222222222222222222222222", KLIC_ERR_FIELD}, /* descending */
		{2, "0000000000000000000000000000000000000001", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		j = kent_json();
		json_object_set_new(j, "org_keys", fprs(cases[i].n, cases[i].first));
		int rc = parse_kent(j);
		if (rc != cases[i].err)
			fail_msg("org_keys case %zu: %d != %d", i, rc, cases[i].err);
	}
	/* an entry that is not a string; a string instead of an array */
	j = kent_json();
	a = fprs(1, NULL);
	json_array_append_new(a, json_integer(1));
	json_object_set_new(j, "org_keys", a);
	assert_int_equal(parse_kent(j), KLIC_ERR_FIELD);
	j = kent_json();
	json_object_set_new(j, "org_keys", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_int_equal(parse_kent(j), KLIC_ERR_FIELD);
}

/* ---- the chain fields of a version-2 response --------------------------- */

static json_t *response_json(int denied)
{
	char *m;
	size_t n;
	m = tu_sample_response_doc(&n, 2, denied);
	json_t *j = json_loadb(m, n, 0, NULL);
	assert_non_null(j);
	free(m);
	return j;
}

static int parse_resp(json_t *j)
{
	struct klic_response r;
	char *s = json_dumps(j, CANON);
	int rc = klic_response_manifest_parse(&r, (const uint8_t *)s, strlen(s));
	free(s);
	json_decref(j);
	return rc;
}

static const char *const chain_fields[] = {"entitlement", "entitlement_id", "issuer_key"};

static void test_response_chain_presence(void **state)
{
	struct klic_response r, back;
	json_t *j, *issued;
	char *m;
	size_t n;
	(void)state;
	/* an issued response carries the three; they survive a round trip */
	tu_sample_response(&r, 2, 0);
	assert_int_equal(klic_response_manifest_build(&m, &n, &r), 0);
	assert_int_equal(klic_response_manifest_parse(&back, (const uint8_t *)m, n), 0);
	assert_int_equal(back.entitlement_len, r.entitlement_len);
	assert_memory_equal(back.entitlement, r.entitlement, r.entitlement_len);
	assert_string_equal(back.entitlement_id, tu_kent_id);
	assert_string_equal(back.issuer_key, tu_issuer_key_b64);
	/* the .kent's LFs are escaped as \n inside the JSON string */
	assert_non_null(strstr(m, "\"entitlement\": \"-----BEGIN PGP SIGNED MESSAGE-----\\nHash: "
				  "SHA256\\n\\n{\\n  \\\"billing\\\": \\\"yearly\\\",\\n"));
	free(m);
	for (size_t i = 0; i < 3; i++) {
		/* issued without it */
		j = response_json(0);
		json_object_del(j, chain_fields[i]);
		if (parse_resp(j) != KLIC_ERR_FIELD)
			fail_msg("issued without %s accepted", chain_fields[i]);
		/* a denial with it */
		j = response_json(1);
		issued = response_json(0);
		json_object_set(j, chain_fields[i], json_object_get(issued, chain_fields[i]));
		json_decref(issued);
		if (parse_resp(j) != KLIC_ERR_FIELD)
			fail_msg("denial with %s accepted", chain_fields[i]);
		/* wrong JSON type */
		j = response_json(0);
		json_object_set_new(j, chain_fields[i], json_integer(1));
		if (parse_resp(j) != KLIC_ERR_FIELD)
			fail_msg("%s as an integer accepted", chain_fields[i]);
	}
	/* the builder refuses an issued response without an entitlement */
	tu_sample_response(&r, 1, 0);
	r.entitlement_len = 0;
	r.entitlement[0] = '\0';
	assert_int_equal(klic_response_manifest_build(&m, &n, &r), KLIC_ERR_FIELD);
	tu_sample_response(&r, 1, 0);
	r.issuer_key[0] = '\0';
	assert_int_equal(klic_response_manifest_build(&m, &n, &r), KLIC_ERR_FIELD);
}

static void test_response_chain_values(void **state)
{
	json_t *j;
	(void)state;
	static const struct {
		const char *key, *val;
		int err;
	} cases[] = {
		{"entitlement_id", "0123456789ABCDEF0123456789ABCDEF", KLIC_ERR_FIELD},
		{"entitlement_id", "0123", KLIC_ERR_FIELD},
		{"issuer_key", "", KLIC_ERR_FIELD},
		{"issuer_key", "AAA", KLIC_ERR_FIELD},
		{"issuer_key", "AAAA=", KLIC_ERR_FIELD},
		{"issuer_key", "AA=A", KLIC_ERR_FIELD},
		{"issuer_key", "AAAA\nAAAA", KLIC_ERR_FIELD},
		{"issuer_key", "AA-_", KLIC_ERR_FIELD}, /* base64url is not base64 */
		{"issuer_key", "====", KLIC_ERR_FIELD},
		{"issuer_key", "AAAA", 0},
		{"issuer_key", "AA==", 0},
		{"entitlement", "", KLIC_ERR_FIELD},
		{"entitlement", "not a clear-signed text", KLIC_ERR_FIELD},
		{"entitlement", "{\n  \"type\": \"klic-entitlement\"\n}", KLIC_ERR_FIELD},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		j = response_json(0);
		json_object_set_new(j, cases[i].key, json_string(cases[i].val));
		int rc = parse_resp(j);
		if (rc != cases[i].err)
			fail_msg("case %zu (%s): %d != %d", i, cases[i].key, rc, cases[i].err);
	}
	/* too long for KLIC_MAX_ISSUER_KEY_B64 */
	char *big = repeat('A', KLIC_MAX_ISSUER_KEY_B64 + 4);
	j = response_json(0);
	json_object_set_new(j, "issuer_key", json_string(big));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	free(big);
	/* the .kent shape: CRLF line ends, text after the signature, no Hash line */
	size_t n;
	char *kent = tu_sample_kent_text(&n), *bad = malloc(n + 16);
	memcpy(bad, kent, n + 1);
	memcpy(bad + n, "junk", 5);
	j = response_json(0);
	json_object_set_new(j, "entitlement", json_string(bad));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	memcpy(bad, kent, n + 1);
	bad[strlen("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA2")] = '7';
	j = response_json(0);
	json_object_set_new(j, "entitlement", json_string(bad));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	memcpy(bad, kent, n + 1);
	bad[strlen("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256")] = '\r';
	j = response_json(0);
	json_object_set_new(j, "entitlement", json_string(bad));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	free(bad);
	free(kent);
}

/* A .kent-shaped text of exactly `len` bytes (the body padded with a line). */
static char *kent_of_len(size_t len)
{
	size_t n, pad;
	char *kent = tu_sample_kent_text(&n), *body, *out;
	const char *sig = strstr(kent, "\n-----BEGIN PGP SIGNATURE-----");
	const char *head_end = strstr(kent, "\n\n") + 2;
	size_t body_len = (size_t)(sig - head_end);

	assert_true(len > n + 1);
	pad = len - n - 1; /* "\n" + pad letters */
	body = malloc(body_len + pad + 2);
	memcpy(body, head_end, body_len);
	body[body_len] = '\n';
	memset(body + body_len + 1, 'p', pad);
	body[body_len + 1 + pad] = '\0';
	out = tu_wrap_license(body, &n);
	assert_int_equal(n, len);
	free(body);
	free(kent);
	return out;
}

static void test_response_chain_size(void **state)
{
	json_t *j;
	char *k;
	(void)state;
	k = kent_of_len(KLIC_MAX_KENT_BYTES);
	j = response_json(0);
	json_object_set_new(j, "entitlement", json_string(k));
	assert_int_equal(parse_resp(j), 0);
	free(k);
	k = kent_of_len(KLIC_MAX_KENT_BYTES + 1);
	j = response_json(0);
	json_object_set_new(j, "entitlement", json_string(k));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	free(k);
	/* an embedded NUL (escaped in the JSON string) */
	size_t n;
	k = tu_sample_kent_text(&n);
	k[60] = '\0';
	j = response_json(0);
	json_object_set_new(j, "entitlement", json_stringn(k, n));
	assert_int_not_equal(parse_resp(j), 0);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kent_roundtrip),
	    cmocka_unit_test(test_kent_strict_json),
	    cmocka_unit_test(test_kent_fields_present),
	    cmocka_unit_test(test_kent_values),
	    cmocka_unit_test(test_kent_period),
	    cmocka_unit_test(test_kent_org_keys),
	    cmocka_unit_test(test_response_chain_presence),
	    cmocka_unit_test(test_response_chain_values),
	    cmocka_unit_test(test_response_chain_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
