/* klic — the user tool's side of the chain check: which vendor keys a
 * license is checked against (--vendor FILE, else the root-owned folder
 * fixed at build time), and what product a license claims to be before it
 * is checked (only to choose that folder's key file: the chain check then
 * holds the license to the entitlement's product). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_request.h"
#include "request_int.h"

int klic_license_peek_product(char product[4], const uint8_t *buf, size_t len)
{
	struct klic_lic_parts parts;
	struct klic_response *resp;
	int r;

	product[0] = '\0';
	if ((r = klic_license_split(&parts, buf, len)) != 0)
		return r;
	if ((resp = malloc(sizeof(*resp))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "license");
	if ((r = klic_response_manifest_parse(resp, parts.body, parts.body_len)) == 0)
		memcpy(product, resp->product, 4);
	free(resp);
	return r;
}

int klic_user_chain_open(struct klic_chain **out, char src[KLIC_PATH_MAX], int *absent,
			 const char *vendor_file, const char *product)
{
	char d[256]; /* the detail buffer is also the destination */
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if (absent != NULL)
		*absent = 0;
	if (vendor_file != NULL) {
		snprintf(src, KLIC_PATH_MAX, "%s", vendor_file);
		r = klic_read_file(&key, &len, vendor_file, 4 * KLIC_MAX_KEY_BYTES);
		if (r != 0) {
			snprintf(d, sizeof(d), "%s", klic_error_detail());
			r = klic_error_set(KLIC_ERR_NO_VENDOR, "%s: %s", vendor_file, d);
		}
	} else {
		r = klic_vendor_key_load(&key, &len, src, absent, klic_vendor_dir(), product);
	}
	if (r == 0) {
		const uint8_t *keys[1] = {key};
		r = klic_chain_new(out, keys, &len, 1);
		if (r != 0 && r != KLIC_ERR_NO_VENDOR) {
			snprintf(d, sizeof(d), "%s", klic_error_detail());
			r = klic_error_set(KLIC_ERR_NO_VENDOR, "%s: not a usable vendor key: %s", src,
					   d);
		}
	}
	free(key);
	return r;
}
