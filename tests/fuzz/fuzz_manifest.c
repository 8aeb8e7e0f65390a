/* libFuzzer target: request and response manifest parsers.  Whatever
 * parses must rebuild to exactly the same bytes (canonical form). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Version 2: an issued response carries an entitlement of the .kent shape,
 * its ID and an issuer key; a denial carries none of them. */
static void chain_fields(const struct klic_response *rs)
{
	struct klic_lic_parts p;

	if (strcmp(rs->status, KLIC_STATUS_DENIED) == 0) {
		if (rs->entitlement_len != 0 || rs->entitlement_id[0] != '\0' ||
		    rs->issuer_key[0] != '\0')
			__builtin_trap();
		return;
	}
	if (rs->entitlement_len == 0 || rs->entitlement_len > KLIC_MAX_KENT_BYTES ||
	    strlen(rs->entitlement) != rs->entitlement_len || strlen(rs->entitlement_id) != 32 ||
	    rs->issuer_key[0] == '\0' ||
	    klic_license_split(&p, (const uint8_t *)rs->entitlement, rs->entitlement_len) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct klic_request rq;
	static struct klic_response rs;
	char *out = NULL;
	size_t n = 0;

	if (klic_request_manifest_parse(&rq, data, size) == 0) {
		if (klic_request_manifest_build(&out, &n, &rq) != 0 && strcmp(rq.product, "KSE") != 0)
			__builtin_trap();
		if (out != NULL && (n != size || memcmp(out, data, n) != 0))
			__builtin_trap();
		free(out);
		out = NULL;
	}
	if (klic_response_manifest_parse(&rs, data, size) == 0) {
		if (klic_response_manifest_build(&out, &n, &rs) != 0 || n != size ||
		    memcmp(out, data, n) != 0)
			__builtin_trap();
		free(out);
		chain_fields(&rs);
	}
	return 0;
}
