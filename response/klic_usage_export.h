/* klic response/ — the usage export (.kusage, bundle/klic_usage.h): the
 * ledger read (ledger_usage.c) and the signed document (usage_export.c).
 * Library code: never prints, never exits. */
#ifndef KLIC_USAGE_EXPORT_H
#define KLIC_USAGE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "klic_response.h"
#include "klic_usage.h"

/* Append to u, in one read transaction: every vendor entitlement (kent NOT
 * NULL) by kent_id, every license by license_id with the kent_id of its
 * entitlement ("" when it has none) and its state at now (active while
 * expires > now), every audit row by seq; u->audit_head = the last row's
 * hash (KLIC_AUDIT_ZERO when there is none). */
int klic_ledger_usage_read(struct klic_ledger *l, struct klic_usage *u, int64_t now);

/* The organization's .kusage at now: the ledger read above, the issuer's
 * org, fingerprint and minimal public key, clear-signed in text mode by the
 * issuer key (at most KLIC_MAX_KUSAGE_BYTES).  *out owned by the caller. */
int klic_admin_usage_export(struct klic_admin *a, uint8_t **out, size_t *outlen, int64_t now);

#endif
