/* klic response/ — copying a whole ledger into an empty one (klic-admin
 * ledger migrate, spec/LEDGER.md): every table, row by row, ids, seq and
 * hashes byte for byte, in one transaction of the target, the audit
 * chain and the seat counters verified on the source before and on the
 * target before its commit. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "response_int.h"

/* A table and its columns' kinds: i integer, t text, b blob.  In this
 * order: licenses and their ends before entitlement_usage, so that the
 * counter triggers of the target find no counter to move (the counters
 * are copied as they are). */
static const struct {
	const char *select, *insert, *kinds;
} tables[] = {
    {"SELECT key, value FROM meta ORDER BY key", "INSERT INTO meta(key, value) VALUES (?1, ?2)",
     "tt"},
    {"SELECT id, product, model, billing, seats, until, ref, created, kent, kent_id,"
     " valid_from, valid_until FROM entitlements ORDER BY id",
     "INSERT INTO entitlements(id, product, model, billing, seats, until, ref, created, kent,"
     " kent_id, valid_from, valid_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
     " ?12)",
     "itttitttttii"},
    {"SELECT fingerprint, name, email, added FROM members ORDER BY fingerprint",
     "INSERT INTO members(fingerprint, name, email, added) VALUES (?1, ?2, ?3, ?4)", "tttt"},
    {"SELECT digest, member_fpr, machine_id, product, seats, status, reason_code, reason,"
     " entitlement_id, created, response FROM requests ORDER BY digest",
     "INSERT INTO requests(digest, member_fpr, machine_id, product, seats, status,"
     " reason_code, reason, entitlement_id, created, response)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
     "ttttitttitb"},
    {"SELECT license_id, request_digest, seat, machine_id, product, issued, expires,"
     " entitlement_id, member_fpr, file, issuer_fpr FROM licenses ORDER BY license_id",
     "INSERT INTO licenses(license_id, request_digest, seat, machine_id, product, issued,"
     " expires, entitlement_id, member_fpr, file, issuer_fpr)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
     "ttittiiittt"},
    {"SELECT license_id, ended, reason, by_digest FROM license_ends ORDER BY license_id",
     "INSERT INTO license_ends(license_id, ended, reason, by_digest) VALUES (?1, ?2, ?3, ?4)",
     "titt"},
    {"SELECT digest, receipt, at FROM returns ORDER BY digest",
     "INSERT INTO returns(digest, receipt, at) VALUES (?1, ?2, ?3)", "tbi"},
    {"SELECT seq, at, event, digest, detail, prev_hash, hash FROM audit ORDER BY seq",
     "INSERT INTO audit(seq, at, event, digest, detail, prev_hash, hash)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
     "itttttt"},
    {"SELECT entitlement_id, as_of, active FROM entitlement_usage ORDER BY entitlement_id",
     "INSERT INTO entitlement_usage(entitlement_id, as_of, active) VALUES (?1, ?2, ?3)", "iii"},
};
#define N_TABLES (sizeof tables / sizeof tables[0])

/* Rows in the tables of l (the schema version's meta row aside). */
static int count_rows(struct klic_ledger *l, int64_t *n)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM meta WHERE key <> 'ledger_version')"
	    " + (SELECT count(*) FROM entitlements) + (SELECT count(*) FROM members)"
	    " + (SELECT count(*) FROM requests) + (SELECT count(*) FROM licenses)"
	    " + (SELECT count(*) FROM license_ends) + (SELECT count(*) FROM returns)"
	    " + (SELECT count(*) FROM audit)"
	    " + (SELECT count(*) FROM entitlement_usage)";
	struct klic_stmt *st = NULL;
	int r;

	if ((r = klic_ledger_stmt(l, &st, sql)) != 0)
		return r;
	if (klic_db_step(st) == KLIC_DB_ROW) {
		*n = klic_db_col_int64(st, 0);
		r = 0;
	} else {
		r = klic_ledger_err(l, "count");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

static void bind_blob(struct klic_stmt *st, int i, const void *p, int len)
{
	klic_db_bind_blob(st, i, p != NULL ? p : "", p != NULL ? len : 0);
}

static int copy_table(struct klic_ledger *to, struct klic_ledger *from, size_t t, int64_t *rows)
{
	struct klic_stmt *in = NULL, *out = NULL;
	const char *k = tables[t].kinds;
	int r, rc;

	if ((r = klic_ledger_stmt(from, &in, tables[t].select)) != 0)
		return r;
	if ((r = klic_ledger_stmt(to, &out, tables[t].insert)) != 0)
		goto done;
	while ((rc = klic_db_step(in)) == KLIC_DB_ROW) {
		klic_db_reset(out);
		for (int c = 0; k[c] != '\0'; c++) {
			if (klic_db_col_is_null(in, c))
				klic_db_bind_null(out, c + 1);
			else if (k[c] == 'i')
				klic_db_bind_int64(out, c + 1, klic_db_col_int64(in, c));
			else if (k[c] == 'b')
				/* a zero-length blob has no pointer: "" */
				bind_blob(out, c + 1, klic_db_col_blob(in, c),
					  klic_db_col_bytes(in, c));
			else /* text read as text first: never NULL when not NULL */
				klic_db_bind_text(out, c + 1, klic_db_col_text(in, c),
						  klic_db_col_bytes(in, c));
		}
		if (klic_db_step(out) != KLIC_DB_DONE) {
			r = klic_ledger_err(to, "copy");
			goto done;
		}
		(*rows)++;
	}
	r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(from, "copy");
done:
	klic_ledger_stmt_done(to, out);
	klic_ledger_stmt_done(from, in);
	return r;
}

/* The chain and the counters of l; *audit its audit rows. */
static int verify(struct klic_ledger *l, int64_t *audit, const char *which)
{
	int64_t bad = 0, n = 0;
	char d[512];
	int r;

	if ((r = klic_ledger_audit_verify(l, audit, &bad)) != 0 ||
	    (r = klic_ledger_usage_verify(l, &n)) != 0) {
		snprintf(d, sizeof d, "%s", klic_error_detail());
		return klic_error_set(r, "%s: %s", which, d);
	}
	return 0;
}

int klic_ledger_copy(struct klic_ledger *to, struct klic_ledger *from, int64_t *rows,
		     int64_t *audit_rows)
{
	int64_t n = 0, a2 = 0;
	int r;

	*rows = 0;
	*audit_rows = 0;
	if ((r = klic_ledger_begin_read(from)) != 0)
		return r;
	if ((r = verify(from, audit_rows, "the source")) != 0)
		goto out;
	if ((r = klic_ledger_begin(to)) != 0)
		goto out;
	if ((r = count_rows(to, &n)) != 0)
		goto out;
	if (n != 0) {
		r = klic_error_set(KLIC_ERR_EXISTS,
				   "the target ledger is not empty (%" PRId64
				   " rows): refusing to copy into it",
				   n);
		goto out;
	}
	for (size_t t = 0; t < N_TABLES; t++)
		if ((r = copy_table(to, from, t, rows)) != 0)
			goto out;
	/* new entitlements continue after the copied ids */
	if (klic_ledger_is_pg(to) &&
	    (r = klic_ledger_exec(
		 to, "SELECT setval(pg_get_serial_sequence('entitlements', 'id'),"
		     " (SELECT coalesce(max(id), 0) + 1 FROM entitlements), false)")) != 0)
		goto out;
	if ((r = verify(to, &a2, "the copy")) != 0)
		goto out;
	if (a2 != *audit_rows) {
		r = klic_error_set(KLIC_ERR_LEDGER,
				   "the copy holds %" PRId64 " audit rows, not %" PRId64, a2,
				   *audit_rows);
		goto out;
	}
	r = klic_ledger_commit(to);
	klic_ledger_rollback(from);
	return r;
out:
	klic_ledger_rollback(to);
	klic_ledger_rollback(from);
	return r;
}
