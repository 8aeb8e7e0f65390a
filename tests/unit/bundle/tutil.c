#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "tutil.h"

#define DIE(...)                                                                                \
	do {                                                                                    \
		fprintf(stderr, __VA_ARGS__);                                                   \
		abort();                                                                        \
	} while (0)

struct tu_tar {
	struct archive *a;
	int gz;
	z_stream z;
	uint8_t *p;
	size_t len, cap;
};

static void grow(struct tu_tar *t, size_t need)
{
	if (t->len + need <= t->cap)
		return;
	size_t ncap = t->cap ? t->cap : 65536;
	while (ncap < t->len + need)
		ncap *= 2;
	if ((t->p = realloc(t->p, ncap)) == NULL)
		DIE("oom\n");
	t->cap = ncap;
}

static void deflate_some(struct tu_tar *t, const void *buf, size_t n, int flush)
{
	t->z.next_in = (Bytef *)(uintptr_t)buf;
	t->z.avail_in = (uInt)n;
	do {
		grow(t, 65536);
		t->z.next_out = t->p + t->len;
		t->z.avail_out = 65536;
		int zr = deflate(&t->z, flush);
		if (zr == Z_STREAM_ERROR)
			DIE("deflate\n");
		t->len += 65536 - t->z.avail_out;
	} while (t->z.avail_out == 0 || t->z.avail_in > 0);
}

static la_ssize_t wcb(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct tu_tar *t = ud;
	(void)a;
	if (t->gz) {
		deflate_some(t, buf, n, Z_NO_FLUSH);
	} else {
		grow(t, n);
		memcpy(t->p + t->len, buf, n);
		t->len += n;
	}
	return (la_ssize_t)n;
}

struct tu_tar *tu_tar_new(int gz, int pax)
{
	struct tu_tar *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->a = archive_write_new()) == NULL)
		DIE("oom\n");
	t->gz = gz;
	if (gz && deflateInit2(&t->z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		DIE("deflateInit2\n");
	if ((pax ? archive_write_set_format_pax_restricted(t->a)
		 : archive_write_set_format_ustar(t->a)) != ARCHIVE_OK ||
	    archive_write_add_filter_none(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t->a, t, NULL, wcb, NULL, NULL) != ARCHIVE_OK)
		DIE("archive_write_open: %s\n", archive_error_string(t->a));
	return t;
}

static struct archive_entry *mkentry(const char *name, unsigned type, uint64_t size)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, 0, 0);
	return e;
}

void tu_tar_entry(struct tu_tar *t, const char *name, unsigned type, const void *data,
		  size_t len, const char *link, int hard)
{
	struct archive_entry *e = mkentry(name, type, type == AE_IFREG && !hard ? len : 0);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, link);
	if (hard)
		archive_entry_set_hardlink(e, link);
	if (type == AE_IFCHR)
		archive_entry_set_rdev(e, 0x0103);
	if (archive_write_header(t->a, e) != ARCHIVE_OK)
		DIE("write_header %s: %s\n", name, archive_error_string(t->a));
	if (type == AE_IFREG && !hard && len > 0 &&
	    archive_write_data(t->a, data, len) != (la_ssize_t)len)
		DIE("write_data: %s\n", archive_error_string(t->a));
	archive_entry_free(e);
}

void tu_tar_zeros(struct tu_tar *t, const char *name, uint64_t size)
{
	static const uint8_t zero[65536];
	struct archive_entry *e = mkentry(name, AE_IFREG, size);
	if (archive_write_header(t->a, e) != ARCHIVE_OK)
		DIE("write_header: %s\n", archive_error_string(t->a));
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done > sizeof(zero) ? sizeof(zero) : (size_t)(size - done);
		if (archive_write_data(t->a, zero, n) != (la_ssize_t)n)
			DIE("write_data: %s\n", archive_error_string(t->a));
		done += n;
	}
	archive_entry_free(e);
}

uint8_t *tu_tar_finish(struct tu_tar *t, size_t *len, int no_eoa)
{
	uint8_t *p;
	if (no_eoa && t->gz)
		DIE("no_eoa only for raw tars\n");
	if (archive_write_close(t->a) != ARCHIVE_OK)
		DIE("close: %s\n", archive_error_string(t->a));
	archive_write_free(t->a);
	if (t->gz) {
		deflate_some(t, "", 0, Z_FINISH);
		deflateEnd(&t->z);
	}
	/* bytes_in_last_block(1): the tar ends with exactly the two zero
	 * blocks of the end-of-archive marker */
	if (no_eoa)
		t->len -= 1024;
	p = t->p;
	*len = t->len;
	free(t);
	return p;
}

uint8_t *tu_gzip(const uint8_t *in, size_t len, size_t *outlen)
{
	struct tu_tar t;
	memset(&t, 0, sizeof(t));
	t.gz = 1;
	if (deflateInit2(&t.z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		DIE("deflateInit2\n");
	deflate_some(&t, in, len, Z_FINISH);
	deflateEnd(&t.z);
	*outlen = t.len;
	return t.p;
}

/* ---- samples --------------------------------------------------------------- */

const char tu_mid[] = "93AX8-BB8QX-4G7T6-2GC39-RHAVX";

static void fill(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

void tu_sample_request(struct klic_request *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->product, sizeof(r->product), "KRE");
	r->seats = 2;
	snprintf(r->machine_id, sizeof(r->machine_id), "%s", tu_mid);
	fill(r->nonce, 'a', 64);
	r->created = 1795370400; /* 2026-11-22T18:00:00Z */
	fill(r->requester_fpr, 'B', 40);
	fill(r->requester_key_sha256, 'c', 64);
	snprintf(r->hostname, sizeof(r->hostname), "lab-host-7");
}

const char tu_sigblock[] = "-----BEGIN PGP SIGNATURE-----\n\n"
			  "iHUEARYIAB0WIQQAAAAAAAAAAAAAAAAAAAAAAAAAAAUCAAAAAAAKCRAAAAAAAAAA\n"
			  "AAAAAQD/AAAA\n"
			  "=AbCd\n"
			  "-----END PGP SIGNATURE-----\n";

char *tu_wrap_license(const char *body, size_t *len)
{
	static const char head[] = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n";
	size_t n = strlen(head) + strlen(body) + 1 + strlen(tu_sigblock);
	char *s = malloc(n + 1);
	if (s == NULL)
		DIE("oom\n");
	snprintf(s, n + 1, "%s%s\n%s", head, body, tu_sigblock);
	*len = n;
	return s;
}

char *tu_sample_response_doc(size_t *len, unsigned seats, int denied)
{
	struct klic_response r;
	char *s = NULL;
	tu_sample_response(&r, seats, denied);
	if (klic_response_manifest_build(&s, len, &r) != 0)
		DIE("sample response: %s\n", klic_error_detail());
	return s;
}

uint8_t *tu_sample_kreq(size_t *len)
{
	struct klic_request r;
	struct klic_archive a = KLIC_ARCHIVE_INIT;
	uint8_t sig[119], key[400], *out = NULL;
	char *man = NULL;
	size_t mlen;

	tu_sample_request(&r);
	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 13 + 1);
	sig[0] = 0x88; /* binary OpenPGP packet tags (spec 3.3) */
	key[0] = 0x99;
	if (klic_request_manifest_build(&man, &mlen, &r) != 0 ||
	    klic_archive_add(&a, "manifest.json", man, mlen) != 0 ||
	    klic_archive_add(&a, "manifest.sig", sig, sizeof(sig)) != 0 ||
	    klic_archive_add(&a, "requester.pgp", key, sizeof(key)) != 0 ||
	    klic_archive_write(&out, len, &a) != 0)
		DIE("sample kreq: %s\n", klic_error_detail());
	free(man);
	klic_archive_dispose(&a);
	return out;
}

void tu_sample_kent(struct klic_kent *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->entitlement_id, sizeof(e->entitlement_id), "%s", tu_kent_id);
	snprintf(e->org, sizeof(e->org), "Example Org");
	fill(e->org_keys[0], 'A', 40);
	e->n_org_keys = 1;
	snprintf(e->product, sizeof(e->product), "KRE");
	snprintf(e->model, sizeof(e->model), "%s", KLIC_MODEL_NODE_LOCKED);
	snprintf(e->billing, sizeof(e->billing), "%s", KLIC_BILLING_YEARLY);
	e->seats = 10;
	e->valid_from = 1793491200;  /* 2026-11-01T00:00:00Z */
	e->valid_until = 1825027200; /* 2027-11-01T00:00:00Z */
	snprintf(e->ref, sizeof(e->ref), "PO-2026-0042");
	fill(e->vendor_fpr, 'E', 40);
	e->created = 1793448000; /* 2026-10-31T12:00:00Z */
}

char *tu_sample_kent_text(size_t *len)
{
	struct klic_kent e;
	char *body = NULL, *text;
	size_t n;

	tu_sample_kent(&e);
	if (klic_kent_body_build(&body, &n, &e) != 0)
		DIE("sample kent: %s\n", klic_error_detail());
	text = tu_wrap_license(body, len);
	free(body);
	return text;
}

/* Standard base64 of a few bytes that stand for a public key (the parser
 * checks only that it is base64). */
const char tu_issuer_key_b64[] = "mDMEZ0NDSBYJKwYBBAHaRw8BAQdAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const char tu_kent_id[] = "0123456789abcdef0123456789abcdef";

void tu_sample_response(struct klic_response *r, unsigned seats, int denied)
{
	char *kent;
	size_t klen;

	memset(r, 0, sizeof(*r));
	snprintf(r->status, sizeof(r->status), "%s", denied ? "denied" : "issued");
	fill(r->request_digest, 'd', 64);
	snprintf(r->machine_id, sizeof(r->machine_id), "%s", tu_mid);
	snprintf(r->product, sizeof(r->product), "KRE");
	r->seats = seats;
	r->created = 1795370400;
	snprintf(r->issuer_org, sizeof(r->issuer_org), "Example Org");
	fill(r->issuer_fpr, 'A', 40);
	fill(r->member_fpr, 'B', 40);
	if (denied) {
		snprintf(r->reason_code, sizeof(r->reason_code), "no-seats");
		snprintf(r->reason, sizeof(r->reason), "not enough free KRE seats");
		return;
	}
	r->expires = r->created + 60 * 86400;
	r->n_licenses = seats;
	for (unsigned k = 1; k <= seats; k++) {
		if (klic_license_filename(r->lic[k - 1].file, "KRE", tu_mid, k) != 0)
			DIE("filename\n");
		snprintf(r->lic[k - 1].license_id, sizeof(r->lic[k - 1].license_id), "1111%028x", k);
		r->lic[k - 1].seat = k;
	}
	kent = tu_sample_kent_text(&klen);
	if (klen > KLIC_MAX_KENT_BYTES)
		DIE("sample kent too long\n");
	memcpy(r->entitlement, kent, klen + 1);
	r->entitlement_len = klen;
	free(kent);
	snprintf(r->entitlement_id, sizeof(r->entitlement_id), "%s", tu_kent_id);
	snprintf(r->issuer_key, sizeof(r->issuer_key), "%s", tu_issuer_key_b64);
}

uint8_t *tu_sample_kresp(size_t *len, unsigned seats)
{
	struct klic_archive a = KLIC_ARCHIVE_INIT;
	struct klic_response r;
	uint8_t *out = NULL;
	size_t mlen, llen;
	char *man, *lic;

	tu_sample_response(&r, seats, 0);
	man = tu_sample_response_doc(&mlen, seats, 0);
	lic = tu_wrap_license(man, &llen);
	/* members in spec order: manifest, signature, licenses */
	if (klic_archive_add(&a, "manifest.json", man, mlen) != 0 ||
	    klic_archive_add(&a, "manifest.sig", tu_sigblock, strlen(tu_sigblock)) != 0)
		DIE("sample kresp: %s\n", klic_error_detail());
	for (unsigned k = 0; k < seats; k++)
		if (klic_archive_add(&a, r.lic[k].file, lic, llen) != 0)
			DIE("sample kresp add\n");
	if (klic_archive_write(&out, len, &a) != 0)
		DIE("sample kresp write: %s\n", klic_error_detail());
	free(man);
	free(lic);
	klic_archive_dispose(&a);
	return out;
}
