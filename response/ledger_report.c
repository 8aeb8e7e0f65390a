/* klic response/ — the ledger's read-only queries behind the seat report
 * (report.c, klic_report.h).  A license ended early (renewed, returned:
 * spec/ledger-7.sql) holds its seat until it ended, and is no longer one
 * that "expires soon". */
#include <stdint.h>

#include "response_int.h"

static int prep(struct klic_ledger *l, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(klic_ledger_db(l), sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return klic_ledger_err(l, "report");
	}
	return 0;
}

int klic_ledger_report_counts(struct klic_ledger *l, int64_t now, klic_report_count_fn fn,
			      void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = prep(l, &st,
			"SELECT entitlement_id,"
			" sum(expires > ?1 AND expires <= ?1 + 7 * 86400 AND d.ended IS NULL),"
			" sum(expires > ?1 AND expires <= ?1 + 30 * 86400 AND d.ended IS NULL),"
			" count(*) FROM licenses x"
			" LEFT JOIN license_ends d ON d.license_id = x.license_id"
			" GROUP BY entitlement_id")) != 0)
		return ret;
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			      sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3))) != 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : klic_ledger_err(l, "report counts");
out:
	sqlite3_finalize(st);
	return ret;
}

int klic_ledger_license_span(struct klic_ledger *l, int *any, int64_t *first_issued,
			     int64_t *last_expires)
{
	sqlite3_stmt *st = NULL;
	int ret;

	*any = 0;
	if ((ret = prep(l, &st, "SELECT min(issued), max(expires) FROM licenses")) != 0)
		return ret;
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = klic_ledger_err(l, "report range");
	} else if (sqlite3_column_type(st, 0) != SQLITE_NULL) { /* NULL: no license yet */
		*any = 1;
		*first_issued = sqlite3_column_int64(st, 0);
		*last_expires = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return ret;
}

int klic_ledger_license_periods(struct klic_ledger *l, klic_report_period_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = prep(l, &st, "SELECT entitlement_id, issued,"
			" min(expires, coalesce(d.ended, expires)) FROM licenses x"
			" LEFT JOIN license_ends d ON d.license_id = x.license_id")) != 0)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			      sqlite3_column_int64(st, 2))) != 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : klic_ledger_err(l, "report series");
out:
	sqlite3_finalize(st);
	return ret;
}
