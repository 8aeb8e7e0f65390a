/* klic — OpenPGP through GPGME: one keyring per role in its own GNUPGHOME,
 * key generation, export/import, detached and clear signing, and the one
 * verification function that implements the signature policy
 * (spec/PROTOCOL.md "Signature policy"):
 *   - exactly one signature; zero or several is a failure;
 *   - status GPG_ERR_NO_ERROR and summary without RED, KEY_REVOKED,
 *     SIG_EXPIRED, KEY_MISSING, CRL/BAD_POLICY/SYS_ERROR bits, and not
 *     flagged wrong_key_usage; the (sub)key that made it can sign;
 *   - an expired key is judged at the signature's time: a signature made
 *     before the (sub)key and its primary expired is accepted (gpg's
 *     KEY_EXPIRED then only says "expired now"), one made at or after
 *     expiry is KLIC_ERR_SIG_KEY_EXPIRED; revoked is always refused;
 *   - the signing key's PRIMARY fingerprint (for a subkey signature, the
 *     primary key that owns it) must be accepted by the caller's allow
 *     callback (pinned issuer, registered member ...);
 *   - public-key algorithm EdDSA (Ed25519), ECDSA (P-256/384/521) or RSA of at
 *     least 3072 bits; digest SHA-256/384/512;
 *   - keys found inside a signature are never imported (auto-key-retrieve and
 *     auto-key-locate are off in every keyring's gpg.conf).
 * Library code: never prints, never prompts (pinentry loopback, passphrase
 * from a file or callback only).
 */
#ifndef KLIC_KEYS_H
#define KLIC_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "klic_error.h"
#include "klic_util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_MAX_UID_LEN 255

/* Call once per process before anything else (gpgme_check_version,
 * locale; OpenPGP only, gpg from the absolute build-time path KLIC_GPG_PATH,
 * never PATH; GnuPG >= 2.2; no process is
 * started: the engine check, gpg --version, comes with the first gpg call,
 * whose error it is then).
 * Thread-safe to call more than once. */
int klic_keys_init(void);

struct klic_keyring;

/* Open the keyring in `gnupghome`.  With create != 0 the directory is
 * created (mode 0700) with a gpg.conf that disables every automatic key
 * retrieval, plus gpg-agent.conf allowing loopback pinentry; with create
 * == KLIC_KEYRING_VERIFY_ONLY the gpg.conf also says no-autostart: gpg
 * never starts a gpg-agent for it (importing a public key would), for
 * scratch keyrings that only import public keys and verify (no daemon to
 * stop, none left behind if the process is killed).  An existing
 * directory must be owned by us and not group/other accessible. */
#define KLIC_KEYRING_VERIFY_ONLY 2
int klic_keyring_open(struct klic_keyring **out, const char *gnupghome, int create);
void klic_keyring_free(struct klic_keyring *kr);
const char *klic_keyring_home(const struct klic_keyring *kr);

/* Run this keyring's signatures and verifications (klic_sign_*,
 * klic_verify_*) in n worker processes (1..KLIC_MAX_WORKERS) forked now,
 * any free one per call, until klic_keyring_stop_workers() or
 * klic_keyring_free().  Why: GPGME starts every gpg by forking the calling
 * process twice, and a fork costs in proportion to the caller's memory map
 * and stalls its other threads; forked from a small single-threaded
 * process it costs little.  Call it while the process has ONE thread, after
 * the passphrase settings; sign_fpr (may be NULL) is the key the workers
 * will sign with, looked up once here so they share the lookup.  The
 * results, error codes and details are those of the same calls made in
 * this process; the allow callback runs in this process.  A worker that
 * dies is retired: the call it was serving is made again on another
 * worker if the dead one had not answered (a second death fails the call
 * with KLIC_ERR_GPG), and with no worker left calls run in this process.
 * KLIC_ERR_INVALID_ARG when the process has more than one thread.  The
 * workers get SIGKILL when the thread that started them ends.
 * program: NULL, or the absolute path of klic-keys-worker (built from
 * keys/worker_prog.c): each fork then execs it, so that the gpg processes
 * are forked from a process that maps GPGME and libc only.  The program
 * opens the keyring's GNUPGHOME itself, with its passphrase file (a
 * keyring with a passphrase callback cannot use a program:
 * KLIC_ERR_INVALID_ARG), and must report ready, else no worker is left
 * running and the error is returned (KLIC_ERR_NOT_FOUND for a missing
 * program). */
#define KLIC_MAX_WORKERS 16
int klic_keyring_start_workers(struct klic_keyring *kr, unsigned n, const char *sign_fpr,
			       const char *program);
/* Stop the workers (waits for them); later calls run in this process. */
void klic_keyring_stop_workers(struct klic_keyring *kr);

/* Passphrases for protected secret keys, for batch use: read from a file
 * (first line) or supplied by a callback.  Never a TTY prompt. */
int klic_keyring_set_passphrase_file(struct klic_keyring *kr, const char *path);
typedef int (*klic_passphrase_fn)(void *ctx, char *buf, size_t bufsize);
void klic_keyring_set_passphrase_cb(struct klic_keyring *kr, klic_passphrase_fn fn, void *ctx);

/* Generate an Ed25519 primary key with signing capability only, no
 * expiry, user ID "NAME <EMAIL>", no passphrase unless one is set via the
 * functions above.  fpr_out gets the 40-hex primary fingerprint. */
int klic_key_generate(struct klic_keyring *kr, char fpr_out[KLIC_FPR_HEX_LEN + 1], const char *name,
		      const char *email);

/* Export the public key `fpr` (minimal: no third-party signatures).
 * armor != 0 gives ASCII armor.  *out owned by the caller. */
int klic_key_export(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		    int armor);

/* Import exactly one public key (binary or armored).  Refuses secret keys,
 * more than one key, and data that is not a key.  Returns its primary
 * fingerprint.  Importing the same key again is fine. */
int klic_key_import(struct klic_keyring *kr, char fpr_out[KLIC_FPR_HEX_LEN + 1], const uint8_t *key,
		    size_t keylen);

/* Primary fingerprint of the single public key in key/keylen, without
 * importing it anywhere (uses gpgme's import-show / a scratch context). */
int klic_key_inspect(struct klic_keyring *kr, char fpr_out[KLIC_FPR_HEX_LEN + 1],
		     char uid_out[KLIC_MAX_UID_LEN + 1], const uint8_t *key, size_t keylen);

/* The primary fingerprint of the only secret key in this keyring.
 * KLIC_ERR_NOT_FOUND when there is none, KLIC_ERR_KEY when several. */
int klic_key_secret_fpr(struct klic_keyring *kr, char fpr_out[KLIC_FPR_HEX_LEN + 1]);

/* 0 if a usable (not revoked/expired/disabled) secret signing key with this
 * primary fingerprint is available (also on a smartcard), else an error. */
int klic_key_can_sign(struct klic_keyring *kr, const char *fpr);

/* Detached binary signature over data by the key `fpr`. */
int klic_sign_detached(struct klic_keyring *kr, uint8_t **sig, size_t *siglen, const char *fpr,
		       const uint8_t *data, size_t len);

/* Clear-signed text (the .lic form) of `body` (which must satisfy the .lic
 * body rules), by `fpr`; the output passes klic_license_split(). */
int klic_sign_clear(struct klic_keyring *kr, uint8_t **out, size_t *outlen, const char *fpr,
		    const uint8_t *body, size_t len);

/* Allow callback: return 0 to accept the primary fingerprint, or a
 * KLIC_ERR_* code (normally KLIC_ERR_SIG_WRONG_KEY) to refuse it. */
typedef int (*klic_fpr_allow_fn)(void *ctx, const char *primary_fpr);

/* The verification policy above, for a detached signature (binary or
 * armored, including the signature block of a clear-signed .lic) over the
 * exact bytes data[0..len).  On success signer_out (may be NULL) gets the
 * primary fingerprint.  Never imports anything. */
int klic_verify_detached(struct klic_keyring *kr, char signer_out[KLIC_FPR_HEX_LEN + 1],
			 const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len,
			 klic_fpr_allow_fn allow, void *allow_ctx);

/* What a verification established. */
struct klic_sig_info {
	char signer[KLIC_FPR_HEX_LEN + 1]; /* primary fingerprint of the signer */
	unsigned hash_bits;                /* 256, 384 or 512 (SHA-2) */
	int sig_class;                     /* 0x00 binary document, 0x01 canonical text */
	int64_t created;                   /* the signature's creation time (Unix seconds) */
	int key_expired; /* 1: the signing key has expired since (it was valid then) */
};

/* klic_verify_detached() that also reports the digest and signature
 * class (a clear-signed .lic must name its digest in its Hash: line, and
 * a response manifest must be signed in text mode). */
int klic_verify_detached_info(struct klic_keyring *kr, struct klic_sig_info *info,
			      const uint8_t *sig, size_t siglen, const uint8_t *data, size_t len,
			      klic_fpr_allow_fn allow, void *allow_ctx);

/* Same, accepting only the one pinned primary fingerprint. */
int klic_verify_pinned(struct klic_keyring *kr, const uint8_t *sig, size_t siglen,
		       const uint8_t *data, size_t len, const char *pinned_fpr);

/* Verify a vendor entitlement (.kent, spec 3.6) and decode it: at most
 * KLIC_MAX_KENT_BYTES, the strict clear-signed shape (klic_license_split),
 * one text-mode signature under the policy above whose primary key `allow`
 * accepts (the vendor anchors: never any other key), the Hash line naming
 * the signature's digest, the strict body, and vendor_fpr == the signer.
 * Does not judge the terms (org, keys, period): callers do.  struct
 * klic_kent comes from klic_bundle.h. */
struct klic_kent;
int klic_kent_verify(struct klic_keyring *kr, struct klic_kent *out, const uint8_t *buf,
		     size_t len, klic_fpr_allow_fn allow, void *allow_ctx);

/* The shared part of klic_kent_verify and klic_kret_verify: at most max
 * bytes (KLIC_ERR_TOO_BIG), the strict clear-signed shape
 * (klic_clearsigned_split; KLIC_ERR_LICENSE_FORMAT naming `what`), one
 * text-mode signature under the policy above whose primary key `allow`
 * accepts, the Hash line naming the signature's digest.  parts points
 * into buf; the body is not parsed. */
struct klic_lic_parts;
int klic_clearsigned_verify(struct klic_keyring *kr, struct klic_sig_info *info,
			    struct klic_lic_parts *parts, const uint8_t *buf, size_t len,
			    size_t max, const char *what, klic_fpr_allow_fn allow, void *allow_ctx);

/* Verify a return receipt (.kret, spec 3.8) and decode it: the shape and
 * signature of klic_clearsigned_verify (at most KLIC_MAX_KRET_BYTES, the
 * signer accepted by `allow`: the ledger's members), the strict body, and
 * member_fpr == the signer.  struct klic_kret comes from klic_kret.h. */
struct klic_kret;
int klic_kret_verify(struct klic_keyring *kr, struct klic_kret *out, const uint8_t *buf,
		     size_t len, klic_fpr_allow_fn allow, void *allow_ctx);

/* 0 when s is a 40-hex upper-case fingerprint. */
int klic_fpr_check(const char *s);

#ifdef __cplusplus
}
#endif
#endif
