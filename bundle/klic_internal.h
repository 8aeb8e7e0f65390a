/* klic — private helpers shared inside bundle/ (not a public API). */
#ifndef KLIC_INTERNAL_H
#define KLIC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Error table access (for the errtable generator and tests). */
size_t klic_error_table_size(void);
int klic_error_table_entry(size_t i, int *code, const char **name, const char **msg,
			   int *exit_code);

/* Initialise libgcrypt once (thread-safe). 0 or KLIC_ERR_INTERNAL. */
int klic_gcrypt_init(void);

/* HMAC-SHA256 (libgcrypt). */
int klic_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const void *msg,
		     size_t msglen);

/* Strict upper-case hex check of exactly len chars (fingerprints). */
int klic_is_upper_hex(const char *s, size_t len);

#endif
