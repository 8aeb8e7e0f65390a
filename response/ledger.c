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

#include "response_int.h"
#include "klic_usage.h"

/* Prepared statements kept per connection (klic_ledger_stmt): preparing
 * is about as costly as running the statements of a request (the
 * triggers on licenses and requests are compiled into each INSERT). */
#define LEDGER_STMT_CACHE 32

struct klic_ledger {
	sqlite3 *db;
	int wal_frames; /* frames in the WAL after this connection's last commit */
	struct {
		const char *sql; /* the caller's text (its address is the key) */
		sqlite3_stmt *st;
		int busy;
	} cache[LEDGER_STMT_CACHE];
	unsigned ncache;
};

/* SQLite's own autocheckpoint threshold (SQLITE_DEFAULT_WAL_AUTOCHECKPOINT). */
#define WAL_CHECKPOINT_FRAMES 1000

/* Migration k brings user_version from k-1 to k.  Append, never edit. */
static const struct {
	int version;
	const char *sql;
} migrations[] = {
    {1, klic_ledger_sql},  {2, klic_ledger2_sql}, {3, klic_ledger3_sql},
    {4, klic_ledger4_sql}, {5, klic_ledger5_sql}, {6, klic_ledger6_sql},
    {7, klic_ledger7_sql}, {8, klic_ledger8_sql}, {9, klic_ledger9_sql},
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

static const char zero_hash[KLIC_SHA256_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

sqlite3 *klic_ledger_db(struct klic_ledger *l)
{
	return l->db;
}

/* Our code for a SQLite result: the disk (full, I/O error, cannot open a
 * file) is KLIC_ERR_IO (exit 3); anything else is the ledger's. */
static int ledger_code(int ec)
{
	switch (ec & 0xff) {
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
		return KLIC_ERR_IO;
	default:
		return KLIC_ERR_LEDGER;
	}
}

int klic_ledger_err(struct klic_ledger *l, const char *what)
{
	int ec = l != NULL && l->db != NULL ? sqlite3_extended_errcode(l->db) : 0;
	const char *msg = l != NULL && l->db != NULL ? sqlite3_errmsg(l->db) : "no database";

	if ((ec & 0xff) == SQLITE_BUSY || (ec & 0xff) == SQLITE_LOCKED)
		return klic_error_set(KLIC_ERR_LEDGER,
				      "%s: ledger is busy (another klic-admin?): %s", what, msg);
	return klic_error_set(ledger_code(ec), "%s: %s", what, msg);
}

int klic_ledger_exec(struct klic_ledger *l, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int r = klic_error_set(ledger_code(sqlite3_extended_errcode(l->db)), "%s",
				       msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

int klic_ledger_stmt(struct klic_ledger *l, sqlite3_stmt **st, const char *sql)
{
	unsigned i;

	for (i = 0; i < l->ncache; i++) {
		if (l->cache[i].sql == sql && !l->cache[i].busy &&
		    strcmp(sqlite3_sql(l->cache[i].st), sql) == 0) {
			l->cache[i].busy = 1;
			*st = l->cache[i].st;
			return 0;
		}
	}
	if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
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
		sqlite3_finalize(l->cache[i].st);
	} else {
		l->ncache++;
	}
	l->cache[i].sql = sql;
	l->cache[i].st = *st;
	l->cache[i].busy = 1;
	return 0;
}

void klic_ledger_stmt_done(struct klic_ledger *l, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (unsigned i = 0; i < l->ncache; i++) {
		if (l->cache[i].st == st) {
			/* no lock, no binding kept past the caller's buffers */
			(void)sqlite3_reset(st);
			(void)sqlite3_clear_bindings(st);
			l->cache[i].busy = 0;
			return;
		}
	}
	sqlite3_finalize(st); /* one the cache had no room for */
}

/* Run a cached statement that returns no rows: 0, or the error named
 * what (read before the statement is reset). */
static int step_once(struct klic_ledger *l, const char *sql, const char *what)
{
	sqlite3_stmt *st;
	int r;

	if ((r = klic_ledger_stmt(l, &st, sql)) != 0)
		return r;
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : klic_ledger_err(l, what);
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_begin(struct klic_ledger *l)
{
	return step_once(l, "BEGIN IMMEDIATE", "begin transaction");
}

int klic_ledger_commit(struct klic_ledger *l)
{
	int r = step_once(l, "COMMIT", "commit");

	if (r != 0)
		klic_ledger_rollback(l);
	return r;
}

void klic_ledger_rollback(struct klic_ledger *l)
{
	if (!sqlite3_get_autocommit(l->db))
		(void)sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

int klic_ledger_version(struct klic_ledger *l, int *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = klic_ledger_stmt(l, &st, "PRAGMA user_version")) != 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = klic_ledger_err(l, "user_version");
		goto out;
	}
	*out = sqlite3_column_int(st, 0);
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

static int migrate(struct klic_ledger *l, int create)
{
	char sql[64];
	int v, r;
	size_t i;

	if ((r = klic_ledger_begin(l)) != 0)
		return r;
	if ((r = klic_ledger_version(l, &v)) != 0)
		goto out;
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
	for (i = 0; i < N_MIGRATIONS; i++) {
		if (migrations[i].version <= v)
			continue;
		if ((r = klic_ledger_exec(l, migrations[i].sql)) != 0)
			goto out;
		if (snprintf(sql, sizeof sql, "PRAGMA user_version = %d", migrations[i].version) >=
		    (int)sizeof sql) {
			r = klic_error_set(KLIC_ERR_INTERNAL, "user_version");
			goto out;
		}
		if ((r = klic_ledger_exec(l, sql)) != 0)
			goto out;
		v = migrations[i].version;
	}
	r = klic_ledger_commit(l);
	return r;
out:
	klic_ledger_rollback(l);
	return r;
}

/* Re-record the current detail prefixed with the path (copy first: the
 * detail buffer is the destination). */
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
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
	struct stat st;
	int r = KLIC_ERR_INTERNAL;

	*out = NULL;
	if (!create && stat(path, &st) != 0)
		return klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO,
				      "%s: %s%s", path, strerror(errno),
				      errno == ENOENT ? " (run klic-admin init first)" : "");
	if (create)
		oflags |= SQLITE_OPEN_CREATE;
	l = calloc(1, sizeof *l);
	if (l == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "ledger");
	if (sqlite3_open_v2(path, &l->db, oflags, NULL) != SQLITE_OK) {
		r = klic_error_set(
		    l->db != NULL ? ledger_code(sqlite3_extended_errcode(l->db)) : KLIC_ERR_NOMEM,
		    "%s: %s", path, l->db != NULL ? sqlite3_errmsg(l->db) : "cannot open");
		goto out;
	}
	sqlite3_extended_result_codes(l->db, 1);
	if (sqlite3_busy_timeout(l->db, 10000) != SQLITE_OK) {
		r = klic_ledger_err(l, "busy_timeout");
		goto out;
	}
	/* journal_mode returns a row; exec ignores it.  A non-database file
	 * fails here with "file is not a database". */
	if ((r = klic_ledger_exec(l, "PRAGMA journal_mode=WAL")) != 0 ||
	    (r = klic_ledger_exec(l, "PRAGMA foreign_keys=ON")) != 0 ||
	    (r = klic_ledger_exec(l, "PRAGMA synchronous=FULL")) != 0 ||
	    /* the interior pages of a large ledger's indexes stay in memory */
	    (r = klic_ledger_exec(l, "PRAGMA cache_size=-8192")) != 0) {
		r = prefix_path(r, path);
		goto out;
	}
	if ((r = migrate(l, create)) != 0) {
		r = prefix_path(r, path);
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	r = 0;
out:
	klic_ledger_free(l);
	return r;
}

static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct klic_ledger *l = ctx;

	(void)db;
	(void)name;
	l->wal_frames = frames;
	return SQLITE_OK;
}

void klic_ledger_defer_checkpoints(struct klic_ledger *l)
{
	/* our hook replaces the one sqlite3_wal_autocheckpoint installs */
	sqlite3_wal_hook(l->db, wal_hook, l);
}

void klic_ledger_checkpoint(struct klic_ledger *l)
{
	if (l->wal_frames < WAL_CHECKPOINT_FRAMES)
		return;
	l->wal_frames = 0;
	/* Like SQLite's autocheckpoint, a checkpoint that fails (busy: another
	 * connection is making one) loses nothing: every commit is in the
	 * WAL, and the next checkpoint, or the last close, copies it. */
	(void)sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

void klic_ledger_free(struct klic_ledger *l)
{
	if (l == NULL)
		return;
	for (unsigned i = 0; i < l->ncache; i++)
		sqlite3_finalize(l->cache[i].st);
	sqlite3_close_v2(l->db);
	free(l);
}

int klic_ledger_meta_get(struct klic_ledger *l, const char *key, char *out, size_t outsz)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int r, rc;

	if ((r = klic_ledger_stmt(l, &st, "SELECT value FROM meta WHERE key = ?1")) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = klic_error_set(KLIC_ERR_NOT_FOUND, "ledger meta %s missing", key);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = klic_ledger_err(l, "meta");
		goto out;
	}
	v = sqlite3_column_text(st, 0);
	if (v == NULL || strlen((const char *)v) >= outsz) {
		r = klic_error_set(KLIC_ERR_LEDGER, "ledger meta %s: bad value", key);
		goto out;
	}
	memcpy(out, v, strlen((const char *)v) + 1);
	r = 0;
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_meta_set(struct klic_ledger *l, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = klic_ledger_stmt(l, &st,
				  "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)")) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : klic_ledger_err(l, "meta");
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
	sqlite3_stmt *st = NULL;
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
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 1);
		seq = sqlite3_column_int64(st, 0) + 1;
		if (h == NULL || strlen((const char *)h) != KLIC_SHA256_HEX_LEN) {
			r = klic_error_set(KLIC_ERR_LEDGER, "audit row %" PRId64 ": bad hash",
					   seq - 1);
			goto out;
		}
		memcpy(prev, h, sizeof prev);
	} else if (rc != SQLITE_DONE) {
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
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, dg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, dt, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : klic_ledger_err(l, "audit insert");
out:
	klic_ledger_stmt_done(l, st);
	return r;
}

const char *klic_ledger_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t != NULL ? (const char *)t : "";
}

void klic_ledger_col_copy(char *dst, size_t dstsz, sqlite3_stmt *st, int i)
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
	sqlite3_stmt *st = NULL;
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
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
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
	if (rc != SQLITE_DONE) {
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
	sqlite3_stmt *st = NULL;
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
				  "INSERT OR IGNORE INTO members(fingerprint, name, email, added) "
				  "VALUES (?1, ?2, ?3, ?4)")) != 0)
		goto out;
	sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n_s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e_s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = klic_ledger_err(l, "member insert");
		goto out;
	}
	if (sqlite3_changes(l->db) == 1) {
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
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = klic_ledger_stmt(l, &st, "SELECT 1 FROM members WHERE fingerprint = ?1")) != 0)
		return r;
	sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = 0;
	else if (rc == SQLITE_DONE)
		r = klic_error_set(KLIC_ERR_NOT_FOUND, "%s is not a registered member", fpr);
	else
		r = klic_ledger_err(l, "members");
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_member_name(struct klic_ledger *l, char *uid, size_t uidsz, const char *fpr)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	uid[0] = '\0';
	if ((r = klic_ledger_stmt(l, &st,
				  "SELECT name, email FROM members WHERE fingerprint = ?1")) != 0)
		return r;
	sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *name = klic_ledger_col_text(st, 0),
			   *email = klic_ledger_col_text(st, 1);
		if (email != NULL && email[0] != '\0')
			snprintf(uid, uidsz, "%s <%s>", name != NULL ? name : "", email);
		else
			snprintf(uid, uidsz, "%s", name != NULL ? name : "");
		r = 0;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		r = klic_ledger_err(l, "members");
	}
	klic_ledger_stmt_done(l, st);
	return r;
}

int klic_ledger_members(struct klic_ledger *l, int (*fn)(void *ctx, const char *fpr), void *ctx)
{
	sqlite3_stmt *st = NULL;
	char fpr[KLIC_FPR_HEX_LEN + 1];
	int r, rc;

	if ((r = klic_ledger_stmt(l, &st, "SELECT fingerprint FROM members ORDER BY 1")) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		klic_ledger_col_copy(fpr, sizeof fpr, st, 0);
		if ((r = fn(ctx, fpr)) != 0)
			goto out;
	}
	r = rc == SQLITE_DONE ? 0 : klic_ledger_err(l, "members");
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

int klic_ledger_list(struct klic_ledger *l, const struct klic_list_filter *f,
		     klic_license_row_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct klic_license_row row;
	int r, rc;

	if ((r = klic_ledger_stmt(
		 l, &st,
		 "SELECT x.license_id, product, machine_id, member_fpr, request_digest, seat,"
		 " issued, expires, entitlement_id, file, d.ended, d.reason FROM licenses x"
		 " LEFT JOIN license_ends d ON d.license_id = x.license_id"
		 " WHERE (?1 IS NULL OR product = ?1) AND (?2 IS NULL OR machine_id = ?2)"
		 " AND (?3 IS NULL OR member_fpr = ?3)"
		 " AND (?4 = 0 OR (?4 = 1) = (expires > ?5 AND (d.ended IS NULL OR d.ended > ?5)))"
		 " ORDER BY issued, request_digest, seat")) != 0)
		return r;
	if (f->product != NULL)
		sqlite3_bind_text(st, 1, f->product, -1, SQLITE_STATIC);
	if (f->machine_id != NULL)
		sqlite3_bind_text(st, 2, f->machine_id, -1, SQLITE_STATIC);
	if (f->member_fpr != NULL)
		sqlite3_bind_text(st, 3, f->member_fpr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, f->active);
	sqlite3_bind_int64(st, 5, f->now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof row);
		klic_ledger_col_copy(row.license_id, sizeof row.license_id, st, 0);
		klic_ledger_col_copy(row.product, sizeof row.product, st, 1);
		klic_ledger_col_copy(row.machine_id, sizeof row.machine_id, st, 2);
		klic_ledger_col_copy(row.member_fpr, sizeof row.member_fpr, st, 3);
		klic_ledger_col_copy(row.request_digest, sizeof row.request_digest, st, 4);
		row.seat = (unsigned)sqlite3_column_int(st, 5);
		row.issued = sqlite3_column_int64(st, 6);
		row.expires = sqlite3_column_int64(st, 7);
		row.entitlement_id = sqlite3_column_int64(st, 8);
		klic_ledger_col_copy(row.file, sizeof row.file, st, 9);
		row.ended = sqlite3_column_int64(st, 10);
		klic_ledger_col_copy(row.end_reason, sizeof row.end_reason, st, 11);
		if ((r = fn(ctx, &row)) != 0)
			goto out;
	}
	r = rc == SQLITE_DONE ? 0 : klic_ledger_err(l, "list");
out:
	klic_ledger_stmt_done(l, st);
	return r;
}
