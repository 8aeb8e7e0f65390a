/* Test helpers for bundle/ unit tests and the fuzz seed generator: build
 * arbitrary (hostile) tar.gz archives with libarchive's writer and zlib,
 * and valid sample documents. */
#ifndef KLIC_TUTIL_H
#define KLIC_TUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"

struct tu_tar;

/* gz: compress while writing (level 9 gzip), else collect the raw tar.
 * pax: pax format (long names), else ustar.  Aborts on failure. */
struct tu_tar *tu_tar_new(int gz, int pax);
/* type: AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO, AE_IFCHR; link: symlink
 * target (AE_IFLNK) or hard-link target (AE_IFREG with hard=1). */
void tu_tar_entry(struct tu_tar *t, const char *name, unsigned type, const void *data,
		  size_t len, const char *link, int hard);
/* A regular member of `size` zero bytes, streamed in chunks (bombs). */
void tu_tar_zeros(struct tu_tar *t, const char *name, uint64_t size);
/* Finish (end-of-archive blocks unless raw_no_eoa) and return the bytes. */
uint8_t *tu_tar_finish(struct tu_tar *t, size_t *len, int no_eoa);

/* gzip (level 9) of a buffer. */
uint8_t *tu_gzip(const uint8_t *in, size_t len, size_t *outlen);

/* Sample valid documents and bundles. */
extern const char tu_mid[]; /* canonical machine ID */
void tu_sample_request(struct klic_request *r);
/* A sample entitlement (org "Example Org", org key 'A' x 40, KRE,
 * node-locked, yearly, 10 seats, 2026-11-01..2027-11-01, vendor 'E' x 40)
 * and its .kent text: the canonical body wrapped with tu_sigblock (the
 * shape of a .kent, not a real signature).  The text is malloc'd. */
extern const char tu_kent_id[];
extern const char tu_issuer_key_b64[];
void tu_sample_kent(struct klic_kent *e);
char *tu_sample_kent_text(size_t *len);
/* A sample response (issued: seats licenses KRE_<mid>[_k].lic, license IDs
 * "1111" + k in hex, the chain fields tu_sample_kent_text(), tu_kent_id and
 * tu_issuer_key_b64) and its canonical document. */
void tu_sample_response(struct klic_response *r, unsigned seats, int denied);
char *tu_sample_response_doc(size_t *len, unsigned seats, int denied);
/* A syntactically valid armored signature block (not a real signature). */
extern const char tu_sigblock[];
/* The clear-signed .lic form of body with tu_sigblock. */
char *tu_wrap_license(const char *body, size_t *len);
uint8_t *tu_sample_kreq(size_t *len);
/* manifest.json, manifest.sig (tu_sigblock) and seats license members. */
uint8_t *tu_sample_kresp(size_t *len, unsigned seats);

#endif
