/* klic response/ — klic-admin return (spec 5.3.6): a member gives licenses
 * back with a signed receipt; when the vendor made their entitlement
 * returnable, the seats are free at once.  The SQL is in ledger_return.c
 * and the other ledger files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_admin_return.h"
#include "response_int.h"

struct member_ctx {
	struct klic_ledger *l;
	const char *issuer;
};

/* A receipt counts only when a member of this ledger signed it (a removed
 * member's key is no longer one). */
static int allow_member(void *vctx, const char *fpr)
{
	struct member_ctx *c = vctx;
	int r;

	if (strcmp(fpr, c->issuer) == 0)
		return klic_error_set(KLIC_ERR_NOT_MEMBER, "%s is the issuer key, not a member",
				      fpr);
	r = klic_ledger_is_member(c->l, fpr);
	if (r == KLIC_ERR_NOT_FOUND)
		return klic_error_set(KLIC_ERR_NOT_MEMBER, "%s is not a member of this ledger",
				      fpr);
	return r;
}

/* Steps 1-3: bounded read, strict shape, a member's text-mode signature,
 * the strict body naming its signer; the digest of the exact bytes. */
static int open_receipt(struct klic_admin *a, struct klic_return_outcome *o, uint8_t **buf,
			size_t *len, const char *path)
{
	struct member_ctx mc = {a->ledger, a->issuer_fpr};
	int r;

	if ((r = klic_read_file(buf, len, path, KLIC_MAX_KRET_BYTES)) != 0 ||
	    (r = klic_sha256_hex(o->digest, *buf, *len)) != 0)
		return r;
	r = klic_kret_verify(a->members, &o->kret, *buf, *len, allow_member, &mc);
	if (r == KLIC_ERR_SIG_UNKNOWN_KEY) {
		/* the members' keyring holds every member's key: a key it does
		 * not know is no member's */
		char d[256];
		snprintf(d, sizeof(d), "%s", klic_error_detail());
		return klic_error_set(KLIC_ERR_NOT_MEMBER,
				      "signed by a key that is not a member "
				      "of this ledger (%s)",
				      d);
	}
	if (r != 0)
		return r;
	return klic_ledger_member_name(a->ledger, o->member_uid, sizeof(o->member_uid),
				       o->kret.member_fpr);
}

/* Is the entitlement (ledger row id) returnable?  Its .kent says. */
static int ent_returnable(struct klic_ledger *l, char kent_id[33], int *yes, int64_t id)
{
	struct klic_lic_parts parts;
	struct klic_kent e;
	char *text = NULL;
	size_t len = 0;
	int r;

	*yes = 0;
	if ((text = malloc(KLIC_MAX_KENT_BYTES + 1)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "entitlement");
	if ((r = klic_ledger_entitlement_kent(l, kent_id, text, KLIC_MAX_KENT_BYTES + 1, &len,
					      id)) != 0 ||
	    (r = klic_clearsigned_split(&parts, (const uint8_t *)text, len, KLIC_MAX_KENT_BYTES)) !=
		0 ||
	    (r = klic_kent_body_parse(&e, parts.body, parts.body_len)) != 0)
		goto out;
	*yes = e.returnable;
out:
	free(text);
	return r;
}

/* Steps 5-7 for license i of the receipt, in the write transaction. */
static int check_license(struct klic_ledger *l, struct klic_return_outcome *o, unsigned i,
			 int64_t now)
{
	const struct klic_kret *k = &o->kret;
	const char *id = k->license_ids[i];
	struct klic_license_row row;
	char t[KLIC_TIME_LEN + 1];
	int r, found, yes;

	if ((r = klic_ledger_license_get(l, &row, &found, id)) != 0)
		return r;
	if (!found)
		return klic_error_set(KLIC_ERR_MISMATCH, "license %s is not in this ledger", id);
	if (strcmp(row.machine_id, k->machine_id) != 0 || strcmp(row.product, k->product) != 0 ||
	    strcmp(row.member_fpr, k->member_fpr) != 0)
		return klic_error_set(KLIC_ERR_MISMATCH,
				      "license %s was issued for %s %s to %s, the receipt says %s "
				      "%s from %s",
				      id, row.product, row.machine_id, row.member_fpr, k->product,
				      k->machine_id, k->member_fpr);
	memcpy(o->files[i], row.file, sizeof(o->files[i]));
	/* returned by another receipt of this member: each license once.  Any
	 * end is final, also one recorded "later" than now (another admin
	 * host's clock ahead of this one on a shared ledger) */
	if (row.ended != 0 && strcmp(row.end_reason, "returned") == 0) {
		o->before[i] = 1;
		return 0;
	}
	if (row.ended != 0) {
		(void)klic_time_format(t, row.ended);
		return klic_error_set(KLIC_ERR_RETURNED, "license %s ended (%s) at %s", id,
				      row.end_reason, t);
	}
	if (row.expires <= now) {
		(void)klic_time_format(t, row.expires);
		return klic_error_set(KLIC_ERR_LICENSE_EXPIRED, "license %s expired at %s", id, t);
	}
	if ((r = ent_returnable(l, o->entitlement[i], &yes, row.entitlement_id)) != 0)
		return r;
	if (!yes)
		return klic_error_set(KLIC_ERR_NOT_ENTITLED,
				      "not-returnable: the entitlement %s of license %s is "
				      "irreversible (the vendor did not make it returnable)",
				      o->entitlement[i], id);
	return 0;
}

/* Steps 4-8 in one write transaction: the checks against the ledger and,
 * when all pass, the receipt, the ends and the audit rows. */
static int apply(struct klic_ledger *l, struct klic_return_outcome *o, const uint8_t *buf,
		 size_t len, int64_t now)
{
	const struct klic_kret *k = &o->kret;
	char detail[256];
	int r, found;

	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	/* 4: applied before: nothing to do */
	if ((r = klic_ledger_return_find(l, &found, &o->at, o->digest)) != 0)
		goto out;
	if (found) {
		o->already = 1;
		klic_ledger_rollback(l);
		return 0;
	}
	for (unsigned i = 0; i < k->n_ids; i++) {
		if ((r = check_license(l, o, i, now)) != 0)
			goto out;
		o->n_freed += !o->before[i];
	}
	if (o->n_freed == 0) { /* every license returned by other receipts */
		o->others = 1;
		klic_ledger_rollback(l);
		return 0;
	}
	o->at = now;
	if ((r = klic_ledger_return_insert(l, o->digest, buf, len, now)) != 0)
		goto out;
	for (unsigned i = 0; i < k->n_ids; i++) {
		if (o->before[i])
			continue;
		snprintf(detail, sizeof(detail), "%s returned by receipt %s (%s %s)",
			 k->license_ids[i], o->digest, o->files[i], k->machine_id);
		if ((r = klic_ledger_license_end(l, k->license_ids[i], now, "returned",
						 o->digest)) != 0 ||
		    (r = klic_ledger_audit_append(l, now, "returned", o->digest, detail)) != 0)
			goto out;
	}
	return klic_ledger_commit(l);
out:
	klic_ledger_rollback(l);
	return r;
}

int klic_admin_return(struct klic_admin *a, struct klic_return_outcome *o, const char *path,
		      int64_t now)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = open_receipt(a, o, &buf, &len, path)) == 0)
		r = apply(a->ledger, o, buf, len, now);
	free(buf);
	return r;
}
