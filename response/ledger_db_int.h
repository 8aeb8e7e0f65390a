/* klic response/ — inside the ledger's engine layer (ledger_db.h): what
 * ledger_db.c hands to the engine a connection belongs to.  Only
 * ledger_db*.c include this. */
#ifndef KLIC_LEDGER_DB_INT_H
#define KLIC_LEDGER_DB_INT_H

#include "ledger_db.h"

struct klic_db_ops {
	enum klic_db_engine engine;
	void (*close)(struct klic_db *db);
	int (*err)(struct klic_db *db, const char *what);
	int (*prepare)(struct klic_db *db, struct klic_stmt **st, const char *sql);
	const char *(*sql)(const struct klic_stmt *st);
	void (*reset)(struct klic_stmt *st);
	void (*finalize)(struct klic_stmt *st);
	void (*bind_int64)(struct klic_stmt *st, int i, int64_t v);
	void (*bind_text)(struct klic_stmt *st, int i, const char *s, int len);
	void (*bind_blob)(struct klic_stmt *st, int i, const void *p, int len);
	void (*bind_null)(struct klic_stmt *st, int i);
	int (*step)(struct klic_stmt *st);
	int (*col_is_null)(struct klic_stmt *st, int i);
	int64_t (*col_int64)(struct klic_stmt *st, int i);
	const char *(*col_text)(struct klic_stmt *st, int i);
	const void *(*col_blob)(struct klic_stmt *st, int i);
	int (*col_bytes)(struct klic_stmt *st, int i);
	int64_t (*changes)(struct klic_db *db);
	int (*exec)(struct klic_db *db, const char *sql);
	int (*begin_write)(struct klic_db *db);
	int (*begin_read)(struct klic_db *db);
	int (*commit)(struct klic_db *db);
	void (*rollback)(struct klic_db *db);
	int (*in_transaction)(struct klic_db *db);
	int (*version)(struct klic_db *db, int *version, int *other);
	int (*set_version)(struct klic_db *db, int version);
	void (*defer_checkpoints)(struct klic_db *db);
	void (*checkpoint)(struct klic_db *db);
	int (*lost)(struct klic_db *db);      /* NULL: never (an embedded engine) */
	int (*reconnect)(struct klic_db *db); /* NULL: nothing to reconnect */
};

/* The first member of every engine's connection and statement. */
struct klic_db {
	const struct klic_db_ops *ops;
	char name[512]; /* klic_db_name */
};
struct klic_stmt {
	const struct klic_db_ops *ops;
};

int klic_db_sqlite_open(struct klic_db **out, const char *path, int create);
int klic_db_pg_open(struct klic_db **out, const char *url);
void klic_db_pg_display(char *out, size_t outsz, const char *url);

#endif
