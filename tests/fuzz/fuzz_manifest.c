/* libFuzzer target: request and response manifest parsers.  Whatever
 * parses must rebuild to exactly the same bytes (canonical form). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	}
	return 0;
}
