/* Unit tests of the license check's state (request/runtime/): the trusted
 * clock is best effort and never moves backwards, even with many updates at
 * once; the vendor key folder is trusted only when root's and writable by
 * nobody else (needs root for the ownership cases: skipped otherwise); the
 * chain check refuses without vendor keys. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <ftw.h>

#include "klic_check.h"

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)chmod(p, 0700);
	(void)remove(p);
	return 0;
}

static void rm_tree(const char *dir)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* 8 processes at once, each moving the clock to its own time, 20 times:
 * the record ends at the latest, and every reader meanwhile sees a whole,
 * never decreasing record. */
static void test_clock_concurrent(void **state)
{
	char home[] = "/tmp/klic-ut-XXXXXX";
	enum klic_clock_state st;
	int64_t base = 1900000000, t = 0;
	pid_t kids[8];

	(void)state;
	assert_non_null(mkdtemp(home));
	assert_int_equal(klic_clock_load(&t, &st, home), 0);
	assert_int_equal(st, KLIC_CLOCK_MISSING);
	assert_int_equal(t, 0);
	for (int k = 0; k < 8; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			int64_t seen = 0, cur;
			enum klic_clock_state s2;
			for (int i = 0; i < 20; i++) {
				(void)klic_clock_update(home, base + k * 20 + i);
				if (klic_clock_load(&cur, &s2, home) != 0 || cur < seen)
					_exit(1);
				seen = cur;
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 8; k++) {
		int ws = 0;
		assert_int_equal(waitpid(kids[k], &ws, 0), kids[k]);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	assert_int_equal(klic_clock_load(&t, &st, home), 0);
	assert_int_equal(st, KLIC_CLOCK_RECORD);
	assert_true(t == base + 7 * 20 + 19);
	/* never backwards */
	assert_int_equal(klic_clock_update(home, base), 0);
	assert_int_equal(klic_clock_load(&t, &st, home), 0);
	assert_true(t == base + 7 * 20 + 19);
	rm_tree(home);
}

/* A home that cannot be written: the update fails (callers ignore it), the
 * record stays missing, the load is not an error. */
static void test_clock_read_only(void **state)
{
	char home[] = "/tmp/klic-ut-XXXXXX", klic[64];
	enum klic_clock_state st;
	int64_t t = 1;

	(void)state;
	if (geteuid() == 0)
		skip(); /* root writes through modes */
	assert_non_null(mkdtemp(home));
	snprintf(klic, sizeof klic, "%s/klic", home);
	assert_int_equal(mkdir(klic, 0500), 0);
	assert_int_not_equal(klic_clock_update(home, 1900000000), 0);
	assert_int_equal(klic_clock_load(&t, &st, home), 0);
	assert_int_equal(st, KLIC_CLOCK_MISSING);
	rm_tree(home);
}

/* A malformed record is an error (KLIC_ERR_CLOCK), not silently repaired. */
static void test_clock_malformed(void **state)
{
	char home[] = "/tmp/klic-ut-XXXXXX", path[96];
	enum klic_clock_state st;
	int64_t t;

	(void)state;
	assert_non_null(mkdtemp(home));
	snprintf(path, sizeof path, "%s/klic", home);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/klic/clock", home);
	put(path, "yesterday\n", 0600);
	assert_int_equal(klic_clock_load(&t, &st, home), KLIC_ERR_CLOCK);
	assert_int_equal(klic_clock_update(home, 1900000000), KLIC_ERR_CLOCK);
	rm_tree(home);
}

/* The vendor folder: parent, folder and key file root's, not group/other
 * writable, the right types; the detail names the path and why. */
static void test_vendor_folder(void **state)
{
	char top[] = "/tmp/klic-ut-XXXXXX", dir[96], key[128], path[KLIC_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int absent = 0;

	(void)state;
	if (geteuid() != 0)
		skip(); /* the files must be root's */
	assert_non_null(mkdtemp(top));
	assert_int_equal(chmod(top, 0755), 0);
	snprintf(dir, sizeof dir, "%s/vendors", top);
	snprintf(key, sizeof key, "%s/KRE.asc", dir);
	assert_int_equal(klic_vendor_key_load(&buf, &len, path, &absent, dir, "KRE"),
			 KLIC_ERR_NO_VENDOR);
	assert_int_equal(absent, 1);
	assert_non_null(strstr(klic_error_detail(), "vendors: missing"));
	assert_int_equal(mkdir(dir, 0755), 0);
	put(key, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", 0644);
	assert_int_equal(klic_vendor_key_load(&buf, &len, path, &absent, dir, "KRE"), 0);
	assert_string_equal(path, key);
	assert_true(len > 0 && absent == 0);
	free(buf);
	buf = NULL;
	assert_int_equal(klic_vendor_key_load(&buf, &len, path, &absent, dir, "KSE"),
			 KLIC_ERR_NO_VENDOR);
	assert_int_equal(absent, 1);
	/* group-writable key, other-writable folder, parent owned by a user */
	assert_int_equal(chmod(key, 0664), 0);
	assert_int_equal(klic_vendor_key_load(&buf, &len, path, &absent, dir, "KRE"),
			 KLIC_ERR_NO_VENDOR);
	assert_non_null(strstr(klic_error_detail(), "KRE.asc: writable by group or others"));
	assert_int_equal(absent, 0);
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(chmod(dir, 0757), 0);
	assert_int_equal(klic_vendor_key_load(&buf, &len, path, &absent, dir, "KRE"),
			 KLIC_ERR_NO_VENDOR);
	assert_non_null(strstr(klic_error_detail(), "vendors: writable by group or others"));
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chown(top, 65534, 65534), 0);
	assert_int_equal(klic_vendor_key_load(&buf, &len, path, &absent, dir, "KRE"),
			 KLIC_ERR_NO_VENDOR);
	assert_non_null(strstr(klic_error_detail(), "owned by uid 65534, not by root"));
	assert_int_equal(chown(top, 0, 0), 0);
	/* a symbolic link is not the key */
	assert_int_equal(unlink(key), 0);
	assert_int_equal(symlink("/etc/hostname", key), 0);
	assert_int_equal(klic_vendor_key_load(&buf, &len, path, &absent, dir, "KRE"),
			 KLIC_ERR_NO_VENDOR);
	assert_non_null(strstr(klic_error_detail(), "not a regular file"));
	assert_null(buf);
	assert_int_equal(klic_vendor_key_load(&buf, &len, path, &absent, "relative", "KRE"),
			 KLIC_ERR_INVALID_ARG);
	rm_tree(top);
}

/* No vendor key, no check; a key that is not one is refused. */
static void test_chain_needs_anchor(void **state)
{
	struct klic_chain *c = NULL;
	const uint8_t *junk[1] = {(const uint8_t *)"not a key"};

	(void)state;
	assert_int_equal(klic_chain_new(&c, NULL, NULL, 0), KLIC_ERR_NO_VENDOR);
	assert_null(c);
	assert_int_not_equal(klic_chain_new(&c, junk, NULL, 1), 0);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clock_concurrent),   cmocka_unit_test(test_clock_read_only),
	    cmocka_unit_test(test_clock_malformed),    cmocka_unit_test(test_vendor_folder),
	    cmocka_unit_test(test_chain_needs_anchor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
