/* Unit tests: .kreq/.kresp archives (bundle/archive.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <archive.h>
#include <zlib.h>
#include <archive_entry.h>

#include "klic_bundle.h"
#include "tutil.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_kind(enum klic_bundle_kind kind, const uint8_t *buf, size_t len)
{
	struct klic_archive a = KLIC_ARCHIVE_INIT;
	int r = klic_archive_read(&a, kind, buf, len);
	if (r == 0)
		assert_true(a.n > 0);
	else
		assert_int_equal(a.n, 0); /* nothing handed out on failure */
	klic_archive_dispose(&a);
	return r;
}

/* The three valid request members. */
static const char MAN[] = "{\"x\":1}\n";
static const uint8_t SIG[] = {0x88, 2, 3, 4}; /* binary OpenPGP: bit 7 of the first byte */
static const uint8_t KEY[] = {0x99, 6, 7};

static void add_valid_request(struct tu_tar *t)
{
	tu_tar_entry(t, "manifest.json", AE_IFREG, MAN, sizeof(MAN) - 1, NULL, 0);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
	tu_tar_entry(t, "requester.pgp", AE_IFREG, KEY, sizeof(KEY), NULL, 0);
}

static void test_names(void **state)
{
	char n[80];
	(void)state;
	assert_true(klic_member_name_allowed(KLIC_KIND_REQUEST, "manifest.json"));
	assert_true(klic_member_name_allowed(KLIC_KIND_REQUEST, "manifest.sig"));
	assert_true(klic_member_name_allowed(KLIC_KIND_REQUEST, "requester.pgp"));
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, "requester.pgp"));
	assert_true(klic_member_name_allowed(KLIC_KIND_RESPONSE, "manifest.json"));
	snprintf(n, sizeof n, "KRE_%s.lic", tu_mid);
	assert_true(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	assert_false(klic_member_name_allowed(KLIC_KIND_REQUEST, n));
	snprintf(n, sizeof n, "KSE_%s_2.lic", tu_mid);
	assert_true(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	snprintf(n, sizeof n, "KRE_%s_64.lic", tu_mid);
	assert_true(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	snprintf(n, sizeof n, "KRE_%s_65.lic", tu_mid);
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	snprintf(n, sizeof n, "KRE_%s_1.lic", tu_mid);
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	snprintf(n, sizeof n, "KRE_%s_02.lic", tu_mid);
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	snprintf(n, sizeof n, "KRE_%s_100.lic", tu_mid);
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	snprintf(n, sizeof n, "KXE_%s.lic", tu_mid);
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	snprintf(n, sizeof n, "KRE_%s.lic.x", tu_mid);
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	/* wrong check symbol in the ID */
	snprintf(n, sizeof n, "KRE_93AX8-BB8QX-4G7T6-2GC39-RHAVW.lic");
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	/* lower-case ID is not canonical */
	snprintf(n, sizeof n, "KRE_93ax8-bb8qx-4g7t6-2gc39-rhavx.lic");
	assert_false(klic_member_name_allowed(KLIC_KIND_RESPONSE, n));
	assert_false(klic_member_name_allowed(KLIC_KIND_REQUEST, "../manifest.json"));
	assert_false(klic_member_name_allowed(KLIC_KIND_REQUEST, "./manifest.json"));
	assert_false(klic_member_name_allowed(KLIC_KIND_REQUEST, "/manifest.json"));
	assert_false(klic_member_name_allowed(KLIC_KIND_REQUEST, ""));
	assert_false(klic_member_name_allowed(KLIC_KIND_REQUEST, NULL));
}

static void test_roundtrip_deterministic(void **state)
{
	size_t l1, l2;
	uint8_t *a = tu_sample_kreq(&l1), *b = tu_sample_kreq(&l2);
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	(void)state;

	assert_int_equal(l1, l2);
	assert_memory_equal(a, b, l1);
	assert_true(l1 < 2048); /* brief: a .kreq under 2 KiB */
	/* gzip header: magic, deflate, no flags, mtime 0, xfl 2 (level 9), OS 255 */
	static const uint8_t hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255};
	assert_memory_equal(a, hdr, sizeof(hdr));
	assert_int_equal(klic_archive_read(&ar, KLIC_KIND_REQUEST, a, l1), 0);
	assert_int_equal(ar.n, 3);
	assert_string_equal(ar.m[0].name, "manifest.json");
	assert_string_equal(ar.m[1].name, "manifest.sig");
	assert_string_equal(ar.m[2].name, "requester.pgp");
	assert_int_equal(ar.m[1].len, 119);
	assert_int_equal(ar.m[2].len, 400);
	assert_int_equal(ar.m[2].data[ar.m[2].len], 0); /* NUL-terminated */
	assert_non_null(klic_archive_get(&ar, "requester.pgp"));
	assert_null(klic_archive_get(&ar, "nope"));
	/* a request is not a response: "wrong document type" (item 7) */
	assert_int_equal(read_kind(KLIC_KIND_RESPONSE, a, l1), KLIC_ERR_TYPE_TAG);
	assert_string_equal(klic_error_detail(), "this is a request (.kreq), not a response (.kresp)");
	klic_archive_dispose(&ar);
	free(a);
	free(b);

	a = tu_sample_kresp(&l1, 3);
	b = tu_sample_kresp(&l2, 3);
	assert_int_equal(l1, l2);
	assert_memory_equal(a, b, l1);
	assert_int_equal(klic_archive_read(&ar, KLIC_KIND_RESPONSE, a, l1), 0);
	assert_int_equal(ar.n, 5);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, a, l1), KLIC_ERR_TYPE_TAG);
	assert_string_equal(klic_error_detail(), "this is a response (.kresp), not a request (.kreq)");
	klic_archive_dispose(&ar);
	free(a);
	free(b);
}

/* The tar inside is a plain ustar with the documented header values. */
static void test_ustar_header(void **state)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t len;
	uint8_t *kreq = tu_sample_kreq(&len);
	int n = 0;
	(void)state;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, kreq, len), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		assert_int_equal(archive_entry_filetype(e), AE_IFREG);
		assert_int_equal(archive_entry_perm(e), 0644);
		assert_int_equal(archive_entry_mtime(e), 0);
		assert_int_equal(archive_entry_uid(e), 0);
		assert_int_equal(archive_entry_gid(e), 0);
		assert_true(archive_entry_uname(e) == NULL || archive_entry_uname(e)[0] == '\0');
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(archive_format(a), ARCHIVE_FORMAT_TAR_USTAR);
	archive_read_free(a);
	free(kreq);
}

static void test_write_refuses(void **state)
{
	struct klic_archive a = KLIC_ARCHIVE_INIT;
	uint8_t *out = NULL;
	size_t len = 0;
	static uint8_t big[KLIC_MAX_MANIFEST_BYTES + 1];
	(void)state;

	assert_int_equal(klic_archive_write(&out, &len, &a), KLIC_ERR_MEMBER_COUNT);
	assert_int_equal(klic_archive_add(&a, "x.txt", "a", 1), 0);
	assert_int_equal(klic_archive_write(&out, &len, &a), KLIC_ERR_MEMBER_NAME);
	klic_archive_dispose(&a);
	assert_int_equal(klic_archive_add(&a, "manifest.json", "a", 1), 0);
	assert_int_equal(klic_archive_add(&a, "manifest.json", "b", 1), 0);
	assert_int_equal(klic_archive_write(&out, &len, &a), KLIC_ERR_MEMBER_DUP);
	klic_archive_dispose(&a);
	assert_int_equal(klic_archive_add(&a, "manifest.json", big, sizeof big), 0);
	assert_int_equal(klic_archive_write(&out, &len, &a), KLIC_ERR_MEMBER_SIZE);
	klic_archive_dispose(&a);
	assert_null(out);
	char longname[80];
	memset(longname, 'a', sizeof longname);
	longname[65] = '\0';
	assert_int_equal(klic_archive_add(&a, longname, "a", 1), KLIC_ERR_MEMBER_NAME);
	assert_int_equal(a.n, 0);
}

/* Every member byte flipped: still a readable archive (hashes are the
 * caller's business), with exactly the flipped bytes. */
static void test_member_flip_readable(void **state)
{
	size_t len;
	uint8_t *kresp = tu_sample_kresp(&len, 2);
	struct klic_archive orig = KLIC_ARCHIVE_INIT;
	(void)state;

	assert_int_equal(klic_archive_read(&orig, KLIC_KIND_RESPONSE, kresp, len), 0);
	for (size_t m = 0; m < orig.n; m++) {
		for (size_t pos = 0; pos < orig.m[m].len; pos += 17) {
			struct klic_archive mod = KLIC_ARCHIVE_INIT, back = KLIC_ARCHIVE_INIT;
			uint8_t *bytes;
			size_t blen;
			for (size_t i = 0; i < orig.n; i++)
				assert_int_equal(klic_archive_add(&mod, orig.m[i].name, orig.m[i].data,
								  orig.m[i].len),
						 0);
			mod.m[m].data[pos] ^= 0x20;
			assert_int_equal(klic_archive_write(&bytes, &blen, &mod), 0);
			assert_int_equal(klic_archive_read(&back, KLIC_KIND_RESPONSE, bytes, blen), 0);
			assert_int_equal(back.m[m].len, orig.m[m].len);
			assert_memory_equal(back.m[m].data, mod.m[m].data, orig.m[m].len);
			assert_memory_not_equal(back.m[m].data, orig.m[m].data, orig.m[m].len);
			klic_archive_dispose(&mod);
			klic_archive_dispose(&back);
			free(bytes);
		}
	}
	klic_archive_dispose(&orig);
	free(kresp);
}

/* Bit flips in the compressed file.  The gzip CRC-32 and length cover every
 * decompressed byte, so a flip is either refused with an archive error or
 * sits in bits that carry no content -- gzip FTEXT flag, MTIME/XFL/OS
 * header bytes, unused padding bits, or a back-reference inside a run of
 * zeros changed to another distance that copies the same zeros -- and then
 * yields exactly the same members.  Never a crash, never other content. */
static void flip_one(const uint8_t *orig, size_t len, enum klic_bundle_kind kind,
		     const struct klic_archive *ref, size_t pos, uint8_t mask, unsigned *accepted)
{
	uint8_t *mut = malloc(len);
	(void)pos;
	struct klic_archive a = KLIC_ARCHIVE_INIT;
	int r;

	memcpy(mut, orig, len);
	mut[pos] ^= mask;
	r = klic_archive_read(&a, kind, mut, len);
	if (r == 0) {
		(*accepted)++;
		assert_int_equal(a.n, ref->n);
		for (size_t i = 0; i < a.n; i++) {
			assert_string_equal(a.m[i].name, ref->m[i].name);
			assert_int_equal(a.m[i].len, ref->m[i].len);
			assert_memory_equal(a.m[i].data, ref->m[i].data, a.m[i].len);
		}
	} else {
		assert_true(r <= KLIC_ERR_ARCHIVE_FORMAT && r >= KLIC_ERR_UNPACKED_SIZE);
	}
	klic_archive_dispose(&a);
	free(mut);
}

static void compressed_flips(enum klic_bundle_kind kind, uint8_t *buf, size_t len)
{
	struct klic_archive ref = KLIC_ARCHIVE_INIT;
	unsigned accepted = 0, tried = 0;

	assert_int_equal(klic_archive_read(&ref, kind, buf, len), 0);
	for (size_t pos = 0; pos < len; pos++) {
		if (!(pos < 16 || pos % 7 == 0 || pos + 16 >= len || pos == len / 2))
			continue;
		for (int bit = 0; bit < 8; bit++, tried++)
			flip_one(buf, len, kind, &ref, pos, (uint8_t)(1u << bit), &accepted);
	}
	/* only a few content-free bits */
	assert_true(accepted * 10 < tried);
	assert_true(tried > 8 * 50);
	klic_archive_dispose(&ref);
}

static void test_compressed_flips(void **state)
{
	size_t len;
	uint8_t *b = tu_sample_kreq(&len);
	(void)state;
	compressed_flips(KLIC_KIND_REQUEST, b, len);
	free(b);
	b = tu_sample_kresp(&len, 2);
	compressed_flips(KLIC_KIND_RESPONSE, b, len);
	free(b);
}

static void test_truncated(void **state)
{
	size_t len;
	uint8_t *b = tu_sample_kreq(&len);
	(void)state;

	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, b, n);
		int r = read_kind(KLIC_KIND_REQUEST, cut, n);
		if (n < 2)
			assert_int_equal(r, KLIC_ERR_ARCHIVE_FORMAT);
		else if (n >= 10)
			assert_int_equal(r, KLIC_ERR_ARCHIVE_TRUNCATED);
		else
			assert_true(r == KLIC_ERR_ARCHIVE_TRUNCATED || r == KLIC_ERR_ARCHIVE_FORMAT);
		free(cut);
	}
	free(b);
}

static int hostile(void (*build)(struct tu_tar *), enum klic_bundle_kind kind, int pax)
{
	struct tu_tar *t = tu_tar_new(1, pax);
	size_t len;
	uint8_t *b;
	int r;

	build(t);
	b = tu_tar_finish(t, &len, 0);
	r = read_kind(kind, b, len);
	free(b);
	return r;
}

static void b_valid(struct tu_tar *t)
{
	add_valid_request(t);
}
static void b_dup(struct tu_tar *t)
{
	add_valid_request(t);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
}
static void b_missing(struct tu_tar *t)
{
	tu_tar_entry(t, "manifest.json", AE_IFREG, MAN, sizeof(MAN) - 1, NULL, 0);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
}
static const char *bad_name;
static void b_name(struct tu_tar *t)
{
	add_valid_request(t);
	tu_tar_entry(t, bad_name, AE_IFREG, "x", 1, NULL, 0);
}
static unsigned bad_type;
static void b_type(struct tu_tar *t)
{
	add_valid_request(t);
	tu_tar_entry(t, "manifest.json", bad_type, NULL, 0, "manifest.sig", 0);
}
static void b_type_first(struct tu_tar *t)
{
	tu_tar_entry(t, "manifest.json", bad_type, NULL, 0, "/etc/passwd", 0);
	add_valid_request(t);
}
static void b_hardlink(struct tu_tar *t)
{
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
	tu_tar_entry(t, "manifest.json", AE_IFREG, NULL, 0, "manifest.sig", 1);
	tu_tar_entry(t, "requester.pgp", AE_IFREG, KEY, sizeof(KEY), NULL, 0);
}
static size_t big_size;
static void b_big(struct tu_tar *t)
{
	tu_tar_zeros(t, "manifest.json", big_size);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
	tu_tar_entry(t, "requester.pgp", AE_IFREG, KEY, sizeof(KEY), NULL, 0);
}
static void b_big_sig(struct tu_tar *t)
{
	tu_tar_entry(t, "manifest.json", AE_IFREG, MAN, sizeof(MAN) - 1, NULL, 0);
	tu_tar_zeros(t, "manifest.sig", KLIC_MAX_SIG_BYTES + 1);
	tu_tar_entry(t, "requester.pgp", AE_IFREG, KEY, sizeof(KEY), NULL, 0);
}

/* spec 3.3 (issue 18 item 17): a request's signature and key are binary */
static const char ARMORED[] = "-----BEGIN PGP SIGNATURE-----\n\niHUE\n=AbCd\n"
			      "-----END PGP SIGNATURE-----\n";
static void b_armored_sig(struct tu_tar *t)
{
	tu_tar_entry(t, "manifest.json", AE_IFREG, MAN, sizeof(MAN) - 1, NULL, 0);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, ARMORED, sizeof(ARMORED) - 1, NULL, 0);
	tu_tar_entry(t, "requester.pgp", AE_IFREG, KEY, sizeof(KEY), NULL, 0);
}
static void b_armored_key(struct tu_tar *t)
{
	tu_tar_entry(t, "manifest.json", AE_IFREG, MAN, sizeof(MAN) - 1, NULL, 0);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
	tu_tar_entry(t, "requester.pgp", AE_IFREG, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", 37,
		     NULL, 0);
}
static void b_text_key(struct tu_tar *t)
{
	tu_tar_entry(t, "manifest.json", AE_IFREG, MAN, sizeof(MAN) - 1, NULL, 0);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
	tu_tar_entry(t, "requester.pgp", AE_IFREG, "mQ", 2, NULL, 0);
}

static void test_request_members_binary(void **state)
{
	(void)state;
	assert_int_equal(hostile(b_armored_sig, KLIC_KIND_REQUEST, 0), KLIC_ERR_SIG_NONE);
	assert_string_equal(klic_error_detail(), "manifest.sig is ASCII-armored: a request carries "
						 "a binary OpenPGP signature");
	assert_int_equal(hostile(b_armored_key, KLIC_KIND_REQUEST, 0), KLIC_ERR_KEY);
	assert_string_equal(klic_error_detail(), "requester.pgp is ASCII-armored: a request "
						 "carries a binary OpenPGP public key");
	assert_int_equal(hostile(b_text_key, KLIC_KIND_REQUEST, 0), KLIC_ERR_KEY);
	assert_string_equal(klic_error_detail(), "requester.pgp is not an OpenPGP packet: a request "
						 "carries a binary OpenPGP public key");
	/* the response's signature is armored by definition (3.4): not this rule */
	assert_int_equal(hostile(b_armored_sig, KLIC_KIND_RESPONSE, 0), KLIC_ERR_TYPE_TAG);
	assert_int_equal(hostile(b_valid, KLIC_KIND_REQUEST, 0), 0);
}

static void test_hostile_members(void **state)
{
	static const char *const names[] = {
		"../x", "/x", "a/b", "unknown.txt", "./manifest.json",
		"MANIFEST.JSON", "manifest.json\n", "/etc/passwd", "..",
	};
	static const unsigned types[] = {AE_IFLNK, AE_IFDIR, AE_IFIFO, AE_IFCHR};
	(void)state;

	assert_int_equal(hostile(b_valid, KLIC_KIND_REQUEST, 0), 0);
	/* libarchive's restricted pax writer makes plain ustar when it needs no record */
	assert_int_equal(hostile(b_valid, KLIC_KIND_REQUEST, 1), 0);
	assert_int_equal(hostile(b_dup, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_DUP);
	assert_int_equal(hostile(b_missing, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_MISSING);
	assert_int_equal(hostile(b_missing, KLIC_KIND_RESPONSE, 0), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bad_name = names[i];
		assert_int_equal(hostile(b_name, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_NAME);
	}
	/* a trailing '/' makes libarchive report a directory: refused either way */
	bad_name = "manifest.json/";
	int r = hostile(b_name, KLIC_KIND_REQUEST, 0);
	assert_true(r == KLIC_ERR_MEMBER_TYPE || r == KLIC_ERR_MEMBER_NAME);
	/* longer than 100 needs a pax record, which a bundle never holds (3.2) */
	char longn[200];
	memset(longn, 'm', sizeof longn);
	longn[sizeof longn - 1] = '\0';
	bad_name = longn;
	assert_int_equal(hostile(b_name, KLIC_KIND_REQUEST, 1), KLIC_ERR_ARCHIVE_FORMAT);
	assert_non_null(strstr(klic_error_detail(), "pax extended header"));
	longn[65] = '\0'; /* 65 bytes: one field, over the 64-byte limit */
	assert_int_equal(hostile(b_name, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_NAME);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		bad_type = types[i];
		assert_int_equal(hostile(b_type, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_TYPE);
		assert_int_equal(hostile(b_type_first, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_TYPE);
	}
	assert_int_equal(hostile(b_hardlink, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_TYPE);
	/* size caps: exactly the cap is fine, one more is refused */
	big_size = KLIC_MAX_MANIFEST_BYTES;
	assert_int_equal(hostile(b_big, KLIC_KIND_REQUEST, 0), 0);
	big_size = KLIC_MAX_MANIFEST_BYTES + 1;
	assert_int_equal(hostile(b_big, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_SIZE);
	assert_int_equal(hostile(b_big_sig, KLIC_KIND_REQUEST, 0), KLIC_ERR_MEMBER_SIZE);
}

/* 68 members with distinct allowed names (KRE and KSE licenses). */
static void b_count(struct tu_tar *t)
{
	char n[80];
	tu_tar_entry(t, "manifest.json", AE_IFREG, MAN, sizeof(MAN) - 1, NULL, 0);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
	for (unsigned k = 1; k <= 66; k++) {
		const char *p = k <= 33 ? "KRE" : "KSE";
		unsigned seat = k <= 33 ? k : k - 33;
		assert_int_equal(klic_license_filename(n, p, tu_mid, seat), 0);
		tu_tar_entry(t, n, AE_IFREG, "l", 1, NULL, 0);
	}
}
static void b_count_ok(struct tu_tar *t)
{
	char n[80];
	tu_tar_entry(t, "manifest.json", AE_IFREG, MAN, sizeof(MAN) - 1, NULL, 0);
	tu_tar_entry(t, "manifest.sig", AE_IFREG, SIG, sizeof(SIG), NULL, 0);
	for (unsigned k = 1; k <= 64; k++) {
		assert_int_equal(klic_license_filename(n, "KRE", tu_mid, k), 0);
		tu_tar_entry(t, n, AE_IFREG, "l", 1, NULL, 0);
	}
}

static void test_count(void **state)
{
	(void)state;
	assert_int_equal(hostile(b_count_ok, KLIC_KIND_RESPONSE, 0), 0);
	assert_int_equal(hostile(b_count, KLIC_KIND_RESPONSE, 0), KLIC_ERR_MEMBER_COUNT);
}

static unsigned many_n;
static void b_many(struct tu_tar *t)
{
	char n[32];
	for (unsigned i = 0; i < many_n; i++) {
		snprintf(n, sizeof n, "x%06u", i);
		tu_tar_entry(t, n, AE_IFREG, NULL, 0, NULL, 0);
	}
}
static void b_many_dup(struct tu_tar *t)
{
	for (unsigned i = 0; i < many_n; i++)
		tu_tar_entry(t, "manifest.json", AE_IFREG, NULL, 0, NULL, 0);
}

static void test_many_members(void **state)
{
	double t0;
	struct tu_tar *t;
	uint8_t *b;
	size_t len;
	int r;
	(void)state;

	many_n = 100000;
	t = tu_tar_new(1, 0);
	b_many(t);
	b = tu_tar_finish(t, &len, 0);
	t0 = now_s();
	r = read_kind(KLIC_KIND_REQUEST, b, len);
	assert_true(now_s() - t0 < 1.0);
	/* far over 256 KiB compressed: refused by size before anything else */
	assert_true(len > KLIC_MAX_BUNDLE_BYTES);
	assert_int_equal(r, KLIC_ERR_TOO_BIG);
	/* the caller's cap aside, the reader itself refuses it in bounded time */
	t0 = now_s();
	r = read_kind(KLIC_KIND_REQUEST, b, KLIC_MAX_BUNDLE_BYTES);
	assert_true(now_s() - t0 < 1.0);
	assert_true(r == KLIC_ERR_UNPACKED_SIZE || r == KLIC_ERR_MEMBER_NAME);
	free(b);

	many_n = 1000; /* fits: refused at the first name */
	t = tu_tar_new(1, 0);
	b_many(t);
	b = tu_tar_finish(t, &len, 0);
	assert_true(len <= KLIC_MAX_BUNDLE_BYTES);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, b, len), KLIC_ERR_MEMBER_NAME);
	free(b);

	many_n = 100000;
	t0 = now_s();
	t = tu_tar_new(1, 0);
	b_many_dup(t);
	b = tu_tar_finish(t, &len, 0);
	t0 = now_s();
	r = read_kind(KLIC_KIND_REQUEST, b, len < KLIC_MAX_BUNDLE_BYTES ? len : KLIC_MAX_BUNDLE_BYTES);
	assert_true(now_s() - t0 < 1.0);
	assert_true(r == KLIC_ERR_UNPACKED_SIZE || r == KLIC_ERR_MEMBER_DUP);
	free(b);
}

static void test_bombs(void **state)
{
	struct tu_tar *t;
	uint8_t *b;
	size_t len;
	double t0;
	int r;
	(void)state;

	/* 200 MiB of zeros: ~200 KiB compressed, under the file cap */
	big_size = 200u << 20;
	t = tu_tar_new(1, 0);
	b_big(t);
	b = tu_tar_finish(t, &len, 0);
	assert_true(len <= KLIC_MAX_BUNDLE_BYTES);
	t0 = now_s();
	r = read_kind(KLIC_KIND_REQUEST, b, len);
	assert_true(now_s() - t0 < 1.0);
	assert_true(r == KLIC_ERR_MEMBER_SIZE || r == KLIC_ERR_UNPACKED_SIZE);
	free(b);

	/* 512 MiB: over the 256 KiB input cap */
	big_size = 512u << 20;
	t = tu_tar_new(1, 0);
	b_big(t);
	b = tu_tar_finish(t, &len, 0);
	assert_true(len > KLIC_MAX_BUNDLE_BYTES);
	t0 = now_s();
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, b, len), KLIC_ERR_TOO_BIG);
	r = read_kind(KLIC_KIND_REQUEST, b, KLIC_MAX_BUNDLE_BYTES);
	assert_true(r == KLIC_ERR_MEMBER_SIZE || r == KLIC_ERR_UNPACKED_SIZE);
	assert_true(now_s() - t0 < 1.0);
	free(b);

	/* valid members, then zeros past the unpacked cap after the end-of-archive */
	t = tu_tar_new(0, 0);
	add_valid_request(t);
	b = tu_tar_finish(t, &len, 0);
	size_t pad = KLIC_MAX_UNPACKED_BYTES + (1u << 20);
	b = realloc(b, len + pad);
	memset(b + len, 0, pad);
	size_t glen;
	uint8_t *g = tu_gzip(b, len + pad, &glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), KLIC_ERR_UNPACKED_SIZE);
	free(g);
	/* ... but padding within the cap is fine (GNU tar pads to 10 KiB) */
	g = tu_gzip(b, len + 10240, &glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), 0);
	free(g);
	free(b);
}

static void test_format_and_trailing(void **state)
{
	static const uint8_t garbage[] = "this is not a bundle at all, just text\n";
	struct tu_tar *t;
	uint8_t *raw, *g, *x;
	size_t rawlen, glen, xlen;
	(void)state;

	assert_int_equal(read_kind(KLIC_KIND_REQUEST, (const uint8_t *)"", 0),
			 KLIC_ERR_ARCHIVE_FORMAT);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, garbage, sizeof garbage - 1),
			 KLIC_ERR_ARCHIVE_FORMAT);

	t = tu_tar_new(0, 0);
	add_valid_request(t);
	raw = tu_tar_finish(t, &rawlen, 0);
	/* an uncompressed tar is not a bundle */
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, raw, rawlen), KLIC_ERR_ARCHIVE_FORMAT);
	g = tu_gzip(raw, rawlen, &glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), 0);

	/* gzip of garbage, and gzip of a gzip */
	x = tu_gzip(garbage, sizeof garbage - 1, &xlen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, x, xlen), KLIC_ERR_ARCHIVE_FORMAT);
	free(x);
	x = tu_gzip(g, glen, &xlen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, x, xlen), KLIC_ERR_ARCHIVE_FORMAT);
	free(x);

	/* trailing garbage after the gzip stream */
	x = malloc(glen + 5);
	memcpy(x, g, glen);
	memcpy(x + glen, "JUNK!", 5);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, x, glen + 5), KLIC_ERR_ARCHIVE_TRAILING);
	/* a single trailing zero byte too */
	x[glen] = 0;
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, x, glen + 1), KLIC_ERR_ARCHIVE_TRAILING);
	free(x);

	/* a second gzip member (even an empty one, or a copy of the first) */
	size_t elen;
	uint8_t *e = tu_gzip((const uint8_t *)"", 0, &elen);
	x = malloc(glen + elen + glen);
	memcpy(x, g, glen);
	memcpy(x + glen, e, elen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, x, glen + elen), KLIC_ERR_ARCHIVE_TRAILING);
	memcpy(x + glen, g, glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, x, 2 * glen), KLIC_ERR_ARCHIVE_TRAILING);
	free(x);
	free(e);
	free(g);

	/* non-zero bytes after the end-of-archive blocks, inside the gzip */
	raw = realloc(raw, rawlen + 512);
	memset(raw + rawlen, 0, 512);
	memcpy(raw + rawlen + 100, "hidden", 6);
	g = tu_gzip(raw, rawlen + 512, &glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), KLIC_ERR_ARCHIVE_TRAILING);
	free(g);
	/* a whole second archive after the end-of-archive marker */
	{
		struct tu_tar *t2 = tu_tar_new(0, 0);
		size_t l2;
		tu_tar_entry(t2, "evil.sh", AE_IFREG, "x", 1, NULL, 0);
		uint8_t *r2 = tu_tar_finish(t2, &l2, 0);
		raw = realloc(raw, rawlen + l2);
		memcpy(raw + rawlen, r2, l2);
		g = tu_gzip(raw, rawlen + l2, &glen);
		assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), KLIC_ERR_ARCHIVE_TRAILING);
		free(g);
		free(r2);
	}
	/* one zero block then data: still trailing */
	memset(raw + rawlen - 512, 0x41, 512);
	g = tu_gzip(raw, rawlen, &glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), KLIC_ERR_ARCHIVE_TRAILING);
	free(g);
	free(raw);

	/* no end-of-archive marker at all */
	t = tu_tar_new(0, 0);
	add_valid_request(t);
	raw = tu_tar_finish(t, &rawlen, 1);
	g = tu_gzip(raw, rawlen, &glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), KLIC_ERR_ARCHIVE_TRUNCATED);
	free(g);
	/* tar cut in the middle of member data, gzip complete */
	g = tu_gzip(raw, rawlen - 600, &glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), KLIC_ERR_ARCHIVE_TRUNCATED);
	free(g);
	/* a damaged header checksum in the second member */
	raw[512 + 512 + 148] ^= 1;
	g = tu_gzip(raw, rawlen, &glen);
	assert_int_equal(read_kind(KLIC_KIND_REQUEST, g, glen), KLIC_ERR_ARCHIVE_TRUNCATED);
	free(g);
	free(raw);

	/* bad arguments */
	struct klic_archive a = KLIC_ARCHIVE_INIT;
	assert_int_equal(klic_archive_read(&a, (enum klic_bundle_kind)7, garbage, 3),
			 KLIC_ERR_INVALID_ARG);
}

/* ---- spec 3.1: every byte the writer makes (issue 18 item 19) ----------
 * The expected tar is built here from the spec's table alone, the gzip
 * layer from its header bytes and zlib parameters; the writer must match
 * both byte for byte. */
static void spec_field(uint8_t *h, size_t off, const char *v, size_t n)
{
	memcpy(h + off, v, n);
}

static uint8_t *spec_tar(const struct klic_archive *ar, size_t *len)
{
	size_t cap = 1024, n = 0;
	uint8_t *t;

	for (size_t i = 0; i < ar->n; i++)
		cap += 512 + (ar->m[i].len + 511) / 512 * 512;
	t = calloc(1, cap);
	assert_non_null(t);
	for (size_t i = 0; i < ar->n; i++) {
		uint8_t *h = t + n;
		char f[16];
		unsigned sum = 0;
		memcpy(h, ar->m[i].name, strlen(ar->m[i].name));
		spec_field(h, 100, "000644 \0", 8);
		spec_field(h, 108, "000000 \0", 8);
		spec_field(h, 116, "000000 \0", 8);
		snprintf(f, sizeof f, "%011zo ", ar->m[i].len);
		spec_field(h, 124, f, 12);
		spec_field(h, 136, "00000000000 ", 12);
		h[156] = '0';
		spec_field(h, 257, "ustar\0" "00", 8);
		spec_field(h, 329, "000000 \0", 8);
		spec_field(h, 337, "000000 \0", 8);
		spec_field(h, 148, "        ", 8);
		for (size_t k = 0; k < 512; k++)
			sum += h[k];
		snprintf(f, sizeof f, "%06o", sum);
		spec_field(h, 148, f, 6);
		h[154] = '\0';
		h[155] = ' ';
		memcpy(h + 512, ar->m[i].data, ar->m[i].len);
		n += 512 + (ar->m[i].len + 511) / 512 * 512;
	}
	*len = n + 1024; /* two zero blocks, no record padding */
	assert_int_equal(*len, cap);
	return t;
}

static void writer_matches_spec(const uint8_t *bundle, size_t blen, enum klic_bundle_kind kind)
{
	static const uint8_t ghdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255};
	struct klic_archive ar = KLIC_ARCHIVE_INIT;
	uint8_t *tar, *gz;
	size_t tlen;
	z_stream z;
	gz_header gh;
	uLong crc;

	assert_int_equal(klic_archive_read(&ar, kind, bundle, blen), 0);
	tar = spec_tar(&ar, &tlen);
	/* the gzip layer: header, one deflate stream of zlib's level 9, trailer */
	assert_memory_equal(bundle, ghdr, sizeof ghdr);
	memset(&z, 0, sizeof z);
	memset(&gh, 0, sizeof gh);
	gh.os = 255;
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	assert_int_equal(deflateSetHeader(&z, &gh), Z_OK);
	gz = malloc(deflateBound(&z, tlen) + 64);
	z.next_in = tar;
	z.avail_in = (uInt)tlen;
	z.next_out = gz;
	z.avail_out = (uInt)(deflateBound(&z, tlen) + 64);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, blen);
	assert_memory_equal(gz, bundle, blen);
	deflateEnd(&z);
	crc = crc32(crc32(0L, Z_NULL, 0), tar, (uInt)tlen);
	assert_int_equal(bundle[blen - 8] | bundle[blen - 7] << 8 | bundle[blen - 6] << 16 |
				 (uLong)bundle[blen - 5] << 24,
			 crc);
	assert_int_equal(bundle[blen - 4] | bundle[blen - 3] << 8 | bundle[blen - 2] << 16 |
				 (uLong)bundle[blen - 1] << 24,
			 tlen);
	free(gz);
	free(tar);
	klic_archive_dispose(&ar);
}

static void test_writer_bytes(void **state)
{
	size_t n;
	uint8_t *b;
	(void)state;

	b = tu_sample_kreq(&n);
	writer_matches_spec(b, n, KLIC_KIND_REQUEST);
	free(b);
	for (unsigned seats = 1; seats <= 4; seats += 3) {
		b = tu_sample_kresp(&n, seats);
		writer_matches_spec(b, n, KLIC_KIND_RESPONSE);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_roundtrip_deterministic),
		cmocka_unit_test(test_ustar_header),
		cmocka_unit_test(test_write_refuses),
		cmocka_unit_test(test_member_flip_readable),
		cmocka_unit_test(test_compressed_flips),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_hostile_members),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_many_members),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_format_and_trailing),
		cmocka_unit_test(test_writer_bytes),
		cmocka_unit_test(test_request_members_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
