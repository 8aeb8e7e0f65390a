/* klic — QR code of a request (libqrencode), rendered for a terminal or as
 * a PNG (libpng).  See klic_qr.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#include "klic_armor.h"
#include "klic_error.h"
#include "klic_qr.h"

#define PNG_MAX_BYTES (1024u * 1024u) /* far above a version 40 symbol */

struct klic_qr {
	QRcode *code;
	char level;
};

static QRcode *encode_at(const uint8_t *data, size_t len, int version, QRecLevel level)
{
	return QRcode_encodeData((int)len, data, version, level);
}

/* Encode at the smallest version that holds the data at level L, at most
 * max_version, then with the most error correction that version allows. */
static int encode_max(struct klic_qr **out, const uint8_t *data, size_t len, int max_version)
{
	static const struct {
		QRecLevel level;
		char name;
	} boost[] = {{QR_ECLEVEL_H, 'H'}, {QR_ECLEVEL_Q, 'Q'}, {QR_ECLEVEL_M, 'M'}};
	struct klic_qr *q = NULL;
	QRcode *c;
	int version;

	*out = NULL;
	if (data == NULL || len == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "qr: no data");
	if (len > KLIC_QR_MAX_BYTES)
		return klic_error_set(KLIC_ERR_TOO_BIG,
				      "%zu bytes do not fit one QR code (at most %u)", len,
				      KLIC_QR_MAX_BYTES);
	errno = 0;
	if ((c = encode_at(data, len, 0, QR_ECLEVEL_L)) == NULL) {
		if (errno == ERANGE)
			return klic_error_set(KLIC_ERR_TOO_BIG,
					      "%zu bytes do not fit one QR code (at most %u)", len,
					      KLIC_QR_MAX_BYTES);
		return klic_error_set(errno == ENOMEM ? KLIC_ERR_NOMEM : KLIC_ERR_INTERNAL,
				      "libqrencode: %s", strerror(errno));
	}
	if (c->version > max_version) {
		int v = c->version;
		QRcode_free(c);
		return klic_error_set(KLIC_ERR_TOO_BIG,
				      "%zu bytes need a QR code of version %d (at most %d here)",
				      len, v, max_version);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		QRcode_free(c);
		return klic_error_set(KLIC_ERR_NOMEM, "qr");
	}
	q->code = c;
	q->level = 'L';
	version = c->version;
	/* the most error correction the same symbol size allows */
	for (size_t i = 0; i < sizeof boost / sizeof boost[0]; i++) {
		QRcode *b = encode_at(data, len, version, boost[i].level);
		if (b != NULL && b->version == version) {
			QRcode_free(q->code);
			q->code = b;
			q->level = boost[i].name;
			break;
		}
		if (b != NULL)
			QRcode_free(b);
	}
	*out = q;
	return 0;
}

int klic_qr_encode(struct klic_qr **out, const uint8_t *data, size_t len)
{
	return encode_max(out, data, len, 40);
}

void klic_qr_free_parts(struct klic_qr **q, size_t count)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		klic_qr_free(q[i]);
	free(q);
}

int klic_qr_encode_parts(struct klic_qr ***out, size_t *count, char ***texts,
			 enum klic_bundle_kind kind, const char *armor, size_t alen)
{
	struct klic_qr **codes = NULL;
	char **parts = NULL;
	uint8_t *bin = NULL;
	size_t binlen = 0, n = 0;
	int r = KLIC_ERR_INTERNAL;

	*out = NULL;
	*count = 0;
	if (texts != NULL)
		*texts = NULL;
	if ((r = klic_armor_decode(&bin, &binlen, kind, (const uint8_t *)armor, alen)) != 0 ||
	    (r = klic_armor_parts(&parts, &n, kind, bin, binlen, KLIC_QR_TERM_BYTES)) != 0)
		goto out;
	if ((codes = calloc(n, sizeof(*codes))) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "qr parts");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((r = encode_max(&codes[i], (const uint8_t *)parts[i], strlen(parts[i]),
				    KLIC_QR_TERM_VERSION)) != 0)
			goto out;
	*out = codes;
	codes = NULL; /* transferred */
	*count = n;
	if (texts != NULL) {
		*texts = parts;
		parts = NULL; /* transferred */
	}
	r = 0;
out:
	klic_qr_free_parts(codes, n);
	klic_armor_parts_free(parts, n);
	free(bin);
	return r;
}
int klic_qr_fits(const uint8_t *data, size_t len)
{
	struct klic_qr *q = NULL;
	int r = klic_qr_encode(&q, data, len);
	klic_qr_free(q);
	return r;
}

void klic_qr_free(struct klic_qr *q)
{
	if (q == NULL)
		return;
	QRcode_free(q->code);
	free(q);
}

int klic_qr_version(const struct klic_qr *q)
{
	return q->code->version;
}

int klic_qr_width(const struct klic_qr *q)
{
	return q->code->width;
}

char klic_qr_level(const struct klic_qr *q)
{
	return q->level;
}

int klic_qr_dark(const struct klic_qr *q, int x, int y)
{
	int w = q->code->width;
	if (x < 0 || y < 0 || x >= w || y >= w)
		return 0;
	return q->code->data[(size_t)y * (size_t)w + (size_t)x] & 1;
}

/* ---- terminal ------------------------------------------------------------------ */

int klic_qr_render_text(char **out, size_t *outlen, const struct klic_qr *q)
{
	static const char on[] = "\033[30;107m", off[] = "\033[0m\n";
	/* light/light, dark/light, light/dark, dark/dark (top/bottom) */
	static const char *const cell[4] = {" ", "\xE2\x96\x80", "\xE2\x96\x84", "\xE2\x96\x88"};
	int side = q->code->width + 2 * KLIC_QR_QUIET, lines = (side + 1) / 2;
	size_t cap = (size_t)lines * (sizeof on + sizeof off + 3 * (size_t)side) + 1, o = 0;
	char *s;

	*out = NULL;
	*outlen = 0;
	if ((s = malloc(cap)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "qr text");
	for (int l = 0; l < lines; l++) {
		int y = 2 * l - KLIC_QR_QUIET;
		memcpy(s + o, on, sizeof on - 1);
		o += sizeof on - 1;
		for (int x = -KLIC_QR_QUIET; x < side - KLIC_QR_QUIET; x++) {
			int top = klic_qr_dark(q, x, y), bottom = klic_qr_dark(q, x, y + 1);
			const char *c = cell[top | bottom << 1];
			size_t n = strlen(c);
			memcpy(s + o, c, n);
			o += n;
		}
		memcpy(s + o, off, sizeof off - 1);
		o += sizeof off - 1;
	}
	s[o] = '\0';
	*out = s;
	*outlen = o;
	return 0;
}

/* ---- PNG ---------------------------------------------------------------------------- */

struct membuf {
	uint8_t *p;
	size_t n, cap;
	int overflow;
};

static void mb_write(png_structp png, png_bytep data, size_t len)
{
	struct membuf *mb = png_get_io_ptr(png);
	if (mb->overflow || len > PNG_MAX_BYTES - mb->n) {
		mb->overflow = 1;
		png_error(png, "PNG too large");
	}
	if (mb->n + len > mb->cap) {
		size_t cap = mb->cap ? mb->cap : 4096;
		uint8_t *np;
		while (cap < mb->n + len)
			cap *= 2;
		if ((np = realloc(mb->p, cap)) == NULL)
			png_error(png, "out of memory");
		mb->p = np;
		mb->cap = cap;
	}
	memcpy(mb->p + mb->n, data, len);
	mb->n += len;
}

static void mb_flush(png_structp png)
{
	(void)png;
}

/* Everything that may longjmp, in one frame whose locals are not changed
 * after setjmp(). */
static int png_write_all(png_structp png, png_infop info, struct membuf *mb,
			 const struct klic_qr *q, uint8_t *row, int px)
{
	if (setjmp(png_jmpbuf(png)))
		return klic_error_set(mb->overflow ? KLIC_ERR_TOO_BIG : KLIC_ERR_NOMEM,
				      "libpng failed to write the QR code");
	png_set_write_fn(png, mb, mb_write, mb_flush);
	png_set_IHDR(png, info, (png_uint_32)px, (png_uint_32)px, 1, PNG_COLOR_TYPE_GRAY,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < px; y++) {
		int my = y / KLIC_QR_PNG_SCALE - KLIC_QR_QUIET;
		memset(row, 0, ((size_t)px + 7) / 8);
		for (int x = 0; x < px; x++) {
			int mx = x / KLIC_QR_PNG_SCALE - KLIC_QR_QUIET;
			/* 1-bit gray: 1 is white */
			if (!klic_qr_dark(q, mx, my))
				row[x / 8] |= (uint8_t)(0x80 >> (x % 8));
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
	return 0;
}

int klic_qr_render_png(uint8_t **out, size_t *outlen, const struct klic_qr *q)
{
	int px = (q->code->width + 2 * KLIC_QR_QUIET) * KLIC_QR_PNG_SCALE, r;
	struct membuf mb = {NULL, 0, 0, 0};
	png_structp png = NULL;
	png_infop info = NULL;
	uint8_t *row = NULL;

	*out = NULL;
	*outlen = 0;
	if ((row = malloc(((size_t)px + 7) / 8)) == NULL ||
	    (png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL)) == NULL ||
	    (info = png_create_info_struct(png)) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "libpng");
		goto out;
	}
	if ((r = png_write_all(png, info, &mb, q, row, px)) != 0)
		goto out;
	*out = mb.p;
	mb.p = NULL; /* transferred */
	*outlen = mb.n;
	r = 0;
out:
	if (png != NULL)
		png_destroy_write_struct(&png, info != NULL ? &info : NULL);
	free(mb.p);
	free(row);
	return r;
}
