/* libFuzzer target: .lic split and license body parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct klic_lic_parts p;
	struct klic_license l;
	char *out = NULL;
	size_t n = 0;

	if (klic_license_split(&p, data, size) == 0) {
		if (p.body < data || p.body + p.body_len > data + size || p.sig < data ||
		    p.sig + p.sig_len != data + size)
			__builtin_trap();
		(void)klic_license_body_parse(&l, p.body, p.body_len);
	}
	if (klic_license_body_parse(&l, data, size) == 0) {
		if (klic_license_body_build(&out, &n, &l) != 0 || n != size ||
		    memcmp(out, data, n) != 0)
			__builtin_trap();
		free(out);
	}
	return 0;
}
