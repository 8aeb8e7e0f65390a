/* klic — verifying a vendor entitlement (.kent, spec/PROTOCOL.md 3.6): the
 * one place its signature policy is applied, for the admin's import, the
 * vendor's own checks and the license chain check. */
#include <stdio.h>
#include <string.h>

#include "klic_keys.h"
#include "klic_bundle.h"

int klic_kent_verify(struct klic_keyring *kr, struct klic_kent *out, const uint8_t *buf,
		     size_t len, klic_fpr_allow_fn allow, void *allow_ctx)
{
	struct klic_lic_parts parts;
	struct klic_sig_info info;
	struct klic_kent e;
	int r;

	if (out == NULL || kr == NULL || buf == NULL || allow == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "entitlement: NULL argument");
	memset(out, 0, sizeof(*out));
	if (len > KLIC_MAX_KENT_BYTES)
		return klic_error_set(KLIC_ERR_TOO_BIG, "entitlement larger than %u bytes",
				      KLIC_MAX_KENT_BYTES);
	if (klic_license_split(&parts, buf, len) != 0) {
		char d[256]; /* the detail buffer is also the destination */
		snprintf(d, sizeof(d), "%s", klic_error_detail());
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
				      "entitlement is not a strict clear-signed document: %s", d);
	}
	if ((r = klic_verify_detached_info(kr, &info, parts.sig, parts.sig_len, parts.body,
					   parts.body_len, allow, allow_ctx)) != 0)
		return r;
	if (info.sig_class != 0x01)
		return klic_error_set(KLIC_ERR_SIG_BAD,
				      "entitlement: not a text-mode signature (class 0x%02x)",
				      (unsigned)info.sig_class & 0xffu);
	if (info.hash_bits != parts.hash_bits)
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
				      "entitlement: the Hash line names SHA%u, the signature uses "
				      "SHA%u",
				      parts.hash_bits, info.hash_bits);
	if ((r = klic_kent_body_parse(&e, parts.body, parts.body_len)) != 0)
		return r;
	if (strcmp(e.vendor_fpr, info.signer) != 0)
		return klic_error_set(KLIC_ERR_SIG_WRONG_KEY,
				      "entitlement names vendor %s, signed by %s", e.vendor_fpr,
				      info.signer);
	*out = e;
	return 0;
}
