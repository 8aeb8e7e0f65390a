/* Unit tests for klic_request: home folder per OS, machine ID from a file,
 * pending store, slot selection, trusted clock, issuers file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "klic_request.h"

/* ---- fake environment ----------------------------------------------------- */
static const char *fake_env[4][2];
static const char *fake_pw;

static const char *env_fake(const char *name)
{
	for (size_t i = 0; i < 4; i++)
		if (fake_env[i][0] != NULL && strcmp(fake_env[i][0], name) == 0)
			return fake_env[i][1];
	return NULL;
}

static const char *pw_fake(void)
{
	return fake_pw;
}

static void set_env(const char *k0, const char *v0, const char *k1, const char *v1)
{
	memset(fake_env, 0, sizeof(fake_env));
	fake_env[0][0] = k0;
	fake_env[0][1] = v0;
	fake_env[1][0] = k1;
	fake_env[1][1] = v1;
	fake_pw = NULL;
}

static void test_home_linux_macos(void **state)
{
	char out[KLIC_PATH_MAX];
	(void)state;
	set_env("HOME", "/home/ada", "USERPROFILE", "C:\\ignored");
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, NULL, env_fake, pw_fake), 0);
	assert_string_equal(out, "/home/ada/.katalon");
	set_env("HOME", "/Users/ada", NULL, NULL);
	assert_int_equal(klic_home_resolve(out, KLIC_OS_MACOS, NULL, env_fake, pw_fake), 0);
	assert_string_equal(out, "/Users/ada/.katalon");
	assert_int_equal(klic_home_license_dir(out, KLIC_OS_MACOS, "/Users/ada/.katalon"), 0);
	assert_string_equal(out, "/Users/ada/.katalon/license");
	/* HOME unset or empty: the password database */
	set_env("HOME", "", NULL, NULL);
	fake_pw = "/var/lib/ada";
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, NULL, env_fake, pw_fake), 0);
	assert_string_equal(out, "/var/lib/ada/.katalon");
	set_env(NULL, NULL, NULL, NULL);
	fake_pw = "/";
	assert_int_equal(klic_home_resolve(out, KLIC_OS_MACOS, NULL, env_fake, pw_fake), 0);
	assert_string_equal(out, "/.katalon");
	/* nothing at all */
	set_env(NULL, NULL, NULL, NULL);
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, NULL, env_fake, pw_fake),
			 KLIC_ERR_NOT_FOUND);
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, NULL, env_fake, NULL),
			 KLIC_ERR_NOT_FOUND);
	assert_string_equal(out, "");
}

static void test_home_windows(void **state)
{
	char out[KLIC_PATH_MAX];
	(void)state;
	set_env("USERPROFILE", "C:\\Users\\ada", "HOME", "/ignored");
	assert_int_equal(klic_home_resolve(out, KLIC_OS_WINDOWS, NULL, env_fake, pw_fake), 0);
	assert_string_equal(out, "C:\\Users\\ada\\.katalon");
	assert_int_equal(klic_home_license_dir(out, KLIC_OS_WINDOWS, "C:\\Users\\ada\\.katalon"), 0);
	assert_string_equal(out, "C:\\Users\\ada\\.katalon\\license");
	/* HOME and the password database are not used on Windows */
	set_env("HOME", "/ignored", NULL, NULL);
	fake_pw = "/ignored";
	assert_int_equal(klic_home_resolve(out, KLIC_OS_WINDOWS, NULL, env_fake, pw_fake),
			 KLIC_ERR_NOT_FOUND);
	set_env("USERPROFILE", "", NULL, NULL);
	assert_int_equal(klic_home_resolve(out, KLIC_OS_WINDOWS, NULL, env_fake, pw_fake),
			 KLIC_ERR_NOT_FOUND);
}

static void test_home_override(void **state)
{
	char out[KLIC_PATH_MAX], big[KLIC_PATH_MAX + 10];
	(void)state;
	set_env("KLIC_HOME", "/srv/klic", "HOME", "/home/ada");
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, NULL, env_fake, pw_fake), 0);
	assert_string_equal(out, "/srv/klic");
	/* --home wins over KLIC_HOME */
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, "/opt/h", env_fake, pw_fake), 0);
	assert_string_equal(out, "/opt/h");
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, "", env_fake, pw_fake),
			 KLIC_ERR_INVALID_ARG);
	set_env("KLIC_HOME", "D:\\klic", "USERPROFILE", "C:\\Users\\ada");
	assert_int_equal(klic_home_resolve(out, KLIC_OS_WINDOWS, NULL, env_fake, pw_fake), 0);
	assert_string_equal(out, "D:\\klic");
	assert_int_equal(klic_home_resolve(out, KLIC_OS_WINDOWS, "E:\\k", env_fake, pw_fake), 0);
	assert_string_equal(out, "E:\\k");
	/* empty KLIC_HOME is ignored */
	set_env("KLIC_HOME", "", "HOME", "/home/ada");
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, NULL, env_fake, pw_fake), 0);
	assert_string_equal(out, "/home/ada/.katalon");
	/* too long */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, big, env_fake, pw_fake),
			 KLIC_ERR_INVALID_ARG);
	set_env("HOME", big, NULL, NULL);
	assert_int_equal(klic_home_resolve(out, KLIC_OS_LINUX, NULL, env_fake, pw_fake),
			 KLIC_ERR_INVALID_ARG);
}

/* ---- machine ID from a file -------------------------------------------------- */
static int write_tmp(char path[64], const char *content, size_t len)
{
	snprintf(path, 64, "/tmp/klic-mid-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, content, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int mid_from(char out[KLIC_MACHINE_ID_LEN + 1], const char *content, size_t len)
{
	char path[64];
	int r;
	if (write_tmp(path, content, len) != 0)
		return 12345;
	r = klic_machine_id_from_file(out, path);
	unlink(path);
	return r;
}

static void test_machine_id_file(void **state)
{
	char a[KLIC_MACHINE_ID_LEN + 1], b[KLIC_MACHINE_ID_LEN + 1];
	static const char good[] = "0123456789abcdef0123456789abcdef\n";
	(void)state;
	assert_int_equal(mid_from(a, good, 33), 0);
	assert_int_equal(klic_machine_id_check(a), 0);
	assert_int_equal(strlen(a), KLIC_MACHINE_ID_LEN);
	/* the trailing newline is optional and does not change the ID */
	assert_int_equal(mid_from(b, good, 32), 0);
	assert_string_equal(a, b);
	/* another machine-id, another ID */
	assert_int_equal(mid_from(b, "fedcba9876543210fedcba9876543210\n", 33), 0);
	assert_string_not_equal(a, b);
	/* refused: empty, garbage, upper case hex, short, two newlines, CRLF, NUL */
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{"", 0},
		{"\n", 1},
		{"0123456789ABCDEF0123456789ABCDEF\n", 33},
		{"0123456789abcdef0123456789abcde\n", 32},
		{"0123456789abcdef0123456789abcdef\n\n", 34},
		{"0123456789abcdef0123456789abcdef\r\n", 34},
		{"0123456789abcdef0123456789abcdef0\n", 34},
		{"0123456789abcdef\0" "123456789abcdef\n", 33},
		{"not a machine id at all!!!!!!!!!\n", 33},
		{" 0123456789abcdef0123456789abcdef", 33},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mid_from(b, bad[i].s, bad[i].len), KLIC_ERR_NO_MACHINE_ID);
		assert_string_equal(b, "");
	}
	/* a large file is refused without reading it all */
	char *large = malloc(100000);
	assert_non_null(large);
	memset(large, 'a', 100000);
	assert_int_equal(mid_from(b, large, 100000), KLIC_ERR_NO_MACHINE_ID);
	free(large);
	assert_int_equal(klic_machine_id_from_file(b, "/nonexistent/machine-id"),
			 KLIC_ERR_NOT_FOUND);
}

/* ---- sandbox helpers ---------------------------------------------------------- */
static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_request(struct klic_request *r, const char *product, unsigned seats)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->product, sizeof(r->product), "%s", product);
	r->seats = seats;
	assert_int_equal(klic_machine_id_derive(r->machine_id, "0123456789abcdef0123456789abcdef\n",
						33),
			 0);
	memset(r->nonce, 'a', KLIC_SHA256_HEX_LEN);
	r->created = klic_now();
	memset(r->requester_fpr, 'A', KLIC_FPR_HEX_LEN);
	memset(r->requester_key_sha256, 'b', KLIC_SHA256_HEX_LEN);
	snprintf(r->hostname, sizeof(r->hostname), "host");
}

static void test_pending(void **state)
{
	char home[64], digest[KLIC_SHA256_HEX_LEN + 1], path[256], other[KLIC_SHA256_HEX_LEN + 1];
	struct klic_request req, back;
	char *m = NULL;
	size_t mlen = 0;
	struct stat st;
	(void)state;

	snprintf(home, sizeof(home), "/tmp/klic-pend-XXXXXX");
	assert_non_null(mkdtemp(home));
	make_request(&req, "KRE", 3);
	assert_int_equal(klic_request_manifest_build(&m, &mlen, &req), 0);
	assert_int_equal(klic_pending_store(home, digest, (const uint8_t *)m, mlen), 0);
	assert_int_equal(klic_sha256_hex(other, m, mlen), 0);
	assert_string_equal(digest, other);
	snprintf(path, sizeof(path), "%s/klic/pending/%s.json", home, digest);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((int)st.st_size, (int)mlen);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* load gives back what was stored */
	assert_int_equal(klic_pending_load(&back, home, digest), 0);
	assert_string_equal(back.product, "KRE");
	assert_int_equal(back.seats, 3);
	assert_string_equal(back.machine_id, req.machine_id);
	assert_string_equal(back.requester_fpr, req.requester_fpr);
	/* unknown digest: not pending */
	memset(other, 'c', KLIC_SHA256_HEX_LEN);
	assert_int_equal(klic_pending_load(&back, home, other), KLIC_ERR_NOT_PENDING);
	assert_string_equal(back.product, "");
	/* not a digest at all (path tricks) */
	assert_int_equal(klic_pending_load(&back, home, "../../etc/passwd"), KLIC_ERR_INVALID_ARG);
	/* a record whose bytes no longer hash to its name is not pending */
	assert_int_equal(klic_write_atomic(path, "{}\n", 3, 0600, 0), 0);
	assert_int_equal(klic_pending_load(&back, home, digest), KLIC_ERR_NOT_PENDING);
	free(m);
	rm_rf(home);
}

/* ---- slot selection ---------------------------------------------------------- */
static void slot_set(struct klic_slot_info *s, int exists, int valid, const char *id,
		     int64_t expires)
{
	memset(s, 0, sizeof(*s));
	s->exists = exists;
	s->valid = valid;
	if (id != NULL)
		snprintf(s->license_id, sizeof(s->license_id), "%s", id);
	s->expires = expires;
}

#define ID_NEW "0000000000000000000000000000000a"
#define ID_OLD "0000000000000000000000000000000b"
#define ID_OLD2 "0000000000000000000000000000000c"

static void test_slot(void **state)
{
	struct klic_slot_info s;
	enum klic_slot_action act;
	(void)state;

	/* nothing at the name: write */
	slot_set(&s, 0, 0, NULL, 0);
	assert_int_equal(klic_slot_decide(&act, &s, ID_NEW, 2000), 0);
	assert_int_equal(act, KLIC_SLOT_WRITE);
	/* the same license already there: present, nothing to write */
	slot_set(&s, 1, 1, ID_NEW, 2000);
	assert_int_equal(klic_slot_decide(&act, &s, ID_NEW, 2000), 0);
	assert_int_equal(act, KLIC_SLOT_PRESENT);
	/* an expired / invalid / unreadable file is replaced */
	slot_set(&s, 1, 0, ID_OLD, 1000);
	assert_int_equal(klic_slot_decide(&act, &s, ID_NEW, 2000), 0);
	assert_int_equal(act, KLIC_SLOT_WRITE);
	slot_set(&s, 1, 0, NULL, 0);
	assert_int_equal(klic_slot_decide(&act, &s, ID_NEW, 2000), 0);
	assert_int_equal(act, KLIC_SLOT_WRITE);
	/* even an expired copy of the same license is rewritten */
	slot_set(&s, 1, 0, ID_NEW, 2000);
	assert_int_equal(klic_slot_decide(&act, &s, ID_NEW, 2000), 0);
	assert_int_equal(act, KLIC_SLOT_WRITE);
	/* another valid license is never overwritten: older, or not */
	slot_set(&s, 1, 1, ID_OLD, 3000);
	act = KLIC_SLOT_WRITE;
	assert_int_equal(klic_slot_decide(&act, &s, ID_NEW, 2000), KLIC_ERR_OLDER);
	assert_int_equal(act, 0);
	slot_set(&s, 1, 1, ID_OLD, 1500);
	assert_int_equal(klic_slot_decide(&act, &s, ID_NEW, 2000), KLIC_ERR_EXISTS);
	slot_set(&s, 1, 1, ID_OLD2, 2000);
	assert_int_equal(klic_slot_decide(&act, &s, ID_NEW, 2000), KLIC_ERR_EXISTS);
	/* arguments */
	assert_int_equal(klic_slot_decide(&act, NULL, ID_NEW, 2000), KLIC_ERR_INVALID_ARG);
	assert_int_equal(klic_slot_decide(&act, &s, "", 2000), KLIC_ERR_INVALID_ARG);
}

/* ---- clock ----------------------------------------------------------------- */
static void test_clock_rule(void **state)
{
	(void)state;
	assert_int_equal(klic_clock_rule(1000, 0), 0); /* no trusted time yet */
	assert_int_equal(klic_clock_rule(2000000000, 2000000000), 0);
	assert_int_equal(klic_clock_rule(2000000000 - KLIC_CLOCK_SKEW, 2000000000), 0);
	assert_int_equal(klic_clock_rule(2000000000 - KLIC_CLOCK_SKEW - 1, 2000000000),
			 KLIC_ERR_CLOCK);
	assert_int_equal(klic_clock_rule(2000000000 + 86400, 2000000000), 0);
}

static void test_clock_file(void **state)
{
	char home[64], path[128];
	struct klic_user u;
	int64_t now = klic_now(), t;
	struct stat st;
	(void)state;
	snprintf(home, sizeof(home), "/tmp/klic-clock-XXXXXX");
	assert_non_null(mkdtemp(home));
	assert_int_equal(klic_user_setup(&u, home, NULL, NULL), 0);
	/* setup created nothing */
	snprintf(path, sizeof(path), "%s/klic", home);
	assert_int_not_equal(stat(path, &st), 0);
	/* no clock file yet: any time is accepted */
	assert_int_equal(klic_clock_read(&t, home), 0);
	assert_int_equal(t, 0);
	assert_int_equal(klic_user_clock_check(&u, 1000000000), 0);
	assert_int_equal(klic_user_clock_advance(&u, now), 0);
	assert_int_equal(klic_clock_read(&t, home), 0);
	assert_int_equal(t, now);
	assert_int_equal(klic_user_clock_check(&u, now), 0);
	assert_int_equal(klic_user_clock_check(&u, now - KLIC_CLOCK_SKEW), 0);
	assert_int_equal(klic_user_clock_check(&u, now - KLIC_CLOCK_SKEW - 1), KLIC_ERR_CLOCK);
	/* the clock never moves backwards */
	assert_int_equal(klic_user_clock_advance(&u, now - 86400), 0);
	assert_int_equal(klic_clock_read(&t, home), 0);
	assert_int_equal(t, now);
	assert_int_equal(klic_user_clock_advance(&u, now + 3600), 0);
	assert_int_equal(klic_user_clock_check(&u, now), KLIC_ERR_CLOCK);
	/* a corrupted clock file is an error, not "no clock" */
	snprintf(path, sizeof(path), "%s/klic/clock", home);
	assert_int_equal(klic_write_atomic(path, "garbage\n", 8, 0600, 0), 0);
	assert_int_equal(klic_user_clock_check(&u, now + 7200), KLIC_ERR_CLOCK);
	assert_int_equal(klic_user_clock_advance(&u, now + 7200), KLIC_ERR_CLOCK);
	assert_int_equal(klic_write_atomic(path, "2030-01-01T00:00:00Z", 20, 0600, 0), 0);
	assert_int_equal(klic_user_clock_check(&u, now + 7200), KLIC_ERR_CLOCK);
	klic_user_dispose(&u);
	rm_rf(home);
}

/* ---- issuers file and small helpers -------------------------------------------- */
static void test_issuers_file(void **state)
{
	char home[64], path[128];
	struct klic_user u;
	static const char one[] = "0123456789ABCDEF0123456789ABCDEF01234567\n";
	(void)state;
	snprintf(home, sizeof(home), "/tmp/klic-iss-XXXXXX");
	assert_non_null(mkdtemp(home));
	snprintf(path, sizeof(path), "%s/klic", home);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/klic/issuers", home);
	assert_int_equal(klic_write_atomic(path, one, strlen(one), 0644, 0), 0);
	assert_int_equal(klic_user_setup(&u, home, NULL, NULL), 0);
	assert_int_equal(u.n_issuers, 1);
	assert_string_equal(u.issuers[0], "0123456789ABCDEF0123456789ABCDEF01234567");
	klic_user_dispose(&u);
	static const char *bad[] = {
		"0123456789abcdef0123456789ABCDEF01234567\n", /* lower case */
		"0123456789ABCDEF0123456789ABCDEF01234567",   /* no newline */
		"0123456789ABCDEF0123456789ABCDEF0123456\n",
		"0123456789ABCDEF0123456789ABCDEF01234567\n\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(klic_write_atomic(path, bad[i], strlen(bad[i]), 0644, 0), 0);
		assert_int_equal(klic_user_setup(&u, home, NULL, NULL), KLIC_ERR_FIELD);
		assert_int_equal(u.n_issuers, 0);
		klic_user_dispose(&u);
	}
	rm_rf(home);
}

static void test_hostname(void **state)
{
	char out[KLIC_MAX_HOSTNAME + 1], big[400];
	(void)state;
	klic_hostname_sanitize(out, "build-01.lab");
	assert_string_equal(out, "build-01.lab");
	klic_hostname_sanitize(out, "a\tb\x1b[31m\xc3\xa9");
	assert_string_equal(out, "a?b?[31m??");
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	klic_hostname_sanitize(out, big);
	assert_int_equal(strlen(out), KLIC_MAX_HOSTNAME);
	klic_hostname_sanitize(out, "");
	assert_string_equal(out, "");
}

static void test_license_reason(void **state)
{
	(void)state;
	assert_string_equal(klic_license_reason(0), "valid");
	assert_string_equal(klic_license_reason(KLIC_ERR_SIG_BAD), "bad signature");
	assert_string_equal(klic_license_reason(KLIC_ERR_WRONG_MACHINE), "other machine");
	assert_string_equal(klic_license_reason(KLIC_ERR_LICENSE_EXPIRED), "expired");
	assert_string_equal(klic_license_reason(KLIC_ERR_SIG_WRONG_KEY), "wrong signing key");
	assert_string_equal(klic_license_reason(KLIC_ERR_SIG_UNKNOWN_KEY), "wrong signing key");
	assert_string_equal(klic_license_reason(KLIC_ERR_NOT_ENTITLED),
			    "not covered by its entitlement");
	assert_string_equal(klic_license_reason(KLIC_ERR_NO_VENDOR), "no trusted vendor key");
	assert_string_equal(klic_license_reason(KLIC_ERR_CLOCK), "clock set back");
	assert_string_equal(klic_license_reason(KLIC_ERR_IO), "unreadable");
	assert_string_equal(klic_license_reason(KLIC_ERR_LICENSE_FORMAT), "malformed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_linux_macos),
		cmocka_unit_test(test_home_windows),
		cmocka_unit_test(test_home_override),
		cmocka_unit_test(test_machine_id_file),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_slot),
		cmocka_unit_test(test_clock_rule),
		cmocka_unit_test(test_clock_file),
		cmocka_unit_test(test_issuers_file),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_license_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
