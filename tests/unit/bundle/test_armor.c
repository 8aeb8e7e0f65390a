/* Unit tests: ASCII armor of bundles (bundle/armor.c, spec/ARMOR.md):
 * base64 and CRC-24 against published vectors, binary -> armor -> binary
 * round trips, what mail clients and chats do to text (CRLF, quoted-
 * printable soft breaks and "=3D", indentation, surrounding e-mail text),
 * and every malformed form refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "klic_armor.h"
#include "klic_bundle.h"
#include "tutil.h"

/* ---- helpers ------------------------------------------------------------------ */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

/* s with every occurrence of `from` replaced by `to` (new string). */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0, o = 0;
	const char *p;
	char *out;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	out = malloc(strlen(s) + n * tl + 1);
	assert_non_null(out);
	for (p = s; *p != '\0';) {
		if (strncmp(p, from, fl) == 0) {
			memcpy(out + o, to, tl);
			o += tl;
			p += fl;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

/* What a mail client sends with Content-Transfer-Encoding: quoted-printable
 * (RFC 2045 6.7): '=' as "=3D", lines longer than `width` broken with soft
 * line breaks "=" + eol so that no encoded line exceeds `width`. */
static char *qp_encode(const char *s, size_t width, const char *eol)
{
	size_t cap = strlen(s) * 6 + 16, o = 0, col = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	for (const char *p = s; *p != '\0'; p++) {
		const char *tok = *p == '=' ? "=3D" : NULL;
		size_t tl = tok != NULL ? 3 : 1;
		if (*p == '\n') {
			memcpy(out + o, eol, strlen(eol));
			o += strlen(eol);
			col = 0;
			continue;
		}
		if (col + tl > width - 1) { /* room for the '=' of a soft break */
			out[o++] = '=';
			memcpy(out + o, eol, strlen(eol));
			o += strlen(eol);
			col = 0;
		}
		if (tok != NULL)
			memcpy(out + o, tok, 3);
		else
			out[o] = *p;
		o += tl;
		col += tl;
	}
	out[o] = '\0';
	return out;
}

static char *armor_of(enum klic_bundle_kind kind, const uint8_t *bin, size_t len)
{
	char *text = NULL;
	size_t tlen = 0;
	assert_int_equal(klic_armor_encode(&text, &tlen, kind, bin, len), 0);
	assert_int_equal(strlen(text), tlen);
	return text;
}

/* Decoding text must give exactly bin. */
static void expect_decodes(enum klic_bundle_kind kind, const char *text, const uint8_t *bin,
			   size_t len)
{
	uint8_t *out = NULL;
	size_t olen = 0;
	int r = klic_armor_decode(&out, &olen, kind, (const uint8_t *)text, strlen(text));
	if (r != 0)
		fail_msg("decode failed (%d: %s) for:\n%s", r, klic_error_detail(), text);
	assert_int_equal(olen, len);
	assert_memory_equal(out, bin, len);
	free(out);
}

static void expect_refused(enum klic_bundle_kind kind, const char *text, int code)
{
	uint8_t *out = (uint8_t *)1;
	size_t olen = 99;
	int r = klic_armor_decode(&out, &olen, kind, (const uint8_t *)text, strlen(text));
	if (r != code)
		fail_msg("expected %d, got %d (%s) for:\n%s", code, r, klic_error_detail(), text);
	assert_null(out);
	assert_int_equal(olen, 0);
	assert_true(klic_error_detail()[0] != '\0');
}

/* ---- codec vectors ------------------------------------------------------------- */

static void test_crc24(void **state)
{
	(void)state;
	/* RFC 4880 6.1: the initial value; CRC-24/OPENPGP check value */
	assert_int_equal(klic_crc24(NULL, 0), 0xB704CE);
	assert_int_equal(klic_crc24((const uint8_t *)"123456789", 9), 0x21CF02);
}

static void test_base64_vectors(void **state)
{
	/* RFC 4648 section 10 */
	static const char *const v[][2] = {{"", ""},
					   {"f", "Zg=="},
					   {"fo", "Zm8="},
					   {"foo", "Zm9v"},
					   {"foob", "Zm9vYg=="},
					   {"fooba", "Zm9vYmE="},
					   {"foobar", "Zm9vYmFy"}};
	char enc[32];
	uint8_t dec[32];
	size_t n;
	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_int_equal(
		    klic_base64_encode(enc, sizeof enc, (const uint8_t *)v[i][0], strlen(v[i][0])),
		    0);
		assert_string_equal(enc, v[i][1]);
		assert_int_equal(klic_base64_decode(dec, sizeof dec, &n, v[i][1], strlen(v[i][1])),
				 0);
		assert_int_equal(n, strlen(v[i][0]));
		assert_memory_equal(dec, v[i][0], n);
	}
	/* all 256 byte values survive */
	{
		uint8_t all[256], back[256];
		char text[400];
		for (int i = 0; i < 256; i++)
			all[i] = (uint8_t)i;
		assert_int_equal(klic_base64_encode(text, sizeof text, all, 256), 0);
		assert_int_equal(klic_base64_decode(back, sizeof back, &n, text, strlen(text)), 0);
		assert_int_equal(n, 256);
		assert_memory_equal(back, all, 256);
	}
	/* output buffer too small */
	assert_int_equal(klic_base64_encode(enc, 4, (const uint8_t *)"foo", 3),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_base64_decode(dec, 2, &n, "Zm9v", 4), KLIC_ERR_TOO_BIG);
}

static void test_base64_strict(void **state)
{
	static const char *const bad[] = {
	    "Zg=",               /* not a multiple of 4 */
	    "Zh==",              /* unused bits set (non-canonical) */
	    "Zm9=",              /* unused bits set */
	    "Z===",              /* three pad characters */
	    "=Zg=",              /* pad first */
	    "Zg==Zm9v",          /* pad in the middle */
	    "Zm9v\n",            /* whitespace is the armor's business */
	    "Zm9v Zg==", "Zm-v", /* base64url is not base64 */
	    "Zm_v",      "Zg=A",
	};
	uint8_t dec[32];
	size_t n;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (klic_base64_decode(dec, sizeof dec, &n, bad[i], strlen(bad[i])) !=
		    KLIC_ERR_ARMOR)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

/* ---- round trips ------------------------------------------------------------------ */

static void test_format(void **state)
{
	static const uint8_t foobar[] = "foobar";
	char *t;
	(void)state;
	/* the exact text for a 6-byte input: crc24("foobar") = 0x... as =XXXX */
	t = armor_of(KLIC_KIND_REQUEST, foobar, 6);
	{
		uint32_t c = klic_crc24(foobar, 6);
		uint8_t cb[3] = {(uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};
		char cs[5], want[200];
		assert_int_equal(klic_base64_encode(cs, sizeof cs, cb, 3), 0);
		snprintf(
		    want, sizeof want,
		    "-----BEGIN KLIC REQUEST-----\n\nZm9vYmFy\n=%s\n-----END KLIC REQUEST-----\n",
		    cs);
		assert_string_equal(t, want);
	}
	free(t);
	t = armor_of(KLIC_KIND_RESPONSE, foobar, 6);
	assert_true(strncmp(t, "-----BEGIN KLIC RESPONSE-----\n\n", 31) == 0);
	assert_non_null(strstr(t, "\n-----END KLIC RESPONSE-----\n"));
	free(t);

	/* lines of exactly 64 characters but the last */
	{
		uint8_t bin[1000];
		size_t nlines = 0;
		for (size_t i = 0; i < sizeof bin; i++)
			bin[i] = (uint8_t)(i * 7 + 3);
		t = armor_of(KLIC_KIND_REQUEST, bin, sizeof bin);
		for (char *line = t, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
			size_t n = (size_t)(nl - line);
			if (n == 0 || line[0] == '-' || line[0] == '=')
				continue;
			nlines++;
			if (nlines < (1336 + 63) / 64)
				assert_int_equal(n, KLIC_ARMOR_LINE);
			else
				assert_int_equal(n, 1336 % 64);
		}
		assert_int_equal(nlines, (1336 + 63) / 64);
		free(t);
	}
}

/* spec/ARMOR.md section 6, computed with Python's base64 and quopri */
static void test_spec_vector(void **state)
{
	static const char want[] =
	    "-----BEGIN KLIC REQUEST-----\n\n"
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n"
	    "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f\n"
	    "YGFiYw==\n=ojIo\n-----END KLIC REQUEST-----\n";
	static const char qp[] =
	    "-----BEGIN KLIC REQUEST-----\n\n"
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n"
	    "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f\n"
	    "YGFiYw=3D=3D\n=3DojIo\n-----END KLIC REQUEST-----\n";
	uint8_t bin[100];
	char *t;
	(void)state;
	for (int i = 0; i < 100; i++)
		bin[i] = (uint8_t)i;
	t = armor_of(KLIC_KIND_REQUEST, bin, sizeof bin);
	assert_string_equal(t, want);
	free(t);
	expect_decodes(KLIC_KIND_REQUEST, want, bin, sizeof bin);
	expect_decodes(KLIC_KIND_REQUEST, qp, bin, sizeof bin);
}

static void test_roundtrip_sizes(void **state)
{
	uint8_t bin[700];
	(void)state;
	srand(7);
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)rand();
	/* every length around the 3-byte quantum and the 48-byte line */
	for (size_t len = 1; len <= sizeof bin; len += (len < 200 ? 1 : 37)) {
		char *t = armor_of(KLIC_KIND_RESPONSE, bin, len);
		expect_decodes(KLIC_KIND_RESPONSE, t, bin, len);
		free(t);
	}
}

/* binary -> armor -> binary through the public reader: klic_archive_read
 * gives the same members for the armored and the binary bundle. */
static void test_roundtrip_bundle(void **state)
{
	struct klic_archive a = KLIC_ARCHIVE_INIT, b = KLIC_ARCHIVE_INIT;
	size_t len = 0;
	uint8_t *kreq = tu_sample_kreq(&len);
	char *t;
	(void)state;

	t = armor_of(KLIC_KIND_REQUEST, kreq, len);
	expect_decodes(KLIC_KIND_REQUEST, t, kreq, len);
	assert_int_equal(klic_archive_read(&a, KLIC_KIND_REQUEST, kreq, len), 0);
	assert_int_equal(klic_archive_read(&b, KLIC_KIND_REQUEST, (const uint8_t *)t, strlen(t)),
			 0);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_string_equal(a.m[i].name, b.m[i].name);
		assert_int_equal(a.m[i].len, b.m[i].len);
		assert_memory_equal(a.m[i].data, b.m[i].data, a.m[i].len);
	}
	klic_archive_dispose(&a);
	klic_archive_dispose(&b);

	/* the armor of the other kind: a clear refusal, nothing handed out */
	assert_int_equal(klic_archive_read(&b, KLIC_KIND_RESPONSE, (const uint8_t *)t, strlen(t)),
			 KLIC_ERR_TYPE_TAG);
	assert_int_equal(b.n, 0);
	assert_non_null(strstr(klic_error_detail(), "KLIC REQUEST"));
	/* a damaged armor through the reader */
	t[40] = t[40] == 'A' ? 'B' : 'A';
	assert_int_equal(klic_archive_read(&b, KLIC_KIND_REQUEST, (const uint8_t *)t, strlen(t)),
			 KLIC_ERR_ARMOR);
	assert_int_equal(b.n, 0);
	free(t);

	/* an armored armor is not a bundle: decoded bytes are never re-armored */
	{
		char *t1 = armor_of(KLIC_KIND_REQUEST, kreq, len);
		char *t2 = armor_of(KLIC_KIND_REQUEST, (const uint8_t *)t1, strlen(t1));
		assert_int_equal(
		    klic_archive_read(&b, KLIC_KIND_REQUEST, (const uint8_t *)t2, strlen(t2)),
		    KLIC_ERR_ARCHIVE_FORMAT);
		free(t1);
		free(t2);
	}
	free(kreq);
}

/* ---- what transports do to the text ----------------------------------------------- */

static void test_transport_forms(void **state)
{
	size_t len = 0;
	uint8_t *kreq = tu_sample_kreq(&len);
	char *t = armor_of(KLIC_KIND_REQUEST, kreq, len), *v, *w;
	(void)state;

	/* CRLF line ends (Windows, SMTP) */
	v = replace_all(t, "\n", "\r\n");
	expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
	free(v);
	/* no final line end (trimmed by a chat) */
	v = xstrdup(t);
	v[strlen(v) - 1] = '\0';
	expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
	free(v);
	/* indented block, trailing blanks, blank lines inserted, empty line dropped */
	v = replace_all(t, "\n", "  \t\n    ");
	expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
	free(v);
	v = replace_all(t, "\n", "\n\n");
	expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
	free(v);
	v = replace_all(t, "-----\n\n", "-----\n");
	expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
	free(v);
	/* surrounding e-mail text, a quoted earlier block, a signature */
	w = replace_all(t, "\n", "\n> ");
	v = malloc(strlen(t) + strlen(w) + 200);
	assert_non_null(v);
	snprintf(v, strlen(t) + strlen(w) + 200,
		 "Hello admin,\n\nmy request is below.\n\n%s\nThanks,\nAda\n-- \nAda User\n"
		 "\nOn Monday you wrote:\n> %s",
		 t, w);
	expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
	free(v);
	free(w);
	/* a UTF-8 byte order mark, as some editors save */
	v = malloc(strlen(t) + 4);
	assert_non_null(v);
	snprintf(v, strlen(t) + 4, "\xEF\xBB\xBF%s", t);
	expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
	free(v);

	/* quoted-printable, as a mail client sends it: "=3D", soft line breaks
	 * at 76 (no effect on 64-character lines) and at narrower widths,
	 * with LF and CRLF */
	{
		static const size_t widths[] = {76, 40, 31}; /* BEGIN/END lines stay whole */
		static const char *const eols[] = {"\n", "\r\n"};
		for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
			for (size_t e = 0; e < 2; e++) {
				v = qp_encode(t, widths[i], eols[e]);
				assert_non_null(strstr(v, "=3D"));
				expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
				free(v);
			}
		}
		/* soft break with blanks before the line end (RFC 2045 allows) */
		v = qp_encode(t, 31, " \t\r\n");
		expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
		free(v);
		/* a quoted-printable block inside a mail body */
		w = qp_encode(t, 33, "\r\n");
		v = malloc(strlen(w) + 100);
		assert_non_null(v);
		snprintf(v, strlen(w) + 100, "Hi,=0D=0Abelow:\r\n\r\n%s\r\nbye\r\n", w);
		expect_decodes(KLIC_KIND_REQUEST, v, kreq, len);
		free(v);
		free(w);
	}
	free(t);
	free(kreq);
}

/* ---- refusals ------------------------------------------------------------------------ */

static void test_refused(void **state)
{
	size_t len = 0;
	uint8_t *kreq = tu_sample_kreq(&len);
	char *t = armor_of(KLIC_KIND_REQUEST, kreq, len), *v, *p;
	(void)state;

	/* the wrong kind, both ways */
	expect_refused(KLIC_KIND_RESPONSE, t, KLIC_ERR_TYPE_TAG);
	{
		char *r = armor_of(KLIC_KIND_RESPONSE, kreq, len);
		expect_refused(KLIC_KIND_REQUEST, r, KLIC_ERR_TYPE_TAG);
		free(r);
	}
	/* an END line of the other kind */
	v = replace_all(t, "-----END KLIC REQUEST-----", "-----END KLIC RESPONSE-----");
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	free(v);
	/* another type, another product's armor */
	v = replace_all(t, "KLIC REQUEST", "KLIC LICENSE");
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	free(v);
	v = replace_all(t, "-----BEGIN KLIC REQUEST-----", "-----BEGIN KLIC REQUEST----- x");
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	free(v);
	/* an armor header line */
	v = replace_all(t, "-----\n\n", "-----\nVersion: 1\n\n");
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	assert_non_null(strstr(klic_error_detail(), "header"));
	free(v);
	/* text inside the block */
	v = replace_all(t, "-----\n\n", "-----\n\nhello\n");
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	free(v);
	/* no END line: cut short */
	v = xstrdup(t);
	p = strstr(v, "-----END");
	*p = '\0';
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	/* ... and cut inside the data: no checksum line */
	p = strrchr(v, '=');
	*p = '\0';
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	free(v);
	/* checksum line removed */
	v = xstrdup(t);
	p = strstr(v, "\n=");
	memmove(p + 1, p + 7, strlen(p + 7) + 1);
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	free(v);
	/* a base64 line removed: checksum mismatch or bad length */
	v = xstrdup(t);
	p = strchr(strstr(v, "\n\n") + 2, '\n');
	memmove(strstr(v, "\n\n") + 2, p + 1, strlen(p + 1) + 1);
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	free(v);
	/* two blocks */
	v = malloc(2 * strlen(t) + 1);
	assert_non_null(v);
	snprintf(v, 2 * strlen(t) + 1, "%s%s", t, t);
	expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
	free(v);
	/* a NUL byte in surrounding text */
	{
		uint8_t *o = NULL;
		size_t ol = 0, tl = strlen(t);
		uint8_t *nul = malloc(tl + 2);
		assert_non_null(nul);
		memcpy(nul, t, tl);
		nul[tl] = '\0';
		nul[tl + 1] = 'x';
		assert_int_equal(klic_armor_decode(&o, &ol, KLIC_KIND_REQUEST, nul, tl + 2),
				 KLIC_ERR_ARMOR);
		free(nul);
	}
	/* quoted block only (no BEGIN line of its own) */
	v = replace_all(t, "\n", "\n> ");
	{
		char *q = malloc(strlen(v) + 3);
		assert_non_null(q);
		snprintf(q, strlen(v) + 3, "> %s", v);
		expect_refused(KLIC_KIND_REQUEST, q, KLIC_ERR_ARMOR);
		free(q);
	}
	free(v);
	/* quoted-printable that is not what a mail client makes */
	v = replace_all(t, "\n=", "\n=3D");
	p = replace_all(v, "-----\n\n", "-----\n\n=41");
	expect_refused(KLIC_KIND_REQUEST, p, KLIC_ERR_ARMOR);
	free(p);
	p = replace_all(v, "=3D", "=3d"); /* lower-case hex is not produced */
	expect_refused(KLIC_KIND_REQUEST, p, KLIC_ERR_ARMOR);
	free(p);
	free(v);
	/* too big */
	{
		size_t big = KLIC_MAX_BUNDLE_BYTES + 1;
		char *b = malloc(big + 1);
		uint8_t *o = NULL;
		size_t ol = 0;
		assert_non_null(b);
		memset(b, 'A', big);
		memcpy(b, t, strlen(t));
		b[big] = '\0';
		assert_int_equal(klic_armor_decode(&o, &ol, KLIC_KIND_REQUEST, (uint8_t *)b, big),
				 KLIC_ERR_TOO_BIG);
		free(b);
	}
	/* bad arguments */
	{
		uint8_t *o = NULL;
		size_t ol = 0;
		assert_int_equal(klic_armor_decode(&o, &ol, (enum klic_bundle_kind)9,
						   (const uint8_t *)t, strlen(t)),
				 KLIC_ERR_INVALID_ARG);
	}
	free(t);
	free(kreq);
}

/* Every one-bit change of an armored bundle either is refused or still
 * decodes to exactly the same bytes (a change in whitespace, say). */
static void test_every_bit_flip(void **state)
{
	size_t len = 0, tl;
	uint8_t *kreq = tu_sample_kreq(&len);
	char *t = armor_of(KLIC_KIND_REQUEST, kreq, len);
	size_t refused = 0, same = 0;
	(void)state;

	tl = strlen(t);
	for (size_t i = 0; i < tl; i++) {
		for (int b = 0; b < 8; b++) {
			uint8_t *o = NULL;
			size_t ol = 0;
			int r;
			t[i] = (char)(t[i] ^ (1 << b));
			r = klic_armor_decode(&o, &ol, KLIC_KIND_REQUEST, (const uint8_t *)t, tl);
			if (r == 0) {
				assert_int_equal(ol, len);
				assert_memory_equal(o, kreq, len);
				same++;
			} else {
				assert_null(o);
				refused++;
			}
			free(o);
			t[i] = (char)(t[i] ^ (1 << b));
		}
	}
	assert_true(refused > tl * 7);
	print_message("%zu mutants refused, %zu decoded unchanged\n", refused, same);
	free(t);
	free(kreq);
}

static void test_encode_limits(void **state)
{
	size_t big = KLIC_MAX_BUNDLE_BYTES / 4 * 3; /* armored, larger than the cap */
	uint8_t *bin = calloc(1, big);
	char *t = NULL;
	size_t tl = 0;
	(void)state;
	assert_non_null(bin);
	assert_int_equal(klic_armor_encode(&t, &tl, KLIC_KIND_REQUEST, bin, big), KLIC_ERR_TOO_BIG);
	assert_null(t);
	/* what is written can always be read back */
	big = 190000;
	assert_int_equal(klic_armor_encode(&t, &tl, KLIC_KIND_REQUEST, bin, big), 0);
	assert_true(tl <= KLIC_MAX_BUNDLE_BYTES);
	expect_decodes(KLIC_KIND_REQUEST, t, bin, big);
	free(t);
	assert_int_equal(klic_armor_encode(&t, &tl, KLIC_KIND_REQUEST, bin, 0),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_armor_encode(&t, &tl, (enum klic_bundle_kind)0, bin, 3),
			 KLIC_ERR_INVALID_ARG);
	free(bin);
}

/* ---- numbered parts (spec/ARMOR.md section 5) ----------------------------------- */

static const char parts_vector[] =
    "KLIC REQUEST 1/2 bce0aff1\n"
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy\n"
    "KLIC REQUEST 2/2 bce0aff1\n"
    "MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==\n";

/* The parts of bin, concatenated in the order given by `order` (indexes
 * into the parts, count entries), each preceded by `sep`. */
static char *parts_joined(char **parts, const size_t *order, size_t count, const char *sep)
{
	size_t cap = 1, o = 0;
	char *t;
	for (size_t i = 0; i < count; i++)
		cap += strlen(sep) + strlen(parts[order[i]]);
	t = malloc(cap);
	assert_non_null(t);
	for (size_t i = 0; i < count; i++) {
		memcpy(t + o, sep, strlen(sep));
		o += strlen(sep);
		memcpy(t + o, parts[order[i]], strlen(parts[order[i]]));
		o += strlen(parts[order[i]]);
	}
	t[o] = '\0';
	return t;
}

static void test_parts_vector(void **state)
{
	uint8_t bin[100];
	char **parts = NULL;
	size_t n = 0;
	(void)state;
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)i;
	assert_int_equal(klic_armor_parts(&parts, &n, KLIC_KIND_REQUEST, bin, sizeof bin, 106), 0);
	assert_int_equal(n, 2);
	{
		size_t order[] = {0, 1};
		char *t = parts_joined(parts, order, 2, "");
		assert_string_equal(t, parts_vector);
		free(t);
	}
	klic_armor_parts_free(parts, n);
	expect_decodes(KLIC_KIND_REQUEST, parts_vector, bin, sizeof bin);
}

static void test_parts_roundtrip(void **state)
{
	size_t klen = 0, order[KLIC_ARMOR_MAX_PARTS];
	uint8_t *kreq = tu_sample_kreq(&klen);
	(void)state;

	/* every size from 1 byte to a real request, two part sizes */
	for (size_t len = 1; len <= klen; len += len < 200 ? 1 : 37) {
		for (size_t m = 0; m < 2; m++) {
			size_t max = m == 0 ? 106 : 40;
			char **parts = NULL, *t;
			size_t n = 0, chunk = 0;
			int r = klic_armor_parts(&parts, &n, KLIC_KIND_REQUEST, kreq, len, max);
			if (r == KLIC_ERR_TOO_BIG)
				continue; /* more than 99 parts of 40 bytes */
			assert_int_equal(r, 0);
			assert_true(n >= 1 && n <= KLIC_ARMOR_MAX_PARTS);
			for (size_t i = 0; i < n; i++) {
				char head[64];
				const char *nl = strchr(parts[i], '\n');
				assert_true(strlen(parts[i]) <= max);
				assert_non_null(nl);
				(void)snprintf(head, sizeof head, "KLIC REQUEST %zu/%zu ", i + 1,
					       n);
				assert_memory_equal(parts[i], head, strlen(head));
				/* slices of one size, a multiple of 3, but the last */
				if (i == 0)
					chunk = strlen(nl + 1) - 1;
				else if (i + 1 < n)
					assert_int_equal(strlen(nl + 1) - 1, chunk);
				order[i] = n - 1 - i; /* reverse order */
			}
			assert_int_equal(chunk % 4, 0);
			t = parts_joined(parts, order, n, "\r\n\n");
			expect_decodes(KLIC_KIND_REQUEST, t, kreq, len);
			free(t);
			klic_armor_parts_free(parts, n);
		}
	}
	free(kreq);
}

static void test_parts_transport(void **state)
{
	uint8_t bin[300];
	char **parts = NULL, *t, *v;
	size_t n = 0, order[KLIC_ARMOR_MAX_PARTS];
	(void)state;
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)(i * 7);
	assert_int_equal(klic_armor_parts(&parts, &n, KLIC_KIND_RESPONSE, bin, sizeof bin, 106), 0);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		order[i] = (i * 5) % n; /* 0 5 4 3 2 1 */
	/* zbarimg's "QR-Code:" prefix, blank lines, indentation, CRLF */
	t = parts_joined(parts, order, n, "QR-Code:");
	expect_decodes(KLIC_KIND_RESPONSE, t, bin, sizeof bin);
	v = replace_all(t, "\n", "  \r\n\r\n\t");
	expect_decodes(KLIC_KIND_RESPONSE, v, bin, sizeof bin);
	free(v);
	free(t);
	/* text around the parts (an e-mail) */
	t = parts_joined(parts, order, n, "");
	v = malloc(strlen(t) + 200);
	assert_non_null(v);
	(void)snprintf(v, strlen(t) + 200, "Hello,\n\nthe response:\n\n%s\n-- \nKLIC admin\n", t);
	expect_decodes(KLIC_KIND_RESPONSE, v, bin, sizeof bin);
	free(v);
	/* the other kind: refused as such */
	expect_refused(KLIC_KIND_REQUEST, t, KLIC_ERR_TYPE_TAG);
	assert_non_null(strstr(klic_error_detail(), "QR parts of a KLIC RESPONSE"));
	free(t);
	klic_armor_parts_free(parts, n);
}

static void test_parts_refused(void **state)
{
	static const struct {
		const char *from, *to, *detail;
	} edits[] = {
	    /* malformed part lines */
	    {"KLIC REQUEST 1/2 ", "KLIC REQUEST 01/2 ", "is not a part line"},
	    {"KLIC REQUEST 1/2 ", "KLIC REQUEST 1/02 ", "is not a part line"},
	    {"KLIC REQUEST 1/2 ", "KLIC REQUEST 1/2  ", "is not a part line"},
	    {"KLIC REQUEST 1/2 ", "KLIC REQUEST 1 /2 ", "is not a part line"},
	    {"KLIC REQUEST 2/2 ", "KLIC REQUEST 3/2 ", "is not a part line"},
	    {"KLIC REQUEST 1/2 ", "KLIC REQUEST 0/2 ", "is not a part line"},
	    {"KLIC REQUEST 1/2 ", "KLIC REQUEST 100/2 ", "is not a part line"},
	    {"1/2 bce0aff1", "1/2 BCE0AFF1", "is not a part line"},
	    {"1/2 bce0aff1", "1/2 bce0aff", "is not a part line"},
	    {"1/2 bce0aff1", "1/2 bce0aff1 x", "is not a part line"},
	    /* parts of two bundles, repeated, missing */
	    {"1/2 bce0aff1", "1/2 bce0aff2", "of another bundle"},
	    {"KLIC REQUEST 1/2 ", "KLIC REQUEST 1/3 ", "of another bundle"},
	    {"KLIC REQUEST 1/2 ", "KLIC REQUEST 2/2 ", "is given twice"},
	    {"KLIC REQUEST 1/2 ", "KLIC RESPONSE 1/2 ", "KLIC REQUEST and of a KLIC RESPONSE"},
	    /* the data */
	    {"\nAAEC", "\n\nKLIC REQUEST 2/2 bce0aff1\nAAEC", "has no data line"},
	    {"\nAAEC", "\nAA EC", "part 1/2: base64"},
	    {"\nAAEC", "\nAAE=", "part 1/2: base64"},
	    {"MDEy\n", "MDEz\n", "do not match their digest bce0aff1"},
	    {"AAECAwQF", "AAECAwQFBgcI", "do not match their digest"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char *v = replace_all(parts_vector, edits[i].from, edits[i].to);
		assert_string_not_equal(v, parts_vector);
		expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
		if (strstr(klic_error_detail(), edits[i].detail) == NULL)
			fail_msg("edit %zu: detail \"%s\" lacks \"%s\"", i, klic_error_detail(),
				 edits[i].detail);
		free(v);
	}
	/* a part missing: the first, the last */
	{
		const char *second = strstr(parts_vector, "KLIC REQUEST 2/2");
		char *v = strdup(parts_vector);
		assert_non_null(v);
		expect_refused(KLIC_KIND_REQUEST, second, KLIC_ERR_ARMOR);
		assert_non_null(
		    strstr(klic_error_detail(), "part 1/2 is missing (1 of 2 parts given)"));
		v[second - parts_vector] = '\0';
		expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
		assert_non_null(strstr(klic_error_detail(), "part 2/2 is missing"));
		free(v);
	}
	/* a part line with nothing after it */
	expect_refused(KLIC_KIND_REQUEST, "KLIC REQUEST 1/1 bce0aff1\n", KLIC_ERR_ARMOR);
	assert_non_null(strstr(klic_error_detail(), "has no data line"));
	/* an armor block and parts together */
	{
		uint8_t b[3] = {1, 2, 3};
		char *a = armor_of(KLIC_KIND_REQUEST, b, 3),
		     *v = malloc(strlen(a) + sizeof parts_vector);
		assert_non_null(v);
		(void)snprintf(v, strlen(a) + sizeof parts_vector, "%s%s", parts_vector, a);
		expect_refused(KLIC_KIND_REQUEST, v, KLIC_ERR_ARMOR);
		assert_non_null(strstr(klic_error_detail(), "both an armor block"));
		/* a line that only begins like a part line is e-mail text */
		(void)snprintf(v, strlen(a) + sizeof parts_vector, "KLIC REQUEST 2 for lab 4\n%s",
			       a);
		expect_decodes(KLIC_KIND_REQUEST, v, b, 3);
		free(v);
		free(a);
	}
}

static void test_parts_limits(void **state)
{
	size_t big = 99 * 57 + 1, n = 7;
	uint8_t *bin = calloc(1, big);
	char **parts = (char **)1;
	(void)state;
	assert_non_null(bin);
	/* 99 parts at most */
	assert_int_equal(klic_armor_parts(&parts, &n, KLIC_KIND_REQUEST, bin, big, 106),
			 KLIC_ERR_TOO_BIG);
	assert_null(parts);
	assert_int_equal(n, 0);
	assert_int_equal(klic_armor_parts(&parts, &n, KLIC_KIND_REQUEST, bin, big - 1, 106), 0);
	assert_int_equal(n, 99);
	klic_armor_parts_free(parts, n);
	/* too small a part, no data, no kind */
	assert_int_equal(klic_armor_parts(&parts, &n, KLIC_KIND_REQUEST, bin, 3, 30),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_armor_parts(&parts, &n, KLIC_KIND_REQUEST, bin, 0, 106),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_armor_parts(&parts, &n, (enum klic_bundle_kind)0, bin, 3, 106),
			 KLIC_ERR_INVALID_ARG);
	free(bin);
}

static void test_detect(void **state)
{
	static const uint8_t gz[] = {0x1f, 0x8b, '-', '-', '-', '-', '-', 'B', 'E', 'G',
				     'I',  'N',  ' ', 'K', 'L', 'I', 'C', ' ', 'R'};
	(void)state;
	assert_false(klic_armor_detect(gz, sizeof gz));
	assert_true(klic_armor_detect(gz + 2, sizeof gz - 2));
	assert_false(klic_armor_detect((const uint8_t *)"hello", 5));
	assert_false(klic_armor_detect(NULL, 0));
	assert_false(klic_armor_detect((const uint8_t *)"-----BEGIN PGP MESSAGE-----", 27));
	/* part lines: at the start of a line (after blanks or "QR-Code:") */
	assert_true(klic_armor_detect((const uint8_t *)parts_vector, strlen(parts_vector)));
	assert_true(klic_armor_detect((const uint8_t *)"hi\n QR-Code:KLIC RESPONSE 1/1 x", 32));
	assert_false(klic_armor_detect((const uint8_t *)"hi\nsee KLIC REQUEST 1/1 x    ", 30));
	assert_false(klic_armor_detect((const uint8_t *)"hi\nKLIC REQUEST x/1 xxxxxxxxx", 30));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc24),
	    cmocka_unit_test(test_base64_vectors),
	    cmocka_unit_test(test_base64_strict),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_spec_vector),
	    cmocka_unit_test(test_roundtrip_sizes),
	    cmocka_unit_test(test_roundtrip_bundle),
	    cmocka_unit_test(test_transport_forms),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_every_bit_flip),
	    cmocka_unit_test(test_encode_limits),
	    cmocka_unit_test(test_parts_vector),
	    cmocka_unit_test(test_parts_roundtrip),
	    cmocka_unit_test(test_parts_transport),
	    cmocka_unit_test(test_parts_refused),
	    cmocka_unit_test(test_parts_limits),
	    cmocka_unit_test(test_detect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
