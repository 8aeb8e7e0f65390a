/* libFuzzer target: the strict bundle reader for both kinds, binary
 * (gzip + tar) and ASCII-armored alike (klic_archive_read decides), and the
 * armor decoder on its own. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "klic_armor.h"
#include "klic_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_kind(enum klic_bundle_kind kind, const uint8_t *data, size_t size)
{
	struct klic_archive a = KLIC_ARCHIVE_INIT;
	size_t total = 0;

	if (klic_archive_read(&a, kind, data, size) != 0)
		return;
	/* what the reader accepts is within every limit it promises */
	if (a.n > KLIC_MAX_MEMBERS)
		__builtin_trap();
	for (size_t i = 0; i < a.n; i++) {
		if (a.m[i].data[a.m[i].len] != 0 || a.m[i].len > klic_member_cap(a.m[i].name) ||
		    !klic_member_name_allowed(kind, a.m[i].name) ||
		    klic_archive_get(&a, a.m[i].name) != &a.m[i])
			__builtin_trap();
		total += a.m[i].len;
	}
	if (total > KLIC_MAX_UNPACKED_BYTES || klic_archive_get(&a, "manifest.json") == NULL ||
	    klic_archive_get(&a, "manifest.sig") == NULL ||
	    (kind == KLIC_KIND_REQUEST && klic_archive_get(&a, "requester.pgp") == NULL))
		__builtin_trap();
	klic_archive_dispose(&a);
}

static void armor_kind(enum klic_bundle_kind kind, const uint8_t *data, size_t size)
{
	uint8_t *bin = NULL, *bin2 = NULL;
	char *text = NULL;
	size_t n = 0, n2 = 0, tn = 0;

	if (klic_armor_decode(&bin, &n, kind, data, size) != 0)
		return;
	if (n > KLIC_MAX_BUNDLE_BYTES)
		__builtin_trap();
	/* what decodes re-encodes, and decodes again to the same bytes */
	if (klic_armor_encode(&text, &tn, kind, bin, n) == 0) {
		if (klic_armor_decode(&bin2, &n2, kind, (const uint8_t *)text, tn) != 0 ||
		    n2 != n || memcmp(bin, bin2, n) != 0)
			__builtin_trap();
	}
	free(bin);
	free(bin2);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_kind(KLIC_KIND_REQUEST, data, size);
	read_kind(KLIC_KIND_RESPONSE, data, size);
	armor_kind(KLIC_KIND_REQUEST, data, size);
	armor_kind(KLIC_KIND_RESPONSE, data, size);
	return 0;
}
