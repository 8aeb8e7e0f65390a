/* klic — internals shared by the files of klic_check and klic_request
 * (not installed). */
#ifndef KLIC_CHECK_INT_H
#define KLIC_CHECK_INT_H

#include "klic_check.h"

/* "<a>/<b>" with a length check. */
int klic_rq_path(char out[KLIC_PATH_MAX], const char *a, const char *b);
/* lstat: *exists 1/0; errors other than ENOENT/ENOTDIR are KLIC_ERR_IO. */
int klic_rq_exists(const char *path, int *exists);

int klic_rq_issuers_load(struct klic_user *u);

/* Verify a detached signature by one of the pinned issuers
 * (KLIC_ERR_NOT_ISSUER when none is pinned); the same bytes are verified
 * by gpg only once per klic_user. */
int klic_rq_verify_issuer(struct klic_user *u, struct klic_sig_info *info, const uint8_t *sig,
			  size_t siglen, const uint8_t *data, size_t len);

/* A response or license signature must be text mode (so stock gpg checks
 * the clear-signed .lic) and use the digest its Hash line names
 * (hash_bits; 0: no Hash line to match). */
int klic_rq_check_response_sig(const struct klic_sig_info *info, unsigned hash_bits);

#endif
