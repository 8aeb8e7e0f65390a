/* klic — printable checks, the one printable-copy helper, wiping secrets
 * (klic_util.h). */
#include <stddef.h>
#include <string.h>

#include "klic_util.h"

int klic_is_printable(const char *s, size_t len)
{
	if (s == NULL && len > 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e)
			return 0;
	}
	return 1;
}

int klic_is_text_lines(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\n' && !klic_is_printable(s + i, 1))
			return 0;
	return 1;
}

char *klic_printable_copy(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	size_t i = 0;

	if (dstsz == 0)
		return dst;
	for (; src != NULL && i < srclen && src[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = klic_is_printable(src + i, 1) ? src[i] : '?';
	dst[i] = '\0';
	return dst;
}

void klic_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}
