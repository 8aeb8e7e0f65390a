/* klic — a request as QR codes (libqrencode), for labs where only a phone
 * camera can carry data out: one code of the request's ASCII armor (for a
 * PNG), or numbered parts (spec/ARMOR.md section 5), one small code each,
 * that fit an 80x24 terminal.  8-bit mode, plain ASCII: it survives every
 * scanner app, and a phone can send the scanned text as an e-mail body,
 * which klic-admin reads as it is (joining the parts).  Rendering goes to memory; the caller prints
 * or writes it.  Library code: never prints, never exits. */
#ifndef KLIC_QR_H
#define KLIC_QR_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_QR_QUIET 4        /* quiet zone, modules on every side (ISO 18004) */
#define KLIC_QR_PNG_SCALE 4    /* pixels per module in PNG output */
#define KLIC_QR_MAX_BYTES 2953 /* 8-bit capacity of version 40 at level L */

/* Codes for a terminal of 80x24: version 5 (37 modules + 8 quiet = 45
 * columns, 23 lines of half blocks), one line left for the caption. */
#define KLIC_QR_TERM_VERSION 5
#define KLIC_QR_TERM_BYTES 106 /* 8-bit capacity of version 5 at level L */
#define KLIC_QR_TERM_COLS 45   /* 4 * KLIC_QR_TERM_VERSION + 17 + 2 * KLIC_QR_QUIET */
#define KLIC_QR_TERM_LINES 24  /* 23 lines of code, 1 of caption */

struct klic_qr;

/* Encode data[0..len) in 8-bit mode as a single symbol of the smallest
 * version that holds it at level L, with the highest error-correction level
 * that still fits that version.  KLIC_ERR_TOO_BIG (with a detail naming the
 * size) when it does not fit one QR code; *out owned by the caller. */
int klic_qr_encode(struct klic_qr **out, const uint8_t *data, size_t len);
void klic_qr_free(struct klic_qr *q);
/* 0 when data fits one QR code, else KLIC_ERR_TOO_BIG (as klic_qr_encode). */
int klic_qr_fits(const uint8_t *data, size_t len);

/* The bundle in an armored text as numbered parts (spec/ARMOR.md section
 * 5, klic_armor_parts), each encoded as one code of version at most
 * KLIC_QR_TERM_VERSION.  *out is an array of *count codes, owned by the
 * caller (klic_qr_free_parts); *texts (when not NULL) the parts' texts, in
 * the same order (klic_armor_parts_free). */
int klic_qr_encode_parts(struct klic_qr ***out, size_t *count, char ***texts,
			 enum klic_bundle_kind kind, const char *armor, size_t alen);
void klic_qr_free_parts(struct klic_qr **q, size_t count);

int klic_qr_version(const struct klic_qr *q); /* 1..40 */
int klic_qr_width(const struct klic_qr *q);   /* modules per side, without quiet zone */
char klic_qr_level(const struct klic_qr *q);  /* 'L', 'M', 'Q' or 'H' */
/* 1 when the module at (x, y) is dark; coordinates outside the symbol
 * (the quiet zone) are light. */
int klic_qr_dark(const struct klic_qr *q, int x, int y);

/* The symbol for a terminal: UTF-8 half blocks (two module rows per text
 * line), black on bright white set explicitly with ANSI SGR codes so that
 * dark and light themes show the same code, quiet zone included, every
 * line reset ("\033[0m") before its '\n'.  *out NUL-terminated, owned by
 * the caller. */
int klic_qr_render_text(char **out, size_t *outlen, const struct klic_qr *q);

/* The symbol as a 1-bit grayscale PNG (libpng), KLIC_QR_PNG_SCALE pixels per
 * module, quiet zone included.  *out owned by the caller. */
int klic_qr_render_png(uint8_t **out, size_t *outlen, const struct klic_qr *q);

#ifdef __cplusplus
}
#endif
#endif
