/* klic — OpenPGP through GPGME: the front of keys/ (klic_keys.h).  The
 * keyring, worker and sign/verify functions check their arguments here,
 * then hand the call to the worker pool (pool.c) when the keyring has
 * one, else (and when no worker is left) to the engine in this process
 * (engine.c, sigs.c).  Nothing in keys/ calls back into this file.  Key
 * management (generate, export, import, inspect) is in manage.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "keys_int.h"
#include "klic_keys.h"
#include "pool.h"

/* ---- keyrings ------------------------------------------------------------ */

int klic_keyring_open(struct klic_keyring **out, const char *gnupghome, int create)
{
	return keys_engine_open(out, gnupghome, create);
}

void klic_keyring_free(struct klic_keyring *kr)
{
	if (kr == NULL)
		return;
	keys_pool_stop(kr->pool);
	kr->pool = NULL;
	keys_engine_free(kr);
}

const char *klic_keyring_home(const struct klic_keyring *kr)
{
	return kr != NULL ? kr->home : NULL;
}

int klic_keyring_set_passphrase_file(struct klic_keyring *kr, const char *path)
{
	return keys_engine_set_passfile(kr, path);
}

void klic_keyring_set_passphrase_cb(struct klic_keyring *kr, klic_passphrase_fn fn, void *ctx)
{
	if (kr == NULL)
		return;
	kr->pcb = fn;
	kr->pcb_ctx = ctx;
}

/* ---- workers ------------------------------------------------------------- */

/* Threads of this process (Threads: in /proc/self/status), -1 unknown. */
static int threads(void)
{
	char line[128];
	int n = -1;
	FILE *fp = fopen("/proc/self/status", "re");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof line, fp) != NULL) {
		char *end;
		long v;

		if (strncmp(line, "Threads:", 8) != 0)
			continue;
		v = strtol(line + 8, &end, 10);
		if (end != line + 8 && v >= 0 && v <= 1000000)
			n = (int)v;
		break;
	}
	(void)fclose(fp);
	return n;
}

int klic_keyring_start_workers(struct klic_keyring *kr, unsigned n, const char *sign_fpr,
			       const char *program)
{
	if (kr == NULL || n == 0 || n > KLIC_MAX_WORKERS)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "start_workers: 1..%d workers",
				      KLIC_MAX_WORKERS);
	if (kr->pool != NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "start_workers: already started");
	if (program != NULL && (program[0] != '/' || kr->pcb != NULL))
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "start_workers: the worker program needs an absolute path "
				      "and a keyring without a passphrase callback");
	if (sign_fpr != NULL && klic_fpr_check(sign_fpr) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "start_workers: signing key");
	if (threads() != 1)
		return klic_error_set(KLIC_ERR_INVALID_ARG,
				      "start_workers: the process must have one thread");
	if (program != NULL && access(program, X_OK) != 0)
		return klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO,
				      "worker program %s: %s", program, strerror(errno));
	/* forked workers inherit what this looks up; a program looks it up
	 * itself */
	if (program == NULL)
		keys_warm(kr, sign_fpr);
	return keys_pool_start(&kr->pool, kr, n, sign_fpr, program);
}

void klic_keyring_stop_workers(struct klic_keyring *kr)
{
	if (kr == NULL)
		return;
	keys_pool_stop(kr->pool);
	kr->pool = NULL;
}

/* ---- signing ------------------------------------------------------------- */

/* The .lic body rules (spec 3.5): printable ASCII and LF only, no line
 * starting with '-' (or "From ", which gpg would escape), no line ending in
 * a blank, no empty body, no trailing LF. */
static int check_lic_body(const uint8_t *b, size_t len)
{
	size_t i, ls = 0;

	if (len == 0 || b[len - 1] == '\n')
		return klic_error_set(KLIC_ERR_LICENSE_FORMAT, "license body empty or ends in LF");
	for (i = 0; i <= len; i++) {
		if (i == len || b[i] == '\n') {
			size_t ll = i - ls;
			if (ll > 0 && (b[ls] == '-' || b[i - 1] == ' ' || b[i - 1] == '\t'))
				return klic_error_set(
				    KLIC_ERR_LICENSE_FORMAT,
				    "license body line at offset %zu starts with '-' or "
				    "ends in a blank",
				    ls);
			if (ll >= 5 && memcmp(b + ls, "From ", 5) == 0)
				return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
						      "license body line starts with \"From \"");
			ls = i + 1;
			continue;
		}
		if (b[i] < 0x20 || b[i] > 0x7e)
			return klic_error_set(KLIC_ERR_LICENSE_FORMAT,
					      "license body byte 0x%02x at %zu", b[i], i);
	}
	return 0;
}

/* A signature, after its argument checks in kr's workers if it has any
 * left, else in this process. */
static int front_sign(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		      const uint8_t *data, size_t len, int clear)
{
	int r, ran = 0;

	if ((r = keys_sign_check(kr, out, outlen, fpr, data, len)) != 0)
		return r;
	if (kr->pool != NULL &&
	    ((r = keys_pool_sign(kr->pool, &ran, out, outlen, fpr, data, len, clear)) != 0 || ran))
		return r;
	return keys_engine_sign(kr, out, outlen, fpr, data, len, clear);
}

int klic_sign_detached(struct klic_keyring *kr, uint8_t **sig, size_t *siglen, const char *fpr,
		       const uint8_t *data, size_t len)
{
	return front_sign(kr, sig, siglen, fpr, data, len, 0);
}

int klic_sign_clear(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		    const uint8_t *body, size_t len)
{
	int r;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (body == NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "sign_clear: body");
	if ((r = check_lic_body(body, len)) != 0)
		return r;
	return front_sign(kr, out, outlen, fpr, body, len, 1);
}

/* ---- verification -------------------------------------------------------- */

/* The policy's steps 1-5 (everything but the caller's choice of signer),
 * after their argument checks in one of kr's workers if it has any left,
 * else in this process: on success info holds the signer's primary
 * fingerprint, digest and signature class. */
static int front_verify(struct klic_keyring *kr, struct klic_sig_info *info, const uint8_t *sig,
			size_t siglen, const uint8_t *data, size_t len)
{
	int r, ran = 0;

	if ((r = keys_verify_check(kr, info, sig, siglen, data, len)) != 0)
		return r;
	if (kr->pool != NULL &&
	    ((r = keys_pool_verify(kr->pool, &ran, info, sig, siglen, data, len)) != 0 || ran))
		return r;
	return keys_engine_verify(kr, info, sig, siglen, data, len);
}

int klic_verify_detached(struct klic_keyring *kr, char signer_out[KLIC_FPR_HEX_LEN + 1],
			 const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len,
			 klic_fpr_allow_fn allow, void *allow_ctx)
{
	struct klic_sig_info info;
	int r;

	if (signer_out != NULL)
		signer_out[0] = '\0';
	r = klic_verify_detached_info(kr, &info, sig, siglen, data, len, allow, allow_ctx);
	if (r == 0 && signer_out != NULL)
		memcpy(signer_out, info.signer, sizeof info.signer);
	return r;
}

int klic_verify_detached_info(struct klic_keyring *kr, struct klic_sig_info *info,
			      const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len,
			      klic_fpr_allow_fn allow, void *allow_ctx)
{
	char primary[KLIC_FPR_HEX_LEN + 1];
	int r;

	if (info != NULL)
		memset(info, 0, sizeof *info);
	if (kr == NULL || info == NULL || allow == NULL || (data == NULL && len != 0))
		return klic_error_set(KLIC_ERR_INVALID_ARG, "verify_detached");
	if ((r = front_verify(kr, info, sig, siglen, data, len)) != 0) {
		memset(info, 0, sizeof *info);
		return r;
	}
	/* 6. the expected role's key, by primary fingerprint */
	memcpy(primary, info->signer, sizeof primary);
	r = allow(allow_ctx, primary);
	if (r != 0) {
		memset(info, 0, sizeof *info);
		if (r < 0 && r != KLIC_ERR_SIG_WRONG_KEY)
			return r; /* the check itself failed (the ledger): its own detail */
		if (r > 0)
			r = KLIC_ERR_SIG_WRONG_KEY;
		return klic_error_set(r, "signed by %s", primary);
	}
	return 0;
}

static int allow_pinned(void *ctx, const char *primary_fpr)
{
	const char *pinned = ctx;

	return strcmp(pinned, primary_fpr) == 0 ? 0 : KLIC_ERR_SIG_WRONG_KEY;
}

int klic_verify_pinned(struct klic_keyring *kr, const uint8_t *sig, size_t siglen,
		       const uint8_t *data, size_t len, const char *pinned_fpr)
{
	int r;

	if ((r = keys_arg_fpr(pinned_fpr)) != 0)
		return r;
	return klic_verify_detached(kr, NULL, sig, siglen, data, len, allow_pinned,
				    (void *)(uintptr_t)pinned_fpr);
}
