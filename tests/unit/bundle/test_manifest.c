/* Unit tests: request and response manifests (spec 1.1, 3.3, 3.4). */
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

#define FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

/* Re-encode obj canonically (so only the edit, not the form, is wrong). */
static char *canon(json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, FLAGS);
	size_t n = strlen(s);
	s = realloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = 0;
	*len = n + 1;
	return s;
}

static json_t *request_json(void)
{
	struct klic_request r;
	char *m;
	size_t n;
	tu_sample_request(&r);
	assert_int_equal(klic_request_manifest_build(&m, &n, &r), 0);
	json_t *j = json_loadb(m, n, 0, NULL);
	assert_non_null(j);
	free(m);
	return j;
}

static int parse_req(json_t *j)
{
	struct klic_request r;
	size_t n;
	char *s = canon(j, &n);
	int rc = klic_request_manifest_parse(&r, (const uint8_t *)s, n);
	free(s);
	json_decref(j);
	return rc;
}

static void test_request_roundtrip(void **state)
{
	struct klic_request r, back;
	char *a, *b;
	size_t la, lb;
	(void)state;
	tu_sample_request(&r);
	assert_int_equal(klic_request_manifest_build(&a, &la, &r), 0);
	assert_int_equal(klic_request_manifest_build(&b, &lb, &r), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	static const char expect[] =
		"{\"created\":\"2026-11-22T18:00:00Z\",\"hostname\":\"lab-host-7\","
		"\"machine_id\":\"93AX8-BB8QX-4G7T6-2GC39-RHAVX\",\"nonce\":\""
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"product\":\"KRE\",\"requester_fpr\":\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\","
		"\"requester_key_sha256\":\""
		"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\",\"seats\":2,"
		"\"type\":\"klic-request\",\"version\":2}\n";
	assert_int_equal(la, sizeof expect - 1);
	assert_memory_equal(a, expect, la);
	assert_int_equal(klic_request_manifest_parse(&back, (const uint8_t *)a, la), 0);
	assert_memory_equal(&back, &r, sizeof r);
	free(a);
	free(b);
	/* the builder refuses what the reader would refuse */
	r.seats = 0;
	assert_int_equal(klic_request_manifest_build(&a, &la, &r), KLIC_ERR_FIELD);
	tu_sample_request(&r);
	snprintf(r.product, sizeof r.product, "KSE");
	assert_int_equal(klic_request_manifest_build(&a, &la, &r), KLIC_ERR_FIELD);
	tu_sample_request(&r);
	r.hostname[0] = '\t';
	assert_int_equal(klic_request_manifest_build(&a, &la, &r), KLIC_ERR_FIELD);
	tu_sample_request(&r);
	r.machine_id[3] = 'Z';
	assert_int_equal(klic_request_manifest_build(&a, &la, &r), KLIC_ERR_MACHINE_ID);
}

/* "renews" (spec 3.3): optional; 1-64 IDs, 32 lower hex, strictly
 * ascending, and then seats is their number. */
static void test_request_renews(void **state)
{
	static const char a[] = "0123456789abcdef0123456789abcdef";
	static const char b[] = "1123456789abcdef0123456789abcdef";
	struct klic_request r, back;
	char *m;
	size_t n;
	json_t *j;
	(void)state;
	tu_sample_request(&r);
	r.seats = 2;
	r.n_renews = 2;
	memcpy(r.renews[0], a, 33);
	memcpy(r.renews[1], b, 33);
	assert_int_equal(klic_request_manifest_build(&m, &n, &r), 0);
	assert_non_null(strstr(m, "\"renews\":[\"0123456789abcdef0123456789abcdef\","
				  "\"1123456789abcdef0123456789abcdef\"]"));
	assert_int_equal(klic_request_manifest_parse(&back, (const uint8_t *)m, n), 0);
	assert_int_equal(back.n_renews, 2);
	assert_string_equal(back.renews[0], a);
	assert_string_equal(back.renews[1], b);
	free(m);
	/* the builder refuses a count that does not match seats */
	r.seats = 3;
	assert_int_equal(klic_request_manifest_build(&m, &n, &r), KLIC_ERR_FIELD);
	/* a normal request has no "renews" at all */
	tu_sample_request(&r);
	assert_int_equal(klic_request_manifest_build(&m, &n, &r), 0);
	assert_null(strstr(m, "renews"));
	free(m);
#define RENEWS(val, want)                                                                          \
	do {                                                                                       \
		j = request_json();                                                                \
		json_object_set_new(j, "seats", json_integer(1));                                  \
		json_object_set_new(j, "renews", (val));                                           \
		assert_int_equal(parse_req(j), (want));                                            \
	} while (0)
	RENEWS(json_pack("[s]", a), 0);
	RENEWS(json_pack("[]"), KLIC_ERR_FIELD);                      /* empty */
	RENEWS(json_string(a), KLIC_ERR_FIELD);                       /* not an array */
	RENEWS(json_pack("[i]", 1), KLIC_ERR_FIELD);                  /* not a string */
	RENEWS(json_pack("[s]", "0123456789ABCDEF0123456789abcdef"), KLIC_ERR_FIELD); /* upper */
	RENEWS(json_pack("[s]", "0123456789abcdef"), KLIC_ERR_FIELD); /* short */
	RENEWS(json_pack("[s,s]", a, b), KLIC_ERR_FIELD);             /* 2 IDs, seats 1 */
	RENEWS(json_null(), KLIC_ERR_FIELD);
	/* seats 2: descending and duplicate IDs are refused */
	j = request_json();
	json_object_set_new(j, "renews", json_pack("[s,s]", b, a));
	assert_int_equal(parse_req(j), KLIC_ERR_FIELD);
	j = request_json();
	json_object_set_new(j, "renews", json_pack("[s,s]", a, a));
	assert_int_equal(parse_req(j), KLIC_ERR_FIELD);
	j = request_json();
	json_object_set_new(j, "renews", json_pack("[s,s]", a, b));
	assert_int_equal(parse_req(j), 0);
	/* 65 entries */
	j = request_json();
	json_t *arr = json_array();
	for (int i = 0; i < 65; i++) {
		char id[33];
		snprintf(id, sizeof id, "%032x", i);
		json_array_append_new(arr, json_string(id));
	}
	json_object_set_new(j, "seats", json_integer(64));
	json_object_set_new(j, "renews", arr);
	assert_int_equal(parse_req(j), KLIC_ERR_FIELD);
#undef RENEWS
}

static void test_request_strict_json(void **state)
{
	struct klic_request r;
	char *m;
	size_t n;
	(void)state;
	tu_sample_request(&r);
	assert_int_equal(klic_request_manifest_build(&m, &n, &r), 0);
	uint8_t *b = malloc(n + 64);
#define P(buf, len) klic_request_manifest_parse(&r, (const uint8_t *)(buf), (len))
	/* no trailing newline, two newlines, trailing space, trailing byte */
	assert_int_equal(P(m, n - 1), KLIC_ERR_JSON);
	memcpy(b, m, n);
	b[n] = '\n';
	assert_int_equal(P(b, n + 1), KLIC_ERR_JSON);
	b[n - 1] = ' ';
	b[n] = '\n';
	assert_int_equal(P(b, n + 1), KLIC_ERR_JSON);
	memcpy(b, m, n);
	b[n] = 'x';
	assert_int_equal(P(b, n + 1), KLIC_ERR_JSON);
	/* embedded NUL (raw, and escaped in a string) */
	memcpy(b, m, n);
	b[5] = 0;
	assert_int_equal(P(b, n), KLIC_ERR_JSON);
	static const char esc_nul[] = "{\"hostname\":\"a\\u0000b\"}\n";
	assert_int_equal(P(esc_nul, sizeof esc_nul - 1), KLIC_ERR_JSON);
	/* duplicate key */
	static const char dup[] = "{\"type\":\"klic-request\",\"type\":\"klic-request\"}\n";
	assert_int_equal(P(dup, sizeof dup - 1), KLIC_ERR_JSON);
	/* not an object, empty, garbage, two objects */
	assert_int_equal(P("[]\n", 3), KLIC_ERR_JSON);
	assert_int_equal(P("", 0), KLIC_ERR_JSON);
	assert_int_equal(P("\n", 1), KLIC_ERR_JSON);
	assert_int_equal(P("{}{}\n", 5), KLIC_ERR_JSON);
	/* non-canonical: spaces, unsorted keys */
	static const char spaced[] = "{ \"type\": \"klic-request\", \"version\": 2}\n";
	assert_int_equal(P(spaced, sizeof spaced - 1), KLIC_ERR_JSON);
	static const char unsorted[] = "{\"version\":2,\"type\":\"klic-request\"}\n";
	assert_int_equal(P(unsorted, sizeof unsorted - 1), KLIC_ERR_JSON);
	/* canonical but incomplete: type and version are checked first */
	static const char only_tv[] = "{\"type\":\"klic-request\",\"version\":2}\n";
	assert_int_equal(P(only_tv, sizeof only_tv - 1), KLIC_ERR_FIELD);
	static const char wrong_type[] = "{\"type\":\"klic-response\",\"version\":2}\n";
	assert_int_equal(P(wrong_type, sizeof wrong_type - 1), KLIC_ERR_TYPE_TAG);
	/* protocol version 2 is a clean break: a version-1 document is refused,
	 * and the detail names the version */
	static const char wrong_ver[] = "{\"type\":\"klic-request\",\"version\":1}\n";
	assert_int_equal(P(wrong_ver, sizeof wrong_ver - 1), KLIC_ERR_VERSION);
	assert_string_equal(klic_error_detail(), "version 1 (this klic reads version 2)");
	/* too large */
	char *huge = malloc(KLIC_MAX_MANIFEST_BYTES + 2);
	memset(huge, ' ', KLIC_MAX_MANIFEST_BYTES + 1);
	assert_int_equal(P(huge, KLIC_MAX_MANIFEST_BYTES + 1), KLIC_ERR_JSON);
	free(huge);
#undef P
	free(b);
	free(m);
}

static void test_request_fields(void **state)
{
	json_t *j;
	(void)state;
	assert_int_equal(parse_req(request_json()), 0);
	/* type tag and version */
	j = request_json();
	json_object_set_new(j, "type", json_string("klic-response"));
	assert_int_equal(parse_req(j), KLIC_ERR_TYPE_TAG);
	j = request_json();
	json_object_del(j, "type");
	assert_int_equal(parse_req(j), KLIC_ERR_TYPE_TAG);
	j = request_json();
	json_object_set_new(j, "type", json_integer(1));
	assert_int_equal(parse_req(j), KLIC_ERR_TYPE_TAG);
	j = request_json();
	json_object_set_new(j, "version", json_integer(1));
	assert_int_equal(parse_req(j), KLIC_ERR_VERSION);
	j = request_json();
	json_object_set_new(j, "version", json_integer(3));
	assert_int_equal(parse_req(j), KLIC_ERR_VERSION);
	j = request_json();
	json_object_set_new(j, "version", json_string("2"));
	assert_int_equal(parse_req(j), KLIC_ERR_VERSION);
	j = request_json();
	json_object_set_new(j, "version", json_real(2.0));
	assert_int_equal(parse_req(j), KLIC_ERR_VERSION);
	/* the type tag wins over a bad version */
	j = request_json();
	json_object_set_new(j, "version", json_integer(0));
	json_object_set_new(j, "type", json_string("klic-license"));
	assert_int_equal(parse_req(j), KLIC_ERR_TYPE_TAG);
	/* unknown and missing fields */
	j = request_json();
	json_object_set_new(j, "extra", json_string("x"));
	assert_int_equal(parse_req(j), KLIC_ERR_FIELD);
	static const char *const fields[] = {"product", "seats",   "machine_id",
					      "nonce",	 "created", "requester_fpr",
					      "requester_key_sha256", "hostname"};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		j = request_json();
		json_object_del(j, fields[i]);
		assert_int_equal(parse_req(j), KLIC_ERR_FIELD);
		/* wrong JSON type */
		j = request_json();
		json_object_set_new(j, fields[i], json_array());
		assert_int_equal(parse_req(j), KLIC_ERR_FIELD);
	}
	/* values */
	struct {
		const char *key;
		json_t *val;
		int err;
	} cases[] = {
		{"product", json_string("kre"), KLIC_ERR_FIELD},
		{"product", json_string("KRX"), KLIC_ERR_FIELD},
		{"seats", json_integer(0), KLIC_ERR_FIELD},
		{"seats", json_integer(65), KLIC_ERR_FIELD},
		{"seats", json_integer(-1), KLIC_ERR_FIELD},
		{"seats", json_string("2"), KLIC_ERR_FIELD},
		{"seats", json_integer(64), 0},
		{"machine_id", json_string("93AX8-BB8QX-4G7T6-2GC39-RHAVW"), KLIC_ERR_MACHINE_ID},
		{"machine_id", json_string("93ax8-bb8qx-4g7t6-2gc39-rhavx"), KLIC_ERR_MACHINE_ID},
		{"machine_id", json_string("93AX8BB8QX4G7T62GC39RHAVX"), KLIC_ERR_MACHINE_ID},
		{"machine_id", json_string(""), KLIC_ERR_FIELD},
		{"nonce", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		 KLIC_ERR_FIELD},
		{"nonce", json_string("aaaa"), KLIC_ERR_FIELD},
		{"created", json_string("2026-11-22T18:00:00"), KLIC_ERR_FIELD},
		{"created", json_string("2026-02-30T18:00:00Z"), KLIC_ERR_FIELD},
		{"created", json_integer(1795370400), KLIC_ERR_FIELD},
		{"requester_fpr", json_string("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), KLIC_ERR_FIELD},
		{"requester_fpr", json_string("BBBB"), KLIC_ERR_FIELD},
		{"hostname", json_string("a\tb"), KLIC_ERR_FIELD},
		{"hostname", json_string("caf\xc3\xa9"), KLIC_ERR_FIELD},
		{"hostname", json_string("\x1b[31mred"), KLIC_ERR_FIELD},
		{"hostname", json_string(""), 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		j = request_json();
		json_object_set_new(j, cases[i].key, cases[i].val);
		int rc = parse_req(j);
		if (rc != cases[i].err)
			fail_msg("case %zu (%s): %d != %d", i, cases[i].key, rc, cases[i].err);
	}
	char longhost[202];
	memset(longhost, 'h', 201);
	longhost[201] = 0;
	j = request_json();
	json_object_set_new(j, "hostname", json_string(longhost));
	assert_int_equal(parse_req(j), KLIC_ERR_FIELD);
	longhost[200] = 0;
	j = request_json();
	json_object_set_new(j, "hostname", json_string(longhost));
	assert_int_equal(parse_req(j), 0);
	/* KSE with 2 seats parses: the admin answers it with a signed denial */
	j = request_json();
	json_object_set_new(j, "product", json_string("KSE"));
	assert_int_equal(parse_req(j), 0);
}

/* ---- response ---- */

static json_t *response_json(unsigned seats, int denied)
{
	struct klic_response r;
	char *m;
	size_t n;
	tu_sample_response(&r, seats, denied);
	assert_int_equal(klic_response_manifest_build(&m, &n, &r), 0);
	json_t *j = json_loadb(m, n, 0, NULL);
	free(m);
	return j;
}

/* The canonical form of a response: indented, no trailing newline. */
static char *canon_resp(json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
	*len = strlen(s);
	return s;
}

static int parse_resp(json_t *j)
{
	struct klic_response r;
	size_t n;
	char *s = canon_resp(j, &n);
	int rc = klic_response_manifest_parse(&r, (const uint8_t *)s, n);
	free(s);
	json_decref(j);
	return rc;
}

static void test_response_roundtrip(void **state)
{
	struct klic_response r, back;
	char *a, *b;
	size_t la, lb;
	(void)state;
	for (int denied = 0; denied < 2; denied++) {
		tu_sample_response(&r, 3, denied);
		assert_int_equal(klic_response_manifest_build(&a, &la, &r), 0);
		assert_int_equal(klic_response_manifest_build(&b, &lb, &r), 0);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		/* the clear-signed body of a license: indented, no trailing LF */
		assert_int_equal(a[0], '{');
		assert_int_equal(a[la - 1], '}');
		assert_non_null(strstr(a, "{\n  \"created\": \"2026-11-22T18:00:00Z\",\n"));
		assert_int_equal(klic_response_manifest_parse(&back, (const uint8_t *)a, la), 0);
		assert_memory_equal(&back, &r, sizeof r);
		if (denied) {
			assert_non_null(strstr(a, "\"licenses\": []"));
			assert_non_null(strstr(a, "\"reason_code\": \"no-seats\""));
			assert_null(strstr(a, "expires"));
		} else {
			assert_null(strstr(a, "reason"));
			assert_non_null(strstr(a, "\n  \"expires\": \"2027-01-21T18:00:00Z\",\n"));
			assert_non_null(strstr(a, "\n      \"license_id\": \"11110000000000000000000000000002\",\n"));
		}
		/* a trailing newline, or the compact form, is not canonical */
		{
			char *c = malloc(la + 1);
			memcpy(c, a, la);
			c[la] = '\n';
			assert_int_equal(klic_response_manifest_parse(&back, (const uint8_t *)c, la + 1),
					 KLIC_ERR_JSON);
			free(c);
			json_t *jj = json_loadb(a, la, 0, NULL);
			c = canon(jj, &lb);
			json_decref(jj);
			assert_int_equal(klic_response_manifest_parse(&back, (const uint8_t *)c, lb),
					 KLIC_ERR_JSON);
			free(c);
		}
		free(a);
		free(b);
	}
	tu_sample_response(&r, 64, 0);
	assert_int_equal(klic_response_manifest_build(&a, &la, &r), 0);
	assert_int_equal(klic_response_manifest_parse(&back, (const uint8_t *)a, la), 0);
	assert_int_equal(back.n_licenses, 64);
	free(a);
	/* builder refuses inconsistent input */
	tu_sample_response(&r, 2, 0);
	r.n_licenses = 1;
	assert_int_equal(klic_response_manifest_build(&a, &la, &r), KLIC_ERR_FIELD);
	tu_sample_response(&r, 2, 1);
	snprintf(r.reason_code, sizeof r.reason_code, "because");
	assert_int_equal(klic_response_manifest_build(&a, &la, &r), KLIC_ERR_FIELD);
	tu_sample_response(&r, 2, 0);
	r.expires = r.created;
	assert_int_equal(klic_response_manifest_build(&a, &la, &r), KLIC_ERR_FIELD);
	tu_sample_response(&r, 2, 0);
	memcpy(r.lic[1].license_id, r.lic[0].license_id, sizeof r.lic[0].license_id);
	assert_int_equal(klic_response_manifest_build(&a, &la, &r), KLIC_ERR_FIELD);
	tu_sample_response(&r, 1, 1);
	snprintf(r.reason_code, sizeof r.reason_code, "machine-full");
	assert_int_equal(klic_response_manifest_build(&a, &la, &r), 0);
	free(a);
}

static void test_response_fields(void **state)
{
	json_t *j;
	(void)state;
	assert_int_equal(parse_resp(response_json(2, 0)), 0);
	assert_int_equal(parse_resp(response_json(5, 1)), 0);
	j = response_json(2, 0);
	json_object_set_new(j, "type", json_string("klic-request"));
	assert_int_equal(parse_resp(j), KLIC_ERR_TYPE_TAG);
	j = response_json(2, 0);
	json_object_set_new(j, "version", json_integer(3));
	assert_int_equal(parse_resp(j), KLIC_ERR_VERSION);
	j = response_json(2, 0);
	json_object_set_new(j, "version", json_integer(1));
	assert_int_equal(parse_resp(j), KLIC_ERR_VERSION);
	assert_string_equal(klic_error_detail(), "version 1 (this klic reads version 2)");
	j = response_json(2, 0);
	json_object_set_new(j, "status", json_string("maybe"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	/* reason only in a denial; a denial needs both */
	j = response_json(2, 0);
	json_object_set_new(j, "reason", json_string("x"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 1);
	json_object_del(j, "reason");
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 1);
	json_object_del(j, "reason_code");
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 1);
	json_object_set_new(j, "reason_code", json_string("other"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 1);
	json_object_set_new(j, "reason", json_string("line\nbreak"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	/* a denial with licenses, an issue with none or too few */
	j = response_json(2, 1);
	json_t *issued = response_json(2, 0);
	json_object_set(j, "licenses", json_object_get(issued, "licenses"));
	json_decref(issued);
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 0);
	json_object_set_new(j, "licenses", json_array());
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 0);
	json_object_set_new(j, "seats", json_integer(3));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	/* expires only when issued, and after created */
	j = response_json(2, 0);
	json_object_del(j, "expires");
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 1);
	json_object_set_new(j, "expires", json_string("2027-01-21T18:00:00Z"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 0);
	json_object_set_new(j, "expires", json_string("2026-11-22T18:00:00Z"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 0);
	json_object_set_new(j, "expires", json_integer(1800000000));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
}

/* response license entries */
static void test_response_licenses(void **state)
{
	json_t *j, *lics;
	(void)state;
	/* license entries: wrong order, wrong or repeated name or ID, extra
	 * key, another machine's or product's name */
	j = response_json(2, 0);
	lics = json_object_get(j, "licenses");
	json_t *first = json_deep_copy(json_array_get(lics, 0));
	json_array_remove(lics, 0);
	json_array_append_new(lics, first);
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 0);
	lics = json_object_get(j, "licenses");
	json_object_set(json_array_get(lics, 1), "file",
			json_object_get(json_array_get(lics, 0), "file"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 0);
	lics = json_object_get(j, "licenses");
	json_object_set(json_array_get(lics, 1), "license_id",
			json_object_get(json_array_get(lics, 0), "license_id"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(2, 0); /* the issuer picks the names: _2 and _5 */
	lics = json_object_get(j, "licenses");
	json_object_set_new(json_array_get(lics, 0), "file",
			    json_string("KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_5.lic"));
	assert_int_equal(parse_resp(j), 0);
	static const char *const bad_names[] = {
		"../KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX.lic",
		"KSE_93AX8-BB8QX-4G7T6-2GC39-RHAVX.lic",
		"KRE_0WHZ8-HHFBC-G2ADB-PVYH9-WGDF7.lic",
		"KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_65.lic",
		"license.lic",
	};
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		j = response_json(1, 0);
		json_object_set_new(json_array_get(json_object_get(j, "licenses"), 0), "file",
				    json_string(bad_names[i]));
		assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	}
	j = response_json(1, 0);
	json_object_set_new(json_array_get(json_object_get(j, "licenses"), 0), "mode",
			    json_string("0755"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_del(json_array_get(json_object_get(j, "licenses"), 0), "license_id");
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_set_new(json_array_get(json_object_get(j, "licenses"), 0), "license_id",
			    json_string("1111000000000000000000000000000G"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_set_new(json_array_get(json_object_get(j, "licenses"), 0), "seat",
			    json_integer(2));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_array_set_new(json_object_get(j, "licenses"), 0, json_string("x"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
}

/* spec 1 "String lengths" (issue 18 item 17): the bounds of every free-text
 * string of a response, one below and at each end; and the KSE one-seat
 * rule as a reader of licenses meets it (detail named). */
static void test_response_string_lengths(void **state)
{
	char t200[201], t201[202];
	json_t *j;
	(void)state;
	memset(t200, 'a', 200);
	t200[200] = '\0';
	memset(t201, 'a', 201);
	t201[201] = '\0';
	j = response_json(1, 0);
	json_object_set_new(j, "issuer_org", json_string("x"));
	assert_int_equal(parse_resp(j), 0);
	j = response_json(1, 0);
	json_object_set_new(j, "issuer_org", json_string(t200));
	assert_int_equal(parse_resp(j), 0);
	j = response_json(1, 0);
	json_object_set_new(j, "issuer_org", json_string(t201));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 1);
	json_object_set_new(j, "reason", json_string(""));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 1);
	json_object_set_new(j, "reason", json_string("x"));
	assert_int_equal(parse_resp(j), 0);
	j = response_json(1, 1);
	json_object_set_new(j, "reason", json_string(t201));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_set_new(j, "issuer_key", json_string("QUJD")); /* 4: the minimum */
	assert_int_equal(parse_resp(j), 0);
	j = response_json(1, 0);
	json_object_set_new(j, "issuer_key", json_string("QUI"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_set_new(j, "entitlement", json_string(""));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	/* KSE: an issued response (so every license) holds one seat */
	j = response_json(2, 0);
	json_object_set_new(j, "product", json_string("KSE"));
	json_object_set_new(json_array_get(json_object_get(j, "licenses"), 0), "file",
			    json_string("KSE_93AX8-BB8QX-4G7T6-2GC39-RHAVX.lic"));
	json_object_set_new(json_array_get(json_object_get(j, "licenses"), 1), "file",
			    json_string("KSE_93AX8-BB8QX-4G7T6-2GC39-RHAVX_2.lic"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	assert_string_equal(klic_error_detail(), "KSE is issued one seat at a time");
	/* a KSE denial answers what was asked: 2 seats is well-formed there */
	j = response_json(2, 1);
	json_object_set_new(j, "product", json_string("KSE"));
	assert_int_equal(parse_resp(j), 0);
}

/* response: product, other fields, request vs response */
static void test_response_other_fields(void **state)
{
	json_t *j;
	(void)state;
	/* KSE issued with 2 seats; KSE file names for a KSE response */
	j = response_json(2, 0);
	json_object_set_new(j, "product", json_string("KSE"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	/* other fields */
	j = response_json(1, 0);
	json_object_set_new(j, "issuer_fpr", json_string("AAAA"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_set_new(j, "issuer_org", json_string(""));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_set_new(j, "request_digest", json_string("x"));
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_set_new(j, "machine_id", json_string("ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"));
	assert_int_equal(parse_resp(j), KLIC_ERR_MACHINE_ID);
	j = response_json(1, 0);
	json_object_set_new(j, "extra", json_null());
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	j = response_json(1, 0);
	json_object_del(j, "member_fpr");
	assert_int_equal(parse_resp(j), KLIC_ERR_FIELD);
	/* a request manifest is not a response and vice versa */
	struct klic_response rr;
	struct klic_request rq;
	size_t n;
	j = request_json();
	char *s = canon_resp(j, &n); /* in the response's canonical form */
	json_decref(j);
	assert_int_equal(klic_response_manifest_parse(&rr, (const uint8_t *)s, n), KLIC_ERR_TYPE_TAG);
	free(s);
	j = response_json(1, 0);
	s = canon(j, &n); /* in the request's compact form */
	json_decref(j);
	assert_int_equal(klic_request_manifest_parse(&rq, (const uint8_t *)s, n), KLIC_ERR_TYPE_TAG);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_roundtrip),
	    cmocka_unit_test(test_request_strict_json),
	    cmocka_unit_test(test_request_renews),
	    cmocka_unit_test(test_request_fields),
	    cmocka_unit_test(test_response_roundtrip),
	    cmocka_unit_test(test_response_fields),
		cmocka_unit_test(test_response_string_lengths),
	    cmocka_unit_test(test_response_licenses),
	    cmocka_unit_test(test_response_other_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
