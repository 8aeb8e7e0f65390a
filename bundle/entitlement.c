/* klic — the vendor's entitlement body (.kent, spec/PROTOCOL.md 3.6):
 * canonical JSON built and parsed strictly, like the response manifest
 * (sorted keys, 2-space indent, no trailing newline), since it is the
 * clear-signed body of the .kent. */
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"
#include "klic_doc.h"
#include "klic_internal.h"

#define KENT_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS)

static const char *const kent_keys[] = {
	"type",	   "version", "entitlement_id", "org",	      "org_keys",
	"product", "model",   "billing",	"seats",      "valid_from",
	"valid_until", "returnable", "ref",	"vendor_fpr", "created",
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse_org_keys(struct klic_kent *e, const json_t *arr)
{
	size_t n;

	if (!json_is_array(arr))
		return klic_error_set(KLIC_ERR_FIELD, "\"org_keys\" is not an array");
	n = json_array_size(arr);
	if (n < 1 || n > KLIC_MAX_ORG_KEYS)
		return klic_error_set(KLIC_ERR_FIELD, "\"org_keys\" has %zu entries (1..%d)", n,
				      KLIC_MAX_ORG_KEYS);
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;

		if (s == NULL || json_string_length(v) != KLIC_FPR_HEX_LEN ||
		    !klic_is_upper_hex(s, KLIC_FPR_HEX_LEN))
			return klic_error_set(KLIC_ERR_FIELD,
					      "\"org_keys\"[%zu] is not a 40-digit upper-case "
					      "fingerprint",
					      i);
		memcpy(e->org_keys[i], s, KLIC_FPR_HEX_LEN + 1);
		if (i > 0 && strcmp(e->org_keys[i - 1], s) >= 0)
			return klic_error_set(KLIC_ERR_FIELD,
					      "\"org_keys\" not strictly ascending at [%zu]", i);
	}
	e->n_org_keys = n;
	return 0;
}

static int parse_bool(int *out, const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_boolean(v))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int one_of(const char *v, const char *a, const char *b, const char *key)
{
	if (strcmp(v, a) == 0 || strcmp(v, b) == 0)
		return 0;
	return klic_error_set(KLIC_ERR_FIELD, "\"%s\" must be %s or %s", key, a, b);
}

int klic_kent_body_parse(struct klic_kent *out, const uint8_t *json, size_t len)
{
	struct klic_kent e;
	json_t *root = NULL;
	int rc;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "entitlement: NULL argument");
	memset(&e, 0, sizeof(e));
	if ((rc = klic_doc_load(&root, json, len, KLIC_MAX_KENT_BYTES, 0, KENT_FLAGS,
				"klic-entitlement", kent_keys, N(kent_keys), N(kent_keys))) != 0)
		goto out;
	if ((rc = klic_doc_hex(e.entitlement_id, root, "entitlement_id", 32)) != 0 ||
	    (rc = klic_doc_str(e.org, sizeof(e.org), root, "org", 1, KLIC_MAX_TEXT_LEN)) != 0 ||
	    (rc = parse_org_keys(&e, json_object_get(root, "org_keys"))) != 0 ||
	    (rc = klic_doc_product(e.product, root, "product")) != 0 ||
	    (rc = klic_doc_str(e.model, sizeof(e.model), root, "model", 1,
			       sizeof(e.model) - 1)) != 0 ||
	    (rc = one_of(e.model, KLIC_MODEL_NODE_LOCKED, KLIC_MODEL_FLOATING, "model")) != 0 ||
	    (rc = klic_doc_str(e.billing, sizeof(e.billing), root, "billing", 1,
			       sizeof(e.billing) - 1)) != 0 ||
	    (rc = one_of(e.billing, KLIC_BILLING_YEARLY, KLIC_BILLING_MONTHLY, "billing")) != 0 ||
	    (rc = klic_doc_uint(&e.seats, root, "seats", 1, KLIC_MAX_ENT_SEATS)) != 0 ||
	    (rc = klic_doc_time(&e.valid_from, root, "valid_from")) != 0 ||
	    (rc = klic_doc_time(&e.valid_until, root, "valid_until")) != 0 ||
	    (rc = parse_bool(&e.returnable, root, "returnable")) != 0 ||
	    (rc = klic_doc_str(e.ref, sizeof(e.ref), root, "ref", 1, KLIC_MAX_TEXT_LEN)) != 0 ||
	    (rc = klic_doc_fpr(e.vendor_fpr, root, "vendor_fpr")) != 0 ||
	    (rc = klic_doc_time(&e.created, root, "created")) != 0)
		goto out;
	if (e.valid_until <= e.valid_from) {
		rc = klic_error_set(KLIC_ERR_FIELD, "\"valid_until\" is not after \"valid_from\"");
		goto out;
	}
	*out = e;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int cmp_fpr(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int klic_kent_body_build(char **out, size_t *outlen, const struct klic_kent *e)
{
	char from[KLIC_TIME_LEN + 1], until[KLIC_TIME_LEN + 1], created[KLIC_TIME_LEN + 1];
	char keys[KLIC_MAX_ORG_KEYS][KLIC_FPR_HEX_LEN + 1];
	struct klic_kent check;
	json_t *root = NULL, *arr = NULL;
	char *s = NULL;
	size_t n = 0;
	int rc;

	if (out == NULL || outlen == NULL || e == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "entitlement: NULL argument");
	*out = NULL;
	*outlen = 0;
	if (e->n_org_keys < 1 || e->n_org_keys > KLIC_MAX_ORG_KEYS)
		return klic_error_set(KLIC_ERR_FIELD, "an entitlement names 1..%d issuer keys",
				      KLIC_MAX_ORG_KEYS);
	if (klic_time_format(from, e->valid_from) != 0 ||
	    klic_time_format(until, e->valid_until) != 0 ||
	    klic_time_format(created, e->created) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "entitlement: a time is out of range");
	memcpy(keys, e->org_keys, sizeof(keys));
	qsort(keys, e->n_org_keys, sizeof(keys[0]), cmp_fpr);
	if ((arr = json_array()) == NULL) {
		rc = klic_error_set(KLIC_ERR_NOMEM, "entitlement");
		goto out;
	}
	for (size_t i = 0; i < e->n_org_keys; i++)
		if (json_array_append_new(arr, json_string(keys[i])) != 0) {
			rc = klic_error_set(KLIC_ERR_FIELD, "\"org_keys\"[%zu] invalid", i);
			goto out;
		}
	root = json_pack("{s:s, s:i, s:s, s:s, s:O, s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:s, s:s, "
			 "s:s}",
			 "type", "klic-entitlement", "version", KLIC_PROTOCOL_VERSION,
			 "entitlement_id", e->entitlement_id, "org", e->org, "org_keys", arr,
			 "product", e->product, "model", e->model, "billing", e->billing, "seats",
			 (json_int_t)e->seats, "valid_from", from, "valid_until", until,
			 "returnable", e->returnable ? 1 : 0, "ref", e->ref, "vendor_fpr",
			 e->vendor_fpr, "created", created);
	if (root == NULL) {
		rc = klic_error_set(KLIC_ERR_FIELD, "entitlement: a string is not valid UTF-8");
		goto out;
	}
	if ((rc = klic_doc_dump(&s, &n, root, KENT_FLAGS, 0)) != 0 ||
	    (rc = klic_kent_body_parse(&check, (const uint8_t *)s, n)) != 0)
		goto out;
	*out = s;
	s = NULL; /* transferred */
	*outlen = n;
	rc = 0;
out:
	free(s);
	json_decref(arr);
	json_decref(root);
	return rc;
}

int klic_kent_names_key(const struct klic_kent *e, const char *fpr)
{
	if (e == NULL || fpr == NULL)
		return -1;
	for (size_t i = 0; i < e->n_org_keys && i < KLIC_MAX_ORG_KEYS; i++)
		if (strcmp(e->org_keys[i], fpr) == 0)
			return (int)i;
	return -1;
}
