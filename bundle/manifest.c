/* klic — request and response manifests (spec/PROTOCOL.md 3.3, 3.4).
 * Built canonically (sorted keys; a request compact with one "\n", a
 * response indented by 2 without a trailing newline, since it is also the
 * clear-signed body of every license), parsed strictly; a built manifest
 * is re-parsed before it is returned, so a builder never emits a document
 * the reader would refuse. */
#include <stdlib.h>
#include <string.h>

#include "klic_armor.h"
#include "klic_bundle.h"
#include "klic_doc.h"
#include "klic_internal.h"

#define MANIFEST_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

static const char *const request_keys[] = {
	"type",	   "version",	    "product",		    "seats",   "machine_id",
	"nonce",   "created",	    "requester_fpr", "requester_key_sha256", "hostname",
	"renews", /* optional: last */
};
#define N_REQUEST_REQUIRED 10

static const char *const reason_codes[] = {
	"not-member", "malformed-request",   "no-entitlement", "floating",
	"monthly",    "entitlement-expired", "no-seats",       "machine-full",
	"renewal-unknown", "renewal-not-yours", "renewal-inactive", "renewal-too-early",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int reason_code_ok(const char *c)
{
	for (size_t i = 0; i < N(reason_codes); i++)
		if (strcmp(c, reason_codes[i]) == 0)
			return 1;
	return 0;
}

/* ---- request ----------------------------------------------------------- */

/* "renews" (optional): 1-64 license IDs, 32 lower-case hex, strictly
 * ascending (so unique), and then "seats" is their number. */
static int parse_renews(struct klic_request *r, const json_t *v)
{
	size_t n;

	r->n_renews = 0;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return klic_error_set(KLIC_ERR_FIELD, "\"renews\" is not an array");
	n = json_array_size(v);
	if (n < 1 || n > KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_FIELD, "\"renews\" has %zu entries (1-%d)", n,
				      KLIC_MAX_SEATS);
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		const char *s = json_is_string(e) ? json_string_value(e) : NULL;

		if (s == NULL || json_string_length(e) != 32 || !klic_is_hex(s, 32))
			return klic_error_set(KLIC_ERR_FIELD,
					      "\"renews\"[%zu] is not a license ID (32 hex)", i);
		if (i > 0 && strcmp(r->renews[i - 1], s) >= 0)
			return klic_error_set(KLIC_ERR_FIELD,
					      "\"renews\" is not strictly ascending at [%zu]", i);
		memcpy(r->renews[i], s, 33);
	}
	if (r->seats != n)
		return klic_error_set(KLIC_ERR_FIELD,
				      "\"seats\" is %u but \"renews\" names %zu licenses", r->seats,
				      n);
	r->n_renews = (unsigned)n;
	return 0;
}

int klic_request_manifest_parse(struct klic_request *out, const uint8_t *json, size_t len)
{
	struct klic_request r;
	json_t *root = NULL;
	int rc;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "request manifest: NULL argument");
	memset(&r, 0, sizeof(r));
	if ((rc = klic_doc_load(&root, json, len, KLIC_MAX_MANIFEST_BYTES, 1, MANIFEST_FLAGS,
				"klic-request", request_keys, N(request_keys), N_REQUEST_REQUIRED)) != 0)
		goto out;
	/* seats 1..64 for either product: "KSE asks exactly 1" is a semantic
	 * rule the admin answers with a signed malformed-request denial */
	if ((rc = klic_doc_product(r.product, root, "product")) != 0 ||
	    (rc = klic_doc_uint(&r.seats, root, "seats", 1, KLIC_MAX_SEATS)) != 0 ||
	    (rc = klic_doc_machine_id(r.machine_id, root, "machine_id")) != 0 ||
	    (rc = klic_doc_hex(r.nonce, root, "nonce", KLIC_SHA256_HEX_LEN)) != 0 ||
	    (rc = klic_doc_time(&r.created, root, "created")) != 0 ||
	    (rc = klic_doc_fpr(r.requester_fpr, root, "requester_fpr")) != 0 ||
	    (rc = klic_doc_hex(r.requester_key_sha256, root, "requester_key_sha256",
			       KLIC_SHA256_HEX_LEN)) != 0 ||
	    (rc = klic_doc_str(r.hostname, sizeof(r.hostname), root, "hostname", 0,
			       KLIC_MAX_TEXT_LEN)) != 0 ||
	    (rc = parse_renews(&r, json_object_get(root, "renews"))) != 0)
		goto out;
	*out = r;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int klic_request_manifest_build(char **out, size_t *outlen, const struct klic_request *r)
{
	char created[KLIC_TIME_LEN + 1];
	struct klic_request check;
	json_t *root = NULL;
	char *s = NULL;
	size_t n = 0;
	int rc;

	if (out == NULL || outlen == NULL || r == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "request manifest: NULL argument");
	*out = NULL;
	*outlen = 0;
	if (strcmp(r->product, "KSE") == 0 && r->seats != 1)
		return klic_error_set(KLIC_ERR_FIELD, "a KSE request asks for exactly 1 seat");
	if ((rc = klic_time_format(created, r->created)) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "\"created\" out of range");
	root = json_pack("{s:s, s:i, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "type",
			 "klic-request", "version", KLIC_PROTOCOL_VERSION, "product", r->product,
			 "seats", (json_int_t)r->seats, "machine_id", r->machine_id, "nonce",
			 r->nonce, "created", created, "requester_fpr", r->requester_fpr,
			 "requester_key_sha256", r->requester_key_sha256, "hostname", r->hostname);
	if (root == NULL) {
		rc = klic_error_set(KLIC_ERR_FIELD, "request manifest: a string is not valid UTF-8");
		goto out;
	}
	if (r->n_renews > KLIC_MAX_SEATS) {
		rc = klic_error_set(KLIC_ERR_FIELD, "\"renews\": too many entries");
		goto out;
	}
	if (r->n_renews > 0) {
		json_t *arr = json_array();
		if (arr == NULL || json_object_set_new(root, "renews", arr) != 0) {
			rc = klic_error_set(KLIC_ERR_NOMEM, "request manifest");
			goto out;
		}
		for (unsigned i = 0; i < r->n_renews; i++)
			if (json_array_append_new(arr, json_stringn(r->renews[i],
								    strnlen(r->renews[i], 33))) !=
			    0) {
				rc = klic_error_set(KLIC_ERR_FIELD, "\"renews\"[%u] invalid", i);
				goto out;
			}
	}
	if ((rc = klic_doc_dump(&s, &n, root, MANIFEST_FLAGS, 1)) != 0)
		goto out;
	if ((rc = klic_request_manifest_parse(&check, (const uint8_t *)s, n)) != 0)
		goto out;
	*out = s;
	s = NULL; /* transferred */
	*outlen = n;
	rc = 0;
out:
	free(s);
	json_decref(root);
	return rc;
}

/* ---- response ----------------------------------------------------------- */

#define RESPONSE_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS)

static const char *const entry_keys[] = {"file", "license_id", "seat"};

static int parse_licenses(struct klic_response *r, const json_t *arr)
{
	size_t n;

	if (!json_is_array(arr))
		return klic_error_set(KLIC_ERR_FIELD, "\"licenses\" is not an array");
	n = json_array_size(arr);
	if (n > KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_FIELD, "\"licenses\" has %zu entries", n);
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		struct klic_response_entry *le = &r->lic[i];
		char product[4], mid[KLIC_MACHINE_ID_LEN + 1];
		const char *key;
		json_t *v;
		int rc;

		if (!json_is_object(e) || json_object_size(e) != N(entry_keys))
			return klic_error_set(
			    KLIC_ERR_FIELD,
			    "\"licenses\"[%zu] is not {\"file\", \"license_id\", \"seat\"}", i);
		json_object_foreach((json_t *)(uintptr_t)e, key, v) {
			size_t k;
			for (k = 0; k < N(entry_keys); k++)
				if (strcmp(key, entry_keys[k]) == 0)
					break;
			if (k == N(entry_keys))
				return klic_error_set(KLIC_ERR_FIELD,
						      "\"licenses\"[%zu]: unknown field", i);
		}
		if ((rc = klic_doc_str(le->file, sizeof(le->file), e, "file", 1,
				       KLIC_MAX_NAME_LEN)) != 0 ||
		    (rc = klic_doc_hex(le->license_id, e, "license_id", 32)) != 0 ||
		    (rc = klic_doc_uint(&le->seat, e, "seat", 1, KLIC_MAX_SEATS)) != 0) {
			char d[256]; /* the detail buffer is also the destination */
			snprintf(d, sizeof(d), "%s", klic_error_detail());
			return klic_error_set(rc, "\"licenses\"[%zu]: %s", i, d);
		}
		if (le->seat != i + 1)
			return klic_error_set(KLIC_ERR_FIELD, "\"licenses\"[%zu]: seat must be %zu", i,
					      i + 1);
		if (klic_license_name_parse(NULL, product, mid, le->file) != 0 ||
		    strcmp(product, r->product) != 0 || strcmp(mid, r->machine_id) != 0)
			return klic_error_set(KLIC_ERR_FIELD,
					      "\"licenses\"[%zu]: file is not a %s license name for "
					      "machine %s",
					      i, r->product, r->machine_id);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(r->lic[j].file, le->file) == 0)
				return klic_error_set(KLIC_ERR_FIELD,
						      "\"licenses\"[%zu]: file %s listed twice", i,
						      le->file);
			if (strcmp(r->lic[j].license_id, le->license_id) == 0)
				return klic_error_set(KLIC_ERR_FIELD,
						      "\"licenses\"[%zu]: license_id listed twice", i);
		}
	}
	r->n_licenses = n;
	return 0;
}

/* The fields after the first N_ALWAYS of response_keys depend on status. */
static const char *const response_keys[] = {
	"type",	      "version",    "status",	  "request_digest", "machine_id", "product",
	"seats",      "created",    "issuer_org", "issuer_fpr",	    "member_fpr", "licenses",
	"expires",    "entitlement", "entitlement_id", "issuer_key", "reason_code", "reason",
};
#define N_ALWAYS 12
static const int issued_only[] = {1, 1, 1, 1, 0, 0};

/* issued only: the embedded entitlement (a .kent, checked for shape here,
 * for its signature and terms by the chain check), its ID and the
 * issuer's public key in base64 (spec 3.4) */
static int parse_chain(struct klic_response *r, const json_t *root)
{
	struct klic_lic_parts parts;
	const json_t *v = json_object_get(root, "entitlement");
	size_t n, keylen = 0;
	uint8_t *key;
	int rc;

	if (!json_is_string(v))
		return klic_error_set(KLIC_ERR_FIELD, "\"entitlement\" is not a string");
	n = json_string_length(v);
	if (n == 0 || n > KLIC_MAX_KENT_BYTES || strlen(json_string_value(v)) != n)
		return klic_error_set(KLIC_ERR_FIELD, "\"entitlement\" has a bad length");
	if (!klic_is_text_lines(json_string_value(v), n))
		return klic_error_set(KLIC_ERR_FIELD, "\"entitlement\" holds a byte other than "
				      "printable ASCII and LF");
	memcpy(r->entitlement, json_string_value(v), n + 1);
	r->entitlement_len = n;
	if (klic_license_split(&parts, (const uint8_t *)r->entitlement, n) != 0)
		return klic_error_set(KLIC_ERR_FIELD,
				      "\"entitlement\" is not a clear-signed entitlement");
	if ((rc = klic_doc_hex(r->entitlement_id, root, "entitlement_id", 32)) != 0 ||
	    (rc = klic_doc_str(r->issuer_key, sizeof(r->issuer_key), root, "issuer_key", 4,
			       KLIC_MAX_ISSUER_KEY_B64)) != 0)
		return rc;
	n = strlen(r->issuer_key);
	if ((key = malloc(n)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "issuer_key");
	rc = klic_base64_decode(key, n, &keylen, r->issuer_key, n);
	free(key);
	if (rc != 0 || keylen == 0)
		return klic_error_set(KLIC_ERR_FIELD, "\"issuer_key\" is not base64");
	return 0;
}

int klic_response_manifest_parse(struct klic_response *out, const uint8_t *json, size_t len)
{
	struct klic_response *r = NULL;
	json_t *root = NULL;
	int rc, denied;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "response manifest: NULL argument");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "response manifest");
	if ((rc = klic_doc_load(&root, json, len, KLIC_MAX_MANIFEST_BYTES, 0, RESPONSE_FLAGS,
				"klic-response", response_keys, N(response_keys), N_ALWAYS)) != 0)
		goto out;
	if ((rc = klic_doc_str(r->status, sizeof(r->status), root, "status", 1, 7)) != 0)
		goto out;
	if (strcmp(r->status, KLIC_STATUS_ISSUED) == 0) {
		denied = 0;
	} else if (strcmp(r->status, KLIC_STATUS_DENIED) == 0) {
		denied = 1;
	} else {
		rc = klic_error_set(KLIC_ERR_FIELD, "\"status\" must be issued or denied");
		goto out;
	}
	for (size_t i = N_ALWAYS; i < N(response_keys); i++) {
		int present = json_object_get(root, response_keys[i]) != NULL;
		int wanted = issued_only[i - N_ALWAYS] ? !denied : denied;
		if (present != wanted) {
			rc = klic_error_set(KLIC_ERR_FIELD,
					    wanted ? "missing field \"%s\"" : "\"%s\" not allowed in %s",
					    response_keys[i], denied ? "a denial" : "an issued response");
			goto out;
		}
	}
	if ((rc = klic_doc_hex(r->request_digest, root, "request_digest", KLIC_SHA256_HEX_LEN)) !=
		    0 ||
	    (rc = klic_doc_machine_id(r->machine_id, root, "machine_id")) != 0 ||
	    (rc = klic_doc_product(r->product, root, "product")) != 0 ||
	    (rc = klic_doc_uint(&r->seats, root, "seats", 1, KLIC_MAX_SEATS)) != 0 ||
	    (rc = klic_doc_time(&r->created, root, "created")) != 0 ||
	    (rc = klic_doc_str(r->issuer_org, sizeof(r->issuer_org), root, "issuer_org", 1,
			       KLIC_MAX_TEXT_LEN)) != 0 ||
	    (rc = klic_doc_fpr(r->issuer_fpr, root, "issuer_fpr")) != 0 ||
	    (rc = klic_doc_fpr(r->member_fpr, root, "member_fpr")) != 0 ||
	    (rc = parse_licenses(r, json_object_get(root, "licenses"))) != 0)
		goto out;
	if (denied) {
		if ((rc = klic_doc_str(r->reason_code, sizeof(r->reason_code), root, "reason_code", 1,
				       sizeof(r->reason_code) - 1)) != 0 ||
		    (rc = klic_doc_str(r->reason, sizeof(r->reason), root, "reason", 1,
				       KLIC_MAX_TEXT_LEN)) != 0)
			goto out;
		if (!reason_code_ok(r->reason_code)) {
			rc = klic_error_set(KLIC_ERR_FIELD, "unknown \"reason_code\"");
			goto out;
		}
		if (r->n_licenses != 0) {
			rc = klic_error_set(KLIC_ERR_FIELD, "a denial carries no licenses");
			goto out;
		}
	} else {
		if ((rc = klic_doc_time(&r->expires, root, "expires")) != 0 ||
		    (rc = parse_chain(r, root)) != 0)
			goto out;
		if (r->expires <= r->created) {
			rc = klic_error_set(KLIC_ERR_FIELD, "\"expires\" is not after \"created\"");
			goto out;
		}
		if (r->n_licenses != r->seats) {
			rc = klic_error_set(KLIC_ERR_FIELD, "%zu licenses listed for %u seats",
					    r->n_licenses, r->seats);
			goto out;
		}
		if (strcmp(r->product, "KSE") == 0 && r->seats != 1) {
			rc = klic_error_set(KLIC_ERR_FIELD, "KSE is issued one seat at a time");
			goto out;
		}
	}
	*out = *r;
	rc = 0;
out:
	free(r);
	json_decref(root);
	return rc;
}

int klic_response_manifest_build(char **out, size_t *outlen, const struct klic_response *r)
{
	char created[KLIC_TIME_LEN + 1], expires[KLIC_TIME_LEN + 1];
	struct klic_response *check = NULL;
	json_t *root = NULL, *lics = NULL;
	char *s = NULL;
	size_t n = 0;
	int rc, denied;

	if (out == NULL || outlen == NULL || r == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "response manifest: NULL argument");
	*out = NULL;
	*outlen = 0;
	if (r->n_licenses > KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_FIELD, "%zu licenses", r->n_licenses);
	if ((rc = klic_time_format(created, r->created)) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "\"created\" out of range");
	denied = strcmp(r->status, KLIC_STATUS_DENIED) == 0;
	if (!denied && klic_time_format(expires, r->expires) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "\"expires\" out of range");
	if ((lics = json_array()) == NULL) {
		rc = klic_error_set(KLIC_ERR_NOMEM, "response manifest");
		goto out;
	}
	for (size_t i = 0; i < r->n_licenses; i++) {
		json_t *e = json_pack("{s:s, s:s, s:I}", "file", r->lic[i].file, "license_id",
				      r->lic[i].license_id, "seat", (json_int_t)r->lic[i].seat);
		if (e == NULL || json_array_append_new(lics, e) != 0) {
			rc = klic_error_set(KLIC_ERR_FIELD, "\"licenses\"[%zu] invalid", i);
			goto out;
		}
	}
	root = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:O}", "type",
			 "klic-response", "version", KLIC_PROTOCOL_VERSION, "status", r->status,
			 "request_digest", r->request_digest, "machine_id", r->machine_id,
			 "product", r->product, "seats", (json_int_t)r->seats, "created", created,
			 "issuer_org", r->issuer_org, "issuer_fpr", r->issuer_fpr, "member_fpr",
			 r->member_fpr, "licenses", lics);
	if (root == NULL) {
		rc = klic_error_set(KLIC_ERR_FIELD, "response manifest: a string is not valid UTF-8");
		goto out;
	}
	if (denied) {
		if (json_object_set_new(root, "reason_code", json_string(r->reason_code)) != 0 ||
		    json_object_set_new(root, "reason", json_string(r->reason)) != 0) {
			rc = klic_error_set(KLIC_ERR_FIELD, "response manifest: bad reason");
			goto out;
		}
	} else if (json_object_set_new(root, "expires", json_string(expires)) != 0 ||
		   json_object_set_new(root, "entitlement",
				       json_stringn(r->entitlement, r->entitlement_len)) != 0 ||
		   json_object_set_new(root, "entitlement_id", json_string(r->entitlement_id)) != 0 ||
		   json_object_set_new(root, "issuer_key", json_string(r->issuer_key)) != 0) {
		rc = klic_error_set(KLIC_ERR_FIELD, "response manifest: bad chain fields");
		goto out;
	}
	if ((rc = klic_doc_dump(&s, &n, root, RESPONSE_FLAGS, 0)) != 0)
		goto out;
	if ((check = malloc(sizeof(*check))) == NULL) {
		rc = klic_error_set(KLIC_ERR_NOMEM, "response manifest");
		goto out;
	}
	if ((rc = klic_response_manifest_parse(check, (const uint8_t *)s, n)) != 0)
		goto out;
	*out = s;
	s = NULL; /* transferred */
	*outlen = n;
	rc = 0;
out:
	free(check);
	free(s);
	json_decref(lics);
	json_decref(root);
	return rc;
}
