/* klic — the .lic license: file names, the license a name selects in a
 * signed response, and the strict clear-signed shape (spec/PROTOCOL.md 3.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"
#include "klic_internal.h"

int klic_license_filename(char out[KLIC_MAX_NAME_LEN + 1], const char *product,
			  const char *machine_id, unsigned k)
{
	int n;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "license_filename: NULL argument");
	out[0] = '\0';
	if (klic_product_check(product) != 0)
		return KLIC_ERR_FIELD;
	if (klic_machine_id_check(machine_id) != 0)
		return KLIC_ERR_MACHINE_ID;
	if (k < 1 || k > KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_FIELD, "license file index %u out of range 1..%d", k,
				      KLIC_MAX_SEATS);
	if (k == 1)
		n = snprintf(out, KLIC_MAX_NAME_LEN + 1, "%s_%s.lic", product, machine_id);
	else
		n = snprintf(out, KLIC_MAX_NAME_LEN + 1, "%s_%s_%u.lic", product, machine_id, k);
	if (n < 0 || n > KLIC_MAX_NAME_LEN)
		return klic_error_set(KLIC_ERR_INTERNAL, "license file name too long");
	return 0;
}

/* "KRE_<id>.lic" or "KRE_<id>_<k>.lic" (k 2..64, no leading zero). */
int klic_license_name_parse(unsigned *k, char product[4], char machine_id[KLIC_MACHINE_ID_LEN + 1],
			    const char *name)
{
	char id[KLIC_MACHINE_ID_LEN + 1];
	size_t len, rest;
	const char *p;
	unsigned idx;

	if (name == NULL)
		return KLIC_ERR_LICENSE_NAME;
	len = strnlen(name, KLIC_MAX_NAME_LEN + 1);
	if (len > KLIC_MAX_NAME_LEN || len < 4 + KLIC_MACHINE_ID_LEN + 4)
		return KLIC_ERR_LICENSE_NAME;
	if (strncmp(name, "KRE_", 4) != 0 && strncmp(name, "KSE_", 4) != 0)
		return KLIC_ERR_LICENSE_NAME;
	memcpy(id, name + 4, KLIC_MACHINE_ID_LEN);
	id[KLIC_MACHINE_ID_LEN] = '\0';
	if (klic_machine_id_check(id) != 0) {
		klic_error_clear();
		return KLIC_ERR_LICENSE_NAME;
	}
	p = name + 4 + KLIC_MACHINE_ID_LEN;
	rest = len - 4 - KLIC_MACHINE_ID_LEN;
	if (rest == 4 && strcmp(p, ".lic") == 0) {
		idx = 1;
	} else if (rest < 6 || p[0] != '_' || p[1] < '1' || p[1] > '9') {
		return KLIC_ERR_LICENSE_NAME;
	} else if (rest == 6 && strcmp(p + 2, ".lic") == 0 && p[1] >= '2') {
		idx = (unsigned)(p[1] - '0'); /* _2 .. _9 */
	} else if (rest == 7 && p[2] >= '0' && p[2] <= '9' && strcmp(p + 3, ".lic") == 0) {
		idx = (unsigned)(p[1] - '0') * 10 + (unsigned)(p[2] - '0');
		if (idx > KLIC_MAX_SEATS)
			return KLIC_ERR_LICENSE_NAME;
	} else {
		return KLIC_ERR_LICENSE_NAME;
	}
	if (k != NULL)
		*k = idx;
	if (product != NULL) {
		memcpy(product, name, 3);
		product[3] = '\0';
	}
	if (machine_id != NULL)
		memcpy(machine_id, id, sizeof(id));
	return 0;
}

int klic_license_from_response(struct klic_license *out, const struct klic_response *r,
			       const char *filename)
{
	const struct klic_response_entry *e = NULL;
	struct klic_license l;

	if (out == NULL || r == NULL || filename == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "license: NULL argument");
	memset(out, 0, sizeof(*out));
	if (strcmp(r->status, KLIC_STATUS_ISSUED) != 0 || r->n_licenses == 0)
		return klic_error_set(KLIC_ERR_FIELD, "a denial is not a license");
	for (size_t i = 0; i < r->n_licenses && i < KLIC_MAX_SEATS; i++) {
		if (strcmp(r->lic[i].file, filename) == 0) {
			e = &r->lic[i];
			break;
		}
	}
	if (e == NULL)
		return klic_error_set(
		    KLIC_ERR_LICENSE_NAME, "the license grants %zu file name(s), none is \"%.64s\"",
		    r->n_licenses,
		    klic_is_printable(filename, strnlen(filename, 64)) ? filename : "?");
	memset(&l, 0, sizeof(l));
	memcpy(l.license_id, e->license_id, sizeof(l.license_id));
	memcpy(l.file, e->file, sizeof(l.file));
	memcpy(l.product, r->product, sizeof(l.product));
	memcpy(l.machine_id, r->machine_id, sizeof(l.machine_id));
	l.seat = e->seat;
	l.seats = r->seats;
	l.issued = r->created;
	l.expires = r->expires;
	memcpy(l.issuer_org, r->issuer_org, sizeof(l.issuer_org));
	memcpy(l.issuer_fpr, r->issuer_fpr, sizeof(l.issuer_fpr));
	memcpy(l.member_fpr, r->member_fpr, sizeof(l.member_fpr));
	memcpy(l.request_digest, r->request_digest, sizeof(l.request_digest));
	memcpy(l.entitlement_id, r->entitlement_id, sizeof(l.entitlement_id));
	*out = l;
	return 0;
}

/* ---- clear-signed shape --------------------------------------------------- */

static const char begin_msg[] = "-----BEGIN PGP SIGNED MESSAGE-----\n";
static const char begin_sig[] = "-----BEGIN PGP SIGNATURE-----\n";
static const char end_sig[] = "-----END PGP SIGNATURE-----\n";
static const char *const hash_lines[] = {"Hash: SHA256\n", "Hash: SHA384\n", "Hash: SHA512\n"};

static int is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static int fmt_err(const char *what)
{
	return klic_error_set(KLIC_ERR_LICENSE_FORMAT, "%s", what);
}

/* Does buf[pos..len) start with the string s? */
static int starts(const uint8_t *buf, size_t len, size_t pos, const char *s)
{
	size_t n = strlen(s);
	return pos <= len && len - pos >= n && memcmp(buf + pos, s, n) == 0;
}

/* A bundle given where a license is expected: "wrong document type" (spec
 * 3.5), decided from the leading bytes.  The gzip bytes do not say which
 * bundle without inflating them, which this library does not do. */
static int bundle_not_license(const uint8_t *buf, size_t len)
{
	const char *what = NULL;

	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
		what = "a bundle (.kreq or .kresp, gzip)";
	else if (starts(buf, len, 0, "-----BEGIN KLIC REQUEST-----"))
		what = "an armored request (.kreq)";
	else if (starts(buf, len, 0, "-----BEGIN KLIC RESPONSE-----"))
		what = "an armored response (.kresp)";
	if (what == NULL)
		return 0;
	return klic_error_set(KLIC_ERR_TYPE_TAG, "this is %s, not a license (.lic)", what);
}

int klic_license_split(struct klic_lic_parts *out, const uint8_t *buf, size_t len)
{
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (buf != NULL && (r = bundle_not_license(buf, len)) != 0)
		return r;
	return klic_clearsigned_split(out, buf, len, KLIC_MAX_LIC_BYTES);
}

int klic_clearsigned_split(struct klic_lic_parts *out, const uint8_t *buf, size_t len, size_t max)
{
	size_t pos, body_start, body_end, sig_start, line, nlines = 0;
	size_t i;
	unsigned hash_bits;

	if (out == NULL || (buf == NULL && len > 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "license_split: NULL argument");
	memset(out, 0, sizeof(*out));
	if (len > max)
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT, "larger than %zu bytes", max);
	for (i = 0; i < len; i++) {
		if (buf[i] == '\r')
			return fmt_err("carriage return (CR line ends are not allowed)");
		if (buf[i] == '\0')
			return fmt_err("NUL byte");
	}
	if (!starts(buf, len, 0, begin_msg))
		return fmt_err("does not start with -----BEGIN PGP SIGNED MESSAGE-----");
	pos = sizeof(begin_msg) - 1;
	for (i = 0; i < 3; i++)
		if (starts(buf, len, pos, hash_lines[i]))
			break;
	if (i == 3)
		return fmt_err("second line is not \"Hash: SHA256|SHA384|SHA512\"");
	hash_bits = i == 0 ? 256 : (i == 1 ? 384 : 512);
	pos += strlen(hash_lines[i]);
	if (!starts(buf, len, pos, "\n"))
		return fmt_err("armor headers other than one Hash line");
	pos++;
	body_start = pos;
	/* body lines up to the first line starting with '-', which must be
	 * the signature armor, preceded by the LF that is not signed */
	line = pos;
	for (;;) {
		const uint8_t *nl;
		size_t ll;
		if (line >= len)
			return fmt_err("no -----BEGIN PGP SIGNATURE----- line");
		if (buf[line] == '-')
			break;
		nl = memchr(buf + line, '\n', len - line);
		if (nl == NULL)
			return fmt_err("no -----BEGIN PGP SIGNATURE----- line");
		ll = (size_t)(nl - (buf + line));
		if (ll > 0 && (buf[line + ll - 1] == ' ' || buf[line + ll - 1] == '\t'))
			return fmt_err("a body line ends in a space or tab");
		nlines++;
		line += ll + 1;
	}
	if (!starts(buf, len, line, begin_sig))
		return fmt_err("a body line starts with '-'");
	if (nlines == 0)
		return fmt_err("empty body");
	body_end = line - 1; /* the LF before the armor is not signed */
	if (body_end == body_start)
		return fmt_err("empty body");
	sig_start = line;
	pos = line + sizeof(begin_sig) - 1;
	if (!starts(buf, len, pos, "\n"))
		return fmt_err("armor headers in the signature block");
	pos++;
	/* base64 lines, then exactly one "=XXXX" CRC line, then the end line */
	nlines = 0;
	for (;;) {
		const uint8_t *nl = pos < len ? memchr(buf + pos, '\n', len - pos) : NULL;
		size_t ll, pad = 0;
		if (nl == NULL)
			return fmt_err("signature block not terminated");
		ll = (size_t)(nl - (buf + pos));
		if (ll == 0 || ll > 76)
			return fmt_err("bad line length in the signature block");
		if (buf[pos] == '=') {
			if (nlines == 0 || ll != 5)
				return fmt_err("bad checksum line in the signature block");
			for (i = 1; i < 5; i++)
				if (!is_b64(buf[pos + i]))
					return fmt_err("bad checksum line in the signature block");
			pos += ll + 1;
			break;
		}
		for (i = 0; i < ll; i++) {
			uint8_t c = buf[pos + i];
			if (c == '=' && i >= ll - 2)
				pad++;
			else if (!is_b64(c) || pad > 0)
				return fmt_err("bad base64 in the signature block");
		}
		nlines++;
		pos += ll + 1;
	}
	if (!starts(buf, len, pos, end_sig))
		return fmt_err("no -----END PGP SIGNATURE----- line after the checksum");
	pos += sizeof(end_sig) - 1;
	if (pos != len)
		return fmt_err("data after -----END PGP SIGNATURE-----");
	out->body = buf + body_start;
	out->body_len = body_end - body_start;
	out->sig = buf + sig_start;
	out->sig_len = len - sig_start;
	out->hash_bits = hash_bits;
	return 0;
}
