/* Unit tests for response/: the ledger (create, migrate, version refusal,
 * append-only triggers), the audit hash chain, entitlements, members, and
 * the eligibility decision table (spec 5.3.1).
 *
 * The engine comes from KLIC_TEST_LEDGER: unset, a SQLite file in a
 * temporary folder; a postgresql:// URL, that database (emptied before
 * each test: its schema public dropped and made again).  The tests of
 * SQLite's own migrations and file handling are skipped on PostgreSQL. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "klic_response.h"
#include "response_int.h"
#include "test_pg.h"

#define DAY 86400
#define FPR_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FPR_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define DIGEST_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define LID_1 "11111111111111111111111111111111"
#define LID_2 "22222222222222222222222222222222"

/* the PostgreSQL database of KLIC_TEST_LEDGER, or NULL: SQLite */
static const char *pg_url;

struct fx {
	char dir[32];
	char path[512];
	struct klic_ledger *l;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/klic-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/ledger.sqlite", f->dir);
	if (pg_url != NULL) {
		snprintf(f->path, sizeof f->path, "%s", pg_url);
		if (test_pg_reset(pg_url) != 0)
			return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	klic_ledger_free(f->l);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- ledger --------------------------------------------------------------- */

static void test_create_and_reopen(void **state)
{
	struct fx *f = *state;
	int v = -1;

	/* SQLite: no file; PostgreSQL: an empty database */
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0),
			 pg_url ? KLIC_ERR_LEDGER : KLIC_ERR_NOT_FOUND);
	assert_null(f->l);
	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(v, KLIC_LEDGER_VERSION);
	klic_ledger_free(f->l);
	f->l = NULL;
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), 0);
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(v, KLIC_LEDGER_VERSION);
}

static void test_migrate_from_zero(void **state)
{
	struct fx *f = *state;
	int v = -1;

	if (pg_url != NULL) {
		/* a database holding something else is refused, even by init */
		test_raw(f->path, "CREATE TABLE scratch(x INT)");
		assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE),
				 KLIC_ERR_LEDGER);
		assert_non_null(strstr(klic_error_detail(), "not empty"));
		test_raw(f->path, "DROP TABLE scratch");
		assert_int_equal(klic_ledger_open(&f->l, f->path, 0), KLIC_ERR_LEDGER);
		assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
		assert_int_equal(klic_ledger_version(f->l, &v), 0);
		assert_int_equal(v, KLIC_LEDGER_VERSION);
		test_raw(f->path, "SELECT count(*) FROM licenses, license_ends, audit, "
			     "entitlement_usage, members, requests, entitlements, meta");
		/* init again: idempotent */
		klic_ledger_free(f->l);
		f->l = NULL;
		assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
		return;
	}
	/* an existing empty SQLite file (user_version 0) */
	test_raw(f->path, "CREATE TABLE scratch(x); DROP TABLE scratch;");
	/* not a klic ledger unless we are creating one */
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(v, KLIC_LEDGER_VERSION);
	/* the schema is there: licenses, the seat index, the machine index */
	assert_int_equal(klic_ledger_exec(f->l, "SELECT count(*) FROM licenses INDEXED BY "
						"licenses_ent_exp WHERE entitlement_id = 1 AND "
						"expires > 0"),
			 0);
	assert_int_equal(klic_ledger_exec(f->l, "SELECT file FROM licenses INDEXED BY "
						"licenses_machine WHERE machine_id = 'm' AND "
						"product = 'KRE' AND expires > 0"),
			 0);
}

/* A schema-1 ledger (spec/ledger.sql alone) with an issued request is
 * brought to schema 2: file names as schema 1 gave them, stored draft
 * responses dropped (rebuilt on the next issue), triggers still there. */
static void test_migrate_from_1(void **state)
{
	if (pg_url != NULL) {
		skip(); /* SQLite's own migrations and files */
		return;
	}
	struct fx *f = *state;
	char *sql = NULL, *ins = NULL;
	struct klic_entitlement *e = NULL;
	struct klic_decision d;
	size_t len = 0, n = 0;
	int v = -1;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(
	    klic_read_file((uint8_t **)&sql, &len, KLIC_SOURCE_DIR "/spec/ledger.sql", 1 << 20), 0);
	test_raw(f->path, sql);
	test_raw(f->path, "PRAGMA user_version = 1");
	free(sql);
	ins = sqlite3_mprintf(
	    "INSERT INTO entitlements(product, model, billing, seats, until, created) VALUES "
	    "('KRE', 'node-locked', 'yearly', 5, '2099-12-31', '2026-01-01T00:00:00Z');"
	    "INSERT INTO requests(digest, member_fpr, machine_id, product, seats, status, "
	    "entitlement_id, created, response) VALUES ('%s', '%s', 'M', 'KRE', 2, 'issued', 1, "
	    "'2026-01-01T00:00:00Z', x'00');"
	    "INSERT INTO licenses VALUES ('%s', '%s', 1, 'M', 'KRE', 10, 20, 1, '%s');"
	    "INSERT INTO licenses VALUES ('%s', '%s', 2, 'M', 'KRE', 10, 20, 1, '%s');",
	    DIGEST_D, FPR_A, LID_1, DIGEST_D, FPR_A, LID_2, DIGEST_D, FPR_A);
	test_raw(f->path, ins);
	sqlite3_free(ins);
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), 0);
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(v, KLIC_LEDGER_VERSION);
	/* schema 4: the hand-typed row stays, without a .kent: it counts its
	 * seats but issues nothing */
	assert_int_equal(klic_ledger_entitlements(f->l, &e, &n, "KRE", 15), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].kent_id, "");
	assert_int_equal(e[0].used, 2);
	assert_int_equal(klic_eligibility_decide(&d, e, n, "KRE", 1, 15), 0);
	assert_int_equal(d.issue, 0);
	assert_string_equal(d.reason_code, "no-entitlement");
	free(e);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT file FROM licenses ORDER BY seat", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "KRE_M.lic");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "KRE_M_2.lic");
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT response IS NULL FROM requests", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	/* append-only still holds */
	assert_int_not_equal(sqlite3_exec(db, "UPDATE licenses SET file = 'x'", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM licenses", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE requests SET response = x'01'", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(db, "UPDATE requests SET response = x'02'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A schema-5 ledger with an audit row is brought to schema 6: the row and
 * its hashes unchanged (the chain still verifies), seq continuing, the
 * lifecycle events accepted, an unknown event and edits still refused. */
static void test_migrate_5_to_6(void **state)
{
	if (pg_url != NULL) {
		skip(); /* SQLite's own migrations and files */
		return;
	}
	static const char *const files[] = {"ledger.sql", "ledger-2.sql", "ledger-3.sql",
					    "ledger-4.sql", "ledger-5.sql"};
	static const char text[] = "1\t2026-01-01T00:00:00Z\tmember-add\t\tadd " FPR_A;
	struct fx *f = *state;
	char prev_text[64 + sizeof text], hash[KLIC_SHA256_HEX_LEN + 1], *ins, *sql = NULL;
	int64_t rows = -1, bad = -1;
	size_t len = 0;
	int v = -1;

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[512];
		snprintf(path, sizeof path, KLIC_SOURCE_DIR "/spec/%s", files[i]);
		assert_int_equal(klic_read_file((uint8_t **)&sql, &len, path, 1 << 20), 0);
		test_raw(f->path, sql);
		free(sql);
		sql = NULL;
	}
	test_raw(f->path, "PRAGMA user_version = 5");
	memset(prev_text, '0', 64);
	memcpy(prev_text + 64, text, sizeof text - 1);
	assert_int_equal(klic_sha256_hex(hash, prev_text, 64 + sizeof text - 1), 0);
	ins = sqlite3_mprintf("INSERT INTO audit(seq, at, event, digest, detail, prev_hash, hash) "
			      "VALUES (1, '2026-01-01T00:00:00Z', 'member-add', '', 'add %s', "
			      "'%.64s', '%s')",
			      FPR_A, prev_text, hash);
	test_raw(f->path, ins);
	sqlite3_free(ins);
	/* schema 5 knows no lifecycle event */
	{
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_not_equal(
		    sqlite3_exec(db,
				 "INSERT INTO audit(at, event, prev_hash, hash) VALUES ('t', "
				 "'renewed', printf('%064d', 0), printf('%064d', 0))",
				 NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), 0);
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(v, KLIC_LEDGER_VERSION); /* 6, and the migrations after it */
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), 0);
	assert_int_equal(rows, 1);
	assert_int_equal(klic_ledger_audit_append(f->l, 1900000000, "member-remove", "",
						  "remove " FPR_A),
			 0);
	assert_int_equal(klic_ledger_audit_append(f->l, 1900000001, "renewed", DIGEST_D, "r"), 0);
	assert_int_equal(klic_ledger_audit_append(f->l, 1900000002, "returned", DIGEST_D, "r"), 0);
	assert_int_equal(klic_ledger_audit_append(f->l, 1900000003, "policy", "", "p"), 0);
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), 0);
	assert_int_equal(rows, 5);
	assert_int_equal(klic_ledger_exec(f->l, "SELECT 1 FROM audit WHERE seq = 5 AND "
						"event = 'policy'"),
			 0);
	assert_int_not_equal(klic_ledger_audit_append(f->l, 1900000004, "bogus", "", ""), 0);
	assert_int_equal(klic_ledger_exec(f->l, "UPDATE audit SET detail = 'x'"), KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_exec(f->l, "DELETE FROM audit"), KLIC_ERR_LEDGER);
}

static void test_newer_version_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	klic_ledger_free(f->l);
	f->l = NULL;
	char sql[96];

	/* KLIC_LEDGER_VERSION + 1 */
	snprintf(sql, sizeof sql,
		 pg_url ? "UPDATE meta SET value = '%d' WHERE key = 'ledger_version'"
			: "PRAGMA user_version = %d",
		 KLIC_LEDGER_VERSION + 1);
	test_raw(f->path, sql);
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), KLIC_ERR_LEDGER);
	assert_non_null(strstr(klic_error_detail(), "newer"));
	assert_null(f->l);
	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), KLIC_ERR_LEDGER);
}

static void test_garbage_file_refused(void **state)
{
	if (pg_url != NULL) {
		skip(); /* SQLite's own migrations and files */
		return;
	}
	struct fx *f = *state;
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database ", fp);
	fclose(fp);
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), KLIC_ERR_LEDGER);
}

static void seed_license(struct fx *f, const char *digest, const char *id, int64_t issued,
			 int64_t expires, int64_t ent)
{
	char sql[1024];
	snprintf(
	    sql, sizeof sql,
	    "INSERT INTO requests(digest, member_fpr, machine_id, product, seats, "
	    "status, entitlement_id, created) VALUES ('%s', '%s', 'M', 'KRE', 1, 'issued', "
	    "%lld, '2030-01-01T00:00:00Z') ON CONFLICT DO NOTHING;"
	    "INSERT INTO licenses(license_id, request_digest, seat, machine_id, product, issued,"
	    " expires, entitlement_id, member_fpr) VALUES ('%s', '%s', 1, 'M', 'KRE', %lld,"
	    " %lld, %lld, '%s');",
	    digest, FPR_A, (long long)ent, id, digest, (long long)issued, (long long)expires,
	    (long long)ent, FPR_A);
	assert_int_equal(klic_ledger_exec(f->l, sql), 0);
}

/* An imported vendor entitlement (the ledger stores what import verified;
 * the text stands for the .kent): period [now - 1 day, the day after
 * `until`), ids made from a counter. */
static int ent_add(struct klic_ledger *l, int64_t *id, const char *product, const char *model,
		   const char *billing, unsigned seats, const char *until, const char *ref,
		   int64_t now)
{
	static unsigned counter;
	struct klic_kent e;
	char text[128];
	int64_t day = 0;
	int added = 0, r;

	memset(&e, 0, sizeof e);
	snprintf(e.entitlement_id, sizeof e.entitlement_id, "%032x", ++counter);
	snprintf(e.org, sizeof e.org, "Org");
	snprintf(e.org_keys[0], sizeof e.org_keys[0], "%s", FPR_A);
	e.n_org_keys = 1;
	snprintf(e.product, sizeof e.product, "%s", product);
	snprintf(e.model, sizeof e.model, "%s", model);
	snprintf(e.billing, sizeof e.billing, "%s", billing);
	e.seats = seats;
	assert_int_equal(klic_date_parse(&day, until), 0);
	e.valid_from = now - DAY;
	e.valid_until = day + DAY;
	snprintf(e.ref, sizeof e.ref, "%s", ref != NULL ? ref : "");
	snprintf(e.vendor_fpr, sizeof e.vendor_fpr, "%s", FPR_B);
	e.created = now;
	snprintf(text, sizeof text, "kent %s", e.entitlement_id);
	r = klic_ledger_entitlement_import(l, &added, id, &e, text, strlen(text), now);
	if (r == 0)
		assert_int_equal(added, 1);
	return r;
}

static void test_append_only_triggers(void **state)
{
	struct fx *f = *state;
	int64_t id = 0, now = 1900000000;
	char dg[65];

	memset(dg, 'a', 64);
	dg[64] = '\0';
	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(
	    ent_add(f->l, &id, "KRE", "node-locked", "yearly", 5, "2031-01-01", "PO-1", now), 0);
	seed_license(f, dg, "0123456789abcdef0123456789abcdef", now, now + 60 * DAY, id);
	assert_int_equal(klic_ledger_exec(f->l, "UPDATE licenses SET expires = expires + 1"),
			 KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_exec(f->l, "DELETE FROM licenses"), KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_exec(f->l, "UPDATE audit SET detail = 'x'"), KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_exec(f->l, "DELETE FROM audit"), KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_exec(f->l, "DELETE FROM requests"), KLIC_ERR_LEDGER);
	/* a request row gains its response once, and nothing else changes */
	assert_int_equal(klic_ledger_exec(f->l, "UPDATE requests SET seats = 9"), KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_exec(f->l, pg_url ? "UPDATE requests SET response = '\\x01'"
						       : "UPDATE requests SET response = x'01'"),
			 0);
	assert_int_equal(klic_ledger_exec(f->l, pg_url ? "UPDATE requests SET response = '\\x02'"
						       : "UPDATE requests SET response = x'02'"),
			 KLIC_ERR_LEDGER);
}

/* ---- audit chain ---------------------------------------------------------- */

static void test_audit_chain(void **state)
{
	struct fx *f = *state;
	int64_t rows = -1, bad = -1, id = 0, now = 1900000000;
	int added = -1;

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), 0);
	assert_int_equal(rows, 0);
	assert_int_equal(
	    ent_add(f->l, &id, "KRE", "node-locked", "yearly", 5, "2031-01-01", "", now), 0);
	assert_int_equal(klic_ledger_member_add(f->l, &added, FPR_A, "Ada", "ada@x", now + 1), 0);
	assert_int_equal(added, 1);
	assert_int_equal(klic_ledger_audit_append(f->l, now + 2, "denied", "", "no-seats: x"), 0);
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), 0);
	assert_int_equal(rows, 3);
	klic_ledger_free(f->l);
	f->l = NULL;

	/* edit row 2 with the triggers dropped: the chain breaks at row 2 */
	test_raw(f->path, pg_url ? "DROP TRIGGER audit_no_update ON audit;"
			      "UPDATE audit SET detail = replace(detail, 'Ada', 'Eve') WHERE seq = 2;"
			    : "DROP TRIGGER audit_no_update;"
			      "UPDATE audit SET detail = replace(detail, 'Ada', 'Eve') WHERE seq = 2;");
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), 0);
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), KLIC_ERR_LEDGER);
	assert_int_equal(bad, 2);
}

static void test_audit_deleted_row(void **state)
{
	struct fx *f = *state;
	int64_t rows = -1, bad = -1, now = 1900000000;

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(klic_ledger_audit_append(f->l, now + i, "reissued", "", "r"), 0);
	klic_ledger_free(f->l);
	f->l = NULL;
	test_raw(f->path, pg_url ? "DROP TRIGGER audit_no_delete ON audit; DELETE FROM audit WHERE seq = 4;"
			    : "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 4;");
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), 0);
	/* removing the tail cannot be seen from the chain alone, but the
	 * middle can: delete row 2 */
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), 0);
	assert_int_equal(rows, 3);
	klic_ledger_free(f->l);
	f->l = NULL;
	test_raw(f->path, "DELETE FROM audit WHERE seq = 2;");
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), 0);
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), KLIC_ERR_LEDGER);
	assert_int_equal(bad, 2);
}

/* ---- entitlements and members ---------------------------------------------- */

static void test_entitlement_import(void **state)
{
	struct fx *f = *state;
	int64_t id = 0, id2 = 0, rows = 0, bad = 0, now = 1900000000, day = 0;
	struct klic_entitlement *e = NULL;
	struct klic_kent k;
	size_t n = 9;
	int added = -1;

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(klic_ledger_entitlements(f->l, &e, &n, NULL, now), 0);
	assert_int_equal(n, 0);
	free(e);
	memset(&k, 0, sizeof k);
	snprintf(k.entitlement_id, sizeof k.entitlement_id, "%s",
		 "abcdef0123456789abcdef0123456789");
	snprintf(k.product, sizeof k.product, "KSE");
	snprintf(k.model, sizeof k.model, "node-locked");
	snprintf(k.billing, sizeof k.billing, "yearly");
	snprintf(k.ref, sizeof k.ref, "PO 7");
	snprintf(k.vendor_fpr, sizeof k.vendor_fpr, FPR_B);
	k.seats = 3;
	assert_int_equal(klic_date_parse(&day, "2031-01-02"), 0);
	k.valid_from = now + 3600;
	k.valid_until = day; /* exclusive: the last day is 2031-01-01 */
	k.created = now;
	assert_int_equal(klic_ledger_entitlement_import(f->l, &added, &id, &k, "T1", 2, now), 0);
	assert_int_equal(added, 1);
	/* the same document again: nothing changes, the same row */
	assert_int_equal(klic_ledger_entitlement_import(f->l, &added, &id2, &k, "T1", 2, now), 0);
	assert_int_equal(added, 0);
	assert_int_equal(id2, id);
	/* another document under the same entitlement_id: refused */
	assert_int_equal(klic_ledger_entitlement_import(f->l, &added, &id2, &k, "T2", 2, now),
			 KLIC_ERR_EXISTS);
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), 0);
	assert_int_equal(rows, 1);
	assert_int_equal(klic_ledger_entitlements(f->l, &e, &n, "KSE", now), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].id, id);
	assert_int_equal(e[0].seats, 3);
	assert_string_equal(e[0].until, "2031-01-01");
	assert_int_equal(e[0].until_end, day);
	assert_int_equal(e[0].valid_from, now + 3600);
	assert_string_equal(e[0].kent_id, k.entitlement_id);
	assert_string_equal(e[0].ref, "PO 7");
	free(e);
	assert_int_equal(klic_ledger_entitlements(f->l, &e, &n, "KRE", now), 0);
	assert_int_equal(n, 0);
	free(e);
}

static void test_member_idempotent(void **state)
{
	struct fx *f = *state;
	int added = -1;
	int64_t rows = 0, bad = 0;

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(klic_ledger_is_member(f->l, FPR_A), KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_ledger_member_add(f->l, &added, FPR_A, "Ada", "a@x", 1900000000), 0);
	assert_int_equal(added, 1);
	assert_int_equal(klic_ledger_member_add(f->l, &added, FPR_A, "Ada", "a@x", 1900000001), 0);
	assert_int_equal(added, 0);
	assert_int_equal(klic_ledger_is_member(f->l, FPR_A), 0);
	assert_int_equal(klic_ledger_is_member(f->l, FPR_B), KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_ledger_member_add(f->l, &added, "abc", "x", "y", 1900000000),
			 KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), 0);
	assert_int_equal(rows, 1); /* one member-add, not two */
}

/* ---- eligibility decision table -------------------------------------------- */

static struct klic_entitlement ent(int64_t id, const char *product, const char *model,
				   const char *billing, unsigned seats, int64_t until_end,
				   unsigned used)
{
	struct klic_entitlement e;
	memset(&e, 0, sizeof e);
	e.id = id;
	snprintf(e.product, sizeof e.product, "%s", product);
	snprintf(e.model, sizeof e.model, "%s", model);
	snprintf(e.billing, sizeof e.billing, "%s", billing);
	e.seats = seats;
	e.until_end = until_end;
	snprintf(e.until, sizeof e.until, "2031-01-01");
	snprintf(e.kent_id, sizeof e.kent_id, "%032llx", (unsigned long long)id);
	e.used = used;
	return e;
}

#define NOW ((int64_t)1900000000)

static void expect_deny(const struct klic_entitlement *e, size_t n, unsigned seats,
			const char *code)
{
	struct klic_decision d;
	assert_int_equal(klic_eligibility_decide(&d, e, n, "KRE", seats, NOW), 0);
	assert_int_equal(d.issue, 0);
	assert_string_equal(d.reason_code, code);
	assert_true(strlen(d.reason) > 10);
	assert_true(klic_is_printable(d.reason, strlen(d.reason)));
}

static void test_eligibility_denials(void **state)
{
	struct klic_entitlement e[4];
	(void)state;

	expect_deny(NULL, 0, 1, "no-entitlement");
	e[0] = ent(1, "KSE", "node-locked", "yearly", 5, NOW + 400 * DAY, 0);
	expect_deny(e, 1, 1, "no-entitlement"); /* other product only */
	e[1] = ent(2, "KRE", "floating", "yearly", 5, NOW + 400 * DAY, 0);
	expect_deny(e, 2, 1, "floating");
	e[2] = ent(3, "KRE", "node-locked", "monthly", 5, NOW + 400 * DAY, 0);
	expect_deny(e, 3, 1, "monthly");
	e[3] = ent(4, "KRE", "node-locked", "yearly", 5, NOW, 0); /* ended exactly now */
	expect_deny(e, 4, 1, "entitlement-expired");
	e[3] = ent(4, "KRE", "node-locked", "yearly", 5, NOW + DAY, 4);
	expect_deny(e, 4, 2, "no-seats");
	e[3] = ent(4, "KRE", "node-locked", "yearly", 5, NOW + DAY, 9); /* over-used */
	expect_deny(e, 4, 1, "no-seats");
	/* not started yet, or a hand-typed row (no .kent): nothing to issue from */
	e[0] = ent(5, "KRE", "node-locked", "yearly", 5, NOW + 400 * DAY, 0);
	e[0].valid_from = NOW + 1;
	expect_deny(e, 1, 1, "no-entitlement");
	e[0].valid_from = NOW;
	e[0].kent_id[0] = '\0';
	expect_deny(e, 1, 1, "no-entitlement");
}

static void test_eligibility_period(void **state)
{
	struct klic_entitlement e[2];
	struct klic_decision d;
	(void)state;

	/* started exactly now; the license ends with the entitlement's real
	 * end, not at a day boundary */
	e[0] = ent(1, "KRE", "node-locked", "yearly", 5, NOW + 10 * DAY + 77, 0);
	e[0].valid_from = NOW;
	e[1] = ent(2, "KRE", "node-locked", "yearly", 5, NOW + 400 * DAY, 0);
	e[1].valid_from = NOW + 1; /* longer, but not yet started */
	assert_int_equal(klic_eligibility_decide(&d, e, 2, "KRE", 1, NOW), 0);
	assert_int_equal(d.issue, 1);
	assert_int_equal(d.entitlement_id, 1);
	assert_int_equal(d.expires, NOW + 10 * DAY + 77);
}

static void test_eligibility_issue_and_prefer_longest(void **state)
{
	struct klic_entitlement e[3];
	struct klic_decision d;
	(void)state;

	e[0] = ent(1, "KRE", "node-locked", "yearly", 5, NOW + 100 * DAY, 0);
	e[1] = ent(2, "KRE", "node-locked", "yearly", 5, NOW + 300 * DAY, 4);
	e[2] = ent(3, "KRE", "node-locked", "yearly", 5, NOW + 200 * DAY, 0);
	assert_int_equal(klic_eligibility_decide(&d, e, 3, "KRE", 1, NOW), 0);
	assert_int_equal(d.issue, 1);
	assert_int_equal(d.entitlement_id, 2); /* valid longest, has the 1 seat */
	assert_int_equal(d.expires, NOW + 60 * DAY);
	/* 2 seats: entitlement 2 has only 1 free, the next longest is 3 */
	assert_int_equal(klic_eligibility_decide(&d, e, 3, "KRE", 2, NOW), 0);
	assert_int_equal(d.issue, 1);
	assert_int_equal(d.entitlement_id, 3);
	/* no splitting a request across entitlements */
	assert_int_equal(klic_eligibility_decide(&d, e, 3, "KRE", 6, NOW), 0);
	assert_int_equal(d.issue, 0);
	assert_string_equal(d.reason_code, "no-seats");
}

static void test_expiry_cap(void **state)
{
	struct klic_entitlement e[1];
	struct klic_decision d;
	(void)state;

	e[0] = ent(1, "KRE", "node-locked", "yearly", 5, NOW + 10 * DAY, 0);
	assert_int_equal(klic_eligibility_decide(&d, e, 1, "KRE", 1, NOW), 0);
	assert_int_equal(d.issue, 1);
	assert_int_equal(d.expires, NOW + 10 * DAY); /* capped at the entitlement end */
	assert_int_equal(klic_license_expiry(NOW, NOW + 61 * DAY), NOW + 60 * DAY);
	assert_int_equal(klic_license_expiry(NOW, NOW + 1), NOW + 1);
}

static void test_semantics(void **state)
{
	struct klic_request r;
	struct klic_decision d;
	(void)state;

	memset(&r, 0, sizeof r);
	snprintf(r.product, sizeof r.product, "KSE");
	r.seats = 2;
	assert_int_equal(klic_request_semantics(&d, &r), 1);
	assert_string_equal(d.reason_code, "malformed-request");
	r.seats = 1;
	assert_int_equal(klic_request_semantics(&d, &r), 0);
	snprintf(r.product, sizeof r.product, "KRE");
	r.seats = 64;
	assert_int_equal(klic_request_semantics(&d, &r), 0);
	r.seats = 65;
	assert_int_equal(klic_request_semantics(&d, &r), 1);
}

/* Seats come back by themselves: a license counts until its expiry. */
static void test_seats_return_after_expiry(void **state)
{
	struct fx *f = *state;
	struct klic_entitlement *e = NULL;
	struct klic_decision d;
	int64_t id = 0;
	size_t n = 0;
	char dg[65];

	memset(dg, 'b', 64);
	dg[64] = '\0';
	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(
	    ent_add(f->l, &id, "KRE", "node-locked", "yearly", 1, "2035-01-01", "", NOW), 0);
	seed_license(f, dg, "0123456789abcdef0123456789abcdef", NOW, NOW + 60 * DAY, id);

	assert_int_equal(klic_ledger_entitlements(f->l, &e, &n, "KRE", NOW + 59 * DAY), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].used, 1);
	assert_int_equal(klic_eligibility_decide(&d, e, n, "KRE", 1, NOW + 59 * DAY), 0);
	assert_int_equal(d.issue, 0);
	assert_string_equal(d.reason_code, "no-seats");
	free(e);

	assert_int_equal(klic_ledger_entitlements(f->l, &e, &n, "KRE", NOW + 60 * DAY), 0);
	assert_int_equal(e[0].used, 0);
	assert_int_equal(klic_eligibility_decide(&d, e, n, "KRE", 1, NOW + 60 * DAY), 0);
	assert_int_equal(d.issue, 1);
	assert_int_equal(d.entitlement_id, id);
	free(e);
}

/* The seat counter (spec/ledger-3.sql) gives the same used seats as a full
 * count (a seat held until min(expires, ended), spec/ledger-7.sql) at every time, before and after its as_of, through inserts made
 * after a refresh; audit's recount catches a tampered counter. */
static int64_t full_count(struct fx *f, int64_t ent, int64_t t)
{
	struct klic_stmt *st = NULL;
	int64_t n;
	assert_int_equal(klic_ledger_stmt(f->l, &st,
					  "SELECT count(*) FROM licenses x WHERE "
					  "entitlement_id = ?1 AND coalesce((SELECT CASE WHEN "
					  "d.ended < x.expires THEN d.ended ELSE x.expires END "
					  "FROM license_ends d WHERE d.license_id = "
					  "x.license_id), x.expires) > ?2"),
			 0);
	klic_db_bind_int64(st, 1, ent);
	klic_db_bind_int64(st, 2, t);
	assert_int_equal(klic_db_step(st), KLIC_DB_ROW);
	n = klic_db_col_int64(st, 0);
	klic_ledger_stmt_done(f->l, st);
	return n;
}

static void check_used_everywhere(struct fx *f, int64_t ent)
{
	for (int64_t t = NOW - 5 * DAY; t <= NOW + 70 * DAY; t += DAY / 3) {
		struct klic_entitlement *e = NULL;
		size_t n = 0;
		assert_int_equal(klic_ledger_entitlements(f->l, &e, &n, "KRE", t), 0);
		assert_int_equal(n, 2);
		for (size_t i = 0; i < n; i++)
			if (e[i].id == ent && (int64_t)e[i].used != full_count(f, ent, t))
				fail_msg("used at %lld: %u, full count %lld", (long long)t,
					 e[i].used, (long long)full_count(f, ent, t));
		free(e);
	}
}

static void test_usage_counter(void **state)
{
	struct fx *f = *state;
	int64_t id = 0, other = 0, rows = 0;
	char dg[65], lid[33];

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(
	    ent_add(f->l, &id, "KRE", "node-locked", "yearly", 1000, "2035-01-01", "", NOW), 0);
	assert_int_equal(
	    ent_add(f->l, &other, "KRE", "node-locked", "yearly", 1000, "2035-01-01", "", NOW), 0);
	for (int k = 0; k < 40; k++) {
		snprintf(dg, sizeof dg, "%064x", k);
		snprintf(lid, sizeof lid, "%032x", k);
		seed_license(f, dg, lid, NOW - DAY, NOW + (k % 20) * DAY + k, k % 3 ? id : other);
	}
	/* no counter yet: counted in full */
	check_used_everywhere(f, id);
	/* a counter as of NOW + 7 days, then more licenses (the trigger) */
	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(klic_ledger_usage_refresh(f->l, "KRE", NOW + 7 * DAY), 0);
	assert_int_equal(klic_ledger_commit(f->l), 0);
	check_used_everywhere(f, id);
	for (int k = 40; k < 60; k++) {
		snprintf(dg, sizeof dg, "%064x", k);
		snprintf(lid, sizeof lid, "%032x", k);
		/* some expire before the counter's time, some after */
		seed_license(f, dg, lid, NOW, NOW + (k % 30) * DAY + 1, id);
	}
	check_used_everywhere(f, id);
	assert_int_equal(klic_ledger_usage_verify(f->l, &rows), 0);
	assert_int_equal(rows, 2);
	/* the clock went back: a counter ahead of now still counts right */
	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(klic_ledger_usage_refresh(f->l, "KRE", NOW + 40 * DAY), 0);
	assert_int_equal(klic_ledger_commit(f->l), 0);
	check_used_everywhere(f, id);
	assert_int_equal(klic_ledger_usage_verify(f->l, &rows), 0);
	/* a tampered counter is caught by the recount */
	test_raw(f->path, "UPDATE entitlement_usage SET active = active + 1 WHERE entitlement_id = 1");
	assert_int_equal(klic_ledger_usage_verify(f->l, &rows), KLIC_ERR_LEDGER);
	assert_non_null(strstr(klic_error_detail(), "entitlement 1:"));
}

/* spec/ledger-7.sql: a license ended early holds its seat until then; the
 * counter stays exact for ends before and after its as_of, and through a
 * refresh past them; ends are append-only, one per license, never before
 * the license was issued. */
static void test_license_ends(void **state)
{
	struct fx *f = *state;
	struct klic_license_row row;
	int64_t id = 0, other = 0, rows = 0;
	char dg[65], lid[33];
	int found = 0;

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(
	    ent_add(f->l, &id, "KRE", "node-locked", "yearly", 1000, "2035-01-01", "", NOW), 0);
	assert_int_equal(
	    ent_add(f->l, &other, "KRE", "node-locked", "yearly", 1000, "2035-01-01", "", NOW), 0);
	for (int k = 0; k < 40; k++) {
		snprintf(dg, sizeof dg, "%064x", k);
		snprintf(lid, sizeof lid, "%032x", k);
		seed_license(f, dg, lid, NOW - DAY, NOW + 20 * DAY + k, k % 3 ? id : other);
	}
	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(klic_ledger_usage_refresh(f->l, "KRE", NOW + 7 * DAY), 0);
	assert_int_equal(klic_ledger_commit(f->l), 0);
	/* ends before the counter's as_of (the trigger takes the seat back),
	 * at it, and after it (counted when the count moves past them) */
	for (int k = 0; k < 40; k += 2) {
		snprintf(lid, sizeof lid, "%032x", k);
		assert_int_equal(klic_ledger_license_end(f->l, lid, NOW + (k % 14) * DAY,
							 k % 4 ? "renewed" : "returned", DIGEST_D),
				 0);
	}
	check_used_everywhere(f, id);
	assert_int_equal(klic_ledger_usage_verify(f->l, &rows), 0);
	assert_int_equal(rows, 2);
	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(klic_ledger_usage_refresh(f->l, "KRE", NOW + 12 * DAY), 0);
	assert_int_equal(klic_ledger_commit(f->l), 0);
	check_used_everywhere(f, id);
	assert_int_equal(klic_ledger_usage_verify(f->l, &rows), 0);
	/* the row and its end */
	snprintf(lid, sizeof lid, "%032x", 2);
	assert_int_equal(klic_ledger_license_get(f->l, &row, &found, lid), 0);
	assert_int_equal(found, 1);
	assert_int_equal(row.ended, NOW + 2 * DAY);
	assert_string_equal(row.end_reason, "renewed");
	snprintf(lid, sizeof lid, "%032x", 1);
	assert_int_equal(klic_ledger_license_get(f->l, &row, &found, lid), 0);
	assert_int_equal(found, 1);
	assert_int_equal(row.ended, 0);
	assert_string_equal(row.end_reason, "");
	assert_int_equal(klic_ledger_license_get(f->l, &row, &found, LID_1), 0);
	assert_int_equal(found, 0);
	/* refused: a second end, an end before issue, an unknown reason or
	 * license, changing or removing an end */
	snprintf(lid, sizeof lid, "%032x", 2);
	assert_int_equal(klic_ledger_license_end(f->l, lid, NOW, "renewed", DIGEST_D),
			 KLIC_ERR_LEDGER);
	snprintf(lid, sizeof lid, "%032x", 1);
	assert_int_equal(klic_ledger_license_end(f->l, lid, NOW - 2 * DAY, "renewed", DIGEST_D),
			 KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_license_end(f->l, lid, NOW, "lost", DIGEST_D),
			 KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_license_end(f->l, LID_1, NOW, "renewed", DIGEST_D),
			 KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_exec(f->l, "UPDATE license_ends SET ended = 0"),
			 KLIC_ERR_LEDGER);
	assert_int_equal(klic_ledger_exec(f->l, "DELETE FROM license_ends"), KLIC_ERR_LEDGER);
	check_used_everywhere(f, id);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* License IDs (spec 1): 32 lower-case hex digits, the first 12 the time
 * they were made in milliseconds, the rest random: later ones sort later,
 * and two made in the same millisecond still differ. */
static void test_license_id(void **state)
{
	char id[64][33], ms_hex[13];
	uint64_t before, after, ms;

	(void)state;
	before = now_ms();
	for (int i = 0; i < 64; i++)
		assert_int_equal(klic_license_id_new(id[i]), 0);
	after = now_ms();
	for (int i = 0; i < 64; i++) {
		assert_int_equal(strlen(id[i]), 32);
		assert_int_equal(strspn(id[i], "0123456789abcdef"), 32);
		memcpy(ms_hex, id[i], 12);
		ms_hex[12] = '\0';
		ms = strtoull(ms_hex, NULL, 16);
		assert_true(ms >= before && ms <= after);
		for (int j = 0; j < i; j++) {
			assert_string_not_equal(id[i], id[j]);
			/* time order (same millisecond: either order) */
			assert_true(memcmp(id[j], id[i], 12) <= 0);
		}
	}
	/* the random part is not constant */
	assert_memory_not_equal(id[0] + 12, id[1] + 12, 20);
}

/* The connection's statement cache: a statement comes back reset and
 * unbound, the same SQL in use twice at once gets two statements, other
 * text at the same address another statement; results are those of fresh
 * statements. */
int main(void)
{
	pg_url = test_pg_url();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_and_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_from_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_from_1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_5_to_6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_version_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_file_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_only_triggers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_deleted_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_entitlement_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_idempotent, setup, teardown),
	    cmocka_unit_test(test_eligibility_denials),
	    cmocka_unit_test(test_eligibility_period),
	    cmocka_unit_test(test_eligibility_issue_and_prefer_longest),
	    cmocka_unit_test(test_expiry_cap),
	    cmocka_unit_test(test_semantics),
	    cmocka_unit_test_setup_teardown(test_seats_return_after_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_counter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_license_ends, setup, teardown),
	    cmocka_unit_test(test_license_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
