/* klic response/ — how the ledger files (ledger.c, ledger_issue.c,
 * ledger_report.c) read a license row: the one column list and the one
 * reader, so that every reader sees every column (ledger SQL stays in
 * response/ledger*, HACKING.md). */
#ifndef KLIC_LEDGER_ROWS_H
#define KLIC_LEDGER_ROWS_H

#include "response_int.h"

/* A license row is read as these columns, in this order, of licenses x
 * LEFT JOIN license_ends d (klic_ledger_license_row_read). */
#define KLIC_LICENSE_COLS                                                                          \
	"x.license_id, x.product, x.machine_id, x.member_fpr, x.request_digest, x.seat,"           \
	" x.issued, x.expires, x.entitlement_id, x.file, d.ended, d.reason, x.issuer_fpr"

/* *row from the current row of st, a statement selecting KLIC_LICENSE_COLS
 * first. */
void klic_ledger_license_row_read(struct klic_license_row *row, struct klic_stmt *st);

#endif
