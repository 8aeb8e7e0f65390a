/* klic response/ — what the usage export (.kusage) reads from the ledger:
 * the vendor entitlements (kent NOT NULL), every license with the
 * entitlement_id of the .kent it draws on, and every audit row, in one
 * read transaction. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klic_usage_export.h"
#include "response_int.h"

static int read_ents(struct klic_ledger *l, struct klic_usage *u)
{
	struct klic_stmt *st = NULL;
	int r = 0, rc;

	if ((r = klic_ledger_stmt(l, &st,
				  "SELECT kent_id, kent, seats FROM entitlements "
				  "WHERE kent IS NOT NULL ORDER BY kent_id")) != 0)
		return r;
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		const char *kent = (const char *)klic_db_col_blob(st, 1);
		int n = klic_db_col_bytes(st, 1);
		int64_t seats = klic_db_col_int64(st, 2);

		if (kent == NULL || n <= 0 || seats < 1 || seats > KLIC_MAX_ENT_SEATS) {
			r = klic_error_set(KLIC_ERR_LEDGER, "entitlement %.32s: bad row",
					   klic_ledger_col_text(st, 0));
			break;
		}
		if ((r = klic_usage_add_ent(u, klic_ledger_col_text(st, 0), kent, (size_t)n,
					    (unsigned)seats)) != 0)
			break;
	}
	if (r == 0 && rc != KLIC_DB_DONE)
		r = klic_ledger_err(l, "entitlements");
	klic_ledger_stmt_done(l, st);
	return r;
}

static int read_lics(struct klic_ledger *l, struct klic_usage *u, int64_t now)
{
	struct klic_stmt *st = NULL;
	struct klic_usage_lic lic;
	int r = 0, rc;

	if ((r = klic_ledger_stmt(
		 l, &st,
		 "SELECT l.license_id, COALESCE(e.kent_id, ''), l.request_digest, l.machine_id, "
		 "l.seat, l.issued, l.expires, d.ended, d.reason FROM licenses AS l "
		 "LEFT JOIN entitlements AS e ON e.id = l.entitlement_id "
		 "LEFT JOIN license_ends AS d ON d.license_id = l.license_id "
		 "ORDER BY l.license_id")) !=
	    0)
		return r;
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		int64_t seat = klic_db_col_int64(st, 4);

		memset(&lic, 0, sizeof lic);
		klic_ledger_col_copy(lic.license_id, sizeof lic.license_id, st, 0);
		klic_ledger_col_copy(lic.entitlement_id, sizeof lic.entitlement_id, st, 1);
		klic_ledger_col_copy(lic.request_digest, sizeof lic.request_digest, st, 2);
		klic_ledger_col_copy(lic.machine_id, sizeof lic.machine_id, st, 3);
		lic.seat = seat >= 1 && seat <= KLIC_MAX_SEATS ? (unsigned)seat : 0;
		lic.issued = klic_db_col_int64(st, 5);
		lic.expires = klic_db_col_int64(st, 6);
		lic.ended = klic_db_col_int64(st, 7);
		/* an end is recorded with its reason (spec/ledger-7.sql) */
		if (lic.ended != 0)
			klic_ledger_col_copy(lic.state, sizeof lic.state, st, 8);
		else
			snprintf(lic.state, sizeof lic.state, "%s",
				 lic.expires > now ? KLIC_USAGE_ACTIVE : KLIC_USAGE_EXPIRED);
		if ((r = klic_usage_add_lic(u, &lic)) != 0)
			break;
	}
	if (r == 0 && rc != KLIC_DB_DONE)
		r = klic_ledger_err(l, "licenses");
	klic_ledger_stmt_done(l, st);
	return r;
}

static int read_audit(struct klic_ledger *l, struct klic_usage *u)
{
	struct klic_stmt *st = NULL;
	struct klic_usage_audit a;
	int r = 0, rc;

	memcpy(u->audit_head, KLIC_AUDIT_ZERO, sizeof u->audit_head);
	if ((r = klic_ledger_stmt(l, &st,
				  "SELECT seq, at, event, digest, detail, hash FROM audit "
				  "ORDER BY seq")) != 0)
		return r;
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		memset(&a, 0, sizeof a);
		a.seq = klic_db_col_int64(st, 0);
		klic_ledger_col_copy(a.at, sizeof a.at, st, 1);
		klic_ledger_col_copy(a.event, sizeof a.event, st, 2);
		klic_ledger_col_copy(a.digest, sizeof a.digest, st, 3);
		klic_ledger_col_copy(a.detail, sizeof a.detail, st, 4);
		klic_ledger_col_copy(a.hash, sizeof a.hash, st, 5);
		memcpy(u->audit_head, a.hash, sizeof u->audit_head);
		if ((r = klic_usage_add_audit(u, &a)) != 0)
			break;
	}
	if (r == 0 && rc != KLIC_DB_DONE)
		r = klic_ledger_err(l, "audit");
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_usage_read(struct klic_ledger *l, struct klic_usage *u, int64_t now)
{
	int r;

	if ((r = klic_ledger_begin_read(l)) != 0)
		return r;
	if ((r = read_ents(l, u)) == 0 && (r = read_lics(l, u, now)) == 0)
		r = read_audit(l, u);
	klic_ledger_rollback(l); /* a read transaction: nothing to keep */
	return r;
}
