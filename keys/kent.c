/* klic — verifying the clear-signed documents other than a license: the
 * vendor entitlement (.kent, spec/PROTOCOL.md 3.6) and the return receipt
 * (.kret, 3.8).  The one place their shared signature policy is applied,
 * for the admin's import and return, the vendor's own checks and the
 * license chain check. */
#include <stdio.h>
#include <string.h>

#include "klic_keys.h"
#include "klic_bundle.h"
#include "klic_kret.h"

int klic_clearsigned_verify(struct klic_keyring *kr, struct klic_sig_info *info,
			    struct klic_lic_parts *parts, const uint8_t *buf, size_t len,
			    size_t max, const char *what, klic_fpr_allow_fn allow, void *allow_ctx)
{
	int r;

	memset(info, 0, sizeof(*info));
	if (len > max)
		return klic_error_set(KLIC_ERR_TOO_BIG, "%s larger than %zu bytes", what, max);
	if (klic_clearsigned_split(parts, buf, len, max) != 0) {
		char d[256]; /* the detail buffer is also the destination */
		snprintf(d, sizeof(d), "%s", klic_error_detail());
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
				      "%s is not a strict clear-signed document: %s", what, d);
	}
	if ((r = klic_verify_detached_info(kr, info, parts->sig, parts->sig_len, parts->body,
					   parts->body_len, allow, allow_ctx)) != 0)
		return r;
	if (info->sig_class != 0x01)
		return klic_error_set(KLIC_ERR_SIG_BAD,
				      "%s: not a text-mode signature (class 0x%02x)", what,
				      (unsigned)info->sig_class & 0xffu);
	if (info->hash_bits != parts->hash_bits)
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
				      "%s: the Hash line names SHA%u, the signature uses SHA%u",
				      what, parts->hash_bits, info->hash_bits);
	return 0;
}

int klic_kent_verify(struct klic_keyring *kr, struct klic_kent *out, const uint8_t *buf, size_t len,
		     klic_fpr_allow_fn allow, void *allow_ctx)
{
	struct klic_lic_parts parts;
	struct klic_sig_info info;
	struct klic_kent e;
	int r;

	if (out == NULL || kr == NULL || buf == NULL || allow == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "entitlement: NULL argument");
	memset(out, 0, sizeof(*out));
	if ((r = klic_clearsigned_verify(kr, &info, &parts, buf, len, KLIC_MAX_KENT_BYTES,
					 "entitlement", allow, allow_ctx)) != 0)
		return r;
	if ((r = klic_kent_body_parse(&e, parts.body, parts.body_len)) != 0)
		return r;
	if (strcmp(e.vendor_fpr, info.signer) != 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY,
				      "entitlement names vendor %s, signed by %s", e.vendor_fpr,
				      info.signer);
	*out = e;
	return 0;
}

int klic_kret_verify(struct klic_keyring *kr, struct klic_kret *out, const uint8_t *buf, size_t len,
		     klic_fpr_allow_fn allow, void *allow_ctx)
{
	struct klic_lic_parts parts;
	struct klic_sig_info info;
	struct klic_kret k;
	int r;

	if (out == NULL || kr == NULL || buf == NULL || allow == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "return receipt: NULL argument");
	memset(out, 0, sizeof(*out));
	if ((r = klic_clearsigned_verify(kr, &info, &parts, buf, len, KLIC_MAX_KRET_BYTES,
					 "return receipt", allow, allow_ctx)) != 0)
		return r;
	if ((r = klic_kret_body_parse(&k, parts.body, parts.body_len)) != 0)
		return r;
	if (strcmp(k.member_fpr, info.signer) != 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY,
				      "return receipt names member %s, signed by %s", k.member_fpr,
				      info.signer);
	*out = k;
	return 0;
}
