/* klic — the .lic license: signed body and clear-signed shape
 * (spec/PROTOCOL.md 3.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_bundle.h"
#include "klic_doc.h"
#include "klic_internal.h"

#define BODY_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS)

static const char *const license_keys[] = {
	"type",	      "version",    "license_id", "product",	"machine_id",
	"seat",	      "seats",	    "issued",	  "expires",	"issuer_org",
	"issuer_fpr", "member_fpr", "request_digest",
};
#define NKEYS (sizeof(license_keys) / sizeof(license_keys[0]))

int klic_license_filename(char out[KLIC_MAX_NAME_LEN + 1], const char *product,
			  const char *machine_id, unsigned seat)
{
	int n;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "license_filename: NULL argument");
	out[0] = '\0';
	if (klic_product_check(product) != 0)
		return KLIC_ERR_FIELD;
	if (klic_machine_id_check(machine_id) != 0)
		return KLIC_ERR_MACHINE_ID;
	if (seat < 1 || seat > KLIC_MAX_SEATS)
		return klic_error_set(KLIC_ERR_FIELD, "seat %u out of range 1..%d", seat,
				      KLIC_MAX_SEATS);
	if (seat == 1)
		n = snprintf(out, KLIC_MAX_NAME_LEN + 1, "%s_%s.lic", product, machine_id);
	else
		n = snprintf(out, KLIC_MAX_NAME_LEN + 1, "%s_%s_%u.lic", product, machine_id, seat);
	if (n < 0 || n > KLIC_MAX_NAME_LEN)
		return klic_error_set(KLIC_ERR_INTERNAL, "license file name too long");
	return 0;
}

int klic_license_body_parse(struct klic_license *out, const uint8_t *body, size_t len)
{
	struct klic_license l;
	json_t *root = NULL;
	int rc;

	if (out == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "license: NULL argument");
	memset(&l, 0, sizeof(l));
	if ((rc = klic_doc_load(&root, body, len, KLIC_MAX_LIC_BYTES, 0, BODY_FLAGS,
				"klic-license", license_keys, NKEYS, NKEYS)) != 0)
		goto out;
	if ((rc = klic_doc_hex(l.license_id, root, "license_id", 32)) != 0 ||
	    (rc = klic_doc_product(l.product, root, "product")) != 0 ||
	    (rc = klic_doc_machine_id(l.machine_id, root, "machine_id")) != 0 ||
	    (rc = klic_doc_uint(&l.seats, root, "seats", 1, KLIC_MAX_SEATS)) != 0 ||
	    (rc = klic_doc_uint(&l.seat, root, "seat", 1, l.seats)) != 0 ||
	    (rc = klic_doc_time(&l.issued, root, "issued")) != 0 ||
	    (rc = klic_doc_time(&l.expires, root, "expires")) != 0 ||
	    (rc = klic_doc_str(l.issuer_org, sizeof(l.issuer_org), root, "issuer_org", 1,
			       KLIC_MAX_TEXT_LEN)) != 0 ||
	    (rc = klic_doc_fpr(l.issuer_fpr, root, "issuer_fpr")) != 0 ||
	    (rc = klic_doc_fpr(l.member_fpr, root, "member_fpr")) != 0 ||
	    (rc = klic_doc_hex(l.request_digest, root, "request_digest", KLIC_SHA256_HEX_LEN)) != 0)
		goto out;
	if (l.expires <= l.issued) {
		rc = klic_error_set(KLIC_ERR_FIELD, "\"expires\" is not after \"issued\"");
		goto out;
	}
	if (strcmp(l.product, "KSE") == 0 && l.seats != 1) {
		rc = klic_error_set(KLIC_ERR_FIELD, "KSE is issued one seat at a time");
		goto out;
	}
	*out = l;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int klic_license_body_build(char **out, size_t *outlen, const struct klic_license *l)
{
	char issued[KLIC_TIME_LEN + 1], expires[KLIC_TIME_LEN + 1];
	struct klic_license check;
	json_t *root = NULL;
	char *s = NULL;
	size_t n = 0;
	int rc;

	if (out == NULL || outlen == NULL || l == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "license: NULL argument");
	*out = NULL;
	*outlen = 0;
	if (klic_time_format(issued, l->issued) != 0 || klic_time_format(expires, l->expires) != 0)
		return klic_error_set(KLIC_ERR_FIELD, "license time out of range");
	root = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
			 "type", "klic-license", "version", KLIC_PROTOCOL_VERSION, "license_id",
			 l->license_id, "product", l->product, "machine_id", l->machine_id, "seat",
			 (json_int_t)l->seat, "seats", (json_int_t)l->seats, "issued", issued,
			 "expires", expires, "issuer_org", l->issuer_org, "issuer_fpr",
			 l->issuer_fpr, "member_fpr", l->member_fpr, "request_digest",
			 l->request_digest);
	if (root == NULL) {
		rc = klic_error_set(KLIC_ERR_FIELD, "license: a string is not valid UTF-8");
		goto out;
	}
	if ((rc = klic_doc_dump(&s, &n, root, BODY_FLAGS, 0)) != 0)
		goto out;
	if ((rc = klic_license_body_parse(&check, (const uint8_t *)s, n)) != 0)
		goto out;
	*out = s;
	s = NULL; /* transferred */
	*outlen = n;
	rc = 0;
out:
	free(s);
	json_decref(root);
	return rc;
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

int klic_license_split(struct klic_lic_parts *out, const uint8_t *buf, size_t len)
{
	size_t pos, body_start, body_end, sig_start, line, nlines = 0;
	size_t i;

	if (out == NULL || (buf == NULL && len > 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "license_split: NULL argument");
	memset(out, 0, sizeof(*out));
	if (len > KLIC_MAX_LIC_BYTES)
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT, "larger than %u bytes",
				      KLIC_MAX_LIC_BYTES);
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
	return 0;
}
