/* klic — .kreq/.kresp archives: deterministic writing, strict reading
 * (spec/PROTOCOL.md 3.1, 3.2).  libarchive does the tar, zlib the gzip.
 *
 * Reading is two passes over the in-memory file, both bounded:
 *  1. zlib inflates the gzip stream into a buffer of at most
 *     KLIC_MAX_UNPACKED_BYTES (+1 to detect overflow): this classifies
 *     garbage / truncation / corruption, refuses decompression bombs while
 *     decompressing, and requires exactly one gzip member that ends exactly
 *     at the end of the input;
 *  2. libarchive (gzip filter and tar format only) walks the headers: member
 *     type, name, duplicates, count and size caps are checked from each
 *     header before any data is read, and data is read with the cap enforced.
 * Finally the tar bytes after the last member must be the end-of-archive
 * marker: at least two 512-byte blocks, all zero to the end.
 */
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "klic_armor.h"
#include "klic_bundle.h"
#include "klic_internal.h"

#define TAR_BLOCK 512
#define TAR_EOA (2 * TAR_BLOCK)

/* ---- names ------------------------------------------------------------------ */

int klic_member_name_allowed(enum klic_bundle_kind kind, const char *name)
{
	if (name == NULL)
		return 0;
	if (strcmp(name, "manifest.json") == 0 || strcmp(name, "manifest.sig") == 0)
		return kind == KLIC_KIND_REQUEST || kind == KLIC_KIND_RESPONSE;
	if (kind == KLIC_KIND_REQUEST)
		return strcmp(name, "requester.pgp") == 0;
	if (kind == KLIC_KIND_RESPONSE)
		return klic_license_name_parse(NULL, NULL, NULL, name) == 0;
	return 0;
}

size_t klic_member_cap(const char *name)
{
	if (strcmp(name, "manifest.json") == 0)
		return KLIC_MAX_MANIFEST_BYTES;
	if (strcmp(name, "manifest.sig") == 0)
		return KLIC_MAX_SIG_BYTES;
	if (strcmp(name, "requester.pgp") == 0)
		return KLIC_MAX_KEY_BYTES;
	return KLIC_MAX_LIC_BYTES;
}

/* ---- in-memory archive ----------------------------------------------------- */

const struct klic_member *klic_archive_get(const struct klic_archive *a, const char *name)
{
	if (a == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < a->n && i < KLIC_MAX_MEMBERS; i++)
		if (strcmp(a->m[i].name, name) == 0)
			return &a->m[i];
	return NULL;
}

void klic_archive_dispose(struct klic_archive *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n && i < KLIC_MAX_MEMBERS; i++) {
		free(a->m[i].data);
		a->m[i].data = NULL;
		a->m[i].len = 0;
		a->m[i].name[0] = '\0';
	}
	a->n = 0;
}

int klic_archive_add(struct klic_archive *a, const char *name, const void *data, size_t len)
{
	size_t nl;
	uint8_t *copy;

	if (a == NULL || name == NULL || (data == NULL && len > 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "archive_add: NULL argument");
	nl = strnlen(name, KLIC_MAX_NAME_LEN + 1);
	if (nl == 0 || nl > KLIC_MAX_NAME_LEN)
		return klic_error_set(KLIC_ERR_MEMBER_NAME, "member name length %zu", nl);
	if (a->n >= KLIC_MAX_MEMBERS)
		return klic_error_set(KLIC_ERR_MEMBER_COUNT, "more than %d members", KLIC_MAX_MEMBERS);
	if (len > KLIC_MAX_MEMBER_BYTES)
		return klic_error_set(KLIC_ERR_MEMBER_SIZE, "%s: %zu bytes", name, len);
	if ((copy = malloc(len + 1)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "%s", name);
	if (len > 0)
		memcpy(copy, data, len);
	copy[len] = '\0';
	memcpy(a->m[a->n].name, name, nl + 1);
	a->m[a->n].data = copy;
	a->m[a->n].len = len;
	a->n++;
	return 0;
}

/* ---- the wrong kind of file (spec 3.2) ------------------------------------ */

static enum klic_bundle_kind other_kind(enum klic_bundle_kind kind)
{
	return kind == KLIC_KIND_REQUEST ? KLIC_KIND_RESPONSE : KLIC_KIND_REQUEST;
}

static const char *kind_name(enum klic_bundle_kind kind)
{
	return kind == KLIC_KIND_REQUEST ? "a request (.kreq)" : "a response (.kresp)";
}

static int has(const uint8_t *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (buf[i] == (uint8_t)s[0] && memcmp(buf + i, s, n) == 0)
			return 1;
	return 0;
}

/* A text file where a bundle is expected: the clear-signed documents and
 * OpenPGP keys get "wrong document type: this is X, not Y"; 0 otherwise. */
static int text_kind(enum klic_bundle_kind kind, const uint8_t *buf, size_t len)
{
	static const char signed_msg[] = "-----BEGIN PGP SIGNED MESSAGE-----\n";
	const char *what = NULL;

	if (len >= sizeof(signed_msg) - 1 && memcmp(buf, signed_msg, sizeof(signed_msg) - 1) == 0) {
		if (has(buf, len, "\"type\": \"klic-entitlement\""))
			what = "an entitlement (.kent)";
		else if (has(buf, len, "\"type\": \"klic-usage\""))
			what = "a usage export (.kusage)";
		else
			what = "a license (.lic)";
	} else if (has(buf, len < 64 ? len : 64, "-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
		what = "an OpenPGP public key";
	} else if (has(buf, len < 64 ? len : 64, "-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
		what = "an OpenPGP secret key";
	}
	if (what == NULL)
		return 0;
	return klic_error_set(KLIC_ERR_TYPE_TAG, "this is %s, not %s", what, kind_name(kind));
}

/* ---- reading: pass 1, zlib ---------------------------------------------- */

static int gunzip_bounded(uint8_t **tar, size_t *tarlen, const uint8_t *buf, size_t len)
{
	const size_t cap = (size_t)KLIC_MAX_UNPACKED_BYTES + 1;
	z_stream s;
	gz_header head;
	uint8_t *out = NULL;
	int zr, r = KLIC_ERR_INTERNAL, inited = 0;

	*tar = NULL;
	*tarlen = 0;
	if (len < 2 || buf[0] != 0x1f || buf[1] != 0x8b)
		return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "not gzip-compressed");
	if ((out = malloc(cap)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "decompression buffer");
	memset(&s, 0, sizeof(s));
	memset(&head, 0, sizeof(head));
	if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) {
		r = klic_error_set(KLIC_ERR_NOMEM, "zlib inflateInit2");
		goto out;
	}
	inited = 1;
	if (inflateGetHeader(&s, &head) != Z_OK) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "zlib inflateGetHeader");
		goto out;
	}
	s.next_in = (Bytef *)(uintptr_t)buf; /* zlib's API is not const */
	s.next_out = out;
	for (;;) {
		/* feed at most 4 GiB per call; bundles are far smaller anyway */
		size_t in_left = len - (size_t)s.total_in;
		s.avail_in = in_left > 0x40000000u ? 0x40000000u : (uInt)in_left;
		s.avail_out = (uInt)(cap - (size_t)s.total_out);
		zr = inflate(&s, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_OK && s.avail_out > 0 && s.total_in < len)
			continue;
		if (s.total_out >= KLIC_MAX_UNPACKED_BYTES + 1 && (zr == Z_OK || zr == Z_BUF_ERROR)) {
			r = klic_error_set(KLIC_ERR_UNPACKED_SIZE, "more than %u bytes decompressed",
					   KLIC_MAX_UNPACKED_BYTES);
			goto out;
		}
		if (zr == Z_OK || zr == Z_BUF_ERROR) {
			r = klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED, "gzip stream ends early");
			goto out;
		}
		if (zr == Z_MEM_ERROR) {
			r = klic_error_set(KLIC_ERR_NOMEM, "zlib inflate");
			goto out;
		}
		/* Z_DATA_ERROR (or anything else): corrupt header or data */
		r = klic_error_set(head.done == 1 ? KLIC_ERR_ARCHIVE_TRUNCATED : KLIC_ERR_ARCHIVE_FORMAT,
				   "gzip: %s", s.msg ? s.msg : "corrupt stream");
		goto out;
	}
	if (s.total_in != len) {
		r = klic_error_set(KLIC_ERR_ARCHIVE_TRAILING, "%zu bytes after the gzip stream",
				   len - (size_t)s.total_in);
		goto out;
	}
	if (s.total_out > KLIC_MAX_UNPACKED_BYTES) {
		r = klic_error_set(KLIC_ERR_UNPACKED_SIZE, "more than %u bytes decompressed",
				   KLIC_MAX_UNPACKED_BYTES);
		goto out;
	}
	*tarlen = (size_t)s.total_out;
	*tar = out;
	out = NULL; /* transferred */
	r = 0;
out:
	if (inited)
		inflateEnd(&s);
	free(out);
	return r;
}

/* ---- reading: the tar dialect, by bytes (spec 3.2) ------------------------ */

/* The reader accepts exactly the tar the writer makes: POSIX ustar headers
 * ("ustar\0" "00"), regular members (typeflag '0'), no link name, no
 * prefix, octal number fields, then at least two zero blocks and only zeros
 * to the end.  libarchive would also take GNU, pax, v7 and star archives,
 * so this pass decides before libarchive sees a header. */

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* A tar number field: at least one octal digit, then only NULs and spaces
 * (no base-256, no sign, no digit after a terminator). */
static int tar_octal(uint64_t *v, const uint8_t *f, size_t n)
{
	size_t i = 0;
	uint64_t x = 0;

	while (i < n && f[i] == ' ')
		i++;
	if (i == n || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		x = x * 8 + (uint64_t)(f[i] - '0'); /* at most 12 digits: no overflow */
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*v = x;
	return 0;
}

static const char *typeflag_name(uint8_t t)
{
	switch (t) {
	case '\0': return "a pre-POSIX regular file (typeflag NUL)";
	case '1': return "a hard link";
	case '2': return "a symbolic link";
	case '3': return "a character device";
	case '4': return "a block device";
	case '5': return "a directory";
	case '6': return "a FIFO";
	case '7': return "a contiguous file (typeflag 7)";
	default: return NULL;
	}
}

static int tar_dialect(const uint8_t *tar, size_t len)
{
	size_t off = 0;

	for (;;) {
		const uint8_t *h = tar + off;
		char name[65];
		uint64_t sum = 0, want, size;

		if (off == 0 && len < TAR_BLOCK)
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "not a tar archive (%zu bytes)",
					      len);
		if (len - off < TAR_BLOCK)
			return klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED,
					      "no end-of-archive marker (two zero blocks)");
		if (all_zero(h, TAR_BLOCK)) {
			if (len - off < TAR_EOA)
				return klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED,
						      "one zero block at offset %zu: the end-of-archive "
						      "marker is two",
						      off);
			for (size_t i = off + TAR_BLOCK; i < len; i++)
				if (tar[i] != 0)
					return klic_error_set(
					    KLIC_ERR_ARCHIVE_TRAILING,
					    "non-zero byte at offset %zu after a zero block", i);
			return 0;
		}
		for (size_t i = 0; i < TAR_BLOCK; i++)
			sum += (i >= 148 && i < 156) ? (uint64_t)' ' : h[i];
		if ((tar_octal(&want, h + 148, 8) != 0 || want != sum) && off == 0)
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT,
					      "not a tar archive (bad header checksum)");
		if (tar_octal(&want, h + 148, 8) != 0 || want != sum)
			return klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED,
					      "bad tar header checksum at offset %zu", off);
		klic_printable_copy(name, sizeof(name), (const char *)h, strnlen((const char *)h, 64));
		if (memcmp(h + 257, "ustar  ", 8) == 0)
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT,
					      "GNU tar header at offset %zu (a bundle is POSIX ustar)",
					      off);
		if (all_zero(h + 257, 8))
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT,
					      "pre-POSIX (v7) tar header at offset %zu (a bundle is "
					      "POSIX ustar)",
					      off);
		if (memcmp(h + 257, "ustar\0" "00", 8) != 0)
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT,
					      "tar header at offset %zu is not POSIX ustar "
					      "(magic \"ustar\\0\", version \"00\")",
					      off);
		if (h[156] == 'x' || h[156] == 'g')
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT,
					      "pax %s header at offset %zu (a bundle is plain ustar)",
					      h[156] == 'x' ? "extended" : "global", off);
		if (h[156] == 'L' || h[156] == 'K')
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT,
					      "GNU long %s header at offset %zu (a bundle is plain ustar)",
					      h[156] == 'L' ? "name" : "link name", off);
		if (h[156] != '0') {
			const char *t = typeflag_name(h[156]);
			if (t != NULL)
				return klic_error_set(KLIC_ERR_MEMBER_TYPE, "%s: %s", name, t);
			return klic_error_set(KLIC_ERR_MEMBER_TYPE, "%s: typeflag 0x%02x", name,
					      h[156]);
		}
		if (!all_zero(h + 157, 100))
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "%s: a link name on a regular member",
					      name);
		if (!all_zero(h + 345, 155))
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT,
					      "%s: the ustar prefix field is used (a member name is one "
					      "field of at most 64 bytes)",
					      name);
		if (tar_octal(&size, h + 124, 12) != 0)
			return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "%s: size field is not octal",
					      name);
		if (size > len - off - TAR_BLOCK)
			return klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED, "%s: member data ends early",
					      name);
		off += TAR_BLOCK + (size_t)size;
		if (size % TAR_BLOCK != 0) {
			size_t pad = TAR_BLOCK - (size_t)(size % TAR_BLOCK);
			if (pad > len - off)
				return klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED,
						      "%s: member padding ends early", name);
			off += pad;
		}
	}
}

/* ---- reading: pass 2, libarchive --------------------------------------------- */

static int unpacked_check(struct archive *a)
{
	la_int64_t pos = archive_filter_bytes(a, 0);

	if (pos < 0 || (uint64_t)pos > KLIC_MAX_UNPACKED_BYTES)
		return klic_error_set(KLIC_ERR_UNPACKED_SIZE, "more than %u bytes decompressed",
				      KLIC_MAX_UNPACKED_BYTES);
	return 0;
}

static int la_error(struct archive *a, int nheaders, const char *what)
{
	const char *msg = archive_error_string(a);

	/* the gzip layer was validated by pass 1: a format that cannot be
	 * recognised at the start is not a tar; everything later is damage */
	if (nheaders == 0 && archive_format(a) == 0)
		return klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "%s: %s", what,
				      msg ? msg : "not a tar archive");
	return klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED, "%s: %s", what,
			      msg ? msg : "damaged archive");
}

static int read_member_data(struct archive *a, struct klic_member *m, size_t declared,
			    size_t cap)
{
	uint8_t *data;
	size_t got = 0;

	if ((data = malloc(declared + 1)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "%s", m->name);
	for (;;) {
		/* ask for one byte more than declared to notice excess data */
		la_ssize_t n = archive_read_data(a, data + got, declared + 1 - got);
		if (n == 0)
			break;
		if (n < 0) {
			int r = n == ARCHIVE_WARN
					? klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "%s: %s", m->name,
							 archive_error_string(a))
					: la_error(a, 1, m->name);
			free(data);
			return r;
		}
		got += (size_t)n;
		if (got > declared || got > cap) {
			free(data);
			return klic_error_set(KLIC_ERR_MEMBER_SIZE, "%s: more data than declared",
					      m->name);
		}
		if (got == declared + 1)
			break;
	}
	if (got != declared) {
		free(data);
		return klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED, "%s: member data ends early",
				      m->name);
	}
	data[got] = '\0';
	m->data = data;
	m->len = got;
	return 0;
}

static int walk_tar(struct klic_archive *out, enum klic_bundle_kind kind, const uint8_t *buf,
		    size_t len, size_t *tar_end)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	int r = KLIC_ERR_INTERNAL, nheaders = 0, lr, own_payload = 0;

	*tar_end = 0;
	if ((a = archive_read_new()) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "archive_read_new");
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "libarchive: %s", archive_error_string(a));
		goto out;
	}
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
		r = klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "%s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		const char *name, *mtype;
		la_int64_t size;
		size_t cap, nl;
		struct klic_member *m;

		lr = archive_read_next_header(a, &e);
		if (lr == ARCHIVE_EOF)
			break;
		if (lr == ARCHIVE_WARN) {
			r = klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "libarchive warning: %s",
					   archive_error_string(a));
			goto out;
		}
		if (lr != ARCHIVE_OK) {
			r = la_error(a, nheaders, "tar header");
			goto out;
		}
		nheaders++;
		if (archive_filter_count(a) != 2 ||
		    archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
			r = klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "not a gzip-compressed archive");
			goto out;
		}
		if ((r = unpacked_check(a)) != 0)
			goto out;
		name = archive_entry_pathname(e);
		mtype = NULL;
		if (archive_entry_filetype(e) != AE_IFREG)
			mtype = "not a regular file";
		else if (archive_entry_hardlink(e) != NULL)
			mtype = "a hard link";
		else if (archive_entry_symlink(e) != NULL)
			mtype = "a symbolic link";
		else if (archive_entry_sparse_count(e) != 0)
			mtype = "a sparse file";
		if (mtype != NULL) {
			r = klic_error_set(KLIC_ERR_MEMBER_TYPE, "%.64s: %s",
					   name && klic_is_printable(name, strnlen(name, 64)) ? name
											  : "?",
					   mtype);
			goto out;
		}
		nl = name ? strnlen(name, KLIC_MAX_NAME_LEN + 1) : 0;
		/* the other kind's payload before any of this kind's: the wrong file */
		if (!own_payload && nl <= KLIC_MAX_NAME_LEN && !klic_member_name_allowed(kind, name) &&
		    klic_member_name_allowed(other_kind(kind), name)) {
			r = klic_error_set(KLIC_ERR_TYPE_TAG, "this is %s, not %s",
					   kind_name(other_kind(kind)), kind_name(kind));
			goto out;
		}
		if (name == NULL || nl > KLIC_MAX_NAME_LEN || !klic_member_name_allowed(kind, name)) {
			r = klic_error_set(KLIC_ERR_MEMBER_NAME, "member name not allowed: %.64s",
					   name && klic_is_printable(name, nl) ? name
									       : "(unprintable)");
			goto out;
		}
		if (klic_archive_get(out, name) != NULL) {
			r = klic_error_set(KLIC_ERR_MEMBER_DUP, "%s", name);
			goto out;
		}
		if (out->n >= KLIC_MAX_MEMBERS) {
			r = klic_error_set(KLIC_ERR_MEMBER_COUNT, "more than %d members",
					   KLIC_MAX_MEMBERS);
			goto out;
		}
		cap = klic_member_cap(name);
		size = archive_entry_size(e);
		if (!archive_entry_size_is_set(e) || size < 0) {
			r = klic_error_set(KLIC_ERR_ARCHIVE_FORMAT, "%s: no size", name);
			goto out;
		}
		if ((uint64_t)size > cap) {
			r = klic_error_set(KLIC_ERR_MEMBER_SIZE, "%s: %lld bytes, at most %zu", name,
					   (long long)size, cap);
			goto out;
		}
		if (strcmp(name, "manifest.json") != 0 && strcmp(name, "manifest.sig") != 0)
			own_payload = 1;
		m = &out->m[out->n];
		memcpy(m->name, name, nl + 1);
		m->data = NULL;
		m->len = 0;
		out->n++; /* counted now so that dispose frees it on failure */
		if ((r = read_member_data(a, m, (size_t)size, cap)) != 0)
			goto out;
		/* consume the padding: the position is then the member's end */
		if (archive_read_data_skip(a) != ARCHIVE_OK) {
			r = la_error(a, nheaders, name);
			goto out;
		}
		if ((r = unpacked_check(a)) != 0)
			goto out;
		*tar_end = (size_t)archive_filter_bytes(a, 0);
	}
	if ((r = unpacked_check(a)) != 0)
		goto out;
	r = 0;
out:
	archive_read_free(a);
	return r;
}

/* A request's signature and key are binary OpenPGP (spec 3.3): the first
 * byte is a packet tag (bit 7 set), never ASCII armor. */
static int request_members_binary(const struct klic_archive *a)
{
	static const struct {
		const char *name;
		int code;
		const char *what;
	} m[] = {{"manifest.sig", KLIC_ERR_SIG_NONE, "signature"},
		 {"requester.pgp", KLIC_ERR_KEY, "public key"}};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		const struct klic_member *x = klic_archive_get(a, m[i].name);
		if (x == NULL || (x->len > 0 && (x->data[0] & 0x80) != 0))
			continue;
		return klic_error_set(m[i].code, "%s is %s: a request carries a binary OpenPGP %s",
				      m[i].name,
				      x->len >= 5 && memcmp(x->data, "-----", 5) == 0
					  ? "ASCII-armored"
					  : "not an OpenPGP packet",
				      m[i].what);
	}
	return 0;
}

static int archive_read_binary(struct klic_archive *out, enum klic_bundle_kind kind,
			       const uint8_t *buf, size_t len)
{
	uint8_t *tar = NULL;
	size_t tarlen = 0, tar_end = 0;
	int r = KLIC_ERR_INTERNAL;
	static const char *const required_req[] = {"manifest.json", "manifest.sig",
						   "requester.pgp"};

	if (out == NULL || (buf == NULL && len > 0) ||
	    (kind != KLIC_KIND_REQUEST && kind != KLIC_KIND_RESPONSE))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "archive_read: bad argument");
	memset(out, 0, sizeof(*out));
	if (len > KLIC_MAX_BUNDLE_BYTES) {
		r = klic_error_set(KLIC_ERR_TOO_BIG, "bundle larger than %u bytes",
				   KLIC_MAX_BUNDLE_BYTES);
		goto out;
	}
	if ((r = text_kind(kind, buf, len)) != 0)
		goto out;
	if ((r = gunzip_bounded(&tar, &tarlen, buf, len)) != 0)
		goto out;
	if ((r = tar_dialect(tar, tarlen)) != 0)
		goto out;
	if ((r = walk_tar(out, kind, buf, len, &tar_end)) != 0)
		goto out;
	/* the end-of-archive marker and only zeros after the last member */
	if (tar_end > tarlen) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "tar position past the end");
		goto out;
	}
	for (size_t i = tar_end; i < tarlen; i++) {
		if (tar[i] != 0) {
			r = klic_error_set(KLIC_ERR_ARCHIVE_TRAILING,
					   "non-zero byte at offset %zu after the last member", i);
			goto out;
		}
	}
	if (tarlen - tar_end < TAR_EOA) {
		r = klic_error_set(KLIC_ERR_ARCHIVE_TRUNCATED, "no end-of-archive marker");
		goto out;
	}
	for (size_t i = 0; i < (kind == KLIC_KIND_REQUEST ? 3u : 2u); i++) {
		if (klic_archive_get(out, required_req[i]) == NULL) {
			const struct klic_member *mj = klic_archive_get(out, "manifest.json");
			/* a denial (no licenses) read as a request: its manifest says so */
			if (kind == KLIC_KIND_REQUEST && mj != NULL &&
			    has(mj->data, mj->len, "\"type\": \"klic-response\"")) {
				r = klic_error_set(KLIC_ERR_TYPE_TAG, "this is %s, not %s",
						   kind_name(KLIC_KIND_RESPONSE), kind_name(kind));
				goto out;
			}
			r = klic_error_set(KLIC_ERR_MEMBER_MISSING, "%s", required_req[i]);
			goto out;
		}
	}
	if (kind == KLIC_KIND_REQUEST && (r = request_members_binary(out)) != 0)
		goto out;
	r = 0;
out:
	free(tar);
	if (r != 0)
		klic_archive_dispose(out);
	return r;
}

/* Armored input (spec/ARMOR.md) is decoded into a bounded buffer first and
 * then read exactly like a binary bundle; the decoded bytes are never
 * looked at for armor again. */
int klic_archive_read(struct klic_archive *out, enum klic_bundle_kind kind, const uint8_t *buf,
		      size_t len)
{
	uint8_t *bin = NULL;
	size_t binlen = 0;
	int r;

	if (out == NULL || !klic_armor_detect(buf, len))
		return archive_read_binary(out, kind, buf, len);
	memset(out, 0, sizeof(*out));
	if ((r = klic_armor_decode(&bin, &binlen, kind, buf, len)) != 0)
		return r;
	r = archive_read_binary(out, kind, bin, binlen);
	free(bin);
	return r;
}

/* ---- writing --------------------------------------------------------------- */

struct membuf {
	uint8_t *p;
	size_t len, cap, max;
};

static la_ssize_t membuf_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct membuf *mb = ud;

	(void)a;
	if (n > mb->max - mb->len)
		return -1;
	if (mb->len + n > mb->cap) {
		size_t ncap = mb->cap ? mb->cap : 16384;
		uint8_t *np;
		while (ncap < mb->len + n)
			ncap *= 2;
		if (ncap > mb->max)
			ncap = mb->max;
		if ((np = realloc(mb->p, ncap)) == NULL)
			return -1;
		mb->p = np;
		mb->cap = ncap;
	}
	memcpy(mb->p + mb->len, buf, n);
	mb->len += n;
	return (la_ssize_t)n;
}

static int tar_build(struct membuf *mb, const struct klic_archive *in)
{
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	int r = KLIC_ERR_INTERNAL;

	if ((a = archive_write_new()) == NULL || (e = archive_entry_new()) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "libarchive writer");
		goto out;
	}
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, mb, NULL, membuf_write, NULL, NULL) != ARCHIVE_OK) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "libarchive: %s", archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < in->n; i++) {
		const struct klic_member *m = &in->m[i];
		archive_entry_clear(e);
		archive_entry_set_pathname(e, m->name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)m->len);
		archive_entry_set_mtime(e, 0, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (m->len > 0 && archive_write_data(a, m->data, m->len) != (la_ssize_t)m->len)) {
			r = klic_error_set(KLIC_ERR_INTERNAL, "%s: libarchive: %s", m->name,
					   archive_error_string(a));
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "libarchive: %s", archive_error_string(a));
		goto out;
	}
	r = 0;
out:
	archive_entry_free(e);
	if (a != NULL)
		archive_write_free(a);
	return r;
}

static int gzip_deterministic(uint8_t **out, size_t *outlen, const uint8_t *in, size_t inlen)
{
	z_stream s;
	gz_header head;
	uint8_t *buf = NULL;
	size_t cap;
	int r = KLIC_ERR_INTERNAL, inited = 0;

	memset(&s, 0, sizeof(s));
	memset(&head, 0, sizeof(head));
	if (deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		r = klic_error_set(KLIC_ERR_NOMEM, "zlib deflateInit2");
		goto out;
	}
	inited = 1;
	head.text = 0;
	head.time = 0;
	head.os = 255;
	head.name = Z_NULL;
	head.comment = Z_NULL;
	head.extra = Z_NULL;
	head.hcrc = 0;
	if (deflateSetHeader(&s, &head) != Z_OK) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "zlib deflateSetHeader");
		goto out;
	}
	cap = deflateBound(&s, (uLong)inlen) + 64; /* + the gzip header/trailer */
	if ((buf = malloc(cap)) == NULL) {
		r = klic_error_set(KLIC_ERR_NOMEM, "compression buffer");
		goto out;
	}
	s.next_in = (Bytef *)(uintptr_t)in;
	s.avail_in = (uInt)inlen;
	s.next_out = buf;
	s.avail_out = (uInt)cap;
	if (deflate(&s, Z_FINISH) != Z_STREAM_END) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "zlib deflate");
		goto out;
	}
	*outlen = (size_t)s.total_out;
	*out = buf;
	buf = NULL; /* transferred */
	r = 0;
out:
	if (inited)
		deflateEnd(&s);
	free(buf);
	return r;
}

int klic_archive_write(uint8_t **out, size_t *outlen, const struct klic_archive *in)
{
	struct membuf mb = {NULL, 0, 0, KLIC_MAX_UNPACKED_BYTES};
	uint8_t *gz = NULL;
	size_t gzlen = 0;
	int r = KLIC_ERR_INTERNAL;

	if (out == NULL || outlen == NULL || in == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "archive_write: NULL argument");
	*out = NULL;
	*outlen = 0;
	if (in->n == 0 || in->n > KLIC_MAX_MEMBERS)
		return klic_error_set(KLIC_ERR_MEMBER_COUNT, "%zu members", in->n);
	for (size_t i = 0; i < in->n; i++) {
		const struct klic_member *m = &in->m[i];
		if (strnlen(m->name, sizeof(m->name)) > KLIC_MAX_NAME_LEN ||
		    !(klic_member_name_allowed(KLIC_KIND_REQUEST, m->name) ||
		      klic_member_name_allowed(KLIC_KIND_RESPONSE, m->name)))
			return klic_error_set(KLIC_ERR_MEMBER_NAME, "member name not allowed: %.64s",
					      m->name);
		if (m->data == NULL && m->len > 0)
			return klic_error_set(KLIC_ERR_INVALID_ARG, "%s: no data", m->name);
		if (m->len > klic_member_cap(m->name))
			return klic_error_set(KLIC_ERR_MEMBER_SIZE, "%s: %zu bytes, at most %zu",
					      m->name, m->len, klic_member_cap(m->name));
		for (size_t j = 0; j < i; j++)
			if (strcmp(in->m[j].name, m->name) == 0)
				return klic_error_set(KLIC_ERR_MEMBER_DUP, "%s", m->name);
	}
	if ((r = tar_build(&mb, in)) != 0)
		goto out;
	if ((r = gzip_deterministic(&gz, &gzlen, mb.p, mb.len)) != 0)
		goto out;
	if (gzlen > KLIC_MAX_BUNDLE_BYTES) {
		r = klic_error_set(KLIC_ERR_TOO_BIG, "bundle would be %zu bytes", gzlen);
		goto out;
	}
	*out = gz;
	gz = NULL; /* transferred */
	*outlen = gzlen;
	r = 0;
out:
	free(mb.p);
	free(gz);
	return r;
}
