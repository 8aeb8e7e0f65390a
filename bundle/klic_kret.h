/* klic — the return receipt (.kret, spec/PROTOCOL.md 3.8): what `klic
 * return` writes when it deletes licenses from the license folder, signed
 * by the member's key, for `klic-admin return`.  A clear-signed text of
 * exactly the .lic shape (klic_clearsigned_split()), signed in text mode,
 * whose body is canonical JSON like the entitlement body (sorted keys,
 * 2-space indent, no trailing newline).  The SHA-256 of the exact file
 * bytes is the receipt's digest: its name in the ledger, the key that
 * makes a second `klic-admin return` of it change nothing.  Library code:
 * never prints, never exits. */
#ifndef KLIC_KRET_H
#define KLIC_KRET_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_KRET_TYPE "klic-return"
#define KLIC_MAX_KRET_BYTES KLIC_MAX_LIC_BYTES /* the whole .kret (clear-signed) */

struct klic_kret {
	char product[4];                          /* "KRE" | "KSE" */
	char machine_id[KLIC_MACHINE_ID_LEN + 1]; /* the machine the licenses were on */
	char member_fpr[KLIC_FPR_HEX_LEN + 1];    /* the signer (primary fingerprint) */
	unsigned n_ids;                           /* 1..KLIC_MAX_SEATS */
	char license_ids[KLIC_MAX_SEATS][33];     /* 32 lower hex, strictly ascending */
	char nonce[KLIC_SHA256_HEX_LEN + 1];      /* 32 random bytes, hex */
	int64_t created;
};

/* Canonical body bytes (what the member signs); license_ids are written
 * sorted (the builder sorts a copy); re-parsed before returned.  *out
 * owned by the caller. */
int klic_kret_body_build(char **out, size_t *outlen, const struct klic_kret *k);

/* Strict parse of a body: canonical form, type "klic-return", version 2,
 * exact key set, types and ranges, license_ids strictly ascending. */
int klic_kret_body_parse(struct klic_kret *out, const uint8_t *json, size_t len);

/* The strict clear-signed shape of a .kret (klic_clearsigned_split with
 * KLIC_MAX_KRET_BYTES); nothing verified. */
int klic_kret_split(struct klic_lic_parts *out, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
