/* klic response/ — text as people write it: UTF-8 names (response_int.h). */
#include <string.h>

#include "response_int.h"

/* One UTF-8 sequence at s (n bytes left): its length, or 0 when it is not
 * well-formed (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t k, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, cp = c & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (cp >= 0x80 && cp < 0xa0)
		return 0; /* C1 control characters */
	return k;
}

int klic_utf8_text_check(const char *s, size_t n, size_t *at)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k;

	for (i = 0; i < n; i += k) {
		*at = i;
		if ((k = utf8_len(u + i, n - i)) == 0)
			return 1;
		if (k == 1 && (u[i] < 0x20 || u[i] == 0x7f))
			return 2;
	}
	*at = n;
	return 0;
}
