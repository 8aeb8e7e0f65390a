/* klic — klic-admin return (spec 5.3.6): applying a return receipt
 * (.kret, spec 3.8) to the ledger.  Library code (klic_response): never
 * prints, never exits. */
#ifndef KLIC_ADMIN_RETURN_H
#define KLIC_ADMIN_RETURN_H

#include "klic_kret.h"
#include "klic_response.h"

struct klic_return_outcome {
	char digest[KLIC_SHA256_HEX_LEN + 1]; /* SHA-256 of the receipt's bytes */
	struct klic_kret kret;                /* what it says (verified) */
	char member_uid[KLIC_MAX_UID_LEN + 1];
	int already; /* 1: applied before, at `at`; nothing changed now */
	int others;  /* 1: not applied before, but every license it names was
		      * returned by other receipts; nothing changed now */
	int64_t at;  /* when it was applied (now, or before; 0 for others) */
	unsigned n_freed; /* licenses ended by this receipt now */
	unsigned char before[KLIC_MAX_SEATS]; /* 1: returned before by another receipt */
	char files[KLIC_MAX_SEATS][KLIC_MAX_NAME_LEN + 1]; /* per license ID */
	char entitlement[KLIC_MAX_SEATS][33];              /* the .kent each drew on */
};

/* Apply the receipt in the file at path at `now`, checks in the order of
 * spec 5.3.6: strict shape, a text-mode signature by a registered member
 * (KLIC_ERR_NOT_MEMBER otherwise), member_fpr == signer; applied before
 * (same digest): o->already, nothing changed; each license in this ledger
 * for that machine, product and member (KLIC_ERR_MISMATCH); one returned
 * already by another receipt is skipped (o->before[i]: the re-run of an
 * interrupted klic return signs a second receipt, spec 5.11); each other
 * active now (KLIC_ERR_LICENSE_EXPIRED, KLIC_ERR_RETURNED for a renewed
 * one), drawn on a returnable entitlement (KLIC_ERR_NOT_ENTITLED
 * "not-returnable: ...").  Every license returned before: o->others,
 * nothing changed.  Else all or nothing: the receipt, an end and a
 * 'returned' audit row per license it frees (o->n_freed) in one BEGIN
 * IMMEDIATE transaction. */
int klic_admin_return(struct klic_admin *a, struct klic_return_outcome *o, const char *path,
		      int64_t now);

#endif
