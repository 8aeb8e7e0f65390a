/* klic — giving licenses back (spec 3.8, 5.11): `klic return` and the
 * list of returned license IDs <home>/klic/returned that install
 * consults.  Library code (klic_request): never prints, never exits. */
#ifndef KLIC_RETURN_H
#define KLIC_RETURN_H

#include "klic_kret.h"
#include "klic_request.h"

#define KLIC_RETURNED_FILE "klic/returned"
#define KLIC_MAX_RETURNED 65536 /* IDs the returned list holds */

/* Is license_id in <home>/klic/returned?  *yes 1 or 0 (no file: 0).
 * KLIC_ERR_IO / KLIC_ERR_FIELD when the file is unreadable or malformed. */
int klic_returned_has(const char *home, const char *license_id, int *yes);

/* Add ids[0..n) (32 lower hex each) to <home>/klic/returned: an atomic
 * rewrite of the old lines and the new ones, one ID a line, each once. */
int klic_returned_add(const char *home, const char (*ids)[33], size_t n);

struct klic_return_result {
	struct klic_kret kret;                     /* what the receipt says */
	char files[KLIC_MAX_SEATS][KLIC_PATH_MAX]; /* the license files deleted */
	char out_path[KLIC_PATH_MAX];              /* the receipt written */
	char digest[KLIC_SHA256_HEX_LEN + 1];      /* SHA-256 of its bytes */
	int chain_checked;                         /* 1: against a vendor key */
	char vendor_src[KLIC_PATH_MAX];
};

/* klic return: under the license folder's lock, the licenses named
 * (files[0..nfiles), each in the license folder) or every valid license of
 * `product` there must each be valid for this machine now (a pinned
 * issuer's, not expired; the chain to the vendor checked against
 * vendor_file or the product's installed key when there is one).  Then,
 * in this order (spec 5.11): the receipt is written to a temporary file
 * beside out_path and fsynced; the IDs are added to the returned list;
 * the license files are deleted and the folder fsynced; the receipt is
 * renamed to out_path (never over an existing file) and its folder
 * fsynced.  Any failure before the returned list is written changes
 * nothing.  bad gets the printable name of the file a failure is about. */
int klic_user_return(struct klic_user *u, struct klic_return_result *res, char *bad, size_t badsz,
		     const char *product, const char *const *files, size_t nfiles,
		     const char *out_path, const char *vendor_file);

#endif
