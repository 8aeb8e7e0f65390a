/* Unit tests for the user side: home folder per OS, machine ID sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "klic_user.h"

static const char *fake_env[][2] = {{NULL, NULL}, {NULL, NULL}, {NULL, NULL}};

static const char *env_fake(const char *name)
{
	for (size_t i = 0; i < 3; i++)
		if (fake_env[i][0] != NULL && strcmp(fake_env[i][0], name) == 0)
			return fake_env[i][1];
	return NULL;
}

static void set_env(const char *k0, const char *v0, const char *k1, const char *v1)
{
	memset(fake_env, 0, sizeof(fake_env));
	fake_env[0][0] = k0;
	fake_env[0][1] = v0;
	fake_env[1][0] = k1;
	fake_env[1][1] = v1;
}

static void test_home_linux_macos(void **state)
{
	char out[KLIC_PATH_MAX];
	(void)state;
	set_env("HOME", "/home/ada", NULL, NULL);
	assert_int_equal(klic_home_default(out, KLIC_OS_LINUX, env_fake), 0);
	assert_string_equal(out, "/home/ada/.katalon");
	set_env("HOME", "/Users/ada", NULL, NULL);
	assert_int_equal(klic_home_default(out, KLIC_OS_MACOS, env_fake), 0);
	assert_string_equal(out, "/Users/ada/.katalon");
	set_env(NULL, NULL, NULL, NULL);
	assert_int_equal(klic_home_default(out, KLIC_OS_LINUX, env_fake), KLIC_ERR_NOT_FOUND);
}

static void test_home_windows(void **state)
{
	char out[KLIC_PATH_MAX];
	(void)state;
	set_env("USERPROFILE", "C:\\Users\\ada", "HOME", "/ignored");
	assert_int_equal(klic_home_default(out, KLIC_OS_WINDOWS, env_fake), 0);
	assert_string_equal(out, "C:\\Users\\ada\\.katalon");
	set_env("HOME", "/ignored", NULL, NULL);
	assert_int_equal(klic_home_default(out, KLIC_OS_WINDOWS, env_fake), KLIC_ERR_NOT_FOUND);
}

static void test_home_override(void **state)
{
	char out[KLIC_PATH_MAX];
	(void)state;
	set_env("KLIC_HOME", "/srv/klic", "HOME", "/home/ada");
	assert_int_equal(klic_home_default(out, KLIC_OS_LINUX, env_fake), 0);
	assert_string_equal(out, "/srv/klic");
	set_env("KLIC_HOME", "D:\\klic", "USERPROFILE", "C:\\Users\\ada");
	assert_int_equal(klic_home_default(out, KLIC_OS_WINDOWS, env_fake), 0);
	assert_string_equal(out, "D:\\klic");
	set_env("KLIC_HOME", "", "HOME", "/home/ada");
	assert_int_equal(klic_home_default(out, KLIC_OS_LINUX, env_fake), 0);
	assert_string_equal(out, "/home/ada/.katalon");
}

static int write_tmp(char path[64], const char *content)
{
	snprintf(path, 64, "/tmp/klic-mid-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, content, strlen(content));
	close(fd);
	return n == (ssize_t)strlen(content) ? 0 : -1;
}

static void test_machine_id_file(void **state)
{
	char path[64], a[KLIC_MACHINE_ID_LEN + 1], b[KLIC_MACHINE_ID_LEN + 1];
	(void)state;
	assert_int_equal(write_tmp(path, "0123456789abcdef0123456789abcdef\n"), 0);
	assert_int_equal(klic_machine_id_from_file(a, path), 0);
	assert_int_equal(klic_machine_id_check(a), 0);
	unlink(path);
	assert_int_equal(write_tmp(path, "0123456789abcdef0123456789abcdef"), 0);
	assert_int_equal(klic_machine_id_from_file(b, path), 0);
	assert_string_equal(a, b); /* newline optional, same ID */
	unlink(path);
	assert_int_equal(write_tmp(path, "fedcba9876543210fedcba9876543210\n"), 0);
	assert_int_equal(klic_machine_id_from_file(b, path), 0);
	assert_string_not_equal(a, b);
	unlink(path);
	static const char *bad[] = {"", "\n", "0123456789ABCDEF0123456789ABCDEF\n",
				    "0123456789abcdef0123456789abcde\n",
				    "0123456789abcdef0123456789abcdef\n\n", "not a machine id at all!!!!!!!!!\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(write_tmp(path, bad[i]), 0);
		assert_int_not_equal(klic_machine_id_from_file(b, path), 0);
		unlink(path);
	}
	assert_int_not_equal(klic_machine_id_from_file(b, "/nonexistent/machine-id"), 0);
}

static void test_clock(void **state)
{
	char home[64];
	struct klic_user u;
	int64_t now = klic_now();
	(void)state;
	snprintf(home, sizeof(home), "/tmp/klic-clock-XXXXXX");
	assert_non_null(mkdtemp(home));
	assert_int_equal(klic_user_setup(&u, home, NULL, NULL), 0);
	/* no clock file yet: any time is accepted */
	assert_int_equal(klic_user_clock_check(&u, 1000000000), 0);
	assert_int_equal(klic_user_clock_advance(&u, now), 0);
	assert_int_equal(klic_user_clock_check(&u, now), 0);
	assert_int_equal(klic_user_clock_check(&u, now - KLIC_CLOCK_SKEW), 0);
	assert_int_equal(klic_user_clock_check(&u, now - KLIC_CLOCK_SKEW - 1), KLIC_ERR_CLOCK);
	assert_int_equal(klic_user_clock_check(&u, now - 86400), KLIC_ERR_CLOCK);
	/* the clock never moves backwards */
	assert_int_equal(klic_user_clock_advance(&u, now - 86400), 0);
	assert_int_equal(klic_user_clock_check(&u, now - 86400), KLIC_ERR_CLOCK);
	assert_int_equal(klic_user_clock_advance(&u, now + 3600), 0);
	assert_int_equal(klic_user_clock_check(&u, now), KLIC_ERR_CLOCK);
	/* a corrupted clock file is an error, not "no clock" */
	char path[128];
	snprintf(path, sizeof(path), "%s/klic/clock", home);
	assert_int_equal(klic_write_atomic(path, "garbage\n", 8, 0600, 0), 0);
	assert_int_equal(klic_user_clock_check(&u, now + 7200), KLIC_ERR_CLOCK);
	unlink(path);
	snprintf(path, sizeof(path), "%s/klic", home);
	rmdir(path);
	rmdir(home);
	klic_user_dispose(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_linux_macos),
		cmocka_unit_test(test_home_windows),
		cmocka_unit_test(test_home_override),
		cmocka_unit_test(test_machine_id_file),
		cmocka_unit_test(test_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
