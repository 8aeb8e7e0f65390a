/* klic — strict JSON document helpers (spec/PROTOCOL.md 1.1), jansson. */
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"
#include "klic_doc.h"
#include "klic_internal.h"

int klic_doc_dump(char **out, size_t *outlen, const json_t *obj, size_t dump_flags,
		  int trailing_nl)
{
	char *s = NULL, *res;
	size_t n;

	*out = NULL;
	*outlen = 0;
	if ((s = json_dumps(obj, dump_flags)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "JSON serialisation failed");
	n = strlen(s);
	if (trailing_nl) {
		if ((res = realloc(s, n + 2)) == NULL) {
			free(s);
			return klic_error_set(KLIC_ERR_NOMEM, "JSON serialisation");
		}
		res[n++] = '\n';
		res[n] = '\0';
		s = res;
	}
	*out = s;
	*outlen = n;
	return 0;
}

int klic_doc_load(json_t **out, const uint8_t *buf, size_t len, size_t cap, int trailing_nl,
		  size_t dump_flags, const char *type, const char *const *keys, size_t nkeys,
		  size_t nrequired)
{
	json_t *root = NULL, *t, *v;
	json_error_t jerr;
	char *canon = NULL;
	size_t canon_len = 0, body_len;
	const char *key;
	int r = KLIC_ERR_INTERNAL;

	*out = NULL;
	if (buf == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "document: NULL buffer");
	if (len > cap)
		return klic_error_set(KLIC_ERR_JSON, "document larger than %zu bytes", cap);
	if (len == 0)
		return klic_error_set(KLIC_ERR_JSON, "empty document");
	if (memchr(buf, '\0', len) != NULL)
		return klic_error_set(KLIC_ERR_JSON, "NUL byte in document");
	body_len = len;
	if (trailing_nl) {
		if (buf[len - 1] != '\n')
			return klic_error_set(KLIC_ERR_JSON, "document does not end with a newline");
		body_len--;
	}
	/* without JSON_ALLOW_NUL jansson refuses "\u0000" in strings */
	root = json_loadb((const char *)buf, body_len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (root == NULL) {
		r = klic_error_set(KLIC_ERR_JSON, "line %d column %d: %s", jerr.line, jerr.column,
				   jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		r = klic_error_set(KLIC_ERR_JSON, "not a JSON object");
		goto out;
	}
	if ((r = klic_doc_dump(&canon, &canon_len, root, dump_flags, trailing_nl)) != 0)
		goto out;
	if (canon_len != len || memcmp(canon, buf, len) != 0) {
		r = klic_error_set(KLIC_ERR_JSON, "not in canonical form (sorted keys, %s)",
				   trailing_nl ? "compact, one trailing newline"
					       : "2-space indent, no trailing newline");
		goto out;
	}
	t = json_object_get(root, "type");
	if (!json_is_string(t) || strcmp(json_string_value(t), type) != 0) {
		r = klic_error_set(KLIC_ERR_TYPE_TAG, "expected type \"%s\"", type);
		goto out;
	}
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != KLIC_PROTOCOL_VERSION) {
		if (json_is_integer(v))
			r = klic_error_set(KLIC_ERR_VERSION, "version %lld (this klic reads version %d)",
					   (long long)json_integer_value(v), KLIC_PROTOCOL_VERSION);
		else
			r = klic_error_set(KLIC_ERR_VERSION, "\"version\" is not an integer (this klic "
					   "reads version %d)", KLIC_PROTOCOL_VERSION);
		goto out;
	}
	json_object_foreach(root, key, v) {
		size_t i;
		for (i = 0; i < nkeys; i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (i == nkeys) {
			r = klic_error_set(KLIC_ERR_FIELD, "unknown field \"%.64s\"",
					   klic_is_printable(key, strnlen(key, 64)) ? key : "?");
			goto out;
		}
	}
	for (size_t i = 0; i < nrequired && i < nkeys; i++) {
		if (json_object_get(root, keys[i]) == NULL) {
			r = klic_error_set(KLIC_ERR_FIELD, "missing field \"%s\"", keys[i]);
			goto out;
		}
	}
	*out = root;
	root = NULL; /* transferred */
	r = 0;
out:
	free(canon);
	json_decref(root);
	return r;
}

int klic_doc_str(char *dst, size_t dstsz, const json_t *obj, const char *key, size_t minlen,
		 size_t maxlen)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not a string", key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n != strlen(s) || n < minlen || n > maxlen || n >= dstsz)
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" has a bad length", key);
	if (!klic_is_printable(s, n))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not printable ASCII", key);
	memcpy(dst, s, n + 1);
	return 0;
}

int klic_doc_uint(unsigned *out, const json_t *obj, const char *key, unsigned lo, unsigned hi)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (!json_is_integer(v))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not an integer", key);
	i = json_integer_value(v);
	if (i < (json_int_t)lo || i > (json_int_t)hi)
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" out of range %u..%u", key, lo, hi);
	*out = (unsigned)i;
	return 0;
}

int klic_doc_time(int64_t *out, const json_t *obj, const char *key)
{
	char buf[KLIC_TIME_LEN + 1];
	int r;

	if ((r = klic_doc_str(buf, sizeof(buf), obj, key, KLIC_TIME_LEN, KLIC_TIME_LEN)) != 0)
		return r;
	if (klic_time_parse(out, buf) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not an RFC 3339 UTC time", key);
	return 0;
}

int klic_doc_hex(char *dst, const json_t *obj, const char *key, size_t hexlen)
{
	int r;

	if ((r = klic_doc_str(dst, hexlen + 1, obj, key, hexlen, hexlen)) != 0)
		return r;
	if (!klic_is_hex(dst, hexlen))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not %zu lower-case hex digits", key,
				      hexlen);
	return 0;
}

int klic_doc_fpr(char *dst, const json_t *obj, const char *key)
{
	int r;

	if ((r = klic_doc_str(dst, KLIC_FPR_HEX_LEN + 1, obj, key, KLIC_FPR_HEX_LEN,
			      KLIC_FPR_HEX_LEN)) != 0)
		return r;
	if (!klic_is_upper_hex(dst, KLIC_FPR_HEX_LEN))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not a 40-digit upper-case fingerprint",
				      key);
	return 0;
}

int klic_doc_machine_id(char *dst, const json_t *obj, const char *key)
{
	int r;

	if ((r = klic_doc_str(dst, KLIC_MACHINE_ID_LEN + 1, obj, key, 1,
			      KLIC_MACHINE_ID_LEN)) != 0)
		return r;
	if (klic_machine_id_check(dst) != 0)
		return klic_error_set(KLIC_ERR_MACHINE_ID, "\"%s\" is not a canonical machine ID", key);
	return 0;
}

int klic_doc_product(char *dst, const json_t *obj, const char *key)
{
	int r;

	if ((r = klic_doc_str(dst, 4, obj, key, 3, 3)) != 0)
		return r;
	if (klic_product_check(dst) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" must be KRE or KSE", key);
	return 0;
}
