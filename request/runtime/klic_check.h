/* klic — checking a license file on this machine (library `klic_check`,
 * request/runtime/): the klic home, this machine's ID, the trusted clock
 * (best effort), the vendor keys installed on this machine, and the one
 * chain check (klic_chain_*: a license is valid only when it chains to a
 * vendor key) used by klic verify, klic status, klic doctor, klic install
 * and the runtime library libklic.  The user's pinned issuers and keyring
 * (klic_user_*) remain for install's "this response comes from my
 * organization" and its slot decisions, never for a license's validity.
 * Needs no archive, QR or PNG code: it links only the formats (klic_format)
 * and klic_keys.
 * Normative description: spec/PROTOCOL.md sections 2.1, 3.5, 5.2, 5.4, 5.5
 * and the chain check (design14.md "Chain check").
 * Library code: never prints, never exits, never prompts. */
#ifndef KLIC_CHECK_H
#define KLIC_CHECK_H

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

/* ---- trusted clock (spec 5.5) --------------------------------------------- */
/* Pure rule: 0 when `now` is not more than KLIC_CLOCK_SKEW before
 * `trusted` (trusted 0: no trusted time yet), else KLIC_ERR_CLOCK. */
int klic_clock_rule(int64_t now, int64_t trusted);
/* Latest trusted time from <home>/klic/clock (0 when absent); a malformed
 * file is KLIC_ERR_CLOCK. */
int klic_clock_read(int64_t *out, const char *home);
int klic_user_clock_check(struct klic_user *u, int64_t now);
/* Record t as the latest trusted time if it is later than the stored one
 * (klic_clock_update on u->home). */
int klic_user_clock_advance(struct klic_user *u, int64_t t);

/* Best effort (issue 14 item 7): the trusted time of `home` (0 when there is
 * none); *state tells whether the record was there.  A missing or
 * unreadable record is not an error (state MISSING / UNREADABLE); a
 * malformed one is KLIC_ERR_CLOCK. */
enum klic_clock_state { KLIC_CLOCK_RECORD = 0, KLIC_CLOCK_MISSING = 1, KLIC_CLOCK_UNREADABLE = 2 };
int klic_clock_load(int64_t *trusted, enum klic_clock_state *state, const char *home);
/* Move the record of `home` forward to t, under flock(2) on the record (two
 * updates at once never move it backwards; an update never lowers it).
 * Returns the error, which callers checking a license ignore: a read-only
 * home or a service account without one never fails a check. */
int klic_clock_update(const char *home, int64_t t);

/* ---- the chain check (design14.md "Chain check", spec 3.7) -------------- */
#define KLIC_MAX_ANCHORS 8
/* A vendor key the caller supplied (an anchor). */
struct klic_anchor {
	char fpr[KLIC_FPR_HEX_LEN + 1];
	char uid[KLIC_MAX_UID_LEN + 1]; /* printable */
};
/* One check context: a private scratch keyring (mkdtemp under /tmp, mode
 * 0700, no gpg-agent) holding only the anchors and the keys the checked
 * licenses carry.  keys[i] (lens[i] bytes; lens NULL: NUL-terminated) are
 * public keys, binary or armored, a buffer may hold several armored keys.
 * KLIC_ERR_NO_VENDOR when n is 0. */
struct klic_chain;
int klic_chain_new(struct klic_chain **out, const uint8_t *const *keys, const size_t *lens,
		   size_t n);
/* Frees and removes the scratch keyring.  NULL is fine. */
void klic_chain_free(struct klic_chain *c);
/* The anchors, with their user IDs (looked up on the first call: a gpg run
 * the runtime does not need; "?" when it cannot be read). */
size_t klic_chain_anchors(struct klic_chain *c, const struct klic_anchor **out);
/* How many times steps 0-9 ran (identical bytes run once per context). */
size_t klic_chain_gpg_checks(const struct klic_chain *c);

struct klic_chain_result {
	/* 1 when steps 0-4 passed and the file name is listed: lic holds the
	 * license then, even when a later step refused it */
	int verified;
	struct klic_license lic;
	/* the anchor that signed the entitlement ("" before step 3 passed);
	 * its user ID: klic_chain_anchors() */
	char vendor_fpr[KLIC_FPR_HEX_LEN + 1];
};

/* The chain check of one .lic (buf, len) under the name `filename` (its
 * base name selects the seat), for machine_id at now, with the trusted
 * time `trusted` (0: none), in the order of design14.md:
 *  0 strict split, strict v2 document, status issued;
 *  2 issuer_key imported, its fingerprint == issuer_fpr (KLIC_ERR_MISMATCH),
 *    the text-mode clear signature by issuer_fpr only, Hash line == digest;
 *  3 the embedded .kent signed by an anchor only (klic_kent_verify);
 *  4 issuer_fpr in org_keys, org == issuer_org, entitlement_id matches;
 *  5 product == entitlement's; machine (KLIC_ERR_WRONG_MACHINE);
 *  6 node-locked and yearly; 7 valid_from <= created < valid_until ("not
 *  yet started" when now < valid_from); 8 expires <= min(created + 60 days,
 *  valid_until); 9 seats <= entitlement seats;
 *  10 the file name is listed (KLIC_ERR_LICENSE_NAME);
 *  11 issued <= now + 5 min, expires > now, the clock rule.
 * Terms refused are KLIC_ERR_NOT_ENTITLED with a detail naming the term.
 * Steps 0-9 run once per (bytes, machine, now) per context. */
int klic_chain_check(struct klic_chain *c, struct klic_chain_result *res, const uint8_t *buf,
		     size_t len, const char *filename, const char *machine_id, int64_t now,
		     int64_t trusted);
/* The same for a file (at most KLIC_MAX_LIC_BYTES); name NULL: path;
 * mid NULL: this machine. */
int klic_chain_check_file(struct klic_chain *c, struct klic_chain_result *res, const char *path,
			  const char *name, const char *mid, int64_t now, int64_t trusted);

/* ---- vendor keys installed on this machine (design14.md "User tool") ----- */
/* The folder fixed at build time (CMake cache KLIC_VENDOR_DIR). */
const char *klic_vendor_dir(void);
/* Read <dir>/<product>.asc into *out (NUL-terminated, owned by the caller)
 * and its path into path.  KLIC_ERR_NO_VENDOR, the detail naming the path
 * and why, when the parent of dir, dir or the file is missing, is not
 * owned by root, is group/other-writable, or is not a directory / regular
 * file; *absent (may be NULL) is 1 when something is simply missing. */
int klic_vendor_key_load(uint8_t **out, size_t *len, char path[KLIC_PATH_MAX], int *absent,
			 const char *dir, const char *product);

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

/* The one license-file check: read the license file `path` (at most
 * KLIC_MAX_LIC_BYTES), then, when mid is NULL, this machine's ID, then
 * klic_user_check_license() under the file name `name` (NULL: path; its
 * base name selects the seat).  `lic` as klic_user_check_license() leaves
 * it (zeroed when the file could not be read).  Does not check the clock. */
int klic_check_license_file(struct klic_user *u, struct klic_license *lic, const char *path,
			    const char *name, const char *mid, int64_t now);

/* A name in the license folder that is a license file: "*.lic", not hidden. */
int klic_is_license_name(const char *name);

/* Days from now until expires, a part day counted as a whole one (60 for a
 * fresh 60-day license, 0 once expired), as klic prints them. */
long klic_days_left(int64_t expires, int64_t now);

#ifdef __cplusplus
}
#endif
#endif
