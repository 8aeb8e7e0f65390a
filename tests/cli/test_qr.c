/* Unit tests: the QR encoder and its renderings (request/qr.c).  The
 * independent decoding (zbarimg) is in qr.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "klic_armor.h"
#include "klic_error.h"
#include "klic_qr.h"

static uint8_t *text_of(size_t n)
{
	uint8_t *b = malloc(n);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] =
		    (uint8_t)("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\n"
				  [i % 65]);
	return b;
}

static void test_capacity(void **state)
{
	struct klic_qr *q = NULL;
	uint8_t *b = text_of(KLIC_QR_MAX_BYTES + 1);
	(void)state;

	/* the largest that fits: version 40, level L */
	assert_int_equal(klic_qr_encode(&q, b, KLIC_QR_MAX_BYTES), 0);
	assert_int_equal(klic_qr_version(q), 40);
	assert_int_equal(klic_qr_width(q), 177);
	assert_int_equal(klic_qr_level(q), 'L');
	klic_qr_free(q);
	assert_int_equal(klic_qr_fits(b, KLIC_QR_MAX_BYTES), 0);
	/* one byte more does not fit: refused, with a detail */
	q = (struct klic_qr *)1;
	assert_int_equal(klic_qr_encode(&q, b, KLIC_QR_MAX_BYTES + 1), KLIC_ERR_TOO_BIG);
	assert_null(q);
	assert_non_null(strstr(klic_error_detail(), "QR"));
	assert_int_equal(klic_qr_fits(b, KLIC_QR_MAX_BYTES + 1), KLIC_ERR_TOO_BIG);
	assert_int_equal(klic_qr_fits(b, 100000), KLIC_ERR_TOO_BIG);
	assert_int_equal(klic_qr_encode(&q, b, 0), KLIC_ERR_INVALID_ARG);
	free(b);
}

static void test_level_boost(void **state)
{
	struct klic_qr *q = NULL;
	uint8_t *b = text_of(10);
	(void)state;
	/* 10 bytes: version 1 (17 bytes at L) also holds them at Q (11), not H (7) */
	assert_int_equal(klic_qr_encode(&q, b, 10), 0);
	assert_int_equal(klic_qr_version(q), 1);
	assert_int_equal(klic_qr_width(q), 21);
	assert_int_equal(klic_qr_level(q), 'Q');
	/* finder pattern corner: dark; quiet zone: light */
	assert_true(klic_qr_dark(q, 0, 0));
	assert_false(klic_qr_dark(q, -1, 0));
	assert_false(klic_qr_dark(q, 21, 20));
	klic_qr_free(q);
	free(b);
}

/* The terminal form: (21 + 8) columns, (21 + 8 + 1) / 2 lines, each line
 * colour-set and reset, half blocks that reproduce the modules. */
static void test_text(void **state)
{
	struct klic_qr *q = NULL;
	uint8_t *b = text_of(10);
	char *t = NULL, *line;
	size_t tl = 0, lines = 0;
	(void)state;
	assert_int_equal(klic_qr_encode(&q, b, 10), 0);
	assert_int_equal(klic_qr_render_text(&t, &tl, q), 0);
	assert_int_equal(strlen(t), tl);
	line = t;
	while (*line != '\0') {
		char *nl = strchr(line, '\n');
		const char *p;
		int col = 0, y = 2 * (int)lines - KLIC_QR_QUIET;
		assert_non_null(nl);
		assert_true(strncmp(line, "\033[30;107m", 9) == 0);
		assert_true(strncmp(nl - 4, "\033[0m", 4) == 0);
		for (p = line + 9; p < nl - 4; col++) {
			int x = col - KLIC_QR_QUIET, top, bot;
			if (*p == ' ') {
				top = bot = 0;
				p++;
			} else {
				assert_true((uint8_t)p[0] == 0xE2 && (uint8_t)p[1] == 0x96);
				top = (uint8_t)p[2] == 0x80 || (uint8_t)p[2] == 0x88;
				bot = (uint8_t)p[2] == 0x84 || (uint8_t)p[2] == 0x88;
				p += 3;
			}
			assert_int_equal(top, klic_qr_dark(q, x, y));
			assert_int_equal(bot, klic_qr_dark(q, x, y + 1));
		}
		assert_int_equal(col, 21 + 2 * KLIC_QR_QUIET);
		lines++;
		line = nl + 1;
	}
	assert_int_equal(lines, (21 + 2 * KLIC_QR_QUIET + 1) / 2);
	free(t);
	klic_qr_free(q);
	free(b);
}

static void test_png(void **state)
{
	static const uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	struct klic_qr *q = NULL;
	uint8_t *b = text_of(1200), *png = NULL;
	size_t len = 0;
	uint32_t w, h;
	(void)state;
	assert_int_equal(klic_qr_encode(&q, b, 1200), 0);
	assert_int_equal(klic_qr_render_png(&png, &len, q), 0);
	assert_true(len > 33);
	assert_memory_equal(png, magic, 8);
	/* IHDR: width, height, bit depth 1, colour type 0 (gray) */
	assert_memory_equal(png + 12, "IHDR", 4);
	w = (uint32_t)png[16] << 24 | (uint32_t)png[17] << 16 | (uint32_t)png[18] << 8 | png[19];
	h = (uint32_t)png[20] << 24 | (uint32_t)png[21] << 16 | (uint32_t)png[22] << 8 | png[23];
	assert_int_equal(w, (uint32_t)(klic_qr_width(q) + 2 * KLIC_QR_QUIET) * KLIC_QR_PNG_SCALE);
	assert_int_equal(h, w);
	assert_int_equal(png[24], 1);
	assert_int_equal(png[25], 0);
	free(png);
	klic_qr_free(q);
	free(b);
}

/* KLIC_QR_TERM_BYTES is the 8-bit capacity of version 5 at level L:
 * that many bytes fit, one more does not. */
static void test_term_capacity(void **state)
{
	struct klic_qr *q = NULL;
	uint8_t *b = text_of(KLIC_QR_TERM_BYTES + 1);
	(void)state;
	assert_int_equal(klic_qr_encode(&q, b, KLIC_QR_TERM_BYTES), 0);
	assert_int_equal(klic_qr_version(q), KLIC_QR_TERM_VERSION);
	assert_int_equal(klic_qr_width(q) + 2 * KLIC_QR_QUIET, KLIC_QR_TERM_COLS);
	klic_qr_free(q);
	assert_int_equal(klic_qr_encode(&q, b, KLIC_QR_TERM_BYTES + 1), 0);
	assert_int_equal(klic_qr_version(q), KLIC_QR_TERM_VERSION + 1);
	klic_qr_free(q);
	free(b);
}

/* A request of any size as parts: every code of version 5 or less, every
 * rendering at most 45 columns and 23 lines, the part texts in order. */
static void test_parts(void **state)
{
	static const size_t sizes[] = {1, 57, 58, 800, 2100};
	(void)state;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		uint8_t *bin = text_of(sizes[k]);
		char *armor = NULL, **texts = NULL;
		struct klic_qr **codes = NULL;
		size_t alen = 0, n = 0;

		assert_int_equal(klic_armor_encode(&armor, &alen, KLIC_KIND_REQUEST, bin, sizes[k]),
				 0);
		assert_int_equal(
		    klic_qr_encode_parts(&codes, &n, &texts, KLIC_KIND_REQUEST, armor, alen), 0);
		assert_true(n >= 1 && n <= KLIC_ARMOR_MAX_PARTS);
		assert_true(n == 1 || sizes[k] > 57);
		for (size_t i = 0; i < n; i++) {
			char head[64], *t = NULL;
			size_t tl = 0, lines = 0;
			(void)snprintf(head, sizeof head, "KLIC REQUEST %zu/%zu ", i + 1, n);
			assert_memory_equal(texts[i], head, strlen(head));
			assert_true(strlen(texts[i]) <= KLIC_QR_TERM_BYTES);
			assert_true(klic_qr_version(codes[i]) <= KLIC_QR_TERM_VERSION);
			assert_true(klic_qr_width(codes[i]) + 2 * KLIC_QR_QUIET <=
				    KLIC_QR_TERM_COLS);
			assert_int_equal(klic_qr_render_text(&t, &tl, codes[i]), 0);
			for (const char *p = t; (p = strchr(p, '\n')) != NULL; p++)
				lines++;
			assert_true(lines + 1 <= KLIC_QR_TERM_LINES); /* + the caption */
			free(t);
		}
		klic_qr_free_parts(codes, n);
		klic_armor_parts_free(texts, n);
		free(armor);
		free(bin);
	}
	/* the text must be a request's armor */
	{
		struct klic_qr **codes = (struct klic_qr **)1;
		size_t n = 5;
		assert_int_equal(
		    klic_qr_encode_parts(&codes, &n, NULL, KLIC_KIND_REQUEST, "hello", 5),
		    KLIC_ERR_ARMOR);
		assert_null(codes);
		assert_int_equal(n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capacity),      cmocka_unit_test(test_level_boost),
	    cmocka_unit_test(test_text),          cmocka_unit_test(test_png),
	    cmocka_unit_test(test_term_capacity), cmocka_unit_test(test_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
