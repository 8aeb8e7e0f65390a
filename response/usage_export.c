/* klic response/ — the usage export (.kusage): what the ledger holds about
 * the vendor entitlements, signed by the issuer key for the vendor's
 * true-up (klic-vendor usage verify). */
#include <stdlib.h>
#include <string.h>

#include "klic_armor.h"
#include "klic_usage_export.h"

/* u's issuer fields from a: org, fingerprint, base64 of the minimal key. */
static int issuer_fields(struct klic_usage *u, struct klic_admin *a)
{
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	memcpy(u->org, a->org, sizeof u->org);
	memcpy(u->issuer_fpr, a->issuer_fpr, sizeof u->issuer_fpr);
	if ((r = klic_key_export(a->kr, &key, &len, a->issuer_fpr, 0)) != 0)
		return r;
	if ((len + 2) / 3 * 4 >= sizeof u->issuer_key)
		r = klic_error_set(KLIC_ERR_KEY, "issuer key of %zu bytes: too large", len);
	else
		r = klic_base64_encode(u->issuer_key, sizeof u->issuer_key, key, len);
	free(key);
	return r;
}

int klic_admin_usage_export(struct klic_admin *a, uint8_t **out, size_t *outlen, int64_t now)
{
	struct klic_usage u;
	struct klic_lic_parts parts;
	char *body = NULL;
	uint8_t *doc = NULL;
	size_t blen = 0, dlen = 0;
	int r;

	*out = NULL;
	*outlen = 0;
	memset(&u, 0, sizeof u);
	u.created = now;
	if ((r = issuer_fields(&u, a)) != 0 ||
	    (r = klic_ledger_usage_read(a->ledger, &u, now)) != 0 ||
	    (r = klic_usage_body_build(&body, &blen, &u)) != 0)
		goto out;
	if (blen > KLIC_MAX_KUSAGE_BYTES - 4096) {
		r = klic_error_set(KLIC_ERR_TOO_BIG, "usage export of %zu bytes", blen);
		goto out;
	}
	if ((r = klic_sign_clear(a->kr, &doc, &dlen, a->issuer_fpr, (const uint8_t *)body, blen)) !=
	    0)
		goto out;
	/* what is handed out must split back into exactly the body built */
	if ((r = klic_clearsigned_split(&parts, doc, dlen, KLIC_MAX_KUSAGE_BYTES)) != 0)
		goto out;
	if (parts.body_len != blen || memcmp(parts.body, body, blen) != 0) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "signed usage export differs from its body");
		goto out;
	}
	*out = doc;
	doc = NULL; /* transferred */
	*outlen = dlen;
	r = 0;
out:
	klic_usage_dispose(&u);
	free(body);
	free(doc);
	return r;
}
