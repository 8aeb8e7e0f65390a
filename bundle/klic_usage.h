/* klic — the usage export (.kusage, design14.md "Usage export"): what an
 * organization's ledger holds about the vendor entitlements it draws on,
 * the licenses issued from them and the whole hash-chained audit log,
 * clear-signed by the organization's issuer key exactly like a .lic, for
 * the vendor's true-up.  The body is canonical JSON like the response
 * manifest (sorted keys, 2-space indent, no trailing newline), built and
 * parsed strictly here; and the audit-log hash, the one definition used by
 * the ledger and by the vendor.  Library code: never prints, never exits. */
#ifndef KLIC_USAGE_H
#define KLIC_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "klic_bundle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KLIC_MAX_KUSAGE_BYTES (16u * 1024u * 1024u) /* the whole .kusage */
#define KLIC_MAX_USAGE_ROWS 1000000                 /* entries of each array */
#define KLIC_AUDIT_EVENT_MAX 32                     /* audit event name */
#define KLIC_AUDIT_DETAIL_MAX 1023                  /* audit detail text */

#define KLIC_USAGE_ACTIVE "active"
#define KLIC_USAGE_EXPIRED "expired"
#define KLIC_USAGE_RETURNED "returned"
#define KLIC_USAGE_RENEWED "renewed"

/* hash = hex(SHA-256(prev || seq "\t" at "\t" event "\t" digest "\t" detail)),
 * seq in decimal; the prev of row 1 is 64 '0' (KLIC_AUDIT_ZERO).  The one
 * definition of the audit chain (spec/ledger.sql), for the ledger that
 * writes it and every reader that recomputes it. */
#define KLIC_AUDIT_ZERO "0000000000000000000000000000000000000000000000000000000000000000"
int klic_audit_hash(char out[KLIC_SHA256_HEX_LEN + 1], const char *prev, int64_t seq,
		    const char *at, const char *event, const char *digest, const char *detail);

struct klic_usage_ent {
	char entitlement_id[33]; /* == the .kent's entitlement_id */
	char *kent;              /* the exact .kent text, NUL-terminated, owned */
	size_t kent_len;
	unsigned seats; /* == the .kent's seats */
};

struct klic_usage_lic {
	char license_id[33];
	char entitlement_id[33]; /* the .kent it draws on; "" for none (a pre-v2 row) */
	char request_digest[KLIC_SHA256_HEX_LEN + 1]; /* the request it answered */
	char machine_id[KLIC_MACHINE_ID_LEN + 1];
	unsigned seat;
	int64_t issued, expires;
	int64_t ended; /* when it ended early (renewed, returned; issued <= ended <
			* expires), 0: it did not ("ended": null) */
	char state[9]; /* KLIC_USAGE_ACTIVE | _EXPIRED | _RETURNED | _RENEWED (these two
			* exactly when ended != 0) */
};

struct klic_usage_audit {
	int64_t seq;
	char at[KLIC_TIME_LEN + 1];
	char event[KLIC_AUDIT_EVENT_MAX + 1];
	char digest[KLIC_SHA256_HEX_LEN + 1]; /* "" or a request digest */
	char detail[KLIC_AUDIT_DETAIL_MAX + 1];
	char hash[KLIC_SHA256_HEX_LEN + 1];
};

struct klic_usage {
	char org[KLIC_MAX_TEXT_LEN + 1];
	char issuer_fpr[KLIC_FPR_HEX_LEN + 1];
	char issuer_key[KLIC_MAX_ISSUER_KEY_B64 + 1]; /* base64 of the minimal public key */
	int64_t created;
	struct klic_usage_ent *ents; /* ascending entitlement_id */
	size_t n_ents;
	struct klic_usage_lic *lics; /* ascending license_id */
	size_t n_lics;
	struct klic_usage_audit *audit; /* seq 1..n */
	size_t n_audit;
	char audit_head[KLIC_SHA256_HEX_LEN + 1]; /* hash of the last row (KLIC_AUDIT_ZERO: none) */
	size_t cap_ents, cap_lics, cap_audit;     /* allocated (klic_usage_add_*) */
};

/* Start a klic_usage zeroed (memset).  Free what a klic_usage owns (the arrays and the .kent texts)
 * and zero it. */
void klic_usage_dispose(struct klic_usage *u);

/* Append an entry (the .kent text is copied); for building. */
int klic_usage_add_ent(struct klic_usage *u, const char *kent_id, const char *kent, size_t len,
		       unsigned seats);
int klic_usage_add_lic(struct klic_usage *u, const struct klic_usage_lic *lic);
int klic_usage_add_audit(struct klic_usage *u, const struct klic_usage_audit *row);

/* Canonical body bytes (what the issuer signs), re-parsed before they are
 * returned.  *out owned by the caller. */
int klic_usage_body_build(char **out, size_t *outlen, const struct klic_usage *u);

/* Strict parse: canonical form, type "klic-usage", version 2, exact key
 * sets, types and ranges; entitlements strictly ascending by ID, each .kent
 * of the clear-signed shape whose (unverified) body names that ID and those
 * seats; licenses strictly ascending by license_id; audit rows numbered
 * 1..n.  Signatures and the audit chain are the caller's to check.  *out
 * must be disposed (klic_usage_dispose) also after a failure. */
int klic_usage_body_parse(struct klic_usage *out, const uint8_t *json, size_t len);

#ifdef __cplusplus
}
#endif
#endif
