/* The engine of the response/ unit tests (test_pg.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "response_int.h"
#include "test_pg.h"

const char *test_pg_url(void)
{
	const char *env = getenv("KLIC_TEST_LEDGER");
	return env != NULL && klic_db_is_pg(env) ? env : NULL;
}

int test_pg_reset(const char *url)
{
	struct klic_db *db = NULL;
	int r = 0;

	if (klic_db_open(&db, url, 0) != 0 ||
	    klic_db_exec(db, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public") != 0) {
		fprintf(stderr, "setup: %s\n", klic_error_detail());
		r = -1;
	}
	klic_db_close(db);
	return r;
}

void test_raw(const char *where, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	if (klic_db_is_pg(where)) {
		struct klic_db *d = NULL;
		assert_int_equal(klic_db_open(&d, where, 0), 0);
		if (klic_db_exec(d, sql) != 0) {
			klic_db_err(d, "raw");
			fail_msg("raw sql failed: %s: %s", sql, klic_error_detail());
		}
		klic_db_close(d);
		return;
	}
	assert_int_equal(sqlite3_open(where, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("raw sql failed: %s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}
