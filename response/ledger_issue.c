/* klic response/ — the ledger rows `issue` reads and writes: requests,
 * their licenses and their stored responses (response_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_rows.h"
#include "response_int.h"

int klic_ledger_request_get(struct klic_ledger *l, struct klic_request_row *row, const char *digest)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	memset(row, 0, sizeof *row);
	if (klic_ledger_stmt(
		l, &st,
		"SELECT status, member_fpr, machine_id, product, seats, reason_code, "
		"reason, created, response, entitlement_id FROM requests WHERE digest = ?1") != 0)
		return klic_ledger_err(l, "requests");
	klic_db_bind_text(st, 1, digest, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_DONE) {
		r = 0;
		goto out;
	}
	if (rc != KLIC_DB_ROW) {
		r = klic_ledger_err(l, "requests");
		goto out;
	}
	row->found = 1;
	klic_ledger_col_copy(row->status, sizeof row->status, st, 0);
	klic_ledger_col_copy(row->member_fpr, sizeof row->member_fpr, st, 1);
	klic_ledger_col_copy(row->machine_id, sizeof row->machine_id, st, 2);
	klic_ledger_col_copy(row->product, sizeof row->product, st, 3);
	row->seats = (unsigned)(int)klic_db_col_int64(st, 4);
	klic_ledger_col_copy(row->reason_code, sizeof row->reason_code, st, 5);
	klic_ledger_col_copy(row->reason, sizeof row->reason, st, 6);
	if (klic_time_parse(&row->created, klic_ledger_col_text(st, 7)) != 0) {
		r = klic_error_set(KLIC_ERR_LEDGER, "request %s: bad created time", digest);
		goto out;
	}
	row->entitlement_id = klic_db_col_int64(st, 9);
	if (!klic_db_col_is_null(st, 8)) {
		int n = klic_db_col_bytes(st, 8);
		const void *p = klic_db_col_blob(st, 8);
		if (n <= 0 || p == NULL) {
			r = klic_error_set(KLIC_ERR_LEDGER, "request %s: empty response", digest);
			goto out;
		}
		row->response = malloc((size_t)n);
		if (row->response == NULL) {
			r = klic_error_set(KLIC_ERR_NOMEM, "response");
			goto out;
		}
		memcpy(row->response, p, (size_t)n);
		row->response_len = (size_t)n;
	}
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_request_licenses(struct klic_ledger *l, struct klic_response *resp,
				 const char *digest, const struct klic_request_row *row)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	if (klic_ledger_stmt(l, &st,
			     "SELECT license_id, seat, file, issued, expires FROM licenses "
			     "WHERE request_digest = ?1 ORDER BY seat") != 0)
		return klic_ledger_err(l, "licenses");
	klic_db_bind_text(st, 1, digest, -1);
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		struct klic_response_entry *e;
		int64_t issued = klic_db_col_int64(st, 3);
		int64_t expires = klic_db_col_int64(st, 4);
		if (resp->n_licenses >= KLIC_MAX_SEATS) {
			r = klic_error_set(KLIC_ERR_LEDGER, "request %s: too many licenses",
					   digest);
			goto out;
		}
		e = &resp->lic[resp->n_licenses];
		klic_ledger_col_copy(e->license_id, sizeof e->license_id, st, 0);
		e->seat = (unsigned)(int)klic_db_col_int64(st, 1);
		klic_ledger_col_copy(e->file, sizeof e->file, st, 2);
		if (e->seat != resp->n_licenses + 1 || issued != row->created ||
		    (resp->n_licenses > 0 && expires != resp->expires)) {
			r = klic_error_set(KLIC_ERR_LEDGER, "request %s: license rows inconsistent",
					   digest);
			goto out;
		}
		resp->expires = expires;
		resp->n_licenses++;
	}
	if (rc != KLIC_DB_DONE) {
		r = klic_ledger_err(l, "licenses");
		goto out;
	}
	if (resp->n_licenses != row->seats) {
		r = klic_error_set(KLIC_ERR_LEDGER, "request %s: %zu license rows for %u seats",
				   digest, resp->n_licenses, row->seats);
		goto out;
	}
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_active_files(struct klic_ledger *l, unsigned char used[KLIC_MAX_SEATS + 1],
			     unsigned *active, const char *machine_id, const char *product,
			     int64_t now)
{
	struct klic_stmt *st = NULL;
	unsigned k;
	int r, rc;

	memset(used, 0, KLIC_MAX_SEATS + 1);
	*active = 0;
	if (klic_ledger_stmt(l, &st,
			     "SELECT file FROM licenses x WHERE machine_id = ?1 AND product = ?2 "
			     "AND expires > ?3 AND NOT EXISTS (SELECT 1 FROM license_ends d "
			     "WHERE d.license_id = x.license_id AND d.ended <= ?3)") != 0)
		return klic_ledger_err(l, "licenses");
	klic_db_bind_text(st, 1, machine_id, -1);
	klic_db_bind_text(st, 2, product, -1);
	klic_db_bind_int64(st, 3, now);
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		if (klic_license_name_parse(&k, NULL, NULL, klic_ledger_col_text(st, 0)) == 0)
			used[k] = 1;
		(*active)++;
	}
	r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "licenses");
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_request_insert(struct klic_ledger *l, const char *digest,
			       const struct klic_request *req, const struct klic_request_row *row,
			       const struct klic_decision *d, const char *created,
			       const uint8_t *response, size_t len)
{
	struct klic_stmt *st = NULL;
	int r;

	if (klic_ledger_stmt(l, &st,
			     "INSERT INTO requests(digest, member_fpr, machine_id, product, seats, "
			     "status, reason_code, reason, entitlement_id, created, response) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)") != 0)
		return klic_ledger_err(l, "requests");
	klic_db_bind_text(st, 1, digest, -1);
	klic_db_bind_text(st, 2, req->requester_fpr, -1);
	klic_db_bind_text(st, 3, req->machine_id, -1);
	klic_db_bind_text(st, 4, req->product, -1);
	klic_db_bind_int64(st, 5, req->seats);
	klic_db_bind_text(st, 6, row->status, -1);
	if (!d->issue) {
		klic_db_bind_text(st, 7, row->reason_code, -1);
		klic_db_bind_text(st, 8, row->reason, -1);
	} else {
		klic_db_bind_int64(st, 9, d->entitlement_id);
	}
	klic_db_bind_text(st, 10, created, -1);
	klic_db_bind_blob(st, 11, response, (int)len);
	r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "requests insert");
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_request_forget_denial(struct klic_ledger *l, const char *digest)
{
	struct klic_stmt *st = NULL;
	int r;

	if (klic_ledger_stmt(l, &st,
			     "DELETE FROM requests WHERE digest = ?1 AND status = 'denied'") != 0)
		return klic_ledger_err(l, "requests");
	klic_db_bind_text(st, 1, digest, -1);
	r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "requests delete");
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_licenses_insert(struct klic_ledger *l, const char *digest,
				const struct klic_request *req, const struct klic_response *resp,
				const struct klic_decision *d, int64_t now)
{
	struct klic_stmt *st = NULL;
	int r = 0;

	if (klic_ledger_stmt(
		l, &st,
		"INSERT INTO licenses(license_id, request_digest, seat, machine_id,"
		" product, issued, expires, entitlement_id, member_fpr, file,"
		" issuer_fpr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)") != 0)
		return klic_ledger_err(l, "licenses");
	for (size_t k = 0; k < resp->n_licenses; k++) {
		const struct klic_response_entry *e = &resp->lic[k];
		klic_db_reset(st);
		klic_db_bind_text(st, 1, e->license_id, -1);
		klic_db_bind_text(st, 2, digest, -1);
		klic_db_bind_int64(st, 3, e->seat);
		klic_db_bind_text(st, 4, req->machine_id, -1);
		klic_db_bind_text(st, 5, req->product, -1);
		klic_db_bind_int64(st, 6, now);
		klic_db_bind_int64(st, 7, d->expires);
		klic_db_bind_int64(st, 8, d->entitlement_id);
		klic_db_bind_text(st, 9, req->requester_fpr, -1);
		klic_db_bind_text(st, 10, e->file, -1);
		klic_db_bind_text(st, 11, resp->issuer_fpr, -1);
		if (klic_db_step(st) != KLIC_DB_DONE) {
			r = klic_ledger_err(l, "licenses insert");
			break;
		}
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_response_store(struct klic_ledger *l, int *stored, const char *digest,
			       const uint8_t *response, size_t len)
{
	struct klic_stmt *st = NULL;
	int r;

	*stored = 0;
	if (klic_ledger_stmt(l, &st,
			     "UPDATE requests SET response = ?1 WHERE digest = ?2 AND "
			     "response IS NULL") != 0)
		return klic_ledger_err(l, "store response");
	klic_db_bind_blob(st, 1, response, (int)len);
	klic_db_bind_text(st, 2, digest, -1);
	r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "store response");
	klic_ledger_stmt_done(l, st);
	if (r == 0)
		*stored = klic_ledger_changes(l) != 0;
	return r;
}

/* ---- renewals (spec 5.3.4, spec/ledger-7.sql) -------------------------------- */

int klic_ledger_license_get(struct klic_ledger *l, struct klic_license_row *row, int *found,
			    const char *license_id)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	memset(row, 0, sizeof *row);
	*found = 0;
	if (klic_ledger_stmt(l, &st,
			     "SELECT " KLIC_LICENSE_COLS " FROM licenses x LEFT JOIN license_ends d"
			     " ON d.license_id = x.license_id WHERE x.license_id = ?1") != 0)
		return klic_ledger_err(l, "licenses");
	klic_db_bind_text(st, 1, license_id, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_ROW) {
		*found = 1;
		klic_ledger_license_row_read(row, st);
		r = 0;
	} else {
		r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "licenses");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_license_end(struct klic_ledger *l, const char *license_id, int64_t ended,
			    const char *reason, const char *by_digest)
{
	struct klic_stmt *st = NULL;
	int r;

	if (klic_ledger_stmt(l, &st,
			     "INSERT INTO license_ends(license_id, ended, reason, by_digest) "
			     "VALUES (?1, ?2, ?3, ?4)") != 0)
		return klic_ledger_err(l, "license_ends");
	klic_db_bind_text(st, 1, license_id, -1);
	klic_db_bind_int64(st, 2, ended);
	klic_db_bind_text(st, 3, reason, -1);
	klic_db_bind_text(st, 4, by_digest, -1);
	r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "license_ends insert");
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_renew_window(struct klic_ledger *l, unsigned *days)
{
	char v[16];
	unsigned long n;
	char *end = NULL;
	int r;

	*days = KLIC_RENEW_WINDOW_DEFAULT;
	r = klic_ledger_meta_get(l, KLIC_META_RENEW_WINDOW, v, sizeof v);
	if (r == KLIC_ERR_NOT_FOUND) {
		klic_error_clear();
		return 0;
	}
	if (r != 0)
		return r;
	n = strtoul(v, &end, 10);
	if (v[0] < '1' || v[0] > '9' || end == NULL || *end != '\0' || n > KLIC_RENEW_WINDOW_MAX)
		return klic_error_set(KLIC_ERR_LEDGER, "ledger meta %s: bad value \"%s\"",
				      KLIC_META_RENEW_WINDOW, v);
	*days = (unsigned)n;
	return 0;
}

int klic_ledger_renew_window_set(struct klic_ledger *l, int *changed, unsigned days, int64_t now)
{
	char v[16], detail[128];
	unsigned cur = 0;
	int r;

	*changed = 0;
	if (days < 1 || days > KLIC_RENEW_WINDOW_MAX)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "renewal window: 1 to %d days",
				      KLIC_RENEW_WINDOW_MAX);
	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if ((r = klic_ledger_renew_window(l, &cur)) != 0)
		goto out;
	if (cur == days) { /* nothing to change, nothing audited */
		klic_ledger_rollback(l);
		return 0;
	}
	snprintf(v, sizeof v, "%u", days);
	snprintf(detail, sizeof detail, "%s %u -> %u", KLIC_META_RENEW_WINDOW, cur, days);
	if ((r = klic_ledger_meta_set(l, KLIC_META_RENEW_WINDOW, v)) != 0 ||
	    (r = klic_ledger_audit_append(l, now, "policy", "", detail)) != 0)
		goto out;
	if ((r = klic_ledger_commit(l)) != 0)
		return r;
	*changed = 1;
	return 0;
out:
	klic_ledger_rollback(l);
	return r;
}
