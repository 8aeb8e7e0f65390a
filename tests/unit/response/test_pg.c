/* The engine of the response/ unit tests (test_pg.h). */
#include <stdio.h>
#include <stdlib.h>

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
