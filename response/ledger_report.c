/* klic response/ — the ledger's read-only queries behind the seat report
 * (report.c, klic_report.h).  A license ended early (renewed, returned:
 * spec/ledger-7.sql) holds its seat until it ended, and is no longer one
 * that "expires soon". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ledger_rows.h"
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

/* ---- one page of the license list ------------------------------------------------
 * The rows klic_ledger_list (ledger.c) gives, in its order (issued,
 * request_digest, seat), but only the filters in use are written into the
 * statement, so that an index of spec/ledger-9.sql (one per filter, each
 * ending in the list's order) finds the rows, and only LIMIT rows are read
 * from the table: the page's license IDs come from the index alone (OFFSET
 * skips index entries), then the page's rows are joined to them.  A page in
 * the far half of the list is read backwards from its end, so no page
 * skips more than half the rows.  Plain SQL (no engine's own functions). */

#define LIST_ORDER_ASC "issued, request_digest, seat"
#define LIST_ORDER_DESC "issued DESC, request_digest DESC, seat DESC"
/* not ended at or before now (parameter %d): the license's seat is still held */
#define LIST_ENDED                                                                                 \
	"EXISTS (SELECT 1 FROM license_ends d WHERE d.license_id = x.license_id"                   \
	" AND d.ended <= ?%d)"

/* The active licenses: up to this many are found by their expiry
 * (licenses_expiry) and sorted, which costs less than walking the list's
 * order past every expired one; more are found by that walk. */
#define LIST_SORT_MAX 100000
/* The unary + (on integers: plain SQL in both engines) keeps an index from
 * being used for that term, or, on the order's first column, for the order. */
#define LIST_ORDER_ASC_SORT "+issued, request_digest, seat"
#define LIST_ORDER_DESC_SORT "+issued DESC, request_digest DESC, seat DESC"

/* The WHERE clause of f's filters ("" when none) into w (wsz bytes), its
 * parameters numbered from 1 in the order list_bind() binds them (every
 * number in use: PostgreSQL cannot type a parameter no text names);
 * *next: the first number after them.  walk: the active licenses are to be
 * walked in the list's order, not found by their expiry. */
static int list_where(char *w, size_t wsz, const struct klic_list_filter *f, int walk, int *next)
{
	size_t n = 0;
	int k, p = 1;
	char part[4][160];
	int used[4] = {f->product != NULL, f->machine_id != NULL, f->member_fpr != NULL,
		       f->active != 0};

	if (used[0])
		(void)snprintf(part[0], sizeof part[0], "product = ?%d", p++);
	if (used[1])
		(void)snprintf(part[1], sizeof part[1], "machine_id = ?%d", p++);
	if (used[2])
		(void)snprintf(part[2], sizeof part[2], "member_fpr = ?%d", p++);
	if (f->active > 0)
		(void)snprintf(part[3], sizeof part[3], "%sexpires > ?%d AND NOT " LIST_ENDED,
			       walk ? "+" : "", p, p);
	else if (f->active < 0)
		(void)snprintf(part[3], sizeof part[3], "(expires <= ?%d OR " LIST_ENDED ")", p, p);
	if (used[3])
		p++;
	*next = p;
	w[0] = '\0';
	for (int i = 0; i < 4; i++) {
		if (!used[i])
			continue;
		k = snprintf(w + n, wsz - n, "%s%s", n == 0 ? " WHERE " : " AND ", part[i]);
		if (k < 0 || (size_t)k >= wsz - n)
			return klic_error_set(KLIC_ERR_INTERNAL, "list: filter too long");
		n += (size_t)k;
	}
	return 0;
}

static void list_bind(struct klic_stmt *st, const struct klic_list_filter *f)
{
	int p = 1;

	if (f->product != NULL)
		klic_db_bind_text(st, p++, f->product, -1);
	if (f->machine_id != NULL)
		klic_db_bind_text(st, p++, f->machine_id, -1);
	if (f->member_fpr != NULL)
		klic_db_bind_text(st, p++, f->member_fpr, -1);
	if (f->active != 0)
		klic_db_bind_int64(st, p, f->now);
}

static int list_count1(struct klic_ledger *l, const struct klic_list_filter *f, uint64_t *n)
{
	char where[512], sql[640];
	struct klic_stmt *st = NULL;
	int r, rc, next;

	*n = 0;
	if ((r = list_where(where, sizeof where, f, 0, &next)) != 0)
		return r;
	if (snprintf(sql, sizeof sql, "SELECT count(*) FROM licenses x%s", where) >=
	    (int)sizeof sql)
		return klic_error_set(KLIC_ERR_INTERNAL, "list: count too long");
	if ((r = klic_ledger_stmt(l, &st, sql)) != 0)
		return r;
	list_bind(st, f);
	if ((rc = klic_db_step(st)) == KLIC_DB_ROW && klic_db_col_int64(st, 0) >= 0) {
		*n = (uint64_t)klic_db_col_int64(st, 0);
		r = 0;
	} else {
		r = klic_ledger_err(l, "list count");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

/* The expired ones are counted as all minus the active ones: counting the
 * few active ones reads the expiry index, not every license. */
int klic_ledger_list_count(struct klic_ledger *l, const struct klic_list_filter *f, uint64_t *n)
{
	struct klic_list_filter g = *f;
	uint64_t all, active;
	int r;

	*n = 0;
	if (f->active >= 0)
		return list_count1(l, f, n);
	g.active = 0;
	if ((r = list_count1(l, &g, &all)) != 0)
		return r;
	g.active = 1;
	if ((r = list_count1(l, &g, &active)) != 0)
		return r;
	*n = all >= active ? all - active : 0;
	return 0;
}

int klic_ledger_list_page(struct klic_ledger *l, const struct klic_list_filter *f, uint64_t total,
			  uint64_t offset, unsigned limit, klic_license_row_fn fn, void *ctx)
{
	char where[512], sql[1536];
	struct klic_stmt *st = NULL;
	struct klic_license_row row;
	uint64_t skip = offset;
	int r, rc, next, back = 0, sort = f->active > 0 && total <= LIST_SORT_MAX;

	if (offset >= total || limit == 0)
		return 0;
	if (limit > total - offset)
		limit = (unsigned)(total - offset);
	if (offset > total / 2) { /* the far half: from the end, backwards */
		back = 1;
		skip = total - offset - limit;
	}
	if (skip > INT64_MAX)
		return klic_error_set(KLIC_ERR_INTERNAL, "list: offset out of range");
	if ((r = list_where(where, sizeof where, f, !sort, &next)) != 0)
		return r;
	if (snprintf(sql, sizeof sql,
		     "SELECT " KLIC_LICENSE_COLS
		     " FROM (SELECT license_id FROM licenses x%s ORDER BY %s LIMIT ?%d OFFSET ?%d) p"
		     " JOIN licenses x ON x.license_id = p.license_id"
		     " LEFT JOIN license_ends d ON d.license_id = x.license_id"
		     " ORDER BY x.issued, x.request_digest, x.seat",
		     where,
		     sort ? (back ? LIST_ORDER_DESC_SORT : LIST_ORDER_ASC_SORT)
			  : (back ? LIST_ORDER_DESC : LIST_ORDER_ASC),
		     next, next + 1) >= (int)sizeof sql)
		return klic_error_set(KLIC_ERR_INTERNAL, "list: page too long");
	if ((r = klic_ledger_stmt(l, &st, sql)) != 0)
		return r;
	list_bind(st, f);
	klic_db_bind_int64(st, next, (int64_t)limit);
	klic_db_bind_int64(st, next + 1, (int64_t)skip);
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		klic_ledger_license_row_read(&row, st);
		if ((r = fn(ctx, &row)) != 0)
			goto out;
	}
	r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "list page");
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_read_cache(struct klic_ledger *l, unsigned mib)
{
	char sql[64];
	struct klic_stmt *st = NULL;
	int r, rc;

	/* SQLite's page cache of this connection (the engine's own setting,
	 * no query): pages are kept in memory as they are read, up to mib.
	 * PostgreSQL's cache is the server's (shared_buffers): nothing to do. */
	if (klic_ledger_is_pg(l))
		return 0;
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%u", mib * 1024u);
	if ((r = klic_ledger_stmt(l, &st, sql)) != 0)
		return r;
	rc = klic_db_step(st);
	r = rc == KLIC_DB_DONE || rc == KLIC_DB_ROW ? 0 : klic_ledger_err(l, "cache size");
	klic_ledger_stmt_done(l, st);
	return r;
}
