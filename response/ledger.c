/* klic response/ — the ledger: SQLite, versioned schema (spec/ledger.sql),
 * entitlements, members, the hash-chained audit log, the license list. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger_rows.h"
#include "response_int.h"
#include "klic_usage.h"

/* Prepared statements kept per connection (klic_ledger_stmt): preparing
 * is about as costly as running the statements of a request (the
 * triggers on licenses and requests are compiled into each INSERT). */
#define LEDGER_STMT_CACHE 32

struct klic_ledger {
	struct klic_db *db;
	char issuer_fpr[KLIC_FPR_HEX_LEN + 1]; /* klic_ledger_set_issuer, "" unset */
	struct {
		const char *sql; /* the caller's text (its address is the key) */
		struct klic_stmt *st;
		int busy;
	} cache[LEDGER_STMT_CACHE];
	unsigned ncache;
};

/* Migration k brings the schema version from k-1 to k.  Append, never
 * edit.  SQLite runs every step from the ledger's version; PostgreSQL
 * starts at spec/ledger-pg.sql (the schema at version PG_BASE) and runs
 * the pg steps after it (spec/LEDGER.md). */
static const struct {
	int version;
	const char *sql;
	const char *pg_sql; /* NULL: below PG_BASE (in spec/ledger-pg.sql) */
} migrations[] = {
    {1, klic_ledger_sql, NULL},  {2, klic_ledger2_sql, NULL}, {3, klic_ledger3_sql, NULL},
    {4, klic_ledger4_sql, NULL}, {5, klic_ledger5_sql, NULL}, {6, klic_ledger6_sql, NULL},
    {7, klic_ledger7_sql, NULL}, {8, klic_ledger8_sql, klic_ledger_pg8_sql},
    {9, klic_ledger9_sql, klic_ledger_pg9_sql},  {10, klic_ledger10_sql, klic_ledger_pg10_sql},
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])
/* The schema version spec/ledger-pg.sql creates. */
#define PG_BASE 7

static const char zero_hash[KLIC_SHA256_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct klic_db *klic_ledger_db(struct klic_ledger *l)
{
	return l->db;
}

const char *klic_ledger_name(const struct klic_ledger *l)
{
	return klic_db_name(l->db);
}

int klic_ledger_is_pg(const struct klic_ledger *l)
{
	return klic_db_engine(l->db) == KLIC_DB_PG;
}

int klic_ledger_where(char *out, size_t outsz, const char *state)
{
	const char *env = getenv(KLIC_LEDGER_ENV);
	int n;

	if (env != NULL && env[0] != '\0')
		n = snprintf(out, outsz, "%s", env);
	else
		n = snprintf(out, outsz, "%s/%s", state, KLIC_LEDGER_FILE);
	if (n < 0 || (size_t)n >= outsz)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "ledger name too long");
	return 0;
}

void klic_ledger_display(char *out, size_t outsz, const char *where)
{
	char d[512];

	if (!klic_db_is_pg(where)) {
		snprintf(out, outsz, "%s", where);
		return;
	}
	klic_db_display(d, sizeof d, where);
	snprintf(out, outsz, "ledger %s", d);
}

int klic_ledger_err(struct klic_ledger *l, const char *what)
{
	if (l == NULL || l->db == NULL)
		return klic_error_set(KLIC_ERR_LEDGER, "%s: no database", what);
	return klic_db_err(l->db, what);
}

void klic_ledger_set_issuer(struct klic_ledger *l, const char *fpr)
{
	snprintf(l->issuer_fpr, sizeof l->issuer_fpr, "%s", fpr != NULL ? fpr : "");
}

const char *klic_ledger_issuer(const struct klic_ledger *l)
{
	return l->issuer_fpr;
}

int64_t klic_ledger_changes(struct klic_ledger *l)
{
	return klic_db_changes(l->db);
}

int klic_ledger_exec(struct klic_ledger *l, const char *sql)
{
	return klic_db_exec(l->db, sql) == 0 ? 0 : klic_db_err(l->db, NULL);
}

int klic_ledger_stmt(struct klic_ledger *l, struct klic_stmt **st, const char *sql)
{
	unsigned i;

	for (i = 0; i < l->ncache; i++) {
		if (l->cache[i].sql == sql && !l->cache[i].busy &&
		    strcmp(klic_db_sql(l->cache[i].st), sql) == 0) {
			l->cache[i].busy = 1;
			*st = l->cache[i].st;
			return 0;
		}
	}
	if (klic_db_prepare(l->db, st, sql) != 0) {
		*st = NULL;
		return klic_ledger_err(l, "prepare");
	}
	/* a free slot, else the first idle one (its statement finalized):
	 * SQL built at run time cannot fill the cache for good */
	i = l->ncache;
	if (i == LEDGER_STMT_CACHE) {
		for (i = 0; i < LEDGER_STMT_CACHE && l->cache[i].busy; i++)
			;
		if (i == LEDGER_STMT_CACHE)
			return 0; /* all in use: this one is finalized when done */
		klic_db_finalize(l->cache[i].st);
	} else {
		l->ncache++;
	}
	l->cache[i].sql = sql;
	l->cache[i].st = *st;
	l->cache[i].busy = 1;
	return 0;
}

void klic_ledger_stmt_done(struct klic_ledger *l, struct klic_stmt *st)
{
	if (st == NULL)
		return;
	for (unsigned i = 0; i < l->ncache; i++) {
		if (l->cache[i].st == st) {
			/* no lock, no binding kept past the caller's buffers */
			klic_db_reset(st);
			l->cache[i].busy = 0;
			return;
		}
	}
	klic_db_finalize(st); /* one the cache had no room for */
}

int klic_ledger_begin(struct klic_ledger *l)
{
	return klic_db_begin_write(l->db) == 0 ? 0 : klic_ledger_err(l, "begin transaction");
}

int klic_ledger_begin_read(struct klic_ledger *l)
{
	return klic_db_begin_read(l->db) == 0 ? 0 : klic_ledger_err(l, "begin transaction");
}

int klic_ledger_commit(struct klic_ledger *l)
{
	int r = klic_db_commit(l->db) == 0 ? 0 : klic_ledger_err(l, "commit");

	if (r != 0)
		klic_ledger_rollback(l);
	return r;
}

void klic_ledger_rollback(struct klic_ledger *l)
{
	klic_db_rollback(l->db);
}

void klic_ledger_read_end(struct klic_ledger *l)
{
	klic_db_rollback(l->db); /* nothing was written */
}

int klic_ledger_version(struct klic_ledger *l, int *out)
{
	int other;

	return klic_db_version(l->db, out, &other) == 0 ? 0 : klic_ledger_err(l, "user_version");
}

static int migrate(struct klic_ledger *l, int create)
{
	int pg = klic_ledger_is_pg(l);
	int v, other, r;
	size_t i;

	/* a shared ledger of this version: no need to wait for the writer */
	if (pg && klic_db_version(l->db, &v, &other) == 0 && v == KLIC_LEDGER_VERSION)
		return 0;
	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if (klic_db_version(l->db, &v, &other) != 0) {
		r = klic_ledger_err(l, "user_version");
		goto out;
	}
	if (v > KLIC_LEDGER_VERSION) {
		r = klic_error_set(
		    KLIC_ERR_LEDGER,
		    "ledger schema version %d is newer than this klic-admin supports (%d)", v,
		    KLIC_LEDGER_VERSION);
		goto out;
	}
	if (v == 0 && !create) {
		r = klic_error_set(KLIC_ERR_LEDGER, "not a klic ledger (schema version 0)");
		goto out;
	}
	if (v == 0 && other) {
		r = klic_error_set(KLIC_ERR_LEDGER,
				   "the database is not empty and holds no klic ledger");
		goto out;
	}
	if (pg && v == 0) {
		if ((r = klic_ledger_exec(l, klic_ledger_pg_sql)) != 0)
			goto out;
		v = PG_BASE;
		if (klic_db_set_version(l->db, v) != 0) {
			r = klic_ledger_err(l, "ledger_version");
			goto out;
		}
	}
	for (i = 0; i < N_MIGRATIONS; i++) {
		const char *sql = pg ? migrations[i].pg_sql : migrations[i].sql;
		if (migrations[i].version <= v)
			continue;
		if (sql == NULL) {
			r = klic_error_set(KLIC_ERR_INTERNAL, "no migration %d for this engine",
					   migrations[i].version);
			goto out;
		}
		if ((r = klic_ledger_exec(l, sql)) != 0)
			goto out;
		if (klic_db_set_version(l->db, migrations[i].version) != 0) {
			r = klic_ledger_err(l, "user_version");
			goto out;
		}
		v = migrations[i].version;
	}
	r = klic_ledger_commit(l);
	return r;
out:
	klic_ledger_rollback(l);
	return r;
}

/* Re-record the current detail prefixed with the ledger's name (copy
 * first: the detail buffer is the destination). */
static int prefix_path(int code, const char *path)
{
	char d[512];
	snprintf(d, sizeof d, "%s", klic_error_detail());
	return klic_error_set(code, "%s: %s", path, d);
}

int klic_ledger_open(struct klic_ledger **out, const char *path, int flags)
{
	struct klic_ledger *l = NULL;
	int create = (flags & KLIC_LEDGER_CREATE) != 0;
	int r = KLIC_ERR_INTERNAL;

	*out = NULL;
	l = calloc(1, sizeof *l);
	if (l == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "ledger");
	if ((r = klic_db_open(&l->db, path, create)) != 0)
		goto out;
	/* journal_mode returns a row; exec ignores it.  A non-database file
	 * fails here with "file is not a database". */
	if (klic_ledger_is_pg(l)) {
		/* the caller names a PostgreSQL ledger (klic_ledger_display) */
		if ((r = migrate(l, create)) != 0)
			goto out;
		*out = l;
		return 0;
	}
	if (((r = klic_ledger_exec(l, "PRAGMA journal_mode=WAL")) != 0 ||
	     (r = klic_ledger_exec(l, "PRAGMA foreign_keys=ON")) != 0 ||
	     (r = klic_ledger_exec(l, "PRAGMA synchronous=FULL")) != 0 ||
	     /* the interior pages of a large ledger's indexes stay in memory */
	     (r = klic_ledger_exec(l, "PRAGMA cache_size=-8192")) != 0)) {
		r = prefix_path(r, klic_ledger_name(l));
		goto out;
	}
	if ((r = migrate(l, create)) != 0) {
		r = prefix_path(r, klic_ledger_name(l));
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	r = 0;
out:
	klic_ledger_free(l);
	return r;
}

void klic_ledger_defer_checkpoints(struct klic_ledger *l)
{
	klic_db_defer_checkpoints(l->db);
}

void klic_ledger_checkpoint(struct klic_ledger *l)
{
	klic_db_checkpoint(l->db);
}

int klic_ledger_lost(struct klic_ledger *l)
{
	return l != NULL && klic_db_lost(l->db);
}

int klic_ledger_revive(struct klic_ledger *l)
{
	char d[512];
	int r = 0, v = 0;

	/* a transaction left open (a caller's bug) would fail every probe */
	if (!klic_ledger_lost(l) && klic_db_in_transaction(l->db))
		klic_db_rollback(l->db);
	/* a server that went away since the last statement is noticed by the
	 * next one: one round trip (a Unix socket: well under a millisecond) */
	if (!klic_ledger_lost(l) && klic_db_exec(l->db, "SELECT 1") == 0)
		return 0;
	if (!klic_ledger_lost(l)) {
		r = klic_ledger_err(l, "probe");
		goto out;
	}
	for (unsigned i = 0; i < l->ncache; i++)
		if (l->cache[i].busy) { /* in a caller's hands: cannot be replaced */
			r = klic_error_set(KLIC_ERR_INTERNAL, "revive with a statement in use");
			goto out;
		}
	for (unsigned i = 0; i < l->ncache; i++)
		klic_db_finalize(l->cache[i].st);
	l->ncache = 0;
	if ((r = klic_db_reconnect(l->db)) != 0)
		goto out;
	/* the database may have been restored from a backup meanwhile */
	if ((r = klic_ledger_version(l, &v)) == 0 && v != KLIC_LEDGER_VERSION)
		r = klic_error_set(KLIC_ERR_LEDGER, "schema version %d after reconnecting, expected %d",
				   v, KLIC_LEDGER_VERSION);
out:
	if (r != 0) {
		snprintf(d, sizeof d, "%s", klic_error_detail());
		r = klic_error_set(r, "ledger %s: %s", klic_ledger_name(l), d);
	}
	return r;
}

void klic_ledger_free(struct klic_ledger *l)
{
	if (l == NULL)
		return;
	for (unsigned i = 0; i < l->ncache; i++)
		klic_db_finalize(l->cache[i].st);
	klic_db_close(l->db);
	free(l);
}

int klic_ledger_meta_get(struct klic_ledger *l, const char *key, char *out, size_t outsz)
{
	struct klic_stmt *st = NULL;
	const char *v;
	int r, rc;

	if ((r = klic_ledger_stmt(l, &st, "SELECT value FROM meta WHERE key = ?1")) != 0)
		return r;
	klic_db_bind_text(st, 1, key, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_DONE) {
		r = klic_error_set(KLIC_ERR_NOT_FOUND, "ledger meta %s missing", key);
		goto out;
	}
	if (rc != KLIC_DB_ROW) {
		r = klic_ledger_err(l, "meta");
		goto out;
	}
	v = klic_db_col_text(st, 0);
	if (v == NULL || strlen(v) >= outsz) {
		r = klic_error_set(KLIC_ERR_LEDGER, "ledger meta %s: bad value", key);
		goto out;
	}
	memcpy(out, v, strlen(v) + 1);
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_meta_set(struct klic_ledger *l, const char *key, const char *value)
{
	struct klic_stmt *st = NULL;
	int r;

	if ((r = klic_ledger_stmt(l, &st,
				  "INSERT INTO meta(key, value) VALUES (?1, ?2)"
				  " ON CONFLICT(key) DO UPDATE SET value = excluded.value")) != 0)
		return r;
	klic_db_bind_text(st, 1, key, -1);
	klic_db_bind_text(st, 2, value, -1);
	r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "meta");
	klic_ledger_stmt_done(l, st);
	return r;
}

/* ---- audit ------------------------------------------------------------ */

/* hash = hex(SHA-256(prev_hash || seq TAB at TAB event TAB digest TAB detail)) */
static int audit_hash(char out[KLIC_SHA256_HEX_LEN + 1], const char *prev, int64_t seq,
		      const char *at, const char *event, const char *digest, const char *detail)
{
	return klic_audit_hash(out, prev, seq, at, event, digest, detail);
}

int klic_ledger_audit_append(struct klic_ledger *l, int64_t now, const char *event,
			     const char *digest, const char *detail)
{
	struct klic_stmt *st = NULL;
	char prev[KLIC_SHA256_HEX_LEN + 1], hash[KLIC_SHA256_HEX_LEN + 1], at[KLIC_TIME_LEN + 1];
	char dg[KLIC_SHA256_HEX_LEN + 1], dt[1024];
	int64_t seq = 1;
	int r, rc;

	klic_printable_copy(dg, sizeof dg, digest != NULL ? digest : "", SIZE_MAX);
	klic_printable_copy(dt, sizeof dt, detail != NULL ? detail : "", SIZE_MAX);
	if ((r = klic_time_format(at, now)) != 0)
		return r;
	memcpy(prev, zero_hash, sizeof prev);
	if ((r = klic_ledger_stmt(l, &st,
				  "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")) != 0)
		return r;
	rc = klic_db_step(st);
	if (rc == KLIC_DB_ROW) {
		const char *h = klic_db_col_text(st, 1);
		seq = klic_db_col_int64(st, 0) + 1;
		if (h == NULL || strlen(h) != KLIC_SHA256_HEX_LEN) {
			r = klic_error_set(KLIC_ERR_LEDGER, "audit row %" PRId64 ": bad hash",
					   seq - 1);
			goto out;
		}
		memcpy(prev, h, sizeof prev);
	} else if (rc != KLIC_DB_DONE) {
		r = klic_ledger_err(l, "audit");
		goto out;
	}
	klic_ledger_stmt_done(l, st);
	st = NULL;
	if ((r = audit_hash(hash, prev, seq, at, event, dg, dt)) != 0)
		goto out;
	if ((r = klic_ledger_stmt(
		 l, &st,
		 "INSERT INTO audit(seq, at, event, digest, detail, prev_hash, hash) "
		 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")) != 0)
		goto out;
	klic_db_bind_int64(st, 1, seq);
	klic_db_bind_text(st, 2, at, -1);
	klic_db_bind_text(st, 3, event, -1);
	klic_db_bind_text(st, 4, dg, -1);
	klic_db_bind_text(st, 5, dt, -1);
	klic_db_bind_text(st, 6, prev, -1);
	klic_db_bind_text(st, 7, hash, -1);
	r = klic_db_step(st) == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "audit insert");
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

const char *klic_ledger_col_text(struct klic_stmt *st, int i)
{
	const char *t = klic_db_col_text(st, i);
	return t != NULL ? (const char *)t : "";
}

void klic_ledger_col_copy(char *dst, size_t dstsz, struct klic_stmt *st, int i)
{
	const char *src = klic_ledger_col_text(st, i);
	size_t n = strlen(src);

	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int klic_ledger_audit_verify(struct klic_ledger *l, int64_t *rows, int64_t *bad_seq)
{
	struct klic_stmt *st = NULL;
	char prev[KLIC_SHA256_HEX_LEN + 1], h[KLIC_SHA256_HEX_LEN + 1];
	int64_t expect = 1;
	int r, rc;

	*rows = 0;
	*bad_seq = 0;
	memcpy(prev, zero_hash, sizeof prev);
	if ((r = klic_ledger_stmt(
		 l, &st,
		 "SELECT seq, at, event, digest, detail, prev_hash, hash FROM audit "
		 "ORDER BY seq")) != 0)
		return r;
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		int64_t seq = klic_db_col_int64(st, 0);
		if (seq != expect) {
			*bad_seq = expect;
			r = klic_error_set(KLIC_ERR_LEDGER, "audit row %" PRId64 " is missing",
					   expect);
			goto out;
		}
		if (strcmp(klic_ledger_col_text(st, 5), prev) != 0) {
			*bad_seq = seq;
			r = klic_error_set(KLIC_ERR_LEDGER,
					   "audit row %" PRId64 ": prev_hash does not chain", seq);
			goto out;
		}
		if ((r = audit_hash(h, prev, seq, klic_ledger_col_text(st, 1),
				    klic_ledger_col_text(st, 2), klic_ledger_col_text(st, 3),
				    klic_ledger_col_text(st, 4))) != 0)
			goto out;
		if (strcmp(h, klic_ledger_col_text(st, 6)) != 0) {
			*bad_seq = seq;
			r = klic_error_set(KLIC_ERR_LEDGER,
					   "audit row %" PRId64 ": hash mismatch (row edited)",
					   seq);
			goto out;
		}
		memcpy(prev, h, sizeof prev);
		expect++;
	}
	if (rc != KLIC_DB_DONE) {
		r = klic_ledger_err(l, "audit");
		goto out;
	}
	*rows = expect - 1;
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

/* ---- members --------------------------------------------------------------- */

int klic_ledger_member_add(struct klic_ledger *l, int *added, const char *fpr, const char *name,
			   const char *email, int64_t now)
{
	struct klic_stmt *st = NULL;
	char at[KLIC_TIME_LEN + 1], detail[600], n_s[KLIC_MAX_UID_LEN + 1],
	    e_s[KLIC_MAX_UID_LEN + 1];
	int r;

	*added = 0;
	if (klic_fpr_check(fpr) != 0)
		return klic_error_set(KLIC_ERR_INVALID_ARG, "bad fingerprint");
	/* a UTF-8 name is kept as it is (OpenPGP user IDs are UTF-8); anything
	 * else is kept as its printable copy */
	size_t bad;
	if (strlen(name) < sizeof n_s && klic_utf8_text_check(name, strlen(name), &bad) == 0)
		memcpy(n_s, name, strlen(name) + 1);
	else
		klic_printable_copy(n_s, sizeof n_s, name, SIZE_MAX);
	klic_printable_copy(e_s, sizeof e_s, email, SIZE_MAX);
	if ((r = klic_time_format(at, now)) != 0)
		return r;
	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if ((r = klic_ledger_stmt(l, &st,
				  "INSERT INTO members(fingerprint, name, email, added) "
				  "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")) != 0)
		goto out;
	klic_db_bind_text(st, 1, fpr, -1);
	klic_db_bind_text(st, 2, n_s, -1);
	klic_db_bind_text(st, 3, e_s, -1);
	klic_db_bind_text(st, 4, at, -1);
	if (klic_db_step(st) != KLIC_DB_DONE) {
		r = klic_ledger_err(l, "member insert");
		goto out;
	}
	if (klic_ledger_changes(l) == 1) {
		*added = 1;
		if (snprintf(detail, sizeof detail, "%s %s <%s>", fpr, n_s, e_s) >=
		    (int)sizeof detail) {
			r = klic_error_set(KLIC_ERR_INTERNAL, "audit detail");
			goto out;
		}
		if ((r = klic_ledger_audit_append(l, now, "member-add", "", detail)) != 0)
			goto out;
	}
	klic_ledger_stmt_done(l, st);
	st = NULL;
	return klic_ledger_commit(l);
out:
	klic_ledger_stmt_done(l, st);
	klic_ledger_rollback(l);
	return r;
}

int klic_ledger_is_member(struct klic_ledger *l, const char *fpr)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	if ((r = klic_ledger_stmt(l, &st, "SELECT 1 FROM members WHERE fingerprint = ?1")) != 0)
		return r;
	klic_db_bind_text(st, 1, fpr, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_ROW)
		r = 0;
	else if (rc == KLIC_DB_DONE)
		r = klic_error_set(KLIC_ERR_NOT_FOUND, "%s is not a registered member", fpr);
	else
		r = klic_ledger_err(l, "members");
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_member_name(struct klic_ledger *l, char *uid, size_t uidsz, const char *fpr)
{
	struct klic_stmt *st = NULL;
	int r, rc;

	uid[0] = '\0';
	if ((r = klic_ledger_stmt(l, &st,
				  "SELECT name, email FROM members WHERE fingerprint = ?1")) != 0)
		return r;
	klic_db_bind_text(st, 1, fpr, -1);
	rc = klic_db_step(st);
	if (rc == KLIC_DB_ROW) {
		const char *name = klic_ledger_col_text(st, 0),
			   *email = klic_ledger_col_text(st, 1);
		if (email != NULL && email[0] != '\0')
			snprintf(uid, uidsz, "%s <%s>", name != NULL ? name : "", email);
		else
			snprintf(uid, uidsz, "%s", name != NULL ? name : "");
		r = 0;
	} else if (rc == KLIC_DB_DONE) {
		r = 0;
	} else {
		r = klic_ledger_err(l, "members");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_members(struct klic_ledger *l, int (*fn)(void *ctx, const char *fpr), void *ctx)
{
	struct klic_stmt *st = NULL;
	char fpr[KLIC_FPR_HEX_LEN + 1];
	int r, rc;

	if ((r = klic_ledger_stmt(l, &st, "SELECT fingerprint FROM members ORDER BY 1")) != 0)
		return r;
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		klic_ledger_col_copy(fpr, sizeof fpr, st, 0);
		if ((r = fn(ctx, fpr)) != 0)
			goto out;
	}
	r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "members");
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

/* ---- licenses ---------------------------------------------------------------- */

int klic_license_id_new(char out[33])
{
	struct timespec ts;
	uint8_t raw[16];
	uint64_t ms;
	int r;

	out[0] = '\0';
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return klic_error_set(KLIC_ERR_IO, "clock_gettime: %s", strerror(errno));
	if (ts.tv_sec < 0 || (uint64_t)ts.tv_sec > UINT64_C(0xffffffffffff) / 1000 - 1)
		return klic_error_set(KLIC_ERR_INTERNAL, "license ID: clock out of range");
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (int i = 0; i < 6; i++)
		raw[i] = (uint8_t)(ms >> (8 * (5 - i)));
	if ((r = klic_random(raw + 6, sizeof raw - 6)) != 0)
		return r;
	klic_hex(out, raw, sizeof raw);
	return 0;
}

/* ---- list ------------------------------------------------------------------- */

void klic_ledger_license_row_read(struct klic_license_row *row, struct klic_stmt *st)
{
	memset(row, 0, sizeof *row);
	klic_ledger_col_copy(row->license_id, sizeof row->license_id, st, 0);
	klic_ledger_col_copy(row->product, sizeof row->product, st, 1);
	klic_ledger_col_copy(row->machine_id, sizeof row->machine_id, st, 2);
	klic_ledger_col_copy(row->member_fpr, sizeof row->member_fpr, st, 3);
	klic_ledger_col_copy(row->request_digest, sizeof row->request_digest, st, 4);
	row->seat = (unsigned)(int)klic_db_col_int64(st, 5);
	row->issued = klic_db_col_int64(st, 6);
	row->expires = klic_db_col_int64(st, 7);
	row->entitlement_id = klic_db_col_int64(st, 8);
	klic_ledger_col_copy(row->file, sizeof row->file, st, 9);
	row->ended = klic_db_col_int64(st, 10);
	klic_ledger_col_copy(row->end_reason, sizeof row->end_reason, st, 11);
	klic_ledger_col_copy(row->issuer_fpr, sizeof row->issuer_fpr, st, 12);
}

int klic_ledger_list(struct klic_ledger *l, const struct klic_list_filter *f,
		     klic_license_row_fn fn, void *ctx)
{
	struct klic_stmt *st = NULL;
	struct klic_license_row row;
	int r, rc;

	if ((r = klic_ledger_stmt(
		 l, &st,
		 "SELECT " KLIC_LICENSE_COLS " FROM licenses x"
		 " LEFT JOIN license_ends d ON d.license_id = x.license_id"
		 " WHERE (CAST(?1 AS TEXT) IS NULL OR product = ?1)"
		 " AND (CAST(?2 AS TEXT) IS NULL OR machine_id = ?2)"
		 " AND (CAST(?3 AS TEXT) IS NULL OR member_fpr = ?3)"
		 " AND (?4 = 0 OR (?4 = 1) = (expires > ?5 AND (d.ended IS NULL OR d.ended > ?5)))"
		 " ORDER BY issued, request_digest, seat")) != 0)
		return r;
	if (f->product != NULL)
		klic_db_bind_text(st, 1, f->product, -1);
	if (f->machine_id != NULL)
		klic_db_bind_text(st, 2, f->machine_id, -1);
	if (f->member_fpr != NULL)
		klic_db_bind_text(st, 3, f->member_fpr, -1);
	klic_db_bind_int64(st, 4, f->active);
	klic_db_bind_int64(st, 5, f->now);
	while ((rc = klic_db_step(st)) == KLIC_DB_ROW) {
		klic_ledger_license_row_read(&row, st);
		if ((r = fn(ctx, &row)) != 0)
			goto out;
	}
	r = rc == KLIC_DB_DONE ? 0 : klic_ledger_err(l, "list");
out:
	klic_ledger_stmt_done(l, st);
	return r;
}
