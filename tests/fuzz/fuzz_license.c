/* libFuzzer target: the .lic reader without its signature check: strict
 * clear-signed split, the signed response it carries, and the license a
 * file name selects in it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct klic_response rs;
	struct klic_lic_parts p;
	struct klic_license l;
	const uint8_t *body = data;
	size_t body_len = size;
	char *out = NULL;
	size_t n = 0;

	if (klic_license_split(&p, data, size) == 0) {
		if (p.body < data || p.body + p.body_len > data + size || p.sig < data ||
		    p.sig + p.sig_len != data + size ||
		    (p.hash_bits != 256 && p.hash_bits != 384 && p.hash_bits != 512))
			__builtin_trap();
		body = p.body;
		body_len = p.body_len;
	}
	if (klic_response_manifest_parse(&rs, body, body_len) == 0) {
		if (klic_response_manifest_build(&out, &n, &rs) != 0 || n != body_len ||
		    memcmp(out, body, n) != 0)
			__builtin_trap();
		free(out);
		for (size_t i = 0; i < rs.n_licenses; i++) {
			if (klic_license_from_response(&l, &rs, rs.lic[i].file) != 0 ||
			    l.seat != i + 1 || strcmp(l.license_id, rs.lic[i].license_id) != 0)
				__builtin_trap();
		}
		if (klic_license_from_response(&l, &rs, "KRE_0.lic") == 0)
			__builtin_trap();
	}
	return 0;
}
