/* klic response/ — the ledger's SQLite engine (ledger_db.h): the embedded
 * default, one file in the state folder (spec/ledger.sql).  The only file
 * that includes sqlite3.h. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "klic_response.h"
#include "ledger_db_int.h"

/* SQLite's own autocheckpoint threshold (SQLITE_DEFAULT_WAL_AUTOCHECKPOINT). */
#define WAL_CHECKPOINT_FRAMES 1000

struct sq_db {
	struct klic_db base;
	sqlite3 *db;
	int wal_frames;     /* frames in the WAL after this connection's last commit */
	char exec_msg[512]; /* the message of the last failed exec */
};

struct sq_stmt {
	struct klic_stmt base;
	struct sq_db *db;
	sqlite3_stmt *st;
};

#define SQ(d) ((struct sq_db *)(d))
#define SQS(s) (((struct sq_stmt *)(s))->st)

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

static void sq_close(struct klic_db *d)
{
	sqlite3_close_v2(SQ(d)->db);
	free(d);
}

static int sq_err(struct klic_db *d, const char *what)
{
	sqlite3 *db = SQ(d)->db;
	int ec = db != NULL ? sqlite3_extended_errcode(db) : 0;
	const char *msg = db != NULL ? sqlite3_errmsg(db) : "no database";

	if (SQ(d)->exec_msg[0] != '\0')
		msg = SQ(d)->exec_msg;
	if (what == NULL || what[0] == '\0')
		return klic_error_set(ledger_code(ec), "%s", msg);
	if ((ec & 0xff) == SQLITE_BUSY || (ec & 0xff) == SQLITE_LOCKED)
		return klic_error_set(KLIC_ERR_LEDGER,
				      "%s: ledger is busy (another klic-admin?): %s", what, msg);
	return klic_error_set(ledger_code(ec), "%s: %s", what, msg);
}

static const struct klic_db_ops sq_ops;

static int sq_prepare(struct klic_db *d, struct klic_stmt **out, const char *sql)
{
	struct sq_stmt *s = calloc(1, sizeof *s);

	*out = NULL;
	SQ(d)->exec_msg[0] = '\0';
	if (s == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "statement");
	s->base.ops = &sq_ops;
	s->db = SQ(d);
	if (sqlite3_prepare_v3(SQ(d)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL) !=
	    SQLITE_OK) {
		free(s);
		return 1;
	}
	*out = &s->base;
	return 0;
}

static const char *sq_sql(const struct klic_stmt *s)
{
	return sqlite3_sql(((const struct sq_stmt *)s)->st);
}

static void sq_reset(struct klic_stmt *s)
{
	(void)sqlite3_reset(SQS(s));
	(void)sqlite3_clear_bindings(SQS(s));
}

static void sq_finalize(struct klic_stmt *s)
{
	sqlite3_finalize(SQS(s));
	free(s);
}

static void sq_bind_int64(struct klic_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(SQS(s), i, v);
}

static void sq_bind_text(struct klic_stmt *s, int i, const char *t, int len)
{
	sqlite3_bind_text(SQS(s), i, t, len, SQLITE_STATIC);
}

static void sq_bind_blob(struct klic_stmt *s, int i, const void *p, int len)
{
	sqlite3_bind_blob(SQS(s), i, p, len, SQLITE_STATIC);
}

static void sq_bind_null(struct klic_stmt *s, int i)
{
	sqlite3_bind_null(SQS(s), i);
}

static int sq_step(struct klic_stmt *s)
{
	int rc;

	((struct sq_stmt *)s)->db->exec_msg[0] = '\0';
	rc = sqlite3_step(SQS(s));
	if (rc == SQLITE_ROW)
		return KLIC_DB_ROW;
	if (rc == SQLITE_DONE)
		return KLIC_DB_DONE;
	return KLIC_DB_ERROR;
}

static int sq_col_is_null(struct klic_stmt *s, int i)
{
	return sqlite3_column_type(SQS(s), i) == SQLITE_NULL;
}

static int64_t sq_col_int64(struct klic_stmt *s, int i)
{
	return sqlite3_column_int64(SQS(s), i);
}

static const char *sq_col_text(struct klic_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(SQS(s), i);
}

static const void *sq_col_blob(struct klic_stmt *s, int i)
{
	return sqlite3_column_blob(SQS(s), i);
}

static int sq_col_bytes(struct klic_stmt *s, int i)
{
	return sqlite3_column_bytes(SQS(s), i);
}

static int64_t sq_changes(struct klic_db *d)
{
	return sqlite3_changes64(SQ(d)->db);
}

static int sq_exec(struct klic_db *d, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(SQ(d)->db, sql, NULL, NULL, &msg);

	SQ(d)->exec_msg[0] = '\0';
	if (rc != SQLITE_OK) {
		snprintf(SQ(d)->exec_msg, sizeof SQ(d)->exec_msg, "%s",
			 msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return 1;
	}
	return 0;
}

static int sq_begin_write(struct klic_db *d)
{
	return sq_exec(d, "BEGIN IMMEDIATE");
}

static int sq_begin_read(struct klic_db *d)
{
	return sq_exec(d, "BEGIN DEFERRED");
}

static int sq_commit(struct klic_db *d)
{
	return sq_exec(d, "COMMIT");
}

static int sq_in_transaction(struct klic_db *d)
{
	return !sqlite3_get_autocommit(SQ(d)->db);
}

static void sq_rollback(struct klic_db *d)
{
	if (sq_in_transaction(d))
		(void)sqlite3_exec(SQ(d)->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_version(struct klic_db *d, int *version, int *other)
{
	sqlite3_stmt *st = NULL;
	int r = 1;

	*version = 0;
	*other = 0;
	SQ(d)->exec_msg[0] = '\0';
	if (sqlite3_prepare_v2(SQ(d)->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return 1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int sq_set_version(struct klic_db *d, int version)
{
	char sql[64];

	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
	return sq_exec(d, sql);
}

static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct sq_db *d = ctx;

	(void)db;
	(void)name;
	d->wal_frames = frames;
	return SQLITE_OK;
}

static void sq_defer_checkpoints(struct klic_db *d)
{
	/* our hook replaces the one sqlite3_wal_autocheckpoint installs */
	sqlite3_wal_hook(SQ(d)->db, wal_hook, d);
}

static void sq_checkpoint(struct klic_db *d)
{
	if (SQ(d)->wal_frames < WAL_CHECKPOINT_FRAMES)
		return;
	SQ(d)->wal_frames = 0;
	/* Like SQLite's autocheckpoint, a checkpoint that fails (busy: another
	 * connection is making one) loses nothing: every commit is in the
	 * WAL, and the next checkpoint, or the last close, copies it. */
	(void)sqlite3_wal_checkpoint_v2(SQ(d)->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

static const struct klic_db_ops sq_ops = {
    .engine = KLIC_DB_SQLITE,
    .close = sq_close,
    .err = sq_err,
    .prepare = sq_prepare,
    .sql = sq_sql,
    .reset = sq_reset,
    .finalize = sq_finalize,
    .bind_int64 = sq_bind_int64,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_is_null = sq_col_is_null,
    .col_int64 = sq_col_int64,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .col_bytes = sq_col_bytes,
    .changes = sq_changes,
    .exec = sq_exec,
    .begin_write = sq_begin_write,
    .begin_read = sq_begin_read,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .version = sq_version,
    .set_version = sq_set_version,
    .defer_checkpoints = sq_defer_checkpoints,
    .checkpoint = sq_checkpoint,
};

int klic_db_sqlite_open(struct klic_db **out, const char *path, int create)
{
	struct sq_db *d;
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
	struct stat st;
	int r;

	*out = NULL;
	if (!create && stat(path, &st) != 0)
		return klic_error_set(errno == ENOENT ? KLIC_ERR_NOT_FOUND : KLIC_ERR_IO,
				      "%s: %s%s", path, strerror(errno),
				      errno == ENOENT ? " (run klic-admin init first)" : "");
	if (create)
		oflags |= SQLITE_OPEN_CREATE;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return klic_error_set(KLIC_ERR_NOMEM, "ledger");
	d->base.ops = &sq_ops;
	snprintf(d->base.name, sizeof d->base.name, "%s", path);
	if (sqlite3_open_v2(path, &d->db, oflags, NULL) != SQLITE_OK) {
		r = klic_error_set(
		    d->db != NULL ? ledger_code(sqlite3_extended_errcode(d->db)) : KLIC_ERR_NOMEM,
		    "%s: %s", path, d->db != NULL ? sqlite3_errmsg(d->db) : "cannot open");
		sq_close(&d->base);
		return r;
	}
	sqlite3_extended_result_codes(d->db, 1);
	if (sqlite3_busy_timeout(d->db, 10000) != SQLITE_OK) {
		r = sq_err(&d->base, "busy_timeout");
		sq_close(&d->base);
		return r;
	}
	*out = &d->base;
	return 0;
}
