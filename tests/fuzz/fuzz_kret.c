/* libFuzzer target: the return receipt (.kret, spec 3.8) without its
 * signature check: the strict clear-signed split of the whole text, and
 * the strict body parser on the input itself and on the body the split
 * finds.  Whatever parses must rebuild to exactly the same bytes
 * (canonical form), with its license IDs strictly ascending. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_kret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void body_parse(const uint8_t *body, size_t len)
{
	struct klic_kret k;
	char *out = NULL;
	size_t n = 0;

	if (klic_kret_body_parse(&k, body, len) != 0)
		return;
	if (k.n_ids < 1 || k.n_ids > KLIC_MAX_SEATS)
		__builtin_trap();
	for (unsigned i = 1; i < k.n_ids; i++)
		if (strcmp(k.license_ids[i - 1], k.license_ids[i]) >= 0)
			__builtin_trap();
	if (klic_kret_body_build(&out, &n, &k) != 0 || n != len || memcmp(out, body, n) != 0)
		__builtin_trap();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct klic_lic_parts p;

	body_parse(data, size);
	if (klic_kret_split(&p, data, size) == 0) {
		if (p.body < data || p.body + p.body_len > data + size || p.sig < data ||
		    p.sig + p.sig_len != data + size ||
		    (p.hash_bits != 256 && p.hash_bits != 384 && p.hash_bits != 512))
			__builtin_trap();
		body_parse(p.body, p.body_len);
	}
	return 0;
}
