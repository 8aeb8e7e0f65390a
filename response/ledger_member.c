/* klic response/ — the members table beyond add and lookup (ledger.c):
 * listing the members with their names, and removing one (spec 5.3). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "klic_members.h"
#include "response_int.h"

static void member_row(struct klic_member_info *m, struct klic_stmt *st)
{
	klic_ledger_col_copy(m->fpr, sizeof m->fpr, st, 0);
	klic_ledger_col_copy(m->name, sizeof m->name, st, 1);
	klic_ledger_col_copy(m->email, sizeof m->email, st, 2);
	klic_ledger_col_copy(m->added, sizeof m->added, st, 3);
}

int klic_ledger_member_list(struct klic_ledger *l, klic_member_info_fn fn, void *ctx)
{
	struct klic_stmt *st = NULL;
	struct klic_member_info m;
	int r, rc;

	if ((r = klic_ledger_stmt(l, &st,
				  "SELECT fingerprint, name, email, added FROM members "
				  "ORDER BY fingerprint")) != 0)
		return r;
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		member_row(&m, st);
		if ((r = fn(ctx, &m)) != 0)
			goto out;
	}
	r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "members");
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_member_get(struct klic_ledger *l, struct klic_member_info *m, const char *fpr)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	memset(m, 0, sizeof *m);
	if ((r = klic_ledger_stmt(l, &st,
				  "SELECT fingerprint, name, email, added FROM members "
				  "WHERE fingerprint = ?1")) != 0)
		return r;
	klic_db_bind_text(st, 1, fpr, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_ROW) {
		member_row(m, st);
		r = 0;
	} else if (rc == KLIC_DB_DONE) {
		r = klic_error_set(KLIC_ERR_NOT_MEMBER, "%s is not a member", fpr);
	} else {
		r = klic_ledger_err(l, "members");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_member_remove(struct klic_ledger *l, const char *fpr, int64_t now)
{
	struct klic_member_info m;
	struct klic_stmt *st = NULL;
	char detail[3 * KLIC_MAX_UID_LEN];
	int r;

	if (klic_fpr_check(fpr) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "bad fingerprint");
	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if ((r = klic_ledger_member_get(l, &m, fpr)) != 0)
		goto out;
	if (snprintf(detail, sizeof detail, "%s %s <%s>", m.fpr, m.name, m.email) >=
	    (int)sizeof detail) {
		r = klic_error_set(KLIC_ERR_INTERNAL, "audit detail");
		goto out;
	}
	if ((r = klic_ledger_stmt(l, &st, "DELETE FROM members WHERE fingerprint = ?1")) != 0)
		goto out;
	klic_db_bind_text(st, 1, fpr, -1);
	if (klic_db_step(st) != KLIC_DB_DONE || klic_ledger_changes(l) != 1) {
		r = klic_ledger_err(l, "member delete");
		goto out;
	}
	klic_ledger_stmt_done(l, st);
	st = NULL;
	if ((r = klic_ledger_audit_append(l, now, "member-remove", "", detail)) != 0)
		goto out;
	return klic_ledger_commit(l);
out:
	klic_ledger_stmt_done(l, st);
	klic_ledger_rollback(l);
	return r;
}
