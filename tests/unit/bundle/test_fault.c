/* Fault injection seam of klic_write_atomic (built only with
 * -DKLIC_FAULT_INJECTION=ON): each injected failure returns KLIC_ERR_IO,
 * leaves the target as it was and no temporary file behind. */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "klic_bundle.h"

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void expect_content(const char *p, const char *want)
{
	uint8_t *b;
	size_t n;
	assert_int_equal(klic_read_file(&b, &n, p, 100), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(b, want, n);
	free(b);
}

static void test_faults(void **state)
{
	char dir[] = "/tmp/klic-XXXXXX", p[PATH_MAX];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof p, "%s/KRE.lic", dir);
	unsetenv("KLIC_FAULT_INJECT");
	assert_int_equal(klic_write_atomic(p, "old", 3, 0644, 0), 0);

	static const char *const faults[] = {"write:1", "fsync:1", "rename:1"};
	for (size_t i = 0; i < 3; i++) {
		setenv("KLIC_FAULT_INJECT", faults[i], 1);
		assert_int_equal(klic_write_atomic(p, "new", 3, 0644, 0), KLIC_ERR_IO);
		expect_content(p, "old");
		assert_int_equal(entries(dir), 1);
	}
	/* counted per process: the 2nd write call from now fails (1 so far) */
	setenv("KLIC_FAULT_INJECT", "write:2", 1);
	assert_int_equal(klic_write_atomic(p, "new", 3, 0644, 0), KLIC_ERR_IO);
	expect_content(p, "old");
	/* values that are not "what:N" inject nothing */
	setenv("KLIC_FAULT_INJECT", "write:x", 1);
	assert_int_equal(klic_write_atomic(p, "v2", 2, 0644, 0), 0);
	expect_content(p, "v2");
	unsetenv("KLIC_FAULT_INJECT");
	unlink(p);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_faults)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
