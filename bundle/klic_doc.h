/* klic — private helpers for the strict JSON documents (manifests and the
 * license body).  Not a public API. */
#ifndef KLIC_DOC_H
#define KLIC_DOC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Strictly load a document: no NUL, at most `cap` bytes, a single JSON
 * object without duplicate keys, ending with "\n" exactly when trailing_nl,
 * and byte-for-byte equal to its canonical re-serialisation with
 * `dump_flags` (sorted keys).  Then checks "type" (KLIC_ERR_TYPE_TAG) and
 * "version" (KLIC_ERR_VERSION), that every key is one of `keys` and that
 * the first `nrequired` of them are present (KLIC_ERR_FIELD).  *out owned
 * by caller (json_decref). */
int klic_doc_load(json_t **out, const uint8_t *buf, size_t len, size_t cap, int trailing_nl,
		  size_t dump_flags, const char *type, const char *const *keys, size_t nkeys,
		  size_t nrequired);

/* Serialise with dump_flags (+ "\n" when trailing_nl).  *out malloc'd. */
int klic_doc_dump(char **out, size_t *outlen, const json_t *obj, size_t dump_flags,
		  int trailing_nl);

/* Typed field getters; each fails with KLIC_ERR_FIELD naming the field. */
int klic_doc_str(char *dst, size_t dstsz, const json_t *obj, const char *key, size_t minlen,
		 size_t maxlen);
int klic_doc_uint(unsigned *out, const json_t *obj, const char *key, unsigned lo, unsigned hi);
int klic_doc_time(int64_t *out, const json_t *obj, const char *key);
int klic_doc_hex(char *dst, const json_t *obj, const char *key, size_t hexlen);
int klic_doc_fpr(char *dst, const json_t *obj, const char *key);
int klic_doc_machine_id(char *dst, const json_t *obj, const char *key);
int klic_doc_product(char *dst, const json_t *obj, const char *key);

#endif
