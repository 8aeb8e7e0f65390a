/* klic — the return receipt body (.kret, spec/PROTOCOL.md 3.8): canonical
 * JSON built and parsed strictly, like the entitlement body, since it is
 * the clear-signed body of the .kret. */
#include <stdlib.h>
#include <string.h>

#include "klic_doc.h"
#include "klic_internal.h"
#include "klic_kret.h"

#define KRET_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS)

static const char *const kret_keys[] = {
    "type", "version", "product", "machine_id", "member_fpr", "license_ids", "nonce", "created",
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse_ids(struct klic_kret *k, const json_t *arr)
{
	size_t n;

	if (!json_is_array(arr))
		return klic_error_set(KLIC_ERR_FIELD, "\"license_ids\" is not an array");
	n = json_array_size(arr);
	if (n < 1 || n > KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_FIELD, "\"license_ids\" has %zu entries (1..%d)", n,
				      KLIC_MAX_SEATS);
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;

		if (s == NULL || json_string_length(v) != 32 || !klic_is_hex(s, 32))
			return klic_error_set(
			    KLIC_ERR_FIELD, "\"license_ids\"[%zu] is not a license ID (32 hex)", i);
		memcpy(k->license_ids[i], s, 33);
		if (i > 0 && strcmp(k->license_ids[i - 1], s) >= 0)
			return klic_error_set(KLIC_ERR_FIELD,
					      "\"license_ids\" not strictly ascending at [%zu]", i);
	}
	k->n_ids = (unsigned)n;
	return 0;
}

int klic_kret_body_parse(struct klic_kret *out, const uint8_t *json, size_t len)
{
	struct klic_kret k;
	json_t *root = NULL;
	int rc;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "return receipt: NULL argument");
	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	if ((rc = klic_doc_load(&root, json, len, KLIC_MAX_KRET_BYTES, 0, KRET_FLAGS,
				KLIC_KRET_TYPE, kret_keys, N(kret_keys), N(kret_keys))) != 0)
		goto out;
	if ((rc = klic_doc_product(k.product, root, "product")) != 0 ||
	    (rc = klic_doc_machine_id(k.machine_id, root, "machine_id")) != 0 ||
	    (rc = klic_doc_fpr(k.member_fpr, root, "member_fpr")) != 0 ||
	    (rc = parse_ids(&k, json_object_get(root, "license_ids"))) != 0 ||
	    (rc = klic_doc_hex(k.nonce, root, "nonce", KLIC_SHA256_HEX_LEN)) != 0 ||
	    (rc = klic_doc_time(&k.created, root, "created")) != 0)
		goto out;
	*out = k;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int klic_kret_body_build(char **out, size_t *outlen, const struct klic_kret *k)
{
	char created[KLIC_TIME_LEN + 1];
	char ids[KLIC_MAX_SEATS][33];
	struct klic_kret check;
	json_t *root = NULL, *arr = NULL;
	char *s = NULL;
	size_t n = 0;
	int rc;

	if (out == NULL || outlen == NULL || k == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "return receipt: NULL argument");
	*out = NULL;
	*outlen = 0;
	if (k->n_ids < 1 || k->n_ids > KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_FIELD, "a return receipt names 1..%d licenses",
				      KLIC_MAX_SEATS);
	if (klic_time_format(created, k->created) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "return receipt: \"created\" out of range");
	memcpy(ids, k->license_ids, sizeof(ids));
	qsort(ids, k->n_ids, sizeof(ids[0]), cmp_id);
	if ((arr = json_array()) == NULL) {
		rc = klic_error_set(KLIC_ERR_NOMEM, "return receipt");
		goto out;
	}
	for (unsigned i = 0; i < k->n_ids; i++)
		if (json_array_append_new(arr, json_string(ids[i])) != 0) {
			rc = klic_error_set(KLIC_ERR_FIELD, "\"license_ids\"[%u] invalid", i);
			goto out;
		}
	root = json_pack("{s:s, s:i, s:s, s:s, s:s, s:O, s:s, s:s}", "type", KLIC_KRET_TYPE,
			 "version", KLIC_PROTOCOL_VERSION, "product", k->product, "machine_id",
			 k->machine_id, "member_fpr", k->member_fpr, "license_ids", arr, "nonce",
			 k->nonce, "created", created);
	if (root == NULL) {
		rc = klic_error_set(KLIC_ERR_FIELD, "return receipt: a string is not valid UTF-8");
		goto out;
	}
	if ((rc = klic_doc_dump(&s, &n, root, KRET_FLAGS, 0)) != 0 ||
	    (rc = klic_kret_body_parse(&check, (const uint8_t *)s, n)) != 0)
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

int klic_kret_split(struct klic_lic_parts *out, const uint8_t *buf, size_t len)
{
	return klic_clearsigned_split(out, buf, len, KLIC_MAX_KRET_BYTES);
}
