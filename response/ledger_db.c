/* klic response/ — the ledger's engine layer (ledger_db.h): each call goes
 * to the engine of its connection (ledger_db_sqlite.c, ledger_db_pg.c). */
#include <stdio.h>
#include <string.h>

#include "ledger_db_int.h"

int klic_db_is_pg(const char *where)
{
	return where != NULL &&
	       (strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0);
}

void klic_db_display(char *out, size_t outsz, const char *where)
{
	if (klic_db_is_pg(where))
		klic_db_pg_display(out, outsz, where);
	else
		snprintf(out, outsz, "%s", where);
}

int klic_db_open(struct klic_db **out, const char *where, int create)
{
	*out = NULL;
	if (klic_db_is_pg(where))
		return klic_db_pg_open(out, where);
	return klic_db_sqlite_open(out, where, create);
}

void klic_db_close(struct klic_db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

enum klic_db_engine klic_db_engine(const struct klic_db *db)
{
	return db->ops->engine;
}
const char *klic_db_name(const struct klic_db *db)
{
	return db->name;
}
int klic_db_err(struct klic_db *db, const char *what)
{
	return db->ops->err(db, what);
}

int klic_db_prepare(struct klic_db *db, struct klic_stmt **st, const char *sql)
{
	return db->ops->prepare(db, st, sql);
}

const char *klic_db_sql(const struct klic_stmt *st)
{
	return st->ops->sql(st);
}
void klic_db_reset(struct klic_stmt *st)
{
	st->ops->reset(st);
}

void klic_db_finalize(struct klic_stmt *st)
{
	if (st != NULL)
		st->ops->finalize(st);
}

void klic_db_bind_int64(struct klic_stmt *st, int i, int64_t v)
{
	st->ops->bind_int64(st, i, v);
}

void klic_db_bind_text(struct klic_stmt *st, int i, const char *s, int len)
{
	st->ops->bind_text(st, i, s, len);
}

void klic_db_bind_blob(struct klic_stmt *st, int i, const void *p, int len)
{
	st->ops->bind_blob(st, i, p, len);
}

void klic_db_bind_null(struct klic_stmt *st, int i)
{
	st->ops->bind_null(st, i);
}
int klic_db_step(struct klic_stmt *st)
{
	return st->ops->step(st);
}
int klic_db_col_is_null(struct klic_stmt *st, int i)
{
	return st->ops->col_is_null(st, i);
}
int64_t klic_db_col_int64(struct klic_stmt *st, int i)
{
	return st->ops->col_int64(st, i);
}
const char *klic_db_col_text(struct klic_stmt *st, int i)
{
	return st->ops->col_text(st, i);
}
const void *klic_db_col_blob(struct klic_stmt *st, int i)
{
	return st->ops->col_blob(st, i);
}
int klic_db_col_bytes(struct klic_stmt *st, int i)
{
	return st->ops->col_bytes(st, i);
}
int64_t klic_db_changes(struct klic_db *db)
{
	return db->ops->changes(db);
}
int klic_db_exec(struct klic_db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}
int klic_db_begin_write(struct klic_db *db)
{
	return db->ops->begin_write(db);
}
int klic_db_begin_read(struct klic_db *db)
{
	return db->ops->begin_read(db);
}
int klic_db_commit(struct klic_db *db)
{
	return db->ops->commit(db);
}
void klic_db_rollback(struct klic_db *db)
{
	db->ops->rollback(db);
}
int klic_db_in_transaction(struct klic_db *db)
{
	return db->ops->in_transaction(db);
}

int klic_db_version(struct klic_db *db, int *version, int *other)
{
	return db->ops->version(db, version, other);
}

int klic_db_set_version(struct klic_db *db, int version)
{
	return db->ops->set_version(db, version);
}

void klic_db_defer_checkpoints(struct klic_db *db)
{
	db->ops->defer_checkpoints(db);
}
void klic_db_checkpoint(struct klic_db *db)
{
	db->ops->checkpoint(db);
}

int klic_db_lost(struct klic_db *db)
{
	return db != NULL && db->ops->lost != NULL && db->ops->lost(db);
}

int klic_db_reconnect(struct klic_db *db)
{
	return db->ops->reconnect != NULL ? db->ops->reconnect(db) : 0;
}
