/* klic response/ — the ledger's returns (spec 5.3.6, spec/ledger-8.sql):
 * the receipts applied, by their digest.  The license ends and audit rows
 * a return writes go through klic_ledger_license_end() and
 * klic_ledger_audit_append(). */
#include <string.h>

#include "response_int.h"

int klic_ledger_return_find(struct klic_ledger *l, int *found, int64_t *at, const char *digest)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	*found = 0;
	*at = 0;
	if (klic_ledger_stmt(l, &st, "SELECT at FROM returns WHERE digest = ?1") != 0)
		return klic_ledger_err(l, "returns");
	klic_db_bind_text(st, 1, digest, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_ROW) {
		*found = 1;
		*at = klic_db_col_int64(st, 0);
		r = 0;
	} else {
		r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "returns");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_return_insert(struct klic_ledger *l, const char *digest, const uint8_t *receipt,
			      size_t len, int64_t at)
{
	struct klic_stmt *st = NULL;
	int r;

	if (len > (size_t)KLIC_MAX_LIC_BYTES)
		return klic_error_set(KLIC_ERR_TOO_BIG, "receipt of %zu bytes", len);
	if (klic_ledger_stmt(l, &st,
			     "INSERT INTO returns(digest, receipt, at) VALUES (?1, ?2, ?3)") != 0)
		return klic_ledger_err(l, "returns");
	klic_db_bind_text(st, 1, digest, -1);
	klic_db_bind_blob(st, 2, receipt, (int)len);
	klic_db_bind_int64(st, 3, at);
	r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "returns insert");
	klic_ledger_stmt_done(l, st);
	return r;
}
