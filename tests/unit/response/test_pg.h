/* The engine of the response/ unit tests: KLIC_TEST_LEDGER unset, SQLite;
 * a postgresql:// URL (tests/pg/with_pg.sh), that database. */
#ifndef KLIC_TEST_PG_H
#define KLIC_TEST_PG_H

/* KLIC_TEST_LEDGER when it is a PostgreSQL URL, else NULL. */
const char *test_pg_url(void);
/* Empty the database at url (its public schema dropped and made again);
 * -1 with a line on stderr when that fails. */
int test_pg_reset(const char *url);
/* Raw SQL on the ledger at where (a SQLite file, made when missing, or a
 * PostgreSQL URL) through a connection of its own, bypassing the library
 * (as an attacker or a test); a failure fails the test. */
void test_raw(const char *where, const char *sql);

#endif
