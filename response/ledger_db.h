/* klic response/ — the ledger's database engine layer (spec/LEDGER.md).
 *
 * The ledger (response/ledger*.c) runs the same C code and, wherever the
 * two engines accept it, the same SQL text on SQLite (ledger_db_sqlite.c,
 * the embedded default) and PostgreSQL (ledger_db_pg.c, libpq).  Only
 * those two files know an engine; everything above talks to this header.
 *
 * SQL text: placeholders ?N (1-based; the PostgreSQL backend rewrites them
 * to $N outside quoted strings).  Values are bound per statement and stay
 * bound until klic_db_reset.  Text and blob values are copied or kept by
 * reference until the next step or reset: the caller keeps them alive
 * until the statement is stepped.
 *
 * Errors: a function returning int gives 0 on success, non-zero on
 * failure, and the failure is read with klic_db_err (which records it as
 * the klic error: KLIC_ERR_LEDGER, or KLIC_ERR_IO for SQLite's disk
 * errors). */
#ifndef KLIC_LEDGER_DB_H
#define KLIC_LEDGER_DB_H

#include <stddef.h>
#include <stdint.h>

struct klic_db;
struct klic_stmt;

enum klic_db_engine { KLIC_DB_SQLITE = 1, KLIC_DB_PG = 2 };

/* klic_db_step results */
#define KLIC_DB_ERROR 1
#define KLIC_DB_ROW 100
#define KLIC_DB_DONE 101

/* 1 when where names a PostgreSQL ledger (postgresql:// or postgres://). */
int klic_db_is_pg(const char *where);

/* where as it may be shown: a path as it is, a PostgreSQL URL rebuilt
 * from its parts without the password (klic_db_name). */
void klic_db_display(char *out, size_t outsz, const char *where);

/* Open the ledger database at where (a SQLite path or a PostgreSQL URL).
 * create: SQLite may create the file.  On failure the klic error is set
 * (naming the ledger) and *out is NULL. */
int klic_db_open(struct klic_db **out, const char *where, int create);
void klic_db_close(struct klic_db *db);
enum klic_db_engine klic_db_engine(const struct klic_db *db);
/* The ledger as it may be shown: the SQLite path, or the PostgreSQL URL
 * rebuilt without its password ("postgresql://user@host:port/db"). */
const char *klic_db_name(const struct klic_db *db);

/* Record the last failure of db as the klic error "what: message"; its
 * code (KLIC_ERR_LEDGER or KLIC_ERR_IO) is returned. */
int klic_db_err(struct klic_db *db, const char *what);

/* Statements.  prepare: uncached (see klic_ledger_stmt for the cache). */
int klic_db_prepare(struct klic_db *db, struct klic_stmt **st, const char *sql);
const char *klic_db_sql(const struct klic_stmt *st); /* the text as given */
void klic_db_reset(struct klic_stmt *st);            /* back to the start, bindings cleared */
void klic_db_finalize(struct klic_stmt *st);
void klic_db_bind_int64(struct klic_stmt *st, int i, int64_t v);
void klic_db_bind_text(struct klic_stmt *st, int i, const char *s, int len); /* len -1: strlen */
void klic_db_bind_blob(struct klic_stmt *st, int i, const void *p, int len);
void klic_db_bind_null(struct klic_stmt *st, int i);
/* KLIC_DB_ROW, KLIC_DB_DONE or KLIC_DB_ERROR. */
int klic_db_step(struct klic_stmt *st);
int klic_db_col_is_null(struct klic_stmt *st, int i);
int64_t klic_db_col_int64(struct klic_stmt *st, int i);    /* 0 for NULL */
const char *klic_db_col_text(struct klic_stmt *st, int i); /* NULL for NULL */
const void *klic_db_col_blob(struct klic_stmt *st, int i); /* text or blob bytes */
int klic_db_col_bytes(struct klic_stmt *st, int i);
/* Rows changed by the last INSERT/UPDATE/DELETE stepped on db. */
int64_t klic_db_changes(struct klic_db *db);

/* Run sql, which may hold several statements and no placeholders; rows
 * are discarded. */
int klic_db_exec(struct klic_db *db, const char *sql);

/* Transactions.  begin_write: the one ledger-wide writer (SQLite BEGIN
 * IMMEDIATE; PostgreSQL READ COMMITTED + pg_advisory_xact_lock, held to
 * COMMIT).  begin_read: one snapshot (SQLite BEGIN DEFERRED; PostgreSQL
 * REPEATABLE READ READ ONLY).  rollback never fails loudly and is a no-op
 * outside a transaction. */
int klic_db_begin_write(struct klic_db *db);
int klic_db_begin_read(struct klic_db *db);
int klic_db_commit(struct klic_db *db);
void klic_db_rollback(struct klic_db *db);
int klic_db_in_transaction(struct klic_db *db);

/* The schema version: SQLite PRAGMA user_version; PostgreSQL meta
 * ledger_version (0 when the database holds no klic ledger; *other 1 when
 * it holds tables that are not a klic ledger's). */
int klic_db_version(struct klic_db *db, int *version, int *other);
/* Inside the caller's transaction. */
int klic_db_set_version(struct klic_db *db, int version);

/* SQLite's WAL checkpoints (no-ops on PostgreSQL), response_int.h. */
void klic_db_defer_checkpoints(struct klic_db *db);
void klic_db_checkpoint(struct klic_db *db);

/* 1 when db's connection to its server is gone (the server stopped or the
 * network failed): every later call fails too.  Always 0 on SQLite. */
int klic_db_lost(struct klic_db *db);
/* A new session with the same parameters in place of a lost one (the
 * server's prepared statements and settings went with the old session:
 * finalize every statement first).  0, or KLIC_ERR_LEDGER when the server
 * still cannot be reached (then still lost).  Nothing to do on SQLite. */
int klic_db_reconnect(struct klic_db *db);

#endif
