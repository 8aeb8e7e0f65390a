/* klic — the usage export body (.kusage, klic_usage.h) and the audit-log
 * hash: canonical JSON built and parsed strictly, like the response
 * manifest. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_armor.h"
#include "klic_doc.h"
#include "klic_internal.h"
#include "klic_usage.h"

#define USAGE_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS)
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const usage_keys[] = {
    "type",    "version",      "org",      "issuer_fpr", "issuer_key",
    "created", "entitlements", "licenses", "audit",      "audit_head",
};
static const char *const ent_keys[] = {"entitlement_id", "kent", "seats"};
static const char *const lic_keys[] = {"license_id", "entitlement_id", "request_digest",
				       "machine_id", "seat",           "issued",
				       "expires",    "state",          "ended"};
static const char *const audit_keys[] = {"seq", "at", "event", "digest", "detail", "hash"};

int klic_audit_hash(char out[KLIC_SHA256_HEX_LEN + 1], const char *prev, int64_t seq,
		    const char *at, const char *event, const char *digest, const char *detail)
{
	char *buf = NULL;
	size_t cap;
	int n, r;

	if (out == NULL || prev == NULL || at == NULL || event == NULL || digest == NULL ||
	    detail == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "audit hash: NULL argument");
	cap = strlen(prev) + strlen(at) + strlen(event) + strlen(digest) + strlen(detail) + 64;
	if ((buf = malloc(cap)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "audit");
	n = snprintf(buf, cap, "%s%" PRId64 "\t%s\t%s\t%s\t%s", prev, seq, at, event, digest,
		     detail);
	if (n < 0 || (size_t)n >= cap) {
		free(buf);
		return klic_error_set(KLIC_ERR_INTERNAL, "audit text");
	}
	r = klic_sha256_hex(out, buf, (size_t)n);
	free(buf);
	return r;
}

void klic_usage_dispose(struct klic_usage *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; u->ents != NULL && i < u->n_ents; i++)
		free(u->ents[i].kent);
	free(u->ents);
	free(u->lics);
	free(u->audit);
	memset(u, 0, sizeof(*u));
}

/* Make room for one more element of size sz in *arr holding n of *cap. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= KLIC_MAX_USAGE_ROWS)
		return klic_error_set(KLIC_ERR_TOO_BIG, "more than %d rows", KLIC_MAX_USAGE_ROWS);
	ncap = *cap == 0 ? 16 : *cap * 2;
	if ((p = realloc(*arr, ncap * sz)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "usage");
	*arr = p;
	*cap = ncap;
	return 0;
}

int klic_usage_add_ent(struct klic_usage *u, const char *kent_id, const char *kent, size_t len,
		       unsigned seats)
{
	struct klic_usage_ent *e;
	int r;

	if (strlen(kent_id) != 32 || len > KLIC_MAX_KENT_BYTES)
		return klic_error_set(KLIC_ERR_FIELD, "entitlement %.40s: bad ID or size", kent_id);
	if ((r = grow((void **)&u->ents, &u->cap_ents, u->n_ents, sizeof(*u->ents))) != 0)
		return r;
	e = &u->ents[u->n_ents];
	memset(e, 0, sizeof(*e));
	if ((e->kent = malloc(len + 1)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "usage");
	memcpy(e->kent, kent, len);
	e->kent[len] = '\0';
	e->kent_len = len;
	memcpy(e->entitlement_id, kent_id, 33);
	e->seats = seats;
	u->n_ents++;
	return 0;
}

int klic_usage_add_lic(struct klic_usage *u, const struct klic_usage_lic *lic)
{
	int r;

	if ((r = grow((void **)&u->lics, &u->cap_lics, u->n_lics, sizeof(*u->lics))) != 0)
		return r;
	u->lics[u->n_lics++] = *lic;
	return 0;
}

int klic_usage_add_audit(struct klic_usage *u, const struct klic_usage_audit *row)
{
	int r;

	if ((r = grow((void **)&u->audit, &u->cap_audit, u->n_audit, sizeof(*u->audit))) != 0)
		return r;
	u->audit[u->n_audit++] = *row;
	return 0;
}

/* ---- build -------------------------------------------------------------- */

static json_t *lic_json(const struct klic_usage_lic *l)
{
	char issued[KLIC_TIME_LEN + 1], expires[KLIC_TIME_LEN + 1];

	if (klic_time_format(issued, l->issued) != 0 || klic_time_format(expires, l->expires) != 0)
		return NULL;
	char ended[KLIC_TIME_LEN + 1];

	if (l->ended != 0 && klic_time_format(ended, l->ended) != 0)
		return NULL;
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:o}", "license_id", l->license_id,
			 "entitlement_id", l->entitlement_id, "request_digest", l->request_digest,
			 "machine_id", l->machine_id, "seat", (json_int_t)l->seat, "issued", issued,
			 "expires", expires, "state", l->state, "ended",
			 l->ended != 0 ? json_string(ended) : json_null());
}

/* The three arrays of u, appended to ents/lics/audit. */
static int build_arrays(json_t *ents, json_t *lics, json_t *audit, const struct klic_usage *u)
{
	for (size_t i = 0; i < u->n_ents; i++) {
		const struct klic_usage_ent *e = &u->ents[i];
		json_t *o = json_pack("{s:s,s:s%,s:I}", "entitlement_id", e->entitlement_id, "kent",
				      e->kent, e->kent_len, "seats", (json_int_t)e->seats);
		if (o == NULL || json_array_append_new(ents, o) != 0)
			return klic_error_set(KLIC_ERR_FIELD, "\"entitlements\"[%zu] invalid", i);
	}
	for (size_t i = 0; i < u->n_lics; i++) {
		json_t *o = lic_json(&u->lics[i]);
		if (o == NULL || json_array_append_new(lics, o) != 0)
			return klic_error_set(KLIC_ERR_FIELD, "\"licenses\"[%zu] invalid", i);
	}
	for (size_t i = 0; i < u->n_audit; i++) {
		const struct klic_usage_audit *a = &u->audit[i];
		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)a->seq, "at",
				      a->at, "event", a->event, "digest", a->digest, "detail",
				      a->detail, "hash", a->hash);
		if (o == NULL || json_array_append_new(audit, o) != 0)
			return klic_error_set(KLIC_ERR_FIELD, "\"audit\"[%zu] invalid", i);
	}
	return 0;
}

int klic_usage_body_build(char **out, size_t *outlen, const struct klic_usage *u)
{
	char created[KLIC_TIME_LEN + 1];
	struct klic_usage check;
	json_t *root = NULL, *ents = json_array(), *lics = json_array(), *audit = json_array();
	char *s = NULL;
	size_t n = 0;
	int rc;

	memset(&check, 0, sizeof(check));
	if (out == NULL || outlen == NULL || u == NULL) {
		rc = klic_error_set(KLIC_ERR_INVALID_ARG, "usage: NULL argument");
		goto out;
	}
	*out = NULL;
	*outlen = 0;
	if (ents == NULL || lics == NULL || audit == NULL) {
		rc = klic_error_set(KLIC_ERR_NOMEM, "usage");
		goto out;
	}
	if ((rc = klic_time_format(created, u->created)) != 0 ||
	    (rc = build_arrays(ents, lics, audit, u)) != 0)
		goto out;
	root =
	    json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:O,s:O,s:O,s:s}", "type", "klic-usage", "version",
		      KLIC_PROTOCOL_VERSION, "org", u->org, "issuer_fpr", u->issuer_fpr,
		      "issuer_key", u->issuer_key, "created", created, "entitlements", ents,
		      "licenses", lics, "audit", audit, "audit_head", u->audit_head);
	if (root == NULL) {
		rc = klic_error_set(KLIC_ERR_FIELD, "usage: a string is not valid UTF-8");
		goto out;
	}
	if ((rc = klic_doc_dump(&s, &n, root, USAGE_FLAGS, 0)) != 0)
		goto out;
	if ((rc = klic_usage_body_parse(&check, (const uint8_t *)s, n)) != 0)
		goto out;
	*out = s;
	s = NULL; /* transferred */
	*outlen = n;
	rc = 0;
out:
	klic_usage_dispose(&check);
	free(s);
	json_decref(ents);
	json_decref(lics);
	json_decref(audit);
	json_decref(root);
	return rc;
}

/* ---- parse -------------------------------------------------------------- */

/* o is an object with exactly the keys `keys`. */
static int exact_keys(const json_t *o, const char *const *keys, size_t n, const char *arr, size_t i)
{
	if (!json_is_object(o) || json_object_size(o) != n)
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\"[%zu] is not an object of %zu fields",
				      arr, i, n);
	for (size_t k = 0; k < n; k++)
		if (json_object_get(o, keys[k]) == NULL)
			return klic_error_set(KLIC_ERR_FIELD, "\"%s\"[%zu]: missing \"%s\"", arr, i,
					      keys[k]);
	return 0;
}

/* Prefix the current detail with "ARR[i]: ". */
static int at_index(int rc, const char *arr, size_t i)
{
	char d[256];

	snprintf(d, sizeof(d), "%s", klic_error_detail());
	return klic_error_set(rc, "\"%s\"[%zu]: %s", arr, i, d);
}

/* A string field of printable ASCII, 0..max bytes (the audit texts). */
static int text_field(char *dst, size_t dstsz, const json_t *o, const char *key, size_t max)
{
	const json_t *v = json_object_get(o, key);
	size_t n;

	if (!json_is_string(v))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not a string", key);
	n = json_string_length(v);
	if (n > max || n >= dstsz || n != strlen(json_string_value(v)) ||
	    !klic_is_printable(json_string_value(v), n))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\": bad length or not printable", key);
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

static int parse_ent(struct klic_usage *u, const json_t *o, size_t i)
{
	const json_t *k = json_object_get(o, "kent");
	struct klic_lic_parts parts;
	struct klic_kent body;
	char id[33];
	unsigned seats;
	int rc;

	if ((rc = exact_keys(o, ent_keys, N(ent_keys), "entitlements", i)) != 0)
		return rc;
	if ((rc = klic_doc_hex(id, o, "entitlement_id", 32)) != 0 ||
	    (rc = klic_doc_uint(&seats, o, "seats", 1, KLIC_MAX_ENT_SEATS)) != 0)
		return at_index(rc, "entitlements", i);
	if (!json_is_string(k) || json_string_length(k) > KLIC_MAX_KENT_BYTES ||
	    !klic_is_text_lines(json_string_value(k), json_string_length(k)) ||
	    klic_license_split(&parts, (const uint8_t *)json_string_value(k),
			       json_string_length(k)) != 0 ||
	    klic_kent_body_parse(&body, parts.body, parts.body_len) != 0)
		return klic_error_set(KLIC_ERR_FIELD,
				      "\"entitlements\"[%zu]: \"kent\" is not an entitlement", i);
	if (strcmp(body.entitlement_id, id) != 0 || body.seats != seats)
		return klic_error_set(
		    KLIC_ERR_FIELD, "\"entitlements\"[%zu]: ID or seats differ from its .kent", i);
	if (i > 0 && strcmp(u->ents[i - 1].entitlement_id, id) >= 0)
		return klic_error_set(KLIC_ERR_FIELD,
				      "\"entitlements\" not strictly ascending at [%zu]", i);
	return klic_usage_add_ent(u, id, json_string_value(k), json_string_length(k), seats);
}

static int parse_lic(struct klic_usage *u, const json_t *o, size_t i)
{
	struct klic_usage_lic l;
	int rc;

	memset(&l, 0, sizeof(l));
	if ((rc = exact_keys(o, lic_keys, N(lic_keys), "licenses", i)) != 0)
		return rc;
	if ((rc = klic_doc_hex(l.license_id, o, "license_id", 32)) != 0 ||
	    (rc = text_field(l.entitlement_id, sizeof(l.entitlement_id), o, "entitlement_id",
			     32)) != 0 ||
	    (rc = klic_doc_hex(l.request_digest, o, "request_digest", KLIC_SHA256_HEX_LEN)) != 0 ||
	    (rc = klic_doc_machine_id(l.machine_id, o, "machine_id")) != 0 ||
	    (rc = klic_doc_uint(&l.seat, o, "seat", 1, KLIC_MAX_SEATS)) != 0 ||
	    (rc = klic_doc_time(&l.issued, o, "issued")) != 0 ||
	    (rc = klic_doc_time(&l.expires, o, "expires")) != 0 ||
	    (rc = text_field(l.state, sizeof(l.state), o, "state", 8)) != 0)
		return at_index(rc, "licenses", i);
	if (l.entitlement_id[0] != '\0' && !klic_is_hex(l.entitlement_id, 32))
		return klic_error_set(
		    KLIC_ERR_FIELD,
		    "\"licenses\"[%zu]: entitlement_id is not 32 hex digits or \"\"", i);
	if (strcmp(l.state, KLIC_USAGE_ACTIVE) != 0 && strcmp(l.state, KLIC_USAGE_EXPIRED) != 0 &&
	    strcmp(l.state, KLIC_USAGE_RETURNED) != 0 && strcmp(l.state, KLIC_USAGE_RENEWED) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "\"licenses\"[%zu]: unknown state", i);
	if (l.expires <= l.issued)
		return klic_error_set(KLIC_ERR_FIELD, "\"licenses\"[%zu]: expires before issued",
				      i);
	/* "ended": null, or when it ended early (renewed, returned), within
	 * [issued, expires) */
	if (!json_is_null(json_object_get(o, "ended"))) {
		if ((rc = klic_doc_time(&l.ended, o, "ended")) != 0)
			return at_index(rc, "licenses", i);
		if (l.ended < l.issued || l.ended >= l.expires)
			return klic_error_set(KLIC_ERR_FIELD,
					      "\"licenses\"[%zu]: ended outside [issued, expires)",
					      i);
	}
	if ((l.ended != 0) != (strcmp(l.state, KLIC_USAGE_RENEWED) == 0 ||
			       strcmp(l.state, KLIC_USAGE_RETURNED) == 0))
		return klic_error_set(KLIC_ERR_FIELD,
				      "\"licenses\"[%zu]: state %s %s \"ended\"", i, l.state,
				      l.ended != 0 ? "with" : "without");
	if (i > 0 && strcmp(u->lics[i - 1].license_id, l.license_id) >= 0)
		return klic_error_set(KLIC_ERR_FIELD,
				      "\"licenses\" not strictly ascending at [%zu]", i);
	return klic_usage_add_lic(u, &l);
}

static int parse_audit(struct klic_usage *u, const json_t *o, size_t i)
{
	struct klic_usage_audit a;
	const json_t *seq = json_object_get(o, "seq");
	int64_t t;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = exact_keys(o, audit_keys, N(audit_keys), "audit", i)) != 0)
		return rc;
	if (!json_is_integer(seq) || json_integer_value(seq) != (json_int_t)i + 1)
		return klic_error_set(KLIC_ERR_FIELD, "\"audit\"[%zu]: seq must be %zu", i, i + 1);
	a.seq = (int64_t)i + 1;
	if ((rc = klic_doc_time(&t, o, "at")) != 0 ||
	    (rc = text_field(a.at, sizeof(a.at), o, "at", KLIC_TIME_LEN)) != 0 ||
	    (rc = text_field(a.event, sizeof(a.event), o, "event", KLIC_AUDIT_EVENT_MAX)) != 0 ||
	    (rc = text_field(a.digest, sizeof(a.digest), o, "digest", KLIC_SHA256_HEX_LEN)) != 0 ||
	    (rc = text_field(a.detail, sizeof(a.detail), o, "detail", KLIC_AUDIT_DETAIL_MAX)) !=
		0 ||
	    (rc = klic_doc_hex(a.hash, o, "hash", KLIC_SHA256_HEX_LEN)) != 0)
		return at_index(rc, "audit", i);
	if (a.event[0] == '\0')
		return klic_error_set(KLIC_ERR_FIELD, "\"audit\"[%zu]: empty event", i);
	return klic_usage_add_audit(u, &a);
}

/* Each element of the array root[key] through fn. */
static int each(struct klic_usage *u, const json_t *root, const char *key,
		int (*fn)(struct klic_usage *, const json_t *, size_t))
{
	const json_t *arr = json_object_get(root, key);
	size_t n;
	int rc;

	if (!json_is_array(arr))
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" is not an array", key);
	if ((n = json_array_size(arr)) > KLIC_MAX_USAGE_ROWS)
		return klic_error_set(KLIC_ERR_FIELD, "\"%s\" has %zu entries", key, n);
	for (size_t i = 0; i < n; i++)
		if ((rc = fn(u, json_array_get(arr, i), i)) != 0)
			return rc;
	return 0;
}

int klic_usage_body_parse(struct klic_usage *out, const uint8_t *json, size_t len)
{
	uint8_t key[KLIC_MAX_ISSUER_KEY_B64];
	json_t *root = NULL;
	size_t keylen = 0;
	int rc;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "usage: NULL argument");
	memset(out, 0, sizeof(*out));
	if ((rc = klic_doc_load(&root, json, len, KLIC_MAX_KUSAGE_BYTES, 0, USAGE_FLAGS,
				"klic-usage", usage_keys, N(usage_keys), N(usage_keys))) != 0)
		goto out;
	if ((rc = klic_doc_str(out->org, sizeof(out->org), root, "org", 1, KLIC_MAX_TEXT_LEN)) !=
		0 ||
	    (rc = klic_doc_fpr(out->issuer_fpr, root, "issuer_fpr")) != 0 ||
	    (rc = klic_doc_str(out->issuer_key, sizeof(out->issuer_key), root, "issuer_key", 4,
			       KLIC_MAX_ISSUER_KEY_B64)) != 0 ||
	    (rc = klic_doc_time(&out->created, root, "created")) != 0 ||
	    (rc = klic_doc_hex(out->audit_head, root, "audit_head", KLIC_SHA256_HEX_LEN)) != 0)
		goto out;
	if (klic_base64_decode(key, sizeof(key), &keylen, out->issuer_key,
			       strlen(out->issuer_key)) != 0) {
		rc = klic_error_set(KLIC_ERR_FIELD, "\"issuer_key\" is not base64");
		goto out;
	}
	if ((rc = each(out, root, "entitlements", parse_ent)) != 0 ||
	    (rc = each(out, root, "licenses", parse_lic)) != 0 ||
	    (rc = each(out, root, "audit", parse_audit)) != 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}
