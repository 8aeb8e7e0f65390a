/* klic — the user side (library `klic_request` behind the `klic` tool):
 * the user's key, pinning issuers, requests, the pending store and
 * verified install into the license folder.  The checking side (home,
 * machine ID, pinned issuers, license checks, trusted clock) is
 * klic_check.h (request/runtime/), included here.
 * Normative description: spec/PROTOCOL.md sections 2, 5.1, 5.2, 5.4-5.6.
 * Library code: never prints, never exits, never prompts. */
#ifndef KLIC_REQUEST_H
#define KLIC_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"
#include "klic_check.h"
#include "klic_keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* klic init: generate the user's key.  KLIC_ERR_EXISTS if the keyring
 * already holds a secret key. */
int klic_user_init(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1], const char *name,
		   const char *email);

/* klic trust: import one issuer public key from `file`, pin its
 * fingerprint in <home>/klic/issuers (atomic rewrite) unless present.
 * *added is 1 when newly pinned; uid gets the key's first user ID (a
 * printable copy).  The user's own key is refused (KLIC_ERR_SIG_WRONG_KEY). */
int klic_user_trust(struct klic_user *u, char fpr[KLIC_FPR_HEX_LEN + 1],
		    char uid[KLIC_MAX_UID_LEN + 1], int *added, const char *file);

/* Printable copy of a host name: non-printable bytes become '?',
 * truncated to KLIC_MAX_HOSTNAME bytes. */
void klic_hostname_sanitize(char out[KLIC_MAX_HOSTNAME + 1], const char *in);

/* Flags of klic_user_request(). */
#define KLIC_REQUEST_ARMOR 0x1u /* write the ASCII armor (spec/ARMOR.md), not the binary */
#define KLIC_REQUEST_QR                                                                            \
	0x2u /* the armor must fit one QR code (klic_qr.h), else                                   \
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

/* The licenses a renewal request names (spec 3.3 "renews", 5.3.4). */
struct klic_renewal {
	char product[4];
	unsigned n;
	char ids[KLIC_MAX_SEATS][33];
	char files[KLIC_MAX_SEATS][KLIC_MAX_NAME_LEN + 1];
	int64_t expires[KLIC_MAX_SEATS];
};

/* klic request --renew: the licenses to renew.  With files (nfiles > 0):
 * exactly those, each a license valid on this machine now (signed by a
 * pinned issuer, not expired), all of one product (`product` when not
 * NULL), none twice; the first that is not gives its error and its name
 * in bad.  Without files: every valid license of `product` in the license
 * folder (rn->n 0 when there is none). */
int klic_user_renewal_collect(struct klic_user *u, struct klic_renewal *rn, char *bad,
			      size_t badsz, const char *product, const char *const *files,
			      size_t nfiles);

/* klic request --renew: as klic_user_request, for rn's product, one seat
 * per license, the request's "renews" naming rn's license IDs. */
int klic_user_request_renew(struct klic_user *u, char path_out[KLIC_PATH_MAX],
			    char digest[KLIC_SHA256_HEX_LEN + 1], const struct klic_renewal *rn,
			    const char *out_path, unsigned flags, char **armor_out,
			    size_t *armor_len);

/* ---- pending requests and installed markers (spec 5.1, 5.6) -------------- */
/* Store the request manifest bytes as <home>/klic/pending/<digest>.json,
 * where digest = SHA-256(manifest). */
int klic_pending_store(const char *home, char digest[KLIC_SHA256_HEX_LEN + 1],
		       const uint8_t *manifest, size_t len);
/* Remove <home>/klic/pending/<digest>.json (a request whose file could
 * not be written); a record already gone is fine. */
int klic_pending_remove(const char *home, const char *digest);
/* Load and strictly parse the pending request `digest` (64 lower hex).
 * KLIC_ERR_NOT_PENDING if absent or if its bytes do not hash to digest. */
int klic_pending_load(struct klic_request *out, const char *home, const char *digest);

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

/* ---- the chain check with this machine's vendor keys -------------------- */
/* The product a license names (strict split and parse, nothing verified):
 * only to choose the vendor key file the chain check then runs with. */
int klic_license_peek_product(char product[4], const uint8_t *buf, size_t len);
/* A chain check context over the vendor key(s) of vendor_file (--vendor:
 * exactly that file), else of <KLIC_VENDOR_DIR>/<product>.asc, which must
 * be root's and writable by nobody else (klic_vendor_key_load).  src gets
 * the file used; *absent (may be NULL) 1 when no key is installed.
 * KLIC_ERR_NO_VENDOR with the path and the reason. */
int klic_user_chain_open(struct klic_chain **out, char src[KLIC_PATH_MAX], int *absent,
			 const char *vendor_file, const char *product);

/* ---- install (spec 5.2) -------------------------------------------------- */
struct klic_install_item {
	char path[KLIC_PATH_MAX];
	int written; /* 1: newly installed, 0: already installed */
};
struct klic_install_result {
	size_t n;
	struct klic_install_item item[KLIC_MAX_SEATS];
	/* the chain to the vendor: checked (1) against vendor_fpr/vendor_uid,
	 * or not (0: no vendor key installed for the product, vendor_src the
	 * path looked at) */
	int chain_checked;
	char vendor_fpr[KLIC_FPR_HEX_LEN + 1];
	char vendor_uid[KLIC_MAX_UID_LEN + 1];
	char vendor_src[KLIC_PATH_MAX];
	/* denied responses: the admin's reason (checked printable) */
	char reason_code[32];
	char reason[KLIC_MAX_TEXT_LEN + 1];
};

/* Verify everything, then install.  KLIC_ERR_DENIED for a denial (res holds
 * the reason; detail "<reason_code>: <reason>"); nothing changes on disk on
 * any error.  The response must be signed by a pinned issuer (klic trust:
 * it comes from my organization); in addition, the license runs the whole
 * chain check against vendor_file (--vendor) or, when one is installed,
 * the product's key in KLIC_VENDOR_DIR (res->chain_checked says which). */
int klic_user_install(struct klic_user *u, struct klic_install_result *res, const char *file,
		      const char *vendor_file);

#ifdef __cplusplus
}
#endif
#endif
