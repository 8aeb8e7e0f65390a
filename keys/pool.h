/* klic keys/ — the caller side of the worker pool (pool.c): signing and
 * verification in worker processes, for the front (keys.c).  Calls the
 * worker side (a forked worker's life) and the wire format, never the
 * front or the engine's bodies. */
#ifndef KLIC_KEYS_POOL_H
#define KLIC_KEYS_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "keys_int.h"

struct keys_pool;

/* n workers (1..KLIC_MAX_WORKERS) for kr: forked from this process
 * (program NULL: they inherit kr as it is now, so warm it first), or of
 * the worker program (an absolute path, checked by the caller, started
 * with kr's home and passphrase file).  The caller has checked the
 * arguments and that the process has one thread.  0 with *out set, or a
 * KLIC_ERR_* with no worker left running. */
int keys_pool_start(struct keys_pool **out, struct klic_keyring *kr, unsigned n,
		    const char *sign_fpr, const char *program);

/* A signature / verification (arguments already checked) on any free
 * worker.  With *ran = 1: the answer, 0 or a KLIC_ERR_* (the worker's own,
 * or KLIC_ERR_GPG when the worker failed twice).  With *ran = 0 and 0
 * returned: no worker is left; the caller makes the call itself. */
int keys_pool_sign(struct keys_pool *ws, int *ran, uint8_t **out, size_t *outlen, const char *fpr,
		   const uint8_t *data, size_t len, int clear);
int keys_pool_verify(struct keys_pool *ws, int *ran, struct klic_sig_info *info, const uint8_t *sig,
		     size_t siglen, const uint8_t *data, size_t len);

/* Stop the workers (waits for them, SIGKILL after 10 s) and free ws. */
void keys_pool_stop(struct keys_pool *ws);

#endif
