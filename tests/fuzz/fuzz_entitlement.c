/* libFuzzer target: the entitlement (.kent, spec 3.6) without its
 * signature check: the strict clear-signed split of the whole text, and
 * the strict body parser on the input itself and on the body the split
 * finds.  Whatever parses must rebuild to exactly the same bytes
 * (canonical form) and name each of its org keys. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void body_parse(const uint8_t *body, size_t len)
{
	struct klic_kent e;
	char *out = NULL;
	size_t n = 0;

	if (klic_kent_body_parse(&e, body, len) != 0)
		return;
	if (e.n_org_keys < 1 || e.n_org_keys > KLIC_MAX_ORG_KEYS || e.seats < 1 ||
	    e.seats > KLIC_MAX_ENT_SEATS || e.valid_until <= e.valid_from ||
	    (e.returnable != 0 && e.returnable != 1))
		__builtin_trap();
	for (size_t i = 0; i < e.n_org_keys; i++)
		if (klic_kent_names_key(&e, e.org_keys[i]) != (int)i)
			__builtin_trap();
	if (klic_kent_body_build(&out, &n, &e) != 0 || n != len || memcmp(out, body, n) != 0)
		__builtin_trap();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct klic_lic_parts p;

	body_parse(data, size);
	if (klic_license_split(&p, data, size) == 0) {
		if (p.body < data || p.body + p.body_len > data + size || p.sig < data ||
		    p.sig + p.sig_len != data + size ||
		    (p.hash_bits != 256 && p.hash_bits != 384 && p.hash_bits != 512))
			__builtin_trap();
		body_parse(p.body, p.body_len);
	}
	return 0;
}
