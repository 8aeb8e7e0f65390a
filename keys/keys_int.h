/* klic keys/ — internal interface between keys.c (OpenPGP through GPGME)
 * and workers.c (the same operations in worker processes).  Not installed,
 * not used outside keys/. */
#ifndef KLIC_KEYS_INT_H
#define KLIC_KEYS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "klic_keys.h"

/* Hard caps on what we hand to gpg and take from it. */
#define KEYS_MAX_SIG_INPUT (64u * 1024u) /* detached signature */
#define KEYS_MAX_SIGN_INPUT (16u * 1024u * 1024u)
#define KEYS_MAX_OUTPUT (16u * 1024u * 1024u + 65536u)

struct keys_workers;

/* keys.c: a signature / the verification policy's steps 1-5, after their
 * argument checks in kr's workers if it has any, else (and always in a
 * worker, whose copy of kr has none) in this process. */
int keys_sign(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
	      const uint8_t *data, size_t len, int clear);
int keys_verify(struct klic_keyring *kr, struct klic_sig_info *info, const uint8_t *sig,
		size_t siglen, const uint8_t *data, size_t len);
void keys_warm(struct klic_keyring *kr, const char *sign_fpr);
struct keys_workers *keys_get_workers(const struct klic_keyring *kr);
const char *keys_passfile(const struct klic_keyring *kr); /* or NULL */
int keys_has_passphrase_cb(const struct klic_keyring *kr);
void keys_set_workers(struct klic_keyring *kr, struct keys_workers *w);

/* workers.c: the same through a worker process (any free one), for
 * arguments keys_sign / keys_verify checked; KEYS_RUN_LOCAL when no worker
 * is left. */
#define KEYS_RUN_LOCAL 1
int keys_workers_sign(struct keys_workers *w, uint8_t **out, size_t *outlen, const char *fpr,
		      const uint8_t *data, size_t len, int clear);
int keys_workers_verify(struct keys_workers *w, struct klic_sig_info *info, const uint8_t *sig,
			size_t siglen, const uint8_t *data, size_t len);
void keys_workers_stop(struct keys_workers *w);
/* main() of the worker program klic-keys-worker (keys/worker_prog.c) */
int keys_worker_program(int argc, char **argv);

#endif
