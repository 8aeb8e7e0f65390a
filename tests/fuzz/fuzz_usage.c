/* libFuzzer target: the usage export (.kusage, spec 3.7) without its
 * signature check: the strict clear-signed split with the .kusage cap, and
 * the strict body parser on the input itself and on the body the split
 * finds.  Whatever parses must rebuild to exactly the same bytes, with
 * sorted entitlements and licenses and audit rows numbered 1..n. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"
#include "klic_usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void body_parse(const uint8_t *body, size_t len)
{
	struct klic_usage u;
	char *out = NULL;
	size_t n = 0;

	if (klic_usage_body_parse(&u, body, len) == 0) {
		for (size_t i = 1; i < u.n_ents; i++)
			if (strcmp(u.ents[i - 1].entitlement_id, u.ents[i].entitlement_id) >= 0)
				__builtin_trap();
		for (size_t i = 1; i < u.n_lics; i++)
			if (strcmp(u.lics[i - 1].license_id, u.lics[i].license_id) >= 0)
				__builtin_trap();
		for (size_t i = 0; i < u.n_audit; i++)
			if (u.audit[i].seq != (int64_t)i + 1)
				__builtin_trap();
		if (klic_usage_body_build(&out, &n, &u) != 0 || n != len ||
		    memcmp(out, body, n) != 0)
			__builtin_trap();
		free(out);
	}
	klic_usage_dispose(&u); /* also after a failure (klic_usage.h) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct klic_lic_parts p;

	body_parse(data, size);
	if (klic_clearsigned_split(&p, data, size, KLIC_MAX_KUSAGE_BYTES) == 0) {
		if (p.body < data || p.body + p.body_len > data + size || p.sig < data ||
		    p.sig + p.sig_len != data + size)
			__builtin_trap();
		body_parse(p.body, p.body_len);
	}
	return 0;
}
