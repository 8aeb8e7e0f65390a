/* Unit tests for response/: the ledger's engine layer (ledger_db.h): the
 * statement cache, ledger migrate (klic_ledger_copy) into the test's
 * engine, migration 10 on either engine, and a lost session revived.
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

#define NOW 1900000000

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

/* ledger migrate: a SQLite ledger copied into the test's engine (a
 * second SQLite file, or the PostgreSQL database) row for row; the chain
 * verifies on the copy, the seats agree, a second copy is refused. */
static int count_lic(void *ctx, const struct klic_license_row *row)
{
	(void)row;
	(*(int *)ctx)++;
	return 0;
}

static void test_copy(void **state)
{
	struct fx *f = *state;
	struct klic_ledger *src = NULL;
	struct klic_entitlement *e1 = NULL, *e2 = NULL;
	struct klic_list_filter lf;
	char src_path[128], dg[65], lid[33], v[64];
	int64_t id = 0, rows = 0, audit = 0, bad = 0;
	size_t n1 = 0, n2 = 0;
	int added = 0, c1 = 0, c2 = 0;

	snprintf(src_path, sizeof src_path, "%s/src.sqlite", f->dir);
	if (pg_url == NULL)
		snprintf(f->path, sizeof f->path, "%s/copy.sqlite", f->dir);
	assert_int_equal(klic_ledger_open(&src, src_path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(klic_ledger_meta_set(src, "org", "Org"), 0);
	assert_int_equal(
	    ent_add(src, &id, "KRE", "node-locked", "yearly", 50, "2035-01-01", "PO", NOW), 0);
	assert_int_equal(klic_ledger_member_add(src, &added, FPR_A, "Zoë", "z@x", NOW), 0);
	assert_int_equal(klic_ledger_begin(src), 0);
	assert_int_equal(klic_ledger_usage_refresh(src, "KRE", NOW), 0);
	assert_int_equal(klic_ledger_commit(src), 0);
	for (int k = 0; k < 30; k++) {
		char sql[1024];
		snprintf(dg, sizeof dg, "%064x", k);
		snprintf(lid, sizeof lid, "%032x", k);
		snprintf(sql, sizeof sql,
			 "INSERT INTO requests(digest, member_fpr, machine_id, product, seats, "
			 "status, entitlement_id, created, response) VALUES ('%s', '%s', 'M', "
			 "'KRE', 1, 'issued', %lld, '2030-01-01T00:00:00Z', x'00ff%02x');"
			 "INSERT INTO licenses(license_id, request_digest, seat, machine_id, "
			 "product, issued, expires, entitlement_id, member_fpr, file) VALUES ('%s',"
			 " '%s', 1, 'M', 'KRE', %lld, %lld, %lld, '%s', 'KRE_M.lic');",
			 dg, FPR_A, (long long)id, k, lid, dg, (long long)NOW,
			 (long long)(NOW + (k + 1) * DAY), (long long)id, FPR_A);
		assert_int_equal(klic_ledger_exec(src, sql), 0);
		assert_int_equal(klic_ledger_audit_append(src, NOW + k, "issued", dg, "i"), 0);
	}
	assert_int_equal(klic_ledger_license_end(src, "00000000000000000000000000000003",
						 NOW + DAY / 2, "returned", DIGEST_D),
			 0);
	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	if (klic_ledger_copy(f->l, src, &rows, &audit) != 0)
		fail_msg("copy: %s", klic_error_detail());
	assert_int_equal(audit, 32);
	assert_true(rows > 60);
	assert_int_equal(klic_ledger_audit_verify(f->l, &rows, &bad), 0);
	assert_int_equal(rows, 32);
	assert_int_equal(klic_ledger_usage_verify(f->l, &rows), 0);
	assert_int_equal(klic_ledger_meta_get(f->l, "org", v, sizeof v), 0);
	assert_string_equal(v, "Org");
	for (int64_t t = NOW; t < NOW + 40 * DAY; t += 5 * DAY) {
		assert_int_equal(klic_ledger_entitlements(src, &e1, &n1, "KRE", t), 0);
		assert_int_equal(klic_ledger_entitlements(f->l, &e2, &n2, "KRE", t), 0);
		assert_int_equal(n1, 1);
		assert_int_equal(n2, 1);
		assert_int_equal(e1[0].used, e2[0].used);
		assert_int_equal(e1[0].id, e2[0].id);
		free(e1);
		free(e2);
	}
	memset(&lf, 0, sizeof lf);
	assert_int_equal(klic_ledger_list(src, &lf, count_lic, &c1), 0);
	assert_int_equal(klic_ledger_list(f->l, &lf, count_lic, &c2), 0);
	assert_int_equal(c1, 30);
	assert_int_equal(c2, 30);
	/* the stored responses, byte for byte */
	{
		struct klic_request_row row;
		snprintf(dg, sizeof dg, "%064x", 7);
		assert_int_equal(klic_ledger_request_get(f->l, &row, dg), 0);
		assert_int_equal(row.response_len, 3);
		assert_memory_equal(row.response, "\x00\xff\x07", 3);
		free(row.response);
	}
	/* a new entitlement continues after the copied ids */
	assert_int_equal(
	    ent_add(f->l, &id, "KSE", "node-locked", "yearly", 5, "2035-01-01", "PO2", NOW), 0);
	assert_int_equal(id, 2);
	/* not into a ledger that holds rows */
	assert_int_equal(klic_ledger_copy(f->l, src, &rows, &audit), KLIC_ERR_EXISTS);
	klic_ledger_free(src);
}

static void test_stmt_cache(void **state)
{
	struct fx *f = *state;
	struct klic_stmt *a, *b, *c, *first;
	static const char q[] = "SELECT ?1 + 1";
	char buf[64];

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(klic_ledger_stmt(f->l, &a, q), 0);
	first = a;
	klic_db_bind_int64(a, 1, 41);
	assert_int_equal(klic_db_step(a), KLIC_DB_ROW);
	assert_int_equal(klic_db_col_int64(a, 0), 42);
	/* in use: the same text gets another statement */
	assert_int_equal(klic_ledger_stmt(f->l, &b, q), 0);
	assert_ptr_not_equal(a, b);
	assert_int_equal(klic_db_step(b), KLIC_DB_ROW);
	assert_true(klic_db_col_is_null(b, 0)); /* ?1 unbound */
	klic_ledger_stmt_done(f->l, b);
	klic_ledger_stmt_done(f->l, a);
	/* given back: the same one again, reset (steps from the start) and
	 * with its bindings cleared */
	assert_int_equal(klic_ledger_stmt(f->l, &c, q), 0);
	assert_ptr_equal(c, first);
	assert_int_equal(klic_db_step(c), KLIC_DB_ROW);
	assert_true(klic_db_col_is_null(c, 0));
	klic_ledger_stmt_done(f->l, c);
	/* other text at the same address: another statement */
	snprintf(buf, sizeof buf, "SELECT 7");
	assert_int_equal(klic_ledger_stmt(f->l, &a, buf), 0);
	assert_int_equal(klic_db_step(a), KLIC_DB_ROW);
	assert_int_equal(klic_db_col_int64(a, 0), 7);
	klic_ledger_stmt_done(f->l, a);
	snprintf(buf, sizeof buf, "SELECT 8");
	assert_int_equal(klic_ledger_stmt(f->l, &b, buf), 0);
	assert_int_equal(klic_db_step(b), KLIC_DB_ROW);
	assert_int_equal(klic_db_col_int64(b, 0), 8);
	klic_ledger_stmt_done(f->l, b);
	/* more statements in use at once than the cache holds: the extra
	 * ones are finalized when given back; then as many other texts as
	 * the cache holds, one at a time: idle entries make room */
	{
		struct klic_stmt *many[40];
		char texts[40][32];
		for (int i = 0; i < 40; i++) {
			snprintf(texts[i], sizeof texts[i], "SELECT %d", i);
			assert_int_equal(klic_ledger_stmt(f->l, &many[i], texts[i]), 0);
			assert_int_equal(klic_db_step(many[i]), KLIC_DB_ROW);
			assert_int_equal(klic_db_col_int64(many[i], 0), i);
		}
		for (int i = 0; i < 40; i++)
			klic_ledger_stmt_done(f->l, many[i]);
		for (int i = 0; i < 80; i++) {
			snprintf(buf, sizeof buf, "SELECT %d + 1000", i);
			assert_int_equal(klic_ledger_stmt(f->l, &a, buf), 0);
			assert_int_equal(klic_db_step(a), KLIC_DB_ROW);
			assert_int_equal(klic_db_col_int64(a, 0), i + 1000);
			klic_ledger_stmt_done(f->l, a);
		}
		/* a literal still comes back cached after all that churn */
		assert_int_equal(klic_ledger_stmt(f->l, &a, q), 0);
		klic_ledger_stmt_done(f->l, a);
		assert_int_equal(klic_ledger_stmt(f->l, &b, q), 0);
		assert_ptr_equal(a, b);
		klic_ledger_stmt_done(f->l, b);
	}
	/* a bad statement is an error, not a cache entry */
	assert_int_equal(klic_ledger_stmt(f->l, &a, "SELEC 1"), KLIC_ERR_LEDGER);
	assert_null(a);
	/* transactions through the cached BEGIN IMMEDIATE / COMMIT */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(klic_ledger_begin(f->l), 0);
		assert_int_equal(klic_ledger_meta_set(f->l, "cache-test", i ? "b" : "a"), 0);
		assert_int_equal(klic_ledger_commit(f->l), 0);
	}
	assert_int_equal(klic_ledger_meta_get(f->l, "cache-test", buf, sizeof buf), 0);
	assert_string_equal(buf, "b");
	klic_ledger_free(f->l);
	f->l = NULL;
}

/* A PostgreSQL ledger is shown without its password, whatever the URI
 * holds; a server that is not there is one error line naming no
 * password; on PostgreSQL a "?1" inside quotes stays text. */
static void test_pg_names(void **state)
{
	struct klic_db *db = NULL;
	char out[512];

	(void)state;
	klic_db_display(out, sizeof out, "postgresql://ann:s3cret@db.example:5433/klic");
	assert_string_equal(out, "postgresql://ann@db.example:5433/klic");
	klic_db_display(out, sizeof out, "postgres://ann:s3cret@/klic?host=/tmp/x&sslmode=disable");
	assert_string_equal(out, "postgresql://ann@/klic?host=/tmp/x");
	klic_db_display(out, sizeof out, "postgresql:///klic?password=s3cret&host=/tmp/y");
	assert_string_equal(out, "postgresql:///klic?host=/tmp/y");
	klic_ledger_display(out, sizeof out, "postgresql://ann:s3cret@h/k");
	assert_string_equal(out, "ledger postgresql://ann@h/k");
	klic_ledger_display(out, sizeof out, "/var/lib/x/ledger.sqlite");
	assert_string_equal(out, "/var/lib/x/ledger.sqlite");
	assert_int_equal(
	    klic_db_open(&db, "postgresql://ann:s3cret@/klic?host=/nonexistent-klic", 0),
	    KLIC_ERR_LEDGER);
	assert_null(db);
	assert_null(strstr(klic_error_detail(), "s3cret"));
	assert_non_null(strstr(klic_error_detail(), "/nonexistent-klic"));
	assert_null(strchr(klic_error_detail(), '\n'));
	if (pg_url != NULL) {
		struct klic_stmt *st = NULL;
		assert_int_equal(klic_db_open(&db, pg_url, 0), 0);
		assert_int_equal(klic_db_prepare(db, &st, "SELECT '?1', ?1 || 'b', 'it''s ?2'"), 0);
		klic_db_bind_text(st, 1, "a", -1);
		assert_int_equal(klic_db_step(st), KLIC_DB_ROW);
		assert_string_equal(klic_db_col_text(st, 0), "?1");
		assert_string_equal(klic_db_col_text(st, 1), "ab");
		assert_string_equal(klic_db_col_text(st, 2), "it's ?2");
		assert_int_equal(klic_db_step(st), KLIC_DB_DONE);
		klic_db_finalize(st);
		/* COMMIT of a failed transaction is a failure, not a commit */
		assert_int_equal(klic_db_begin_write(db), 0);
		assert_int_not_equal(klic_db_exec(db, "SELECT 1/0"), 0);
		assert_int_not_equal(klic_db_commit(db), 0);
		assert_int_equal(klic_db_in_transaction(db), 0);
		/* the server ends the connection inside a writer: one line, no
		 * commit, and nothing breaks on the way out */
		{
			struct klic_db *other = NULL;
			char sql[96];
			assert_int_equal(klic_db_prepare(db, &st, "SELECT pg_backend_pid()"), 0);
			assert_int_equal(klic_db_step(st), KLIC_DB_ROW);
			snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)",
				 (long long)klic_db_col_int64(st, 0));
			klic_db_finalize(st);
			assert_int_equal(klic_db_begin_write(db), 0);
			assert_int_equal(klic_db_open(&other, pg_url, 0), 0);
			assert_int_equal(klic_db_exec(other, sql), 0);
			klic_db_close(other);
			assert_int_not_equal(klic_db_exec(db, "SELECT 1"), 0);
			klic_db_err(db, "after");
			assert_null(strchr(klic_error_detail(), '\n'));
			assert_int_not_equal(klic_db_commit(db), 0);
			klic_db_rollback(db);
		}
		klic_db_close(db);
	}
}

/* Migration 10 (spec/ledger-10.sql, ledger-pg-10.sql): a schema-9 ledger
 * (the column dropped again, the version set back) gets licenses.issuer_fpr,
 * '' for the licenses it held, and keeps them; a license row then names its
 * issuer key (40 hex digits) or none, nothing else, and stays append-only. */
static void test_migrate_9_to_10(void **state)
{
	struct fx *f = *state;
	struct klic_license_row row;
	int64_t id = 0;
	int found = 0, v = -1;
	char sql[1024];

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(
	    ent_add(f->l, &id, "KRE", "node-locked", "yearly", 10, "2035-01-01", "", NOW), 0);
	snprintf(
	    sql, sizeof sql,
	    "INSERT INTO requests(digest, member_fpr, machine_id, product, seats, status,"
	    " entitlement_id, created) VALUES ('%s', '%s', 'M', 'KRE', 1, 'issued', %lld,"
	    " '2030-01-01T00:00:00Z');"
	    "INSERT INTO licenses(license_id, request_digest, seat, machine_id, product, issued,"
	    " expires, entitlement_id, member_fpr) VALUES ('%s', '%s', 1, 'M', 'KRE', %lld,"
	    " %lld, %lld, '%s');",
	    DIGEST_D, FPR_A, (long long)id, LID_1, DIGEST_D, (long long)NOW, (long long)NOW + 86400,
	    (long long)id, FPR_A);
	assert_int_equal(klic_ledger_exec(f->l, sql), 0);
	klic_ledger_free(f->l);
	f->l = NULL;
	test_raw(f->path, "ALTER TABLE licenses DROP COLUMN issuer_fpr");
	test_raw(f->path, pg_url ? "UPDATE meta SET value = '9' WHERE key = 'ledger_version'"
			    : "PRAGMA user_version = 9");
	assert_int_equal(klic_ledger_open(&f->l, f->path, 0), 0);
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(klic_ledger_license_get(f->l, &row, &found, LID_1), 0);
	assert_int_equal(found, 1);
	assert_string_equal(row.issuer_fpr, "");
	assert_int_equal(row.expires, NOW + 86400);
	/* a license issued now names its issuer; a bad fingerprint is refused */
	snprintf(sql, sizeof sql,
		 "INSERT INTO licenses(license_id, request_digest, seat, machine_id, product, "
		 "issued, expires, entitlement_id, member_fpr, issuer_fpr) VALUES ('%s', '%s', 2, "
		 "'M', 'KRE', %lld, %lld, %lld, '%s', '%s')",
		 LID_2, DIGEST_D, (long long)NOW, (long long)NOW + 86400, (long long)id, FPR_A,
		 FPR_B);
	assert_int_equal(klic_ledger_exec(f->l, sql), 0);
	assert_int_equal(klic_ledger_license_get(f->l, &row, &found, LID_2), 0);
	assert_string_equal(row.issuer_fpr, FPR_B);
	/* anything but 40 upper-case hex digits: the CHECK refuses it */
	{
		static const char *const bad[] = {"ABC", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
						  "=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
						  "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB,"};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			snprintf(
			    sql, sizeof sql,
			    "INSERT INTO licenses(license_id, request_digest, seat, machine_id,"
			    " product, issued, expires, entitlement_id, member_fpr, issuer_fpr)"
			    " VALUES ('%032zx', '%s', %zu, 'M', 'KRE', %lld, %lld, %lld, '%s', "
			    "'%s')",
			    i + 100, DIGEST_D, i + 3, (long long)NOW, (long long)NOW + 86400,
			    (long long)id, FPR_A, bad[i]);
			assert_int_equal(klic_ledger_exec(f->l, sql), KLIC_ERR_LEDGER);
			/* SQLite names the CHECK's text, PostgreSQL its name */
			assert_non_null(strstr(klic_error_detail(), "issuer_fpr"));
		}
	}
	assert_int_equal(klic_ledger_exec(f->l, "UPDATE licenses SET issuer_fpr = ''"),
			 KLIC_ERR_LEDGER);
}

/* klic_ledger_revive (the web console, before each request): a ledger
 * whose session is there stays as it is; on PostgreSQL a session the
 * server ended (its backend terminated, as a restart does) is noticed by
 * the first failing statement, or by revive's own probe, and replaced by
 * a new one whose statements work, the cached ones prepared afresh. */
static void test_revive(void **state)
{
	static const char kill_others[] =
	    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	    "WHERE pid <> pg_backend_pid() AND datname = current_database()";
	struct fx *f = *state;
	char org[32];
	int v = -1;

	assert_int_equal(klic_ledger_open(&f->l, f->path, KLIC_LEDGER_CREATE), 0);
	assert_int_equal(klic_ledger_meta_set(f->l, "org", "Revive Org"), 0);
	assert_int_equal(klic_ledger_revive(f->l), 0);
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(klic_ledger_lost(f->l), 0);
	assert_int_equal(klic_ledger_meta_get(f->l, "org", org, sizeof org), 0); /* cached */
	/* a transaction a caller left open is rolled back, not carried on */
	assert_int_equal(klic_ledger_begin(f->l), 0);
	assert_int_equal(klic_ledger_meta_set(f->l, "org", "Not Kept"), 0);
	assert_int_equal(klic_ledger_revive(f->l), 0);
	assert_int_equal(klic_ledger_meta_get(f->l, "org", org, sizeof org), 0);
	assert_string_equal(org, "Revive Org");
	assert_int_equal(klic_ledger_begin(f->l), 0);
	klic_ledger_rollback(f->l);
	if (pg_url == NULL)
		return; /* an embedded engine has no session to lose */
	/* the first statement after the end of the session fails and says so */
	test_raw(f->path, kill_others);
	assert_int_not_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(klic_ledger_lost(f->l), 1);
	assert_int_equal(klic_ledger_revive(f->l), 0);
	assert_int_equal(klic_ledger_lost(f->l), 0);
	v = -1;
	assert_int_equal(klic_ledger_version(f->l, &v), 0);
	assert_int_equal(v, KLIC_LEDGER_VERSION);
	/* a statement cached (prepared) by the old session works in the new,
	 * and the new session has klic's settings (jit off) */
	assert_int_equal(klic_ledger_meta_get(f->l, "org", org, sizeof org), 0);
	assert_string_equal(org, "Revive Org");
	{
		struct klic_stmt *st = NULL;
		assert_int_equal(klic_ledger_stmt(f->l, &st, "SELECT current_setting('jit')"), 0);
		assert_int_equal(klic_db_step(st), KLIC_DB_ROW);
		assert_string_equal(klic_ledger_col_text(st, 0), "off");
		klic_ledger_stmt_done(f->l, st);
	}
	/* revive's probe finds the session gone before any statement does */
	test_raw(f->path, kill_others);
	assert_int_equal(klic_ledger_revive(f->l), 0);
	org[0] = '\0';
	assert_int_equal(klic_ledger_meta_get(f->l, "org", org, sizeof org), 0);
	assert_string_equal(org, "Revive Org");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stmt_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
	    cmocka_unit_test(test_pg_names),
	    cmocka_unit_test_setup_teardown(test_migrate_9_to_10, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revive, setup, teardown),
	};
	pg_url = test_pg_url();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
