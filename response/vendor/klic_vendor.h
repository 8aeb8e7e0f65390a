/* klic-vendor — the vendor side (design14.md "Vendor tool"): the vendor's
 * state (a signing key in STATE/gnupg, the entitlements it signed in
 * STATE/entitlements/<id>.kent), signing entitlements (.kent, spec 3.6) and
 * the true-up of an organization's usage export (.kusage).
 * Library code: never prints, never prompts, never exits.  Every function
 * returns 0 or a negative KLIC_ERR_* code with a detail (klic_error_set). */
#ifndef KLIC_VENDOR_H
#define KLIC_VENDOR_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"
#include "klic_keys.h"

#define KLIC_VENDOR_GNUPG_DIR "gnupg"
#define KLIC_VENDOR_ENT_DIR "entitlements"
#define KLIC_VENDOR_PATH_MAX 4096
#define KLIC_VENDOR_MAX_ENTS 100000 /* recorded entitlements listed */

/* The state folder: opt when given, else $KLIC_VENDOR_HOME, else
 * $HOME/.local/share/klic-vendor. */
int klic_vendor_state_dir(char *out, size_t outsz, const char *opt);

/* Create the state: the folder (0700), an Ed25519 signing key for
 * "NAME <EMAIL>" in STATE/gnupg, STATE/entitlements.  Refuses
 * (KLIC_ERR_EXISTS) a state that already has a keyring; on failure nothing
 * of the new state is left.  fpr_out: the key's primary fingerprint. */
int klic_vendor_init(char fpr_out[KLIC_FPR_HEX_LEN + 1], const char *state, const char *name,
		     const char *email);

/* An open vendor state; the key is the only secret key of STATE/gnupg. */
struct klic_vendor {
	char state[KLIC_VENDOR_PATH_MAX];
	char gnupg[KLIC_VENDOR_PATH_MAX];
	char ents[KLIC_VENDOR_PATH_MAX];
	char fpr[KLIC_FPR_HEX_LEN + 1];
	struct klic_keyring *kr;
};

/* Open an initialized state (KLIC_ERR_NOT_FOUND when there is none).
 * *out owned by the caller (klic_vendor_free). */
int klic_vendor_open(struct klic_vendor **out, const char *state);
void klic_vendor_free(struct klic_vendor *v);

/* The vendor's armored minimal public key, written atomically to path;
 * an existing file is refused (KLIC_ERR_EXISTS). */
int klic_vendor_export_key(struct klic_vendor *v, const char *path);

/* What `entitle` signs.  Times are Unix seconds (valid_until exclusive). */
struct klic_vendor_entitle_opts {
	const char *org;
	const char *const *org_key_files; /* armored or binary public keys */
	size_t n_org_key_files;           /* 1..KLIC_MAX_ORG_KEYS */
	const char *product, *model, *billing;
	unsigned seats;
	int64_t valid_from, valid_until;
	int returnable;
	const char *ref;
	const char *out_path; /* the .kent written (never replaced) */
};

/* Sign an entitlement: inspect every org key (public keys only, distinct
 * primary fingerprints), build the body (new random entitlement_id,
 * created = now), clear-sign it in text mode with the vendor key, verify
 * the result with klic_kent_verify() against the vendor key, then record
 * it as STATE/entitlements/<id>.kent and write out_path (both new files;
 * on failure neither is left).  *bad_file names the file a failure is
 * about (an org key, the output, the state) for the caller's message. */
int klic_vendor_entitle(struct klic_vendor *v, struct klic_kent *out, const char **bad_file,
			const struct klic_vendor_entitle_opts *o);

/* A .kent checked against this vendor: its signature by the vendor key
 * (klic_kent_verify), and whether it is the one recorded under its ID. */
int klic_vendor_kent_check(struct klic_vendor *v, struct klic_kent *out, int *recorded,
			   const uint8_t *buf, size_t len);

/* One recorded entitlement, re-verified. */
struct klic_vendor_ent {
	char file[KLIC_MAX_NAME_LEN + 1]; /* name in STATE/entitlements */
	int rc;                           /* 0 verified, else the refusal */
	char detail[256];                 /* the refusal's detail */
	struct klic_kent kent;            /* valid when rc == 0 */
};

/* Every STATE/entitlements/<NAME>.kent in name order, each re-verified by
 * klic_vendor_kent_check (the file name must be its entitlement_id).
 * *out malloc'ed (free()). */
int klic_vendor_list(struct klic_vendor *v, struct klic_vendor_ent **out, size_t *n);

/* ---- usage true-up (usage_verify.c) ------------------------------------- */

#define KLIC_VENDOR_FINDING_LEN 400

/* One embedded entitlement of a .kusage and the peak of its licenses. */
struct klic_vendor_usage_ent {
	char entitlement_id[33];
	char product[4];
	unsigned seats;
	unsigned peak; /* most licenses active at one time */
	size_t n_lics; /* licenses drawing on it */
	int anchored;  /* verified under this vendor's key, recorded, names the issuer */
};

/* What `usage verify` established.  findings: one line per problem
 * (over-issue, unaudited license, unknown entitlement, broken audit chain,
 * an embedded entitlement that is not this vendor's); none means ok. */
struct klic_vendor_usage_report {
	char org[KLIC_MAX_TEXT_LEN + 1];
	char issuer_fpr[KLIC_FPR_HEX_LEN + 1];
	int64_t created;
	size_t n_lics, n_audit;
	int chain_ok;
	struct klic_vendor_usage_ent *ents;
	size_t n_ents;
	char (*findings)[KLIC_VENDOR_FINDING_LEN];
	size_t n_findings, cap_findings;
};

/* The true-up of an organization's .kusage (buf, len): refused (an error
 * code) unless it is a strict clear-signed usage export whose signature is
 * by its issuer_fpr (checked in a scratch verify-only keyring under /tmp
 * holding only its issuer_key, removed afterwards) and issuer_fpr is named
 * by an embedded entitlement that verifies under this vendor's key and is
 * the one recorded under its ID.  Then, into rep: the audit chain
 * recomputed (every hash and the head), every license tied to the "issued"
 * audit row of its request (digest, machine, expiry, time, seat within the
 * seats it granted) or flagged unaudited, every issued row with as many
 * licenses as it issued (else licenses were left out), licenses of
 * entitlements not in the export flagged, and per entitlement the peak number of licenses
 * active at one time against its seats.  rep must be disposed. */
int klic_vendor_usage_verify(struct klic_vendor *v, struct klic_vendor_usage_report *rep,
			     const uint8_t *buf, size_t len);
void klic_vendor_usage_report_dispose(struct klic_vendor_usage_report *rep);

#endif
