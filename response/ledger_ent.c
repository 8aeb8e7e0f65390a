/* klic response/ — the ledger's entitlements (spec/ledger-4.sql): vendor
 * entitlements imported from their .kent, the seats used per entitlement
 * and their counter (entitlement_usage, spec/ledger-3.sql). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "response_int.h"

/* ---- import ----------------------------------------------------------------- */

/* 1 when the row of kent_id holds exactly text[0..len), 0 when another
 * document, -1 when there is no such row; < -1: an error code. */
static int kent_stored(struct klic_ledger *l, const char *kent_id, const char *text, size_t len)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	if ((r = klic_ledger_stmt(l, &st, "SELECT kent FROM entitlements WHERE kent_id = ?1")) != 0)
		return r;
	klic_db_bind_text(st, 1, kent_id, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_DONE) {
		r = -1;
	} else if (rc == KLIC_DB_ROW) {
		const void *p = klic_db_col_blob(st, 0);
		int n = klic_db_col_bytes(st, 0);
		r = n >= 0 && (size_t)n == len && (len == 0 || memcmp(p, text, len) == 0);
	} else {
		r = klic_ledger_err(l, "entitlements");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

static int insert_kent(struct klic_ledger *l, int64_t *id, const struct klic_kent *e,
		       const char *text, size_t len)
{
	struct klic_stmt *st = NULL;
	char created[KLIC_TIME_LEN + 1], last[KLIC_TIME_LEN + 1];
	int r;

	if ((r = klic_time_format(created, e->created)) != 0 ||
	    (r = klic_time_format(last, e->valid_until - 1)) != 0)
		return r;
	last[10] = '\0'; /* the last valid day, YYYY-MM-DD */
	if ((r = klic_ledger_stmt(
		 l, &st,
		 "INSERT INTO entitlements(product, model, billing, seats, until, ref, created,"
		 " kent, kent_id, valid_from, valid_until)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id")) != 0)
		return r;
	klic_db_bind_text(st, 1, e->product, -1);
	klic_db_bind_text(st, 2, e->model, -1);
	klic_db_bind_text(st, 3, e->billing, -1);
	klic_db_bind_int64(st, 4, e->seats);
	klic_db_bind_text(st, 5, last, -1);
	klic_db_bind_text(st, 6, e->ref, -1);
	klic_db_bind_text(st, 7, created, -1);
	klic_db_bind_text(st, 8, text, (int)len);
	klic_db_bind_text(st, 9, e->entitlement_id, -1);
	klic_db_bind_int64(st, 10, e->valid_from);
	klic_db_bind_int64(st, 11, e->valid_until);
	if (klic_db_step(st) == KLIC_DB_ROW) {
		*id = klic_db_col_int64(st, 0);
		r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "entitlement insert");
	} else {
		r = klic_ledger_err(l, "entitlement insert");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_entitlement_import(struct klic_ledger *l, int *added, int64_t *id_out,
				   const struct klic_kent *e, const char *text, size_t len,
				   int64_t now)
{
	char from[KLIC_TIME_LEN + 1], until[KLIC_TIME_LEN + 1], detail[700];
	int r;

	*added = 0;
	*id_out = 0;
	if (len == 0 || len > KLIC_MAX_KENT_BYTES || memchr(text, '\0', len) != NULL)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "entitlement text");
	if ((r = klic_time_format(from, e->valid_from)) != 0 ||
	    (r = klic_time_format(until, e->valid_until)) != 0)
		return r;
	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	r = kent_stored(l, e->entitlement_id, text, len);
	if (r == 1) {
		klic_ledger_rollback(l);
		return klic_ledger_entitlement_find(l, id_out, e->entitlement_id);
	}
	if (r == 0) {
		r = klic_error_set(KLIC_ERR_EXISTS,
				   "entitlement %s was imported before from a different document",
				   e->entitlement_id);
		goto out;
	}
	if (r != -1)
		goto out;
	if ((r = insert_kent(l, id_out, e, text, len)) != 0)
		goto out;
	snprintf(detail, sizeof detail,
		 "import %s id=%lld product=%s model=%s billing=%s seats=%u from=%s until=%s "
		 "ref=%s vendor=%s",
		 e->entitlement_id, (long long)*id_out, e->product, e->model, e->billing, e->seats,
		 from, until, e->ref, e->vendor_fpr);
	if ((r = klic_ledger_audit_append(l, now, "entitlement-add", "", detail)) != 0)
		goto out;
	if ((r = klic_ledger_commit(l)) != 0) {
		*id_out = 0;
		return r;
	}
	*added = 1;
	return 0;
out:
	*id_out = 0;
	klic_ledger_rollback(l);
	return r;
}

int klic_ledger_entitlement_find(struct klic_ledger *l, int64_t *id_out, const char *kent_id)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	*id_out = 0;
	if ((r = klic_ledger_stmt(l, &st, "SELECT id FROM entitlements WHERE kent_id = ?1")) != 0)
		return r;
	klic_db_bind_text(st, 1, kent_id, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_ROW) {
		*id_out = klic_db_col_int64(st, 0);
		r = 0;
	} else if (rc == KLIC_DB_DONE) {
		r = klic_error_set(KLIC_ERR_NOT_FOUND, "entitlement %s not imported", kent_id);
	} else {
		r = klic_ledger_err(l, "entitlements");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_entitlement_kent(struct klic_ledger *l, char kent_id[33], char *text, size_t textsz,
				 size_t *len, int64_t id)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	kent_id[0] = '\0';
	*len = 0;
	if ((r = klic_ledger_stmt(l, &st,
				  "SELECT kent_id, kent FROM entitlements WHERE id = ?1")) != 0)
		return r;
	klic_db_bind_int64(st, 1, id);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_ROW) {
		const void *p = klic_db_col_blob(st, 1);
		int n = klic_db_col_bytes(st, 1);
		if (klic_db_col_is_null(st, 1) || n <= 0 || (size_t)n >= textsz ||
		    strlen(klic_ledger_col_text(st, 0)) != 32) {
			r = klic_error_set(KLIC_ERR_LEDGER,
					   "entitlement %lld has no vendor-signed .kent",
					   (long long)id);
		} else {
			klic_ledger_col_copy(kent_id, 33, st, 0);
			memcpy(text, p, (size_t)n);
			text[n] = '\0';
			*len = (size_t)n;
			r = 0;
		}
	} else if (rc == KLIC_DB_DONE) {
		r = klic_error_set(KLIC_ERR_LEDGER, "entitlement %lld missing", (long long)id);
	} else {
		r = klic_ledger_err(l, "entitlements");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

/* ---- seats used ---------------------------------------------------------------- */

/* A license holds a seat from issued until min(expires, ended)
 * (spec/ledger-7.sql: an end is a row of license_ends).  The licenses of
 * entitlement e whose seat ends in (A, B]: those expiring then that had
 * not ended by A, and those ended then that expire later. */
#define SEAT_ENDS_IN(A, B)                                                                         \
	"((SELECT count(*) FROM licenses x WHERE x.entitlement_id = e.id"                          \
	"  AND x.expires > " A " AND x.expires <= " B " AND NOT EXISTS (SELECT 1"                  \
	"  FROM license_ends d WHERE d.license_id = x.license_id AND d.ended <= " A "))"          \
	" + (SELECT count(*) FROM license_ends d JOIN licenses x ON x.license_id = d.license_id"   \
	"  WHERE x.entitlement_id = e.id AND d.ended > " A " AND d.ended <= " B                    \
	"  AND x.expires > " B "))"

/* Seats of entitlement e used at ?2 (licenses with expires > ?2 and no end
 * at or before ?2), from its entitlement_usage row u when it has one
 * (spec/ledger-3.sql): only the seats ending between u.as_of and ?2 are
 * counted. */
#define USED_AT_2                                                                                  \
	"CASE WHEN u.entitlement_id IS NULL THEN"                                                  \
	" (SELECT count(*) FROM licenses x WHERE x.entitlement_id = e.id AND x.expires > ?2"       \
	"  AND NOT EXISTS (SELECT 1 FROM license_ends d WHERE d.license_id = x.license_id"         \
	"  AND d.ended <= ?2))"                                                                    \
	" WHEN ?2 >= u.as_of THEN u.active - " SEAT_ENDS_IN("u.as_of", "?2")                       \
	" ELSE u.active + " SEAT_ENDS_IN("?2", "u.as_of") " END"

int klic_ledger_usage_refresh(struct klic_ledger *l, const char *product, int64_t now)
{
	struct klic_stmt *st = NULL;
	int r;

	if ((r = klic_ledger_stmt(
		 l, &st,
		 "INSERT INTO entitlement_usage(entitlement_id, as_of, active) "
		 "SELECT e.id, CAST(?2 AS BIGINT), " USED_AT_2 " FROM entitlements e"
		 " LEFT JOIN entitlement_usage u ON u.entitlement_id = e.id"
		 " WHERE e.product = ?1 ON CONFLICT(entitlement_id) DO UPDATE"
		 " SET as_of = excluded.as_of, active = excluded.active")) != 0)
		return r;
	klic_db_bind_text(st, 1, product, -1);
	klic_db_bind_int64(st, 2, now);
	r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "usage refresh");
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_usage_verify(struct klic_ledger *l, int64_t *rows)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	*rows = 0;
	if ((r = klic_ledger_stmt(
		 l, &st,
		 "SELECT u.entitlement_id, u.as_of, u.active,"
		 " (SELECT count(*) FROM licenses x WHERE x.entitlement_id = u.entitlement_id"
		 "  AND x.expires > u.as_of AND NOT EXISTS (SELECT 1 FROM license_ends d"
		 "  WHERE d.license_id = x.license_id AND d.ended <= u.as_of))"
		 " FROM entitlement_usage u ORDER BY 1")) != 0)
		return r;
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		if (klic_db_col_int64(st, 2) != klic_db_col_int64(st, 3)) {
			r = klic_error_set(
			    KLIC_ERR_LEDGER,
			    "entitlement %lld: %lld seats counted in use at %lld, the "
			    "licenses say %lld",
			    (long long)klic_db_col_int64(st, 0),
			    (long long)klic_db_col_int64(st, 2),
			    (long long)klic_db_col_int64(st, 1),
			    (long long)klic_db_col_int64(st, 3));
			goto out;
		}
		(*rows)++;
	}
	r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "usage verify");
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_entitlements(struct klic_ledger *l, struct klic_entitlement **out, size_t *n,
			     const char *product, int64_t now)
{
	struct klic_stmt *st = NULL;
	struct klic_entitlement *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int r, rc;

	*out = NULL;
	*n = 0;
	if ((r = klic_ledger_stmt(
		 l, &st,
		 "SELECT e.id, e.product, e.model, e.billing, e.seats, e.until, e.ref, "
		 "e.created, " USED_AT_2 ", e.kent_id, e.valid_from, e.valid_until"
		 " FROM entitlements e LEFT JOIN entitlement_usage u ON u.entitlement_id = e.id"
		 " WHERE CAST(?1 AS TEXT) IS NULL OR e.product = ?1 ORDER BY e.id")) != 0)
		return r;
	if (product != NULL)
		klic_db_bind_text(st, 1, product, -1);
	klic_db_bind_int64(st, 2, now);
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		struct klic_entitlement *e;
		int64_t day, seats = klic_db_col_int64(st, 4),
			     used = klic_db_col_int64(st, 8);
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			if (ncap > SIZE_MAX / sizeof *v) {
				r = klic_error_set(KLIC_ERR_NOMEM, "entitlements");
				goto out;
			}
			nv = realloc(v, ncap * sizeof *v);
			if (nv == NULL) {
				r = klic_error_set(KLIC_ERR_NOMEM, "entitlements");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		e = &v[cnt];
		memset(e, 0, sizeof *e);
		e->id = klic_db_col_int64(st, 0);
		klic_ledger_col_copy(e->product, sizeof e->product, st, 1);
		klic_ledger_col_copy(e->model, sizeof e->model, st, 2);
		klic_ledger_col_copy(e->billing, sizeof e->billing, st, 3);
		klic_ledger_col_copy(e->until, sizeof e->until, st, 5);
		klic_ledger_col_copy(e->ref, sizeof e->ref, st, 6);
		klic_ledger_col_copy(e->created, sizeof e->created, st, 7);
		klic_ledger_col_copy(e->kent_id, sizeof e->kent_id, st, 9);
		if (seats < 1 || seats > 1000000 || used < 0 || used > 0x7fffffff ||
		    klic_date_parse(&day, e->until) != 0 ||
		    (e->kent_id[0] != '\0' &&
		     (strlen(e->kent_id) != 32 || klic_db_col_is_null(st, 10) ||
		      klic_db_col_is_null(st, 11)))) {
			r = klic_error_set(KLIC_ERR_LEDGER, "entitlement %lld: bad row",
					   (long long)e->id);
			goto out;
		}
		e->seats = (unsigned)seats;
		e->used = (unsigned)used;
		if (e->kent_id[0] != '\0') {
			/* the vendor's exact period */
			e->valid_from = klic_db_col_int64(st, 10);
			e->until_end = klic_db_col_int64(st, 11);
		} else {
			/* a hand-typed row of schema 1-3 */
			e->until_end = day + 86400;
		}
		cnt++;
	}
	if (rc != KLIC_DB_DONE) {
		r = klic_ledger_err(l, "entitlements");
		goto out;
	}
	*out = v;
	v = NULL; /* transferred */
	*n = cnt;
	r = 0;
out:
	free(v);
	klic_ledger_stmt_done(l, st);
	return r;
}

/* ---- a shared ledger: this admin's entitlements ------------------------------- */

/* 1 when the .kent of entitlement e names fpr in org_keys, 0 when not. */
static int names_issuer(struct klic_ledger *l, const struct klic_entitlement *e, const char *fpr)
{
	struct klic_lic_parts parts;
	struct klic_kent k;
	char kent_id[33], *text;
	size_t len = 0;
	int r;

	if ((text = malloc(KLIC_MAX_KENT_BYTES + 1)) == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "entitlement");
	r = klic_ledger_entitlement_kent(l, kent_id, text, KLIC_MAX_KENT_BYTES + 1, &len, e->id);
	if (r == 0 && (klic_license_split(&parts, (const uint8_t *)text, len) != 0 ||
		       klic_kent_body_parse(&k, parts.body, parts.body_len) != 0))
		r = klic_error_set(KLIC_ERR_LEDGER, "entitlement %lld: its .kent does not parse",
				   (long long)e->id);
	if (r == 0)
		r = klic_kent_names_key(&k, fpr) >= 0;
	free(text);
	return r;
}

int klic_ledger_keep_mine(struct klic_ledger *l, struct klic_entitlement *ents, size_t *n)
{
	const char *fpr = klic_ledger_issuer(l);
	size_t kept = 0;
	int r;

	if (!klic_ledger_is_pg(l) || fpr[0] == '\0')
		return 0;
	for (size_t i = 0; i < *n; i++) {
		if (ents[i].kent_id[0] != '\0') { /* hand-typed rows back nothing anyway */
			if ((r = names_issuer(l, &ents[i], fpr)) < 0 || r > 1)
				return r;
			if (r == 0)
				continue;
		}
		ents[kept++] = ents[i];
	}
	*n = kept;
	return 0;
}
