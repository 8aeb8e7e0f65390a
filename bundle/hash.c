/* klic — SHA-256 and HMAC-SHA256 (libgcrypt, initialised once), hex encoding and
 * hex checks (klic_util.h, klic_internal.h). */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <gcrypt.h>

#include "klic_error.h"
#include "klic_internal.h"
#include "klic_util.h"

/* ---- libgcrypt ---------------------------------------------------------- */

static pthread_once_t gcry_once = PTHREAD_ONCE_INIT;
static int gcry_ok;

static void gcry_init_once(void)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_ok = 1; /* someone else in the process already did it */
		return;
	}
	if (gcry_check_version(NULL) == NULL)
		return;
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	gcry_ok = 1;
}

int klic_gcrypt_init(void)
{
	if (pthread_once(&gcry_once, gcry_init_once) != 0 || !gcry_ok)
		return klic_error_set(KLIC_ERR_INTERNAL, "libgcrypt initialisation failed");
	return 0;
}

int klic_sha256(uint8_t out[KLIC_SHA256_LEN], const void *buf, size_t len)
{
	int r;

	if (out == NULL || (buf == NULL && len > 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "sha256: NULL argument");
	if ((r = klic_gcrypt_init()) != 0)
		return r;
	gcry_md_hash_buffer(GCRY_MD_SHA256, out, len ? buf : "", len);
	return 0;
}

int klic_sha256_hex(char out[KLIC_SHA256_HEX_LEN + 1], const void *buf, size_t len)
{
	uint8_t d[KLIC_SHA256_LEN];
	int r;

	if ((r = klic_sha256(d, buf, len)) != 0)
		return r;
	klic_hex(out, d, sizeof(d));
	return 0;
}

int klic_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const void *msg,
		     size_t msglen)
{
	gcry_mac_hd_t h = NULL;
	size_t olen = 32;
	int r = KLIC_ERR_INTERNAL;

	if ((r = klic_gcrypt_init()) != 0)
		return r;
	r = KLIC_ERR_INTERNAL;
	if (gcry_mac_open(&h, GCRY_MAC_HMAC_SHA256, 0, NULL) != 0) {
		klic_error_set(r, "HMAC-SHA256 unavailable");
		h = NULL;
		goto out;
	}
	if (gcry_mac_setkey(h, key, keylen) != 0 || gcry_mac_write(h, msg, msglen) != 0 ||
	    gcry_mac_read(h, out, &olen) != 0 || olen != 32) {
		klic_error_set(r, "HMAC-SHA256 failed");
		goto out;
	}
	r = 0;
out:
	if (h != NULL)
		gcry_mac_close(h);
	return r;
}

/* ---- hex ---------------------------------------------------------------- */

void klic_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int klic_is_hex(const char *s, size_t len)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

int klic_is_upper_hex(const char *s, size_t len)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}
