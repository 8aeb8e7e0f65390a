/* libFuzzer target: strict .kreq/.kresp archive reader, both kinds. */
#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct klic_archive a = KLIC_ARCHIVE_INIT;

	if (klic_archive_read(&a, KLIC_KIND_REQUEST, data, size) == 0)
		klic_archive_dispose(&a);
	if (klic_archive_read(&a, KLIC_KIND_RESPONSE, data, size) == 0) {
		/* members are NUL-terminated and within their caps */
		for (size_t i = 0; i < a.n; i++)
			if (a.m[i].data[a.m[i].len] != 0 || a.m[i].len > KLIC_MAX_MEMBER_BYTES)
				__builtin_trap();
		klic_archive_dispose(&a);
	}
	return 0;
}
