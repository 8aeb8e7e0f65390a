/* Unit tests: machine ID derivation and display form (spec 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "klic_bundle.h"

static const char ALPHA[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Known answers computed independently with python3:
 *   h = hmac.new(bytes.fromhex(mid), b"klic/machine-id/v1", hashlib.sha256).digest()[:15]
 * then base32 (Crockford, MSB first) + Luhn mod 32 as spec 2.2. */
static void test_known_answers(void **state)
{
	char id[KLIC_MACHINE_ID_LEN + 1];
	static const uint8_t zero[15] = {0};
	uint8_t ff[15];
	(void)state;
	assert_int_equal(klic_machine_id_derive(id, "0123456789abcdef0123456789abcdef\n", 33), 0);
	assert_string_equal(id, "93AX8-BB8QX-4G7T6-2GC39-RHAVX");
	assert_int_equal(klic_machine_id_derive(id, "0123456789abcdef0123456789abcdef", 32), 0);
	assert_string_equal(id, "93AX8-BB8QX-4G7T6-2GC39-RHAVX");
	assert_int_equal(klic_machine_id_derive(id, "00000000000000000000000000000000\n", 33), 0);
	assert_string_equal(id, "0WHZ8-HHFBC-G2ADB-PVYH9-WGDF7");
	assert_int_equal(klic_machine_id_derive(id, "ffffffffffffffffffffffffffffffff\n", 33), 0);
	assert_string_equal(id, "5GT6E-QFX7P-P11KD-Z8B7B-07J90");
	assert_int_equal(klic_machine_id_encode(id, zero), 0);
	assert_string_equal(id, "00000-00000-00000-00000-00000");
	memset(ff, 0xff, sizeof ff);
	assert_int_equal(klic_machine_id_encode(id, ff), 0);
	assert_string_equal(id, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZR");
}

static void test_derive_input(void **state)
{
	char id[KLIC_MACHINE_ID_LEN + 1];
	static const char *const bad[] = {
		"0123456789ABCDEF0123456789abcdef\n", "0123456789abcdef0123456789abcde\n",
		"0123456789abcdef0123456789abcdef0\n", "0123456789abcdef0123456789abcdef\n\n",
		"0123456789abcdef0123456789abcdef \n", " 0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdeg\n", "",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(klic_machine_id_derive(id, bad[i], strlen(bad[i])),
				 KLIC_ERR_NO_MACHINE_ID);
	/* an embedded NUL counted in len */
	assert_int_equal(klic_machine_id_derive(id, "0123456789abcdef0123456789abcdef\0", 33),
			 KLIC_ERR_NO_MACHINE_ID);
}

static void test_parse_forms(void **state)
{
	char id[KLIC_MACHINE_ID_LEN + 1];
	(void)state;
	assert_int_equal(klic_machine_id_parse(id, "93AX8-BB8QX-4G7T6-2GC39-RHAVX"), 0);
	assert_string_equal(id, "93AX8-BB8QX-4G7T6-2GC39-RHAVX");
	assert_int_equal(klic_machine_id_parse(id, "93ax8bb8qx4g7t62gc39rhavx"), 0);
	assert_string_equal(id, "93AX8-BB8QX-4G7T6-2GC39-RHAVX");
	assert_int_equal(klic_machine_id_parse(id, "93ax8-bb8qx4g7t6-2gc39rhavx"), 0);
	assert_int_equal(klic_machine_id_parse(id, "oWHZ8-HHFBC-G2ADB-PVYH9-WGDF7"), 0);
	assert_string_equal(id, "0WHZ8-HHFBC-G2ADB-PVYH9-WGDF7");
	assert_int_equal(klic_machine_id_parse(id, "5GT6E-QFX7P-PiLKD-Z8B7B-07J90"), 0);
	assert_string_equal(id, "5GT6E-QFX7P-P11KD-Z8B7B-07J90");
	static const char *const bad[] = {
		"93AX8-BB8QX-4G7T6-2GC39-RHAV",	   "93AX8-BB8QX-4G7T6-2GC39-RHAVXX",
		"93AX-8BB8QX-4G7T6-2GC39-RHAVX",   "93AX8--BB8QX-4G7T6-2GC39-RHAVX",
		"-93AX8-BB8QX-4G7T6-2GC39-RHAVX",  "93AX8-BB8QX-4G7T6-2GC39-RHAVX-",
		"93AX8-BB8QX-4G7T6-2GC39-RHAVU",   "93AX8 BB8QX 4G7T6 2GC39 RHAVX",
		"93AX8-BB8QX-4G7T6-2GC39-RHAVW",   "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(klic_machine_id_parse(id, bad[i]), KLIC_ERR_MACHINE_ID);
	assert_int_equal(klic_machine_id_check("93AX8-BB8QX-4G7T6-2GC39-RHAVX"), 0);
	assert_int_equal(klic_machine_id_check("93ax8-BB8QX-4G7T6-2GC39-RHAVX"), KLIC_ERR_MACHINE_ID);
	assert_int_equal(klic_machine_id_check("93AX8BB8QX4G7T62GC39RHAVX"), KLIC_ERR_MACHINE_ID);
	assert_int_equal(klic_machine_id_check("O3AX8-BB8QX-4G7T6-2GC39-RHAVX"), KLIC_ERR_MACHINE_ID);
	assert_int_equal(klic_machine_id_check("93AX8-BB8QX-4G7T6-2GC39-RHAVW"), KLIC_ERR_MACHINE_ID);
	assert_int_equal(klic_machine_id_check(NULL), KLIC_ERR_MACHINE_ID);
	assert_int_equal(klic_product_check("KRE"), 0);
	assert_int_equal(klic_product_check("KSE"), 0);
	assert_int_equal(klic_product_check("kre"), KLIC_ERR_FIELD);
	assert_int_equal(klic_product_check("KREX"), KLIC_ERR_FIELD);
}

static int sym_index(char c)
{
	return (int)(strchr(ALPHA, c) - ALPHA);
}

/* Every single-symbol substitution is detected; every adjacent
 * transposition is detected except the one blind spot Luhn mod N has
 * (values 0 and N-1, i.e. "0" <-> "Z"), which the test proves is the only
 * one. */
static void check_all_errors(const char *canon)
{
	char sym[26], typed[30], id[KLIC_MACHINE_ID_LEN + 1];
	size_t n = 0;
	for (size_t i = 0; canon[i]; i++)
		if (canon[i] != '-')
			sym[n++] = canon[i];
	sym[n] = 0;
	assert_int_equal(n, 25);
	for (size_t i = 0; i < 25; i++) {
		for (size_t a = 0; a < 32; a++) {
			if (ALPHA[a] == sym[i])
				continue;
			memcpy(typed, sym, 26);
			typed[i] = ALPHA[a];
			assert_int_equal(klic_machine_id_parse(id, typed), KLIC_ERR_MACHINE_ID);
		}
	}
	for (size_t i = 0; i + 1 < 25; i++) {
		if (sym[i] == sym[i + 1])
			continue;
		memcpy(typed, sym, 26);
		typed[i] = sym[i + 1];
		typed[i + 1] = sym[i];
		int a = sym_index(sym[i]), b = sym_index(sym[i + 1]);
		int blind = (a == 0 && b == 31) || (a == 31 && b == 0);
		assert_int_equal(klic_machine_id_parse(id, typed), blind ? 0 : KLIC_ERR_MACHINE_ID);
	}
}

static void test_error_detection(void **state)
{
	char id[KLIC_MACHINE_ID_LEN + 1];
	uint8_t raw[15];
	(void)state;
	check_all_errors("93AX8-BB8QX-4G7T6-2GC39-RHAVX");
	check_all_errors("0WHZ8-HHFBC-G2ADB-PVYH9-WGDF7");
	check_all_errors("5GT6E-QFX7P-P11KD-Z8B7B-07J90");
	for (unsigned s = 0; s < 64; s++) {
		for (size_t i = 0; i < 15; i++)
			raw[i] = (uint8_t)(s * 37 + i * 101 + (s >> 1) * i);
		assert_int_equal(klic_machine_id_encode(id, raw), 0);
		assert_int_equal(klic_machine_id_check(id), 0);
		check_all_errors(id);
	}
}

/* The one list of machine-id files, in the order spec 2.1 gives. */
static void test_sources(void **state)
{
	const char *const *src = NULL;
	(void)state;
	assert_int_equal(klic_machine_id_sources(&src), 2);
	assert_string_equal(src[0], "/etc/machine-id");
	assert_string_equal(src[1], "/var/lib/dbus/machine-id");
	assert_int_equal(klic_machine_id_sources(NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answers), cmocka_unit_test(test_derive_input),
	    cmocka_unit_test(test_parse_forms),   cmocka_unit_test(test_error_detection),
	    cmocka_unit_test(test_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
