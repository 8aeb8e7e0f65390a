/* klic keys/ — what the rooms of keys/ share: the keyring struct and the
 * hard caps.  Not installed, not used outside keys/.
 *
 * The rooms, and the only arrows between them ("engine" is engine.c and
 * sigs.c; sigs.c calls engine.c):
 *   keys.c (front: klic_keys.h sign/verify/keyring functions) -> pool, engine
 *   manage.c (generate, export, import, inspect)               -> engine
 *   pool.c (caller side of the worker pool) -> worker, wire, engine
 *                                              (klic_fpr_check only)
 *   worker.c (worker side, klic-keys-worker's main) -> engine, wire
 *   sigs.c (sign/verify bodies, the verification policy) -> engine.c
 *   engine.c (GPGME: contexts, key caches, passphrases, errors)
 *   wire.c (framing of the worker protocol)
 * Nothing calls the front: the pool and the workers run the engine's
 * bodies, so a worker never hands a call on to another worker. */
#ifndef KLIC_KEYS_INT_H
#define KLIC_KEYS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <gpgme.h>

#include "klic_keys.h"

/* Hard caps on what we hand to gpg and take from it. */
#define KEYS_MAX_SIG_INPUT (64u * 1024u) /* detached signature */
#define KEYS_MAX_SIGN_INPUT (16u * 1024u * 1024u)
#define KEYS_MAX_OUTPUT (16u * 1024u * 1024u + 65536u)
#define KEYS_MAX_IDLE_CTX 16

struct keys_pool;

/* One per klic_keyring_open(): the home directory and the passphrase
 * settings (read-only after setup), the key caches and the pool of idle
 * contexts behind a mutex (several threads may sign/verify at once), and
 * the worker pool the front hands calls to. */
struct klic_keyring {
	char *home;
	char *passfile;
	klic_passphrase_fn pcb;
	void *pcb_ctx;
	pthread_mutex_t mu;      /* guards the caches and the context pool below */
	pthread_mutex_t load_mu; /* one public keyring listing at a time */
	gpgme_key_t sign_key;    /* secret key sign_fpr, checked usable */
	char sign_fpr[KLIC_FPR_HEX_LEN + 1];
	gpgme_key_t *pub; /* snapshot of the public keyring */
	size_t npub, cappub;
	int pub_loaded;
	gpgme_ctx_t idle[KEYS_MAX_IDLE_CTX]; /* contexts set up for this home */
	size_t n_idle;
	struct keys_pool *pool; /* signing and verification in worker
				 * processes (pool.c), or NULL; used by the
				 * front only */
};

#endif
