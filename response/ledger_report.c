/* klic response/ — the ledger's read-only queries behind the seat report
 * (report.c, klic_report.h).  A license ended early (renewed, returned:
 * spec/ledger-7.sql) holds its seat until it ended, and is no longer one
 * that "expires soon". */
#include <stdint.h>

#include "response_int.h"

int klic_ledger_report_counts(struct klic_ledger *l, int64_t now, klic_report_count_fn fn,
			      void *ctx)
{
	struct klic_stmt *st = NULL;
	int rc, ret;

	if ((ret = klic_ledger_stmt(l, &st,
			"SELECT entitlement_id,"
			" sum(CASE WHEN expires > ?1 AND expires <= ?1 + 7 * 86400"
			" AND d.ended IS NULL THEN 1 ELSE 0 END),"
			" sum(CASE WHEN expires > ?1 AND expires <= ?1 + 30 * 86400"
			" AND d.ended IS NULL THEN 1 ELSE 0 END),"
			" count(*) FROM licenses x"
			" LEFT JOIN license_ends d ON d.license_id = x.license_id"
			" GROUP BY entitlement_id")) != 0)
		return ret;
	klic_db_bind_int64(st, 1, now);
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		if ((ret = fn(ctx, klic_db_col_int64(st, 0), klic_db_col_int64(st, 1),
			      klic_db_col_int64(st, 2), klic_db_col_int64(st, 3))) != 0)
			goto out;
	}
	ret = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "report counts");
out:
	klic_ledger_stmt_done(l, st);
	return ret;
}

int klic_ledger_license_span(struct klic_ledger *l, int *any, int64_t *first_issued,
			     int64_t *last_expires)
{
	struct klic_stmt *st = NULL;
	int ret;

	*any = 0;
	if ((ret = klic_ledger_stmt(l, &st, "SELECT min(issued), max(expires) FROM licenses")) != 0)
		return ret;
	if (klic_db_step(st) != KLIC_DB_ROW) {
		ret = klic_ledger_err(l, "report range");
	} else if (!klic_db_col_is_null(st, 0)) { /* NULL: no license yet */
		*any = 1;
		*first_issued = klic_db_col_int64(st, 0);
		*last_expires = klic_db_col_int64(st, 1);
	}
	klic_ledger_stmt_done(l, st);
	return ret;
}

int klic_ledger_license_periods(struct klic_ledger *l, klic_report_period_fn fn, void *ctx)
{
	struct klic_stmt *st = NULL;
	int rc, ret;

	if ((ret = klic_ledger_stmt(l, &st, "SELECT entitlement_id, issued,"
			" CASE WHEN d.ended IS NOT NULL AND d.ended < expires"
			" THEN d.ended ELSE expires END"
			" FROM licenses x"
			" LEFT JOIN license_ends d ON d.license_id = x.license_id")) != 0)
		return ret;
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		if ((ret = fn(ctx, klic_db_col_int64(st, 0), klic_db_col_int64(st, 1),
			      klic_db_col_int64(st, 2))) != 0)
			goto out;
	}
	ret = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "report series");
out:
	klic_ledger_stmt_done(l, st);
	return ret;
}
