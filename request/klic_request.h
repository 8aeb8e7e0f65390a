/* klic — the user side (library `klic_request` behind the `klic` tool):
 * home folder, machine ID, pinned issuers, requests, the pending store,
 * verified install into the license folder, license checks, trusted clock.
 * Normative description: spec/PROTOCOL.md sections 2, 5.1, 5.2, 5.4-5.6.
 * Library code: never prints, never exits, never prompts. */
#ifndef KLIC_REQUEST_H
#define KLIC_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"
#include "klic_keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_PATH_MAX 4096
#define KLIC_MAX_ISSUERS 16
#define KLIC_CLOCK_SKEW 300  /* seconds: clock set back tolerance (spec 5.5) */
#define KLIC_FUTURE_SKEW 300 /* seconds: "issued" may be this far ahead (spec 5.2 #14) */
#define KLIC_MAX_HOSTNAME KLIC_MAX_TEXT_LEN

/* ---- home folder (spec 5.4) --------------------------------------------- */
enum klic_os { KLIC_OS_LINUX, KLIC_OS_MACOS, KLIC_OS_WINDOWS };

/* The OS this binary was built for. */
enum klic_os klic_host_os(void);

/* Environment lookup (getenv or a fake for tests); NULL when unset. */
typedef const char *(*klic_getenv_fn)(const char *name);
/* Home directory from the password database (getpwuid), NULL if none.
 * Only consulted on Linux/macOS when HOME is unset or empty. */
typedef const char *(*klic_pwhome_fn)(void);

/* The klic home: cli_home (--home) if not NULL, else env KLIC_HOME if set and
 * non-empty, else "$HOME/.katalon" (Linux, macOS; pwhome() when HOME is unset)
 * or "%USERPROFILE%\.katalon" (Windows).  Pure: reads nothing but through
 * the callbacks (pwhome may be NULL).  KLIC_ERR_NOT_FOUND when no home can
 * be found, KLIC_ERR_INVALID_ARG when empty or too long. */
int klic_home_resolve(char out[KLIC_PATH_MAX], enum klic_os os, const char *cli_home,
		      klic_getenv_fn env, klic_pwhome_fn pwhome);

/* "<home>/license" ("<home>\license" on Windows). */
int klic_home_license_dir(char out[KLIC_PATH_MAX], enum klic_os os, const char *home);

/* ---- machine ID (spec 2.1) ---------------------------------------------- */
/* Machine ID of this machine from the fixed sources /etc/machine-id, then
 * /var/lib/dbus/machine-id (compiled in; no option changes them).
 * KLIC_ERR_NO_MACHINE_ID when neither is usable. */
int klic_this_machine_id(char out[KLIC_MACHINE_ID_LEN + 1]);

/* The same from one given file (the unit tests' entry point).
 * KLIC_ERR_NOT_FOUND / KLIC_ERR_IO when unreadable, KLIC_ERR_NO_MACHINE_ID
 * when it does not hold 32 lower-case hex digits and an optional newline. */
int klic_machine_id_from_file(char out[KLIC_MACHINE_ID_LEN + 1], const char *path);

/* ---- the user's state ----------------------------------------------------- */
struct klic_user {
	char home[KLIC_PATH_MAX];
	char gnupghome[KLIC_PATH_MAX];
	char licdir[KLIC_PATH_MAX];
	int own_keyring;             /* 1: <home>/klic/gnupg, 0: --gnupghome */
	const char *passphrase_file; /* borrowed */
	struct klic_keyring *kr;     /* opened on demand */
	char issuers[KLIC_MAX_ISSUERS][KLIC_FPR_HEX_LEN + 1];
	size_t n_issuers;
	/* signatures already verified by a pinned issuer in this run:
	 * SHA-256 of the signature and of the data, and the verdict */
	struct klic_verified {
		uint8_t sig_sha[KLIC_SHA256_LEN], data_sha[KLIC_SHA256_LEN];
		struct klic_sig_info info;
	} verified[8];
	size_t n_verified, next_verified;
};

/* Fill the paths (gnupghome NULL: <home>/klic/gnupg) and load the pinned
 * issuers.  Touches nothing on disk. */
int klic_user_setup(struct klic_user *u, const char *home, const char *gnupghome,
		    const char *passphrase_file);
/* Open the keyring (create: make <home>/klic and the keyring dir 0700). */
int klic_user_open_keyring(struct klic_user *u, int create);
void klic_user_dispose(struct klic_user *u);

/* klic init: generate the user's key.  KLIC_ERR_EXISTS if the keyring
 * already holds a secret key. */
int klic_user_init(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1], const char *name,
		   const char *email);

/* klic trust: import one issuer public key from `file`, pin its
 * fingerprint in <home>/klic/issuers (atomic rewrite) unless present.
 * *added is 1 when newly pinned.  The user's own key is refused
 * (KLIC_ERR_SIG_WRONG_KEY). */
int klic_user_trust(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1], int *added,
		    const char *file);

/* Printable copy of a host name: non-printable bytes become '?',
 * truncated to KLIC_MAX_HOSTNAME bytes. */
void klic_hostname_sanitize(char out[KLIC_MAX_HOSTNAME + 1], const char *in);

/* Flags of klic_user_request(). */
#define KLIC_REQUEST_ARMOR 0x1u /* write the ASCII armor (spec/ARMOR.md), not the binary */
#define KLIC_REQUEST_QR 0x2u    /* the armor must fit one QR code (klic_qr.h), else
				 * KLIC_ERR_TOO_BIG before anything is written */

/* klic request: build, sign and write a .kreq to out_path (NULL: the default
 * name "<PRODUCT>_<machineID>.kreq" in the current directory; "-": stdout)
 * and record the pending request.  path_out gets the path written,
 * digest the request digest.  seats 1..64, KSE exactly 1
 * (KLIC_ERR_INVALID_ARG otherwise).  With armor_out (and armor_len) not
 * NULL and KLIC_REQUEST_ARMOR or KLIC_REQUEST_QR set, *armor_out gets the
 * request's armored text (NUL-terminated, owned by the caller). */
int klic_user_request(struct klic_user *u, char path_out[KLIC_PATH_MAX],
		      char digest[KLIC_SHA256_HEX_LEN + 1], const char *product, unsigned seats,
		      const char *out_path, unsigned flags, char **armor_out, size_t *armor_len);

/* ---- pending requests and installed markers (spec 5.1, 5.6) -------------- */
/* Store the request manifest bytes as <home>/klic/pending/<digest>.json,
 * where digest = SHA-256(manifest). */
int klic_pending_store(const char *home, char digest[KLIC_SHA256_HEX_LEN + 1],
		       const uint8_t *manifest, size_t len);
/* Load and strictly parse the pending request `digest` (64 lower hex).
 * KLIC_ERR_NOT_PENDING if absent or if its bytes do not hash to digest. */
int klic_pending_load(struct klic_request *out, const char *home, const char *digest);

/* ---- trusted clock (spec 5.5) --------------------------------------------- */
/* Pure rule: 0 when `now` is not more than KLIC_CLOCK_SKEW before
 * `trusted` (trusted 0: no trusted time yet), else KLIC_ERR_CLOCK. */
int klic_clock_rule(int64_t now, int64_t trusted);
/* Latest trusted time from <home>/klic/clock (0 when absent); a malformed
 * file is KLIC_ERR_CLOCK. */
int klic_clock_read(int64_t *out, const char *home);
int klic_user_clock_check(struct klic_user *u, int64_t now);
/* Record t as the latest trusted time if it is later than the stored one. */
int klic_user_clock_advance(struct klic_user *u, int64_t t);

/* ---- licenses --------------------------------------------------------------- */
/* Verify one .lic, named `filename` (its base name selects the seat),
 * against this machine at `now`, in the order of klic verify: strict split,
 * detached text-mode signature by a pinned issuer naming its digest in the
 * Hash line, strict parse of the signed response, issuer_fpr == signer,
 * the file name is one the license lists, machine, issued <= now + 5 min,
 * expires > now.  `lic` gets the decoded license as soon as its signature
 * verified and its name is listed (even when a later check fails);
 * otherwise it is zeroed.  Does not check the clock.  Identical bytes are
 * verified by gpg once per klic_user (all the files of one response are
 * byte-identical). */
int klic_user_check_license(struct klic_user *u, struct klic_license *lic, const char *filename,
			    const uint8_t *buf, size_t len, const char *machine_id, int64_t now);

/* Short reason for status output: "bad signature", "other machine",
 * "expired", "unpinned issuer", "clock set back", "unreadable" ... */
const char *klic_license_reason(int code);

/* ---- the license file a new license goes to (spec 5.4), pure ----------------- */
struct klic_slot_info {
	int exists;          /* a file is at that name */
	int valid;           /* it is a currently valid license for this machine */
	char license_id[33]; /* its verified license_id, "" if none */
	int64_t expires;     /* its verified expiry (when valid) */
};
enum klic_slot_action { KLIC_SLOT_WRITE = 1, KLIC_SLOT_PRESENT = 2 };

/* A new license (license_id, expires) goes under the name the signed
 * response gives it.  What is there decides: nothing, or a file that is not
 * a currently valid license: WRITE; the same license: PRESENT (nothing to
 * do); another valid license: never overwritten: KLIC_ERR_OLDER when it
 * expires later than the new one, else KLIC_ERR_EXISTS. */
int klic_slot_decide(enum klic_slot_action *action, const struct klic_slot_info *cur,
		     const char *license_id, int64_t expires);

/* ---- install (spec 5.2) -------------------------------------------------- */
struct klic_install_item {
	char path[KLIC_PATH_MAX];
	int written; /* 1: newly installed, 0: already installed */
};
struct klic_install_result {
	size_t n;
	struct klic_install_item item[KLIC_MAX_SEATS];
	/* denied responses: the admin's reason (checked printable) */
	char reason_code[32];
	char reason[KLIC_MAX_TEXT_LEN + 1];
};

/* Verify everything, then install.  KLIC_ERR_DENIED for a denial (res holds
 * the reason; detail "<reason_code>: <reason>"); nothing changes on disk on
 * any error. */
int klic_user_install(struct klic_user *u, struct klic_install_result *res, const char *file);

#ifdef __cplusplus
}
#endif
#endif
