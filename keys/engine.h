/* klic keys/ — the GPGME engine (engine.c) and its sign/verify bodies
 * (sigs.c): the one place where gpgme_error_t becomes KLIC_ERR_*.  Used by
 * the front (keys.c), key management (manage.c) and the worker side
 * (worker.c); calls none of them. */
#ifndef KLIC_KEYS_ENGINE_H
#define KLIC_KEYS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <gpgme.h>

#include "keys_int.h"

/* ---- engine.c: keyrings ---- */

/* klic_keyring_open() / klic_keyring_set_passphrase_file() without the
 * worker pool; keys_engine_free() frees everything but a pool. */
int keys_engine_open(struct klic_keyring **out, const char *gnupghome, int create);
int keys_engine_set_passfile(struct klic_keyring *kr, const char *path);
void keys_engine_free(struct klic_keyring *kr);

/* ---- engine.c: contexts and errors ---- */

/* A context bound to kr (from its idle pool, or new: OpenPGP, kr's home,
 * offline, key locate local, loopback pinentry with kr's passphrase
 * source); give it back with keys_ctx_put(), reuse != 0 when the
 * operation on it succeeded. */
int keys_ctx_get(struct klic_keyring *kr, gpgme_ctx_t *out);
void keys_ctx_put(struct klic_keyring *kr, gpgme_ctx_t ctx, int reuse);

/* The gpgme_error_t -> KLIC_ERR_* mapping (dflt unless memory, passphrase
 * or engine), with the detail "what: gpgme's message (source)". */
int keys_map_err(gpgme_error_t e, int dflt, const char *what);
int keys_is_passphrase_err(gpgme_error_t e);
/* gpgme memory into a malloc'd, NUL-terminated buffer (*d released). */
int keys_data_take(uint8_t **out, size_t *outlen, gpgme_data_t *d);
/* A 40-hex fingerprint from gpgme (any case) into out, upper case. */
int keys_fpr_copy(char out[KLIC_FPR_HEX_LEN + 1], const char *in);
/* klic_fpr_check() with an error detail (KLIC_ERR_INVALID_ARG). */
int keys_arg_fpr(const char *fpr);

/* ---- engine.c: keys ---- */

/* The key whose PRIMARY fingerprint is fpr (secret: with secret part). */
int keys_get_primary(gpgme_ctx_t ctx, gpgme_key_t *out, const char *fpr, int secret);
/* 0 when key (primary fpr) can sign: not revoked/expired/disabled, with a
 * usable secret signing (sub)key. */
int keys_usable_for_signing(gpgme_key_t key, const char *fpr);
/* The usable secret key fpr (a new reference), looked up once per keyring
 * object and kept. */
int keys_signing_key(struct klic_keyring *kr, gpgme_ctx_t ctx, gpgme_key_t *out, const char *fpr);
/* The public key that made a signature (sig_fpr: its subkey fingerprint
 * or key ID), a new reference, with the subkey. */
int keys_signer_key(struct klic_keyring *kr, const char *sig_fpr, gpgme_key_t *out,
		    gpgme_subkey_t *sk_out);
/* Forget the public key snapshot (after an import). */
void keys_pub_cache_forget(struct klic_keyring *kr);
/* Look the public keys and the signing key (may be NULL) up now, so that
 * worker processes forked afterwards inherit them.  Best effort. */
void keys_warm(struct klic_keyring *kr, const char *sign_fpr);

/* ---- sigs.c: the bodies, for arguments the checks below passed ---- */

/* 0, or the KLIC_ERR_* for bad sign arguments (*out, *outlen cleared). */
int keys_sign_check(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		    const uint8_t *data, size_t len);
/* 0, or the KLIC_ERR_* for bad verify arguments (info cleared). */
int keys_verify_check(struct klic_keyring *kr, struct klic_sig_info *info, const uint8_t *sig,
		      size_t siglen, const uint8_t *data, size_t len);
/* A detached (clear == 0) or clear signature: one gpg process. */
int keys_engine_sign(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		     const uint8_t *data, size_t len, int clear);
/* The verification policy's steps 1-5 (everything but the caller's choice
 * of signer): on success info holds the signer's primary fingerprint,
 * digest and signature class. */
int keys_engine_verify(struct klic_keyring *kr, struct klic_sig_info *info, const uint8_t *sig,
		       size_t siglen, const uint8_t *data, size_t len);

#endif
