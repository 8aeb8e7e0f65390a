/* klic — ASCII armor of bundles: base64, CRC-24, strict decoding
 * (spec/ARMOR.md).  Everything is bounded by KLIC_MAX_BUNDLE_BYTES: the
 * armored text a reader accepts and the armored text a writer produces.
 *
 * Decoding finds the one BEGIN line, the matching END line, and decodes
 * the lines between them: base64 lines (whitespace around them and CRLF
 * line ends tolerated, empty lines ignored), then the checksum line.  When
 * that fails and the block holds "=3D", the block was quoted-printable
 * encoded by a mail client: the two forms a mail client produces ("=3D" for
 * '=', '=' before a line end for a soft line break) are undone and the
 * block is decoded once more.  A valid armor and its quoted-printable form
 * differ on the checksum line ("=" vs "=3D"), so at most one of the two
 * decodings can succeed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_armor.h"

#define CRC24_INIT 0xB704CEu
#define CRC24_POLY 0x1864CFBu

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char begin_prefix[] = "-----BEGIN KLIC ";
static const char dashes[] = "-----";

uint32_t klic_crc24(const uint8_t *p, size_t len)
{
	uint32_t crc = CRC24_INIT;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint32_t)p[i] << 16;
		for (int b = 0; b < 8; b++) {
			crc <<= 1;
			if (crc & 0x1000000u)
				crc ^= CRC24_POLY;
		}
	}
	return crc & 0xFFFFFFu;
}

/* 0..63, or -1 for a byte outside the alphabet (including '='). */
static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static size_t b64_len(size_t n)
{
	return (n / 3 + (n % 3 != 0)) * 4;
}

int klic_base64_encode(char *out, size_t outsz, const uint8_t *in, size_t len)
{
	size_t o = 0, i = 0;

	if (out == NULL || (in == NULL && len > 0) || len > (SIZE_MAX / 4) * 3 - 3 ||
	    outsz < b64_len(len) + 1)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "base64: output buffer too small");
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

/* One byte of base64 text for an error message: itself when printable
 * and not a space, else '?'. */
static char shown_char(uint8_t c)
{
	return c != ' ' && klic_is_printable((const char *)&c, 1) ? (char)c : '?';
}

int klic_base64_decode(uint8_t *out, size_t outsz, size_t *outlen, const char *in, size_t len)
{
	size_t o = 0;

	*outlen = 0;
	if (in == NULL && len > 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "base64: NULL input");
	if (len % 4 != 0)
		return klic_error_set(KLIC_ERR_ARMOR, "base64 text of %zu characters is cut short",
				      len);
	for (size_t i = 0; i < len; i += 4) {
		const uint8_t *q = (const uint8_t *)in + i;
		int v[4], pad = 0;
		size_t n;

		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(q[k]);
			if (v[k] < 0) {
				/* '=' only as the last one or two characters */
				if (q[k] != '=' || i + 4 != len || k < 2 || (k == 2 && q[3] != '='))
					return klic_error_set(KLIC_ERR_ARMOR,
							      "base64: unexpected '%c' at %zu",
							      shown_char(q[k]), i + (size_t)k);
				v[k] = 0;
				pad++;
			}
		}
		/* canonical: the bits the padding leaves unused are zero */
		if ((pad == 1 && (v[2] & 0x3) != 0) || (pad == 2 && (v[1] & 0xF) != 0))
			return klic_error_set(KLIC_ERR_ARMOR, "base64: non-zero padding bits");
		n = 3 - (size_t)pad;
		if (outsz - o < n)
			return klic_error_set(KLIC_ERR_TOO_BIG,
					      "decoded armor larger than %zu bytes", outsz);
		{
			uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
				     (uint32_t)v[2] << 6 | (uint32_t)v[3];
			out[o++] = (uint8_t)(w >> 16);
			if (n > 1)
				out[o++] = (uint8_t)(w >> 8);
			if (n > 2)
				out[o++] = (uint8_t)w;
		}
	}
	*outlen = o;
	return 0;
}

static const char *kind_label(enum klic_bundle_kind kind)
{
	return kind == KLIC_KIND_REQUEST    ? "REQUEST"
	       : kind == KLIC_KIND_RESPONSE ? "RESPONSE"
					    : NULL;
}

int klic_armor_encode(char **out, size_t *outlen, enum klic_bundle_kind kind, const uint8_t *bin,
		      size_t len)
{
	const char *label = kind_label(kind);
	char *text = NULL, *b64 = NULL, begin[40], end[40], crc_s[5];
	size_t blen, lines, total, o = 0;
	uint32_t crc;
	uint8_t crc_b[3];
	int r = KLIC_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (out == NULL || outlen == NULL || label == NULL || bin == NULL || len == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "armor_encode: bad argument");
	if (len > KLIC_MAX_BUNDLE_BYTES)
		return klic_error_set(KLIC_ERR_TOO_BIG, "bundle larger than %u bytes",
				      KLIC_MAX_BUNDLE_BYTES);
	(void)snprintf(begin, sizeof begin, "-----BEGIN KLIC %s-----\n\n", label);
	(void)snprintf(end, sizeof end, "-----END KLIC %s-----\n", label);
	blen = b64_len(len);
	lines = blen / KLIC_ARMOR_LINE + (blen % KLIC_ARMOR_LINE != 0);
	total = strlen(begin) + blen + lines + 6 /* "=XXXX\n" */ + strlen(end);
	if (total > KLIC_MAX_BUNDLE_BYTES)
		return klic_error_set(KLIC_ERR_TOO_BIG, "armored bundle larger than %u bytes",
				      KLIC_MAX_BUNDLE_BYTES);
	if ((b64 = malloc(blen + 1)) == NULL || (text = malloc(total + 1)) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "armor");
		goto out;
	}
	if ((r = klic_base64_encode(b64, blen + 1, bin, len)) != 0)
		goto out;
	crc = klic_crc24(bin, len);
	crc_b[0] = (uint8_t)(crc >> 16);
	crc_b[1] = (uint8_t)(crc >> 8);
	crc_b[2] = (uint8_t)crc;
	if ((r = klic_base64_encode(crc_s, sizeof crc_s, crc_b, 3)) != 0)
		goto out;
	memcpy(text + o, begin, strlen(begin));
	o += strlen(begin);
	for (size_t i = 0; i < blen; i += KLIC_ARMOR_LINE) {
		size_t n = blen - i < KLIC_ARMOR_LINE ? blen - i : KLIC_ARMOR_LINE;
		memcpy(text + o, b64 + i, n);
		o += n;
		text[o++] = '\n';
	}
	text[o++] = '=';
	memcpy(text + o, crc_s, 4);
	o += 4;
	text[o++] = '\n';
	memcpy(text + o, end, strlen(end));
	o += strlen(end);
	if (o != total) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "armor: length %zu != %zu", o, total);
		goto out;
	}
	text[o] = '\0';
	*out = text;
	text = NULL; /* transferred */
	*outlen = o;
	r = 0;
out:
	free(b64);
	free(text);
	return r;
}

/* ---- numbered parts --------------------------------------------------------- */

static const char part_qr_prefix[] = "QR-Code:"; /* zbarimg without --raw */

void klic_armor_parts_free(char **parts, size_t count)
{
	if (parts == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free(parts[i]);
	free(parts);
}

/* "0a1b2c3d": the first KLIC_ARMOR_PART_DIGEST hex digits of SHA-256. */
static int part_digest(char out[KLIC_ARMOR_PART_DIGEST + 1], const uint8_t *bin, size_t len)
{
	char hex[KLIC_SHA256_HEX_LEN + 1];
	int r = klic_sha256_hex(hex, bin, len);
	if (r != 0)
		return r;
	memcpy(out, hex, KLIC_ARMOR_PART_DIGEST);
	out[KLIC_ARMOR_PART_DIGEST] = '\0';
	return 0;
}

int klic_armor_parts(char ***out, size_t *count, enum klic_bundle_kind kind, const uint8_t *bin,
		     size_t len, size_t max_text)
{
	const char *label = kind_label(kind);
	char **parts = NULL, dig[KLIC_ARMOR_PART_DIGEST + 1];
	size_t chunk = 0, n = 0, made = 0;
	int r = KLIC_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (count != NULL)
		*count = 0;
	if (out == NULL || count == NULL || label == NULL || bin == NULL || len == 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "armor_parts: bad argument");
	if (len > KLIC_MAX_BUNDLE_BYTES)
		return klic_error_set(KLIC_ERR_TOO_BIG, "bundle larger than %u bytes",
				      KLIC_MAX_BUNDLE_BYTES);
	/* "KLIC " label " " i "/" n " " digest LF, base64 LF; i and n of
	 * 1 digit, else of 2 */
	for (size_t d = 1; d <= 2 && n == 0; d++) {
		size_t head = 5 + strlen(label) + 1 + d + 1 + d + 1 + KLIC_ARMOR_PART_DIGEST + 1;
		if (max_text < head + 4 + 1)
			return klic_error_set(KLIC_ERR_INVALID_ARG,
					      "armor_parts: %zu bytes cannot hold a part",
					      max_text);
		chunk = (max_text - head - 1) / 4 * 3;
		if ((len + chunk - 1) / chunk <= (d == 1 ? 9u : KLIC_ARMOR_MAX_PARTS))
			n = (len + chunk - 1) / chunk;
	}
	if (n == 0)
		return klic_error_set(KLIC_ERR_TOO_BIG,
				      "%zu bytes need more than %d parts of %zu bytes", len,
				      KLIC_ARMOR_MAX_PARTS, max_text);
	/* slices of equal size, a multiple of 3 bytes (no padding but the last) */
	chunk = ((len + n - 1) / n + 2) / 3 * 3;
	n = (len + chunk - 1) / chunk;
	if ((r = part_digest(dig, bin, len)) != 0)
		return r;
	if ((parts = calloc(n, sizeof(*parts))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "armor parts");
	for (made = 0; made < n; made++) {
		size_t off = made * chunk, sl = len - off < chunk ? len - off : chunk;
		size_t cap = max_text + 1, o;
		int h;

		if ((parts[made] = malloc(cap)) == NULL) {
			r = klic_error_set(KLIC_ERR_NOMEM, "armor parts");
			goto out;
		}
		h = snprintf(parts[made], cap, "KLIC %s %zu/%zu %s\n", label, made + 1, n, dig);
		if (h < 0 || (size_t)h + b64_len(sl) + 1 > max_text) {
			r = klic_error_set(KLIC_ERR_INTERNAL, "armor parts: part %zu too long",
					   made + 1);
			goto out;
		}
		o = (size_t)h;
		if ((r = klic_base64_encode(parts[made] + o, cap - o, bin + off, sl)) != 0)
			goto out;
		o += b64_len(sl);
		parts[made][o++] = '\n';
		parts[made][o] = '\0';
	}
	*out = parts;
	parts = NULL; /* transferred */
	*count = n;
	r = 0;
out:
	klic_armor_parts_free(parts, n);
	return r;
}

/* ---- decoding -------------------------------------------------------------- */

/* One line of text: [p, p + n) without its line end, trimmed of blanks
 * (space, tab) on both sides and of a CR before the line end. */
struct line {
	const uint8_t *p;
	size_t n;
};

static int is_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Next line of buf[*pos..len); returns 0 at the end. */
static int next_line(struct line *l, const uint8_t *buf, size_t len, size_t *pos)
{
	const uint8_t *s, *nl;
	size_t n;

	if (*pos >= len)
		return 0;
	s = buf + *pos;
	nl = memchr(s, '\n', len - *pos);
	n = nl != NULL ? (size_t)(nl - s) : len - *pos;
	*pos += n + (nl != NULL);
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	l->p = s;
	l->n = n;
	return 1;
}

static int line_is(const struct line *l, const char *s)
{
	return l->n == strlen(s) && memcmp(l->p, s, l->n) == 0;
}

static int line_starts(const struct line *l, const char *s)
{
	return l->n >= strlen(s) && memcmp(l->p, s, strlen(s)) == 0;
}

/* A line that begins a part: after an optional "QR-Code:", "KLIC REQUEST "
 * or "KLIC RESPONSE " and a digit.  *rest is the text after "KLIC ". */
static int part_line(const struct line *l, struct line *rest)
{
	struct line t = *l;
	size_t pl = sizeof part_qr_prefix - 1;

	if (t.n >= pl && memcmp(t.p, part_qr_prefix, pl) == 0) {
		t.p += pl;
		t.n -= pl;
	}
	if (!line_starts(&t, "KLIC "))
		return 0;
	t.p += 5;
	t.n -= 5;
	if (!((line_starts(&t, "REQUEST ") && t.n > 8 && t.p[8] >= '0' && t.p[8] <= '9') ||
	      (line_starts(&t, "RESPONSE ") && t.n > 9 && t.p[9] >= '0' && t.p[9] <= '9')))
		return 0;
	if (rest != NULL)
		*rest = t;
	return 1;
}

int klic_armor_detect(const uint8_t *buf, size_t len)
{
	struct line l;
	size_t pos = 0;

	if (buf == NULL || len < sizeof(begin_prefix) - 1)
		return 0;
	if (buf[0] == 0x1f && buf[1] == 0x8b)
		return 0; /* gzip: a binary bundle */
	if (memmem(buf, len, begin_prefix, sizeof(begin_prefix) - 1) != NULL)
		return 1;
	if (memmem(buf, len, "KLIC RE", 7) == NULL)
		return 0;
	while (next_line(&l, buf, len, &pos))
		if (part_line(&l, NULL))
			return 1;
	return 0;
}

/* A decimal number of 1 or 2 digits, no leading zero, 1..99; advances. */
static int part_number(size_t *v, const struct line *t, size_t *i)
{
	size_t k = *i, x = 0;

	if (k >= t->n || t->p[k] < '1' || t->p[k] > '9')
		return -1;
	while (k < t->n && t->p[k] >= '0' && t->p[k] <= '9' && k - *i < 3)
		x = x * 10 + (size_t)(t->p[k++] - '0');
	if (k - *i > 2)
		return -1;
	*v = x;
	*i = k;
	return 0;
}

struct part {
	size_t i, n;
	enum klic_bundle_kind kind;
	char dig[KLIC_ARMOR_PART_DIGEST + 1];
	struct line data;
};

/* Parse "REQUEST i/n digest" (rest of a part line, after "KLIC "). */
static int part_parse(struct part *p, const struct line *t)
{
	size_t k;

	if (line_starts(t, "REQUEST ")) {
		p->kind = KLIC_KIND_REQUEST;
		k = 8;
	} else {
		p->kind = KLIC_KIND_RESPONSE;
		k = 9;
	}
	if (part_number(&p->i, t, &k) != 0 || k >= t->n || t->p[k++] != '/' ||
	    part_number(&p->n, t, &k) != 0 || k >= t->n || t->p[k++] != ' ' ||
	    t->n - k != KLIC_ARMOR_PART_DIGEST ||
	    !klic_is_hex((const char *)t->p + k, KLIC_ARMOR_PART_DIGEST) || p->i > p->n)
		return -1;
	memcpy(p->dig, t->p + k, KLIC_ARMOR_PART_DIGEST);
	p->dig[KLIC_ARMOR_PART_DIGEST] = '\0';
	return 0;
}

/* One bundle: one type, one count, one digest, every number once; byno[i]
 * is then part i. */
static int parts_one_bundle(struct part **byno, struct part *parts, size_t np)
{
	for (size_t k = 0; k < np; k++) {
		struct part *p = &parts[k];
		if (p->kind != parts[0].kind)
			return klic_error_set(KLIC_ERR_ARMOR,
					      "parts of a KLIC REQUEST and of a KLIC RESPONSE: "
					      "give the parts of one bundle only");
		if (strcmp(p->dig, parts[0].dig) != 0 || p->n != parts[0].n)
			return klic_error_set(KLIC_ERR_ARMOR,
					      "part %zu/%zu %s is of another bundle than part "
					      "%zu/%zu %s: give the parts of one bundle only",
					      p->i, p->n, p->dig, parts[0].i, parts[0].n,
					      parts[0].dig);
		if (byno[p->i] != NULL)
			return klic_error_set(KLIC_ERR_ARMOR, "part %zu/%zu is given twice", p->i,
					      p->n);
		byno[p->i] = p;
	}
	return 0;
}

/* Join numbered parts (spec/ARMOR.md section 5.2). */
static int decode_parts(uint8_t **out, size_t *outlen, enum klic_bundle_kind kind,
			const uint8_t *text, size_t len, size_t pos0)
{
	struct part *parts = NULL, *byno[KLIC_ARMOR_MAX_PARTS + 1] = {NULL};
	struct line l, rest;
	size_t pos = pos0, np = 0, total = 0, o = 0, lineno = 0;
	uint8_t *bin = NULL;
	char dig[KLIC_ARMOR_PART_DIGEST + 1];
	int r = KLIC_ERR_INTERNAL;

	*out = NULL;
	*outlen = 0;
	if ((parts = calloc(KLIC_ARMOR_MAX_PARTS, sizeof(*parts))) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "armor parts");
	while (next_line(&l, text, len, &pos)) {
		struct part *p;
		size_t dpos;

		lineno++;
		if (!part_line(&l, &rest))
			continue;
		if (np == KLIC_ARMOR_MAX_PARTS) {
			r = klic_error_set(KLIC_ERR_ARMOR, "more than %d QR part lines",
					   KLIC_ARMOR_MAX_PARTS);
			goto out;
		}
		p = &parts[np++];
		if (part_parse(p, &rest) != 0) {
			r = klic_error_set(KLIC_ERR_ARMOR,
					   "line %zu is not a part line \"KLIC %s i/n digest\": "
					   "\"%.*s\"",
					   lineno, kind_label(kind), (int)(l.n > 40 ? 40 : l.n),
					   (const char *)l.p);
			goto out;
		}
		/* the data: the next non-empty line */
		dpos = pos;
		p->data.n = 0;
		while (next_line(&p->data, text, len, &dpos) && p->data.n == 0)
			;
		if (p->data.n == 0 || part_line(&p->data, NULL)) {
			r = klic_error_set(KLIC_ERR_ARMOR, "part %zu/%zu has no data line after it",
					   p->i, p->n);
			goto out;
		}
	}
	if ((r = parts_one_bundle(byno, parts, np)) != 0)
		goto out;
	if (parts[0].kind != kind) {
		r = klic_error_set(KLIC_ERR_TYPE_TAG,
				   "these are the QR parts of a KLIC %s; a KLIC %s is expected "
				   "here",
				   kind_label(parts[0].kind), kind_label(kind));
		goto out;
	}
	for (size_t i = 1; i <= parts[0].n; i++) {
		if (byno[i] == NULL) {
			size_t missing = 0;
			for (size_t j = 1; j <= parts[0].n; j++)
				missing += byno[j] == NULL;
			r = klic_error_set(KLIC_ERR_ARMOR,
					   "part %zu/%zu is missing (%zu of %zu parts given)", i,
					   parts[0].n, parts[0].n - missing, parts[0].n);
			goto out;
		}
		total += byno[i]->data.n;
	}
	if (total / 4 * 3 > KLIC_MAX_BUNDLE_BYTES) {
		r = klic_error_set(KLIC_ERR_TOO_BIG, "joined parts larger than %u bytes",
				   KLIC_MAX_BUNDLE_BYTES);
		goto out;
	}
	if ((bin = malloc(total / 4 * 3 + 3)) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "armor parts");
		goto out;
	}
	for (size_t i = 1; i <= parts[0].n; i++) {
		size_t got = 0;
		const struct line *d = &byno[i]->data;
		if ((r = klic_base64_decode(bin + o, total / 4 * 3 + 3 - o, &got,
					    (const char *)d->p, d->n)) != 0) {
			char det[200];
			(void)snprintf(det, sizeof det, "%s", klic_error_detail());
			r = klic_error_set(r, "part %zu/%zu: %s", i, parts[0].n, det);
			goto out;
		}
		o += got;
	}
	if ((r = part_digest(dig, bin, o)) != 0)
		goto out;
	if (strcmp(dig, parts[0].dig) != 0) {
		r = klic_error_set(KLIC_ERR_ARMOR,
				   "the joined parts do not match their digest %s (%s): a part "
				   "was changed or damaged on the way",
				   parts[0].dig, dig);
		goto out;
	}
	*out = bin;
	bin = NULL; /* transferred */
	*outlen = o;
	r = 0;
out:
	free(bin);
	free(parts);
	return r;
}

/* Decode the lines of one block (between BEGIN and END): base64 lines,
 * then the checksum line as the last non-empty line. */
static int decode_block(uint8_t **out, size_t *outlen, const uint8_t *blk, size_t blen)
{
	struct line l, crc_line = {NULL, 0};
	char *b64 = NULL;
	uint8_t *bin = NULL, crc_b[3];
	size_t pos = 0, n64 = 0, nbin = 0, lineno = 0, crc_lineno = 0, cap;
	int r = KLIC_ERR_INTERNAL;

	*out = NULL;
	*outlen = 0;
	/* the checksum line: the last non-empty line of the block */
	while (next_line(&l, blk, blen, &pos)) {
		lineno++;
		if (l.n > 0) {
			crc_line = l;
			crc_lineno = lineno;
		}
	}
	if (crc_line.p == NULL)
		return klic_error_set(KLIC_ERR_ARMOR, "no data between the BEGIN and END lines");
	if (crc_line.n != 5 || crc_line.p[0] != '=') {
		return klic_error_set(KLIC_ERR_ARMOR,
				      "the line before the END line is not a "
				      "checksum line (\"=\" and 4 base64 characters)");
	}
	if ((b64 = malloc(blen + 1)) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "armor");
		goto out;
	}
	pos = 0;
	lineno = 0;
	while (next_line(&l, blk, blen, &pos) && ++lineno < crc_lineno) {
		for (size_t i = 0; i < l.n; i++) {
			uint8_t c = l.p[i];
			if (b64_value(c) < 0 && c != '=') {
				r = klic_error_set(KLIC_ERR_ARMOR, "%s (line %zu after BEGIN)",
						   c == ':' ? "armor header lines are not allowed"
							    : "a character that is not base64",
						   lineno);
				goto out;
			}
		}
		memcpy(b64 + n64, l.p, l.n);
		n64 += l.n;
	}
	if (n64 == 0) {
		r = klic_error_set(KLIC_ERR_ARMOR, "no data before the checksum line");
		goto out;
	}
	cap = n64 / 4 * 3 + 3;
	if (cap > KLIC_MAX_BUNDLE_BYTES)
		cap = KLIC_MAX_BUNDLE_BYTES;
	if ((bin = malloc(cap)) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "armor");
		goto out;
	}
	if ((r = klic_base64_decode(bin, cap, &nbin, b64, n64)) != 0)
		goto out;
	if ((r = klic_base64_decode(crc_b, sizeof crc_b, &n64, (const char *)crc_line.p + 1, 4)) !=
		0 ||
	    n64 != 3) {
		r = klic_error_set(KLIC_ERR_ARMOR, "malformed checksum line");
		goto out;
	}
	if (((uint32_t)crc_b[0] << 16 | (uint32_t)crc_b[1] << 8 | crc_b[2]) !=
	    klic_crc24(bin, nbin)) {
		r = klic_error_set(KLIC_ERR_ARMOR,
				   "checksum mismatch: the text was changed or damaged on the way");
		goto out;
	}
	*out = bin;
	bin = NULL; /* transferred */
	*outlen = nbin;
	r = 0;
out:
	free(b64);
	free(bin);
	return r;
}

/* Undo quoted-printable as mail clients apply it to an armor block: "=3D"
 * is '=', '=' followed by optional blanks and a line end (LF or CRLF) is a
 * soft line break; any other '=' is refused.  out has room for len bytes. */
static int qp_undo(uint8_t *out, size_t *outlen, const uint8_t *in, size_t len)
{
	size_t o = 0, i = 0;

	while (i < len) {
		size_t j;
		if (in[i] != '=') {
			out[o++] = in[i++];
			continue;
		}
		if (len - i >= 3 && in[i + 1] == '3' && in[i + 2] == 'D') {
			out[o++] = '=';
			i += 3;
			continue;
		}
		for (j = i + 1; j < len && (in[j] == ' ' || in[j] == '\t'); j++)
			;
		if (j < len && in[j] == '\r')
			j++;
		if (j < len && in[j] == '\n') {
			i = j + 1;
			continue;
		}
		return klic_error_set(KLIC_ERR_ARMOR,
				      "quoted-printable: '=' at offset %zu is neither "
				      "\"=3D\" nor a soft line break",
				      i);
	}
	*outlen = o;
	return 0;
}

int klic_armor_decode(uint8_t **out, size_t *outlen, enum klic_bundle_kind kind,
		      const uint8_t *text, size_t len)
{
	const char *want = kind_label(kind);
	char end_want[40];
	struct line l, rest, begin = {NULL, 0};
	size_t pos = 0, nbegin = 0, nparts = 0, nvalid = 0, blk_start = 0, blk_end = 0, skip = 0;
	uint8_t *qp = NULL;
	int r = KLIC_ERR_INTERNAL, found_end = 0;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (out == NULL || outlen == NULL || want == NULL || (text == NULL && len > 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "armor_decode: bad argument");
	if (len > KLIC_MAX_BUNDLE_BYTES)
		return klic_error_set(KLIC_ERR_TOO_BIG, "armored bundle larger than %u bytes",
				      KLIC_MAX_BUNDLE_BYTES);
	if (memchr(text, '\0', len) != NULL)
		return klic_error_set(KLIC_ERR_ARMOR, "the text contains a NUL byte");
	/* a UTF-8 byte order mark (as some editors save) is not text */
	if (len >= 3 && text[0] == 0xEF && text[1] == 0xBB && text[2] == 0xBF)
		skip = 3;
	/* exactly one BEGIN line in the whole text */
	pos = skip;
	while (next_line(&l, text, len, &pos)) {
		if (line_starts(&l, begin_prefix)) {
			if (nbegin++ == 0) {
				begin = l;
				blk_start = pos;
			}
		} else if (part_line(&l, &rest)) {
			struct part pt;
			nparts++;
			nvalid += part_parse(&pt, &rest) == 0;
		}
	}
	/* a line of an e-mail around a block may begin like a part line
	 * ("KLIC REQUEST 2 for the lab"); a whole part line may not */
	if (nvalid > 0 && nbegin > 0)
		return klic_error_set(KLIC_ERR_ARMOR,
				      "both an armor block (-----BEGIN KLIC) and QR part lines "
				      "(KLIC ... i/n): give one of them only");
	if (nparts > 0 && nbegin == 0) {
		if ((r = decode_parts(out, outlen, kind, text, len, skip)) == 0)
			klic_error_clear();
		return r;
	}
	if (nbegin == 0)
		return klic_error_set(KLIC_ERR_ARMOR,
				      "no line of its own starts with "
				      "\"-----BEGIN KLIC \" (quoted or run into other text?)");
	if (nbegin > 1)
		return klic_error_set(KLIC_ERR_ARMOR,
				      "%zu BEGIN KLIC lines: give one armored block only", nbegin);
	if (!line_is(&begin, "-----BEGIN KLIC REQUEST-----") &&
	    !line_is(&begin, "-----BEGIN KLIC RESPONSE-----"))
		return klic_error_set(KLIC_ERR_ARMOR, "unknown armor type: %.*s",
				      (int)(begin.n > 40 ? 40 : begin.n), (const char *)begin.p);
	if (!line_is(&begin, kind == KLIC_KIND_REQUEST ? "-----BEGIN KLIC REQUEST-----"
						       : "-----BEGIN KLIC RESPONSE-----"))
		return klic_error_set(KLIC_ERR_TYPE_TAG,
				      "this is an armored KLIC %s; a KLIC %s is "
				      "expected here",
				      kind == KLIC_KIND_REQUEST ? "RESPONSE" : "REQUEST", want);
	(void)snprintf(end_want, sizeof end_want, "-----END KLIC %s-----", want);
	/* the END line: the first line after BEGIN that starts with dashes */
	pos = blk_start;
	for (;;) {
		size_t at = pos;
		if (!next_line(&l, text, len, &pos))
			break;
		if (line_starts(&l, dashes)) {
			if (!line_is(&l, end_want))
				return klic_error_set(
				    KLIC_ERR_ARMOR, "expected \"%s\", found \"%.*s\"", end_want,
				    (int)(l.n > 40 ? 40 : l.n), (const char *)l.p);
			blk_end = at;
			found_end = 1;
			break;
		}
	}
	if (!found_end)
		return klic_error_set(KLIC_ERR_ARMOR, "no \"%s\" line (the text was cut short?)",
				      end_want);
	r = decode_block(out, outlen, text + blk_start, blk_end - blk_start);
	if (r != 0 && r != KLIC_ERR_NOMEM &&
	    memmem(text + blk_start, blk_end - blk_start, "=3D", 3) != NULL) {
		/* a mail client's quoted-printable form: undo it, decode again */
		size_t qlen = 0;
		int first = r;
		char first_detail[200];

		(void)snprintf(first_detail, sizeof first_detail, "%s", klic_error_detail());
		if ((qp = malloc(blk_end - blk_start + 1)) == NULL)
			return klic_error_set(KLIC_ERR_NOMEM, "armor");
		if (qp_undo(qp, &qlen, text + blk_start, blk_end - blk_start) != 0) {
			r = klic_error_set(first, "%s", first_detail);
		} else if ((r = decode_block(out, outlen, qp, qlen)) != 0) {
			char d[400];
			(void)snprintf(d, sizeof d, "%s", klic_error_detail());
			r = klic_error_set(r, "%s (quoted-printable undone)", d);
		}
		free(qp);
	}
	if (r == 0)
		klic_error_clear();
	return r;
}
