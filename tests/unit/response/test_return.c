/* Unit tests for response/: the ledger's returns (spec 5.3.6,
 * spec/ledger-8.sql): a receipt recorded once under its digest, found
 * again, never changed or removed.  The engine comes from KLIC_TEST_LEDGER:
 * unset, a SQLite file; a postgresql:// URL (tests/pg/with_pg.sh), that
 * database, emptied before each test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "response_int.h"
#include "test_pg.h"

#define DIG_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIG_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* the PostgreSQL database of KLIC_TEST_LEDGER, or NULL: SQLite */
static const char *pg_url;

struct fx {
	char dir[64], path[512];
	struct klic_ledger *l;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/klic-ret-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/ledger.sqlite", f->dir);
	if (pg_url != NULL) {
		snprintf(f->path, sizeof f->path, "%s", pg_url);
		if (test_pg_reset(pg_url) != 0)
			return -1;
	}
	if (klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[sizeof f->path + 8];
	klic_ledger_free(f->l);
	static const char *const sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3 && pg_url == NULL; i++) {
		snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
		(void)unlink(p);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static void test_schema_8(void **state)
{
	struct fx *f = *state;
	int v = 0;
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(v, KLIC_LEDGER_VERSION);
	assert_true(KLIC_LEDGER_VERSION >= 8); /* the returns table came with 8 */
}

static void test_insert_find(void **state)
{
	struct fx *f = *state;
	static const uint8_t receipt[] = "-----BEGIN PGP SIGNED MESSAGE-----\n...";
	int found = 1;
	int64_t at = 1;

	assert_int_equal(klic_ledger_return_find(f->l, &found, &at, DIG_A), 0);
	assert_int_equal(found, 0);
	assert_true(at == 0);
	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(
	    klic_ledger_return_insert(f->l, DIG_A, receipt, sizeof receipt, 1900000000), 0);
	assert_int_equal(klic_ledger_commit(f->l), 0);
	assert_int_equal(klic_ledger_return_find(f->l, &found, &at, DIG_A), 0);
	assert_int_equal(found, 1);
	assert_true(at == 1900000000);
	assert_int_equal(klic_ledger_return_find(f->l, &found, &at, DIG_B), 0);
	assert_int_equal(found, 0);
	/* the same digest twice: refused (the caller looks first, in the
	 * same transaction) */
	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(
	    klic_ledger_return_insert(f->l, DIG_A, receipt, sizeof receipt, 1900000001),
	    KLIC_ERR_LEDGER);
	klic_ledger_rollback(f->l);
	/* a digest that is not 64 characters: refused by the schema */
	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(klic_ledger_return_insert(f->l, "abc", receipt, sizeof receipt, 1),
			 KLIC_ERR_LEDGER);
	klic_ledger_rollback(f->l);
	/* too large for a receipt */
	assert_int_equal(klic_ledger_return_insert(f->l, DIG_B, receipt, KLIC_MAX_LIC_BYTES + 1, 1),
			 KLIC_ERR_TOO_BIG);
}

static void test_append_only(void **state)
{
	struct fx *f = *state;
	static const uint8_t receipt[] = "r";
	int found = 0;
	int64_t at = 0;

	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(klic_ledger_return_insert(f->l, DIG_B, receipt, 1, 5), 0);
	assert_int_equal(klic_ledger_commit(f->l), 0);
	assert_int_not_equal(klic_ledger_exec(f->l, "UPDATE returns SET at = 6"), 0);
	assert_int_not_equal(klic_ledger_exec(f->l, "DELETE FROM returns"), 0);
	assert_int_equal(klic_ledger_return_find(f->l, &found, &at, DIG_B), 0);
	assert_int_equal(found, 1);
	assert_true(at == 5);
}

int main(void)
{
	pg_url = test_pg_url();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_schema_8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_insert_find, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_only, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
