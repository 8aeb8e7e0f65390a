/* klic response/ — internal helpers shared by the library's files. */
#ifndef KLIC_RESPONSE_INT_H
#define KLIC_RESPONSE_INT_H

#include <sqlite3.h>

#include "klic_response.h"

/* spec/ledger.sql and spec/ledger-N.sql, generated at build time. */
extern const char klic_ledger_sql[];
extern const char klic_ledger2_sql[];
extern const char klic_ledger3_sql[];


sqlite3 *klic_ledger_db(struct klic_ledger *l);
/* Record a SQLite failure as KLIC_ERR_LEDGER with what + sqlite's message. */
int klic_ledger_err(struct klic_ledger *l, const char *what);
/* A prepared statement for sql from the connection's cache (keyed by the
 * address of sql, checked against its text), to be given back with
 * klic_ledger_stmt_done(), which resets it and clears its bindings (or
 * finalizes one the cache had no room for).  The same sql in use twice at
 * once is prepared afresh. */
int klic_ledger_stmt(struct klic_ledger *l, sqlite3_stmt **st, const char *sql);
void klic_ledger_stmt_done(struct klic_ledger *l, sqlite3_stmt *st);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback never fails loudly). */
int klic_ledger_begin(struct klic_ledger *l);
int klic_ledger_commit(struct klic_ledger *l);
void klic_ledger_rollback(struct klic_ledger *l);
/* Checkpoints of this connection's WAL are no longer made inside its
 * commits (SQLite's autocheckpoint, which would run them while the caller
 * holds its writer lock) but only by klic_ledger_checkpoint. */
void klic_ledger_defer_checkpoints(struct klic_ledger *l);
/* A passive checkpoint when the WAL has grown past SQLite's autocheckpoint
 * threshold at this connection's last commit.  Call it outside any
 * transaction and writer lock. */
void klic_ledger_checkpoint(struct klic_ledger *l);

/* Split a "Name <email>" user ID. */
void klic_uid_split(char *name, size_t namesz, char *email, size_t emailsz, const char *uid);

#endif
