/* klic — ASCII armor for .kreq / .kresp bundles (normative description:
 * spec/ARMOR.md), so that a bundle survives being pasted into an e-mail
 * body or a chat:
 *
 *   -----BEGIN KLIC REQUEST-----
 *   <empty line>
 *   <base64 of the exact binary bundle, lines of 64>
 *   =<CRC-24 of the binary bundle, 4 base64 characters>
 *   -----END KLIC REQUEST-----
 *
 * (RESPONSE for a .kresp.)  Readers of bundles never call the decoder
 * themselves: klic_archive_read() accepts armored and binary input alike.
 * Library code: never prints, never exits.
 */
#ifndef KLIC_ARMOR_H
#define KLIC_ARMOR_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_ARMOR_LINE 64 /* base64 characters per line written */

/* OpenPGP's CRC-24 (RFC 4880 section 6.1): init 0xB704CE, polynomial
 * 0x1864CFB, over the binary bytes.  Returns the 24-bit value. */
uint32_t klic_crc24(const uint8_t *p, size_t len);

/* Standard base64 (RFC 4648 section 4, with '=' padding, no line breaks)
 * of in[0..len) into out, NUL-terminated.  outsz must be at least
 * 4 * ceil(len / 3) + 1, else KLIC_ERR_INVALID_ARG. */
int klic_base64_encode(char *out, size_t outsz, const uint8_t *in, size_t len);

/* Strict base64 decoding of exactly in[0..len) (no whitespace): length a
 * multiple of 4, only the alphabet, '=' padding only in the last quantum,
 * unused bits zero (canonical).  At most outsz bytes are written.
 * KLIC_ERR_ARMOR for bad input, KLIC_ERR_TOO_BIG when it would not fit. */
int klic_base64_decode(uint8_t *out, size_t outsz, size_t *outlen, const char *in, size_t len);

/* The armored form of a binary bundle of the given kind.  *out is a
 * NUL-terminated text owned by the caller, *outlen excludes the NUL.
 * KLIC_ERR_TOO_BIG when the armored text would exceed
 * KLIC_MAX_BUNDLE_BYTES (so a reader always accepts what was written). */
int klic_armor_encode(char **out, size_t *outlen, enum klic_bundle_kind kind, const uint8_t *bin,
		      size_t len);

/* 1 when buf looks like armored input (it does not start with the gzip
 * magic and holds the text "-----BEGIN KLIC " or a line that begins a
 * part, "KLIC REQUEST " or "KLIC RESPONSE " and a digit), else 0.  Decides only
 * which decoder runs; klic_armor_decode() checks everything. */
int klic_armor_detect(const uint8_t *buf, size_t len);

/* Decode an armored bundle strictly (spec/ARMOR.md section 3) into a new
 * buffer of at most KLIC_MAX_BUNDLE_BYTES bytes, owned by the caller.
 * Errors: KLIC_ERR_TOO_BIG (input over KLIC_MAX_BUNDLE_BYTES),
 * KLIC_ERR_TYPE_TAG (the armor of the other kind: a REQUEST where a
 * RESPONSE is expected or the reverse), KLIC_ERR_ARMOR (anything else:
 * missing or repeated BEGIN line, missing END line, armor headers, a
 * character outside base64, bad padding, checksum line missing or
 * mismatching; for parts: a malformed part line, a part without its
 * data line, parts of two bundles, a repeated or missing part, joined
 * bytes that do not match the digest). */
int klic_armor_decode(uint8_t **out, size_t *outlen, enum klic_bundle_kind kind,
		      const uint8_t *text, size_t len);

/* ---- numbered parts (spec/ARMOR.md section 5) ------------------------------
 * A bundle split into small texts, one per QR code that fits a terminal:
 *
 *   KLIC REQUEST 3/15 0a1b2c3d
 *   <base64 of this part's slice of the binary bundle>
 *
 * i/n numbers the part (1 <= i <= n <= KLIC_ARMOR_MAX_PARTS), the 8 hex
 * digits are the start of the SHA-256 of the whole binary bundle.
 * klic_armor_decode() joins parts given in one text (any order, blank lines
 * or zbarimg's "QR-Code:" prefix between them) and refuses a missing,
 * repeated or foreign part. */
#define KLIC_ARMOR_MAX_PARTS 99
#define KLIC_ARMOR_PART_DIGEST 8 /* hex digits of SHA-256 in every part line */

/* Split bin[0..len) into the fewest parts whose texts (header line, base64
 * line, each with its LF) are at most max_text bytes each, slices of equal
 * size (a multiple of 3 bytes) but the last.  *out is an array of *count
 * NUL-terminated texts, owned by the caller (klic_armor_parts_free).
 * KLIC_ERR_TOO_BIG when more than KLIC_ARMOR_MAX_PARTS parts are needed,
 * KLIC_ERR_INVALID_ARG when max_text cannot hold a part line and 3 bytes. */
int klic_armor_parts(char ***out, size_t *count, enum klic_bundle_kind kind, const uint8_t *bin,
		     size_t len, size_t max_text);
void klic_armor_parts_free(char **parts, size_t count);

#ifdef __cplusplus
}
#endif
#endif
