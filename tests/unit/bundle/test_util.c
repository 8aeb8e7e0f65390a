/* Unit tests: bundle/error.c and the helpers of klic_util.h (hash.c,
 * random.c, timefmt.c, files.c, atomic.c, text.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "klic_bundle.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/klic-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	/* remove the scratch directory (files only one level deep + dirs) */
	snprintf(cmd, sizeof cmd, "%s", tmpdir);
	DIR *d = opendir(cmd);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		char p[PATH_MAX];
		if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
		if (unlink(p) != 0) {
			char q[PATH_MAX + 8];
			snprintf(q, sizeof q, "%s/b/c", p);
			rmdir(q);
			snprintf(q, sizeof q, "%s/b", p);
			rmdir(q);
			rmdir(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	return 0;
}

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static size_t count_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	size_t n = 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_errors(void **state)
{
	static const int codes[] = {
		KLIC_OK, KLIC_ERR_INTERNAL, KLIC_ERR_NOMEM, KLIC_ERR_IO, KLIC_ERR_INVALID_ARG,
		KLIC_ERR_NOT_FOUND, KLIC_ERR_EXISTS, KLIC_ERR_TOO_BIG, KLIC_ERR_ARCHIVE_FORMAT,
		KLIC_ERR_ARCHIVE_TRUNCATED, KLIC_ERR_ARCHIVE_TRAILING, KLIC_ERR_MEMBER_NAME,
		KLIC_ERR_MEMBER_TYPE, KLIC_ERR_MEMBER_DUP, KLIC_ERR_MEMBER_SIZE, KLIC_ERR_MEMBER_COUNT,
		KLIC_ERR_MEMBER_MISSING, KLIC_ERR_UNPACKED_SIZE, KLIC_ERR_MEMBER_HASH,
		KLIC_ERR_MEMBER_UNLISTED, KLIC_ERR_JSON, KLIC_ERR_TYPE_TAG, KLIC_ERR_VERSION,
		KLIC_ERR_FIELD, KLIC_ERR_MACHINE_ID, KLIC_ERR_LICENSE_FORMAT, KLIC_ERR_SIG_NONE,
		KLIC_ERR_SIG_MULTIPLE, KLIC_ERR_SIG_BAD, KLIC_ERR_SIG_UNKNOWN_KEY,
		KLIC_ERR_SIG_WRONG_KEY, KLIC_ERR_SIG_KEY_EXPIRED, KLIC_ERR_SIG_KEY_REVOKED,
		KLIC_ERR_SIG_ALGO, KLIC_ERR_SIG_EXPIRED, KLIC_ERR_KEY, KLIC_ERR_GPG,
		KLIC_ERR_PASSPHRASE, KLIC_ERR_WRONG_MACHINE, KLIC_ERR_NOT_PENDING,
		KLIC_ERR_LICENSE_EXPIRED, KLIC_ERR_LICENSE_FUTURE, KLIC_ERR_CLOCK, KLIC_ERR_DENIED,
		KLIC_ERR_OLDER, KLIC_ERR_MISMATCH, KLIC_ERR_NOT_MEMBER, KLIC_ERR_LEDGER,
		KLIC_ERR_NOT_ISSUER, KLIC_ERR_NO_MACHINE_ID,
	};
	size_t n = sizeof codes / sizeof codes[0];
	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(klic_strerror(codes[i]), "unknown error");
		assert_string_not_equal(klic_errname(codes[i]), "KLIC_ERR_UNKNOWN");
		for (size_t j = 0; j < i; j++) {
			assert_string_not_equal(klic_errname(codes[i]), klic_errname(codes[j]));
			assert_string_not_equal(klic_strerror(codes[i]), klic_strerror(codes[j]));
		}
	}
	assert_string_equal(klic_errname(KLIC_ERR_SIG_BAD), "KLIC_ERR_SIG_BAD");
	assert_string_equal(klic_strerror(-999), "unknown error");
	assert_int_equal(klic_exit_code(KLIC_OK), 0);
	assert_int_equal(klic_exit_code(KLIC_ERR_SIG_BAD), 1);
	assert_int_equal(klic_exit_code(KLIC_ERR_TOO_BIG), 1);
	assert_int_equal(klic_exit_code(KLIC_ERR_MEMBER_NAME), 1);
	assert_int_equal(klic_exit_code(KLIC_ERR_INVALID_ARG), 2);
	assert_int_equal(klic_exit_code(KLIC_ERR_IO), 3);
	assert_int_equal(klic_exit_code(KLIC_ERR_NOMEM), 3);
	assert_int_equal(klic_exit_code(KLIC_ERR_NOT_FOUND), 3);
	assert_int_equal(klic_exit_code(KLIC_ERR_GPG), 3);
	assert_int_equal(klic_exit_code(KLIC_ERR_INTERNAL), 4);
	assert_int_equal(klic_exit_code(KLIC_ERR_LEDGER), 4);
	assert_int_equal(klic_exit_code(-999), 4);

	assert_int_equal(klic_error_set(KLIC_ERR_IO, "file %s", "x"), KLIC_ERR_IO);
	assert_int_equal(klic_error_code(), KLIC_ERR_IO);
	assert_string_equal(klic_error_detail(), "file x");
	char big[2000];
	memset(big, 'z', sizeof big);
	big[sizeof big - 1] = 0;
	klic_error_set(KLIC_ERR_IO, "%s", big);
	assert_int_equal(strlen(klic_error_detail()), 511);
	klic_error_clear();
	assert_int_equal(klic_error_code(), 0);
	assert_string_equal(klic_error_detail(), "");
}

static void *thread_fn(void *arg)
{
	(void)arg;
	klic_error_set(KLIC_ERR_SIG_BAD, "in thread");
	return NULL;
}

static void test_error_thread_local(void **state)
{
	pthread_t t;
	(void)state;
	klic_error_set(KLIC_ERR_JSON, "main");
	assert_int_equal(pthread_create(&t, NULL, thread_fn, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(klic_error_code(), KLIC_ERR_JSON);
	assert_string_equal(klic_error_detail(), "main");
}

static void test_sha256_hex(void **state)
{
	char hex[65];
	uint8_t raw[3] = {0x00, 0xab, 0xff};
	(void)state;
	assert_int_equal(klic_sha256_hex(hex, "abc", 3), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(klic_sha256_hex(hex, "", 0), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	klic_hex(hex, raw, 3);
	assert_string_equal(hex, "00abff");
	assert_true(klic_is_hex("00abff", 6));
	assert_false(klic_is_hex("00ABff", 6));
	assert_false(klic_is_hex("00abfg", 6));
	assert_false(klic_is_hex("00ab", 6));
	assert_true(klic_is_printable("a ~", 3));
	assert_false(klic_is_printable("a\tb", 3));
	assert_false(klic_is_printable("a\x7f", 2));
	assert_false(klic_is_printable("\xc3\xa9", 2));
	uint8_t r1[32] = {0}, r2[32] = {0};
	assert_int_equal(klic_random(r1, sizeof r1), 0);
	assert_int_equal(klic_random(r2, sizeof r2), 0);
	assert_memory_not_equal(r1, r2, sizeof r1);
	klic_wipe(r1, sizeof r1);
	assert_memory_equal(r1, (uint8_t[32]){0}, 32);
}

/* Names as people write them: UTF-8 text, saying why and where it is not. */
static void test_utf8_text(void **state)
{
	static const struct {
		const char *s;
		int how;
		size_t at;
	} cases[] = {
	    {"Zo\xc3\xab M\xc3\xbcller", 0, 12},  /* Zoë Müller */
	    {"\xe6\x9d\x8e\xe9\x9b\xb7", 0, 6}, /* 李雷 */
	    {"\xf0\x9f\x94\x91 key", 0, 8},       /* U+1F511 */
	    {"a\tb", 2, 1},
	    {"a\x7f", 2, 1},
	    {"ab\xc2\x85", 2, 2},            /* U+0085 (C1) */
	    {"a\xc3", 1, 1},                  /* truncated */
	    {"a\xc0\xaf", 1, 1},              /* overlong '/' */
	    {"\xed\xa0\x80", 1, 0},           /* a surrogate */
	    {"\xf4\x90\x80\x80", 1, 0},       /* above U+10FFFF */
	    {"\xff", 1, 0},
	    {"admin\xe2\x80\xae", 3, 5},      /* U+202E right-to-left override */
	    {"x\xe2\x81\xa6y", 3, 1},          /* U+2066 */
	    {"x\xe2\x80\xa8", 3, 1},           /* U+2028 line separator */
	    {"\xe2\x80\x8f", 3, 0},           /* U+200F */
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t at = 999;
		size_t n = strlen(cases[i].s);
		assert_int_equal(klic_utf8_text_check(cases[i].s, n, &at), cases[i].how);
		assert_int_equal(at, cases[i].at);
		assert_int_equal(klic_text_utf8_ok(cases[i].s, n), cases[i].how == 0);
	}
}

/* The one HTML escape: the five characters that mean something in HTML
 * text or a quoted attribute become entities, every byte that is not
 * printable ASCII (controls, DEL, UTF-8 bytes) a '?', all else itself. */
static void test_html_char(void **state)
{
	char buf[256] = "";
	const char *in = "a&<b>\"c'\t\x7f\xc3\xa9 z";
	size_t n = 0;

	(void)state;
	for (const char *p = in; *p != '\0'; p++) {
		const char *e = klic_html_char(*p);
		char one[2] = {*p, '\0'};
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", e != NULL ? e : one);
	}
	assert_string_equal(buf, "a&amp;&lt;b&gt;&quot;c&#39;???? z");
	for (int c = 0; c < 256; c++) { /* every byte, as a (signed) char */
		const char *e = klic_html_char((char)c);
		if (c < 0x20 || c >= 0x7f)
			assert_string_equal(e, "?");
		else if (c == '&' || c == '<' || c == '>' || c == '"' || c == '\'')
			assert_non_null(e);
		else
			assert_null(e);
	}
}

static void test_times(void **state)
{
	char s[KLIC_TIME_LEN + 1];
	int64_t t;
	static const char *const bad[] = {
		"2026-11-22T18:00:00", "2026-11-22T18:00:00z", "2026-11-22 18:00:00Z",
		"2023-02-29T00:00:00Z", "1999-12-31T23:59:59Z", "2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-22T24:00:00Z",
		"2026-11-22T18:60:00Z", "2026-11-22T18:00:60Z", "2026-11-22T18:00:00Z ",
		"+026-11-22T18:00:00Z", "2026-11-22T18:00:00.5Z", "", "2100-02-29T00:00:00Z",
	};
	(void)state;
	assert_int_equal(klic_time_parse(&t, "2026-11-22T18:00:00Z"), 0);
	assert_int_equal(t, 1795370400); /* python3 calendar.timegm */
	assert_int_equal(klic_time_parse(&t, "2024-02-29T12:34:56Z"), 0);
	assert_int_equal(t, 1709210096);
	assert_int_equal(klic_time_parse(&t, "2000-02-29T00:00:00Z"), 0);
	assert_int_equal(klic_time_parse(&t, "9999-12-31T23:59:59Z"), 0);
	assert_int_equal(t, 253402300799);
	assert_int_equal(klic_time_format(s, 253402300799), 0);
	assert_string_equal(s, "9999-12-31T23:59:59Z");
	assert_int_equal(klic_time_format(s, 946684800), 0);
	assert_string_equal(s, "2000-01-01T00:00:00Z");
	assert_int_equal(klic_time_format(s, 946684799), KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_time_format(s, 253402300800), KLIC_ERR_INVALID_ARG);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(klic_time_parse(&t, bad[i]), KLIC_ERR_FIELD);
	/* round trip over a range of seconds */
	for (int64_t x = 946684800; x < 4102444800; x += 86399 * 37 + 13) {
		assert_int_equal(klic_time_format(s, x), 0);
		assert_int_equal(klic_time_parse(&t, s), 0);
		assert_int_equal(t, x);
	}
	assert_int_equal(klic_date_parse(&t, "2026-11-22"), 0);
	assert_int_equal(t, 1795370400 - 18 * 3600);
	assert_int_equal(klic_date_parse(&t, "2026-02-30"), KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_date_parse(&t, "2026-11-22T"), KLIC_ERR_INVALID_ARG);
	assert_true(klic_now() > 1700000000);
}

static void test_read_file(void **state)
{
	char p[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 99;
	(void)state;
	path(p, sizeof p, "f");
	assert_int_equal(klic_write_atomic(p, "0123456789", 10, 0644, 0), 0);
	assert_int_equal(klic_read_file(&buf, &len, p, 10), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(buf[10], 0);
	free(buf);
	assert_int_equal(klic_read_file(&buf, &len, p, 9), KLIC_ERR_TOO_BIG);
	assert_null(buf);
	path(p, sizeof p, "empty");
	assert_int_equal(klic_write_atomic(p, "", 0, 0644, 0), 0);
	assert_int_equal(klic_read_file(&buf, &len, p, 0), 0);
	assert_int_equal(len, 0);
	free(buf);
	assert_int_equal(klic_read_file(&buf, &len, tmpdir, 100), KLIC_ERR_IO);
	path(p, sizeof p, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(klic_read_file(&buf, &len, p, 100), KLIC_ERR_IO); /* no hang */
	unlink(p);
	path(p, sizeof p, "nope");
	assert_int_equal(klic_read_file(&buf, &len, p, 100), KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_read_file(&buf, &len, "/dev/zero", 100), KLIC_ERR_IO);
}

static void test_write_atomic(void **state)
{
	char p[PATH_MAX], q[PATH_MAX];
	struct stat st;
	uint8_t *buf;
	size_t len;
	mode_t old = umask(077);
	size_t base = count_entries();
	(void)state;
	path(p, sizeof p, "out.lic");
	assert_int_equal(klic_write_atomic(p, "one", 3, 0644, KLIC_WRITE_NOREPLACE), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644); /* not narrowed by umask */
	assert_int_equal(klic_write_atomic(p, "two", 3, 0600, KLIC_WRITE_NOREPLACE),
			 KLIC_ERR_EXISTS);
	assert_int_equal(klic_read_file(&buf, &len, p, 100), 0);
	assert_memory_equal(buf, "one", 3); /* untouched */
	free(buf);
	assert_int_equal(klic_write_atomic(p, "three", 5, 0600, 0), 0);
	assert_int_equal(klic_read_file(&buf, &len, p, 100), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "three", 5);
	free(buf);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(), base + 1); /* no temp file left */
	/* a symlink at the target is replaced, never followed */
	path(q, sizeof q, "link");
	assert_int_equal(symlink(p, q), 0);
	assert_int_equal(klic_write_atomic(q, "four", 4, 0644, 0), 0);
	assert_int_equal(lstat(q, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(klic_read_file(&buf, &len, p, 100), 0);
	assert_memory_equal(buf, "three", 5);
	free(buf);
	unlink(q);
	/* missing directory: I/O error, nothing created */
	path(q, sizeof q, "nodir/x");
	assert_int_equal(klic_write_atomic(q, "x", 1, 0644, 0), KLIC_ERR_IO);
	/* a directory at the target */
	path(q, sizeof q, "d");
	assert_int_equal(mkdir(q, 0700), 0);
	assert_int_equal(klic_write_atomic(q, "x", 1, 0644, 0), KLIC_ERR_IO);
	assert_int_equal(count_entries(), base + 2);
	rmdir(q);
	assert_int_equal(klic_write_atomic("", "x", 1, 0644, 0), KLIC_ERR_INVALID_ARG);
	umask(old);
}

static void test_mkdir_p(void **state)
{
	char p[PATH_MAX], q[PATH_MAX];
	struct stat st;
	(void)state;
	path(p, sizeof p, "m/b/c");
	assert_int_equal(klic_mkdir_p(p, 0700), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(klic_mkdir_p(p, 0700), 0); /* exists: fine */
	path(q, sizeof q, "m/b/c/");
	assert_int_equal(klic_mkdir_p(q, 0700), 0);
	path(q, sizeof q, "file");
	assert_int_equal(klic_write_atomic(q, "x", 1, 0644, 0), 0);
	path(q, sizeof q, "file/sub");
	assert_int_equal(klic_mkdir_p(q, 0700), KLIC_ERR_IO);
	path(q, sizeof q, "file");
	unlink(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_thread_local),
		cmocka_unit_test(test_sha256_hex),
		cmocka_unit_test(test_utf8_text), cmocka_unit_test(test_html_char),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_mkdir_p),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
