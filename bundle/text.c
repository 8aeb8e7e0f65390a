/* klic — printable checks, the one printable-copy helper, the one HTML
 * escape, wiping secrets (klic_util.h). */
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

const char *klic_html_char(char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return klic_is_printable(&c, 1) ? NULL : "?";
	}
}

void klic_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

int klic_utf8_text_check(const char *s, size_t n, size_t *at)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], cp, len, min;
		*at = i;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 2;
			i++;
			continue;
		}
		len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
		if (len == 0 || c > 0xf4 || n - i < len)
			return 1;
		cp = c & (0xff >> (len + 1));
		for (unsigned k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 1;
		if (cp <= 0x9f)
			return 2; /* C1 control characters */
		if (cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
		    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			return 3;
		i += len;
	}
	*at = n;
	return 0;
}

int klic_text_utf8_ok(const char *s, size_t n)
{
	size_t at;
	return klic_utf8_text_check(s, n, &at) == 0;
}
